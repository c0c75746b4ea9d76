"""Shared helpers of the aggregating functions (histogram, pair counts, trellis)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.errors import SelectionError
from ..data.model import Ensemble
from .selection import Selection


def selection_mask(ens: Ensemble, selection: Selection | None) -> np.ndarray:
    """The selection's row mask, checked against ``ens`` (all rows when None)."""
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
    keeps its place, new ones follow in order), in one constructor call, or,
    when only new columns are added, one ``concat``: three to six times as
    fast, which every brush's tables pay. ``table``'s
    own columns are shared as Series, so copy-on-write keeps ``table`` (often
    a cached template) safe from changes to the result; the new columns are
    copied, so the result can be changed whatever was passed (a cached,
    read-only array included). ``table``'s ``attrs`` carry over.
    """
    # the new columns are copied (a cached, read-only table may be passed;
    # one pass over a few hundred values), the table's are shared
    new = {name: np.array(values) for name, values in columns.items()}
    if not drop and not any(name in table.columns for name in new):
        # only new columns: joined to the table (half the constructor's time)
        out = pd.concat(
            [table, pd.DataFrame(new, index=table.index, copy=False)], axis=1
        )
    else:
        data: dict[str, pd.Series | np.ndarray] = {
            name: table[name] for name in table.columns if name not in drop
        }
        data.update(new)
        out = pd.DataFrame(data, index=table.index, copy=False)
    if table.attrs:  # as drop and assign carry them
        out.attrs = dict(table.attrs)
    return out


def labels(values: list[str] | np.ndarray) -> pd.Series:
    """A string column for option labels (missing stays missing)."""
    return pd.Series(values, dtype="str")
