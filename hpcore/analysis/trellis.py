"""Mean metric per option, split by a primary and a secondary parameter (Fig. 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.errors import ParameterError
from ..data.model import NORMALIZED, Ensemble, check_ensemble
from .aggregates import labels, selection_mask
from .selection import Selection, require_normalized

COLUMNS = ("parameter", "option", "primary", "secondary", "mean", "count")


def check_trellis_args(
    ens: Ensemble, primary: str, secondary: str | None, value: str
) -> None:
    """Validate the primary/secondary parameters and the value column of a trellis."""
    check_ensemble(ens, "the trellis")
    ens.check_parameter(primary, "primary")
    if secondary is not None:
        ens.check_parameter(secondary, "secondary")
        if secondary == primary:
            raise ParameterError(
                f"secondary must differ from primary; both are {primary!r}"
            )
    if value == NORMALIZED:
        require_normalized(ens, "trellis(value='normalized')")
    elif value != ens.metric:
        raise ParameterError(
            f"value must be 'normalized' or the metric {ens.metric!r}; got {value!r}"
        )
    if len(ens.parameters) - 1 - (secondary is not None) < 1:
        besides = f"its primary {primary!r}" + (
            f" and secondary {secondary!r}" if secondary is not None else ""
        )
        raise ParameterError(
            f"the trellis needs a parameter besides {besides}; the parameters "
            f"are {list(ens.parameters)!r} (a trellis needs "
            f"{3 if secondary is not None else 2} parameters with "
            f"{'a' if secondary is not None else 'no'} secondary)"
        )


def trellis_panels(ens: Ensemble, primary: str, secondary: str | None) -> list[str]:
    """The parameters a trellis shows: all but primary and secondary, in order."""
    return [p for p in ens.parameters if p not in (primary, secondary)]


def trellis_frame(
    ens: Ensemble,
    primary: str,
    secondary: str | None,
    sums: dict[str, np.ndarray],
    counts: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Long frame from per-parameter ``(|P|, |primary|, |secondary|)`` sums, counts."""
    prim_opts = ens.options(primary)
    sec_opts: tuple[str | None, ...] = ens.options(secondary) if secondary else (None,)
    cols: dict[str, list[object]] = {
        c: [] for c in ("parameter", "option", "primary", "secondary")
    }
    mean_parts: list[np.ndarray] = []
    count_parts: list[np.ndarray] = []
    for p in trellis_panels(ens, primary, secondary):
        opts = ens.options(p)
        n = len(opts) * len(prim_opts) * len(sec_opts)
        cols["parameter"] += [p] * n
        cols["option"] += [
            o for o in opts for _ in range(len(prim_opts) * len(sec_opts))
        ]
        cols["primary"] += [q for q in prim_opts for _ in sec_opts] * len(opts)
        cols["secondary"] += list(sec_opts) * (len(opts) * len(prim_opts))
        c = counts[p].reshape(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_parts.append(
                np.where(c > 0, sums[p].reshape(-1) / np.maximum(c, 1), np.nan)
            )
        count_parts.append(c)
    return pd.DataFrame(
        {
            **{k: labels(v) for k, v in cols.items()},  # type: ignore[arg-type]
            "mean": np.concatenate(mean_parts).astype(np.float64),
            "count": np.concatenate(count_parts).astype(np.int64),
        }
    )


def trellis(
    ens: Ensemble,
    selection: Selection | None = None,
    *,
    primary: str,
    secondary: str | None = None,
    value: str = NORMALIZED,
) -> pd.DataFrame:
    """Mean of ``value`` per option of each other parameter, per primary (x secondary).

    Parameters
    ----------
    ens : Ensemble
    selection : Selection, optional
        Rows to aggregate (all rows when None).
    primary : str
        Parameter that splits the trellis into panel rows (e.g. the data set).
    secondary : str, optional
        Parameter shown as colour and marker shape.
    value : str, default="normalized"
        ``"normalized"`` or the metric column.

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter, option, primary, secondary`` (str; ``secondary`` is
        missing without a secondary parameter), ``mean`` (float64; NaN for an
        empty cell) and ``count`` (int64). Parameters in order (primary and
        secondary left out), then options, primary options and secondary
        options in option order; empty cells included.
    """
    check_trellis_args(ens, primary, secondary, value)
    mask = selection_mask(ens, selection)
    y = ens.table[value].to_numpy(dtype=np.float64)[mask]
    kp = len(ens.options(primary))
    ks = len(ens.options(secondary)) if secondary else 1
    cell = ens.codes(primary).to_numpy()[mask].astype(np.int64) * ks
    if secondary:
        cell = cell + ens.codes(secondary).to_numpy()[mask]
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    for p in trellis_panels(ens, primary, secondary):
        k = len(ens.options(p))
        flat = ens.codes(p).to_numpy()[mask].astype(np.int64) * (kp * ks) + cell
        counts[p] = np.bincount(flat, minlength=k * kp * ks)
        sums[p] = np.bincount(flat, weights=y, minlength=k * kp * ks)
    return trellis_frame(ens, primary, secondary, sums, counts)
