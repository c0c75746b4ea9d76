"""hpcore.data.sources.tensorboard_hparams: logs written with TensorBoard's own writer.

Event files come from ``tensorboard.summary.writer.event_file_writer``; the
HParams summaries from the plugin's ``summary_v2`` (``hparams_pb``,
``hparams_config_pb``) and, for the session end, its ``metadata`` module as
PyTorch's ``add_hparams`` builds it; scalars both as TF2 writes them (tensor
summaries with the scalars plugin's metadata, ``scalar_pb``) and as PyTorch and
tensorboardX write them (``simple_value``).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest

import hpcore
from hpcore.data.errors import DataSourceError, MetricError
from hpcore.data.sources import load_source

pytest.importorskip("tensorboard")
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import (
    api_pb2,
    metadata,
    plugin_data_pb2,
)
from tensorboard.plugins.hparams import summary_v2 as hp
from tensorboard.plugins.scalar import summary_v2 as scalar
from tensorboard.summary.writer.event_file_writer import EventFileWriter

# hparams, validation accuracy per epoch (steps 0..3), end status
SESSIONS = [
    (
        {"lr": 0.001, "optimizer": "sgd", "dropout": 0.1, "batch_norm": True},
        [0.40, 0.60, 0.70, 0.65],
        api_pb2.STATUS_SUCCESS,
    ),
    (
        {"lr": 0.01, "optimizer": "adam", "dropout": 0.2, "batch_norm": False},
        [0.50, 0.80, 0.85, 0.90],
        api_pb2.STATUS_SUCCESS,
    ),
    (
        {"lr": 0.1, "optimizer": "rmsprop", "dropout": 0.1, "batch_norm": True},
        [0.30, 0.35, 0.45, 0.50],
        None,
    ),  # no end summary (Keras' callback writes none)
    (
        {"lr": 0.0001, "optimizer": "adam", "dropout": 0.2, "batch_norm": False},
        [0.20, 0.30],
        api_pb2.STATUS_FAILURE,
    ),
    (
        {"lr": 0.005, "optimizer": "sgd", "dropout": 0.1, "batch_norm": False},
        [],
        api_pb2.STATUS_SUCCESS,
    ),  # logged no scalars
]
KEPT = [s for s in SESSIONS if s[2] != api_pb2.STATUS_FAILURE and s[1]]


def _event(step: int, summary: summary_pb2.Summary) -> event_pb2.Event:
    return event_pb2.Event(wall_time=time.time(), step=step, summary=summary)


def _session_end(status: int) -> summary_pb2.Summary:
    data = plugin_data_pb2.HParamsPluginData(
        session_end_info=plugin_data_pb2.SessionEndInfo(
            status=status, end_time_secs=time.time()
        )
    )
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(
                tag=metadata.SESSION_END_INFO_TAG,
                metadata=metadata.create_summary_metadata(data),
                tensor=metadata.NULL_TENSOR,
            )
        ]
    )


def _simple(tag: str, value: float) -> summary_pb2.Summary:
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
    )


def write_keras_style(logdir: Path) -> Path:
    """Keras + hp.KerasCallback: one run per session, train/ and validation/ below."""
    top = EventFileWriter(str(logdir))
    config = hp.hparams_config_pb(
        hparams=[
            hp.HParam("lr", hp.RealInterval(1e-4, 1e-1)),
            hp.HParam("optimizer", hp.Discrete(["sgd", "rmsprop", "adam"])),
            hp.HParam("dropout", hp.Discrete([0.1, 0.2])),
            hp.HParam("batch_norm", hp.Discrete([False, True])),
        ],
        metrics=[hp.Metric("epoch_accuracy", group="validation")],
    )
    top.add_event(_event(0, config))
    top.close()
    for i, (hparams, curve, status) in enumerate(SESSIONS):
        run = logdir / f"run-{i}"
        writer = EventFileWriter(str(run))
        writer.add_event(_event(0, hp.hparams_pb(hparams, trial_id=f"run-{i}")))
        if status is not None:
            writer.add_event(_event(len(curve), _session_end(status)))
        writer.close()
        if not curve:
            continue
        val = EventFileWriter(str(run / "validation"))
        train = EventFileWriter(str(run / "train"))
        for step, acc in enumerate(curve):
            val.add_event(_event(step, scalar.scalar_pb("epoch_accuracy", acc)))
            train.add_event(_event(step, scalar.scalar_pb("epoch_loss", 1 - acc)))
        val.close()
        train.close()
    return logdir


def _f32(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_sessions_hparams_and_last_scalar(tmp_path: Path) -> None:
    logdir = write_keras_style(tmp_path / "logs")
    before = _tree(logdir)
    table = load_source(logdir, metric="validation/epoch_accuracy")
    assert table is not None
    frame = table.frame
    assert list(frame.columns) == [
        "batch_norm",
        "dropout",
        "lr",
        "optimizer",
        "validation/epoch_accuracy",
    ]
    np.testing.assert_allclose(frame["lr"], [s[0]["lr"] for s in KEPT])
    assert frame["batch_norm"].tolist() == [s[0]["batch_norm"] for s in KEPT]
    assert frame["optimizer"].tolist() == [s[0]["optimizer"] for s in KEPT]
    # the experiment summary's domain gives the option order (TensorBoard sorts it)
    assert list(frame["optimizer"].cat.categories) == ["adam", "rmsprop", "sgd"]
    np.testing.assert_allclose(
        frame["validation/epoch_accuracy"], _f32([s[1][-1] for s in KEPT])
    )
    assert table.dropped == {
        "failed sessions (HParams status STATUS_FAILURE)": 1,
        "sessions without scalars": 1,
    }
    assert _tree(logdir) == before


def test_epochs_of_tensorboard_scalars(tmp_path: Path) -> None:
    logdir = write_keras_style(tmp_path / "logs")
    ens = hpcore.load(logdir, metric="validation/epoch_accuracy", epoch=1)
    np.testing.assert_allclose(
        ens.table["validation/epoch_accuracy"], _f32([s[1][1] for s in KEPT])
    )
    assert ens.epoch == "1: the value of 'validation/epoch_accuracy' at step 1"
    best = hpcore.load(logdir, metric="train/epoch_loss", epoch="best")
    np.testing.assert_allclose(
        best.table["train/epoch_loss"], _f32([1 - max(s[1]) for s in KEPT]), rtol=1e-6
    )
    assert ens.options("optimizer") == ("adam", "rmsprop", "sgd")
    with pytest.raises(MetricError, match=r"several metrics: \['train/epoch_loss', "):
        hpcore.load(logdir)
    with pytest.raises(DataSourceError, match=r"at step 8; steps found: 0–3"):
        hpcore.load(logdir, metric="validation/epoch_accuracy", epoch=8)


def test_pytorch_add_hparams_layout(tmp_path: Path) -> None:
    """SummaryWriter.add_hparams: a sub-run per call with the final metric values."""
    logdir = tmp_path / "runs"
    for i, (hparams, curve, _status) in enumerate(SESSIONS[:3]):
        run = logdir / f"exp{i}"
        parent = EventFileWriter(str(run))  # the per-epoch scalars of the training
        for step, acc in enumerate(curve):
            parent.add_event(_event(step, _simple("Accuracy/val", acc)))
        parent.close()
        session = EventFileWriter(str(run / f"17961910{i:02d}.123"))
        session.add_event(_event(0, hp.hparams_pb(hparams)))
        session.add_event(_event(0, _session_end(api_pb2.STATUS_SUCCESS)))
        session.add_event(_event(0, _simple("hparam/accuracy", curve[-1])))
        session.close()
    ens = hpcore.load(logdir)
    assert ens.metric == "hparam/accuracy"
    np.testing.assert_allclose(
        ens.table["hparam/accuracy"], _f32([s[1][-1] for s in SESSIONS[:3]])
    )


def test_logs_without_hparams(tmp_path: Path) -> None:
    writer = EventFileWriter(str(tmp_path / "plain"))
    writer.add_event(_event(0, _simple("loss", 1.0)))
    writer.close()
    with pytest.raises(DataSourceError, match=r"has no HParams data"):
        hpcore.load(tmp_path / "plain")


def test_no_finished_session(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    writer = EventFileWriter(str(logdir / "run-0"))
    writer.add_event(_event(0, hp.hparams_pb({"lr": 0.1})))
    writer.add_event(_event(0, _simple("acc", 0.1)))
    writer.add_event(_event(1, _session_end(api_pb2.STATUS_FAILURE)))
    writer.close()
    with pytest.raises(
        DataSourceError,
        match=r"has no finished session with scalars \(1 failed sessions",
    ):
        hpcore.load(logdir)
