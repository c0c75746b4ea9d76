"""The engine's index: what is computed once per ensemble, per filter, per trellis.

Three levels, each built from the one before it and kept while it is used
(the queries, in :mod:`hpcore.analysis.engine.query`, only read them):

:class:`RowIndex` (once per ensemble)
    The rows whose normalized value lies in [0, 1] (no others can ever be
    selected), sorted by that value: the values, the row ids, every
    parameter's option codes in that order, and one bitmap per option (bit
    ``r`` set when sorted row ``r`` has the option). The sorted rows are cut
    into *steps* of ``B`` rows (a multiple of 64, so a step is a whole number
    of bitmap words); per step its smallest value ``a`` and a power of two
    ``q`` that splits values for exact sums (see :func:`build_trellis`).
:class:`FilterTables` (per ``where`` filter)
    The filter as a bitmap ``F`` over the sorted rows (AND over the filtered
    parameters of the OR of their allowed options' bitmaps), its running
    popcount per word; built on first use: the running count of every pair
    cell and every option at every step boundary (one pass of bitwise ANDs
    and popcounts over the bitmaps), and the histogram.
:class:`TrellisTables` (per filter and trellis primary/secondary)
    Per step boundary and trellis cell (panel option x primary option x
    secondary option): running count, and running sum and sum of squares of
    the normalized values as double-doubles (one pass of ``bincount`` over
    the rows, a few steps at a time).

All counts are exact integers. The sums are exact per step (see
:func:`build_trellis`) and run in double-double, so a difference of two
running sums keeps about 106 bits of the running sum's magnitude.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from ...data.errors import ParameterError
from ...data.model import NORMALIZED, Ensemble
from ...data.validation import fmt_list
from .exact import dd_prefix, dd_square_over, split, two_sum

#: Rows per step: a power of two near ``STEP_SCALE sqrt(rows)``, within
#: these bounds. Larger steps make a change of filter or trellis cheaper (its
#: per-step work) and a drag's partial steps dearer: 8 (8192 rows from about
#: a million on) against 4 took a new filter 5 to 10 % and a new primary 6 to
#: 8 % less CPU at a million rows and a drag 7 % more wall time, the drag as
#: at ten million rows. The upper bound must stay at most ``2**13`` (the
#: counts packed with the coarse sums of :func:`step_cells` rely on it, see
#: :data:`PACK`) and both must be multiples of 64.
STEP_SCALE = 8.0
STEP_MIN = 64
STEP_MAX = 8192
#: Bitmap words per chunk of the pair-count pass (cache-sized pieces).
CHUNK_WORDS = 8192
#: Rows per chunk of the trellis pass.
CHUNK_ROWS = 1 << 18
#: (step, cell) entries per piece of the trellis' double-double arithmetic.
LEAF_ENTRIES = 1 << 14
#: A trellis pass takes only the filter's rows (gathered) when it keeps
#: fewer than this share of them; otherwise all rows, the others binned away.
COMPRESS_BELOW = 0.85
#: Scale of the count packed with the coarse multiples in one weighted
#: ``bincount``: above the sum of at most :data:`STEP_MAX` multiples of at
#: most ``2**SPLIT_BITS`` (``2**38``), and small enough that ``2**13`` rows
#: times it plus that sum stays below ``2**53`` (exact in float64).
PACK = 2.0**39
#: Bits of the per-step split of ``value - a`` into a coarse and a fine part.
SPLIT_BITS = 25
EPS = 2.0**-53
#: Integer type of one step's counts (at most :data:`STEP_MAX` rows): summing
#: the per-word popcounts into 16 bits is about twice as fast as into 64.
STEP_COUNT = np.uint16

Key = tuple[tuple[str, tuple[str, ...]], ...]


def step_rows(n: int) -> int:
    """Rows per step for ``n`` sorted rows (see :data:`STEP_MIN`)."""
    target = 1 << max(0, round(math.log2(STEP_SCALE * math.sqrt(max(n, 1)))))
    return int(min(STEP_MAX, max(STEP_MIN, target)))


def small_uint(size: int) -> np.dtype:
    """The smallest unsigned integer type holding ``0 .. size - 1``."""
    return np.min_scalar_type(max(size - 1, 0))


def where_key(where: Mapping[str, tuple[str, ...]]) -> Key:
    """A hashable form of a resolved ``where`` filter."""
    return tuple((name, tuple(labels)) for name, labels in where.items())


#: Set bits of every 16-bit value (for :func:`popcount` on numpy < 2).
_HALF_WORD_POPCOUNT = np.zeros(1 << 16, dtype=np.uint8)
for _bit in range(16):
    _HALF_WORD_POPCOUNT += ((np.arange(1 << 16) >> _bit) & 1).astype(np.uint8)
del _bit


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits of each element (uint8), as ``numpy.bitwise_count``.

    ``bitwise_count`` is numpy 2's; with numpy 1.26 (which hpcore supports:
    Inviwo builds against numpy 1.x embed it) each element's 16-bit halves
    are counted through a 65536-entry table and added (about 4x faster than
    a byte table with its sum over each element's bytes).
    """
    count = getattr(np, "bitwise_count", None)
    if count is not None:
        out: np.ndarray = count(words)
        return out
    words = np.ascontiguousarray(words)
    size = words.dtype.itemsize
    if size == 1:
        words = words.astype(np.uint16)
        size = 2
    halves = words.view(np.uint16).reshape(*words.shape, size // 2)
    total: np.ndarray = _HALF_WORD_POPCOUNT[halves[..., 0]]
    for lane in range(1, size // 2):
        total += _HALF_WORD_POPCOUNT[halves[..., lane]]
    return total


def step_sums(counts: np.ndarray) -> np.ndarray:
    """Per-word popcounts ``(..., steps, words per step)`` summed per step,
    as :data:`STEP_COUNT` (``einsum``: about a third faster than ``sum``
    with a ``dtype``, which casts through a buffer)."""
    out: np.ndarray = np.einsum("...j->...", counts, dtype=STEP_COUNT)
    return out


def step_popcounts(words: np.ndarray, n_steps: int, per_step: int) -> np.ndarray:
    """Set bits per step of each row of ``words`` (shape ``(rows, steps)``,
    :data:`STEP_COUNT`)."""
    rows = words.shape[0]
    counts = popcount(words[:, : n_steps * per_step])
    return step_sums(counts.reshape(rows, n_steps, per_step))


def bit_prefix(bits: np.ndarray) -> np.ndarray:
    """Running popcount: entry ``w`` is the number of set bits in words ``< w``."""
    prefix = np.zeros(len(bits) + 1, dtype=np.int64)
    np.cumsum(popcount(bits), out=prefix[1:])
    return prefix


def bits_before(
    bits: np.ndarray, prefix: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """Set bits of ``bits`` at sorted positions below each of ``positions``."""
    p = np.asarray(positions, dtype=np.int64)
    word = p >> 6
    low = np.left_shift(np.uint64(1), (p & 63).astype(np.uint64)) - np.uint64(1)
    partial = popcount(bits[word] & low).astype(np.int64)
    out: np.ndarray = prefix[word] + partial
    return out


def unpack_bits(bits: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The bits of sorted rows ``start .. stop - 1`` as a boolean array."""
    raw = bits.view(np.uint8)[start >> 3 : (stop + 7) >> 3]
    unpacked = np.unpackbits(raw, bitorder="little")
    first = start & 7
    out: np.ndarray = unpacked[first : first + (stop - start)].view(bool)
    return out


def range_mask(start: int, stop: int) -> tuple[int, np.ndarray]:
    """First word and word masks of the sorted rows ``start .. stop - 1``."""
    w0, w1 = start >> 6, (stop + 63) >> 6
    mask = np.full(max(w1 - w0, 0), ~np.uint64(0), dtype=np.uint64)
    if len(mask):
        mask[0] &= ~((np.uint64(1) << np.uint64(start & 63)) - np.uint64(1))
        if stop & 63:
            mask[-1] &= (np.uint64(1) << np.uint64(stop & 63)) - np.uint64(1)
    return w0, mask


class RowIndex:
    """The sorted rows of one normalized ensemble (built once; read-only).

    Parameters
    ----------
    ens : Ensemble
        Normalized; its parameters (and group column) categorical.
    edges : numpy.ndarray
        The normalized histogram's bin edges over [0, 1].

    Raises
    ------
    ParameterError
        A parameter (or the group column) is not categorical or has rows
        without an option.
    """

    def __init__(self, ens: Ensemble, edges: np.ndarray) -> None:
        names = list(ens.parameters)
        self.n_params = len(names)
        if ens.group is not None and ens.group not in names:
            names.append(ens.group)  # for the histogram only
        self.names: tuple[str, ...] = tuple(names)
        self.position = {name: i for i, name in enumerate(names)}
        raw: list[np.ndarray] = []
        for name in names:
            column = ens.table[name]
            if not isinstance(column.dtype, pd.CategoricalDtype):
                raise ParameterError(
                    f"parameter {name!r} must be a categorical column of options "
                    f"(as hpcore.load makes); got dtype {column.dtype}"
                )
            codes = column.cat.codes.to_numpy()
            if len(codes) and codes.min() < 0:
                raise ParameterError(
                    f"parameter {name!r} has {int((codes < 0).sum())} row(s) "
                    "without an option; every row needs one of "
                    f"{fmt_list(column.cat.categories)}"
                )
            raw.append(codes)
        self.options: dict[str, tuple[str, ...]] = {
            name: tuple(str(c) for c in ens.table[name].cat.categories)
            for name in names
        }
        self.sizes = np.array([len(self.options[n]) for n in names], dtype=np.int64)
        self.opt_offset = np.zeros(len(names) + 1, dtype=np.int64)
        np.cumsum(self.sizes, out=self.opt_offset[1:])
        self.group_pos = None if ens.group is None else self.position[ens.group]
        self.n_rows = len(ens.table)

        # 1. the rows that can be selected, sorted by normalized value
        values = ens.table[NORMALIZED].to_numpy(dtype=np.float64)
        inside = (values >= 0.0) & (values <= 1.0)  # NaN fails both
        kept = None if bool(inside.all()) else np.flatnonzero(inside)
        del inside
        if kept is not None:
            values = values[kept]
        by_value = np.argsort(values)
        self.values: np.ndarray = values[by_value]
        del values
        if kept is not None:
            by_value = kept[by_value]
        n = len(by_value)
        self.n = n
        self.order: np.ndarray = by_value.astype(
            np.int32 if self.n_rows < 2**31 else np.int64
        )
        del by_value
        # 2. steps of B rows
        self.step = step_rows(n)
        self.per_step = self.step // 64
        self.n_steps = -(-n // self.step)
        self.pos = np.minimum(
            np.arange(self.n_steps + 1, dtype=np.int64) * self.step, n
        )
        self.n_words = self.n_steps * self.per_step + 1  # one spare zero word
        first = self.values[self.pos[:-1]]
        width = self.values[self.pos[1:] - 1] - first if n else first
        exponent = np.frexp(width)[1].astype(np.int64)
        exponent = np.maximum(exponent, -990)  # keeps 1 / q finite
        self.low = first  # each step's smallest value
        self.quantum = np.ldexp(1.0, exponent - SPLIT_BITS)
        self.inv_quantum = np.ldexp(1.0, SPLIT_BITS - exponent)
        # its halves (26 + 27 bits: exact times a count below 2**26)
        self.low_hi, self.low_lo = split(first)

        # 3. one bitmap per option (little bit order, 64 rows per word), and
        # the codes in sorted order, two parameters to a "couple" code
        total = int(self.opt_offset[-1])
        self.bitmaps = np.zeros((total, self.n_words), dtype=np.uint64)
        as_bytes = self.bitmaps.view(np.uint8)
        n_bytes = (n + 7) >> 3
        self.couples = [
            tuple(range(i, min(i + 2, len(names)))) for i in range(0, len(names), 2)
        ]
        self.joint: list[np.ndarray] = []
        #: per name: (couple, divisor) -- its code is ``joint // divisor % k``
        self.place: list[tuple[int, int]] = [(0, 1)] * len(names)
        for c, couple in enumerate(self.couples):
            size = int(np.prod([self.sizes[i] for i in couple]))
            kind = small_uint(size)
            joint: np.ndarray = np.zeros(n, dtype=kind)
            divisor = size
            for i in couple:
                codes = raw[i][self.order]
                k = int(self.sizes[i])
                for o in range(k):
                    row = int(self.opt_offset[i]) + o
                    as_bytes[row, :n_bytes] = np.packbits(codes == o, bitorder="little")
                divisor //= k
                np.add(joint, codes.astype(kind) * divisor, out=joint, casting="unsafe")
                self.place[i] = (c, divisor)
                raw[i] = codes[:0]  # the table's codes are no longer needed
            self.joint.append(joint)
        del raw
        #: per name: its option code from its couple's joint code, the
        #: source of the lookup tables a trellis layout builds from the
        #: couples' joint codes (:func:`code_parts`, ``cell_keys``)
        self.decode: list[np.ndarray] = []
        for i in range(len(names)):
            c, divisor = self.place[i]
            size = int(np.prod([self.sizes[j] for j in self.couples[c]]))
            lut = (np.arange(size) // divisor) % int(self.sizes[i])
            self.decode.append(lut)
        self.all_bits = np.zeros(self.n_words, dtype=np.uint64)
        self.all_bits.view(np.uint8)[:n_bytes] = np.packbits(
            np.ones(n, dtype=bool), bitorder="little"
        )

        # 4. pairs of parameters: cells in pairs_frame order; histogram bins
        self.pairs = list(itertools.combinations(range(self.n_params), 2))
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        self.pair_offset = [0]
        for ia, ib in self.pairs:
            ka, kb = int(self.sizes[ia]), int(self.sizes[ib])
            rows.append(np.repeat(np.arange(ka), kb) + self.opt_offset[ia])
            cols.append(np.tile(np.arange(kb), ka) + self.opt_offset[ib])
            self.pair_offset.append(self.pair_offset[-1] + ka * kb)
        empty = np.zeros(0, dtype=np.int64)
        self.pair_rows = np.concatenate(rows) if rows else empty
        self.pair_cols = np.concatenate(cols) if cols else empty
        self.n_options = int(self.opt_offset[self.n_params])
        self.edges = edges
        self.hist_pos = np.append(
            np.searchsorted(self.values, edges[:-1], side="left"), n
        ).astype(np.int64)
        for array in (
            self.values,
            self.order,
            self.bitmaps,
            self.all_bits,
            *self.joint,
        ):
            array.setflags(write=False)

    @property
    def n_pair_cells(self) -> int:
        return self.pair_offset[-1]

    @property
    def nbytes(self) -> int:
        arrays = [
            self.values,
            self.order,
            self.bitmaps,
            self.all_bits,
            self.pos,
            self.low,
            self.quantum,
            self.inv_quantum,
            self.pair_rows,
            self.pair_cols,
            *self.joint,
        ]
        return int(sum(a.nbytes for a in arrays))

    def positions(self, lo: float, hi: float) -> tuple[int, int]:
        """First and one-past-last sorted position of the closed range."""
        first = int(np.searchsorted(self.values, lo, side="left"))
        stop = int(np.searchsorted(self.values, hi, side="right"))
        return first, max(first, stop)

    def option_rows(self, name: str, labels: Sequence[str]) -> np.ndarray:
        """Bitmap rows of the given options of ``name``."""
        i = self.position[name]
        options = self.options[name]
        rows: np.ndarray = self.opt_offset[i] + np.array(
            [options.index(o) for o in labels], dtype=np.int64
        )
        return rows


@dataclass(eq=False)
class FilterTables:
    """One ``where`` filter over the sorted rows (see the module docstring).

    ``bits``/``prefix``: the filter's bitmap and running popcount per word.
    Built on first use: ``pair_cum`` (``steps + 1`` x pair cells) and
    ``option_cum`` (``steps + 1`` x options) running counts at the step
    boundaries, ``histogram`` (groups x bins).
    """

    key: Key
    bits: np.ndarray
    prefix: np.ndarray
    pair_cum: np.ndarray | None = None
    option_cum: np.ndarray | None = None
    histogram: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        arrays = [
            self.bits,
            self.prefix,
            self.pair_cum,
            self.option_cum,
            self.histogram,
        ]
        return int(sum(a.nbytes for a in arrays if a is not None))


def build_filter(index: RowIndex, where: Mapping[str, tuple[str, ...]]) -> FilterTables:
    """The bitmap of a resolved ``where`` (one OR/AND per option word)."""
    bits = index.all_bits.copy()
    for name, labels in where.items():
        rows = index.bitmaps[index.option_rows(name, labels)]
        bits &= np.bitwise_or.reduce(rows, axis=0)
    bits.setflags(write=False)
    return FilterTables(key=where_key(where), bits=bits, prefix=bit_prefix(bits))


def build_steps(index: RowIndex, ft: FilterTables) -> None:
    """Running counts of every pair cell and option at the step boundaries.

    One pass over the option bitmaps, a chunk of words at a time: per pair
    ``(A, B)`` the popcounts of ``A_i & B_j & F`` summed per step for all
    but the last option of each, the last row and column following from the
    options' own counts under ``F`` (they sum to them).
    """
    n_steps, per_step = index.n_steps, index.per_step
    filtered = index.bitmaps & ft.bits
    options = step_popcounts(filtered, n_steps, per_step)  # (options, steps)
    pair_steps = np.zeros((index.n_pair_cells, n_steps), dtype=np.int64)
    inner = [
        np.zeros((int(index.sizes[a]) - 1, int(index.sizes[b]) - 1, n_steps), np.int64)
        for a, b in index.pairs
    ]
    chunk = max(1, CHUNK_WORDS // per_step)
    off = index.opt_offset
    for first in range(0, n_steps, chunk):
        last = min(n_steps, first + chunk)
        words = slice(first * per_step, last * per_step)
        block = filtered[:, words]
        for (a, b), out in zip(index.pairs, inner, strict=True):
            ka, kb = int(index.sizes[a]), int(index.sizes[b])
            x = (
                block[off[a] : off[a] + ka - 1, None, :]
                & block[None, off[b] : off[b] + kb - 1, :]
            )
            counts = popcount(x).reshape(ka - 1, kb - 1, last - first, per_step)
            out[:, :, first:last] = step_sums(counts)
    for (a, b), part, cell in zip(index.pairs, inner, index.pair_offset, strict=False):
        ka, kb = int(index.sizes[a]), int(index.sizes[b])
        full = np.empty((ka, kb, n_steps), dtype=np.int64)
        full[:-1, :-1] = part
        full[:-1, -1] = options[off[a] : off[a] + ka - 1] - part.sum(axis=1)
        full[-1, :] = options[off[b] : off[b] + kb] - full[:-1].sum(axis=0)
        pair_steps[cell : cell + ka * kb] = full.reshape(ka * kb, n_steps)
    count_type = np.int32 if index.n < 2**31 else np.int64
    pair_cum = np.zeros((n_steps + 1, index.n_pair_cells), dtype=count_type)
    np.cumsum(pair_steps.T, axis=0, out=pair_cum[1:])
    option_cum = np.zeros((n_steps + 1, len(options)), dtype=np.int64)
    np.cumsum(options.T, axis=0, dtype=np.int64, out=option_cum[1:])
    pair_cum.setflags(write=False)
    option_cum.setflags(write=False)
    ft.pair_cum, ft.option_cum = pair_cum, option_cum


def build_histogram(index: RowIndex, ft: FilterTables) -> None:
    """Rows passing the filter per group and bin (bins are runs of sorted rows)."""
    if index.group_pos is None:
        groups = ft.bits[None, :]
    else:
        i = index.group_pos
        groups = index.bitmaps[index.opt_offset[i] : index.opt_offset[i + 1]] & ft.bits
    counts = []
    for bits in groups:
        before = bits_before(bits, bit_prefix(bits), index.hist_pos)
        counts.append(np.diff(before))
    hist = np.concatenate(counts).astype(np.int64)
    hist.setflags(write=False)
    ft.histogram = hist


#: A code made from the index couples' stored joint codes: per couple, the
#: table from its joint code to the code's part (summed over the couples).
CodeParts = tuple[tuple[int, np.ndarray], ...]


class PanelKey(NamedTuple):
    """Panels counted in one ``bincount`` key (see :class:`TrellisLayout`).

    ``params``: the parameters of the key's joint code, most significant
    first; ``couple``: the index couple whose stored joint code it is, or
    ``None`` when the panels' decoded codes make it, as the sum of
    ``parts`` (:data:`CodeParts`).
    """

    couple: int | None
    params: tuple[int, ...]
    parts: CodeParts = ()


def code_parts(index: RowIndex, params: Sequence[int]) -> CodeParts:
    """The :data:`CodeParts` of the joint code of ``params`` (most
    significant first): each parameter's decoded code times the sizes of
    those after it, the tables of one couple added together."""
    tables: dict[int, np.ndarray] = {}
    weight = 1
    for i in reversed(params):
        c = index.place[i][0]
        part = index.decode[i] * weight
        tables[c] = tables[c] + part if c in tables else part
        weight *= int(index.sizes[i])
    return tuple(tables.items())


class RowJoints:
    """The index couples' joint codes at some sorted rows, each gathered once."""

    def __init__(self, index: RowIndex, rows: slice | np.ndarray) -> None:
        self._index, self._rows = index, rows
        self._got: dict[int, np.ndarray] = {}

    def __call__(self, couple: int) -> np.ndarray:
        got = self._got.get(couple)
        if got is None:
            joint = self._index.joint[couple]
            rows = self._rows
            got = joint[rows] if isinstance(rows, slice) else joint.take(rows)
            self._got[couple] = got
        return got

    def code(self, parts: CodeParts, scale: int, out: np.ndarray) -> np.ndarray:
        """The code of ``parts`` at the rows, times ``scale``, into ``out``
        (int64): one lookup per couple."""
        # (mode="clip": every joint code is in its table, and "raise" with
        # out= copies the result once more)
        for n, (couple, table) in enumerate(parts):
            scaled = table * scale
            if n == 0:
                np.take(scaled, self(couple), out=out, mode="clip")
            else:
                out += scaled.take(self(couple), mode="clip")
        return out


@dataclass(frozen=True, eq=False)
class TrellisLayout:
    """The cells of one trellis (primary, secondary) over the index's parameters.

    ``panels``: the panel parameters (positions in :attr:`RowIndex.names`)
    in the index's order; panel ``panels[i]``'s cells (option x primary
    option x secondary option, as :func:`hpcore.trellis` lists them) start at
    ``offsets[i]``; ``group`` cells per panel option. ``keys``: the panels
    taken together in one ``bincount`` key of :func:`step_cells` (with the
    primary and secondary options and the step), two at a time: an index
    couple whose two parameters are both panels reads its stored joint code;
    the panels left alone by the primary or secondary are paired among
    themselves, their joint code made from their decoded codes. Each key
    costs a pass of three ``bincount`` over the rows, so a trellis with the
    primary and secondary in two couples takes five keys, not six.
    ``group_parts``: the primary and secondary option of a row (``0 ..
    group - 1``) from the couples' joint codes (:data:`CodeParts`).
    ``cell_keys``: per panel, its couple and the table from that couple's
    joint code to the panel's first cell of the option (``offset + code x
    group``), for the few rows of a brush's partial steps.
    """

    primary: int
    secondary: int | None
    panels: tuple[int, ...]
    offsets: tuple[int, ...]
    group: int
    n_cells: int
    keys: tuple[PanelKey, ...]
    group_parts: CodeParts
    cell_keys: tuple[tuple[int, np.ndarray], ...]


def trellis_layout(
    index: RowIndex, primary: str, secondary: str | None
) -> TrellisLayout:
    """The :class:`TrellisLayout` of a primary (and secondary) parameter."""
    ip = index.position[primary]
    isec = None if secondary is None else index.position[secondary]
    ks = 1 if isec is None else int(index.sizes[isec])
    group = int(index.sizes[ip]) * ks
    panels = tuple(i for i in range(index.n_params) if i not in (ip, isec))
    offsets = [0]
    for i in panels:
        offsets.append(offsets[-1] + int(index.sizes[i]) * group)
    keys: list[PanelKey] = []
    alone: list[int] = []
    for c, couple in enumerate(index.couples):
        members = [i for i in couple if i in panels]
        if len(members) == len(couple) == 2:
            keys.append(PanelKey(c, couple))
        else:
            alone.extend(members)
    for i in range(0, len(alone), 2):
        params = tuple(alone[i : i + 2])
        keys.append(PanelKey(None, params, code_parts(index, params)))
    cell_params = (ip,) if isec is None else (ip, isec)
    cell_keys = []
    for i, offset in zip(panels, offsets[:-1], strict=True):
        lut = index.decode[i] * group + offset
        lut.setflags(write=False)
        cell_keys.append((index.place[i][0], lut))
    return TrellisLayout(
        primary=ip,
        secondary=isec,
        panels=panels,
        offsets=tuple(offsets[:-1]),
        group=group,
        n_cells=offsets[-1],
        keys=tuple(keys),
        group_parts=code_parts(index, cell_params),
        cell_keys=tuple(cell_keys),
    )


def step_cells(
    index: RowIndex,
    bits: np.ndarray,
    layout: TrellisLayout,
    first: int,
    rows_per: np.ndarray,
    start: int,
) -> np.ndarray:
    """Per (step, trellis cell): rows, and sums of ``d = value - a`` and ``d**2``.

    The rows ``start ..`` of the filter ``bits``, ``rows_per[i]`` of them in
    step ``first + i`` (all of a step's, or the part of one step at a
    brush's end). ``a`` is the step's smallest value; ``d`` is split at the
    step's power of two ``q`` into ``round(d / q) * q + rest``, and each part
    sums exactly in float64 (multiples of ``q`` up to ``2**25 q``, and the
    rest a multiple of ``ulp(a)`` below ``q / 2`` when ``value <= 2 a``).
    Returns ``(4, steps, cells)``: count, the two parts' sums, and the sum
    of squared deviations from the mean, two-pass: per bin of the
    ``bincount`` key its rows' squared deviations from the bin's mean, the
    bins of a cell merged around the cell's mean (Chan et al.), so close
    values far from ``a`` lose nothing to cancellation.

    Per two panels one key (:attr:`TrellisLayout.keys`), ``((their joint
    code x group) + primary and secondary option) x slots + step``, where
    the last of ``steps + 1`` slots takes the rows the filter drops; three
    ``bincount`` of it (the count packed above the coarse multiples, the
    rest, the squared deviations) and one gather of the bins' means; then
    summed over each panel's partner.
    """
    width = len(rows_per)
    stop = start + int(rows_per.sum())
    group, slots = layout.group, width + 1
    passing = unpack_bits(bits, start, stop)
    kept = int(np.count_nonzero(passing))
    rows: slice | np.ndarray
    steps = slice(first, first + width)
    if kept < COMPRESS_BELOW * (stop - start):  # a narrow filter: its rows only
        rows = start + np.flatnonzero(passing)
        # the rows are sorted, so each step's kept rows are one run
        ends = np.searchsorted(rows, start + np.cumsum(rows_per))
        per_step = np.diff(ends, prepend=0)
    else:  # all rows; those the filter drops go to the spare slot
        rows = slice(start, stop)
        per_step = rows_per
    # each row's step and the step's constants, repeated run by run
    slot = np.repeat(np.arange(width, dtype=np.int64), per_step)
    low, inv_quantum, quantum = (
        np.repeat(a[steps], per_step)
        for a in (index.low, index.inv_quantum, index.quantum)
    )
    if isinstance(rows, slice):
        slot[~passing] = width
    del passing
    joints = RowJoints(index, rows)
    base = joints.code(layout.group_parts, slots, np.empty(len(slot), np.int64))
    base += slot
    del slot
    d = index.values[rows] - low
    coarse = np.rint(d * inv_quantum)
    fine = d - coarse * quantum
    del low, inv_quantum, quantum
    coarse += PACK  # the row count and the coarse multiples in one float64
    cells = np.zeros((4, width, layout.n_cells), dtype=np.float64)
    # each step's quantum, 0 for the spare slot of the rows the filter drops
    quanta = index.quantum[steps]
    step_quantum = np.append(quanta, 0.0)
    key = np.empty(len(d), dtype=np.int64)
    dev = np.empty(len(d), dtype=np.float64)
    for kp in layout.keys:
        sizes = [int(index.sizes[i]) for i in kp.params]
        shape = (*sizes, group, slots)
        size = math.prod(shape)
        if kp.couple is not None:
            np.multiply(joints(kp.couple), group * slots, out=key, dtype=np.int64)
        else:
            joints.code(kp.parts, group * slots, key)
        key += base
        packed = np.bincount(key, weights=coarse, minlength=size)
        total = np.bincount(key, weights=fine, minlength=size)
        count = np.floor(packed / PACK)
        multiples = packed - count * PACK
        bins = [count, multiples, total]
        # two-pass per bin (step, joint code, primary and secondary option):
        # the squared deviations from the bin's own mean, so that close
        # values far from the step's smallest value do not cancel (Chan et
        # al. merge the bins into cells below)
        mean = multiples.reshape(-1, slots) * step_quantum
        mean += total.reshape(-1, slots)
        mean = mean.reshape(-1)
        mean /= np.maximum(count, 1.0)
        # gathered into the preallocated buffer; mode="clip" (the keys are
        # in range) spares the index check's copy that mode="raise" makes
        np.take(mean, key, out=dev, mode="clip")
        np.subtract(d, dev, out=dev)
        dev *= dev
        bins.append(np.bincount(key, weights=dev, minlength=size))
        # the four sums as one array (one sum per panel instead of four)
        shaped = np.stack(bins).reshape(4, *shape)[..., :width]
        for axis, i in enumerate(kp.params):
            others = tuple(x for x in range(len(sizes)) if x != axis)
            cell = layout.offsets[layout.panels.index(i)]
            at = slice(cell, cell + sizes[axis] * group)
            part = shaped.sum(axis=tuple(1 + x for x in others)) if others else shaped
            cells[:, :, at] = part.reshape(4, -1, width).transpose(0, 2, 1)
            if others:
                # M2 of a cell: its bins' M2 plus n_bin (mean_bin - mean)**2,
                # the cell's mean from its exact sums (coarse and fine)
                n_bin = shaped[0]
                m_bin = mean.reshape(shape)[..., :width]
                m_cell = part[1] * quanta
                m_cell += part[2]
                m_cell /= np.maximum(part[0], 1.0)
                spread_over = [1 if x in others else n for x, n in enumerate(sizes)]
                gap = m_bin - m_cell.reshape(*spread_over, group, width)
                between = (n_bin * gap * gap).sum(axis=others)
                cells[3][:, at] += between.reshape(-1, width).T
    cells[1] *= quanta[:, None]
    return cells


def leaf_sums(
    index: RowIndex, steps: slice, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The exact sum of every (step, cell) of :func:`step_cells`, double-double.

    ``n a + coarse + fine``: ``n a`` as two exact products of ``n`` with the
    halves of ``a``, the rest added by TwoSum into an unnormalized
    double-double ``(s1_hi, s1_lo)``.
    """
    n, coarse, fine = cells[0], cells[1], cells[2]
    t, e1 = two_sum(n * index.low_hi[steps, None], coarse)
    t, e2 = two_sum(t, n * index.low_lo[steps, None])
    s1_hi, e3 = two_sum(t, fine)
    s1_lo = (e1 + e2) + e3
    return s1_hi, s1_lo


def leaf_moments(
    index: RowIndex, steps: slice, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum and sum of squares of every (step, cell) of :func:`step_cells`.

    The sum as :func:`leaf_sums`. The sum of squares is ``S1**2 / n + M2``:
    the square over ``n`` in double-double (as the queries take ``S1**2 /
    n``, so that a union of steps whose cell values are all equal gives
    ``S2 - S1**2 / n`` within ``2**-100`` of the running sums, hence 0), the
    spread ``M2`` :func:`step_cells`' two-pass one (0 for cells of fewer
    than two rows) added by TwoSum. Returns ``(s1_hi, s1_lo, s2_hi,
    s2_lo)``.
    """
    n, spread = cells[0], cells[3]
    s1_hi, s1_lo = leaf_sums(index, steps, cells)
    q_hi, q_lo = dd_square_over(s1_hi, s1_lo, np.maximum(n, 1.0))
    s2_hi, e = two_sum(q_hi, np.where(n >= 2, spread, 0.0))
    return s1_hi, s1_lo, s2_hi, q_lo + e


@dataclass(frozen=True, eq=False)
class TrellisTables:
    """Running counts and double-double sums per trellis cell at step boundaries.

    Arrays are ``steps + 1`` x cells (cells as ``layout`` lays them out).
    """

    key: tuple[Key, str, str | None]
    layout: TrellisLayout
    count: np.ndarray
    s1_hi: np.ndarray
    s1_lo: np.ndarray
    s2_hi: np.ndarray
    s2_lo: np.ndarray

    @property
    def nbytes(self) -> int:
        arrays = (self.count, self.s1_hi, self.s1_lo, self.s2_hi, self.s2_lo)
        return int(sum(a.nbytes for a in arrays))


def build_trellis(
    index: RowIndex, ft: FilterTables, primary: str, secondary: str | None
) -> TrellisTables:
    """The trellis' running counts and sums for one filter and primary/secondary.

    One pass over the sorted rows, :data:`CHUNK_ROWS` at a time, through
    :func:`step_cells` (the exact per-step sums) and :func:`leaf_moments`;
    the running sums in double-double (:func:`~.exact.dd_prefix`), the
    arithmetic in cache-sized pieces of :data:`LEAF_ENTRIES` entries.
    """
    layout = trellis_layout(index, primary, secondary)
    n_steps, n_cells = index.n_steps, layout.n_cells
    count_type = np.int32 if index.n < 2**31 else np.int64
    count = np.zeros((n_steps + 1, n_cells), dtype=count_type)
    s1_hi = np.zeros((n_steps + 1, n_cells), dtype=np.float64)
    s1_lo = np.zeros_like(s1_hi)
    s2_hi = np.zeros_like(s1_hi)
    s2_lo = np.zeros_like(s1_hi)
    chunk = max(1, CHUNK_ROWS // index.step)
    piece = max(1, LEAF_ENTRIES // max(n_cells, 1))
    for first in range(0, n_steps, chunk):
        last = min(n_steps, first + chunk)
        rows_per = np.diff(index.pos[first : last + 1])
        start = int(index.pos[first])
        cells = step_cells(index, ft.bits, layout, first, rows_per, start)
        np.cumsum(cells[0].astype(count_type), axis=0, out=count[first + 1 : last + 1])
        count[first + 1 : last + 1] += count[first]
        for a in range(first, last, piece):
            b = min(last, a + piece)
            part = cells[:, a - first : b - first]
            a_hi, a_lo, b_hi, b_lo = leaf_moments(index, slice(a, b), part)
            s1_hi[a + 1 : b + 1], s1_lo[a + 1 : b + 1] = dd_prefix(
                a_hi, a_lo, s1_hi[a], s1_lo[a]
            )
            s2_hi[a + 1 : b + 1], s2_lo[a + 1 : b + 1] = dd_prefix(
                b_hi, b_lo, s2_hi[a], s2_lo[a]
            )
    for array in (count, s1_hi, s1_lo, s2_hi, s2_lo):
        array.setflags(write=False)
    return TrellisTables(
        key=(ft.key, primary, secondary),
        layout=layout,
        count=count,
        s1_hi=s1_hi,
        s1_lo=s1_lo,
        s2_hi=s2_hi,
        s2_lo=s2_lo,
    )
