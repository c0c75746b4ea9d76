"""Paper Fig. 4: the Becker-barley trellis of mean metric per option.

A dot plot: one panel per parameter (columns) and primary option (rows), the
parameter's options along x, the mean along y (one axis for all panels, set
by the means). The whole grid lives on one :class:`~hpcore.views.style.Sheet`
(one axes for the figure, not one per panel: a 55-panel trellis draws in a
fraction of the time), each panel with its own transform from (option
position, mean) to the sheet, so every mark keeps the panel's data
coordinates.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import (
    Affine2D,
    Bbox,
    IdentityTransform,
    Transform,
    TransformedBbox,
)

from ..data.errors import ColumnError
from .layout import _trellis_grid
from .limits import MAX_OPTIONS, MAX_PANELS, MAX_ROWS, MAX_SLOTS, choose_parameters
from .style import (
    BASE_FONT,
    EMPTY_NOTE,
    LOW_COUNT,
    MARKERS,
    TRELLIS_COLUMNS,
    Sheet,
    _check_frame,
    _empty_note,
    _update_empty_note,
    figure_fonts,
    fit_font,
    labels_of,
    literal,
    palette,
    strings,
)
from .text import LINE_HEIGHT, cut_end, fit_width, shorten, text_width, widest

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ORDERED_LABEL = re.compile(
    rf"^(?:{_NUMBER}"  # 32, 0.001, 2.6e-05
    rf"|[\[(]\s*{_NUMBER}\s*,\s*{_NUMBER}\s*[\])]"  # [0.1, 0.2)
    rf"|{_NUMBER}[kMGT]?\s*[–-]\s*{_NUMBER}[kMGT]?"  # 2–4, 22.3k–240k
    r"|False|True)$"
)


def is_ordered(options: Sequence[str]) -> bool:
    """True when the option labels have a natural order: numbers, bins
    (``[0.1, 0.2)``, ``2–4``) or booleans (a ``missing`` option may follow).

    >>> is_ordered(["32", "64"]), is_ordered(["ReLU", "ELU"])
    (True, False)
    """
    labels = [o for o in options if o not in ("missing", "<missing>")]
    return bool(labels) and all(_ORDERED_LABEL.match(o.strip()) for o in labels)


def rows_with_networks(trellis: pd.DataFrame) -> set[str]:
    """The primary options (as strings) whose row of a trellis table has a
    selected network; the other rows say :data:`EMPTY_NOTE`."""
    count = trellis["count"].to_numpy()
    return set(strings(trellis["primary"])[count > 0].tolist())


def _dodge(n: int, step: float = 0.14) -> np.ndarray:
    """Horizontal offsets of ``n`` secondary options within an option slot
    (``step`` apart, in slots, within half a slot)."""
    if n <= 1:
        return np.zeros(1)
    step = min(0.5 / (n - 1), step)
    return (np.arange(n) - (n - 1) / 2) * step


@dataclass(frozen=True)
class _Geometry:
    """Sizes of the trellis at one base font size, in points."""

    font: float
    slot: float
    panel_h: float
    gap: float
    slots: tuple[float, ...]
    titles: tuple[str, ...]
    title_h: float
    rotate: bool
    bottom: float
    left: float
    right: float
    top: float
    legend_h: float
    note_h: float
    #: Margin added on each side for a legend or notes wider than the panels.
    widened: float = 0.0

    @property
    def width(self) -> float:
        inner = sum(self.slots) * self.slot + self.gap * (len(self.slots) - 1)
        return self.left + inner + self.right

    def height(self, rows: int) -> float:
        inner = rows * self.panel_h + self.gap * (rows - 1)
        return self.top + inner + self.bottom


def _ticks(lo: float, hi: float) -> tuple[np.ndarray, list[str]]:
    """Nice ticks within ``[lo, hi]`` and their labels."""
    ticks = np.asarray(
        MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi), float
    )
    span = max(hi - lo, 1e-12)
    ticks = ticks[(ticks >= lo - 1e-9 * span) & (ticks <= hi + 1e-9 * span)]
    step = float(np.diff(ticks).min()) if len(ticks) > 1 else span
    digits = int(max(0, -np.floor(np.log10(step) + 1e-9))) if step > 0 else 2
    if step > 0 and not np.allclose(np.round(ticks, digits), ticks, atol=1e-9 * span):
        digits += 1
    return ticks, [f"{t:.{digits}f}" for t in ticks]


def _y_limits(
    trellis: pd.DataFrame, has_ci: bool, low_count: int
) -> tuple[float, float]:
    """The value axis: on the means of the drawn cells, stretched towards the
    intervals of well-filled cells by at most half the means' spread."""
    count = trellis["count"].to_numpy()
    mean = trellis["mean"].to_numpy(dtype=np.float64)
    ok = (count > 0) & np.isfinite(mean)
    if not ok.any():
        return (0.0, 1.0)
    lo, hi = float(mean[ok].min()), float(mean[ok].max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0) * 0.1
    if has_ci:
        full = ok & (count >= max(low_count, 2))
        low = trellis["ci_low"].to_numpy(dtype=np.float64)[full]
        high = trellis["ci_high"].to_numpy(dtype=np.float64)[full]
        low, high = low[np.isfinite(low)], high[np.isfinite(high)]
        if len(low):
            lo = max(min(lo, float(low.min())), lo - 0.5 * span)
        if len(high):
            hi = min(max(hi, float(high.max())), hi + 0.5 * span)
    pad = 0.06 * (hi - lo) if hi > lo else 0.5 * span
    unit = float(mean[ok].min()) >= 0.0 and float(mean[ok].max()) <= 1.0
    lo, hi = lo - pad, hi + pad
    if unit:  # a normalized metric: no ticks beyond [0, 1]
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return (lo, hi)


def _legend_size(
    entries: Sequence[str], title: str | None, font: float, width: float
) -> tuple[int, float]:
    """Columns and height (points) of a legend of ``entries`` within ``width``."""
    if not entries:
        return 1, 0.0
    each = [text_width(e, font) + 5.2 * font for e in entries]
    ncols = len(entries)
    while ncols > 1 and sum(sorted(each)[-ncols:]) > width * 0.96:
        ncols -= 1
    rows = -(-len(entries) // ncols)
    height = (rows + (1 if title else 0)) * font * 1.75 + font * 0.8
    return ncols, height


def _geometry(
    font: float,
    params: Sequence[str],
    options: Mapping[str, Sequence[str]],
    n_secondary: int,
    tick_labels: Sequence[str],
    row_labels: Sequence[str],
    legend: Sequence[str],
    legend_title: str | None,
    notes: Sequence[str],
) -> _Geometry:
    """The trellis' sizes at base font ``font`` (the natural layout): at least
    as wide as the legend's widest entry and the notes (a trellis of one or
    two narrow panels widens its margins for them)."""
    small = 0.85 * font
    marker = 0.62 * font
    slot = max(2.4 * font, (n_secondary * 1.1 + 0.5) * marker / 0.85)
    gap = 0.55 * font
    all_options = [o for p in params for o in options[p]]
    rotate = widest(all_options, small) > 0.92 * slot
    bottom_labels = widest(all_options, small) if rotate else small * LINE_HEIGHT
    titles: list[str] = []
    slots: list[float] = []
    for p in params:
        n = max(len(options[p]), 2)
        title = p
        if text_width(p, font, True) + 0.4 * font > n * slot and "_" in p.strip("_"):
            title = p.replace("_", "_\n")  # wrapped at "_" when that helps
            if widest(title.split("\n"), font, True) >= text_width(p, font, True):
                title = p
        need = widest(title.split("\n"), font, True) + 0.4 * font
        slots.append(max(float(n), min(need / slot, n * 1.8)))
        titles.append(title)
    lines = max(t.count("\n") + 1 for t in titles)
    title_h = lines * font * LINE_HEIGHT + 0.4 * font
    panel_h = max(9.0 * font, 2.2 * font * 4)
    tick_w = widest(tick_labels, small)
    left = font * LINE_HEIGHT + 0.6 * font + tick_w + 0.5 * font
    right = font * LINE_HEIGHT + 0.8 * font if row_labels else 0.6 * font
    inner = sum(slots) * slot + gap * (len(slots) - 1)
    need = max(
        max((text_width(e, font) + 5.2 * font for e in legend), default=0.0),
        widest(notes, small) + font if notes else 0.0,
    )
    extra = max(need - left - inner - right, 0.0) / 2  # the margins, evenly
    left, right = left + extra, right + extra
    _, legend_h = _legend_size(legend, legend_title, font, left + inner + right)
    note_h = len(notes) * small * LINE_HEIGHT + (0.5 * font if notes else 0.0)
    top = 0.5 * font + legend_h + title_h
    bottom = 0.6 * font + bottom_labels + 0.6 * font + note_h
    return _Geometry(
        font=font,
        slot=slot,
        panel_h=panel_h,
        gap=gap,
        slots=tuple(slots),
        titles=tuple(titles),
        title_h=title_h,
        rotate=rotate,
        bottom=bottom,
        left=left,
        right=right,
        top=top,
        legend_h=legend_h,
        note_h=note_h,
        widened=extra,
    )


def _marker_path(marker: str) -> MplPath:
    style = MarkerStyle(marker)
    return style.get_path().transformed(style.get_transform())


def _points(
    sheet: Sheet,
    xy: np.ndarray,
    transform: Transform,
    marker: str,
    size: float,
    *,
    face: object,
    edge: object,
    width: float,
    zorder: float,
    gid: str,
    label: str = "",
) -> PathCollection | None:
    """Markers of ``size`` points at ``xy`` (panel data coordinates); none
    without points (an empty collection breaks matplotlib's "tight" bbox)."""
    if not len(xy):
        return None
    points = PathCollection(
        [_marker_path(marker)],
        sizes=[size**2],
        offsets=xy.reshape(-1, 2),
        offset_transform=transform,
        facecolors=face,
        edgecolors=edge,
        linewidths=width,
        zorder=zorder,
        gid=gid,
        label=label,
    )
    points.set_transform(Affine2D())  # sizes in points, as scatter's
    points.set_clip_on(False)
    sheet.add(points)
    return points


@dataclass(eq=False)
class _Marks:
    """What a trellis draws per cell (markers, joining lines, intervals), and
    where: enough to draw them again for new means on the same panels."""

    sheet: Sheet
    params: tuple[str, ...]
    options: dict[str, tuple[str, ...]]
    primary: tuple[str, ...]
    secondary: tuple[str | None, ...]
    with_sec: bool
    x_left: tuple[float, ...]
    y_bottom: tuple[float, ...]
    widths: tuple[float, ...]
    panel_h: float
    limits: tuple[float, float]
    offsets: tuple[float, ...]
    colors: tuple[str, ...]
    joined: frozenset[str]
    marker: float
    cap: float
    font: float
    low_count: int
    has_ci: bool
    artists: list[Artist] = field(default_factory=list)
    #: For each marker collection (by id): (parameter, primary, secondary,
    #: option) of its markers, in order.
    keys: dict[int, list[tuple[str, str, str, str]]] = field(default_factory=dict)

    def panel_transform(self, j: int, i: int) -> Transform:
        """Panel (column j, row i) data coordinates (option slot, value) to pixels."""
        lo, hi = self.limits
        n = len(self.options[self.params[j]])
        to_sheet = (
            Affine2D()
            .translate(0.5, -lo)
            .scale(self.widths[j] / n, self.panel_h / (hi - lo))
        )
        return (
            to_sheet.translate(self.x_left[j], self.y_bottom[i]) + self.sheet.transform
        )

    def clip(self, j: int, i: int) -> TransformedBbox:
        return TransformedBbox(
            Bbox.from_bounds(
                self.x_left[j], self.y_bottom[i], self.widths[j], self.panel_h
            ),
            self.sheet.transform,
        )

    def remove(self) -> None:
        """Take the marks drawn last off the figure."""
        for artist in self.artists:
            artist.remove()
        self.artists = []
        self.keys = {}

    def draw(self, trellis: pd.DataFrame) -> tuple[bool, bool]:
        """Draw the marks of ``trellis`` (cells of other panels are ignored);
        return whether any interval was drawn and any was cut at the axis."""
        sheet, font, lo, hi = self.sheet, self.font, *self.limits
        added: list[Artist] = []
        with_sec = self.with_sec
        # Row numbers of each (parameter, primary option, secondary option) cell.
        col = {c: strings(trellis[c]) for c in ("parameter", "primary")}
        sec_col = (
            strings(trellis["secondary"]) if with_sec else np.full(len(trellis), "")
        )
        cells: dict[tuple[str, str, str], list[int]] = {}
        for r, (a, b, c) in enumerate(
            zip(col["parameter"], col["primary"], sec_col, strict=True)
        ):
            cells.setdefault((str(a), str(b), str(c)), []).append(r)
        opt_col = strings(trellis["option"])
        mean_col = trellis["mean"].to_numpy(dtype=np.float64)
        count_col = trellis["count"].to_numpy()
        low_col = trellis["ci_low"].to_numpy(dtype=np.float64) if self.has_ci else None
        high_col = (
            trellis["ci_high"].to_numpy(dtype=np.float64) if self.has_ci else None
        )
        marker, cap, low_count = self.marker, self.cap, self.low_count
        any_ci = any_clipped = False
        for j, param in enumerate(self.params):
            opts = self.options[param]
            slot_of = {o: k for k, o in enumerate(opts)}
            n = len(opts)
            pw = self.widths[j]
            for i, prim in enumerate(self.primary):
                panel_t = self.panel_transform(j, i)
                clip = self.clip(j, i)
                for m, sec in enumerate(self.secondary):
                    at = [
                        r
                        for r in cells.get(
                            (param, prim, "" if sec is None else sec), []
                        )
                        if opt_col[r] in slot_of
                    ]
                    if not at:
                        continue
                    x = (
                        np.array([slot_of[opt_col[r]] for r in at], float)
                        + self.offsets[m]
                    )
                    y = mean_col[at]
                    count = count_col[at]
                    ok = (count > 0) & np.isfinite(y)
                    tag = f"{param}|{prim}|{'' if sec is None else sec}"
                    color = self.colors[m]
                    if param in self.joined:
                        order = np.argsort(x)
                        line = Line2D(
                            x[order],
                            np.where(ok, y, np.nan)[order],
                            color=color,
                            linewidth=0.9,
                            alpha=0.6,
                            zorder=2,
                            transform=panel_t,
                            gid=f"trellis-line:{tag}",
                        )
                        sheet.add(line).set_clip_box(clip)
                        added.append(line)
                    open_ = count[ok] < low_count
                    points = _points(
                        sheet,
                        np.column_stack([x[ok], y[ok]]),
                        panel_t,
                        MARKERS[m % len(MARKERS)],
                        marker,
                        face=[("white" if o else color) for o in open_],
                        edge=color,
                        width=max(0.8, 0.11 * font),
                        zorder=3,
                        gid=f"trellis-points:{tag}",
                        label="" if sec is None else sec,
                    )
                    if points is not None:
                        added.append(points)
                        self.keys[id(points)] = [
                            (param, prim, "" if sec is None else sec, opt_col[r])
                            for r, good in zip(at, ok, strict=True)
                            if good
                        ]
                    if low_col is None or high_col is None:
                        continue
                    low, high = low_col[at], high_col[at]
                    bar = ok & np.isfinite(low) & np.isfinite(high)
                    if not bar.any():
                        continue
                    any_ci = True
                    xb, lb, hb = x[bar], low[bar], high[bar]
                    # the bars first (segment k is the interval of cell k), then
                    # a cap (wider than the marker) at every end inside the axis
                    ends = np.concatenate(
                        [np.column_stack([xb, lb]), np.column_stack([xb, hb])]
                    )
                    inside = (ends[:, 1] >= lo) & (ends[:, 1] <= hi)
                    half = 0.5 * cap / (pw / n)  # in option slots
                    segments = [
                        np.array([[a, b], [a, c]])
                        for a, b, c in zip(xb, lb, hb, strict=True)
                    ] + [
                        np.array([[a - half, b], [a + half, b]])
                        for a, b in ends[inside]
                    ]
                    bars = LineCollection(
                        segments,
                        colors=color,
                        linewidths=max(0.8, 0.1 * font),
                        transform=panel_t,
                        zorder=4,
                        gid=f"trellis-ci:{tag}",
                    )
                    sheet.add(bars).set_clip_box(clip)
                    added.append(bars)
                    below, above = ends[:, 1] < lo, ends[:, 1] > hi
                    if below.any() or above.any():
                        any_clipped = True
                        span = hi - lo
                        where = np.concatenate(
                            [
                                np.column_stack(
                                    [
                                        ends[below, 0],
                                        np.full(below.sum(), lo + 0.02 * span),
                                    ]
                                ),
                                np.column_stack(
                                    [
                                        ends[above, 0],
                                        np.full(above.sum(), hi - 0.02 * span),
                                    ]
                                ),
                            ]
                        )
                        shapes = ["v"] * int(below.sum()) + ["^"] * int(above.sum())
                        clipped = PathCollection(
                            [_marker_path(s) for s in shapes],
                            sizes=[(0.75 * marker) ** 2],
                            offsets=where,
                            offset_transform=panel_t,
                            facecolors=color,
                            edgecolors="white",
                            linewidths=0.4,
                            zorder=5,
                            gid=f"trellis-ci-clipped:{tag}",
                        )
                        clipped.set_transform(Affine2D())
                        sheet.add(clipped)
                        added.append(clipped)
        self.artists = added + self._empty_rows(trellis)
        return any_ci, any_clipped

    def _empty_rows(self, trellis: pd.DataFrame) -> list[Artist]:
        """A note across each row without a selected network (its panels
        would be blank without a word), unless no row has one (the figure
        says so once); the texts drawn, to take off with the marks."""
        filled = rows_with_networks(trellis)
        if not filled:
            return []
        left = self.x_left[0]
        right = self.x_left[-1] + self.widths[-1]
        notes: list[Artist] = []
        for i, prim in enumerate(self.primary):
            if str(prim) in filled:
                continue
            note = self.sheet.text(
                (left + right) / 2,
                self.y_bottom[i] + self.panel_h / 2,
                EMPTY_NOTE,
                ha="center",
                va="center",
                fontsize=self.font,
                color="0.35",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 2},
                zorder=6,
                gid=f"trellis-empty:{prim}",
            )
            literal([note])
            notes.append(note)
        return notes

    def draw_merged(self, trellis: pd.DataFrame) -> None:
        """The same marks as :meth:`draw`, as a handful of artists for a live
        view: per secondary option one collection of markers, one line of
        joining lines and one of intervals (NaN-separated), all panels
        together in pixels (drawing hundreds of small artists per brush would
        cost more than the brush). Intervals are cut at the panel's edges.
        Positions are computed for all rows at once, each row through its
        panel's affine transform."""
        sheet, font, lo, hi = self.sheet, self.font, *self.limits
        n_sec = len(self.secondary)
        # where each row is drawn: column j, row i, secondary m, option slot k
        sec_col = (
            strings(trellis["secondary"])
            if self.with_sec
            else np.full(len(trellis), "")
        )
        col_of = {p: j for j, p in enumerate(self.params)}
        row_of = {str(p): i for i, p in enumerate(self.primary)}
        sec_of = {
            ("" if s is None else str(s)): m for m, s in enumerate(self.secondary)
        }
        slot_of = {
            (p, str(o)): k for p in self.params for k, o in enumerate(self.options[p])
        }
        params = strings(trellis["parameter"])
        options = strings(trellis["option"])
        jj = np.array([col_of.get(p, -1) for p in params], dtype=np.int64)
        ii = np.array(
            [row_of.get(p, -1) for p in strings(trellis["primary"])], dtype=np.int64
        )
        mm = np.array([sec_of.get(s, -1) for s in sec_col], dtype=np.int64)
        kk = np.array(
            [slot_of.get(po, -1) for po in zip(params, options, strict=True)],
            dtype=np.int64,
        )
        shown = (jj >= 0) & (ii >= 0) & (mm >= 0) & (kk >= 0)
        at = np.flatnonzero(shown)
        at = at[np.lexsort((kk[at], ii[at], jj[at], mm[at]))]  # as draw() walks
        jj, ii, mm, kk = jj[at], ii[at], mm[at], kk[at]
        y = trellis["mean"].to_numpy(dtype=np.float64)[at]
        count = trellis["count"].to_numpy()[at]
        x = kk + np.asarray(self.offsets, dtype=np.float64)[mm]
        ok = (count > 0) & np.isfinite(y)
        matrices = np.array(
            [
                [
                    self.panel_transform(j, i).get_matrix()
                    for i in range(len(self.primary))
                ]
                for j in range(len(self.params))
            ]
        ).reshape(len(self.params), len(self.primary), 3, 3)

        def pixels(
            u: np.ndarray, v: np.ndarray, j: np.ndarray, i: np.ndarray
        ) -> np.ndarray:
            mat = matrices[j, i]
            return np.column_stack(
                [
                    mat[:, 0, 0] * u + mat[:, 0, 1] * v + mat[:, 0, 2],
                    mat[:, 1, 0] * u + mat[:, 1, 1] * v + mat[:, 1, 2],
                ]
            )

        joined = np.array([p in self.joined for p in self.params], dtype=bool)[jj]
        pts: list[np.ndarray] = []
        polys: list[np.ndarray] = []
        bars: list[np.ndarray] = []
        names: list[list[tuple[str, str, str, str]]] = []
        faces: list[np.ndarray] = []
        has_ci = self.has_ci
        low_all = trellis["ci_low"].to_numpy(dtype=np.float64)[at] if has_ci else None
        high_all = trellis["ci_high"].to_numpy(dtype=np.float64)[at] if has_ci else None
        slot = np.array(
            [self.widths[j] / len(self.options[p]) for j, p in enumerate(self.params)]
        )
        for m in range(n_sec):
            mine = mm == m
            s_key = "" if self.secondary[m] is None else str(self.secondary[m])
            # joining lines: per panel the options in order, a gap at an
            # empty cell, a NaN row between panels
            line = mine & joined
            if line.any():
                xy = pixels(
                    x[line], np.where(ok[line], y[line], np.nan), jj[line], ii[line]
                )
                panel = jj[line] * len(self.primary) + ii[line]
                starts = np.flatnonzero(np.diff(panel)) + 1
                polys.append(np.insert(xy, starts, np.nan, axis=0))
            else:
                polys.append(np.zeros((0, 2)))
            dot = mine & ok
            pts.append(pixels(x[dot], y[dot], jj[dot], ii[dot]))
            faces.append(count[dot] < self.low_count)
            names.append(
                [
                    (
                        self.params[j],
                        str(self.primary[i]),
                        s_key,
                        self.options[self.params[j]][k],
                    )
                    for j, i, k in zip(jj[dot], ii[dot], kk[dot], strict=True)
                ]
            )
            if low_all is None or high_all is None:
                bars.append(np.zeros((0, 2)))
                continue
            bar = dot & np.isfinite(low_all) & np.isfinite(high_all)
            xb, jb, ib = x[bar], jj[bar], ii[bar]
            low, high = low_all[bar], high_all[bar]
            lb, hb = np.clip(low, lo, hi), np.clip(high, lo, hi)
            half = 0.5 * self.cap / slot[jb]
            # the intervals, then a cap only where an interval ends inside
            # the axis; each segment two points and a NaN row
            ends = [(xb, lb, xb, hb, jb, ib)]
            for e, e0 in ((lb, low), (hb, high)):
                cap = e == e0
                ends.append(
                    (
                        xb[cap] - half[cap],
                        e[cap],
                        xb[cap] + half[cap],
                        e[cap],
                        jb[cap],
                        ib[cap],
                    )
                )
            segs = [
                np.stack(
                    [
                        pixels(u0, v0, j, i),
                        pixels(u1, v1, j, i),
                        np.full((len(u0), 2), np.nan),
                    ],
                    axis=1,
                ).reshape(-1, 2)
                for u0, v0, u1, v1, j, i in ends
            ]
            bars.append(np.concatenate(segs))
        identity = IdentityTransform()
        added: list[Artist] = []
        keys: dict[int, list[tuple[str, str, str, str]]] = {}

        def pixel_line(xy: np.ndarray, gid: str, **style: Any) -> None:
            """Polylines in pixels, NaN rows between them, as one line."""
            if len(xy):
                line = Line2D(
                    xy[:, 0],
                    xy[:, 1],
                    transform=identity,
                    solid_capstyle="butt",
                    gid=gid,
                    **style,
                )
                added.append(sheet.add(line))

        for m in range(n_sec):
            color = self.colors[m]
            tag = "" if self.secondary[m] is None else str(self.secondary[m])
            pixel_line(
                polys[m],
                f"trellis-live-lines:{tag}",
                color=color,
                linewidth=0.9,
                alpha=0.6,
                zorder=2,
            )
            if len(pts[m]):
                xy = pts[m]
                points = PathCollection(
                    [_marker_path(MARKERS[m % len(MARKERS)])],
                    sizes=[self.marker**2],
                    offsets=xy,
                    offset_transform=identity,
                    facecolors=[("white" if o else color) for o in faces[m]],
                    edgecolors=color,
                    linewidths=max(0.8, 0.11 * font),
                    zorder=3,
                    gid=f"trellis-live-points:{tag}",
                )
                points.set_transform(Affine2D())  # sizes in points, as scatter's
                added.append(sheet.add(points))
                keys[id(points)] = names[m]
            pixel_line(
                bars[m],
                f"trellis-live-ci:{tag}",
                color=color,
                linewidth=max(0.8, 0.1 * font),
                zorder=4,
            )
        self.artists = added + self._empty_rows(trellis)
        self.keys = keys


def update_trellis(fig: Figure, trellis: pd.DataFrame) -> list[Artist]:
    """Draw new means on a trellis :func:`draw_trellis` drew: the marks move,
    the panels, labels and value axis stay.

    The new marks are merged into a few artists per secondary option (gids
    ``"trellis-live-points:<secondary>"``, ``"trellis-live-lines:..."``,
    ``"trellis-live-ci:..."``) so that a live view redraws them quickly;
    intervals beyond the axis are cut at the panel's edge without a cap.
    :data:`EMPTY_NOTE` shows whether no mean is left. Returns what changed;
    the old marks are taken off the figure. ``trellis`` must have the drawn
    columns.
    """
    marks: _Marks | None = getattr(fig, "_hpx_trellis", None)
    if marks is None:
        raise ColumnError("update_trellis: the figure was not drawn by draw_trellis")
    _check_frame(trellis, TRELLIS_COLUMNS, "trellis")
    marks.remove()
    marks.draw_merged(trellis)
    return [*marks.artists, *_update_empty_note(fig, _no_means(trellis), marks.font)]


def _no_means(trellis: pd.DataFrame) -> bool:
    """Whether a trellis table has no mean to draw (nothing selected)."""
    means = trellis["mean"].to_numpy(dtype=np.float64)[trellis["count"].to_numpy() > 0]
    return not np.isfinite(means).any()


def _row_labels(labels: Sequence[str], room: float, font: float) -> list[str]:
    """The rows' ``primary = option`` within ``room`` points each. The
    parameter's name, the same on every row, is cut first and alike on every
    row (``optim… = RMSProp``, not ``optimiz…MSProp``); where even a short
    name leaves no room, the rows show their options alone, cut in the
    middle where too long."""
    if all(text_width(t, font) <= room for t in labels):
        return list(labels)
    parts = [t.partition(" = ") for t in labels]
    if all(sep for _, sep, _ in parts):
        name = parts[0][0]
        for keep in range(len(name) - 1, 3, -1):
            cut = [f"{cut_end(name, keep)} = {option}" for _, _, option in parts]
            if all(text_width(t, font) <= room for t in cut):
                return cut
        labels = [option for _, _, option in parts]
    return [fit_width(t, room, font) for t in labels]


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
    ordered: Collection[str] | None = None,
    colors: Mapping[str, str] | None = None,
    ranking: Sequence[str] | None = None,
    note: str | None = None,
    value_limits: tuple[float, float] | None = None,
) -> Figure:
    """Paper Fig. 4: Becker's barley trellis of the mean metric per option.

    One column of panels per parameter and one row per primary option; in a
    panel the parameter's options run along x and the mean along y (one axis
    for all panels, set by the means). The secondary option, when present,
    is both colour and marker shape, side by side within an option. A thin
    line joins a secondary option's means across the options of an
    *ordered* parameter (numbers, bins, booleans) only: between nominal
    options (ReLU, ELU, ...) a line would draw a shape only their order
    makes. Empty cells (count 0, mean NaN) are not drawn; cells with fewer
    than ``low_count`` networks get open markers.

    Confidence bars are drawn over the markers, with caps wider than the
    markers (so a marker never hides its interval), when the frame has
    ``ci_low`` and ``ci_high`` columns (where both are finite); the legend
    names them with ``ci_label``. The value axis is set by the means (and the
    intervals of cells with at least ``low_count`` networks, stretched by at
    most half the means' spread): longer intervals are cut at the panel's
    edge and marked there with a small triangle. On a normalized metric
    (every mean in [0, 1]) the axis stays within [0, 1].

    Figures are bounded (:mod:`hpcore.views.limits`): panels of parameters
    with more than ``MAX_OPTIONS`` options, and parameters beyond the room of
    a page (taken in ``ranking`` order), are left out; so are primary and
    secondary options beyond ``MAX_ROWS``. The figure says so in a note.

    Parameters
    ----------
    trellis : pandas.DataFrame
        :func:`hpcore.trellis` frame (``parameter, option, primary, secondary,
        mean, count``); panels, options, primary and secondary options in the
        order of its rows.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (cleared first, keeps its size; fonts follow
        it) instead of a new one sized for the table.
    value_label : str, default="mean normalized metric"
        Label of the y axis.
    primary_name, secondary_name : str, optional
        Names of the primary and secondary parameters (row labels, legend title).
    low_count : int, default=5
        Cells with fewer networks are drawn with open markers (0 disables).
    lines : bool, default=True
        Join the means of one secondary option across the options of ordered
        parameters (False: never).
    ci_label : str, default="confidence interval of the mean"
        Legend entry of the confidence bars (say which interval, e.g.
        ``"95% t-interval of the mean"``).
    ordered : collection of str, optional
        The parameters whose options are ordered; default: those whose labels
        are numbers, bins or booleans (:func:`is_ordered`).
    colors : mapping of str to str, optional
        Colour of each secondary option (e.g.
        :func:`hpcore.views.group_colours` when the secondary is the group);
        default the palette in option order.
    ranking : sequence of str, optional
        Parameters by importance, strongest first: which panels to keep when
        not all fit.
    note : str, optional
        Lines under the figure (e.g. which networks the means are of, what
        was left out and why), each cut to the figure's width.
    value_limits : (float, float), optional
        The value axis, instead of one set by the means: a live view keeps it
        while the means move (:func:`update_trellis`).

    Returns
    -------
    matplotlib.figure.Figure
        Gids: see :mod:`hpcore.views`.
    """
    _check_frame(trellis, TRELLIS_COLUMNS, "trellis")
    labels = [value_label, primary_name or "", secondary_name or "", ci_label]
    labels += labels_of(trellis, ["parameter", "option", "primary", "secondary"])
    with figure_fonts(labels):
        return _draw_trellis(
            trellis,
            fig=fig,
            value_label=value_label,
            primary_name=primary_name,
            secondary_name=secondary_name,
            low_count=low_count,
            lines=lines,
            ci_label=ci_label,
            ordered=ordered,
            colors=colors,
            ranking=ranking,
            note=note,
            value_limits=value_limits,
        )


def _draw_trellis(
    trellis: pd.DataFrame,
    *,
    fig: Figure | None,
    value_label: str,
    primary_name: str | None,
    secondary_name: str | None,
    low_count: int,
    lines: bool,
    ci_label: str,
    ordered: Collection[str] | None,
    colors: Mapping[str, str] | None,
    ranking: Sequence[str] | None,
    note: str | None,
    value_limits: tuple[float, float] | None = None,
) -> Figure:
    all_params, options, primary, secondary = _trellis_grid(trellis)
    notes = note.split("\n") if note else []
    drawn = choose_parameters(
        all_params,
        {p: len(options[p]) for p in all_params},
        ranking,
        max_parameters=MAX_PANELS,
        max_cells=MAX_SLOTS,
        max_options=MAX_OPTIONS,
    )
    params = list(drawn.parameters)
    if not drawn.complete and not note:
        notes.append(drawn.note("panels", "trellis.csv"))
    if len(primary) > MAX_ROWS:
        notes.append(
            f"rows: the first {MAX_ROWS} of {len(primary):,} options of "
            f"{primary_name or 'the primary parameter'}"
        )
        primary = primary[:MAX_ROWS]
    if secondary[0] is not None and len(secondary) > MAX_ROWS:
        notes.append(
            f"colours: the first {MAX_ROWS} of {len(secondary):,} options of "
            f"{secondary_name or 'the secondary parameter'}"
        )
        secondary = secondary[:MAX_ROWS]
    has_ci = {"ci_low", "ci_high"} <= {str(c) for c in trellis.columns}
    with_sec = secondary[0] is not None
    ordered_set = (
        {p for p in params if is_ordered(options[p])}
        if ordered is None
        else {str(p) for p in ordered}
    )
    joined = {p for p in params if lines and p in ordered_set}

    # Labels as drawn (shortened; the frame keeps the full names).
    short_params = dict(zip(params, shorten(params), strict=True))
    short_opts = {p: shorten(options[p]) for p in params}
    short_prim = shorten(primary)
    sec_labels = shorten([str(s) for s in secondary]) if with_sec else []
    if with_sec:
        base = dict(zip(secondary, palette(len(secondary)), strict=True))
        sec_colors = [
            (colors or {}).get(str(s), base[s]) for s in secondary if s is not None
        ]
    else:
        sec_colors = ["#0072B2"]
    row_labels = [
        f"{shorten([primary_name])[0]} = {p}" if primary_name else p for p in short_prim
    ]
    ylim = value_limits or _y_limits(trellis, has_ci, low_count)
    ticks, tick_labels = _ticks(*ylim)

    rows = trellis[trellis["count"].to_numpy() > 0]
    means = rows["mean"].to_numpy(dtype=np.float64)
    any_open = bool(low_count) and bool(
        (rows["count"].to_numpy()[np.isfinite(means)] < low_count).any()
    )
    legend_entries = list(sec_labels)
    if any_open:
        legend_entries.append(f"fewer than {low_count} networks")
    if has_ci:
        legend_entries += [ci_label, "interval beyond the axis"]
    legend_title = shorten([secondary_name])[0] if with_sec and secondary_name else None

    def geometry(font: float) -> _Geometry:
        return _geometry(
            font,
            [short_params[p] for p in params],
            {short_params[p]: short_opts[p] for p in params},
            len(secondary) if with_sec else 1,
            tick_labels,
            row_labels,
            legend_entries,
            legend_title,
            notes,
        )

    def natural(font: float) -> tuple[float, float]:
        g = geometry(font)
        return g.width, g.height(max(len(primary), 1))

    fig, font, _ = fit_font(fig, natural, BASE_FONT)
    if not params or not primary:
        _empty_note(fig, font)
        return fig
    g = geometry(font)
    sheet = Sheet(fig)
    nrows = len(primary)
    # stretch the natural layout over the canvas (a given figure may be larger)
    inner_w = sheet.width - g.left - g.right - g.gap * (len(params) - 1)
    slot = max(inner_w / sum(g.slots), 1.0)
    panel_h = max((sheet.height - g.top - g.bottom - g.gap * (nrows - 1)) / nrows, 1.0)
    small = 0.85 * font
    marker = min(0.62 * font, 0.45 * slot)
    cap = marker + 0.5 * font
    offsets = _dodge(len(secondary), step=min(1.15 * marker / slot, 0.3))
    lo, hi = ylim

    x_left = [g.left]
    for s in g.slots[:-1]:
        x_left.append(x_left[-1] + s * slot + g.gap)
    y_bottom = [
        sheet.height - g.top - (i + 1) * panel_h - i * g.gap for i in range(nrows)
    ]

    marks = _Marks(
        sheet=sheet,
        params=tuple(params),
        options={p: tuple(options[p]) for p in params},
        primary=tuple(primary),
        secondary=tuple(secondary),
        with_sec=with_sec,
        x_left=tuple(x_left),
        y_bottom=tuple(y_bottom),
        widths=tuple(g.slots[j] * slot for j in range(len(params))),
        panel_h=panel_h,
        limits=(lo, hi),
        offsets=tuple(float(o) for o in offsets),
        colors=tuple(sec_colors),
        joined=frozenset(joined),
        marker=marker,
        cap=cap,
        font=font,
        low_count=low_count,
        has_ci=has_ci,
    )
    grid: list[list[tuple[float, float]]] = []
    guides: list[list[tuple[float, float]]] = []
    for j, param in enumerate(params):
        n = len(options[param])
        pw = marks.widths[j]
        for i, prim in enumerate(primary):
            x0, y0 = x_left[j], y_bottom[i]
            frame = Rectangle(
                (-0.5, lo),
                n,
                hi - lo,
                transform=marks.panel_transform(j, i),
                facecolor="white",
                edgecolor="0.72",
                linewidth=0.6,
                zorder=0.5,
                gid=f"trellis:{param}|{prim}",
            )
            sheet.add(frame)
            for t in ticks:
                yt = y0 + (t - lo) / (hi - lo) * panel_h
                grid.append([(x0, yt), (x0 + pw, yt)])
            for k in range(n):
                x = x0 + (k + 0.5) * pw / n
                guides.append([(x, y0), (x, y0 + panel_h)])
    any_ci, any_clipped = marks.draw(trellis)
    fig._hpx_trellis = marks  # type: ignore[attr-defined]
    for lines_, shade, gid in (
        (grid, "0.9", "trellis-grid"),
        (guides, "0.94", "trellis-guides"),
    ):
        sheet.add(
            LineCollection(
                lines_,
                colors=shade,
                linewidths=0.6,
                zorder=0.6,
                transform=sheet.transform,
                gid=gid,
            )
        )

    # Value ticks left of each row, option labels under the bottom row.
    for i in range(nrows):
        for t, label in zip(ticks, tick_labels, strict=True):
            sheet.text(
                g.left - 0.4 * font,
                y_bottom[i] + (t - lo) / (hi - lo) * panel_h,
                label,
                ha="right",
                va="center",
                fontsize=small,
                gid="trellis-value-tick",
            )
    for j, param in enumerate(params):
        pw = g.slots[j] * slot
        n = len(options[param])
        for k, label in enumerate(short_opts[param]):
            sheet.text(
                x_left[j] + (k + 0.5) * pw / n,
                y_bottom[-1] - 0.5 * font,
                label,
                ha="center",
                va="top",
                rotation=90 if g.rotate else 0,
                fontsize=small,
                gid=f"trellis-option:{param}",
            )
        title = short_params[param]
        wrapped = g.titles[j] if pw < text_width(title, font, True) else title
        size = font
        need = widest(wrapped.split("\n"), font, True)
        if need > pw:
            size = max(font * pw / need, 0.75 * font)
            if widest(wrapped.split("\n"), size, True) > pw:
                wrapped = "\n".join(
                    fit_width(line, pw, size, True) for line in wrapped.split("\n")
                )
        sheet.text(
            x_left[j] + pw / 2,
            y_bottom[0] + panel_h + 0.35 * font,
            wrapped,
            ha="center",
            va="bottom",
            fontsize=size,
            fontweight="bold",
            linespacing=1.0,
            gid=f"trellis-title:{param}",
        )
    right = x_left[-1] + g.slots[-1] * slot
    shown_rows = _row_labels(row_labels, panel_h, font)
    if primary_name and any(" = " not in t for t in shown_rows):
        # the rows show their options alone: the axis says what they are
        value_label = f"{value_label}; rows: {shorten([primary_name])[0]}"
    for i, label in enumerate(shown_rows):
        sheet.text(
            right + 0.4 * font,
            y_bottom[i] + panel_h / 2,
            label,
            rotation=270,
            ha="left",
            va="center",
            fontsize=font,
            gid=f"trellis-row:{primary[i]}",
        )
    middle = (y_bottom[-1] + y_bottom[0] + panel_h) / 2 / sheet.height
    ylabel = fig.supylabel(
        value_label,
        fontsize=font,
        x=(g.widened + 0.3 * font) / sheet.width,  # beside the ticks
        y=middle,
        ha="left",
    )
    literal([ylabel])
    for k, text in enumerate(notes):
        sheet.text(
            0.5 * font,
            0.5 * font + (len(notes) - 1 - k) * small * LINE_HEIGHT,
            fit_width(text, sheet.width - font, small),
            ha="left",
            va="bottom",
            fontsize=small,
            color="0.3",
            gid="figure-note",
        )

    _legend(
        fig,
        sheet,
        font,
        [
            (c, MARKERS[m % len(MARKERS)], s)
            for m, (c, s) in enumerate(zip(sec_colors, sec_labels, strict=False))
        ]
        if with_sec
        else [],
        bool(joined),
        any_open,
        low_count,
        ci_label if any_ci else None,
        any_clipped,
        legend_title,
        marker,
    )
    if _no_means(trellis):
        _empty_note(fig, font)
    return fig


def _legend(
    fig: Figure,
    sheet: Sheet,
    font: float,
    series: Sequence[tuple[str, str, str]],
    joined: bool,
    any_open: bool,
    low_count: int,
    ci_label: str | None,
    any_clipped: bool,
    title: str | None,
    marker: float,
) -> None:
    """The figure legend above the panels: secondary options, open markers,
    the interval and the clipped-interval mark (each only when drawn)."""
    handles: list[object] = [
        Line2D(
            [],
            [],
            color=color,
            marker=shape,
            markersize=marker,
            linestyle="-" if joined else "none",
            linewidth=0.9,
            label=label,
        )
        for color, shape, label in series
    ]
    if any_open:
        handles.append(
            Line2D(
                [],
                [],
                color="0.35",
                marker="o",
                markersize=marker,
                markerfacecolor="white",
                linestyle="none",
                label=f"fewer than {low_count} networks",
            )
        )
    if ci_label:
        dot = Line2D(
            [], [], color="0.35", marker="o", markersize=marker, linestyle="none"
        )
        caps = (
            Line2D(
                [],
                [],
                color="0.35",
                marker="_",
                markersize=marker + 0.5 * font,
                linestyle="none",
            ),
        ) * 2
        handles.append(
            ErrorbarContainer(
                (dot, caps, (LineCollection([], colors="0.35"),)),
                has_xerr=False,
                has_yerr=True,
                label=ci_label,
            )
        )
    if any_clipped:
        handles.append(
            Line2D(
                [],
                [],
                color="0.35",
                marker="^",
                markersize=0.75 * marker,
                linestyle="none",
                label="interval beyond the axis",
            )
        )
    if not handles:
        return
    labels = [str(h.get_label()) for h in handles]  # type: ignore[attr-defined]
    ncols, _ = _legend_size(labels, title, font, sheet.width)
    legend = fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1.0 - 0.3 * font / sheet.height),
        ncols=ncols,
        fontsize=font,
        title=title,
        title_fontsize=font,
        frameon=False,
        handlelength=2.0,
        columnspacing=1.6,
    )
    literal(legend.get_texts())
    literal([legend.get_title()])


def _t_half(cells: pd.DataFrame) -> np.ndarray:
    from ..analysis.stats import t_quantile

    n = cells["count"].to_numpy(dtype=np.float64)
    sd = cells["sd"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t_quantile(0.975, n - 1.0)
        half: np.ndarray = np.where(n >= 2, t * sd / np.sqrt(n), np.nan)
    return half
