"""``hpexplorer findings``: rank what moves the metric and write it up.

The computation is :func:`hpcore.analysis.findings.discover`; the words come
from :mod:`hpcore.views.findings_text` and the figures from
:func:`hpcore.views.draw_effect` (matplotlib is imported only when figures are
written). This module adds the command's options and the output folder.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis.settings import DEFAULT_PERMUTATIONS, TEST_METHODS
from .common import (
    PROGRESS_SECONDS,
    Command,
    add_data_options,
    announce,
    load_from_args,
    note,
)
from .output import OutputFolder

if TYPE_CHECKING:  # imported where used, so that argument errors answer at once
    from ..analysis.findings import Findings

#: Files :func:`write_findings` always writes (plus one figure per described
#: effect, ``figures/NNN-name.png``).
OUTPUT_NAMES = ("findings.md", "findings.csv")


def _slug(text: str) -> str:
    keep = [c if c.isascii() and c.isalnum() else "-" for c in text.lower()]
    return "-".join(part for part in "".join(keep).split("-") if part)[:60]


#: Names of figure files :func:`write_findings` writes into ``figures/``.
FIGURE_PATTERN = re.compile(r"\d{3}-[a-z0-9-]*\.png")


def check_output(
    out: str | Path, inputs: Sequence[str | os.PathLike[str]] = ()
) -> OutputFolder:
    """Fail early, before any work, when ``out`` cannot take the findings.

    ``out`` may be missing (it is created with its missing parents) or a
    folder; files there that an earlier run of hpexplorer did not write are
    never replaced (see :mod:`hpcore.app.output`).

    Raises
    ------
    OutputError
        ``out`` is a file, cannot be written, or holds files in the way.
    """
    folder = OutputFolder(out, OUTPUT_NAMES, command="findings", inputs=inputs)
    folder.check()
    return folder


def write_findings(
    findings: Findings,
    out: str | Path,
    *,
    top: int | None = None,
    source: str = "",
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Write ``findings.md``, ``findings.csv`` and ``figures/`` into ``out``.

    All or nothing, and only over files an earlier run wrote (see
    :mod:`hpcore.app.output`): figures of an earlier run that this one does
    not draw are removed, other files are left alone.

    Returns
    -------
    pathlib.Path
        The output folder.

    Raises
    ------
    OutputError
        See :func:`check_output`, or a write failed (disk full, permissions).
    """
    top = findings.top if top is None else top
    figures = _figure_names(findings, top)
    folder = check_output(out, inputs)
    folder.names = [*OUTPUT_NAMES, *figures.values()]
    return folder.write(
        lambda tmp: _write_outputs(
            findings, tmp, figures=figures, source=source, top=top
        )
    )


def _figure_names(findings: Findings, top: int) -> dict[str, str]:
    """Effect name -> relative path of its figure, for the described effects."""
    return {
        effect.name: f"figures/{rank:03d}-{_slug(effect.name)}.png"
        for chosen in findings.top_significant(top).values()
        for rank, effect in chosen
    }


def _write_outputs(
    findings: Findings,
    folder: Path,
    *,
    figures: dict[str, str],
    source: str,
    top: int,
) -> None:
    from .. import views  # matplotlib only when figures are drawn
    from ..analysis.findings import CSV_COLUMNS
    from ..views.findings_text import _value_label, findings_markdown

    (folder / "figures").mkdir()
    label = _value_label(findings)
    effects = {e.name: e for e in findings.effects}
    for name, path in figures.items():
        fig = views.draw_effect(effects[name], value_label=label)
        fig.savefig(folder / path, dpi=110, metadata={"Software": None})
    text = findings_markdown(findings, top=top, figures=figures, source=source)
    findings.table[list(CSV_COLUMNS)].to_csv(folder / "findings.csv", index=False)
    (folder / "findings.md").write_text(text, encoding="utf-8")


def _configure(parser: argparse.ArgumentParser) -> None:
    add_data_options(parser)
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="findings",
        help="output folder for findings.md, findings.csv and figures/ "
        "(default: ./findings)",
    )
    parser.add_argument(
        "--permutations",
        metavar="N",
        type=int,
        default=DEFAULT_PERMUTATIONS,
        help="most permutations per permutation test (default: "
        f"{DEFAULT_PERMUTATIONS}); a test stops early once 20 permutations reach "
        "its statistic",
    )
    parser.add_argument(
        "--method",
        choices=TEST_METHODS,
        default="auto",
        help="p-values: auto (default) uses the F test for effects whose every "
        "cell holds at least 30 rows and permutations for the others; "
        "permutation permutes every effect",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the permutations (default: 0)"
    )
    parser.add_argument(
        "--top",
        metavar="N",
        type=int,
        default=10,
        help="effects to describe and print (default: 10)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="q-value threshold of significance (default: 0.05)",
    )


def _run(args: argparse.Namespace) -> int:
    from ..analysis.findings import _check_settings, discover, permutations_needed
    from ..views.findings_text import summary_lines, why_nothing

    inputs = [] if args.data is None else [args.data]
    check_output(args.out, inputs)
    _check_settings(args.permutations, args.seed, args.top, args.alpha, args.method)
    ens, source = load_from_args(args)
    announce(ens)
    started = time.perf_counter()
    found = discover(
        ens,
        permutations=args.permutations,
        seed=args.seed,
        top=args.top,
        alpha=args.alpha,
        method=args.method,
    )
    elapsed = time.perf_counter() - started
    if elapsed > PROGRESS_SECONDS:
        note(f"tested {len(found.effects)} effects in {elapsed:.1f} s")
    needed = permutations_needed(len(found.effects), found.alpha)
    permuted = any(e.test == "permutation" for e in found.effects)
    for name, why in found.unranked.items():
        note(f"{name}: {why}")
    if (
        not found.significant()
        and permuted
        and not any(e.test == "F" for e in found.effects)
        and found.permutations < needed
    ):
        note(
            f"warning: with {found.permutations:,} permutations the smallest p-value "
            f"is 1/{found.permutations + 1:,}, so an effect that stands out alone "
            f"cannot reach q < {found.alpha:g} over {len(found.effects)} tests; "
            f"nothing significant may mean too few permutations: use "
            f"--permutations {needed:,} or more"
        )
    out = write_findings(found, args.out, top=args.top, source=source, inputs=inputs)
    n_sig = len(found.significant())
    tests = f"{found.permutations:,} permutations" if permuted else "F tests"
    print(
        f"{n_sig} of {len(found.effects)} effects significant at q < {found.alpha:g} "
        f"({found.rows:,} rows, {tests})" + (":" if n_sig else why_nothing(found))
    )
    for line in summary_lines(found, args.top):
        print(line)
    sys.stdout.flush()
    note(f"wrote {out / 'findings.md'}, {out / 'findings.csv'} and {out / 'figures'}")
    return 0


COMMAND = Command(
    help="rank main effects and interactions of the parameters on the "
    "normalized metric, with permutation p-values and FDR control",
    configure=_configure,
    run=_run,
    uses_blas=True,  # least squares over the design matrices
    examples=(
        ("hpexplorer findings", "the built-in synthetic ensemble, into findings/"),
        (
            "hpexplorer findings runs.csv --metric val_acc --permutations 1999",
            "your networks, with p-values down to 1/2000",
        ),
    ),
)
