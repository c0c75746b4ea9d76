"""hpcore.views.live: a brush redraws only what it changes, and shows what a
full drawing of the same state shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh
from matplotlib.patches import Rectangle

import hpcore
from hpcore import views
from hpcore.analysis import tables as T
from hpcore.views.histogram import FADED, update_histogram
from hpcore.views.live import (
    LiveView,
    matrix_cell_at,
    trellis_point_at,
    trellis_title_at,
)
from hpcore.views.pairs import update_pair_matrix
from hpcore.views.trellis import update_trellis


@pytest.fixture(scope="module")
def state() -> tuple[hpcore.Ensemble, object]:
    ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(3000, seed=2)))
    return ens, T.report_engine(ens)


def tables(state: tuple[hpcore.Ensemble, object], lo: float) -> tuple[object, object]:
    ens, engine = state
    sel = engine.select(range=(lo, 1.0), where={})  # type: ignore[attr-defined]
    return sel, T.compute_tables(
        ens, sel, primary="dataset", secondary="optimizer", engine=engine
    )


def gid_artists(fig: object, prefix: str) -> list[object]:
    found, stack = [], [fig]
    while stack:
        a = stack.pop()
        found.append(a)
        stack.extend(a.get_children())  # type: ignore[attr-defined]
    return [
        a
        for a in found
        if str(a.get_gid() or "").startswith(prefix)  # type: ignore[attr-defined]
    ]


def test_histogram_update_fades_the_bars_a_full_drawing_fades(state) -> None:
    sel, t = tables(state, 0.6)
    fig = views.draw_histogram(
        t.histogram_raw, t.histogram_normalized, selected_range=(0.2, 0.3)
    )
    update_histogram(fig, (0.6, 1.0), sel.count)
    fresh = views.draw_histogram(
        t.histogram_raw,
        t.histogram_normalized,
        selected_range=(0.6, 1.0),
        selected_count=sel.count,
    )

    def bars(figure: object) -> list[Rectangle]:
        return [
            a for a in gid_artists(figure, "bar:normalized") if isinstance(a, Rectangle)
        ]

    alpha = {a.get_gid(): a.get_alpha() for a in bars(fig)}
    want = {a.get_gid(): a.get_alpha() for a in bars(fresh)}
    assert alpha == want and FADED in alpha.values() and None in alpha.values()
    # what is drawn: one collection coloured as the (hidden) bars
    (merged,) = gid_artists(fig, "bar:normalized:*")
    assert isinstance(merged, PolyCollection) and merged.get_visible()
    assert not any(a.get_visible() for a in bars(fig))
    np.testing.assert_allclose(
        merged.get_facecolor(),
        [bar.get_facecolor() for bar, _, _ in fig._hpx_histogram.bars],  # type: ignore[attr-defined]
    )

    def norm_title(figure: object) -> str:
        (ax,) = [a for a in figure.axes if a.get_gid() == "histogram-normalized"]  # type: ignore[attr-defined]
        return str(ax.get_title(loc="left"))

    title = norm_title(fig)
    assert title == norm_title(fresh)
    assert f"{sel.count:,} networks" in title


def test_matrix_update_colours_cells_as_a_full_drawing(state) -> None:
    _sel, t = tables(state, 0.7)
    _, first = tables(state, 0.3)
    kw = {"value": "enrichment", "scale": "log2", "limit": 2.0, "annotate": False}
    fig = views.draw_pair_matrix(first.pairs, **kw)
    marks = t.pairs["q_value"].to_numpy() < 0.05
    update_pair_matrix(fig, t.pairs, marks=marks)
    fresh = views.draw_pair_matrix(t.pairs, marks=marks, **kw)
    merged = next(m for m in gid_artists(fig, "pairs:*") if isinstance(m, QuadMesh))
    colours = merged.get_facecolor().reshape(-1, 4)
    cells = fig._hpx_pairs  # type: ignore[attr-defined]
    for mesh in gid_artists(fresh, "pairs:"):
        if not isinstance(mesh, QuadMesh) or mesh.get_gid() == "pairs:*":
            continue
        a, b = str(mesh.get_gid()).removeprefix("pairs:").split("|")
        block = mesh.to_rgba(mesh.get_array()).reshape(
            len(cells.layout.options[b]), len(cells.layout.options[a]), 4
        )
        width = len(cells.centres[0])
        for j, row in enumerate(cells.rows[b]):
            for i, col in enumerate(cells.columns[a]):
                np.testing.assert_allclose(colours[row * width + col], block[j, i])
    dots = [d for d in gid_artists(fig, "pair-marks:") if isinstance(d, PathCollection)]
    assert sum(len(d.get_offsets()) for d in dots) == int(marks.sum())


def test_matrix_update_keeps_its_colour_scale_while_it_serves(state) -> None:
    _sel, t = tables(state, 0.5)
    pairs = t.pairs.copy()
    top = float(pairs["count"].max())
    fig = views.draw_pair_matrix(pairs, annotate=False)
    cells = fig._hpx_pairs  # type: ignore[attr-defined]
    assert (cells.norm.vmin, cells.norm.vmax) == (0.0, top)

    def colours_match(table: pd.DataFrame) -> None:
        merged = next(m for m in gid_artists(fig, "pairs:*") if isinstance(m, QuadMesh))
        colours = merged.get_facecolor().reshape(-1, 4)
        width = len(cells.centres[0])
        mapped = merged.cmap(cells.norm(table["count"].to_numpy(dtype=float)))
        for k, row in enumerate(table.itertuples()):
            at = cells.layout.options
            r = cells.rows[row.param_b][at[row.param_b].index(str(row.option_b))]
            c = cells.columns[row.param_a][at[row.param_a].index(str(row.option_a))]
            np.testing.assert_allclose(colours[r * width + c], mapped[k])

    # smaller counts, still more than half the scale: scale and bar stay
    fewer = pairs.assign(count=np.floor(pairs["count"] * 0.8))
    changed = update_pair_matrix(fig, fewer)
    assert (cells.norm.vmin, cells.norm.vmax) == (0.0, top)
    assert cells.bar.ax not in changed
    colours_match(fewer)
    # more than the scale holds: a new, rounded-up scale with room, bar redrawn
    more = pairs.assign(count=pairs["count"] * 1.1)
    changed = update_pair_matrix(fig, more)
    want = float(more["count"].max())
    assert want <= cells.norm.vmax <= 2 * 1.25 * want
    assert cells.bar.ax in changed
    colours_match(more)
    # far fewer (under half the scale): the scale follows them down
    few = pairs.assign(count=np.floor(pairs["count"] * 0.2))
    update_pair_matrix(fig, few)
    assert cells.norm.vmax <= 2 * 1.25 * float(few["count"].max())
    colours_match(few)


def test_trellis_update_puts_markers_where_a_full_drawing_does(state) -> None:
    _sel, t = tables(state, 0.5)
    _, first = tables(state, 0.9)
    fig = views.draw_trellis(first.trellis, value_limits=(0.0, 1.0))
    update_trellis(fig, t.trellis)
    fresh = views.draw_trellis(t.trellis, value_limits=(0.0, 1.0))

    def pixels(figure: object, prefix: str) -> np.ndarray:
        points = [p for p in gid_artists(figure, prefix) if len(p.get_offsets())]
        xy = np.concatenate(
            [p.get_offset_transform().transform(p.get_offsets()) for p in points]
        )
        return xy[np.lexsort((xy[:, 1], xy[:, 0]))]

    np.testing.assert_allclose(
        pixels(fig, "trellis-live-points:"), pixels(fresh, "trellis-points:"), atol=1e-6
    )


def test_a_brush_redraws_without_drawing_the_figure_again(state) -> None:
    views_ = {k: LiveView(k) for k in ("histogram", "pairs", "trellis")}
    frames = []
    for lo in (0.3, 0.5, 0.7, 0.9):
        sel, t = tables(state, lo)
        frames.append(
            views_["histogram"].render(
                "same",
                lambda t=t, sel=sel: views.draw_histogram(
                    t.histogram_raw,
                    t.histogram_normalized,
                    selected_range=sel.range,
                    fig=views.figure_for_pixels(700, 320),
                ),
                lambda f, sel=sel: update_histogram(f, sel.range, sel.count),
            )
        )
        views_["pairs"].render(
            "same",
            lambda t=t: views.draw_pair_matrix(
                t.pairs, fig=views.figure_for_pixels(900, 800), annotate=False
            ),
            lambda f, t=t: update_pair_matrix(f, t.pairs),
        )
        views_["trellis"].render(
            "same",
            lambda t=t: views.draw_trellis(
                t.trellis, fig=views.figure_for_pixels(1200, 600), value_limits=(0, 1)
            ),
            lambda f, t=t: update_trellis(f, t.trellis),
        )
    assert all(v.full_draws == 1 for v in views_.values())
    assert frames[0].shape == (320, 700, 4)
    assert not np.array_equal(frames[0], frames[-1])  # the shading moved


def test_picking_finds_cells_points_and_titles(state) -> None:
    _sel, t = tables(state, 0.7)
    fig = views.draw_pair_matrix(t.pairs, annotate=False)
    fig.canvas.draw()
    cells = fig._hpx_pairs  # type: ignore[attr-defined]
    lay = cells.layout
    a, b = lay.params[0], lay.params[1]
    x, y = cells.transform.transform((lay.x0[a] + 1.5, lay.y0[b] + 0.5))
    assert matrix_cell_at(fig, x, y) == (a, 1, b, 0)
    assert matrix_cell_at(fig, 1.0, 1.0) is None
    tfig = views.draw_trellis(t.trellis)
    tfig.canvas.draw()
    points = [p for p in gid_artists(tfig, "trellis-points:") if len(p.get_offsets())]
    px, py = points[0].get_offset_transform().transform(points[0].get_offsets()[0])
    found = trellis_point_at(tfig, px + 1, py - 1)
    assert found is not None
    assert f"trellis-points:{found[0]}|{found[1]}|{found[2]}" == points[0].get_gid()
    assert found[3] in set(t.trellis["option"].astype(str))
    # after a brush the markers are merged and still found
    update_trellis(tfig, t.trellis)
    merged = [
        p for p in gid_artists(tfig, "trellis-live-points:") if len(p.get_offsets())
    ]
    mx, my = merged[0].get_offset_transform().transform(merged[0].get_offsets()[0])
    again = trellis_point_at(tfig, mx, my)
    assert again is not None and again[2] == str(merged[0].get_gid()).split(":")[1]
    title = gid_artists(tfig, "trellis-title:")[0]
    box = title.get_window_extent(tfig.canvas.get_renderer())
    name = str(title.get_gid()).removeprefix("trellis-title:")
    assert trellis_title_at(tfig, box.x0 + 1, box.y0 + 1) == name
    assert isinstance(pd.DataFrame, type)


def _red_pixels(frame: np.ndarray) -> int:
    """Pixels of the empty note's red (#B00020), antialiased edges aside."""
    rgb = frame[..., :3].astype(np.int64)
    return int((np.abs(rgb - np.array([176, 0, 32])).sum(axis=2) < 30).sum())


@pytest.mark.parametrize("kind", ["histogram", "pairs", "trellis"])
def test_the_empty_note_follows_the_brush_in_a_live_view(state, kind: str) -> None:
    """A live view drawn with nothing selected drops "no networks selected"
    once a brush selects networks, and shows it again when one selects none
    (it was drawn into the kept background and stayed)."""
    ens, engine = state

    def at(lo: float, hi: float) -> tuple[object, object]:
        sel = engine.select(range=(lo, hi), where={})
        return sel, T.compute_tables(
            ens, sel, primary="dataset", secondary=None, engine=engine
        )

    none, some = at(0.3, 0.3 + 1e-9), at(0.5, 1.0)
    assert none[0].count == 0 and some[0].count > 0

    def draw(sel: object, t: object) -> object:
        if kind == "histogram":
            return views.draw_histogram(
                t.histogram_raw,
                t.histogram_normalized,
                selected_range=sel.range,
                selected_count=sel.count,
                fig=views.figure_for_pixels(700, 320),
            )
        if kind == "pairs":
            return views.draw_pair_matrix(
                t.pairs, fig=views.figure_for_pixels(900, 800), annotate=False
            )
        return views.draw_trellis(
            t.trellis, fig=views.figure_for_pixels(1200, 600), value_limits=(0, 1)
        )

    def update(fig: object, sel: object, t: object) -> list[object]:
        if kind == "histogram":
            return update_histogram(fig, sel.range, sel.count)
        if kind == "pairs":
            return update_pair_matrix(fig, t.pairs)
        return update_trellis(fig, t.trellis)

    for first, then in ((none, some), (some, none), (none, none)):
        live = LiveView(kind)
        drawn = live.render(
            "same", lambda s=first: draw(*s), lambda f, s=first: update(f, *s)
        )
        assert (_red_pixels(drawn) > 0) == (first[0].count == 0)
        shown = live.render(
            "same", lambda s=then: draw(*s), lambda f, s=then: update(f, *s)
        )
        assert live.full_draws == 1
        story = f"drawn with {first[0].count}, then {then[0].count} selected"
        assert (_red_pixels(shown) > 0) == (then[0].count == 0), story


def test_a_trellis_update_notes_the_rows_left_empty(state) -> None:
    """A brush that leaves a row without networks notes it; the next brush
    that fills it takes the note off."""
    ens, engine = state
    some = engine.select(range=(0.5, 1.0), where={})
    full = T.compute_tables(
        ens, some, primary="dataset", secondary=None, engine=engine
    ).trellis
    rows = [str(p) for p in pd.unique(full["primary"])]
    gone = full["primary"].astype(str).to_numpy() == rows[0]
    holed = full.assign(
        mean=np.where(gone, np.nan, full["mean"]),
        count=np.where(gone, 0, full["count"]),
    )
    fig = views.draw_trellis(full, value_limits=(0.0, 1.0))
    assert not gid_artists(fig, "trellis-empty:")
    changed = update_trellis(fig, holed)
    (note,) = gid_artists(fig, "trellis-empty:")
    assert note.get_gid() == f"trellis-empty:{rows[0]}" and note in changed
    update_trellis(fig, full)
    assert not gid_artists(fig, "trellis-empty:")
