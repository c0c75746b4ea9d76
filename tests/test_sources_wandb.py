"""hpcore.data.sources.wandb_export: W&B runs exports, read without wandb.

Two shapes: the runs table CSV of the project page (columns Name, State,
Notes, User, Tags, Created, Runtime, Sweep, then config and summary keys, every
field quoted) and the runs of the public API as JSON (wandb 0.31,
``wandb/apis/public/runs.py``: ``config`` values wrapped as ``{"value": v,
"desc": ...}`` in the raw form, ``summaryMetrics`` a JSON string in the GraphQL
attributes, ``_wandb`` and ``_step``/``_runtime``/``_timestamp`` internal), also
as written by the documented export script (``DataFrame.to_csv`` / ``to_json``
of a frame with ``summary``, ``config`` and ``name`` columns).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpcore
from hpcore.data.errors import DataSourceError, HpcoreError, MetricError
from hpcore.data.sources import load_source

# name, state, lr, optimizer, (nested) scheduler, batch, val_acc, val_loss
RUNS = [
    (
        "warm-sun-1",
        "finished",
        0.001,
        "adam",
        {"name": "cos", "warmup": 2},
        32,
        0.91,
        0.30,
    ),
    (
        "cold-moon-2",
        "finished",
        0.01,
        "sgd",
        {"name": "step", "warmup": 0},
        64,
        0.85,
        0.41,
    ),
    (
        "dark-star-3",
        "crashed",
        0.1,
        "sgd",
        {"name": "cos", "warmup": 2},
        32,
        0.10,
        2.30,
    ),
    (
        "red-sky-4",
        "finished",
        0.0001,
        "adam",
        {"name": "cos", "warmup": 0},
        64,
        0.78,
        0.52,
    ),
    (
        "blue-sea-5",
        "failed",
        0.05,
        "rmsprop",
        {"name": "step", "warmup": 2},
        32,
        0.20,
        1.90,
    ),
    (
        "old-oak-6",
        "finished",
        0.005,
        "rmsprop",
        {"name": "step", "warmup": 2},
        64,
        0.88,
        0.35,
    ),
    (
        "new-elm-7",
        "running",
        0.002,
        "adam",
        {"name": "cos", "warmup": 0},
        32,
        0.60,
        0.90,
    ),
]
FINISHED = [r for r in RUNS if r[1] == "finished"]


def write_runs_table(path: Path) -> Path:
    header = ["Name", "State", "Notes", "User", "Tags", "Created", "Runtime", "Sweep"]
    header += ["batch_size", "lr", "optimizer", "scheduler.name", "scheduler.warmup"]
    header += ["val_acc", "val_loss"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        for i, (name, state, lr, opt, sched, batch, acc, loss) in enumerate(RUNS):
            writer.writerow(
                [
                    name,
                    state,
                    "-",
                    "ana",
                    "baseline",
                    f"2026-11-{10 + i}T08:00:00.000Z",
                    120 + 7 * i,
                    "",
                    batch,
                    lr,
                    opt,
                    sched["name"],
                    sched["warmup"],
                    acc,
                    loss,
                ]
            )
    return path


def api_runs() -> list[dict[str, object]]:
    """Runs as the public API's attributes: raw config, summaryMetrics as JSON text."""
    runs = []
    for i, (name, state, lr, opt, sched, batch, acc, loss) in enumerate(RUNS):
        config = {
            "lr": lr,
            "optimizer": opt,
            "scheduler": sched,
            "batch_size": batch,
            "hidden": [128, 64],
        }
        raw = {k: {"value": v, "desc": None} for k, v in config.items()}
        raw["_wandb"] = {"value": {"cli_version": "0.31.0"}, "desc": None}
        summary = {
            "val_acc": acc,
            "val_loss": loss,
            "_step": 9,
            "_runtime": 120.5 + i,
            "_timestamp": 1796191000.0 + i,
            "_wandb": {"runtime": 120},
            "samples": {"_type": "table-file", "path": "media/table/samples.json"},
        }
        runs.append(
            {
                "id": f"run{i:04d}",
                "name": name,
                "displayName": name,
                "state": state,
                "config": raw,
                "summaryMetrics": json.dumps(summary),
            }
        )
    return runs


def _check(frame: pd.DataFrame) -> None:
    assert frame["lr"].tolist() == [r[2] for r in FINISHED]
    assert frame["optimizer"].tolist() == [r[3] for r in FINISHED]
    assert frame["scheduler.name"].tolist() == [r[4]["name"] for r in FINISHED]
    assert frame["scheduler.warmup"].tolist() == [r[4]["warmup"] for r in FINISHED]
    assert frame["batch_size"].tolist() == [r[5] for r in FINISHED]


def test_runs_table_csv(tmp_path: Path) -> None:
    path = write_runs_table(tmp_path / "wandb_export_2026-12-02T06_30_00.000+01_00.csv")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    table = load_source(path)
    assert table is not None
    assert (
        table.metric is None
    )  # config and summary cannot be told apart: the loader picks
    _check(table.frame)
    assert table.dropped == {
        "crashed runs (W&B state crashed)": 1,
        "failed runs (W&B state failed)": 1,
        "running runs (W&B state running)": 1,
    }
    for meta in (
        "Name",
        "State",
        "Notes",
        "User",
        "Tags",
        "Created",
        "Runtime",
        "Sweep",
    ):
        assert table.excluded[meta] == "W&B run metadata, not a setting"
    ens = hpcore.load(path, metric="val_acc")
    np.testing.assert_allclose(ens.table["val_acc"], [r[6] for r in FINISHED])
    assert "val_loss" in ens.excluded  # a metric-like column, with the usual note
    assert ens.parameters == (
        "batch_size",
        "lr",
        "optimizer",
        "scheduler.name",
        "scheduler.warmup",
    )
    assert ens.dropped["crashed runs (W&B state crashed)"] == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_api_runs_as_json(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(api_runs(), indent=2))
    table = load_source(path, metric="val_acc")
    assert table is not None
    _check(table.frame)
    np.testing.assert_allclose(table.frame["val_acc"], [r[6] for r in FINISHED])
    assert "hidden" in table.excluded and "list-valued" in table.excluded["hidden"]
    assert table.excluded["_wandb"] == "W&B internal config key"
    assert "summary samples" in table.excluded  # media, not a number
    assert sum(table.dropped.values()) == 3
    with pytest.raises(
        MetricError, match=r"several metrics: \['val_acc', 'val_loss'\]"
    ):
        hpcore.load(path)


@pytest.mark.parametrize("shape", ["runs-key", "json-lines", "to_json", "to_csv"])
def test_other_json_shapes(tmp_path: Path, shape: str) -> None:
    plain = [
        {
            "summary": {"val_acc": r[6], "_step": 3},
            "config": {
                "lr": r[2],
                "optimizer": r[3],
                "scheduler": r[4],
                "batch_size": r[5],
            },
            "name": r[0],
        }
        for r in FINISHED
    ]
    if shape == "runs-key":
        path = tmp_path / "export.json"
        path.write_text(json.dumps({"runs": plain}))
    elif shape == "json-lines":
        path = tmp_path / "export.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in plain))
    elif shape == "to_json":  # pandas' default orient: column -> index -> value
        path = tmp_path / "project.json"
        pd.DataFrame(plain).to_json(path)
    else:  # the documented export script: runs_df.to_csv("project.csv")
        path = tmp_path / "project.csv"
        pd.DataFrame(plain).to_csv(path)
    ens = hpcore.load(path)
    assert ens.metric == "val_acc"
    np.testing.assert_allclose(ens.table["val_acc"], [r[6] for r in FINISHED])
    assert set(ens.parameters) >= {"lr", "optimizer", "scheduler.name"}


def test_bad_exports(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"accuracy": [0.1, 0.2]}))
    with pytest.raises(DataSourceError, match=r"is not a W&B runs export: expected"):
        hpcore.load(path)
    crashed = tmp_path / "crashed.json"
    crashed.write_text(json.dumps([{**r, "state": "crashed"} for r in api_runs()]))
    with pytest.raises(DataSourceError, match=r"has no finished run \(7 crashed runs"):
        hpcore.load(crashed)
    table = write_runs_table(tmp_path / "runs.csv")
    with pytest.raises(
        HpcoreError, match=r"epoch '3': a W&B runs export holds one value"
    ):
        hpcore.load(table, metric="val_acc", epoch=3)


def test_a_key_the_reader_left_out_is_named_when_asked_for(tmp_path: Path) -> None:
    # every config value a list: the loader saw no parameter column at all and
    # said "excluded: none", and --params lr "missing column 'lr'"
    runs = [
        {
            "name": f"run-{i}",
            "state": "finished",
            "config": {"lr": [0.1, 0.2 * i]},
            "summary": {"val_acc": 0.5 + i / 10},
        }
        for i in range(4)
    ]
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(runs))
    with pytest.raises(HpcoreError, match=r"excluded: \{'lr': 'list-valued"):
        hpcore.load(path, metric="val_acc")
    with pytest.raises(
        HpcoreError, match=r"has no column 'lr': its reader left it out \(list-valued"
    ):
        hpcore.load(path, metric="val_acc", parameters=["lr"])
