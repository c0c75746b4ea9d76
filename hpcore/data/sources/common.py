"""What the tracker readers share: the result table, epochs, flattening, metrics.

Each reader of :mod:`hpcore.data.sources` turns one kind of source into a
:class:`SourceTable`: one row per finished run, its hyper-parameters as flat
columns (nested configs get dotted names such as ``optimizer.lr``) and one
metric column, plus what :func:`hpcore.load` reports about it (runs dropped and
why, keys excluded and why, which epoch the metric was taken at).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal

import numpy as np
import pandas as pd

from ..better import direction
from ..errors import DataSourceError, HpcoreError, MetricError
from ..validation import fmt_list

#: The extra that installs the tracker readers' libraries.
EXTRA = "pip install 'hpexplorer[trackers]'"
#: Names taken as the metric when a source has several (as hpcore.load does for
#: table columns: loading.METRIC_NAMES), case-insensitive, in priority order.
PREFERRED_METRICS = ("test_accuracy", "test_acc", "accuracy", "acc")

EpochKind = Literal["last", "step", "best", "min", "max"]


@dataclass(frozen=True)
class Epoch:
    """Which value of a run's curve is its metric.

    ``last`` (the value at the run's last step), ``step`` (the value at step
    :attr:`step`), ``min`` / ``max`` (the smallest / largest value over all
    steps) or ``best`` (``min`` or ``max``, whichever is better for the metric).
    """

    kind: EpochKind = "last"
    step: int | None = None
    #: True when the caller did not ask for an epoch (the default, ``last``).
    default: bool = False

    def __str__(self) -> str:
        return str(self.step) if self.kind == "step" else self.kind


def parse_epoch(value: int | str | None) -> Epoch:
    """``None`` / ``"last"`` / ``"best"`` / ``"min"`` / ``"max"`` / ``5`` -> Epoch.

    Raises
    ------
    HpcoreError
        Anything else (a negative number, a word that is none of these).
    """
    if value is None:
        return Epoch(default=True)
    if isinstance(value, bool):
        raise HpcoreError(_epoch_message(value))
    if isinstance(value, int | np.integer):
        if value < 0:
            raise HpcoreError(_epoch_message(value))
        return Epoch("step", int(value))
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("last", "best", "min", "max"):
            return Epoch(text)  # type: ignore[arg-type]
        if re.fullmatch(r"\d+", text):
            return Epoch("step", int(text))
    raise HpcoreError(_epoch_message(value))


def _epoch_message(value: object) -> str:
    return (
        "epoch must be a step number >= 0, 'last', 'best', 'min' or 'max' "
        f"(CLI: --epoch N|last|best|min|max); got {value!r}"
    )


def resolve_best(
    epoch: Epoch, metric: str, known: Literal["min", "max"] | None = None
) -> Epoch:
    """``best`` -> ``min`` or ``max`` for ``metric`` (``known`` wins, else the name)."""
    if epoch.kind != "best":
        return epoch
    way = known or direction(metric)
    if way is None:
        raise MetricError(
            f"epoch 'best': cannot tell whether a higher or a lower {metric!r} is "
            "better from its name; choose epoch 'max' or 'min' "
            "(CLI: --epoch max or --epoch min)"
        )
    return Epoch(way)


def pick(
    steps: Sequence[int], values: Sequence[float], epoch: Epoch
) -> tuple[float, int] | None:
    """The metric of one run's curve at ``epoch``: ``(value, step)``.

    ``steps`` and ``values`` are in logging order. ``last`` takes the value at
    the largest step (the one logged last among equal steps); a step number
    the value logged last at that step; ``min`` / ``max`` the extreme of the
    finite values and the first step it was reached at (NaN when no value is
    finite). None when the run has no value at that step (or none at all).
    ``best`` must be resolved first (:func:`resolve_best`).
    """
    if len(steps) == 0:
        return None
    step_arr = np.asarray(steps, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    if epoch.kind == "last":
        top = step_arr.max()
        i = int(np.flatnonzero(step_arr == top)[-1])
        return float(vals[i]), int(top)
    if epoch.kind == "step":
        hits = np.flatnonzero(step_arr == epoch.step)
        if hits.size == 0:
            return None
        return float(vals[hits[-1]]), int(epoch.step or 0)
    finite = np.isfinite(vals)
    if not finite.any():
        return math.nan, int(step_arr.max())
    masked = np.where(finite, vals, np.inf if epoch.kind == "min" else -np.inf)
    i = int(np.argmin(masked) if epoch.kind == "min" else np.argmax(masked))
    if epoch.kind not in ("min", "max"):  # pragma: no cover - resolved by callers
        raise ValueError(f"unresolved epoch {epoch}")
    return float(vals[i]), int(step_arr[i])


def epoch_text(epoch: Epoch, metric: str, used: Iterable[int], unit: str) -> str:
    """What the report says about the epoch: ``"last (steps 4–9)"``."""
    steps = sorted(set(used))
    span = (
        ""
        if not steps
        else f" ({unit} {steps[0]})"
        if len(steps) == 1
        else f" ({unit}s {steps[0]}–{steps[-1]})"
    )
    if epoch.kind == "last":
        return f"last: each run's last logged value of {metric!r}{span}"
    if epoch.kind == "step":
        return f"{epoch.step}: the value of {metric!r} at {unit} {epoch.step}"
    extreme = "smallest" if epoch.kind == "min" else "largest"
    return f"{epoch.kind}: each run's {extreme} value of {metric!r}{span}"


def no_epochs(epoch: Epoch, what: str) -> None:
    """Refuse an explicit epoch other than ``last`` for a source without curves."""
    if epoch.kind != "last":
        raise HpcoreError(
            f"epoch {str(epoch)!r}: {what} holds one value per run, not one per "
            "epoch; epochs can be chosen for NWS folders, MLflow, Ray Tune, "
            "TensorBoard and Optuna (intermediate values)"
        )


@dataclass(frozen=True)
class SourceTable:
    """One row per finished run, ready for ``loading.ensemble_from_frame``.

    Attributes
    ----------
    frame : pandas.DataFrame
        Hyper-parameter columns (flat, dotted names for nested configs) and the
        metric column; a RangeIndex.
    metric : str or None
        The metric column; None lets the loader choose (NWS folders).
    description : str
        Where the rows came from, e.g. ``"Optuna study 'mnist' in sqlite:///s.db"``.
    dropped : Mapping[str, int]
        Reason -> number of runs left out (failed, pruned, unfinished, ...).
    excluded : Mapping[str, str]
        Key -> why it is not a column (list-valued, nested media, ...).
    epoch : str or None
        Which value of each run's curve the metric is; None for sources
        without curves.
    log_scale : frozenset of str
        Parameters sampled on a log scale (binned on a log scale).
    """

    frame: pd.DataFrame
    metric: str | None
    description: str
    dropped: Mapping[str, int] = field(default_factory=dict)
    excluded: Mapping[str, str] = field(default_factory=dict)
    epoch: str | None = None
    log_scale: frozenset[str] = frozenset()
    #: Which end of the metric is better, where the source says (an Optuna
    #: study's direction).
    better: Literal["higher", "lower"] | None = None


# --- metrics -------------------------------------------------------------------


def choose_metric(available: Sequence[str], metric: str | None, where: str) -> str:
    """The metric to read: ``metric`` if given, else the only or preferred one.

    Raises
    ------
    MetricError
        ``metric`` is not one of ``available``; none available; several
        available and none is named like test accuracy.
    """
    names = list(dict.fromkeys(available))
    if not names:
        raise MetricError(f"{where} has no metric values")
    if metric is not None:
        if metric not in names:
            raise MetricError(
                f"metric {metric!r} is not a metric of {where}; "
                f"metrics: {fmt_list(sorted(names), limit=40)}"
            )
        return metric
    if len(names) == 1:
        return names[0]
    for preferred in PREFERRED_METRICS:
        hits = [n for n in names if n.lower() == preferred]
        if len(hits) == 1:
            return hits[0]
    raise MetricError(
        f"{where} has several metrics: {fmt_list(sorted(names), limit=40)}; "
        "choose one with metric= (CLI: --metric)"
    )


# --- configs -------------------------------------------------------------------


@dataclass
class Columns:
    """Flat columns gathered run by run, with the keys that cannot be columns."""

    rows: list[dict[str, object]] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)

    def add(self, config: Mapping[str, object], prefix: str = "") -> None:
        """Add one run's (nested) config as a row of flat ``dotted.name`` values."""
        row: dict[str, object] = {}
        self._flatten(config, prefix, row)
        self.rows.append(row)

    def _flatten(
        self, config: Mapping[str, object], prefix: str, row: dict[str, object]
    ) -> None:
        for key, value in config.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping):
                if value:
                    self._flatten(value, f"{name}.", row)
                continue
            if isinstance(value, list | tuple | set | frozenset):
                self.excluded.setdefault(
                    name, f"list-valued (e.g. {_short(value)}); not an option"
                )
            elif value is None or isinstance(value, bool | int | float | str):
                row[name] = value
            elif isinstance(value, np.generic):
                row[name] = value.item()
            else:
                self.excluded.setdefault(
                    name, f"value of type {type(value).__name__} ({_short(value)})"
                )

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame, excluded keys left out, first-seen column order."""
        order = list(dict.fromkeys(k for row in self.rows for k in row))
        keep = [k for k in order if k not in self.excluded]
        index = pd.RangeIndex(len(self.rows))
        data = {
            k: _typed(pd.Series([row.get(k) for row in self.rows], dtype=object))
            for k in keep
        }
        return pd.DataFrame(data, index=index)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _typed(column: pd.Series) -> pd.Series:
    """Numbers as numbers, booleans as booleans, None as missing, else text."""
    present = [v for v in column.tolist() if v is not None and v == v]
    if not present:
        return column.astype(object)
    if all(isinstance(v, bool) for v in present):
        return column.astype("boolean" if column.isna().any() else bool)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if all(isinstance(v, int) for v in present):
            if column.isna().any():
                return column.astype("Int64")
            return column.astype(np.int64)
        return pd.to_numeric(column, errors="coerce").astype(np.float64)
    return column.astype(object).where(column.notna(), None)


def parse_text_value(text: str) -> object:
    """A value written as text (MLflow params, CSV cells) back to its type.

    ``"0.001"`` -> 0.001, ``"64"`` -> 64, ``"True"`` -> True, ``"None"`` / ``""``
    -> None, ``"{'lr': 0.1}"`` -> a dict, ``"[64, 64]"`` -> a list; any other
    text stays text.
    """
    stripped = text.strip()
    if stripped in ("", "None", "none", "null", "NULL", "nan", "NaN"):
        return None
    if stripped in ("True", "true"):
        return True
    if stripped in ("False", "false"):
        return False
    if re.fullmatch(r"[+-]?\d+", stripped):
        return int(stripped)
    try:
        number = float(stripped)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
        return text
    if stripped[:1] in "[{(" and stripped[-1:] in "]})":
        import ast
        import json

        unparsable = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)
        with contextlib.suppress(*unparsable):
            return json.loads(stripped)
        with contextlib.suppress(*unparsable):
            return ast.literal_eval(stripped)
    return text


def rename_clash(columns: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rename a parameter column named like the metric to ``"<name> (param)"``."""
    if metric in columns.columns:
        return columns.rename(columns={metric: f"{metric} (param)"})
    return columns


# --- libraries -------------------------------------------------------------------


def require(module: str, what: str) -> ModuleType:
    """Import a tracker library, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise DataSourceError(
            f"reading {what} needs the Python package {module.split('.')[0]!r}, "
            f"which is not installed; install it with {EXTRA}"
        ) from err


_NOISY = ("optuna", "mlflow", "alembic", "sqlalchemy", "tensorboard", "absl")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the warnings and log lines of the tracker libraries while reading."""
    loggers = [logging.getLogger(name) for name in _NOISY]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def one_line(err: BaseException) -> str:
    """An exception's message on one line (library messages span several)."""
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


def count(dropped: dict[str, int], reason: str, n: int = 1) -> None:
    """Add ``n`` runs dropped for ``reason``."""
    dropped[reason] = dropped.get(reason, 0) + n
