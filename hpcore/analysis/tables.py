"""The tables of one state of the analysis: what a report or a live view shows.

One state = a normalized ensemble, a selection (range and ``where``), the
trellis' primary and secondary parameters, a parameter order and optionally a
second selection to compare with. :func:`compute_tables` turns it into
:class:`ReportTables`: both histograms, the pair counts with their statistics,
the trellis with its intervals, the parameter importance and the comparison.
The report (:mod:`hpcore.app.report`), the browser view and the Inviwo
processors all draw these tables.

The counts behind every table come from one fast engine
(:class:`hpcore.BrushEngine`; :func:`compute_tables`). :func:`plain_tables`
computes the same tables with the plain functions: the reference, and the path
for hand-made selections. Everything computed from counts is the same to the
bit; the trellis means and intervals agree to rounding (the two add in
different orders; about 1e-15 relative).

Rows follow the drawn order: with ``sort="importance"`` the parameters of the
matrix (group column first) and the trellis panels are ordered by importance.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.errors import HpcoreError
from ..data.model import NORMALIZED, Ensemble
from ..data.validation import check_one_of
from .engine import BrushEngine
from .histogram import histogram
from .selection import Selection, select
from .settings import CI_LEVEL, HISTOGRAM_BINS, SORTS, Sort
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

__all__ = [
    "CI_LEVEL",
    "HISTOGRAM_BINS",
    "SORTS",
    "ReportTables",
    "Sort",
    "compute_tables",
    "default_primary",
    "importance_order",
    "plain_tables",
    "report_engine",
    "restrict_options",
]


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
        :func:`hpcore.analysis.stats.pair_statistics` of the selection: the columns of
        :func:`hpcore.pair_counts` plus ``expected, enrichment, p_value,
        q_value``.
    trellis : pandas.DataFrame
        :func:`hpcore.analysis.stats.trellis_with_ci` of the selection (mean normalized
        metric with its 95% t-interval), without the options ``where``
        excludes (see :func:`restrict_options`).
    importance : pandas.DataFrame
        :func:`hpcore.analysis.stats.parameter_importance` of the selection (strongest
        first).
    compare : pandas.DataFrame or None
        :func:`hpcore.analysis.stats.compare_selections` with ``a`` the comparison
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

    @property
    def population(self) -> int:
        """The networks that pass the ``where`` filter (any metric value),
        which the pair statistics test the selection against: what the raw
        histogram counts."""
        return int(self.histogram_raw["count"].sum())


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
    of :mod:`hpcore.analysis.stats`. The tables equal those of the plain functions
    (:func:`plain_tables`, the reference): counts and everything computed
    from counts exactly, trellis means and intervals to rounding (the engine
    adds per step of sorted values, the plain functions per row).

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
    return ReportTables(
        histogram_raw=raw_histogram(ens, bins=bins, where=where),
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


#: Raw-metric histograms remembered per ensemble (see :func:`raw_histogram`).
_RAW_HISTOGRAMS: weakref.WeakKeyDictionary[
    Ensemble, dict[tuple[int, tuple[tuple[str, tuple[str, ...]], ...]], pd.DataFrame]
] = weakref.WeakKeyDictionary()
_RAW_HISTOGRAMS_PER_ENSEMBLE = 16
_RAW_HISTOGRAMS_LOCK = threading.Lock()


def raw_histogram(
    ens: Ensemble, *, bins: int, where: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """:func:`hpcore.histogram` of the raw metric over the rows passing ``where``.

    It depends on neither the range nor the trellis, so a live view that
    brushes asks for the same one again and again; it scans every row, so the
    last few per ensemble are remembered (an Ensemble is never modified) and
    a copy is returned.
    """
    key = (int(bins), tuple((k, tuple(v)) for k, v in where.items()))
    with _RAW_HISTOGRAMS_LOCK:
        known = _RAW_HISTOGRAMS.get(ens, {}).get(key)
    if known is None:
        passing = select(ens, range=(0.0, 1.0), where=where) if where else None
        known = histogram(ens, bins=bins, selection=passing)
        with _RAW_HISTOGRAMS_LOCK:
            cache = _RAW_HISTOGRAMS.setdefault(ens, {})
            if len(cache) >= _RAW_HISTOGRAMS_PER_ENSEMBLE:
                cache.pop(next(iter(cache)))
            cache[key] = known
    return known.copy()


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
