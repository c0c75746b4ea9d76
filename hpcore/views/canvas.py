"""An Agg canvas that draws text from cached glyph outlines.

matplotlib's Agg renderer shapes every string anew and rasterizes it glyph by
glyph in Python (about 2 ms a label with matplotlib 3.11); a report draws
hundreds of labels. :class:`FastTextCanvas` renders plain (non-math) text as
filled paths built from glyph outlines cached per font and glyph, one path per
string, positioned by the glyphs' advances (the widths
:func:`hpcore.views.text.text_width` uses); it measures text the same way.
The result looks like matplotlib's own text (the same fonts and sizes,
anti-aliased, without hinting or kerning) at a fraction of the cost. Vector
formats (SVG, PDF) are not affected: they keep real text. Math text and TeX
go to matplotlib.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.font_manager import FontProperties, fontManager, get_font
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

#: Size at which glyph outlines are read (they are scaled from it).
_UNITS = 100.0


@functools.cache
def _font(path: str) -> FT2Font:
    """A private FreeType face for reading outlines (matplotlib's are shared)."""
    font = FT2Font(path)
    font.set_size(_UNITS, 72.0)
    return font


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    return frozenset(get_font(path).get_charmap())


@functools.lru_cache(maxsize=4096)
def _glyph(path: str, code: int) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Outline (in ems), advance and ink top/bottom (ems) of one character."""
    font = _font(path)
    index = font.get_char_index(code)
    glyph = font.load_glyph(index, flags=LoadFlags.NO_HINTING)
    vertices, codes = font.get_path()
    scale = 1.0 / _UNITS
    advance = glyph.linearHoriAdvance / 65536.0 * scale
    ymin, ymax = glyph.bbox[1] / 64.0 * scale, glyph.bbox[3] / 64.0 * scale
    return np.asarray(vertices) * scale, np.asarray(codes), advance, ymin, ymax


@functools.lru_cache(maxsize=256)
def _files(
    family: tuple[str, ...], style: Any, weight: Any, stretch: Any
) -> tuple[str, ...]:
    prop = FontProperties(
        family=list(family), style=style, weight=weight, stretch=stretch
    )
    finder = getattr(fontManager, "_find_fonts_by_props", None)
    if finder is not None:
        return tuple(str(p) for p in finder(prop))
    return (str(fontManager.findfont(prop)),)  # pragma: no cover - older matplotlib


def _prop_files(prop: FontProperties) -> tuple[str, ...]:
    return _files(
        tuple(prop.get_family()),
        prop.get_style(),
        prop.get_weight(),
        prop.get_stretch(),
    )


@functools.lru_cache(maxsize=8192)
def _string(
    files: tuple[str, ...], text: str
) -> tuple[Path | None, float, float, float]:
    """One line of text in ems: its outline path, width, ink top and bottom."""
    parts_v: list[np.ndarray] = []
    parts_c: list[np.ndarray] = []
    pen = 0.0
    top, bottom = 0.0, 0.0
    first = True
    for char in text:
        code = ord(char)
        face = next((f for f in files if code in _charmap(f)), files[0])
        vertices, codes, advance, ymin, ymax = _glyph(face, code)
        if len(vertices):
            parts_v.append(vertices + np.array([pen, 0.0]))
            parts_c.append(codes)
            if first:
                top, bottom = ymax, ymin
                first = False
            else:
                top, bottom = max(top, ymax), min(bottom, ymin)
        pen += advance
    if not parts_v:
        return None, pen, 0.0, 0.0
    outline = Path(np.concatenate(parts_v), np.concatenate(parts_c))
    return outline, pen, top, bottom


@functools.cache
def _height_metrics(path: str) -> tuple[float, float, float] | None:
    """Ascent, descent and line gap of a font, in ems (as matplotlib reads them)."""
    font = _font(path)
    head = font.get_sfnt_table("head")
    if not head:
        return None
    for table_name, gap, ascent, descent in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)  # type: ignore[call-overload]
        if table:
            units = float(head["unitsPerEm"])
            return (table[ascent] / units, -table[descent] / units, table[gap] / units)
    return None


class FastTextRenderer(RendererAgg):
    """:class:`RendererAgg` drawing and measuring plain text from cached outlines."""

    def _get_font_height_metrics(
        self, prop: FontProperties
    ) -> tuple[float | None, float | None, float | None]:
        """Line metrics of ``prop``'s font, cached (matplotlib's text layout asks
        every text for them)."""
        metrics = _height_metrics(_prop_files(prop)[0])
        if metrics is None:
            return None, None, None
        size = prop.get_size_in_points() * self.dpi / 72.0
        ascent, descent, gap = metrics
        return ascent * size, descent * size, gap * size

    def get_text_width_height_descent(
        self, s: str, prop: FontProperties, ismath: Any
    ) -> tuple[float, float, float]:
        if ismath:
            found = super().get_text_width_height_descent(s, prop, ismath)  # type: ignore[no-untyped-call]
            return (float(found[0]), float(found[1]), float(found[2]))
        _, width, top, bottom = _string(_prop_files(prop), s)
        size = prop.get_size_in_points() * self.dpi / 72.0
        return width * size, (top - bottom) * size, -bottom * size

    def draw_text(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: FontProperties,
        angle: float,
        ismath: Any = False,
        mtext: Any = None,
    ) -> None:
        if ismath:
            super().draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)  # type: ignore[no-untyped-call]
            return
        path, _, _, _ = _string(_prop_files(prop), s)
        if path is None:
            return
        size = prop.get_size_in_points() * self.dpi / 72.0
        transform = (
            Affine2D().scale(size).rotate_deg(angle).translate(x, self.height - y)
        )
        face = self.new_gc()
        face.copy_properties(gc)
        face.set_linewidth(0.0)
        self.draw_path(face, path, transform, gc.get_rgb())  # type: ignore[no-untyped-call]
        face.restore()


class FastTextCanvas(FigureCanvasAgg):
    """:class:`FigureCanvasAgg` with a :class:`FastTextRenderer`."""

    def get_renderer(self) -> RendererAgg:
        width, height = self.figure.bbox.size
        key = (width, height, self.figure.dpi)
        renderer = getattr(self, "renderer", None)
        if getattr(self, "_lastKey", None) != key or not isinstance(
            renderer, FastTextRenderer
        ):
            renderer = FastTextRenderer(width, height, self.figure.dpi)  # type: ignore[no-untyped-call]
            self.renderer = renderer
            self._lastKey = key  # type: ignore[assignment]
        assert isinstance(renderer, FastTextRenderer)
        return renderer
