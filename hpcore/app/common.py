"""What every ``hpexplorer`` command shares: the data options and their loading.

The commands (:mod:`hpcore.app.report`, :mod:`hpcore.app.findings`, ...) import
from here, never from each other or from :mod:`hpcore.app.cli`, which only
dispatches. Bad input (any :class:`~hpcore.data.errors.HpcoreError`, or an
unwritable output folder) ends a command with one line on stderr and exit
status 2, without a traceback and without partial output.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.errors import HpcoreError

if TYPE_CHECKING:  # pandas is imported only once a command runs
    from ..data.model import Ensemble

#: Rows and seed of the built-in synthetic ensemble used when no data is given.
BUILTIN_ROWS = 13_000


BUILTIN_SEED = 0


#: Steps taking longer than this many seconds report their duration on stderr.
PROGRESS_SECONDS = 1.0


class UsageError(HpcoreError):
    """A command-line value that cannot be parsed (``--bins lr`` without ``=K``)."""


#: The API's argument names and the command line's options, for messages: the
#: library writes an argument as `name`, ``name=`` or ``name: ...``.
CLI_NAMES = {
    "parameters": "--params",
    "metric": "--metric",
    "group": "--group",
    "bins": "--bins",
    "method": "--normalize",
    "better": "--better",
    "range": "--range",
    "where": "--where",
    "primary": "--primary",
    "secondary": "--secondary",
    "compare": "--compare",
    "color": "--color",
    "sort": "--sort",
    "format": "--format",
    "alpha": "--alpha",
    "permutations": "--permutations",
    "seed": "--seed",
    "top": "--top",
}


def cli_message(text: str) -> str:
    """A library message in the command line's words.

    ``parameters: missing column ...`` -> ``--params: missing column ...``;
    `` `permutations` must ...`` -> ``--permutations must ...``; ``metric=``
    -> ``--metric``; ``primary 'x' ...`` -> ``--primary 'x' ...``; `` `None` ``
    -> ``none``; `` `--range` `` -> ``--range``.
    """
    head, sep, rest = text.partition(": ")
    if sep and head in CLI_NAMES:
        text = f"{CLI_NAMES[head]}: {rest}"
    first, space, after = text.partition(" ")  # "primary 'x' is not ..."
    if space and first in CLI_NAMES and after.startswith("'"):
        text = f"{CLI_NAMES[first]} {after}"

    def option(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return CLI_NAMES.get(name, match.group(0))

    text = re.sub(r"`(\w+)`|\b(\w+)=(?=[\s,;.)]|$)", option, text)
    return re.sub(r"`(--[\w-]+)`", r"\1", text).replace("`None`", "none")


def note(message: str) -> None:
    """One line of progress or notice on stderr."""
    print(f"hpexplorer: {message}", file=sys.stderr, flush=True)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """The options every command shares to choose data, metric and parameters."""
    parser.add_argument(
        "data",
        nargs="?",
        metavar="DATA",
        help="CSV, TSV or Parquet file, NWS data-set folder, or a tracker: Optuna "
        "storage (sqlite:///study.db, journal file), MLflow tracking URI "
        "(sqlite:///mlflow.db, mlruns/, http://host:5000), Ray Tune experiment "
        "folder, W&B runs export (CSV or JSON), TensorBoard log folder "
        f"(default: the built-in synthetic NWS-like ensemble, {BUILTIN_ROWS:,} rows, "
        f"seed {BUILTIN_SEED})",
    )
    parser.add_argument(
        "--study", metavar="NAME", help="Optuna study (default: the only one)"
    )
    parser.add_argument(
        "--experiment",
        metavar="NAME",
        help="MLflow experiment, name or id (default: the only one with runs)",
    )
    parser.add_argument(
        "--epoch",
        metavar="N|last|best",
        help="for per-epoch values (NWS error.bin, MLflow metric history, Ray Tune "
        "results, TensorBoard scalars, Optuna intermediate values): the value at "
        "step N, the last (default), the best, or min/max",
    )
    parser.add_argument(
        "--metric", metavar="COL", help="metric column (default: test accuracy)"
    )
    parser.add_argument(
        "--group", metavar="COL", help="group column (default: dataset)"
    )
    parser.add_argument(
        "--params",
        metavar="P1,P2,...",
        help="hyper-parameter columns, comma separated (default: inferred)",
    )
    parser.add_argument(
        "--bins",
        metavar="NAME=K",
        action="append",
        default=[],
        help="number of bins of a numeric parameter, or NAME=none to keep its "
        "raw values; one per flag, repeatable (--bins lrate=4 --bins depth=none)",
    )
    parser.add_argument(
        "--normalize",
        choices=("minmax", "rank", "robust"),
        default="minmax",
        help="per-group normalization of the metric (default: minmax, the paper's)",
    )
    parser.add_argument(
        "--better",
        choices=("higher", "lower"),
        default=None,
        help="which end of the metric is better; the normalized metric puts it "
        "at 1 (default: from the metric's name: lower for a loss, error, "
        "perplexity or time, else higher)",
    )


def parse_bins(items: Sequence[str]) -> dict[str, int | None]:
    """``["lr=4", "depth=none"]`` -> ``{"lr": 4, "depth": None}``."""
    bins: dict[str, int | None] = {}
    for item in items:
        # at the last "=": K holds none, a column name may (" lr = 4" is lr)
        name, sep, value = (part.strip() for part in item.rpartition("="))
        if not sep or not name:
            raise UsageError(f"--bins: expected NAME=K or NAME=none; got {item!r}")
        if name in bins:  # the last one silently won
            given = ", ".join(i for i in items if i.rpartition("=")[0].strip() == name)
            raise UsageError(f"--bins: {name!r} is given twice ({given}); give it once")
        if value.lower() in {"none", "raw"}:
            bins[name] = None
            continue
        try:
            bins[name] = int(value)
        except ValueError:
            raise UsageError(
                f"--bins: the number of bins for {name!r} must be an integer "
                f"or 'none'; got {value!r}"
            ) from None
    return bins


def parse_where(items: Sequence[str]) -> dict[str, list[str]]:
    """``["dataset=cifar10,stl10"]`` -> ``{"dataset": ["cifar10,stl10"]}``.

    The text after ``=`` is kept whole here: option labels may contain commas
    (bin labels such as ``[0.0002, 0.00116)``), so it is split only once the
    options are known, by :func:`split_options`.
    """
    where: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()  # the value keeps its spaces (see split_options)
        if not sep or not name or not value.strip(", "):
            raise UsageError(f"--where: expected PARAM=OPT1,OPT2; got {item!r}")
        where.setdefault(name, []).append(value)
    return where


def split_options(text: str, options: Sequence[str]) -> list[str]:
    """Split ``OPT1,OPT2`` into options, keeping labels that hold commas whole.

    At each position the longest known option that ends there or before a
    comma is taken, as written or else without the spaces around it (so
    options ``x``, `` x`` and ``x `` can each be chosen, and ``a, b`` is
    ``a`` and ``b``); text matching no option is cut at the next comma (and
    reported as unknown by :func:`hpcore.select`).

    Examples
    --------
    >>> split_options("[0.1, 0.2),x", ["[0.1, 0.2)", "x"])
    ['[0.1, 0.2)', 'x']
    >>> split_options(" x, y ", ["x", " x", "y"])
    [' x', 'y']
    """
    found: list[str] = []
    rest = text
    while rest.strip():
        hits = [o for o in options if rest == o or rest.startswith(o + ",")]
        if not hits:
            rest = rest.strip()
            hits = [o for o in options if rest == o or rest.startswith(o + ",")]
        if hits:
            label = max(hits, key=len)
            rest = rest[len(label) + 1 :]
        else:
            label, _, rest = rest.partition(",")
            label = label.strip()
        if label:
            found.append(label)
    return found


def where_for(ens: Ensemble, where: dict[str, list[str]]) -> dict[str, list[str]]:
    """The ``--where`` texts of :func:`parse_where` split against ``ens``'s options.

    :func:`parse_where` splits ``PARAM=OPTIONS`` at the first ``=`` (before
    the data is read). Where that names no parameter of ``ens`` and a later
    ``=`` does (a column named ``a=b`` in ``a=b=x``), the text is split
    there instead; a name that is no parameter either way stays as it is
    (and is reported as unknown).
    """
    out: dict[str, list[str]] = {}
    for name, texts in where.items():
        for text in texts:
            param, value = _param_and_value(ens, name, text)
            known = ens.options(param) if param in ens.parameters else ()
            out.setdefault(param, []).extend(split_options(value, known))
    return out


def _param_and_value(ens: Ensemble, name: str, text: str) -> tuple[str, str]:
    """``name=text`` split at the first ``=`` after which a parameter of
    ``ens`` is named (``name``, ``text`` when there is none)."""
    if name in ens.parameters:
        return name, text
    at = text.find("=")
    while at >= 0:
        longer = f"{name}={text[:at]}".strip()
        if longer in ens.parameters and text[at + 1 :].strip(", "):
            return longer, text[at + 1 :]
        at = text.find("=", at + 1)
    return name, text


#: Files larger than this many bytes (and NWS folders) announce their loading.
SLOW_FILE_BYTES = 20_000_000


def _looks_slow(path: str) -> bool:
    """True for a data source that may take more than a second to load.

    Of folders only NWS data sets announce themselves: a tracker folder that
    turns out bad must still end with one line on stderr.
    """
    try:
        p = Path(path)
        if p.is_dir():
            from ..data.sources import detect

            found = detect(p)
            return found is not None and found.kind == "nws"
        return p.stat().st_size > SLOW_FILE_BYTES
    except (OSError, HpcoreError):
        return False


def load_from_args(args: argparse.Namespace) -> tuple[Ensemble, str]:
    """Load and normalize the ensemble the data options name, and say its source."""
    params = None  # the options' own checks first: they answer at once
    if args.params is not None:
        params = [p.strip() for p in args.params.split(",") if p.strip()]
        if not params:
            raise UsageError(f"--params: no parameter names given; got {args.params!r}")
    bins = parse_bins(args.bins)
    from ..analysis.normalization import normalize
    from ..data.loading import load

    started = time.perf_counter()
    if args.data is None:
        from ..data.synthetic import nws_like

        note(
            f"no DATA given: using the built-in SYNTHETIC NWS-like ensemble "
            f"({BUILTIN_ROWS:,} rows, seed {BUILTIN_SEED}), not real trainings"
        )
        frame = nws_like(BUILTIN_ROWS, seed=BUILTIN_SEED)
        ens = load(
            frame,
            metric=args.metric,
            group=args.group,
            parameters=params,
            bins=bins,
            study=getattr(args, "study", None),
            experiment=getattr(args, "experiment", None),
            epoch=getattr(args, "epoch", None),
        )
        source = f"synthetic, seed {BUILTIN_SEED}"
    else:
        if _looks_slow(args.data):
            note(f"loading {args.data} ...")
        ens = load(
            args.data,
            metric=args.metric,
            group=args.group,
            parameters=params,
            bins=bins,
            study=getattr(args, "study", None),
            experiment=getattr(args, "experiment", None),
            epoch=getattr(args, "epoch", None),
        )
        source = ens.source
    elapsed = time.perf_counter() - started
    if elapsed > PROGRESS_SECONDS:
        note(f"loaded {len(ens.table):,} rows in {elapsed:.1f} s")
    better = getattr(args, "better", None)
    done = normalize(ens, method=args.normalize, better=better)
    if better is None and done.better == "lower":
        why = "the source says so" if ens.better == "lower" else "its name says so"
        note(
            f"lower values of {done.metric!r} are better ({why}): normalized so "
            "that each group's lowest value is 1; --better higher to turn this off"
        )
    return done, source


def announce(ens: Ensemble) -> None:
    """Say on stderr which columns are not parameters and which rows were dropped.

    Commands call it once their own checks have passed, so that bad input
    still ends with one line.
    """
    from ..data.options import MISSING_LABEL

    for column, reason in ens.excluded.items():
        note(f"not a parameter: {column!r}: {cli_message(reason)}")
    for reason, count in ens.dropped.items():
        note(f"dropped {count:,} row(s): {reason}")
    if ens.epoch is not None:
        note(f"epoch {ens.epoch}")
    if ens.is_normalized:
        from ..analysis.findings import flat_groups_note
        from ..analysis.normalization import flat_groups

        flat = flat_groups(ens)
        if flat and sum(flat.values()) == len(ens.table):
            note(
                f"the metric {ens.metric!r} does not vary"
                + (f" within any {ens.group!r}" if ens.group is not None else "")
                + ": every row is normalized to 0.5, so no network is better than "
                "another and nothing can stand out"
            )
        elif flat:
            note(flat_groups_note(ens, flat))
    if ens.group is not None and MISSING_LABEL in ens.options(ens.group):
        count = int((ens.table[ens.group] == MISSING_LABEL).sum())
        note(
            f"{count:,} row(s) have no {ens.group!r}; they are normalized together "
            f"as the group {MISSING_LABEL!r}"
        )


@dataclass(frozen=True)
class Command:
    """A sub-command: its help line, how to set up its parser, and how to run it."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    #: Example command lines with a comment each, shown at the end of --help.
    examples: tuple[tuple[str, str], ...] = ()
    #: Whether the command's work uses BLAS (matrix products, SVD), so that
    #: OpenBLAS's threads pay off; see :func:`one_blas_thread`.
    uses_blas: bool = False


#: The variable OpenBLAS (the BLAS of numpy's and scipy's wheels) reads for
#: the size of its thread pool, once, when the library loads.
BLAS_THREADS = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> None:
    """Ask OpenBLAS for one thread unless the user chose a number.

    For commands without BLAS work (the report, the server): each copy of
    OpenBLAS that loads (numpy's, scipy's) starts a pool of threads that
    busy-wait for work for about 0.13 s (2**28 cycles), about 0.25 s of CPU
    spent on nothing per run on a 2-core machine. Takes effect only for
    libraries not loaded yet: the command line imports numpy and scipy after
    parsing its arguments, so it runs before both.
    """
    os.environ.setdefault(BLAS_THREADS, "1")
