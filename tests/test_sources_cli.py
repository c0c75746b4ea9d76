"""The tracker sources through the real command line: reports and one-line errors."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import run_main

pytest.importorskip("optuna")
pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def optuna_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from test_sources_optuna import build_study

    path = tmp_path_factory.mktemp("cli-optuna") / "study.db"
    build_study(f"sqlite:///{path}", "mnist")
    build_study(f"sqlite:///{path}", "cifar")
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def ray_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_sources_ray import build_experiment

    return build_experiment(tmp_path_factory.mktemp("cli-ray"))


def test_report_on_an_optuna_study(
    optuna_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rep"
    status, stdout, stderr = run_main(
        ["report", optuna_db, "--study", "mnist", "--out", str(out)], capsys
    )
    assert status == 0, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"] == f"Optuna study 'mnist' in {optuna_db}"
    assert summary["metric"] == "value"
    assert summary["epoch"] is None  # final objective values: no epoch
    assert summary["rows"] == 10
    assert (
        summary["dropped"]["reasons"]["pruned trials (Optuna TrialState.PRUNED)"] == 2
    )
    np.testing.assert_allclose(summary["binned"]["lr"], np.geomspace(1e-5, 1e-1, 6))
    assert "dropped 2 row(s): pruned trials" in stderr
    assert "report written to" in stdout


def test_the_report_summary_says_which_epoch(optuna_db: str) -> None:
    import hpcore
    from hpcore.app.report import build_report

    ens = hpcore.normalize(hpcore.load(optuna_db, study="cifar", epoch=1))
    summary = build_report(ens).summary  # the content of summary.json
    assert summary["epoch"] == "1: the value of 'value' at step 1"
    assert summary["rows"] == 12  # pruned trials reached step 1
    assert summary["source"] == f"Optuna study 'cifar' in {optuna_db}"


def test_stderr_says_which_epoch(
    ray_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hpcore
    from hpcore.app.common import announce

    announce(hpcore.load(ray_folder, metric="loss", epoch=2))
    stderr = capsys.readouterr().err
    assert "hpexplorer: epoch 2: the value of 'loss' at training_iteration 2" in stderr


def test_findings_on_a_ray_tune_folder(
    ray_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "found"
    status, _, stderr = run_main(
        [
            "findings",
            str(ray_folder),
            "--metric",
            "val/acc",
            "--epoch",
            "best",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert status == 0, stderr
    assert (out / "findings.md").exists()
    assert "Ray Tune experiment" in (out / "findings.md").read_text()
    assert "epoch max: each run's largest value of 'val/acc'" in stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD = [
    (
        "unknown study",
        ["{optuna}", "--study", "imagenet"],
        r"has no study named 'imagenet'; studies: \['cifar', 'mnist'\]",
    ),
    ("several studies", ["{optuna}"], r"holds 2 studies: \['cifar', 'mnist'\]; choose"),
    (
        "experiment for optuna",
        ["{optuna}", "--experiment", "x"],
        r"experiment='x' \(CLI: --experiment\) names an MLflow experiment",
    ),
    (
        "unknown experiment",
        ["{mlflow}", "--experiment", "imagenet"],
        r"has no experiment named 'imagenet'; experiments: \[.*'cifar'.*\]",
    ),
    (
        "server does not answer",
        ["{dead}"],
        r"MLflow tracking server .* does not answer",
    ),
    ("wrong kind of folder", ["{empty}"], r"is not a data source hpexplorer reads"),
    ("no finished runs", ["{failed}"], r"has no finished trial with results"),
    ("bad epoch", ["{ray}", "--epoch", "first"], r"epoch must be a step number >= 0"),
    ("epoch on a csv", ["{csv}", "--epoch", "3"], r"epoch '3': the table .* holds one"),
    ("study on a csv", ["{csv}", "--study", "s"], r"study='s' .* is a plain table"),
    (
        "unknown metric",
        ["{ray}", "--metric", "top5"],
        r"metric 'top5' is not a metric of Ray Tune experiment .*; metrics: \['loss'",
    ),
    (
        "unknown parameter",
        ["{ray}", "--metric", "loss", "--epoch", "best", "--params", "lr,nope"],
        r"--params: missing column",
    ),
    ("missing database", ["sqlite:///{tmp}/none.db"], r"does not exist"),
]


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    import os

    from test_sources_mlflow import write_runs

    root = tmp_path_factory.mktemp("cli-mlflow")
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        write_runs((root / "mlruns").as_uri())
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE")
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old
    return str(root / "mlruns")


@pytest.mark.parametrize(("case", "args", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_sources_exit_2_with_one_line(
    case: str,
    args: list[str],
    match: str,
    optuna_db: str,
    mlflow_store: str,
    ray_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from test_sources_ray import build_experiment

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("x")
    failed = build_experiment(tmp_path / "failed")
    for trial in failed.iterdir():
        if trial.is_dir():
            (trial / "error.txt").write_text("Failure # 1\n")
    for state in failed.glob("experiment_state-*.json"):
        state.unlink()
    csv = tmp_path / "t.csv"
    csv.write_text("opt,acc\na,0.1\nb,0.2\n")
    values = {
        "optuna": optuna_db,
        "mlflow": mlflow_store,
        "ray": str(ray_folder),
        "dead": f"http://127.0.0.1:{_free_port()}",
        "empty": str(empty),
        "failed": str(failed),
        "csv": str(csv),
        "tmp": str(tmp_path),
    }
    out = tmp_path / "rep"
    argv = ["report", *(a.format(**values) for a in args), "--out", str(out)]
    before = sorted(p.name for p in tmp_path.iterdir())
    status, stdout, stderr = run_main(argv, capsys)
    assert status == 2, (case, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert re.match(r"hpexplorer report: error: ", lines[0]), lines[0]
    assert "Traceback" not in stderr
    assert re.search(match, lines[0]), lines[0]
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before
