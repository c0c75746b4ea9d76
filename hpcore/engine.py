"""Instant brushing: an exact engine that answers each brush per parameter combination.

The plain functions (:func:`hpcore.select`, :func:`hpcore.histogram`,
:func:`hpcore.pair_counts`, :func:`hpcore.trellis`) re-scan every row on every
brush. :class:`BrushEngine` sorts the rows once and then answers a range and
filter query with work that follows the number of *distinct parameter
combinations* ``C`` in the table, not the number of rows ``N``. Its tables
equal the plain functions' (counts exactly, means to rounding) and come from
the same frame builders, so columns, order and dtypes are identical.

How it works
------------
Build (once, ``O(N log N)``):

1. Every row gets the id of its combination of parameter options (the group
   column counts as a parameter when it is not one, so groups never mix).
2. Rows are sorted by (combination, normalized value) with one ``argsort`` of
   the int64 key ``combination * D + rank``, ``rank`` being the row's place
   among the ``D`` distinct normalized values. Integer ranks keep ties and the
   closed interval exact: ``lo <= v <= hi`` is ``rank_lo <= rank < rank_hi``.
3. Inside each combination, exclusive prefix sums of the sorted values are
   kept as a double-double pair ``hi + lo``: ``hi`` is the ordinary running
   sum, ``lo`` the running sum of the exact rounding error of each addition
   (Knuth's TwoSum), computed vectorized over padded blocks of combinations.
4. Histogram counts per (combination, bin), run-length encoded (at most one
   entry per row).

Query (a fixed handful of numpy calls):

1. ``rank_lo`` and ``rank_hi`` by binary search in the distinct values.
2. For every combination, the first and one-past-last sorted position inside
   the range, by a binary search of ``2 C`` keys run all at once. Fences
   stored at build (each combination's position at ``G`` evenly spaced ranks)
   shrink most searches to a step or two inside one cache line. When so many
   combinations hold so few rows each that few fences fit, one pass over the
   sorted ranks (``O(N)``) finds the positions instead. Count = difference of
   positions, sum = difference of prefix sums.
3. ``where`` is one boolean per combination. With more than 32,768
   combinations, only those holding selected rows go on.
4. Pair counts: the per-combination counts are spread on the dense grid of
   all option combinations (when it is not much larger than ``C``), a tensor
   with one axis per parameter; every pair block is that tensor summed over
   the other axes, with partial sums shared between pairs. Otherwise, and for
   the trellis and the histogram, one ``bincount`` per table over a
   precomputed combination -> cell map.

Exactness
---------
Counts are integers and exact. A combination's range sum is
``(hi[e] - hi[s]) + (lo[e] - lo[s])``; values are sorted ascending inside the
combination, so the prefix before the range is at most ``n_c`` times the range
sum and the double-double prefix keeps the result within a few units in the
last place of the exact sum, for any magnitudes (1e-300 next to 1 included).
The combinations of a trellis cell are then added in float64, as
:func:`hpcore.trellis` adds rows, so the engine's error stays within the plain
function's own rounding (worst case ``terms * 2**-53`` relative, in practice
about 1e-16).

Cost
----
Memory: about 40 bytes per row (sorted keys, two prefix sums, row order,
distinct values, fences) plus a little per combination; the build peaks near
twice the table's own size. Queries follow ``C``: the paper's NWS parameters
give at most 9,600 combinations however many rows there are (about 1 ms per
brush at 10 million rows; ``benchmarks/brush.py``). When nearly every row is
its own combination (all twelve NWS columns: 814 thousand combinations in a
million rows) the engine stays exact and about twice as fast as the numpy
re-scan of the plain functions, but needs up to about 100 bytes per row.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._validation import check_interval, fmt_list
from .errors import HpcoreError, ParameterError
from .histogram import bin_index, histogram_edges, histogram_frame
from .model import NORMALIZED, Ensemble
from .pairs import pairs_frame, parameter_pairs
from .selection import Selection, Where, require_normalized, resolve_where
from .trellis import check_trellis_args, trellis_frame, trellis_panels

#: At most this many entries per block of the padded per-combination prefix
#: sums (and 1/16 of the rows, see ``_block``): bounds the build's scratch memory.
_CHUNK = 1 << 18
#: Fence positions kept: about ``max(N / 2, _FENCE_MIN)`` (see ``_fences``).
_FENCE_MIN = 1 << 18
#: With fewer fences than this (many combinations, few rows each), a query
#: finds its positions by one pass over the sorted ranks instead.
_ROWS_MODE_FENCES = 4
#: With more combinations than this, a query works only on the combinations
#: that hold selected rows.
_TAKE_MIN = 1 << 15
#: At most this many sorted positions per block when counting fences and
#: histogram runs.
_HIST_BLOCK = 1 << 20
#: A stacked combination -> cell map is kept when it has at most
#: ``max(_STACK_MIN, _STACK_PER_ROW * N)`` entries, else rebuilt per query.
_STACK_MIN = 1 << 20
_STACK_PER_ROW = 1
#: Pair counts go through the dense option grid when it has at most
#: ``max(_GRID_MIN, _GRID_PER_COMBINATION * C)`` cells.
_GRID_MIN = 1 << 16
_GRID_PER_COMBINATION = 8
#: A mixed-radix combination key is compressed before it could pass this.
_KEY_LIMIT = 1 << 62
#: Trellis layouts (one per primary/secondary choice) kept for reuse: at most
#: this many, holding at most ``_TRELLIS_CACHE_BYTES`` of stacked cell maps.
_TRELLIS_CACHE = 64
_TRELLIS_CACHE_BYTES = 1 << 25


@dataclass(frozen=True, eq=False)
class BrushResult:
    """Everything the linked views need for one brush.

    With ``sel = hpcore.select(ens, range=range, where=where)``:

    Attributes
    ----------
    count : int
        ``sel.count``: rows in the closed range that pass ``where``.
    histogram : pandas.DataFrame
        ``hpcore.histogram(ens, bins=bins, normalized=True,
        selection=hpcore.select(ens, where=where))``: the rows that pass
        ``where``, over all of [0, 1]. The histogram view shades the brushed
        range itself, so the range does not cut it.
    pair_counts : pandas.DataFrame
        ``hpcore.pair_counts(ens, sel)``.
    trellis : pandas.DataFrame or None
        ``hpcore.trellis(ens, sel, primary=primary, secondary=secondary)`` on
        the normalized metric; None when no primary was given.
    range : tuple of float
        The validated closed interval ``(lo, hi)``.
    where : Mapping[str, tuple of str]
        The resolved filter (parameter -> option labels), as ``sel.where``.
    primary, secondary : str or None
        The trellis parameters of the query.
    """

    count: int
    histogram: pd.DataFrame
    pair_counts: pd.DataFrame
    trellis: pd.DataFrame | None
    range: tuple[float, float]
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    primary: str | None = None
    secondary: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "where", MappingProxyType(dict(self.where)))


@dataclass(frozen=True, eq=False)
class _Blocks:
    """Cells of several blocks laid end to end, as maps combination -> cell.

    Block ``i`` covers cells ``offsets[i] .. offsets[i] + sizes[i]`` and sends
    combination ``c`` to ``offsets[i] + sum(codes[p][c] * m for p, m in
    terms[i])``. ``index`` is all blocks' maps concatenated, when kept.
    """

    offsets: tuple[int, ...]
    sizes: tuple[int, ...]
    terms: tuple[tuple[tuple[int, int], ...], ...]
    index: np.ndarray | None

    @property
    def size(self) -> int:
        return sum(self.sizes)


@dataclass(frozen=True, eq=False)
class _PairGrid:
    """Pair counts as sums over the dense grid of all option combinations.

    ``cell`` maps each combination to its cell of the grid, a tensor with one
    axis per parameter (``radices`` options each). Every pair block is the
    grid summed over all other axes; sharing partial sums, the first
    ``split`` axes are summed out first per parameter of that part, then the
    rest (numpy reductions: exact for integer counts, no BLAS threads).
    """

    cell: np.ndarray
    radices: tuple[int, ...]
    split: int

    def counts(self, weights: np.ndarray, take: np.ndarray | None) -> np.ndarray:
        """Pair counts of per-combination weights (of the ``take`` ones if given)."""
        radices, split = self.radices, self.split
        cell = self.cell if take is None else self.cell[take]
        grid = np.bincount(cell, weights=weights, minlength=math.prod(radices))
        grid = grid.reshape(radices)
        first = tuple(range(split))
        last = tuple(range(split, len(radices)))
        blocks: dict[tuple[int, int], np.ndarray] = {}
        for a in first:
            part = grid.sum(axis=tuple(i for i in first if i != a))
            for b in last:
                others = tuple(1 + j - split for j in last if j != b)
                blocks[(a, b)] = part.sum(axis=others)
        head = grid.sum(axis=last)
        for a, b in itertools.combinations(first, 2):
            blocks[(a, b)] = head.sum(axis=tuple(i for i in first if i not in (a, b)))
        tail = grid.sum(axis=first)
        for a, b in itertools.combinations(last, 2):
            others = tuple(j - split for j in last if j not in (a, b))
            blocks[(a, b)] = tail.sum(axis=others)
        pairs = itertools.combinations(range(len(radices)), 2)  # pairs_frame order
        return np.concatenate([blocks[pair].reshape(-1) for pair in pairs])


@dataclass(frozen=True, eq=False)
class _TrellisLayout:
    blocks: _Blocks
    template: pd.DataFrame


def _block(n_rows: int, largest: int) -> int:
    """Entries per block of a build step: 1/16 of the rows, within 4096..largest."""
    return max(1, min(largest, max(n_rows // 16, 4096)))


def _combination_ids(
    columns: Sequence[np.ndarray], radices: Sequence[int]
) -> tuple[np.ndarray, int]:
    """Dense id (0..C-1, lexicographic in the codes) of every row's code tuple."""
    flat = np.zeros(len(columns[0]), dtype=np.int64)
    size = 1
    for codes, k in zip(columns, radices, strict=True):
        if size * k >= _KEY_LIMIT:
            uniques, flat = np.unique(flat, return_inverse=True)
            flat = flat.reshape(-1).astype(np.int64)
            size = len(uniques)
        flat *= k
        flat += codes
        size *= k
    if size <= max(4 * len(flat), 1 << 16):
        present = np.bincount(flat, minlength=size) > 0
        dense = np.cumsum(present) - 1
        return dense[flat], int(dense[-1]) + 1
    uniques, inverse = np.unique(flat, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), len(uniques)


def _bucket_widths(lengths: np.ndarray) -> np.ndarray:
    """Padded width of each segment: its length rounded up to 1/8 of an octave."""
    step = np.exp2(np.maximum(np.floor(np.log2(np.maximum(lengths, 1))) - 3, 0))
    step = step.astype(np.int64)
    widths: np.ndarray = -(-lengths // step) * step
    return widths


def _two_sum_prefix(
    v: np.ndarray, carry_hi: np.ndarray, carry_lo: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive double-double prefix sums along the rows of ``v``.

    Row ``i`` continues from the prefix ``carry_hi[i] + carry_lo[i]``. ``hi``
    is the running float64 sum; ``lo`` the running sum of the exact rounding
    error of each of its additions (Knuth's TwoSum).
    """
    hi = np.cumsum(np.concatenate([carry_hi[:, None], v], axis=1), axis=1)
    prev, hi = hi[:, :-1], hi[:, 1:]
    x = prev + v  # TwoSum(prev, v): x + y == prev + v exactly
    bp = x - prev
    y = (prev - (x - bp)) + (v - bp)
    err = (x - hi) + y  # x == hi: cumsum adds in order; kept exact if not
    lo = np.cumsum(np.concatenate([carry_lo[:, None], err], axis=1), axis=1)
    return hi, lo[:, 1:]


def _segmented_prefix(
    key_sorted: np.ndarray, distinct: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exclusive prefix sums of the sorted values inside every combination.

    Combination ``c``'s ``n_c + 1`` prefix sums sit at ``offsets[c] + c`` to
    ``offsets[c + 1] + c``, the first being 0; each is the double-double
    ``hi + lo`` of :func:`_two_sum_prefix`. Combinations of similar length are
    done together as the rows of a zero-padded block; one longer than a block
    is done alone, piece by piece.
    """
    n_dist = len(distinct)
    lengths = np.diff(offsets)
    hi = np.zeros(int(offsets[-1]) + len(lengths), dtype=np.float64)
    lo = np.zeros_like(hi)
    chunk = _block(len(key_sorted), _CHUNK)
    widths = _bucket_widths(lengths)
    by_width = np.argsort(widths, kind="stable")
    cuts = np.flatnonzero(np.diff(widths[by_width])) + 1
    for group in np.split(by_width, cuts):
        width = int(widths[group[0]])
        if width > chunk:
            for c in group:
                carry = np.zeros(1), np.zeros(1)
                for first in np.arange(0, lengths[c], chunk):
                    src = offsets[c] + np.arange(first, min(first + chunk, lengths[c]))
                    v = distinct[key_sorted[src] - c * n_dist]
                    s, err = _two_sum_prefix(v[None, :], *carry)
                    hi[src + c + 1] = s[0]
                    lo[src + c + 1] = err[0]
                    carry = s[:, -1], err[:, -1]
            continue
        cols = np.arange(width)
        for first in np.arange(0, len(group), max(1, chunk // width)):
            segs = group[first : first + max(1, chunk // width)]
            valid = cols < lengths[segs][:, None]
            src = (offsets[segs][:, None] + cols)[valid]
            combo = np.broadcast_to(segs[:, None], valid.shape)[valid]
            v = np.zeros(valid.shape, dtype=np.float64)
            v[valid] = distinct[key_sorted[src] - combo * n_dist]
            zeros = np.zeros(len(segs))
            s, err = _two_sum_prefix(v, zeros, zeros)
            hi[src + combo + 1] = s[valid]
            lo[src + combo + 1] = err[valid]
    return hi, lo


def _histogram_runs(
    key_sorted: np.ndarray,
    distinct: np.ndarray,
    edges: np.ndarray,
    group_of: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts per (combination, bin) of the rows in [0, 1], run-length encoded.

    Returns the combination, the histogram cell (``group * bins + bin``) and
    the number of rows of every non-empty (combination, bin).
    """
    bins = len(edges) - 1
    n_dist = len(distinct)
    keys: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    size = _block(len(key_sorted), _HIST_BLOCK)
    for first in np.arange(0, len(key_sorted), size):
        block = key_sorted[first : first + size]
        combo = block // n_dist
        v = distinct[block - combo * n_dist]
        inside = (v >= 0.0) & (v <= 1.0)
        cell = (combo * bins + bin_index(v, edges))[inside]  # sorted: v ascends
        if len(cell):
            starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
            keys.append(cell[starts])
            counts.append(np.diff(np.r_[starts, len(cell)]))
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    key = np.concatenate(keys)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])  # block seams
    count = np.add.reduceat(np.concatenate(counts), starts)
    key = key[starts]
    combo = key // bins
    return combo, group_of[combo] * bins + key % bins, count.astype(np.int64)


def _pair_grid(codes: Sequence[np.ndarray], radices: Sequence[int]) -> _PairGrid | None:
    """The grid pair counter, or None when the option grid is too large."""
    n_comb = len(codes[0])
    n_cells = math.prod(radices)
    if len(radices) < 2 or n_cells > max(_GRID_MIN, _GRID_PER_COMBINATION * n_comb):
        return None

    def cost(split: int) -> int:  # additions of one query, see _PairGrid
        k1, k2 = math.prod(radices[:split]), math.prod(radices[split:])
        rest = len(radices) - split
        return (
            split * n_cells
            + sum(radices[:split]) * k2 * rest
            + math.comb(split, 2) * k1
            + math.comb(rest, 2) * k2
        )

    cell = np.zeros(n_comb, dtype=np.int64)
    for c, k in zip(codes, radices, strict=True):
        cell = cell * k + c
    return _PairGrid(
        cell=cell,
        radices=tuple(radices),
        split=min(range(1, len(radices)), key=cost),
    )


def _fences(
    key_sorted: np.ndarray, offsets: np.ndarray, n_dist: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fence ranks and each combination's sorted position at every fence.

    ``G`` fences split the ranks ``0..n_dist`` evenly, ``G`` a power of two
    with ``(G + 1) * C`` at most ``max(N / 2, _FENCE_MIN)`` (or 1). Row ``g`` of the
    positions is where ranks ``>= fences[g]`` start in every combination, so
    a query binary-searches only between two fences, a row or two apart.
    """
    n_comb = len(offsets) - 1
    room = max(len(key_sorted) // 2, _FENCE_MIN) // n_comb - 1
    n_fences = 1 << (max(1, min(room, n_dist, 1 << 16)).bit_length() - 1)
    fences = (np.arange(n_fences + 1, dtype=np.int64) * n_dist) // n_fences
    below = np.zeros(n_comb * n_fences, dtype=np.int64)
    size = _block(len(key_sorted), _HIST_BLOCK)
    for first in np.arange(0, len(key_sorted), size):
        block = key_sorted[first : first + size]
        combo = block // n_dist
        fence = np.searchsorted(fences, block - combo * n_dist, side="right") - 1
        below += np.bincount(combo * n_fences + fence, minlength=len(below))
    pos = np.zeros((n_fences + 1, n_comb), dtype=np.int64)
    np.cumsum(below.reshape(n_comb, n_fences).T, axis=0, out=pos[1:])
    pos += offsets[:-1]
    return fences, pos.astype(np.int32 if len(key_sorted) < 2**31 else np.int64)


def _lower_bound(
    keys: np.ndarray, needles: np.ndarray, first: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """First position in ``first[i]..last[i]`` whose key is not below ``needles[i]``.

    A binary search run for all needles at once, each step only on the
    searches still open; ``keys`` is sorted and every answer lies in its
    window (``last[i]`` when all keys there are smaller).
    """
    lo = first.astype(np.int64)
    hi = last.astype(np.int64)
    open_ = np.flatnonzero(lo < hi)
    while len(open_):
        a, b = lo[open_], hi[open_]
        mid = (a + b) >> 1
        below = keys[mid] < needles[open_]
        a = np.where(below, mid + 1, a)
        b = np.where(below, b, mid)
        lo[open_] = a
        hi[open_] = b
        open_ = open_[a < b]
    return lo


def _segment_counts(flags: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Number of True flags inside each segment ``offsets[c]:offsets[c + 1]``."""
    total = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=total[1:])
    counts: np.ndarray = total[offsets[1:]] - total[offsets[:-1]]
    return counts


def _nbytes(array: np.ndarray | None) -> int:
    return 0 if array is None else int(array.nbytes)


def _with_columns(template: pd.DataFrame, **columns: np.ndarray) -> pd.DataFrame:
    """A shallow copy of ``template`` (copy-on-write labels) with new columns."""
    out = template.copy(deep=False)
    for name, values in columns.items():
        out[name] = values
    return out


class BrushEngine:
    """Answer brushes (range + filter) on a normalized ensemble without re-scanning.

    Built once from a normalized :class:`~hpcore.Ensemble`; each :meth:`query`
    then costs about the number of distinct combinations of parameter options
    instead of the number of rows, and returns the plain functions' tables
    (see :class:`BrushResult` and the module docstring).

    Parameters
    ----------
    ens : Ensemble
        A normalized ensemble (:func:`hpcore.normalize`); not modified. It is
        kept by reference: like every Ensemble it must not be mutated.
    bins : int, default=20
        Number of equal-width bins of the normalized histogram.

    Raises
    ------
    HpcoreError
        ``ens`` is not an Ensemble or has no rows, or ``bins`` is not a
        positive integer.
    SelectionError
        ``ens`` is not normalized.
    ParameterError
        A parameter column is not categorical or has rows without an option
        (hand-made tables; :func:`hpcore.load` makes neither).

    Examples
    --------
    >>> import hpcore
    >>> from hpcore.engine import BrushEngine
    >>> ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(2000)))
    >>> engine = BrushEngine(ens)
    >>> res = engine.query(range=(0.9, 1.0), where={"dataset": "cifar10"},
    ...                    primary="optimizer")
    >>> sel = hpcore.select(ens, range=(0.9, 1.0), where={"dataset": "cifar10"})
    >>> res.count == sel.count
    True
    >>> res.pair_counts.equals(hpcore.pair_counts(ens, sel))
    True
    """

    __slots__ = (
        "_bins",
        "_codes",
        "_distinct",
        "_ens",
        "_fence_pos",
        "_fences",
        "_hist_all",
        "_hist_cell",
        "_hist_combo",
        "_hist_count",
        "_hist_template",
        "_key_sorted",
        "_lo",
        "_lock",
        "_n_comb",
        "_needle_base",
        "_offsets",
        "_options",
        "_order",
        "_pair_blocks",
        "_pair_grid",
        "_pairs_template",
        "_position",
        "_prefix",
        "_rank_sorted",
        "_shift",
        "_trellis_cache",
    )

    def __init__(self, ens: Ensemble, *, bins: int = 20) -> None:
        if not isinstance(ens, Ensemble):
            raise HpcoreError(
                "BrushEngine needs an hpcore.Ensemble (from hpcore.load and "
                f"hpcore.normalize); got {type(ens).__name__}"
            )
        require_normalized(ens, "BrushEngine")
        edges = histogram_edges(ens, bins=bins, normalized=True)
        n = len(ens.table)
        if n == 0:
            raise HpcoreError("BrushEngine needs an ensemble with at least one row")
        self._ens = ens
        self._bins = int(bins)
        names = list(ens.parameters)
        if ens.group is not None and ens.group not in names:
            names.append(ens.group)  # normalization groups must not mix
        self._position = {p: i for i, p in enumerate(names)}
        columns = []
        for name in names:
            column = ens.table[name]
            if not isinstance(column.dtype, pd.CategoricalDtype):
                raise ParameterError(
                    f"parameter {name!r} must be a categorical column of options "
                    f"(as hpcore.load makes); got dtype {column.dtype}"
                )
            codes = column.cat.codes.to_numpy()
            if codes.min() < 0:
                raise ParameterError(
                    f"parameter {name!r} has {int((codes < 0).sum())} row(s) "
                    "without an option; every row needs one of "
                    f"{fmt_list(column.cat.categories)}"
                )
            columns.append(codes)
        self._options = {p: tuple(ens.table[p].cat.categories) for p in names}
        radices = [len(self._options[p]) for p in names]

        # 1. combinations; 2. sort by (combination, rank of the value)
        combo, n_comb = _combination_ids(columns, radices)
        offsets = np.zeros(n_comb + 1, dtype=np.int64)
        np.cumsum(np.bincount(combo, minlength=n_comb), out=offsets[1:])
        values = ens.table[NORMALIZED].to_numpy(dtype=np.float64)
        by_value = np.argsort(values)
        ordered = values[by_value]
        new = np.empty(n, dtype=bool)
        new[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        distinct = ordered[new]
        del ordered
        key = combo[by_value]  # in value order: combination * D + rank
        del combo
        key *= len(distinct)
        rank = np.cumsum(new)
        del new
        rank -= 1
        key += rank
        del rank
        by_key = np.argsort(key)
        key_sorted = key[by_key]
        del key
        order = by_value[by_key]
        del by_value, by_key
        first_rows = order[offsets[:-1]]
        self._codes = [c[first_rows] for c in columns]
        self._order = order.astype(np.int32 if n < 2**31 else np.int64)
        del order
        self._key_sorted = key_sorted
        self._distinct = distinct
        self._offsets = offsets
        self._n_comb = n_comb
        self._needle_base = np.arange(n_comb, dtype=np.int64) * len(distinct)
        self._shift = np.arange(n_comb, dtype=np.int64)
        self._fences, self._fence_pos = _fences(key_sorted, offsets, len(distinct))
        self._rank_sorted: np.ndarray | None = None
        if len(self._fences) - 1 < _ROWS_MODE_FENCES:
            rank = key_sorted - np.repeat(self._needle_base, np.diff(offsets))
            self._rank_sorted = rank.astype(
                np.int32 if len(distinct) < 2**31 else np.int64
            )
            del rank

        # 3. exact prefix sums inside each combination
        self._prefix, self._lo = _segmented_prefix(key_sorted, distinct, offsets)

        # 4. histogram runs per (combination, bin); the unfiltered histogram
        groups = ens.group_labels()
        group_names = tuple(str(c) for c in groups.cat.categories)
        group_of = (
            np.zeros(n_comb, dtype=np.int64)
            if ens.group is None
            else self._codes[self._position[ens.group]].astype(np.int64)
        )
        self._hist_combo, self._hist_cell, self._hist_count = _histogram_runs(
            key_sorted, distinct, edges, group_of
        )
        self._hist_all = np.bincount(
            self._hist_cell,
            weights=self._hist_count,
            minlength=len(group_names) * self._bins,
        ).astype(np.int64)
        self._hist_template = histogram_frame(
            np.zeros((len(group_names), self._bins), dtype=np.int64),
            group_names,
            edges,
        )

        # pair counts: the option grid when small, else combination -> cell maps
        params = list(ens.parameters)
        pairs = list(parameter_pairs(ens))
        self._pair_grid = _pair_grid(
            [self._codes[self._position[p]].astype(np.int64) for p in params],
            [len(self._options[p]) for p in params],
        )
        self._pair_blocks = self._blocks(
            [
                (
                    (self._position[a], len(self._options[b])),
                    (self._position[b], 1),
                )
                for a, b in pairs
            ],
            [len(self._options[a]) * len(self._options[b]) for a, b in pairs],
            stack=self._pair_grid is None,
        )
        self._pairs_template = pairs_frame(
            ens,
            {
                (a, b): np.zeros(
                    (len(self._options[a]), len(self._options[b])), dtype=np.int64
                )
                for a, b in pairs
            },
        )
        self._trellis_cache: dict[tuple[str, str | None], _TrellisLayout] = {}
        self._lock = threading.Lock()  # guards the cache; all else is read-only
        for array in (
            self._key_sorted,
            self._distinct,
            self._offsets,
            self._order,
            self._prefix,
            self._lo,
            *self._codes,
        ):
            array.setflags(write=False)

    # ------------------------------------------------------------ properties

    @property
    def ensemble(self) -> Ensemble:
        """The ensemble the engine answers for."""
        return self._ens

    @property
    def bins(self) -> int:
        """Number of bins of the normalized histogram."""
        return self._bins

    @property
    def n_combinations(self) -> int:
        """Number of distinct combinations of parameter options in the table."""
        return self._n_comb

    @property
    def nbytes(self) -> int:
        """Bytes held in the engine's arrays (the ensemble itself not included)."""
        arrays = [
            self._key_sorted,
            self._distinct,
            self._offsets,
            self._order,
            self._prefix,
            self._lo,
            self._needle_base,
            self._shift,
            self._fences,
            self._fence_pos,
            self._hist_combo,
            self._hist_cell,
            self._hist_count,
            *self._codes,
        ]
        grid = self._pair_grid
        if grid is not None:
            arrays.append(grid.cell)
        if self._rank_sorted is not None:
            arrays.append(self._rank_sorted)
        with self._lock:
            layouts = list(self._trellis_cache.values())
        blocks = [self._pair_blocks] + [layout.blocks for layout in layouts]
        arrays += [b.index for b in blocks if b.index is not None]
        return int(sum(a.nbytes for a in arrays))

    def __len__(self) -> int:
        return len(self._ens.table)

    def __repr__(self) -> str:
        return (
            f"BrushEngine(rows={len(self)}, combinations={self._n_comb}, "
            f"bins={self._bins}, parameters={list(self._ens.parameters)!r})"
        )

    # --------------------------------------------------------------- queries

    def query(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
        primary: str | None = None,
        secondary: str | None = None,
    ) -> BrushResult:
        """Histogram, pair counts and trellis of one brush (no row mask).

        Parameters
        ----------
        range : (float, float), default=(0.0, 1.0)
            Closed interval ``[lo, hi]`` within [0, 1] on the normalized metric.
        where : mapping of str to options, optional
            Parameter -> allowed options, as in :func:`hpcore.select`.
        primary, secondary : str, optional
            Trellis parameters, as in :func:`hpcore.trellis` with
            ``value="normalized"``; no trellis without ``primary``.

        Returns
        -------
        BrushResult
            ``count``, ``pair_counts`` and ``trellis`` of
            ``hpcore.select(ens, range=range, where=where)``; ``histogram`` of
            the rows passing ``where`` over all of [0, 1] (not cut by the range).

        Raises
        ------
        SelectionError
            ``range`` is not a pair within [0, 1] with ``lo <= hi``.
        ParameterError, OptionError
            Unknown parameter or option in ``where``; bad ``primary`` or
            ``secondary`` (as :func:`hpcore.trellis`), or ``secondary``
            without ``primary``.
        """
        lo, hi = check_interval("range", range)
        resolved = resolve_where(self._ens, where)
        if primary is None:
            if secondary is not None:
                raise ParameterError(
                    f"secondary {secondary!r} needs a primary parameter; "
                    "pass primary= as well"
                )
        else:
            check_trellis_args(self._ens, primary, secondary, NORMALIZED)
        ok = self._where_ok(resolved)
        start, end = self._bounds(lo, hi)
        counts = end - start
        if ok is not None:
            counts *= ok
        # with many combinations, only those holding selected rows do any work
        take = np.flatnonzero(counts) if self._n_comb > _TAKE_MIN else None
        weights = (counts if take is None else counts[take]).astype(np.float64)

        if self._pair_grid is not None:
            pair_cells = self._pair_grid.counts(weights, take)
        else:
            (pair_cells,) = self._aggregate(self._pair_blocks, [weights], take)
        pair_table = _with_columns(
            self._pairs_template, count=pair_cells.astype(np.int64)
        )
        if ok is None:
            hist = self._hist_all
        else:
            hist = np.bincount(
                self._hist_cell,
                weights=self._hist_count * ok[self._hist_combo],
                minlength=len(self._hist_all),
            ).astype(np.int64)
        hist_table = _with_columns(self._hist_template, count=hist)

        trellis_table = None
        if primary is not None:
            layout = self._trellis_layout(primary, secondary)
            sums = self._segment_sums(start, end, take)
            if ok is not None and take is None:
                sums *= ok
            cell_weights, cell_sums = self._aggregate(
                layout.blocks, [weights, sums], take
            )
            cell_counts = cell_weights.astype(np.int64)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.where(  # as trellis_frame
                    cell_counts > 0, cell_sums / np.maximum(cell_counts, 1), np.nan
                )
            trellis_table = _with_columns(
                layout.template, mean=means.astype(np.float64), count=cell_counts
            )
        return BrushResult(
            count=int(counts.sum()),
            histogram=hist_table,
            pair_counts=pair_table,
            trellis=trellis_table,
            range=(lo, hi),
            where=resolved,
            primary=primary,
            secondary=secondary,
        )

    def indices(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
    ) -> np.ndarray:
        """Ascending row positions of a brush's selection (for brushing and linking).

        Equals ``np.flatnonzero(hpcore.select(ens, range=range, where=where).mask)``
        and costs the number of combinations plus ``k log k`` for ``k``
        selected rows. Raises as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        return self._indices(lo, hi, resolve_where(self._ens, where))

    def select(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
    ) -> Selection:
        """The :class:`~hpcore.Selection` of a brush, equal to :func:`hpcore.select`.

        Builds the row mask, so it costs ``O(rows)``; :meth:`query` needs no mask.
        Raises as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        resolved = resolve_where(self._ens, where)
        rows = self._indices(lo, hi, resolved)
        mask = np.zeros(len(self._ens.table), dtype=bool)
        mask[rows] = True
        return Selection(mask=mask, count=len(rows), range=(lo, hi), where=resolved)

    # -------------------------------------------------------------- internals

    def _blocks(
        self,
        terms: list[tuple[tuple[int, int], ...]],
        sizes: list[int],
        *,
        stack: bool = True,
    ) -> _Blocks:
        offsets = tuple(int(o) for o in np.cumsum([0, *sizes])[:-1])
        blocks = _Blocks(offsets, tuple(sizes), tuple(terms), index=None)
        budget = max(_STACK_MIN, _STACK_PER_ROW * len(self._ens.table))
        if stack and terms and len(terms) * self._n_comb <= budget:
            index = np.concatenate(
                [
                    self._block_cells(blocks, int(i)) + offsets[int(i)]
                    for i in np.arange(len(terms))
                ]
            )
            index.setflags(write=False)
            blocks = _Blocks(offsets, tuple(sizes), tuple(terms), index=index)
        return blocks

    def _block_cells(
        self, blocks: _Blocks, i: int, take: np.ndarray | None = None
    ) -> np.ndarray:
        """Cell (within block ``i``) of every combination, or of those in ``take``."""
        n = self._n_comb if take is None else len(take)
        cells = np.zeros(n, dtype=np.int64)
        for p, m in blocks.terms[i]:
            codes = self._codes[p] if take is None else self._codes[p][take]
            cells += codes.astype(np.int64) * m
        return cells

    def _aggregate(
        self, blocks: _Blocks, weights: list[np.ndarray], take: np.ndarray | None
    ) -> list[np.ndarray]:
        """Sum per-combination weights into the cells of every block.

        ``weights`` hold one value per combination, or per combination in
        ``take`` when given.
        """
        n_blocks = len(blocks.terms)
        if blocks.index is not None:
            index = blocks.index
            if take is not None:
                index = index.reshape(n_blocks, self._n_comb)[:, take].reshape(-1)
            return [
                np.bincount(index, weights=np.tile(w, n_blocks), minlength=blocks.size)
                for w in weights
            ]
        parts: list[list[np.ndarray]] = [[] for _ in weights]
        for i in np.arange(n_blocks):
            cells = self._block_cells(blocks, int(i), take)
            for part, w in zip(parts, weights, strict=True):
                size = blocks.sizes[int(i)]
                part.append(np.bincount(cells, weights=w, minlength=size))
        return [
            np.concatenate(part) if part else np.zeros(0, dtype=np.float64)
            for part in parts
        ]

    def _trellis_layout(self, primary: str, secondary: str | None) -> _TrellisLayout:
        with self._lock:
            cached = self._trellis_cache.get((primary, secondary))
        if cached is not None:
            return cached
        kp = len(self._options[primary])
        ks = len(self._options[secondary]) if secondary is not None else 1
        panels = trellis_panels(self._ens, primary, secondary)
        terms = []
        for p in panels:
            term = [(self._position[p], kp * ks), (self._position[primary], ks)]
            if secondary is not None:
                term.append((self._position[secondary], 1))
            terms.append(tuple(term))
        sizes = [len(self._options[p]) * kp * ks for p in panels]
        zeros = {
            p: np.zeros(k, dtype=np.int64) for p, k in zip(panels, sizes, strict=True)
        }
        layout = _TrellisLayout(
            blocks=self._blocks(terms, sizes),
            template=trellis_frame(self._ens, primary, secondary, zeros, zeros),
        )
        with self._lock:
            cache = self._trellis_cache
            cache[(primary, secondary)] = layout
            while len(cache) > 1 and (
                len(cache) > _TRELLIS_CACHE
                or sum(_nbytes(c.blocks.index) for c in cache.values())
                > _TRELLIS_CACHE_BYTES
            ):
                cache.pop(next(iter(cache)))  # the oldest
        return layout

    def _where_ok(self, where: Mapping[str, tuple[str, ...]]) -> np.ndarray | None:
        """Per-combination boolean of a resolved ``where`` (None: no filter)."""
        if not where:
            return None
        ok = np.ones(self._n_comb, dtype=bool)
        for name, labels in where.items():
            options = self._options[name]
            allowed = np.zeros(len(options), dtype=bool)
            allowed[[options.index(o) for o in labels]] = True
            ok &= allowed[self._codes[self._position[name]]]
        return ok

    def _bounds(self, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        """First and one-past-last sorted position in ``[lo, hi]``, per combination."""
        rank_lo = int(np.searchsorted(self._distinct, lo, side="left"))
        rank_hi = int(np.searchsorted(self._distinct, hi, side="right"))
        if self._rank_sorted is not None:
            first = self._offsets[:-1]
            ranks, offsets = self._rank_sorted, self._offsets
            start = first + _segment_counts(ranks < rank_lo, offsets)
            return start, first + _segment_counts(ranks < rank_hi, offsets)
        fence = np.searchsorted(self._fences, [rank_lo, rank_hi], side="right") - 1
        fence = np.minimum(fence, len(self._fences) - 2)
        base = self._needle_base
        pos = _lower_bound(
            self._key_sorted,
            np.concatenate([base + rank_lo, base + rank_hi]),
            self._fence_pos[fence].reshape(-1),
            self._fence_pos[fence + 1].reshape(-1),
        )
        return pos[: self._n_comb], pos[self._n_comb :]

    def _segment_sums(
        self, start: np.ndarray, end: np.ndarray, take: np.ndarray | None
    ) -> np.ndarray:
        """Sum of the normalized values between the bounds, per combination.

        Of every combination, or of those in ``take`` when given.
        """
        if take is None:
            s = start + self._shift
            e = end + self._shift
        else:
            s = start[take] + take
            e = end[take] + take
        sums: np.ndarray = (self._prefix[e] - self._prefix[s]) + (
            self._lo[e] - self._lo[s]
        )
        return sums

    def _indices(
        self, lo: float, hi: float, where: Mapping[str, tuple[str, ...]]
    ) -> np.ndarray:
        start, end = self._bounds(lo, hi)
        counts = end - start
        ok = self._where_ok(where)
        if ok is not None:
            counts *= ok
        take = np.flatnonzero(counts)
        n = counts[take]
        jump = np.repeat(start[take] - (np.cumsum(n) - n), n)
        rows = self._order[jump + np.arange(int(n.sum()))]
        return np.sort(rows).astype(np.int64)
