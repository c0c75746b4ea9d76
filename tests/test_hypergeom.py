"""hpcore.analysis.hypergeom: scipy's numbers without scipy.stats' overhead."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import imports_scipy_stats
from scipy import stats

from hpcore.analysis import hypergeom
from hpcore.analysis.stats import RELATIVE_TOLERANCE, hypergeom_two_sided


def test_logpmf_is_scipys() -> None:
    rng = np.random.default_rng(0)
    nn = rng.integers(2, 10**6, 500)
    kk = rng.integers(0, nn + 1)
    dd = rng.integers(0, nn + 1)
    lo, hi = np.maximum(0, dd + kk - nn), np.minimum(dd, kk)
    x = lo + (rng.random(500) * (hi - lo + 1)).astype(np.int64)
    np.testing.assert_allclose(
        hypergeom.logpmf(x, nn, kk, dd),
        stats.hypergeom.logpmf(x, nn, kk, dd),
        rtol=1e-14,
        atol=1e-9,
    )


@pytest.mark.parametrize("population", [50, 1_000, 20_000, 130_000])
def test_summed_tails_equal_scipys(population: int) -> None:
    rng = np.random.default_rng(population)
    m = 400
    nn = np.full(m, population)
    kk = rng.integers(1, population // 3, m)
    dd = rng.integers(1, population // 2, m)
    lo, hi = np.maximum(0, dd + kk - nn), np.minimum(dd, kk)
    mode = np.clip((dd + 1) * (kk + 1) // (nn + 2), lo, hi)  # tails lie beyond it
    left = lo + (rng.random(m) * (mode - lo + 1)).astype(np.int64)
    right = mode + (rng.random(m) * (hi - mode + 2)).astype(np.int64)
    ours = hypergeom.tails(left, right, lo, hi, nn, kk, dd)
    theirs = np.minimum(
        stats.hypergeom.cdf(left, nn, kk, dd)
        + np.where(right <= hi, stats.hypergeom.sf(right - 1, nn, kk, dd), 0.0),
        1.0,
    )
    tiny = theirs < 1e-290  # both underflow alike there
    np.testing.assert_allclose(ours[~tiny], theirs[~tiny], rtol=1e-9)
    assert (ours[tiny] < 1e-280).all()


def test_two_sided_equals_fisher_exact_on_every_small_table() -> None:
    rows = [
        (k, n_pop, k_succ, d)
        for n_pop in range(2, 11)
        for k_succ in range(n_pop + 1)
        for d in range(n_pop + 1)
        for k in range(max(0, d + k_succ - n_pop), min(d, k_succ) + 1)
    ]
    k, n_pop, k_succ, d = (np.array(c) for c in zip(*rows, strict=True))
    ours = hypergeom_two_sided(k, n_pop, k_succ, d)
    theirs = [
        stats.fisher_exact([[a, c - a], [b - a, n - b - c + a]])[1]
        for a, n, b, c in rows
    ]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_large_tables_go_to_scipy_and_agree() -> None:
    rng = np.random.default_rng(7)
    m = 50
    nn = np.full(m, 10**6)
    kk = rng.integers(10**4, 10**5, m)
    dd = rng.integers(10**4, 10**5, m)
    mean = dd * kk / nn
    k = np.round(mean + 3 * np.sqrt(mean)).astype(np.int64)
    theirs = [
        stats.fisher_exact([[a, c - a], [b - a, n - b - c + a]])[1]
        for a, n, b, c in zip(k, nn, kk, dd, strict=True)
    ]
    np.testing.assert_allclose(hypergeom_two_sided(k, nn, kk, dd), theirs, rtol=1e-8)


@pytest.mark.parametrize("population", [7, 60, 2_000, 30_000])
def test_tail_ends_are_those_of_an_exhaustive_search(population: int) -> None:
    # the ends are found by probing near k and its mirror, then bisecting:
    # they must be those a search over the whole support finds
    rng = np.random.default_rng(population)
    m = 40
    nn = np.full(m, population)
    kk = rng.integers(0, population + 1, m)
    dd = rng.integers(0, population + 1, m)
    lo, hi = np.maximum(0, dd + kk - nn), np.minimum(dd, kk)
    mean = dd * kk / population
    sd = np.sqrt(mean * (1 - kk / population) * (population - dd) / (population - 1))
    scale = rng.choice([0.0, 0.5, 2.0, 6.0], m)
    k = np.clip(np.rint(mean + rng.normal(0, 1, m) * sd * scale), lo, hi).astype(int)
    k[:4] = [lo[0], hi[1], lo[2] + 1, hi[3] - 1]  # support ends, next to them
    k[:4] = np.clip(k[:4], lo[:4], hi[:4])
    left, right = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    for i in range(m):
        x = np.arange(lo[i], hi[i] + 1)
        logp = hypergeom.logpmf(x, nn[i], kk[i], dd[i])
        threshold = hypergeom.logpmf(k[i], nn[i], kk[i], dd[i]) + np.log1p(
            RELATIVE_TOLERANCE
        )
        mode = min(max((dd[i] + 1) * (kk[i] + 1) // (population + 2), lo[i]), hi[i])
        ok = logp <= threshold
        below, above = ok & (x <= mode), ok & (x >= mode)
        left[i] = x[below].max() if below.any() else lo[i] - 1
        right[i] = x[above].min() if above.any() else hi[i] + 1
    want = np.where(
        left >= right,
        1.0,
        hypergeom.tails(left, right, lo, hi, nn, kk, dd),
    )
    want = np.where(hi > lo, want, 1.0)
    np.testing.assert_array_equal(hypergeom_two_sided(k, nn, kk, dd), want)


def test_compiled_tails_are_scipy_stats_own() -> None:
    rng = np.random.default_rng(3)
    m = 300
    nn = rng.integers(2, 10**7, m)
    kk = rng.integers(0, nn + 1)
    dd = rng.integers(0, nn + 1)
    lo, hi = np.maximum(0, dd + kk - nn), np.minimum(dd, kk)
    x = lo + (rng.random(m) * (hi - lo + 1)).astype(np.int64)
    cdf, sf = hypergeom.compiled_tails()
    np.testing.assert_array_equal(
        cdf(x, nn, kk, dd), stats.hypergeom.cdf(x, nn, kk, dd)
    )
    np.testing.assert_array_equal(sf(x, nn, kk, dd), stats.hypergeom.sf(x, nn, kk, dd))


def test_large_tables_do_not_import_scipy_stats() -> None:
    # scipy.stats costs about a second to import: the first brush of a large
    # table must not pay it
    assert not imports_scipy_stats(
        "import numpy as np\n"
        "from hpcore.analysis.stats import hypergeom_two_sided\n"
        "hypergeom_two_sided(np.array([50_500]), 10**6, np.array([10**5]), 500_000)"
    )
