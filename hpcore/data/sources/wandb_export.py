"""A Weights & Biases export as an ensemble: one row per finished run.

Plain files, read without importing wandb. Two shapes:

- **The runs table CSV** the project page exports (Runs tab, "Export as CSV"):
  a header of the run columns the table shows (``Name``, ``State``, ``Notes``,
  ``User``, ``Tags``, ``Created``, ``Runtime``, ``Sweep``, ... see
  :data:`WANDB_COLUMNS`) followed by one column per config key (nested keys
  dotted: ``optimizer.lr``) and per summary key. The CSV does not say which
  columns are config and which summary, so they are treated as any table's
  columns: the metric is ``--metric`` or a column named like test accuracy, and
  other metric-like float columns are excluded with the usual note. Column
  names from W&B's documentation of the runs table (docs.wandb.ai, "View runs
  in a project"); the web app that writes the file is not open source, so no
  version of it can be cited.
- **Runs from the public API** as JSON: a list of runs (or ``{"runs": [...]}``,
  JSON lines, or the ``DataFrame.to_json()`` / ``to_csv()`` of the documented
  export script's ``summary``/``config``/``name`` frame), each with a
  ``config`` and a ``summary`` (``summaryMetrics``, ``summary_metrics``)
  mapping and optionally ``name``, ``id``, ``state``. Layout followed: wandb
  0.31 (``wandb/apis/public/runs.py``): config values may be wrapped as
  ``{"value": v, "desc": ...}`` (``Run.json_config`` and the raw GraphQL
  ``config``) and are unwrapped as ``Run._load_from_attrs`` does; the internal
  keys ``_wandb`` and ``wandb_version`` and summary keys starting with ``_``
  (``_step``, ``_runtime``, ``_timestamp``) are left out, as are summary
  media (dicts with a ``_type``).

A run whose state is not ``finished`` (``failed``, ``crashed``, ``killed``,
``running``) is dropped and counted. W&B summaries hold one value per run
(the last logged, unless the run set another), so no epoch can be chosen.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataSourceError
from ..validation import fmt_list
from .common import (
    Columns,
    Epoch,
    SourceTable,
    choose_metric,
    count,
    no_epochs,
    parse_text_value,
    rename_clash,
)

#: Columns of the W&B runs table besides config and summary values.
WANDB_COLUMNS = frozenset(
    {
        "Name",
        "State",
        "Notes",
        "User",
        "Tags",
        "Created",
        "Runtime",
        "Sweep",
        "ID",
        "Group",
        "Job Type",
        "Hostname",
        "Commit",
        "GitHub",
        "Updated",
        "Start Time",
        "End Time",
        "Heartbeat",
        "Description",
        "Run ID",
        "Project",
        "Entity",
    }
)
_INTERNAL_CONFIG = frozenset({"_wandb", "wandb_version"})
_SUMMARY_KEYS = ("summary", "summaryMetrics", "summary_metrics")


def read_wandb(
    path: Path, *, metric: str | None = None, epoch: Epoch | None = None
) -> SourceTable:
    """Read a W&B runs export (the runs table CSV, or JSON of runs).

    Raises
    ------
    DataSourceError
        The file cannot be parsed or is not shaped like a W&B export; no
        finished run.
    MetricError
        An unknown metric (JSON: the message lists the summary keys).
    HpcoreError
        An epoch other than ``last``.
    """
    no_epochs(epoch or Epoch(default=True), "a W&B runs export")
    if path.suffix.lower() in (".csv", ".txt"):
        table = _read_csv(path)
        if {"summary", "config"} <= set(table.columns):
            runs = [
                {
                    str(k): parse_text_value(v) if isinstance(v, str) else v
                    for k, v in row.items()
                }
                for row in table.to_dict(orient="records")
            ]
            return _from_runs(path, runs, metric)
        return _from_table(path, table, metric)
    return _from_runs(path, _read_json(path), metric)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as err:
        raise DataSourceError(f"W&B export {str(path)!r} is empty") from err
    except (OSError, ValueError, pd.errors.ParserError, csv.Error) as err:
        raise DataSourceError(
            f"W&B export {str(path)!r} could not be read as CSV: {err}"
        ) from err


def _from_table(path: Path, table: pd.DataFrame, metric: str | None) -> SourceTable:
    where = f"W&B runs table {str(path)!r}"
    dropped: dict[str, int] = {}
    states = table["State"].astype(str).str.strip().str.lower()
    for state, n in states[states != "finished"].value_counts(sort=False).items():
        count(dropped, f"{state} runs (W&B state {state})", int(n))
    kept = table.loc[(states == "finished").to_numpy()]
    if kept.empty:
        raise DataSourceError(
            f"{where} has no finished run"
            + (
                f" ({'; '.join(f'{n} {r}' for r, n in dropped.items())})"
                if dropped
                else " (it has no rows)"
            )
        )
    excluded: dict[str, str] = {}
    columns = Columns()
    meta = [c for c in kept.columns if str(c) in WANDB_COLUMNS]
    internal = [c for c in kept.columns if str(c).startswith("_")]
    for c in meta:
        excluded[str(c)] = "W&B run metadata, not a setting"
    for c in internal:
        excluded[str(c)] = "W&B internal value (e.g. _step, _runtime)"
    keep = [c for c in kept.columns if c not in meta and c not in internal]
    for row in kept[keep].to_dict(orient="records"):
        columns.add({str(k): _cell(v) for k, v in row.items()})
    frame = columns.frame()
    return SourceTable(
        frame=frame,
        metric=metric,
        description=where,
        dropped=dropped,
        excluded={**excluded, **columns.excluded},
    )


def _cell(value: object) -> object:
    if isinstance(value, str):
        return parse_text_value(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise DataSourceError(
            f"W&B export {str(path)!r} could not be read: {err}"
        ) from err
    try:
        data: Any = json.loads(text)
    except ValueError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as err:
            raise DataSourceError(
                f"file {str(path)!r} is neither JSON nor JSON lines: {err}"
            ) from err
    if isinstance(data, Mapping) and isinstance(data.get("runs"), list):
        data = data["runs"]
    elif (
        isinstance(data, Mapping)
        and "config" in data
        and isinstance(data["config"], Mapping)
        and all(isinstance(v, Mapping) for v in data.values())
        and any(k in data for k in _SUMMARY_KEYS)
        and all(str(i).isdigit() for i in data["config"])
        and all(isinstance(c, Mapping) for c in data["config"].values())
    ):  # DataFrame.to_json() of the documented export script: column -> row -> value
        index = list(data["config"])
        data = [{col: data[col].get(i) for col in data} for i in index]
    if not isinstance(data, list) or not data or not all(_is_run(r) for r in data):
        raise DataSourceError(
            f"file {str(path)!r} is not a W&B runs export: expected a list of runs, "
            "each an object with a 'config' and a 'summary' (the public API's "
            f"run.config and run.summary); found {_shape(data)}"
        )
    return data


def _is_run(item: object) -> bool:
    return isinstance(item, Mapping) and (
        "config" in item or any(k in item for k in _SUMMARY_KEYS)
    )


def _shape(data: object) -> str:
    if isinstance(data, Mapping):
        return f"an object with keys {fmt_list(list(data)[:10])}"
    if isinstance(data, list):
        if not data:
            return "an empty list"
        first = data[0]
        if isinstance(first, Mapping):
            return f"a list of objects with keys such as {fmt_list(list(first)[:10])}"
        return f"a list of {type(first).__name__}"
    return type(data).__name__


def _mapping(value: object) -> Mapping[str, Any]:
    """A config or summary given as a mapping or as JSON text (GraphQL attrs)."""
    if isinstance(value, str):
        value = parse_text_value(value)
    return value if isinstance(value, Mapping) else {}


def _from_runs(
    path: Path, runs: list[dict[str, Any]], metric: str | None
) -> SourceTable:
    where = f"W&B runs export {str(path)!r}"
    dropped: dict[str, int] = {}
    excluded: dict[str, str] = {}
    configs: list[dict[str, Any]] = []
    summaries: list[dict[str, object]] = []
    for run in runs:
        state = str(run.get("state") or "finished").strip().lower()
        if state != "finished":
            count(dropped, f"{state} runs (W&B state {state})")
            continue
        config: dict[str, Any] = {}
        for key, value in _mapping(run.get("config")).items():
            if key in _INTERNAL_CONFIG or str(key).startswith("_"):
                excluded.setdefault(str(key), "W&B internal config key")
                continue
            config[str(key)] = (
                value["value"]
                if isinstance(value, Mapping) and "value" in value
                else value
            )
        summary_raw = next((_mapping(run[k]) for k in _SUMMARY_KEYS if k in run), {})
        configs.append(config)
        summaries.append(_summary(summary_raw, excluded))
    if not configs:
        raise DataSourceError(
            f"{where} has no finished run"
            + (
                f" ({'; '.join(f'{n} {r}' for r, n in dropped.items())})"
                if dropped
                else ""
            )
        )
    available = list(dict.fromkeys(k for s in summaries for k in s))
    chosen = choose_metric(available, metric, where)
    columns = Columns()
    values: list[float] = []
    for config, summary in zip(configs, summaries, strict=True):
        value = summary.get(chosen)
        if value is None:
            count(dropped, f"no summary value {chosen!r}")
            continue
        columns.add(config)
        values.append(float(value))  # type: ignore[arg-type]
    frame = rename_clash(columns.frame(), chosen)
    frame[chosen] = np.asarray(values, dtype=np.float64)
    return SourceTable(
        frame=frame,
        metric=chosen,
        description=where,
        dropped=dropped,
        excluded={**excluded, **columns.excluded},
    )


def _summary(
    summary: Mapping[str, Any], excluded: dict[str, str], prefix: str = ""
) -> dict[str, object]:
    """Numeric summary values, nested dicts dotted; media and internals left out."""
    out: dict[str, object] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if str(key).startswith("_"):
            continue
        if isinstance(value, Mapping):
            if "_type" in value:
                excluded.setdefault(
                    f"summary {name}", f"W&B media ({value['_type']}), not a number"
                )
            else:
                out.update(_summary(value, excluded, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = value
    return out
