"""What every figure shares: colours, markers, fonts, figure set-up and table checks.

The views (:mod:`hpcore.views`) draw on :class:`matplotlib.figure.Figure`
objects with an Agg canvas, never ``pyplot``, so they hold no global state and
work headless and inside Inviwo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from ..data.errors import ColumnError
from ..data.validation import require_columns

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


def _label_chars(labels: Sequence[str]) -> int:
    return max((len(s) for s in labels), default=1)
