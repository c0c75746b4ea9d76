"""hpcore.data.sources.ray_tune: experiment folders shaped as Ray Tune 2.60 writes them.

The files follow Ray's own writers (read from ray 2.60's source, not imported):
``JsonLoggerCallback`` (params.json with ``indent=2, sort_keys=True``; one JSON
result per line in result.json), ``CSVLoggerCallback`` (progress.csv, nested
keys joined with ``/``, ``config`` left out), ``Trainable.train`` and
``get_auto_filled_metrics`` (the auto-filled keys of every result),
``Trial.handle_error`` (error.txt) and ``TuneController.save_to_dir``
(experiment_state-<date>.json with ``trial_data`` = [trial JSON state, run
metadata]), trial folders named ``<trainable>_<trial_id>_<tag>_<date>``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import hpcore
from hpcore.data.errors import DataSourceError, MetricError
from hpcore.data.sources import load_source

DATE = "2026-12-02_06-16-41"
# config, per-iteration val/acc and loss, final status
TRIALS = [
    (
        {"lr": 0.001, "optimizer": {"name": "adam", "beta1": 0.9}, "layers": 2},
        [0.50, 0.70, 0.80],
        "TERMINATED",
    ),
    (
        {"lr": 0.01, "optimizer": {"name": "sgd", "beta1": 0.0}, "layers": 3},
        [0.40, 0.85, 0.75],
        "TERMINATED",
    ),
    (
        {"lr": 0.1, "optimizer": {"name": "sgd", "beta1": 0.0}, "layers": 4},
        [0.30],
        "TERMINATED",
    ),  # stopped early by a scheduler: one report
    (
        {"lr": 0.0001, "optimizer": {"name": "adam", "beta1": 0.8}, "layers": 2},
        [0.20, 0.45, 0.65],
        "TERMINATED",
    ),
    (
        {"lr": 0.05, "optimizer": {"name": "adam", "beta1": 0.9}, "layers": 3},
        [0.10],
        "ERROR",
    ),
    (
        {"lr": 0.005, "optimizer": {"name": "sgd", "beta1": 0.0}, "layers": 4},
        [0.60, 0.62],
        "RUNNING",
    ),
]
FINISHED = [t for t in TRIALS if t[2] == "TERMINATED"]


def _tag(config: dict[str, object]) -> str:
    return ",".join(f"{k}={v}" for k, v in config.items() if not isinstance(v, dict))


def build_experiment(
    root: Path, *, with_state: bool = True, csv_only: int = -1
) -> Path:
    """An experiment folder; trial ``csv_only`` has progress.csv but no result.json."""
    exp = root / "train_fn_2026-12-02_06-16-30"
    exp.mkdir(parents=True)
    (exp / "tuner.pkl").write_bytes(pickle.dumps({"stub": "tuner"}))
    (exp / "trainable.pkl").write_bytes(pickle.dumps({"stub": "trainable"}))
    (exp / f"basic-variant-state-{DATE}.json").write_text("{}")
    trial_data = []
    for i, (config, curve, status) in enumerate(TRIALS):
        trial_id = f"8b6e1_{i:05d}"
        name = f"train_fn_{trial_id}_{i}_{_tag(config)}_{DATE}"
        folder = exp / name
        folder.mkdir()
        (folder / "params.json").write_text(
            json.dumps(config, indent=2, sort_keys=True)
        )
        (folder / "params.pkl").write_bytes(pickle.dumps(config))
        results = []
        total = 0.0
        for it, acc in enumerate(curve, start=1):
            total += 1.5
            results.append(
                {
                    "val": {"acc": acc},
                    "loss": round(1 - acc, 6),
                    "timestamp": 1796191000 + it,
                    "checkpoint_dir_name": None,
                    "done": False,
                    "training_iteration": it,
                    "trial_id": trial_id,
                    "date": DATE,
                    "time_this_iter_s": 1.5,
                    "time_total_s": total,
                    "pid": 4242,
                    "hostname": "node-1",
                    "node_ip": "127.0.0.1",
                    "config": config,
                    "time_since_restore": total,
                    "iterations_since_restore": it,
                }
            )
        if i != csv_only:
            with (folder / "result.json").open("w") as handle:
                for result in results:
                    json.dump(result, handle)
                    handle.write("\n")
        with (folder / "progress.csv").open("w", newline="") as handle:
            flat = [
                _flat({k: v for k, v in r.items() if k != "config"}) for r in results
            ]
            writer = csv.DictWriter(handle, list(flat[0]))
            writer.writeheader()
            writer.writerows(flat)
        if status == "ERROR":
            (folder / "error.txt").write_text(
                f"Failure # 1 (occurred at {DATE})\nray::ImplicitFunc.train() "
                "ZeroDivisionError: division by zero\n"
            )
            (folder / "error.pkl").write_bytes(pickle.dumps("ZeroDivisionError"))
        state = {
            "trainable_name": "train_fn",
            "trial_id": trial_id,
            "status": status,
            "relative_logdir": name,
            "experiment_tag": f"{i}_{_tag(config)}",
            "config": config,
            "_state_json": None,
        }
        trial_data.append(
            [json.dumps(state, indent=2), json.dumps({"num_failures": 0})]
        )
    # a trial the searcher created but never started: no folder
    trial_data.append(
        [
            json.dumps(
                {
                    "trial_id": "8b6e1_00099",
                    "status": "PENDING",
                    "relative_logdir": None,
                }
            ),
            "{}",
        ]
    )
    if with_state:
        state_file = exp / f"experiment_state-{DATE}.json"
        state_file.write_text(
            json.dumps(
                {
                    "trial_data": trial_data,
                    "runner_data": {"_session_str": DATE},
                    "stats": {"start_time": 1796190990.0},
                }
            )
        )
    return exp


def _flat(row: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_finished_trials_with_config_and_last_result(tmp_path: Path) -> None:
    exp = build_experiment(tmp_path)
    before = _tree(exp)
    table = load_source(exp, metric="val/acc")
    assert table is not None
    frame = table.frame
    assert list(frame.columns) == [
        "layers",
        "lr",
        "optimizer.beta1",
        "optimizer.name",
        "val/acc",
    ]
    np.testing.assert_allclose(frame["lr"], [t[0]["lr"] for t in FINISHED])
    assert frame["optimizer.name"].tolist() == [
        t[0]["optimizer"]["name"]
        for t in FINISHED  # type: ignore[index]
    ]
    np.testing.assert_allclose(frame["val/acc"], [t[1][-1] for t in FINISHED])
    assert table.dropped == {
        "unfinished trials (Ray Tune status PENDING)": 1,
        "failed trials (Ray Tune status ERROR)": 1,
        "unfinished trials (Ray Tune status RUNNING)": 1,
    }
    assert table.epoch == (
        "last: each run's last logged value of 'val/acc' (training_iterations 1–3)"
    )
    assert _tree(exp) == before


def test_epochs_are_training_iterations(tmp_path: Path) -> None:
    exp = build_experiment(tmp_path)
    at2 = hpcore.load(exp, metric="val/acc", epoch=2)
    # the early-stopped trial has no second report
    np.testing.assert_allclose(
        at2.table["val/acc"], [t[1][1] for t in FINISHED if len(t[1]) > 1]
    )
    assert at2.dropped["no 'val/acc' at training_iteration 2"] == 1
    best = hpcore.load(exp, metric="val/acc", epoch="best")
    np.testing.assert_allclose(best.table["val/acc"], [max(t[1]) for t in FINISHED])
    loss = hpcore.load(exp, metric="loss", epoch="best")
    np.testing.assert_allclose(
        loss.table["loss"], [round(1 - max(t[1]), 6) for t in FINISHED]
    )
    with pytest.raises(DataSourceError, match=r"training_iterations found: 1–3"):
        hpcore.load(exp, metric="val/acc", epoch=5)


def test_metrics_exclude_ray_bookkeeping(tmp_path: Path) -> None:
    exp = build_experiment(tmp_path)
    with pytest.raises(MetricError, match=r"several metrics: \['loss', 'val/acc'\]"):
        hpcore.load(exp)


def test_without_experiment_state_and_with_progress_csv_only(tmp_path: Path) -> None:
    exp = build_experiment(tmp_path, with_state=False, csv_only=1)
    table = load_source(exp, metric="val/acc")
    assert table is not None
    # no state file: the failed trial is told by error.txt; the running one
    # cannot be told apart from a finished one and is read
    assert table.dropped == {"failed trials (Ray Tune status ERROR)": 1}
    want = [t[1][-1] for t in TRIALS if t[2] != "ERROR"]
    np.testing.assert_allclose(table.frame["val/acc"], want)


def test_no_finished_trial_and_wrong_folder(tmp_path: Path) -> None:
    exp = build_experiment(tmp_path)
    for folder in exp.iterdir():
        if folder.is_dir():
            (folder / "error.txt").write_text("Failure # 1\n")
    state = exp / f"experiment_state-{DATE}.json"
    state.unlink()
    with pytest.raises(
        DataSourceError,
        match=r"Ray Tune experiment .* has no finished trial with results "
        r"\(6 failed trials",
    ):
        hpcore.load(exp)
    only_state = tmp_path / "empty-exp"
    only_state.mkdir()
    (only_state / f"experiment_state-{DATE}.json").write_text('{"trial_data": []}')
    with pytest.raises(DataSourceError, match=r"no trial folder"):
        hpcore.load(only_state)
