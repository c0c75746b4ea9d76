"""Live views: redraw only what a brush changes, over a cached picture of the rest.

A brush moves the range; the histograms' bars, every label of the matrix and
the trellis' panels stay. :class:`LiveView` keeps one figure per view: the
first call (or any call whose ``key`` differs: another table, size or
option) draws it whole with the view's ``draw_*`` function, takes the
artists a brush changes off the picture (``set_animated``), renders the rest
once and keeps that picture (Agg's ``copy_from_bbox``). Every later call
updates those artists in place (:func:`~hpcore.views.histogram.update_histogram`,
:func:`~hpcore.views.pairs.update_pair_matrix`,
:func:`~hpcore.views.trellis.update_trellis`), puts the kept picture back
and draws only them (``draw_artist``): matplotlib's own blitting, the
technique its animation module uses.

The result is an RGBA array (rows from the top), ready for an Inviwo layer
or a PNG. Positions of the mouse map back to what is under it
(:meth:`LiveView.value_at`, :func:`matrix_cell_at`, :func:`trellis_point_at`,
:func:`trellis_title_at`) for direct manipulation and tooltips.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .style import EMPTY_GID

#: Gid prefixes of the artists a brush changes, per view.
DYNAMIC: dict[str, tuple[str, ...]] = {
    "histogram": ("selected-range", "bar:normalized:", EMPTY_GID),
    "pairs": (
        "pairs:",
        "pair-marks:",
        "pair-count:",
        "pairs-title",
        "pairs-colorbar",
        EMPTY_GID,
    ),
    "trellis": (
        "trellis-points:",
        "trellis-line:",
        "trellis-ci:",
        "trellis-ci-clipped:",
        "trellis-live-",
        "trellis-empty:",
        EMPTY_GID,
    ),
}


def _is_dynamic(artist: Artist, prefixes: tuple[str, ...]) -> bool:
    gid = artist.get_gid()
    return isinstance(gid, str) and gid.startswith(prefixes)


def _artists(fig: Figure) -> list[Artist]:
    """Every artist of ``fig`` but the insides of its axes' Axis objects
    (ticks and their labels never change with a brush, and listing them makes
    matplotlib compute the tick positions anew)."""
    found: list[Artist] = []
    stack: list[Artist] = [fig]
    while stack:
        artist = stack.pop()
        found.append(artist)
        if not isinstance(artist, Axis):
            stack.extend(artist.get_children())
    return found


def _agg(fig: Figure) -> FigureCanvasAgg:
    canvas = fig.canvas
    if isinstance(canvas, FigureCanvasAgg):
        return canvas
    return FigureCanvasAgg(fig)  # pragma: no cover - the views draw on Agg


class LiveView:
    """One view drawn whole once, then redrawn only where a brush changes it.

    Parameters
    ----------
    kind : {"histogram", "pairs", "trellis"}
        Which artists count as changing (:data:`DYNAMIC`).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.key: Hashable | None = None
        self.figure: Figure | None = None
        self._background: Any = None
        self.full_draws = 0  # how often the whole figure was drawn (for tests)

    def render(
        self,
        key: Hashable,
        draw: Callable[[], Figure],
        update: Callable[[Figure], list[Artist]],
    ) -> np.ndarray:
        """The view for the current state, as an ``(h, w, 4)`` uint8 array.

        ``key`` names everything but the brush (tables, sizes, options): when
        it changes, ``draw()`` draws the figure whole; otherwise ``update(fig)``
        changes the brushed artists and returns them.
        """
        if key != self.key or self.figure is None:
            fig = draw()
            canvas = _agg(fig)
            for artist in self._find(fig):
                artist.set_animated(True)
            canvas.draw()  # type: ignore[no-untyped-call]  # all but the animated
            self._background = canvas.copy_from_bbox(fig.bbox)  # type: ignore[no-untyped-call]
            self.figure, self.key = fig, key
            self.full_draws += 1
        else:
            fig = self.figure
            for artist in update(fig):
                artist.set_animated(True)
            canvas = _agg(fig)
            canvas.restore_region(self._background)  # type: ignore[no-untyped-call]
        for artist in sorted(self._find(fig), key=lambda a: a.get_zorder()):
            if artist.get_visible():
                fig.draw_artist(artist)
        return np.array(canvas.buffer_rgba(), copy=True)  # type: ignore[no-untyped-call]

    # ---------------------------------------------------------------- picking

    def _find(self, fig: Figure) -> list[Artist]:
        """The artists a brush changes, as the figure holds them now."""
        prefixes = DYNAMIC[self.kind]
        found = [a for a in _artists(fig) if _is_dynamic(a, prefixes)]
        shading = getattr(fig, "_hpx_histogram", None)
        if shading is not None:  # the range is in the normalized panel's title,
            if shading.title is not None:  # and the bars must not hide the axes
                found.append(shading.title)
            found += list(shading.ax.spines.values())
        return found

    def value_at(self, gid: str, x: float, y: float) -> tuple[float, float] | None:
        """Data coordinates under pixel ``(x, y)`` (from the bottom left) in
        the axes with ``gid``, or None outside it (or before a draw)."""
        fig = self.figure
        if fig is None:
            return None
        for ax in fig.axes:
            if ax.get_gid() == gid and ax.bbox.contains(x, y):
                u, v = ax.transData.inverted().transform((x, y))
                return float(u), float(v)
        return None


def matrix_cell_at(fig: Figure, x: float, y: float) -> tuple[str, int, str, int] | None:
    """``(a, i, b, j)``: the option ``i`` of ``a`` and ``j`` of ``b`` whose
    matrix cell holds pixel ``(x, y)``, or None (labels, gaps, outside)."""
    cells = getattr(fig, "_hpx_pairs", None)
    if cells is None:
        return None
    u, v = cells.transform.inverted().transform((x, y))
    lay = cells.layout
    for a, b in cells.meshes:
        i = int(np.floor(u - lay.x0[a]))
        j = int(np.floor(v - lay.y0[b]))
        if 0 <= i < len(lay.options[a]) and 0 <= j < len(lay.options[b]):
            return a, i, b, j
    return None


def trellis_point_at(
    fig: Figure, x: float, y: float, radius: float = 6.0
) -> tuple[str, str, str, str] | None:
    """``(parameter, primary, secondary, option)`` of the trellis marker
    nearest to pixel ``(x, y)`` within ``radius`` pixels, or None."""
    marks = getattr(fig, "_hpx_trellis", None)
    if marks is None:
        return None
    best: tuple[float, tuple[str, str, str, str]] | None = None
    for artist in marks.artists:
        keys = marks.keys.get(id(artist))
        if not keys:
            continue
        offsets = np.asarray(artist.get_offsets())
        pixels = artist.get_offset_transform().transform(offsets)
        d = np.hypot(pixels[:, 0] - x, pixels[:, 1] - y)
        k = int(np.argmin(d))
        if d[k] <= radius and (best is None or d[k] < best[0]):
            best = (float(d[k]), keys[k])
    return None if best is None else best[1]


def trellis_title_at(fig: Figure, x: float, y: float) -> str | None:
    """The parameter whose panel title (above its column) holds pixel ``(x, y)``."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for text in fig.texts:
        gid = text.get_gid() or ""
        if gid.startswith("trellis-title:") and text.get_window_extent(
            renderer
        ).contains(x, y):
            return str(gid.removeprefix("trellis-title:"))
    return None
