"""The browser view of ``hpexplorer serve``: Bokeh models drawn from tables.

This module draws and never aggregates: every number on the page comes from
the tables of :func:`hpcore.analysis.tables.compute_tables` (histograms, pair
counts with their statistics, trellis with intervals, importance) or from the
rows the server hands over for the table of selected networks. The server
(:mod:`hpcore.app.serve`) owns the state and wires the widgets; this module
only builds the models and puts tables into their data sources.

The page, top to bottom beside a column of controls:

- the metric histogram stacked by group, raw and normalized; the normalized
  one carries the brushed range as a box (drag anywhere on it to brush a new
  range, drag the box's ends to adjust it);
- the pair matrix, one block per parameter pair (count or log2 enrichment
  colouring, a dot where ``q < alpha``, a hover card per cell; a click on a
  cell filters to that pair), with the parameter importance beside it (a
  click on a bar orders matrix and trellis by importance);
- the trellis, one row of panels per primary option, the secondary option as
  colour and marker, 95% confidence bars, a hover card per point;
- the selected networks, best first, one page at a time.

Models the server and the tests read carry a ``name`` (Bokeh 3 renders
widgets in shadow DOM, so a page is read through its models:
``Bokeh.documents[0].get_model_by_name(name)``): the sources
``hist_raw_source``, ``hist_norm_source``, ``pairs_source``,
``importance_source``, ``trellis_source``, ``trellis_lines``,
``networks_source``, ``clicked_source``; the brushed range ``brush`` (a box
annotation: ``left``, ``right``); the figures ``hist_raw``, ``hist_norm``,
``matrix``, ``importance``, ``trellis:<primary option>``; the lines of text
``status`` and ``page_text`` (figures whose ``title`` is the text); the
texts ``error``, ``message``, ``progress``; the widgets by what they set
(``metric``, ``group``, ``normalization``, ``range_lo``, ``range_hi``,
``color``, ``sort``, ``primary``, ``secondary``, ``filter:<parameter>``,
``command``, ...); and ``stamp``, a data source whose ``state`` is the JSON
of the state drawn last (set after every other model) and whose ``query``
is that state's query string, mirrored into the page's address.

Lines that change with every brush are drawn on canvases and data sources,
never as page text: a text change makes the browser lay out the whole page
again (tens of milliseconds on a page this size), a canvas repaints alone.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from bokeh.core.property.validation import validate
from bokeh.layouts import column, row
from bokeh.models import (
    BoxSelectTool,
    CDSView,
    ColumnDataSource,
    CustomJS,
    CustomJSHover,
    FactorRange,
    GroupFilter,
    HoverTool,
    LayoutDOM,
    LinearColorMapper,
    NumeralTickFormatter,
    Range1d,
    TapTool,
)
from bokeh.models.annotations import BoxAnnotation, ColorBar, Label
from bokeh.models.widgets import (
    Button,
    CheckboxGroup,
    DataTable,
    Div,
    NumberFormatter,
    NumericInput,
    RadioButtonGroup,
    Select,
    StringFormatter,
    TableColumn,
    TextAreaInput,
)
from bokeh.palettes import all_palettes, interp_palette
from bokeh.plotting import figure

from ..analysis.stats import nontrivial_cells
from ..data.better import LOWER_NOTE, normalized_name
from .importance import bar_colours, group_note, importance_note
from .style import (
    BLANK_FILL,
    DIVERGING_CMAP,
    EMPTY_NOTE,
    LOW_COUNT,
    OKABE_ITO,
    PAIR_CMAP,
)
from .text import cut_end, cut_middle
from .trellis import is_ordered, rows_with_networks

#: Width of the column of controls, in CSS pixels.
SIDEBAR_WIDTH = 290
#: The main area takes the rest of the window's width: the histograms, the
#: status line and the networks table stretch (each histogram down to
#: :data:`HISTOGRAM_MIN_WIDTH`), the importance panel moves below the matrix
#: where both do not fit side by side, and the trellis widens with the
#: window from :data:`TRELLIS_FRAME` (:func:`trellis_frame`), so that the
#: page fits a 1,280-pixel window.
HISTOGRAM_MIN_WIDTH = 380

#: Largest side of the pair matrix' cells, in CSS pixels, and of the
#: importance panel beside it.
MATRIX_PIXELS = 640
IMPORTANCE_WIDTH = 380

#: Bokeh markers of the trellis' secondary options, and the character the
#: legend shows for each.
WEB_MARKERS = (
    ("circle", "\u25cf"),
    ("square", "\u25a0"),
    ("triangle", "\u25b2"),
    ("diamond", "\u25c6"),
    ("inverted_triangle", "\u25bc"),
    ("hex", "\u2b22"),
    ("star", "\u2605"),
    ("plus", "\u271a"),
)

#: Colour of a matrix cell without a value (enrichment where nothing is
#: expected), as the report's matrix fills it.
NAN_COLOUR = BLANK_FILL

#: Colour of the page's error texts.
ERROR_COLOUR = "#b00020"

#: Outline of a clicked (filtering) matrix cell.
CLICKED_COLOUR = "#d62728"

#: Largest |log2 enrichment| of the diverging colour scale (8x either way).
ENRICHMENT_LIMIT = 3.0

#: Text shown on the views while nothing is loaded.
_FONT = "font-family: system-ui, sans-serif;"

_SEQUENTIAL = interp_palette(tuple(reversed(all_palettes[PAIR_CMAP][9])), 256)
_DIVERGING = interp_palette(tuple(reversed(all_palettes[DIVERGING_CMAP][11])), 256)


def _texts(series: pd.Series) -> list[str]:
    """The values of a column as text (fast for string and categorical columns)."""
    return [str(v) for v in series.to_numpy(dtype=object)]


def group_colours(groups: Sequence[str]) -> dict[str, str]:
    """One colour-blind-safe colour per group (Okabe-Ito, cycled)."""
    return {g: OKABE_ITO[i % len(OKABE_ITO)] for i, g in enumerate(groups)}


# ----------------------------------------------------------- source data


def histogram_data(hist: pd.DataFrame, groups: Sequence[str]) -> dict[str, Any]:
    """Stacked bars of a :func:`hpcore.histogram` table: one quad per (group, bin).

    The groups are stacked in ``groups`` order within every bin: ``bottom``
    of a group's bar is the sum of the counts of the groups before it in that
    bin, ``top = bottom + count``. A group without a network (a filter left
    it out) has no bars, so the legend, built from the bars, does not name
    it; the others keep the colours of ``groups``.
    """
    order = {g: i for i, g in enumerate(groups)}
    totals = hist.groupby(_texts(hist["group"]), sort=False)["count"].sum()
    if (totals > 0).any() and not (totals > 0).all():
        hist = hist[np.isin(_texts(hist["group"]), totals.index[totals > 0])]
    frame = hist.assign(
        _g=[order.get(g, len(order)) for g in _texts(hist["group"])]
    ).sort_values(["bin_left", "_g"], kind="stable")
    counts = frame["count"].to_numpy(dtype=np.int64)
    left = frame["bin_left"].to_numpy(dtype=np.float64)
    top = np.zeros(len(frame), dtype=np.int64)
    if len(frame):
        starts = np.r_[True, left[1:] != left[:-1]]
        cum = np.cumsum(counts)
        base = np.maximum.accumulate(np.where(starts, cum - counts, 0))
        top = cum - base
    colours = group_colours(groups)
    return {
        "group": _texts(frame["group"]),
        "bin_left": left,
        "bin_right": frame["bin_right"].to_numpy(dtype=np.float64),
        "count": counts,
        "bottom": top - counts,
        "top": top,
        "colour": [colours.get(g, "#999999") for g in _texts(frame["group"])],
    }


def untested_reasons(
    pairs: pd.DataFrame, selected: int | None, population: int | None
) -> list[str]:
    """Why a matrix cell has no test, per cell ("" where it has one, or where
    the sizes are not given): its p and q of 1 say nothing then. Which cells
    have a test is :func:`hpcore.analysis.stats.nontrivial_cells`'; of the
    others, nothing is expected (no network has the pair, or none is
    selected), every network is selected, or every network has the pair."""
    if selected is None or population is None:
        return [""] * len(pairs)
    tested = nontrivial_cells(pairs, selected, population).tolist()
    expected = pairs["expected"].to_numpy(dtype=np.float64).tolist()
    return [
        ""
        if ok
        else "no network expected"
        if e == 0
        else "every network selected"
        if selected == population
        else "every network has this pair"
        for ok, e in zip(tested, expected, strict=True)
    ]


def pair_values(
    pairs: pd.DataFrame,
    *,
    color: str,
    alpha: float,
    selected: int | None = None,
    population: int | None = None,
) -> dict[str, Any]:
    """The matrix columns a brush changes (see :func:`pairs_data`)."""
    count = pairs["count"].to_numpy(dtype=np.int64)
    enrichment = pairs["enrichment"].to_numpy(dtype=np.float64)
    p = pairs["p_value"].to_numpy(dtype=np.float64)
    q = pairs["q_value"].to_numpy(dtype=np.float64)
    if color == "enrichment":
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.log2(enrichment)
        value = np.clip(value, -ENRICHMENT_LIMIT, ENRICHMENT_LIMIT)
    else:
        value = count.astype(np.float64)
    return {
        "count": count,
        "expected": pairs["expected"].to_numpy(dtype=np.float64),
        "enrichment": enrichment,
        "p_value": p,
        "q_value": q,
        "value": value,
        "mark": (q < alpha).astype(np.float64),
        "no_test": untested_reasons(pairs, selected, population),
    }


def pair_labels(pairs: pd.DataFrame) -> dict[str, Any]:
    """The matrix columns that place the cells (see :func:`pairs_data`)."""
    a = _texts(pairs["param_a"])
    oa = _texts(pairs["option_a"])
    b = _texts(pairs["param_b"])
    ob = _texts(pairs["option_b"])
    return {
        "param_a": a,
        "option_a": oa,
        "param_b": b,
        "option_b": ob,
        "x": [[pa, xa] for pa, xa in zip(a, oa, strict=True)],
        "y": [[pb, xb] for pb, xb in zip(b, ob, strict=True)],
    }


def pairs_data(
    pairs: pd.DataFrame,
    *,
    color: str,
    alpha: float,
    selected: int | None = None,
    population: int | None = None,
) -> dict[str, Any]:
    """The matrix cells of a pair-statistics table (see ``ReportTables.pairs``).

    ``x`` and ``y`` are the cell's (parameter, option) factors; ``value`` is
    what colours a cell: the count, or log2 of the enrichment (NaN where
    nothing is expected, clipped to ±:data:`ENRICHMENT_LIMIT`); ``mark`` is 1
    where ``q_value < alpha``; ``no_test`` says why a cell has no test
    (:func:`untested_reasons`, given the selection's and the population's
    sizes).
    """
    values = pair_values(
        pairs, color=color, alpha=alpha, selected=selected, population=population
    )
    return {**pair_labels(pairs), **values}


def importance_data(
    importance: pd.DataFrame, *, alpha: float, group: str | None = None
) -> dict[str, Any]:
    """Bars of the importance table (strongest first), dark where ``q < alpha``;
    the ``group`` the metric is normalized within grey (the normalization's
    doing, not a setting's)."""
    q = importance["q_value"].to_numpy(dtype=np.float64)
    score = importance["score"].to_numpy(dtype=np.float64)
    names = _texts(importance["parameter"])
    top = _texts(importance["top_option"])
    ratio = importance["top_enrichment"].to_numpy(dtype=np.float64)
    tests = _texts(importance["test"])
    notes = [
        importance_note(float(qi), test, t, float(r))
        for qi, test, t, r in zip(q, tests, top, ratio, strict=True)
    ]
    return {
        "parameter": names,
        "score": score,
        "p_value": importance["p_value"].to_numpy(dtype=np.float64),
        "q_value": q,
        "test": tests,
        "top_option": top,
        "top_enrichment": ratio,
        "note": notes,
        "note_x": score,
        "why": [f"grey: {group_note(p)}" if p == group else "" for p in names],
        "colour": bar_colours(names, q, alpha, group),
    }


@dataclass(frozen=True)
class TrellisLayout:
    """What fixes the trellis' figures: panels, their options, rows and legend."""

    factors: tuple[tuple[str, str], ...]
    primaries: tuple[str, ...]
    secondaries: tuple[str, ...]
    primary: str
    secondary: str | None
    #: Each panel parameter's name on the axis, shortened ("augmentat…")
    #: where its group is too narrow for it (parameter, shown).
    shown: tuple[tuple[str, str], ...] = ()
    #: The width of the panels' frames, in pixels (:func:`trellis_layout`).
    width: int = 0

    def label(self, parameter: str) -> str:
        """``parameter`` as the axis shows it (the factors' first level)."""
        return dict(self.shown).get(parameter, parameter)


#: Width of the trellis' figures' frames, in pixels, at most, in a window of
#: 1,280 pixels or less (with the row titles and the axis, the trellis fits
#: beside the controls in a 1,280-pixel window) ...
TRELLIS_FRAME = 860
#: ... and in any window (a wider window gives the options more room, so that
#: the panels' names need not be cut; each option's slot stays at most 48 px).
TRELLIS_FRAME_MAX = 2000
#: A window's width beside the trellis' frames: the controls, the axis and
#: the row titles.
TRELLIS_CHROME = 1280 - TRELLIS_FRAME


def trellis_frame(window: int) -> int:
    """The width the trellis' frames may take in a page ``window`` pixels wide
    (its document's client width; 0: not known yet)."""
    return int(np.clip(window - TRELLIS_CHROME, TRELLIS_FRAME, TRELLIS_FRAME_MAX))


#: Option slots between two panels of the trellis (the factor range's
#: group padding).
TRELLIS_GAP = 1.0
#: Pixels per character of a trellis group label (12 px bold: ~6 in
#: Chromium, with room for the gap between neighbours).
GROUP_CHAR_PX = 7.5
#: ... and of a row title (one per row: less room needed).
ROW_CHAR_PX = 6.5


def trellis_width(n_factors: int, frame: int = TRELLIS_FRAME) -> int:
    """Width of the trellis' frames, in pixels, for ``n_factors`` options:
    ``frame``, unless that gives an option less than 16 or more than 48."""
    n = max(n_factors, 1)
    return round(float(np.clip(frame / n, 16, 48)) * n)


def group_labels(
    factors: Sequence[tuple[str, str]], width: int | None = None
) -> dict[str, str]:
    """Each panel parameter's axis label: its name, or where its group (its
    options and the gap) is narrower than the name, a shortened one: its
    start and an ellipsis, or where two would read alike, its start, an
    ellipsis and its end (:func:`~hpcore.views.text.cut_middle`: ``dep…nv``,
    ``dep…fc``). Names that shorten alike both ways stay whole. ``width``:
    the frames' width (default :func:`trellis_width` of the factors)."""
    sizes: dict[str, int] = {}
    for param, _ in factors:
        sizes[param] = sizes.get(param, 0) + 1
    n = max(len(factors), 1)
    units = n + TRELLIS_GAP * (len(sizes) - 1) + 0.04 * n  # as the axis spaces
    px = (width or trellis_width(n)) / units
    fits = {
        p: max(int((size + TRELLIS_GAP) * px / GROUP_CHAR_PX), 3)
        for p, size in sizes.items()
    }

    shown: dict[str, str] = {}
    for cut in (cut_end, cut_middle):  # "augmentat…"; "dep…nv" and "dep…fc"
        names = {p: cut(p, fits[p]) for p in sizes if p not in shown}
        counts: dict[str, int] = {}
        for name in [*shown.values(), *names.values()]:
            counts[name] = counts.get(name, 0) + 1
        shown |= {p: n for p, n in names.items() if counts[n] == 1}
    # names that shorten alike both ways stay whole
    return {p: shown.get(p, p) for p in sizes}


#: Height of a trellis row's frame, in pixels (its title runs along it).
TRELLIS_ROW_PX = 110


def row_titles(primary: str, options: Sequence[str]) -> list[str]:
    """The trellis rows' titles, along their sides: ``primary = option``
    where every one fits, else the options alone (the trellis' heading names
    the primary), each shortened with an ellipsis where even that is too long."""
    fit = int(TRELLIS_ROW_PX / ROW_CHAR_PX)
    full = [f"{primary} = {option}" for option in options]
    if all(len(text) <= fit for text in full):
        return full
    return [cut_end(option, fit) for option in options]


def trellis_layout(
    trellis: pd.DataFrame,
    *,
    primary: str,
    secondary: str | None,
    frame: int = TRELLIS_FRAME,
    options: Mapping[str, Sequence[str]] | None = None,
) -> TrellisLayout:
    """The panels (parameter, option), primary rows and secondaries of a
    trellis whose frames may be ``frame`` pixels wide.

    With ``options`` (every option of every parameter, as without filters)
    the frames are as wide as for all of them: a filter that drops options,
    or another primary or secondary, widens or narrows the slots instead of
    the frames, since a change of a figure's width lays out the whole page
    again in the browser (0.3 s for each trellis row in Chromium, on every
    filter click).
    """
    factors = tuple(
        dict.fromkeys(
            zip(
                _texts(trellis["parameter"]),
                _texts(trellis["option"]),
                strict=True,
            )
        )
    )
    primaries = tuple(dict.fromkeys(_texts(trellis["primary"])))
    secondaries: tuple[str, ...] = ()
    if secondary is not None:
        secondaries = tuple(dict.fromkeys(_texts(trellis["secondary"])))
    room = len(factors)
    if options is not None:
        room = max(room, sum(len(o) for o in options.values()))
    width = trellis_width(room, frame)
    shown = tuple(group_labels(factors, width).items())
    return TrellisLayout(
        factors, primaries, secondaries, primary, secondary, shown, width
    )


def _dodge(n: int) -> np.ndarray:
    """Offsets (in option slots) of ``n`` secondary options within an option."""
    if n <= 1:
        return np.zeros(1)
    step = min(0.6 / (n - 1), 0.16)
    return (np.arange(n) - (n - 1) / 2) * step


def trellis_data(
    trellis: pd.DataFrame, layout: TrellisLayout
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Points (with confidence bars) and connecting segments of a trellis table.

    Returns the point source (one row per trellis row: ``x`` is
    ``[parameter, option, offset]`` with the secondary option's dodge offset,
    ``colour``, ``marker``, ``fill_alpha`` (0, an open marker, below
    :data:`LOW_COUNT` networks))
    and the segment source joining a secondary option's means across the
    options of one ordered parameter (numbers, bins, booleans:
    :func:`~hpcore.views.trellis.is_ordered`) within one primary row (NaN
    ends: no line); nominal options (optimizers, activations) stay unjoined,
    as in the report's trellis, since a line between them would suggest a trend.
    """
    n = len(trellis)
    secondary = (
        _texts(trellis["secondary"]) if layout.secondary is not None else [""] * n
    )
    index = {s: i for i, s in enumerate(layout.secondaries)}
    dodge = _dodge(len(layout.secondaries))
    which = [index.get(s, 0) for s in secondary]
    offsets = dodge[which] if layout.secondaries else np.zeros(n)
    colours = [OKABE_ITO[i % len(OKABE_ITO)] for i in which]
    markers = [WEB_MARKERS[i % len(WEB_MARKERS)][0] for i in which]
    params = _texts(trellis["parameter"])
    options = _texts(trellis["option"])
    primary = _texts(trellis["primary"])
    mean = trellis["mean"].to_numpy(dtype=np.float64)
    count = trellis["count"].to_numpy(dtype=np.int64)
    lo = trellis["ci_low"].to_numpy(dtype=np.float64)
    hi = trellis["ci_high"].to_numpy(dtype=np.float64)
    x = [
        [layout.label(p), o, float(d)]
        for p, o, d in zip(params, options, offsets, strict=True)
    ]
    points = {
        "parameter": params,
        "option": options,
        "primary": primary,
        "secondary": secondary,
        "mean": mean,
        "count": count,
        "ci_low": lo,
        "ci_high": hi,
        "x": x,
        "colour": colours,
        "marker": markers,
        "fill_alpha": np.where(count >= LOW_COUNT, 1.0, 0.0),
    }
    # one segment between consecutive options of an ordered parameter, per
    # primary row and secondary option; an empty cell (mean NaN) leaves a gap.
    # The segments follow the layout, so a brush changes only their ends' means.
    panel_options: dict[str, list[str]] = {}
    for param, option in layout.factors:
        panel_options.setdefault(param, []).append(option)
    ordered = {p for p, opts in panel_options.items() if is_ordered(opts)}
    first: list[int] = []
    second: list[int] = []
    last: dict[tuple[str, str, str], int] = {}
    for i in range(n):
        if params[i] not in ordered:
            continue
        key = (primary[i], secondary[i], params[i])
        j = last.get(key)
        if j is not None:
            first.append(j)
            second.append(i)
        last[key] = i
    seg: dict[str, Any] = {
        "x0": [x[j] for j in first],
        "y0": mean[first],
        "x1": [x[i] for i in second],
        "y1": mean[second],
        "colour": [colours[i] for i in second],
        "primary": [primary[i] for i in second],
    }
    return points, seg


#: The trellis' value axis snaps its ends to multiples of this.
TRELLIS_STEP = 0.05


def trellis_extent(trellis: pd.DataFrame) -> tuple[float, float]:
    """The value range all trellis rows share: the means', padded.

    The ends snap outwards to multiples of :data:`TRELLIS_STEP` (within
    [0, 1], with a little room), so that the axis keeps still while a brush
    moves a little: a new axis costs the browser a layout of the page. The
    wide intervals of cells with few networks are cut at the axis' ends (as
    in the report); their hover cards give the numbers.
    """
    values = trellis["mean"].to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    if not len(finite):
        return (-0.02, 1.02)
    lo = math.floor(float(finite.min()) / TRELLIS_STEP - 1e-9) * TRELLIS_STEP
    hi = math.ceil(float(finite.max()) / TRELLIS_STEP + 1e-9) * TRELLIS_STEP
    lo, hi = max(lo, 0.0), min(hi, 1.0)
    if hi - lo < TRELLIS_STEP:
        lo, hi = max(hi - TRELLIS_STEP, 0.0), min(lo + TRELLIS_STEP, 1.0)
    return (round(lo, 6) - 0.02, round(hi, 6) + 0.02)


def importance_extent(importance: pd.DataFrame) -> float:
    """The end of the importance axis: room for the notes, on a coarse scale."""
    scores = importance["score"].to_numpy(dtype=np.float64)
    top = float(np.nanmax(scores)) if len(scores) else 0.0
    for end in (0.1, 0.2, 0.3, 0.5, 0.75, 1.0):
        if top * 1.9 <= end:
            return end
    return 1.9


def networks_data(
    rows: pd.DataFrame, *, first: int, metric: str, columns: Sequence[str]
) -> dict[str, Any]:
    """One page of selected networks: rank (from ``first + 1``), metric, options."""
    data: dict[str, Any] = {
        "rank": np.arange(first + 1, first + 1 + len(rows), dtype=np.int64),
        "metric": rows[metric].to_numpy(dtype=np.float64),
        "normalized": rows["normalized"].to_numpy(dtype=np.float64),
    }
    for i, name in enumerate(columns):
        data[f"c{i}"] = _texts(rows[name])
    return data


# ----------------------------------------------------------------- page


_HIST_COLUMNS = ("group", "bin_left", "bin_right", "count", "bottom", "top", "colour")
_PAIR_COLUMNS = (
    "param_a",
    "option_a",
    "param_b",
    "option_b",
    "x",
    "y",
    "count",
    "expected",
    "enrichment",
    "p_value",
    "q_value",
    "value",
    "mark",
    "no_test",
)
_IMPORTANCE_COLUMNS = (
    "parameter",
    "score",
    "p_value",
    "q_value",
    "test",
    "top_option",
    "top_enrichment",
    "note",
    "note_x",
    "colour",
    "why",
)
_TRELLIS_COLUMNS = (
    "parameter",
    "option",
    "primary",
    "secondary",
    "mean",
    "count",
    "ci_low",
    "ci_high",
    "x",
    "colour",
    "marker",
    "fill_alpha",
)
_SEGMENT_COLUMNS = ("x0", "y0", "x1", "y1", "colour", "primary")

#: Trellis columns that change with a brush.
_TRELLIS_VALUES = ("mean", "count", "ci_low", "ci_high", "fill_alpha")


#: JavaScript writing a number as printf's ``%.2g`` does (p- and q-values).
_G2_JS = (
    "function g2(v) { if (!isFinite(v)) return String(v); if (v === 0) return '0'; "
    "const e = Math.floor(Math.log10(Math.abs(v))); "
    "return (e < -4 || e >= 2) ? v.toExponential(1).replace('.0e', 'e') "
    ": String(parseFloat(v.toPrecision(2))); }"
)
#: A matrix cell's enrichment on its hover card: nothing where no network is
#: expected (an empty selection, an option filtered out), not "×NaN".
_ENRICHMENT_JS = (
    "const e = source.data.enrichment[special_vars.index]; "
    "return isNaN(e) ? '\u2013 (none expected)' : '\u00d7' + e.toFixed(2);"
)
#: A matrix cell's test on its hover card: "no test" and why where the cell
#: has none (nothing expected, every network selected, every network with
#: the pair: its p and q of 1 are no test's), else p and q.
_CELL_TEST_JS = (
    _G2_JS + "const i = special_vars.index; const e = source.data.enrichment[i]; "
    "const why = (source.data.no_test || [])[i] || (isNaN(e) ? "
    "'no network expected' : ''); "
    "if (why) return 'no test (' + why + ')'; "
    "return 'p = ' + g2(value) + ', q = ' + g2(source.data.q_value[i]);"
)
#: Hover cards show p- and q-values with two significant digits.
_P_FORMAT: dict[str, Any] = {"@p_value": "printf", "@q_value": "printf"}


def _fill(source: ColumnDataSource, data: Mapping[str, Any], *, only: bool) -> None:
    """Put columns into a source: all of them, or (``only``) just these ones.

    Bokeh's per-item property validation is skipped: it costs more than the
    rest of a brush's drawing, and the columns come from the ``*_data``
    functions of this module, whose tests check them with validation on.
    Bokeh's switch for it is one for the whole process, so the page is only
    ever drawn on its document's thread (the server's callbacks): two
    threads drawing at once can leave validation off, and with it the
    conversions it does (a figure's title kept as a string).
    """
    with validate(False):
        if only:
            current: Any = source.data
            current.update(data)
        else:
            source.data = dict(data)


def _source(name: str, columns: Sequence[str]) -> ColumnDataSource:
    """An empty data source with these columns."""
    return ColumnDataSource(data={c: [] for c in columns}, name=name)


#: While a drag on the histogram goes on, its range is sent once the mouse
#: rests this long; at the end of the drag at once.
DRAG_DEBOUNCE_MS = 120

#: The box select's geometry into the brushed box (``box``), debounced. The
#: box's ``tags`` count the boxes drawn so: the server reads a drawn box at
#: once, and a box whose end or body is dragged (BokehJS moves it on every
#: mouse move) once it rests.
_BRUSH_JS = (
    "const g = cb_obj.geometry; "
    "const lo = Math.max(Math.min(g.x0, g.x1), 0); "
    "const hi = Math.min(Math.max(g.x0, g.x1), 1); "
    "const put = () => box.setv({left: lo, right: hi, "
    "tags: [(box.tags[0] || 0) + 1]}); "
    "if (box._hpx_timer) { clearTimeout(box._hpx_timer); box._hpx_timer = null; } "
    "if (cb_obj.final) { put(); } "
    "else { box._hpx_timer = setTimeout(() => { box._hpx_timer = null; put(); }, %d); }"
)


#: BokehJS turns a pointer held still for 300 ms into a "press" and then
#: ignores its moves. While the page applies a view (often longer than that)
#: the first move of a drag begun meanwhile is handled after the press timer,
#: so the drag was lost: nothing drawn, nothing sent (3 in 45 quick second
#: drags in a browser review). No tool of the page uses a press: its delay is
#: set beyond reach (the largest ``setTimeout`` keeps). A BokehJS without
#: that module keeps its own.
_NO_PRESS_JS = (
    "try { Bokeh.require('core/ui_gestures').UIGestures.press_threshold = "
    "2147483647; } catch (e) { console.warn('hpexplorer: press delay kept', e); }"
)

#: Keeps what a person is typing in a range box when the server sets the box
#: meanwhile (the view of the other end, typed just before, arrived between
#: their keystrokes and Enter: the Enter then committed the server's value,
#: and the range typed was lost). Text typed and not yet committed (Enter or
#: leaving the box) is put back after a value from the server. The boxes'
#: views may come after the document: they are looked for every 20 ms (for
#: up to 5 s), and a box that keeps its typing is marked ``data-keep-typing``.
_KEEP_TYPING_JS = (
    "const hold = (model, tries) => { const view = Bokeh.index.find_one(model); "
    "if (!view || !view.input_el) { if (tries > 0) setTimeout(() => "
    "hold(model, tries - 1), 20); return; } const el = view.input_el; "
    "el.addEventListener('input', () => { el.dataset.typed = el.value; }); "
    "const done = () => { delete el.dataset.typed; }; "
    "el.addEventListener('change', done); el.addEventListener('blur', done); "
    "model.properties.value.change.connect(() => { "
    "if (el.dataset.typed !== undefined && el.getRootNode().activeElement === el) "
    "{ el.value = el.dataset.typed; } }); el.dataset.keepTyping = ''; }; "
    "if (window.Bokeh && Bokeh.index && Bokeh.index.find_one) "
    "{ hold(lo, 250); hold(hi, 250); } "
    "else { console.warn('hpexplorer: typed range ends not kept'); }"
)

#: Sends the page's width into the ``viewport`` source when the page loads
#: and when the window has kept a new width for a quarter of a second.
_VIEWPORT_JS = (
    "const send = () => { const w = document.documentElement.clientWidth; "
    "if (viewport.data.width[0] !== w) { viewport.data = {width: [w]}; } }; "
    "send(); let timer = null; "
    "window.addEventListener('resize', () => { clearTimeout(timer); "
    "timer = setTimeout(send, 250); });"
)


#: Fetch the file the server named in ``download_at`` (an attachment: the
#: page stays).
_DOWNLOAD_JS = (
    "const url = cb_obj.data.url[0]; if (url) { "
    "const a = document.createElement('a'); a.href = url; "
    "a.download = 'selection.csv'; document.body.appendChild(a); a.click(); "
    "a.remove(); }"
)


def _address_js(stamp: str) -> str:
    """JavaScript putting the query string of the stamp (named ``stamp``) into
    the page's address."""
    return (
        f"const q = {stamp}.data.query[0]; if (q) {{ "
        "window.history.replaceState(null, '', window.location.pathname + q); }"
    )


def _text_line(name: str, width: int | None, *, size: str, bold: bool) -> Any:
    """A line of text drawn on a canvas (its ``title``), ``width`` pixels wide
    or (None) as wide as its column.

    A canvas title can change without the browser laying out the page again,
    which a text element costs on every change (tens of milliseconds on a
    page this size); lines that change with every brush are drawn so.
    """
    fig: Any = figure(
        name=name,
        **({"sizing_mode": "stretch_width"} if width is None else {"width": width}),
        height=30,
        toolbar_location=None,
        tools=[],
        min_border=0,
        outline_line_color=None,
        title="",
    )
    fig.axis.visible = False
    fig.grid.visible = False
    fig.text(x=[0], y=[0], text=[""])  # a renderer, so that the plot is valid
    fig.title.text_font_size = size
    fig.title.text_font_style = "bold" if bold else "normal"
    fig.title.text_color = "#222222"
    fig.title.offset = 0
    return fig


def _div(name: str, text: str = "", **styles: str) -> Div:
    return Div(
        name=name,
        text=text,
        styles={"font-family": "system-ui, sans-serif", **styles},
    )


def _heading(text: str) -> Div:
    return Div(
        text=f"<b>{html.escape(text)}</b>",
        styles={
            "font-family": "system-ui, sans-serif",
            "font-size": "14px",
            "margin-top": "10px",
        },
    )


def _plain(fig: Any) -> None:
    """No grid lines, no toolbar logo, light outline."""
    fig.toolbar.logo = None
    fig.outline_line_color = None
    fig.xgrid.grid_line_color = None
    fig.ygrid.grid_line_color = None


@dataclass(eq=False)
class _TrellisPanel:
    """A trellis panel and what a new layout changes in it."""

    figure: Any
    filters: tuple[GroupFilter, GroupFilter]
    hover: Any
    #: Says so in the middle of the panel when its row has no selected network.
    empty: Label


class Page:
    """Every model of one browser page, and the ``show_*`` methods that fill them.

    Build one per browser session; put ``root`` into the session's document.
    The widgets are attributes so that the server can attach its callbacks
    (and set their values); nothing here reacts to them.
    """

    def __init__(self) -> None:
        # ---- texts
        self.title: Any = _div("title", "<h2 style='margin:4px 0'>HPExplorer</h2>")
        self.status: Any = _text_line("status", None, size="15px", bold=True)
        self.error: Any = _div(
            "error",
            "",
            color=ERROR_COLOUR,
            **{"font-size": "14px", "font-weight": "bold"},
        )
        self.message: Any = _div(
            "message", "", color="#1b5e20", **{"font-size": "13px"}
        )
        self.error.visible = False
        self.message.visible = False
        self.progress: Any = _div(
            "progress", "", **{"font-size": "16px", "margin": "20px"}
        )
        self.command: Any = TextAreaInput(
            name="command",
            title="the same as the command:",
            rows=5,
            width=SIDEBAR_WIDTH - 20,
            styles={"font-family": "monospace", "font-size": "11px"},
        )
        # what the page shows, and its address: a data source, not a text on
        # the page (a text change costs the browser a layout pass of the page)
        self.stamp: Any = ColumnDataSource(
            data={"state": ["{}"], "query": [""]}, name="stamp"
        )
        self.stamp.js_on_change("data", CustomJS(code=_address_js("cb_obj")))
        # the server answers a click on "download" once the view is up to
        # date (the address changes only then: read at the click, it named
        # the state before a change still on its way) by setting the file's
        # address here; the page then fetches it
        self.download: Any = Button(
            name="download", label="download the selection as CSV", width=240
        )
        self.download_at: Any = ColumnDataSource(
            data={"url": [""], "n": [0]}, name="download_at"
        )
        self.download_at.js_on_change("data", CustomJS(code=_DOWNLOAD_JS))

        # ---- controls
        self.metric: Any = Select(
            name="metric", title="metric", width=SIDEBAR_WIDTH - 20
        )
        self.group: Any = Select(
            name="group", title="group (normalized within)", width=SIDEBAR_WIDTH - 20
        )
        self.normalization: Any = Select(
            name="normalization",
            title="normalization",
            options=list[str | None](["minmax", "rank", "robust"]),
            width=SIDEBAR_WIDTH - 20,
        )
        self.range_lo: Any = NumericInput(
            name="range_lo",
            title="range from",
            mode="float",
            low=0.0,
            high=1.0,
            width=(SIDEBAR_WIDTH - 30) // 2,
        )
        self.range_hi: Any = NumericInput(
            name="range_hi",
            title="to",
            mode="float",
            low=0.0,
            high=1.0,
            width=(SIDEBAR_WIDTH - 30) // 2,
        )
        self.whole_range: Any = Button(
            name="whole_range", label="whole range", width=110
        )
        self.color: Any = RadioButtonGroup(
            name="color", labels=["count", "enrichment"], active=0
        )
        self.sort: Any = RadioButtonGroup(
            name="sort", labels=["data order", "by importance"], active=0
        )
        self.primary: Any = Select(
            name="primary", title="trellis rows (primary)", width=SIDEBAR_WIDTH - 20
        )
        self.secondary: Any = Select(
            name="secondary",
            title="trellis colour and marker (secondary)",
            width=SIDEBAR_WIDTH - 20,
        )
        self.filters: dict[str, CheckboxGroup] = {}
        #: A line under each filter, for why a click on it was refused.
        self.filter_notes: dict[str, Div] = {}
        #: Every parameter's heading, checkbox group and note made so far,
        #: kept for reuse: BokehJS keeps the models a page no longer uses,
        #: and new ones of the same name made ``get_model_by_name`` fail
        #: after a switch of metric or group (80 more models each time).
        self._filter_pool: dict[str, tuple[Div, CheckboxGroup, Div]] = {}
        self.filter_box = column(Div(text=""), name="filters", width=SIDEBAR_WIDTH - 10)
        self.cells: Any = _div("cells", "", **{"font-size": "12px"})
        self.clear_cells: Any = Button(
            name="clear_cells", label="clear clicked cells", width=140, visible=False
        )
        self.save: Any = Button(
            name="save", label="save report", button_type="primary", width=120
        )
        self.reset: Any = Button(name="reset", label="reset view", width=120)
        self.prev_page: Any = Button(name="prev_page", label="\u25c0 better", width=90)
        self.next_page: Any = Button(name="next_page", label="worse \u25b6", width=90)
        self.page_text: Any = _text_line("page_text", 420, size="13px", bold=False)

        # ---- histograms
        self.brush: Any = BoxAnnotation(
            name="brush",
            left=0.0,
            right=1.0,
            editable=False,  # the whole axis (see show_range)
            movable="x",  # a drag inside the box moves it, outside draws anew
            resizable="x",
            left_limit=0.0,
            right_limit=1.0,
            fill_color="#444444",
            fill_alpha=0.12,
            line_color="#222222",
            line_dash="dashed",
        )
        self.hist_raw_source = _source("hist_raw_source", _HIST_COLUMNS)
        self.hist_norm_source = _source("hist_norm_source", _HIST_COLUMNS)
        self.hist_raw: Any = self._histogram(
            "hist_raw", self.hist_raw_source, brush=False
        )
        self.hist_norm: Any = self._histogram(
            "hist_norm", self.hist_norm_source, brush=True
        )

        # ---- matrix and importance
        self.pairs_source = _source("pairs_source", _PAIR_COLUMNS)
        self.clicked_source = ColumnDataSource(
            data={"x": [], "y": []}, name="clicked_source"
        )
        self.mapper: Any = LinearColorMapper(
            palette=_SEQUENTIAL, low=0.0, high=1.0, nan_color=NAN_COLOUR
        )
        self.matrix: Any = self._matrix()
        self._matrix_key: tuple[Any, ...] = ()
        self._palette: Sequence[str] = _SEQUENTIAL
        self.importance_source = _source("importance_source", _IMPORTANCE_COLUMNS)
        self.importance: Any = self._importance()

        # ---- trellis
        self.trellis_source = _source("trellis_source", _TRELLIS_COLUMNS)
        self.trellis_lines = _source("trellis_lines", _SEGMENT_COLUMNS)
        self.trellis_range: Any = Range1d(start=0.0, end=1.0)
        self.trellis_box = column(Div(text=""), name="trellis")
        self.trellis_legend = _div("trellis_legend", "", **{"font-size": "13px"})
        self.trellis_title = _heading("trellis")
        self._trellis_layout: TrellisLayout | None = None
        #: Panels made so far, set up again for each layout; their x range.
        self._trellis_pool: list[_TrellisPanel] = []
        self.trellis_x = FactorRange(
            name="trellis_x", factors=[], group_padding=TRELLIS_GAP, range_padding=0.02
        )
        self._trellis_rows: tuple[Any, ...] = ()
        #: The width the trellis' frames may take (from the window's, which
        #: the page sends into ``viewport``: :meth:`fit_window`), and the
        #: trellis last shown (drawn again when that width changes).
        self.trellis_frame = TRELLIS_FRAME
        self._trellis_shown: dict[str, Any] | None = None
        self.viewport: Any = ColumnDataSource(data={"width": [0]}, name="viewport")

        # ---- table of selected networks
        self.networks_source = _source("networks_source", ("rank", "metric"))
        self.networks: Any = DataTable(
            name="networks",
            source=self.networks_source,
            columns=[],
            sizing_mode="stretch_width",
            height=300,
            index_position=None,
            sortable=False,
            reorderable=False,
            autosize_mode="none",
        )
        self._table_columns: tuple[str, ...] = ()
        self._pages_drawn = 0
        #: Set when a view changes more than values (a view's rows, factors,
        #: figures or columns); the caller resets it.
        self.reshaped = False

        # ---- layout
        self.matrix_title = _heading("matrix")
        self.sidebar = column(
            _heading("data"),
            self.metric,
            self.group,
            self.normalization,
            _heading("selected range of the normalized metric"),
            row(self.range_lo, self.range_hi),
            Div(
                text="drag on the normalized histogram to brush a range; "
                "drag the ends of its box to adjust it, or inside it to move it",
                styles={"font-size": "12px", "color": "#555"},
                width=SIDEBAR_WIDTH - 20,
            ),
            self.whole_range,
            _heading("matrix colour"),
            self.color,
            _heading("order of parameters"),
            self.sort,
            _heading("trellis"),
            self.primary,
            self.secondary,
            _heading("filters"),
            self.cells,
            self.clear_cells,
            self.filter_box,
            _heading("report"),
            row(self.save, self.reset),
            self.command,
            width=SIDEBAR_WIDTH,
        )
        self.main = column(
            self.status,
            self.error,
            self.message,
            row(self.hist_raw, self.hist_norm, sizing_mode="stretch_width"),
            self.matrix_title,
            # the importance panel goes below the matrix in a narrow window
            row(self.matrix, self.importance, styles={"flex-wrap": "wrap"}),
            self.trellis_title,
            self.trellis_legend,
            self.trellis_box,
            _heading("selected networks, best first"),
            row(self.prev_page, self.next_page, self.page_text, self.download),
            self.networks,
            sizing_mode="stretch_width",
        )
        self.body = column(self.progress, sizing_mode="stretch_width")
        self.root: LayoutDOM = column(
            self.title, self.body, name="root", sizing_mode="stretch_width"
        )

    # ------------------------------------------------------------ figures

    def _histogram(self, name: str, source: ColumnDataSource, *, brush: bool) -> Any:
        fig: Any = figure(
            name=name,
            sizing_mode="stretch_width",
            min_width=HISTOGRAM_MIN_WIDTH,
            height=270,
            x_range=Range1d(start=0.0, end=1.0),
            # set by show_histograms: BokehJS stops rescaling an automatic
            # range after a drag on the plot (the brush), so a new filter's
            # bars kept the old height
            y_range=Range1d(start=0.0, end=1.0),
            tools=[],
            toolbar_location=None,
            # room for the last tick label ("1", "100") at the window's edge
            min_border_right=24,
        )
        bars = fig.quad(
            left="bin_left",
            right="bin_right",
            bottom="bottom",
            top="top",
            fill_color="colour",
            line_color="white",
            line_width=0.5,
            source=source,
            **({} if brush else {"legend_field": "group"}),
        )
        fig.add_tools(
            HoverTool(
                renderers=[bars],
                tooltips="<b>@group</b><br>[@bin_left{0.000}, @bin_right{0.000}]"
                "<br>@count{0,0} networks",
            )
        )
        fig.yaxis.axis_label = "networks"
        if not brush:
            legend = fig.legend[0]
            legend.orientation = "horizontal"
            legend.label_text_font_size = "11px"
            legend.spacing = 8
            legend.padding = 2
            legend.margin = 2
            legend.border_line_color = None
            fig.add_layout(legend, "above")
        _plain(fig)
        if brush:
            # a drag draws a new range: the box select's geometry goes into
            # the box in the browser (both ends in one message), debounced
            # while the drag goes on and at once when it ends; the box's ends
            # can be dragged to adjust it
            fig.add_layout(self.brush)
            tool = BoxSelectTool(dimensions="width", continuous=True, renderers=[])
            fig.add_tools(tool)
            fig.toolbar.active_drag = tool
            fig.js_on_event(
                "selectiongeometry",
                CustomJS(args={"box": self.brush}, code=_BRUSH_JS % DRAG_DEBOUNCE_MS),
            )
        return fig

    def _matrix(self) -> Any:
        fig: Any = figure(
            name="matrix",
            x_range=FactorRange(),
            y_range=FactorRange(),
            frame_width=400,
            frame_height=400,
            styles={"flex": "none"},  # its own size, also in a wrapped row
            tools=[],
            toolbar_location=None,
        )
        cells = fig.rect(
            x="x",
            y="y",
            width=0.94,
            height=0.94,
            source=self.pairs_source,
            fill_color={"field": "value", "transform": self.mapper},
            line_color=None,
            nonselection_fill_alpha=1.0,
            selection_fill_alpha=1.0,
            nonselection_line_alpha=1.0,
        )
        fig.scatter(
            x="x",
            y="y",
            size=5,
            fill_color="black",
            line_color="white",
            line_width=1,
            fill_alpha="mark",
            line_alpha="mark",
            source=self.pairs_source,
        )
        fig.rect(
            x="x",
            y="y",
            width=0.94,
            height=0.94,
            fill_alpha=0.0,
            line_color=CLICKED_COLOUR,
            line_width=3,
            source=self.clicked_source,
        )
        fig.add_tools(
            HoverTool(
                renderers=[cells],
                tooltips="<div style='font-size:12px'>"
                "<b>@param_a = @option_a</b><br><b>@param_b = @option_b</b><br>"
                "selected networks: <b>@count{0,0}</b><br>"
                "expected by chance: @expected{0,0.0}<br>"
                # Bokeh writes NaN itself, never calling a formatter of a NaN
                # field: the enrichment is written by the formatter of the q
                # column (never NaN), p and q by that of p
                "enrichment: @q_value{custom}<br>"
                "@p_value{custom}<br>"
                "<i>click: filter to this pair (again: remove)</i></div>",
                formatters={
                    "@q_value": CustomJSHover(
                        args={"source": self.pairs_source}, code=_ENRICHMENT_JS
                    ),
                    "@p_value": CustomJSHover(
                        args={"source": self.pairs_source}, code=_CELL_TEST_JS
                    ),
                },
            ),
            TapTool(renderers=[cells]),
        )
        self.colorbar: Any = ColorBar(
            color_mapper=self.mapper,
            title="selected networks with both options",
            orientation="horizontal",
            height=10,
            width=260,
            location=(0, 0),
            padding=6,
        )
        fig.add_layout(self.colorbar, "above")
        fig.xaxis.major_label_orientation = math.pi / 2
        fig.xaxis.group_label_orientation = "vertical"
        fig.yaxis.group_label_orientation = "horizontal"
        fig.axis.major_label_text_font_size = "10px"
        fig.axis.group_text_font_size = "12px"
        fig.axis.group_text_font_style = "bold"
        fig.x_range.group_padding = 0.6
        fig.y_range.group_padding = 0.6
        fig.axis.axis_line_color = None
        fig.axis.major_tick_line_color = None
        fig.axis.separator_line_color = None
        _plain(fig)
        self.cells_renderer = cells
        return fig

    def _importance(self) -> Any:
        fig: Any = figure(
            name="importance",
            y_range=FactorRange(),
            x_range=Range1d(start=0.0, end=1.0),
            width=IMPORTANCE_WIDTH,
            height=360,
            tools=[],
            toolbar_location=None,
            title="parameter importance (click a bar: order by it)",
        )
        bars = fig.hbar(
            y="parameter",
            right="score",
            height=0.7,
            fill_color="colour",
            line_color=None,
            source=self.importance_source,
            nonselection_fill_alpha=1.0,
            selection_fill_alpha=1.0,
        )
        fig.text(
            x="note_x",
            y="parameter",
            text="note",
            text_font_size="10px",
            text_baseline="middle",
            x_offset=4,
            source=self.importance_source,
        )
        fig.add_tools(
            HoverTool(
                renderers=[bars],
                tooltips="<div style='font-size:12px'><b>@parameter</b><br>"
                "score (TV distance): @score{0.000}<br>"
                "test: @test, p = @p_value{%0.2g}, q = @q_value{%0.2g}<br>"
                "most over-represented: @top_option "
                "(\u00d7@top_enrichment{0.00})<br>@why<br>"
                "<i>click: order matrix and trellis by importance</i></div>",
                formatters=_P_FORMAT,
            ),
            TapTool(renderers=[bars]),
        )
        fig.xaxis.axis_label = "score: how far the selection's options are from all"
        fig.xaxis.axis_label_text_font_size = "11px"
        fig.title.text_font_size = "12px"
        _plain(fig)
        self.importance_bars = bars
        return fig

    # -------------------------------------------------------------- shows

    def show_loading(self, text: str) -> None:
        """Show ``text`` (a progress line) instead of the views."""
        self.progress.text = html.escape(text)
        if self.body.children != [self.progress]:
            self.body.children = [self.progress]

    def show_failure(self, text: str) -> None:
        """Show a message that stops the views (e.g. the data could not be loaded)."""
        self.progress.text = (
            f"<span style='color:{ERROR_COLOUR};font-weight:bold'>"
            f"{html.escape(text)}</span>"
        )
        self.error.text = html.escape(text)
        if self.body.children != [self.progress]:
            self.body.children = [self.progress]

    def show_views(self) -> None:
        """Show the controls and views (once the data is loaded)."""
        if self.body.children == [self.progress]:
            self.body.children = [
                row(self.sidebar, self.main, sizing_mode="stretch_width")
            ]

    def show_title(
        self, *, source: str, rows: int, metric: str, group: str | None
    ) -> None:
        """The page title: the data, its size, metric and group."""
        by = f", normalized within {html.escape(group)}" if group else ""
        self.title.text = (
            "<h2 style='margin:4px 0'>HPExplorer "
            f"<span style='font-weight:normal;font-size:15px'>{html.escape(source)}: "
            f"{rows:,} networks, metric {html.escape(metric)}{by}</span></h2>"
        )

    def show_error(self, text: str) -> None:
        """One line in red above the views (empty: none)."""
        self.error.text = html.escape(text)
        self.error.visible = bool(text)

    def show_message(self, text: str) -> None:
        """One line of news above the views (empty: none)."""
        self.message.text = html.escape(text)
        self.message.visible = bool(text)

    def show_status(self, text: str) -> None:
        """The selection's summary above the views."""
        self.status.title.text = text

    def show_command(self, command: str) -> None:
        """The ``hpexplorer report`` command that writes the current state."""
        self.command.value = command

    def show_filters(
        self,
        options: Mapping[str, Sequence[str]],
        active: Mapping[str, Sequence[str]],
    ) -> list[str]:
        """One checkbox group per parameter; the parameters whose group is new
        (to be wired), the others' groups reused with their new options.

        ``active`` names the checked options of the filtered parameters; the
        others are all checked.
        """
        names = tuple(options)
        new: list[str] = []
        for n in names:
            if n not in self._filter_pool:
                note = _div(
                    f"filter_note:{n}",
                    "",
                    color=ERROR_COLOUR,
                    **{"font-size": "12px", "margin-top": "-4px"},
                )
                note.visible = False
                self._filter_pool[n] = (
                    Div(
                        text=f"<b>{html.escape(n)}</b>",
                        styles={"font-size": "12px", "margin-bottom": "-6px"},
                    ),
                    CheckboxGroup(name=f"filter:{n}", width=SIDEBAR_WIDTH - 20),
                    note,
                )
                new.append(n)
            box = self._filter_pool[n][1]
            labels = list(options[n])
            if list(box.labels) != labels:
                box.active = []  # first: no checked index past the new options
                box.labels = labels
                box.inline = sum(len(o) + 4 for o in labels) <= 38
        if new or tuple(self.filters) != names:
            self.filters = {n: self._filter_pool[n][1] for n in names}
            self.filter_notes = {n: self._filter_pool[n][2] for n in names}
            self.filter_box.children = [
                model for n in names for model in self._filter_pool[n]
            ]
        for n in names:
            keep = set(active.get(n, options[n]))
            self.filters[n].active = [i for i, o in enumerate(options[n]) if o in keep]
        return new

    def show_filter_note(self, name: str | None, text: str = "") -> None:
        """Why a click on the filter ``name`` was refused, under it where the
        user looks (a line at the top of the page was a screen away); the
        other filters' lines go (None: all go)."""
        for n, note in self.filter_notes.items():
            shown = n == name and bool(text)
            note.text = html.escape(text) if shown else ""
            note.visible = shown

    def show_cells(self, cells: Sequence[tuple[str, str, str, str]]) -> None:
        """The clicked matrix cells: outlined on the matrix and listed."""
        self.clicked_source.data = {
            "x": [[a, oa] for a, oa, _, _ in cells],
            "y": [[b, ob] for _, _, b, ob in cells],
        }
        if cells:
            items = "<br>".join(
                f"{html.escape(a)} = {html.escape(oa)} and "
                f"{html.escape(b)} = {html.escape(ob)}"
                for a, oa, b, ob in cells
            )
            combined = (
                "<br><i>each parameter keeps the options its cells name, as with "
                "the filters: two cells of one block keep every pairing of their "
                "options</i>"
                if len(cells) > 1
                else ""
            )
            self.cells.text = f"clicked matrix cells (outlined):<br>{items}{combined}"
        else:
            self.cells.text = (
                "click a matrix cell to keep only the networks with that pair "
                "of options; more cells combine like the filters"
            )
        self.clear_cells.visible = bool(cells)

    def show_histograms(
        self,
        raw: pd.DataFrame,
        normalized: pd.DataFrame,
        *,
        groups: Sequence[str],
        metric: str,
        normalization: str,
        lower_is_better: bool = False,
    ) -> None:
        """Both histograms, stacked by group in ``groups`` order (the labels
        say where the metric's lower values are better)."""
        self.reshaped = True  # their groups and bins are drawn anew
        for fig, source, frame in (
            (self.hist_raw, self.hist_raw_source, raw),
            (self.hist_norm, self.hist_norm_source, normalized),
        ):
            data = histogram_data(frame, groups)
            _fill(source, data, only=False)
            tallest = float(np.max(data["top"], initial=0))
            # room above the tallest bar, as Bokeh's automatic range leaves
            fig.y_range.update(start=0.0, end=max(tallest, 1.0) * 1.05)
        if len(raw):
            lo = float(raw["bin_left"].min())
            hi = float(raw["bin_right"].max())
            if hi > lo:
                pad = (hi - lo) * 0.01
                self.hist_raw.x_range.update(start=lo - pad, end=hi + pad)
        self.hist_raw.xaxis.axis_label = metric
        scale = ", ".join([normalization, *([LOWER_NOTE] if lower_is_better else [])])
        self.hist_norm.xaxis.axis_label = f"{metric}, normalized per group ({scale})"
        self.hist_raw.title.text = f"{metric}, stacked by group"
        self.hist_norm.title.text = "normalized: drag to select a range (the grey box)"

    def show_range(self, lo: float, hi: float, *, brush: bool) -> None:
        """The typed range; with ``brush`` also the brushed box.

        A box over the whole axis has its ends on the plot's edges, where a
        drag meant to draw a new box caught an end instead (a drag from the
        left edge to the middle selected the upper half): its ends can be
        dragged only once it is narrower.
        """
        self.range_lo.value = lo
        self.range_hi.value = hi
        self.brush.editable = not (lo <= 0.0 and hi >= 1.0)
        if brush:
            self.brush.update(left=lo, right=hi)

    def attach(self, doc: Any) -> None:
        """Mirror the state into the address also when the page first loads,
        and send the window's width (then and after each resize) into
        ``viewport``."""
        doc.add_root(self.stamp)
        doc.add_root(self.download_at)
        doc.add_root(self.viewport)
        doc.js_on_event(
            "document_ready",
            CustomJS(args={"stamp": self.stamp}, code=_address_js("stamp")),
            CustomJS(args={"viewport": self.viewport}, code=_VIEWPORT_JS),
            CustomJS(code=_NO_PRESS_JS),
            CustomJS(
                args={"lo": self.range_lo, "hi": self.range_hi}, code=_KEEP_TYPING_JS
            ),
        )

    def fit_window(self, width: int) -> bool:
        """Give the trellis the room of a window ``width`` pixels wide; draw
        it again if that changes its width. Returns whether it did."""
        frame = trellis_frame(width)
        if frame == self.trellis_frame:
            return False
        self.trellis_frame = frame
        if self._trellis_shown is not None:
            self.show_trellis(**self._trellis_shown)
        return True

    def show_matrix(
        self,
        pairs: pd.DataFrame,
        *,
        order: Sequence[str],
        options: Mapping[str, Sequence[str]],
        color: str,
        alpha: float,
        title: str,
        selected: int | None = None,
        population: int | None = None,
    ) -> None:
        """The pair matrix of ``pairs`` with its blocks in ``order``; with
        the selection's and the population's sizes the hover cards say why a
        cell has no test."""
        xs = [(p, o) for p in order[:-1] for o in options[p]]
        ys = [(p, o) for p in order[1:] for o in options[p]][::-1]
        data = pair_values(
            pairs, color=color, alpha=alpha, selected=selected, population=population
        )
        # the rows of a pair table follow the parameter order and options
        key = (tuple(xs), tuple(ys), len(pairs))
        if key != self._matrix_key:
            self._matrix_key = key
            self.reshaped = True
            self.matrix.x_range.factors = xs
            self.matrix.y_range.factors = ys
            cell = int(np.clip(MATRIX_PIXELS / max(len(xs), len(ys), 1), 12, 30))
            self.matrix.frame_width = cell * max(len(xs), 1)
            self.matrix.frame_height = cell * max(len(ys), 1)
            self.importance.height = max(320, min(self.matrix.frame_height + 200, 760))
            _fill(self.pairs_source, {**pair_labels(pairs), **data}, only=False)
        else:  # the same cells: send only what a brush changes
            _fill(self.pairs_source, data, only=True)
        values = np.asarray(data["value"], dtype=np.float64)
        finite = values[np.isfinite(values)]
        if color == "enrichment":
            limit = float(np.abs(finite).max()) if len(finite) else 1.0
            limit = min(max(limit, 1.0), ENRICHMENT_LIMIT)
            self._colour_scale(_DIVERGING, -limit, limit)
            self.colorbar.title = (
                "log2 enrichment: log2(selected / expected by chance); "
                "0 = as many as expected"
            )
        else:
            top = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
            self._colour_scale(_SEQUENTIAL, 0.0, top)
            self.colorbar.title = "selected networks with both options"
        self.matrix_title.text = (
            f"<b>{html.escape(title)}</b><br><span style='font-size:12px'>"
            f"one block per parameter pair; dot: q &lt; {alpha:g} (more or fewer "
            "networks than chance: exact hypergeometric test, Benjamini-Hochberg); "
            "hover a cell for its numbers, click it to filter</span>"
        )

    def _colour_scale(self, palette: Sequence[str], low: float, high: float) -> None:
        """Set the matrix' colour map; only what changed (a palette is long)."""
        if self._palette is not palette:
            self._palette = palette
            self.mapper.palette = list(palette)
        if (self.mapper.low, self.mapper.high) != (low, high):
            self.mapper.update(low=low, high=high)

    def show_importance(
        self, importance: pd.DataFrame, *, alpha: float, group: str | None = None
    ) -> None:
        """The importance bars, strongest on top (``group``'s grey)."""
        data = importance_data(importance, alpha=alpha, group=group)
        names = list(data["parameter"])[::-1]
        factors = list(self.importance.y_range.factors)
        if factors != names:
            # the bars in a new order is a change of values; other bars not
            self.reshaped |= sorted(factors) != sorted(names)
            self.importance.y_range.factors = names
        _fill(self.importance_source, data, only=False)
        self.importance.x_range.update(start=0.0, end=importance_extent(importance))

    def show_trellis(
        self,
        trellis: pd.DataFrame,
        *,
        primary: str,
        secondary: str | None,
        metric: str,
        ci_level: float,
        lower_is_better: bool = False,
        options: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """The trellis: one figure per primary option (new ones on a new
        layout), as wide as for all ``options`` (:func:`trellis_layout`)."""
        self._trellis_shown = {
            "trellis": trellis,
            "primary": primary,
            "secondary": secondary,
            "metric": metric,
            "ci_level": ci_level,
            "lower_is_better": lower_is_better,
            "options": options,
        }
        layout = trellis_layout(
            trellis,
            primary=primary,
            secondary=secondary,
            frame=self.trellis_frame,
            options=options,
        )
        points, lines = trellis_data(trellis, layout)
        if layout != self._trellis_layout:
            self._trellis_layout = layout
            self.reshaped = True
            panels = self._trellis_figures(layout)
            if list(self.trellis_box.children) != panels:  # the pool grew
                self.trellis_box.children = panels
            self.trellis_legend.text = self._legend(layout, ci_level)
        # the rows of a trellis table follow its layout
        rows_key = (layout, len(trellis))
        rows_changed = rows_key != self._trellis_rows
        if rows_changed:
            self._trellis_rows = rows_key
            self.reshaped = True
            _fill(self.trellis_source, points, only=False)
        else:  # the same points: send only what a brush changes
            _fill(
                self.trellis_source,
                {k: points[k] for k in _TRELLIS_VALUES},
                only=True,
            )
        if rows_changed:
            _fill(self.trellis_lines, lines, only=False)
        else:
            _fill(self.trellis_lines, {"y0": lines["y0"], "y1": lines["y1"]}, only=True)
        # a row without a selected network says so (blank panels look broken)
        filled = rows_with_networks(trellis)
        for option, panel in zip(layout.primaries, self._trellis_pool, strict=False):
            panel.empty.text = "" if str(option) in filled else EMPTY_NOTE
        lo, hi = trellis_extent(trellis)
        self.trellis_range.update(start=lo, end=hi)
        self.trellis_title.text = (
            f"<b>trellis: mean {html.escape(normalized_name(metric, lower_is_better))} "
            f"per option, one row per {html.escape(primary)}</b>"
            + (
                f", colour and marker: {html.escape(secondary)}"
                if secondary is not None
                else ""
            )
        )

    def _legend(self, layout: TrellisLayout, ci_level: float) -> str:
        items = []
        for i, s in enumerate(layout.secondaries):
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            mark = WEB_MARKERS[i % len(WEB_MARKERS)][1]
            items.append(
                f"<span style='color:{colour};font-size:16px'>{mark}</span>&nbsp;"
                f"{html.escape(s)}"
            )
        head = f"<b>{html.escape(layout.secondary)}</b>: " if layout.secondary else ""
        tail = (
            f"&nbsp;&nbsp; \u25cb fewer than {LOW_COUNT} networks &nbsp;&nbsp; "
            f"| {ci_level:.0%} confidence interval (Student t) &nbsp;&nbsp; "
            "hover a point for its numbers"
        )
        return head + " &nbsp; ".join(items) + tail

    def _trellis_figures(self, layout: TrellisLayout) -> list[Any]:
        """Every panel of the pool, the trellis column's children: one per
        primary option of ``layout`` shown, in order, the others hidden.

        Panels are kept and set up again for the next layout, not made anew:
        the browser keeps every model it was ever sent, so new panels on
        each change of the primary piled up (15 switches: 494 to 4,364
        models, 30 to 91 MB). They all stay in the trellis' column, the
        unused ones hidden: a new list of children made Bokeh walk every
        model of the document on the server (~100 ms) and the browser build
        the panels' views again. All panels share one factor range.
        """
        factors = [(layout.label(p), o) for p, o in layout.factors]
        self.trellis_x.factors = factors
        n = len(layout.primaries)
        titles = row_titles(layout.primary, layout.primaries)
        tooltips = (
            "<div style='font-size:12px'>"
            "<b>@parameter = @option</b><br>"
            f"{html.escape(layout.primary)} = @primary"
            + (
                f"<br>{html.escape(layout.secondary)} = @secondary"
                if layout.secondary
                else ""
            )
            + "<br>mean: <b>@mean{0.000}</b><br>"
            "interval: [@ci_low{0.000}, @ci_high{0.000}]<br>"
            "n = @count{0,0}</div>"
        )
        while len(self._trellis_pool) < n:
            self._trellis_pool.append(self._trellis_panel())
        for k, option in enumerate(layout.primaries):
            panel = self._trellis_pool[k]
            fig = panel.figure
            fig.name = f"trellis:{option}"
            fig.title.text = titles[k]
            fig.frame_width = layout.width
            for keep in panel.filters:
                keep.group = option
            panel.hover.tooltips = tooltips
            fig.xaxis.visible = k == n - 1
            fig.yaxis.axis_label = "mean normalized" if k == n // 2 else None
            panel.empty.x = layout.width / 2
            fig.visible = True
        for k, panel in enumerate(self._trellis_pool[n:], start=n):
            panel.figure.visible = False
            panel.figure.name = f"trellis-unused:{k}"
            for keep in panel.filters:
                keep.group = ""  # no rows to draw
        return [panel.figure for panel in self._trellis_pool]

    def _trellis_panel(self) -> _TrellisPanel:
        """One trellis panel, set up for a layout by :meth:`_trellis_figures`."""
        fig: Any = figure(
            x_range=self.trellis_x,
            y_range=self.trellis_range,
            frame_width=100,
            frame_height=TRELLIS_ROW_PX,
            tools=[],
            toolbar_location=None,
            title="",
            title_location="right",
            min_border_left=60,
        )
        lines = GroupFilter(column_name="primary", group="")
        points_filter = GroupFilter(column_name="primary", group="")
        keep = CDSView(filter=points_filter)
        fig.segment(
            x0="x0",
            y0="y0",
            x1="x1",
            y1="y1",
            line_color="colour",
            line_width=1,
            line_alpha=0.7,
            source=self.trellis_lines,
            view=CDSView(filter=lines),
        )
        fig.segment(
            x0="x",
            y0="ci_low",
            x1="x",
            y1="ci_high",
            line_color="colour",
            line_width=1.2,
            source=self.trellis_source,
            view=keep,
        )
        points = fig.scatter(
            x="x",
            y="mean",
            marker="marker",
            size=8,
            fill_color="colour",
            fill_alpha="fill_alpha",
            line_color="colour",
            line_width=1.3,
            source=self.trellis_source,
            view=keep,
        )
        hover = HoverTool(renderers=[points], tooltips="")
        fig.add_tools(hover)
        empty = Label(
            x=50,
            y=TRELLIS_ROW_PX / 2,
            x_units="screen",
            y_units="screen",
            text="",
            text_align="center",
            text_baseline="middle",
            text_color="#595959",
            text_font_size="12px",
        )
        fig.add_layout(empty)
        fig.title.text_font_size = "12px"
        fig.title.align = "center"
        fig.yaxis.ticker.desired_num_ticks = 4
        fig.yaxis.formatter = NumeralTickFormatter(format="0.00")
        fig.xaxis.major_label_orientation = math.pi / 2
        fig.xaxis.group_text_font_size = "12px"
        fig.xaxis.group_text_font_style = "bold"
        fig.xaxis.major_label_text_font_size = "10px"
        fig.ygrid.grid_line_alpha = 0.5
        fig.xgrid.grid_line_color = None
        fig.toolbar.logo = None
        return _TrellisPanel(fig, (lines, points_filter), hover, empty)

    def show_networks(
        self,
        rows: pd.DataFrame,
        *,
        first: int,
        total: int,
        page_rows: int,
        metric: str,
        columns: Sequence[str],
        labels: Mapping[str, Sequence[str]],
    ) -> None:
        """One page of the selected networks, best first.

        ``labels`` holds the option labels of each column (to size it).
        """
        names = tuple(columns)
        widest = {n: max([len(n), *(len(o) for o in labels.get(n, ()))]) for n in names}
        if (metric, *names) != self._table_columns or not self.networks.columns:
            self._table_columns = (metric, *names)
            self.reshaped = True
            self.networks.columns = [
                TableColumn(field="rank", title="#", width=50),
                TableColumn(
                    field="metric",
                    title=metric,
                    formatter=NumberFormatter(format="0.0000"),
                    width=int(np.clip(7 * len(metric) + 16, 90, 170)),
                ),
                TableColumn(
                    field="normalized",
                    title="normalized",
                    formatter=NumberFormatter(format="0.0000"),
                    width=80,
                ),
                *[
                    TableColumn(
                        field=f"c{i}",
                        title=name,
                        formatter=StringFormatter(),
                        width=int(np.clip(8 * widest[name] + 16, 60, 180)),
                    )
                    for i, name in enumerate(names)
                ],
            ]
        _fill(
            self.networks_source,
            networks_data(rows, first=first, metric=metric, columns=names),
            only=False,
        )
        # BokehJS redraws a table's rows when its view's indices change, and a
        # page of as many rows as the last one leaves them equal: the page
        # kept showing the first rows it drew. Any change to the table's view
        # (CDSView) redraws its rows (a change to the table itself would
        # rebuild the whole grid, tens of milliseconds per update): a count
        # of the pages drawn, in the view's tags.
        self._pages_drawn += 1
        self.networks.view.tags = [self._pages_drawn]
        if total:
            self.page_text.title.text = (
                f"networks {first + 1:,}\u2013{first + len(rows):,} of {total:,}"
            )
        else:
            self.page_text.title.text = "no networks selected"
        # the buttons stay enabled (a change of state costs a page layout);
        # the server keeps the page within the selection

    def start_download(self, query: str) -> None:
        """Have the page download ``selection.csv`` of the state with the
        query string ``query`` (with ``?``, or empty)."""
        n = int(self.download_at.data["n"][0]) + 1  # the same file again
        _fill(
            self.download_at, {"url": [f"selection.csv{query}"], "n": [n]}, only=False
        )

    def show_stamp(self, stamp: Mapping[str, Any], query: str) -> None:
        """Mark the page as showing ``stamp`` (set last, after every view).

        ``query`` (the state's query string) goes into the page's address.
        """
        _fill(
            self.stamp,
            {"state": [json.dumps(dict(stamp), sort_keys=True)], "query": [query]},
            only=False,
        )

    def set_busy(self, busy: bool) -> None:
        """Grey the status line while an update is being computed."""
        self.status.title.text_color = "#999999" if busy else "#222222"
