"""hpcore.analysis.hypergeom: exact hypergeometric tails at a cost that does not
grow with the table, checked against 40-digit sums (mpmath) and scipy."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from conftest import imports_scipy_stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hpcore.analysis import hypergeom
from hpcore.analysis import stats as stats_module
from hpcore.analysis.stats import (
    RELATIVE_TOLERANCE,
    _unique_rows,
    hypergeom_two_sided,
    tail_ends,
)

mpmath.mp.dps = 40


def exact_logpmf(x: int, nn: int, kk: int, dd: int) -> mpmath.mpf:
    """``log P(X = x)`` to 40 digits."""
    lg = mpmath.loggamma
    x, nn, kk, dd = (mpmath.mpf(int(v)) for v in (x, nn, kk, dd))
    return (
        lg(kk + 1)
        - lg(x + 1)
        - lg(kk - x + 1)
        + lg(nn - kk + 1)
        - lg(dd - x + 1)
        - lg(nn - kk - dd + x + 1)
        - lg(nn + 1)
        + lg(dd + 1)
        + lg(nn - dd + 1)
    )


def exact_log_right_tail(end: int, nn: int, kk: int, dd: int) -> float:
    """``log sum_{j >= end} P(j) / P(end)``, summed term by term in 40 digits
    until the terms are below 1e-30 of the sum."""
    j, term, total = int(end), mpmath.mpf(1), mpmath.mpf(0)
    while j <= min(kk, dd) and term > total * mpmath.mpf(10) ** -30:
        total += term
        term *= mpmath.mpf((kk - j) * (dd - j)) / ((j + 1) * (nn - kk - dd + j + 1))
        j += 1
    return float(mpmath.log(total))


def random_ends(
    rng: np.random.Generator, population: int, m: int
) -> tuple[np.ndarray, ...]:
    """Right-tail ends from the mode to eight standard deviations out."""
    nn = np.full(m, population)
    kk = rng.integers(max(1, population // 200), population // 2, m)
    dd = rng.integers(max(1, population // 50), population // 2, m)
    mean = dd * kk / nn
    sd = np.sqrt(mean * (1 - kk / nn) * (1 - dd / nn))
    z = rng.choice([0.0, 0.3, 1.0, 2.0, 4.0, 8.0], m)
    end = np.minimum(np.round(mean + z * sd), np.minimum(kk, dd)).astype(np.int64)
    return end, nn, kk, dd


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


@pytest.mark.parametrize("population", [7, 60, 2_000, 30_000, 300_000])
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
    wide = np.flatnonzero(hi > lo)
    found = tail_ends(k[wide], nn[wide], kk[wide], dd[wide])
    np.testing.assert_array_equal(found[0], left[wide])
    np.testing.assert_array_equal(found[1], right[wide])
    want = np.where(
        left >= right,
        1.0,
        hypergeom.tails(left, right, lo, hi, nn, kk, dd),
    )
    want = np.where(hi > lo, want, 1.0)
    np.testing.assert_allclose(hypergeom_two_sided(k, nn, kk, dd), want, rtol=1e-12)


def test_compiled_binomial_is_scipy_stats_own() -> None:
    rng = np.random.default_rng(3)
    m = 300
    trials = rng.integers(1, 10**7, m)
    p = rng.random(m)
    x = (rng.random(m) * (trials + 1)).astype(np.int64)
    np.testing.assert_array_equal(
        hypergeom.compiled_binomial()(x, trials, p), stats.binom.pmf(x, trials, p)
    )


def test_summed_tails_are_exact_whatever_their_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the blocks follow an estimate of each tail's length; an estimate far
    # too short (more blocks) or as long as allowed (one block, most of it
    # past the stop) gives the same sums, those of 40 digits
    rng = np.random.default_rng(7)
    parts = [random_ends(rng, population, 30) for population in (60, 13_000, 10**6)]
    end, nn, kk, dd = (
        np.concatenate(v).astype(np.float64) for v in zip(*parts, strict=True)
    )
    sized = hypergeom._expected_terms(end, nn, kk, dd)
    assert sized.min() >= 16 and sized.max() <= hypergeom.BLOCK
    assert (sized % 16 == 0).all() and len(np.unique(sized)) > 1
    estimated = hypergeom.summed_right_tail(end, nn, kk, dd)
    for size in (16, hypergeom.BLOCK):
        monkeypatch.setattr(
            hypergeom, "_expected_terms", lambda e, *_, s=size: np.full(len(e), s)
        )
        got = hypergeom.summed_right_tail(end, nn, kk, dd)
        np.testing.assert_allclose(got, estimated, rtol=0, atol=2e-15)
    some = rng.choice(len(end), 15, replace=False)
    exact = [
        exact_log_right_tail(*row)
        for row in zip(end[some], nn[some], kk[some], dd[some], strict=True)
    ]
    np.testing.assert_allclose(estimated[some], exact, rtol=0, atol=3e-13)


@pytest.mark.parametrize("population", [12, 2_000, 130_000, 10**7])
def test_log_probability_is_exact(population: int) -> None:
    # scipy's own formula (betaln) is off by ~3e-8 at 10**7 rows; this one is not
    rng = np.random.default_rng(population)
    end, nn, kk, dd = random_ends(rng, population, 30)
    exact = [float(exact_logpmf(*row)) for row in zip(end, nn, kk, dd, strict=True)]
    np.testing.assert_allclose(
        hypergeom.log_probability(end, nn, kk, dd), exact, rtol=0, atol=2e-11
    )


@pytest.mark.parametrize("population", [60, 5_000, 13_000, 10**6, 10**7])
def test_log_ratio_is_exact_near_and_far(population: int) -> None:
    rng = np.random.default_rng(population + 1)
    m = 30
    nn = np.full(m, population)
    kk = rng.integers(1, population, m)
    dd = rng.integers(1, population, m)
    kk[:6] = rng.integers(1, 40, 6)  # small arguments next to large ones
    lo, hi = np.maximum(0, dd + kk - nn), np.minimum(dd, kk)
    x, y = (lo + (rng.random(m) * (hi - lo + 1)).astype(np.int64) for _ in "xy")
    exact = [
        float(exact_logpmf(b, n, k, d) - exact_logpmf(a, n, k, d))
        for a, b, n, k, d in zip(x, y, nn, kk, dd, strict=True)
    ]
    got = hypergeom.log_ratio(y - x, hypergeom.gamma_args(x, nn, kk, dd))
    np.testing.assert_allclose(got, exact, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("population", [5_000, 13_000, 10**6, 10**7])
def test_closed_form_tails_are_exact(population: int) -> None:
    rng = np.random.default_rng(population + 2)
    end, nn, kk, dd = (v.astype(np.float64) for v in random_ends(rng, population, 40))
    smooth = hypergeom.smooth_right_tail(end, nn, kk, dd)
    used = np.flatnonzero(np.isfinite(smooth))
    assert used.size >= 10  # the closed form is what is being checked
    used = used[:12]  # (the 40-digit sums are slow)
    exact = [
        exact_log_right_tail(*row)
        for row in zip(end[used], nn[used], kk[used], dd[used], strict=True)
    ]
    np.testing.assert_allclose(smooth[used], exact, rtol=0, atol=3e-13)
    # and the term-by-term sums agree with both
    summed = hypergeom.summed_right_tail(end[used], nn[used], kk[used], dd[used])
    np.testing.assert_allclose(summed, exact, rtol=0, atol=3e-13)


def test_closed_form_is_declined_where_it_would_not_hold() -> None:
    # short tails, fast-falling tails and small arguments are summed instead
    nn = np.array([40.0, 10.0**6, 10.0**6, 10.0**7])
    kk = np.array([20.0, 10.0**5, 30.0, 5 * 10.0**6])
    dd = np.array([20.0, 5 * 10.0**5, 5 * 10.0**5, 5 * 10.0**6])
    end = np.array([10.0, 70_000.0, 15.0, 2_505_000.0])  # 0, 133, 0, 6 sd out
    smooth = hypergeom.smooth_right_tail(end, nn, kk, dd)
    assert np.isnan(smooth[:3]).all()
    assert np.isfinite(smooth[3])
    exact = exact_log_right_tail(*(int(v[3]) for v in (end, nn, kk, dd)))
    assert hypergeom.right_tail(end, nn, kk, dd)[3] == pytest.approx(exact, abs=3e-13)


@pytest.mark.parametrize("population", [10**6, 10**7])
def test_two_sided_p_values_are_exact_on_large_tables(population: int) -> None:
    # the sum of both tails against 40-digit sums; scipy's own (Boost's)
    # are ~1e-9 off at these sizes
    rng = np.random.default_rng(population + 3)
    m = 8
    nn = np.full(m, population)
    kk = rng.integers(population // 100, population // 3, m)
    dd = rng.integers(population // 100, population // 2, m)
    mean = dd * kk / nn
    sd = np.sqrt(mean * (1 - kk / nn) * (1 - dd / nn))
    k = np.round(mean + rng.choice([-5.0, -2.0, -0.5, 0.5, 2.0, 5.0], m) * sd)
    k = k.astype(np.int64)
    left, right = tail_ends(k, nn, kk, dd)
    want = []
    for kv, n, kx, d, a, b in zip(k, nn, kk, dd, left, right, strict=True):
        mirror = int(d) - int(a)  # the left tail is the mirrored law's right tail
        logs = [
            exact_logpmf(a, n, kx, d) + exact_log_right_tail(mirror, n, n - kx, d),
            exact_logpmf(b, n, kx, d) + exact_log_right_tail(b, n, kx, d),
        ]
        want.append(float(mpmath.exp(logs[0]) + mpmath.exp(logs[1])))
        assert exact_logpmf(a, n, kx, d) <= exact_logpmf(kv, n, kx, d) + 1e-7
    np.testing.assert_allclose(hypergeom_two_sided(k, nn, kk, dd), want, rtol=1e-11)


def test_vanishing_p_values_are_zero_without_a_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # far beyond the last double the p-value is 0.0 without a search, as
    # the full sum gives
    nn, kk, dd = 10**7, 10**6, 5 * 10**6
    k = np.array([500_000 + 40_000, 500_000 - 40_000, 500_000 + 3_000])
    assert float(exact_logpmf(k[0], nn, kk, dd)) < -3000
    searched: list[int] = []

    def spy(k: np.ndarray, *rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        searched.append(len(k))
        return tail_ends(k, *rest)

    monkeypatch.setattr(stats_module, "tail_ends", spy)
    p = hypergeom_two_sided(k, nn, kk, dd)
    assert searched == [1]
    assert p[0] == 0.0 and p[1] == 0.0 and 0.0 < p[2] < 1e-6
    monkeypatch.setattr(stats_module, "LOG_VANISHING", -np.inf)
    np.testing.assert_array_equal(hypergeom_two_sided(k, nn, kk, dd), p)
    assert searched == [1, 3]


@pytest.mark.parametrize("population", [12, 2_000, 130_000, 10**7])
def test_probability_bound_is_above_the_probability(population: int) -> None:
    # counts anywhere in the support, and far out where the bound is used
    rng = np.random.default_rng(population + 5)
    m = 2_000
    nn = np.full(m, population)
    kk, dd = (rng.integers(1, population, m) for _ in "kd")
    lo, hi = np.maximum(0, dd + kk - nn), np.minimum(dd, kk)
    x = lo + (rng.random(m) * (hi - lo + 1)).astype(np.int64)
    x[:200] = np.where(rng.random(200) < 0.5, lo[:200], hi[:200])
    bound = hypergeom.log_probability_bound(x, nn, kk, dd)
    exact = hypergeom.log_probability(x, nn, kk, dd)
    assert np.all(bound >= exact - 1e-9 * np.maximum(1.0, np.abs(exact)))
    assert np.all(bound <= 0.0)
    if population >= 130_000:  # informative where probabilities vanish
        assert np.any(bound < stats_module.LOG_VANISHING - 100)


def test_the_bound_sets_aside_vanishing_tests_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same p-values, to the bit, with and without the bound's screen;
    # with it, far fewer exact probabilities are taken
    rng = np.random.default_rng(11)
    m = 600
    nn = np.full(m, 10**7)
    kk = rng.integers(10**3, 10**6, m)
    dd = rng.integers(10**5, 5 * 10**6, m)
    mean = dd * kk / nn
    sd = np.sqrt(mean * (1 - kk / nn) * (1 - dd / nn))
    z = rng.choice([0.0, 2.0, -5.0, 30.0, -45.0, 80.0, -300.0], m)
    k = np.clip(np.round(mean + z * sd), 0, np.minimum(kk, dd)).astype(np.int64)
    taken: list[int] = []
    exact = hypergeom.log_probability

    def spy(x: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        taken.append(len(x))
        return exact(x, *rest)

    monkeypatch.setattr(hypergeom, "log_probability", spy)
    screened = hypergeom_two_sided(k, nn, kk, dd)
    with_screen = taken[0]
    monkeypatch.setattr(stats_module, "SCREEN_MARGIN", np.inf)
    np.testing.assert_array_equal(hypergeom_two_sided(k, nn, kk, dd), screened)
    assert taken[-1] == len(_unique_rows([k, nn, kk, dd])[0])
    assert with_screen < 0.8 * taken[-1]
    assert np.count_nonzero(screened == 0.0) > 0.2 * m


@st.composite
def tables(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """A 2x2 table's hypergeometric parameters, any shape, up to 500k rows,
    with the count near the mean or far out (where the closed form, the
    term-by-term sums and the shortcut each take over)."""
    nn = draw(st.integers(2, 500_000))
    kk = draw(st.integers(1, nn - 1))
    dd = draw(st.integers(1, nn - 1))
    lo, hi = max(0, dd + kk - nn), min(dd, kk)
    mean = dd * kk / nn
    sd = (mean * (1 - kk / nn) * (1 - dd / nn)) ** 0.5
    z = draw(st.sampled_from([0.0, 0.4, -1.0, 2.0, -3.0, 6.0, -12.0, 40.0]))
    return int(min(max(round(mean + z * sd), lo), hi)), nn, kk, dd


@settings(max_examples=150, deadline=None)
@given(tables())
def test_two_sided_p_values_equal_fisher_exact_on_any_table(
    table: tuple[int, int, int, int],
) -> None:
    k, nn, kk, dd = table
    theirs = stats.fisher_exact([[k, dd - k], [kk - k, nn - kk - dd + k]]).pvalue
    ours = float(hypergeom_two_sided(k, nn, kk, dd)[()])
    # scipy's own p-values are ~1e-10 off at these sizes (Boost's pmf)
    assert ours == pytest.approx(theirs, rel=1e-8, abs=1e-300)


def test_unique_rows_are_numpys() -> None:
    rng = np.random.default_rng(4)
    cols = [rng.integers(0, 4, 500), np.full(500, 9), rng.integers(0, 3, 500)]
    first, inverse = _unique_rows(cols)
    rows = np.stack(cols, axis=1)
    np.testing.assert_array_equal(rows[first][inverse], rows)
    assert len(first) == len(np.unique(rows, axis=0))


def test_large_tables_do_not_import_scipy_stats() -> None:
    # scipy.stats costs about a second to import: the first brush of a large
    # table must not pay it
    assert not imports_scipy_stats(
        "import numpy as np\n"
        "from hpcore.analysis.stats import hypergeom_two_sided\n"
        "hypergeom_two_sided(np.array([50_500]), 10**6, np.array([10**5]), 500_000)"
    )
