"""``hpexplorer report``: the paper's three views, their statistics and numbers.

A report folder holds eight files (ten with a comparison):

- ``histogram.<fmt>`` (paper Fig. 2), ``pairs.<fmt>`` (Fig. 3, with the
  per-parameter importance panel beside the matrix), ``trellis.<fmt>``
  (Fig. 4, with 95% confidence bars);
- ``histogram.csv``, ``pairs.csv``, ``trellis.csv``, ``importance.csv``: the
  exact tables drawn;
- with ``--compare LO HI``: ``compare.<fmt>`` and ``compare.csv``;
- ``summary.json``: what was analysed and selected, and what each figure
  draws (``drawn``: the parameters of the matrix and of the trellis, and why
  any others are left out; see :func:`drawn_parameters`).

By default the selection is the top tenth of the normalized metric
(:data:`DEFAULT_RANGE`) and the matrix is coloured by enrichment over chance
(:data:`DEFAULT_COLOR`): the best networks against all, as the paper asks.

The tables (columns in order):

- ``histogram.csv``: ``kind`` (raw or normalized), ``group, bin_left,
  bin_right, count``.
- ``pairs.csv``: ``param_a, option_a, param_b, option_b, count`` (selected
  networks with both options), ``expected`` (selection size x the pair's share
  among the networks that pass ``--where``: the count if the selection were a
  random sample), ``enrichment`` (count / expected; empty where expected is
  0), ``p_value`` (exact two-sided hypergeometric test), ``q_value``
  (Benjamini-Hochberg over the cells with a test; 1 for a cell that none or
  all of the networks passing ``--where`` have). See
  :func:`hpcore.analysis.stats.pair_statistics`.
- ``trellis.csv``: ``parameter, option, primary, secondary, mean, count,
  ci_low, ci_high``: mean normalized metric per cell with its 95% Student-t
  confidence interval (``mean -/+ t(0.975, n-1) * sd / sqrt(n)``; empty below
  two networks); without the options ``--where`` excludes (their cells hold
  no network). See :func:`hpcore.analysis.stats.trellis_with_ci`.
- ``importance.csv``: one row per parameter, strongest first: ``parameter,
  score`` (total variation distance between the option shares of the
  selection and of all networks that pass ``--where``), ``statistic, dof,
  p_value`` (chi-square test of selected vs not selected, Monte Carlo when
  counts are small; ``test`` says which), ``q_value`` (Benjamini-Hochberg),
  ``test, top_option, top_enrichment`` (the most over-represented option and
  its share in the selection / share overall). See
  :func:`hpcore.analysis.stats.parameter_importance`.
- ``compare.csv``: ``param_a, option_a, param_b, option_b, count_a, count_b,
  share_a, share_b, difference, p_value, q_value``: *a* is the ``--compare``
  selection, *b* the main ``--range`` selection, ``difference = share_b -
  share_a`` (positive: more common in the main selection); Fisher's exact
  test with Benjamini-Hochberg q-values. See
  :func:`hpcore.analysis.stats.compare_selections`.

Rows follow the drawn order: with ``--sort importance`` the parameters of the
matrix (group column first) and the trellis panels are ordered by importance.

The tables come from :func:`hpcore.analysis.tables.compute_tables` (one fast
engine per report); this module adds the summary, draws the figures
(:mod:`hpcore.views`) and writes the folder.

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
>>> from hpcore.app.report import build_report
>>> ens = hpcore.normalize(hpcore.load(pd.DataFrame({"dataset": list("aabb"),
...     "opt": ["x", "y", "x", "y"], "acc": [1.0, 2.0, 3.0, 5.0]})))
>>> build_report(ens, range=(0.5, 1.0)).summary["selected"]
2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

from ..analysis.settings import CI_LEVEL, HISTOGRAM_BINS, SORTS, Sort
from ..data.errors import HpcoreError, OutputError, ParameterError
from ..data.validation import check_interval, check_one_of
from ..views.limits import (
    MAX_OPTIONS,
    MAX_PANELS,
    MAX_SLOTS,
    Drawn,
    choose_parameters,
)
from .common import (
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
from .output import OutputFolder

if TYPE_CHECKING:  # imported where used, so that argument errors answer at once
    import pandas as pd

    from ..analysis.selection import Selection, Where
    from ..analysis.tables import ReportTables
    from ..data.model import Ensemble

Format = Literal["png", "svg", "pdf"]


FORMATS: tuple[str, ...] = get_args(Format)


#: How the matrix cells are coloured: the paper's counts, or log2 enrichment.
Color = Literal["count", "enrichment"]


COLORS: tuple[str, ...] = get_args(Color)


#: The default selection: the top tenth of the normalized metric, i.e. the
#: networks within 10 % of their group's best (on the group's min..max span).
#: The paper's question is what the best networks have in common; [0, 1]
#: would select every network and show only the design of the experiment.
DEFAULT_RANGE = (0.9, 1.0)


#: The default colouring: enrichment over chance, which shows what the
#: selection prefers; counts mostly show how many options each parameter has.
DEFAULT_COLOR: Color = "enrichment"


#: The enrichment colour scale ends at this quantile of |log2 enrichment| over
#: the cells expected to hold at least :data:`ENRICHMENT_MIN_EXPECTED`
#: networks, outside the group column's blocks (further cells take the end
#: colours), within :data:`ENRICHMENT_LIMITS` (as ratios: a scale never ends
#: below x1.5, so chance variation stays pale).
ENRICHMENT_QUANTILE = 0.95


ENRICHMENT_MIN_EXPECTED = 5.0


ENRICHMENT_LIMITS = (1.5, 8.0)


#: The three figures of every report, by file stem.
FIGURES = ("histogram", "pairs", "trellis")


#: The figure of a comparison.
COMPARE = "compare"


#: The tables behind them.
TABLES = ("histogram.csv", "pairs.csv", "trellis.csv", "importance.csv")


SUMMARY = "summary.json"


#: Resolution of PNG figures.
PNG_DPI = 150


#: q-value under which a cell, a parameter or a difference is marked.
ALPHA = 0.05


def report_files(fmt: str, compare: bool = False) -> tuple[str, ...]:
    """The file names of a report in figure format ``fmt`` (summary last)."""
    figures = (*FIGURES, COMPARE) if compare else FIGURES
    tables = (*TABLES, f"{COMPARE}.csv") if compare else TABLES
    return (*(f"{f}.{fmt}" for f in figures), *tables, SUMMARY)


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
        What colours the matrix cells (default :data:`DEFAULT_COLOR`).
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
    color: Color = DEFAULT_COLOR
    compare: Selection | None = None
    alpha: float = ALPHA

    @property
    def histogram(self) -> pd.DataFrame:
        """Both histograms in one frame, ``kind`` ("raw" or "normalized") first."""
        import pandas as pd

        return pd.concat(
            [
                self.tables.histogram_raw.assign(kind="raw"),
                self.tables.histogram_normalized.assign(kind="normalized"),
            ],
            ignore_index=True,
        )[["kind", "group", "bin_left", "bin_right", "count"]]


def _statistics_notes(alpha: float, cells: int) -> dict[str, str]:
    """How the numbers of the CSV files were obtained (for summary.json)."""
    return {
        "pairs": (
            "expected = selected x share of the option pair among the networks "
            "that pass `where`; enrichment = count / expected; p_value: exact "
            "two-sided hypergeometric test; q_value: Benjamini-Hochberg over the "
            f"{cells} cells with a test (a cell that none or all of the networks "
            "passing `where` have, or an empty selection or one of all of them, "
            "is no test: p and q are 1)"
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
            "Benjamini-Hochberg over the cells with a test (p and q are 1 where "
            "neither or both selections hold every network with the pair, or a "
            "selection is empty)"
        ),
        "marks": f"cells and parameters with q_value < {alpha:g} are marked",
    }


def build_report(
    ens: Ensemble,
    *,
    range: tuple[float, float] = DEFAULT_RANGE,
    where: Where | None = None,
    primary: str | None = None,
    secondary: str | None = None,
    bins: int = HISTOGRAM_BINS,
    source: str | None = None,
    color: Color = DEFAULT_COLOR,
    sort: Sort = "data",
    compare: tuple[float, float] | None = None,
    alpha: float = ALPHA,
) -> Report:
    """Select, aggregate, test and summarize: everything a report shows.

    Parameters
    ----------
    ens : Ensemble
        A normalized ensemble (:func:`hpcore.normalize`); not modified.
    range : (float, float), default=(0.9, 1.0)
        Closed range on the normalized metric (:data:`DEFAULT_RANGE`: the
        top tenth, the best networks of each group).
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
    color : {"count", "enrichment"}, default="enrichment"
        Colour the matrix by log2 enrichment over chance (what the selection
        prefers) or by the count (the paper's literal view).
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
    from ..analysis.selection import require_normalized, resolve_where, select
    from ..analysis.stats import nontrivial_cells, nontrivial_tests
    from ..analysis.tables import compute_tables, default_primary, report_engine

    require_normalized(ens, "a report")
    if len(ens.parameters) < 2:
        left = "; ".join(f"{str(c)!r}: {why}" for c, why in ens.excluded.items())
        raise ParameterError(
            "a report needs at least 2 parameters (its matrix and its trellis "
            f"pair them); {source or 'the data'} has {len(ens.parameters)}: "
            f"{list(ens.parameters)!r}"
            + (f" (not parameters: {left})" if left else "")
            + "; `hpexplorer findings` tests the effect of a single parameter"
        )
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
    passing = tables.population
    tested = int(nontrivial_cells(tables.pairs, selection.count, passing).sum())
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
        "better": ens.better,
        "parameters": {p: list(ens.options(p)) for p in ens.parameters},
        "binned": {k: [float(e) for e in v] for k, v in ens.binned.items()},
        "excluded": {str(k): str(v) for k, v in ens.excluded.items()},
        "primary": primary,
        "secondary": secondary,
        "source": source if source is not None else ens.source,
        "epoch": ens.epoch,
        "histogram_bins": bins,
        "histogram_rows": passing,
        "color": color,
        "sort": sort,
        "order": list(tables.order),
        "alpha": float(alpha),
        "cells": len(tables.pairs),
        "tested_cells": tested,
        "significant_cells": int(significant.sum()),
        "significant_parameters": [
            str(p) for p in tables.importance["parameter"].to_numpy()[important]
        ],
        "compare": None,
        "statistics": _statistics_notes(float(alpha), tested),
    }
    summary["drawn"] = _drawn_summary(
        drawn_parameters(ens, tables, primary, secondary, selection.where)
    )
    if second is not None and tables.compare is not None:
        summary["compare"] = {
            "range": list(second.range),
            "selected": second.count,
            "significant_cells": int(
                (tables.compare["q_value"].to_numpy() < alpha).sum()
            ),
            "tested_cells": int(
                nontrivial_tests(
                    tables.compare["count_a"].to_numpy()
                    + tables.compare["count_b"].to_numpy(),
                    second.count,
                    second.count + selection.count,
                ).sum()
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


def drawn_parameters(
    ens: Ensemble,
    tables: ReportTables,
    primary: str,
    secondary: str | None,
    where: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Drawn]:
    """What the pair matrix and the trellis draw (:mod:`hpcore.views.limits`).

    Parameters with more options than a figure can show are left out of the
    figures; of the others the most important (``tables.importance``; the
    group column first in the matrix) while the figure has room. A parameter
    the selection's ``where`` restricts takes the room of the options it
    keeps (the figures leave the others out, :func:`_kept_options`). The CSV
    tables keep every parameter and option.
    """
    n_options = {p: len(ens.options(p)) for p in ens.parameters}
    ranking = [str(p) for p in tables.importance["parameter"]]
    kept = {
        **n_options,
        **{p: len(o) for p, o in (where or {}).items() if p in n_options},
    }
    keep = [ens.group] if ens.group is not None and ens.group in n_options else []
    panels = [p for p in tables.order if p not in (primary, secondary)]
    shown = tables.trellis.groupby("parameter", sort=False, observed=True)["option"]
    panel_options = {str(k): int(v) for k, v in shown.nunique().items()}
    return {
        "pairs": choose_parameters(tables.order, kept, ranking, keep=keep),
        "trellis": choose_parameters(
            panels,
            {p: panel_options.get(p, n_options[p]) for p in panels},
            ranking,
            max_parameters=MAX_PANELS,
            max_cells=MAX_SLOTS,
        ),
    }


def _drawn_summary(drawn: Mapping[str, Drawn]) -> dict[str, Any]:
    """summary.json's account of what the figures show."""
    return {
        "pairs": list(drawn["pairs"].parameters),
        "trellis": list(drawn["trellis"].parameters),
        "left_out": {k: dict(v.left_out) for k, v in drawn.items()},
    }


def drawing_notes(report: Report, fmt: str = "png") -> list[str]:
    """What the figures leave out, and characters no installed font has.

    One line each, for the command line; the figures and ``summary.json``
    ("drawn") say the same.
    """
    from ..views.text import missing_glyphs

    lines = []
    drawn = report.summary["drawn"]
    left_out = drawn["left_out"]
    crowded = sorted(
        {p for found in left_out.values() for p, r in found.items() if "options" in r}
    )
    if crowded:
        counts = ", ".join(
            f"{p} ({len(report.ensemble.options(p)):,})" for p in crowded[:5]
        )
        more = f" and {len(crowded) - 5} more" if len(crowded) > 5 else ""
        lines.append(
            f"left out of the figures for having more than {MAX_OPTIONS} options: "
            f"{counts}{more}; the CSV files have every option"
        )
    for stem, what in (("pairs", "matrix"), ("trellis", "panels")):
        room = [p for p, r in left_out[stem].items() if "options" not in r]
        if room:
            lines.append(
                f"{stem}.{fmt} draws the {what} of the {len(drawn[stem])} most "
                f"important parameters ({len(room):,} more are in {stem}.csv)"
            )
    ens = report.ensemble
    texts = [ens.metric, *ens.parameters]
    texts += [o for p in ens.parameters for o in ens.options(p)[:MAX_OPTIONS]]
    missing = missing_glyphs(texts)
    if missing:
        shown = " ".join(missing[:12]) + (" ..." if len(missing) > 12 else "")
        lines.append(
            f"no installed font has the characters {shown}; the figures show "
            "boxes for them (a font such as Noto Sans CJK or Noto Emoji would "
            "draw them)"
        )
    return lines


def _only(table: pd.DataFrame, keep: Sequence[str]) -> pd.DataFrame:
    """The rows of a pair table whose two parameters are both in ``keep``."""
    import pandas as pd

    present = {str(p) for c in ("param_a", "param_b") for p in pd.unique(table[c])}
    if present <= set(keep):
        return table
    inside = table["param_a"].isin(keep) & table["param_b"].isin(keep)
    return table[inside.to_numpy()]


def _kept_options(
    table: pd.DataFrame, where: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """The rows of a pair table whose two options the filter ``where`` keeps.

    A filtered-out option holds no network of the selection or of its
    population, so its row and column of the matrix would be blank: the
    figure leaves them out (its title names the filter; the CSV keeps them),
    as :func:`hpcore.analysis.tables.restrict_options` does for the trellis.
    """
    import pandas as pd

    keep = pd.Series(True, index=table.index)
    for name, allowed in where.items():
        for side in ("a", "b"):
            keep &= (table[f"param_{side}"] != name) | table[f"option_{side}"].isin(
                list(allowed)
            )
    return table if bool(keep.all()) else table[keep.to_numpy()]


def enrichment_limit(pairs: pd.DataFrame, group: str | None = None) -> float:
    """Half-width of the enrichment colour scale, in log2 units.

    The :data:`ENRICHMENT_QUANTILE` of ``|log2 enrichment|`` over the cells
    expected to hold at least :data:`ENRICHMENT_MIN_EXPECTED` networks (their
    enrichment is not mere noise) outside the blocks of the ``group`` column,
    within :data:`ENRICHMENT_LIMITS`. The group's own enrichment mostly
    measures how the per-group normalization maps each group's distribution
    (a range of the normalized metric holds most networks of an easy data
    set and few of a hard one); on its scale every parameter's cells would
    look white. Cells beyond the scale take its end colours.
    """
    import numpy as np

    lo, hi = (float(np.log2(v)) for v in ENRICHMENT_LIMITS)
    enrichment = pairs["enrichment"].to_numpy(dtype=np.float64)
    solid = pairs["expected"].to_numpy(dtype=np.float64) >= ENRICHMENT_MIN_EXPECTED
    if group is not None:
        own = (pairs["param_a"] == group) | (pairs["param_b"] == group)
        if not bool(own.all()):
            solid &= ~own.to_numpy()
    with np.errstate(divide="ignore"):
        values = np.abs(np.log2(enrichment[solid & (enrichment > 0)]))
    values = values[np.isfinite(values)]
    if not len(values):
        return hi
    return float(np.clip(np.quantile(values, ENRICHMENT_QUANTILE), lo, hi))


def draw_report(report: Report) -> dict[str, Any]:
    """The figures of a report, by file stem (matplotlib Figures).

    The pair matrix and the trellis draw the parameters of
    :func:`drawn_parameters` (each figure says what it leaves out); groups
    keep one colour in every figure (:func:`hpcore.views.group_colours`).
    """
    import pandas as pd

    from .. import views as render
    from ..views.trellis import is_ordered

    ens, sel, t = report.ensemble, report.selection, report.tables
    alpha = report.alpha
    drawn = drawn_parameters(ens, t, report.primary, report.secondary, sel.where)
    matrix = list(drawn["pairs"].parameters)
    pairs = _kept_options(_only(t.pairs, matrix), sel.where)
    if report.color == "enrichment":
        color: dict[str, Any] = {
            "value": "enrichment",
            "scale": "log2",
            "colorbar_label": "enrichment = selected networks / the number "
            "expected by chance (log scale; 1 = as many as chance)",
            "number_format": "{:.2g}",
            "limit": enrichment_limit(pairs, ens.group),
        }
    else:
        color = {"value": "count", "colorbar_label": render.COUNT_LABEL}
    colours = render.group_colours(ens.options(ens.group)) if ens.group else None
    ranking = [str(p) for p in t.importance["parameter"]]
    panels = list(drawn["trellis"].parameters)
    trellis = t.trellis
    if not {str(p) for p in pd.unique(trellis["parameter"])} <= set(panels):
        trellis = trellis[trellis["parameter"].isin(panels).to_numpy()]
    figures: dict[str, Any] = {
        "histogram": render.draw_histogram(
            t.histogram_raw,
            t.histogram_normalized,
            selected_range=sel.range,
            metric=ens.metric,
            group=ens.group,
            normalization=ens.normalization,
            lower_is_better=ens.better == "lower",
            selected_count=sel.count,
            title=_population_title(report),
            colors=colours,
        ),
        "pairs": render.draw_pair_matrix(
            pairs,
            title=_selection_title(report),
            marks=pairs["q_value"].to_numpy() < alpha,
            mark_label=(
                f"q < {alpha:g}: more or fewer networks than chance\n"
                "(exact hypergeometric test,\n"
                f"Benjamini-Hochberg over {report.summary['tested_cells']:,} "
                "tested cells)"
            ),
            blank_label=(
                "no network"
                + (" that passes the filter" if sel.where else "")
                + " has both options"
                if report.color == "enrichment"
                else None
            ),
            importance=t.importance,
            alpha=alpha,
            group=ens.group,
            ranking=ranking,
            note=drawn["pairs"].note("matrix", "pairs.csv") or None,
            **color,
        ),
        "trellis": render.draw_trellis(
            trellis,
            value_label=f"mean {ens.normalized_name}",
            primary_name=report.primary,
            secondary_name=report.secondary,
            ci_label=f"{CI_LEVEL:.0%} confidence interval (Student t)",
            ordered={
                p
                for p in ens.parameters
                if p in ens.binned or is_ordered(ens.options(p))
            },
            colors=colours if report.secondary == ens.group else None,
            ranking=ranking,
            note="\n".join(
                [
                    f"means of the {sel.count:,} selected networks "
                    f"({ens.normalized_name} in {_range_text(sel)}"
                    + (f", {_where_text(sel.where)})" if sel.where else ")"),
                    *filter(None, [drawn["trellis"].note("panels", "trellis.csv")]),
                ]
            ),
        ),
    }
    if report.compare is not None and t.compare is not None:
        other = report.compare
        compare = _kept_options(_only(t.compare, matrix), sel.where)
        figures[COMPARE] = render.draw_pair_matrix(
            compare,
            title=(
                f"Where two selections differ: b = {sel.count:,} networks with "
                f"{ens.normalized_name} in {_range_text(sel)}, "
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
            marks=compare["q_value"].to_numpy() < alpha,
            mark_label=(
                f"q < {alpha:g}: the shares differ\n(Fisher's exact test,\n"
                "Benjamini-Hochberg over "
                f"{report.summary['compare']['tested_cells']:,} tested cells)"
            ),
            empty=sel.count == 0 or other.count == 0,
            ranking=ranking,
            note=drawn["pairs"].note("matrix", "compare.csv") or None,
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
        f"{report.ensemble.normalized_name} in [{lo:.2f}, {hi:.2f}]"
    )
    if sel.where:
        text += f", {_where_text(sel.where)}"
    return text


def _save_figure(fig: Any, path: Path, fmt: str) -> None:
    """Save without dates and with fixed SVG ids, so equal reports are equal files."""
    from ..views.style import save_figure

    metadata = {
        "png": {"Software": None},
        "svg": {"Date": None},
        "pdf": {"CreationDate": None},
    }[fmt]
    save_figure(fig, path, fmt, dpi=PNG_DPI, metadata=metadata)


def _write_files(report: Report, folder: Path, fmt: str) -> None:
    import numpy as np

    # matplotlib's tick locators overflow on axis limits near the largest
    # double (a metric of ~1e308): the ticks come out right, and four
    # RuntimeWarnings per figure were noise on the user's terminal
    with np.errstate(over="ignore"):
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


def report_folder(
    out_dir: str | os.PathLike[str],
    fmt: str = "png",
    *,
    compare: bool = False,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> OutputFolder:
    """The :class:`~hpcore.app.output.OutputFolder` a report writes into.

    Call its :meth:`~hpcore.app.output.OutputFolder.check` before any work to
    fail fast (unwritable folder, somebody else's files in the way, an input
    that would be replaced).
    """
    check_one_of("format", fmt, FORMATS, OutputError)
    return OutputFolder(
        out_dir, report_files(fmt, compare), command="report", inputs=inputs
    )


def write_report(
    report: Report,
    out_dir: str | os.PathLike[str],
    fmt: str = "png",
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Draw a report and write its files into ``out_dir``, all or nothing.

    Parameters
    ----------
    report : Report
        From :func:`build_report`.
    out_dir : str or path
        The report folder; created (with missing parents) when absent. In an
        existing folder, only files an earlier run of hpexplorer wrote there
        (and nobody changed since) are replaced or removed; any other file in
        the way stops the run (see :mod:`hpcore.app.output`).
    fmt : {"png", "svg", "pdf"}, default="png"
        Figure format.
    inputs : sequence of path, optional
        The data the report was made from: never replaced.

    Returns
    -------
    pathlib.Path
        The report folder.

    Raises
    ------
    OutputError
        The folder cannot be created or written, or holds files in the way;
        nothing is left behind.
    """
    folder = report_folder(
        out_dir, fmt, compare=report.tables.compare is not None, inputs=inputs
    )
    return folder.write(lambda tmp: _write_files(report, tmp, fmt))


def parse_range(
    values: Sequence[str] | None, option: str = "--range"
) -> tuple[float, float]:
    """``["0.9", "1"]`` -> ``(0.9, 1.0)``; None -> :data:`DEFAULT_RANGE`.

    ``option`` names the command-line option in error messages.
    """
    if values is None:
        return DEFAULT_RANGE
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
        help="selected range of the normalized metric, within 0..1 (default: 0.9 1, "
        "the top tenth of the scale: the networks within 10%% of their group's "
        "best, compared with all, however many that is; with --normalize rank "
        "the best 10%% of each group; 0 1 selects every network)",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="PARAM=OPT1,OPT2",
        help="keep only networks with one of these options of PARAM; one "
        "parameter per flag, repeatable (--where dataset=cifar10,stl10 "
        "--where optimizer=ADAM)",
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
        default=DEFAULT_COLOR,
        help="colour of the matrix cells: enrichment = selected networks / the "
        "number expected by chance, on a log scale where 1 (as many as chance) "
        "is white (default: shows what the selection prefers), or count = "
        "selected networks with both options (the paper's literal view). "
        "Either way cells with q < 0.05 get a dot",
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
        "trellis.csv with 95% Student-t confidence intervals ci_low, ci_high; "
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
    inputs = [] if args.data is None else [args.data]
    folder = report_folder(
        args.out, args.format, compare=compare is not None, inputs=inputs
    )
    folder.check()
    out = folder.folder
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
            f"warning: no networks selected ({ens.normalized_name} in "
            f"[{lo:g}, {hi:g}]{' with --where' if where else ''}); "
            "the report shows zero counts"
        )
    for line in drawing_notes(report, args.format):
        note(line)
    note(f"drawing the figures into {str(out)!r} ...")
    started = time.perf_counter()
    write_report(report, out, args.format, inputs=inputs)
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
        + (
            f"({summary['tested_cells']:,} with a test) "
            if summary["tested_cells"] < summary["cells"]
            else ""
        )
        + f"and {len(summary['significant_parameters'])} of "
        f"{len(ens.parameters)} parameters differ from chance at "
        f"q < {report.alpha:g}"
    )
    if ens.group is not None and ens.group in summary["significant_parameters"]:
        from ..views.importance import group_note

        line += f" ({ens.group} among them: {group_note(ens.group)})"
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
    examples=(
        ("hpexplorer report", "the built-in synthetic ensemble, into report/"),
        (
            "hpexplorer report runs.csv --metric val_acc --range 0.9 1 --out top",
            "the top 10% of your networks (normalized val_acc) against all",
        ),
        (
            "hpexplorer report runs.csv --where dataset=cifar10,stl10 "
            "--primary optimizer --secondary batch_size",
            "two data sets only; trellis rows by optimizer, colours by batch size",
        ),
        (
            "hpexplorer report runs.csv --range 0.9 1 --compare 0.4 0.6 "
            "--color enrichment",
            "top networks against the main mode, cells coloured by enrichment",
        ),
    ),
)
