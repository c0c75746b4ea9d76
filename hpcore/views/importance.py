"""The parameter-importance panel drawn beside the pair matrix (or on its own)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy

from .limits import MAX_PARAMETERS
from .style import (
    BASE_FONT,
    IMPORTANCE_COLOURS,
    IMPORTANCE_COLUMNS,
    Sheet,
    _check_frame,
    figure_fonts,
    fit_font,
    labels_of,
)
from .text import LINE_HEIGHT, block_height, shorten, text_width, widest

#: Height of one bar row, in units of the base font size.
ROW = 1.4


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


def importance_note(q: float, test: str, top: str = "", ratio: float = math.nan) -> str:
    """A parameter's note beside its bar: its q-value and most over-represented
    option (x ratio), or "no test" where it has none (an empty selection, one
    of every network, or a single option left: its q of 1 says nothing)."""
    if test == "none":
        return "no test"
    text = _q_text(q)
    if top and math.isfinite(ratio):
        text = f"{text}   {top} \u00d7{ratio:.2f}"
    return text


def _importance_notes(importance: pd.DataFrame) -> list[str]:
    """Per parameter: :func:`importance_note`."""
    notes = []
    has_top = {"top_option", "top_enrichment"} <= set(importance.columns)
    q = importance["q_value"].to_numpy(dtype=np.float64)
    tests = (
        [str(t) for t in importance["test"]]
        if "test" in importance.columns
        else [""] * len(importance)
    )
    tops = shorten([str(v) for v in importance["top_option"]]) if has_top else []
    for i in range(len(importance)):
        top, ratio = "", math.nan
        if has_top:
            top, ratio = tops[i], float(importance["top_enrichment"].iloc[i])
        notes.append(importance_note(float(q[i]), tests[i], top, ratio))
    return notes


def _explanation(
    alpha: float, width: float, font: float, group: str | None, untested: bool = False
) -> str:
    """What the bars and notes mean, wrapped to ``width`` points; with
    ``untested``, what a note "no test" means."""
    text = (
        "bar: how far the option shares of the selected networks are from "
        "those of all networks (total variation distance). "
        f"Dark: q < {alpha:g} (chi-square test, Benjamini-Hochberg). "
        "Right: q, and the option most over-represented in the selection "
        "(\u00d7 its share in the selection / its share in all)."
    )
    if untested:
        text += (
            " No test: no network or every network is selected, or the "
            "parameter has one option left."
        )
    if group is not None:
        text += f" Grey: {group}; {group_note(group)}."
    chars = max(int(width / (0.55 * font)), 24)
    return textwrap.fill(text, chars)


#: The bar of the group the metric is normalized within.
GROUP_BAR = "#9E9E9E"


def group_note(group: str) -> str:
    """Why the bar of ``group``, the parameter the metric is normalized
    within, is set apart (the report's panel, the browser view's hover card
    and the command line say it alike)."""
    return (
        f"the metric is normalized within {group}, so its bar shows how the "
        f"normalization spreads each {group}'s networks, not the effect of a setting"
    )


def bar_colours(
    parameters: Sequence[str], q: np.ndarray, alpha: float, group: str | None
) -> list[str]:
    """Each importance bar's colour: dark where ``q < alpha``, else light;
    ``group``'s grey."""
    return [
        GROUP_BAR
        if p == group
        else IMPORTANCE_COLOURS[0]
        if qi < alpha
        else IMPORTANCE_COLOURS[1]
        for p, qi in zip(parameters, q, strict=True)
    ]


class ImportancePanel:
    """Sizes (in points) and drawing of the importance panel at one font size."""

    def __init__(
        self,
        importance: pd.DataFrame,
        alpha: float,
        font: float,
        min_width: float = 0,
        group: str | None = None,
    ) -> None:
        extra = len(importance) - MAX_PARAMETERS
        self.more = max(extra, 0)
        self.table = importance.iloc[:MAX_PARAMETERS] if extra > 0 else importance
        self.alpha = alpha
        self.font = font
        # the group's bar is grey (where the panel shows it)
        self.group = group if group in set(map(str, self.table["parameter"])) else None
        small = 0.85 * font
        self.names = shorten([str(p) for p in self.table["parameter"]])
        self.notes = _importance_notes(self.table)
        self.names_w = widest(self.names, 0.9 * font) + 0.6 * font
        self.bars_w = 10.0 * font
        self.notes_w = widest(self.notes, small) + 0.8 * font
        self.title = "parameter importance: selection vs all networks"
        self.width = max(
            self.names_w + self.bars_w + self.notes_w,
            text_width(self.title, font, True) + 0.5 * font,  # was cut off
            min_width,
        )
        self.explain = _explanation(
            alpha, self.width, small, self.group, "no test" in self.notes
        )
        self.rows_h = ROW * font * max(len(self.table), 1)
        self.head_h = font * LINE_HEIGHT + 0.5 * font
        self.foot_h = (
            small * LINE_HEIGHT * 1.6  # x tick labels
            + block_height(self.explain, small)
            + (small * LINE_HEIGHT if self.more else 0.0)
        )
        self.height = self.head_h + self.rows_h + self.foot_h

    def draw(self, sheet: Sheet, x: float, top: float) -> Axes:
        """Draw with the top-left corner at ``(x, top)`` points; the bar axes."""
        font, small = self.font, 0.85 * self.font
        table = self.table
        names = self.names
        scores = table["score"].to_numpy(dtype=np.float64)
        q = table["q_value"].to_numpy(dtype=np.float64)
        significant = q < self.alpha
        y_top = top - self.head_h
        ax = sheet.fig.add_axes(
            sheet.rect(x + self.names_w, y_top - self.rows_h, self.bars_w, self.rows_h)
        )
        ax.set_gid("pairs-importance")
        y = np.arange(len(names))
        bars = ax.barh(
            y,
            scores,
            height=0.7,
            color=bar_colours(
                [str(p) for p in table["parameter"]], q, self.alpha, self.group
            ),
            edgecolor="none",
        )
        full = [str(p) for p in table["parameter"]]
        for name, patch in zip(full, bars.patches, strict=True):
            patch.set_gid(f"importance-bar:{name}")
        ax.set_yticks(y, names, parse_math=False)
        ax.set_ylim(len(names) - 0.5, -0.5)
        finite = scores[np.isfinite(scores)]
        top_score = float(finite.max()) if len(finite) and finite.max() > 0 else 0.1
        ax.set_xlim(0.0, top_score * 1.05)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.tick_params(labelsize=small, length=2, pad=1.5)
        ax.tick_params(axis="y", length=0, labelsize=0.9 * font, pad=0.4 * font)
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.grid(axis="x", color="0.9", linewidth=0.6)
        ax.set_axisbelow(True)
        sheet.text(
            x,
            top,
            self.title,
            ha="left",
            va="top",
            fontsize=font,
            fontweight="bold",
        )
        label_y = y_top - self.rows_h - small * LINE_HEIGHT * 1.6
        sheet.text(
            x,
            label_y,
            self.explain,
            ha="left",
            va="top",
            fontsize=small,
            linespacing=1.1,
            gid="importance-explanation",
        )
        if self.more:
            sheet.text(
                x,
                label_y - block_height(self.explain, small),
                f"\u2026 and {self.more:,} more parameters in importance.csv",
                ha="left",
                va="top",
                fontsize=small,
                color="0.3",
            )
        transform = offset_copy(
            ax.get_yaxis_transform(), sheet.fig, x=0.6 * font, units="points"
        )
        for yi, note, sig, name in zip(y, self.notes, significant, full, strict=True):
            ax.text(
                1.0,
                float(yi),
                note,
                transform=transform,
                ha="left",
                va="center",
                fontsize=small,
                color="0.1" if sig else "0.45",
                gid=f"importance-note:{name}",
                clip_on=False,
                parse_math=False,
            )
        return ax


def _importance_widths(importance: pd.DataFrame, font: float = BASE_FONT) -> float:
    """Width of the importance panel, in points."""
    return ImportancePanel(importance, 0.05, font).width


def draw_importance(
    importance: pd.DataFrame,
    *,
    fig: Figure | None = None,
    alpha: float = 0.05,
    group: str | None = None,
) -> Figure:
    """The per-parameter importance panel on its own figure.

    Parameters
    ----------
    importance : pandas.DataFrame
        :func:`hpcore.analysis.stats.parameter_importance` frame (at least
        ``parameter, score, q_value``; ``top_option, top_enrichment`` are
        quoted when present). Bars in the frame's row order, top to bottom
        (the first :data:`~hpcore.views.limits.MAX_PARAMETERS`; a line says
        how many more there are).
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first) instead of a new one.
    alpha : float, default=0.05
        Bars with ``q_value < alpha`` are dark, the others light.
    group : str, optional
        The parameter the metric is normalized within: its bar is grey, and
        the explanation says that it shows the normalization's doing.

    Returns
    -------
    matplotlib.figure.Figure
        The bar axes has gid ``"pairs-importance"``, its bars
        ``"importance-bar:<p>"``; the notes ``"importance-note:<p>"``.
    """
    _check_frame(importance, IMPORTANCE_COLUMNS, "parameter importance")
    with figure_fonts(labels_of(importance, ["parameter", "top_option"])):

        def natural(font: float) -> tuple[float, float]:
            panel = ImportancePanel(importance, alpha, font, group=group)
            return panel.width + 2 * font, panel.height + 2 * font

        fig, font, _ = fit_font(fig, natural)
        panel = ImportancePanel(importance, alpha, font, group=group)
        sheet = Sheet(fig)
        panel.draw(sheet, font, sheet.height - font)
    return fig


__all__ = ["ImportancePanel", "_ratio_text", "draw_importance", "text_width"]
