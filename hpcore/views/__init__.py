"""Drawing: the paper's views and the statistics beside them, from tables.

The views draw and never aggregate: every number on a figure comes from a table
made by the analysis layer (:mod:`hpcore.analysis`: the plain functions, the
fast engine, the statistics, the findings). This package is the only part of
hpcore that imports matplotlib; it uses :class:`matplotlib.figure.Figure` with
an Agg canvas, never ``pyplot``, so it holds no global state and works headless
and inside Inviwo.

Each ``draw_*`` function draws into a new figure sized for its table
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

from .effects import draw_effect
from .histogram import draw_histogram
from .importance import draw_importance
from .layout import figure_size_for
from .pairs import draw_pair_matrix
from .style import (
    COUNT_LABEL,
    DIVERGING_CMAP,
    EMPTY_NOTE,
    IMPORTANCE_COLOURS,
    LOW_COUNT,
    MARK_COLOUR,
    MARKERS,
    OKABE_ITO,
    PAIR_CMAP,
    figure_for_pixels,
    new_figure,
    palette,
)
from .trellis import draw_trellis

__all__ = [
    "COUNT_LABEL",
    "DIVERGING_CMAP",
    "EMPTY_NOTE",
    "IMPORTANCE_COLOURS",
    "LOW_COUNT",
    "MARKERS",
    "MARK_COLOUR",
    "OKABE_ITO",
    "PAIR_CMAP",
    "draw_effect",
    "draw_histogram",
    "draw_importance",
    "draw_pair_matrix",
    "draw_trellis",
    "figure_for_pixels",
    "figure_size_for",
    "new_figure",
    "palette",
]
