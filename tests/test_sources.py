"""hpcore.data.sources: the dispatcher, epochs, flattening, and NWS epochs."""

from __future__ import annotations

import math
import sqlite3
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hpcore
from hpcore.data.errors import DataSourceError, HpcoreError, MetricError
from hpcore.data.sources import detect
from hpcore.data.sources.common import (
    PREFERRED_METRICS,
    Columns,
    Epoch,
    choose_metric,
    direction,
    parse_epoch,
    parse_text_value,
    pick,
    resolve_best,
)

# --- epochs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Epoch("last", default=True)),
        ("last", Epoch("last")),
        ("BEST", Epoch("best")),
        (" min ", Epoch("min")),
        ("max", Epoch("max")),
        (5, Epoch("step", 5)),
        ("12", Epoch("step", 12)),
        (np.int64(0), Epoch("step", 0)),
    ],
)
def test_parse_epoch(value: object, expected: Epoch) -> None:
    assert parse_epoch(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, "-3", "first", "1.5", True, 2.0, ""])
def test_parse_epoch_rejects(value: object) -> None:
    with pytest.raises(HpcoreError, match=r"epoch must be a step number >= 0, 'last'"):
        parse_epoch(value)  # type: ignore[arg-type]


def test_pick_by_hand() -> None:
    steps = [0, 1, 2, 2, 1]  # logged out of order, step 2 twice
    values = [0.1, 0.5, 0.3, 0.4, 0.6]
    assert pick(steps, values, Epoch("last")) == (0.4, 2)  # last logged at max step
    assert pick(steps, values, Epoch("step", 1)) == (0.6, 1)  # last logged at step 1
    assert pick(steps, values, Epoch("step", 7)) is None
    assert pick(steps, values, Epoch("max")) == (0.6, 1)
    assert pick(steps, values, Epoch("min")) == (0.1, 0)
    assert pick([], [], Epoch("last")) is None
    value, step = pick([0, 1], [math.nan, 0.2], Epoch("min"))  # type: ignore[misc]
    assert (value, step) == (0.2, 1)
    value, _ = pick([0, 1], [math.nan, math.nan], Epoch("max"))  # type: ignore[misc]
    assert math.isnan(value)


@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.floats(-1e6, 1e6, allow_nan=False)),
        min_size=1,
        max_size=30,
    )
)
def test_pick_agrees_with_a_naive_oracle(curve: list[tuple[int, float]]) -> None:
    steps = [s for s, _ in curve]
    values = [v for _, v in curve]
    top = max(steps)
    assert pick(steps, values, Epoch("last")) == (
        [v for s, v in curve if s == top][-1],
        top,
    )
    assert pick(steps, values, Epoch("max"))[0] == max(values)  # type: ignore[index]
    assert pick(steps, values, Epoch("min"))[0] == min(values)  # type: ignore[index]
    for step in set(steps):
        assert pick(steps, values, Epoch("step", step)) == (
            [v for s, v in curve if s == step][-1],
            step,
        )


@pytest.mark.parametrize(
    ("name", "way"),
    [
        ("val_acc", "max"),
        ("validation/epoch_accuracy", "max"),
        ("test_loss", "min"),
        ("mse", "min"),
        ("eval/f1", "max"),
        ("wall_time_seconds", "min"),
        ("value", None),
        ("loss_over_accuracy", None),  # both: undecidable
        ("top1", "max"),  # timm's top-1 accuracy
        ("val_top1_err", "min"),  # but top-1 error beside an error word
    ],
)
def test_direction_from_the_name(name: str, way: str | None) -> None:
    assert direction(name) == way


def test_best_needs_a_direction() -> None:
    assert resolve_best(Epoch("best"), "val_acc") == Epoch("max")
    assert resolve_best(Epoch("best"), "value", "min") == Epoch("min")
    with pytest.raises(MetricError, match=r"choose epoch 'max' or 'min'"):
        resolve_best(Epoch("best"), "objective")


# --- metrics and configs --------------------------------------------------------------


def test_preferred_metrics_are_the_loaders() -> None:
    from hpcore.data.loading import METRIC_NAMES

    assert PREFERRED_METRICS == METRIC_NAMES


def test_choose_metric() -> None:
    assert choose_metric(["loss"], None, "x") == "loss"
    assert choose_metric(["loss", "Accuracy"], None, "x") == "Accuracy"
    assert choose_metric(["loss", "acc"], "loss", "x") == "loss"
    with pytest.raises(MetricError, match=r"x has several metrics: \['a', 'b'\]"):
        choose_metric(["b", "a"], None, "x")
    with pytest.raises(
        MetricError, match=r"'c' is not a metric of x; metrics: \['a'\]"
    ):
        choose_metric(["a"], "c", "x")
    with pytest.raises(MetricError, match="has no metric values"):
        choose_metric([], None, "x")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.001", 0.001),
        ("1e-3", 0.001),
        ("64", 64),
        ("-2", -2),
        ("True", True),
        ("false", False),
        ("None", None),
        ("", None),
        ("adam", "adam"),
        ("{'lr': 0.1, 'name': 'sgd'}", {"lr": 0.1, "name": "sgd"}),
        ('{"a": {"b": 1}}', {"a": {"b": 1}}),
        ("[64, 64]", [64, 64]),
        ("(1, 2)", (1, 2)),
        ("inf", "inf"),
        ("[not python", "[not python"),
    ],
)
def test_parse_text_value(text: str, value: object) -> None:
    assert parse_text_value(text) == value


def test_columns_flatten_nested_configs() -> None:
    cols = Columns()
    cols.add({"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99], "eps": 1e-8}})
    cols.add({"lr": 0.2, "opt": {"name": "sgd", "eps": None}, "seed": np.int64(3)})
    frame = cols.frame()
    assert list(frame.columns) == ["lr", "opt.name", "opt.eps", "seed"]
    assert frame["opt.name"].tolist() == ["adam", "sgd"]
    assert frame["lr"].dtype == np.float64
    assert frame["seed"].dtype == "Int64" and frame["seed"].tolist()[1] == 3
    assert cols.excluded == {
        "opt.betas": "list-valued (e.g. [0.9, 0.99]); not an option"
    }


def test_columns_type_mixed_and_boolean_values() -> None:
    cols = Columns()
    for value in (1, 2.5, True):
        cols.add({"num": value if value is not True else None, "flag": value is True})
    frame = cols.frame()
    assert frame["num"].dtype == np.float64 and np.isnan(frame["num"].iloc[2])
    assert frame["flag"].dtype == bool


# --- recognising a source -------------------------------------------------------------


def _sqlite(path: Path, tables: list[str]) -> Path:
    con = sqlite3.connect(path)
    for t in tables:
        con.execute(f"CREATE TABLE {t} (id INTEGER)")
    con.commit()
    con.close()
    return path


def test_sqlite_is_told_apart_by_its_tables_never_by_its_name(tmp_path: Path) -> None:
    optuna_db = _sqlite(tmp_path / "mlflow.db", ["studies", "trials", "trial_params"])
    mlflow_db = _sqlite(
        tmp_path / "optuna.db", ["experiments", "runs", "latest_metrics", "params"]
    )
    assert detect(f"sqlite:///{optuna_db}").kind == "optuna"  # type: ignore[union-attr]
    assert detect(f"sqlite:///{mlflow_db}").kind == "mlflow"  # type: ignore[union-attr]
    assert detect(optuna_db).kind == "optuna"  # type: ignore[union-attr]
    both = _sqlite(
        tmp_path / "both.db",
        ["studies", "trials", "trial_params", "experiments", "runs", "latest_metrics"],
    )
    with pytest.raises(
        DataSourceError, match=r"holds both an Optuna storage and MLflow"
    ):
        hpcore.load(f"sqlite:///{both}")
    other = _sqlite(tmp_path / "other.db", ["customers"])
    with pytest.raises(
        DataSourceError,
        match=r"holds neither an Optuna study .* tables found: \['customers'\]",
    ):
        hpcore.load(f"sqlite:///{other}")


def test_urls_and_paths_that_are_not_sources(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"unknown URL scheme 'ftp://'"):
        hpcore.load("ftp://host/runs")
    with pytest.raises(DataSourceError, match=r"the database file .* does not exist"):
        hpcore.load(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()  # never created
    with pytest.raises(DataSourceError, match="in-memory database"):
        hpcore.load("sqlite://")
    notdb = tmp_path / "fake.db"
    notdb.write_text("hello")
    with pytest.raises(DataSourceError, match=r"unsupported file type '.db'"):
        hpcore.load(notdb)
    with pytest.raises(DataSourceError, match="is not an SQLite database"):
        hpcore.load(f"sqlite:///{notdb}")


def test_folder_of_the_wrong_kind(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "images").mkdir()
    with pytest.raises(
        DataSourceError,
        match=r"folder .* is not a data source hpexplorer reads: expected an MLflow "
        r"file store .* found 1 file\(s\) and 1 folder\(s\): "
        r"\['images/', 'notes.txt'\]",
    ):
        hpcore.load(tmp_path)


def test_plain_tables_refuse_tracker_options(tmp_path: Path) -> None:
    df = pd.DataFrame({"opt": ["a", "b"], "acc": [0.1, 0.2]})
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    assert detect(path) is None
    with pytest.raises(
        HpcoreError, match=r"study='s' \(CLI: --study\) names an Optuna"
    ):
        hpcore.load(path, study="s")
    with pytest.raises(HpcoreError, match=r"experiment='e' .* a DataFrame is a plain"):
        hpcore.load(df, experiment="e")
    with pytest.raises(
        HpcoreError, match=r"epoch 'best': the table .* holds one value"
    ):
        hpcore.load(path, epoch="best")
    with pytest.raises(HpcoreError, match=r"epoch '3': a DataFrame holds one value"):
        hpcore.load(df, epoch=3)
    assert hpcore.load(df, epoch="last").epoch is None  # last is harmless


def test_missing_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = _sqlite(tmp_path / "s.db", ["studies", "trials", "trial_params"])
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed
    with pytest.raises(
        DataSourceError,
        match=r"needs the Python package 'optuna', which is not installed; install it "
        r"with pip install 'hpexplorer\[trackers\]'",
    ):
        hpcore.load(db)


# --- NWS error.bin epochs -------------------------------------------------------------


def test_nws_epochs(tmp_path: Path) -> None:
    from test_nws import ACCURACY, NETS, ORDER, build_nws, curve

    root = build_nws(tmp_path / "nws")
    last = hpcore.load(root)
    np.testing.assert_allclose(
        last.table["test_accuracy"], [ACCURACY[k] for k in ORDER]
    )
    assert last.epoch == (
        "last: the test accuracy of each network's last epoch row of error.bin"
    )
    first = hpcore.load(root, epoch=0)  # before training: half the last test error
    np.testing.assert_allclose(
        first.table["test_accuracy"], [100 - NETS[k][-1] / 2 for k in ORDER]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NwsWarning: networks without epoch 3
        third = hpcore.load(root, epoch=3)
    have = [k for k in ORDER if len(curve(k, NETS[k][-1])) > 3]
    np.testing.assert_allclose(
        third.table["test_accuracy"], [100 - curve(k, NETS[k][-1])[3, 3] for k in have]
    )
    assert third.dropped["missing metric 'test_accuracy'"] == len(ORDER) - len(have)
    best = hpcore.load(root, epoch="best")
    np.testing.assert_allclose(
        best.table["test_accuracy"],
        [100 - curve(k, NETS[k][-1])[:, 3].min() for k in ORDER],
    )
    worst = hpcore.load(root, epoch="min")
    np.testing.assert_allclose(
        worst.table["test_accuracy"],
        [100 - curve(k, NETS[k][-1])[:, 3].max() for k in ORDER],
    )
