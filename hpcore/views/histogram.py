"""Paper Fig. 2: the metric stacked by group, raw and normalized, with the range."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from ..data.better import LOWER_NOTE, normalized_name
from ..data.errors import ColumnError
from .style import (
    HISTOGRAM_COLUMNS,
    Sheet,
    _check_frame,
    _empty_note,
    _ordered,
    _update_empty_note,
    figure_fonts,
    fit_font,
    group_colours,
    labels_of,
    literal,
    strings,
)
from .text import LINE_HEIGHT, block_height, shorten, text_width, widest

#: Opacity of the bars outside the selected range.
FADED = 0.4


def _draw_stacked(
    ax: Axes,
    table: pd.DataFrame,
    panel: str,
    colors: dict[str, str],
    selected_range: tuple[float, float] | None,
) -> None:
    """Stacked bars of a histogram frame; bars outside ``selected_range`` faded."""
    groups = _ordered(table["group"])
    labels = strings(table["group"])
    bottom: np.ndarray | None = None
    for group in groups:
        rows = table[labels == group]
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
        # Rectangles added directly (ax.bar updates the data limits per bar);
        # the limits are set below, the container keeps ax.containers usable.
        patches = []
        for i in range(len(count)):
            patch = Rectangle(
                (left[i], bottom[i]),
                right[i] - left[i],
                count[i],
                facecolor=colors[group],
                edgecolor="white",
                linewidth=0.3,
                gid=f"bar:{panel}:{group}:{i}",
            )
            if selected_range is not None and (
                right[i] <= selected_range[0] or left[i] >= selected_range[1]
            ):
                patch.set_alpha(FADED)
            ax.add_artist(patch)
            patches.append(patch)
        ax.add_container(BarContainer(patches, label=group))
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
    colors: Mapping[str, str] | None = None,
    lower_is_better: bool = False,
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
    colors : mapping of str to str, optional
        Colour of each group; default :func:`group_colours` of the frames'
        groups (stable: by name, not by row order).
    lower_is_better : bool, default=False
        The metric's lower values are better, so the normalized one has each
        group's lowest at 1 (:func:`hpcore.normalize`); the labels say so.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes, gids ``"histogram-raw"`` and ``"histogram-normalized"``.
    """
    _check_frame(raw, HISTOGRAM_COLUMNS, "raw histogram")
    _check_frame(normalized, HISTOGRAM_COLUMNS, "normalized histogram")
    labels = [metric, group or "", title or "", *labels_of(raw, ["group"])]
    with figure_fonts(labels):
        return _draw_histogram(
            raw,
            normalized,
            selected_range=selected_range,
            metric=metric,
            fig=fig,
            group=group,
            normalization=normalization,
            selected_count=selected_count,
            title=title,
            colors=colors,
            lower_is_better=lower_is_better,
        )


def _draw_histogram(
    raw: pd.DataFrame,
    normalized: pd.DataFrame,
    *,
    selected_range: tuple[float, float] | None,
    metric: str,
    fig: Figure | None,
    group: str | None,
    normalization: str | None,
    selected_count: int | None,
    title: str | None,
    colors: Mapping[str, str] | None,
    lower_is_better: bool,
) -> Figure:
    groups = list(
        dict.fromkeys([*_ordered(raw["group"]), *_ordered(normalized["group"])])
    )
    stable = group_colours(groups)
    colours = {g: (colors or {}).get(g, stable[g]) for g in groups}
    by = f" by {shorten([group])[0]}" if group else ""
    per = f" per {shorten([group])[0]}" if group else ""
    method = {"minmax": "min-max", None: ""}.get(normalization, normalization or "")
    metric_label = shorten([metric])[0]
    raw_title = f"(a) {metric_label}, stacked{by}"
    scale = [method] if method else []
    if lower_is_better:
        scale.append(LOWER_NOTE)
    norm_head = f"(b) {metric_label} normalized{per}" + (
        f" ({', '.join(scale)})" if scale else ""
    )
    norm_title = _normalized_title(norm_head, selected_range, selected_count)
    # Legend: top of the stack first; groups without any bar are left out.
    totals = raw.groupby(strings(raw["group"]), sort=False)["count"].sum()
    shown = [g for g in groups if float(totals.get(g, 0)) > 0][::-1]
    legend = bool(shown) and (len(groups) > 1 or bool(group))
    names = dict(zip(groups, shorten(groups), strict=True))
    top_count = max(_stack_top(raw), _stack_top(normalized), 1.0)

    def layout(font: float) -> tuple[float, float, float, float, float, float]:
        small = 0.9 * font
        tick_w = text_width(f"{top_count:,.0f}".replace(",", ""), small)
        left = 0.6 * font + font * LINE_HEIGHT + 0.5 * font + tick_w + 0.5 * font
        title_h = max(
            block_height(raw_title, 1.1 * font), block_height(norm_title, 1.1 * font)
        )
        top = 0.6 * font + (
            block_height(title, 1.15 * font) + 0.5 * font if title else 0
        )
        top += title_h + 0.5 * font
        bottom = (
            0.5 * font
            + small * LINE_HEIGHT
            + 0.4 * font
            + font * LINE_HEIGHT
            + 0.6 * font
        )
        legend_w = (
            max(
                widest([names[g] for g in shown], font) + 5.0 * font,
                text_width(names_title, font) + font,
            )
            if legend
            else 0.6 * font
        )
        panel_w, panel_h = 36.0 * font, 22.0 * font
        width = 2 * (left + panel_w) + 1.5 * font + legend_w
        height = top + panel_h + bottom
        return (width, height, left, top, bottom, legend_w)

    names_title = shorten([group])[0] if group else ""
    fig, font, _ = fit_font(fig, lambda f: (layout(f)[0], layout(f)[1]))
    _, _, left, top, bottom, legend_w = layout(font)
    sheet = Sheet(fig)
    panel_w = (sheet.width - 2 * left - 1.5 * font - legend_w) / 2
    panel_h = sheet.height - top - bottom
    ax_raw = fig.add_axes(
        sheet.rect(left, bottom, max(panel_w, 1.0), max(panel_h, 1.0))
    )
    ax_norm = fig.add_axes(
        sheet.rect(
            2 * left + panel_w + 1.5 * font,
            bottom,
            max(panel_w, 1.0),
            max(panel_h, 1.0),
        )
    )
    ax_raw.set_gid("histogram-raw")
    ax_norm.set_gid("histogram-normalized")

    _draw_stacked(ax_raw, raw, "raw", colours, None)
    ax_raw.set_title(raw_title, fontsize=font * 1.1, loc="left", parse_math=False)
    ax_raw.set_xlabel(metric_label, fontsize=font, parse_math=False)
    ax_raw.set_ylabel("networks", fontsize=font)

    _draw_stacked(ax_norm, normalized, "normalized", colours, selected_range)
    shading: _Shading | None = None
    if selected_range is not None:
        lo, hi = selected_range
        span = ax_norm.axvspan(
            lo, hi, facecolor="#BBBBBB", alpha=0.45, zorder=0, gid="selected-range"
        )
        edges = [
            ax_norm.axvline(
                x,
                color="0.2",
                linestyle="--",
                linewidth=1.0,
                zorder=3,
                gid="selected-range-edge",
            )
            for x in (lo, hi)
        ]
        shading = fig._hpx_histogram = _Shading(  # type: ignore[attr-defined]
            ax_norm, norm_head, span, edges, _bars(ax_norm, "normalized"), font
        )
    norm_text = ax_norm.set_title(
        norm_title, fontsize=font * 1.1, loc="left", parse_math=False
    )
    if shading is not None:
        shading.title = norm_text
    ax_norm.set_xlabel(
        normalized_name(metric_label, lower_is_better), fontsize=font, parse_math=False
    )
    ax_norm.set_ylabel("networks", fontsize=font)
    for ax in (ax_raw, ax_norm):
        ax.tick_params(labelsize=font * 0.9)
        ax.spines[["top", "right"]].set_visible(False)
    if legend:
        handles: dict[str, Any] = {str(c.get_label()): c for c in ax_raw.containers}
        lg = fig.legend(
            [handles[g] for g in shown],
            [names[g] for g in shown],
            title=names_title or None,
            loc="upper left",
            bbox_to_anchor=(
                (sheet.width - legend_w + 0.8 * font) / sheet.width,
                1.0 - top / sheet.height + 0.02,
            ),
            fontsize=font,
            title_fontsize=font,
            frameon=False,
            borderaxespad=0.0,
        )
        literal([*lg.get_texts(), lg.get_title()])
    if title:
        sheet.text(
            sheet.width / 2,
            sheet.height - 0.6 * font,
            title,
            ha="center",
            va="top",
            fontsize=font * 1.15,
            gid="histogram-title",
        )
    if selected_count == 0 or float(raw["count"].sum()) == 0:
        _empty_note(fig, font, ax_norm)
    return fig


def _normalized_title(
    head: str, selected_range: tuple[float, float] | None, count: int | None
) -> str:
    """The normalized panel's title: its head, then the range and its size."""
    if selected_range is None:
        return head
    lo, hi = selected_range
    text = f"{head}\nselected range [{lo:.2f}, {hi:.2f}]"
    return text + (f": {count:,} networks" if count is not None else "")


def _bars(ax: Axes, panel: str) -> list[tuple[Rectangle, float, float]]:
    """The bars of a panel with their bin edges."""
    return [
        (patch, float(patch.get_x()), float(patch.get_x() + patch.get_width()))
        for container in ax.containers
        for patch in container
        if isinstance(patch, Rectangle)
        and str(patch.get_gid() or "").startswith(f"bar:{panel}:")
    ]


@dataclass(eq=False)
class _Shading:
    """What a new range changes on the normalized panel."""

    ax: Axes
    head: str
    span: Any
    edges: list[Any]
    bars: list[tuple[Rectangle, float, float]]
    #: The font size the histogram was drawn with (points).
    font: float
    title: Text | None = None
    #: After the first update: the bars as one collection (the patches hidden)
    merged: PolyCollection | None = None

    def merge(self) -> PolyCollection:
        """The bars as one collection drawn in one call (a live view redraws
        every bar per brush; a hundred patches cost ~10x one collection)."""
        if self.merged is None:
            patches = [patch for patch, _, _ in self.bars]
            corners = [
                patch.get_patch_transform().transform([(0, 0), (1, 0), (1, 1), (0, 1)])
                for patch in patches
            ]
            merged = PolyCollection(
                corners,
                facecolors=[p.get_facecolor() for p in patches],
                edgecolors=[p.get_edgecolor() for p in patches],
                linewidths=[p.get_linewidth() for p in patches],
                zorder=patches[0].get_zorder(),
                gid="bar:normalized:*",
            )
            self.ax.add_collection(merged, autolim=False)
            for patch in patches:
                patch.set_visible(False)
            self.merged = merged
        return self.merged


def update_histogram(
    fig: Figure, selected_range: tuple[float, float], selected_count: int | None
) -> list[Artist]:
    """Shade another range on a histogram :func:`draw_histogram` drew with a
    range: the shading, its edges, the faded bars and the panel's title change.
    The bars keep their alpha; from the first update on they are drawn as one
    collection (gid ``"bar:normalized:*"``, the patches hidden) for live views.
    With ``selected_count``, :data:`EMPTY_NOTE` shows whether it is 0.

    Returns the artists that changed (the ones a live view redraws).
    """
    shading: _Shading | None = getattr(fig, "_hpx_histogram", None)
    if shading is None:
        raise ColumnError(
            "update_histogram: the figure was not drawn by draw_histogram "
            "with a selected range"
        )
    lo, hi = selected_range
    shading.span.set_x(lo)
    shading.span.set_width(hi - lo)
    for edge, x in zip(shading.edges, (lo, hi), strict=True):
        edge.set_xdata([x, x])
    for patch, left, right in shading.bars:
        patch.set_alpha(FADED if right <= lo or left >= hi else None)
    changed: list[Artist] = [shading.span, *shading.edges]
    if shading.bars:  # drawn as one collection, coloured as the patches are
        merged = shading.merge()
        patches = [patch for patch, _, _ in shading.bars]
        merged.set_facecolor([p.get_facecolor() for p in patches])
        merged.set_edgecolor([p.get_edgecolor() for p in patches])
        changed.append(merged)
    if shading.title is not None:
        text = _normalized_title(shading.head, selected_range, selected_count)
        shading.title.set_text(text)
        changed.append(shading.title)
    if selected_count is not None:
        changed += _update_empty_note(
            fig, selected_count == 0, shading.font, shading.ax
        )
    return changed


def _stack_top(table: pd.DataFrame) -> float:
    """Height of the tallest stacked bar."""
    if not len(table):
        return 0.0
    return float(table.groupby(["bin_left", "bin_right"])["count"].sum().max())
