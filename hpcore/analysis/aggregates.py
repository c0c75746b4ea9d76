"""Shared helpers of the aggregating functions (histogram, pair counts, trellis)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from ..data.errors import SelectionError
from ..data.model import Ensemble, check_ensemble
from .selection import Selection


def selection_mask(
    ens: Ensemble, selection: Selection | None, what: str = "this function"
) -> np.ndarray:
    """The selection's row mask, checked against ``ens`` (all rows when None);
    ``what`` names the caller in the error when ``ens`` is no Ensemble."""
    check_ensemble(ens, what)
    if selection is None:
        return np.ones(len(ens.table), dtype=bool)
    if not isinstance(selection, Selection):
        raise SelectionError(
            f"selection must be an hpcore.Selection (from hpcore.select); "
            f"got {type(selection).__name__}"
        )
    if len(selection.mask) != len(ens.table):
        raise SelectionError(
            f"the selection has {len(selection.mask)} rows but the ensemble has "
            f"{len(ens.table)}; select on the same ensemble"
        )
    return selection.mask


def with_columns(
    table: pd.DataFrame, drop: tuple[str, ...] = (), **columns: np.ndarray
) -> pd.DataFrame:
    """``table`` without the columns ``drop``, with ``columns`` set.

    As ``table.drop(columns=drop).assign(**columns)`` (a column already there
    keeps its place, new ones follow in order), put together from the
    columns' arrays (:func:`_assembled`; else the public way,
    :func:`_constructed`). Every brush pays seven of
    these frames: 0.12 to 0.2 ms for an 804-row pair frame against 0.35 to
    0.5 ms by the constructor (0.75 ms by drop and assign), about 3 ms less
    per range drag. ``table`` (often a cached template) is safe from changes to
    the result (its arrays are copied, or shared as Series under
    copy-on-write); the new columns are copied, so the result can be changed
    whatever was passed (a cached, read-only array included). ``table``'s
    ``attrs`` carry over.
    """
    # the new columns are copied (a cached, read-only table may be passed;
    # one pass over a few hundred values)
    new = {name: np.array(values) for name, values in columns.items()}
    out = _assembled(table, drop, new)
    if out is None:
        out = _constructed(table, drop, new)
    if table.attrs:  # as drop and assign carry them
        out.attrs = dict(table.attrs)
    return out


def _constructed(
    table: pd.DataFrame, drop: tuple[str, ...], new: dict[str, np.ndarray]
) -> pd.DataFrame:
    """:func:`with_columns`' frame the public way: ``table``'s columns shared
    as Series (copy-on-write keeps ``table`` safe), in one constructor call
    or, when only new columns are added, one ``concat``."""
    if not drop and not any(name in table.columns for name in new):
        # only new columns: joined to the table (half the constructor's time)
        return pd.concat(
            [table, pd.DataFrame(new, index=table.index, copy=False)], axis=1
        )
    data: dict[str, pd.Series | np.ndarray] = {
        name: table[name] for name in table.columns if name not in drop
    }
    data.update(new)
    return pd.DataFrame(data, index=table.index, copy=False)


def _assembled(
    table: pd.DataFrame, drop: tuple[str, ...], new: dict[str, np.ndarray]
) -> pd.DataFrame | None:
    """:func:`with_columns`' frame put together from its columns' arrays.

    pandas' own ``DataFrame._from_arrays`` without its checks, on the
    table's arrays (copies: of a numpy array, a few hundred values; of an
    Arrow-backed one, a new wrapper around the same immutable buffers, so a
    change to the result never reaches ``table``) and the new numeric ones
    as they are; the result's column labels are made once per layout
    (:func:`_layout`). None (the caller takes the public way) where a new
    column is not a plain numeric array of the table's length, the table's
    labels repeat or are not all strings, or this pandas lacks these
    internals.
    """
    build = getattr(pd.DataFrame, "_from_arrays", None)
    column = getattr(getattr(table, "_mgr", None), "iget_values", None)
    if build is None or column is None:
        return None
    for values in new.values():
        if values.ndim != 1 or values.dtype.kind not in "biuf":
            return None
        if len(values) != len(table):
            return None
    layout = _layout(table.columns, drop, tuple(new))
    if layout is None:
        return None
    columns, sources = layout
    arrays = [
        column(source).copy() if isinstance(source, int) else new[source]
        for source in sources
    ]
    out: pd.DataFrame = build(
        arrays, columns=columns, index=table.index, verify_integrity=False
    )
    return out


#: Column layouts of :func:`_layout`, by the table's column labels and the
#: change; a few per kind of frame.
_LAYOUTS: OrderedDict[
    tuple[tuple[object, ...], tuple[str, ...], tuple[str, ...]],
    tuple[pd.Index, list[int | str]] | None,
] = OrderedDict()
_LAYOUTS_KEPT = 64
_LAYOUTS_LOCK = threading.Lock()


def _layout(
    labels: pd.Index, drop: tuple[str, ...], added: tuple[str, ...]
) -> tuple[pd.Index, list[int | str]] | None:
    """The result's column labels (a copy of its own: setting their name
    changes no other frame) and, per column, where its array comes from: a
    position in the table or the name of a new column. None when the
    table's labels repeat or are not all strings."""
    names = tuple(labels.tolist())
    key = (names, drop, added)
    with _LAYOUTS_LOCK:
        try:
            cached = key in _LAYOUTS
        except TypeError:  # a label that cannot be hashed
            return None
        found = _LAYOUTS.get(key) if cached else None
    if cached:
        return None if found is None else (found[0].copy(), found[1])
    layout: tuple[pd.Index, list[int | str]] | None = None
    if len(set(names)) == len(names) and all(isinstance(n, str) for n in names):
        sources: list[int | str] = []
        kept: list[str] = []
        for i, name in enumerate(names):
            if name not in drop:
                kept.append(str(name))
                sources.append(str(name) if name in added else i)
        extra = [name for name in added if name not in names]
        layout = (pd.Index([*kept, *extra]), [*sources, *extra])
    with _LAYOUTS_LOCK:
        _LAYOUTS[key] = layout
        while len(_LAYOUTS) > _LAYOUTS_KEPT:
            _LAYOUTS.popitem(last=False)
    return None if layout is None else (layout[0].copy(), layout[1])


def labels(values: list[str] | np.ndarray) -> pd.Series:
    """A string column for option labels (missing stays missing)."""
    return pd.Series(values, dtype="str")
