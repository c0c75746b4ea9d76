"""Paper Fig. 3: the heat-map matrix of option pairs, or of a difference.

The block positions come from :mod:`hpcore.views.layout`; this module colours
the cells, writes numbers and marks, and labels the blocks.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..data.errors import ColumnError
from ..data.validation import check_one_of

if TYPE_CHECKING:
    from matplotlib.axes._secondary_axes import SecondaryAxis

from .importance import (
    _draw_importance,
    _importance_widths,
    _ratio_text,
    _side_height,
    _side_width,
)
from .layout import (
    _pair_extent,
    _pair_grid,
    figure_size_for,
    pair_layout,
)
from .style import (
    _BASE_FONT,
    _IMPORTANCE_ROW,
    _PAIR_COLORBAR,
    _PAIR_GAP,
    COUNT_LABEL,
    DIVERGING_CMAP,
    IMPORTANCE_COLUMNS,
    MARK_COLOUR,
    PAIR_CMAP,
    PAIR_KEYS,
    PAIR_SCALES,
    PairScale,
    _check_frame,
    _empty_note,
    _font_size,
    _prepare,
    _text_extent_pt,
)


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


def _text_colour(rgba: Sequence[float]) -> str:
    """Dark or light text, whichever reads on a cell of colour ``rgba``."""
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "0.15"


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
        :func:`hpcore.analysis.stats.pair_statistics` or
        :func:`hpcore.analysis.stats.compare_selections`). Parameter and option order
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
        :func:`hpcore.analysis.stats.parameter_importance` frame, drawn as a panel of
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

    lay = pair_layout(pairs)
    cols, rows = list(lay.cols), list(lay.rows)
    x0, y0, nx, ny = lay.x0, lay.y0, lay.width, lay.height

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
