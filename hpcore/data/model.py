"""The ensemble model: one row per trained network, parameters as ordered options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import pandas as pd

from .better import normalized_name
from .errors import HpcoreError, ParameterError
from .validation import fmt_list

#: Column added by :func:`hpcore.normalize`.
NORMALIZED = "normalized"
#: Group label used when an ensemble has no group column.
ALL_GROUP = "all"


def _frozen(mapping: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class Ensemble:
    """An ensemble of trained networks, ready for the analysis.

    Build it with :func:`hpcore.load`; do not mutate ``table`` (every hpcore
    function returns new objects and never changes its input).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per network. Every parameter column is an ordered
        ``Categorical`` of string option labels; the metric column is float64;
        after :func:`hpcore.normalize` a float64 column ``normalized`` in [0, 1].
    parameters : tuple of str
        Hyper-parameter names, in analysis order (the group column first).
    metric : str
        Name of the metric column (e.g. test accuracy).
    group : str or None
        Column the metric is normalized within (e.g. ``dataset``); None means
        one group of all rows.
    dropped : Mapping[str, int]
        Reason -> number of rows dropped while loading (e.g. a missing metric).
    excluded : Mapping[str, str]
        Column -> why it was not used as a hyper-parameter.
    binned : Mapping[str, tuple of float]
        Numeric parameter -> the bin edges its options were made from.
    source : str
        Where the rows came from: a path, ``"DataFrame"`` or ``"synthetic, seed N"``.
    normalization : str or None
        The method :func:`hpcore.normalize` used, None before normalization.
    better : {"higher", "lower"} or None
        Which end of the metric is better; ``normalized`` puts the better end
        at 1 (a loss: each group's lowest value at 1). Set by
        :func:`hpcore.normalize`; before it, what the source said (an Optuna
        study's direction) or None.
    epoch : str or None
        For sources with per-epoch values (NWS ``error.bin``, MLflow metric
        history, Ray Tune results, TensorBoard scalars, Optuna intermediate
        values): which value of each run's curve the metric is, e.g.
        ``"last: each run's last logged value of 'val_acc' (steps 9–19)"``;
        None for sources with one value per run.
    """

    table: pd.DataFrame
    parameters: tuple[str, ...]
    metric: str
    group: str | None = None
    dropped: Mapping[str, int] = field(default_factory=dict)
    excluded: Mapping[str, str] = field(default_factory=dict)
    binned: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    source: str = "DataFrame"
    normalization: str | None = None
    epoch: str | None = None
    better: Literal["higher", "lower"] | None = None
    #: Option labels per parameter, read from ``table`` once (the table is
    #: never changed; a brush of the live view asks ~12 times, 75 us each).
    _options: dict[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in ("dropped", "excluded", "binned"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def options(self, name: str) -> tuple[str, ...]:
        """The ordered option labels of parameter ``name``."""
        known = self._options.get(name)
        if known is None:
            self.check_parameter(name)
            known = tuple(self.table[name].cat.categories)
            self._options[name] = known
        return known

    def codes(self, name: str) -> pd.Series:
        """Integer option codes (0..k-1, in option order) of parameter ``name``."""
        self.check_parameter(name)
        return self.table[name].cat.codes

    def check_parameter(self, name: str, what: str = "parameter") -> None:
        """Raise ParameterError unless ``name`` is one of the ensemble's parameters."""
        if name not in self.parameters:
            raise ParameterError(
                f"{what} {name!r} is not a parameter of this ensemble; "
                f"parameters: {fmt_list(self.parameters)}"
            )

    @property
    def is_normalized(self) -> bool:
        """True once :func:`hpcore.normalize` has added the ``normalized`` column."""
        return self.normalization is not None

    @property
    def normalized_name(self) -> str:
        """The normalized metric's name for labels
        (:func:`hpcore.data.better.normalized_name`)."""
        return normalized_name(self.metric, self.better == "lower")

    def group_labels(self) -> pd.Series:
        """Group label of every row (``"all"`` when there is no group column)."""
        if self.group is None:
            return pd.Series(ALL_GROUP, index=self.table.index, dtype="category")
        return self.table[self.group]

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (
            f"Ensemble(rows={len(self.table)}, metric={self.metric!r}, "
            f"group={self.group!r}, parameters={list(self.parameters)!r}, "
            f"normalization={self.normalization!r}, source={self.source!r})"
        )


def check_ensemble(ens: object, what: str) -> None:
    """Raise HpcoreError unless ``ens`` is an :class:`Ensemble` (a table
    passed where its ensemble belongs is the usual slip)."""
    if not isinstance(ens, Ensemble):
        hint = (
            "; turn a table into one with hpcore.load(table)"
            if isinstance(ens, pd.DataFrame)
            else ""
        )
        raise HpcoreError(
            f"{what} needs an hpcore.Ensemble (from hpcore.load); got "
            f"{type(ens).__name__}{hint}"
        )
