"""hpcore.engine.BrushEngine: equal to the plain functions, exact, bad input."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import hpcore
from hpcore import engine as engine_module
from hpcore.engine import BrushEngine, BrushResult
from hpcore.errors import HpcoreError, OptionError, ParameterError, SelectionError
from hpcore.model import Ensemble


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
    return res


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
    with pytest.raises(ParameterError, match=r"needs a parameter besides primary"):
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


@given(data=st.data())
def test_random_tables_match_plain_functions(data: st.DataObject) -> None:
    ens = data.draw(ensembles())
    before = ens.table.copy()
    bins = data.draw(st.integers(1, 6))
    engine = BrushEngine(ens, bins=bins)
    for _ in np.arange(3):
        assert_matches(engine, **data.draw(brushes(ens)))
    pd.testing.assert_frame_equal(ens.table, before)  # input unchanged


# --------------------------------- every code path, forced on a random table

NO_GRID = {"_GRID_MIN": 0, "_GRID_PER_COMBINATION": 0}  # pairs by cell maps
NO_STACK = {"_STACK_MIN": 0, "_STACK_PER_ROW": 0}  # cell maps rebuilt per query
SMALL_LIMITS = [
    {},
    NO_GRID,
    NO_GRID | NO_STACK,
    {"_TAKE_MIN": 0},  # only combinations with selected rows
    NO_GRID | {"_TAKE_MIN": 0},
    NO_GRID | NO_STACK | {"_TAKE_MIN": 0},
    {"_CHUNK": 5, "_HIST_BLOCK": 7, "_TRELLIS_CACHE": 2},  # blocks and seams
    {"_TRELLIS_CACHE_BYTES": 0},
    {"_KEY_LIMIT": 40},  # the combination key is compressed while built
    {"_FENCE_MIN": 0},  # too few fences: positions from one pass over ranks
    {"_FENCE_MIN": 0, "_ROWS_MODE_FENCES": 0},  # one fence: whole combinations
    {"_FENCE_MIN": 1 << 30},  # a fence at every rank
]


@pytest.mark.parametrize("limits", SMALL_LIMITS)
def test_code_paths(limits: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in limits.items():
        monkeypatch.setattr(engine_module, name, value)
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
    assert repr(engine).startswith("BrushEngine(rows=8, combinations=8, bins=5")
