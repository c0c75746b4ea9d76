"""Exact hypergeometric probabilities and tails, vectorized, at a cost per
entry that does not grow with the table.

The pair matrix tests every cell on every brush (804 cells of the NWS table).
``scipy.stats.hypergeom`` costs about a second to import and a millisecond of
argument checking per call, and its ``cdf``/``sf`` (Boost's) sum a tail term
by term: about ten standard deviations of terms, which grow with the square
root of the rows (25 ms for the 804 cells at ten million rows). Here:

- :func:`log_probability` is ``log P(X = x)`` to ~1e-12 at any size: Loader's
  factorization into three binomial probabilities,
  ``P(X = x) = b(x; K, p) b(n - x; N - K, p) / b(n; N, p)`` (an identity for
  every ``p``; ``p = n / N`` keeps all three near their modes), each from
  the compiled Boost binomial probability that ``scipy.stats.binom`` calls
  (:func:`compiled_binomial`). (:func:`logpmf`, scipy's own formula from
  ``betaln``, has an absolute error of the order of the population times
  the rounding: ~1e-10 at 10**5 rows, ~3e-8 at 10**7; it is kept where a
  probability underflows.) :func:`log_probability_bound`, the Chernoff
  bound of ``P(X = x)``, sets aside cheaply the counts whose probability is
  far below the smallest double.
- :func:`log_ratio` is ``log P(x + h) / P(x)`` to ~1e-13 however far apart:
  each log-gamma difference ``lgamma(z + d) - lgamma(z)`` is written as
  ``(z - 1/2) log1p(d / z) + d log(z + d) - d`` plus the difference of
  Stirling's series (three terms; arguments of at least
  :data:`STIRLING_FROM`, smaller ones by ``gammaln``), and the four
  ``d log(z + d)`` are one log of a product ratio, so nothing large cancels.
  The tests' searches compare counts through it, and the tails' ends get
  their probabilities from ``P(k)`` through it.
- :func:`right_tail` sums a tail relative to its end's probability (a left
  tail is the right tail of the mirrored law ``n - X``, so :func:`tails`
  sums both sides in one pass). A tail of a few terms, or one whose terms
  fall fast, is summed term by term with the exact ratio of neighbouring
  probabilities (:func:`neighbour_ratio`) until a term is below ``2**-60``
  of the sum. A long tail (more than :data:`LONG_TAIL` terms) of a smooth
  log-probability is summed in closed form by the Euler-Maclaurin formula:
  ``sum_{h >= 0} G(h) = G(0)/2 + integral_0^inf G - sum_k B_2k/(2k)!
  G^(2k-1)(0)``, with ``G(h) = P(end + h) / P(end)`` continued to real
  ``h`` (:func:`stirling_log_ratio`). The integral is a :data:`NODES`-point
  Gauss-Legendre rule over the window where ``log G`` falls by
  :data:`WINDOW_DROP`; the derivatives at the end are those of the
  polynomial through the exact ``log G`` at :data:`FIT` counts on each
  side (which needs every argument at least :data:`SMOOTH_FROM`). The
  correction series converges like ``(slope / 2 pi)**(2k)``, so it is used
  only where the terms fall by less than a factor ``e**-0.5`` per count
  (:data:`MAX_SLOPE`): 7 terms give ~1e-15.

Accuracy, checked against 40-digit sums (mpmath) from 2,000 to 10**7 rows
(tests/test_hypergeom.py): the log of a tail's sum to ~1e-13,
:func:`log_probability` to ~1e-12, so tails and p-values to a relative
~1e-12 (scipy's Boost sums are ~1e-9 off at 10**7 rows, from their
starting probability). Cost per entry: a fixed number of array operations
whatever the rows (24 nodes for a long tail, at most ~100 terms for a
short one).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from scipy.special import betaln, gammaln, xlogy

#: Largest number of terms per entry and round of a tail summed term by term
#: (the first round takes what the entry is expected to need, at least 16,
#: and each next one twice as many).
BLOCK = 128
#: A tail's sum stops once its next term is below this share of the sum.
STOP = 2.0**-60
#: Tails longer than this many terms are summed in closed form where they can be.
LONG_TAIL = 96
#: ... where the terms fall by less than ``exp(-MAX_SLOPE)`` per count at the end.
MAX_SLOPE = 0.5
#: ... and every log-gamma argument over the window is at least this large
#: (the derivatives at the end come from :data:`FIT` neighbouring
#: probabilities on each side, which needs the ninth derivative negligible).
SMOOTH_FROM = 50.0
#: Counts on either side of a tail's end whose exact probabilities give the
#: Taylor coefficients of the log-probability there (degree ``2 * FIT``).
FIT = 4
#: Arguments from which differences of log-gamma values are taken from
#: Stirling's series (three terms: error below ``5e-13`` per argument).
STIRLING_FROM = 20.0
#: The closed form's integral covers the counts whose log-probability is
#: within this of the end's (``exp(-40)`` is ``4e-18``).
WINDOW_DROP = 40.0
#: Gauss-Legendre nodes of that integral (~1e-14 on the window).
NODES = 24
#: ``B_2k / (2k)`` for ``k = 1..7``: the Euler-Maclaurin correction of a tail
#: ``sum_{h>=0} G(h)`` is ``-sum_k B_2k / (2k) * e_(2k-1)``, with ``e_m`` the
#: Taylor coefficients of ``G`` at the end.
EULER_MACLAURIN = np.array(
    [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6]
) / np.arange(2, 16, 2)
#: How the four log-gamma arguments of ``P(X = x)`` move when ``x`` grows:
#: ``x + 1, K - x + 1, n - x + 1, N - K - n + x + 1``.
MOVES = np.array([1.0, -1.0, -1.0, 1.0])


def logpmf(
    x: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """``log P(X = x)``, as ``scipy.stats.hypergeom.logpmf`` computes it
    (differences of ``betaln``: an absolute error growing with the population,
    ~3e-8 at 10**7; :func:`log_probability` is exact to ~1e-12)."""
    xx, nn, kk, dd = (
        np.asarray(v, dtype=np.float64) for v in (x, population, successes, draws)
    )
    bad = nn - kk
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = (
            betaln(bad + 1.0, 1.0)
            + betaln(kk + 1.0, 1.0)
            + betaln(nn - dd + 1.0, dd + 1.0)
            - betaln(xx + 1.0, kk - xx + 1.0)
            - betaln(dd - xx + 1.0, bad - dd + xx + 1.0)
            - betaln(nn + 1.0, 1.0)
        )
    return out


def neighbour_ratio(
    j: np.ndarray, step: int, successes: np.ndarray, draws: np.ndarray, bad: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of ``P(X = j + step) / P(X = j)``.

    ``step`` is -1 or +1; ``bad`` is ``population - successes``. Exact
    products of integers (as floats, exact below 2**53), so the ratio has
    one rounding.
    """
    if step < 0:
        return j * (bad - draws + j), (successes - j + 1.0) * (draws - j + 1.0)
    return (successes - j) * (draws - j), (j + 1.0) * (bad - draws + j + 1.0)


def gamma_args(
    x: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """The four log-gamma arguments of ``P(X = x)`` (see :data:`MOVES`), (4, m)."""
    xx, nn, kk, dd = (
        np.asarray(v, dtype=np.float64) for v in (x, population, successes, draws)
    )
    return np.stack([xx + 1.0, kk - xx + 1.0, dd - xx + 1.0, nn - kk - dd + xx + 1.0])


def log_ratio(h: np.ndarray, args: np.ndarray) -> np.ndarray:
    """``log P(X = x + h) / P(X = x)`` for ``x`` with log-gamma arguments
    ``args`` (:func:`gamma_args`, 4 x entries) and integer steps ``h`` (one
    per entry), to ~1e-13 however far apart: each argument's change from
    Stirling's series as in :func:`stirling_log_ratio`, or, for an argument
    below :data:`STIRLING_FROM` at either end, as a difference of
    :func:`scipy.special.gammaln` (small arguments, so small values). The
    four arguments are taken as one (4, entries) array: a few calls on
    small arrays, which is what the searches make.
    """
    hh = np.asarray(h, dtype=np.float64)
    d = MOVES[:, None] * hh
    moved = args + d
    with np.errstate(invalid="ignore", divide="ignore"):
        change = (args - 0.5) * np.log1p(d / args) - d
        change += _stirling(1.0 / moved, np.empty(moved.shape))
        change -= _stirling(1.0 / args, np.empty(args.shape))
        small = np.minimum(args, moved) < STIRLING_FROM
        if small.any():
            i, at = np.nonzero(small)
            change[i, at] = gammaln(moved[i, at]) - gammaln(args[i, at])
            moved = np.where(small, 1.0, moved)
        # the large arguments' d log(z + d), as one log of a product ratio
        change[0] += hh * np.log(moved[0] * moved[3] / (moved[1] * moved[2]))
    out: np.ndarray = -change.sum(axis=0)
    return out


def stirling_log_ratio(h: np.ndarray, args: np.ndarray) -> np.ndarray:
    """``log P(x + h) / P(x)`` at real steps ``h`` (steps x entries) from
    Stirling's series, for entries whose arguments (``args``, 4 x entries)
    all stay at least :data:`STIRLING_FROM` over the steps.

    With ``w = z + d`` for each argument ``z`` and its change ``d``,
    ``lgamma(w) - lgamma(z) = (z - 1/2) log1p(d / z) + d log w - d + S(w) -
    S(z)`` (``S``: Stirling's series), and the four ``d log w`` are taken as
    one log of a product ratio: nothing large cancels. Computed argument by
    argument in place (the closed-form tails' nodes: large arrays; the
    entries along the contiguous axis, which numpy 1.26 in particular runs
    a quarter faster than a broadcast column).
    """
    sums = np.zeros(h.shape)
    ratio = np.ones(h.shape)
    part = np.empty(h.shape)
    w = np.empty(h.shape)
    reach = (float(h.min()), float(h.max())) if h.size else (0.0, 0.0)
    for z, move in zip(args, MOVES.tolist(), strict=True):
        np.multiply(h, move / z, out=part)
        np.log1p(part, out=part)
        part *= z - 0.5
        # the change d = move * h is h or -h: added or subtracted as it is
        if move > 0:
            part -= h
            np.add(h, z, out=w)
        else:
            part += h
            np.subtract(z, h, out=w)
        sums += part
        if move > 0:
            ratio *= w
        else:
            ratio /= w
        # the series' terms that reach the doubles of these sums: u**5 / 1260
        # is below 1e-18 from w = 1000 on, u**3 / 360 below 3e-18 from
        # w = 10**5 on (a log G of -40 has an ulp of 7e-15)
        smallest = float(z.min()) + min(move * reach[0], move * reach[1], 0.0)
        terms = 3 if smallest < 1e3 else 2 if smallest < 1e5 else 1
        # (1 / w by division: the same correctly rounded quotient as
        # np.reciprocal, which numpy 2 runs at half the speed)
        np.divide(1.0, w, out=w)
        sums += _stirling(w, part, terms)
        sums -= _stirling(1.0 / z, np.empty(z.shape), terms)
    np.log(ratio, out=ratio)
    ratio *= h
    sums += ratio
    np.negative(sums, out=sums)
    return sums


def _stirling(u: np.ndarray, out: np.ndarray, terms: int = 3) -> np.ndarray:
    """Stirling's series ``lgamma(w) - (w - 1/2) log w + w - log(2 pi)/2`` at
    ``u = 1 / w``: ``u/12 - u^3/360 + u^5/1260`` (into ``out``), or its
    first ``terms`` terms."""
    if terms == 1:
        np.multiply(u, 1.0 / 12.0, out=out)
        return out
    u2 = u * u
    if terms == 2:
        np.multiply(u2, -1.0 / 360.0, out=out)
    else:
        np.multiply(u2, 1.0 / 1260.0, out=out)
        out -= 1.0 / 360.0
        out *= u2
    out += 1.0 / 12.0
    out *= u
    return out


def right_tail(
    end: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """``log sum_{j >= end} P(X = j) / P(X = end)`` (``end`` at or above the
    mode; 1-D float arrays): long smooth tails in closed form
    (:func:`smooth_right_tail`), the others term by term
    (:func:`summed_right_tail`). A left tail is the right tail of the
    mirrored law (``n - X``, with ``N - K`` marked)."""
    out = smooth_right_tail(end, population, successes, draws)
    rest = np.flatnonzero(np.isnan(out))
    if rest.size:
        out[rest] = summed_right_tail(
            end[rest], population[rest], successes[rest], draws[rest]
        )
    return out


def summed_right_tail(
    end: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """:func:`right_tail` term by term, each term the last times the exact
    ratio of neighbouring probabilities, until a term is below :data:`STOP`
    of the sum (the ratio is 0 past the support's end, so the terms stop
    there by themselves).

    The terms come in blocks per entry, each block sized to what the entry
    is expected to need (:func:`_expected_terms`) and, where that was not
    enough, twice the last; entries with blocks of one size are summed in
    one call. The ratios ``(K - j)(n - j) / ((j + 1)(N - K - n + j + 1))``
    at ``j = here + i`` are taken as ``(A - i)(C - i) / ((D + i)(E + i))``
    with per-entry ``A, C, D, E``: the same exact integer products."""
    kk, dd = successes, draws
    bad = population - kk
    hi = np.minimum(kk, dd)
    total = np.ones(end.shape)
    last = np.ones(end.shape)  # the last term summed
    here = end.copy()  # the index the next ratio starts at
    size = _expected_terms(end, population, kk, dd)
    active = np.flatnonzero(here < hi)
    while active.size:
        sizes = size[active]
        for block in np.unique(sizes).tolist():
            at = active[sizes == block] if len(active) > 1 else active
            i = np.arange(block, dtype=np.float64)
            h = here[at, None]
            num = (kk[at, None] - h) - i
            num *= (dd[at, None] - h) - i
            den = (h + 1.0) + i
            den *= (bad[at, None] - dd[at, None] + h + 1.0) + i
            terms = np.cumprod(np.divide(num, den, out=num), axis=1)
            terms *= last[at, None]
            total[at] += terms.sum(axis=1)
            last[at] = terms[:, -1]
            here[at] += block
        done = (here[active] >= hi[active]) | (last[active] <= STOP * total[active])
        active = active[~done]
        size[active] = np.minimum(2 * size[active], BLOCK)
    return np.log(total)


def _expected_terms(
    end: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """Terms a tail from ``end`` takes before they fall below :data:`STOP` of
    its sum, by the normal law of the same mean and variance (``t`` steps
    out, the log of a term falls by about ``t z / s + t**2 / (2 s**2)``, ``z``
    the end's distance from the mean in standard deviations ``s``): rounded
    up to a multiple of 16, at most :data:`BLOCK` and at most what is left
    of the support. An estimate: a tail that needs more takes more blocks."""
    nn, kk, dd = population, successes, draws
    mean = dd * kk / nn
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(mean * (1.0 - kk / nn) * (nn - dd) / np.maximum(nn - 1.0, 1.0))
        z = np.where(sd > 0, (end - mean) / sd, 0.0)
        drop = -np.log(STOP)
        steps = sd * (np.sqrt(z * z + 2.0 * drop) - z)
    left = np.minimum(kk, dd) - end + 1.0
    steps = np.minimum(np.where(np.isfinite(steps), steps, BLOCK), left)
    out: np.ndarray = np.clip(16 * np.ceil(steps / 16.0), 16, BLOCK).astype(np.int64)
    return out


def smooth_right_tail(
    end: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """:func:`right_tail` in closed form (Euler-Maclaurin, see the module's
    notes) for the entries whose tail is long and smooth; NaN for the others.

    An entry qualifies when its tail would take more than :data:`LONG_TAIL`
    terms, its terms fall by less than ``exp(-MAX_SLOPE)`` per count at the
    end, and all log-gamma arguments stay at least :data:`SMOOTH_FROM` over
    the window (which then lies inside the support) and :data:`FIT` counts
    inwards; and, checked after the fact, the log-probability has fallen by
    ``0.85 * WINDOW_DROP`` at the window's far end. The window is 15 % wider
    than where the quadratic part of the log-probability reaches
    ``-WINDOW_DROP``.
    """
    kk, dd = successes, draws
    out = np.full(end.shape, np.nan)
    args = gamma_args(end, population, kk, dd)
    with np.errstate(divide="ignore", invalid="ignore"):
        # log G at -FIT..-1 and 1..FIT counts from the end, from exact ratios
        # of neighbours (ratio i is G(i - FIT + 1) / G(i - FIT))
        j = end + np.arange(-FIT, FIT, dtype=np.float64)[:, None]
        steps = np.log(np.divide(*neighbour_ratio(j, 1, kk, dd, population - kk)))
        ahead = np.cumsum(steps[FIT:], axis=0)  # log G(1..FIT)
        behind = -np.cumsum(steps[FIT - 1 :: -1], axis=0)  # log G(-1..-FIT)
        # Taylor coefficients c1..c(2 FIT) of log G: the polynomial through
        # those points (odd and even parts apart)
        odd_fit, even_fit = _taylor_fit()
        # (einsum, not BLAS: a BLAS call leaves OpenBLAS' threads spinning for
        # milliseconds, which doubled the CPU time of a brush under numpy 1.26)
        odd = np.einsum("ij,jm->im", odd_fit, (ahead - behind) / 2.0)
        even = np.einsum("ij,jm->im", even_fit, (ahead + behind) / 2.0)
        c1, c2 = odd[0], even[0]
        # the window: where c1 h + c2 h^2 reaches -WINDOW_DROP, with room
        curve = -2.0 * c2
        width = 2.3 * WINDOW_DROP / (np.sqrt(c1 * c1 + 2.0 * curve * WINDOW_DROP) - c1)
        smallest = np.minimum(
            (args + MOVES[:, None] * width).min(axis=0),
            (args - FIT * MOVES[:, None]).min(axis=0),
        )
        ok = (
            (width > LONG_TAIL)
            & (c1 > -MAX_SLOPE)
            & (curve > 0.0)
            & (smallest >= SMOOTH_FROM)
        )
    at = np.flatnonzero(ok)
    if not at.size:
        return out
    width = width[at]
    nodes, weights = _gauss_legendre()
    h = np.empty((NODES + 1, at.size))  # steps x entries: contiguous per step
    np.multiply(nodes[:, None], width, out=h[:NODES])
    h[NODES] = width
    log_g = stirling_log_ratio(h, args[:, at])
    integral = np.einsum("i,im->m", weights, np.exp(log_g[:NODES])) * width / 2.0
    # Taylor coefficients e_m of G = exp(log G): e_m = sum_j j c_j e_(m-j) / m
    jc = np.empty((2 * FIT, at.size))
    jc[0::2], jc[1::2] = odd[:, at], even[:, at]
    jc *= np.arange(1.0, 2 * FIT + 1)[:, None]
    e = np.empty((2 * len(EULER_MACLAURIN), at.size))
    e[0] = 1.0
    for m in range(1, len(e)):
        k = min(m, len(jc))
        e[m] = np.einsum("jm,jm->m", jc[:k], e[m - 1 :: -1][:k]) / m
    total = 0.5 + integral - np.einsum("k,km->m", EULER_MACLAURIN, e[1::2])
    fell = log_g[NODES] <= -0.85 * WINDOW_DROP
    out[at[fell]] = np.log(total[fell])
    return out


@functools.cache
def _taylor_fit() -> tuple[np.ndarray, np.ndarray]:
    """Matrices taking ``(log G(j) -/+ log G(-j)) / 2`` at ``j = 1..FIT`` to
    the odd (``c1, c3, ...``) and even (``c2, c4, ...``) Taylor
    coefficients of the polynomial of degree ``2 FIT`` through them."""
    j = np.arange(1.0, FIT + 1)[:, None]
    powers = np.arange(1, 2 * FIT + 1)
    return (
        np.linalg.inv(j ** powers[0::2]),
        np.linalg.inv(j ** powers[1::2]),
    )


@functools.cache
def _gauss_legendre() -> tuple[np.ndarray, np.ndarray]:
    """Nodes on [0, 1] and weights on [-1, 1] of the :data:`NODES`-point rule."""
    nodes, weights = np.polynomial.legendre.leggauss(NODES)
    return (nodes + 1.0) / 2.0, weights


@functools.cache
def compiled_binomial() -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The binomial probability ``(x, trials, p) -> P(X = x)`` that
    ``scipy.stats.binom.pmf`` calls (Boost's), without importing
    ``scipy.stats`` (about a second, which the first brush would pay) or its
    argument handling; another scipy gets the public distribution."""
    try:
        from scipy.special._ufuncs import _binom_pmf
    except ImportError:  # pragma: no cover - an older or newer scipy
        from scipy import stats

        return stats.binom.pmf  # type: ignore[no-any-return]

    def pmf(x: np.ndarray, trials: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.asarray(_binom_pmf(x, trials, p), dtype=np.float64)

    return pmf


def log_probability(
    x: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """``log P(X = x)`` to ~1e-12 at any population (Loader's factorization
    into binomial probabilities, see the module's notes). Entries whose
    binomial probabilities underflow (``P`` below ~1e-300) get
    :func:`logpmf`."""
    xx, nn, kk, dd = (
        np.asarray(v, dtype=np.float64) for v in (x, population, successes, draws)
    )
    pmf = compiled_binomial()
    p = dd / nn
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = (
            np.log(pmf(xx, kk, p))
            + np.log(pmf(dd - xx, nn - kk, p))
            - np.log(pmf(dd, nn, p))
        )
    poor = np.flatnonzero(~np.isfinite(out))
    if poor.size:
        out[poor] = logpmf(xx[poor], nn[poor], kk[poor], dd[poor])
    return out


def log_probability_bound(
    x: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """An upper bound of ``log P(X = x)``: the Chernoff bound of the tail
    beyond ``x``, ``-n D(x / n || K / N)`` (``D`` the binary relative
    entropy, ``n`` the draws, ``K`` the marked items among ``N``), which
    holds for draws without replacement as for draws with it (Hoeffding
    1963; Chvatal 1979), and ``P(X = x)`` is at most either tail it lies
    in. A few elementwise operations against the three compiled
    binomial probabilities of :func:`log_probability`: enough to set aside
    the counts whose probability is far below the smallest double. 0 where
    ``x`` is the mean (no information); entries need ``0 < K < N``."""
    xx, nn, kk, dd = (
        np.asarray(v, dtype=np.float64) for v in (x, population, successes, draws)
    )
    mean = dd * kk / nn
    out: np.ndarray = -(xlogy(xx, xx / mean) + xlogy(dd - xx, (dd - xx) / (dd - mean)))
    np.minimum(out, 0.0, out=out)
    return out


def tails(
    left: np.ndarray,
    right: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    population: np.ndarray,
    successes: np.ndarray,
    draws: np.ndarray,
    log_ends: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``P(X <= left) + P(X >= right)`` (a side whose end lies outside the
    support ``[lo, hi]`` counts 0), capped at 1. 1-D arrays; ``left`` at or
    below the mode, ``right`` at or above it; ``log_ends`` are ``log P(X =
    left)`` and ``log P(X = right)`` where the caller has them (else
    :func:`log_probability`).

    Both sides are summed in one pass as right tails: ``P(X <= left)`` is
    ``P(n - X >= n - left)`` and ``n - X`` is hypergeometric with the
    unmarked items marked.
    """
    nn, kk, dd = (
        np.asarray(v, dtype=np.float64) for v in (population, successes, draws)
    )
    sl, sr = np.flatnonzero(left >= lo), np.flatnonzero(right <= hi)
    at = np.concatenate([sl, sr])
    end = np.concatenate([dd[sl] - left[sl], right[sr]]).astype(np.float64)
    marked = np.concatenate([nn[sl] - kk[sl], kk[sr]])
    if log_ends is None:
        log_end = log_probability(end, nn[at], marked, dd[at])
    else:
        log_end = np.concatenate([log_ends[0][sl], log_ends[1][sr]])
    log_part = log_end + right_tail(end, nn[at], marked, dd[at])
    log_p = np.full(np.shape(left), -np.inf)
    log_p[sl] = log_part[: sl.size]
    log_p[sr] = np.logaddexp(log_p[sr], log_part[sl.size :])
    return np.asarray(np.minimum(np.exp(log_p), 1.0), dtype=np.float64)
