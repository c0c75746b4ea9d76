"""Tests of hpcore.analysis.stats: exact tests against scipy, hand-computed enrichment,
confidence intervals against naive pandas, and the honesty check on null data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from conftest import imports_scipy_stats
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

import hpcore
import hpcore.analysis.pairs
from hpcore.analysis import stats
from hpcore.analysis.selection import Selection
from hpcore.analysis.stats import (
    COMPARE_COLUMNS,
    IMPORTANCE_COLUMNS,
    PAIR_STAT_COLUMNS,
    bh_q,
    compare_pair_counts,
    compare_selections,
    enrich_pair_counts,
    hypergeom_two_sided,
    pair_statistics,
    parameter_importance,
    trellis_with_ci,
)
from hpcore.data.errors import HpcoreError, ParameterError, SelectionError


def fisher_p(k: int, population: int, successes: int, draws: int) -> float:
    table = [[k, draws - k], [successes - k, population - successes - draws + k]]
    return float(sps.fisher_exact(table).pvalue)


@pytest.fixture
def ens(ensemble_df: pd.DataFrame) -> hpcore.Ensemble:
    return hpcore.normalize(hpcore.load(ensemble_df))


def null_ensemble(seed: int, n: int = 1500) -> hpcore.Ensemble:
    """A metric independent of every parameter (i.i.d. uniform)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["d1", "d2", "d3"], n),
            "opt": rng.choice(["adam", "rms", "sgd"], n),
            "batch": rng.choice([32, 64, 128, 256], n),
            "act": rng.choice(["relu", "elu", "tanh"], n),
            "test_accuracy": rng.random(n),
        }
    )
    return hpcore.normalize(hpcore.load(df))


# --------------------------------------------------------------------------
# hypergeom_two_sided
# --------------------------------------------------------------------------


def test_two_sided_matches_fisher_exact_exhaustively_on_small_tables() -> None:
    args = [
        (k, big_n, big_k, n)
        for big_n in range(1, 13)
        for big_k in range(big_n + 1)
        for n in range(big_n + 1)
        for k in range(max(0, n + big_k - big_n), min(n, big_k) + 1)
    ]
    k, big_n, big_k, n = (np.array(v) for v in zip(*args, strict=True))
    got = hypergeom_two_sided(k, big_n, big_k, n)
    expected = np.array([fisher_p(*a) for a in args])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)


def test_two_sided_matches_fisher_exact_on_larger_and_extreme_cases() -> None:
    rng = np.random.default_rng(7)
    cases = [(0, 5000, 2500, 2500), (2500, 5000, 2500, 2500), (1250, 5000, 2500, 2500)]
    for _ in range(150):
        big_n = int(rng.integers(2, 3000))
        big_k = int(rng.integers(0, big_n + 1))
        n = int(rng.integers(0, big_n + 1))
        lo, hi = max(0, n + big_k - big_n), min(n, big_k)
        cases.append((int(rng.integers(lo, hi + 1)), big_n, big_k, n))
    got = hypergeom_two_sided(*(np.array(c) for c in zip(*cases, strict=True)))
    expected = np.array([fisher_p(*c) for c in cases])
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-300)
    assert got[0] < 1e-300 or got[0] == pytest.approx(expected[0], rel=1e-8)
    assert got[2] == 1.0  # the mode itself


def test_two_sided_worked_example() -> None:
    # population 8, 2 marked, 4 drawn: P(0) = P(2) = 15/70, P(1) = 40/70
    assert hypergeom_two_sided(2, 8, 2, 4)[()] == pytest.approx(30 / 70)
    assert hypergeom_two_sided(1, 8, 2, 4)[()] == pytest.approx(1.0)


def test_two_sided_trivial_supports_and_shape() -> None:
    # no marked item; everything drawn; nothing drawn; all drawn again
    p = hypergeom_two_sided([[0, 5], [0, 3]], 5, [[0, 5], [5, 3]], [[3, 5], [0, 5]])
    assert p.shape == (2, 2)
    assert np.all(p == 1.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((3, 10, 2, 4), "outside its support"),
        ((0, 10, 11, 4), r"\[0, population\]"),
        ((0, 10, 2, -1), r"\[0, population\]"),
    ],
)
def test_two_sided_rejects_impossible_counts(
    args: tuple[int, int, int, int], match: str
) -> None:
    with pytest.raises(HpcoreError, match=match):
        hypergeom_two_sided(*args)


# --------------------------------------------------------------------------
# bh_q
# --------------------------------------------------------------------------


def test_bh_q_by_hand_and_nan() -> None:
    # sorted p: .01 .03 .04 .2 (m=4) -> .04, .04*... by hand:
    # p(i) * m / i = .04, .06, .0533, .2 -> running min from the top:
    # .04, .0533, .0533, .2
    q = bh_q([0.04, np.nan, 0.01, 0.2, 0.03])
    expected = [0.16 / 3, np.nan, 0.04, 0.2, 0.16 / 3]
    np.testing.assert_allclose(q, expected, rtol=1e-12)
    assert bh_q([]).shape == (0,)


def test_bh_q_family_is_the_tested_entries_only() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 60) ** 3
    tested = rng.random(60) < 0.7
    p[~tested] = 1.0
    p[5] = np.nan  # NaN stays NaN, tested or not
    p[6] = np.nan
    tested[5], tested[6] = True, False
    q = bh_q(p, tested)
    family = tested & np.isfinite(p)
    want = np.asarray(sps.false_discovery_control(p[family]), dtype=np.float64)
    assert np.array_equal(q[family], want)
    assert (q[~tested & np.isfinite(p)] == 1.0).all()
    assert np.isnan(q[[5, 6]]).all()
    # the untested entries would only have made the others' q-values larger
    assert (q[family] <= bh_q(p)[family]).all()
    assert (q[family] < bh_q(p)[family]).any()
    assert np.array_equal(bh_q(p, np.ones(60, dtype=bool)), bh_q(p), equal_nan=True)


def test_nontrivial_tests_is_a_support_of_two_points_or_more() -> None:
    for n_pop in (1, 2, 5, 9):
        for draws in range(n_pop + 1):
            k = np.arange(n_pop + 1)
            lo = np.maximum(0, draws + k - n_pop)
            hi = np.minimum(draws, k)
            want = hi > lo
            got = stats.nontrivial_tests(k, draws, n_pop)
            assert np.array_equal(got, want), (n_pop, draws)


# --------------------------------------------------------------------------
# pair_statistics
# --------------------------------------------------------------------------


def test_pair_statistics_by_hand(ens: hpcore.Ensemble) -> None:
    # normalized >= 0.5: rows 2 (a adam 64), 3 (a sgd 32), 6 (b sgd 64),
    # 7 (b adam 64); population = all 8 rows
    sel = hpcore.select(ens, range=(0.5, 1.0))
    out = pair_statistics(ens, sel)
    assert tuple(out.columns) == PAIR_STAT_COLUMNS
    pd.testing.assert_frame_equal(
        out[list(hpcore.analysis.pairs.COLUMNS)], hpcore.pair_counts(ens, sel)
    )
    row = out[(out.option_a == "adam") & (out.option_b == "64")].iloc[0]
    # rows with adam & 64: 2 and 7 -> K = 2, both selected
    assert row["count"] == 2
    assert row["expected"] == pytest.approx(4 * 2 / 8)
    assert row["enrichment"] == pytest.approx(2.0)
    assert row["p_value"] == pytest.approx(30 / 70)
    assert row["p_value"] == pytest.approx(fisher_p(2, 8, 2, 4))
    row = out[(out.option_a == "sgd") & (out.option_b == "32")].iloc[0]
    # rows with sgd & 32: 3 and 4 -> 1 selected, expected 1
    assert (row["count"], row["expected"], row["enrichment"]) == (1, 1.0, 1.0)
    assert row["p_value"] == pytest.approx(1.0)
    np.testing.assert_allclose(out["q_value"], bh_q(out["p_value"]))


def test_pair_statistics_family_leaves_out_cells_without_a_test() -> None:
    """A where filter leaves cells no network of the population has: their
    count is 0 whatever the selection, so p = q = 1 and they are not in the
    Benjamini-Hochberg family (which would make every other q larger)."""
    rng = np.random.default_rng(11)
    n = 3000
    opt = rng.choice(["adam", "rms", "sgd", "mom"], n)
    batch = rng.choice(["32", "64", "128"], n)
    act = rng.choice(["relu", "elu", "tanh"], n)
    acc = rng.random(n) + 0.3 * (opt == "adam") + 0.2 * (act == "elu")
    ens = hpcore.normalize(
        hpcore.load(
            pd.DataFrame({"opt": opt, "batch": batch, "act": act, "acc": acc}),
            metric="acc",
        )
    )
    where = {"opt": ["adam", "rms"], "batch": ["64"]}
    sel = hpcore.select(ens, range=(0.6, 1.0), where=where)
    out = pair_statistics(ens, sel)
    passing = hpcore.select(ens, where=where).mask
    labels = {
        p: np.asarray(ens.options(p))[ens.codes(p).to_numpy()] for p in ens.parameters
    }
    k_pop = np.array(
        [
            int(
                (
                    passing
                    & (labels[r.param_a] == r.option_a)
                    & (labels[r.param_b] == r.option_b)
                ).sum()
            )
            for r in out.itertuples()
        ]
    )
    tested = (k_pop > 0) & (k_pop < passing.sum())
    assert 0 < tested.sum() < len(out)
    assert (out["p_value"][~tested] == 1.0).all()
    assert (out["q_value"][~tested] == 1.0).all()
    want = sps.false_discovery_control(out["p_value"].to_numpy()[tested])
    np.testing.assert_allclose(out["q_value"].to_numpy()[tested], want, rtol=1e-12)
    assert np.array_equal(
        stats.nontrivial_cells(out, sel.count, int(passing.sum())), tested
    )
    # the old family (every cell) gave larger q-values, and fewer discoveries
    old = bh_q(out["p_value"].to_numpy())
    assert (out["q_value"].to_numpy() <= old).all()
    assert (out["q_value"].to_numpy() < 0.05).sum() > (old < 0.05).sum()


def test_importance_and_compare_leave_out_what_has_no_test() -> None:
    rng = np.random.default_rng(12)
    n = 2000
    frame = pd.DataFrame(
        {
            "opt": rng.choice(["adam", "rms", "sgd"], n),
            "batch": rng.choice(["32", "64"], n),
            "act": rng.choice(["relu", "elu"], n),
            "acc": rng.random(n),
        }
    )
    frame.loc[frame["opt"] == "adam", "acc"] += 0.3
    ens = hpcore.normalize(hpcore.load(frame, metric="acc"))
    sel = hpcore.select(ens, range=(0.5, 1.0), where={"batch": ["64"]})
    imp = parameter_importance(ens, sel).set_index("parameter")
    # one option left: nothing to test
    assert imp.loc["batch", "test"] == "none"
    assert (imp.loc["batch", "p_value"], imp.loc["batch", "q_value"]) == (1.0, 1.0)
    others = imp.drop(index="batch")
    want = sps.false_discovery_control(others["p_value"].to_numpy())
    np.testing.assert_allclose(others["q_value"].to_numpy(), want, rtol=1e-12)
    # compare: cells empty in both selections (batch 32 is filtered out)
    other = hpcore.select(ens, range=(0.0, 0.5), where={"batch": ["64"]})
    cmp = compare_selections(ens, other, sel)
    total = (cmp["count_a"] + cmp["count_b"]).to_numpy()
    tested = (total > 0) & (total < other.count + sel.count)
    assert 0 < tested.sum() < len(cmp)
    assert (cmp["q_value"][~tested] == 1.0).all()
    want = sps.false_discovery_control(cmp["p_value"].to_numpy()[tested])
    np.testing.assert_allclose(cmp["q_value"].to_numpy()[tested], want, rtol=1e-12)


def test_pair_statistics_population_is_the_where_filter(
    ens: hpcore.Ensemble,
) -> None:
    # dataset a only: rows 0..3 (adam 32, sgd 64, adam 64, sgd 32); selected
    # (normalized >= 0.5): rows 2 (adam 64) and 3 (sgd 32)
    sel = hpcore.select(ens, range=(0.5, 1.0), where={"dataset": ["a"]})
    out = pair_statistics(ens, sel)
    row = out[(out.param_a == "opt") & (out.option_a == "adam")]
    row = row[row.option_b == "64"].iloc[0]
    assert row["expected"] == pytest.approx(2 * 1 / 4)
    assert row["enrichment"] == pytest.approx(2.0)
    assert row["p_value"] == pytest.approx(fisher_p(1, 4, 1, 2))
    # dataset b is outside the population: expected 0, enrichment NaN, p 1
    b_rows = out[(out.param_a == "dataset") & (out.option_a == "b")]
    assert (b_rows["expected"] == 0).all()
    assert b_rows["enrichment"].isna().all()
    assert (b_rows["p_value"] == 1.0).all()


def test_pair_statistics_without_selection_is_trivial(ens: hpcore.Ensemble) -> None:
    out = pair_statistics(ens)
    np.testing.assert_allclose(out["expected"], out["count"])
    assert (out["p_value"] == 1.0).all()


def test_pair_statistics_rejects_foreign_selections(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, range=(0.5, 1.0), where={"dataset": ["a"]})
    outside = Selection(
        mask=np.ones(len(ens), dtype=bool),
        count=len(ens),
        range=(0, 1),
        where=sel.where,
    )
    with pytest.raises(SelectionError, match="do not pass its own where filter"):
        pair_statistics(ens, outside)
    other = Selection(mask=np.ones(3, dtype=bool), count=3, range=(0, 1))
    with pytest.raises(SelectionError, match="has 3 rows but the ensemble has 8"):
        pair_statistics(ens, other)


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    """Random small tables; the first two rows give every column two options."""
    n = draw(st.integers(0, 40))
    acc = st.floats(0, 100, allow_nan=False)

    def column(first: list[str], options: list[str]) -> list[str]:
        more = draw(st.lists(st.sampled_from(options), min_size=n, max_size=n))
        return [*first, *more]

    return pd.DataFrame(
        {
            "g": column(["g1", "g2"], ["g1", "g2"]),
            "a": column(["x", "y"], ["x", "y", "z"]),
            "b": column(["1", "2"], ["1", "2"]),
            "acc": draw(st.lists(acc, min_size=n + 2, max_size=n + 2)),
        }
    )


@given(
    df=tables(),
    lo=st.floats(0, 1),
    width=st.floats(0, 1),
    keep=st.sampled_from([None, ["x"], ["x", "y"]]),
)
def test_pair_statistics_invariants(
    df: pd.DataFrame, lo: float, width: float, keep: list[str] | None
) -> None:
    ens = hpcore.normalize(hpcore.load(df, metric="acc", group="g"))
    before = ens.table.copy()
    if keep is not None and not set(keep) & set(ens.options("a")):
        keep = None
    where = {"a": [k for k in keep if k in ens.options("a")]} if keep else None
    sel = hpcore.select(ens, range=(lo, min(1.0, lo + width)), where=where)
    out = pair_statistics(ens, sel)
    pd.testing.assert_frame_equal(ens.table, before)
    assert out["p_value"].between(0, 1).all()
    assert (out["q_value"] >= out["p_value"] - 1e-12).all()
    blocks = out.groupby(["param_a", "param_b"], sort=False)["expected"].sum()
    np.testing.assert_allclose(blocks.to_numpy(), sel.count)
    finite = out["enrichment"].notna()
    np.testing.assert_allclose(
        (out["enrichment"] * out["expected"])[finite], out["count"][finite]
    )
    assert (out.loc[~finite, "expected"] == 0).all()


# --------------------------------------------------------------------------
# parameter_importance
# --------------------------------------------------------------------------


def test_importance_by_hand(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, range=(0.5, 1.0))
    out = parameter_importance(ens, sel)
    assert tuple(out.columns) == IMPORTANCE_COLUMNS
    batch = out.set_index("parameter").loc["batch"]
    # selection batch: 64, 32, 64, 64 -> (1/4, 3/4); all rows: (4/8, 4/8)
    assert batch["score"] == pytest.approx(0.25)
    assert batch["top_option"] == "64"
    assert batch["top_enrichment"] == pytest.approx(1.5)
    table = np.array([[1, 3], [3, 1]])  # selected / not selected by 32, 64
    chi2 = sps.chi2_contingency(table, correction=False).statistic
    assert batch["statistic"] == pytest.approx(chi2)
    assert batch["dof"] == 1
    # expected counts of 2 < 5: Monte Carlo; exact answer by enumerating all
    # 70 selections of 4 rows out of 8 (4 with 32, 4 with 64)
    assert batch["test"] == "monte-carlo"
    exact = np.mean(
        [
            sps.chi2_contingency([[k, 4 - k], [4 - k, k]], correction=False).statistic
            >= chi2 - 1e-9
            for k in (
                sum(1 for i in combo if i < 4)
                for combo in itertools.combinations(range(8), 4)
            )
        ]
    )
    assert batch["p_value"] == pytest.approx(exact, abs=0.02)
    assert list(out["score"]) == sorted(out["score"], reverse=True)
    np.testing.assert_allclose(out["q_value"], bh_q(out["p_value"]))


def test_importance_large_counts_use_chi2_like_scipy() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame({"opt": rng.choice(["a", "b", "c"], n), "acc": rng.random(n)})
    df.loc[df.opt == "a", "acc"] += 0.2
    ens = hpcore.normalize(hpcore.load(df, metric="acc"))
    sel = hpcore.select(ens, range=(0.7, 1.0))
    row = parameter_importance(ens, sel).iloc[0]
    codes = ens.codes("opt").to_numpy()
    table = np.array(
        [
            np.bincount(codes[sel.mask], minlength=3),
            np.bincount(codes[~sel.mask], minlength=3),
        ]
    )
    ref = sps.chi2_contingency(table, correction=False)
    assert row["test"] == "chi2"
    assert row["statistic"] == pytest.approx(ref.statistic)
    assert row["p_value"] == pytest.approx(ref.pvalue)
    assert row["dof"] == 2


def test_importance_empty_and_full_selection(ens: hpcore.Ensemble) -> None:
    empty = hpcore.select(ens, range=(0.99, 0.995))
    assert empty.count == 0
    out = parameter_importance(ens, empty)
    assert (out["score"] == 0).all() and (out["p_value"] == 1).all()
    full = parameter_importance(ens, hpcore.select(ens))
    assert (full["score"] == 0).all() and (full["p_value"] == 1).all()


def test_importance_rejects_bad_resamples(ens: hpcore.Ensemble) -> None:
    with pytest.raises(HpcoreError, match="`resamples` must be a positive integer"):
        parameter_importance(ens, None, resamples=0)


# --------------------------------------------------------------------------
# trellis_with_ci
# --------------------------------------------------------------------------


def test_trellis_ci_against_naive_pandas() -> None:
    ens = null_ensemble(0, n=400)
    sel = hpcore.select(ens, range=(0.2, 1.0))
    out = trellis_with_ci(ens, sel, primary="dataset", secondary="opt", level=0.9)
    base = hpcore.trellis(ens, sel, primary="dataset", secondary="opt")
    pd.testing.assert_frame_equal(out[list(base.columns)], base)
    rows = ens.table[sel.mask]
    for p in ("batch", "act"):
        g = rows.groupby([p, "dataset", "opt"], observed=True)["normalized"]
        stats = g.agg(["mean", "std", "count"])
        part = out[out.parameter == p].set_index(["option", "primary", "secondary"])
        for key, r in stats.iterrows():
            lo, hi = sps.t.interval(
                0.9, r["count"] - 1, r["mean"], r["std"] / math.sqrt(r["count"])
            )
            got = part.loc[tuple(str(k) for k in key)]
            assert got["ci_low"] == pytest.approx(lo, rel=1e-9)
            assert got["ci_high"] == pytest.approx(hi, rel=1e-9)


def test_trellis_ci_small_cells(ens: hpcore.Ensemble) -> None:
    out = trellis_with_ci(ens, primary="dataset")
    # every (opt or batch) x dataset cell has 2 rows here
    assert (out["count"] == 2).all()
    assert out["ci_low"].notna().all()
    sel = hpcore.select(ens, range=(0.5, 1.0))
    out = trellis_with_ci(ens, sel, primary="dataset", secondary="opt")
    small = out["count"] < 2
    assert small.any()
    assert out.loc[small, ["ci_low", "ci_high"]].isna().all().all()
    constant = hpcore.normalize(
        hpcore.load(
            pd.DataFrame(
                {
                    "p": list("aaaabbbb"),
                    "q": list("xxyyxxyy"),
                    "acc": [1.0] * 4 + [2.0] * 4,
                }
            ),
            metric="acc",
        )
    )
    flat = trellis_with_ci(constant, primary="q")
    assert (flat["ci_low"] == flat["mean"]).all()
    assert (flat["ci_high"] == flat["mean"]).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"primary": "dataset", "level": 1.0}, HpcoreError, "`level` must lie"),
        ({"primary": "dataset", "level": 0}, HpcoreError, "`level` must lie"),
        ({"primary": "nope"}, ParameterError, "'nope' is not a parameter"),
        ({"primary": "dataset", "value": "x"}, ParameterError, "value must be"),
    ],
)
def test_trellis_ci_bad_input(
    ens: hpcore.Ensemble, kwargs: dict[str, object], exc: type, match: str
) -> None:
    with pytest.raises(exc, match=match):
        trellis_with_ci(ens, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# compare_selections
# --------------------------------------------------------------------------


def test_compare_selections_by_hand(ens: hpcore.Ensemble) -> None:
    low = hpcore.select(ens, range=(0.0, 0.4))  # rows 0, 1, 4, 5
    high = hpcore.select(ens, range=(0.5, 1.0))  # rows 2, 3, 6, 7
    out = compare_selections(ens, low, high)
    assert tuple(out.columns) == COMPARE_COLUMNS
    row = out[(out.option_a == "adam") & (out.option_b == "64")].iloc[0]
    # low: adam&64 none; high: rows 2, 7
    assert (row["count_a"], row["count_b"]) == (0, 2)
    assert (row["share_a"], row["share_b"], row["difference"]) == (0.0, 0.5, 0.5)
    assert row["p_value"] == pytest.approx(sps.fisher_exact([[0, 4], [2, 2]]).pvalue)
    for _, r in out.iterrows():
        ref = sps.fisher_exact(
            [[r.count_a, 4 - r.count_a], [r.count_b, 4 - r.count_b]]
        ).pvalue
        assert r["p_value"] == pytest.approx(ref)
    np.testing.assert_allclose(out["q_value"], bh_q(out["p_value"]))


def test_compare_with_an_empty_selection(ens: hpcore.Ensemble) -> None:
    empty = hpcore.select(ens, range=(0.99, 0.995))
    out = compare_selections(ens, empty, hpcore.select(ens))
    assert out["share_a"].isna().all()
    assert (out["p_value"] == 1.0).all()
    with pytest.raises(SelectionError, match=r"sel_b must be an hpcore\.Selection"):
        compare_selections(ens, empty, "top")  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# honesty: nothing is significant when nothing is there
# --------------------------------------------------------------------------


def test_null_metric_gives_no_significant_cells_in_95_percent_of_seeds() -> None:
    cells, parameters = [], []
    for seed in range(40):
        ens = null_ensemble(seed)
        sel = hpcore.select(ens, range=(0.85, 1.0))
        if (pair_statistics(ens, sel)["q_value"] < 0.05).any():
            cells.append(seed)
        if (parameter_importance(ens, sel, resamples=999)["q_value"] < 0.05).any():
            parameters.append(seed)
    assert len(cells) <= 2, f"significant pair cells for seeds {cells}"
    assert len(parameters) <= 2, f"significant parameters for seeds {parameters}"


def test_a_planted_cell_is_found() -> None:
    # the power check that makes the null test meaningful: same design, but
    # sgd with batch 256 is better
    ens0 = null_ensemble(1)
    df = ens0.table[["dataset", "opt", "batch", "act", "test_accuracy"]].copy()
    boost = (df["opt"] == "sgd") & (df["batch"] == "256")
    df["test_accuracy"] = df["test_accuracy"] + 0.3 * boost.to_numpy()
    ens = hpcore.normalize(hpcore.load(df.astype({"opt": str, "batch": str})))
    sel = hpcore.select(ens, range=(0.85, 1.0))
    out = pair_statistics(ens, sel)
    hit = out[
        (out.param_a == "opt")
        & (out.option_a == "sgd")
        & (out.param_b == "batch")
        & (out.option_b == "256")
    ].iloc[0]
    assert hit["q_value"] < 0.05 and hit["enrichment"] > 1.5
    imp = parameter_importance(ens, sel)
    assert set(imp.loc[imp.q_value < 0.05, "parameter"]) >= {"opt", "batch"}


# --------------------------------------------------------------------------
# the same statistics from counts computed elsewhere
# --------------------------------------------------------------------------


def test_statistics_from_precomputed_counts(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, range=(0.5, 1.0), where={"dataset": ["a"]})
    population = hpcore.select(ens, where={"dataset": ["a"]})
    enriched = enrich_pair_counts(
        hpcore.pair_counts(ens, sel),
        hpcore.pair_counts(ens, population),
        selected=sel.count,
        population=population.count,
    )
    pd.testing.assert_frame_equal(enriched, pair_statistics(ens, sel))
    low = hpcore.select(ens, range=(0.0, 0.4))
    compared = compare_pair_counts(
        hpcore.pair_counts(ens, low),
        hpcore.pair_counts(ens, sel),
        size_a=low.count,
        size_b=sel.count,
    )
    pd.testing.assert_frame_equal(compared, compare_selections(ens, low, sel))


def test_statistics_from_mismatched_counts_fail(ens: hpcore.Ensemble) -> None:
    counts = hpcore.pair_counts(ens)
    with pytest.raises(HpcoreError, match="same cells in the same order"):
        enrich_pair_counts(counts, counts.iloc[::-1], selected=1, population=8)
    with pytest.raises(HpcoreError, match=r"lacks column\(s\) \['count'\]"):
        compare_pair_counts(counts, counts.drop(columns="count"), size_a=1, size_b=1)


# ------------------------------------- scipy.stats' numbers, without importing it


def test_t_quantile_chi2_sf_and_bh_equal_scipy_stats_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    df = np.r_[-1.0, 0.0, 0.5, 1.0, 2.0, rng.integers(1, 10**6, 200).astype(float)]
    # repeated counts (each distinct one is inverted once), NaN, a 2-D shape
    repeated = np.r_[rng.integers(1, 30, 98).astype(float), np.nan, np.nan].reshape(
        4, 25
    )
    for q in (0.975, 0.95, 0.5 + 0.99 / 2.0):
        for d in (df, repeated):
            got = stats.t_quantile(q, d)
            want = np.asarray(sps.t.ppf(q, d))
            assert got.shape == d.shape
            assert np.array_equal(got, want, equal_nan=True)
    for statistic, dof in [(0.0, 1), (1e-9, 3), (3.84, 1), (250.0, 7), (1e4, 40)]:
        assert stats.chi2_sf(statistic, dof) == float(sps.chi2.sf(statistic, dof))
    for n in (1, 2, 7, 804):
        p = rng.uniform(0, 1, n) ** 4
        p[: n // 3] = p[0]  # ties
        got = stats.bh_q(p)
        want = np.asarray(sps.false_discovery_control(p), dtype=np.float64)
        assert np.array_equal(got, want)


def test_report_path_does_not_import_scipy_stats() -> None:
    # scipy.stats costs about half a second to import; the report needs none of it
    assert not imports_scipy_stats(
        "import hpcore\n"
        "from hpcore.app import report\n"
        "from hpcore.analysis import stats, tables\n"
        "from hpcore.views import trellis\n"
        "ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(2000)))\n"
        "sel = hpcore.select(ens, range=(0.9, 1.0))\n"
        "stats.pair_statistics(ens, sel)\n"
        "stats.parameter_importance(ens, sel)\n"
        "stats.trellis_with_ci(ens, sel, primary='dataset')"
    )
