"""Instant brushing: an exact engine whose range drags cost the same at any size.

The plain functions (:func:`hpcore.select`, :func:`hpcore.histogram`,
:func:`hpcore.pair_counts`, :func:`hpcore.trellis`) re-scan every row on every
brush. :class:`BrushEngine` answers a brush from tables built once, in the
manner of Falcon's linked histograms: running counts and sums at fixed steps
of the sorted normalized value, plus an exact pass over the few rows between
a brush's ends and the nearest steps. Its tables equal the plain functions'
(counts exactly, means and spreads to rounding) and come from the same frame
builders, so columns, order and dtypes are identical.

The engine is two modules:

- :mod:`~hpcore.analysis.engine.index` builds, and keeps, what is computed
  once: per ensemble the rows sorted by normalized value with their option
  codes and one bitmap per option; per ``where`` filter the running count of
  every pair cell and option at every step boundary (and the histogram); per
  filter and trellis primary/secondary the running counts and double-double
  sums of every trellis cell.
- :mod:`~hpcore.analysis.engine.query` answers brushes from those tables
  (:class:`BrushEngine`, :class:`BrushResult`).

Cost
----
With ``N`` rows, ``B`` rows per step (a power of two near ``8 sqrt(N)``,
between 64 and 8192: 1024 at 13 thousand rows, 8192 from a million on) and
``N / B`` steps:

- build: one sort of the values (``O(N log N)``), the codes gathered into
  that order and packed into one bitmap per option (``O(N)``);
- a **new filter** (or the first query): the filter's bitmap (a few word
  operations per allowed option), then one pass of bitwise ANDs and
  popcounts over the option bitmaps for the running pair counts (for a pair
  of parameters with ``a`` and ``b`` options, ``(a - 1)(b - 1)`` word ANDs
  per 64 rows), ``O(N / 64)`` words per pair;
- a **new trellis primary/secondary** (or a new filter, when a trellis is
  asked for): one pass over the rows, per two panel parameters one
  integer key (their joint code, the primary and secondary options and the
  step), three ``bincount`` of it and the gather of its bins' means (the
  two-pass spreads), ``O(N)``;
- a **range drag** under a filter and trellis seen before: two binary
  searches, the popcounts of the pair cells' option pairs over the at most
  ``B / 2`` rows between each end and its nearest step, the direct
  aggregation of the trellis over the partial steps at both ends (fewer
  than ``2 B`` rows), and a fixed number of numpy calls over arrays of one
  entry per pair cell or trellis cell. Nothing in it follows ``N`` or the
  number of distinct parameter combinations. The last few partial steps'
  results are kept (:data:`query.EDGE_CACHE`), so a drag that holds one
  end and moves the other computes one partial step per brush, not two.

Measured (``benchmarks/brush.py``, README "Instant brushing at millions of
rows"): range drags in one to three milliseconds at every size; a new
filter's pair counts in under the time of one scan of the codes; the trellis
pass one to two scans' worth, the one cost of the engine that still grows
with ``N``. (The exact p-values of a brush's pair cells, computed from the
engine's counts, take a fixed number of operations per cell as well:
:mod:`hpcore.analysis.hypergeom`.)

Memory: per row 8 bytes of sorted value, 4 of row id, one byte per couple
of parameters (their joint code) and one bit per option: about 23 bytes per
row for the twelve NWS parameters, under the table's own 28. Per filter
kept: its bitmap (``N / 8`` bytes) and ``N / B`` x (pair cells + options)
running counts (about 5 MB at 10 million rows); per trellis kept: ``N /
B`` x trellis cells x 36 bytes (up to about 30 MB at 10 million rows).
:data:`query.FILTER_CACHE` filters and :data:`query.TRELLIS_CACHE` trellis
tables are kept; :attr:`BrushEngine.nbytes` counts them all.

Exactness
---------
Counts are integers, exact. A trellis cell's sum over whole steps is the
difference of two running double-double sums; each step's own sum is exact
(the values ``v`` of a step are taken relative to its smallest value ``a``;
``v - a`` is exact when ``v <= 2 a``, and split at a power of two into two
parts whose float64 sums over a step are exact). So a brush's sum is within
about ``2**-104`` of the running sums' magnitude (the cell's values up to
the brush's top), relative ``2**-104 * (1 + rows below / rows in)`` — far
below the plain function's own rounding. In steps that span more than a
factor of two (only near 0) ``v - a`` rounds like any float64
subtraction. The rows of the partial steps at a brush's ends are summed the
same way. Means: the exact sum divided by the count.

Spreads (sum of squared deviations, ``M2``), for the trellis' intervals:
per step and cell two-pass, from the rows' deviations from their bin's
mean (a bin: the step, the joint code of two panel parameters, the
primary and secondary options), the bins of a cell merged around its mean
(Chan et al.), every term non-negative, so close values lose nothing to
cancellation; the whole steps of a brush combine through running
double-double sums of squares, ``S2 - S1**2 / n`` (each step's
``S1**2 / n`` entered in double-double), set to 0 within ``2**-100`` of
the running sums (their rounding bound): equal values give exactly 0. The
partial steps at both ends are aggregated two-pass from their rows; the
pieces merge around the cell's mean (Chan et al.). The error is at most
about ``1e-13 M2`` plus ``2**-100`` times the cell's running sums of ``v``
and ``v**2`` up to the brush's top.

Tables larger than memory
-------------------------
Everything the index holds is built in one pass over the rows in value
order, per step. A Parquet data set larger than memory gets there in two
passes: first an external sort of ``(normalized value, row id, codes)``
(for example one sorted run per row group, written back to Parquet, then a
k-way merge); then, streaming the merged rows step by step, the option
bitmaps and step minima are appended to memory-mapped arrays (one bit per
option and row: 40 MB per million rows for 42 options) and the sorted
values to a column file read only around the brushes' ends. A filter's pass
streams the bitmaps in the chunks :func:`~index.build_steps` already uses
(:data:`index.CHUNK_WORDS`), a trellis pass streams codes and values in the
chunks of :func:`~index.build_trellis`; the running tables themselves are
``N / B`` rows and stay in memory. Range drags read only the running tables
and the ``O(B)`` rows near the ends, so they stay instant from disk.
"""

from __future__ import annotations

from .query import BrushEngine, BrushResult

__all__ = ["BrushEngine", "BrushResult"]
