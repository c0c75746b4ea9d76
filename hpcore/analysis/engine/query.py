"""The engine's queries: a brush (range + filter + trellis parameters) to tables.

A brush's closed range ``[lo, hi]`` is a run of sorted rows ``p_lo .. p_hi -
1`` (two binary searches). Everything else is read from the tables of
:mod:`hpcore.analysis.engine.index`:

- counts (pair cells, options, the count): the running counts at the step
  boundaries nearest to ``p_lo`` and ``p_hi``, corrected by the rows between
  each end and its boundary (at most ``B / 2`` per end), counted with the
  option bitmaps: the popcounts of all option-pair ANDs over those words.
- the trellis: the steps that lie wholly inside the range from the running
  counts and double-double sums; the rows of the partial steps at both ends
  (fewer than ``B`` per end) aggregated directly (two-pass); the pieces
  merged per cell around the cell's mean (Chan et al.).
- the histogram depends on the filter only and is read as built.

So a range drag costs the same at every table size: a few thousand rows
and a few numpy calls over arrays of one entry per cell.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

from ...data.errors import HpcoreError, ParameterError
from ...data.model import NORMALIZED, Ensemble
from ...data.validation import check_interval, fmt_list
from ..aggregates import with_columns
from ..histogram import histogram_edges, histogram_frame
from ..pairs import pairs_frame, parameter_pairs
from ..selection import Selection, Where, require_normalized, resolve_where
from ..stats import option_frame
from ..trellis import check_trellis_args, trellis_frame, trellis_panels
from .exact import dd_add, dd_div, dd_square_over, dd_sub
from .index import (
    EPS,
    PACK,
    FilterTables,
    RowIndex,
    RowJoints,
    TrellisTables,
    bits_before,
    build_filter,
    build_histogram,
    build_steps,
    build_trellis,
    leaf_sums,
    popcount,
    range_mask,
    unpack_bits,
    where_key,
)

#: Filters (their bitmaps and running pair counts) kept for reuse.
FILTER_CACHE = 8
#: Trellis tables (one per filter and primary/secondary) kept for reuse; each
#: holds about 36 bytes per trellis cell and step.
TRELLIS_CACHE = 2
#: A union of whole steps whose sum of squared deviations is below this
#: share of its running sums' rounding (the running sum of squares, and the
#: running sum times twice the union's mean) is within rounding of 0 (see
#: :func:`trellis_range`).
UNION_FLOOR = 2.0**-100
#: Partial steps (a brush's ends) whose counts and trellis sums are kept:
#: a drag moves one end, and the other end's partial step is the one
#: before.
EDGE_CACHE = 8


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
        the normalized metric, counts exact and means within 1e-12 relative
        (summed in double-double, so often closer to the exact mean than the
        plain function's); None when no primary was given.
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


T = TypeVar("T")


class _Kept(Generic[T]):
    """The last ``size`` values by key, each built on first use (kept and
    used in least-recently-used order; thread-safe).

    A value is a deterministic function of its key: it is built outside the
    lock, and the first built is the one kept and returned.
    """

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._kept: OrderedDict[object, T] = OrderedDict()

    def get(self, key: object, build: Callable[[], T]) -> T:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        value = build()
        with self._lock:
            value = self._kept.setdefault(key, value)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return value

    def values(self) -> list[T]:
        with self._lock:
            return list(self._kept.values())


class _Store:
    """What an engine and its :meth:`~BrushEngine.reordered` copies share:
    the filter and trellis tables built so far, the selections made."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.filters: _Kept[FilterTables] = _Kept(FILTER_CACHE)
        self.trellis: _Kept[TrellisTables] = _Kept(TRELLIS_CACHE)
        self.made: weakref.WeakSet[Selection] = weakref.WeakSet()
        self.combinations: int | None = None
        #: the last brush's trellis moments (a query and its trellis_moments
        #: ask for the same brush), keyed by tables and sorted positions
        self.last: tuple[object, _Moments] | None = None
        #: the last partial steps' results (:func:`_edge_counts`,
        #: :func:`_edge_moments`), by the tables and rows they came from
        self.edges: _Kept[tuple[np.ndarray, ...]] = _Kept(EDGE_CACHE)


@dataclass(frozen=True, eq=False)
class _Order:
    """The output layout of one parameter order: where each output entry is
    in the index's (build) order, and the empty frames to fill."""

    pair_cells: np.ndarray
    option_cells: np.ndarray
    pairs_template: pd.DataFrame
    option_template: pd.DataFrame
    trellis: dict[tuple[str, str | None], tuple[pd.DataFrame, np.ndarray]]


def _nearest(index: RowIndex, p: int) -> tuple[int, int, int, int]:
    """The step boundary nearest to sorted position ``p`` and the rows between.

    Returns ``(s, sign, start, stop)``: counts up to ``p`` are the running
    counts at boundary ``s`` plus ``sign`` times those of rows ``start ..
    stop - 1``.
    """
    below = min(p // index.step, index.n_steps)
    above = min(below + 1, index.n_steps)
    s = below if p - index.pos[below] <= index.pos[above] - p else above
    b = int(index.pos[s])
    return (s, 1, b, p) if p >= b else (s, -1, p, b)


def _edge_counts(
    index: RowIndex, ft: FilterTables, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pair-cell and option counts of the filtered rows ``start .. stop - 1``.

    The ANDs of the few words those rows span for the option pairs of the
    pair cells (their rows and columns of the co-occurrence matrix of
    every option with every option), popcounted.
    """
    w0, mask = range_mask(start, stop)
    if stop <= start or not len(mask):
        return np.zeros(index.n_pair_cells, np.int64), np.zeros(
            index.n_options, np.int64
        )
    w1 = w0 + len(mask)
    f = ft.bits[w0:w1] & mask
    x = index.bitmaps[: index.n_options, w0:w1] & f
    options = popcount(x).sum(axis=1, dtype=np.int64)
    if not index.n_pair_cells:
        return np.zeros(0, np.int64), options
    both = x[index.pair_rows]
    both &= x[index.pair_cols]
    pairs: np.ndarray = np.einsum("ij->i", popcount(both), dtype=np.int64)
    return pairs, options


def _edge(
    edges: _Kept[tuple[np.ndarray, ...]] | None,
    key: object,
    compute: Callable[[], tuple[np.ndarray, ...]],
) -> tuple[np.ndarray, ...]:
    """``compute()``, or what ``edges`` kept of it under ``key`` (read-only:
    the callers only read a partial step's results)."""
    if edges is None:
        return compute()

    def frozen() -> tuple[np.ndarray, ...]:
        value = compute()
        for array in value:
            array.setflags(write=False)
        return value

    return edges.get(key, frozen)


def range_counts(
    index: RowIndex,
    ft: FilterTables,
    p_lo: int,
    p_hi: int,
    edges: _Kept[tuple[np.ndarray, ...]] | None = None,
) -> tuple[int, np.ndarray, np.ndarray]:
    """Count, pair-cell counts and option counts of sorted rows ``p_lo .. p_hi - 1``.

    In the index's parameter order; exact integers. ``edges`` keeps the
    partial steps' counts for the next brushes.
    """
    assert ft.pair_cum is not None and ft.option_cum is not None
    before = bits_before(ft.bits, ft.prefix, np.array([p_lo, p_hi]))
    count = int(before[1] - before[0])
    pairs = np.zeros(index.n_pair_cells, dtype=np.int64)
    options = np.zeros(index.n_options, dtype=np.int64)
    for p, sign in ((p_hi, 1), (p_lo, -1)):
        s, side, start, stop = _nearest(index, p)
        edge_pairs, edge_options = _edge(
            edges,
            ("counts", ft.key, start, stop),
            functools.partial(_edge_counts, index, ft, start, stop),
        )
        pairs += sign * (ft.pair_cum[s].astype(np.int64) + side * edge_pairs)
        options += sign * (ft.option_cum[s, : index.n_options] + side * edge_options)
    return count, pairs, options


@dataclass(frozen=True, eq=False)
class _Moments:
    """Per trellis cell: count, mean (double-double) and sum of squared deviations."""

    count: np.ndarray
    mean_hi: np.ndarray
    mean_lo: np.ndarray
    spread: np.ndarray


def _edge_moments(
    index: RowIndex,
    bits: np.ndarray,
    tt: TrellisTables,
    start: int,
    stop: int,
    spread: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, exact sum and spread per cell of the filtered rows ``start ..``.

    The rows lie in one step (a brush's partial step). The sum is taken as
    the build takes a step's (:func:`~.index.leaf_sums`: ``n a + sum(v -
    a)`` with the differences split so that both parts add up exactly); the
    spread is two-pass: the squared deviations from the cell's exact mean,
    less ``(sum of the deviations)**2 / n``, 0 within its rounding bound
    ``(n + 4) eps`` times the sum of squares (equal values: exactly 0).
    """
    layout = tt.layout
    n_cells = layout.n_cells
    rows = start + np.flatnonzero(unpack_bits(bits, start, stop))
    zeros = np.zeros(n_cells, dtype=np.float64)
    if not len(rows):
        return zeros, zeros, zeros, zeros
    step = start // index.step
    # per panel its cell of each row: a lookup of the couple's joint code
    per_panel = np.empty((len(layout.panels), len(rows)), dtype=np.int64)
    joints = RowJoints(index, rows)
    for out, (c, lut) in zip(per_panel, layout.cell_keys, strict=True):
        np.take(lut, joints(c), out=out, mode="clip")  # (codes in range)
    per_panel += joints.code(layout.group_parts, 1, np.empty(len(rows), np.int64))
    keys = per_panel.reshape(-1)  # panel by panel, as the tiled weights
    v = index.values[rows]
    d = v - index.low[step]
    multiples = np.rint(d * index.inv_quantum[step])
    fine = d - multiples * index.quantum[step]
    repeat = len(layout.panels)
    # the count packed above the coarse multiples, as the build packs them
    # (one bincount fewer; both sums exact, see index.PACK)
    multiples += PACK
    packed: np.ndarray = np.bincount(
        keys, weights=np.tile(multiples, repeat), minlength=n_cells
    )
    count = np.floor(packed / PACK)
    packed -= count * PACK
    packed *= index.quantum[step]
    cells = np.stack(
        [
            count,
            packed,
            np.bincount(keys, weights=np.tile(fine, repeat), minlength=n_cells),
            zeros,
        ]
    )[:, None, :]
    s_hi, s_lo = leaf_sums(index, slice(step, step + 1), cells)
    n = cells[0, 0]
    if not spread:
        return n, s_hi[0], s_lo[0], zeros
    m_hi, m_lo = dd_div(s_hi[0], s_lo[0], np.maximum(n, 1.0))
    # (v - mean_hi) - mean_lo per panel and row: the rows' values broadcast
    # against the (panels, rows) cells, gathered by take
    dev = np.take(m_hi, per_panel)
    np.subtract(v, dev, out=dev)
    dev -= np.take(m_lo, per_panel)
    dev = dev.reshape(-1)
    rest = np.bincount(keys, weights=dev, minlength=n_cells)
    dev *= dev
    square = np.bincount(keys, weights=dev, minlength=n_cells)
    m2 = square - rest * rest / np.maximum(n, 1.0)
    m2 = np.where(m2 > (n + 4.0) * EPS * square, m2, 0.0)
    return n, s_hi[0], s_lo[0], m2


def _merge(
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], spread: bool
) -> _Moments:
    """Merge disjoint pieces ``(n, sum_hi, sum_lo, M2)`` per cell (Chan et al.).

    The sum adds in double-double; the mean is its quotient by the count;
    ``M2 = sum(M2_k) + sum(n_k d_k**2)`` with ``d_k`` a piece's mean minus the
    cell's, every term non-negative.
    """
    n = pieces[0][0]
    t_hi, t_lo = pieces[0][1], pieces[0][2]
    for m, hi, lo, _ in pieces[1:]:
        n = n + m
        t_hi, t_lo = dd_add(t_hi, t_lo, hi, lo)
    safe = np.maximum(n, 1.0)
    mean_hi, mean_lo = dd_div(t_hi, t_lo, safe)
    empty = n == 0
    mean_hi = np.where(empty, np.nan, mean_hi)
    mean_lo = np.where(empty, 0.0, mean_lo)
    total = np.zeros_like(n)
    if spread:
        for m, hi, lo, m2 in pieces:
            x_hi, x_lo = dd_div(hi, lo, np.maximum(m, 1.0))
            g_hi, g_lo = dd_sub(x_hi, x_lo, mean_hi, mean_lo)
            gap = np.where(m > 0, g_hi + g_lo, 0.0)
            total = total + m2 + m * gap * gap
        total = np.where(n >= 2, np.maximum(total, 0.0), 0.0)
    return _Moments(n.astype(np.int64), mean_hi, mean_lo, total)


def trellis_range(
    index: RowIndex,
    ft: FilterTables,
    tt: TrellisTables,
    p_lo: int,
    p_hi: int,
    spread: bool,
    edges: _Kept[tuple[np.ndarray, ...]] | None = None,
) -> _Moments:
    """Per trellis cell (the layout's order) of sorted rows ``p_lo .. p_hi - 1``.

    The whole steps inside the range: count, sum and sum of squares from
    the running tables (double-double differences), spread = ``S2 - S1**2 /
    n`` in double-double, set to 0 within ``UNION_FLOOR`` times the running
    sums' magnitude (its rounding bound). The partial steps at both ends
    (at most one step each): :func:`_edge_moments`. The pieces merged per
    cell (:func:`_merge`). ``spread=False`` skips the
    spreads (the means are the same either way, to the bit). ``edges``
    keeps the partial steps' sums for the next brushes.
    """
    step = index.step
    s_a = -(-p_lo // step)
    s_b = index.n_steps if p_hi == index.n else p_hi // step
    if s_a > s_b:
        ends = [(p_lo, p_hi)]
        s_a = s_b = 0
    else:
        ends = [(p_lo, int(index.pos[s_a])), (int(index.pos[s_b]), p_hi)]
    n_u = (tt.count[s_b] - tt.count[s_a]).astype(np.float64)
    u_hi, u_lo = dd_sub(tt.s1_hi[s_b], tt.s1_lo[s_b], tt.s1_hi[s_a], tt.s1_lo[s_a])
    m2_u = np.zeros_like(n_u)
    if spread:
        q_hi, q_lo = dd_square_over(u_hi, u_lo, np.maximum(n_u, 1.0))
        w_hi, w_lo = dd_sub(tt.s2_hi[s_b], tt.s2_lo[s_b], tt.s2_hi[s_a], tt.s2_lo[s_a])
        d_hi, d_lo = dd_sub(w_hi, w_lo, q_hi, q_lo)
        m2_u = d_hi + d_lo
        # rounding of the running sums: 2**-104 of S2's, and of S1's times
        # the derivative of S1**2 / n, twice the union's mean (not S1's alone:
        # with values near 1e-150 that would swallow the whole spread)
        mean_u = np.abs(u_hi) / np.maximum(n_u, 1.0)
        floor = UNION_FLOOR * (
            np.abs(tt.s2_hi[s_b]) + np.abs(tt.s1_hi[s_b]) * 2.0 * mean_u
        )
        m2_u = np.where(m2_u > floor, m2_u, 0.0)
    pieces = [(n_u, u_hi, u_lo, m2_u)]
    for first, stop in ends:
        if stop > first:
            n, s_hi, s_lo, m2 = _edge(
                edges,
                ("trellis", tt.key, first, stop, spread),
                functools.partial(
                    _edge_moments, index, ft.bits, tt, first, stop, spread
                ),
            )
            pieces.append((n, s_hi, s_lo, m2))
    return _merge(pieces, spread)


class BrushEngine:
    """Answer brushes (range + filter) on a normalized ensemble without re-scanning.

    Built once from a normalized :class:`~hpcore.Ensemble`. A :meth:`query`
    whose filter and trellis parameters were seen before costs the same at
    every table size; a new filter, or new trellis parameters, cost one
    pass over the rows (see the package docstring). The tables equal the
    plain functions' (see :class:`BrushResult`).

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

    __slots__ = ("_bins", "_ens", "_hist_template", "_index", "_order", "_store")

    def __init__(self, ens: Ensemble, *, bins: int = 20) -> None:
        require_normalized(ens, "BrushEngine")  # an Ensemble, normalized
        edges = histogram_edges(ens, bins=bins, normalized=True)
        if len(ens.table) == 0:
            raise HpcoreError("BrushEngine needs an ensemble with at least one row")
        self._ens = ens
        self._bins = int(bins)
        self._index = RowIndex(ens, edges)
        self._store = _Store()
        groups = ens.group_labels()
        group_names = tuple(str(c) for c in groups.cat.categories)
        self._hist_template = histogram_frame(
            np.zeros((len(group_names), self._bins), dtype=np.int64), group_names, edges
        )
        self._order = self._make_order()

    def _make_order(self) -> _Order:
        """Output layout for the parameter order of ``self._ens``."""
        ens, index = self._ens, self._index
        canonical = {pair: i for i, pair in enumerate(index.pairs)}
        cells: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        for a, b in parameter_pairs(ens):
            ia, ib = index.position[a], index.position[b]
            ka, kb = int(index.sizes[ia]), int(index.sizes[ib])
            if ia < ib:
                first = index.pair_offset[canonical[(ia, ib)]]
                cells.append(first + np.arange(ka * kb))
            else:  # stored as (b, a): transposed
                first = index.pair_offset[canonical[(ib, ia)]]
                cells.append(
                    first + np.add.outer(np.arange(ka), np.arange(kb) * ka).ravel()
                )
        options = [
            index.opt_offset[index.position[p]] + np.arange(len(index.options[p]))
            for p in ens.parameters
        ]
        zeros = {
            (a, b): np.zeros((len(ens.options(a)), len(ens.options(b))), dtype=np.int64)
            for a, b in parameter_pairs(ens)
        }
        return _Order(
            pair_cells=np.concatenate(cells),
            option_cells=np.concatenate(options) if options else np.zeros(0, np.int64),
            pairs_template=pairs_frame(ens, zeros),
            option_template=option_frame(
                ens,
                {
                    p: np.zeros(len(ens.options(p)), dtype=np.int64)
                    for p in ens.parameters
                },
            ),
            trellis={},
        )

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
        """Number of distinct combinations of parameter options in the table.

        Informational only: the engine no longer works per combination, and
        this is counted on first use (``O(N log N)``), then remembered.
        """
        with self._store.lock:
            known = self._store.combinations
        if known is not None:
            return known
        flat = np.zeros(len(self._ens.table), dtype=np.int64)
        size = 1
        for name in self._index.names:
            k = len(self._index.options[name])
            if size * k >= 1 << 62:
                flat = np.unique(flat, return_inverse=True)[1].reshape(-1)
                size = int(flat.max(initial=0)) + 1
            flat = flat * k + self._ens.table[name].cat.codes.to_numpy()
            size *= k
        count = len(np.unique(flat))
        with self._store.lock:
            self._store.combinations = count
        return count

    @property
    def nbytes(self) -> int:
        """Bytes held in the engine's arrays (the ensemble itself not included).

        The index plus the filter and trellis tables built so far (shared
        with :meth:`reordered` copies).
        """
        store = self._store
        filters = sum(ft.nbytes for ft in store.filters.values())
        return (
            self._index.nbytes + filters + sum(t.nbytes for t in store.trellis.values())
        )

    def __len__(self) -> int:
        return len(self._ens.table)

    def __repr__(self) -> str:
        return (
            f"BrushEngine(rows={len(self)}, steps={self._index.n_steps}, "
            f"bins={self._bins}, parameters={list(self._ens.parameters)!r})"
        )

    # ----------------------------------------------------------- the tables

    def _filter(
        self, where: Mapping[str, tuple[str, ...]], *, steps: bool = False
    ) -> FilterTables:
        """The tables of a resolved filter (built on first use, kept a while)."""
        ft = self._store.filters.get(
            where_key(where), functools.partial(build_filter, self._index, where)
        )
        if steps and ft.pair_cum is None:
            build_steps(self._index, ft)
        return ft

    def _histogram(self, ft: FilterTables) -> np.ndarray:
        if ft.histogram is None:
            build_histogram(self._index, ft)
        assert ft.histogram is not None
        return ft.histogram

    def _trellis_tables(
        self, ft: FilterTables, primary: str, secondary: str | None
    ) -> TrellisTables:
        return self._store.trellis.get(
            (ft.key, primary, secondary),
            functools.partial(build_trellis, self._index, ft, primary, secondary),
        )

    def _trellis_layout(
        self, tt: TrellisTables, primary: str, secondary: str | None
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The empty trellis frame of this order and its cells in ``tt``'s order."""
        known = self._order.trellis.get((primary, secondary))
        if known is not None:
            return known
        ens, layout = self._ens, tt.layout
        panels = trellis_panels(ens, primary, secondary)
        zeros = {
            p: np.zeros(len(ens.options(p)) * layout.group, dtype=np.int64)
            for p in panels
        }
        template = trellis_frame(ens, primary, secondary, zeros, zeros)
        offset = {
            self._index.names[i]: off
            for i, off in zip(layout.panels, layout.offsets, strict=True)
        }
        cells = np.concatenate(
            [
                offset[p] + np.arange(len(self._index.options[p]) * layout.group)
                for p in panels
            ]
        )
        self._order.trellis[(primary, secondary)] = (template, cells)
        return template, cells

    def _trellis(
        self,
        ft: FilterTables,
        p_lo: int,
        p_hi: int,
        primary: str,
        secondary: str | None,
        spread: bool,
    ) -> pd.DataFrame:
        tt = self._trellis_tables(ft, primary, secondary)
        template, cells = self._trellis_layout(tt, primary, secondary)
        key = (tt.key, p_lo, p_hi)
        with self._store.lock:
            last = self._store.last
        if last is not None and last[0] == key:
            m = last[1]
        else:  # spreads too: the same brush's trellis_moments usually follows
            m = trellis_range(self._index, ft, tt, p_lo, p_hi, True, self._store.edges)
            with self._store.lock:
                self._store.last = (key, m)
        mean = (m.mean_hi + m.mean_lo)[cells]
        columns = {"mean": mean, "count": m.count[cells]}
        if spread:
            columns["sum_sq_dev"] = m.spread[cells]
        return with_columns(template, **columns)

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
        ft = self._filter(resolved, steps=True)
        p_lo, p_hi = self._index.positions(lo, hi)
        count, pairs, options = range_counts(
            self._index, ft, p_lo, p_hi, self._store.edges
        )
        order = self._order
        trellis_table = None
        if primary is not None:
            trellis_table = self._trellis(ft, p_lo, p_hi, primary, secondary, False)
        return BrushResult(
            count=count,
            histogram=with_columns(self._hist_template, count=self._histogram(ft)),
            pair_counts=with_columns(
                order.pairs_template, count=pairs[order.pair_cells]
            ),
            option_counts=with_columns(
                order.option_template, count=options[order.option_cells]
            ),
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

        Costs two binary searches once the filter's bitmap is built (a few
        word operations per option). Raises as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        ft = self._filter(resolve_where(self._ens, where))
        p_lo, p_hi = self._index.positions(lo, hi)
        before = bits_before(ft.bits, ft.prefix, np.array([p_lo, p_hi]))
        return int(before[1] - before[0])

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
        order. Costs as :meth:`query`. Raises as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        ft = self._filter(resolve_where(self._ens, where), steps=True)
        _, _, options = range_counts(
            self._index, ft, *self._index.positions(lo, hi), self._store.edges
        )
        order = self._order
        return with_columns(order.option_template, count=options[order.option_cells])

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
        selected normalized values, 0 for cells with fewer than two rows and
        for cells whose values are all equal. With
        :func:`hpcore.analysis.stats.trellis_ci_from_moments` it gives the
        confidence intervals of :func:`hpcore.analysis.stats.trellis_with_ci`.
        See the package docstring ("Exactness") for how close it is. Raises
        as :meth:`query`.
        """
        lo, hi = check_interval("range", range)
        resolved = resolve_where(self._ens, where)
        check_trellis_args(self._ens, primary, secondary, NORMALIZED)
        ft = self._filter(resolved)
        p_lo, p_hi = self._index.positions(lo, hi)
        return self._trellis(ft, p_lo, p_hi, primary, secondary, True)

    def indices(
        self,
        *,
        range: tuple[float, float] = (0.0, 1.0),
        where: Where | None = None,
    ) -> np.ndarray:
        """Ascending row positions of a brush's selection (for brushing and linking).

        Equals ``np.flatnonzero(hpcore.select(ens, range=range, where=where).mask)``
        and costs the rows in the range plus ``k log k`` for ``k`` selected
        rows. Raises as :meth:`query`.
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
        with self._store.lock:
            self._store.made.add(selection)
        return selection

    def made(self, selection: object) -> bool:
        """True when ``selection`` is one this engine's :meth:`select` returned."""
        if not isinstance(selection, Selection):
            return False
        with self._store.lock:
            return selection in self._store.made

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
        ``ens2`` give them. The index and every table built so far are
        shared (only the output layout is new); selections made by either
        engine are trusted by both.

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
        other._order = other._make_order()
        return other

    # -------------------------------------------------------------- internals

    def _rows(
        self, lo: float, hi: float, where: Mapping[str, tuple[str, ...]]
    ) -> np.ndarray:
        """Row positions of a brush's selection, in no particular order."""
        ft = self._filter(where)
        p_lo, p_hi = self._index.positions(lo, hi)
        keep = unpack_bits(ft.bits, p_lo, p_hi)
        rows: np.ndarray = self._index.order[p_lo:p_hi][keep]
        return rows
