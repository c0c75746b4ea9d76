"""Hypergeometric log-probabilities and tails, vectorized, mostly without scipy.stats.

The pair matrix tests every cell on every brush (804 cells of the NWS table).
``scipy.stats.hypergeom`` costs about a second to import and a millisecond of
argument checking per call, which the p-values' binary searches call a few
dozen times: on small tables that overhead is most of a brush. Here:

- :func:`logpmf` is ``scipy.stats.hypergeom.logpmf``'s own formula (sums of
  :func:`scipy.special.betaln`), without the distribution machinery, so the
  binary searches decide exactly as before;
- :func:`log_tail` sums a tail outwards from its inner end, for all entries at
  once, with the exact ratio of consecutive probabilities
  ``P(X = j - 1) / P(X = j) = j (N - K - n + j) / ((K - j + 1)(n - j + 1))``
  (and its mirror on the right). Beyond the mode every ratio is below one, so
  the terms fall at least geometrically and the sum stops once a term is below
  ``2**-60`` of it: a handful of standard deviations of terms. The sums are
  kept relative to the end's probability and combined in logs.

The summed tails are as exact as the log-probability of their end, which
``betaln`` gives to about ``1e-16 * log(population)`` absolutely: relative
errors of ~1e-11 at a hundred thousand rows (checked against
``scipy.stats.fisher_exact`` on every table with population <= 12 and against
the scipy tails on large ones). Above :data:`OWN_TAILS_UP_TO` networks, or when
the tails would take many terms, :func:`tails` hands them to scipy's
compiled (and at that size more precise) ``cdf``/``sf`` (:func:`compiled_tails`).

Cost: both ways sum a tail term by term, about ten standard deviations of
terms, and the standard deviation of a cell's count grows with the square
root of the rows: the one part of a brush that grows with the table (about
10 ms for the 804 cells at ten million rows, against 1 to 3 ms for the rest of
a range drag). A cost independent of the rows needs the tail sums from an
asymptotic or quadrature form (Euler-Maclaurin over the log-probability's
continuous extension, with the end's probability from Boost), which is not
built.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from scipy.special import betaln

#: Terms summed per entry and step of a tail sum.
BLOCK = 64
#: A tail's sum stops once its next term is below this share of the sum.
STOP = 2.0**-60
#: Populations up to this size have their tails summed here; larger ones by scipy.
OWN_TAILS_UP_TO = 1 << 17
#: ... and only while the sums stay short (terms over all entries).
OWN_TERMS_UP_TO = 2_000_000


def logpmf(
    x: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """``log P(X = x)``, as ``scipy.stats.hypergeom.logpmf`` computes it."""
    return LogPmf(population, successes, draws)(x)


class LogPmf:
    """:func:`logpmf` at many ``x`` for fixed ``population, successes, draws``.

    The terms that do not depend on ``x`` are computed once; the sum is
    taken in :func:`logpmf`'s (scipy's) order, so the numbers are the same
    bit for bit, with two ``betaln`` per call instead of six.
    """

    def __init__(
        self, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
    ) -> None:
        nn, kk, dd = (
            np.asarray(a, dtype=np.float64) for a in (population, successes, draws)
        )
        self.kk, self.dd, self.bad = kk, dd, nn - kk
        with np.errstate(invalid="ignore", divide="ignore"):
            self.head = (
                betaln(self.bad + 1.0, 1.0)
                + betaln(kk + 1.0, 1.0)
                + betaln(nn - dd + 1.0, dd + 1.0)
            )
            self.tail = betaln(nn + 1.0, 1.0)

    def __call__(self, x: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
        """``logpmf(x)`` of all entries, or of entries ``at`` (``x`` of them)."""
        xx = np.asarray(x, dtype=np.float64)
        head, tail, kk, dd, bad = self.head, self.tail, self.kk, self.dd, self.bad
        if at is not None:
            head, tail, kk, dd, bad = (a[at] for a in (head, tail, kk, dd, bad))
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = (
                head
                - betaln(xx + 1.0, kk - xx + 1.0)
                - betaln(dd - xx + 1.0, bad - dd + xx + 1.0)
                - tail
            )
        return out


def neighbour_ratio(
    j: np.ndarray, step: int, successes: np.ndarray, draws: np.ndarray, bad: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of ``P(X = j + step) / P(X = j)``.

    ``step`` is -1 or +1; ``bad`` is ``population - successes``. Exact
    products of integers (as floats), so the ratio has one rounding.
    """
    if step < 0:
        return j * (bad - draws + j), (successes - j + 1.0) * (draws - j + 1.0)
    return (successes - j) * (draws - j), (j + 1.0) * (bad - draws + j + 1.0)


def log_tail(
    end: np.ndarray,
    stop: np.ndarray,
    step: int,
    population: np.ndarray,
    successes: np.ndarray,
    draws: np.ndarray,
) -> np.ndarray:
    """``log sum_j P(X = j) / P(X = end)`` over ``j`` from ``end`` to ``stop``.

    ``step`` is -1 (the left tail: ``stop <= end``, ``end`` at or below the
    mode) or +1 (the right tail). Arrays of equal shape.
    """
    nn, kk, dd = (
        np.asarray(a, dtype=np.float64) for a in (population, successes, draws)
    )
    bad = nn - kk
    total = np.ones(np.shape(end), dtype=np.float64)
    last = np.ones(np.shape(end), dtype=np.float64)  # the last term summed
    here = np.asarray(end, dtype=np.float64).copy()
    goal = np.asarray(stop, dtype=np.float64)
    active = np.flatnonzero(here != goal)
    offsets = np.arange(BLOCK, dtype=np.float64)
    while active.size:
        j = here[active, None] + step * offsets  # the index each ratio starts at
        num, den = neighbour_ratio(
            j, step, kk[active, None], dd[active, None], bad[active, None]
        )
        left = np.abs(goal[active] - here[active])  # terms before the support ends
        valid = offsets[None, :] < left[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(valid, num / den, 0.0)
        terms = last[active, None] * np.cumprod(ratio, axis=1)
        total[active] += terms.sum(axis=1)
        taken = np.minimum(left, BLOCK)
        last[active] = terms[np.arange(active.size), (taken - 1).astype(np.intp)]
        here[active] += step * taken
        done = (here[active] == goal[active]) | (last[active] <= STOP * total[active])
        active = active[~done]
    return np.log(total)


def _terms(population: np.ndarray, successes: np.ndarray, draws: np.ndarray) -> float:
    """About how many terms the tails of these entries take (ten deviations)."""
    nn, kk, dd = (
        np.asarray(a, dtype=np.float64) for a in (population, successes, draws)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        var = dd * (kk / nn) * (1.0 - kk / nn) * (nn - dd) / np.maximum(nn - 1.0, 1.0)
    return float(np.sum(20.0 * np.sqrt(np.nan_to_num(var)) + 20.0))


Tail = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@functools.cache
def compiled_tails() -> tuple[Tail, Tail]:
    """``scipy.stats.hypergeom``'s ``cdf`` and ``sf`` (Boost's sums), as
    ``(x, population, successes, draws) -> probability``.

    The compiled functions that ``scipy.stats.hypergeom`` itself calls,
    taken from ``scipy.special`` where this scipy has them (1.11 and later):
    the same numbers without importing ``scipy.stats`` (about a second,
    which the first brush of a large table would pay) or its argument
    handling on every call. Another scipy gets the public distribution.
    """
    try:
        from scipy.special._ufuncs import _hypergeom_cdf, _hypergeom_sf
    except ImportError:  # pragma: no cover - an older or newer scipy
        from scipy import stats

        return stats.hypergeom.cdf, stats.hypergeom.sf

    def cdf(
        x: np.ndarray, nn: np.ndarray, kk: np.ndarray, dd: np.ndarray
    ) -> np.ndarray:
        return np.asarray(_hypergeom_cdf(x, kk, dd, nn), dtype=np.float64)

    def sf(x: np.ndarray, nn: np.ndarray, kk: np.ndarray, dd: np.ndarray) -> np.ndarray:
        return np.asarray(_hypergeom_sf(x, kk, dd, nn), dtype=np.float64)

    return cdf, sf


def tails(
    left: np.ndarray,
    right: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    population: np.ndarray,
    successes: np.ndarray,
    draws: np.ndarray,
) -> np.ndarray:
    """``P(X <= left) + P(X >= right)`` (a side whose end lies outside the
    support ``[lo, hi]`` counts 0), capped at 1."""
    nn, kk, dd = population, successes, draws
    own = bool(np.max(nn, initial=0) <= OWN_TAILS_UP_TO) and (
        _terms(nn, kk, dd) <= OWN_TERMS_UP_TO
    )
    if not own:
        cdf, sf = compiled_tails()
        p = np.zeros(np.shape(left), dtype=np.float64)
        s = np.flatnonzero(left >= lo)
        p[s] += cdf(left[s], nn[s], kk[s], dd[s])
        s = np.flatnonzero(right <= hi)
        p[s] += sf(right[s] - 1, nn[s], kk[s], dd[s])
        return np.asarray(np.minimum(p, 1.0), dtype=np.float64)
    log_p = np.full(np.shape(left), -np.inf)
    for side, end, stop, step in (
        (left >= lo, left, lo, -1),
        (right <= hi, right, hi, 1),
    ):
        s = np.flatnonzero(side)
        if not s.size:
            continue
        part = logpmf(end[s], nn[s], kk[s], dd[s]) + log_tail(
            end[s], stop[s], step, nn[s], kk[s], dd[s]
        )
        log_p[s] = np.logaddexp(log_p[s], part)
    return np.asarray(np.minimum(np.exp(log_p), 1.0), dtype=np.float64)
