"""BrushEngine: equal to the plain functions, exact, bad input."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import hpcore
from hpcore.analysis import stats
from hpcore.analysis.engine import BrushEngine, BrushResult
from hpcore.analysis.engine import exact as dd
from hpcore.analysis.engine import index as index_module
from hpcore.analysis.engine import query as query_module
from hpcore.data.errors import HpcoreError, OptionError, ParameterError, SelectionError
from hpcore.data.model import Ensemble


@pytest.fixture
def ens(ensemble_df: pd.DataFrame) -> hpcore.Ensemble:
    return hpcore.normalize(hpcore.load(ensemble_df))


def assert_matches(
    engine: BrushEngine,
    range: tuple[float, float] = (0.0, 1.0),
    where: Mapping[str, Any] | None = None,
    primary: str | None = None,
    secondary: str | None = None,
) -> BrushResult:
    """The engine's answer equals the plain functions' (the oracle)."""
    ens = engine.ensemble
    res = engine.query(range=range, where=where, primary=primary, secondary=secondary)
    sel = hpcore.select(ens, range=range, where=where)
    assert res.count == sel.count
    assert res.range == sel.range
    assert dict(res.where) == dict(sel.where)
    pd.testing.assert_frame_equal(res.pair_counts, hpcore.pair_counts(ens, sel))
    passing = hpcore.select(ens, where=where)
    pd.testing.assert_frame_equal(
        res.histogram,
        hpcore.histogram(ens, bins=engine.bins, normalized=True, selection=passing),
    )
    if primary is None:
        assert res.trellis is None
    else:
        assert res.trellis is not None
        pd.testing.assert_frame_equal(
            res.trellis,
            hpcore.trellis(ens, sel, primary=primary, secondary=secondary),
            check_exact=False,
            rtol=1e-12,
            atol=0.0,
        )
    got = engine.select(range=range, where=where)
    assert np.array_equal(got.mask, sel.mask)
    assert (got.count, got.range, dict(got.where)) == (
        sel.count,
        sel.range,
        dict(sel.where),
    )
    assert np.array_equal(
        engine.indices(range=range, where=where), np.flatnonzero(sel.mask)
    )
    assert engine.count(range=range, where=where) == sel.count
    options = stats.option_counts(ens, sel)
    pd.testing.assert_frame_equal(res.option_counts, options)
    pd.testing.assert_frame_equal(
        engine.option_counts(range=range, where=where), options
    )
    assert engine.made(got) and engine.answers(got)
    assert not engine.made(sel) and engine.answers(sel)  # checked row by row
    if primary is not None:
        moments = engine.trellis_moments(
            range=range, where=where, primary=primary, secondary=secondary
        )
        assert res.trellis is not None
        pd.testing.assert_frame_equal(  # the same means, bit for bit
            moments.drop(columns="sum_sq_dev"), res.trellis, check_exact=True
        )
        assert_spread(moments, ens, sel, primary, secondary)
    return res


EPS = 2.0**-53


def exact_spread(
    ens: hpcore.Ensemble, sel: hpcore.Selection, primary: str, secondary: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Oracle in exact rational arithmetic, per trellis cell (trellis row order):
    the sum of squared deviations from the mean, the sum of squares, the count."""
    rows = ens.table[sel.mask]
    values = [Fraction(float(v)) for v in rows["normalized"]]
    keys = [rows[primary].astype(str).tolist()]
    keys.append(rows[secondary].astype(str).tolist() if secondary else [""] * len(rows))
    cells: dict[tuple[str, str, str, str], list[Fraction]] = {}
    for p in ens.parameters:
        if p in (primary, secondary):
            continue
        options = rows[p].astype(str).tolist()
        for i, v in enumerate(values):
            cells.setdefault((p, options[i], keys[0][i], keys[1][i]), []).append(v)
    table = hpcore.trellis(ens, sel, primary=primary, secondary=secondary)
    spread, squares, counts = [], [], []
    for r in table.itertuples(index=False):
        key = (r.parameter, r.option, r.primary, r.secondary if secondary else "")
        vs = cells.get(key, [])
        mean = sum(vs, Fraction(0)) / len(vs) if vs else Fraction(0)
        spread.append(float(sum(((v - mean) ** 2 for v in vs), Fraction(0))))
        squares.append(float(sum((v * v for v in vs), Fraction(0))))
        counts.append(len(vs))
    return np.array(spread), np.array(squares), np.array(counts, dtype=float)


def assert_spread(
    moments: pd.DataFrame,
    ens: hpcore.Ensemble,
    sel: hpcore.Selection,
    primary: str,
    secondary: str | None,
) -> None:
    """``sum_sq_dev`` within the documented bound of the exact value: relative
    1e-13 plus 1e-29 * n * sum(v**2) (the floor of the double-double prefix
    sums; measured up to 5.4e-31 * n * sum(v**2) on adversarial data), plus
    what no float64 sum avoids below 2**-1022, where every rounding is
    absolute, up to half the smallest subnormal: a few per row (found by
    hypothesis: a spread of 2.47e-322 computed as 2.3e-322)."""
    spread, squares, n = exact_spread(ens, sel, primary, secondary)
    got = moments["sum_sq_dev"].to_numpy()
    assert (got >= 0).all() and (got[n < 2] == 0).all()
    subnormal = 8.0 * (n + 4.0) * np.finfo(np.float64).smallest_subnormal
    bound = 1e-13 * spread + 1e-29 * n * squares + subnormal
    assert (np.abs(got - spread) <= bound).all(), np.max(np.abs(got - spread) - bound)


def test_query_by_hand(ens: hpcore.Ensemble) -> None:
    # normalized: a 0, .25, .5, 1; b 0, 1/3, 2/3, 1 -> rows 2, 3, 6, 7 in [.4, 1]
    engine = BrushEngine(ens, bins=4)
    res = engine.query(range=(0.4, 1.0), primary="dataset")
    assert res.count == 4
    got = {tuple(r[:4]): r[4] for r in res.pair_counts.itertuples(index=False)}
    assert got[("dataset", "b", "batch", "64")] == 2
    assert got[("dataset", "b", "batch", "32")] == 0
    assert got[("opt", "adam", "batch", "64")] == 2
    assert res.trellis is not None
    rows = {
        (r.parameter, r.option, r.primary): r.mean for r in res.trellis.itertuples()
    }
    assert rows[("batch", "64", "b")] == pytest.approx(5 / 6, rel=1e-15)
    assert rows[("opt", "sgd", "a")] == 1.0
    # the histogram is not cut by the range: all 8 rows, one per bin and group
    assert res.histogram["count"].tolist() == [1] * 8


def test_histogram_follows_where_not_range(ens: hpcore.Ensemble) -> None:
    engine = BrushEngine(ens, bins=4)
    res = engine.query(range=(0.9, 1.0), where={"opt": "sgd"})
    # sgd rows: a .25, a 1.0, b 0, b 2/3
    assert res.histogram["count"].tolist() == [0, 1, 0, 1, 1, 0, 1, 0]
    assert res.count == 1


@pytest.mark.parametrize(
    ("range", "count"),
    [
        ((0.25, 0.5), 3),  # both ends hit metric values exactly
        ((0.0, 0.0), 2),
        ((1.0, 1.0), 2),
        ((1 / 3, 1 / 3), 1),
        ((0.26, 0.32), 0),  # empty selection
        ((0.0, 1.0), 8),
    ],
)
def test_closed_interval_and_empty(
    ens: hpcore.Ensemble, range: tuple[float, float], count: int
) -> None:
    engine = BrushEngine(ens)
    for primary, secondary in [("dataset", None), ("opt", "batch"), (None, None)]:
        res = assert_matches(engine, range, None, primary, secondary)
        assert res.count == count
    res = assert_matches(engine, range, {"dataset": "a", "opt": "adam"}, "batch")
    if count == 0:
        assert res.trellis is not None
        assert res.trellis["mean"].isna().all()
        assert (res.pair_counts["count"] == 0).all()


def _hand_ensemble(
    codes: Mapping[str, list[int]],
    values: list[float],
    group: str | None = None,
    normalized: list[float] | None = None,
) -> Ensemble:
    """An Ensemble built directly (load() rejects one-option parameters)."""
    table = {
        name: pd.Categorical.from_codes(c, categories=["x", "y", "z"], ordered=True)
        for name, c in codes.items()
    }
    ens = Ensemble(
        table=pd.DataFrame({**table, "acc": np.asarray(values, dtype=np.float64)}),
        parameters=tuple(n for n in codes if n != group or group is None),
        metric="acc",
        group=group,
    )
    ens = hpcore.normalize(ens)
    if normalized is not None:
        table2 = ens.table.assign(normalized=np.asarray(normalized, dtype=np.float64))
        ens = Ensemble(
            table=table2,
            parameters=ens.parameters,
            metric="acc",
            group=group,
            normalization="minmax",
        )
    return ens


def test_one_row() -> None:
    engine = BrushEngine(_hand_ensemble({"p": [1], "q": [0]}, [0.7]))
    assert engine.n_combinations == 1
    for rng in [(0.5, 0.5), (0.0, 0.4), (0.0, 1.0)]:
        assert_matches(engine, rng, None, "p")
        assert_matches(engine, rng, {"q": "x"}, "q")


def test_one_combination() -> None:
    values = [0.1, 0.5, 0.5, 0.9, 0.3, 0.5]
    engine = BrushEngine(_hand_ensemble({"p": [2] * 6, "q": [0] * 6}, values))
    assert engine.n_combinations == 1
    res = assert_matches(engine, (0.5, 1.0), None, "p")
    assert res.count == 4  # 0.5, 0.5, 0.9 and 0.5 -> normalized .5, .5, 1, .5
    assert_matches(engine, (0.0, 0.0), None, "q")
    assert_matches(engine, (1.0, 1.0), {"p": "z"}, "q")


def test_group_that_is_not_a_parameter() -> None:
    # normalization groups must not mix even when the group is no parameter
    codes = {"g": [0, 0, 0, 1, 1, 1], "p": [0, 1, 0, 1, 0, 1], "q": [0, 0, 1, 1, 0, 0]}
    ens = _hand_ensemble(codes, [1, 2, 3, 10, 20, 40], group="g")
    assert ens.parameters == ("p", "q")
    engine = BrushEngine(ens, bins=3)
    res = assert_matches(engine, (0.4, 1.0), None, "p")
    assert res.histogram["group"].tolist() == ["x"] * 3 + ["y"] * 3 + ["z"] * 3
    assert_matches(engine, (0.0, 0.5), {"p": "y"}, "q")


def test_nan_and_signed_zero_in_a_hand_made_table() -> None:
    # normalize() never makes these, but the engine must agree with select()
    ens = _hand_ensemble(
        {"p": [0, 1, 0, 1, 0], "q": [0, 0, 1, 1, 0]},
        [1, 2, 3, 4, 5],
        normalized=[np.nan, -0.0, 0.0, 1.0, 0.5],
    )
    engine = BrushEngine(ens, bins=2)
    for rng in [(0.0, 0.0), (0.0, 1.0), (0.5, 1.0)]:
        assert_matches(engine, rng, None, "p")


def test_no_group_column() -> None:
    df = pd.DataFrame(
        {"p": ["a", "b", "a", "b"], "q": [1, 1, 2, 2], "acc": [1, 2, 3, 5]}
    )
    ens = hpcore.normalize(hpcore.load(df))
    engine = BrushEngine(ens)
    res = assert_matches(engine, (0.2, 1.0), {"q": [2]}, "p")
    assert set(res.histogram["group"]) == {"all"}
    with pytest.raises(ParameterError, match=r"needs a parameter besides its primary"):
        engine.query(primary="p", secondary="q")


# ------------------------------------------------------------- exactness


def test_sums_exact_across_magnitudes() -> None:
    # one combination holding 1e-300 next to 1: the trellis mean of the tiny
    # values must not drown in the prefix sums of the large ones
    rng = np.random.default_rng(7)
    tiny = list(10.0 ** rng.uniform(-300, -5, 200))
    big = list(rng.uniform(0, 1, 200))
    values = [0.0, 1.0, *tiny, *big]
    ens = _hand_ensemble({"p": [0] * len(values), "q": [1] * len(values)}, values)
    engine = BrushEngine(ens)
    norm = ens.table["normalized"].to_numpy()
    for lo, hi in [(1e-300, 1e-5), (1e-200, 1e-100), (1e-10, 1e-6), (0.0, 1.0)]:
        res = assert_matches(engine, (lo, hi), None, "p")
        assert res.trellis is not None
        picked = norm[(norm >= lo) & (norm <= hi)]
        exact = math.fsum(picked) / len(picked)
        got = res.trellis.loc[res.trellis["count"] > 0, "mean"].iloc[0]
        assert got == pytest.approx(exact, rel=4e-16, abs=0.0)


def test_sums_exact_in_a_large_combination() -> None:
    # 200k rows in one combination: plain float prefix sums would be off by
    # about 1e-11 relative near the top; the double-double ones are not
    rng = np.random.default_rng(3)
    n = 200_000
    values = rng.uniform(0, 1, n)
    values[:2] = [0.0, 1.0]
    ens = _hand_ensemble({"p": [0] * n, "q": [0] * n}, list(values))
    engine = BrushEngine(ens)
    norm = ens.table["normalized"].to_numpy()
    for lo, hi in [(0.999, 1.0), (0.9999, 0.99995), (0.5, 0.5001), (0.0, 1.0)]:
        res = engine.query(range=(lo, hi), primary="p")
        assert res.trellis is not None
        picked = norm[(norm >= lo) & (norm <= hi)]
        assert res.count == len(picked)
        got = res.trellis.loc[res.trellis["count"] > 0, "mean"].iloc[0]
        assert got == pytest.approx(math.fsum(picked) / len(picked), rel=4e-16, abs=0.0)


def test_full_steps_in_one_cell_pack_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # steps of STEP_MAX rows, every row of a step in one trellis cell: the
    # count packed with the coarse multiples in one float64 reaches its
    # largest (2**13 rows times PACK plus their multiples) and must unpack
    # exactly
    monkeypatch.setattr(index_module, "STEP_MIN", index_module.STEP_MAX)
    step = index_module.STEP_MAX
    assert step * index_module.PACK + step * 2.0**index_module.SPLIT_BITS < 2.0**53
    rng = np.random.default_rng(4)
    n = 3 * step + 2
    values = np.r_[0.0, 1.0, np.sort(rng.uniform(0.3, 0.9, n - 2))]
    ens = _hand_ensemble({"p": [0] * n, "q": [0] * n}, list(values))
    engine = BrushEngine(ens)
    assert engine._index.step == step
    norm = ens.table["normalized"].to_numpy()
    bounds = engine._index.values[engine._index.pos[:-1]]
    for lo, hi in [(bounds[1], bounds[3]), (bounds[1], 1.0), (0.0, 1.0)]:
        res = assert_matches(engine, (lo, hi), None, "p")
        assert res.trellis is not None
        picked = norm[(norm >= lo) & (norm <= hi)]
        got = res.trellis.loc[res.trellis["count"] > 0]
        assert int(got["count"].iloc[0]) == len(picked)
        want = math.fsum(picked) / len(picked)
        assert got["mean"].iloc[0] == pytest.approx(want, rel=4e-16, abs=0.0)


# ---------------------------------------------------------- random tables

POOL = [0.0, 1.0, 0.5, 2.0, 0.25, 3.0, 1e-300, 7.5]


@st.composite
def ensembles(draw: st.DrawFn) -> hpcore.Ensemble:
    n = draw(st.integers(2, 40))
    n_params = draw(st.integers(1, 4))
    columns: dict[str, list[Any]] = {}
    for i in np.arange(n_params):
        k = draw(st.integers(2, 4))
        codes = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
        codes[:2] = [0, 1]
        columns[f"p{i}"] = [f"o{c}" for c in codes]
    n_groups = draw(st.sampled_from([0, 1, 2, 3]))
    if n_groups:
        columns["dataset"] = [
            f"g{c}"
            for c in draw(
                st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n)
            )
        ]
    metric = draw(
        st.lists(
            st.one_of(
                st.sampled_from(POOL),  # ties
                st.floats(-5, 5, allow_nan=False),
                st.just(float("nan")),  # dropped at load
            ),
            min_size=n,
            max_size=n,
        )
    )
    metric[:2] = [0.0, 1.0]
    columns["acc"] = metric
    params = [f"p{i}" for i in np.arange(n_params)]
    try:
        ens = hpcore.load(pd.DataFrame(columns), metric="acc", parameters=params)
    except HpcoreError:
        assume(False)
    method = draw(st.sampled_from(["minmax", "rank", "robust"]))
    return hpcore.normalize(ens, method=method)


@st.composite
def brushes(draw: st.DrawFn, ens: hpcore.Ensemble) -> dict[str, Any]:
    norm = sorted(set(ens.table["normalized"].tolist()))
    ends = st.one_of(
        st.sampled_from(norm), st.floats(0, 1), st.sampled_from([0.0, 1.0])
    )
    lo, hi = sorted([draw(ends), draw(ends)])
    where: dict[str, list[str]] = {}
    for name in draw(
        st.lists(st.sampled_from(ens.parameters), unique=True, max_size=2)
    ):
        options = list(ens.options(name))
        where[name] = draw(st.lists(st.sampled_from(options), min_size=1, unique=True))
    params = list(ens.parameters)
    primary = secondary = None
    if len(params) >= 2 and draw(st.booleans()):
        primary = draw(st.sampled_from(params))
        if len(params) >= 3 and draw(st.booleans()):
            secondary = draw(st.sampled_from([p for p in params if p != primary]))
    return {
        "range": (lo, hi),
        "where": where,
        "primary": primary,
        "secondary": secondary,
    }


Case = tuple[hpcore.Ensemble, int, list[dict[str, Any]]]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """An ensemble, a histogram bin count and three brushes on it."""
    ens = draw(ensembles())
    bins = draw(st.integers(1, 6))
    return ens, bins, [draw(brushes(ens)) for _ in np.arange(3)]


def tied_case() -> Case:
    """Found by hypothesis (once, as a flaky failure): two rows of one trellis
    cell tied at 2/17, inside one step starting at 0. The step's
    ``sum(d)**2 / n`` rounded to float64 left a spread of 1.6e-18 instead
    of 0 (``S2 - S1**2 / n`` over the whole step)."""
    acc = [0, 1, 0, 2.25, 0.25, 1.25, 0, 0, 0, 0, 0, 5, 0, 0.5, 7.5, 2.5, 1.5, 0]
    acc += [2, 4, 3, -1]
    p2 = ["o0", "o1", "o1", "o0", "o0", "o0", "o1"] + ["o0"] * 15
    frame = pd.DataFrame(
        {
            "p0": ["o0", "o1"] + ["o0"] * 20,
            "p1": ["o0", "o1"] + ["o0"] * 20,
            "p2": p2,
            "acc": np.asarray(acc, dtype=np.float64),
        }
    )
    ens = hpcore.normalize(
        hpcore.load(frame, metric="acc", parameters=["p0", "p1", "p2"])
    )
    brush = {"range": (0.0, 1.0), "where": {}, "primary": "p0", "secondary": None}
    ties = {"range": (0.1, 0.2), "where": {"p2": ["o1"]}, "primary": "p1"}
    return ens, 1, [brush, {**ties, "secondary": "p0"}, brush]


def close_values_case() -> Case:
    """Found by hypothesis: one step spanning [0, 1] (its smallest value 0);
    a trellis cell holding 8/13 and 2/3. Its spread taken as ``sum(d**2) -
    sum(d)**2 / n`` around the step's smallest value lost 1.5e-13 of its
    size to cancellation; around the cell's own mean it does not."""
    ds = ["g0", "g0", "g1"] + ["g0"] * 5 + ["g1"] + ["g0"] * 7 + ["g1", "g0"]
    p = ["o0", "o1"] + ["o0"] * 6 + ["o1"] + ["o0"] * 9
    acc = [0, 1, 3, 0, 0, 0, 0, -3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3.5]
    frame = pd.DataFrame(
        {"dataset": ds, "p0": p, "p1": p, "acc": np.asarray(acc, dtype=np.float64)}
    )
    ens = hpcore.normalize(hpcore.load(frame, metric="acc"))
    brush = {"range": (0.0, 1.0), "where": {}, "primary": "p0", "secondary": None}
    return ens, 1, [brush, {**brush, "primary": "dataset"}, brush]


def tiny_values_case() -> Case:
    """Found by hypothesis: a cell holding 0 and 7.2e-149. The union's
    rounding floor counted the running sum itself (7.2e-149 * 2**-100)
    against a spread of 2.6e-297 and set it to 0; the floor is now the
    running sum times twice the union's mean."""
    acc = [0.0, 1.0, 0.0, 0.0, 3.582247e-149, 0.5]
    frame = pd.DataFrame(
        {
            "dataset": ["g0", "g0", "g0", "g2", "g2", "g2"],
            "p0": ["o0", "o1", "o0", "o1", "o1", "o0"],
            "p1": ["o0", "o1", "o0", "o0", "o0", "o0"],
            "acc": np.asarray(acc, dtype=np.float64),
        }
    )
    ens = hpcore.normalize(hpcore.load(frame, metric="acc"))
    brush = {"range": (0.0, 1.0), "where": {}, "primary": "dataset", "secondary": None}
    return ens, 1, [brush, {**brush, "primary": "p0"}, brush]


@given(case=cases())
@example(case=tiny_values_case())
@example(case=tied_case())
@example(case=close_values_case())
def test_random_tables_match_plain_functions(case: Case) -> None:
    ens, bins, brushes_ = case
    before = ens.table.copy()
    engine = BrushEngine(ens, bins=bins)
    for brush in brushes_:
        assert_matches(engine, **brush)
    pd.testing.assert_frame_equal(ens.table, before)  # input unchanged


# --------------------------------- every code path, forced on a random table

#: Module limits forced on small tables: every piece of the index and the
#: queries runs (many steps, one step, tiny chunks, caches that evict).
MANY_STEPS = {"STEP_MIN": 64, "STEP_MAX": 64}
SMALL_LIMITS: list[dict[str, int]] = [
    {},
    MANY_STEPS,  # 700 rows: 11 steps, ranges mostly whole steps
    {"STEP_MIN": 128, "STEP_MAX": 128},
    {"STEP_MIN": 4096, "STEP_MAX": 4096},  # one step: everything from the rows
    MANY_STEPS | {"CHUNK_WORDS": 1, "CHUNK_ROWS": 1},  # a chunk per step
    MANY_STEPS | {"FILTER_CACHE": 1, "TRELLIS_CACHE": 1, "EDGE_CACHE": 1},  # evicting
    MANY_STEPS | {"COMPRESS_BELOW": 2.0},  # trellis passes over kept rows only
    MANY_STEPS | {"COMPRESS_BELOW": 0.0},  # ... over all rows, dropped ones binned
]


def set_limits(monkeypatch: pytest.MonkeyPatch, limits: Mapping[str, int]) -> None:
    for name, value in limits.items():
        module = index_module if hasattr(index_module, name) else query_module
        monkeypatch.setattr(module, name, value)


@pytest.mark.parametrize("limits", SMALL_LIMITS)
def test_code_paths(limits: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    set_limits(monkeypatch, limits)
    rng = np.random.default_rng(11)
    n = 700
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["m", "c", "s"], n),
            "opt": rng.choice(["adam", "sgd", "rms"], n),
            "batch": rng.choice([32, 64, 128, 256], n),
            "aug": rng.choice([True, False], n),
            "act": rng.choice(list("abcdefg"), n),
            "acc": np.r_[rng.normal(70, 10, n - 100).round(1), np.full(100, 10.0)],
        }
    )
    ens = hpcore.normalize(hpcore.load(df))
    engine = BrushEngine(ens, bins=6)
    brush = [
        ((0.3, 0.9), {"opt": ["adam", "rms"]}, "dataset", "aug"),
        ((0.0, 0.0), None, "act", None),
        ((0.5, 1.0), {"dataset": "c", "act": ["a", "g"]}, "batch", "opt"),
        ((0.0, 1.0), None, "aug", "dataset"),
        ((0.3, 0.9), {"opt": ["adam", "rms"]}, "dataset", "aug"),  # cached layout
    ]
    for rng_, where, primary, secondary in brush:
        assert_matches(engine, rng_, where, primary, secondary)


def test_popcount_without_numpy_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """hpcore supports numpy 1.26 (Inviwo's embedded Python on Debian 12 has
    it), which has no ``bitwise_count``: the engine counts bits by a table of
    16-bit halves there, with the same tables (words of every width)."""
    rng = np.random.default_rng(5)
    words = rng.integers(0, 2**63, size=(7, 9), dtype=np.uint64) ^ np.uint64(2**63)
    want = np.array(
        [[bin(int(w)).count("1") for w in row] for row in words], dtype=np.uint8
    )
    np.testing.assert_array_equal(index_module.popcount(words), want)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert not hasattr(np, "bitwise_count")
    got = index_module.popcount(words[:, ::2])  # not contiguous
    np.testing.assert_array_equal(got, want[:, ::2])
    assert got.dtype == np.uint8
    for kind in (np.uint8, np.uint16, np.uint32):
        small = (words & np.uint64(np.iinfo(kind).max)).astype(kind)
        want_small = [[bin(int(w)).count("1") for w in row] for row in small]
        np.testing.assert_array_equal(index_module.popcount(small), want_small)
    test_code_paths(MANY_STEPS, monkeypatch)


# --------------------------------------------------------------- bad input

BAD_QUERIES = [
    ({"range": (-0.1, 0.5)}, SelectionError, r"within \[0, 1\].*got \(-0.1, 0.5\)"),
    ({"range": (0.8, 0.2)}, SelectionError, r"lo <= hi; got lo=0.8 > hi=0.2"),
    ({"range": "ab"}, SelectionError, r"must be a pair \(lo, hi\)"),
    ({"range": (float("nan"), 1.0)}, SelectionError, r"within \[0, 1\]"),
    ({"where": {"lr": ["x"]}}, ParameterError, r"where: 'lr' is not a parameter"),
    (
        {"where": {"opt": ["adam", "rmsprop"]}},
        OptionError,
        r"unknown option\(s\) \['rmsprop'\] for parameter 'opt'",
    ),
    ({"where": {"opt": []}}, OptionError, r"no options given for parameter 'opt'"),
    ({"primary": "lr"}, ParameterError, r"primary 'lr' is not a parameter"),
    (
        {"primary": "opt", "secondary": "x"},
        ParameterError,
        r"secondary 'x' is not a parameter",
    ),
    (
        {"primary": "opt", "secondary": "opt"},
        ParameterError,
        r"secondary must differ from primary",
    ),
    ({"secondary": "opt"}, ParameterError, r"secondary 'opt' needs a primary"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), BAD_QUERIES)
def test_bad_query(
    ens: hpcore.Ensemble, kwargs: dict[str, Any], exc: type[HpcoreError], match: str
) -> None:
    engine = BrushEngine(ens)
    with pytest.raises(exc, match=match):
        engine.query(**kwargs)
    selecting = {k: v for k, v in kwargs.items() if k in ("range", "where")}
    if selecting:  # the same message as hpcore.select, from indices and select
        with pytest.raises(exc) as plain:
            hpcore.select(ens, **selecting)
        for method in (engine.indices, engine.select):
            with pytest.raises(exc) as got:
                method(**selecting)
            assert str(got.value) == str(plain.value)


def test_bad_construction(ensemble_df: pd.DataFrame, ens: hpcore.Ensemble) -> None:
    with pytest.raises(HpcoreError, match=r"needs an hpcore.Ensemble.*got DataFrame"):
        BrushEngine(ensemble_df)  # type: ignore[arg-type]
    with pytest.raises(SelectionError, match=r"call hpcore.normalize\(ens\) first"):
        BrushEngine(hpcore.load(ensemble_df))
    for bins in (0, True, "20", 2.5):
        with pytest.raises(HpcoreError, match=r"`bins` must be a positive integer"):
            BrushEngine(ens, bins=bins)  # type: ignore[arg-type]
    empty = Ensemble(
        table=ens.table.iloc[:0],
        parameters=ens.parameters,
        metric=ens.metric,
        group=ens.group,
        normalization="minmax",
    )
    with pytest.raises(HpcoreError, match=r"at least one row"):
        BrushEngine(empty)
    orphan = ens.table.assign(
        opt=pd.Categorical.from_codes([0, -1, 0, 1, 1, 0, 1, 0], ["adam", "sgd"])
    )
    plain = ens.table.assign(opt=ens.table["opt"].astype(str))
    for table, match in [
        (orphan, r"parameter 'opt' has 1 row\(s\) without an option.*'adam', 'sgd'"),
        (plain, r"parameter 'opt' must be a categorical column.*got dtype str"),
    ]:
        bad = Ensemble(
            table=table,
            parameters=ens.parameters,
            metric=ens.metric,
            group=ens.group,
            normalization="minmax",
        )
        with pytest.raises(ParameterError, match=match):
            BrushEngine(bad)


# ------------------------------------------------------- object behaviour


def test_results_and_engine_are_read_only(ens: hpcore.Ensemble) -> None:
    engine = BrushEngine(ens)
    res = engine.query(range=(0.2, 0.9), where={"opt": "adam"}, primary="dataset")
    with pytest.raises(AttributeError):
        res.count = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        res.where["opt"] = ("sgd",)  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        engine.select().mask[0] = False
    # a caller editing a result does not change the next one
    res.pair_counts.loc[0, "count"] = 99
    res.pair_counts.loc[0, "param_a"] = "edited"
    again = engine.query(range=(0.2, 0.9), where={"opt": "adam"}, primary="dataset")
    pd.testing.assert_frame_equal(
        again.pair_counts,
        hpcore.pair_counts(
            ens, hpcore.select(ens, range=(0.2, 0.9), where={"opt": "adam"})
        ),
    )


def test_properties(ens: hpcore.Ensemble) -> None:
    engine = BrushEngine(ens, bins=5)
    assert engine.ensemble is ens
    assert engine.bins == 5
    assert len(engine) == 8
    assert engine.n_combinations == 8  # every row its own combination here
    assert engine.nbytes > 0
    assert repr(engine).startswith("BrushEngine(rows=8, steps=1, bins=5")


# ------------------------------------------ spreads, option counts, reordering


@pytest.mark.parametrize(
    "limits",
    [MANY_STEPS, {"STEP_MIN": 4096, "STEP_MAX": 4096}],
    ids=["running-sums", "rows"],
)
@pytest.mark.parametrize(
    ("spread", "base"),
    [(1e-3, 0.5), (1e-9, 0.999), (1e-12, 0.6), (1e-14, 0.3), (3e-16, 0.7), (0, 0.4)],
)
def test_spread_of_near_equal_values(
    spread: float,
    base: float,
    limits: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the adversarial case of sums of squares: a spread tiny next to the mean,
    # over about four thousand rows (S2 - S1**2 / n cancels ~30 digits); the
    # spreads from the running sums of whole steps and from the rows
    set_limits(monkeypatch, limits)
    rng = np.random.default_rng(5)
    n = 4000
    values = np.r_[0.0, 1.0, base + spread * rng.integers(0, 7, n)]
    df = pd.DataFrame(
        {
            "g": rng.choice(["a", "b"], n + 2),
            "p": rng.choice(["x", "y"], n + 2),
            "acc": values,
        }
    )
    ens = hpcore.normalize(hpcore.load(df, metric="acc", parameters=["g", "p"]))
    assert np.array_equal(ens.table["normalized"].to_numpy(), values)
    engine = BrushEngine(ens)
    inside = (0.2, 0.99999)  # all but the anchors 0 and 1
    sel = hpcore.select(ens, range=inside)
    assert sel.count == n
    moments = engine.trellis_moments(range=inside, primary="g")
    assert_spread(moments, ens, sel, "g", None)
    got = stats.trellis_ci_from_moments(moments)
    want = stats.trellis_with_ci(ens, sel, primary="g")
    assert_ci_close(got, want)
    if spread == 0:  # equal values: no spread at all, the interval is the mean
        assert (moments["sum_sq_dev"] == 0).all()
        assert (got["ci_low"] == got["mean"]).all()


def assert_ci_close(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Means and 95% intervals of the engine against the plain ones.

    Tolerance ``1e-12 * mean + 1e-9 * half``. ``ci = mean -/+ half``. The
    means differ only in the order of their additions (a few units in the
    last place). ``half = t * sqrt(ss / (n - 1) / n)``: the engine's ``ss`` is
    within 1e-13 relative plus 1e-29 * n * sum(v**2) of exact
    (``assert_spread``), the plain two-pass one within about n * eps relative
    plus n * d**2 (d: its mean's rounding error, about sqrt(n) * eps * mean).
    So the halves agree to 1e-9 unless the spread is below about 1e-8 of the
    mean, and then ``half`` is so small that its difference stays below
    1e-12 * mean.
    """
    pd.testing.assert_frame_equal(
        got.drop(columns=["mean", "ci_low", "ci_high"]),
        want.drop(columns=["mean", "ci_low", "ci_high"]),
    )
    mean = want["mean"].to_numpy()
    half = (want["ci_high"] - want["mean"]).to_numpy()
    for column in ("mean", "ci_low", "ci_high"):
        a, b = got[column].to_numpy(), want[column].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), column
        ok = ~np.isnan(b)
        tol = 1e-12 * np.abs(mean[ok]) + 1e-9 * np.nan_to_num(half[ok])
        assert (np.abs(a[ok] - b[ok]) <= tol).all(), column


@given(
    st.lists(
        st.floats(-1e150, 1e150, allow_nan=False, allow_subnormal=False),
        min_size=1,
        max_size=30,
    )
)
def test_two_product_is_exact(values: list[float]) -> None:
    a = np.array(values)
    b = a[::-1].copy()
    p, e = dd.two_product(a, b)
    for x, y, hi, lo in zip(a, b, p, e, strict=True):
        exact = Fraction(float(x)) * Fraction(float(y))
        if exact == 0 or abs(exact) > 1e-290:  # no underflow
            assert Fraction(float(hi)) + Fraction(float(lo)) == exact


def test_option_counts_and_count_by_hand(ens: hpcore.Ensemble) -> None:
    # normalized: a 0, .25, .5, 1; b 0, 1/3, 2/3, 1 -> rows 2, 3, 6, 7 in [.4, 1]
    engine = BrushEngine(ens)
    got = engine.option_counts(range=(0.4, 1.0))
    assert list(got.columns) == ["parameter", "option", "count"]
    assert got.values.tolist() == [
        ["dataset", "a", 2],
        ["dataset", "b", 2],
        ["opt", "adam", 2],
        ["opt", "sgd", 2],
        ["batch", "32", 1],
        ["batch", "64", 3],
    ]
    assert engine.count(range=(0.4, 1.0), where={"opt": "sgd"}) == 2
    empty = engine.option_counts(range=(0.26, 0.32))
    assert (empty["count"] == 0).all() and len(empty) == 6


def test_trellis_moments_by_hand(ens: hpcore.Ensemble) -> None:
    # batch 64 in [.4, 1]: a .5 (adam); b 2/3 (sgd), 1 (adam)
    engine = BrushEngine(ens)
    moments = engine.trellis_moments(range=(0.4, 1.0), primary="dataset")
    rows = {
        (r.parameter, r.option, r.primary): (r.count, r.sum_sq_dev)
        for r in moments.itertuples()
    }
    assert rows[("batch", "64", "b")] == (2, pytest.approx(1 / 18, rel=1e-15))
    assert rows[("batch", "64", "a")] == (1, 0.0)
    assert rows[("batch", "32", "b")] == (0, 0.0)
    with pytest.raises(ParameterError, match="primary 'lr' is not a parameter"):
        engine.trellis_moments(primary="lr")


def test_reordered_follows_the_new_order(ens: hpcore.Ensemble) -> None:
    engine = BrushEngine(ens)
    order = ("batch", "dataset", "opt")
    other = engine.reordered(order)
    assert engine.reordered(ens.parameters) is engine
    assert engine.ensemble.parameters == ens.parameters  # unchanged
    drawn = other.ensemble
    assert drawn.parameters == order and drawn.table is ens.table
    for rng, where in [((0.4, 1.0), None), ((0.0, 0.7), {"opt": "sgd"})]:
        sel = hpcore.select(drawn, range=rng, where=where)
        res = other.query(range=rng, where=where, primary="opt")
        pd.testing.assert_frame_equal(res.pair_counts, hpcore.pair_counts(drawn, sel))
        assert res.trellis is not None
        pd.testing.assert_frame_equal(
            res.trellis, hpcore.trellis(drawn, sel, primary="opt"), rtol=1e-12
        )
        pd.testing.assert_frame_equal(
            other.option_counts(range=rng, where=where),
            stats.option_counts(drawn, sel),
        )
    # selections made by either engine are trusted by both
    assert other.made(engine.select(range=(0.4, 1.0)))
    assert engine.made(other.select(range=(0.4, 1.0)))
    for bad in [("batch", "opt"), ("batch", "opt", "dataset", "x"), ("a", "b", "c")]:
        with pytest.raises(ParameterError, match="expected an ordering"):
            engine.reordered(bad)


def test_answers_trusts_own_selections_and_checks_others(
    ens: hpcore.Ensemble, ensemble_df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = BrushEngine(ens)
    made = engine.select(range=(0.2, 0.9), where={"opt": "adam"})
    plain = hpcore.select(ens, range=(0.2, 0.9), where={"opt": "adam"})
    mask = plain.mask.copy()
    mask[np.flatnonzero(mask)[0]] = False
    hand = hpcore.Selection(
        mask=mask, count=int(mask.sum()), range=plain.range, where=plain.where
    )
    same_count = hpcore.Selection(  # as many rows, not the same ones
        mask=np.roll(plain.mask, 1), count=plain.count, range=plain.range
    )
    shorter = hpcore.Selection(
        mask=plain.mask[:-1], count=plain.count, range=plain.range
    )
    unknown = hpcore.Selection(
        mask=plain.mask, count=plain.count, range=plain.range, where={"lr": ("x",)}
    )
    assert engine.answers(made) and engine.answers(plain)
    for bad in (hand, same_count, shorter, unknown, "selection", None):
        assert not engine.answers(bad)
    assert not engine.made(plain) and not engine.made("x")

    # made selections are trusted without looking at a row
    def no_rows(*args: object) -> np.ndarray:
        raise AssertionError("rows were looked at")

    monkeypatch.setattr(BrushEngine, "_rows", no_rows)
    assert engine.answers(made)
    with pytest.raises(AssertionError, match="rows were looked at"):
        engine.answers(plain)
    # a selection of another ensemble with the same rows is not trusted
    monkeypatch.undo()
    twin = BrushEngine(hpcore.normalize(hpcore.load(ensemble_df)))
    assert not twin.made(made) and twin.answers(made)  # checked: same rows
