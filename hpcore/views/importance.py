"""The parameter-importance panel drawn beside the pair matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .style import (
    _IMPORTANCE_ROW,
    IMPORTANCE_COLOURS,
    IMPORTANCE_COLUMNS,
    _check_frame,
    _font_size,
    _label_chars,
    _prepare,
)


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


def _importance_widths(importance: pd.DataFrame) -> tuple[float, float, float]:
    """Widths of the importance panel's names, bars and notes, in inches."""
    names = [str(p) for p in importance["parameter"]]
    notes = _importance_notes(importance)
    return 0.075 * _label_chars(names) + 0.15, 1.6, 0.072 * _label_chars(notes) + 0.2


def _ratio_text(ratio: float) -> str:
    """``0.25`` -> ``"1/4"``, ``4`` -> ``"4"``, ``1.41`` -> ``"1.4"``."""
    if ratio >= 1.0:
        return f"{ratio:.2g}"
    inverse = 1.0 / ratio
    if abs(inverse - round(inverse)) < 1e-6:
        return f"1/{round(inverse)}"
    return f"{ratio:.2g}"


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
        :func:`hpcore.analysis.stats.parameter_importance` frame (at least
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
