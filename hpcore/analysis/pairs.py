"""Counts of selected networks for every pair of parameter options (paper Fig. 3)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..data.model import Ensemble
from .aggregates import labels, selection_mask
from .selection import Selection

COLUMNS = ("param_a", "option_a", "param_b", "option_b", "count")


def parameter_pairs(ens: Ensemble) -> Iterator[tuple[str, str]]:
    """Every unordered parameter pair ``(a, b)``, a before b in parameter order."""
    params = ens.parameters
    for i, a in enumerate(params):
        for b in params[i + 1 :]:
            yield a, b


def pairs_frame(
    ens: Ensemble, blocks: dict[tuple[str, str], np.ndarray]
) -> pd.DataFrame:
    """Long frame from per-pair ``(|A|, |B|)`` count matrices, in pair order."""
    pa: list[str] = []
    oa: list[str] = []
    pb: list[str] = []
    ob: list[str] = []
    counts: list[np.ndarray] = []
    for a, b in parameter_pairs(ens):
        opts_a, opts_b = ens.options(a), ens.options(b)
        block = blocks[(a, b)]
        pa += [a] * block.size
        pb += [b] * block.size
        oa += [o for o in opts_a for _ in opts_b]
        ob += list(opts_b) * len(opts_a)
        counts.append(block.reshape(-1))
    return pd.DataFrame(
        {
            "param_a": labels(pa),
            "option_a": labels(oa),
            "param_b": labels(pb),
            "option_b": labels(ob),
            "count": (np.concatenate(counts) if counts else np.zeros(0)).astype(
                np.int64
            ),
        }
    )


def pair_counts(ens: Ensemble, selection: Selection | None = None) -> pd.DataFrame:
    """Number of selected networks for every option pair of every parameter pair.

    Parameters
    ----------
    ens : Ensemble
    selection : Selection, optional
        The rows to count (all rows when None).

    Returns
    -------
    pandas.DataFrame
        Columns ``param_a, option_a, param_b, option_b`` (str) and ``count``
        (int64): for every unordered parameter pair (a before b in parameter
        order), every option of a times every option of b in option order,
        zeros included. The counts of each pair's block sum to the selection size.
    """
    mask = selection_mask(ens, selection, "pair_counts")
    codes = {p: ens.codes(p).to_numpy()[mask].astype(np.int64) for p in ens.parameters}
    blocks = {}
    for a, b in parameter_pairs(ens):
        ka, kb = len(ens.options(a)), len(ens.options(b))
        flat = np.bincount(codes[a] * kb + codes[b], minlength=ka * kb)
        blocks[(a, b)] = flat.reshape(ka, kb)
    return pairs_frame(ens, blocks)
