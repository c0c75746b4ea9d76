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

Besides :meth:`BrushEngine.query`, the same per-combination counts give
:meth:`~BrushEngine.count`, :meth:`~BrushEngine.option_counts` (the counts
behind :func:`hpcore.analysis.stats.parameter_importance`) and, with prefix sums of
the squared values built on first use, :meth:`~BrushEngine.trellis_moments`
(the spreads behind the trellis' confidence intervals). A
:class:`~hpcore.Selection` made by :meth:`~BrushEngine.select` is remembered,
so :meth:`~BrushEngine.answers` trusts it without reading its row mask; any
other one is checked row by row. :meth:`~BrushEngine.reordered` serves the
same rows with the parameters in another order.

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
about 1e-16). The means are not the plain function's to the bit: the two add
in different orders.

Spreads (sum of squared deviations from the mean, ``M2``): ``S2 - S1**2 / n``
in float64 cancels when the spread is tiny next to the mean: with values
equal up to ``s`` relative, about ``(2**-53 / s)**2`` of ``M2`` is rounding
(all of it below ``s = 1e-8``), and rounding can even make it negative. So
:meth:`~BrushEngine.trellis_moments` takes every combination's mean as a
double-double from the prefix sums and then its ``M2`` either as the sum of
its selected rows' squared deviations from that mean (two-pass, ``O(selected
rows)``: the first call of an engine, and brushes of few rows) or, once that
would cost more than building them, from double-double prefix sums of the
squares (each square exact by Dekker's TwoProduct; ``S2 - S1 * mean``
subtracted in double-double, ``O(combinations)`` per call). The ``M2`` of the
combinations (non-negative) are then merged per cell around the cell's mean
(Chan et al.), where no term cancels. Measured on adversarial tables
(thousands of rows equal up to 1e-15 .. 1e-3 of their mean), both ways stay
within ``1e-13 * M2 + 1e-29 * n * sum(v**2)`` of the exact value; the floor
(prefix sums only) comes from the rounding of the double-double tails and is
of the order of the plain two-pass sum's own (``n`` times the square of its
mean's rounding error). Cells whose values are all equal get exactly 0.

Cost
----
Memory: about 40 bytes per row (sorted keys, two prefix sums, row order,
distinct values, fences) plus a little per combination, and 16 more once
:meth:`~BrushEngine.trellis_moments` builds the squares' prefix sums; the build
peaks near twice the table's own size. Queries follow ``C``: the paper's NWS
parameters give at most 9,600 combinations however many rows there are (about
1 ms per brush at 10 million rows; ``benchmarks/brush.py``). When nearly every
row is its own combination (all twelve NWS columns: 814 thousand combinations
in a million rows) the engine stays exact and about twice as fast as the numpy
re-scan of the plain functions, but needs up to about 100 bytes per row.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..data.errors import HpcoreError, ParameterError
from ..data.model import NORMALIZED, Ensemble
from ..data.validation import check_interval, fmt_list
from .histogram import bin_index, histogram_edges, histogram_frame
from .pairs import pairs_frame, parameter_pairs
from .selection import Selection, Where, require_normalized, resolve_where
from .stats import option_frame
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
#: ``trellis_moments`` adds up the squared deviations of the selected rows
#: themselves (two-pass, ``O(selected rows)``) in its first this-many calls
#: per engine (a report makes one), and afterwards while the combinations of
#: more than one selected row hold at most 1/``_DIRECT_SPREAD_SHARE`` of the
#: rows; otherwise it builds the squares' prefix sums once (``O(rows)``, 16
#: bytes per row) and answers in ``O(combinations)`` from then on.
_DIRECT_SPREAD_CALLS = 1
_DIRECT_SPREAD_SHARE = 4
#: Veltkamp's splitting constant ``2**27 + 1`` (see ``_split``).
_SPLITTER = 134217729.0
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
    option_counts : pandas.DataFrame
        ``hpcore.analysis.stats.option_counts(ens, sel)``: selected rows per option of
        every parameter (the margins of the pair counts).
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
    option_counts: pd.DataFrame
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
class _Brush:
    """A validated brush, per combination.

    ``start``, ``end``: its sorted positions in the range; ``counts``: its
    selected rows (0 where ``where`` fails); ``ok``: the ``where`` test (None
    without a filter); ``take``: the combinations that do work (None: all);
    ``weights``: ``counts`` of those as float64.
    """

    start: np.ndarray
    end: np.ndarray
    counts: np.ndarray
    ok: np.ndarray | None
    take: np.ndarray | None
    weights: np.ndarray


class _Squares:
    """The squared values' prefix sums (built on demand) and how often spreads
    were asked for; shared by an engine and its ``reordered`` copies."""

    __slots__ = ("calls", "prefix")

    def __init__(self) -> None:
        self.calls = 0
        self.prefix: tuple[np.ndarray, np.ndarray] | None = None


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


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's TwoSum: ``s = fl(a + b)`` and the exact error ``e = a + b - s``."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's TwoProduct: ``p = fl(a * b)`` and the exact error ``e = a * b - p``.

    Exact for ``|a|, |b|`` below about 1e150 whose product does not underflow
    (normalized values lie in [0, 1]; a product below 1e-290 keeps an error of
    at most about 1e-300, far under any tolerance here).
    """
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veltkamp's split of ``a`` into two halves of 26 significant bits each."""
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def _two_sum_prefix(
    v: np.ndarray,
    carry_hi: np.ndarray,
    carry_lo: np.ndarray,
    tail: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive double-double prefix sums along the rows of ``v`` (plus ``tail``).

    Row ``i`` continues from the prefix ``carry_hi[i] + carry_lo[i]``. ``hi``
    is the running float64 sum; ``lo`` the running sum of the exact rounding
    error of each of its additions (Knuth's TwoSum) and of ``tail``, the
    low-order parts of the terms when they are double-doubles ``v + tail``.
    """
    hi = np.cumsum(np.concatenate([carry_hi[:, None], v], axis=1), axis=1)
    prev, hi = hi[:, :-1], hi[:, 1:]
    x, y = _two_sum(prev, v)  # x + y == prev + v exactly
    err = (x - hi) + y  # x == hi: cumsum adds in order; kept exact if not
    if tail is not None:
        err = err + tail
    lo = np.cumsum(np.concatenate([carry_lo[:, None], err], axis=1), axis=1)
    return hi, lo[:, 1:]


def _segmented_prefix(
    key_sorted: np.ndarray,
    distinct: np.ndarray,
    offsets: np.ndarray,
    *,
    square: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exclusive prefix sums of the sorted values inside every combination.

    Combination ``c``'s ``n_c + 1`` prefix sums sit at ``offsets[c] + c`` to
    ``offsets[c + 1] + c``, the first being 0; each is the double-double
    ``hi + lo`` of :func:`_two_sum_prefix`. Combinations of similar length are
    done together as the rows of a zero-padded block; one longer than a block
    is done alone, piece by piece. With ``square``, the prefix sums of the
    squared values (each square exact as a double-double, :func:`_two_product`).
    """

    def prefix(
        v: np.ndarray, carry_hi: np.ndarray, carry_lo: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if not square:
            return _two_sum_prefix(v, carry_hi, carry_lo)
        sq, tail = _two_product(v, v)
        return _two_sum_prefix(sq, carry_hi, carry_lo, tail)

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
                    s, err = prefix(v[None, :], *carry)
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
            s, err = prefix(v, zeros, zeros)
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


def _dd_difference(
    hi: np.ndarray, lo: np.ndarray, s: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(hi[e] + lo[e]) - (hi[s] + lo[s])`` as a double-double ``(h, l)``."""
    d, err = _two_sum(hi[e], -hi[s])
    return _two_sum(d, err + (lo[e] - lo[s]))


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
    >>> from hpcore.analysis.engine import BrushEngine
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
        "_made",
        "_margins",
        "_n_comb",
        "_needle_base",
        "_offsets",
        "_option_template",
        "_options",
        "_order",
        "_pair_blocks",
        "_pair_grid",
        "_pairs_template",
        "_position",
        "_prefix",
        "_rank_sorted",
        "_shift",
        "_squares",
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

        # squared values' prefix sums, built on the first trellis_moments call
        # and shared with reordered() copies; selections this engine made
        self._squares = _Squares()
        self._made: weakref.WeakSet[Selection] = weakref.WeakSet()
        # guards the caches (shared with reordered() copies); all else is read-only
        self._lock = threading.Lock()
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
        self._init_parameter_tables()

    def _init_parameter_tables(self) -> None:
        """The tables that follow the parameter order of ``self._ens``.

        Pair counts (the option grid when small, else combination -> cell
        maps), the pair and option-count templates, an empty trellis cache.
        """
        ens = self._ens
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
        self._option_template = option_frame(
            ens, {p: np.zeros(len(self._options[p]), dtype=np.int64) for p in params}
        )
        # option counts as margins of the pair counts: each parameter's first
        # block (row sums when it is the block's first parameter)
        margins: dict[str, tuple[int, int, int, int]] = {}
        first = 0
        for a, b in pairs:
            ka, kb = len(self._options[a]), len(self._options[b])
            margins.setdefault(a, (first, ka, kb, 1))
            margins.setdefault(b, (first, ka, kb, 0))
            first += ka * kb
        self._margins = [margins[p] for p in params] if pairs else None
        self._trellis_cache: dict[tuple[str, str | None], _TrellisLayout] = {}

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
        with self._lock:
            if self._squares.prefix is not None:
                arrays += list(self._squares.prefix)
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
        brush = self._brush(lo, hi, resolved)
        counts, ok, take = brush.counts, brush.ok, brush.take
        weights = brush.weights

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
            cell_counts, means = self._cell_means(layout, brush)
            trellis_table = _with_columns(
                layout.template, mean=means, count=cell_counts
            )
        if self._margins is None:  # fewer than two parameters: no pairs
            option_cells = self._option_cells(brush)
        else:
            option_cells = np.concatenate(
                [
                    pair_cells[first : first + ka * kb].reshape(ka, kb).sum(axis=axis)
                    for first, ka, kb, axis in self._margins
                ]
            )
        option_table = _with_columns(
            self._option_template, count=option_cells.astype(np.int64)
        )
        return BrushResult(
            count=int(counts.sum()),
            histogram=hist_table,
            pair_counts=pair_table,
            option_counts=option_table,
            trellis=trellis_table,
            range=(lo, hi),
            where=resolved,
            primary=primary,
            secondary=secondary,
        )

    def count(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
    ) -> int:
        """Number of rows a brush selects (``query(...).count``, without tables).

        Costs the number of combinations. Raises as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        return int(self._brush(lo, hi, resolve_where(self._ens, where)).counts.sum())

    def option_counts(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
    ) -> pd.DataFrame:
        """Selected rows per option of every parameter (no row mask).

        Equals :func:`hpcore.analysis.stats.option_counts` of ``hpcore.select(ens,
        range=range, where=where)``: columns ``parameter, option`` (str) and
        ``count`` (int64), the parameters in order, each option in option
        order. Costs the number of combinations times the parameters. Raises
        as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        brush = self._brush(lo, hi, resolve_where(self._ens, where))
        values = self._option_cells(brush)
        return _with_columns(self._option_template, count=values.astype(np.int64))

    def trellis_moments(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
        primary: str,
        secondary: str | None = None,
    ) -> pd.DataFrame:
        """The trellis of a brush with every cell's sum of squared deviations.

        The frame of ``query(...).trellis`` (the same means, bit for bit) plus
        ``sum_sq_dev`` (float64): per cell ``sum((v - mean) ** 2)`` over its
        selected normalized values, 0 for cells with fewer than two rows. With
        :func:`hpcore.analysis.stats.trellis_ci_from_moments` it gives the confidence
        intervals of :func:`hpcore.analysis.stats.trellis_with_ci`.

        Every combination's ``M2_c`` is its selected rows' squared deviations
        from its double-double mean, added up (the first call, which costs
        ``O(selected rows)``, and brushes of few rows), or comes from
        double-double prefix sums of ``v`` and ``v**2`` (built on the first
        call that needs them: ``O(rows)``, 16 bytes per row, kept; then
        ``O(combinations)``), where ``S2 - S1 * mean`` keeps about 106 bits and
        does not cancel when the spread is tiny next to the mean. The
        combinations of a cell are merged as ``sum(M2_c) + sum(n_c * d_c**2) -
        (sum(n_c * d_c))**2 / n`` with ``d_c`` the combination's mean minus the
        cell's (Chan et al.), every term but the last one non-negative; the
        result is about as close to the exact value as the plain two-pass sum
        (module docstring, "Exactness"). Raises as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        resolved = resolve_where(self._ens, where)
        check_trellis_args(self._ens, primary, secondary, NORMALIZED)
        brush = self._brush(lo, hi, resolved)
        layout = self._trellis_layout(primary, secondary)
        take = np.flatnonzero(brush.counts)
        count, mean, spread = self._cell_moments(layout.blocks, brush, take)
        return _with_columns(layout.template, mean=mean, count=count, sum_sq_dev=spread)

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
        rows = self._rows(lo, hi, resolve_where(self._ens, where))
        return np.sort(rows).astype(np.int64)

    def select(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
    ) -> Selection:
        """The :class:`~hpcore.Selection` of a brush, equal to :func:`hpcore.select`.

        Builds the row mask, so it costs ``O(rows)``; :meth:`query` needs no mask.
        The engine remembers the selections it made (weakly): :meth:`answers`
        trusts them without looking at their rows. Raises as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        resolved = resolve_where(self._ens, where)
        rows = self._rows(lo, hi, resolved)
        mask = np.zeros(len(self._ens.table), dtype=bool)
        mask[rows] = True
        selection = Selection(
            mask=mask, count=len(rows), range=(lo, hi), where=resolved
        )
        with self._lock:
            self._made.add(selection)
        return selection

    def made(self, selection: object) -> bool:
        """True when ``selection`` is one this engine's :meth:`select` returned."""
        if not isinstance(selection, Selection):
            return False
        with self._lock:
            return selection in self._made

    def answers(self, selection: object) -> bool:
        """True when the engine's tables for ``selection`` equal the plain functions'.

        That is when its rows are exactly those of its ``range`` and ``where``
        on this engine's ensemble, so that ``query(range=selection.range,
        where=selection.where)`` describes it. A selection this engine made
        (:meth:`select`, also through a :meth:`reordered` copy) is trusted at
        once, in constant time: a Selection cannot change. Any other one is
        checked row by row (``O(rows)``); a hand-made row mask, a selection of
        another ensemble or one whose ``where`` does not resolve here gives
        False (use the plain functions for it).
        """
        if not isinstance(selection, Selection):
            return False
        if self.made(selection):
            return True
        mask = np.asarray(selection.mask)
        if mask.dtype != np.bool_ or mask.shape != (len(self._ens.table),):
            return False
        try:
            lo, hi = check_interval("range", selection.range)
            resolved = resolve_where(self._ens, selection.where)
        except HpcoreError:
            return False
        rows = self._rows(lo, hi, resolved)
        return len(rows) == int(np.count_nonzero(mask)) and bool(mask[rows].all())

    def reordered(self, parameters: Sequence[str]) -> BrushEngine:
        """The same engine over the parameters in another order.

        For ``ens2 = dataclasses.replace(ens, parameters=parameters)`` (for
        example the report's parameters sorted by importance): pair counts
        and trellis panels follow the new order, as the plain functions on
        ``ens2`` give them. The sorted rows, sums and histogram runs are
        shared, so this costs only the per-combination tables (``O(C P^2)``);
        selections made by either engine are trusted by both.

        Raises
        ------
        ParameterError
            ``parameters`` is not an ordering of the ensemble's parameters.
        """
        order = tuple(parameters)
        if order == self._ens.parameters:
            return self
        if sorted(order) != sorted(self._ens.parameters):
            raise ParameterError(
                "reordered: expected an ordering of the parameters "
                f"{fmt_list(self._ens.parameters)}; got {fmt_list(order)}"
            )
        other = object.__new__(BrushEngine)
        for name in BrushEngine.__slots__:
            object.__setattr__(other, name, getattr(self, name))
        other._ens = dataclasses.replace(self._ens, parameters=order)
        other._init_parameter_tables()
        return other

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

    def _brush(
        self, lo: float, hi: float, where: Mapping[str, tuple[str, ...]]
    ) -> _Brush:
        """Per-combination bounds and counts of a validated brush."""
        ok = self._where_ok(where)
        start, end = self._bounds(lo, hi)
        counts = end - start
        if ok is not None:
            counts *= ok
        # with many combinations, only those holding selected rows do any work
        take = np.flatnonzero(counts) if self._n_comb > _TAKE_MIN else None
        weights = (counts if take is None else counts[take]).astype(np.float64)
        return _Brush(start, end, counts, ok, take, weights)

    def _option_cells(self, brush: _Brush) -> np.ndarray:
        """Selected rows per option of every parameter (float64), by bincount."""
        parts: list[np.ndarray] = [np.zeros(0)]
        for name in self._ens.parameters:
            codes = self._codes[self._position[name]]
            if brush.take is not None:
                codes = codes[brush.take]
            size = len(self._options[name])
            parts.append(np.bincount(codes, weights=brush.weights, minlength=size))
        return np.concatenate(parts)

    def _cell_means(
        self, layout: _TrellisLayout, brush: _Brush
    ) -> tuple[np.ndarray, np.ndarray]:
        """Count (int64) and mean (float64, NaN when empty) of every trellis cell."""
        sums = self._segment_sums(brush.start, brush.end, brush.take)
        if brush.ok is not None and brush.take is None:
            sums *= brush.ok
        cell_weights, cell_sums = self._aggregate(
            layout.blocks, [brush.weights, sums], brush.take
        )
        cell_counts = cell_weights.astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(  # as trellis_frame
                cell_counts > 0, cell_sums / np.maximum(cell_counts, 1), np.nan
            )
        return cell_counts, means.astype(np.float64)

    def _square_prefix(self) -> tuple[np.ndarray, np.ndarray]:
        """Double-double prefix sums of the squared values (built on first use)."""
        with self._lock:
            if self._squares.prefix is not None:
                return self._squares.prefix
        hi, lo = _segmented_prefix(
            self._key_sorted, self._distinct, self._offsets, square=True
        )
        hi.setflags(write=False)
        lo.setflags(write=False)
        with self._lock:
            if self._squares.prefix is None:
                self._squares.prefix = (hi, lo)
            return self._squares.prefix

    def _cell_moments(
        self, blocks: _Blocks, brush: _Brush, take: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Count, mean and sum of squared deviations of every trellis cell.

        ``take``: the combinations holding selected rows, ascending. The
        means are those of :meth:`_cell_means` to the bit (the same terms
        added in the same order, zeros left out); see :meth:`trellis_moments`
        for the spreads. One block (trellis panel) at a time, so the work and
        the scratch memory follow the selected combinations.
        """
        if not len(take):  # an empty brush
            size = blocks.size
            empty = np.zeros(size, dtype=np.float64)
            return np.zeros(size, dtype=np.int64), np.full(size, np.nan), empty
        start, end = brush.start[take], brush.end[take]
        n = brush.counts[take].astype(np.float64)
        sums = self._segment_sums(brush.start, brush.end, take)
        base = take * len(self._distinct)
        # the combination's mean as a double-double q + q_lo; one row: its value
        q = self._distinct[self._key_sorted[start] - base]
        q_lo = np.zeros(len(take), dtype=np.float64)
        m2 = np.zeros(len(take), dtype=np.float64)
        many = np.flatnonzero(n >= 2)
        if len(many):
            c = take[many]
            s, e = start[many] + c, end[many] + c  # prefix positions
            k = n[many]
            s1_hi, s1_lo = _dd_difference(self._prefix, self._lo, s, e)
            mean = s1_hi / k
            p, p_err = _two_product(mean, k)
            mean_lo = (((s1_hi - p) - p_err) + s1_lo) / k
            rows = int(k.sum())
            with self._lock:
                squares = self._squares
                direct = squares.prefix is None and (
                    squares.calls < _DIRECT_SPREAD_CALLS
                    or rows * _DIRECT_SPREAD_SHARE <= len(self._order)
                )
                squares.calls += 1
            if direct:
                # few rows: their squared deviations, added up (two-pass)
                size = k.astype(np.int64)
                owner = np.repeat(np.arange(len(many)), size)
                jump = np.repeat(start[many] - (np.cumsum(size) - size), size)
                pos = jump + np.arange(rows)  # sorted positions of the rows
                v = self._distinct[self._key_sorted[pos] - base[many][owner]]
                dev = (v - mean[owner]) - mean_lo[owner]
                spread = np.bincount(owner, dev * dev, len(many))
            else:
                # M2 = S2 - S1 * mean in double-double, then rounded
                sq_hi, sq_lo = self._square_prefix()
                s2_hi, s2_lo = _dd_difference(sq_hi, sq_lo, s, e)
                p, p_err = _two_product(s1_hi, mean)
                cross = p_err + s1_hi * mean_lo + s1_lo * mean
                d_hi, d_err = _two_sum(s2_hi, -p)
                spread = d_hi + ((d_err + s2_lo) - cross)
            # exactly 0 for equal values (sorted: the first equals the last)
            last = self._distinct[self._key_sorted[end[many] - 1] - base[many]]
            equal = last == q[many]
            m2[many] = np.where(equal, 0.0, np.maximum(spread, 0.0))
            q[many] = np.where(equal, q[many], mean)
            q_lo[many] = np.where(equal, 0.0, mean_lo)
        inner = np.flatnonzero(m2)
        counts: list[np.ndarray] = [np.zeros(0)]
        means: list[np.ndarray] = [np.zeros(0)]
        spreads: list[np.ndarray] = [np.zeros(0)]
        for i in np.arange(len(blocks.terms)):
            size = blocks.sizes[int(i)]
            if blocks.index is None:
                cell = self._block_cells(blocks, int(i), take)
            else:
                first = int(i) * self._n_comb
                cell = blocks.index[first + take] - blocks.offsets[int(i)]
            total = np.bincount(cell, n, size)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_i = np.bincount(cell, sums, size) / np.maximum(total, 1)
            mean_i[total == 0] = np.nan
            # merge the combinations of every cell around the cell's mean
            dev = q - mean_i[cell]
            dev += q_lo
            weighted = n * dev
            shift = np.bincount(cell, weighted, size)
            spread_i: np.ndarray = np.bincount(cell, weighted * dev, size)
            spread_i = spread_i - shift * shift / np.maximum(total, 1.0)
            if len(inner):
                spread_i += np.bincount(cell[inner], m2[inner], size)
            counts.append(total)
            means.append(mean_i)
            spreads.append(np.where(total >= 2, np.maximum(spread_i, 0.0), 0.0))
        return (
            np.concatenate(counts).astype(np.int64),
            np.concatenate(means),
            np.concatenate(spreads),
        )

    def _rows(
        self, lo: float, hi: float, where: Mapping[str, tuple[str, ...]]
    ) -> np.ndarray:
        """Row positions of a brush's selection, in no particular order."""
        start, end = self._bounds(lo, hi)
        counts = end - start
        ok = self._where_ok(where)
        if ok is not None:
            counts *= ok
        take = np.flatnonzero(counts)
        n = counts[take]
        jump = np.repeat(start[take] - (np.cumsum(n) - n), n)
        rows: np.ndarray = self._order[jump + np.arange(int(n.sum()))]
        return rows
