"""hpcore.views: figures checked against the tables they draw (artists, not pixels)."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib.collections import LineCollection, PathCollection, QuadMesh
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Rectangle

import hpcore
from hpcore import views as render
from hpcore.data.errors import ColumnError
from hpcore.views import trellis as render_trellis

# ------------------------------------------------------------------ fixtures


@pytest.fixture
def small_df(rng: np.random.Generator) -> pd.DataFrame:
    """120 networks, three data sets, three parameters, a planted optimizer effect."""
    n = 120
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["mnist", "cifar10", "svhn"], n),
            "optimizer": rng.choice(["ADAM", "RMSProp", "Momentum SGD"], n),
            "batch_size": rng.choice([32, 64, 128, 256], n),
            "augmentation": rng.choice([False, True], n),
        }
    )
    df["test_accuracy"] = (
        df["dataset"].map({"mnist": 98.0, "cifar10": 70.0, "svhn": 90.0})
        - 10.0 * (df["optimizer"] == "Momentum SGD")
        + rng.normal(0, 3, n)
    )
    return df


@pytest.fixture
def ens(small_df: pd.DataFrame) -> hpcore.Ensemble:
    return hpcore.normalize(hpcore.load(small_df))


@pytest.fixture
def sel(ens: hpcore.Ensemble) -> hpcore.Selection:
    return hpcore.select(ens, range=(0.5, 1.0))


def find(fig: Figure, gid: str) -> list[object]:
    """Every artist of ``fig`` whose gid is ``gid``."""
    return [a for a in fig.findobj() if a.get_gid() == gid]


def axes_by_gid(fig: Figure, gid: str):  # type: ignore[no-untyped-def]
    (ax,) = [a for a in fig.axes if a.get_gid() == gid]
    return ax


def tick_texts(labels: list[object]) -> list[str]:
    return [t.get_text() for t in labels]  # type: ignore[attr-defined]


def texts(fig: Figure, gid: str) -> list[str]:
    """The strings of the texts of ``fig`` with this gid, in drawing order."""
    return tick_texts(find(fig, gid))


def inside_figure(fig: Figure, artists: list[object]) -> bool:
    """True when every artist's drawn box lies within the figure."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.canvas.get_width_height()
    for a in artists:
        box = a.get_window_extent(renderer)  # type: ignore[attr-defined]
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            return False
    return True


def no_overlap(fig: Figure, texts: list[object]) -> bool:
    """True when no two of the (non-empty) texts' drawn boxes intersect."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [
        t.get_window_extent(renderer)  # type: ignore[attr-defined]
        for t in texts
        if t.get_text() and t.get_visible()  # type: ignore[attr-defined]
    ]
    return not any(
        a.x0 < b.x1 - 0.5
        and b.x0 < a.x1 - 0.5
        and a.y0 < b.y1 - 0.5
        and b.y0 < a.y1 - 0.5
        for a, b in itertools.combinations(boxes, 2)
    )


# ---------------------------------------------------------------- histogram


def test_histogram_bars_are_the_counts_stacked(ens: hpcore.Ensemble) -> None:
    raw = hpcore.histogram(ens, bins=10)
    norm = hpcore.histogram(ens, bins=10, normalized=True)
    fig = render.draw_histogram(raw, norm, metric=ens.metric, group="dataset")
    for gid, table in (("histogram-raw", raw), ("histogram-normalized", norm)):
        ax = axes_by_gid(fig, gid)
        assert [c.get_label() for c in ax.containers] == list(ens.options("dataset"))
        bottom = np.zeros(10)
        for container in ax.containers:
            rows = table[table["group"] == container.get_label()]
            heights = [p.get_height() for p in container.patches]
            assert heights == pytest.approx(rows["count"].tolist())
            assert [p.get_x() for p in container.patches] == pytest.approx(
                rows["bin_left"].tolist()
            )
            widths = (rows["bin_right"] - rows["bin_left"]).tolist()
            assert [p.get_width() for p in container.patches] == pytest.approx(widths)
            assert [p.get_y() for p in container.patches] == pytest.approx(bottom)
            bottom += rows["count"].to_numpy()
        # the stack's top is the total per bin, the axis shows all of it
        assert ax.get_ylim()[1] >= bottom.max()
    ax_raw = axes_by_gid(fig, "histogram-raw")
    assert ax_raw.get_xlabel() == "test_accuracy"
    assert "stacked by dataset" in ax_raw.get_title(loc="left")
    (legend,) = fig.legends
    assert tick_texts(legend.get_texts()) == list(ens.options("dataset"))[::-1]
    assert legend.get_title().get_text() == "dataset"


def test_histogram_group_colours_are_distinct_and_shared(ens: hpcore.Ensemble) -> None:
    raw = hpcore.histogram(ens, bins=5)
    norm = hpcore.histogram(ens, bins=5, normalized=True)
    fig = render.draw_histogram(raw, norm)
    colours = [
        {c.get_label(): c.patches[0].get_facecolor() for c in ax.containers}
        for ax in fig.axes
        if ax.get_gid()
    ]
    assert colours[0] == colours[1]
    assert len(set(colours[0].values())) == 3
    # by name, not by row order: cifar10 < mnist < svhn
    assert colours[0]["cifar10"] == pytest.approx(to_rgba(render.OKABE_ITO[0]))
    assert colours[0]["mnist"] == pytest.approx(to_rgba(render.OKABE_ITO[1]))
    # a caller's colours win
    fig = render.draw_histogram(raw, norm, colors={"mnist": "#123456"})
    (ax,) = [a for a in fig.axes if a.get_gid() == "histogram-raw"]
    found = {c.get_label(): c.patches[0].get_facecolor() for c in ax.containers}
    assert found["mnist"] == pytest.approx(to_rgba("#123456"))


def test_histogram_shades_the_selected_range(
    ens: hpcore.Ensemble, sel: hpcore.Selection
) -> None:
    raw = hpcore.histogram(ens, bins=10)
    norm = hpcore.histogram(ens, bins=10, normalized=True)
    fig = render.draw_histogram(
        raw, norm, selected_range=(0.5, 1.0), selected_count=sel.count
    )
    (span,) = find(fig, "selected-range")
    assert isinstance(span, Rectangle)
    assert (span.get_x(), span.get_x() + span.get_width()) == pytest.approx((0.5, 1.0))
    ax = axes_by_gid(fig, "histogram-normalized")
    assert span in ax.patches
    assert f"{sel.count:,} networks" in ax.get_title(loc="left")
    # bars wholly outside the range are faded, the others are not
    for container in ax.containers:
        for patch in container.patches:
            outside = patch.get_x() + patch.get_width() <= 0.5
            assert (patch.get_alpha() is not None) == outside
    assert not find(fig, "empty-note")


def test_histogram_without_range_or_groups() -> None:
    df = pd.DataFrame({"p": ["a", "b"] * 5, "acc": np.arange(10.0)})
    e = hpcore.normalize(hpcore.load(df))
    fig = render.draw_histogram(
        hpcore.histogram(e, bins=5), hpcore.histogram(e, bins=5, normalized=True)
    )
    assert not find(fig, "selected-range")
    assert fig.legends == []  # one group "all": nothing to tell apart
    ax = axes_by_gid(fig, "histogram-raw")
    assert [p.get_height() for p in ax.containers[0].patches] == [2.0] * 5


def test_histogram_empty_selection_has_a_note(ens: hpcore.Ensemble) -> None:
    raw = hpcore.histogram(ens, bins=4)
    norm = hpcore.histogram(ens, bins=4, normalized=True)
    fig = render.draw_histogram(raw, norm, selected_range=(1, 1), selected_count=0)
    (note,) = find(fig, "empty-note")
    assert note.get_text() == render.EMPTY_NOTE  # type: ignore[attr-defined]


def test_histogram_draws_into_the_callers_figure(ens: hpcore.Ensemble) -> None:
    fig = render.figure_for_pixels(640, 360)
    raw = hpcore.histogram(ens, bins=4)
    norm = hpcore.histogram(ens, bins=4, normalized=True)
    out = render.draw_histogram(raw, norm, fig=fig)
    out = render.draw_histogram(raw, norm, fig=fig)  # redraw: cleared, not doubled
    assert out is fig
    assert tuple(fig.get_size_inches() * fig.dpi) == pytest.approx((640, 360))
    assert len([a for a in fig.axes if a.get_gid()]) == 2


def test_histogram_rejects_a_frame_without_counts(ens: hpcore.Ensemble) -> None:
    raw = hpcore.histogram(ens, bins=4)
    with pytest.raises(
        ColumnError, match=r"raw histogram: missing column\(s\) \['count'\]"
    ):
        render.draw_histogram(raw.drop(columns="count"), raw)


# -------------------------------------------------------------- pair matrix


def block(pairs: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Naive oracle: the (options of b) x (options of a) count block of a pair."""
    rows = pairs[(pairs["param_a"] == a) & (pairs["param_b"] == b)]
    return rows.pivot(index="option_b", columns="option_a", values="count").loc[
        list(dict.fromkeys(rows["option_b"])), list(dict.fromkeys(rows["option_a"]))
    ]


def colorbar_label(fig: Figure) -> str:
    """The colour bar's label, line breaks as spaces (it is wrapped to fit)."""
    bar = axes_by_gid(fig, "pairs-colorbar")
    return " ".join(bar.get_xlabel().split())


def test_pair_matrix_cells_are_the_counts(
    ens: hpcore.Ensemble, sel: hpcore.Selection
) -> None:
    pairs = hpcore.pair_counts(ens, sel)
    fig = render.draw_pair_matrix(pairs)
    params = ens.parameters
    meshes = [a for a in fig.findobj(QuadMesh) if str(a.get_gid()).startswith("pairs:")]
    assert len(meshes) == len(params) * (len(params) - 1) // 2
    vmax = pairs["count"].max()
    for a, b in itertools.combinations(params, 2):
        (mesh,) = find(fig, f"pairs:{a}|{b}")
        expected = block(pairs, a, b).to_numpy(dtype=float)
        got = np.asarray(mesh.get_array()).reshape(expected.shape)  # type: ignore[attr-defined]
        np.testing.assert_array_equal(got, expected)
        assert mesh.norm.vmin == 0 and mesh.norm.vmax == vmax  # type: ignore[attr-defined]
        assert mesh.get_cmap().name.startswith("YlGnBu")  # type: ignore[attr-defined]
        # each cell's colour: YlGnBu at count / max count
        ylgnbu = colormaps["YlGnBu"]
        np.testing.assert_allclose(
            mesh.to_rgba(got.ravel()),  # type: ignore[attr-defined]
            ylgnbu(got.ravel() / vmax),
        )
    assert colorbar_label(fig) == "selected networks with both options"


def test_pair_matrix_is_a_lower_triangle_in_parameter_order(
    ens: hpcore.Ensemble,
) -> None:
    pairs = hpcore.pair_counts(ens)
    fig = render.draw_pair_matrix(pairs)
    params = list(ens.parameters)
    # columns: every parameter but the last; rows: every parameter but the first
    for p in params[:-1]:
        assert texts(fig, f"pair-option-x:{p}") == list(ens.options(p))
    for p in params[1:]:
        assert texts(fig, f"pair-option-y:{p}") == list(ens.options(p))
        assert texts(fig, f"pair-param-y:{p}") == [p]
    assert not find(fig, f"pair-option-x:{params[-1]}")
    assert not find(fig, f"pair-option-y:{params[0]}")
    boxes = {}
    for a, b in itertools.combinations(params, 2):
        (mesh,) = find(fig, f"pairs:{a}|{b}")
        xy = mesh.get_coordinates()  # type: ignore[attr-defined]
        assert xy.shape == (len(ens.options(b)) + 1, len(ens.options(a)) + 1, 2)
        boxes[(a, b)] = (xy[..., 0].min(), xy[..., 1].min())
    for a, b in itertools.combinations(params, 2):
        for c in params:
            if (a, c) in boxes and params.index(c) > params.index(b):
                # same column (a), later row parameter -> lower on screen (y grows)
                assert boxes[(a, c)][1] > boxes[(a, b)][1]
            if (c, b) in boxes and params.index(c) > params.index(a):
                # same row (b), later column parameter -> further right
                assert boxes[(c, b)][0] > boxes[(a, b)][0]
    assert all(texts(fig, f"pair-name:{p}") == [p] for p in params)
    # the cells' coordinates are drawn on screen as the layout says: a later
    # row parameter is lower in the figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    (first,) = find(fig, f"pairs:{params[0]}|{params[1]}")
    (below,) = find(fig, f"pairs:{params[0]}|{params[2]}")
    box_a = first.get_window_extent(renderer)  # type: ignore[attr-defined]
    box_b = below.get_window_extent(renderer)  # type: ignore[attr-defined]
    assert box_b.y1 < box_a.y0


def test_pair_matrix_writes_counts_in_large_cells(
    ens: hpcore.Ensemble, sel: hpcore.Selection
) -> None:
    pairs = hpcore.pair_counts(ens, sel)
    fig = render.draw_pair_matrix(pairs, annotate=True)
    texts = find(fig, "pair-count:optimizer|batch_size")
    expected = block(pairs, "optimizer", "batch_size").to_numpy().ravel()
    assert [int(t.get_text()) for t in texts] == expected.tolist()  # type: ignore[attr-defined]
    assert not find(
        render.draw_pair_matrix(pairs, annotate=False),
        "pair-count:optimizer|batch_size",
    )


def test_pair_matrix_empty_selection(ens: hpcore.Ensemble) -> None:
    pairs = hpcore.pair_counts(ens).assign(count=0)
    fig = render.draw_pair_matrix(pairs)
    (note,) = find(fig, "empty-note")
    assert note.get_text() == render.EMPTY_NOTE  # type: ignore[attr-defined]
    (mesh,) = find(fig, "pairs:dataset|optimizer")
    assert mesh.norm.vmax == 1.0  # type: ignore[attr-defined]
    assert not find(render.draw_pair_matrix(hpcore.pair_counts(ens)), "empty-note")


def test_pair_matrix_leaves_missing_combinations_blank(ens: hpcore.Ensemble) -> None:
    pairs = hpcore.pair_counts(ens).iloc[1:]
    fig = render.draw_pair_matrix(pairs)
    (mesh,) = find(fig, "pairs:dataset|optimizer")
    arr = mesh.get_array()  # type: ignore[attr-defined]
    assert np.ma.is_masked(arr) and arr.mask.ravel()[0]


def test_pair_matrix_bad_frames(ens: hpcore.Ensemble) -> None:
    pairs = hpcore.pair_counts(ens)
    with pytest.raises(ColumnError, match="pair matrix: missing column"):
        render.draw_pair_matrix(pairs.drop(columns="option_b"))
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['enrichment'\]"):
        render.draw_pair_matrix(pairs, value="enrichment")
    with pytest.raises(ColumnError, match="appears more than once"):
        render.draw_pair_matrix(pd.concat([pairs, pairs.iloc[:1]]))
    with pytest.raises(ColumnError, match="must be a pandas DataFrame"):
        render.draw_pair_matrix(pairs.to_dict())  # type: ignore[arg-type]
    with pytest.raises(
        ColumnError, match=rf"`marks` needs one entry per row \({len(pairs)}\); got 2"
    ):
        render.draw_pair_matrix(pairs, marks=[True, False])
    with pytest.raises(ColumnError, match="`scale` must be one of"):
        render.draw_pair_matrix(pairs, scale="log10")  # type: ignore[arg-type]
    importance = pd.DataFrame({"parameter": ["dataset"], "score": [0.1]})
    with pytest.raises(
        ColumnError, match=r"importance: missing column\(s\) \['q_value'\]"
    ):
        render.draw_pair_matrix(pairs, importance=importance)


def thirteen_parameters(n: int = 4000) -> pd.DataFrame:
    """The NWS-like table plus a 13th parameter (dropout, three options)."""
    df = hpcore.synthetic.nws_like(n, seed=1)
    rng = np.random.default_rng(3)
    return df.assign(dropout=rng.choice([0.0, 0.25, 0.5], len(df)))


def option_labels(fig: Figure, params: list[str]) -> list[object]:
    return [
        t
        for p in params
        for axis in ("x", "y")
        for t in find(fig, f"pair-option-{axis}:{p}")
    ]


def name_labels(fig: Figure, params: list[str]) -> list[object]:
    return [
        t
        for p in params
        for kind in ("pair-param-x", "pair-param-y", "pair-name")
        for t in find(fig, f"{kind}:{p}")
    ]


def test_pair_matrix_with_13_parameters_is_readable() -> None:
    ens13 = hpcore.normalize(hpcore.load(thirteen_parameters()))
    assert len(ens13.parameters) == 13
    params = list(ens13.parameters)
    sel13 = hpcore.select(ens13, range=(0.8, 1.0))
    pairs = hpcore.pair_counts(ens13, sel13)
    fig = render.draw_pair_matrix(pairs)
    fig.canvas.draw()
    n_opts = sum(len(ens13.options(p)) for p in params)
    assert n_opts >= 40
    xs = [t for p in params for t in find(fig, f"pair-option-x:{p}")]
    ys = [t for p in params for t in find(fig, f"pair-option-y:{p}")]
    assert len(xs) + len(ys) == 2 * n_opts - len(ens13.options(params[0])) - len(
        ens13.options(params[-1])
    )
    assert min(t.get_fontsize() for t in xs + ys) >= 7  # type: ignore[attr-defined]
    assert no_overlap(fig, xs)
    assert no_overlap(fig, ys)
    # option labels and parameter names never cover each other
    names = name_labels(fig, params)
    assert no_overlap(fig, names + xs)
    assert no_overlap(fig, names + ys)
    assert inside_figure(fig, xs + ys + names)
    # issue 10 #22: sized to its content, readable on a page or a slide
    w, h = fig.get_size_inches()
    assert w < 13 and h < 13


def test_pair_matrix_in_a_small_pixel_canvas_scales_fonts_down() -> None:
    ens13 = hpcore.normalize(hpcore.load(thirteen_parameters(2000)))
    pairs = hpcore.pair_counts(ens13)
    big = render.draw_pair_matrix(pairs)
    small = render.draw_pair_matrix(pairs, fig=render.figure_for_pixels(700, 600))

    def size(f: Figure) -> float:
        return find(f, "pair-option-y:lrate")[0].get_fontsize()  # type: ignore[attr-defined]

    assert size(small) < size(big)
    assert tuple(small.get_size_inches() * small.dpi) == pytest.approx((700, 600))
    small.canvas.draw()
    params = list(ens13.parameters)
    assert inside_figure(small, option_labels(small, params))


def test_a_canvas_too_small_shows_all_of_the_matrix_and_warns() -> None:
    ens13 = hpcore.normalize(hpcore.load(thirteen_parameters(1000)))
    pairs = hpcore.pair_counts(ens13)
    fig = render.draw_pair_matrix(pairs, fig=render.figure_for_pixels(320, 240))
    with pytest.warns(UserWarning, match="canvas is too small for this figure"):
        fig.canvas.draw()
    meshes = [m for m in fig.findobj(QuadMesh) if str(m.get_gid()).startswith("pairs:")]
    assert inside_figure(fig, meshes)  # all of it, if not legible
    roomy = render.draw_pair_matrix(pairs, fig=render.figure_for_pixels(1400, 1200))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roomy.canvas.draw()


def hand_pairs(values: list[float], column: str = "enrichment") -> pd.DataFrame:
    """Two parameters (a: x, y, z; b: u, v) with the given cell values."""
    return pd.DataFrame(
        {
            "param_a": ["a"] * 6,
            "option_a": ["x", "x", "y", "y", "z", "z"],
            "param_b": ["b"] * 6,
            "option_b": ["u", "v"] * 3,
            "count": [4, 1, 0, 2, 3, 0],
            column: values,
        }
    )


def test_pair_matrix_log2_scale_by_hand() -> None:
    # enrichment 4, 1/2, 0 (count 0, expected > 0), 1, NaN (expected 0), 2
    pairs = hand_pairs([4.0, 0.5, 0.0, 1.0, np.nan, 2.0])
    fig = render.draw_pair_matrix(pairs, value="enrichment", scale="log2")
    (mesh,) = find(fig, "pairs:a|b")
    # rows: options of b (u, v); columns: options of a (x, y, z)
    arr = mesh.get_array()  # type: ignore[attr-defined]
    got = np.ma.filled(np.ma.asarray(arr).astype(float), np.nan).reshape(2, 3)
    # log2; the 0 is drawn at the lower limit -2 (= -max |log2| = -log2 4)
    expected = np.array([[2.0, -2.0, np.nan], [-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(got, expected)
    assert np.ma.getmaskarray(arr).reshape(2, 3)[0, 2]  # NaN: a blank cell
    assert (mesh.norm.vmin, mesh.norm.vmax) == (-2.0, 2.0)  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        mesh.to_rgba([-2.0, 0.0, 2.0]),  # type: ignore[attr-defined]
        colormaps["RdBu"]([0.0, 0.5, 1.0]),
    )
    bar = axes_by_gid(fig, "pairs-colorbar")
    fig.canvas.draw()
    assert tick_texts(bar.get_xticklabels()) == ["1/4", "1/2", "1", "2", "4"]
    assert colorbar_label(fig) == "enrichment"
    # a caller's limit wins; values beyond it saturate
    fixed = render.draw_pair_matrix(pairs, value="enrichment", scale="log2", limit=1)
    (mesh,) = find(fixed, "pairs:a|b")
    assert (mesh.norm.vmin, mesh.norm.vmax) == (-1.0, 1.0)  # type: ignore[attr-defined]
    assert np.nanmin(np.asarray(mesh.get_array(), dtype=float)) == -1.0  # type: ignore[attr-defined]


def test_pair_matrix_diverging_scale_is_symmetric() -> None:
    pairs = hand_pairs([0.1, -0.3, 0.0, 0.05, np.nan, 0.2], column="difference")
    fig = render.draw_pair_matrix(
        pairs, value="difference", scale="diverging", number_format="{:+.0%}"
    )
    (mesh,) = find(fig, "pairs:a|b")
    assert (mesh.norm.vmin, mesh.norm.vmax) == pytest.approx((-0.3, 0.3))  # type: ignore[attr-defined]
    arr = np.asarray(mesh.get_array(), dtype=float).reshape(2, 3)  # type: ignore[attr-defined]
    np.testing.assert_allclose(arr[1], [-0.3, 0.05, 0.2])
    texts = tick_texts(find(fig, "pair-count:a|b"))
    assert texts == ["+10%", "+0%", "-30%", "+5%", "+20%"]  # NaN: no number
    bar = axes_by_gid(fig, "pairs-colorbar")
    fig.canvas.draw()
    labels = [t for t in tick_texts(bar.get_xticklabels()) if t]
    assert "0%" in labels and all(t.endswith("%") for t in labels)
    # no count column: "empty" follows the values, or the caller
    assert not find(fig, "empty-note")
    empty = render.draw_pair_matrix(
        pairs, value="difference", scale="diverging", empty=True
    )
    assert find(empty, "empty-note")


def test_pair_matrix_marks_and_their_key() -> None:
    pairs = hand_pairs([4.0, 0.5, 0.0, 1.0, np.nan, 2.0])
    marked = [True, False, True, False, False, True]
    for annotate in (True, False):
        fig = render.draw_pair_matrix(
            pairs, marks=marked, mark_label="q < 0.05: chance", annotate=annotate
        )
        (dots,) = find(fig, "pair-marks:a|b")
        assert isinstance(dots, PathCollection)
        (mesh,) = find(fig, "pairs:a|b")
        xy = mesh.get_coordinates()  # type: ignore[attr-defined]
        xs, ys = xy[0, :, 0], xy[:, 0, 1]
        inside = []
        for x, y in np.asarray(dots.get_offsets()):
            col, row = np.searchsorted(xs, x) - 1, np.searchsorted(ys, y) - 1
            assert xs[col] < x < xs[col + 1] and ys[row] < y < ys[row + 1]
            inside.append((int(row), int(col)))
        # marked rows 0, 2, 5: (u, x), (u, y), (v, z)
        assert sorted(inside) == [(0, 0), (0, 1), (1, 2)]
        (label,) = find(fig, "pair-mark-label")
        assert label.get_text() == "q < 0.05: chance"  # type: ignore[attr-defined]
        (key,) = find(fig, "pair-mark-key")
        assert tuple(key.get_facecolor()[0]) == to_rgba(render.MARK_COLOUR)  # type: ignore[attr-defined]
        assert tuple(dots.get_facecolor()[0]) == to_rgba(render.MARK_COLOUR)
        # the colour bar lies in the side block, horizontal
        assert colorbar_label(fig) == render.COUNT_LABEL
    plain = render.draw_pair_matrix(pairs)
    assert not find(plain, "pair-marks:a|b") and not find(plain, "pair-mark-label")


def importance_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "parameter": ["optimizer", "batch_size", "dataset"],
            "score": [0.3, 0.12, 0.01],
            "q_value": [0.0001, 0.04, 0.7],
            "top_option": ["ADAM", "32", "mnist"],
            "top_enrichment": [1.5, 1.2, 1.01],
        }
    )


def test_importance_panel_bars_are_the_scores(ens: hpcore.Ensemble) -> None:
    imp = importance_frame()
    for fig in (
        render.draw_importance(imp, alpha=0.05),
        render.draw_pair_matrix(hpcore.pair_counts(ens), importance=imp),
    ):
        ax = axes_by_gid(fig, "pairs-importance")
        assert tick_texts(ax.get_yticklabels()) == imp["parameter"].tolist()
        for i, row in imp.iterrows():
            (bar,) = find(fig, f"importance-bar:{row['parameter']}")
            assert bar.get_width() == pytest.approx(row["score"])  # type: ignore[attr-defined]
            assert bar.get_y() + bar.get_height() / 2 == pytest.approx(i)  # type: ignore[attr-defined]
            colour = render.IMPORTANCE_COLOURS[0 if row["q_value"] < 0.05 else 1]
            assert bar.get_facecolor() == pytest.approx(to_rgba(colour))  # type: ignore[attr-defined]
        notes = [
            find(fig, f"importance-note:{p}")[0].get_text()  # type: ignore[attr-defined]
            for p in imp["parameter"]
        ]
        assert notes == [
            "q < 0.001   ADAM \u00d71.50",
            "q = 0.04   32 \u00d71.20",
            "q = 0.7   mnist \u00d71.01",
        ]
        assert ax.get_ylim()[0] > ax.get_ylim()[1]  # strongest on top
    # a stricter alpha turns the second bar light
    fig = render.draw_importance(imp, alpha=0.01)
    (bar,) = find(fig, "importance-bar:batch_size")
    assert bar.get_facecolor() == pytest.approx(to_rgba(render.IMPORTANCE_COLOURS[1]))  # type: ignore[attr-defined]


def test_the_groups_importance_bar_is_grey_and_explained(ens: hpcore.Ensemble) -> None:
    """The group the metric is normalized within is drawn apart (its shares
    follow from the normalization), in the panel alone and beside the matrix;
    the panel is as wide as its title."""
    from hpcore.views.importance import GROUP_BAR, ImportancePanel
    from hpcore.views.text import text_width

    imp = importance_frame()  # parameters optimizer, batch_size, dataset
    for fig in (
        render.draw_importance(imp, group="dataset"),
        render.draw_pair_matrix(
            hpcore.pair_counts(ens), importance=imp, group="dataset"
        ),
    ):
        (bar,) = find(fig, "importance-bar:dataset")
        assert bar.get_facecolor() == pytest.approx(to_rgba(GROUP_BAR))  # type: ignore[attr-defined]
        (top,) = find(fig, "importance-bar:optimizer")
        colour = render.IMPORTANCE_COLOURS[0]
        assert top.get_facecolor() == pytest.approx(to_rgba(colour))  # type: ignore[attr-defined]
        (text,) = find(fig, "importance-explanation")
        assert "Grey: dataset" in text.get_text().replace("\n", " ")  # type: ignore[attr-defined]
    (text,) = find(render.draw_importance(imp), "importance-explanation")
    assert "Grey" not in text.get_text()  # type: ignore[attr-defined]
    panel = ImportancePanel(imp.iloc[:1], 0.05, 10.0)
    assert panel.width >= text_width(panel.title, 10.0, True)


def test_pair_matrix_with_statistics_13_parameters_is_readable() -> None:
    ens13 = hpcore.normalize(hpcore.load(thirteen_parameters()))
    params = list(ens13.parameters)
    sel13 = hpcore.select(ens13, range=(0.8, 1.0))
    pairs = hpcore.pair_counts(ens13, sel13)
    imp = pd.DataFrame(
        {
            "parameter": params,
            "score": np.linspace(0.3, 0.0, 13),
            "q_value": np.linspace(0.0, 1.0, 13),
            "top_option": [ens13.options(p)[-1] for p in params],
            "top_enrichment": np.linspace(2.0, 1.0, 13),
        }
    )
    fig = render.draw_pair_matrix(
        pairs,
        marks=np.arange(len(pairs)) % 7 == 0,
        mark_label="q < 0.05: more or fewer than chance\n(exact test, BH)",
        importance=imp,
    )
    fig.canvas.draw()
    side = axes_by_gid(fig, "pairs-importance")
    bar = axes_by_gid(fig, "pairs-colorbar")
    notes = [t for p in params for t in find(fig, f"importance-note:{p}")]
    key = find(fig, "pair-mark-label")
    side_texts = [*notes, *key, bar.xaxis.label, *find(fig, "importance-explanation")]
    assert no_overlap(fig, side.get_yticklabels() + notes)
    assert no_overlap(fig, side_texts)
    # the side block shares no room with the matrix' labels and cells
    matrix = option_labels(fig, params) + name_labels(fig, params)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    meshes = [m for m in fig.findobj(QuadMesh) if str(m.get_gid()).startswith("pairs:")]
    boxes = [
        a.get_window_extent(renderer)  # type: ignore[attr-defined]
        for a in [*side_texts, side, bar, *side.get_yticklabels()]
    ]
    for other in matrix + meshes:
        b = other.get_window_extent(renderer)  # type: ignore[attr-defined]
        assert not any(
            a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1 for a in boxes
        ), other
    assert inside_figure(fig, [*side_texts, side, bar, *matrix])
    # issue 10 #22: the side block sits in the matrix' empty upper triangle
    # (left of the matrix' right edge), not in a column of its own
    right = max(m.get_window_extent(renderer).x1 for m in meshes)  # type: ignore[attr-defined]
    assert side.get_window_extent(renderer).x0 < right
    assert min(t.get_fontsize() for t in option_labels(fig, params)) >= 7  # type: ignore[attr-defined]
    w, h = fig.get_size_inches()
    assert w < 14 and h < 14


# ------------------------------------------------------------------ trellis


def panel_of(fig: Figure, param: str, prim: str) -> Rectangle:
    """The panel of (param, prim): a Rectangle in the panel's data coordinates."""
    (panel,) = find(fig, f"trellis:{param}|{prim}")
    assert isinstance(panel, Rectangle)
    return panel


def ylim(panel: Rectangle) -> tuple[float, float]:
    return (panel.get_y(), panel.get_y() + panel.get_height())


def test_trellis_markers_sit_at_the_means(
    ens: hpcore.Ensemble, sel: hpcore.Selection
) -> None:
    table = hpcore.trellis(ens, sel, primary="dataset", secondary="optimizer")
    fig = render.draw_trellis(table, primary_name="dataset", secondary_name="optimizer")
    params = ["batch_size", "augmentation"]
    panels = [
        a for a in fig.findobj(Rectangle) if str(a.get_gid()).startswith("trellis:")
    ]
    assert len(panels) == 3 * len(params)
    secondaries = list(ens.options("optimizer"))
    shifts: dict[str, set[float]] = {s: set() for s in secondaries}
    for param, prim in itertools.product(params, ens.options("dataset")):
        panel = panel_of(fig, param, prim)
        opts = list(ens.options(param))
        # the panel spans the option slots -0.5 .. n - 0.5
        assert (panel.get_x(), panel.get_width()) == (-0.5, len(opts))
        for sec in secondaries:
            rows = table[
                (table["parameter"] == param)
                & (table["primary"] == prim)
                & (table["secondary"] == sec)
            ]
            drawn = rows[rows["count"] > 0]
            found = find(fig, f"trellis-points:{param}|{prim}|{sec}")
            if drawn.empty:  # no empty collections (they break a tight bbox)
                assert found == []
                continue
            (points,) = found
            assert isinstance(points, PathCollection)
            # the marks share the panel's transform: (option position, mean)
            np.testing.assert_allclose(
                points.get_offset_transform().get_matrix(),
                panel.get_data_transform().get_matrix(),
            )
            xy = points.get_offsets()
            slots = [opts.index(o) for o in drawn["option"]]
            np.testing.assert_array_equal(np.round(xy[:, 0]), slots)
            shifts[sec] |= {round(float(v), 9) for v in xy[:, 0] - slots}
            np.testing.assert_allclose(xy[:, 1], drawn["mean"])
            # open markers exactly where fewer than LOW_COUNT networks
            faces = points.get_facecolors()
            open_ = [tuple(f) == to_rgba("white") for f in faces]
            assert open_ == (drawn["count"] < render.LOW_COUNT).tolist()
    # each secondary option has one horizontal shift, in order, centred
    shift = [next(iter(shifts[s])) for s in secondaries]
    assert all(len(shifts[s]) == 1 for s in secondaries)
    assert shift == sorted(shift) and shift[0] == pytest.approx(-shift[-1])
    # one marker shape and colour per secondary option, as in the legend
    (legend,) = fig.legends
    labels = tick_texts(legend.get_texts())
    assert labels[: len(secondaries)] == secondaries
    assert legend.get_title().get_text() == "optimizer"
    handles = legend.legend_handles[: len(secondaries)]
    assert len({h.get_marker() for h in handles}) == len(secondaries)
    assert len({h.get_color() for h in handles}) == len(secondaries)
    for m, sec in enumerate(secondaries):
        (points,) = find(fig, f"trellis-points:batch_size|mnist|{sec}")
        assert to_rgba(points.get_edgecolor()[0]) == pytest.approx(
            to_rgba(handles[m].get_color())
        )
        assert handles[m].get_marker() == render.MARKERS[m]
        style = MarkerStyle(render.MARKERS[m])
        expected = style.get_path().transformed(style.get_transform())
        np.testing.assert_allclose(points.get_paths()[0].vertices, expected.vertices)


def test_trellis_layout_and_labels(ens: hpcore.Ensemble) -> None:
    table = hpcore.trellis(ens, primary="dataset")
    fig = render.draw_trellis(table, primary_name="dataset")
    params = ["optimizer", "batch_size", "augmentation"]
    prims = list(ens.options("dataset"))
    grid = {
        str(a.get_gid()): a
        for a in fig.findobj(Rectangle)
        if str(a.get_gid()).startswith("trellis:")
    }
    assert set(grid) == {f"trellis:{p}|{q}" for p in params for q in prims}
    # titles on top, option labels at the bottom, rows labelled
    for p in params:
        assert texts(fig, f"trellis-title:{p}") == [p]
        assert texts(fig, f"trellis-option:{p}") == list(ens.options(p))
    for q in prims:
        assert texts(fig, f"trellis-row:{q}") == [f"dataset = {q}"]
    assert fig.get_supylabel() == "mean normalized metric"
    # all panels share the mean axis, labelled left of every row
    assert len({ylim(a) for a in grid.values()}) == 1
    ticks = texts(fig, "trellis-value-tick")
    assert len(ticks) % len(prims) == 0 and len(ticks) >= 2 * len(prims)
    # without a secondary: one marker set per panel and no colour legend
    assert len(find(fig, "trellis-points:optimizer|mnist|")) == 1
    assert all(
        "fewer than" in t.get_text() for lg in fig.legends for t in lg.get_texts()
    )
    # every label inside the figure, titles and option labels apart
    fig.canvas.draw()
    titles = [t for p in params for t in find(fig, f"trellis-title:{p}")]
    options = [t for p in params for t in find(fig, f"trellis-option:{p}")]
    assert no_overlap(fig, titles) and no_overlap(fig, options)
    assert inside_figure(fig, titles + options)


def test_trellis_leaves_empty_cells_out() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["batch"] * 4,
            "option": ["32", "32", "64", "64"],
            "primary": ["a", "b", "a", "b"],
            "secondary": [None] * 4,
            "mean": [0.5, np.nan, 0.25, 0.75],
            "count": [3, 0, 10, 12],
        }
    )
    fig = render.draw_trellis(table, value_label="mean normalized acc")
    (pa,) = find(fig, "trellis-points:batch|a|")
    (pb,) = find(fig, "trellis-points:batch|b|")
    np.testing.assert_allclose(pa.get_offsets(), [[0, 0.5], [1, 0.25]])  # type: ignore[attr-defined]
    np.testing.assert_allclose(pb.get_offsets(), [[1, 0.75]])  # type: ignore[attr-defined]
    (line,) = find(fig, "trellis-line:batch|b|")
    assert np.isnan(line.get_ydata()[0])  # type: ignore[attr-defined]
    assert fig.get_supylabel() == "mean normalized acc"
    assert not find(fig, "empty-note")


def trellis_frame(options: list[str], means: list[float]) -> pd.DataFrame:
    n = len(options)
    return pd.DataFrame(
        {
            "parameter": ["p"] * n,
            "option": options,
            "primary": ["a"] * n,
            "secondary": [None] * n,
            "mean": means,
            "count": [20] * n,
        }
    )


@pytest.mark.parametrize(
    ("options", "ordered"),
    [
        (["32", "64", "128"], True),
        (["0.001", "2.6e-05", "-3"], True),
        (["[0.000201, 0.00116)", "[0.00116, 0.005]"], True),
        (["2–4", "5–8", "22.3k–240k"], True),
        (["False", "True"], True),
        (["32", "64", "missing"], True),
        (["ReLU", "ELU", "Sigmoid", "TanH"], False),
        (["ADAM", "RMSProp", "Momentum SGD"], False),
        (["3", "five"], False),
    ],
)
def test_lines_join_only_ordered_options(options: list[str], ordered: bool) -> None:
    """Issue 10 #20: a line between nominal options draws a shape only their
    order makes; numbers, bins and booleans are joined."""
    assert render_trellis.is_ordered(options) is ordered
    fig = render.draw_trellis(
        trellis_frame(options, list(np.linspace(0.2, 0.8, len(options))))
    )
    assert bool(find(fig, "trellis-line:p|a|")) is ordered
    # the caller can say which parameters are ordered, or switch lines off
    forced = render.draw_trellis(
        trellis_frame(options, [0.5] * len(options)), ordered=[] if ordered else ["p"]
    )
    assert bool(find(forced, "trellis-line:p|a|")) is not ordered
    off = render.draw_trellis(trellis_frame(options, [0.5] * len(options)), lines=False)
    assert not find(off, "trellis-line:p|a|")


def test_trellis_draws_confidence_bars_above_the_markers() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["opt", "opt"],
            "option": ["adam", "sgd"],
            "primary": ["a", "a"],
            "secondary": [None, None],
            "mean": [0.5, 0.6],
            "count": [10, 10],
            "ci_low": [0.47, 0.59],
            "ci_high": [0.53, 0.61],
        }
    )
    fig = render.draw_trellis(table)
    (bars,) = find(fig, "trellis-ci:opt|a|")
    (points,) = find(fig, "trellis-points:opt|a|")
    assert isinstance(bars, LineCollection)
    segs = bars.get_segments()
    # the intervals first (one vertical bar per cell), then a cap per end
    np.testing.assert_allclose(
        [s[:, 1] for s in segs[:2]], [[0.47, 0.53], [0.59, 0.61]]
    )
    np.testing.assert_allclose([s[:, 0] for s in segs[:2]], [[0, 0], [1, 1]])
    caps = segs[2:]
    assert sorted(float(c[0, 1]) for c in caps) == [0.47, 0.53, 0.59, 0.61]
    # dots never hide their intervals: the bars are drawn over the markers and
    # every cap is wider than a marker
    assert bars.get_zorder() > points.get_zorder()
    panel = panel_of(fig, "opt", "a")
    to_px = panel.get_data_transform()
    marker_px = np.sqrt(points.get_sizes()[0]) * fig.dpi / 72
    for cap in caps:
        (x0, _), (x1, _) = to_px.transform(cap)
        assert abs(x1 - x0) > marker_px
    (legend,) = fig.legends
    assert tick_texts(legend.get_texts()) == ["confidence interval of the mean"]
    # issue 10 #20: the legend shows a marker with its interval, not a lone "|"
    (handle,) = legend.legend_handles
    assert not (isinstance(handle, Line2D) and handle.get_marker() == "|")
    labelled = render.draw_trellis(table, ci_label="95% t-interval")
    assert tick_texts(labelled.legends[0].get_texts()) == ["95% t-interval"]


def test_trellis_axis_stays_on_the_means_and_marks_cut_intervals() -> None:
    """Issue 10 #20: cells with few networks (wide intervals) must not squash
    the means into a sliver of the axis; the cut intervals are marked."""
    table = pd.DataFrame(
        {
            "parameter": ["opt"] * 4,
            "option": ["adam", "sgd", "rms", "ada"],
            "primary": ["a"] * 4,
            "secondary": [None] * 4,
            "mean": [0.62, 0.58, 0.60, 0.61],
            "count": [2, 3, 400, 500],
            # two networks: no interval; three: a huge one; many: narrow ones
            "ci_low": [np.nan, -0.5, 0.595, 0.605],
            "ci_high": [np.nan, 1.6, 0.605, 0.615],
        }
    )
    fig = render.draw_trellis(table)
    low, high = ylim(panel_of(fig, "opt", "a"))
    assert 0.5 < low < 0.58 and 0.62 < high < 0.7  # the means, not [0, 1]
    (bars,) = find(fig, "trellis-ci:opt|a|")
    segs = bars.get_segments()  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        [s[:, 1] for s in segs[:3]], [[-0.5, 1.6], [0.595, 0.605], [0.605, 0.615]]
    )
    # the interval cut at both ends: one mark at each end, at the panel's edges
    (cut,) = find(fig, "trellis-ci-clipped:opt|a|")
    ends = np.asarray(cut.get_offsets())  # type: ignore[attr-defined]
    assert ends[:, 0].tolist() == [1.0, 1.0]
    assert ends[0, 1] == pytest.approx(low, abs=0.05 * (high - low))
    assert ends[1, 1] == pytest.approx(high, abs=0.05 * (high - low))
    (legend,) = fig.legends
    assert "interval beyond the axis" in tick_texts(legend.get_texts())


def test_trellis_confidence_bars_skip_missing_and_stay_in_unit_range() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["opt"] * 3,
            "option": ["adam", "sgd", "rms"],
            "primary": ["a"] * 3,
            "secondary": [None] * 3,
            "mean": [0.9, 0.5, 0.99],
            "count": [1, 30, 40],
            # one network: no interval; the others reach beyond [0, 1]
            "ci_low": [np.nan, -0.4, 0.97],
            "ci_high": [np.nan, 1.4, 1.01],
        }
    )
    fig = render.draw_trellis(table)
    (bars,) = find(fig, "trellis-ci:opt|a|")
    segs = bars.get_segments()  # type: ignore[attr-defined]
    np.testing.assert_allclose([s[:, 1] for s in segs[:2]], [[-0.4, 1.4], [0.97, 1.01]])
    np.testing.assert_allclose([s[0, 0] for s in segs[:2]], [1.0, 2.0])
    low, high = ylim(panel_of(fig, "opt", "a"))
    assert low >= 0.0 and high <= 1.0  # a normalized metric keeps its [0, 1] axis
    # no interval anywhere: no legend entry for it
    bare = render.draw_trellis(table.assign(ci_low=np.nan, ci_high=np.nan))
    assert all(
        "interval" not in t.get_text() for lg in bare.legends for t in lg.get_texts()
    )


def test_trellis_empty_selection(ens: hpcore.Ensemble) -> None:
    nothing = hpcore.select(ens, range=(0.0, 1.0), where={"dataset": ["mnist"]})
    table = hpcore.trellis(ens, nothing, primary="dataset")
    table = table.assign(mean=np.nan, count=0)
    fig = render.draw_trellis(table)
    assert find(fig, "empty-note")
    assert not [c for c in fig.findobj(PathCollection) if c.get_gid()]
    # a figure with nothing in it still saves with a "tight" bounding box
    fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")


def test_a_trellis_row_without_a_selected_network_says_so(
    ens: hpcore.Ensemble,
) -> None:
    """A row whose panels would be blank carries the note, centred on the
    row; filled rows carry none, and with nothing selected at all the figure
    says it once."""
    table = hpcore.trellis(ens, hpcore.select(ens, range=(0.0, 1.0)), primary="dataset")
    rows = [str(p) for p in pd.unique(table["primary"])]
    empty_row = table["primary"].astype(str).to_numpy() == rows[1]
    table = table.assign(
        mean=np.where(empty_row, np.nan, table["mean"]),
        count=np.where(empty_row, 0, table["count"]),
    )
    fig = render.draw_trellis(table, primary_name="dataset")
    (note,) = find(fig, f"trellis-empty:{rows[1]}")
    assert note.get_text() == render.EMPTY_NOTE
    assert not find(fig, "empty-note")
    assert not [
        a for p in rows if p != rows[1] for a in find(fig, f"trellis-empty:{p}")
    ]
    # centred on its row: between the row's label's ends, left of it
    fig.canvas.draw()
    (label,) = find(fig, f"trellis-row:{rows[1]}")
    box = note.get_window_extent()
    row_box = label.get_window_extent()
    assert row_box.y0 <= (box.y0 + box.y1) / 2 <= row_box.y1
    assert box.x1 < row_box.x0

    full = hpcore.trellis(ens, hpcore.select(ens, range=(0.0, 1.0)), primary="dataset")
    fig = render.draw_trellis(full, primary_name="dataset")
    assert not [a for p in rows for a in find(fig, f"trellis-empty:{p}")]

    nothing = full.assign(mean=np.nan, count=0)
    fig = render.draw_trellis(nothing, primary_name="dataset")
    assert find(fig, "empty-note")
    assert not [a for p in rows for a in find(fig, f"trellis-empty:{p}")]


def test_trellis_13_parameters_labels_do_not_overlap() -> None:
    ens13 = hpcore.normalize(hpcore.load(thirteen_parameters()))
    sel13 = hpcore.select(ens13, range=(0.8, 1.0))
    table = hpcore.trellis(ens13, sel13, primary="dataset", secondary="optimizer")
    fig = render.draw_trellis(table, primary_name="dataset", secondary_name="optimizer")
    fig.canvas.draw()
    params = [p for p in ens13.parameters if p not in ("dataset", "optimizer")]
    panels = [
        a for a in fig.findobj(Rectangle) if str(a.get_gid()).startswith("trellis:")
    ]
    assert len(panels) == 5 * 11
    titles = [t for p in params for t in find(fig, f"trellis-title:{p}")]
    assert len(titles) == 11 and no_overlap(fig, titles)
    options = [t for p in params for t in find(fig, f"trellis-option:{p}")]
    assert no_overlap(fig, options)
    # issue 10 #20: one rotation for every panel's option labels
    assert len({t.get_rotation() for t in options}) == 1  # type: ignore[attr-defined]
    assert inside_figure(fig, titles + options)
    w, h = fig.get_size_inches()
    assert w < 16 and h < 12


def test_figure_size_grows_with_options(ens: hpcore.Ensemble) -> None:
    ens13 = hpcore.normalize(hpcore.load(thirteen_parameters(2000)))
    small = render.figure_size_for("pairs", hpcore.pair_counts(ens))
    big = render.figure_size_for("pairs", hpcore.pair_counts(ens13))
    assert big[0] > small[0] and big[1] > small[1]
    t_small = render.figure_size_for("trellis", hpcore.trellis(ens, primary="dataset"))
    t_big = render.figure_size_for("trellis", hpcore.trellis(ens13, primary="dataset"))
    assert t_big[0] > t_small[0]
    with pytest.raises(ColumnError, match="`kind` must be one of"):
        render.figure_size_for("bars", hpcore.pair_counts(ens))  # type: ignore[arg-type]


def test_render_never_touches_pyplot() -> None:
    code = (
        "import sys, pandas as pd, hpcore\n"
        "from hpcore import views as render\n"
        "e = hpcore.normalize(hpcore.load(pd.DataFrame("
        "{'p': list('abab'), 'q': list('xxyy'), 'acc': [1., 2., 3., 4.]})))\n"
        "render.draw_pair_matrix(hpcore.pair_counts(e), marks=[True, False] * 2,"
        " importance=pd.DataFrame({'parameter': ['p'], 'score': [0.1],"
        " 'q_value': [0.5]}))\n"
        "render.draw_trellis(hpcore.trellis(e, primary='p'))\n"
        "h = hpcore.histogram\n"
        "render.draw_histogram(h(e), h(e, normalized=True))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_bar_patches_are_rectangles_with_gids(ens: hpcore.Ensemble) -> None:
    raw = hpcore.histogram(ens, bins=3)
    fig = render.draw_histogram(raw, hpcore.histogram(ens, bins=3, normalized=True))
    (bar,) = find(fig, "bar:raw:svhn:2")
    assert isinstance(bar, Rectangle)
    expected = raw[(raw["group"] == "svhn")]["count"].iloc[2]
    assert bar.get_height() == expected


def test_the_overlap_check_can_fail() -> None:
    fig = render.new_figure(3, 2)
    a = fig.text(0.5, 0.5, "parameter")
    b = fig.text(0.52, 0.5, "option")
    c = fig.text(0.1, 0.1, "far")
    assert not no_overlap(fig, [a, b])
    assert no_overlap(fig, [a, c])


def test_a_one_panel_trellis_keeps_its_legend_and_notes_inside() -> None:
    """Two parameters (the group and one more): the legend's entries and the
    line under the trellis are wider than its one panel; the figure widens
    its margins instead of cutting them at its edges."""
    from matplotlib.text import Text

    from hpcore.app import report as rep

    rng = np.random.default_rng(2)
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], 300),
            "opt": rng.choice(["adam", "sgd"], 300),
            "test_acc": rng.normal(0.9, 0.01, 300),
        }
    )
    ens = hpcore.normalize(hpcore.load(df))
    fig = rep.draw_report(rep.build_report(ens))["trellis"]
    fig.canvas.draw()  # type: ignore[no-untyped-call]
    width = fig.bbox.width
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert any("selected networks" in t.get_text() for t in texts)
    for t in texts:
        box = t.get_window_extent()
        assert box.x0 >= -1 and box.x1 <= width + 1, t.get_text()
