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
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..analysis.findings import (
    CSV_COLUMNS,
    DEFAULT_PERMUTATIONS,
    Findings,
    _check_settings,
    discover,
    permutations_needed,
)
from ..data.errors import OutputError
from ..views.findings_text import _value_label, findings_markdown, summary_lines
from .common import (
    PROGRESS_SECONDS,
    Command,
    add_data_options,
    announce,
    load_from_args,
    note,
)

#: Files :func:`write_findings` writes into the output folder.
OUTPUT_NAMES = ("findings.md", "findings.csv", "figures")


def _slug(text: str) -> str:
    keep = [c if c.isascii() and c.isalnum() else "-" for c in text.lower()]
    return "-".join(part for part in "".join(keep).split("-") if part)[:60]


#: Names of figure files :func:`write_findings` writes into ``figures/``.
FIGURE_PATTERN = re.compile(r"\d{3}-[a-z0-9-]*\.png")


def check_output(out: str | Path) -> Path:
    """Fail early, before any work, when ``out`` cannot take the findings.

    ``out`` may be missing (it is created with its missing parents) or a
    folder; in a folder, ``figures/`` must be absent or hold only figures of
    an earlier run (``NNN-name.png``), since it is replaced.

    Raises
    ------
    OutputError
        ``out`` is a file, its nearest existing ancestor is not a writable
        folder, or ``out/figures`` holds other files.
    """
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {str(target)!r} exists and is not a folder")
    probe = target
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write the findings folder {str(target)!r}: "
            f"{str(probe)!r} is not a writable folder"
        )
    figures = target / "figures"
    if figures.exists():
        foreign = sorted(
            p.name
            for p in (figures.iterdir() if figures.is_dir() else [figures])
            if not (p.is_file() and FIGURE_PATTERN.fullmatch(p.name))
        )
        if foreign:
            raise OutputError(
                f"{str(figures)!r} holds files that are not findings figures "
                f"({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''});"
                " choose another --out folder"
            )
    return target


def write_findings(
    findings: Findings, out: str | Path, *, top: int | None = None, source: str = ""
) -> Path:
    """Write ``findings.md``, ``findings.csv`` and ``figures/`` into ``out``.

    Everything is first written into a temporary folder beside ``out``.
    When ``out`` does not exist that folder is renamed to it, so the output
    appears whole or not at all. Into an existing folder the three outputs
    of an earlier run (:data:`OUTPUT_NAMES`) are replaced, ``findings.md``
    last; other files there are left alone. On failure nothing new is left
    behind (not even created parent folders).

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
    target = check_output(out)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        probe = target.parent
        while not probe.exists():
            created.append(probe)
            probe = probe.parent
        for folder in reversed(created):
            folder.mkdir()
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        tmp.chmod(0o755)
        _write_outputs(findings, tmp, top=top, source=source)
        _install(tmp, target)
    except BaseException as err:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, OSError):
            raise OutputError(
                f"cannot write the findings folder {str(target)!r}: "
                f"{err.strerror or err}"
            ) from err
        raise
    return target


def _write_outputs(findings: Findings, folder: Path, *, top: int, source: str) -> None:
    from .. import views  # matplotlib only when figures are drawn

    figures: dict[str, str] = {}
    (folder / "figures").mkdir()
    label = _value_label(findings)
    for chosen in findings.top_significant(top).values():
        for rank, effect in chosen:
            name = f"figures/{rank:03d}-{_slug(effect.name)}.png"
            fig = views.draw_effect(effect, value_label=label)
            fig.savefig(folder / name, dpi=110, metadata={"Software": None})
            figures[effect.name] = name
    text = findings_markdown(findings, top=top, figures=figures, source=source)
    findings.table[list(CSV_COLUMNS)].to_csv(folder / "findings.csv", index=False)
    (folder / "findings.md").write_text(text, encoding="utf-8")


def _install(tmp: Path, target: Path) -> None:
    """Move the finished outputs from ``tmp`` into ``target``."""
    if not target.exists():
        tmp.rename(target)
        return
    (target / "findings.md").unlink(missing_ok=True)
    old_figures = target / "figures"
    if old_figures.exists():
        trash = tmp / "old-figures"
        old_figures.rename(trash)
    (tmp / "figures").rename(old_figures)
    os.replace(tmp / "findings.csv", target / "findings.csv")
    os.replace(tmp / "findings.md", target / "findings.md")
    shutil.rmtree(tmp, ignore_errors=True)


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
        help=f"permutations per test (default: {DEFAULT_PERMUTATIONS})",
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
    check_output(args.out)
    _check_settings(args.permutations, args.seed, args.top, args.alpha)
    ens, source = load_from_args(args)
    announce(ens)
    started = time.perf_counter()
    found = discover(
        ens,
        permutations=args.permutations,
        seed=args.seed,
        top=args.top,
        alpha=args.alpha,
    )
    elapsed = time.perf_counter() - started
    if elapsed > PROGRESS_SECONDS:
        note(f"tested {len(found.effects)} effects in {elapsed:.1f} s")
    needed = permutations_needed(len(found.effects), found.alpha)
    if not found.significant() and found.permutations < needed:
        note(
            f"warning: with {found.permutations:,} permutations the smallest p-value "
            f"is 1/{found.permutations + 1:,}, so an effect that stands out alone "
            f"cannot reach q < {found.alpha:g} over {len(found.effects)} tests; "
            f"nothing significant may mean too few permutations: use "
            f"--permutations {needed:,} or more"
        )
    out = write_findings(found, args.out, top=args.top, source=source)
    n_sig = len(found.significant())
    print(
        f"{n_sig} of {len(found.effects)} effects significant at q < {found.alpha:g} "
        f"({found.rows:,} rows, {found.permutations:,} permutations):"
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
)
