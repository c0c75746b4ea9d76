"""A Ray Tune experiment folder as an ensemble: one row per finished trial.

Plain files, read without importing ray. Layout followed: Ray 2.60
(``ray/air/constants.py``, ``ray/tune/logger/json.py``,
``ray/tune/logger/csv.py``, ``ray/tune/execution/tune_controller.py``,
``ray/tune/experiment/trial.py``), the same since Ray 2.7:

- the experiment folder holds ``experiment_state-<date>.json`` (``trial_data``:
  per trial a JSON state with ``status`` and ``relative_logdir``), the
  searcher's state files, ``tuner.pkl``, and one folder per trial;
- a trial folder holds ``params.json`` (the trial's config, written by
  ``JsonLoggerCallback``), ``result.json`` (one JSON object per reported
  result, with the auto-filled ``training_iteration``, ``time_total_s``,
  ``trial_id``, ``config``, ...), ``progress.csv`` (the same results, nested
  keys joined with ``/``, ``config`` left out) and, when the trial raised,
  ``error.txt``.

- A row is a trial whose status is ``TERMINATED`` (from the newest
  experiment state; without one, a trial folder without ``error.txt``);
  ``ERROR`` trials are dropped as failed, ``PENDING``/``RUNNING``/``PAUSED``
  ones as unfinished. Trials stopped early by a scheduler are terminated
  trials and count.
- Parameters are the config in ``params.json``, nested dicts flattened into
  dotted names (``optimizer.lr``); lists are excluded.
- The metric is a reported key (``result.json``, else ``progress.csv``); nested
  result dicts are named with ``/`` as Ray does. Ray's own bookkeeping keys
  are not metrics. The step of a result is its ``training_iteration`` (1 for
  the first report): ``last`` is the last report, a number N the report with
  ``training_iteration`` N, ``best``/``min``/``max`` the extreme over all
  reports.
"""

from __future__ import annotations

import json
import math
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
    pick,
    rename_clash,
    resolve_best,
)

PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.csv"
ERROR_FILE = "error.txt"
STATE_PREFIX = "experiment_state"
STEP_KEY = "training_iteration"
#: Keys Ray Tune fills in itself (ray/tune/result.py AUTO_RESULT_KEYS and more).
AUTO_KEYS = frozenset(
    {
        "training_iteration",
        "time_total_s",
        "time_this_iter_s",
        "timestamp",
        "date",
        "time_since_restore",
        "iterations_since_restore",
        "timesteps_since_restore",
        "timesteps_total",
        "episodes_total",
        "timesteps_this_iter",
        "episodes_this_iter",
        "pid",
        "hostname",
        "node_ip",
        "trial_id",
        "experiment_id",
        "experiment_tag",
        "done",
        "should_checkpoint",
        "checkpoint_dir_name",
        "config",
        "trainable_name",
    }
)
_UNFINISHED = frozenset({"PENDING", "RUNNING", "PAUSED"})


def read_ray_tune(
    folder: Path, *, metric: str | None = None, epoch: Epoch | None = None
) -> SourceTable:
    """Read the finished trials of a Ray Tune experiment folder.

    Raises
    ------
    DataSourceError
        No trial folder with ``params.json``; unreadable files; no finished
        trial with results.
    MetricError
        An unknown metric, or ``best`` for a metric whose name says nothing
        about its direction.
    """
    when = epoch or Epoch(default=True)
    where = f"Ray Tune experiment {str(folder)!r}"
    trial_dirs = sorted(
        d for d in folder.iterdir() if d.is_dir() and (d / PARAMS_FILE).is_file()
    )
    statuses = _statuses(folder)
    dropped: dict[str, int] = {}
    for name, status in statuses.items():
        if status in _UNFINISHED and not (folder / name).is_dir():
            count(dropped, f"unfinished trials (Ray Tune status {status})")
    if not trial_dirs:
        raise DataSourceError(
            f"{where}: no trial folder (a folder with {PARAMS_FILE} and "
            f"{RESULT_FILE}) in it"
        )
    trials: list[tuple[dict[str, Any], list[dict[str, object]]]] = []
    for trial in trial_dirs:
        status = statuses.get(trial.name) or (
            "ERROR" if (trial / ERROR_FILE).is_file() else "TERMINATED"
        )
        if status == "ERROR":
            count(dropped, "failed trials (Ray Tune status ERROR)")
            continue
        if status != "TERMINATED":
            count(dropped, f"unfinished trials (Ray Tune status {status})")
            continue
        results = _results(trial)
        if not results:
            count(dropped, "trials without reported results")
            continue
        trials.append((_read_json(trial / PARAMS_FILE), results))
    if not trials:
        raise DataSourceError(
            f"{where} has no finished trial with results"
            + (f" ({'; '.join(f'{n} {r}' for r, n in dropped.items())})")
        )
    available = list(
        dict.fromkeys(
            k
            for _, results in trials
            for row in results
            for k, v in row.items()
            if k not in AUTO_KEYS and _is_number(v)
        )
    )
    chosen = choose_metric(available, metric, where)
    when = resolve_best(when, chosen)
    columns = Columns()
    values: list[float] = []
    used: list[int] = []
    seen: set[int] = set()
    for config, results in trials:
        steps, curve = [], []
        for i, row in enumerate(results, start=1):
            value = row.get(chosen)
            if not _is_number(value):
                continue
            step = row.get(STEP_KEY, i)
            steps.append(int(step) if _is_number(step) else i)  # type: ignore[call-overload]
            curve.append(float(value))  # type: ignore[arg-type]
        seen.update(steps)
        found = pick(steps, curve, when)
        if found is None:
            count(
                dropped,
                f"no {chosen!r} at {STEP_KEY} {when.step}"
                if steps
                else f"no {chosen!r} reported",
            )
            continue
        columns.add(config)
        values.append(found[0])
        used.append(found[1])
    if not values:
        raise DataSourceError(
            f"no finished trial of {where} reported {chosen!r} at {STEP_KEY} "
            f"{when.step}; {STEP_KEY}s found: "
            f"{min(seen)}–{max(seen)}"
            if seen
            else f"no finished trial of {where} reported {chosen!r}"
        )
    frame = rename_clash(columns.frame(), chosen)
    frame[chosen] = np.asarray(values, dtype=np.float64)
    return SourceTable(
        frame=frame,
        metric=chosen,
        description=where,
        dropped=dropped,
        excluded=columns.excluded,
        epoch=epoch_text(when, chosen, used, STEP_KEY),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataSourceError(
            f"Ray Tune file {str(path)!r} could not be read: {err}"
        ) from err
    if not isinstance(data, dict):
        raise DataSourceError(
            f"Ray Tune file {str(path)!r}: expected a JSON object (the trial's "
            f"config); found {type(data).__name__}"
        )
    return data


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, object]:
    """Nested result dicts joined with ``/`` (as Ray's progress.csv does)."""
    out: dict[str, object] = {}
    for key, value in row.items():
        if key == "config" and not prefix:
            continue
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _results(trial: Path) -> list[dict[str, object]]:
    """The trial's reported results, in order (result.json, else progress.csv)."""
    result = trial / RESULT_FILE
    if result.is_file():
        rows = []
        try:
            lines = result.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise DataSourceError(
                f"Ray Tune file {str(result)!r} could not be read: {err}"
            ) from err
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as err:
                if number == len(lines):  # a result being written: not complete
                    break
                raise DataSourceError(
                    f"Ray Tune file {str(result)!r} line {number} is not JSON: {err}"
                ) from err
            if isinstance(row, dict):
                rows.append(_flatten(row))
        return rows
    progress = trial / PROGRESS_FILE
    if progress.is_file():
        try:
            table = pd.read_csv(progress, dtype={"trial_id": str})
        except pd.errors.EmptyDataError:
            return []
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise DataSourceError(
                f"Ray Tune file {str(progress)!r} could not be read: {err}"
            ) from err
        return [
            {
                str(k): (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in row.items()
            }
            for row in table.to_dict(orient="records")
        ]
    return []


def _statuses(folder: Path) -> dict[str, str]:
    """Trial folder name -> status, from the newest experiment state file."""
    states = sorted(folder.glob(f"{STATE_PREFIX}*.json"))
    if not states:
        return {}
    try:
        data = json.loads(states[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a state being written: fall back on the trial folders
    statuses: dict[str, str] = {}
    for entry in data.get("trial_data", []) if isinstance(data, dict) else []:
        try:
            state = json.loads(entry[0]) if isinstance(entry[0], str) else entry[0]
        except (ValueError, TypeError, IndexError, KeyError):
            continue
        if not isinstance(state, dict):
            continue
        logdir = state.get("relative_logdir")
        status = state.get("status")
        if isinstance(status, str):
            statuses[
                str(logdir) if logdir else f"<no folder: {state.get('trial_id')}>"
            ] = status
    return statuses
