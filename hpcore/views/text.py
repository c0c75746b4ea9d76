"""Text on the figures: fonts with fallbacks, widths without drawing, short labels.

- :func:`font_families`: DejaVu Sans (matplotlib's own) followed by the
  installed fonts that cover other scripts (CJK, symbols), so labels in any
  script draw where such a font is installed; :func:`missing_glyphs` names
  the characters no installed font has (the report says so once instead of
  one matplotlib warning per glyph).
- :func:`text_width`: the width of a string in points from the fonts' glyph
  advances, cached per character; laying a figure out never draws it.
- :func:`shorten`, :func:`fit_width`: labels cut with an ellipsis (unique by
  construction). Every text is drawn with ``parse_math=False``: a ``$`` in a
  column name is a dollar sign, not mathtext.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from matplotlib.font_manager import (
    FontProperties,
    findfont,
    findSystemFonts,
    fontManager,
    get_font,
)

#: The main font (shipped with matplotlib, so always there).
MAIN_FONT = "DejaVu Sans"


#: Fonts used, in this order, for characters the main font lacks (when installed).
#: Colour emoji fonts are left out: matplotlib cannot draw bitmap glyphs.
FALLBACK_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Noto Sans Symbols 2",
    "Noto Sans Symbols",
    "Noto Emoji",
    "Symbola",
    "Arial Unicode MS",
)


#: Longest parameter name and option label drawn, in characters.
MAX_LABEL_CHARS = 24


#: Line height of text, in units of the font size.
LINE_HEIGHT = 1.22


ELLIPSIS = "\u2026"


#: File names of the fallback fonts, for fonts installed after matplotlib
#: listed the system's fonts (its list is cached).
_FALLBACK_FILES = re.compile(
    r"NotoSans(Mono)?CJK|SourceHanSans|wqy-?(zen|micro)hei|DroidSansFallback"
    r"|NotoSansSymbols|NotoEmoji-|Symbola|Arial ?Unicode",
    re.IGNORECASE,
)


@functools.cache
def font_families() -> tuple[str, ...]:
    """The main font followed by the installed fallback fonts."""
    installed = {f.name for f in fontManager.ttflist}
    return (MAIN_FONT, *(f for f in FALLBACK_FONTS if f in installed))


@functools.cache
def _discover() -> bool:
    """Tell matplotlib of installed fallback fonts its cached font list lacks.

    Runs at most once, and only when a label has a character no known font
    has. Returns whether a font was added.
    """
    known = {Path(f.fname).name for f in fontManager.ttflist}
    added = False
    for path in findSystemFonts():
        name = Path(path).name
        if name in known or not _FALLBACK_FILES.search(name):
            continue
        try:
            fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):  # pragma: no cover - a broken file
            continue
        added = True
    if added:
        font_families.cache_clear()
        _font_files.cache_clear()
    return added


@functools.cache
def _font_files(bold: bool) -> tuple[str, ...]:
    """The files of :func:`font_families` (fallbacks without a bold face: regular)."""
    files = []
    for family in font_families():
        # fallback fonts seldom have a bold face: their regular one, quietly
        weight = "bold" if bold and family == MAIN_FONT else "normal"
        prop = FontProperties(family=family, weight=weight)
        files.append(findfont(prop, fallback_to_default=family == MAIN_FONT))
    return tuple(dict.fromkeys(files))


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    return frozenset(get_font(path).get_charmap())


def _covered(char: str) -> bool:
    return any(ord(char) in _charmap(p) for p in _font_files(False))


def missing_glyphs(texts: Iterable[object]) -> str:
    """The characters of ``texts`` that no installed font of the figures has.

    A character outside the main font first makes matplotlib learn of
    fallback fonts installed after its font list was cached.

    Returns
    -------
    str
        Each missing character once, in order of appearance ("" when the
        fonts cover every character).
    """
    wanted = dict.fromkeys(
        c
        for text in texts
        for c in str(text)
        if ord(c) >= 0x250 and not c.isspace()  # Latin: always in DejaVu Sans
    )
    missing = [c for c in wanted if not _covered(c)]
    if missing and _discover():
        missing = [c for c in missing if not _covered(c)]
    return "".join(missing)


class _Advances:
    """Glyph advances of the figure fonts, in units of the font size."""

    def __init__(self, bold: bool) -> None:
        self.bold = bold
        self.widths: dict[str, float] = {}

    def __call__(self, char: str) -> float:
        width = self.widths.get(char)
        if width is None:
            width = self._measure(char)
            self.widths[char] = width
        return width

    def _measure(self, char: str) -> float:
        code = ord(char)
        for path in _font_files(self.bold):
            if code in _charmap(path):
                font = get_font(path)
                font.set_size(100.0, 72.0)
                glyph = font.load_char(code)
                return float(glyph.linearHoriAdvance) / 65536.0 / 100.0
        return 0.62  # drawn as an empty box of about this width


_ADVANCES = {False: _Advances(False), True: _Advances(True)}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of one line of ``text`` at ``size`` points, in points (no kerning)."""
    advance = _ADVANCES[bold]
    return size * sum(advance(c) for c in text)


def block_width(text: str, size: float, bold: bool = False) -> float:
    """Width of the widest line of ``text``, in points."""
    return max((text_width(line, size, bold) for line in text.split("\n")), default=0)


def block_height(text: str, size: float) -> float:
    """Height of ``text`` (all its lines), in points."""
    return size * LINE_HEIGHT * (text.count("\n") + 1)


def widest(texts: Iterable[str], size: float, bold: bool = False) -> float:
    """Width of the widest of ``texts``, in points (0 for none)."""
    return max((block_width(t, size, bold) for t in texts), default=0.0)


def cut_end(text: str, keep: int) -> str:
    """``text`` cut to ``keep`` characters with an ellipsis at its end."""
    return text if len(text) <= keep else text[: keep - 1] + ELLIPSIS


def cut_middle(text: str, keep: int) -> str:
    """``text`` cut to ``keep`` characters with an ellipsis in the middle."""
    if len(text) <= keep:
        return text
    head = max((keep - 1) * 3 // 5, 1)
    tail = max(keep - 1 - head, 0)
    return text[:head] + ELLIPSIS + (text[len(text) - tail :] if tail else "")


def shorten(labels: Sequence[str], limit: int = MAX_LABEL_CHARS) -> list[str]:
    """Labels of at most ``limit`` characters, cut with an ellipsis in the middle.

    Labels that would become equal keep more characters until they differ,
    so distinct labels stay distinct. Line breaks become spaces.

    >>> shorten(["learning_rate_of_the_first_layer", "lr"], 12)
    ['learni…layer', 'lr']
    """
    flat = [" ".join(str(s).split("\n")) for s in labels]
    keep = {s: limit for s in flat}
    while True:
        out = [cut_middle(s, keep[s]) for s in flat]
        clash: dict[str, set[str]] = {}
        for full, short in zip(flat, out, strict=True):
            clash.setdefault(short, set()).add(full)
        grow = {f for fulls in clash.values() if len(fulls) > 1 for f in fulls}
        grow = {f for f in grow if keep[f] < len(f)}
        if not grow:
            return out
        for f in grow:
            keep[f] += 2


def fit_width(text: str, room: float, size: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis until it is at most ``room`` points wide."""
    if text_width(text, size, bold) <= room:
        return text
    keep = len(text)
    while keep > 2:
        keep -= 1
        cut = cut_middle(text, keep)
        if text_width(cut, size, bold) <= room:
            return cut
    return cut_middle(text, 2)
