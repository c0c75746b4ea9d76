"""A TensorBoard log folder with HParams data as an ensemble: one row per session.

Read with TensorBoard's own reader: the event multiplexer of
``tensorboard.backend.event_processing`` (every value kept, not sampled) and
the HParams plugin's metadata parsing (``tensorboard.plugins.hparams.metadata``).
Layout followed: TensorBoard 2.21 (``plugins/hparams/summary_v2.py``,
``plugins/hparams/metadata.py``, ``plugins/hparams/backend_context.py``), the
same since TensorBoard 2.0:

- a *session* is a run (a folder of event files) holding the HParams
  plugin's ``_hparams_/session_start_info`` summary, written by
  ``hp.hparams(...)`` (Keras ``hp.KerasCallback``) or PyTorch's
  ``SummaryWriter.add_hparams``; its hyper-parameters are the values in it;
- its metrics are the scalar tags of the session's run and of the runs below
  it, named ``tag`` in the session's own folder and ``group/tag`` in a folder
  ``group`` below it (``validation/epoch_accuracy`` for Keras), as the HParams
  plugin names them;
- a ``_hparams_/session_end_info`` with status ``STATUS_FAILURE`` drops the
  session as failed, ``STATUS_RUNNING`` as unfinished; an
  ``_hparams_/experiment`` summary gives the declared order of string values.

The metric is a scalar's last value (at the largest step), its value at a
step, or its best over the steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataSourceError
from .common import (
    Columns,
    Epoch,
    SourceTable,
    choose_metric,
    count,
    epoch_text,
    one_line,
    pick,
    quiet,
    rename_clash,
    require,
    resolve_best,
)


def read_tensorboard(
    folder: Path, *, metric: str | None = None, epoch: Epoch | None = None
) -> SourceTable:
    """Read the HParams sessions of a TensorBoard log folder.

    Raises
    ------
    DataSourceError
        TensorBoard is not installed; the event files cannot be read; no
        session with HParams data; no finished session with scalars.
    MetricError
        An unknown scalar tag, or ``best`` for a tag whose name says nothing
        about its direction.
    """
    require("tensorboard", "TensorBoard logs")
    when = epoch or Epoch(default=True)
    where = f"TensorBoard logs {str(folder)!r}"
    try:
        with quiet():
            sessions, declared, curves = _read_events(folder)
    except DataSourceError:
        raise
    except Exception as err:  # corrupt event files, protobuf errors
        raise DataSourceError(f"{where} could not be read: {one_line(err)}") from err
    if not sessions:
        raise DataSourceError(
            f"{where} has no HParams data: no run holds the HParams plugin's "
            "session_start_info (log hyper-parameters with hp.hparams(...) or "
            "SummaryWriter.add_hparams(...))"
        )
    dropped: dict[str, int] = {}
    kept: list[tuple[str, dict[str, object]]] = []
    for name, (hparams, status) in sessions.items():
        if status == "STATUS_FAILURE":
            count(dropped, "failed sessions (HParams status STATUS_FAILURE)")
        elif status == "STATUS_RUNNING":
            count(dropped, "unfinished sessions (HParams status STATUS_RUNNING)")
        elif not curves.get(name):
            count(dropped, "sessions without scalars")
        else:
            kept.append((name, hparams))
    if not kept:
        raise DataSourceError(
            f"{where} has no finished session with scalars ("
            + "; ".join(f"{n} {r}" for r, n in dropped.items())
            + ")"
        )
    available = list(dict.fromkeys(t for name, _ in kept for t in curves[name]))
    chosen = choose_metric(available, metric, where)
    when = resolve_best(when, chosen)
    columns = Columns()
    values: list[float] = []
    used: list[int] = []
    seen: set[int] = set()
    for name, hparams in kept:
        steps, vals = curves[name].get(chosen, ([], []))
        seen.update(steps)
        found = pick(steps, vals, when)
        if found is None:
            count(
                dropped,
                f"no {chosen!r} at step {when.step}" if steps else f"no {chosen!r}",
            )
            continue
        columns.add(hparams)
        values.append(found[0])
        used.append(found[1])
    if not values:
        raise DataSourceError(
            f"no session of {where} has {chosen!r} at step {when.step}; steps "
            f"found: {min(seen)}–{max(seen)}"
            if seen
            else f"no session of {where} has {chosen!r}"
        )
    frame = columns.frame()
    for name, order in declared.items():
        if name in frame.columns and frame[name].dtype == object:
            present = [v for v in order if v in set(frame[name].dropna())]
            extra = [v for v in pd.unique(frame[name].dropna()) if v not in present]
            frame[name] = pd.Categorical(
                frame[name], categories=[*present, *extra], ordered=True
            )
    frame = rename_clash(frame, chosen)
    frame[chosen] = np.asarray(values, dtype=np.float64)
    return SourceTable(
        frame=frame,
        metric=chosen,
        description=where,
        dropped=dropped,
        excluded=columns.excluded,
        epoch=epoch_text(when, chosen, used, "step"),
    )


_Curves = dict[str, dict[str, tuple[list[int], list[float]]]]


def _read_events(
    folder: Path,
) -> tuple[
    dict[str, tuple[dict[str, object], str | None]], dict[str, list[object]], _Curves
]:
    """Sessions (hparams, end status), declared string orders, scalar curves."""
    from tensorboard.backend.event_processing import (
        plugin_event_accumulator,
        plugin_event_multiplexer,
    )
    from tensorboard.plugins.hparams import api_pb2, metadata
    from tensorboard.util import tensor_util

    mux = plugin_event_multiplexer.EventMultiplexer(
        size_guidance=plugin_event_accumulator.STORE_EVERYTHING_SIZE_GUIDANCE
    )
    mux.AddRunsFromDirectory(str(folder))
    mux.Reload()
    plugin = mux.PluginRunToTagToContent(metadata.PLUGIN_NAME)
    sessions: dict[str, tuple[dict[str, object], str | None]] = {}
    declared: dict[str, list[object]] = {}
    for run, tags in sorted(plugin.items()):
        if metadata.EXPERIMENT_TAG in tags:
            experiment = metadata.parse_experiment_plugin_data(
                tags[metadata.EXPERIMENT_TAG]
            )
            for info in experiment.hparam_infos:
                if info.HasField("domain_discrete"):
                    declared[info.name] = [
                        _value(v) for v in info.domain_discrete.values
                    ]
        if metadata.SESSION_START_INFO_TAG not in tags:
            continue
        start = metadata.parse_session_start_info_plugin_data(
            tags[metadata.SESSION_START_INFO_TAG]
        )
        hparams = {name: _value(value) for name, value in start.hparams.items()}
        status = None
        if metadata.SESSION_END_INFO_TAG in tags:
            end = metadata.parse_session_end_info_plugin_data(
                tags[metadata.SESSION_END_INFO_TAG]
            )
            status = api_pb2.Status.Name(end.status)
        sessions[run] = (dict(sorted(hparams.items())), status)
    curves: _Curves = {name: {} for name in sessions}
    for run, tags in sorted(mux.PluginRunToTagToContent("scalars").items()):
        owner = _owner(run, sessions)
        if owner is None:
            continue
        group = "" if run == owner else run[len(owner) + 1 :] if owner != "." else run
        for tag in tags:
            events = mux.Tensors(run, tag)
            steps = [int(e.step) for e in events]
            vals = [
                float(tensor_util.make_ndarray(e.tensor_proto).item()) for e in events
            ]
            curves[owner][f"{group}/{tag}" if group else tag] = (steps, vals)
    return sessions, declared, curves


def _owner(run: str, sessions: dict[str, Any]) -> str | None:
    """The session a run belongs to: itself or its nearest session ancestor."""
    best = None
    for name in sessions:
        inside = run == name or name == "." or run.startswith(name + "/")
        if inside and (best is None or best == "." or len(name) > len(best)):
            best = name
    return best


def _value(value: Any) -> object:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = float(value.number_value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return str(value.string_value)
    if kind == "bool_value":
        return bool(value.bool_value)
    return None
