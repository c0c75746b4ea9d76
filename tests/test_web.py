"""hpcore.views.web: the browser view's models hold the tables' numbers.

Checked on the models (as the page's data sources hold them), not on pixels;
``test_serve_browser.py`` checks the page in a real browser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hpcore
from hpcore.analysis.tables import compute_tables

pytest.importorskip("bokeh", reason="the browser view needs the 'serve' extra")

from bokeh.core.validation.check import check_integrity
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Label

from hpcore.views import web
from hpcore.views.importance import GROUP_BAR
from hpcore.views.style import EMPTY_NOTE, IMPORTANCE_COLOURS
from hpcore.views.trellis import is_ordered


@pytest.fixture(scope="module")
def ens() -> hpcore.Ensemble:
    df = hpcore.synthetic.nws_like(2500, seed=5)
    cols = ["dataset", "lrate", "optimizer", "activation", "initialization"]
    return hpcore.normalize(hpcore.load(df[[*cols, "test_accuracy"]]))


@pytest.fixture(scope="module")
def tables(ens: hpcore.Ensemble) -> hpcore.analysis.tables.ReportTables:
    sel = hpcore.select(ens, range=(0.6, 1.0), where={"dataset": ["cifar10", "stl10"]})
    return compute_tables(ens, sel, primary="dataset", secondary="optimizer")


def test_histogram_bars_stack_the_groups_in_order(
    tables: hpcore.analysis.tables.ReportTables, ens: hpcore.Ensemble
) -> None:
    hist = tables.histogram_normalized
    groups = list(ens.options("dataset"))
    data = web.histogram_data(hist, groups)
    ColumnDataSource(data=data)  # valid columns (Bokeh validates them here)
    frame = pd.DataFrame(data)
    # the groups the filter keeps (cifar10, stl10) and only those: the
    # legend is built from the bars and named the others too
    assert set(frame["group"]) == {"cifar10", "stl10"}
    kept = hist[hist["group"].astype(str).isin(["cifar10", "stl10"])]
    assert hist[~hist.index.isin(kept.index)]["count"].sum() == 0
    colours = web.group_colours(groups)  # the colours of all groups
    assert set(zip(frame["group"], frame["colour"], strict=True)) == {
        (g, colours[g]) for g in ("cifar10", "stl10")
    }
    # every (group, bin) of those once, counts as in the table
    merged = frame.merge(kept.astype({"group": str}), on=["group", "bin_left"])
    assert len(merged) == len(kept)
    assert (merged["count_x"] == merged["count_y"]).all()
    # naive stacking: bottom = counts of the groups before it in that bin
    rank = {g: i for i, g in enumerate(groups)}
    for _, row in frame.iterrows():
        same = hist[hist["bin_left"] == row["bin_left"]]
        below = same[same["group"].astype(str).map(rank) < rank[row["group"]]]
        assert row["bottom"] == below["count"].sum()
        assert row["top"] == row["bottom"] + row["count"]


def test_matrix_cells_are_the_pair_table(
    tables: hpcore.analysis.tables.ReportTables,
) -> None:
    pairs = tables.pairs
    data = web.pairs_data(pairs, color="count", alpha=0.05)
    ColumnDataSource(data=data)
    for column in ("count", "expected", "enrichment", "p_value", "q_value"):
        assert np.array_equal(
            np.asarray(data[column]), pairs[column].to_numpy(), equal_nan=True
        )
    assert data["x"][0] == [pairs["param_a"][0], pairs["option_a"][0]]
    assert data["y"][0] == [pairs["param_b"][0], pairs["option_b"][0]]
    assert np.array_equal(data["value"], pairs["count"].to_numpy(dtype=float))
    assert np.array_equal(data["mark"], (pairs["q_value"] < 0.05).to_numpy(float))
    enriched = web.pairs_data(pairs, color="enrichment", alpha=0.05)["value"]
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.clip(np.log2(pairs["enrichment"].to_numpy()), -3, 3)
    assert np.array_equal(enriched, want, equal_nan=True)


@pytest.mark.parametrize(
    ("range_", "where"),
    [
        ((0.5, 1.0), {"optimizer": ["ADAM"], "activation": ["ELU"]}),
        ((0.0, 1.0), {"optimizer": ["ADAM"]}),
        ((0.5, 0.5), {}),
        ((0.2, 0.7), {}),
    ],
)
def test_a_cell_says_why_it_has_no_test(
    range_: tuple[float, float], where: dict[str, list[str]]
) -> None:
    from hpcore.analysis.stats import nontrivial_tests

    ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(3000, seed=2)))
    sel = hpcore.select(ens, range=range_, where=where)
    population = hpcore.select(ens, where=where)
    pairs = hpcore.pair_statistics(ens, sel)
    k_pop = hpcore.pair_counts(ens, population)["count"].to_numpy()
    data = web.pairs_data(
        pairs,
        color="count",
        alpha=0.05,
        selected=sel.count,
        population=population.count,
    )
    why = np.array(data["no_test"])
    tested = nontrivial_tests(k_pop, sel.count, population.count)
    assert np.array_equal(why == "", tested)
    if not sel.count:
        assert set(why) == {"no network expected"}
    elif sel.count == population.count:
        assert set(why) <= {"every network selected", "no network expected"}
    else:
        assert np.array_equal(why == "no network expected", k_pop == 0)
        full = k_pop == population.count
        assert np.array_equal(why == "every network has this pair", full)
        assert full.any() == ("activation" in where)
    # without the sizes nothing is claimed
    plain = web.pairs_data(pairs, color="count", alpha=0.05)["no_test"]
    assert plain == [""] * len(pairs)


def test_a_parameter_without_a_test_says_so(ens: hpcore.Ensemble) -> None:
    from hpcore.views.importance import _explanation, _importance_notes

    # every network selected: no parameter has a test (q = 1 says nothing)
    whole = compute_tables(
        ens, hpcore.select(ens, range=(0.0, 1.0)), primary="dataset", secondary=None
    ).importance
    assert set(whole["test"]) == {"none"}
    assert web.importance_data(whole, alpha=0.05)["note"] == ["no test"] * len(whole)
    assert _importance_notes(whole) == ["no test"] * len(whole)
    assert "No test: no network or every network" in _explanation(
        0.05, 400.0, 8.0, None, untested=True
    ).replace("\n", " ")
    assert "No test" not in _explanation(0.05, 400.0, 8.0, None)
    # one option left of a parameter: that one has none, the others theirs
    sel = hpcore.select(ens, range=(0.7, 1.0), where={"optimizer": ["ADAM"]})
    imp = compute_tables(ens, sel, primary="dataset", secondary=None).importance
    shown = web.importance_data(imp, alpha=0.05)["note"]
    notes = dict(zip(imp["parameter"], shown, strict=True))
    assert notes["optimizer"] == "no test"
    tested = imp.loc[imp["test"] != "none", "parameter"]
    assert len(tested) and all(notes[p].startswith("q") for p in tested)
    assert _importance_notes(imp) == list(notes.values())


def test_importance_bars_are_the_importance_table(
    tables: hpcore.analysis.tables.ReportTables,
) -> None:
    imp = tables.importance
    data = web.importance_data(imp, alpha=0.05)
    ColumnDataSource(data=data)
    assert data["parameter"] == list(imp["parameter"].astype(str))
    assert np.array_equal(data["score"], imp["score"].to_numpy())
    dark = [c == IMPORTANCE_COLOURS[0] for c in data["colour"]]
    assert dark == list(imp["q_value"] < 0.05)
    assert not any(data["why"])
    # the group the metric is normalized within: grey, and its hover says why
    grouped = web.importance_data(imp, alpha=0.05, group="dataset")
    at = grouped["parameter"].index("dataset")
    assert grouped["colour"][at] == GROUP_BAR
    assert "normalized within dataset" in grouped["why"][at]
    others = [c for i, c in enumerate(grouped["colour"]) if i != at]
    assert others == [c for i, c in enumerate(data["colour"]) if i != at]


def test_trellis_points_and_lines_are_the_trellis_table(
    tables: hpcore.analysis.tables.ReportTables,
) -> None:
    tr = tables.trellis
    layout = web.trellis_layout(tr, primary="dataset", secondary="optimizer")
    assert layout.primaries == ("cifar10", "stl10")
    assert layout.secondaries == ("ADAM", "RMSProp", "Momentum SGD")
    points, lines = web.trellis_data(tr, layout)
    ColumnDataSource(data=points)
    ColumnDataSource(data=lines)
    assert np.array_equal(points["mean"], tr["mean"].to_numpy(), equal_nan=True)
    assert np.array_equal(points["count"], tr["count"].to_numpy())
    assert np.array_equal(points["ci_low"], tr["ci_low"].to_numpy(), equal_nan=True)
    assert np.array_equal(
        points["fill_alpha"], np.where(tr["count"] >= web.LOW_COUNT, 1.0, 0.0)
    )
    # a secondary option keeps its dodge offset and its colour everywhere
    offset = {}
    for s, x, colour in zip(
        points["secondary"], points["x"], points["colour"], strict=True
    ):
        assert offset.setdefault(s, (x[2], colour)) == (x[2], colour)
    assert len({v[0] for v in offset.values()}) == 3
    # one segment between consecutive options of (primary, secondary, panel),
    # for ordered parameters only: a line across optimizers would invent a trend
    ordered = {
        p
        for p, o in tr.groupby("parameter", observed=True)["option"]
        if is_ordered([str(v) for v in dict.fromkeys(o)])
    }
    assert "lrate" in ordered and "activation" not in ordered
    joined = tr[tr["parameter"].isin(ordered)]
    groups = joined.groupby(["primary", "secondary", "parameter"], observed=True)
    assert len(lines["x0"]) == int((groups.size() - 1).sum()) > 0
    assert {x0[0] for x0 in lines["x0"]} <= ordered
    by_point = {
        (p, *x): m
        for p, x, m in zip(points["primary"], points["x"], points["mean"], strict=True)
    }
    for p, x0, y0, x1, y1 in zip(
        lines["primary"],
        lines["x0"],
        lines["y0"],
        lines["x1"],
        lines["y1"],
        strict=True,
    ):
        assert x0[0] == x1[0] and x0[2] == x1[2]  # same panel, same secondary
        assert np.array_equal(
            [by_point[(p, *x0)], by_point[(p, *x1)]], [y0, y1], equal_nan=True
        )


def test_trellis_extent_covers_every_mean(
    tables: hpcore.analysis.tables.ReportTables,
) -> None:
    lo, hi = web.trellis_extent(tables.trellis)
    values = tables.trellis["mean"].to_numpy()
    finite = values[np.isfinite(values)]
    assert lo <= finite.min() and hi >= finite.max()
    # the ends sit on the coarse grid (plus a margin): the axis keeps still
    for end, margin in ((lo, 0.02), (hi, -0.02)):
        steps = (end + margin) / web.TRELLIS_STEP
        assert abs(steps - round(steps)) < 1e-9
    assert web.trellis_extent(tables.trellis.iloc[:0]) == (-0.02, 1.02)


def test_page_models_are_valid_after_every_show(
    tables: hpcore.analysis.tables.ReportTables, ens: hpcore.Ensemble
) -> None:
    page = web.Page()
    doc = Document()
    doc.add_root(page.root)
    page.attach(doc)
    page.show_views()
    options = {p: list(ens.options(p)) for p in ens.parameters}
    page.show_histograms(
        tables.histogram_raw,
        tables.histogram_normalized,
        groups=options["dataset"],
        metric=ens.metric,
        normalization="minmax",
    )
    # the value axes are the server's: the stacked bars' height and a little
    for fig, source in (
        (page.hist_raw, page.hist_raw_source),
        (page.hist_norm, page.hist_norm_source),
    ):
        tallest = max(source.data["top"])
        assert fig.y_range.start == 0 and fig.y_range.end == tallest * 1.05
    for color in ("count", "enrichment", "count"):
        page.show_matrix(
            tables.pairs,
            order=tables.order,
            options=options,
            color=color,
            alpha=0.05,
            title="pairs",
        )
    page.show_importance(tables.importance, alpha=0.05)
    for _ in range(2):
        page.show_trellis(
            tables.trellis,
            primary="dataset",
            secondary="optimizer",
            metric=ens.metric,
            ci_level=0.95,
        )
    rows = ens.table.head(20)
    page.show_networks(
        rows,
        first=0,
        total=100,
        page_rows=20,
        metric=ens.metric,
        columns=list(ens.parameters),
        labels=options,
    )
    # a new metric over the same parameters names its column anew
    renamed = rows.rename(columns={ens.metric: "best_val_acc"})
    page.show_networks(
        renamed,
        first=0,
        total=100,
        page_rows=20,
        metric="best_val_acc",
        columns=list(ens.parameters),
        labels=options,
    )
    assert page.networks.columns[1].title == "best_val_acc"
    page.show_filters(options, {"dataset": ["cifar10", "stl10"]})
    page.show_cells([("optimizer", "ADAM", "activation", "ELU")])
    page.show_stamp({"selected": 1}, "?range=0.6,1")
    page.show_error("hpexplorer serve: error: x")
    page.show_status("status")
    issues = check_integrity(list(doc.models))  # e.g. a glyph naming no column
    assert issues.error == [] and issues.warning == []
    assert [f.name for f in page.trellis_box.children if f.visible] == [
        "trellis:cifar10",
        "trellis:stl10",
    ]
    assert list(page.filters["dataset"].active) == [1, 3]
    assert page.pairs_source.data["count"].tolist() == tables.pairs["count"].tolist()
    n_x = sum(len(options[p]) for p in tables.order[:-1])
    assert len(page.matrix.x_range.factors) == n_x
    assert page.status.title.text == "status"
    assert page.error.visible and not page.message.visible
    # a wider window gives the trellis more room (here its options reach
    # their widest slot before); a resize within the same room draws
    # nothing again
    n = len(page.trellis_x.factors)
    assert page.trellis_box.children[0].frame_width == web.trellis_width(n)
    assert not page.fit_window(1280) and not page.fit_window(900)
    assert page.fit_window(1920) and page.trellis_frame == 1920 - 420
    assert page.trellis_box.children[0].frame_width == web.trellis_width(n, 1500)
    assert page.trellis_source.data["mean"].tolist() == pytest.approx(
        tables.trellis["mean"].tolist(), nan_ok=True
    )


def test_a_new_primary_shows_and_hides_kept_panels(ens: hpcore.Ensemble) -> None:
    """The trellis' panels stay in its column; a primary with fewer options
    hides the rest (their rows filtered out, their names out of the way)
    and one with more adds panels. A new list of children made Bokeh walk
    the whole document on the server (~100 ms a primary change) and the
    browser build the panels anew."""
    page = web.Page()
    doc = Document()
    doc.add_root(page.root)
    page.attach(doc)
    page.show_views()
    sel = hpcore.select(ens, range=(0.3, 1.0))
    shown = []
    for primary in ("dataset", "optimizer", "activation", "dataset", "optimizer"):
        t = compute_tables(ens, sel, primary=primary, secondary=None)
        before = list(page.trellis_box.children)
        page.show_trellis(
            t.trellis, primary=primary, secondary=None, metric=ens.metric, ci_level=0.95
        )
        children = list(page.trellis_box.children)
        options = list(ens.options(primary))
        visible = [f for f in children if f.visible]
        assert [f.name for f in visible] == [f"trellis:{o}" for o in options]
        assert visible == children[: len(options)]  # the first ones, in order
        for k, fig in enumerate(children[len(options) :], start=len(options)):
            assert fig.name == f"trellis-unused:{k}"
            filters = [r.view.filter for r in fig.renderers]
            assert all(f.group == "" for f in filters)
        if before and len(options) <= len(before):
            assert children == before  # kept, not a new list
        shown.append(len(children))
        issues = check_integrity(list(doc.models))
        assert issues.error == [] and issues.warning == []
    n_max = max(len(ens.options(p)) for p in ("dataset", "optimizer", "activation"))
    assert shown[-1] == n_max


def test_a_trellis_panel_without_a_selected_network_says_so(
    ens: hpcore.Ensemble,
) -> None:
    """A panel whose row has no selected network carries the note in the
    middle of its frame (a blank panel looks broken); the others carry none,
    and a brush that fills the row takes it off."""
    page = web.Page()
    doc = Document()
    doc.add_root(page.root)
    page.attach(doc)
    page.show_views()
    options = list(ens.options("dataset"))
    gone = options[1]

    sel = hpcore.select(ens, range=(0.3, 1.0))
    full = compute_tables(ens, sel, primary="dataset", secondary=None).trellis
    out = full["primary"].astype(str).to_numpy() == gone
    holed = full.assign(
        count=np.where(out, 0, full["count"]),
        mean=np.where(out, np.nan, full["mean"]),
        ci_low=np.where(out, np.nan, full["ci_low"]),
        ci_high=np.where(out, np.nan, full["ci_high"]),
    )

    def show(trellis: pd.DataFrame) -> dict[str, str]:
        page.show_trellis(
            trellis,
            primary="dataset",
            secondary=None,
            metric=ens.metric,
            ci_level=0.95,
            options={p: list(ens.options(p)) for p in ens.parameters},
        )
        notes = {}
        for fig in page.trellis_box.children:
            if fig.visible:
                (label,) = fig.select(type=Label)
                assert label.x == fig.frame_width / 2
                assert label.y == web.TRELLIS_ROW_PX / 2
                assert (label.x_units, label.y_units) == ("screen", "screen")
                notes[fig.name.removeprefix("trellis:")] = label.text
        return notes

    assert show(holed) == {o: (EMPTY_NOTE if o == gone else "") for o in options}
    assert show(full) == {o: "" for o in options}
    issues = check_integrity(list(doc.models))
    assert issues.error == [] and issues.warning == []


def test_a_wider_window_cuts_fewer_trellis_names() -> None:
    """The NWS table's twelve parameters: at 1,280 pixels five panel names
    are shortened (a browser review: "augmen…", "initializat…", ...); at
    1,920 the trellis takes the room and only "augmentation" (two options)
    is."""
    ens = hpcore.load(hpcore.synthetic.nws_like(2000, seed=0))
    factors = [(p, o) for p in ens.parameters for o in ens.options(p)]
    factors = [f for f in factors if f[0] != "optimizer"]  # the primary
    assert web.trellis_frame(0) == web.trellis_frame(1280) == web.TRELLIS_FRAME
    assert web.trellis_frame(10**5) == web.TRELLIS_FRAME_MAX

    def cut(window: int) -> set[str]:
        width = web.trellis_width(len(factors), web.trellis_frame(window))
        shown = web.group_labels(factors, width)
        return {p for p, name in shown.items() if name != p}

    assert len(cut(1280)) >= 4
    assert cut(1920) == {"augmentation"}
    assert cut(2560) == set()


def test_trellis_labels_fit_their_room() -> None:
    """Row titles run along 110-pixel rows and group names sit under their
    panels: too long ones are shortened (an ellipsis), alike for every row,
    and shortened names never collide (they are the axis' factors)."""
    assert web.row_titles("dataset", ["mnist", "svhn"]) == [
        "dataset = mnist",
        "dataset = svhn",
    ]
    # one title too long: every row shows its option alone
    assert web.row_titles("optimizer", ["ADAM", "RMSProp", "Momentum SGD"]) == [
        "ADAM",
        "RMSProp",
        "Momentum SGD",
    ]
    long = web.row_titles("p", ["a" * 40])[0]
    assert long.endswith("\u2026") and len(long) * web.ROW_CHAR_PX <= 110
    many = [(f"param_{i:02d}", str(j)) for i in range(12) for j in range(4)]
    one = [("augmentation", "True"), ("optimizer", "ADAM"), ("activation", "ELU")]
    shown = web.group_labels(many[:36] + one)
    assert shown["augmentation"].endswith("\u2026")
    assert shown["param_00"] == "param_00"
    assert len(set(shown.values())) == len(shown)
    # names that would shorten alike keep their ends too
    alike = web.group_labels([*many[:40], ("width_conv", "1"), ("width_fc", "1")])
    conv, fc = alike["width_conv"], alike["width_fc"]
    assert conv != fc and "\u2026" in conv and "\u2026" in fc
    assert conv.startswith("w") and conv.endswith("nv") and fc.endswith("fc")
    assert len(conv) < len("width_conv") and len(fc) < len("width_fc")
