"""hpcore.app.report: build_report's tables and summary; write_report whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpcore
from hpcore.analysis import stats, tables
from hpcore.app import report as rep
from hpcore.app.output import MANIFEST
from hpcore.data.errors import OptionError, ParameterError, SelectionError


@pytest.fixture
def ens(ensemble_df: pd.DataFrame) -> hpcore.Ensemble:
    return hpcore.normalize(hpcore.load(ensemble_df))


SUMMARY_KEYS = {
    "rows",
    "dropped",
    "selected",
    "range",
    "where",
    "metric",
    "group",
    "parameters",
    "excluded",
    "primary",
    "secondary",
    "source",
    "normalization",
}


# ------------------------------------------------------------- build_report


def test_build_report_summary_by_hand(ens: hpcore.Ensemble) -> None:
    # normalized: a 0 .25 .5 1 | b 0 1/3 2/3 1 -> [0.4, 1] keeps rows 2, 3, 6, 7
    r = rep.build_report(ens, range=(0.4, 1.0), source="hand.csv")
    s = dict(r.summary)
    assert set(s) >= SUMMARY_KEYS
    assert s["rows"] == 8
    assert s["dropped"] == {"count": 0, "reasons": {}}
    assert s["selected"] == 4
    assert s["range"] == [0.4, 1.0]
    assert s["where"] == {}
    assert s["metric"] == "test_accuracy"
    assert s["group"] == "dataset"
    assert s["normalization"] == "minmax"
    assert s["parameters"] == {
        "dataset": ["a", "b"],
        "opt": ["adam", "sgd"],
        "batch": ["32", "64"],
    }
    assert list(s["parameters"]) == ["dataset", "opt", "batch"]  # order kept
    assert s["excluded"] == {}
    assert s["primary"] == "dataset"  # the group by default
    assert s["secondary"] is None
    assert s["source"] == "hand.csv"
    expected_mask = [False, False, True, True, False, False, True, True]
    assert r.selection.mask.tolist() == expected_mask
    json.dumps(s)  # JSON-ready


def test_build_report_tables_are_the_hpcore_tables(ens: hpcore.Ensemble) -> None:
    r = rep.build_report(ens, range=(0.4, 1.0), secondary="batch")
    sel = hpcore.select(ens, range=(0.4, 1.0))
    # the paper's tables first, in the same rows; the statistics beside them
    pd.testing.assert_frame_equal(
        r.tables.pairs.iloc[:, :5], hpcore.pair_counts(ens, sel)
    )
    pd.testing.assert_frame_equal(r.tables.pairs, stats.pair_statistics(ens, sel))
    pd.testing.assert_frame_equal(
        r.tables.trellis.iloc[:, :6],
        hpcore.trellis(ens, sel, primary="dataset", secondary="batch"),
    )
    pd.testing.assert_frame_equal(
        r.tables.trellis,
        stats.trellis_with_ci(ens, sel, primary="dataset", secondary="batch"),
    )
    pd.testing.assert_frame_equal(
        r.tables.importance, stats.parameter_importance(ens, sel)
    )
    assert r.tables.compare is None
    assert r.tables.order == ens.parameters
    # histograms count every row (the population the range is chosen from)
    pd.testing.assert_frame_equal(r.tables.histogram_raw, hpcore.histogram(ens))
    pd.testing.assert_frame_equal(
        r.tables.histogram_normalized, hpcore.histogram(ens, normalized=True)
    )
    both = r.histogram
    assert list(both.columns) == ["kind", "group", "bin_left", "bin_right", "count"]
    assert both["kind"].tolist() == ["raw"] * 40 + ["normalized"] * 40
    assert r.summary["histogram_rows"] == 8


def test_where_restricts_selection_histograms_and_trellis(
    ens: hpcore.Ensemble,
) -> None:
    r = rep.build_report(ens, range=(0.0, 1.0), where={"dataset": ["b"]})
    assert r.selection.count == 4
    assert r.summary["where"] == {"dataset": ["b"]}
    hist = r.tables.histogram_raw
    assert hist.loc[hist["group"] == "a", "count"].sum() == 0
    assert hist["count"].sum() == 4 == r.summary["histogram_rows"]
    # the trellis shows the allowed primary options only (a's cells are empty)
    assert set(r.tables.trellis["primary"]) == {"b"}
    # the pair counts keep every option (zeros for a), like hpcore.pair_counts
    assert set(r.tables.pairs["option_a"][r.tables.pairs["param_a"] == "dataset"]) == {
        "a",
        "b",
    }


def test_restrict_options_by_hand() -> None:
    table = pd.DataFrame(
        {
            "parameter": ["opt", "opt", "batch", "batch"],
            "option": ["adam", "sgd", "32", "64"],
            "primary": ["a", "b", "a", "b"],
            "secondary": ["x", "y", "y", "x"],
            "mean": [0.1, 0.2, 0.3, 0.4],
            "count": [1, 1, 1, 1],
        }
    )
    got = tables.restrict_options(
        table, {"opt": ["adam"], "g": ["a"], "s": ["x"]}, primary="g", secondary="s"
    )
    assert got["mean"].tolist() == [0.1]
    unchanged = tables.restrict_options(table, {}, primary="g", secondary=None)
    pd.testing.assert_frame_equal(unchanged, table)


def test_build_report_without_group_uses_the_first_parameter() -> None:
    df = pd.DataFrame(
        {"p": list("abab"), "q": list("xxyy"), "acc": [1.0, 2.0, 3.0, 4.0]}
    )
    r = rep.build_report(hpcore.normalize(hpcore.load(df)))
    assert r.primary == "p"
    assert r.summary["group"] is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"range": (0.9, 0.1)}, SelectionError, "lo <= hi"),
        ({"range": (0.5, 2.0)}, SelectionError, r"within \[0, 1\]"),
        ({"where": {"opt": ["rmsprop"]}}, OptionError, "unknown option"),
        ({"where": {"nope": ["x"]}}, ParameterError, "'nope' is not a parameter"),
        ({"primary": "nope"}, ParameterError, "primary 'nope'"),
        ({"secondary": "dataset"}, ParameterError, "must differ"),
    ],
)
def test_build_report_bad_input(
    ens: hpcore.Ensemble, kwargs: dict[str, object], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        rep.build_report(ens, **kwargs)  # type: ignore[arg-type]


def test_build_report_needs_a_normalized_ensemble(ensemble_df: pd.DataFrame) -> None:
    with pytest.raises(SelectionError, match="normalize"):
        rep.build_report(hpcore.load(ensemble_df))


def test_build_report_leaves_its_input_alone(
    ensemble_df: pd.DataFrame, ens: hpcore.Ensemble
) -> None:
    before = ens.table.copy(deep=True)
    rep.build_report(ens, range=(0.2, 0.9), where={"opt": ["sgd"]})
    pd.testing.assert_frame_equal(ens.table, before)


# ------------------------------------------------------------- write_report


def test_write_report_writes_seven_consistent_files(
    ens: hpcore.Ensemble, tmp_path: Path
) -> None:
    r = rep.build_report(ens, range=(0.4, 1.0), secondary="batch")
    out = rep.write_report(r, tmp_path / "nested" / "rep", "png")
    assert out == tmp_path / "nested" / "rep"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*rep.report_files("png"), MANIFEST]
    )
    assert sorted(p.name for p in (tmp_path / "nested").iterdir()) == ["rep"]
    for stem in rep.FIGURES:
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "pairs.csv", dtype={"option_a": str, "option_b": str}),
        r.tables.pairs,
        check_dtype=False,
    )
    trellis = pd.read_csv(
        out / "trellis.csv", dtype={"option": str, "primary": str, "secondary": str}
    )
    np.testing.assert_allclose(trellis["mean"], r.tables.trellis["mean"])
    assert trellis["count"].tolist() == r.tables.trellis["count"].tolist()
    hist = pd.read_csv(out / "histogram.csv", dtype={"group": str})
    assert hist["count"].tolist() == r.histogram["count"].tolist()
    assert hist["kind"].tolist() == r.histogram["kind"].tolist()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["selected"] == 4
    assert summary["secondary"] == "batch"
    assert summary["files"] == list(rep.report_files("png"))


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_write_report_vector_formats(
    ens: hpcore.Ensemble, tmp_path: Path, fmt: str, magic: bytes
) -> None:
    out = rep.write_report(rep.build_report(ens), tmp_path / "r", fmt)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*rep.report_files(fmt), MANIFEST]
    )
    assert (out / f"pairs.{fmt}").read_bytes().startswith(magic)


def test_figures_are_reproducible(ens: hpcore.Ensemble, tmp_path: Path) -> None:
    r = rep.build_report(ens)
    a = rep.write_report(r, tmp_path / "a", "svg")
    b = rep.write_report(r, tmp_path / "b", "svg")
    assert (a / "trellis.svg").read_bytes() == (b / "trellis.svg").read_bytes()


def test_rewriting_replaces_an_earlier_report_only(
    ens: hpcore.Ensemble, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    rep.write_report(rep.build_report(ens, range=(0.0, 1.0)), out, "svg")
    (out / "notes.txt").write_text("mine")
    rep.write_report(rep.build_report(ens, range=(0.4, 1.0)), out, "png")
    names = sorted(p.name for p in out.iterdir())
    # the stale svg figures are gone, the user's file stays, no temp folder left
    assert names == sorted([*rep.report_files("png"), "notes.txt", MANIFEST])
    assert json.loads((out / "summary.json").read_text())["selected"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_a_failure_while_drawing_leaves_nothing_behind(
    ens: hpcore.Ensemble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpcore import views as render

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    r = rep.build_report(ens)
    monkeypatch.setattr(render, "draw_trellis", broken)
    with pytest.raises(rep.OutputError, match="No space left on device"):
        rep.write_report(r, tmp_path / "new" / "rep", "png")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its parent

    # an earlier report survives a failed rewrite untouched
    monkeypatch.undo()
    out = rep.write_report(r, tmp_path / "rep", "png")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(render, "draw_trellis", broken)
    with pytest.raises(rep.OutputError):
        rep.write_report(rep.build_report(ens, range=(0.5, 1.0)), out, "png")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_unwritable_destinations(ens: hpcore.Ensemble, tmp_path: Path) -> None:
    r = rep.build_report(ens)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(rep.OutputError, match="exists and is not a folder"):
        rep.write_report(r, a_file, "png")
    with pytest.raises(rep.OutputError, match="is not a folder"):
        rep.write_report(r, a_file / "rep", "png")
    with pytest.raises(rep.OutputError, match="`format` must be one of"):
        rep.write_report(r, tmp_path / "rep", "gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_empty_selection_still_writes_a_report(
    ens: hpcore.Ensemble, tmp_path: Path
) -> None:
    r = rep.build_report(ens, range=(0.1, 0.2))  # no normalized value in there
    assert r.selection.count == 0
    assert r.tables.pairs["count"].sum() == 0
    assert r.tables.trellis["mean"].isna().all()
    figures = rep.draw_report(r)
    for fig in figures.values():
        notes = [a for a in fig.findobj() if a.get_gid() == "empty-note"]
        assert len(notes) == 1
    out = rep.write_report(r, tmp_path / "rep", "png")
    assert json.loads((out / "summary.json").read_text())["selected"] == 0
