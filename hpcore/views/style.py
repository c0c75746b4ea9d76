"""What every figure shares: colours, markers, fonts, figure set-up, saving, checks.

The views (:mod:`hpcore.views`) draw on :class:`matplotlib.figure.Figure`
objects with an Agg canvas, never ``pyplot``, so they hold no global state and
work headless and inside Inviwo.

Figures are laid out by the views themselves, in points, from the tables and
the widths of their labels (:mod:`hpcore.views.text`): no layout engine runs
when a figure is drawn or saved, and a figure holds exactly what it shows, so
it is saved as it is (a "tight" bounding box or a layout engine would draw it
twice). Most texts and marks are figure-level artists placed in points from
the lower-left corner (:class:`Sheet`).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Transform

from ..data.errors import ColumnError
from ..data.validation import require_columns
from .canvas import FastTextCanvas
from .text import font_families, missing_glyphs

A = TypeVar("A", bound=Artist)

#: Okabe & Ito's colour-blind-safe palette, in the order colours are handed
#: out: any two of the first five differ in hue, also when faded (orange and
#: vermillion, blue and sky blue only meet from six colours on); yellow, weak
#: on white, last.
OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#000000",
    "#56B4E9",
    "#D55E00",
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

#: Fill of a matrix cell without a value (e.g. an enrichment where no network
#: has the pair): a grey no diverging map's middle is mistaken for.
BLANK_FILL = "#d9d9d9"


#: Importance bars: significant, not significant.
IMPORTANCE_COLOURS = ("#0072B2", "#BFCFDB")


#: Shown on a figure whose table holds no selected network.
EMPTY_NOTE = "no networks selected"
#: The gid of that note.
EMPTY_GID = "empty-note"


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


#: Gap between the blocks of the pair matrix, in cells.
_PAIR_GAP = 0.5


#: Base font size of a figure drawn at its own size, in points.
BASE_FONT = 9.0


#: Smallest and largest base font size when a figure is fitted into a canvas.
FONT_RANGE = (5.0, 11.0)


#: Below the smallest font, on a canvas too small for the content.
_TINY_FONT = 1.5


#: Largest side of a figure drawn at its own size, in inches (a figure that
#: would be larger gets smaller fonts instead).
MAX_INCHES = 22.0


#: Start of the warning a figure gives when it is drawn on a canvas too small
#: for its content (at the smallest font).
TOO_SMALL = "hpcore: the canvas is too small for this figure"


def palette(n: int) -> list[str]:
    """``n`` colour-blind-safe colours (Okabe-Ito, cycled when n > 8)."""
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(n)]


def _natural_key(label: str) -> tuple[tuple[int, float, str], ...]:
    """Sort key: numbers in a label by value ("svhn2" before "svhn10")."""
    parts = re.split(r"(\d+(?:\.\d+)?)", label.casefold())
    return tuple(
        (0, float(p), "") if i % 2 else (1, 0.0, p) for i, p in enumerate(parts) if p
    )


def group_colours(labels: Iterable[object]) -> dict[str, str]:
    """One stable colour per group: the same in every figure and every run of
    the same groups (a set with other groups may colour one differently).

    The colours follow the labels' natural sort order (not the order of the
    rows, which changes from file to file), so ``mnist`` gets the same colour
    whichever data set comes first in the table, and a subset of the groups
    (``--where``) keeps the colours of the whole set when the whole set is
    passed.

    >>> group_colours(["mnist", "cifar10"])
    {'mnist': '#E69F00', 'cifar10': '#0072B2'}
    """
    names = list(dict.fromkeys(str(v) for v in labels))
    ordered = sorted(names, key=_natural_key)
    colours = dict(zip(ordered, palette(len(ordered)), strict=True))
    return {n: colours[n] for n in names}


class _SizeWarning(Artist):
    """Invisible; warns each time the figure is drawn that its canvas was too
    small for the content (so a caller that draws a canvas, e.g. the Inviwo
    bridge, hears of it)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def draw(self, renderer: Any) -> None:
        warnings.warn(self.message, UserWarning, stacklevel=2)

    # Defining ``set`` spares matplotlib from writing a docstring of every
    # property for this class when it is defined (about 0.1 s).
    def set(self, **kwargs: Any) -> Any:
        return super().set(**kwargs)


def new_figure(width: float, height: float, dpi: float = 100.0) -> Figure:
    """A pyplot-free figure of ``width`` x ``height`` inches on an Agg canvas
    (:class:`~hpcore.views.canvas.FastTextCanvas`)."""
    fig = Figure(figsize=(width, height), dpi=dpi)
    FastTextCanvas(fig)
    return fig


def figure_for_pixels(width: int, height: int, dpi: float = 100.0) -> Figure:
    """A figure of exactly ``width`` x ``height`` pixels (e.g. an Inviwo canvas)."""
    return new_figure(width / dpi, height / dpi, dpi=dpi)


def _prepare(
    fig: Figure | None, size: tuple[float, float], constrained: bool = False
) -> Figure:
    """The caller's figure cleared (keeping its size), or a new one of ``size``.

    ``constrained`` lays the figure out with matplotlib's constrained layout
    (the small figures of findings); otherwise no layout engine is set (the
    view places everything, and saving does not draw twice).
    """
    if fig is None:
        fig = new_figure(*size)
    else:
        fig.clear()
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FastTextCanvas(fig)
    fig.set_layout_engine("constrained" if constrained else None)
    return fig


def fit_font(
    fig: Figure | None,
    natural: Callable[[float], tuple[float, float]],
    base: float = BASE_FONT,
) -> tuple[Figure, float, bool]:
    """A figure and its base font size for content of size ``natural(font)``.

    ``natural(font)`` is the size, in points, that the content needs at base
    font size ``font``. Without ``fig`` a new figure of the natural size at
    :data:`BASE_FONT` is made (fonts shrink when that exceeds
    :data:`MAX_INCHES`); with one, the font is scaled so that the content
    fits its size, within :data:`FONT_RANGE`. A canvas too small for the
    content even at the smallest font gets it smaller still (all of it
    visible, if not legible) and a warning (:data:`TOO_SMALL`) when drawn.

    Returns
    -------
    (Figure, float, bool)
        The prepared figure (cleared), the font size, and whether the canvas
        is too small for legible text.
    """
    width, height = natural(base)
    if fig is None:
        scale = min(1.0, MAX_INCHES * 72.0 / max(width, height))
        if scale < 1.0:
            base = max(base * scale, FONT_RANGE[0])
            width, height = natural(base)
        size = (min(width, MAX_INCHES * 72) / 72.0, min(height, MAX_INCHES * 72) / 72.0)
        return _prepare(None, size), base, False
    fig = _prepare(fig, (1.0, 1.0))
    room_w, room_h = (float(v) * 72.0 for v in fig.get_size_inches())
    font = float(np.clip(base * min(room_w / width, room_h / height), *FONT_RANGE))
    for _ in range(3):  # the content is not quite linear in the font size
        width, height = natural(font)
        ratio = min(room_w / width, room_h / height)
        if ratio >= 0.995 or font <= FONT_RANGE[0]:
            break
        font = max(font * ratio, FONT_RANGE[0])
    too_small = width > room_w * 1.02 or height > room_h * 1.02
    if too_small:
        w_px, h_px = fig.canvas.get_width_height()
        fig.add_artist(
            _SizeWarning(
                f"{TOO_SMALL}: a {w_px}x{h_px} px canvas is too small to lay it "
                f"out (it needs about {width / 72 * fig.dpi:.0f}x"
                f"{height / 72 * fig.dpi:.0f} px at {font:g} pt); enlarge the canvas"
            )
        )
        for _ in range(4):  # then show all of it, smaller
            ratio = min(room_w / width, room_h / height)
            if ratio >= 0.995 or font <= _TINY_FONT:
                break
            font = max(font * ratio * 0.98, _TINY_FONT)
            width, height = natural(font)
    return fig, font, too_small


@contextmanager
def quiet_fonts() -> Iterator[None]:
    """No log line from matplotlib when a fallback font has no bold face: its
    regular face is the right fallback."""
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        log.setLevel(level)


@contextmanager
def figure_fonts(texts: Iterable[object] = ()) -> Iterator[None]:
    """Texts made inside use the figure font with its fallbacks.

    ``texts`` (the labels to draw) are checked first: a character the known
    fonts lack makes matplotlib learn of fallback fonts installed since its
    font list was cached (:func:`hpcore.views.text.missing_glyphs`).
    """
    missing_glyphs(texts)
    with rc_context({"font.family": list(font_families())}), quiet_fonts():
        yield


class Sheet:
    """The figure in points from its lower-left corner, for placed artists.

    Everything the views place by computed geometry (texts, the trellis'
    panels, the pair blocks) is a figure-level artist with the transform
    :attr:`transform` (points to display) or one built on it: no axes, no
    ticks, no autoscaling, no clipping unless asked for.
    """

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.width, self.height = (float(v) * 72.0 for v in fig.get_size_inches())
        self.transform: Transform = Affine2D().scale(1.0 / 72.0) + fig.dpi_scale_trans

    def rect(
        self, x: float, y: float, w: float, h: float
    ) -> tuple[float, float, float, float]:
        """A box in points as a figure-fraction rectangle for ``add_axes``."""
        return (x / self.width, y / self.height, w / self.width, h / self.height)

    def text(self, x: float, y: float, s: str, **kwargs: Any) -> Text:
        """A text at ``(x, y)`` points, drawn literally (no mathtext)."""
        kwargs.setdefault("transform", self.transform)
        return self.fig.text(x, y, s, parse_math=False, **kwargs)

    def add(self, artist: A) -> A:
        """Add ``artist`` to the figure (unclipped unless it has a clip box)."""
        self.fig.add_artist(artist, clip=False)
        return artist


def labels_of(table: pd.DataFrame | None, columns: Sequence[str]) -> list[str]:
    """The distinct values of ``columns`` of ``table``, as strings."""
    if table is None:
        return []
    found: dict[str, None] = {}
    for c in columns:
        if c in table.columns:
            found.update(dict.fromkeys(str(v) for v in pd.unique(table[c].dropna())))
    return list(found)


def strings(column: pd.Series) -> np.ndarray:
    """A column as an object array of ``str`` (quicker than ``astype(str)`` on
    pandas' Arrow-backed strings)."""
    return np.array([str(v) for v in column.tolist()], dtype=object)


def literal(texts: Iterable[Text]) -> None:
    """Draw these texts literally: a ``$`` is a dollar sign, not mathtext."""
    for t in texts:
        t.set_parse_math(False)


def save_figure(
    fig: Figure,
    path: str | Path | BinaryIO,
    fmt: str,
    dpi: float = 150.0,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Save a figure as it is (no tight bounding box: the views size it).

    A PNG of an opaque figure is written as RGB (half the encoding time of
    matplotlib's RGBA, and smaller); ``metadata`` entries that are None are
    left out, as matplotlib does. Glyphs that no installed font has are drawn
    as boxes without one matplotlib warning each
    (:func:`hpcore.views.text.missing_glyphs` names them once). SVG ids are
    fixed, so equal figures are equal files.
    """
    with (
        rc_context({"svg.hashsalt": "hpexplorer"}),
        warnings.catch_warnings(),
        quiet_fonts(),
    ):
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        if fmt == "png" and isinstance(fig.canvas, FigureCanvasAgg):
            _save_png(fig, path, dpi, metadata or {})
            return
        fig.savefig(path, format=fmt, dpi=dpi, metadata=dict(metadata or {}))


def _save_png(
    fig: Figure, path: str | Path | BinaryIO, dpi: float, metadata: Mapping[str, Any]
) -> None:
    from PIL import Image, PngImagePlugin

    old = fig.dpi
    fig.dpi = dpi
    try:
        canvas = fig.canvas
        assert isinstance(canvas, FigureCanvasAgg)
        canvas.draw()  # type: ignore[no-untyped-call]
        rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
        opaque = bool(rgba[..., 3].min() == 255)
        # Pillow drops the alpha channel in a quarter of the time numpy takes
        # to copy the strided RGB view (~60 ms less for a report's figures)
        image = Image.fromarray(rgba)
        image = image.convert("RGB") if opaque else image.copy()
    finally:
        fig.dpi = old
    info = PngImagePlugin.PngInfo()
    for key, value in metadata.items():
        if value is not None:
            info.add_text(key, str(value))
    # zlib level 1: a third faster than the default and, on these figures
    # (large flat areas), no larger
    image.save(path, format="png", dpi=(dpi, dpi), pnginfo=info, compress_level=1)


def _check_frame(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ColumnError(
            f"{what} must be a pandas DataFrame; got {type(table).__name__}"
        )
    require_columns(columns, [str(c) for c in table.columns], what, ColumnError)


def _ordered(values: pd.Series) -> list[str]:
    """Distinct non-missing values as strings, in order of first appearance."""
    return [str(v) for v in dict.fromkeys(values.dropna().tolist())]


def _empty_note(fig: Figure, fontsize: float, ax: Axes | None = None) -> Text:
    """Write :data:`EMPTY_NOTE` in the middle of ``ax`` (or of the figure)."""
    style = {
        "ha": "center",
        "va": "center",
        "fontsize": fontsize * 1.8,
        "color": "#B00020",
        "gid": EMPTY_GID,
        "bbox": {"boxstyle": "round", "facecolor": "white", "edgecolor": "#B00020"},
        "zorder": 10,
    }
    if ax is None:
        return fig.text(0.5, 0.5, EMPTY_NOTE, **style)  # type: ignore[arg-type]
    return ax.text(0.5, 0.5, EMPTY_NOTE, transform=ax.transAxes, **style)  # type: ignore[arg-type]


def _update_empty_note(
    fig: Figure, empty: bool, fontsize: float, ax: Axes | None = None
) -> list[Artist]:
    """For an update of a drawn figure: :data:`EMPTY_NOTE` shown while
    nothing is selected and hidden otherwise (written on first need, as
    :func:`_empty_note`). Returns the note, if there is one, among the
    artists a live view redraws: drawn into its kept picture, it would stay
    there after a brush selects networks."""
    texts = fig.texts if ax is None else ax.texts
    note = next((t for t in texts if t.get_gid() == EMPTY_GID), None)
    if note is None:
        if not empty:
            return []
        note = _empty_note(fig, fontsize, ax)
    note.set_visible(empty)
    return [note]
