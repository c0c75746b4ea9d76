"""Statistics next to the pictures: is a hot cell, a shifted parameter or a gap
between two selections more than chance?

The null model throughout is the one the paper's reading of the matrix rests
on: the hyper-parameters were sampled at random, so without any link between
options and the metric a range selection is a random sample (without
replacement) of the rows that pass its ``where`` filter.

- :func:`pair_statistics` - every cell of the pair matrix with its expected
  count, enrichment, exact two-sided hypergeometric p-value and
  Benjamini-Hochberg q-value over the cells with a test.
- :func:`parameter_importance` - per parameter, how far the selection's option
  distribution is from that of the where-passing rows (total variation
  distance) with a chi-square test of selected vs not selected.
- :func:`trellis_with_ci` - :func:`hpcore.trellis` plus Student-t confidence
  intervals of every cell mean.
- :func:`compare_selections` - per option pair, the share in each of two
  selections, their difference and Fisher's exact test of it.

Building blocks: :func:`hypergeom_two_sided` (vectorized exact test),
:func:`bh_q` (Benjamini-Hochberg q-values that tolerate NaN), and
:func:`enrich_pair_counts` / :func:`compare_pair_counts`, the same statistics
from pair-count frames computed elsewhere (e.g. by the fast engine).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..data.errors import HpcoreError, SelectionError
from ..data.model import Ensemble
from . import hypergeom
from .aggregates import labels, selection_mask, with_columns
from .pairs import pair_counts
from .selection import Selection, where_mask
from .trellis import check_trellis_args, trellis, trellis_panels

#: Relative tolerance under which two probabilities count as equal in the
#: two-sided exact tests (R's ``fisher.test`` uses the same ``1 + 1e-7``).
RELATIVE_TOLERANCE = 1e-7
#: Second-order steps towards the far tail's end before bisecting what is left.
STEP_ROUNDS = 4
#: Counts tested per call of the bisection that finds the tails' ends.
SEARCH_POINTS = 2048
#: ``exp`` of a log below this is 0.0 in double precision (the smallest
#: positive double is ``exp(-744.4)``), with a margin for rounding.
LOG_VANISHING = -746.0
#: Margin (in log units) of the bound that sets aside vanishing tests before
#: their exact probabilities are taken.
SCREEN_MARGIN = 1.0
#: Smallest expected count for which the chi-square approximation of
#: :func:`parameter_importance` is trusted; below it a Monte Carlo test is used.
MIN_EXPECTED = 5.0
#: Monte Carlo draws of :func:`parameter_importance` when counts are small.
RESAMPLES = 9_999

PAIR_STAT_COLUMNS = (
    "param_a",
    "option_a",
    "param_b",
    "option_b",
    "count",
    "expected",
    "enrichment",
    "p_value",
    "q_value",
)
IMPORTANCE_COLUMNS = (
    "parameter",
    "score",
    "statistic",
    "dof",
    "p_value",
    "q_value",
    "test",
    "top_option",
    "top_enrichment",
)
COMPARE_COLUMNS = (
    "param_a",
    "option_a",
    "param_b",
    "option_b",
    "count_a",
    "count_b",
    "share_a",
    "share_b",
    "difference",
    "p_value",
    "q_value",
)


# --------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------


def hypergeom_two_sided(
    k: Any, population: Any, successes: Any, draws: Any
) -> np.ndarray:
    """Exact two-sided p-values of hypergeometric counts, vectorized.

    For each entry: a sample of ``draws`` items is taken without replacement
    from ``population`` items of which ``successes`` are marked, and ``k``
    marked items were drawn. The p-value is the probability of every count
    at most as likely as ``k`` (the minimum-likelihood rule of Fisher's exact
    test; counts whose probability is within a relative
    :data:`RELATIVE_TOLERANCE` of ``P(k)`` count as equally likely). This is
    the two-sided p-value of :func:`scipy.stats.fisher_exact` on the 2x2 table
    ``[[k, draws - k], [successes - k, population - successes - draws + k]]``.

    The hypergeometric law is unimodal, so the counts at most as likely as
    ``k`` form two tails; their ends are found by a vectorized search on the
    exact log-probability ratios to ``k`` (:func:`tail_ends`), and the
    p-value is the sum of both tails, exact to a relative ~1e-12 at any
    table size and at a cost per entry that does not grow with it
    (:mod:`hpcore.analysis.hypergeom`).

    Parameters
    ----------
    k, population, successes, draws : array_like of int
        Broadcast against each other; ``0 <= k, successes, draws <= population``
        and ``k`` inside the support.

    Returns
    -------
    numpy.ndarray of float64
        Two-sided p-values in [0, 1], shaped like the broadcast inputs. An
        entry with a one-point support (no marked items, all items marked,
        nothing drawn or everything drawn) gets 1.

    Raises
    ------
    HpcoreError
        A count outside its support.

    Examples
    --------
    >>> float(hypergeom_two_sided(8, 16, 9, 10)[()])  # fisher_exact [[8,2],[1,5]]
    0.03496503496503...
    """
    kk, nn, kk_succ, dd = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.int64) for v in (k, population, successes, draws))
    )
    shape = kk.shape
    kk, nn, kk_succ, dd = (a.reshape(-1) for a in (kk, nn, kk_succ, dd))
    lo = np.maximum(0, dd + kk_succ - nn)
    hi = np.minimum(dd, kk_succ)
    if np.any((kk_succ < 0) | (dd < 0) | (kk_succ > nn) | (dd > nn)):
        raise HpcoreError(
            "hypergeometric test: successes and draws must lie in [0, population]"
        )
    if np.any((kk < lo) | (kk > hi)):
        bad = int(np.flatnonzero((kk < lo) | (kk > hi))[0])
        raise HpcoreError(
            f"hypergeometric test: count {int(kk[bad])} is outside its support "
            f"[{int(lo[bad])}, {int(hi[bad])}] (population {int(nn[bad])}, "
            f"successes {int(kk_succ[bad])}, draws {int(dd[bad])})"
        )
    p = np.ones(kk.shape, dtype=np.float64)
    todo = np.flatnonzero(hi > lo)
    if todo.size:
        # identical tests are computed once
        cols = [kk[todo], nn[todo], kk_succ[todo], dd[todo]]
        first, inverse = _unique_rows(cols)
        p[todo] = _two_sided_unique(*(c[first] for c in cols))[inverse]
    return p.reshape(shape)


def _unique_rows(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the columns ``cols`` once: the index of each distinct
    row's first occurrence in sorted order and, for every row, the position
    of its distinct row (what ``np.unique(axis=0)`` gives, by a ``lexsort``
    instead of a sort of row records, ~6x faster)."""
    order = np.lexsort(cols)
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for c in cols:
        ordered = c[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse


def _two_sided_unique(
    k: np.ndarray, nn: np.ndarray, ks: np.ndarray, d: np.ndarray
) -> np.ndarray:
    """Two-sided p-values for entries with a support of at least two points:
    the tails' ends (:func:`tail_ends`), then their probabilities
    (:func:`hypergeom.tails`, starting from ``log P(k)`` and the exact
    log-ratios of the ends' probabilities to it). Where even the whole
    support at ``P(k)`` would be below the smallest double, the p-value is
    0.0 without a search.
    """
    lo = np.maximum(0, d + ks - nn)
    hi = np.minimum(d, ks)
    # a p-value is at most (support size) * P(k): where that is below the
    # smallest double the p-value is 0.0 and nothing needs searching. An
    # upper bound of P(k) sets most such counts aside first (a large
    # selection has many: half of the 804 cells' tests of a drag at ten
    # million rows); the margin is far above the bound's rounding
    log_size = np.log(hi - lo + 1.0)
    log_pk = np.full(len(k), -np.inf)
    maybe = np.flatnonzero(
        hypergeom.log_probability_bound(k, nn, ks, d) + log_size
        >= LOG_VANISHING - SCREEN_MARGIN
    )
    log_pk[maybe] = hypergeom.log_probability(*(v[maybe] for v in (k, nn, ks, d)))
    live = np.flatnonzero(log_pk + log_size >= LOG_VANISHING)
    p = np.zeros(len(k))
    if live.size:
        p[live] = _two_sided_live(*(v[live] for v in (k, nn, ks, d, lo, hi, log_pk)))
    return p


def _two_sided_live(
    k: np.ndarray,
    nn: np.ndarray,
    ks: np.ndarray,
    d: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    log_pk: np.ndarray,
) -> np.ndarray:
    """:func:`_two_sided_unique` of entries with support ``[lo, hi]`` and
    ``log P(k)`` (``log_pk``)."""
    left, right = tail_ends(k, nn, ks, d)
    # both ends' log-probabilities in one call: log P(k) + log P(end) / P(k)
    m = len(k)
    ends, of = np.concatenate([left, right]), np.tile(np.arange(m), 2)
    inside = np.flatnonzero((ends >= lo[of]) & (ends <= hi[of]))
    at = of[inside]
    log_ends = np.full(2 * m, -np.inf)
    log_ends[inside] = log_pk[at] + hypergeom.log_ratio(
        ends[inside] - k[at], hypergeom.gamma_args(k[at], nn[at], ks[at], d[at])
    )
    p = hypergeom.tails(
        left, right, lo, hi, nn, ks, d, log_ends=(log_ends[:m], log_ends[m:])
    )
    return np.where(left >= right, 1.0, p)


def tail_ends(
    k: np.ndarray, nn: np.ndarray, ks: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ends ``left, right`` of the tails ``[lo, left]`` and ``[right, hi]``
    of the counts at most as likely as ``k`` (``lo - 1`` or ``hi + 1`` for a
    tail that is empty; entries with a support of at least two points).

    Each end is the boundary of a monotone test ("at most as likely as
    ``k``", a log-probability ratio to ``k`` of at most
    ``log1p(RELATIVE_TOLERANCE)``, :func:`hypergeom.log_ratio`) between the
    support's end and the mode. Each bracket is first narrowed by testing
    points where the end is expected: next to ``k`` on its own side (``k``
    itself qualifies); on the other side at the mirror image of ``k`` about
    the mean, then (up to :data:`STEP_ROUNDS` times) at the two counts
    around where the parabola through the log-probabilities of the last
    tested count and its two neighbours crosses ``log P(k)`` (a Newton step
    where it does not); what is left is bisected many ways at once
    (:func:`_bisect`). Any tested point narrows a bracket soundly, so the
    ends are those a full bisection finds. Both tails are searched together
    (one log-probability call per round).
    """
    lo = np.maximum(0, d + ks - nn)
    hi = np.minimum(d, ks)
    mode = np.clip((d + 1) * (ks + 1) // (nn + 2), lo, hi)
    # log-probabilities relative to k's: "at most as likely as k" is a
    # log-ratio at most log1p(RELATIVE_TOLERANCE)
    args = hypergeom.gamma_args(k, nn, ks, d)
    m = len(k)
    threshold = np.full(m, np.log1p(RELATIVE_TOLERANCE))
    entry = np.concatenate([np.arange(m), np.arange(m)])

    def logp_of(x: np.ndarray, sel: np.ndarray) -> np.ndarray:
        at = entry[sel]
        return hypergeom.log_ratio(x - k[at], args[:, at])

    # the left tail's search (first m) and the right tail's (last m): ``a``
    # qualifies, ``b`` does not (virtual points beyond the support's ends
    # qualify, those beyond the mode do not); log-probabilities rise up to
    # the mode and fall after it
    below = k <= mode
    a = np.concatenate([np.where(below, k, lo - 1), np.where(below, hi + 1, k)])
    b = np.concatenate([mode + 1, mode - 1])
    other = np.concatenate([~below, below])  # the tail k is not in
    # on the other side, start at the mirror of k about the mean
    nf, kf, df = (v.astype(np.float64) for v in (nn, ks, d))
    mirror = np.clip(np.floor(2.0 * df * kf / nf - k), lo, hi).astype(np.int64)
    limit = np.tile(threshold, 2)
    first = np.where(other, np.tile(mirror, 2), np.concatenate([k + 1, k - 1]))
    logp = _narrow(a, b, [first], logp_of, limit)[0]
    # then second-order steps on the log-probability (its change per count
    # either way is the log of the ratio of neighbouring probabilities),
    # testing the two counts around each step's landing point
    outward = np.concatenate([np.full(m, -1.0), np.full(m, 1.0)])
    kf2, df2, bad2 = (np.tile(v, 2) for v in (kf, df, nf - kf))
    at = first.astype(np.float64)
    for _ in range(STEP_ROUNDS):
        todo = np.flatnonzero(other & (np.abs(b - a) > 1) & np.isfinite(logp))
        if not todo.size:
            break
        j, kk_, dd_, bb_ = (v[todo] for v in (at, kf2, df2, bad2))
        with np.errstate(divide="ignore", invalid="ignore"):
            up, down = (
                np.log(num) - np.log(den)
                for num, den in (
                    hypergeom.neighbour_ratio(j, step, kk_, dd_, bb_)
                    for step in (1, -1)
                )
            )
            rightward = outward[todo] > 0
            # log P(j + t outwards) / P(j) ~ slope t + bend t**2 through the
            # neighbours on both sides; the root of slope t + bend t**2 =
            # limit - logp nearest to 0 (Newton's step where it has none)
            ahead = np.where(rightward, up, down)
            back = np.where(rightward, down, up)
            slope, bend = (ahead - back) / 2.0, (ahead + back) / 2.0
            rise = limit[todo] - logp[todo]
            root = np.sqrt(slope * slope + 4.0 * bend * rise)
            steps = np.where(
                root >= 0.0,
                2.0 * rise / (slope + np.copysign(root, slope)),
                rise / ahead,
            )
        steps = np.where(np.isfinite(steps), steps, 0.0)
        low = np.minimum(a[todo], b[todo]) + 1
        high = np.maximum(a[todo], b[todo]) - 2
        land = np.clip(np.floor(j + outward[todo] * steps), low, np.maximum(low, high))
        guess, after = a.copy(), a.copy()  # a: not tested
        guess[todo] = land.astype(np.int64)
        after[todo] = guess[todo] + 1
        values = _narrow(a, b, [guess, after], logp_of, limit)[0]
        logp = np.full(len(a), np.nan)
        logp[todo] = values[todo]
        at = guess.astype(np.float64)
    ends = _bisect(a, b, logp_of, limit)
    return ends[:m], ends[m:]


def _narrow(
    a: np.ndarray,
    b: np.ndarray,
    points: list[np.ndarray],
    logp_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
    threshold: np.ndarray,
) -> list[np.ndarray]:
    """Test ``points`` (each an array like ``a``) where they lie strictly
    between ``a`` (qualifies: log-probability at most ``threshold``) and ``b``
    (does not), all in one call, and move ``a`` or ``b`` there (in place).
    Returns each point's log-probability (NaN where not tested)."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    inside = [np.flatnonzero((x > low) & (x < high)) for x in points]
    values = logp_of(
        np.concatenate([x[i] for x, i in zip(points, inside, strict=True)]),
        np.concatenate(inside),
    )
    out, at = [], 0
    for x, i in zip(points, inside, strict=True):
        logp = np.full(len(x), np.nan)
        logp[i] = values[at : at + len(i)]
        at += len(i)
        out.append(logp)
        # a later point may fall outside a bracket an earlier one narrowed
        i = i[(x[i] > np.minimum(a[i], b[i])) & (x[i] < np.maximum(a[i], b[i]))]
        ok = logp[i] <= threshold[i]
        a[i] = np.where(ok, x[i], a[i])
        b[i] = np.where(ok, b[i], x[i])
    return out


def _bisect(
    a: np.ndarray,
    b: np.ndarray,
    logp_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
    threshold: np.ndarray,
) -> np.ndarray:
    """The qualifying end of the boundary between ``a`` (qualifies) and ``b``
    (does not) of a monotone test (either order; in place), by a many-way
    bisection: each round tests up to :data:`SEARCH_POINTS` counts in one
    call, spread evenly over the brackets left (a few brackets, many points
    each: a handful of calls instead of one per halving)."""
    while True:
        active = np.flatnonzero(np.abs(b - a) > 1)
        if not active.size:
            return a
        ways = int(np.clip(SEARCH_POINTS // active.size, 2, 64))
        start, span = a[active], b[active] - a[active]
        # counts strictly between start and b (offsets of 1 to |span| - 1)
        offsets = np.maximum(
            1, np.trunc(np.abs(span)[:, None] * (np.arange(1, ways) / ways))
        ).astype(np.int64)
        points = start[:, None] + np.sign(span)[:, None] * offsets
        ok = (
            logp_of(points.ravel(), np.repeat(active, ways - 1)).reshape(points.shape)
            <= threshold[active, None]
        )
        # the test is monotone from a to b: the qualifying points come first
        taken = ok.sum(axis=1)
        row = np.arange(active.size)
        a[active] = np.where(taken > 0, points[row, taken - 1], start)
        b[active] = np.where(
            taken < ways - 1, points[row, np.minimum(taken, ways - 2)], b[active]
        )


def bh_q(p_values: Any, tested: Any = None) -> np.ndarray:
    """Benjamini-Hochberg q-values (adjusted p-values); NaN entries stay NaN.

    The family is every finite entry of ``p_values`` that ``tested`` (a
    boolean mask like ``p_values``; default all) marks. An entry it does not
    mark is no test at all (e.g. a matrix cell no network of the population
    has, whose count cannot differ from chance): its q-value is 1 and it does
    not enlarge the family, which would only make every other q-value larger.
    Uses the algorithm of :func:`scipy.stats.false_discovery_control`
    (``method="bh"``), step for step (so the same numbers, bit for bit),
    without importing scipy.stats (about half a second).

    Examples
    --------
    >>> bh_q([0.5, 0.6, 0.1, 0.001]).tolist()
    [0.6, 0.6, 0.2, 0.004]
    >>> bh_q([0.5, 1.0, 0.25, 0.001], tested=[True, False, True, True]).tolist()
    [0.5, 1.0, 0.375, 0.003]
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    family = np.isfinite(p)
    if tested is not None:
        marked = np.broadcast_to(np.asarray(tested, dtype=bool), p.shape)
        q[family & ~marked] = 1.0
        family &= marked
    if family.any():
        q[family] = _bh(np.clip(p[family], 0.0, 1.0))
    return q


def nontrivial_tests(successes: Any, draws: int, population: int) -> np.ndarray:
    """Which hypergeometric tests of :func:`hypergeom_two_sided` are tests:
    those whose count can take two values or more (``0 < successes <
    population`` and ``0 < draws < population``). The others (a cell no
    network of the population has, or all of it; an empty selection or all
    of the population) get p = 1 whatever happened, and :func:`bh_q` leaves
    them out of the family."""
    k = np.asarray(successes, dtype=np.int64)
    if not 0 < int(draws) < int(population):
        return np.zeros(k.shape, dtype=bool)
    out: np.ndarray = (k > 0) & (k < int(population))
    return out


def nontrivial_cells(pairs: pd.DataFrame, selected: int, population: int) -> np.ndarray:
    """:func:`nontrivial_tests` of the cells of a :func:`pair_statistics`
    frame (of a selection of ``selected`` networks among ``population``),
    from its ``expected`` column: ``selected * K / population`` is exactly 0
    where no network of the population has the pair (``K = 0``) and exactly
    ``selected`` where all have it (products below ``2**53``)."""
    expected = pairs["expected"].to_numpy(dtype=np.float64)
    if not 0 < int(selected) < int(population):
        return np.zeros(len(expected), dtype=bool)
    out: np.ndarray = (expected > 0) & (expected < int(selected))
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of finite ``p`` in [0, 1].

    :func:`scipy.stats.false_discovery_control`'s own steps: sort, multiply
    by ``m / i``, running minimum from the largest, back in input order,
    clipped to [0, 1].
    """
    m = len(p)
    if m <= 1:
        return p.copy()
    order = np.argsort(p)
    ps = p[order]
    ps = ps * (m / np.arange(1, m + 1, dtype=np.float64))
    np.minimum.accumulate(ps[::-1], out=ps[::-1])
    out = np.empty_like(ps)
    out[order] = ps
    clipped: np.ndarray = np.clip(out, 0.0, 1.0)
    return clipped


def t_quantile(q: float, df: np.ndarray) -> np.ndarray:
    """``scipy.stats.t.ppf(q, df)`` for ``df > 0`` (NaN elsewhere), from
    :func:`scipy.special.stdtrit` as scipy.stats computes it, without
    importing scipy.stats. Each distinct ``df`` is inverted once (a
    trellis' cells share few counts on small tables: 20 to 90 distinct of
    420 at 13,000 rows; ``stdtrit`` iterates, about 0.5 us a value)."""
    df = np.asarray(df, dtype=np.float64)
    distinct, at = np.unique(df, return_inverse=True)
    with np.errstate(invalid="ignore"):
        out = special.stdtrit(np.where(distinct > 0, distinct, np.nan), q)
    return np.asarray(out, dtype=np.float64)[at].reshape(df.shape)


def chi2_sf(statistic: float, dof: int) -> float:
    """``scipy.stats.chi2.sf(statistic, dof)`` for ``dof >= 1`` (its
    :func:`scipy.special.chdtrc`), without importing scipy.stats."""
    if statistic <= 0.0:
        return 1.0
    return float(special.chdtrc(float(dof), statistic))


def _population(
    ens: Ensemble, selection: Selection | None
) -> tuple[np.ndarray, np.ndarray]:
    """(selected mask, where-passing mask); the selection must lie inside."""
    mask = selection_mask(ens, selection)
    if selection is None:
        return mask, np.ones(len(ens.table), dtype=bool)
    population = where_mask(ens, selection.where)
    if np.any(mask & ~population):
        raise SelectionError(
            f"the selection holds {int(np.sum(mask & ~population))} row(s) that do "
            f"not pass its own where filter {dict(selection.where)!r}; build it with "
            "hpcore.select"
        )
    return mask, population


def _as_selection(mask: np.ndarray, like: Selection | None) -> Selection:
    return Selection(
        mask=mask.copy(),
        count=int(mask.sum()),
        range=like.range if like is not None else (0.0, 1.0),
        where=dict(like.where) if like is not None else {},
    )


# --------------------------------------------------------------------------
# pair matrix
# --------------------------------------------------------------------------


def pair_statistics(ens: Ensemble, selection: Selection | None = None) -> pd.DataFrame:
    """Pair counts with expected counts, enrichment and exact significance.

    For every cell of the pair matrix (see :func:`hpcore.pair_counts`):

    - ``expected`` = selection size x the share of rows with that option pair
      among the rows that pass the selection's ``where`` filter (the
      *population*). Hyper-parameters were sampled at random, so without any
      link to the metric the selection is a random sample of the population
      and this is its expected count.
    - ``enrichment`` = ``count / expected`` (NaN where ``expected`` is 0).
    - ``p_value``: exact two-sided hypergeometric test of drawing ``count``
      rows with the pair in a sample of the selection's size, without
      replacement, from the population (population N = where-passing rows,
      K = those with the pair, n = selection size); see
      :func:`hypergeom_two_sided`. Cells where the test is trivial (K = 0,
      K = N, n = 0 or n = N) get 1.
    - ``q_value``: Benjamini-Hochberg over the cells with a test (1 for the
      trivial ones, which do not count in the family; :func:`nontrivial_tests`).

    Caveat: cells of one block are dependent (each block sums to the
    selection size) and a cell reappears in the blocks of other pairs; BH is
    the usual, not a proven, control for such positively dependent tests.

    Parameters
    ----------
    ens : Ensemble
    selection : Selection, optional
        Built by :func:`hpcore.select` on ``ens``; all rows when None (then
        every p-value is 1).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`hpcore.pair_counts` (same rows, same order) plus
        ``expected, enrichment, p_value, q_value`` (float64).

    Raises
    ------
    SelectionError
        The selection belongs to another ensemble or holds rows that fail its
        own ``where`` filter.

    Examples
    --------
    >>> import pandas as pd, hpcore
    >>> ens = hpcore.normalize(hpcore.load(pd.DataFrame({
    ...     "a": list("xxyy"), "b": list("uvuv"), "acc": [1.0, 2.0, 3.0, 4.0]})))
    >>> st = pair_statistics(ens, hpcore.select(ens, range=(0.5, 1.0)))
    >>> st[["option_a", "option_b", "count", "expected"]].values.tolist()
    [['x', 'u', 0, 0.5], ['x', 'v', 0, 0.5], ['y', 'u', 1, 0.5], ['y', 'v', 1, 0.5]]
    """
    mask, population = _population(ens, selection)
    return enrich_pair_counts(
        pair_counts(ens, selection),
        pair_counts(ens, _as_selection(population, selection)),
        selected=int(mask.sum()),
        population=int(population.sum()),
    )


def _same_labels(first: pd.DataFrame, second: pd.DataFrame, keys: list[str]) -> bool:
    """True when both frames hold the very same label arrays (frames copied
    from one template, as the engine makes them): equal without comparing.

    The arrays are read from the frames' blocks where this pandas has them
    (``iget_values``: a few microseconds a column against ~12 for
    ``frame[key].array``, which is a tenth of a millisecond a brush)."""
    for key in keys:
        a, b = _column_array(first, key), _column_array(second, key)
        if a is b:
            continue
        data = getattr(a, "_pa_array", None)  # pyarrow-backed strings
        if data is None or data is not getattr(b, "_pa_array", None):
            return False
    return True


def _column_array(frame: pd.DataFrame, key: str) -> object:
    """The array behind column ``key`` (a label not repeated in ``frame``)."""
    column = getattr(getattr(frame, "_mgr", None), "iget_values", None)
    at = frame.columns.get_loc(key)
    if column is None or not isinstance(at, int):
        return frame[key].array
    return column(at)


def _check_counts_frames(first: pd.DataFrame, second: pd.DataFrame, what: str) -> None:
    keys = ["param_a", "option_a", "param_b", "option_b"]
    for frame in (first, second):
        missing = [c for c in (*keys, "count") if c not in frame.columns]
        if missing:
            raise HpcoreError(f"{what}: a pair-count frame lacks column(s) {missing}")
    if len(first) != len(second) or not (
        _same_labels(first, second, keys)
        or first[keys]
        .reset_index(drop=True)
        .equals(second[keys].reset_index(drop=True))
    ):
        raise HpcoreError(
            f"{what}: the two pair-count frames must list the same cells in the "
            f"same order (from the same ensemble); got {len(first)} and "
            f"{len(second)} rows"
        )


def enrich_pair_counts(
    counts: pd.DataFrame,
    population_counts: pd.DataFrame,
    *,
    selected: int,
    population: int,
) -> pd.DataFrame:
    """:func:`pair_statistics` from pair-count frames already computed.

    For callers that count elsewhere (e.g. the fast brushing engine): pass
    the selection's pair counts and those of its population (the rows that
    pass its ``where`` filter, any metric value) with the two sizes.

    Parameters
    ----------
    counts, population_counts : pandas.DataFrame
        Frames of :func:`hpcore.pair_counts` over the same ensemble (same
        rows in the same order).
    selected, population : int
        Selection size and population size.

    Returns
    -------
    pandas.DataFrame
        ``counts`` plus ``expected, enrichment, p_value, q_value`` (see
        :func:`pair_statistics`).
    """
    _check_counts_frames(counts, population_counts, "enrich_pair_counts")
    n_sel, n_pop = int(selected), int(population)
    count = counts["count"].to_numpy(dtype=np.int64)
    k_pop = population_counts["count"].to_numpy(dtype=np.int64)
    expected = (
        n_sel * k_pop / n_pop if n_pop else np.zeros(len(count), dtype=np.float64)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        enrichment = np.where(
            expected > 0, count / np.where(expected > 0, expected, 1.0), np.nan
        )
    p = hypergeom_two_sided(count, n_pop, k_pop, n_sel) if len(count) else np.zeros(0)
    return with_columns(
        counts,
        expected=np.asarray(expected, dtype=np.float64),
        enrichment=enrichment.astype(np.float64),
        p_value=p,
        q_value=bh_q(p, nontrivial_tests(k_pop, n_sel, n_pop)),
    )


# --------------------------------------------------------------------------
# parameter importance
# --------------------------------------------------------------------------


def _chi2_two_rows(table: np.ndarray) -> np.ndarray:
    """Pearson chi-square of 2 x k tables, stacked along axis 0: (B, 2, k)."""
    rows = table.sum(axis=2, keepdims=True)
    cols = table.sum(axis=1, keepdims=True)
    total = table.sum(axis=(1, 2), keepdims=True)
    expected = rows * cols / total
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)
    out: np.ndarray = terms.sum(axis=(1, 2))
    return out


OPTION_COUNT_COLUMNS = ("parameter", "option", "count")


def option_frame(ens: Ensemble, counts: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Long frame from per-parameter option counts, in parameter and option order."""
    names: list[str] = []
    options: list[str] = []
    parts: list[np.ndarray] = []
    for name in ens.parameters:
        opts = ens.options(name)
        names += [name] * len(opts)
        options += list(opts)
        parts.append(np.asarray(counts[name]).reshape(-1))
    return pd.DataFrame(
        {
            "parameter": labels(names),
            "option": labels(options),
            "count": (np.concatenate(parts) if parts else np.zeros(0)).astype(np.int64),
        }
    )


def option_counts(ens: Ensemble, selection: Selection | None = None) -> pd.DataFrame:
    """Number of selected rows with each option of each parameter.

    Parameters
    ----------
    ens : Ensemble
    selection : Selection, optional
        The rows to count (all rows when None).

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter, option`` (str) and ``count`` (int64): every
        parameter in order, every option in option order, zeros included.
        Each parameter's counts sum to the selection size.
    """
    mask = selection_mask(ens, selection)
    return option_frame(
        ens,
        {
            name: np.bincount(
                ens.codes(name).to_numpy()[mask].astype(np.int64),
                minlength=len(ens.options(name)),
            )
            for name in ens.parameters
        },
    )


def parameter_importance(
    ens: Ensemble,
    selection: Selection | None = None,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """How strongly each parameter's option mix in the selection departs from chance.

    The reference is the *population*: the rows that pass the selection's
    ``where`` filter (a random sample of it would match its option shares up
    to chance).

    - ``score``: total variation distance between the option shares of the
      selection and of the population, ``0.5 * sum(|s_o - p_o|)`` in [0, 1]:
      the smallest share of selected networks that would have to change option
      for the selection to look like the population. 0 for an empty selection.
    - ``statistic``, ``dof``, ``p_value``: the selection is a subset of the
      population, so the clean test is the chi-square test of independence of
      *selected vs not selected* by option within the population (a 2 x k
      table over the options present, ``dof = k - 1``). When some expected
      count of that table is below :data:`MIN_EXPECTED` the chi-square law is
      not trusted and the p-value comes from ``resamples`` random selections
      of the same size drawn without replacement from the population
      (multivariate hypergeometric; ``(1 + #{X2* >= X2}) / (resamples + 1)``).
      ``test`` says which: ``"chi2"`` or ``"monte-carlo"``. A parameter with
      one option present, an empty selection or a selection of the whole
      population is not tested (``test`` ``"none"``): statistic 0, p-value 1.
    - ``q_value``: Benjamini-Hochberg over the tested parameters (1 for the
      others; see :func:`bh_q`).
    - ``top_option``, ``top_enrichment``: the option most over-represented in
      the selection and its selection share / population share (NaN and
      empty for an empty selection).

    Parameters
    ----------
    ens : Ensemble
    selection : Selection, optional
        All rows when None (every score 0).
    resamples : int, default=9999
        Monte Carlo draws for parameters with small expected counts.
    seed : int, default=0
        Seed of those draws (results are reproducible).

    Returns
    -------
    pandas.DataFrame
        One row per parameter with the columns :data:`IMPORTANCE_COLUMNS`,
        sorted by ``score`` (largest first; ties keep parameter order).

    See Also
    --------
    importance_from_counts : the same from option counts computed elsewhere.
    """
    _check_resamples(resamples)
    mask, population = _population(ens, selection)
    return importance_from_counts(
        option_counts(ens, _as_selection(mask, selection)),
        option_counts(ens, _as_selection(population, selection)),
        selected=int(mask.sum()),
        population=int(population.sum()),
        resamples=resamples,
        seed=seed,
    )


def _check_resamples(resamples: object) -> None:
    if not isinstance(resamples, int) or resamples < 1:
        raise HpcoreError(f"`resamples` must be a positive integer; got {resamples!r}")


def importance_from_counts(
    counts: pd.DataFrame,
    population_counts: pd.DataFrame,
    *,
    selected: int,
    population: int,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`parameter_importance` from option counts already computed.

    For callers that count elsewhere (e.g. the fast brushing engine's
    :meth:`~hpcore.BrushEngine.option_counts`): pass the selection's option
    counts and those of its population (the rows that pass its ``where``
    filter, any metric value) with the two sizes. The Monte Carlo test needs
    only these counts, so the result is the same, draw for draw.

    Parameters
    ----------
    counts, population_counts : pandas.DataFrame
        Frames of :func:`option_counts` over the same ensemble (same rows in
        the same order); the selection must lie inside the population.
    selected, population : int
        Selection size and population size: every parameter's counts sum to
        them.
    resamples, seed
        As in :func:`parameter_importance`.

    Returns
    -------
    pandas.DataFrame
        As :func:`parameter_importance`.

    Raises
    ------
    HpcoreError
        The frames differ in their rows, lack a column, or their counts do
        not fit the sizes or the selection does not lie inside the population.
    """
    _check_resamples(resamples)
    keys = ["parameter", "option"]
    for frame in (counts, population_counts):
        missing = [c for c in OPTION_COUNT_COLUMNS if c not in frame.columns]
        if missing:
            raise HpcoreError(
                f"importance_from_counts: an option-count frame lacks column(s) "
                f"{missing}"
            )
    if len(counts) != len(population_counts) or not (
        _same_labels(counts, population_counts, keys)
        or counts[keys]
        .reset_index(drop=True)
        .equals(population_counts[keys].reset_index(drop=True))
    ):
        raise HpcoreError(
            "importance_from_counts: the two option-count frames must list the "
            "same options in the same order (from the same ensemble); got "
            f"{len(counts)} and {len(population_counts)} rows"
        )
    n_sel, n_pop_all = int(selected), int(population)
    names = counts["parameter"].to_numpy(dtype=object)
    option_labels = counts["option"].to_numpy(dtype=object)
    sel_all = counts["count"].to_numpy(dtype=np.int64)
    pop_all = population_counts["count"].to_numpy(dtype=np.int64)
    if np.any(sel_all > pop_all) or np.any(sel_all < 0):
        raise HpcoreError(
            "importance_from_counts: the selection must lie inside its population "
            "(0 <= count <= population count for every option)"
        )
    rng = np.random.default_rng(seed)
    members: dict[object, list[int]] = {}  # each parameter's rows, in order
    for i, name in enumerate(names.tolist()):
        members.setdefault(name, []).append(i)
    rows = [
        _importance_row(
            name,
            *(v[at] for v in (sel_all, pop_all, option_labels)),
            n_sel=n_sel,
            n_pop_all=n_pop_all,
            rng=rng,
            resamples=resamples,
        )
        for name, at in members.items()
    ]
    # one frame from its columns (pandas' per-frame costs once, not per row
    # and per dtype: about 9.5 to 4 ms a brush), strongest first, ties in
    # parameter order
    column: dict[str, np.ndarray] = {
        c: np.array(
            [row[c] for row in rows],
            dtype=object if c in _TEXT else np.int64 if c == "dof" else np.float64,
        )
        for c in IMPORTANCE_COLUMNS
        if c != "q_value"
    }
    column["q_value"] = bh_q(column["p_value"], column["test"] != "none")
    order = np.argsort(-column["score"], kind="stable")
    return pd.DataFrame(
        {
            c: labels(column[c][order]) if c in _TEXT else column[c][order]
            for c in IMPORTANCE_COLUMNS
        }
    )


#: The text columns of :func:`importance_from_counts`' frame.
_TEXT = ("parameter", "test", "top_option")


def _importance_row(
    name: object,
    sel: np.ndarray,
    pop: np.ndarray,
    option_labels: np.ndarray,
    *,
    n_sel: int,
    n_pop_all: int,
    rng: np.random.Generator,
    resamples: int,
) -> dict[str, object]:
    """:func:`importance_from_counts`' row of one parameter (its options'
    selected and population counts and labels), without ``q_value``."""
    if int(sel.sum()) != n_sel or int(pop.sum()) != n_pop_all:
        raise HpcoreError(
            f"importance_from_counts: the counts of parameter {name!r} sum to "
            f"{int(sel.sum())} and {int(pop.sum())}; expected selected="
            f"{n_sel} and population={n_pop_all}"
        )
    present = pop > 0
    pop_p, sel_p = pop[present], sel[present]
    table = np.stack([sel_p, pop_p - sel_p]).astype(np.float64)
    n_pop = int(pop_p.sum())
    score = 0.0
    top_option, top_enrichment = "", float("nan")
    if n_sel:
        shares_sel = sel_p / n_sel
        shares_pop = pop_p / n_pop
        score = float(0.5 * np.abs(shares_sel - shares_pop).sum())
        ratio = shares_sel / shares_pop
        best = int(np.argmax(ratio))
        top_option = str(option_labels[present][best])
        top_enrichment = float(ratio[best])
    dof = int(present.sum()) - 1
    test = "chi2"
    if dof < 1 or n_sel in (0, n_pop):
        statistic, p_value, test = 0.0, 1.0, "none"
    else:
        statistic = float(_chi2_two_rows(table[None])[0])
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n_pop
        if expected.min() >= MIN_EXPECTED:
            p_value = chi2_sf(statistic, dof)
        else:
            test = "monte-carlo"
            draws = rng.multivariate_hypergeometric(
                pop_p, n_sel, size=resamples
            ).astype(np.float64)
            tables = np.stack([draws, pop_p[None, :] - draws], axis=1)
            null = _chi2_two_rows(tables)
            exceed = int(np.sum(null >= statistic * (1.0 - 1e-12)))
            p_value = (1 + exceed) / (resamples + 1)
    return {
        "parameter": name,
        "score": score,
        "statistic": statistic,
        "dof": max(dof, 0),
        "p_value": p_value,
        "test": test,
        "top_option": top_option,
        "top_enrichment": top_enrichment,
    }


# --------------------------------------------------------------------------
# trellis confidence intervals
# --------------------------------------------------------------------------


def trellis_with_ci(
    ens: Ensemble,
    selection: Selection | None = None,
    *,
    primary: str,
    secondary: str | None = None,
    value: str = "normalized",
    level: float = 0.95,
) -> pd.DataFrame:
    """:func:`hpcore.trellis` plus a Student-t confidence interval of every mean.

    The interval of a cell with ``n`` rows, mean ``m`` and sample standard
    deviation ``s`` (``ddof=1``) is ``m -/+ t_{(1+level)/2, n-1} * s / sqrt(n)``:
    the usual t-interval, which treats the cell's rows as a random sample
    (approximately right for the means of a few dozen rows or more even when
    the metric is skewed; for tiny cells read it as a rough guide).

    Parameters
    ----------
    ens, selection, primary, secondary, value
        As in :func:`hpcore.trellis`.
    level : float, default=0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    pandas.DataFrame
        The frame of :func:`hpcore.trellis` (same rows and order) plus
        ``ci_low, ci_high`` (float64); NaN where ``count < 2``. A cell whose
        values are all equal gets ``ci_low == ci_high == mean``.
    """
    _check_level(level)
    base = trellis(ens, selection, primary=primary, secondary=secondary, value=value)
    check_trellis_args(ens, primary, secondary, value)
    mask = selection_mask(ens, selection)
    y = ens.table[value].to_numpy(dtype=np.float64)[mask]
    kp = len(ens.options(primary))
    ks = len(ens.options(secondary)) if secondary else 1
    cell = ens.codes(primary).to_numpy()[mask].astype(np.int64) * ks
    if secondary:
        cell = cell + ens.codes(secondary).to_numpy()[mask]
    spread: list[np.ndarray] = []
    for p in trellis_panels(ens, primary, secondary):
        size = len(ens.options(p)) * kp * ks
        flat = ens.codes(p).to_numpy()[mask].astype(np.int64) * (kp * ks) + cell
        n = np.bincount(flat, minlength=size).astype(np.float64)
        mean = np.bincount(flat, weights=y, minlength=size) / np.maximum(n, 1.0)
        spread.append(np.bincount(flat, weights=(y - mean[flat]) ** 2, minlength=size))
    ss = np.concatenate(spread) if spread else np.zeros(0)
    return trellis_ci_from_moments(base.assign(sum_sq_dev=ss), level=level)


def _check_level(level: object) -> None:
    if (
        isinstance(level, bool)
        or not isinstance(level, float | int)
        or not 0.0 < float(level) < 1.0
    ):
        raise HpcoreError(f"`level` must lie strictly between 0 and 1; got {level!r}")


def trellis_ci_from_moments(
    moments: pd.DataFrame, *, level: float = 0.95
) -> pd.DataFrame:
    """:func:`trellis_with_ci` from a trellis with per-cell spreads computed elsewhere.

    For callers that aggregate elsewhere (e.g. the fast brushing engine's
    :meth:`~hpcore.BrushEngine.trellis_moments`).

    Parameters
    ----------
    moments : pandas.DataFrame
        A :func:`hpcore.trellis` frame plus ``sum_sq_dev``: per cell the sum
        of squared deviations of its values from its mean.
    level : float, default=0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    pandas.DataFrame
        The trellis columns (without ``sum_sq_dev``) plus ``ci_low, ci_high``
        as in :func:`trellis_with_ci`: ``mean -/+ t * sd / sqrt(n)`` with
        ``sd = sqrt(sum_sq_dev / (n - 1))``; NaN where ``count < 2``.
    """
    _check_level(level)
    missing = [c for c in ("mean", "count", "sum_sq_dev") if c not in moments.columns]
    if missing:
        raise HpcoreError(f"trellis_ci_from_moments: missing column(s) {missing}")
    n = moments["count"].to_numpy(dtype=np.float64)
    ss = moments["sum_sq_dev"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(ss / (n - 1.0))
        t = t_quantile(0.5 + float(level) / 2.0, n - 1.0)
        half = np.where(n >= 2, t * sd / np.sqrt(n), np.nan)
    means = moments["mean"].to_numpy(dtype=np.float64)
    return with_columns(
        moments, drop=("sum_sq_dev",), ci_low=means - half, ci_high=means + half
    )


# --------------------------------------------------------------------------
# comparing two selections
# --------------------------------------------------------------------------


def compare_selections(
    ens: Ensemble, sel_a: Selection, sel_b: Selection
) -> pd.DataFrame:
    """Where two selections differ in their option pairs, and by how much.

    For every cell of the pair matrix: the count and share (count / selection
    size) in each selection, ``difference = share_b - share_a`` (positive:
    more common in ``b``), and Fisher's exact two-sided test of equal shares
    on the 2x2 table ``[[count_a, n_a - count_a], [count_b, n_b - count_b]]``
    (computed with :func:`hypergeom_two_sided`), with Benjamini-Hochberg
    q-values over the cells with a test (:func:`nontrivial_tests`: not empty or
    full in both selections together, neither selection empty). The test
    treats the two selections as independent samples: exact for disjoint
    selections (e.g. the main mode vs the top models, paper Fig. 3); when they
    overlap the shared rows make the shares positively correlated and the
    test conservative.

    Parameters
    ----------
    ens : Ensemble
    sel_a, sel_b : Selection
        Two selections on ``ens`` (e.g. ``a`` the main mode, ``b`` the top).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARE_COLUMNS`: the four pair columns of
        :func:`hpcore.pair_counts` (same order), ``count_a, count_b`` (int64),
        ``share_a, share_b, difference`` (float64; shares NaN for an empty
        selection), ``p_value, q_value`` (float64; p and q are 1 where a
        selection is empty or the cell is empty, or full, in both).
    """
    for name, sel in (("sel_a", sel_a), ("sel_b", sel_b)):
        if not isinstance(sel, Selection):
            raise SelectionError(
                f"{name} must be an hpcore.Selection (from hpcore.select); "
                f"got {type(sel).__name__}"
            )
    return compare_pair_counts(
        pair_counts(ens, sel_a),
        pair_counts(ens, sel_b),
        size_a=int(sel_a.mask.sum()),
        size_b=int(sel_b.mask.sum()),
    )


def compare_pair_counts(
    counts_a: pd.DataFrame, counts_b: pd.DataFrame, *, size_a: int, size_b: int
) -> pd.DataFrame:
    """:func:`compare_selections` from pair-count frames already computed.

    Parameters
    ----------
    counts_a, counts_b : pandas.DataFrame
        Frames of :func:`hpcore.pair_counts` of the two selections (same
        ensemble, same rows in the same order).
    size_a, size_b : int
        The two selection sizes.

    Returns
    -------
    pandas.DataFrame
        As :func:`compare_selections`.
    """
    _check_counts_frames(counts_a, counts_b, "compare_pair_counts")
    ca = counts_a["count"].to_numpy(dtype=np.int64)
    cb = counts_b["count"].to_numpy(dtype=np.int64)
    na, nb = int(size_a), int(size_b)
    share_a = ca / na if na else np.full(len(ca), np.nan)
    share_b = cb / nb if nb else np.full(len(cb), np.nan)
    p = hypergeom_two_sided(ca, na + nb, ca + cb, na) if len(ca) else np.zeros(0)
    tested = nontrivial_tests(ca + cb, na, na + nb)
    out = with_columns(
        counts_a,
        drop=("count",),
        count_a=ca,
        count_b=cb,
        share_a=np.asarray(share_a, dtype=np.float64),
        share_b=np.asarray(share_b, dtype=np.float64),
        difference=np.asarray(share_b - share_a, dtype=np.float64),
        p_value=p,
        q_value=bh_q(p, tested),
    )
    return out[list(COMPARE_COLUMNS)]
