"""Turning raw columns into ordered options: categorical labels and numeric bins.

Options keep a stable, natural order: numbers ascending, booleans False before
True, strings in order of first appearance. Missing values become a last
option labelled ``"missing"``. Numeric columns with more than
:data:`MAX_RAW_OPTIONS` distinct values are binned into ordered intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

#: Numeric columns with more distinct values than this are binned by default.
MAX_RAW_OPTIONS = 8
#: Default number of bins for a binned numeric parameter.
DEFAULT_BINS = 5
#: A positive column whose max/min ratio reaches this gets log-spaced bins.
LOG_RATIO = 100.0
#: Label of the option that holds missing values.
MISSING_LABEL = "missing"


@dataclass(frozen=True)
class Options:
    """A column turned into options: ordered categorical values plus bin edges."""

    values: pd.Categorical[str]
    edges: tuple[float, ...] | None = None


def is_numeric(series: pd.Series) -> bool:
    """True for int/float columns (booleans are not numeric here)."""
    return bool(
        pd.api.types.is_numeric_dtype(series.dtype)
        and not pd.api.types.is_bool_dtype(series.dtype)
    )


def number_label(value: float) -> str:
    """Short label of a number: ``32`` not ``32.0``; ``0.00016``; ``2.6e-05``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def number_labels(values: np.ndarray) -> list[str]:
    """Labels of distinct sorted numbers, unique by construction.

    Each value gets :func:`number_label`; values whose labels collide (they
    agree to 6 significant digits, e.g. ``0.001`` and the float32-rounded
    ``0.0010000000474974513``) get as many more digits as tell them apart,
    up to the 17 that tell any two doubles apart.
    """
    labels = [number_label(v) for v in values]
    clash = pd.Index(labels).duplicated(keep=False)
    digits = 7
    while clash.any() and digits <= 17:
        for i in np.flatnonzero(clash):
            labels[i] = f"{values[i]:.{digits}g}"
        clash = pd.Index(labels).duplicated(keep=False)
        digits += 1
    return labels


def _small_codes(n: int) -> type[np.signedinteger]:
    """The smallest signed integer type holding codes ``-1 .. n``."""
    for kind in (np.int8, np.int16, np.int32):
        if n < np.iinfo(kind).max:
            return kind
    return np.int64


def _from_codes(codes: np.ndarray, labels: list[str]) -> pd.Categorical[str]:
    """Build an ordered categorical; code -1 becomes the ``missing`` option.

    ``codes`` (any integer type) must lie in ``-1 .. len(labels) - 1``, as
    the callers build them; they are not checked again.
    """
    codes = np.asarray(codes)
    if (codes < 0).any():
        missing = MISSING_LABEL if MISSING_LABEL not in labels else f"<{MISSING_LABEL}>"
        codes = np.where(codes < 0, len(labels), codes)
        labels = [*labels, missing]
    dtype: Any = pd.CategoricalDtype(pd.Index(labels), ordered=True)
    out: pd.Categorical[str] = pd.Categorical.from_codes(
        codes.astype(_small_codes(len(labels)), copy=False), dtype=dtype, validate=False
    )
    return out


def present_codes(codes: np.ndarray) -> np.ndarray:
    """The categorical codes of the rows with a value (-1 marks a missing one)."""
    return codes if bool((codes >= 0).all()) else codes[codes >= 0]


#: Rows whose integer values :func:`_int_codes` ranks before it looks at all.
HEAD_ROWS = 1 << 16
#: Rows per piece of :func:`count_codes` (its cast to machine integers).
COUNT_PIECE = 1 << 16
#: :func:`count_codes` counts one- and two-byte codes below this by one
#: comparison each: no cast to machine integers, about ten times as fast per
#: code as ``bincount`` (2.3 against 23 ms for 10M one-byte codes).
COMPARE_BELOW = 9


def count_codes(codes: np.ndarray, n: int) -> np.ndarray:
    """``numpy.bincount(codes, minlength=n)`` for non-negative codes of any type.

    ``bincount`` casts small integer types to machine integers first: a
    temporary eight times the column. A few distinct codes of a small type
    are counted by comparing with each (:data:`COMPARE_BELOW`); others piece
    by piece, so that the cast's temporary stays a few megabytes and is
    reused.
    """
    if codes.dtype == np.intp:
        out: np.ndarray = np.bincount(codes, minlength=n)
        return out
    if n < COMPARE_BELOW and codes.dtype.itemsize <= 2:
        counts = np.array([np.count_nonzero(codes == k) for k in range(n)], np.int64)
        if int(counts.sum()) == len(codes):  # else some code is n or more
            return counts
    counts = np.zeros(n, dtype=np.int64)
    for start in range(0, len(codes), COUNT_PIECE):
        piece = codes[start : start + COUNT_PIECE].astype(np.intp)  # numpy 1.26
        more = np.bincount(piece, minlength=n)  # refuses uint64 itself
        if len(more) > len(counts):  # a code of n or more, as bincount has it
            counts = np.append(counts, np.zeros(len(more) - len(counts), np.int64))
        counts[: len(more)] += more
    return counts


def _int_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``pandas.factorize(values, sort=True)`` of integers in a narrow range.

    Counting instead of hashing, over the values' range (at most the number
    of values, and at most 2**20): the values of the first :data:`HEAD_ROWS`
    rows are ranked and every row looked up; where some row holds a value
    the first rows do not (a table sorted by this column, say), the whole
    column is counted and its used values ranked. None for a range wider
    than that (the caller hashes).
    """
    if not len(values):
        return None
    lo, hi = int(values.min()), int(values.max())
    if hi - lo >= min(len(values), 1 << 20):
        return None
    if lo >= 0 and hi < 1 << 20:  # counted from 0: no shifted copy
        lo = 0
    shifted = values - lo if lo else values
    span = hi - lo + 1
    # the values the first rows hold are usually all of them (a sampled
    # parameter): rank those, and if every row got a rank no count of all
    # rows is needed (bincount of 10M rows with a few values: ~65 ms)
    seen = np.flatnonzero(count_codes(shifted[:HEAD_ROWS], span))
    if len(seen) < np.iinfo(np.int8).max:
        rank = np.full(span, -1, dtype=np.int8)
        rank[seen] = np.arange(len(seen))
        codes = rank[shifted]
        if int(codes.min()) >= 0:
            return codes, _unshifted(seen, lo, values.dtype)
    used = np.flatnonzero(count_codes(shifted, span))
    rank = np.full(span, -1, dtype=_small_codes(len(used)))
    rank[used] = np.arange(len(used))
    return rank[shifted], _unshifted(used, lo, values.dtype)


def _unshifted(offsets: np.ndarray, lo: int, dtype: np.dtype) -> np.ndarray:
    """``offsets + lo`` in the values' own integer type (a uint64 at or
    above 2**63 does not fit the offsets' int64)."""
    out: np.ndarray = offsets.astype(dtype) + dtype.type(lo)
    return out


def _dedupe_labels(labels: list[str], values: list[object]) -> list[str]:
    """Disambiguate labels that collide (e.g. 1 and "1" in one object column)."""
    if len(set(labels)) == len(labels):
        return labels
    return [
        f"{lab} ({type(v).__name__})" for lab, v in zip(labels, values, strict=True)
    ]


def raw_options(series: pd.Series) -> Options:
    """Options from the distinct values of ``series``, in their natural order."""
    if is_numeric(series):
        # hash-based factorize, then sort only the distinct values: O(n), where
        # np.unique + searchsorted sort all n values
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
            # plain integers: factorized as they are, no float copy of the column
            # (counted where their range is narrow, else hashed)
            ints_array = series.to_numpy()
            counted = _int_codes(ints_array)
            codes, ints = counted or pd.factorize(ints_array, sort=True)
            largest = max(abs(int(ints[0])), abs(int(ints[-1]))) if len(ints) else 0
            # beyond 2**53 float64 merges neighbours (hash buckets, 64-bit
            # seeds): exact labels; below 10**15 the digits are short enough
            if largest < 10**15 or largest > 2**53:
                return Options(_from_codes(codes, [str(int(u)) for u in ints]))
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        return Options(_from_codes(codes, number_labels(np.asarray(uniques))))
    if pd.api.types.is_bool_dtype(series.dtype):
        present = series.notna().to_numpy()
        values = series.to_numpy(dtype=bool, na_value=False)
        all_present = bool(present.all())
        seen = values if all_present else values[present]
        has_false, has_true = not seen.all(), bool(seen.any())
        uniques_b = [u for u, there in ((False, has_false), (True, has_true)) if there]
        # False is code 0 where it occurs, True the next code
        codes = values.astype(np.int8) if has_false else np.zeros(len(values), np.int8)
        if not all_present:
            codes[~present] = -1
        return Options(_from_codes(codes, [str(u) for u in uniques_b]))
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat_codes = series.cat.codes.to_numpy()  # the column's own small codes
        n_cats = len(series.cat.categories)
        given = present_codes(cat_codes)
        if series.cat.ordered:  # declared order, unused categories dropped
            order = np.flatnonzero(count_codes(given, n_cats))
        else:  # first-seen order, like any other string column
            order = pd.unique(cast(Any, given))
        if len(order) == n_cats and bool((np.diff(order) == 1).all()):
            codes = cat_codes.copy()  # every category, in order: the same codes
        else:
            remap = np.full(n_cats + 1, -1, dtype=_small_codes(len(order)))
            remap[order] = np.arange(len(order))
            codes = remap[cat_codes]  # code -1 picks the last entry, -1
        cat_values = list(series.cat.categories.take(order))
        labels = [str(v) for v in cat_values]
        return Options(_from_codes(codes, _dedupe_labels(labels, cat_values)))
    codes, uniques_o = pd.factorize(series, sort=False, use_na_sentinel=True)
    uniques_list = list(uniques_o)
    labels = [str(v) for v in uniques_list]
    return Options(_from_codes(codes, _dedupe_labels(labels, uniques_list)))


def compact_int(value: int, digits: int = 3) -> str:
    """``27895168`` -> ``"27.9M"``; numbers below 10,000 stay exact."""
    if abs(value) < 10_000:
        return str(value)
    for power, suffix in ((12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if abs(value) >= 10**power:
            return f"{value / 10**power:.{digits}g}{suffix}"
    return str(value)  # pragma: no cover - unreachable


def _bin_labels(edges: np.ndarray, integer: bool) -> list[str]:
    n = len(edges) - 1
    if integer:
        bounds = [(int(edges[i]), int(edges[i + 1]) - 1) for i in range(n)]
        for digits in (3, 4, 5, 6, None):
            fmt = str if digits is None else (lambda v, d=digits: compact_int(v, d))
            labels = [
                fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}" for lo, hi in bounds
            ]
            if len(set(labels)) == n:
                return labels
        return labels  # pragma: no cover - exact integers are always distinct
    for digits in range(3, 17):
        texts = [f"{e:.{digits}g}" for e in edges]
        if len(set(texts)) == len(texts):
            break
    return [
        f"[{texts[i]}, {texts[i + 1]}{']' if i == n - 1 else ')'}" for i in range(n)
    ]


def _log_spread(values: np.ndarray) -> bool:
    """Whether positive ``values`` sit on a log scale: they span at least
    :data:`LOG_RATIO` and their median sits nearer the middle of the range
    on a log scale than on a linear one."""
    vmin, vmax = float(values.min()), float(values.max())
    if not (vmin > 0 and vmax / vmin >= LOG_RATIO):
        return False
    median = float(np.median(values))
    at_lin = (median - vmin) / (vmax - vmin)
    at_log = np.log(median / vmin) / np.log(vmax / vmin)
    return bool(abs(at_log - 0.5) < abs(at_lin - 0.5))


def bin_edges(
    values: np.ndarray, bins: int, log: bool | None = None
) -> tuple[np.ndarray, bool]:
    """Bin edges for finite ``values``: ``(edges, integer)``.

    Log-spaced when all values are positive, span at least :data:`LOG_RATIO`
    and their median sits nearer the middle of the range on a log scale than
    on a linear one (log-uniform learning rates, heavy-tailed parameter counts),
    else equal width. Integer-valued columns get integer
    edges, each bin ``[edge_i, edge_i+1)`` holding whole numbers. ``log``
    overrides the choice when the source knows how the values were sampled
    (True: log-spaced whenever all values are positive; False: equal width).
    """
    vmin, vmax = float(values.min()), float(values.max())
    head = values[:HEAD_ROWS]  # a fraction in the first rows settles it
    integer = bool(np.array_equal(head, np.floor(head))) and bool(
        np.array_equal(values, np.floor(values))
    )
    if log is not None:
        use_log = log and vmin > 0 and vmax > vmin
    else:
        use_log = _log_spread(values)
    top = vmax + 1 if integer else vmax
    edges = (
        np.geomspace(vmin, top, bins + 1)
        if use_log
        else np.linspace(vmin, top, bins + 1)
    )
    if integer:
        edges = np.unique(np.floor(edges))
        edges[-1] = top
    edges[0] = vmin
    return edges, integer


def binned_options(series: pd.Series, bins: int, log: bool | None = None) -> Options:
    """Bin a numeric column into at most ``bins`` ordered interval options.

    Bins without any value are left out, so fewer options may result. ``log``:
    see :func:`bin_edges`. Values no interval can hold get options of their
    own, in order: ``-inf`` first and ``inf`` last (e.g. a gradient clip of
    inf: no clipping). So does 0 in a column whose other values are positive
    and sit on a log scale (a weight decay of 0 beside 1e-6 .. 1e-2): the
    others get log-spaced bins, which a 0 among them would turn into equal
    widths that put nearly every row in the first bin. The edges are those
    of the bins.
    """
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    inside = np.isfinite(values)
    apart: list[tuple[str, np.ndarray]] = []  # options beside the bins, in order
    if not inside.all():
        for label, value in (("-inf", -np.inf), ("inf", np.inf)):
            rows = values == value
            if rows.any():
                apart.append((label, rows))
    if not inside.any():
        raise ValueError("it holds no finite value to bin")
    finite = values[inside] if not inside.all() else values
    zero = False
    if float(finite.min()) == 0.0 and log is not False:
        positive = finite[finite > 0]
        zero = len(positive) > 0 and (
            bool(log) or (len(positive) > bins and _log_spread(positive))
        )
        if zero:
            rows = values == 0.0
            apart.insert(1 if apart and apart[0][0] == "-inf" else 0, ("0", rows))
            inside &= ~rows
            finite = positive
    edges, integer = bin_edges(finite, bins, log)
    if len(edges) < 2:  # integers beyond 2**53: float64 cannot tell them apart
        raise ValueError(
            f"its values ({number_label(edges[0])} and near) are too large to bin "
            "exactly as float64 numbers; keep its raw values (bins None)"
        )
    inner = edges[1:-1]
    before = sum(1 for label, _ in apart if label in ("-inf", "0"))
    n_options = len(edges) - 1 + len(apart)
    kind = _small_codes(n_options + 1)
    if len(inner) <= 16:  # a comparison per edge beats a binary search per value
        idx = np.zeros(len(values), dtype=kind)
        for edge in inner:
            idx += values >= edge  # NaN compares False
    else:
        idx = np.searchsorted(inner, values, side="right").astype(kind)
    if before:
        idx += before
    labels = _bin_labels(edges, integer)
    labels = [
        *(label for label, _ in apart[:before]),
        *labels,
        *(label for label, _ in apart[before:]),
    ]
    for i, (_, rows) in enumerate(apart):
        idx[rows] = i if i < before else len(labels) - len(apart) + i
    some_missing = bool(missing.any())
    if some_missing:
        idx[missing] = -1
    used = np.flatnonzero(
        count_codes(idx[~missing] if some_missing else idx, len(labels))
    )
    if len(used) < len(labels):  # empty bins: the codes after them move down
        remap = np.full(len(labels) + 1, -1, dtype=kind)  # code -1 picks the last
        remap[used] = np.arange(len(used))
        idx = remap[idx]
    return Options(
        _from_codes(idx, [labels[i] for i in used]), tuple(float(e) for e in edges)
    )


def make_options(
    series: pd.Series, bins: int | str | None = "auto", log: bool | None = None
) -> Options:
    """Options of one parameter column.

    Parameters
    ----------
    series : pandas.Series
        The raw column (never modified).
    bins : int, None or "auto", default="auto"
        ``"auto"`` bins numeric columns with more than :data:`MAX_RAW_OPTIONS`
        distinct values into :data:`DEFAULT_BINS` bins; an int bins a numeric
        column into that many bins; None keeps raw values.
    log : bool or None, default=None
        How bins are spaced: None decides from the values (:func:`bin_edges`);
        True asks for log-spaced bins (a parameter sampled on a log scale,
        e.g. an Optuna ``FloatDistribution(log=True)``); False for equal width.
    """
    if bins is None or not is_numeric(series):
        return raw_options(series)
    if bins == "auto":
        head = series.iloc[:10_000]  # many distinct values show early: skip the hash
        if head.nunique() <= MAX_RAW_OPTIONS:
            raw = raw_options(series)  # one hash pass decides and builds
            used = raw.values.categories.difference([MISSING_LABEL])
            if len(used) <= MAX_RAW_OPTIONS:
                return raw
        bins = DEFAULT_BINS
    assert isinstance(bins, int)
    return binned_options(series, bins, log)
