"""Drawing the paper's three views, and the statistics beside them, from tables.

This is the only hpcore module that imports matplotlib. It draws and never
aggregates: every number on a figure comes from a table made by
:func:`hpcore.histogram`, :func:`hpcore.pair_counts` or :func:`hpcore.trellis`
(or the fast engine, which returns the same tables), by the statistics of
:mod:`hpcore.stats` (pair statistics, parameter importance, trellis confidence
intervals, the comparison of two selections) or by
:func:`hpcore.findings.discover` (:func:`draw_effect`). It uses
:class:`matplotlib.figure.Figure` with an Agg canvas, never ``pyplot``, so it
holds no global state and works headless and inside Inviwo.

Each function draws into a new figure sized for its table
(:func:`figure_size_for`) or into the caller's ``fig`` (which is cleared and
keeps its size; fonts follow that size). Artists carry ``gid`` strings so tests
and callers can find them:

- histogram: axes ``"histogram-raw"`` and ``"histogram-normalized"``; one bar
  container per group (``container.get_label()`` is the group); bar patches
  ``"bar:<panel>:<group>:<bin>"``; the shaded range ``"selected-range"``.
- pair matrix: one ``QuadMesh`` per parameter pair, ``"pairs:<a>|<b>"``, whose
  array is the ``(options of b) x (options of a)`` block of the coloured value
  (log2 of it on a log2 scale); the colour bar axes ``"pairs-colorbar"``; cell
  numbers ``"pair-count:<a>|<b>"``; marked cells (one ``PathCollection`` of
  dots per block) ``"pair-marks:<a>|<b>"`` and their key, a dot
  ``"pair-mark-key"`` with its text ``"pair-mark-label"``; the importance panel
  axes ``"pairs-importance"`` with bars ``"importance-bar:<parameter>"`` and
  notes ``"importance-note:<parameter>"``. With marks or an importance panel
  the colour bar lies horizontally in a column to the right of the matrix,
  above the key and the panel.
- trellis: panels ``"trellis:<parameter>|<primary>"``; markers (a
  ``PathCollection`` per panel and secondary option)
  ``"trellis-points:<parameter>|<primary>|<secondary>"``; their connecting
  line ``"trellis-line:..."``; confidence bars (a ``LineCollection``)
  ``"trellis-ci:..."``.
- effect (:func:`draw_effect`, for ``hpexplorer findings``): lines labelled by
  option (observed) and ``"<option> predicted"``.
- a figure with nothing selected carries the text :data:`EMPTY_NOTE`
  (gid ``"empty-note"``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy import stats as sps

from ._validation import check_one_of, require_columns
from .errors import ColumnError

if TYPE_CHECKING:
    from matplotlib.axes._secondary_axes import SecondaryAxis

    from .findings import Effect

#: Okabe & Ito's colour-blind-safe palette, yellow last (weak on white).
OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
#: Marker shapes for the trellis' secondary options, in order.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*")
#: The paper's perceptually ordered multi-hue sequential ColorBrewer map.
PAIR_CMAP = "YlGnBu"
#: ColorBrewer's colour-blind-safe diverging map for values around a centre;
#: above the centre is blue, as high counts are on :data:`PAIR_CMAP`.
DIVERGING_CMAP = "RdBu"
#: Colour bar label of the paper's count matrix.
COUNT_LABEL = "selected networks with both options"
#: Fill of the dots that mark cells (white rim: legible on dark and light cells).
MARK_COLOUR = "black"
#: Importance bars: significant, not significant.
IMPORTANCE_COLOURS = ("#0072B2", "#BFCFDB")
#: Shown on a figure whose table holds no selected network.
EMPTY_NOTE = "no networks selected"
#: Trellis cells with fewer networks than this are drawn with open markers.
LOW_COUNT = 5

Kind = Literal["histogram", "pairs", "trellis"]
KINDS: tuple[str, ...] = ("histogram", "pairs", "trellis")

HISTOGRAM_COLUMNS = ("group", "bin_left", "bin_right", "count")
PAIR_KEYS = ("param_a", "option_a", "param_b", "option_b")
PAIR_COLUMNS = (*PAIR_KEYS, "count")
IMPORTANCE_COLUMNS = ("parameter", "score", "q_value")
PairScale = Literal["sequential", "diverging", "log2"]
PAIR_SCALES: tuple[str, ...] = ("sequential", "diverging", "log2")
TRELLIS_COLUMNS = ("parameter", "option", "primary", "secondary", "mean", "count")

# Figure geometry, in inches, for the default sizes.
_PAIR_CELL = (0.2, 0.42)  # min, max cell side
_PAIR_GAP = 0.5  # gap between blocks, in cells
_PAIR_COLORBAR = 1.6  # the vertical colour bar and its label
_IMPORTANCE_ROW = 0.26  # height per parameter in the importance panel
_TRELLIS_SLOT = 0.42  # width per option in a trellis panel
_TRELLIS_ROW = 1.5  # height per panel row
_BASE_FONT = 9.0


# --------------------------------------------------------------------- helpers


def palette(n: int) -> list[str]:
    """``n`` colour-blind-safe colours (Okabe-Ito, cycled when n > 8)."""
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(n)]


def new_figure(width: float, height: float, dpi: float = 100.0) -> Figure:
    """A pyplot-free figure of ``width`` x ``height`` inches on an Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_for_pixels(width: int, height: int, dpi: float = 100.0) -> Figure:
    """A figure of exactly ``width`` x ``height`` pixels (e.g. an Inviwo canvas)."""
    return new_figure(width / dpi, height / dpi, dpi=dpi)


def _prepare(fig: Figure | None, size: tuple[float, float]) -> Figure:
    """The caller's figure cleared (keeping its size), or a new one of ``size``."""
    if fig is None:
        fig = new_figure(*size)
    else:
        fig.clear()
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
    fig.set_layout_engine("constrained")
    return fig


def _font_size(fig: Figure, wanted: tuple[float, float]) -> float:
    """Base font size for ``fig``: the default, scaled down when it is smaller
    than the size :func:`figure_size_for` would pick (never below 5 pt)."""
    width, height = fig.get_size_inches()
    ratio = min(width / wanted[0], height / wanted[1], 1.25)
    return float(np.clip(_BASE_FONT * ratio, 5.0, 11.0))


def _check_frame(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ColumnError(
            f"{what} must be a pandas DataFrame; got {type(table).__name__}"
        )
    require_columns(columns, [str(c) for c in table.columns], what, ColumnError)


def _ordered(values: pd.Series) -> list[str]:
    """Distinct non-missing values as strings, in order of first appearance."""
    return [str(v) for v in dict.fromkeys(values.dropna().tolist())]


def _empty_note(fig: Figure, fontsize: float, ax: Axes | None = None) -> None:
    """Write :data:`EMPTY_NOTE` in the middle of ``ax`` (or of the figure)."""
    style = {
        "ha": "center",
        "va": "center",
        "fontsize": fontsize * 1.8,
        "color": "#B00020",
        "gid": "empty-note",
        "bbox": {"boxstyle": "round", "facecolor": "white", "edgecolor": "#B00020"},
        "zorder": 10,
    }
    if ax is None:
        fig.text(0.5, 0.5, EMPTY_NOTE, **style)  # type: ignore[arg-type]
    else:
        ax.text(0.5, 0.5, EMPTY_NOTE, transform=ax.transAxes, **style)  # type: ignore[arg-type]


def _text_extent_pt(fig: Figure, texts: Sequence[Text], axis: str) -> float:
    """Largest width (``axis="x"``) or height of ``texts`` as drawn, in points."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_text()]
    sizes = [b.width if axis == "x" else b.height for b in boxes]
    return float(max(sizes, default=0.0)) * 72.0 / float(fig.dpi)


# ------------------------------------------------------------------- sizing


def _pair_grid(pairs: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """Parameters and their options, in the order of the pair table's rows."""
    params = [
        str(p)
        for p in dict.fromkeys(
            v for ab in zip(pairs["param_a"], pairs["param_b"], strict=True) for v in ab
        )
    ]
    options: dict[str, list[str]] = {}
    for p in params:
        as_a = pairs.loc[pairs["param_a"] == p, "option_a"]
        as_b = pairs.loc[pairs["param_b"] == p, "option_b"]
        options[p] = _ordered(pd.concat([as_a, as_b], ignore_index=True))
    return params, options


def _trellis_grid(
    trellis: pd.DataFrame,
) -> tuple[list[str], dict[str, list[str]], list[str], list[str | None]]:
    """Panel parameters, their options, primary and secondary options, in row order."""
    params = _ordered(trellis["parameter"])
    options = {
        p: _ordered(trellis.loc[trellis["parameter"] == p, "option"]) for p in params
    }
    primary = _ordered(trellis["primary"])
    secondary: list[str | None] = list(_ordered(trellis["secondary"]))
    return params, options, primary, secondary or [None]


def _pair_cells(
    params: list[str], options: dict[str, list[str]]
) -> tuple[float, float]:
    """Width and height of the lower-triangle matrix, in cells (gaps included)."""
    cols, rows = params[:-1], params[1:]
    nx = sum(len(options[p]) for p in cols) + _PAIR_GAP * max(len(cols) - 1, 0)
    ny = sum(len(options[p]) for p in rows) + _PAIR_GAP * max(len(rows) - 1, 0)
    return nx, ny


def _pair_extent(pairs: pd.DataFrame) -> tuple[float, float, float]:
    """Width and height of the matrix' cells and the width of its labels
    (options and parameter names), in inches; zeros below two parameters."""
    params, options = _pair_grid(pairs)
    if len(params) < 2:
        return (0.0, 0.0, 0.0)
    nx, ny = _pair_cells(params, options)
    cell = float(np.clip(7.5 / max(nx, ny), *_PAIR_CELL))
    all_opts = [o for p in params for o in options[p]]
    label = 0.075 * _label_chars(all_opts) + 0.3  # option labels
    name = 0.085 * _label_chars(params) + 0.2  # parameter names
    return nx * cell, ny * cell, label + name


def _label_chars(labels: Sequence[str]) -> int:
    return max((len(s) for s in labels), default=1)


def figure_size_for(kind: Kind, table: pd.DataFrame) -> tuple[float, float]:
    """Default figure size, in inches, for drawing ``table`` as ``kind``.

    Grows with the number of options so that labels stay readable with the
    13 parameters (about 45 options) of the NWS set as well as with four.

    Parameters
    ----------
    kind : {"histogram", "pairs", "trellis"}
    table : pandas.DataFrame
        The table the figure will show (a histogram frame, pair counts or a
        trellis frame).

    Returns
    -------
    (float, float)
        Width and height in inches.
    """
    check_one_of("kind", kind, KINDS, ColumnError)
    if kind == "histogram":
        return (11.0, 4.4)
    if kind == "pairs":
        _check_frame(table, PAIR_KEYS, "pair matrix")
        cells_w, cells_h, margin = _pair_extent(table)
        if cells_w == 0:
            return (5.0, 4.0)
        width = cells_w + margin + _PAIR_COLORBAR
        height = cells_h + margin + 0.8  # + title
        return (round(width, 2), round(height, 2))
    _check_frame(table, TRELLIS_COLUMNS, "trellis")
    params, options, primary, _ = _trellis_grid(table)
    slots = sum(_panel_slots(p, options[p]) for p in params)
    all_opts = [o for p in params for o in options[p]]
    rotated = 0.07 * _label_chars(all_opts) if _label_chars(all_opts) > 3 else 0.2
    width = max(slots * _TRELLIS_SLOT + 1.8, 5.0)
    height = max(len(primary), 1) * _TRELLIS_ROW + rotated + 1.6
    return (round(width, 2), round(height, 2))


# ---------------------------------------------------------------- histogram


def _draw_stacked(
    ax: Axes,
    table: pd.DataFrame,
    panel: str,
    colors: dict[str, str],
    selected_range: tuple[float, float] | None,
) -> None:
    """Stacked bars of a histogram frame; bars outside ``selected_range`` faded."""
    groups = _ordered(table["group"])
    bottom: np.ndarray | None = None
    for group in groups:
        rows = table[table["group"].astype(str) == group]
        left = rows["bin_left"].to_numpy(dtype=np.float64)
        right = rows["bin_right"].to_numpy(dtype=np.float64)
        count = rows["count"].to_numpy(dtype=np.float64)
        if bottom is None:
            bottom = np.zeros(len(count))
        elif len(bottom) != len(count):
            raise ColumnError(
                f"histogram: group {group!r} has {len(count)} bins; "
                f"the first group has {len(bottom)}"
            )
        bars = ax.bar(
            left,
            count,
            width=right - left,
            bottom=bottom,
            align="edge",
            color=colors[group],
            edgecolor="white",
            linewidth=0.3,
            label=group,
        )
        for i, patch in enumerate(bars.patches):
            patch.set_gid(f"bar:{panel}:{group}:{i}")
            if selected_range is not None and (
                right[i] <= selected_range[0] or left[i] >= selected_range[1]
            ):
                patch.set_alpha(0.35)
        bottom = bottom + count
    if len(table):
        ax.set_xlim(float(table["bin_left"].min()), float(table["bin_right"].max()))
    ax.set_ylim(0, max(float(bottom.max()) if bottom is not None else 0.0, 1.0) * 1.05)


def draw_histogram(
    raw: pd.DataFrame,
    normalized: pd.DataFrame,
    *,
    selected_range: tuple[float, float] | None = None,
    metric: str = "metric",
    fig: Figure | None = None,
    group: str | None = None,
    normalization: str | None = None,
    selected_count: int | None = None,
    title: str | None = None,
) -> Figure:
    """Paper Fig. 2: the metric and the per-group normalized metric, stacked by group.

    Parameters
    ----------
    raw, normalized : pandas.DataFrame
        :func:`hpcore.histogram` frames (columns ``group, bin_left, bin_right,
        count``) of the raw and of the normalized metric. Groups stack in the
        frame's order, the first at the bottom.
    selected_range : (float, float), optional
        Range on the normalized metric to shade; bars outside it are faded.
    metric : str, default="metric"
        Name of the metric, for the axis labels.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first) instead of a new one.
    group : str, optional
        Name of the group column, for the titles.
    normalization : str, optional
        Normalization method, for the axis label (e.g. ``"minmax"``).
    selected_count : int, optional
        Number of selected networks, quoted in the right panel's title; with
        0 the figure carries :data:`EMPTY_NOTE`.
    title : str, optional
        Figure title (e.g. which networks the histograms count).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes, gids ``"histogram-raw"`` and ``"histogram-normalized"``.
    """
    _check_frame(raw, HISTOGRAM_COLUMNS, "raw histogram")
    _check_frame(normalized, HISTOGRAM_COLUMNS, "normalized histogram")
    wanted = figure_size_for("histogram", raw)
    fig = _prepare(fig, wanted)
    fs = _font_size(fig, wanted)
    groups = list(
        dict.fromkeys([*_ordered(raw["group"]), *_ordered(normalized["group"])])
    )
    colors = dict(zip(groups, palette(len(groups)), strict=True))
    ax_raw, ax_norm = fig.subplots(1, 2)
    ax_raw.set_gid("histogram-raw")
    ax_norm.set_gid("histogram-normalized")
    by = f" by {group}" if group else ""
    per = f" per {group}" if group else ""
    method = {"minmax": "min-max", None: ""}.get(normalization, normalization or "")

    _draw_stacked(ax_raw, raw, "raw", colors, None)
    ax_raw.set_title(f"(a) {metric}, stacked{by}", fontsize=fs * 1.1, loc="left")
    ax_raw.set_xlabel(metric, fontsize=fs)
    ax_raw.set_ylabel("networks", fontsize=fs)

    _draw_stacked(ax_norm, normalized, "normalized", colors, selected_range)
    norm_title = f"(b) {metric} normalized{per}"
    if method:
        norm_title += f" ({method})"
    if selected_range is not None:
        lo, hi = selected_range
        ax_norm.axvspan(
            lo, hi, facecolor="#BBBBBB", alpha=0.45, zorder=0, gid="selected-range"
        )
        for x in (lo, hi):
            ax_norm.axvline(x, color="0.2", linestyle="--", linewidth=1.0, zorder=3)
        norm_title += f"\nselected range [{lo:.2f}, {hi:.2f}]"
        if selected_count is not None:
            norm_title += f": {selected_count:,} networks"
    ax_norm.set_title(norm_title, fontsize=fs * 1.1, loc="left")
    ax_norm.set_xlabel(f"normalized {metric}", fontsize=fs)
    ax_norm.set_ylabel("networks", fontsize=fs)
    for ax in (ax_raw, ax_norm):
        ax.tick_params(labelsize=fs * 0.9)
        ax.spines[["top", "right"]].set_visible(False)
    # Legend: top of the stack first; groups without any bar are left out.
    shown = [
        (h, lab)
        for h, lab in zip(*ax_raw.get_legend_handles_labels(), strict=True)
        if any(p.get_height() > 0 for p in getattr(h, "patches", ()))
    ][::-1]
    if shown and (len(groups) > 1 or group):
        fig.legend(
            [h for h, _ in shown],
            [lab for _, lab in shown],
            title=group,
            loc="outside right upper",
            fontsize=fs,
            title_fontsize=fs,
            frameon=False,
        )
    if title:
        fig.suptitle(title, fontsize=fs * 1.15)
    if selected_count == 0 or float(raw["count"].sum()) == 0:
        _empty_note(fig, fs, ax_norm)
    return fig


# -------------------------------------------------------------- pair matrix


def _fit_column_names(
    fig: Figure,
    ax: Axes,
    sec_x: SecondaryAxis,
    cols: list[str],
    options: dict[str, list[str]],
    nx: float,
    ny: float,
    name_fs: float,
) -> None:
    """Keep the column parameter names horizontal when they fit under their
    blocks (wrapped at ``_``, or up to 20 % smaller); else turn them upright."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)  # lay out once to know the cell size
    box = ax.get_position(original=True)
    width, height = fig.get_size_inches() * 72.0
    cell = min(box.width * width / nx, box.height * height / ny)
    rooms = [(len(options[p]) + 0.9 * _PAIR_GAP) * cell for p in cols]

    def widths() -> list[float]:
        return [_text_extent_pt(fig, [t], "x") for t in sec_x.get_xticklabels()]

    if all(w <= r for w, r in zip(widths(), rooms, strict=True)):
        return
    wrapped = [
        p.replace("_", "_\n") if w > r else p
        for p, w, r in zip(cols, widths(), rooms, strict=True)
    ]
    sec_x.set_xticks(sec_x.get_xticks(), wrapped)
    scale = min(r / w for w, r in zip(widths(), rooms, strict=True))
    if scale >= 1.0:
        return
    if scale >= 0.8:
        sec_x.tick_params(labelsize=name_fs * scale)
        return
    sec_x.set_xticks(sec_x.get_xticks(), cols)
    sec_x.tick_params(labelrotation=90)


def _color_values(
    values: np.ndarray, scale: str, limit: float | None
) -> tuple[np.ndarray, Normalize]:
    """The numbers behind the cell colours and their colour norm.

    - ``"sequential"``: the values on ``[min(0, min), max]`` (1 when nothing
      is above 0), as the paper's counts;
    - ``"diverging"``: the values on ``[-L, L]``, centred at 0;
    - ``"log2"``: ``log2(value)`` on ``[-L, L]``, centred at value 1; a value
      of 0 (log2 = -inf) is drawn at ``-L``.

    ``L`` is ``limit`` or the largest finite ``|value|`` (1 when there is none).
    NaN stays NaN (a blank cell).
    """
    if scale == "log2":
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.log2(np.where(values < 0, np.nan, values))
    else:
        shown = values.astype(np.float64, copy=True)
    finite = shown[np.isfinite(shown)]
    if scale == "sequential":
        top = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
        low = min(float(finite.min()), 0.0) if len(finite) else 0.0
        return shown, Normalize(vmin=low, vmax=top)
    if limit is None:
        limit = float(np.abs(finite).max()) if len(finite) else 0.0
    limit = float(limit) if limit and np.isfinite(limit) and limit > 0 else 1.0
    shown = np.where(np.isinf(shown), np.sign(shown) * limit, shown)
    return shown, Normalize(vmin=-limit, vmax=limit)


def _log2_ticks(bar: Colorbar, limit: float) -> None:
    """Colour-bar ticks of a log2 scale, labelled by the value (1/4, 1, 4)."""
    if limit >= 1.0:
        step = float(max(1, int(np.ceil(2 * limit / 8))))
        ticks = np.arange(-np.floor(limit / step) * step, limit + 1e-9, step)
    else:
        found = MaxNLocator(nbins=6, symmetric=True).tick_values(-limit, limit)
        ticks = np.asarray(found, dtype=np.float64)
        ticks = ticks[np.abs(ticks) <= limit + 1e-12]
    bar.set_ticks(list(ticks), labels=[_ratio_text(2.0**t) for t in ticks])


def _side_width(importance: pd.DataFrame | None, mark_label: str) -> float:
    """Width of the pair matrix' side column, in inches."""
    lines = mark_label.splitlines() or [""]
    key = 0.068 * max(len(s) for s in lines) + 0.5
    panel = sum(_importance_widths(importance)) if importance is not None else 0.0
    return round(max(key, panel, 2.6), 2)


def _side_height(importance: pd.DataFrame | None) -> float:
    """Height the side column needs, in inches."""
    panel = _IMPORTANCE_ROW * len(importance) + 1.2 if importance is not None else 0
    return 0.16 + 0.9 + 1.05 + panel


def _ratio_text(ratio: float) -> str:
    """``0.25`` -> ``"1/4"``, ``4`` -> ``"4"``, ``1.41`` -> ``"1.4"``."""
    if ratio >= 1.0:
        return f"{ratio:.2g}"
    inverse = 1.0 / ratio
    if abs(inverse - round(inverse)) < 1e-6:
        return f"1/{round(inverse)}"
    return f"{ratio:.2g}"


def _text_colour(rgba: Sequence[float]) -> str:
    """Dark or light text, whichever reads on a cell of colour ``rgba``."""
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "0.15"


def _importance_widths(importance: pd.DataFrame) -> tuple[float, float, float]:
    """Widths of the importance panel's names, bars and notes, in inches."""
    names = [str(p) for p in importance["parameter"]]
    notes = _importance_notes(importance)
    return 0.075 * _label_chars(names) + 0.15, 1.6, 0.072 * _label_chars(notes) + 0.2


def _q_text(q: float) -> str:
    if not np.isfinite(q):
        return "q n/a"
    return "q < 0.001" if q < 0.001 else f"q = {q:.2g}"


def _importance_notes(importance: pd.DataFrame) -> list[str]:
    """Per parameter: its most over-represented option (x ratio) and q-value."""
    notes = []
    has_top = {"top_option", "top_enrichment"} <= set(importance.columns)
    for i in range(len(importance)):
        row = importance.iloc[i]
        text = _q_text(float(row["q_value"]))
        if has_top and str(row["top_option"]) and np.isfinite(row["top_enrichment"]):
            ratio = float(row["top_enrichment"])
            text = f"{text}   {row['top_option']} \u00d7{ratio:.2f}"
        notes.append(text)
    return notes


def _draw_importance(
    ax: Axes, notes_ax: Axes, importance: pd.DataFrame, alpha: float, fs: float
) -> None:
    """Horizontal score bars, strongest on top, dark where ``q < alpha``; the
    q-value and most over-represented option of each in ``notes_ax``."""
    names = [str(p) for p in importance["parameter"]]
    scores = importance["score"].to_numpy(dtype=np.float64)
    q = importance["q_value"].to_numpy(dtype=np.float64)
    significant = q < alpha
    y = np.arange(len(names))
    bars = ax.barh(
        y,
        scores,
        height=0.7,
        color=[
            IMPORTANCE_COLOURS[0] if s else IMPORTANCE_COLOURS[1] for s in significant
        ],
        edgecolor="none",
    )
    for name, patch in zip(names, bars.patches, strict=True):
        patch.set_gid(f"importance-bar:{name}")
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    top = float(np.nanmax(scores)) if len(scores) and np.nanmax(scores) > 0 else 0.1
    ax.set_xlim(0.0, top * 1.05)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.tick_params(labelsize=fs * 0.85, length=2)
    ax.tick_params(axis="y", length=0, labelsize=fs * 0.9)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.grid(axis="x", color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(
        "parameter importance: selection vs all networks",
        fontsize=fs,
        loc="left",
        fontweight="bold",
    )
    ax.set_xlabel(
        "score: share of selected networks that would need\n"
        "another option to look like all networks (TV distance)\n"
        f"dark: q < {alpha:g} (chi-square test, Benjamini-Hochberg)\n"
        "right: q and the most over-represented option\n"
        "(\u00d7 its share in the selection / share in all)",
        fontsize=fs * 0.85,
        loc="left",
    )
    notes_ax.set_axis_off()
    notes_ax.set_ylim(ax.get_ylim())
    notes_ax.set_xlim(0.0, 1.0)
    for yi, note, sig in zip(
        y, _importance_notes(importance), significant, strict=True
    ):
        notes_ax.text(
            0.0,
            float(yi),
            note,
            ha="left",
            va="center",
            fontsize=fs * 0.85,
            color="0.1" if sig else "0.45",
            gid=f"importance-note:{names[int(yi)]}",
        )


def draw_importance(
    importance: pd.DataFrame,
    *,
    fig: Figure | None = None,
    alpha: float = 0.05,
) -> Figure:
    """The per-parameter importance panel on its own figure.

    Parameters
    ----------
    importance : pandas.DataFrame
        :func:`hpcore.stats.parameter_importance` frame (at least
        ``parameter, score, q_value``; ``top_option, top_enrichment`` are
        quoted when present). Bars in the frame's row order, top to bottom.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first) instead of a new one.
    alpha : float, default=0.05
        Bars with ``q_value < alpha`` are dark, the others light.

    Returns
    -------
    matplotlib.figure.Figure
        The bar axes has gid ``"pairs-importance"``, its bars
        ``"importance-bar:<p>"``; the notes ``"importance-note:<p>"``.
    """
    _check_frame(importance, IMPORTANCE_COLUMNS, "parameter importance")
    names, bars, notes = _importance_widths(importance)
    wanted = (names + bars + notes + 0.3, _IMPORTANCE_ROW * len(importance) + 1.6)
    fig = _prepare(fig, wanted)
    fs = _font_size(fig, wanted)
    ax, notes_ax = fig.subplots(1, 2, width_ratios=[names + bars, notes])
    ax.set_gid("pairs-importance")
    _draw_importance(ax, notes_ax, importance, alpha, fs)
    return fig


def draw_pair_matrix(
    pairs: pd.DataFrame,
    *,
    fig: Figure | None = None,
    title: str | None = None,
    value: str = "count",
    scale: PairScale = "sequential",
    cmap: str | Colormap | None = None,
    colorbar_label: str | None = None,
    limit: float | None = None,
    number_format: str | None = None,
    marks: Sequence[bool] | np.ndarray | pd.Series | None = None,
    mark_label: str = "marked cell",
    importance: pd.DataFrame | None = None,
    alpha: float = 0.05,
    empty: bool | None = None,
    annotate: bool | None = None,
) -> Figure:
    """Paper Fig. 3: the heat-map matrix of option pairs.

    The lower triangle of a parameter x parameter grid: the block in the row
    of parameter b and the column of parameter a (a before b) has one cell per
    option of b (sub-rows) and of a (sub-columns), coloured by its ``value``.
    Option labels run along the left and bottom edges, parameter names outside
    them and, bold, on the diagonal.

    By default (the paper's view) the value is the count of selected
    networks on a perceptually ordered sequential ColorBrewer map starting at
    0. Any other column can be shown, on a diverging map centred at 0
    (``scale="diverging"``, e.g. a difference of shares) or at 1 on a log2
    axis (``scale="log2"``, e.g. an enrichment ratio; a ratio of 0 is drawn at
    the lower end). Diverging limits are symmetric.

    Parameters
    ----------
    pairs : pandas.DataFrame
        A frame with ``param_a, option_a, param_b, option_b`` and the
        ``value`` column (e.g. :func:`hpcore.pair_counts`,
        :func:`hpcore.stats.pair_statistics` or
        :func:`hpcore.stats.compare_selections`). Parameter and option order
        follow its rows. A missing option combination or a NaN value is left
        blank.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first) instead of a new one.
    title : str, optional
        Figure title.
    value : str, default="count"
        The column that colours the cells (and is written in them).
    scale : {"sequential", "diverging", "log2"}, default="sequential"
    cmap : str or Colormap, optional
        Default ``"YlGnBu"`` (sequential) or ``"RdBu"`` (diverging; values
        above the centre blue, like high counts).
    colorbar_label : str, optional
        Default ``"selected networks with both options"`` for counts, else
        the value's name.
    limit : float, optional
        Half-width of a diverging scale (in log2 units for ``"log2"``);
        default the largest finite ``|value|``.
    number_format : str, optional
        Format of the numbers written in cells (e.g. ``"{:.2g}"``), and of the
        colour-bar ticks of a ``"diverging"`` scale. Default: integers for a
        sequential scale, ``"{:.2g}"`` otherwise.
    marks : sequence of bool, optional
        One entry per row of ``pairs``: cells to mark with a dot (e.g.
        ``q_value < 0.05``). The legend explains them with ``mark_label``.
    mark_label : str, default="marked cell"
    importance : pandas.DataFrame, optional
        :func:`hpcore.stats.parameter_importance` frame, drawn as a panel of
        score bars to the right of the matrix (see :func:`draw_importance`).
    alpha : float, default=0.05
        Importance bars with ``q_value < alpha`` are dark.
    empty : bool, optional
        Show :data:`EMPTY_NOTE`. Default: when the frame has a ``count``
        column that sums to 0, or no finite value.
    annotate : bool, optional
        Write each value in its cell. Default: only when cells are large
        enough to hold the numbers.

    Returns
    -------
    matplotlib.figure.Figure
        The matrix axes has gid ``"pairs-matrix"``, the colour bar
        ``"pairs-colorbar"``, the marks (one ``PathCollection`` per block)
        ``"pair-marks:<a>|<b>"``, the importance panel ``"pairs-importance"``.

    Raises
    ------
    ColumnError
        A column is missing, an option pair appears twice or ``marks`` does
        not match the rows.
    """
    check_one_of("scale", scale, PAIR_SCALES, ColumnError)
    _check_frame(pairs, (*PAIR_KEYS, value), "pair matrix")
    if importance is not None:
        _check_frame(importance, IMPORTANCE_COLUMNS, "parameter importance")
    keys = list(PAIR_KEYS)
    if pairs.duplicated(keys).any():
        dup = pairs.loc[pairs.duplicated(keys), keys].iloc[0].tolist()
        raise ColumnError(
            f"pair matrix: the option pair {dup!r} appears more than once"
        )
    mark = None
    if marks is not None:
        mark = np.asarray(marks, dtype=bool).reshape(-1)
        if len(mark) != len(pairs):
            raise ColumnError(
                f"pair matrix: `marks` needs one entry per row ({len(pairs)}); "
                f"got {len(mark)}"
            )
    wanted = figure_size_for("pairs", pairs)
    side = 0.0
    if importance is not None or mark is not None:
        # a side column: colour bar, mark key and the importance panel
        side = _side_width(importance, mark_label if mark is not None else "")
        wanted = (
            wanted[0] - _PAIR_COLORBAR + side + 0.9,  # + the gap between them
            max(wanted[1], _side_height(importance) + 0.6),
        )
    fig = _prepare(fig, wanted)
    fs = _font_size(fig, wanted)
    params, options = _pair_grid(pairs)
    cax: Axes | None = None
    key: Axes | None = None
    if side:
        # ratios of the axes' inner widths: cells vs the side column less the
        # importance panel's parameter names (its left margin)
        cells_w = max(_pair_extent(pairs)[0], 1.0)
        names_w = _importance_widths(importance)[0] if importance is not None else 0
        grid = fig.add_gridspec(1, 2, width_ratios=[cells_w, side - names_w])
        ax = fig.add_subplot(grid[0, 0])
        ax.set_anchor("NE")
        heights = [0.16, 0.95 if mark is not None else 0.5]
        if importance is not None:
            heights.append(_IMPORTANCE_ROW * len(importance) + 1.2)
        heights.append(max(wanted[1] - sum(heights), 0.1))
        widths = [2.0, 1.0]
        if importance is not None:
            _, bars_w, notes_w = _importance_widths(importance)
            widths = [bars_w, max(notes_w, side - names_w - bars_w)]
        column = grid[0, 1].subgridspec(
            len(heights), 2, height_ratios=heights, width_ratios=widths, wspace=0
        )
        cax = fig.add_subplot(column[0, :])
        key = fig.add_subplot(column[1, :])
        key.set_axis_off()
        if importance is not None:
            ax_imp = fig.add_subplot(column[2, 0])
            ax_imp.set_gid("pairs-importance")
            _draw_importance(
                ax_imp, fig.add_subplot(column[2, 1]), importance, alpha, fs
            )
    else:
        ax = fig.add_subplot()
    ax.set_gid("pairs-matrix")
    if title:
        fig.suptitle(title, fontsize=fs * 1.2)
    if len(params) < 2:
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            "the pair matrix needs two parameters",
            ha="center",
            transform=ax.transAxes,
            fontsize=fs,
        )
        return fig

    cols, rows = params[:-1], params[1:]
    x0: dict[str, float] = {}
    pos = 0.0
    for p in cols:
        x0[p] = pos
        pos += len(options[p]) + _PAIR_GAP
    y0: dict[str, float] = {}
    pos = 0.0
    for p in rows:
        y0[p] = pos
        pos += len(options[p]) + _PAIR_GAP
    nx, ny = _pair_cells(params, options)

    raw = pairs[value].to_numpy(dtype=np.float64)
    shown, norm = _color_values(raw, scale, limit)
    if cmap is None:
        cmap = PAIR_CMAP if scale == "sequential" else DIVERGING_CMAP
    colormap = colormaps[cmap] if isinstance(cmap, str) else cmap
    colormap = colormap.with_extremes(bad="white")
    if number_format is None:
        number_format = "{:.0f}" if scale == "sequential" else "{:.2g}"
    if colorbar_label is None:
        colorbar_label = COUNT_LABEL if value == "count" else value

    width, height = fig.get_size_inches()
    width *= 1.0 - side / wanted[0]
    cell_pt = 72.0 * min(width * 0.7 / nx, height * 0.75 / ny)
    tick_fs = float(np.clip(min(fs, cell_pt * 0.62), 4.0, 10.0))
    finite_raw = raw[np.isfinite(raw)]
    if annotate is None:
        chars = max((len(number_format.format(v)) for v in finite_raw), default=1)
        annotate = cell_pt >= max(14.0, chars * tick_fs * 0.62 + 4) and nx * ny < 900

    index = {p: {o: i for i, o in enumerate(options[p])} for p in params}
    keys_frame = pairs[keys].astype(str).reset_index(drop=True)
    mark_size = float(np.clip(cell_pt * 0.3, 2.5, 6.0))
    for (a, b), block in keys_frame.groupby(["param_a", "param_b"], sort=False):
        a, b = str(a), str(b)
        if params.index(a) > params.index(b):
            raise ColumnError(
                f"pair matrix: pair ({a!r}, {b!r}) is out of parameter order"
            )
        pos_rows = block.index.to_numpy()
        grid_shown = np.full((len(options[b]), len(options[a])), np.nan)
        grid_raw = np.full_like(grid_shown, np.nan)
        grid_mark = np.zeros(grid_shown.shape, dtype=bool)
        ia = [index[a][o] for o in block["option_a"]]
        ib = [index[b][o] for o in block["option_b"]]
        grid_shown[ib, ia] = shown[pos_rows]
        grid_raw[ib, ia] = raw[pos_rows]
        if mark is not None:
            grid_mark[ib, ia] = mark[pos_rows]
        xs = x0[a] + np.arange(len(options[a]) + 1)
        ys = y0[b] + np.arange(len(options[b]) + 1)
        ax.pcolormesh(
            xs,
            ys,
            np.ma.masked_invalid(grid_shown),
            cmap=colormap,
            norm=norm,
            edgecolors="white",
            linewidth=0.4 if cell_pt > 8 else 0.15,
            gid=f"pairs:{a}|{b}",
        )
        if annotate:
            for (r, c), v in np.ndenumerate(grid_raw):
                if np.isnan(v):
                    continue
                ax.text(
                    float(xs[c]) + 0.5,
                    float(ys[r]) + 0.5,
                    number_format.format(v),
                    ha="center",
                    va="center",
                    fontsize=tick_fs * 0.85,
                    color=_text_colour(colormap(norm(grid_shown[r, c]))),
                    gid=f"pair-count:{a}|{b}",
                )
        if mark is not None:
            r, c = np.nonzero(grid_mark)
            # with numbers in the cells the dot moves to the top-right corner
            dx, dy = (0.8, 0.2) if annotate else (0.5, 0.5)
            ax.scatter(
                xs[c] + dx,
                ys[r] + dy,
                s=mark_size**2,
                marker="o",
                facecolors=MARK_COLOUR,
                edgecolors="white",
                linewidths=0.6,
                zorder=4,
                gid=f"pair-marks:{a}|{b}",
            )

    ax.set_xlim(0, nx)
    ax.set_ylim(ny, 0)
    ax.set_aspect("equal")
    ax.spines[:].set_visible(False)
    xt = [x0[p] + i + 0.5 for p in cols for i in range(len(options[p]))]
    yt = [y0[p] + i + 0.5 for p in rows for i in range(len(options[p]))]
    ax.set_xticks(xt, [o for p in cols for o in options[p]], rotation=90)
    ax.set_yticks(yt, [o for p in rows for o in options[p]])
    ax.tick_params(length=0, labelsize=tick_fs, pad=2)

    mappable = ScalarMappable(norm=norm, cmap=colormap)
    if cax is None:
        bar = fig.colorbar(mappable, ax=ax, shrink=0.6, aspect=25, pad=0.02)
        bar.set_label(colorbar_label, fontsize=fs)
    else:
        bar = fig.colorbar(mappable, cax=cax, orientation="horizontal")
        room = side - (
            _importance_widths(importance)[0] if importance is not None else 0
        )
        # a label wider than the bar would squeeze the bar in the layout
        chars = max(int(0.85 * room / (0.075 * fs / _BASE_FONT)), 20)
        wrapped = [textwrap.fill(line, chars) for line in colorbar_label.splitlines()]
        bar.set_label("\n".join(wrapped), fontsize=fs)
    bar.ax.set_gid("pairs-colorbar")
    bar.ax.tick_params(labelsize=fs * 0.9)
    if scale == "log2":
        _log2_ticks(bar, float(norm.vmax or 1.0))
    elif scale == "diverging":
        fmt = number_format
        bar.formatter = FuncFormatter(
            lambda t, _: fmt.format(t) if t != 0 else fmt.format(0.0).lstrip("+")
        )

    if mark is not None and key is not None:
        # The key: a dot like the marks and its text. Kept out of the layout
        # (the side column is sized for it) so it cannot squeeze the colour bar.
        key.scatter(
            [0.04],
            [0.93],
            s=max(mark_size, 5.0) ** 2,
            marker="o",
            facecolors=MARK_COLOUR,
            edgecolors="white",
            linewidths=0.6,
            transform=key.transAxes,
            clip_on=False,
            in_layout=False,
            gid="pair-mark-key",
        )
        key.text(
            0.1,
            0.93,
            mark_label,
            transform=key.transAxes,
            ha="left",
            va="top",
            fontsize=fs * 0.9,
            in_layout=False,
            gid="pair-mark-label",
        )

    # Parameter names outside the option labels (measured, so they never overlap).
    pad_x = _text_extent_pt(fig, ax.get_xticklabels(), "y") + 4
    pad_y = _text_extent_pt(fig, ax.get_yticklabels(), "x") + 5
    name_fs = tick_fs * 1.12
    sec_x = ax.secondary_xaxis("bottom")
    sec_x.set_xticks([x0[p] + len(options[p]) / 2 for p in cols], cols)
    sec_x.tick_params(length=0, pad=pad_x, labelsize=name_fs)
    sec_y = ax.secondary_yaxis("left")
    sec_y.set_yticks([y0[p] + len(options[p]) / 2 for p in rows], rows)
    sec_y.tick_params(length=0, pad=pad_y, labelsize=name_fs)
    for sec in (sec_x, sec_y):
        sec.spines[:].set_visible(False)
        for label in sec.get_xticklabels() + sec.get_yticklabels():
            label.set_fontweight("bold")
    _fit_column_names(fig, ax, sec_x, cols, options, nx, ny, name_fs)

    # Parameter names on the diagonal: a staircase in the empty upper triangle.
    for i, p in enumerate(params):
        if i == 0:
            x, y, ha, va = x0[p], -0.25, "left", "bottom"
        elif i == len(params) - 1:
            x, y = (
                x0[cols[-1]] + len(options[cols[-1]]) + 0.3,
                y0[p] + len(options[p]) / 2,
            )
            ha, va = "left", "center"
        else:
            x, y = x0[p] + 0.1, y0[p] + len(options[p]) / 2
            ha, va = "left", "center"
        ax.text(
            x,
            y,
            p,
            ha=ha,
            va=va,
            fontsize=name_fs,
            fontweight="bold",
            color="0.25",
            gid=f"pair-name:{p}",
            clip_on=False,
        )

    if empty is None:
        if "count" in pairs.columns:
            empty = float(np.nansum(pairs["count"].to_numpy(dtype=np.float64))) == 0
        else:
            empty = not np.isfinite(raw).any()
    if empty:
        _empty_note(fig, fs)
    return fig


# ------------------------------------------------------------------ trellis


def _panel_slots(name: str, options: Sequence[str]) -> float:
    """Width of a trellis panel in option slots: its options, at least two, and
    enough for its bold title."""
    return max(float(len(options)), 2.0, 0.23 * len(name))


def _dodge(n: int) -> np.ndarray:
    """Horizontal offsets of ``n`` secondary options within an option slot."""
    if n <= 1:
        return np.zeros(1)
    step = min(0.5 / (n - 1), 0.14)
    return (np.arange(n) - (n - 1) / 2) * step


def draw_trellis(
    trellis: pd.DataFrame,
    *,
    fig: Figure | None = None,
    value_label: str = "mean normalized metric",
    primary_name: str | None = None,
    secondary_name: str | None = None,
    low_count: int = LOW_COUNT,
    lines: bool = True,
    ci_label: str = "confidence interval of the mean",
) -> Figure:
    """Paper Fig. 4: Becker's barley trellis of the mean metric per option.

    One column of panels per parameter and one row per primary option; in a
    panel the parameter's options run along x and the mean along y (shared
    by all panels). The secondary option, when present, is both colour and
    marker shape, side by side within an option; a thin line joins a
    secondary option's means across the options. Empty cells (count 0, mean
    NaN) are not drawn; cells with fewer than ``low_count`` networks get open
    markers. Confidence bars are drawn when the frame has ``ci_low`` and
    ``ci_high`` columns (where both are finite), and the legend names them
    with ``ci_label``. On a normalized metric (every mean in [0, 1]) the
    value axis stays within [0, 1]; longer bars are cut at its ends.

    Parameters
    ----------
    trellis : pandas.DataFrame
        :func:`hpcore.trellis` frame (``parameter, option, primary, secondary,
        mean, count``); panels, options, primary and secondary options in the
        order of its rows.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first) instead of a new one.
    value_label : str, default="mean normalized metric"
        Label of the y axis.
    primary_name, secondary_name : str, optional
        Names of the primary and secondary parameters (row labels, legend title).
    low_count : int, default=5
        Cells with fewer networks are drawn with open markers (0 disables).
    lines : bool, default=True
        Join the means of one secondary option across the options.
    ci_label : str, default="confidence interval of the mean"
        Legend entry of the confidence bars (say which interval, e.g.
        ``"95% t-interval of the mean"``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_frame(trellis, TRELLIS_COLUMNS, "trellis")
    wanted = figure_size_for("trellis", trellis)
    fig = _prepare(fig, wanted)
    fs = _font_size(fig, wanted)
    params, options, primary, secondary = _trellis_grid(trellis)
    if not params or not primary:
        _empty_note(fig, fs)
        return fig
    has_ci = {"ci_low", "ci_high"} <= {str(c) for c in trellis.columns}
    colors = palette(len(secondary)) if secondary[0] is not None else ["#0072B2"]
    offsets = _dodge(len(secondary))
    axes = fig.subplots(
        len(primary),
        len(params),
        sharey=True,
        sharex="col",
        squeeze=False,
        gridspec_kw={"width_ratios": [_panel_slots(p, options[p]) for p in params]},
    )
    values = trellis["mean"].to_numpy(dtype=np.float64)
    shown = values[trellis["count"].to_numpy() > 0]
    extra = (
        [
            trellis["ci_low"].to_numpy(dtype=np.float64),
            trellis["ci_high"].to_numpy(dtype=np.float64),
        ]
        if has_ci
        else []
    )
    means = shown[np.isfinite(shown)]
    unit = bool(len(means)) and float(means.min()) >= 0.0 and float(means.max()) <= 1.0
    finite = np.concatenate([shown, *extra])
    finite = finite[np.isfinite(finite)]
    if unit:  # a normalized metric: no ticks beyond [0, 1]
        finite = np.clip(finite, 0.0, 1.0)
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    margin = max((hi - lo) * 0.08, 0.02)
    ylim = (lo - margin, hi + margin)
    if unit:
        ylim = (max(ylim[0], 0.0), min(ylim[1], 1.0))

    # Width of one option slot, in points: the figure less the y labels at the
    # left, the row labels at the right and the gaps between panels.
    free = max(fig.get_size_inches()[0] - 1.3 - 0.08 * len(params), 0.5)
    slot_pt = 72.0 * free / sum(_panel_slots(p, options[p]) for p in params)
    keys = trellis[["parameter", "primary"]].astype(str)
    any_open = any_ci = False
    for j, param in enumerate(params):
        opts = options[param]
        slot = {o: i for i, o in enumerate(opts)}
        for i, prim in enumerate(primary):
            ax = axes[i, j]
            ax.set_gid(f"trellis:{param}|{prim}")
            panel = trellis[(keys["parameter"] == param) & (keys["primary"] == prim)]
            for m, sec in enumerate(secondary):
                rows = (
                    panel
                    if sec is None
                    else panel[panel["secondary"].astype(str) == sec]
                )
                if rows.empty:
                    continue
                x = np.array([slot[str(o)] for o in rows["option"]], dtype=np.float64)
                x += offsets[m]
                y = rows["mean"].to_numpy(dtype=np.float64)
                n = rows["count"].to_numpy()
                ok = (n > 0) & np.isfinite(y)
                tag = f"{param}|{prim}|{'' if sec is None else sec}"
                color = colors[m]
                if lines:
                    ax.plot(
                        x,
                        np.where(ok, y, np.nan),
                        color=color,
                        linewidth=0.9,
                        alpha=0.55,
                        zorder=2,
                        gid=f"trellis-line:{tag}",
                    )
                if has_ci:
                    low = rows["ci_low"].to_numpy(dtype=np.float64)
                    high = rows["ci_high"].to_numpy(dtype=np.float64)
                    bar_ok = ok & np.isfinite(low) & np.isfinite(high)
                    any_ci = any_ci or bool(bar_ok.any())
                    ax.vlines(
                        x[bar_ok],
                        low[bar_ok],
                        high[bar_ok],
                        color=color,
                        linewidth=1.0,
                        zorder=2,
                        gid=f"trellis-ci:{tag}",
                    )
                open_ = n[ok] < low_count
                any_open = any_open or bool(open_.any())
                ax.scatter(
                    x[ok],
                    y[ok],
                    s=(fs * 0.8) ** 2,
                    marker=MARKERS[m % len(MARKERS)],
                    facecolors=[("white" if o else color) for o in open_],
                    edgecolors=color,
                    linewidths=1.1,
                    zorder=3,
                    clip_on=False,
                    label="" if sec is None else sec,
                    gid=f"trellis-points:{tag}",
                )
            ax.set_xlim(-0.5, len(opts) - 0.5)
            ax.set_ylim(ylim)
            ax.grid(axis="y", color="0.9", linewidth=0.6)
            for k in range(len(opts)):
                ax.axvline(k, color="0.93", linewidth=0.6, zorder=0)
            ax.tick_params(labelsize=fs * 0.85, length=2)
            ax.spines[["top", "right"]].set_visible(False)
            if i == 0:
                ax.set_title(param, fontsize=fs, fontweight="bold")
            if j == len(params) - 1:
                label = f"{primary_name} = {prim}" if primary_name else prim
                ax.annotate(
                    label,
                    xy=(1.04, 0.5),
                    xycoords="axes fraction",
                    rotation=270,
                    ha="left",
                    va="center",
                    fontsize=fs,
                    gid=f"trellis-row:{prim}",
                )
        bottom = axes[-1, j]
        bottom.set_xticks(range(len(opts)), opts)
        if _text_extent_pt(fig, bottom.get_xticklabels(), "x") > slot_pt * 0.92:
            bottom.tick_params(axis="x", labelrotation=90)
        title = axes[0, j].title
        room = slot_pt * _panel_slots(param, opts)
        if _text_extent_pt(fig, [title], "x") > room:
            title.set_text(param.replace("_", "_\n"))
            width = _text_extent_pt(fig, [title], "x")
            if width > room:
                title.set_fontsize(max(fs * room / width, fs * 0.6))
    fig.supylabel(value_label, fontsize=fs)

    handles: list[Line2D] = []
    if secondary[0] is not None:
        handles = [
            Line2D(
                [],
                [],
                color=colors[m],
                marker=MARKERS[m % len(MARKERS)],
                linestyle="-" if lines else "none",
                linewidth=0.9,
                label=str(s),
            )
            for m, s in enumerate(secondary)
        ]
    if any_open:
        handles.append(
            Line2D(
                [],
                [],
                color="0.35",
                marker="o",
                markerfacecolor="white",
                linestyle="none",
                label=f"fewer than {low_count} networks",
            )
        )
    if any_ci:
        handles.append(
            Line2D(
                [],
                [],
                color="0.35",
                marker="|",
                markersize=fs * 1.3,
                markeredgewidth=1.0,
                linestyle="none",
                label=ci_label,
            )
        )
    if handles:
        fig.legend(
            handles=handles,
            loc="outside upper center",
            ncols=min(len(handles), 7),
            fontsize=fs,
            title_fontsize=fs,
            title=secondary_name if secondary[0] is not None else None,
            frameon=False,
        )
    if not len(shown) or not np.isfinite(shown).any():
        _empty_note(fig, fs)
    return fig


# ------------------------------------------------------------------ findings


def draw_effect(effect: Effect, *, value_label: str = "metric") -> Figure:
    """A small figure of one effect, drawn from ``effect.cells`` only.

    - main effect: the mean of every option with its 95% t-interval
      (one ``errorbar`` container, options in their order along x);
    - pair: the cell means of the first parameter's options (x) with one solid
      line per option of the second, and the additive prediction of each as a
      dashed line of the same colour;
    - triple: the same as the pair, one panel per group option.

    Lines carry a label ``"<option>"`` (observed) or ``"<option> predicted"``
    so tests can match them to ``effect.cells``. The intervals come from each
    cell's ``count`` and ``sd`` (``t(0.975, n-1) * sd / sqrt(n)``); nothing is
    aggregated here.

    Parameters
    ----------
    effect : hpcore.findings.Effect
        One effect of :func:`hpcore.findings.discover`.
    value_label : str, default="metric"
        Name of the analysed value, for the y axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cells = effect.cells
    if effect.kind == "main":
        p = effect.parameters[0]
        fig = _prepare(None, (4.5, 3.0))
        ax = fig.add_subplot()
        rank = {o: i for i, o in enumerate(effect.options[p])}
        order = cells.sort_values(p, key=lambda s: s.map(rank))
        x = np.arange(len(order))
        half = _t_half(order)  # from the cells' count and sd: no aggregation
        ax.errorbar(
            x, order["mean"].to_numpy(), yerr=half, fmt="o", capsize=3, label="mean"
        )
        ax.set_xticks(x, order[p].tolist(), rotation=30, ha="right")
        ax.set_xlabel(p)
        ax.set_ylabel(f"mean {value_label}\n(95% t-interval)")
        ax.set_title(effect.name, fontsize=10)
        return fig
    panels: list[str | None]
    if effect.kind == "triple":
        g, a, b = effect.parameters
        panels = [o for o in effect.options[g] if o in set(cells[g])]
    else:
        g, (a, b) = "", effect.parameters
        panels = [None]
    fig = _prepare(None, (3.2 * len(panels) + 1.2, 3.0))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    x_opts = [o for o in effect.options[a] if o in set(cells[a])]
    line_opts = [o for o in effect.options[b] if o in set(cells[b])]
    colors = palette(len(line_opts))
    for ax, panel in zip(axes, panels, strict=True):
        part = cells if panel is None else cells[cells[g] == panel]
        for j, opt in enumerate(line_opts):
            sub = part[part[b] == opt].set_index(a).reindex(x_opts)
            color = colors[j]
            ax.plot(
                range(len(x_opts)),
                sub["mean"].to_numpy(),
                "o-",
                color=color,
                label=str(opt),
            )
            ax.plot(
                range(len(x_opts)),
                sub["predicted"].to_numpy(),
                "--",
                color=color,
                alpha=0.6,
                label=f"{opt} predicted",
            )
        ax.set_xticks(range(len(x_opts)), x_opts, rotation=30, ha="right")
        ax.set_xlabel(a)
        if panel is not None:
            ax.set_title(f"{g} = {panel}", fontsize=9)
    axes[0].set_ylabel(f"mean {value_label}\n(dashed: predicted)")
    handles = [
        h for h in axes[-1].get_lines() if not str(h.get_label()).endswith(" predicted")
    ]
    axes[-1].legend(
        handles=handles,
        title=b,
        fontsize=7,
        title_fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    fig.suptitle(effect.name, fontsize=10)
    return fig


def _t_half(cells: pd.DataFrame) -> np.ndarray:
    n = cells["count"].to_numpy(dtype=np.float64)
    sd = cells["sd"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.asarray(sps.t.ppf(0.975, n - 1.0))
        half: np.ndarray = np.where(n >= 2, t * sd / np.sqrt(n), np.nan)
    return half
