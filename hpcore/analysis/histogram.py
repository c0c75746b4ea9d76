"""Histogram of the metric, stacked per group (paper Fig. 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.errors import HpcoreError
from ..data.model import NORMALIZED, Ensemble, check_ensemble
from .aggregates import labels, selection_mask
from .selection import Selection, require_normalized

COLUMNS = ("group", "bin_left", "bin_right", "count")


#: Most bins a histogram has (a bin is at least a pixel of any screen).
MAX_BINS = 10_000


def histogram_edges(
    ens: Ensemble, *, bins: int = 20, normalized: bool = False
) -> np.ndarray:
    """The ``bins + 1`` equal-width edges :func:`histogram` uses.

    [0, 1] for the normalized metric; the metric's min..max over all rows
    otherwise (a constant metric gets ``value ± 0.5``).
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise HpcoreError(f"`bins` must be a positive integer; got {bins!r}")
    if bins > MAX_BINS:
        raise HpcoreError(f"`bins` must be at most {MAX_BINS:,}; got {bins:,}")
    if normalized:
        require_normalized(ens, "histogram(normalized=True)")
        return np.linspace(0.0, 1.0, bins + 1)
    values = ens.table[ens.metric].to_numpy()
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value: ``[e_i, e_i+1)``, the last bin closed (as numpy.histogram)."""
    idx = np.searchsorted(edges, values, side="right") - 1
    return np.clip(idx, 0, len(edges) - 2)


def histogram_frame(
    counts: np.ndarray, group_names: tuple[str, ...], edges: np.ndarray
) -> pd.DataFrame:
    """Long frame from a ``(groups, bins)`` count matrix."""
    n_groups, n_bins = counts.shape
    return pd.DataFrame(
        {
            "group": labels(np.repeat(np.array(group_names, dtype=object), n_bins)),
            "bin_left": np.tile(edges[:-1], n_groups),
            "bin_right": np.tile(edges[1:], n_groups),
            "count": counts.reshape(-1).astype(np.int64),
        }
    )


def histogram(
    ens: Ensemble,
    *,
    bins: int = 20,
    normalized: bool = False,
    selection: Selection | None = None,
) -> pd.DataFrame:
    """Counts of the metric in equal-width bins, per group (for a stacked histogram).

    Parameters
    ----------
    ens : Ensemble
    bins : int, default=20
        Number of equal-width bins, over [0, 1] for the normalized metric and
        over the metric's min..max (all rows) for the raw metric. Bins are
        half-open ``[left, right)``; the last one is closed.
    normalized : bool, default=False
        Count the per-group normalized metric instead of the raw one.
    selection : Selection, optional
        Count only the selected rows (the bins stay those of all rows).

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (str), ``bin_left``, ``bin_right`` (float64),
        ``count`` (int64); every group (in option order; ``"all"`` without a
        group column) times every bin, zeros included.
    """
    check_ensemble(ens, "histogram")
    edges = histogram_edges(ens, bins=bins, normalized=normalized)
    mask = selection_mask(ens, selection)
    column = NORMALIZED if normalized else ens.metric
    values = ens.table[column].to_numpy()[mask]
    groups = ens.group_labels()
    names = tuple(str(c) for c in groups.cat.categories)
    codes = groups.cat.codes.to_numpy()[mask]
    flat = codes.astype(np.int64) * bins + bin_index(values, edges)
    counts = np.bincount(flat, minlength=len(names) * bins).reshape(len(names), bins)
    return histogram_frame(counts, names, edges)
