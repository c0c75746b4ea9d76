"""Paper Fig. 2: the metric stacked by group, raw and normalized, with the range."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..data.errors import ColumnError
from .layout import figure_size_for
from .style import (
    HISTOGRAM_COLUMNS,
    _check_frame,
    _empty_note,
    _font_size,
    _ordered,
    _prepare,
    palette,
)


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
