"""Per-group normalization of the metric onto [0, 1]."""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

import numpy as np
import pandas as pd

from ..data.better import direction
from ..data.errors import HpcoreError
from ..data.model import NORMALIZED, Ensemble, check_ensemble
from ..data.validation import check_one_of

Method = Literal["minmax", "rank", "robust"]
METHODS: tuple[str, ...] = get_args(Method)
Better = Literal["higher", "lower"]
BETTER: tuple[str, ...] = get_args(Better)
#: Normalized value of every row in a group whose metric does not vary.
CONSTANT_GROUP_VALUE = 0.5
#: Percentiles that anchor the ``robust`` method.
ROBUST_PERCENTILES = (1.0, 99.0)


def _scale(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(x - lo) / (hi - lo) clipped to [0, 1]; 0.5 where hi == lo (x between)."""
    span = hi - lo
    flat = span <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.clip((values - lo) / np.where(flat, 1.0, span), 0.0, 1.0)
    degenerate = np.where(
        values < lo, 0.0, np.where(values > hi, 1.0, CONSTANT_GROUP_VALUE)
    )
    return np.where(flat, degenerate, out)


def _minmax(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """:func:`_scale` between each group's min and max, the same numbers,
    with one row-length temporary instead of a dozen (10 million rows: about
    160 MB at the peak instead of about 600 MB): the groups' bounds are
    computed per group and gathered per row only where used."""
    by = pd.Series(values).groupby(codes, sort=False)
    mins, maxs = by.min(), by.max()
    shift = int(codes.min(initial=0))
    size = int(codes.max(initial=0)) - shift + 1
    lo_g = np.full(size, np.nan)
    hi_g = np.full(size, np.nan)
    keys = np.asarray(mins.index, dtype=np.int64) - shift
    lo_g[keys] = mins.to_numpy(dtype=np.float64)
    hi_g[keys] = maxs.reindex(mins.index).to_numpy(dtype=np.float64)
    at = codes.astype(np.int64) - shift if shift else codes
    span_g = hi_g - lo_g
    flat_g = span_g <= 0
    out = values - lo_g[at]
    with np.errstate(invalid="ignore", divide="ignore"):
        out /= np.where(flat_g, 1.0, span_g)[at]
    np.clip(out, 0.0, 1.0, out=out)
    if flat_g.any():
        rows = np.flatnonzero(flat_g[at])
        out[rows] = _scale(values[rows], lo_g[at[rows]], hi_g[at[rows]])
    result: np.ndarray = out
    return result


def flat_groups(ens: Ensemble) -> dict[str, int]:
    """The groups whose metric does not vary (one row, or one value): label ->
    rows. Every normalization puts their rows at :data:`CONSTANT_GROUP_VALUE`.

    Without a group column the table is one group, ``"all"``.
    """
    values = ens.table[ens.metric]
    stats = values.groupby(ens.group_labels(), observed=True, sort=False).agg(
        ["min", "max", "size"]
    )
    flat = stats[stats["min"] == stats["max"]]
    return {str(k): int(v) for k, v in flat["size"].items()}


def better_end(metric: str) -> Better:
    """``"lower"`` where the metric's name says lower values are better (a
    loss, an error, a perplexity, a time: :func:`hpcore.data.better.direction`),
    else ``"higher"``."""
    return "lower" if direction(metric) == "min" else "higher"


def normalize(
    ens: Ensemble, *, method: Method = "minmax", better: Better | None = None
) -> Ensemble:
    """Add the per-group normalized metric as column ``normalized`` (0..1),
    1 at the better end.

    Normalization is per group (e.g. per data set) over all rows, before any
    selection.

    Parameters
    ----------
    ens : Ensemble
        Not modified; a new Ensemble is returned.
    method : {"minmax", "rank", "robust"}, default="minmax"
        - ``minmax`` (the paper's): ``(x - min_g) / (max_g - min_g)``.
        - ``rank``: percentile rank within the group, ``(r - 1) / (n - 1)`` with
          ``r`` the average rank of ties.
        - ``robust``: min-max between the group's 1st and 99th percentiles
          (linear interpolation), clipped to [0, 1]; a few diverged trainings
          at chance level then no longer decide where every other network lands.

        In every method a group whose metric is constant (including a group of
        one row) gets :data:`CONSTANT_GROUP_VALUE` = 0.5 on every row: no network
        is better or worse than another, so all sit in the middle. For
        ``robust`` with equal percentiles, rows below get 0 and above get 1.
    better : {"higher", "lower"}, optional
        Which end of the metric is better. ``"lower"`` (a loss, an error)
        turns the scale around, ``1 - x`` of the above: each group's lowest
        value gets 1, so that the top of the normalized range is always the
        best networks. Default: what the source said (``ens.better``: an
        Optuna study's direction), else the metric's name
        (:func:`better_end`: ``val_loss``, ``test_error`` are lower-is-better;
        anything else higher).

    Returns
    -------
    Ensemble
        With ``normalized`` (float64), ``normalization`` set to ``method`` and
        ``better`` to the better end.

    Examples
    --------
    >>> import pandas as pd, hpcore
    >>> ens = hpcore.load(pd.DataFrame({"p": ["a", "b", "a"], "acc": [1.0, 3.0, 2.0]}))
    >>> hpcore.normalize(ens).table["normalized"].tolist()
    [0.0, 1.0, 0.5]
    """
    check_ensemble(ens, "normalize")
    check_one_of("method", method, METHODS, HpcoreError)
    if better is None:
        better = ens.better or better_end(ens.metric)
    check_one_of("better", better, BETTER, HpcoreError)
    values = ens.table[ens.metric].to_numpy(dtype=np.float64)
    groups = ens.group_labels()
    codes = (
        groups.cat.codes.to_numpy()
        if isinstance(groups.dtype, pd.CategoricalDtype)
        else np.zeros(len(values), dtype=np.int64)
    )
    by = pd.Series(values).groupby(codes, sort=False)
    if method == "minmax":
        out = _minmax(values, codes)
    elif method == "robust":
        p_lo, p_hi = (q / 100.0 for q in ROBUST_PERCENTILES)
        lo = by.transform(lambda s: s.quantile(p_lo)).to_numpy()
        hi = by.transform(lambda s: s.quantile(p_hi)).to_numpy()
        out = _scale(values, lo, hi)
    else:
        rank = by.rank(method="average").to_numpy()
        n = by.transform("size").to_numpy().astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(
                n > 1, (rank - 1.0) / np.maximum(n - 1.0, 1.0), CONSTANT_GROUP_VALUE
            )
        # ties spanning a whole group give (n+1)/2 - 1 over n - 1 = 0.5 already
    out = out.astype(np.float64)
    if better == "lower":
        np.subtract(1.0, out, out=out)  # a constant group's 0.5 stays 0.5
    table = ens.table.assign(**{NORMALIZED: out})
    return dataclasses.replace(ens, table=table, normalization=method, better=better)
