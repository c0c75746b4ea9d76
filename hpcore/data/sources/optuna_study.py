"""An Optuna study as an ensemble: one row per finished trial.

Read with Optuna's own storage API (``optuna.storages.RDBStorage`` for a
database URL, ``JournalStorage`` for a journal file, ``optuna.load_study`` and
``Study.get_trials``), never by querying its tables. Layout followed: Optuna
5.0 (``optuna/storages``, ``optuna/study/study.py``, ``optuna/distributions.py``);
the storage is opened with ``skip_table_creation=True`` so nothing is written.

- A row is a trial in state ``COMPLETE``; ``FAIL``, ``PRUNED``, ``RUNNING`` and
  ``WAITING`` trials are dropped and counted.
- Parameters are the trials' ``params``: a ``FloatDistribution`` or
  ``IntDistribution`` with ``log=True`` is binned on a log scale; a
  ``CategoricalDistribution`` keeps its choices as options, in the order they
  were declared. Parameters a trial did not sample (conditional search spaces)
  are missing there.
- The metric is the objective value, named ``value`` (or the name given with
  ``Study.set_metric_names``); a multi-objective study has one column per
  objective (``values_0``, ``values_1``, ... or the metric names) and the
  metric is chosen among them.
- With an epoch (a step number, ``best``, ``min`` or ``max``) the metric is the
  trial's intermediate value (``Trial.report(value, step)``) at that step, or
  its best one; then pruned trials count too: they were sound up to the step
  where they were stopped. ``best`` follows the study's direction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataSourceError, MetricError
from ..validation import fmt_list
from .common import (
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

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def read_optuna(
    location: str,
    *,
    study: str | None = None,
    metric: str | None = None,
    epoch: Epoch | None = None,
) -> SourceTable:
    """Read the finished trials of an Optuna study.

    Parameters
    ----------
    location : str
        A database URL Optuna accepts (``sqlite:///study.db``,
        ``postgresql://...``) or the path of a JournalStorage file.
    study : str, optional
        The study name; default: the only study of the storage.
    metric : str, optional
        The objective to use (``value``, ``values_1`` or a metric name).
    epoch : Epoch, optional
        Default: the final objective values of complete trials.

    Raises
    ------
    DataSourceError
        Optuna is not installed; the storage cannot be opened; it has no study,
        several (and ``study`` is not given) or none of that name; the study has
        no finished trial (or none with an intermediate value at the step).
    MetricError
        An unknown objective name; an epoch for a multi-objective study.
    """
    optuna = require("optuna", "an Optuna study")
    when = epoch or Epoch(default=True)
    with quiet():
        storage = _storage(optuna, location)
        try:
            names = sorted(optuna.study.get_all_study_names(storage=storage))
        except Exception as err:  # storage back ends raise many kinds
            raise DataSourceError(
                f"Optuna storage {location!r} could not be read: {one_line(err)}"
            ) from err
        name = _study_name(names, study, location)
        loaded = optuna.load_study(study_name=name, storage=storage)
        trials = loaded.get_trials(deepcopy=False)
        directions = [d.name for d in loaded.directions]
        declared = loaded.metric_names
    where = f"Optuna study {name!r} in {location}"
    objectives = (
        list(declared)
        if declared
        else ["value"]
        if len(directions) == 1
        else [f"values_{i}" for i in range(len(directions))]
    )
    chosen = choose_metric(objectives, metric, where)
    index = objectives.index(chosen)
    states = optuna.trial.TrialState
    dropped: dict[str, int] = {}
    rows: list[Any] = []
    values: list[float] = []
    used_steps: list[int] = []
    if when.kind == "last":
        for trial in trials:
            if trial.state == states.COMPLETE and trial.values is not None:
                rows.append(trial)
                values.append(float(trial.values[index]))
            else:
                count(dropped, _why(trial.state, states))
        text = None
    else:
        if len(directions) > 1:
            raise MetricError(
                f"epoch {str(when)!r}: {where} has {len(directions)} objectives; "
                "intermediate values (per step) exist only for single-objective "
                "studies"
            )
        when = resolve_best(
            when, chosen, "min" if directions[0] == "MINIMIZE" else "max"
        )
        seen_steps: set[int] = set()
        for trial in trials:
            if trial.state not in (states.COMPLETE, states.PRUNED):
                count(dropped, _why(trial.state, states))
                continue
            curve = trial.intermediate_values
            seen_steps.update(int(s) for s in curve)
            found = pick(list(curve), list(curve.values()), when)
            if found is None:
                count(
                    dropped,
                    f"no intermediate value at step {when.step}"
                    if curve
                    else "no intermediate values (Trial.report)",
                )
                continue
            rows.append(trial)
            values.append(found[0])
            used_steps.append(found[1])
        if not rows and not seen_steps:
            raise DataSourceError(
                f"epoch {str(when)!r}: {where} has no intermediate values (the "
                "objective reports none with trial.report(value, step)); leave out "
                "the epoch to use the final objective values"
            )
        if not rows:
            raise DataSourceError(
                f"no trial of {where} has an intermediate value at step {when.step}; "
                f"steps found: {_span(seen_steps)}"
            )
        text = epoch_text(when, chosen, used_steps, "step")
    if not rows:
        raise DataSourceError(
            f"{where} has no finished trial"
            + (f" ({_reasons(dropped)})" if dropped else " (it has no trials)")
        )
    frame, log_scale = _parameters(rows, optuna)
    frame = rename_clash(frame, chosen)
    frame[chosen] = np.asarray(values, dtype=np.float64)
    return SourceTable(
        frame=frame,
        metric=chosen,
        description=where,
        dropped=dropped,
        epoch=text,
        log_scale=frozenset(log_scale),
        better="lower" if directions[index] == "MINIMIZE" else "higher",
    )


def _storage(optuna: Any, location: str) -> Any:
    """Optuna's storage object for a database URL or a journal file."""
    try:
        if _URL.match(location):
            return optuna.storages.RDBStorage(location, skip_table_creation=True)
        journal = optuna.storages.journal
        backend = getattr(journal, "JournalFileBackend", None)
        if backend is None:  # Optuna < 4.0
            backend = optuna.storages.JournalFileStorage
        return optuna.storages.JournalStorage(backend(str(Path(location))))
    except Exception as err:  # SQLAlchemy, version checks, journal parsing
        raise DataSourceError(
            f"Optuna storage {location!r} could not be opened: {one_line(err)}"
        ) from err


def _study_name(names: list[str], study: str | None, location: str) -> str:
    if study is not None:
        if study not in names:
            raise DataSourceError(
                f"Optuna storage {location!r} has no study named {study!r}; "
                f"studies: {fmt_list(names) if names else 'none'}"
            )
        return study
    if not names:
        raise DataSourceError(f"Optuna storage {location!r} holds no study")
    if len(names) > 1:
        raise DataSourceError(
            f"Optuna storage {location!r} holds {len(names)} studies: "
            f"{fmt_list(names)}; choose one with study= (CLI: --study NAME)"
        )
    return names[0]


def _why(state: Any, states: Any) -> str:
    if state == states.PRUNED:
        return "pruned trials (Optuna TrialState.PRUNED)"
    if state == states.FAIL:
        return "failed trials (Optuna TrialState.FAIL)"
    if state == states.COMPLETE:
        return "complete trials without objective values"
    return f"unfinished trials (Optuna TrialState.{state.name})"


def _reasons(dropped: dict[str, int]) -> str:
    return "; ".join(f"{n} {reason}" for reason, n in dropped.items())


def _span(steps: set[int]) -> str:
    ordered = sorted(steps)
    return f"{ordered[0]}–{ordered[-1]}" if len(ordered) > 1 else str(ordered[0])


def _parameters(trials: list[Any], optuna: Any) -> tuple[pd.DataFrame, list[str]]:
    """The trials' params as columns, with their distributions' types and order."""
    distributions: dict[str, Any] = {}
    for trial in trials:
        for name, dist in trial.distributions.items():
            distributions.setdefault(name, dist)
    columns: dict[str, Any] = {}
    log_scale: list[str] = []
    categorical = optuna.distributions.CategoricalDistribution
    for name, dist in distributions.items():
        raw = [trial.params.get(name) for trial in trials]
        if isinstance(dist, categorical):
            choices = [c for c in dict.fromkeys(dist.choices) if c is not None]
            columns[name] = pd.Categorical(raw, categories=choices, ordered=True)
            continue
        if getattr(dist, "log", False):
            log_scale.append(name)
        present = [v for v in raw if v is not None]
        if present and all(isinstance(v, int) for v in present):
            columns[name] = pd.array(raw, dtype="Int64" if None in raw else "int64")
        else:
            columns[name] = np.asarray(
                [np.nan if v is None else float(v) for v in raw], dtype=np.float64
            )
    return pd.DataFrame(columns, index=pd.RangeIndex(len(trials))), log_scale
