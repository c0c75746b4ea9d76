"""``hpexplorer report``: the paper's three views and the numbers behind them.

A report folder holds seven files:

- ``histogram.<fmt>`` (paper Fig. 2), ``pairs.<fmt>`` (Fig. 3),
  ``trellis.<fmt>`` (Fig. 4);
- ``histogram.csv``, ``pairs.csv``, ``trellis.csv``: the exact tables drawn;
- ``summary.json``: what was analysed and selected.

The folder is written completely or not at all: everything is rendered into a
hidden temporary sibling folder first, which then becomes the report folder by
one rename. When the folder already exists (an earlier report), the files are
moved in one by one with ``summary.json`` removed first and put back last, so a
folder with a ``summary.json`` always holds one complete, consistent report.

An empty selection is not an error: the report is written (the figures show
zero counts and the note "no networks selected") and a warning goes to stderr,
because a user exploring ranges wants to see that the range is empty, not lose
the other views.

>>> import pandas as pd, hpcore
>>> from hpcore.report import build_report
>>> ens = hpcore.normalize(hpcore.load(pd.DataFrame({"dataset": list("aabb"),
...     "opt": ["x", "y", "x", "y"], "acc": [1.0, 2.0, 3.0, 5.0]})))
>>> build_report(ens, range=(0.5, 1.0)).summary["selected"]
2
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

import pandas as pd

from ._validation import check_interval, check_one_of
from .cli import (
    PROGRESS_SECONDS,
    Command,
    UsageError,
    add_data_options,
    load_from_args,
    note,
    parse_where,
)
from .errors import HpcoreError
from .histogram import histogram
from .model import Ensemble
from .pairs import pair_counts
from .selection import Selection, Where, require_normalized, select
from .trellis import trellis

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[str, ...] = get_args(Format)
#: The three figures, by file stem.
FIGURES = ("histogram", "pairs", "trellis")
#: The tables behind them.
TABLES = ("histogram.csv", "pairs.csv", "trellis.csv")
SUMMARY = "summary.json"
#: Bins of both histograms.
HISTOGRAM_BINS = 20
#: Resolution of PNG figures.
PNG_DPI = 150


class OutputError(HpcoreError):
    """The report folder cannot be created or written."""


def report_files(fmt: str) -> tuple[str, ...]:
    """The seven file names of a report in figure format ``fmt``."""
    return (*(f"{f}.{fmt}" for f in FIGURES), *TABLES, SUMMARY)


@dataclass(frozen=True, eq=False)
class ReportTables:
    """The aggregates a report draws (same columns as the hpcore functions).

    Attributes
    ----------
    histogram_raw, histogram_normalized : pandas.DataFrame
        :func:`hpcore.histogram` of the raw and of the normalized metric over
        the rows that pass the ``where`` filter (every range): the population
        the range is chosen from.
    pairs : pandas.DataFrame
        :func:`hpcore.pair_counts` of the selection.
    trellis : pandas.DataFrame
        :func:`hpcore.trellis` of the selection (mean normalized metric),
        without the options ``where`` excludes (see :func:`restrict_options`).
    """

    histogram_raw: pd.DataFrame
    histogram_normalized: pd.DataFrame
    pairs: pd.DataFrame
    trellis: pd.DataFrame


@dataclass(frozen=True, eq=False)
class Report:
    """Everything a report shows, computed and not yet drawn.

    Attributes
    ----------
    ensemble : Ensemble
        The normalized ensemble analysed.
    selection : Selection
        The selected networks (range and ``where``).
    tables : ReportTables
        The aggregates drawn.
    primary : str
        The trellis' primary parameter.
    secondary : str or None
        The trellis' secondary parameter.
    summary : Mapping[str, Any]
        The content of ``summary.json`` (JSON-ready values).
    """

    ensemble: Ensemble
    selection: Selection
    tables: ReportTables
    primary: str
    secondary: str | None
    summary: Mapping[str, Any]

    @property
    def histogram(self) -> pd.DataFrame:
        """Both histograms in one frame, ``kind`` ("raw" or "normalized") first."""
        return pd.concat(
            [
                self.tables.histogram_raw.assign(kind="raw"),
                self.tables.histogram_normalized.assign(kind="normalized"),
            ],
            ignore_index=True,
        )[["kind", "group", "bin_left", "bin_right", "count"]]


def compute_tables(
    ens: Ensemble,
    selection: Selection,
    *,
    primary: str,
    secondary: str | None,
    bins: int = HISTOGRAM_BINS,
) -> ReportTables:
    """All the aggregation of a report, in one place (the fast engine's swap point)."""
    population = (
        select(ens, range=(0.0, 1.0), where=selection.where)
        if selection.where
        else None
    )
    return ReportTables(
        histogram_raw=histogram(ens, bins=bins, selection=population),
        histogram_normalized=histogram(
            ens, bins=bins, normalized=True, selection=population
        ),
        pairs=pair_counts(ens, selection),
        trellis=restrict_options(
            trellis(ens, selection, primary=primary, secondary=secondary),
            selection.where,
            primary=primary,
            secondary=secondary,
        ),
    )


def restrict_options(
    table: pd.DataFrame,
    where: Mapping[str, Sequence[str]],
    *,
    primary: str,
    secondary: str | None,
) -> pd.DataFrame:
    """Drop the trellis rows of options that ``where`` excludes.

    Those cells are empty by construction; leaving them out spares the trellis
    whole panel rows of nothing (``--where dataset=cifar10,stl10`` shows two
    data-set rows, not five). Applies to panel options and to the primary and
    secondary options.
    """
    keep = pd.Series(True, index=table.index)
    for name, allowed in where.items():
        keep &= (table["parameter"] != name) | table["option"].isin(allowed)
        if name == primary:
            keep &= table["primary"].isin(allowed)
        if name == secondary:
            keep &= table["secondary"].isin(allowed)
    return table.loc[keep].reset_index(drop=True)


def default_primary(ens: Ensemble) -> str:
    """The group column when it is a parameter, else the first parameter."""
    if ens.group is not None and ens.group in ens.parameters:
        return ens.group
    return ens.parameters[0]


def build_report(
    ens: Ensemble,
    *,
    range: tuple[float, float] = (0.0, 1.0),
    where: Where | None = None,
    primary: str | None = None,
    secondary: str | None = None,
    bins: int = HISTOGRAM_BINS,
    source: str | None = None,
) -> Report:
    """Select, aggregate and summarize: everything a report shows, not yet drawn.

    Parameters
    ----------
    ens : Ensemble
        A normalized ensemble (:func:`hpcore.normalize`); not modified.
    range : (float, float), default=(0.0, 1.0)
        Closed range on the normalized metric.
    where : mapping of str to options, optional
        Parameter -> allowed options; restricts the selection and the
        histograms' population.
    primary : str, optional
        The trellis' panel-row parameter; default the group column (or the
        first parameter without one).
    secondary : str, optional
        The trellis' colour-and-marker parameter.
    bins : int, default=20
        Bins of the histograms.
    source : str, optional
        Where the data came from, for ``summary.json`` (default ``ens.source``).

    Returns
    -------
    Report

    Raises
    ------
    SelectionError, ParameterError, OptionError
        Bad range, unknown parameter or option, not normalized.
    """
    require_normalized(ens, "a report")
    primary = default_primary(ens) if primary is None else primary
    selection = select(ens, range=range, where=where)
    tables = compute_tables(
        ens, selection, primary=primary, secondary=secondary, bins=bins
    )
    dropped = {str(k): int(v) for k, v in ens.dropped.items()}
    summary: dict[str, Any] = {
        "rows": len(ens.table),
        "dropped": {"count": sum(dropped.values()), "reasons": dropped},
        "selected": selection.count,
        "range": list(selection.range),
        "where": {k: list(v) for k, v in selection.where.items()},
        "metric": ens.metric,
        "group": ens.group,
        "normalization": ens.normalization,
        "parameters": {p: list(ens.options(p)) for p in ens.parameters},
        "binned": {k: [float(e) for e in v] for k, v in ens.binned.items()},
        "excluded": {str(k): str(v) for k, v in ens.excluded.items()},
        "primary": primary,
        "secondary": secondary,
        "source": source if source is not None else ens.source,
        "histogram_bins": bins,
        "histogram_rows": int(tables.histogram_raw["count"].sum()),
    }
    return Report(
        ensemble=ens,
        selection=selection,
        tables=tables,
        primary=primary,
        secondary=secondary,
        summary=MappingProxyType(summary),
    )


def draw_report(report: Report) -> dict[str, Any]:
    """The three figures of a report, by file stem (matplotlib Figures)."""
    from . import render

    ens, sel, t = report.ensemble, report.selection, report.tables
    return {
        "histogram": render.draw_histogram(
            t.histogram_raw,
            t.histogram_normalized,
            selected_range=sel.range,
            metric=ens.metric,
            group=ens.group,
            normalization=ens.normalization,
            selected_count=sel.count,
            title=_population_title(report),
        ),
        "pairs": render.draw_pair_matrix(
            t.pairs,
            title=_selection_title(report),
        ),
        "trellis": render.draw_trellis(
            t.trellis,
            value_label=f"mean normalized {ens.metric}",
            primary_name=report.primary,
            secondary_name=report.secondary,
        ),
    }


def _where_text(where: Mapping[str, Sequence[str]]) -> str:
    return ", ".join(f"{k} in {{{', '.join(v)}}}" for k, v in where.items())


def _population_title(report: Report) -> str | None:
    where = report.selection.where
    if not where:
        return None
    n = report.summary["histogram_rows"]
    return f"{n:,} networks with {_where_text(where)}"


def _selection_title(report: Report) -> str:
    sel = report.selection
    lo, hi = sel.range
    text = (
        f"{sel.count:,} of {len(report.ensemble.table):,} networks selected: "
        f"normalized {report.ensemble.metric} in [{lo:.2f}, {hi:.2f}]"
    )
    if sel.where:
        text += f", {_where_text(sel.where)}"
    return text


# ------------------------------------------------------------------- writing


def check_output_dir(out: Path) -> None:
    """Fail early, before any work, when ``out`` can clearly not be written.

    Raises
    ------
    OutputError
        ``out`` is a file, or its nearest existing ancestor is not a writable
        folder.
    """
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {str(out)!r} exists and is not a folder")
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(
            f"cannot create the report folder {str(out)!r}: "
            f"{str(probe)!r} is not a folder"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write the report folder {str(out)!r}: "
            f"{str(probe)!r} is not writable"
        )


def _make_parents(path: Path) -> list[Path]:
    """Create the missing ancestors of ``path``; return them, deepest first."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir()
    return missing


def _make_temp_sibling(out: Path) -> Path:
    """A new hidden folder next to ``out`` (created with the usual permissions)."""
    for _ in range(100):
        tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
        try:
            tmp.mkdir()
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name next to {str(out)!r}")


def _save_figure(fig: Any, path: Path, fmt: str) -> None:
    """Save without dates and with fixed SVG ids, so equal reports are equal files."""
    from matplotlib import rc_context

    metadata = {
        "png": {"Software": None},
        "svg": {"Date": None},
        "pdf": {"CreationDate": None},
    }[fmt]
    with rc_context({"svg.hashsalt": "hpexplorer"}):
        fig.savefig(
            path,
            format=fmt,
            dpi=PNG_DPI,
            metadata=metadata,
            bbox_inches="tight",
            pad_inches=0.15,
        )


def _write_files(report: Report, folder: Path, fmt: str) -> None:
    for stem, fig in draw_report(report).items():
        _save_figure(fig, folder / f"{stem}.{fmt}", fmt)
    report.histogram.to_csv(folder / "histogram.csv", index=False)
    report.tables.pairs.to_csv(folder / "pairs.csv", index=False)
    report.tables.trellis.to_csv(folder / "trellis.csv", index=False)
    summary = {**report.summary, "files": list(report_files(fmt))}
    (folder / SUMMARY).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _install(tmp: Path, out: Path, fmt: str) -> None:
    """Move the finished report from ``tmp`` to ``out``."""
    if not out.exists():
        os.rename(tmp, out)
        return
    old_summary = out / SUMMARY
    had_report = old_summary.exists()
    old_summary.unlink(missing_ok=True)
    names = report_files(fmt)
    if had_report:  # figures of an earlier report in another format are stale
        for other in FORMATS:
            if other != fmt:
                for stem in FIGURES:
                    (out / f"{stem}.{other}").unlink(missing_ok=True)
    for name in names:
        if name != SUMMARY:
            os.replace(tmp / name, out / name)
    os.replace(tmp / SUMMARY, out / SUMMARY)
    tmp.rmdir()


def write_report(
    report: Report, out_dir: str | os.PathLike[str], fmt: str = "png"
) -> Path:
    """Draw a report and write its seven files into ``out_dir``, all or nothing.

    Parameters
    ----------
    report : Report
        From :func:`build_report`.
    out_dir : str or path
        The report folder; created (with missing parents) when absent. The
        seven report files of an earlier report there are replaced; other
        files are left alone.
    fmt : {"png", "svg", "pdf"}, default="png"
        Figure format.

    Returns
    -------
    pathlib.Path
        The report folder.

    Raises
    ------
    OutputError
        The folder cannot be created or written; nothing is left behind.
    """
    check_one_of("format", fmt, FORMATS, OutputError)
    out = Path(out_dir)
    check_output_dir(out)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        created = _make_parents(out.parent)
        tmp = _make_temp_sibling(out)
        _write_files(report, tmp, fmt)
        _install(tmp, out, fmt)
    except OSError as err:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)
        reason = err.strerror or str(err)
        raise OutputError(
            f"cannot write the report folder {str(out)!r}: {reason}"
        ) from err
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return out


# ---------------------------------------------------------------------- CLI


def parse_range(values: Sequence[str] | None) -> tuple[float, float]:
    """``["0.9", "1"]`` -> ``(0.9, 1.0)``; None -> ``(0.0, 1.0)``."""
    if values is None:
        return (0.0, 1.0)
    try:
        lo, hi = (float(v) for v in values)
    except ValueError:
        raise UsageError(
            f"--range: LO and HI must be numbers in [0, 1]; got {' '.join(values)!r}"
        ) from None
    return check_interval("--range", (lo, hi))


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the report's options to its sub-parser."""
    add_data_options(parser)
    parser.add_argument(
        "--range",
        nargs=2,
        metavar=("LO", "HI"),
        help="selected range of the normalized metric, within 0..1 (default: 0 1)",
    )
    parser.add_argument(
        "--where",
        nargs="+",
        action="extend",
        default=[],
        metavar="PARAM=OPT1,OPT2",
        help="keep only networks with one of these options (repeatable)",
    )
    parser.add_argument(
        "--primary",
        metavar="P",
        help="trellis panel rows (default: the group column)",
    )
    parser.add_argument(
        "--secondary", metavar="S", help="trellis colour and marker (default: none)"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="png", help="figure format (default: png)"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="report",
        help="report folder, written completely or not at all (default: report)",
    )
    parser.epilog = (
        "Writes histogram, pairs and trellis figures, their CSV tables and "
        "summary.json. An empty selection still writes the report (zero counts, "
        "a 'no networks selected' note) and warns on stderr. Exit status 2 on bad "
        "input or an unwritable DIR."
    )


def run(args: argparse.Namespace) -> int:
    """Run ``hpexplorer report``; 0 on success (errors raise HpcoreError)."""
    value_range = parse_range(args.range)
    where = parse_where(args.where)
    out = Path(args.out)
    check_output_dir(out)
    ens, source = load_from_args(args)
    started = time.perf_counter()
    report = build_report(
        ens,
        range=value_range,
        where=where,
        primary=args.primary,
        secondary=args.secondary,
        source=source,
    )
    elapsed = time.perf_counter() - started
    if elapsed > PROGRESS_SECONDS:
        note(f"computed the selection's tables in {elapsed:.1f} s")
    if report.selection.count == 0:
        lo, hi = report.selection.range
        note(
            f"warning: no networks selected (normalized {ens.metric} in "
            f"[{lo:g}, {hi:g}]{' with --where' if where else ''}); "
            "the report shows zero counts"
        )
    note(f"drawing the figures into {str(out)!r} ...")
    started = time.perf_counter()
    write_report(report, out, args.format)
    elapsed = time.perf_counter() - started
    if elapsed > PROGRESS_SECONDS:
        note(f"drew and wrote the report in {elapsed:.1f} s")
    print(
        f"{report.selection.count:,} of {len(ens.table):,} networks selected; "
        f"report written to {out}/ ({', '.join(report_files(args.format))})"
    )
    return 0


COMMAND = Command(
    help="write the paper's three figures, their tables and a summary to a folder",
    configure=configure,
    run=run,
)
