"""hpcore.data.sources.mlflow_tracking: MLflow stores written with MLflow's client.

The same runs are written to a file store (``mlruns/``), an SQLite database
and, through MLflow's own tracking-server app, read over HTTP.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpcore
from hpcore.data.errors import DataSourceError, MetricError

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
from mlflow.tracking import MlflowClient  # noqa: E402

# lr, optimizer, layers, use_bn, val_acc per step 0..4 (steps 0-4, peak at step 2)
RUNS = [
    (0.1, "sgd", 2, True, [0.20, 0.50, 0.80, 0.70, 0.60]),
    (0.01, "adam", 3, False, [0.30, 0.60, 0.90, 0.85, 0.88]),
    (0.001, "adam", 4, True, [0.10, 0.40, 0.70, 0.75, 0.78]),
    (0.0001, "sgd", 2, False, [0.05, 0.10, 0.20, 0.25, 0.30]),
    (0.05, "rmsprop", 3, True, [0.25, 0.55, 0.85, 0.80, 0.82]),
    (0.005, "rmsprop", 4, False, [0.35, 0.65, 0.95, 0.90, 0.91]),
]


def write_runs(uri: str) -> None:
    """Finished runs with params and histories, plus every other kind of run."""
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("cifar")
    for i, (lr, opt, layers, bn, curve) in enumerate(RUNS):
        run = client.create_run(exp, start_time=1_000_000 + i)
        rid = run.info.run_id
        client.log_param(rid, "lr", lr)
        client.log_param(rid, "optimizer", opt)
        client.log_param(rid, "layers", layers)
        client.log_param(rid, "use_bn", bn)
        client.log_param(rid, "scheduler", {"name": "cosine", "warmup": 2 + i % 2})
        client.log_param(rid, "hidden", [64, 64])
        for step, value in enumerate(curve):
            client.log_metric(rid, "val_acc", value, step=step, timestamp=10 * step)
            client.log_metric(rid, "loss", 1 - value, step=step, timestamp=10 * step)
        client.set_terminated(rid, "FINISHED")
    for j, status in enumerate(["FAILED", "KILLED", None]):
        run = client.create_run(exp, start_time=2_000_000 + j)
        client.log_param(run.info.run_id, "lr", 0.1)
        client.log_metric(run.info.run_id, "val_acc", 0.5, step=0)
        if status is not None:
            client.set_terminated(run.info.run_id, status)
    # a parent run whose nested runs are trials of their own experiment
    parent = client.create_run(exp, start_time=3_000_000)
    client.log_metric(parent.info.run_id, "val_acc", 0.99)
    client.set_terminated(parent.info.run_id, "FINISHED")
    child = client.create_run(
        exp,
        start_time=3_000_001,
        tags={"mlflow.parentRunId": parent.info.run_id},
    )
    client.log_param(child.info.run_id, "lr", 0.2)
    client.log_param(child.info.run_id, "optimizer", "sgd")
    client.log_metric(child.info.run_id, "loss", 0.5)  # no val_acc at all
    client.set_terminated(child.info.run_id, "FINISHED")


def expected(step: int | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lr": [r[0] for r in RUNS],
            "optimizer": [r[1] for r in RUNS],
            "layers": [r[2] for r in RUNS],
            "use_bn": [r[3] for r in RUNS],
            "scheduler.name": ["cosine"] * len(RUNS),
            "scheduler.warmup": [2 + i % 2 for i in range(len(RUNS))],
            "val_acc": [r[4][-1 if step is None else step] for r in RUNS],
        }
    )


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("mlflow")
    db = f"sqlite:///{root / 'mlflow.db'}"
    write_runs(db)
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        write_runs((root / "mlruns").as_uri())
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE")
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old
    return {"sqlite": db, "file store": str(root / "mlruns"), "root": str(root)}


def _check(table: pd.DataFrame, step: int | None = None) -> None:
    want = expected(step)
    got = table[list(want.columns)]
    assert got["optimizer"].tolist() == want["optimizer"].tolist()
    assert got["layers"].tolist() == want["layers"].tolist()
    assert got["use_bn"].tolist() == want["use_bn"].tolist()
    assert got["scheduler.warmup"].tolist() == want["scheduler.warmup"].tolist()
    np.testing.assert_allclose(got["lr"].to_numpy(float), want["lr"])
    np.testing.assert_allclose(got["val_acc"].to_numpy(float), want["val_acc"])


@pytest.mark.parametrize("kind", ["sqlite", "file store"])
def test_finished_runs_with_params_and_last_values(
    stores: dict[str, str], kind: str
) -> None:
    from hpcore.data.sources import load_source

    root = Path(stores["root"])
    before = _tree(root)
    table = load_source(stores[kind], metric="val_acc")
    assert table is not None
    _check(table.frame)
    assert "hidden" in table.excluded and "list-valued" in table.excluded["hidden"]
    assert table.dropped == {
        "failed runs (MLflow status FAILED)": 1,
        "failed runs (MLflow status KILLED)": 1,
        "unfinished runs (MLflow status RUNNING)": 1,
        "parent runs (their nested runs are the trials)": 1,
        "no metric 'val_acc' logged": 1,
    }
    assert table.description.startswith("MLflow experiment 'cifar' at ")
    assert _tree(root) == before  # nothing written, not even a .trash folder


@pytest.mark.parametrize("kind", ["sqlite", "file store"])
def test_epochs_from_the_metric_history(stores: dict[str, str], kind: str) -> None:
    ens = hpcore.load(stores[kind], metric="val_acc", epoch=2)
    np.testing.assert_allclose(ens.table["val_acc"], [r[4][2] for r in RUNS])
    assert ens.epoch == "2: the value of 'val_acc' at step 2"
    best = hpcore.load(stores[kind], metric="val_acc", epoch="best")
    np.testing.assert_allclose(best.table["val_acc"], [max(r[4]) for r in RUNS])
    peaks = sorted({int(np.argmax(r[4])) for r in RUNS})  # steps 2 and 4
    assert best.epoch == (
        f"max: each run's largest value of 'val_acc' (steps {peaks[0]}–{peaks[-1]})"
    )
    low = hpcore.load(stores[kind], metric="loss", epoch="best")
    # the nested child run logged only a loss (0.5): it counts for this metric
    want = [1 - max(r[4]) for r in RUNS] + [0.5]
    np.testing.assert_allclose(low.table["loss"], want)
    with pytest.raises(DataSourceError, match=r"at step 7; steps found: 0–4"):
        hpcore.load(stores[kind], metric="val_acc", epoch=7)


def test_file_uri_and_default_experiment(stores: dict[str, str]) -> None:
    ens = hpcore.load(Path(stores["file store"]).as_uri(), metric="val_acc")
    assert len(ens) == len(RUNS)
    # 'Default' has no runs: 'cifar' is the only experiment with runs
    assert ens.source.startswith("MLflow experiment 'cifar'")


def test_unknown_experiment_and_metric(stores: dict[str, str]) -> None:
    with pytest.raises(
        DataSourceError,
        match=r"has no experiment named 'imagenet'; experiments: \[.*'cifar'.*\]",
    ):
        hpcore.load(stores["sqlite"], experiment="imagenet")
    with pytest.raises(MetricError, match=r"several metrics: \['loss', 'val_acc'\]"):
        hpcore.load(stores["sqlite"])
    with pytest.raises(MetricError, match=r"'top5' is not a metric of MLflow"):
        hpcore.load(stores["sqlite"], metric="top5")


def test_several_experiments_and_no_finished_run(
    stores: dict[str, str], tmp_path: Path
) -> None:
    copy = tmp_path / "two.db"  # a copy: no second round of MLflow's migrations
    copy.write_bytes(Path(stores["root"], "mlflow.db").read_bytes())
    url = f"sqlite:///{copy}"
    client = MlflowClient(tracking_uri=url)
    exp = client.create_experiment("alexnet")
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "acc", 0.5)
    client.set_terminated(run.info.run_id, "FAILED")
    with pytest.raises(
        DataSourceError, match=r"2 experiments with runs: \['alexnet', 'cifar'\]"
    ):
        hpcore.load(url)
    with pytest.raises(
        DataSourceError,
        match=r"MLflow experiment 'alexnet' at .* has no finished run \(1 failed runs",
    ):
        hpcore.load(url, experiment="alexnet")
    # the experiment id works as well as its name
    cifar = client.get_experiment_by_name("cifar").experiment_id
    assert len(hpcore.load(url, experiment=cifar, metric="val_acc")) == len(RUNS)


def test_missing_store_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="does not exist"):
        hpcore.load(f"sqlite:///{tmp_path / 'nope.db'}")
    with pytest.raises(DataSourceError, match="does not exist"):
        hpcore.load((tmp_path / "mlruns").as_uri())
    assert list(tmp_path.iterdir()) == []


# --- the tracking server ------------------------------------------------------------

SERVE = """
import sys
from werkzeug.serving import make_server
from mlflow.server import app
server = make_server("127.0.0.1", 0, app)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, stores: dict[str, str]
) -> Iterator[str]:
    """MLflow's tracking-server app on a free local port, over an SQLite store."""
    pytest.importorskip("flask")
    root = tmp_path_factory.mktemp("server")
    copy = root / "server.db"  # the runs of the SQLite store, served over HTTP
    copy.write_bytes(Path(stores["root"], "mlflow.db").read_bytes())
    db = f"sqlite:///{copy}"
    env = {
        **os.environ,
        "_MLFLOW_SERVER_FILE_STORE": db,
        "_MLFLOW_SERVER_ARTIFACT_ROOT": str(root / "artifacts"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        if not port.isdigit():
            pytest.fail(f"the MLflow server did not start (exit {proc.poll()})")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_http_tracking_server(server: str) -> None:
    ens = hpcore.load(server, experiment="cifar", metric="val_acc", epoch=1)
    np.testing.assert_allclose(ens.table["val_acc"], [r[4][1] for r in RUNS])
    assert ens.source == f"MLflow experiment 'cifar' at {server}"
    last = hpcore.load(server + "/", metric="val_acc")
    np.testing.assert_allclose(last.table["val_acc"], [r[4][-1] for r in RUNS])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_that_refuses() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(
        DataSourceError, match=r"MLflow tracking server .* does not answer"
    ):
        hpcore.load(url)


def test_server_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from hpcore.data.sources import mlflow_tracking

    monkeypatch.setattr(mlflow_tracking, "PROBE_SECONDS", 0.5)
    with socket.socket() as listener:  # accepts connections, never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(
            DataSourceError, match=r"does not answer \(waited up to 0.5 s\)"
        ):
            hpcore.load(url)
