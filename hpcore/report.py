"""``hpexplorer report``: the paper's three views, their statistics and numbers.

A report folder holds eight files (ten with a comparison):

- ``histogram.<fmt>`` (paper Fig. 2), ``pairs.<fmt>`` (Fig. 3, with the
  per-parameter importance panel beside the matrix), ``trellis.<fmt>``
  (Fig. 4, with 95% confidence bars);
- ``histogram.csv``, ``pairs.csv``, ``trellis.csv``, ``importance.csv``: the
  exact tables drawn;
- with ``--compare LO HI``: ``compare.<fmt>`` and ``compare.csv``;
- ``summary.json``: what was analysed and selected.

The tables (columns in order):

- ``histogram.csv``: ``kind`` (raw or normalized), ``group, bin_left,
  bin_right, count``.
- ``pairs.csv``: ``param_a, option_a, param_b, option_b, count`` (selected
  networks with both options), ``expected`` (selection size x the pair's share
  among the networks that pass ``--where``: the count if the selection were a
  random sample), ``enrichment`` (count / expected; empty where expected is
  0), ``p_value`` (exact two-sided hypergeometric test), ``q_value``
  (Benjamini-Hochberg over all cells). See :func:`hpcore.stats.pair_statistics`.
- ``trellis.csv``: ``parameter, option, primary, secondary, mean, count,
  ci_low, ci_high``: mean normalized metric per cell with its 95% Student-t
  confidence interval (``mean -/+ t(0.975, n-1) * sd / sqrt(n)``; empty below
  two networks). See :func:`hpcore.stats.trellis_with_ci`.
- ``importance.csv``: one row per parameter, strongest first: ``parameter,
  score`` (total variation distance between the option shares of the
  selection and of all networks that pass ``--where``), ``statistic, dof,
  p_value`` (chi-square test of selected vs not selected, Monte Carlo when
  counts are small; ``test`` says which), ``q_value`` (Benjamini-Hochberg),
  ``test, top_option, top_enrichment`` (the most over-represented option and
  its share in the selection / share overall). See
  :func:`hpcore.stats.parameter_importance`.
- ``compare.csv``: ``param_a, option_a, param_b, option_b, count_a, count_b,
  share_a, share_b, difference, p_value, q_value``: *a* is the ``--compare``
  selection, *b* the main ``--range`` selection, ``difference = share_b -
  share_a`` (positive: more common in the main selection); Fisher's exact
  test with Benjamini-Hochberg q-values. See
  :func:`hpcore.stats.compare_selections`.

Rows follow the drawn order: with ``--sort importance`` the parameters of the
matrix (group column first) and the trellis panels are ordered by importance.

The counts behind every table come from one fast engine
(:class:`hpcore.BrushEngine`, built once per report; :func:`compute_tables`).
:func:`plain_tables` computes the same tables with the plain functions: the
reference, and the path for hand-made selections. Everything computed from
counts is the same to the bit; the trellis means and intervals agree to
rounding (the two add in different orders; about 1e-15 relative).

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
import dataclasses
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

import numpy as np
import pandas as pd

from ._validation import check_interval, check_one_of
from .cli import (
    PROGRESS_SECONDS,
    Command,
    UsageError,
    add_data_options,
    announce,
    load_from_args,
    note,
    parse_where,
    where_for,
)
from .engine import BrushEngine
from .errors import HpcoreError, OutputError
from .histogram import histogram
from .model import NORMALIZED, Ensemble
from .selection import Selection, Where, require_normalized, resolve_where, select
from .stats import (
    compare_pair_counts,
    compare_selections,
    enrich_pair_counts,
    importance_from_counts,
    pair_statistics,
    parameter_importance,
    trellis_ci_from_moments,
    trellis_with_ci,
)
from .trellis import check_trellis_args

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[str, ...] = get_args(Format)
#: How the matrix cells are coloured: the paper's counts, or log2 enrichment.
Color = Literal["count", "enrichment"]
COLORS: tuple[str, ...] = get_args(Color)
#: Parameter order of the matrix and trellis: as in the data, or by importance.
Sort = Literal["data", "importance"]
SORTS: tuple[str, ...] = get_args(Sort)
#: The three figures of every report, by file stem.
FIGURES = ("histogram", "pairs", "trellis")
#: The figure of a comparison.
COMPARE = "compare"
#: The tables behind them.
TABLES = ("histogram.csv", "pairs.csv", "trellis.csv", "importance.csv")
SUMMARY = "summary.json"
#: Bins of both histograms.
HISTOGRAM_BINS = 20
#: Resolution of PNG figures.
PNG_DPI = 150
#: q-value under which a cell, a parameter or a difference is marked.
ALPHA = 0.05
#: Level of the trellis' confidence intervals (Student t).
CI_LEVEL = 0.95


def report_files(fmt: str, compare: bool = False) -> tuple[str, ...]:
    """The file names of a report in figure format ``fmt`` (summary last)."""
    figures = (*FIGURES, COMPARE) if compare else FIGURES
    tables = (*TABLES, f"{COMPARE}.csv") if compare else TABLES
    return (*(f"{f}.{fmt}" for f in figures), *tables, SUMMARY)


@dataclass(frozen=True, eq=False)
class ReportTables:
    """The aggregates and statistics a report draws.

    Attributes
    ----------
    histogram_raw, histogram_normalized : pandas.DataFrame
        :func:`hpcore.histogram` of the raw and of the normalized metric over
        the rows that pass the ``where`` filter (every range): the population
        the range is chosen from.
    pairs : pandas.DataFrame
        :func:`hpcore.stats.pair_statistics` of the selection: the columns of
        :func:`hpcore.pair_counts` plus ``expected, enrichment, p_value,
        q_value``.
    trellis : pandas.DataFrame
        :func:`hpcore.stats.trellis_with_ci` of the selection (mean normalized
        metric with its 95% t-interval), without the options ``where``
        excludes (see :func:`restrict_options`).
    importance : pandas.DataFrame
        :func:`hpcore.stats.parameter_importance` of the selection (strongest
        first).
    compare : pandas.DataFrame or None
        :func:`hpcore.stats.compare_selections` with ``a`` the comparison
        selection and ``b`` the main selection; None without a comparison.
    order : tuple of str
        The parameters in the order ``pairs``, ``trellis`` and ``compare``
        follow (the ensemble's, or by importance).
    """

    histogram_raw: pd.DataFrame
    histogram_normalized: pd.DataFrame
    pairs: pd.DataFrame
    trellis: pd.DataFrame
    importance: pd.DataFrame
    compare: pd.DataFrame | None
    order: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Report:
    """Everything a report shows, computed and not yet drawn.

    Attributes
    ----------
    ensemble : Ensemble
        The normalized ensemble analysed (parameters in the data's order; the
        drawn order is ``tables.order``).
    selection : Selection
        The selected networks (range and ``where``).
    tables : ReportTables
        The aggregates and statistics drawn.
    primary : str
        The trellis' primary parameter.
    secondary : str or None
        The trellis' secondary parameter.
    summary : Mapping[str, Any]
        The content of ``summary.json`` (JSON-ready values).
    color : {"count", "enrichment"}
        What colours the matrix cells.
    compare : Selection or None
        The second selection (``--compare``), same ``where``.
    alpha : float
        q-value threshold of the marks.
    """

    ensemble: Ensemble
    selection: Selection
    tables: ReportTables
    primary: str
    secondary: str | None
    summary: Mapping[str, Any]
    color: Color = "count"
    compare: Selection | None = None
    alpha: float = ALPHA

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


def importance_order(ens: Ensemble, importance: pd.DataFrame) -> tuple[str, ...]:
    """The parameters by importance, the group column kept first.

    The group column (the data set) is the column the metric is normalized
    within, and the paper's matrix starts with it; it stays first. The other
    parameters follow ``importance``'s rows (strongest first); parameters it
    does not list keep their order at the end.
    """
    ranked = [str(p) for p in importance["parameter"] if str(p) in ens.parameters]
    first = [ens.group] if ens.group is not None and ens.group in ens.parameters else []
    rest = [p for p in dict.fromkeys(ranked) if p not in first]
    rest += [p for p in ens.parameters if p not in rest and p not in first]
    return (*first, *rest)


def report_engine(ens: Ensemble, bins: int = HISTOGRAM_BINS) -> BrushEngine | None:
    """The fast engine for a report on ``ens``, or None when it cannot serve.

    The engine answers when ``ens`` is normalized, has rows, categorical
    parameters (as :func:`hpcore.load` makes them) and every normalized value
    in [0, 1] (as :func:`hpcore.normalize` makes them: then "any metric value"
    and the range [0, 1] select the same rows). Otherwise the report takes
    the plain functions, which also raise the errors of bad input.
    """
    if not ens.is_normalized or NORMALIZED not in ens.table.columns or not len(ens):
        return None
    values = ens.table[NORMALIZED].to_numpy(dtype=np.float64)
    if not bool(((values >= 0.0) & (values <= 1.0)).all()):
        return None
    try:
        return BrushEngine(ens, bins=bins)
    except HpcoreError:
        return None


def compute_tables(
    ens: Ensemble,
    selection: Selection,
    *,
    primary: str,
    secondary: str | None,
    bins: int = HISTOGRAM_BINS,
    sort: Sort = "data",
    compare: Selection | None = None,
    engine: BrushEngine | None = None,
) -> ReportTables:
    """All the aggregation of a report, in one place, by the fast engine.

    The pair counts (of the selection, its population and the comparison),
    the option counts behind the importance, the normalized histogram and the
    trellis with its confidence intervals come from one
    :class:`~hpcore.BrushEngine` (the raw-metric histogram from
    :func:`hpcore.histogram`); the statistics from the counts-based entries
    of :mod:`hpcore.stats`. The tables equal those of the plain functions
    (:func:`plain_tables`, the reference): counts and everything computed
    from counts exactly, trellis means and intervals to rounding (the engine
    adds per combination, the plain functions per row).

    The selections must be what their ``range`` and ``where`` select
    (:meth:`~hpcore.BrushEngine.answers`: at once for selections the engine
    made, else checked row by row); a hand-made one, or an ensemble the
    engine cannot serve (:func:`report_engine`), takes the plain functions.

    Parameters
    ----------
    ens : Ensemble
        Normalized; parameters in the data's order.
    selection : Selection
        The main selection.
    primary, secondary : str or None
        The trellis parameters.
    bins : int, default=20
        Bins of the histograms.
    sort : {"data", "importance"}, default="data"
        Order of the matrix' parameters and the trellis panels (see
        :func:`importance_order`).
    compare : Selection, optional
        A second selection to compare the main one with.
    engine : BrushEngine, optional
        The engine of ``ens`` with ``bins`` bins (e.g. the one that made the
        selections); built when None.

    Returns
    -------
    ReportTables

    Raises
    ------
    HpcoreError
        ``engine`` was built on another ensemble or with other bins.
    """
    check_one_of("sort", sort, SORTS, HpcoreError)
    if engine is None:
        engine = report_engine(ens, bins)
    elif engine.ensemble is not ens or engine.bins != bins:
        raise HpcoreError(
            "compute_tables: the engine must be built on this ensemble with "
            f"bins={bins}; got one with bins={engine.bins} on "
            f"{'this' if engine.ensemble is ens else 'another'} ensemble"
        )
    selections = [s for s in (selection, compare) if s is not None]
    if engine is None or not all(engine.answers(s) for s in selections):
        return plain_tables(
            ens,
            selection,
            primary=primary,
            secondary=secondary,
            bins=bins,
            sort=sort,
            compare=compare,
        )
    check_trellis_args(ens, primary, secondary, NORMALIZED)
    where = selection.where
    everything = (0.0, 1.0)
    population = engine.query(range=everything, where=where)
    main = engine.query(range=selection.range, where=where)
    importance = importance_from_counts(
        main.option_counts,
        population.option_counts,
        selected=main.count,
        population=population.count,
    )
    if sort == "importance":  # the pair counts in the drawn order
        engine = engine.reordered(importance_order(ens, importance))
        population = engine.query(range=everything, where=where)
        main = engine.query(range=selection.range, where=where)
    drawn = engine.ensemble
    trellis = trellis_ci_from_moments(
        engine.trellis_moments(
            range=selection.range, where=where, primary=primary, secondary=secondary
        ),
        level=CI_LEVEL,
    )
    second = None
    if compare is not None:
        other = engine.query(range=compare.range, where=compare.where)
        second = compare_pair_counts(
            other.pair_counts,
            main.pair_counts,
            size_a=other.count,
            size_b=main.count,
        )
    passing = select(ens, range=everything, where=where) if where else None
    return ReportTables(
        histogram_raw=histogram(ens, bins=bins, selection=passing),
        histogram_normalized=population.histogram,
        pairs=enrich_pair_counts(
            main.pair_counts,
            population.pair_counts,
            selected=main.count,
            population=population.count,
        ),
        trellis=restrict_options(trellis, where, primary=primary, secondary=secondary),
        importance=importance,
        compare=second,
        order=drawn.parameters,
    )


def plain_tables(
    ens: Ensemble,
    selection: Selection,
    *,
    primary: str,
    secondary: str | None,
    bins: int = HISTOGRAM_BINS,
    sort: Sort = "data",
    compare: Selection | None = None,
) -> ReportTables:
    """:func:`compute_tables` by the plain functions: the readable reference.

    Scans the rows for every table. The test oracle of the engine path, and
    the path for selections the engine cannot answer (hand-made row masks).
    Parameters as :func:`compute_tables`.
    """
    check_one_of("sort", sort, SORTS, HpcoreError)
    population = (
        select(ens, range=(0.0, 1.0), where=selection.where)
        if selection.where
        else None
    )
    importance = parameter_importance(ens, selection)
    drawn = ens
    if sort == "importance":
        drawn = dataclasses.replace(ens, parameters=importance_order(ens, importance))
    trellis = trellis_with_ci(
        drawn, selection, primary=primary, secondary=secondary, level=CI_LEVEL
    )
    return ReportTables(
        histogram_raw=histogram(ens, bins=bins, selection=population),
        histogram_normalized=histogram(
            ens, bins=bins, normalized=True, selection=population
        ),
        pairs=pair_statistics(drawn, selection),
        trellis=restrict_options(
            trellis, selection.where, primary=primary, secondary=secondary
        ),
        importance=importance,
        compare=(
            None if compare is None else compare_selections(drawn, compare, selection)
        ),
        order=drawn.parameters,
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


def _statistics_notes(alpha: float, cells: int) -> dict[str, str]:
    """How the numbers of the CSV files were obtained (for summary.json)."""
    return {
        "pairs": (
            "expected = selected x share of the option pair among the networks "
            "that pass `where`; enrichment = count / expected; p_value: exact "
            "two-sided hypergeometric test; q_value: Benjamini-Hochberg over all "
            f"{cells} cells"
        ),
        "importance": (
            "score: total variation distance between the option shares of the "
            "selection and of all networks that pass `where`; p_value: "
            "chi-square test of selected vs not selected (Monte Carlo when "
            "expected counts are below 5); q_value: Benjamini-Hochberg over the "
            "parameters"
        ),
        "trellis": (
            f"ci_low, ci_high: {CI_LEVEL:.0%} Student-t confidence interval of "
            "each mean (empty below 2 networks)"
        ),
        "compare": (
            "a = the --compare selection, b = the main selection; difference = "
            "share_b - share_a; p_value: Fisher's exact test; q_value: "
            "Benjamini-Hochberg over all cells"
        ),
        "marks": f"cells and parameters with q_value < {alpha:g} are marked",
    }


def build_report(
    ens: Ensemble,
    *,
    range: tuple[float, float] = (0.0, 1.0),
    where: Where | None = None,
    primary: str | None = None,
    secondary: str | None = None,
    bins: int = HISTOGRAM_BINS,
    source: str | None = None,
    color: Color = "count",
    sort: Sort = "data",
    compare: tuple[float, float] | None = None,
    alpha: float = ALPHA,
) -> Report:
    """Select, aggregate, test and summarize: everything a report shows.

    Parameters
    ----------
    ens : Ensemble
        A normalized ensemble (:func:`hpcore.normalize`); not modified.
    range : (float, float), default=(0.0, 1.0)
        Closed range on the normalized metric.
    where : mapping of str to options, optional
        Parameter -> allowed options; restricts the selection and the
        histograms' population (and the null model of the statistics).
    primary : str, optional
        The trellis' panel-row parameter; default the group column (or the
        first parameter without one, in the data's order).
    secondary : str, optional
        The trellis' colour-and-marker parameter.
    bins : int, default=20
        Bins of the histograms.
    source : str, optional
        Where the data came from, for ``summary.json`` (default ``ens.source``).
    color : {"count", "enrichment"}, default="count"
        Colour the matrix by the count (the paper) or by log2 enrichment.
    sort : {"data", "importance"}, default="data"
        Order of the matrix' parameters and the trellis panels.
    compare : (float, float), optional
        A second range (same ``where``) to compare the selection with.
    alpha : float, default=0.05
        q-value threshold of the marks (strictly between 0 and 1).

    Returns
    -------
    Report

    Raises
    ------
    SelectionError, ParameterError, OptionError
        Bad range or comparison range, unknown parameter or option, not
        normalized.
    HpcoreError
        Bad ``color``, ``sort`` or ``alpha``.
    """
    require_normalized(ens, "a report")
    check_one_of("color", color, COLORS, HpcoreError)
    check_one_of("sort", sort, SORTS, HpcoreError)
    if isinstance(alpha, bool) or not isinstance(alpha, float | int):
        raise HpcoreError(f"`alpha` must be a number in (0, 1); got {alpha!r}")
    if not 0.0 < float(alpha) < 1.0:
        raise HpcoreError(f"`alpha` must lie strictly between 0 and 1; got {alpha!r}")
    primary = default_primary(ens) if primary is None else primary
    # bad input fails before the engine is built
    ranges = [check_interval("range", range)]
    where = resolve_where(ens, where)
    if compare is not None:
        ranges.append(check_interval("compare", compare))
    engine = report_engine(ens, bins)
    if engine is None:
        selection, *rest = [select(ens, range=r, where=where) for r in ranges]
    else:  # made by the engine: compute_tables trusts them as they are
        selection, *rest = [engine.select(range=r, where=where) for r in ranges]
    second = rest[0] if rest else None
    tables = compute_tables(
        ens,
        selection,
        primary=primary,
        secondary=secondary,
        bins=bins,
        sort=sort,
        compare=second,
        engine=engine,
    )
    dropped = {str(k): int(v) for k, v in ens.dropped.items()}
    significant = tables.pairs["q_value"].to_numpy() < alpha
    important = tables.importance["q_value"].to_numpy() < alpha
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
        "color": color,
        "sort": sort,
        "order": list(tables.order),
        "alpha": float(alpha),
        "cells": len(tables.pairs),
        "significant_cells": int(significant.sum()),
        "significant_parameters": [
            str(p) for p in tables.importance["parameter"].to_numpy()[important]
        ],
        "compare": None,
        "statistics": _statistics_notes(float(alpha), len(tables.pairs)),
    }
    if second is not None and tables.compare is not None:
        summary["compare"] = {
            "range": list(second.range),
            "selected": second.count,
            "significant_cells": int(
                (tables.compare["q_value"].to_numpy() < alpha).sum()
            ),
        }
    return Report(
        ensemble=ens,
        selection=selection,
        tables=tables,
        primary=primary,
        secondary=secondary,
        summary=MappingProxyType(summary),
        color=color,
        compare=second,
        alpha=float(alpha),
    )


def _range_text(sel: Selection) -> str:
    lo, hi = sel.range
    return f"[{lo:.2f}, {hi:.2f}]"


def draw_report(report: Report) -> dict[str, Any]:
    """The figures of a report, by file stem (matplotlib Figures)."""
    from . import render

    ens, sel, t = report.ensemble, report.selection, report.tables
    alpha = report.alpha
    if report.color == "enrichment":
        color: dict[str, Any] = {
            "value": "enrichment",
            "scale": "log2",
            "colorbar_label": "enrichment = selected / expected by chance\n"
            "(log scale; 1 = as many as expected)",
            "number_format": "{:.2g}",
        }
    else:
        color = {"value": "count", "colorbar_label": render.COUNT_LABEL}
    figures: dict[str, Any] = {
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
            marks=t.pairs["q_value"].to_numpy() < alpha,
            mark_label=(
                f"q < {alpha:g}: more or fewer networks than chance\n"
                "(exact hypergeometric test,\n"
                f"Benjamini-Hochberg over {len(t.pairs):,} cells)"
            ),
            importance=t.importance,
            alpha=alpha,
            **color,
        ),
        "trellis": render.draw_trellis(
            t.trellis,
            value_label=f"mean normalized {ens.metric}",
            primary_name=report.primary,
            secondary_name=report.secondary,
            ci_label=f"{CI_LEVEL:.0%} confidence interval (Student t)",
        ),
    }
    if report.compare is not None and t.compare is not None:
        other = report.compare
        figures[COMPARE] = render.draw_pair_matrix(
            t.compare,
            title=(
                f"Where two selections differ: b = {sel.count:,} networks with "
                f"normalized {ens.metric} in {_range_text(sel)}, "
                f"a = {other.count:,} in {_range_text(other)}"
                + (f"\n{_where_text(sel.where)}" if sel.where else "")
            ),
            value="difference",
            scale="diverging",
            colorbar_label=(
                f"share in {_range_text(sel)} minus share in "
                f"{_range_text(other)} (percentage points)"
            ),
            number_format="{:+.0%}",
            marks=t.compare["q_value"].to_numpy() < alpha,
            mark_label=(
                f"q < {alpha:g}: the shares differ\n(Fisher's exact test,\n"
                f"Benjamini-Hochberg over {len(t.compare):,} cells)"
            ),
            empty=sel.count == 0 or other.count == 0,
        )
    return figures


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
    t = report.tables
    report.histogram.to_csv(folder / "histogram.csv", index=False)
    t.pairs.to_csv(folder / "pairs.csv", index=False)
    t.trellis.to_csv(folder / "trellis.csv", index=False)
    t.importance.to_csv(folder / "importance.csv", index=False)
    if t.compare is not None:
        t.compare.to_csv(folder / f"{COMPARE}.csv", index=False)
    names = report_files(fmt, t.compare is not None)
    summary = {**report.summary, "files": list(names)}
    (folder / SUMMARY).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _install(tmp: Path, out: Path, fmt: str, compare: bool) -> None:
    """Move the finished report from ``tmp`` to ``out``."""
    if not out.exists():
        os.rename(tmp, out)
        return
    old_summary = out / SUMMARY
    had_report = old_summary.exists()
    old_summary.unlink(missing_ok=True)
    names = report_files(fmt, compare)
    if had_report:  # files of an earlier report that this one does not replace
        stale = {
            name
            for other in FORMATS
            for name in report_files(other, compare=True)
            if name not in names
        }
        for name in sorted(stale):
            (out / name).unlink(missing_ok=True)
    for name in names:
        if name != SUMMARY:
            os.replace(tmp / name, out / name)
    os.replace(tmp / SUMMARY, out / SUMMARY)
    tmp.rmdir()


def write_report(
    report: Report, out_dir: str | os.PathLike[str], fmt: str = "png"
) -> Path:
    """Draw a report and write its files into ``out_dir``, all or nothing.

    Parameters
    ----------
    report : Report
        From :func:`build_report`.
    out_dir : str or path
        The report folder; created (with missing parents) when absent. The
        files of an earlier report there (:func:`report_files` in any format,
        with or without a comparison) are replaced or removed; other files
        are left alone.
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
        _install(tmp, out, fmt, report.compare is not None)
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


def parse_range(
    values: Sequence[str] | None, option: str = "--range"
) -> tuple[float, float]:
    """``["0.9", "1"]`` -> ``(0.9, 1.0)``; None -> ``(0.0, 1.0)``.

    ``option`` names the command-line option in error messages.
    """
    if values is None:
        return (0.0, 1.0)
    try:
        lo, hi = (float(v) for v in values)
    except ValueError:
        raise UsageError(
            f"{option}: LO and HI must be numbers in [0, 1]; got {' '.join(values)!r}"
        ) from None
    return check_interval(option, (lo, hi))


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
        "--color",
        choices=COLORS,
        default="count",
        help="colour of the matrix cells: the count of selected networks (the "
        "paper's) or the log2 enrichment over chance, on a diverging map "
        "centred at 1 (default: count). Either way cells with q < 0.05 get a dot",
    )
    parser.add_argument(
        "--sort",
        choices=SORTS,
        default="data",
        help="order of the matrix' parameters and the trellis panels: as in "
        "the data, or by importance (the group column stays first; "
        "default: data)",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("LO", "HI"),
        help="a second range of the normalized metric (same --where) to compare "
        "with: writes compare.<fmt> and compare.csv (the difference of shares, "
        "main selection minus this one)",
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
        "Writes histogram, pairs (with the parameter importance panel) and "
        "trellis figures, their CSV tables (pairs.csv with expected counts, "
        "enrichment, exact hypergeometric p- and Benjamini-Hochberg q-values; "
        "trellis.csv with 95%% Student-t confidence intervals ci_low, ci_high; "
        "importance.csv), compare.<fmt> and compare.csv with --compare, and "
        "summary.json. An empty selection still writes the report (zero counts, "
        "a 'no networks selected' note) and warns on stderr. Exit status 2 on "
        "bad input or an unwritable DIR."
    )


def run(args: argparse.Namespace) -> int:
    """Run ``hpexplorer report``; 0 on success (errors raise HpcoreError)."""
    value_range = parse_range(args.range)
    compare = None if args.compare is None else parse_range(args.compare, "--compare")
    where = parse_where(args.where)
    out = Path(args.out)
    check_output_dir(out)
    ens, source = load_from_args(args)
    where = where_for(ens, where)
    started = time.perf_counter()
    report = build_report(
        ens,
        range=value_range,
        where=where,
        primary=args.primary,
        secondary=args.secondary,
        source=source,
        color=args.color,
        sort=args.sort,
        compare=compare,
    )
    announce(ens)
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
    files = report_files(args.format, compare is not None)
    print(
        f"{report.selection.count:,} of {len(ens.table):,} networks selected; "
        f"report written to {out}/ ({', '.join(files)})"
    )
    summary = report.summary
    line = (
        f"{summary['significant_cells']:,} of {summary['cells']:,} matrix cells "
        f"and {len(summary['significant_parameters'])} of "
        f"{len(ens.parameters)} parameters differ from chance at "
        f"q < {report.alpha:g}"
    )
    if report.compare is not None:
        line += (
            f"; {summary['compare']['significant_cells']:,} cells differ between "
            f"the selection and the {report.compare.count:,} networks in "
            f"{_range_text(report.compare)}"
        )
    print(line)
    return 0


COMMAND = Command(
    help="write the paper's three figures with their statistics, their tables "
    "and a summary to a folder",
    configure=configure,
    run=run,
)
