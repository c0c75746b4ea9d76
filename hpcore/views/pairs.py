"""Paper Fig. 3: the heat-map matrix of option pairs, or of a difference.

The figure is laid out here, in points, from the table and the widths of its
labels: the matrix (cells sized to its option labels), its labels, and a side
block (colour bar, the key of the marks, the importance panel) placed where
it costs the least room: in the empty upper-right triangle of the matrix
when it fits there, else beside it. The block positions inside the matrix
come from :mod:`hpcore.views.layout`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Affine2D, Transform

from ..data.errors import ColumnError
from ..data.validation import check_one_of
from .importance import ImportancePanel, _ratio_text
from .layout import PairLayout, _pair_grid, pair_layout
from .limits import choose_parameters
from .style import (
    _PAIR_GAP,
    BLANK_FILL,
    COUNT_LABEL,
    DIVERGING_CMAP,
    IMPORTANCE_COLUMNS,
    MARK_COLOUR,
    PAIR_CMAP,
    PAIR_KEYS,
    PAIR_SCALES,
    PairScale,
    Sheet,
    _check_frame,
    _empty_note,
    _update_empty_note,
    figure_fonts,
    fit_font,
    labels_of,
    literal,
    strings,
)
from .text import LINE_HEIGHT, block_height, block_width, shorten, text_width, widest
from .trellis import _marker_path

#: Largest cell side, in units of the base font size.
_MAX_CELL = 3.2


#: Gap between the parts of the side block, in units of the base font size.
_SIDE_GAP = 1.1


#: Width of the side block's colour bar, in units of the base font size.
_BAR_LENGTH = 20.0


def _color_values(
    values: np.ndarray, scale: str, limit: float | None
) -> tuple[np.ndarray, Normalize]:
    """The numbers behind the cell colours and their colour norm.

    - ``"sequential"``: the values on ``[min(0, min), max]`` (1 when nothing
      is above 0), as the paper's counts;
    - ``"diverging"``: the values on ``[-L, L]``, centred at 0;
    - ``"log2"``: ``log2(value)`` on ``[-L, L]``, centred at value 1; a value
      of 0 (log2 = -inf) is drawn at ``-L``.

    ``L`` is ``limit`` or the largest finite ``|value|`` (1 when there is none);
    values beyond it take the colour at the end of the scale. NaN stays NaN
    (a blank cell).
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
    shown = np.where(np.isfinite(shown), np.clip(shown, -limit, limit), shown)
    return shown, Normalize(vmin=-limit, vmax=limit)


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten
    that is at least ``x`` (``x`` when it is not positive and finite)."""
    if not (np.isfinite(x) and x > 0):
        return x
    power = 10.0 ** np.floor(np.log10(x))
    for step in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * power >= x * (1 - 1e-12):
            return float(step * power)
    return float(10.0 * power)  # pragma: no cover - the loop ends at 10


def _ends(norm: Normalize) -> tuple[float, float]:
    """A colour norm's ends (:func:`_color_values` always sets both)."""
    if norm.vmin is None or norm.vmax is None:
        raise ValueError("pair matrix: a colour scale without ends")
    return float(norm.vmin), float(norm.vmax)


def _scale_serves(kept: tuple[float, float], wanted: tuple[float, float]) -> bool:
    """Whether an update keeps the colour scale it has: it holds the new one
    (no cell goes past an end) and the new one spans at least half of it.

    A drag changes the largest count at every step; a new scale means
    redrawing the colour bar (most of an update's time) and every colour
    shifting at once. The bar always shows the scale the cells use.
    """
    (lo, hi), (new_lo, new_hi) = kept, wanted
    inside = lo <= new_lo and new_hi <= hi
    return inside and (new_hi - new_lo) >= 0.5 * (hi - lo)


def _log2_ticks(bar: Colorbar, limit: float) -> None:
    """Colour-bar ticks of a log2 scale, labelled by the value (1/4, 1, 4).

    Whole powers of two from a limit of 2 on; below, the two largest of the
    ratios 1.1, 1.25, 1.5 within the limit (and their inverses).
    """
    if limit >= 1.0:
        step = float(max(1, int(np.ceil(2 * limit / 8))))
        ticks = np.arange(-np.floor(limit / step) * step, limit + 1e-9, step)
        labels = [_ratio_text(2.0**t) for t in ticks]
    else:
        ratios = [r for r in (1.1, 1.25, 1.5) if np.log2(r) <= limit + 1e-9][-2:]
        ticks = np.array(
            [-np.log2(r) for r in ratios[::-1]] + [0.0] + [np.log2(r) for r in ratios]
        )
        labels = [f"1/{r:g}" for r in ratios[::-1]] + ["1"] + [f"{r:g}" for r in ratios]
    bar.set_ticks(list(ticks), labels=labels)


def _text_colour(rgba: Sequence[float]) -> str:
    """Dark or light text, whichever reads on a cell of colour ``rgba``."""
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "0.15"


@dataclass(frozen=True)
class _Labels:
    """The matrix' labels as drawn (shortened) and their sizes, in points."""

    names: dict[str, str]
    options: dict[str, list[str]]
    option_font: float
    name_font: float
    option_w: float  # widest option label (row labels; rotated column labels)
    row_name_w: float  # widest row parameter name
    col_names: dict[str, str]  # column names as drawn (maybe wrapped)
    col_name_h: float  # room under the column option labels for their names
    col_rotated: bool
    col_name_font: float


def _wrap_once(name: str, room: float, size: float) -> str:
    """``name``, or split in two lines at the "_" that best balances them when
    it is wider than ``room`` points."""
    if text_width(name, size, True) <= room or "_" not in name.strip("_"):
        return name
    cuts = [i + 1 for i, c in enumerate(name[:-1]) if c == "_" and i > 0]
    best = min(
        cuts,
        key=lambda i: max(
            text_width(name[:i], size, True), text_width(name[i:], size, True)
        ),
    )
    return f"{name[:best]}\n{name[best:]}"


def _labels(
    lay: PairLayout, names: dict[str, str], options: dict[str, list[str]], font: float
) -> tuple[float, _Labels]:
    """The cell side and the labels' sizes at base font ``font``."""
    opt_font = 0.88 * font
    name_font = font
    nx, ny = lay.width, lay.height
    cell = float(np.clip(62.0 * font / max(nx, ny), 1.4 * opt_font, _MAX_CELL * font))
    cols, rows = lay.cols, lay.rows
    all_opts = [o for p in lay.params for o in options[p]]
    option_w = widest(all_opts, opt_font)
    row_name_w = widest([names[p] for p in rows], name_font, True)
    # Column names horizontal under their blocks when they all fit there
    # (wrapped once at "_", or up to 20 % smaller); else none: the names on
    # the diagonal label the columns too.
    rooms = {p: (len(options[p]) + 0.9 * _PAIR_GAP) * cell for p in cols}
    size = name_font
    col_names = {p: _wrap_once(names[p], rooms[p], size) for p in cols}
    scale = min(
        (rooms[p] / max(block_width(col_names[p], size, True), 1.0) for p in cols),
        default=1.0,
    )
    rotated = scale < 0.8
    if rotated:
        col_names = {}
        col_name_h = 0.0
    else:
        size *= min(scale, 1.0)
        col_name_h = max(
            (block_height(t, size) for t in col_names.values()), default=0.0
        )
    return cell, _Labels(
        names=names,
        options=options,
        option_font=opt_font,
        name_font=name_font,
        option_w=option_w,
        row_name_w=row_name_w,
        col_names=col_names,
        col_name_h=col_name_h,
        col_rotated=rotated,
        col_name_font=size,
    )


@dataclass(frozen=True)
class _Side:
    """The side block: colour bar, key of the marks, importance panel."""

    font: float
    bar_label: str
    key: str | None
    blank_key: str | None
    panel: ImportancePanel | None
    width: float
    bar_h: float
    key_h: float
    height: float


def _key_text(
    sheet: Sheet, x: float, y: float, text: str, font: float, gid: str
) -> float:
    """One entry's text of the matrix key, top at ``y``; the top of the next."""
    sheet.text(
        x, y, text, ha="left", va="top", fontsize=0.9 * font, linespacing=1.1, gid=gid
    )
    return y - block_height(text, 0.9 * font) - 0.6 * font


def _balanced(text: str, width: float, font: float) -> str:
    """``text`` wrapped into the fewest lines of at most ``width`` points, of
    about equal length (a line break in ``text`` starts a new paragraph)."""
    out = []
    space = text_width(" ", font)
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        sizes = [text_width(w, font) for w in words]
        total = sum(sizes) + space * (len(words) - 1)
        lines = max(1, int(np.ceil(total / max(width, 1.0))))
        target = max(total / lines, max(sizes))
        while True:
            wrapped: list[list[str]] = [[]]
            used = 0.0
            for word, size in zip(words, sizes, strict=True):
                if wrapped[-1] and used + space + size > min(target, width):
                    wrapped.append([])
                    used = 0.0
                used += size + (space if wrapped[-1] else 0.0)
                wrapped[-1].append(word)
            if len(wrapped) <= lines or target >= width:
                break
            target *= 1.05  # a little longer lines, as few of them
        out.append("\n".join(" ".join(line) for line in wrapped))
    return "\n".join(out)


def _side(
    font: float,
    colorbar_label: str,
    mark_label: str | None,
    importance: pd.DataFrame | None,
    alpha: float,
    group: str | None = None,
    blank_label: str | None = None,
) -> _Side:
    small = 0.9 * font
    panel = (
        ImportancePanel(importance, alpha, font, group=group)
        if importance is not None
        else None
    )
    entries = [t for t in (mark_label, blank_label) if t]
    key_w = max((block_width(t, small) + 2.2 * font for t in entries), default=0.0)
    width = max(_BAR_LENGTH * font, key_w, panel.width if panel else 0.0)
    label = _balanced(colorbar_label, width, font)
    bar_h = block_height(label, font) + 1.0 * font + small * LINE_HEIGHT + 0.4 * font
    key_h = sum(block_height(t, small) + 0.6 * font for t in entries)
    gap = _SIDE_GAP * font
    height = (
        bar_h + (gap + key_h if entries else 0) + (gap + panel.height if panel else 0)
    )
    return _Side(
        font, label, mark_label, blank_label, panel, width, bar_h, key_h, height
    )


@dataclass(frozen=True)
class _Plan:
    """Where everything goes, in points (y up from the bottom of the figure)."""

    font: float
    cell: float
    labels: _Labels
    side: _Side
    width: float
    height: float
    matrix_x: float  # left edge of the cells
    matrix_top: float  # top edge of the cells
    side_x: float
    side_top: float
    title_h: float
    note_h: float


def _plan(
    font: float,
    lay: PairLayout,
    names: dict[str, str],
    options: dict[str, list[str]],
    title: str | None,
    notes: Sequence[str],
    colorbar_label: str,
    mark_label: str | None,
    importance: pd.DataFrame | None,
    alpha: float,
    group: str | None = None,
    blank_label: str | None = None,
) -> _Plan:
    """The figure at base font ``font``: the matrix and the best place for the
    side block (least figure area)."""
    cell, lab = _labels(lay, names, options, font)
    side = _side(
        font, colorbar_label, mark_label, importance, alpha, group, blank_label
    )
    pad = 0.4 * font
    margin = 0.8 * font
    left = margin + lab.row_name_w + 2 * pad + lab.option_w + pad
    first = lay.params[0]
    first_w = text_width(names[first], lab.name_font, True)
    top_name_h = lab.name_font * LINE_HEIGHT + pad
    title_h = block_height(title, 1.15 * font) + pad if title else 0.0
    small = 0.85 * font
    note_h = len(notes) * small * LINE_HEIGHT + (pad if notes else 0.0)
    bottom = (
        pad + lab.option_w + 2 * pad + lab.col_name_h + margin + note_h
        if lay.cols
        else margin
    )
    cells_w, cells_h = lay.width * cell, lay.height * cell
    last = lay.params[-1]
    last_right = (
        left + cells_w + 0.3 * cell + text_width(names[last], lab.name_font, True)
    )
    base_w = max(last_right, left + cells_w) + margin
    top_gap = margin + title_h + top_name_h
    base_h = top_gap + cells_h + bottom
    matrix_top_from_top = top_gap  # distance of the cells' top from the figure top

    # Right ends (points from the figure's left) of the diagonal names.
    def name_right(i: int) -> float:
        p = lay.params[i]
        return (
            left + (lay.x0[p] + 0.1) * cell + text_width(names[p], lab.name_font, True)
        )

    gap = 1.2 * font
    candidates: list[tuple[float, float, float, float, float]] = []
    # (area, width, height, side_x, extra height on top)
    right_x = base_w - margin + gap
    w = right_x + side.width + margin
    h = max(base_h, top_gap + side.height + margin)
    candidates.append((w * h, w, h, right_x, 0.0))
    for k in range(1, len(lay.params) - 1):
        p = lay.params[k]
        xa = max(
            left + lay.x0[p] * cell,
            left + first_w + gap,
            *(name_right(j) + gap for j in range(1, k)),
        )
        room_h = lay.y0[p] * cell - 0.6 * cell  # from the cells' top down to row k
        extra = max(0.0, side.height - room_h)
        w = max(base_w, xa + side.width + margin)
        h = base_h + extra
        candidates.append((w * h * 0.999, w, h, xa, extra))  # ties: the triangle
    _, width, height, side_x, extra = min(candidates, key=lambda c: c[0])
    matrix_top = height - matrix_top_from_top - extra
    side_top = matrix_top + extra if side_x != right_x else matrix_top
    return _Plan(
        font=font,
        cell=cell,
        labels=lab,
        side=side,
        width=width,
        height=height,
        matrix_x=left,
        matrix_top=matrix_top,
        side_x=side_x,
        side_top=side_top,
        title_h=title_h,
        note_h=note_h,
    )


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
    blank_label: str | None = None,
    importance: pd.DataFrame | None = None,
    alpha: float = 0.05,
    group: str | None = None,
    empty: bool | None = None,
    annotate: bool | None = None,
    ranking: Sequence[str] | None = None,
    note: str | None = None,
) -> Figure:
    """Paper Fig. 3: the heat-map matrix of option pairs.

    The lower triangle of a parameter x parameter grid: the block in the row
    of parameter b and the column of parameter a (a before b) has one cell per
    option of b (sub-rows) and of a (sub-columns), coloured by its ``value``.
    Option labels run along the left and bottom edges, parameter names outside
    them and, bold, on the diagonal. A side block holds the colour bar, the
    key of the marks and the importance panel; it sits in the empty upper
    triangle when it fits there. The figure is sized to its content (cells
    sized to their labels), so its text stays readable on a page or a slide.

    By default (the paper's view) the value is the count of selected
    networks on a perceptually ordered sequential ColorBrewer map starting at
    0. Any other column can be shown, on a diverging map centred at 0
    (``scale="diverging"``, e.g. a difference of shares) or at 1 on a log2
    axis (``scale="log2"``, e.g. an enrichment ratio; a ratio of 0 is drawn at
    the lower end). Diverging limits are symmetric; values beyond ``limit``
    take the end colour (the colour bar shows an arrow).

    A matrix is bounded (:mod:`hpcore.views.limits`): parameters with more
    than ``MAX_OPTIONS`` options are left out, and so are the least important
    (``ranking``, default the importance frame's order) when the matrix has
    no room for all; a note under the figure says so.

    Parameters
    ----------
    pairs : pandas.DataFrame
        A frame with ``param_a, option_a, param_b, option_b`` and the
        ``value`` column (e.g. :func:`hpcore.pair_counts`,
        :func:`hpcore.analysis.stats.pair_statistics` or
        :func:`hpcore.analysis.stats.compare_selections`). Parameter and option
        order follow its rows. A missing option combination or a NaN value is
        left blank.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first, keeps its size; fonts follow
        it) instead of a new one sized for the table.
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
        ``q_value < 0.05``). The key explains them with ``mark_label``.
    mark_label : str, default="marked cell"
    blank_label : str, optional
        What a cell without a value means (e.g. "no network has both
        options"): such cells are filled light grey (:data:`BLANK_FILL`, as
        the browser view draws them) and the key explains them with this
        text. Default: they are left blank, without a key entry (an empty
        matrix leaves them blank anyway).
    importance : pandas.DataFrame, optional
        :func:`hpcore.analysis.stats.parameter_importance` frame, drawn as a
        panel of score bars (see :func:`draw_importance`).
    alpha : float, default=0.05
        Importance bars with ``q_value < alpha`` are dark.
    group : str, optional
        The parameter the metric is normalized within: its importance bar is
        grey and the panel says why (see :class:`ImportancePanel`).
    empty : bool, optional
        Show :data:`EMPTY_NOTE`. Default: when the frame has a ``count``
        column that sums to 0, or no finite value.
    annotate : bool, optional
        Write each value in its cell. Default: only when cells are large
        enough to hold the numbers.
    ranking : sequence of str, optional
        Parameters by importance, strongest first, for choosing what to draw
        when not all fit; default the rows of ``importance``.
    note : str, optional
        A line under the figure (e.g. what the caller left out).

    Returns
    -------
    matplotlib.figure.Figure
        Gids: see :mod:`hpcore.views`.

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
    labels = [
        title or "",
        colorbar_label or "",
        mark_label,
        blank_label or "",
        *labels_of(pairs, PAIR_KEYS),
        *labels_of(importance, ["parameter", "top_option"]),
    ]
    with figure_fonts(labels):
        return _draw(
            pairs,
            fig=fig,
            title=title,
            value=value,
            scale=scale,
            cmap=cmap,
            colorbar_label=colorbar_label,
            limit=limit,
            number_format=number_format,
            mark=mark,
            mark_label=mark_label,
            blank_label=blank_label,
            importance=importance,
            alpha=alpha,
            group=group,
            empty=empty,
            annotate=annotate,
            ranking=ranking,
            note=note,
        )


@dataclass(eq=False)
class _Cells:
    """What new counts change on a drawn matrix: the cells' colours, the marks,
    the colour scale and the title; enough to colour them again."""

    sheet: Sheet
    transform: Transform
    value: str
    scale: str
    limit: float | None
    norm: Normalize
    layout: PairLayout
    index: dict[str, dict[str, int]]
    meshes: dict[tuple[str, str], QuadMesh]
    dots: dict[tuple[str, str], PathCollection]
    dot: Path
    mark_size: float
    offset: tuple[float, float]
    bar: Colorbar
    title: Text | None
    #: The font size the matrix was drawn with (points).
    font: float
    merged: QuadMesh | None = None
    marks: PathCollection | None = None
    columns: dict[str, list[int]] | None = None
    rows: dict[str, list[int]] | None = None
    centres: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
    inside: np.ndarray | None = None

    def merge(self) -> None:
        """Replace the per-block meshes and marks by one mesh over the whole
        matrix (gaps and the upper triangle masked) and one set of marks."""
        lay = self.layout
        xs = sorted(
            {lay.x0[a] + i for a in lay.cols for i in range(len(lay.options[a]) + 1)}
        )
        ys = sorted(
            {lay.y0[b] + j for b in lay.rows for j in range(len(lay.options[b]) + 1)}
        )
        x_at = {x: k for k, x in enumerate(xs)}
        y_at = {y: k for k, y in enumerate(ys)}
        self.columns = {
            a: [x_at[lay.x0[a] + i] for i in range(len(lay.options[a]))]
            for a in lay.cols
        }
        self.rows = {
            b: [y_at[lay.y0[b] + j] for j in range(len(lay.options[b]))]
            for b in lay.rows
        }
        self.centres = (np.asarray(xs[:-1]) + 0.5, np.asarray(ys[:-1]) + 0.5)
        first = next(iter(self.meshes.values()))
        # cells of the matrix get white edges; gaps and the upper triangle
        # (labels and the side block live there) nothing at all
        inside = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
        for a, b in self.meshes:
            inside[np.ix_(self.rows[b], self.columns[a])] = True
        edges = np.zeros((*inside.shape, 4))
        edges[inside] = (1.0, 1.0, 1.0, 1.0)
        mesh = QuadMesh(
            np.stack(np.meshgrid(np.asarray(xs), np.asarray(ys)), axis=-1),
            cmap=first.get_cmap().with_extremes(bad=(0.0, 0.0, 0.0, 0.0)),
            norm=self.norm,
            edgecolors=edges.reshape(-1, 4),
            linewidth=float(np.atleast_1d(first.get_linewidth())[0]),
            transform=self.transform,
            gid="pairs:*",
        )
        self.inside = inside
        for block in self.meshes.values():
            block.set_visible(False)
        for dots in self.dots.values():
            dots.remove()
        self.dots = {}
        self.merged = self.sheet.add(mesh)


def update_pair_matrix(
    fig: Figure,
    pairs: pd.DataFrame,
    *,
    marks: Sequence[bool] | np.ndarray | pd.Series | None = None,
    title: str | None = None,
    empty: bool | None = None,
) -> list[Artist]:
    """Colour a matrix :func:`draw_pair_matrix` drew with new values.

    ``pairs`` has the drawn option pairs (others are ignored) and the drawn
    value column; ``marks`` and ``empty`` as in :func:`draw_pair_matrix`.
    Cells, marks, the colour bar (when the scale's ends move), the title and
    :data:`EMPTY_NOTE` change; labels and layout stay. The colour scale is
    kept while it holds the new values and they span at least half of it
    (so a drag does not redraw the colour bar at every step); otherwise it
    takes the new values' ends, rounded up with a quarter of room (a fixed
    ``limit`` stays as it is). Cell numbers are not redrawn: draw the matrix
    with ``annotate=False`` for a live view.

    Returns the artists that changed (the ones a live view redraws).
    """
    cells: _Cells | None = getattr(fig, "_hpx_pairs", None)
    if cells is None:
        raise ColumnError(
            "update_pair_matrix: the figure was not drawn by draw_pair_matrix"
        )
    _check_frame(pairs, (*PAIR_KEYS, cells.value), "pair matrix")
    raw = pairs[cells.value].to_numpy(dtype=np.float64)
    shown, norm = _color_values(raw, cells.scale, cells.limit)
    changed: list[Artist] = []
    kept, wanted = _ends(cells.norm), _ends(norm)
    if _scale_serves(kept, wanted):
        if cells.scale != "sequential":  # ends (a ratio of 0) at the kept ends
            shown, _ = _color_values(raw, cells.scale, kept[1])
    else:
        if cells.limit is None:  # ends that follow the values get room to grow
            roomy = _nice_ceil(1.25 * max(abs(wanted[0]), abs(wanted[1])))
            if cells.scale == "sequential":
                norm = Normalize(vmin=wanted[0], vmax=roomy)
            else:
                shown, norm = _color_values(raw, cells.scale, roomy)
        cells.norm.vmin, cells.norm.vmax = norm.vmin, norm.vmax
        cells.bar.update_normal(cells.bar.mappable)
        changed.append(cells.bar.ax)
    index = cells.index
    mark = None if marks is None else np.asarray(marks, dtype=bool).reshape(-1)
    if cells.merged is None:  # one mesh and one set of marks for the whole matrix
        cells.merge()
    merged = cells.merged
    assert merged is not None and cells.columns is not None and cells.rows is not None
    xs, ys = cells.centres
    grid = np.full((len(ys), len(xs)), np.nan)
    a_col, b_col = strings(pairs["param_a"]), strings(pairs["param_b"])
    oa_col, ob_col = strings(pairs["option_a"]), strings(pairs["option_b"])
    known = np.array(
        [
            a in index and b in index and o in index[a] and q in index[b]
            for a, b, o, q in zip(a_col, b_col, oa_col, ob_col, strict=True)
        ],
        dtype=bool,
    )
    known &= np.array(
        [(a, b) in cells.meshes for a, b in zip(a_col, b_col, strict=True)]
    )
    rows = np.flatnonzero(known)
    cols = np.array(
        [
            cells.columns[a][index[a][o]]
            for a, o in zip(a_col[rows], oa_col[rows], strict=True)
        ],
        dtype=np.intp,
    )
    lines = np.array(
        [
            cells.rows[b][index[b][o]]
            for b, o in zip(b_col[rows], ob_col[rows], strict=True)
        ],
        dtype=np.intp,
    )
    grid[lines, cols] = shown[rows]
    merged.set_array(np.ma.masked_invalid(grid))
    if cells.inside is not None:  # blank cells of the matrix stay white
        colours = merged.to_rgba(np.ma.masked_invalid(grid))
        colours[cells.inside & ~np.isfinite(grid)] = (1.0, 1.0, 1.0, 1.0)
        merged.set_array(None)
        merged.set_facecolor(colours.reshape(-1, 4))  # type: ignore[arg-type]
    changed.append(merged)
    if cells.marks is not None:
        cells.marks.remove()
        cells.marks = None
    if mark is not None and mark[rows].any():
        flagged = mark[rows]
        ddx, ddy = cells.offset
        dots = PathCollection(
            [cells.dot],
            sizes=[cells.mark_size**2],
            offsets=np.column_stack(
                [xs[cols[flagged]] - 0.5 + ddx, ys[lines[flagged]] - 0.5 + ddy]
            ),
            offset_transform=cells.transform,
            facecolors=MARK_COLOUR,
            edgecolors="white",
            linewidths=0.5,
            zorder=4,
            gid="pair-marks:*",
        )
        dots.set_transform(Affine2D())
        cells.marks = cells.sheet.add(dots)
        changed.append(dots)
    if title is not None and cells.title is not None:
        cells.title.set_text(title)
        changed.append(cells.title)
    if empty is None:
        empty = _nothing_selected(pairs, raw)
    changed += _update_empty_note(fig, empty, cells.font)
    return changed


def _nothing_selected(pairs: pd.DataFrame, values: np.ndarray) -> bool:
    """Whether a matrix shows no selected network: no counts, or (without a
    ``count`` column) no finite value."""
    if "count" in pairs.columns:
        return float(np.nansum(pairs["count"].to_numpy(dtype=np.float64))) == 0
    return not np.isfinite(values).any()


def _draw(
    pairs: pd.DataFrame,
    *,
    fig: Figure | None,
    title: str | None,
    value: str,
    scale: str,
    cmap: str | Colormap | None,
    colorbar_label: str | None,
    limit: float | None,
    number_format: str | None,
    mark: np.ndarray | None,
    mark_label: str,
    blank_label: str | None,
    importance: pd.DataFrame | None,
    alpha: float,
    group: str | None,
    empty: bool | None,
    annotate: bool | None,
    ranking: Sequence[str] | None,
    note: str | None,
) -> Figure:
    params, options = _pair_grid(pairs)
    notes = [note] if note else []
    if ranking is None and importance is not None:
        ranking = [str(p) for p in importance["parameter"]]
    drawn = choose_parameters(params, {p: len(options[p]) for p in params}, ranking)
    if not drawn.complete:
        if not note:
            notes.append(drawn.note("matrix", "the pair table"))
        keep = set(drawn.parameters)
        inside = np.isin(strings(pairs["param_a"]), list(keep)) & np.isin(
            strings(pairs["param_b"]), list(keep)
        )
        pairs = pairs[inside]
        mark = mark[inside] if mark is not None else None
    raw = pairs[value].to_numpy(dtype=np.float64)
    if number_format is None:
        number_format = "{:.0f}" if scale == "sequential" else "{:.2g}"
    if colorbar_label is None:
        colorbar_label = COUNT_LABEL if value == "count" else value
    if empty is None:
        empty = _nothing_selected(pairs, raw)

    # cells without a value (NaN, or an option pair the frame lacks) are
    # filled and explained where the caller says what they mean
    blank = bool(blank_label) and not empty and len(drawn.parameters) >= 2
    if blank:
        shown_params = [p for p in params if p in set(drawn.parameters)]
        cells = sum(
            len(options[a]) * len(options[b])
            for a, b in itertools.combinations(shown_params, 2)
        )
        blank = bool(np.isnan(raw).any()) or len(pairs) < cells

    if len(drawn.parameters) < 2:
        fig, font, _ = fit_font(fig, lambda f: (30 * f, 20 * f))
        sheet = Sheet(fig)
        sheet.text(
            sheet.width / 2,
            sheet.height / 2,
            "the pair matrix needs two parameters",
            ha="center",
            fontsize=font,
        )
        if title:
            fig.suptitle(title, fontsize=font * 1.15)
        return fig

    lay = pair_layout(pairs, (params, options) if drawn.complete else None)
    short = dict(zip(lay.params, shorten(list(lay.params)), strict=True))
    short_opts = {p: shorten(lay.options[p]) for p in lay.params}
    title_text = title or None

    def plan(font: float) -> _Plan:
        return _plan(
            font,
            lay,
            short,
            short_opts,
            title_text,
            notes,
            colorbar_label,
            mark_label if mark is not None else None,
            importance,
            alpha,
            group,
            blank_label if blank else None,
        )

    fig, font, _ = fit_font(fig, lambda f: (plan(f).width, plan(f).height))
    p = plan(font)
    sheet = Sheet(fig)
    # Stretch onto a larger canvas: same layout, centred.
    dx = max((sheet.width - p.width) / 2, 0.0)
    dy = max((sheet.height - p.height) / 2, 0.0)
    cell, lab = p.cell, p.labels
    nx, ny = lay.width, lay.height
    x_cells = p.matrix_x + dx
    top_cells = p.matrix_top + dy
    # Cell units (x right, y down from the matrix' top-left corner) to the figure.
    cells_t: Transform = (
        Affine2D().scale(cell, -cell).translate(x_cells, top_cells) + sheet.transform
    )

    shown, norm = _color_values(raw, scale, limit)
    if cmap is None:
        cmap = PAIR_CMAP if scale == "sequential" else DIVERGING_CMAP
    colormap = colormaps[cmap] if isinstance(cmap, str) else cmap
    colormap = colormap.with_extremes(bad=BLANK_FILL if blank else "white")
    finite_raw = raw[np.isfinite(raw)]
    cell_font = 0.72 * font
    if annotate is None:
        chars = max((len(number_format.format(v)) for v in finite_raw), default=1)
        annotate = (
            cell >= max(2.0 * font, chars * cell_font * 0.62 + 4) and nx * ny < 900
        )

    options = lay.options
    index = {q: {o: i for i, o in enumerate(options[q])} for q in lay.params}
    a_col, b_col = strings(pairs["param_a"]), strings(pairs["param_b"])
    oa_col, ob_col = strings(pairs["option_a"]), strings(pairs["option_b"])
    blocks: dict[tuple[str, str], list[int]] = {}
    for r, key in enumerate(zip(a_col, b_col, strict=True)):
        blocks.setdefault(key, []).append(r)
    mark_size = float(np.clip(cell * 0.32, 2.5, 6.0))
    dot = _marker_path("o")
    edge = 0.4 if cell > 8 else 0.15
    order = {q: i for i, q in enumerate(lay.params)}
    meshes: dict[tuple[str, str], QuadMesh] = {}
    dots_of: dict[tuple[str, str], PathCollection] = {}
    for (a, b), at in blocks.items():
        if order[a] > order[b]:
            raise ColumnError(
                f"pair matrix: pair ({a!r}, {b!r}) is out of parameter order"
            )
        rows = np.asarray(at)
        grid_shown = np.full((len(options[b]), len(options[a])), np.nan)
        grid_raw = np.full_like(grid_shown, np.nan)
        ia = [index[a][o] for o in oa_col[rows]]
        ib = [index[b][o] for o in ob_col[rows]]
        grid_shown[ib, ia] = shown[rows]
        grid_raw[ib, ia] = raw[rows]
        xs = lay.x0[a] + np.arange(len(options[a]) + 1)
        ys = lay.y0[b] + np.arange(len(options[b]) + 1)
        mesh = QuadMesh(
            np.stack(np.meshgrid(xs, ys), axis=-1),
            cmap=colormap,
            norm=norm,
            edgecolors="white",
            linewidth=edge,
            transform=cells_t,
            gid=f"pairs:{a}|{b}",
        )
        mesh.set_array(np.ma.masked_invalid(grid_shown))
        sheet.add(mesh)
        meshes[(a, b)] = mesh
        if annotate:
            for (r, c), v in np.ndenumerate(grid_raw):
                if np.isnan(v):
                    continue
                sheet.text(
                    float(xs[c]) + 0.5,
                    float(ys[r]) + 0.5,
                    number_format.format(v),
                    ha="center",
                    va="center",
                    fontsize=cell_font,
                    color=_text_colour(colormap(norm(grid_shown[r, c]))),
                    gid=f"pair-count:{a}|{b}",
                    transform=cells_t,
                )
        if mark is not None:
            grid_mark = np.zeros(grid_shown.shape, dtype=bool)
            grid_mark[ib, ia] = mark[rows]
            mr, mc = np.nonzero(grid_mark)
            if not len(mr):
                continue
            # with numbers in the cells the dot moves to the top-right corner
            ddx, ddy = (0.8, 0.2) if annotate else (0.5, 0.5)
            dots = PathCollection(
                [dot],
                sizes=[mark_size**2],
                offsets=np.column_stack([xs[mc] + ddx, ys[mr] + ddy]),
                offset_transform=cells_t,
                facecolors=MARK_COLOUR,
                edgecolors="white",
                linewidths=0.5,
                zorder=4,
                gid=f"pair-marks:{a}|{b}",
            )
            dots.set_transform(Affine2D())
            sheet.add(dots)
            dots_of[(a, b)] = dots

    _labels_draw(sheet, cells_t, lay, lab, cell, short_opts)

    # Side block: colour bar, key, importance panel.
    side = p.side
    sx = p.side_x + dx
    stop = p.side_top + dy
    mappable = ScalarMappable(norm=norm, cmap=colormap)
    bar_len = min(side.width, _BAR_LENGTH * font)
    label_h = block_height(side.bar_label, font)
    cax = fig.add_axes(
        sheet.rect(sx, stop - label_h - 0.3 * font - 0.9 * font, bar_len, 0.9 * font)
    )
    finite_shown = shown[np.isfinite(shown)]
    extend = "neither"
    if scale != "sequential" and len(finite_shown):
        low_out = bool((finite_shown <= norm.vmin).any()) and limit is not None
        high_out = bool((finite_shown >= norm.vmax).any()) and limit is not None
        extend = {
            (True, True): "both",
            (True, False): "min",
            (False, True): "max",
        }.get((low_out, high_out), "neither")
    bar = fig.colorbar(mappable, cax=cax, orientation="horizontal", extend=extend)
    cax.set_gid("pairs-colorbar")
    cax.xaxis.set_label_position("top")
    bar.set_label(side.bar_label, fontsize=font, labelpad=0.3 * font)
    literal([cax.xaxis.label])
    cax.tick_params(labelsize=0.9 * font, length=2, pad=1.5)
    if scale == "log2":
        _log2_ticks(bar, float(norm.vmax or 1.0))
    elif scale == "diverging":
        fmt = number_format
        bar.formatter = FuncFormatter(
            lambda t, _: fmt.format(t) if t != 0 else fmt.format(0.0).lstrip("+")
        )
    else:
        bar.locator = MaxNLocator(nbins=5, integer=True)
    y = stop - side.bar_h - _SIDE_GAP * font
    if mark is not None and side.key is not None:
        key_dot = PathCollection(
            [dot],
            sizes=[max(mark_size, 5.0) ** 2],
            offsets=[(sx + 0.6 * font, y - 0.55 * font)],
            offset_transform=sheet.transform,
            facecolors=MARK_COLOUR,
            edgecolors="white",
            linewidths=0.6,
            gid="pair-mark-key",
        )
        key_dot.set_transform(Affine2D())
        sheet.add(key_dot)
        y = _key_text(sheet, sx + 1.6 * font, y, side.key, font, "pair-mark-label")
    if side.blank_key is not None:
        sheet.add(
            Rectangle(
                (sx + 0.6 * font - 0.45 * font, y - 0.55 * font - 0.45 * font),
                0.9 * font,
                0.9 * font,
                facecolor=BLANK_FILL,
                edgecolor="none",
                transform=sheet.transform,
                gid="pair-blank-key",
            )
        )
        y = _key_text(
            sheet, sx + 1.6 * font, y, side.blank_key, font, "pair-blank-label"
        )
    if side.key is not None or side.blank_key is not None:
        y -= _SIDE_GAP * font
    if side.panel is not None:
        side.panel.draw(sheet, sx, y)

    title_artist = None
    if title:
        title_artist = sheet.text(
            sheet.width / 2,
            sheet.height - 0.6 * font,
            title,
            ha="center",
            va="top",
            fontsize=1.15 * font,
            gid="pairs-title",
        )
    fig._hpx_pairs = _Cells(  # type: ignore[attr-defined]
        sheet=sheet,
        transform=cells_t,
        value=value,
        scale=scale,
        limit=limit,
        norm=norm,
        layout=lay,
        index=index,
        meshes=meshes,
        dots=dots_of,
        dot=dot,
        mark_size=mark_size,
        offset=(0.8, 0.2) if annotate else (0.5, 0.5),
        bar=bar,
        title=title_artist,
        font=font,
    )
    small = 0.85 * font
    for k, line in enumerate(notes):
        sheet.text(
            0.8 * font,
            0.6 * font + (len(notes) - 1 - k) * small * LINE_HEIGHT,
            line,
            ha="left",
            va="bottom",
            fontsize=small,
            color="0.3",
            gid="figure-note",
        )
    if empty:
        _empty_note(fig, font)
    return fig


def _labels_draw(
    sheet: Sheet,
    cells_t: Transform,
    lay: PairLayout,
    lab: _Labels,
    cell: float,
    short_opts: dict[str, list[str]],
) -> None:
    """Option labels along the left and bottom edges, parameter names outside
    them and on the diagonal (in the matrix axes' cell units)."""
    pad = 0.4 * lab.name_font / cell  # in cells
    ny = lay.height
    opt_font, name_font = lab.option_font, lab.name_font
    for p in lay.cols:
        for i, label in enumerate(short_opts[p]):
            sheet.text(
                lay.x0[p] + i + 0.5,
                ny + pad,
                label,
                rotation=90,
                ha="center",
                va="top",
                fontsize=opt_font,
                gid=f"pair-option-x:{p}",
                transform=cells_t,
            )
    for p in lay.rows:
        for i, label in enumerate(short_opts[p]):
            sheet.text(
                -pad,
                lay.y0[p] + i + 0.5,
                label,
                ha="right",
                va="center",
                fontsize=opt_font,
                gid=f"pair-option-y:{p}",
                transform=cells_t,
            )
        sheet.text(
            -(3 * pad + lab.option_w / cell),
            lay.y0[p] + len(lay.options[p]) / 2,
            lab.names[p],
            ha="right",
            va="center",
            fontsize=name_font,
            fontweight="bold",
            gid=f"pair-param-y:{p}",
            transform=cells_t,
        )
    below = ny + 3 * pad + lab.option_w / cell
    for p in lay.cols:
        if p not in lab.col_names:
            continue
        sheet.text(
            lay.x0[p] + len(lay.options[p]) / 2,
            below,
            lab.col_names[p],
            ha="center",
            va="top",
            fontsize=lab.col_name_font,
            fontweight="bold",
            linespacing=1.0,
            gid=f"pair-param-x:{p}",
            transform=cells_t,
        )
    # Parameter names on the diagonal: a staircase in the empty upper triangle.
    params = lay.params
    for i, p in enumerate(params):
        if i == 0:
            x, y, ha, va = lay.x0[p], -pad, "left", "bottom"
        elif i == len(params) - 1:
            last = lay.cols[-1]
            x, y = (
                lay.x0[last] + len(lay.options[last]) + 0.3,
                lay.y0[p] + len(lay.options[p]) / 2,
            )
            ha, va = "left", "center"
        else:
            x, y = lay.x0[p] + 0.1, lay.y0[p] + len(lay.options[p]) / 2
            ha, va = "left", "center"
        sheet.text(
            x,
            y,
            lab.names[p],
            ha=ha,
            va=va,
            fontsize=name_font,
            fontweight="bold",
            color="0.25",
            gid=f"pair-name:{p}",
            transform=cells_t,
        )
