"""hpcore.data.sources.optuna_study: Optuna studies written with Optuna itself."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpcore
from hpcore.data.errors import DataSourceError, MetricError

optuna = pytest.importorskip("optuna")
from optuna.distributions import (  # noqa: E402
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState, create_trial  # noqa: E402

DISTS = {
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "dropout": FloatDistribution(0.0, 0.5),
    "layers": IntDistribution(1, 8),
    "optimizer": CategoricalDistribution(["sgd", "adam", "rmsprop"]),
    "batch": CategoricalDistribution([256, 32, 64]),
}
# lr, dropout, layers, optimizer, batch, objective; hand-made, every state below
COMPLETE = [
    (1e-5, 0.0, 1, "adam", 32, 0.61),
    (3e-5, 0.1, 2, "sgd", 64, 0.72),
    (1e-4, 0.2, 3, "rmsprop", 256, 0.83),
    (3e-4, 0.3, 4, "adam", 32, 0.91),
    (1e-3, 0.4, 5, "sgd", 64, 0.88),
    (3e-3, 0.5, 6, "rmsprop", 256, 0.79),
    (1e-2, 0.05, 7, "adam", 32, 0.55),
    (3e-2, 0.15, 8, "sgd", 64, 0.41),
    (1e-1, 0.25, 2, "adam", 256, 0.12),
    (5e-4, 0.35, 3, "rmsprop", 32, 0.93),
]


def _params(row: tuple[object, ...]) -> dict[str, object]:
    return dict(zip(DISTS, row[:5], strict=True))


def _curve(final: float) -> dict[int, float]:
    """Intermediate values at steps 0..3, peaking at step 1 above the final."""
    return {0: final / 2, 1: final + 0.05, 2: final - 0.01, 3: final}


def build_study(storage: object, name: str = "mnist") -> object:
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    for row in COMPLETE:
        study.add_trial(
            create_trial(
                params=_params(row),
                distributions=DISTS,
                value=row[5],
                intermediate_values=_curve(float(row[5])),  # type: ignore[arg-type]
            )
        )
    # two pruned trials (stopped after step 1), one failed, one still running
    for row in COMPLETE[:2]:
        study.add_trial(
            create_trial(
                params=_params(row),
                distributions=DISTS,
                state=TrialState.PRUNED,
                intermediate_values={0: 0.2, 1: 0.3},
            )
        )
    study.add_trial(
        create_trial(
            params=_params(COMPLETE[2]), distributions=DISTS, state=TrialState.FAIL
        )
    )
    study.ask()  # a RUNNING trial
    return study


@pytest.fixture(scope="module")
def study_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("optuna") / "results.db"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    build_study(f"sqlite:///{path}")
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_table() -> pd.DataFrame:
    return pd.DataFrame([row[:5] for row in COMPLETE], columns=list(DISTS)).assign(
        value=[row[5] for row in COMPLETE]
    )


def test_complete_trials_become_rows(study_db: Path) -> None:
    from hpcore.data.sources import load_source

    before = _digest(study_db)
    table = load_source(f"sqlite:///{study_db}")
    assert table is not None
    got = table.frame
    want = expected_table()
    assert list(got.columns) == list(want.columns)
    for col in ("lr", "dropout", "value"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float))
    assert got["layers"].tolist() == want["layers"].tolist()
    # categorical choices keep the declared order, numbers included
    assert list(got["optimizer"].cat.categories) == ["sgd", "adam", "rmsprop"]
    assert list(got["batch"].cat.categories) == [256, 32, 64]
    assert got["optimizer"].tolist() == want["optimizer"].tolist()
    assert table.dropped == {
        "pruned trials (Optuna TrialState.PRUNED)": 2,
        "failed trials (Optuna TrialState.FAIL)": 1,
        "unfinished trials (Optuna TrialState.RUNNING)": 1,
    }
    assert table.log_scale == frozenset({"lr"})
    assert table.epoch is None
    assert _digest(study_db) == before  # read, never written


def test_load_bins_log_scaled_floats_on_a_log_scale(study_db: Path) -> None:
    ens = hpcore.load(f"sqlite:///{study_db}")
    assert ens.metric == "value"
    assert ens.source == f"Optuna study 'mnist' in sqlite:///{study_db}"
    edges = np.asarray(ens.binned["lr"])
    np.testing.assert_allclose(edges, np.geomspace(1e-5, 1e-1, 6))
    # the linear float keeps equal-width bins
    np.testing.assert_allclose(np.diff(ens.binned["dropout"]), 0.1)
    # same column without the hint: the heuristic's choice, whatever it is, is
    # not forced; the hint is what makes lr log-spaced here
    from hpcore.data.options import make_options

    lr = pd.Series([row[0] for row in COMPLETE])
    assert make_options(lr, 5, log=False).edges == pytest.approx(
        tuple(np.linspace(1e-5, 1e-1, 6))
    )
    assert ens.options("optimizer") == ("sgd", "adam", "rmsprop")
    assert ens.options("batch") == ("256", "32", "64")
    assert ens.dropped["pruned trials (Optuna TrialState.PRUNED)"] == 2


def test_bare_file_path_is_recognised_by_its_tables(
    study_db: Path, tmp_path: Path
) -> None:
    # a misleading name: the tables decide, never the name
    renamed = tmp_path / "mlflow.db"
    renamed.write_bytes(study_db.read_bytes())
    ens = hpcore.load(renamed)
    assert ens.metric == "value" and len(ens) == len(COMPLETE)


def test_epoch_uses_intermediate_values_and_counts_pruned_trials(
    study_db: Path,
) -> None:
    ens = hpcore.load(f"sqlite:///{study_db}", epoch=1)
    # 10 complete trials + 2 pruned ones that reached step 1
    assert len(ens) == 12
    values = sorted(ens.table["value"].tolist())
    want = sorted([float(r[5]) + 0.05 for r in COMPLETE] + [0.3, 0.3])
    np.testing.assert_allclose(values, want)
    assert ens.epoch == "1: the value of 'value' at step 1"
    assert "pruned trials (Optuna TrialState.PRUNED)" not in ens.dropped
    # step 3: only complete trials have it
    at3 = hpcore.load(f"sqlite:///{study_db}", epoch=3)
    assert len(at3) == 10
    assert at3.dropped["no intermediate value at step 3"] == 2
    # best follows the study's direction (maximize): the peak at step 1
    best = hpcore.load(f"sqlite:///{study_db}", epoch="best")
    np.testing.assert_allclose(
        sorted(best.table["value"]),
        sorted([float(r[5]) + 0.05 for r in COMPLETE] + [0.3, 0.3]),
    )
    assert best.epoch is not None and best.epoch.startswith("max:")


def test_journal_storage_file(tmp_path: Path) -> None:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "optuna-journal.log"
    build_study(JournalStorage(JournalFileBackend(str(path))), name="journaled")
    before = _digest(path)
    ens = hpcore.load(path)
    assert ens.source == f"Optuna study 'journaled' in {path}"
    assert len(ens) == len(COMPLETE)
    np.testing.assert_allclose(
        ens.table["value"].to_numpy(), [row[5] for row in COMPLETE]
    )
    assert _digest(path) == before
    assert not (tmp_path / "optuna-journal.log.lock").exists()


def test_the_log_hint_decides_where_the_heuristic_would_not(tmp_path: Path) -> None:
    # log-sampled over less than two orders of magnitude: the value heuristic
    # alone cuts equal-width bins; the distribution says log
    url = f"sqlite:///{tmp_path / 'narrow.db'}"
    study = optuna.create_study(study_name="narrow", storage=url)
    dist = {"lr": FloatDistribution(1e-3, 5e-2, log=True), "opt": DISTS["optimizer"]}
    lrs = np.geomspace(1e-3, 5e-2, 12)
    for i, lr in enumerate(lrs):
        study.add_trial(
            create_trial(
                params={"lr": float(lr), "opt": ["sgd", "adam"][i % 2]},
                distributions=dist,
                value=float(i),
            )
        )
    ens = hpcore.load(url)
    np.testing.assert_allclose(ens.binned["lr"], np.geomspace(1e-3, 5e-2, 6))
    plain = hpcore.load(
        pd.DataFrame({"lr": lrs, "opt": ["sgd", "adam"] * 6, "acc": np.arange(12.0)})
    )
    np.testing.assert_allclose(plain.binned["lr"], np.linspace(1e-3, 5e-2, 6))


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_multi_objective_study_with_metric_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'multi.db'}"
    study = optuna.create_study(
        study_name="pareto", storage=url, directions=["maximize", "minimize"]
    )
    study.set_metric_names(["accuracy", "latency_ms"])
    for i, row in enumerate(COMPLETE):
        study.add_trial(
            create_trial(
                params=_params(row), distributions=DISTS, values=[row[5], 10.0 + i]
            )
        )
    ens = hpcore.load(url)  # 'accuracy' is the default metric by its name
    assert ens.metric == "accuracy"
    np.testing.assert_allclose(ens.table["accuracy"], [r[5] for r in COMPLETE])
    lat = hpcore.load(url, metric="latency_ms")
    np.testing.assert_allclose(lat.table["latency_ms"], 10.0 + np.arange(10))
    # each objective's direction is the study's, whatever its name says
    assert (ens.better, lat.better) == ("higher", "lower")
    fastest = hpcore.normalize(lat).table["normalized"].to_numpy()
    assert fastest[0] == 1.0 and fastest[-1] == 0.0  # the lowest latency is 1
    with pytest.raises(MetricError, match=r"metric 'loss' is not a metric of Optuna"):
        hpcore.load(url, metric="loss")
    with pytest.raises(MetricError, match="exist only for single-objective studies"):
        hpcore.load(url, epoch=2)


def test_several_studies_need_a_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    build_study(url, "alpha")
    build_study(url, "beta")
    with pytest.raises(
        DataSourceError, match=r"holds 2 studies: \['alpha', 'beta'\]; choose one"
    ):
        hpcore.load(url)
    assert hpcore.load(url, study="beta").source.startswith("Optuna study 'beta'")
    with pytest.raises(
        DataSourceError,
        match=r"has no study named 'gamma'; studies: \['alpha', 'beta'\]",
    ):
        hpcore.load(url, study="gamma")


def test_no_finished_trial(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'failed.db'}"
    study = optuna.create_study(study_name="bad", storage=url)
    for row in COMPLETE[:3]:
        study.add_trial(
            create_trial(
                params=_params(row), distributions=DISTS, state=TrialState.FAIL
            )
        )
    with pytest.raises(
        DataSourceError,
        match=r"Optuna study 'bad' in .* has no finished trial \(3 failed trials",
    ):
        hpcore.load(url)
    with pytest.raises(DataSourceError, match="has no intermediate values"):
        hpcore.load(f"sqlite:///{tmp_path / 'failed.db'}", epoch=1)


def test_empty_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.storages.RDBStorage(url)  # the tables, no study
    with pytest.raises(DataSourceError, match="holds no study"):
        hpcore.load(url)


def test_epoch_beyond_the_curves(study_db: Path) -> None:
    with pytest.raises(
        DataSourceError,
        match=r"no trial of .* has an intermediate value at step 9; "
        r"steps found: 0–3",
    ):
        hpcore.load(f"sqlite:///{study_db}", epoch=9)
