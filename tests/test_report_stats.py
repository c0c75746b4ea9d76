"""The statistics in ``hpexplorer report``: tables, figures checked on their data,
``--color`` / ``--sort`` / ``--compare`` on the command line, summary.json."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_main
from matplotlib import colormaps
from matplotlib.collections import LineCollection, PathCollection, QuadMesh
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

import hpcore
from hpcore import views as render
from hpcore.analysis import stats, tables
from hpcore.app import report as rep
from hpcore.app.output import MANIFEST
from hpcore.data.errors import HpcoreError, SelectionError
from hpcore.views.importance import GROUP_BAR

# ------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def planted() -> hpcore.Ensemble:
    """600 networks, four parameters; optimizer and batch size drive the metric,
    ``noise`` does not: some cells are significant, others not."""
    rng = np.random.default_rng(7)
    n = 600
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["mnist", "cifar10"], n),
            "optimizer": rng.choice(["ADAM", "RMSProp", "SGD"], n),
            "batch_size": rng.choice([32, 64, 256], n),
            "noise": rng.choice(["p", "q"], n),
        }
    )
    df["test_accuracy"] = (
        df["dataset"].map({"mnist": 98.0, "cifar10": 70.0})
        - 12.0 * (df["optimizer"] == "SGD")
        - 6.0 * (df["batch_size"] == 256)
        + rng.normal(0, 4, n)
    )
    return hpcore.normalize(hpcore.load(df))


@pytest.fixture(scope="module")
def report(planted: hpcore.Ensemble) -> rep.Report:
    return rep.build_report(
        planted, range=(0.6, 1.0), secondary="noise", compare=(0.0, 0.5)
    )


def find(fig: Figure, gid: str) -> list[object]:
    return [a for a in fig.findobj() if a.get_gid() == gid]


def axes_by_gid(fig: Figure, gid: str):  # type: ignore[no-untyped-def]
    (ax,) = [a for a in fig.axes if a.get_gid() == gid]
    return ax


def block(table: pd.DataFrame, a: str, b: str, column: str) -> pd.DataFrame:
    """Naive oracle: the (options of b) x (options of a) block of ``column``."""
    rows = table[(table["param_a"] == a) & (table["param_b"] == b)]
    return rows.pivot(index="option_b", columns="option_a", values=column).loc[
        list(dict.fromkeys(rows["option_b"])), list(dict.fromkeys(rows["option_a"]))
    ]


def mesh_of(fig: Figure, a: str, b: str) -> QuadMesh:
    (mesh,) = find(fig, f"pairs:{a}|{b}")
    assert isinstance(mesh, QuadMesh)
    return mesh


def mesh_values(mesh: QuadMesh, shape: tuple[int, int]) -> np.ndarray:
    return np.ma.filled(np.ma.asarray(mesh.get_array()).astype(float), np.nan).reshape(
        shape
    )


def dot_cells(mesh: QuadMesh, dots: PathCollection) -> set[tuple[int, int]]:
    """The (row, column) of the block cell each dot lies strictly inside."""
    xy = mesh.get_coordinates()
    xs, ys = xy[0, :, 0], xy[:, 0, 1]
    cells = set()
    for x, y in np.asarray(dots.get_offsets()):
        col = int(np.searchsorted(xs, x)) - 1
        row = int(np.searchsorted(ys, y)) - 1
        assert 0 <= col < len(xs) - 1 and 0 <= row < len(ys) - 1
        assert xs[col] < x < xs[col + 1] and ys[row] < y < ys[row + 1]
        cells.add((row, col))
    assert len(cells) == len(dots.get_offsets())  # one dot per cell
    return cells


def check_marks(fig: Figure, table: pd.DataFrame, marked: np.ndarray) -> int:
    """The dots of every block sit in exactly the cells ``marked`` flags."""
    frame = table.assign(_mark=marked)
    total = 0
    params = list(dict.fromkeys([*table["param_a"], *table["param_b"]]))
    for a, b in itertools.combinations(params, 2):
        expected = block(frame, a, b, "_mark").to_numpy(dtype=bool)
        (dots,) = find(fig, f"pair-marks:{a}|{b}")
        assert isinstance(dots, PathCollection)
        got = dot_cells(mesh_of(fig, a, b), dots)
        rows, cols = np.nonzero(expected)
        assert got == {(int(r), int(c)) for r, c in zip(rows, cols, strict=True)}
        total += len(got)
    return total


# -------------------------------------------------------------- the tables


def test_pairs_table_is_the_counts_plus_statistics(
    report: rep.Report, planted: hpcore.Ensemble
) -> None:
    sel = hpcore.select(planted, range=(0.6, 1.0))
    pairs = report.tables.pairs
    assert list(pairs.columns) == [
        "param_a",
        "option_a",
        "param_b",
        "option_b",
        "count",
        "expected",
        "enrichment",
        "p_value",
        "q_value",
    ]
    pd.testing.assert_frame_equal(pairs.iloc[:, :5], hpcore.pair_counts(planted, sel))
    # expected by hand: selection size x the pair's share of all networks
    table = planted.table
    for i in (0, 7, len(pairs) - 1):
        row = pairs.iloc[i]
        both = (table[row["param_a"]] == row["option_a"]) & (
            table[row["param_b"]] == row["option_b"]
        )
        assert row["expected"] == pytest.approx(sel.count * both.mean())
        assert row["enrichment"] == pytest.approx(row["count"] / row["expected"])
    # both kinds of cells exist, so the marks below can fail either way
    assert 0 < (pairs["q_value"] < 0.05).sum() < len(pairs)


def test_importance_order_keeps_the_group_first() -> None:
    df = pd.DataFrame(
        {
            "dataset": list("aabb"),
            "p": list("xyxy"),
            "q": list("uuvv"),
            "acc": [1.0, 2.0, 3.0, 4.0],
        }
    )
    ens = hpcore.load(df)
    ranked = pd.DataFrame({"parameter": ["q", "dataset", "p"]})
    assert tables.importance_order(ens, ranked) == ("dataset", "q", "p")
    # without a group column the ranking alone decides
    no_group = hpcore.load(df.rename(columns={"dataset": "ds"}))
    assert no_group.group is None
    ranked_ds = pd.DataFrame({"parameter": ["q", "ds", "p"]})
    assert tables.importance_order(no_group, ranked_ds) == ("q", "ds", "p")
    # parameters the ranking misses keep their order at the end
    assert tables.importance_order(ens, ranked.iloc[:1]) == ("dataset", "q", "p")


def test_sort_importance_orders_matrix_and_trellis(planted: hpcore.Ensemble) -> None:
    r = rep.build_report(planted, range=(0.6, 1.0), sort="importance")
    ranked = [p for p in r.tables.importance["parameter"] if p != "dataset"]
    assert r.tables.order == ("dataset", *ranked)
    assert r.primary == "dataset"
    assert r.summary["order"] == list(r.tables.order)
    assert r.summary["sort"] == "importance"
    # the data's order is kept where the data is described
    assert list(r.summary["parameters"]) == list(planted.parameters)
    pair_params = list(
        dict.fromkeys([*r.tables.pairs["param_a"], *r.tables.pairs["param_b"]])
    )
    assert pair_params == list(r.tables.order)
    assert list(dict.fromkeys(r.tables.trellis["parameter"])) == ranked
    # same cells as without sorting, only reordered
    plain = rep.build_report(planted, range=(0.6, 1.0))
    assert sorted(r.tables.pairs["count"]) == sorted(plain.tables.pairs["count"])
    fig = rep.draw_report(r)["pairs"]
    rows = [
        t.get_text()
        for t in fig.findobj()
        if str(t.get_gid()).startswith("pair-param-y:")
    ]
    assert rows == list(r.tables.order[1:])


# ------------------------------------------------------------- the figures


def test_enrichment_colours_are_log2_enrichment(planted: hpcore.Ensemble) -> None:
    r = rep.build_report(planted, range=(0.6, 1.0), color="enrichment")
    fig = rep.draw_report(r)["pairs"]
    pairs = r.tables.pairs
    # the scale ends at a robust limit (see test_enrichment_limit_by_hand);
    # cells beyond it take the end colours
    limit = rep.enrichment_limit(pairs, "dataset")
    zero_cells = 0
    for a, b in itertools.combinations(planted.parameters, 2):
        mesh = mesh_of(fig, a, b)
        with np.errstate(divide="ignore"):
            expected = np.log2(block(pairs, a, b, "enrichment").to_numpy(dtype=float))
        zero_cells += int(np.isneginf(expected).sum())
        expected = np.clip(
            np.where(np.isneginf(expected), -limit, expected), -limit, limit
        )
        np.testing.assert_allclose(
            mesh_values(mesh, expected.shape), expected, rtol=1e-12
        )
        norm = mesh.norm
        assert (norm.vmin, norm.vmax) == pytest.approx((-limit, limit))
        assert mesh.get_cmap().name.startswith("RdBu")
        rgba = mesh.to_rgba(expected.ravel())
        np.testing.assert_allclose(
            rgba, colormaps["RdBu"]((expected.ravel() + limit) / (2 * limit))
        )
    assert zero_cells > 0  # count 0 with expected > 0 is clipped, not lost
    bar = axes_by_gid(fig, "pairs-colorbar")
    assert "enrichment" in bar.get_xlabel() and "log" in bar.get_xlabel()
    # the colour bar says where values go beyond the scale
    assert bar._colorbar.extend in ("min", "max", "both")  # the Colorbar of cax
    fig.canvas.draw()
    labels = [t.get_text() for t in bar.get_xticklabels()]
    assert "1" in labels
    ticks = bar.get_xticks()
    assert ticks == pytest.approx(-ticks[::-1])  # symmetric around 1


def test_marks_are_the_cells_with_q_below_005(report: rep.Report) -> None:
    pairs = report.tables.pairs
    for color in ("count", "enrichment"):
        r = rep.build_report(
            report.ensemble, range=(0.6, 1.0), secondary="noise", color=color
        )
        fig = rep.draw_report(r)["pairs"]
        n = check_marks(fig, pairs, pairs["q_value"].to_numpy() < 0.05)
        assert n == (pairs["q_value"] < 0.05).sum() > 0
        (label,) = find(fig, "pair-mark-label")
        assert label.get_text().startswith("q < 0.05")  # type: ignore[attr-defined]
        # every cell of this table has a test (no filter, all pairs present)
        assert r.summary["tested_cells"] == len(pairs)
        assert f"over {len(pairs)} tested cells" in label.get_text()  # type: ignore[attr-defined]
        assert len(find(fig, "pair-mark-key")) == 1


def test_cells_no_network_has_are_grey_and_explained(planted: hpcore.Ensemble) -> None:
    """An enrichment where nothing is expected (no network has the pair) was
    blank, like a cell "as expected" on the diverging map's white middle:
    it is grey now, with a key entry; cells with a value keep their colour."""
    from matplotlib.colors import to_rgba

    from hpcore.views.style import BLANK_FILL

    table = planted.table[[*planted.parameters, planted.metric]].copy()
    # SGD never trained with batch size 256: a structural zero
    sgd_256 = (table["optimizer"].astype(str) == "SGD") & (
        table["batch_size"].astype(str) == "256"
    )
    assert sgd_256.any()
    table = table[~sgd_256]
    ens = hpcore.normalize(hpcore.load(table.reset_index(drop=True)))
    r = rep.build_report(ens, range=(0.6, 1.0))
    fig = rep.draw_report(r)["pairs"]
    fig.canvas.draw()
    pairs = r.tables.pairs
    values = block(pairs, "optimizer", "batch_size", "enrichment")
    mesh = mesh_of(fig, "optimizer", "batch_size")
    faces = mesh.get_facecolors().reshape(*values.shape, 4)
    nan = np.isnan(values.to_numpy())
    assert nan.sum() == 1 and values.loc["256", "SGD"] != values.loc["256", "SGD"]
    np.testing.assert_allclose(faces[nan], [to_rgba(BLANK_FILL)])
    assert not np.isclose(faces[~nan], to_rgba(BLANK_FILL)).all(axis=1).any()
    (key,) = find(fig, "pair-blank-label")
    assert key.get_text() == "no network has both options"  # type: ignore[attr-defined]
    assert len(find(fig, "pair-blank-key")) == 1
    # every cell has a value: no key entry
    full = rep.draw_report(rep.build_report(planted, range=(0.6, 1.0)))["pairs"]
    assert not find(full, "pair-blank-label")
    # the paper's counts: a zero count is a colour of its own, no grey
    counts = rep.draw_report(rep.build_report(ens, range=(0.6, 1.0), color="count"))
    assert not find(counts["pairs"], "pair-blank-label")


def test_importance_bars_are_the_scores(report: rep.Report) -> None:
    fig = rep.draw_report(report)["pairs"]
    imp = report.tables.importance
    ax = axes_by_gid(fig, "pairs-importance")
    assert [t.get_text() for t in ax.get_yticklabels()] == imp["parameter"].tolist()
    for i, row in imp.iterrows():
        (bar,) = find(fig, f"importance-bar:{row['parameter']}")
        assert bar.get_width() == pytest.approx(row["score"])  # type: ignore[attr-defined]
        assert bar.get_y() + bar.get_height() / 2 == pytest.approx(i)  # type: ignore[attr-defined]
        dark = row["q_value"] < 0.05
        colour = render.IMPORTANCE_COLOURS[0 if dark else 1]
        if row["parameter"] == report.ensemble.group:  # the normalization's
            colour = GROUP_BAR
        assert bar.get_facecolor() == pytest.approx(to_rgba(colour))  # type: ignore[attr-defined]
        (note,) = find(fig, f"importance-note:{row['parameter']}")
        text = note.get_text()  # type: ignore[attr-defined]
        q = row["q_value"]
        assert ("q < 0.001" if q < 0.001 else f"q = {q:.2g}") in text
        assert str(row["top_option"]) in text
    # the strongest parameters are the planted ones, and they are significant
    assert set(imp["parameter"][:2]) == {"optimizer", "batch_size"}
    assert (imp["q_value"][:2] < 0.05).all()
    (explanation,) = find(fig, "importance-explanation")
    assert "q < 0.05" in explanation.get_text()  # type: ignore[attr-defined]


def test_trellis_error_bars_are_the_ci_columns(report: rep.Report) -> None:
    fig = rep.draw_report(report)["trellis"]
    table = report.tables.trellis
    assert list(table.columns[-2:]) == ["ci_low", "ci_high"]
    drawn = 0
    for (param, prim, sec), rows in table.groupby(
        ["parameter", "primary", "secondary"], sort=False
    ):
        (bars,) = find(fig, f"trellis-ci:{param}|{prim}|{sec}")
        assert isinstance(bars, LineCollection)
        shown = rows[(rows["count"] > 0) & rows["ci_low"].notna()]
        # one bar per interval, then a cap at each end inside the axis
        segments = bars.get_segments()[: len(shown)]
        caps = bars.get_segments()[len(shown) :]
        assert len(caps) <= 2 * len(shown)
        assert all(c[0, 1] == c[1, 1] for c in caps)
        ys = np.array([s[:, 1] for s in segments]).reshape(-1, 2)
        np.testing.assert_allclose(ys, shown[["ci_low", "ci_high"]].to_numpy())
        (points,) = find(fig, f"trellis-points:{param}|{prim}|{sec}")
        offsets = np.asarray(points.get_offsets())  # type: ignore[attr-defined]
        means = dict(zip(offsets[:, 0], offsets[:, 1], strict=True))
        for seg, mean in zip(segments, shown["mean"], strict=True):
            x = seg[0, 0]
            assert seg[1, 0] == x and means[x] == pytest.approx(mean)
        drawn += len(segments)
    assert drawn > 0
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert "95% confidence interval (Student t)" in texts


def test_compare_colours_are_the_difference(report: rep.Report) -> None:
    figures = rep.draw_report(report)
    assert list(figures) == ["histogram", "pairs", "trellis", "compare"]
    fig = figures["compare"]
    table = report.tables.compare
    assert table is not None
    sel_b = hpcore.select(report.ensemble, range=(0.6, 1.0))
    sel_a = hpcore.select(report.ensemble, range=(0.0, 0.5))
    pd.testing.assert_frame_equal(
        table, stats.compare_selections(report.ensemble, sel_a, sel_b)
    )
    limit = float(table["difference"].abs().max())
    for a, b in itertools.combinations(report.ensemble.parameters, 2):
        mesh = mesh_of(fig, a, b)
        expected = block(table, a, b, "difference").to_numpy(dtype=float)
        np.testing.assert_allclose(mesh_values(mesh, expected.shape), expected)
        assert (mesh.norm.vmin, mesh.norm.vmax) == pytest.approx((-limit, limit))
        np.testing.assert_allclose(
            mesh.to_rgba(expected.ravel()),
            colormaps["RdBu"]((expected.ravel() + limit) / (2 * limit)),
        )
    marked = table["q_value"].to_numpy() < 0.05
    assert check_marks(fig, table, marked) == marked.sum() > 0
    bar = axes_by_gid(fig, "pairs-colorbar")
    assert "minus" in bar.get_xlabel()
    assert not find(fig, "empty-note")
    (title,) = [t.get_text() for t in find(fig, "pairs-title")]  # type: ignore[attr-defined]
    assert f"b = {sel_b.count:,}" in title and f"a = {sel_a.count:,}" in title


def test_an_empty_comparison_is_drawn_with_a_note(planted: hpcore.Ensemble) -> None:
    values = np.sort(planted.table["normalized"].unique())
    gap = float((values[0] + values[1]) / 2)  # no network there
    r = rep.build_report(planted, range=(0.6, 1.0), compare=(gap, gap))
    assert r.compare is not None and r.compare.count == 0
    assert r.tables.compare is not None
    assert r.tables.compare["share_a"].isna().all()
    assert r.summary["compare"]["selected"] == 0
    fig = rep.draw_report(r)["compare"]
    assert find(fig, "empty-note")


# ------------------------------------------------------------ build_report


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"color": "red"}, HpcoreError, r"`color` must be one of \['count'"),
        ({"sort": "size"}, HpcoreError, r"`sort` must be one of \['data'"),
        ({"compare": (0.9, 0.1)}, SelectionError, "`compare` must have lo <= hi"),
        ({"compare": (0.5, 2.0)}, SelectionError, r"`compare` must lie within"),
        ({"alpha": 1.5}, HpcoreError, "`alpha` must lie strictly between 0 and 1"),
    ],
)
def test_build_report_bad_statistics_options(
    planted: hpcore.Ensemble, kwargs: dict[str, object], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        rep.build_report(planted, **kwargs)  # type: ignore[arg-type]


def test_summary_names_the_statistics(report: rep.Report) -> None:
    s = dict(report.summary)
    assert s["color"] == "enrichment" and s["sort"] == "data" and s["alpha"] == 0.05
    assert s["cells"] == len(report.tables.pairs)
    assert s["significant_cells"] == int((report.tables.pairs["q_value"] < 0.05).sum())
    imp = report.tables.importance
    assert (
        s["significant_parameters"] == imp["parameter"][imp["q_value"] < 0.05].tolist()
    )
    assert s["tested_cells"] == len(report.tables.pairs)  # no filter: all tested
    assert report.compare is not None
    cmp = report.tables.compare
    assert cmp is not None
    assert s["compare"] == {
        "range": [0.0, 0.5],
        "selected": report.compare.count,
        "significant_cells": int((cmp["q_value"] < 0.05).sum()),
        "tested_cells": len(cmp),
    }
    assert "Student-t" in s["statistics"]["trellis"]
    assert "hypergeometric" in s["statistics"]["pairs"]
    json.dumps(s)


def test_a_filtered_report_tests_and_draws_the_cells_it_keeps(
    planted: hpcore.Ensemble,
) -> None:
    """``--where`` leaves cells no network passing it has: they are not tests
    (not in the Benjamini-Hochberg family, the summary counts the others) and
    the matrix leaves out the options the filter drops (blank rows and
    columns before), while pairs.csv keeps every cell."""
    where = {"optimizer": ["ADAM", "SGD"], "dataset": ["cifar10"]}
    r = rep.build_report(planted, range=(0.5, 1.0), where=where, compare=(0.0, 0.5))
    pairs = r.tables.pairs
    assert len(pairs) == len(rep.build_report(planted, range=(0.5, 1.0)).tables.pairs)
    dropped = (
        ((pairs["param_a"] == "optimizer") & (pairs["option_a"] == "RMSProp"))
        | ((pairs["param_b"] == "optimizer") & (pairs["option_b"] == "RMSProp"))
        | ((pairs["param_a"] == "dataset") & (pairs["option_a"] == "mnist"))
        | ((pairs["param_b"] == "dataset") & (pairs["option_b"] == "mnist"))
    ).to_numpy()
    assert (pairs["q_value"][dropped] == 1.0).all()
    assert r.summary["tested_cells"] == int((~dropped).sum())
    assert r.summary["compare"]["tested_cells"] <= int((~dropped).sum())
    fig = rep.draw_report(r)["pairs"]
    shown = {
        t.get_text()  # type: ignore[attr-defined]
        for p in ("optimizer", "dataset")
        for side in ("x", "y")
        for t in find(fig, f"pair-option-{side}:{p}")
    }
    assert {"ADAM", "SGD", "cifar10"} <= shown
    assert not shown & {"RMSProp", "mnist"}
    (label,) = find(fig, "pair-mark-label")
    tested = r.summary["tested_cells"]
    assert f"over {tested} tested cells" in label.get_text()  # type: ignore[attr-defined]
    # the dataset x optimizer block: one data set by two optimizers, the
    # enrichment of the kept cells
    kept = block(pairs[~dropped], "dataset", "optimizer", "enrichment")
    assert kept.shape == (2, 1)
    values = mesh_values(mesh_of(fig, "dataset", "optimizer"), (2, 1))
    np.testing.assert_allclose(values, np.log2(kept.to_numpy()), rtol=1e-12)


# ----------------------------------------------------------------- writing


def test_compare_files_come_and_go(planted: hpcore.Ensemble, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    with_compare = rep.build_report(planted, range=(0.6, 1.0), compare=(0.0, 0.5))
    rep.write_report(with_compare, out, "svg")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*rep.report_files("svg", compare=True), MANIFEST])
    assert {"compare.svg", "compare.csv", "importance.csv"} <= set(names)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"] == list(rep.report_files("svg", compare=True))
    compare = pd.read_csv(out / "compare.csv", dtype={"option_a": str, "option_b": str})
    assert list(compare.columns) == list(stats.COMPARE_COLUMNS)
    importance = pd.read_csv(out / "importance.csv", dtype={"top_option": str})
    assert importance["parameter"].tolist() == (
        with_compare.tables.importance["parameter"].tolist()
    )
    # a later report without a comparison leaves no stale comparison behind
    rep.write_report(rep.build_report(planted, range=(0.6, 1.0)), out, "png")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*rep.report_files("png"), MANIFEST]
    )
    assert json.loads((out / "summary.json").read_text())["compare"] is None


# --------------------------------------------------------------------- CLI


@pytest.fixture
def csv(tmp_path: Path, planted: hpcore.Ensemble) -> Path:
    path = tmp_path / "runs.csv"
    columns = [*planted.parameters, planted.metric]
    planted.table[columns].to_csv(path, index=False)
    return path


def test_cli_color_sort_compare(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rep"
    status, stdout, stderr = run_main(
        [
            "report",
            str(csv),
            "--range",
            "0.6",
            "1",
            "--color",
            "enrichment",
            "--sort",
            "importance",
            "--compare",
            "0",
            "0.5",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*rep.report_files("png", compare=True), MANIFEST]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["color"] == "enrichment"
    assert summary["sort"] == "importance"
    assert summary["order"][0] == "dataset"
    assert summary["compare"]["range"] == [0.0, 0.5]
    assert summary["compare"]["selected"] > 0
    pairs = pd.read_csv(out / "pairs.csv")
    assert (
        list(dict.fromkeys([*pairs["param_a"], *pairs["param_b"]]))
        == (summary["order"])
    )
    assert pairs["q_value"].between(0, 1).all()
    assert "compare.png" in stdout
    assert re.search(r"\d+ of \d+ matrix cells .* q < 0\.05", stdout)
    trellis = pd.read_csv(out / "trellis.csv")
    assert list(trellis.columns[-2:]) == ["ci_low", "ci_high"]


def test_cli_help_lists_the_statistics_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, stdout, _ = run_main(["report", "--help"], capsys)
    assert status == 0
    for option in ("--color", "--sort", "--compare", "ci_low", "importance.csv"):
        assert option in stdout


BAD = [
    ("reversed compare", ["--compare", "0.9", "0.1"], r"--compare.*lo <= hi"),
    ("compare beyond 1", ["--compare", "0", "2"], r"--compare.*within \[0, 1\]"),
    ("compare not numbers", ["--compare", "a", "b"], "--compare: LO and HI must be"),
    ("compare one value", ["--compare", "0.5"], "expected 2 arguments"),
    ("unknown colour", ["--color", "red"], "invalid choice: 'red'"),
    ("unknown sort", ["--sort", "size"], "invalid choice: 'size'"),
]


@pytest.mark.parametrize(("case", "args", "match"), BAD, ids=[b[0] for b in BAD])
def test_cli_bad_statistics_options_exit_2_with_one_line(
    case: str,
    args: list[str],
    match: str,
    csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "rep"
    status, stdout, stderr = run_main(
        ["report", str(csv), *args, "--out", str(out)], capsys
    )
    assert status == 2, (case, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert re.search(match, lines[0]), lines[0]
    assert "Traceback" not in stderr and stdout == ""
    assert not out.exists()


# ------------------------------------------- statistics from counts (engine path)


def test_option_counts_by_hand(planted: hpcore.Ensemble) -> None:
    sel = hpcore.select(planted, range=(0.6, 1.0), where={"optimizer": ["ADAM", "SGD"]})
    got = stats.option_counts(planted, sel)
    assert list(got.columns) == ["parameter", "option", "count"]
    assert got["count"].dtype == np.int64
    rows = planted.table[sel.mask]
    want = [
        (p, o, int((rows[p] == o).sum()))
        for p in planted.parameters
        for o in planted.options(p)
    ]
    assert list(got.itertuples(index=False, name=None)) == want
    assert (got.groupby("parameter")["count"].sum() == sel.count).all()
    full = stats.option_counts(planted)
    assert (full.groupby("parameter")["count"].sum() == len(planted.table)).all()


@pytest.mark.parametrize(
    ("range_", "where"),
    [
        ((0.6, 1.0), None),
        ((0.97, 1.0), {"dataset": ["mnist"]}),  # small counts: Monte Carlo
        ((0.0, 1.0), None),  # everything: p-values 1
        ((0.99, 0.991), None),  # empty
    ],
)
def test_importance_from_counts_is_parameter_importance(
    planted: hpcore.Ensemble,
    range_: tuple[float, float],
    where: dict[str, list[str]] | None,
) -> None:
    sel = hpcore.select(planted, range=range_, where=where)
    population = hpcore.select(planted, where=where)
    got = stats.importance_from_counts(
        stats.option_counts(planted, sel),
        stats.option_counts(planted, population),
        selected=sel.count,
        population=population.count,
        resamples=499,
        seed=3,
    )
    want = stats.parameter_importance(planted, sel, resamples=499, seed=3)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    if range_ == (0.97, 1.0):
        assert "monte-carlo" in set(got["test"])
    if range_ == (0.99, 0.991):
        assert sel.count == 0


def test_importance_from_counts_rejects_counts_that_do_not_fit(
    planted: hpcore.Ensemble,
) -> None:
    sel = hpcore.select(planted, range=(0.6, 1.0))
    counts = stats.option_counts(planted, sel)
    everything = stats.option_counts(planted)
    n, total = sel.count, len(planted.table)
    bad = [
        (
            (counts, everything.iloc[::-1], n, total),
            "same options in the same order",
        ),
        (
            (counts.drop(columns="count"), everything, n, total),
            r"lacks column\(s\) \['count'\]",
        ),
        ((everything, counts, total, n), "must lie inside its population"),
        ((counts, everything, n + 1, total), r"parameter 'dataset' sum to \d+ and"),
    ]
    for (a, b, selected, population), match in bad:
        with pytest.raises(HpcoreError, match=match):
            stats.importance_from_counts(a, b, selected=selected, population=population)
    with pytest.raises(HpcoreError, match="`resamples` must be a positive integer"):
        stats.importance_from_counts(
            counts, everything, selected=n, population=total, resamples=0
        )


def test_trellis_ci_from_moments(planted: hpcore.Ensemble) -> None:
    sel = hpcore.select(planted, range=(0.3, 1.0))
    want = stats.trellis_with_ci(planted, sel, primary="dataset", level=0.9)
    base = hpcore.trellis(planted, sel, primary="dataset")
    rows = planted.table[sel.mask]
    spread = [  # naive pandas: sum of squared deviations per cell
        float(((v - v.mean()) ** 2).sum()) if len(v) else 0.0
        for v in (
            rows.loc[
                (rows[r.parameter] == r.option) & (rows["dataset"] == r.primary),
                "normalized",
            ]
            for r in base.itertuples()
        )
    ]
    got = stats.trellis_ci_from_moments(base.assign(sum_sq_dev=spread), level=0.9)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, rtol=1e-12, atol=1e-15)
    with pytest.raises(HpcoreError, match=r"missing column\(s\) \['sum_sq_dev'\]"):
        stats.trellis_ci_from_moments(base)
    with pytest.raises(HpcoreError, match="`level` must lie strictly between"):
        stats.trellis_ci_from_moments(base.assign(sum_sq_dev=spread), level=1.0)
