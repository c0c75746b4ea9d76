"""Paper Fig. 4: the Becker-barley trellis of mean metric per option."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats as sps

from .layout import _panel_slots, _trellis_grid, figure_size_for
from .style import (
    LOW_COUNT,
    MARKERS,
    TRELLIS_COLUMNS,
    _check_frame,
    _empty_note,
    _font_size,
    _prepare,
    _text_extent_pt,
    palette,
)


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


def _t_half(cells: pd.DataFrame) -> np.ndarray:
    n = cells["count"].to_numpy(dtype=np.float64)
    sd = cells["sd"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.asarray(sps.t.ppf(0.975, n - 1.0))
        half: np.ndarray = np.where(n >= 2, t * sd / np.sqrt(n), np.nan)
    return half
