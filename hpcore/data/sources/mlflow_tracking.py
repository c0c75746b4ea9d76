"""MLflow runs as an ensemble: one row per finished run of one experiment.

Read with MLflow's own client (``MlflowClient``: ``search_experiments``,
``search_runs``, ``get_metric_history``), so every tracking URI MLflow knows
works: a database (``sqlite:///mlflow.db``, MLflow's default backend, or any
SQLAlchemy URL), the file store ``mlruns/`` (deprecated by MLflow 3, still
common; read with ``MLFLOW_ALLOW_FILE_STORE`` set for the read only) and an
``http(s)://`` tracking server. Layout and API followed: MLflow 3.17
(``mlflow/tracking/client.py``, ``mlflow/store/tracking/file_store.py``).
Nothing is written: a database or file store that does not exist is refused
before MLflow could create it.

- A row is a run with status ``FINISHED`` in the experiment; ``FAILED``,
  ``KILLED``, ``RUNNING`` and ``SCHEDULED`` runs are dropped and counted, and so
  are parent runs of nested runs (their children are the trials).
- Parameters are the runs' ``params``. MLflow keeps them as text; numbers,
  booleans and ``None`` are read back as such, a dict (``{'lr': 0.1}``) is
  flattened into dotted names (``optimizer.lr``), a list is excluded.
- The metric is one of the runs' metrics: by default its latest value (the
  one MLflow shows, at the largest step); with an epoch its value at that
  step, or its best over the run's metric history.
"""

from __future__ import annotations

import contextlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataSourceError, MetricError
from ..validation import fmt_list
from .common import (
    Columns,
    Epoch,
    SourceTable,
    choose_metric,
    count,
    epoch_text,
    one_line,
    parse_text_value,
    pick,
    quiet,
    rename_clash,
    require,
    resolve_best,
)

#: Seconds an http(s) tracking server has to answer the first request.
PROBE_SECONDS = 5.0
#: Runs fetched per search_runs page.
PAGE = 1000
_PARENT_TAG = "mlflow.parentRunId"


def read_mlflow(
    location: str,
    *,
    experiment: str | None = None,
    metric: str | None = None,
    epoch: Epoch | None = None,
) -> SourceTable:
    """Read the finished runs of one MLflow experiment.

    Parameters
    ----------
    location : str
        A tracking URI (``sqlite:///mlflow.db``, ``file:///.../mlruns``,
        ``http://host:5000``) or the path of a file store folder.
    experiment : str, optional
        Experiment name (or id); default: the only experiment with runs.
    metric : str, optional
        Metric key; default: the only one, or one named like test accuracy.
    epoch : Epoch, optional
        Default ``last``: each run's latest value.

    Raises
    ------
    DataSourceError
        MLflow is not installed; the store does not exist or the server does
        not answer; no experiment of that name (the message lists them), no
        experiment with runs, several (and none chosen); no finished run.
    MetricError
        An unknown metric key, or ``best`` for a metric whose name says
        nothing about its direction.
    """
    require("mlflow", "MLflow runs")
    when = epoch or Epoch(default=True)
    uri, env = _tracking_uri(location)
    if uri.startswith(("sqlite", "postgres", "mysql", "mssql")):
        require("sqlalchemy", f"the MLflow database {location!r}")
    if uri.startswith(("http://", "https://")):
        _probe(uri)
    try:
        with quiet(), _environment(env):
            return _read(uri, location, experiment, metric, when)
    except DataSourceError:
        raise
    except MetricError:
        raise
    except Exception as err:  # MlflowException, requests and database errors
        raise DataSourceError(
            f"MLflow tracking URI {location!r} could not be read: {one_line(err)}"
        ) from err


def _read(
    uri: str, location: str, experiment: str | None, metric: str | None, when: Epoch
) -> SourceTable:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp_id, exp_name = _experiment(client, ViewType, location, experiment)
    where = f"MLflow experiment {exp_name!r} at {location}"
    runs = _all_runs(client, ViewType, exp_id)
    parents = {r.data.tags.get(_PARENT_TAG) for r in runs} - {None}
    dropped: dict[str, int] = {}
    finished = []
    for run in runs:
        status = run.info.status
        if run.info.run_id in parents:
            count(dropped, "parent runs (their nested runs are the trials)")
        elif status != "FINISHED":
            count(
                dropped,
                f"{'unfinished' if status in _RUNNING else 'failed'} "
                f"runs (MLflow status {status})",
            )
        else:
            finished.append(run)
    if not finished:
        raise DataSourceError(
            f"{where} has no finished run"
            + (
                f" ({'; '.join(f'{n} {r}' for r, n in dropped.items())})"
                if dropped
                else " (it has no runs)"
            )
        )
    available = list(dict.fromkeys(k for r in finished for k in r.data.metrics))
    chosen = choose_metric(available, metric, where)
    when = resolve_best(when, chosen)
    kept = []
    values: list[float] = []
    steps: list[int] = []
    seen_steps: set[int] = set()
    for run in finished:
        if chosen not in run.data.metrics:
            count(dropped, f"no metric {chosen!r} logged")
            continue
        if when.kind == "last":
            kept.append(run)
            values.append(float(run.data.metrics[chosen]))
            continue
        history = sorted(
            client.get_metric_history(run.info.run_id, chosen),
            key=lambda m: m.timestamp,
        )
        seen_steps.update(int(m.step) for m in history)
        found = pick([int(m.step) for m in history], [m.value for m in history], when)
        if found is None:
            count(dropped, f"no {chosen!r} at step {when.step}")
            continue
        kept.append(run)
        values.append(found[0])
        steps.append(found[1])
    if not kept:
        raise DataSourceError(
            f"no finished run of {where} has {chosen!r} at step {when.step}; "
            f"steps found: {_span(seen_steps)}"
            if when.kind == "step"
            else f"no finished run of {where} logged {chosen!r}"
        )
    columns = Columns()
    for run in kept:
        columns.add({k: parse_text_value(v) for k, v in run.data.params.items()})
    frame = rename_clash(columns.frame(), chosen)
    frame[chosen] = np.asarray(values, dtype=np.float64)
    return SourceTable(
        frame=frame,
        metric=chosen,
        description=where,
        dropped=dropped,
        excluded=columns.excluded,
        epoch=epoch_text(when, chosen, steps, "step"),
    )


_RUNNING = frozenset({"RUNNING", "SCHEDULED"})


def _span(steps: set[int]) -> str:
    ordered = sorted(steps)
    if not ordered:
        return "none"
    return f"{ordered[0]}–{ordered[-1]}" if len(ordered) > 1 else str(ordered[0])


def _tracking_uri(location: str) -> tuple[str, dict[str, str]]:
    """The URI to give MlflowClient and the environment the read needs."""
    if location.startswith(("http://", "https://")):
        return location.rstrip("/"), {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
        }
    if "://" in location and not location.startswith("file:"):
        return location, {}
    if location.startswith("file:"):
        from urllib.parse import unquote, urlparse

        parsed = urlparse(location)
        path = Path(
            unquote(parsed.path if parsed.netloc in ("", "localhost") else location[5:])
        )
    else:
        path = Path(location)
    if not path.is_dir():
        raise DataSourceError(
            f"MLflow file store {location!r}: the folder {str(path)!r} does not exist"
        )
    return path.resolve().as_uri(), {"MLFLOW_ALLOW_FILE_STORE": "true"}


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables the user has not set, for the read only."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _probe(uri: str) -> None:
    """Raise unless the tracking server answers an HTTP request in time."""
    url = f"{uri}/api/2.0/mlflow/experiments/search?max_results=1"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_SECONDS):
            pass
    except urllib.error.HTTPError:
        return  # it answered (perhaps asking for credentials): the client says more
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise DataSourceError(
            f"MLflow tracking server {uri!r} does not answer "
            f"(waited up to {PROBE_SECONDS:g} s): {one_line(Exception(reason))}"
        ) from err


def _experiment(
    client: Any, view: Any, location: str, name: str | None
) -> tuple[str, str]:
    experiments = []
    token = None
    while True:
        page = client.search_experiments(
            view_type=view.ACTIVE_ONLY, max_results=PAGE, page_token=token
        )
        experiments.extend(page)
        token = page.token
        if not token:
            break
    names = sorted(e.name for e in experiments)
    if name is not None:
        for exp in experiments:
            if name in (exp.name, exp.experiment_id):
                return exp.experiment_id, exp.name
        raise DataSourceError(
            f"MLflow tracking URI {location!r} has no experiment named {name!r}; "
            f"experiments: {fmt_list(names) if names else 'none'}"
        )
    with_runs = [
        e
        for e in experiments
        if len(
            client.search_runs(
                [e.experiment_id], run_view_type=view.ACTIVE_ONLY, max_results=1
            )
        )
    ]
    if not with_runs:
        raise DataSourceError(
            f"MLflow tracking URI {location!r} holds no runs (experiments: "
            f"{fmt_list(names) if names else 'none'})"
        )
    if len(with_runs) > 1:
        raise DataSourceError(
            f"MLflow tracking URI {location!r} has {len(with_runs)} experiments "
            f"with runs: {fmt_list(sorted(e.name for e in with_runs))}; choose "
            "one with experiment= (CLI: --experiment NAME)"
        )
    return with_runs[0].experiment_id, with_runs[0].name


def _all_runs(client: Any, view: Any, exp_id: str) -> list[Any]:
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [exp_id],
            run_view_type=view.ACTIVE_ONLY,
            max_results=PAGE,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs
