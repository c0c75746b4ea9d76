"""Drawing: the paper's views and the statistics beside them, from tables.

The views draw and never aggregate: every number on a figure comes from a table
made by the analysis layer (:mod:`hpcore.analysis`: the plain functions, the
fast engine, the statistics, the findings). This package is the only part of
hpcore that imports matplotlib; it uses :class:`matplotlib.figure.Figure` with
an Agg canvas, never ``pyplot``, so it holds no global state and works headless
and inside Inviwo. Its names are imported on first use (``import
hpcore.views.limits`` does not load matplotlib).

Each ``draw_*`` function draws into a new figure sized for its table
(:func:`figure_size_for`: the content at a 9 pt base font, so a figure stays
readable on a page or a slide) or into the caller's ``fig`` (which is cleared
and keeps its size; fonts follow that size, and a canvas too small even for
5 pt text warns :data:`~hpcore.views.style.TOO_SMALL` when drawn). The views
place everything themselves (no layout engine), so figures are saved as they
are (:func:`save_figure`). Labels are shortened with an ellipsis (full names
stay in the tables), drawn with fallback fonts for other scripts
(:mod:`hpcore.views.text`), and figures are bounded
(:mod:`hpcore.views.limits`). Groups keep one colour everywhere
(:func:`group_colours`).

Artists carry ``gid`` strings so tests and callers can find them:

- histogram: axes ``"histogram-raw"`` and ``"histogram-normalized"``; one bar
  container per group (``container.get_label()`` is the group); bar patches
  ``"bar:<panel>:<group>:<bin>"``; the shaded range ``"selected-range"``.
- pair matrix: the matrix axes ``"pairs-matrix"`` (data units: cells, rows
  growing downwards); one ``QuadMesh`` per parameter pair, ``"pairs:<a>|<b>"``,
  whose array is the ``(options of b) x (options of a)`` block of the
  coloured value (log2 of it on a log2 scale); cell numbers
  ``"pair-count:<a>|<b>"``; marked cells (one ``PathCollection`` of dots per
  block) ``"pair-marks:<a>|<b>"``; option labels ``"pair-option-x:<a>"``
  (under column a) and ``"pair-option-y:<b>"`` (left of row b); parameter
  names ``"pair-param-x:<a>"`` (under the option labels),
  ``"pair-param-y:<b>"`` (left of them) and ``"pair-name:<p>"`` (on the
  diagonal). The side block: the colour bar axes ``"pairs-colorbar"``
  (horizontal, label on top), the key of the marks, a dot
  ``"pair-mark-key"`` with its text ``"pair-mark-label"``, and the importance
  panel axes ``"pairs-importance"`` with bars ``"importance-bar:<parameter>"``
  and notes ``"importance-note:<parameter>"``.
- trellis: all panels on one full-figure axes; each panel is a ``Rectangle``
  ``"trellis:<parameter>|<primary>"`` drawn in the panel's own data
  coordinates (x: option position, -0.5 .. n-0.5; y: the value axis), so its
  ``get_y()`` and ``get_y() + get_height()`` are the value axis' limits; the
  marks of a panel use the same transform. Markers (a ``PathCollection`` per
  panel and secondary option, offsets = (option position + dodge, mean))
  ``"trellis-points:<parameter>|<primary>|<secondary>"``; the line joining
  them (ordered parameters only) ``"trellis-line:..."``; confidence bars (a
  ``LineCollection``) ``"trellis-ci:..."``, their caps ``"trellis-ci-caps:..."``
  and the marks of intervals cut at the panel's edge
  ``"trellis-ci-clipped:..."``; titles ``"trellis-title:<parameter>"``,
  option labels ``"trellis-option:<parameter>"``, row labels
  ``"trellis-row:<primary>"``, value ticks ``"trellis-value-tick"``; a row
  without a selected network says so, ``"trellis-empty:<primary>"``.
- any figure: a line saying what was left out ``"figure-note"``.
- effect (:func:`draw_effect`, for ``hpexplorer findings``): lines labelled by
  option (observed) and ``"<option> predicted"``.
- a figure with nothing selected carries the text :data:`EMPTY_NOTE`
  (gid ``"empty-note"``); the ``update_*`` functions show and hide it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    "COUNT_LABEL": "style",
    "DIVERGING_CMAP": "style",
    "EMPTY_NOTE": "style",
    "IMPORTANCE_COLOURS": "style",
    "LOW_COUNT": "style",
    "MARKERS": "style",
    "MARK_COLOUR": "style",
    "OKABE_ITO": "style",
    "PAIR_CMAP": "style",
    "draw_effect": "effects",
    "draw_histogram": "histogram",
    "draw_importance": "importance",
    "draw_pair_matrix": "pairs",
    "draw_trellis": "trellis",
    "figure_for_pixels": "style",
    "figure_size_for": "sizes",
    "group_colours": "style",
    "missing_glyphs": "text",
    "new_figure": "style",
    "palette": "style",
    "save_figure": "style",
}

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
    "group_colours",
    "missing_glyphs",
    "new_figure",
    "palette",
    "save_figure",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hpcore.views' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from .effects import draw_effect
    from .histogram import draw_histogram
    from .importance import draw_importance
    from .pairs import draw_pair_matrix
    from .sizes import figure_size_for
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
        group_colours,
        new_figure,
        palette,
        save_figure,
    )
    from .text import missing_glyphs
    from .trellis import draw_trellis
