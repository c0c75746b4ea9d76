"""Selections: a closed range on the normalized metric plus option filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..data.errors import OptionError, ParameterError, SelectionError
from ..data.model import NORMALIZED, Ensemble, check_ensemble
from ..data.validation import check_interval, fmt_list

Where = Mapping[str, Iterable[object]]


@dataclass(frozen=True, eq=False)
class Selection:
    """The networks chosen for the downstream views.

    Attributes
    ----------
    mask : numpy.ndarray of bool
        One entry per row of ``Ensemble.table``; True where selected.
    count : int
        Number of selected rows.
    range : tuple of float
        The closed interval ``(lo, hi)`` on the normalized metric.
    where : Mapping[str, tuple of str]
        Parameter -> allowed option labels (empty: no restriction).
    """

    mask: np.ndarray
    count: int
    range: tuple[float, float]
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "where", MappingProxyType(dict(self.where)))
        self.mask.setflags(write=False)


def require_normalized(ens: Ensemble, what: str) -> None:
    """Raise SelectionError unless ``ens`` carries the normalized metric."""
    check_ensemble(ens, what)
    if not ens.is_normalized or NORMALIZED not in ens.table.columns:
        raise SelectionError(
            f"{what} needs the normalized metric; call hpcore.normalize(ens) first"
        )


def resolve_where(ens: Ensemble, where: Where | None) -> dict[str, tuple[str, ...]]:
    """Validate a ``where`` filter and turn every option into its label.

    Options may be given as labels or as values whose ``str`` is the label
    (``64`` for ``"64"``, ``True`` for ``"True"``).
    """
    resolved: dict[str, tuple[str, ...]] = {}
    if where is not None and not isinstance(where, Mapping):
        raise ParameterError(
            "where must map parameters to their kept options (e.g. "
            f"{{'optimizer': ['ADAM']}}); got a {type(where).__name__}"
        )
    for name, wanted in (where or {}).items():
        if name not in ens.parameters:
            raise ParameterError(
                f"where: {name!r} is not a parameter; "
                f"parameters: {fmt_list(ens.parameters)}"
            )
        if isinstance(wanted, str | bytes) or not isinstance(wanted, Iterable):
            wanted = [wanted]
        options = ens.options(name)
        labels = [_as_label(w, options) for w in wanted]
        unknown = [w for w in labels if w not in options]
        if unknown:
            raise OptionError(
                f"where: unknown option(s) {fmt_list(unknown)} for parameter {name!r}; "
                f"options: {fmt_list(options)}"
            )
        if not labels:
            raise OptionError(f"where: no options given for parameter {name!r}")
        resolved[name] = tuple(o for o in options if o in labels)
    return resolved


def _as_label(wanted: object, options: tuple[str, ...]) -> str:
    """An option label from a value or label; ``2-4`` finds the bin ``2–4``."""
    text = wanted if isinstance(wanted, str) else str(wanted)
    if text not in options:
        matches = [o for o in options if o.replace("–", "-") == text]
        if len(matches) == 1:
            return matches[0]
    return text


def where_mask(ens: Ensemble, where: Mapping[str, tuple[str, ...]]) -> np.ndarray:
    """Boolean mask of rows whose options pass a resolved ``where`` filter."""
    mask = np.ones(len(ens.table), dtype=bool)
    for name, labels in where.items():
        options = ens.options(name)
        allowed = np.zeros(len(options), dtype=bool)
        allowed[[options.index(o) for o in labels]] = True
        mask &= allowed[ens.codes(name).to_numpy()]
    return mask


def select(
    ens: Ensemble,
    *,
    range: tuple[float, float] = (0.0, 1.0),
    where: Where | None = None,
) -> Selection:
    """Select rows by a closed interval on the normalized metric and option filters.

    Parameters
    ----------
    ens : Ensemble
        A normalized ensemble (see :func:`hpcore.normalize`).
    range : (float, float), default=(0.0, 1.0)
        Closed interval ``[lo, hi]`` within [0, 1].
    where : mapping of str to options, optional
        ``{"dataset": ["cifar10", "stl10"]}`` keeps only rows with one of the
        listed options of each named parameter.

    Raises
    ------
    SelectionError
        ``range`` outside [0, 1] or ``lo > hi``, or ``ens`` not normalized.
    ParameterError, OptionError
        Unknown parameter or option in ``where``.

    Examples
    --------
    >>> import pandas as pd, hpcore
    >>> ens = hpcore.normalize(hpcore.load(pd.DataFrame(
    ...     {"p": ["a", "b", "a"], "acc": [1.0, 3.0, 2.0]})))
    >>> hpcore.select(ens, range=(0.5, 1.0)).mask.tolist()
    [False, True, True]
    """
    lo, hi = check_interval("range", range)
    require_normalized(ens, "select")
    resolved = resolve_where(ens, where)
    values = ens.table[NORMALIZED].to_numpy()
    mask = (values >= lo) & (values <= hi) & where_mask(ens, resolved)
    return Selection(mask=mask, count=int(mask.sum()), range=(lo, hi), where=resolved)
