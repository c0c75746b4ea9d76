"""histogram, pair_counts, trellis: hand oracles, naive pandas oracles, properties."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hpcore
from hpcore.analysis.aggregates import with_columns
from hpcore.data.errors import HpcoreError, ParameterError, SelectionError


@pytest.fixture
def ens(ensemble_df: pd.DataFrame) -> hpcore.Ensemble:
    return hpcore.normalize(hpcore.load(ensemble_df))


# ---------------------------------------------------------------- hand oracles


def test_histogram_by_hand(ens: hpcore.Ensemble) -> None:
    norm = hpcore.histogram(ens, bins=4, normalized=True)
    assert list(norm.columns) == ["group", "bin_left", "bin_right", "count"]
    assert norm["group"].tolist() == ["a"] * 4 + ["b"] * 4
    assert norm["bin_left"].tolist() == [0.0, 0.25, 0.5, 0.75] * 2
    assert norm["bin_right"].tolist() == [0.25, 0.5, 0.75, 1.0] * 2
    assert norm["count"].tolist() == [1, 1, 1, 1, 1, 1, 1, 1]
    raw = hpcore.histogram(ens, bins=4)
    assert raw["bin_left"].tolist() == [10.0, 30.0, 50.0, 70.0] * 2
    assert raw["count"].tolist() == [2, 1, 1, 0, 0, 0, 1, 3]
    sel = hpcore.select(ens, range=(0.4, 1.0))
    raw_sel = hpcore.histogram(ens, bins=4, selection=sel)
    assert raw_sel["bin_left"].tolist() == raw["bin_left"].tolist()  # bins of all rows
    assert raw_sel["count"].tolist() == [0, 1, 1, 0, 0, 0, 0, 2]


def test_pair_counts_by_hand(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, range=(0.4, 1.0))  # rows 2, 3, 6, 7
    pairs = hpcore.pair_counts(ens, sel)
    assert list(pairs.columns) == [
        "param_a",
        "option_a",
        "param_b",
        "option_b",
        "count",
    ]
    got = {tuple(r[:4]): r[4] for r in pairs.itertuples(index=False)}
    assert got == {
        ("dataset", "a", "opt", "adam"): 1,
        ("dataset", "a", "opt", "sgd"): 1,
        ("dataset", "b", "opt", "adam"): 1,
        ("dataset", "b", "opt", "sgd"): 1,
        ("dataset", "a", "batch", "32"): 1,
        ("dataset", "a", "batch", "64"): 1,
        ("dataset", "b", "batch", "32"): 0,
        ("dataset", "b", "batch", "64"): 2,
        ("opt", "adam", "batch", "32"): 0,
        ("opt", "adam", "batch", "64"): 2,
        ("opt", "sgd", "batch", "32"): 1,
        ("opt", "sgd", "batch", "64"): 1,
    }
    assert list(pairs["param_a"].drop_duplicates()) == ["dataset", "opt"]


def test_trellis_by_hand(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, range=(0.4, 1.0))
    tr = hpcore.trellis(ens, sel, primary="dataset")
    assert list(tr.columns) == [
        "parameter",
        "option",
        "primary",
        "secondary",
        "mean",
        "count",
    ]
    assert tr["secondary"].isna().all()
    rows = {
        (r.parameter, r.option, r.primary): (r.mean, r.count) for r in tr.itertuples()
    }
    assert rows[("opt", "adam", "a")] == (0.5, 1)
    assert rows[("opt", "adam", "b")] == (1.0, 1)
    assert rows[("opt", "sgd", "a")] == (1.0, 1)
    assert rows[("opt", "sgd", "b")] == pytest.approx((2 / 3, 1))
    assert rows[("batch", "32", "a")] == (1.0, 1)
    assert (
        np.isnan(rows[("batch", "32", "b")][0]) and rows[("batch", "32", "b")][1] == 0
    )
    assert rows[("batch", "64", "a")] == (0.5, 1)
    assert rows[("batch", "64", "b")] == pytest.approx((5 / 6, 2))
    raw = hpcore.trellis(ens, sel, primary="dataset", value="test_accuracy")
    assert raw.loc[
        (raw.parameter == "batch") & (raw.option == "64"), "mean"
    ].tolist() == [30.0, 85.0]


def test_trellis_with_secondary_layout(ens: hpcore.Ensemble) -> None:
    tr = hpcore.trellis(ens, primary="dataset", secondary="opt")
    assert tr["parameter"].unique().tolist() == ["batch"]
    assert tr[["option", "primary", "secondary"]].values.tolist() == [
        list(t) for t in itertools.product(["32", "64"], ["a", "b"], ["adam", "sgd"])
    ]
    assert tr["count"].sum() == len(ens.table)


# ------------------------------------------------------- naive pandas oracles


def _random_ensemble(seed: int, n: int = 300) -> hpcore.Ensemble:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["m", "c", "s"], n),
            "opt": rng.choice(["adam", "sgd", "rms"], n),
            "batch": rng.choice([32, 64, 128, 256], n),
            "aug": rng.choice([True, False], n),
            "acc": rng.normal(70, 10, n).round(1),
        }
    )
    return hpcore.normalize(hpcore.load(df))


def _naive_pairs(ens: hpcore.Ensemble, mask: np.ndarray) -> pd.DataFrame:
    rows = []
    t = ens.table[mask]
    for a, b in itertools.combinations(ens.parameters, 2):
        ct = pd.crosstab(t[a], t[b], dropna=False).reindex(
            index=list(ens.options(a)), columns=list(ens.options(b)), fill_value=0
        )
        for oa in ens.options(a):
            for ob in ens.options(b):
                rows.append((a, oa, b, ob, int(ct.loc[oa, ob])))
    return pd.DataFrame(
        rows, columns=["param_a", "option_a", "param_b", "option_b", "count"]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_counts_match_crosstab(seed: int) -> None:
    ens = _random_ensemble(seed)
    sel = hpcore.select(ens, range=(0.3, 0.9), where={"opt": ["adam", "rms"]})
    got = hpcore.pair_counts(ens, sel)
    want = _naive_pairs(ens, sel.mask)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


@pytest.mark.parametrize("seed", [0, 1])
def test_trellis_matches_groupby(seed: int) -> None:
    ens = _random_ensemble(seed)
    sel = hpcore.select(ens, range=(0.2, 1.0))
    got = hpcore.trellis(ens, sel, primary="dataset", secondary="aug")
    t = ens.table[sel.mask]
    for p in ("opt", "batch"):
        want = (
            t.groupby([p, "dataset", "aug"], observed=False)["normalized"]
            .agg(["mean", "count"])
            .reset_index()
        )
        part = got[got["parameter"] == p].reset_index(drop=True)
        assert part["option"].tolist() == want[p].astype(str).tolist()
        assert part["primary"].tolist() == want["dataset"].astype(str).tolist()
        assert part["secondary"].tolist() == want["aug"].astype(str).tolist()
        np.testing.assert_allclose(part["mean"], want["mean"], rtol=1e-12)
        assert part["count"].tolist() == want["count"].tolist()


@pytest.mark.parametrize("normalized", [False, True])
def test_histogram_matches_numpy(normalized: bool) -> None:
    ens = _random_ensemble(3)
    got = hpcore.histogram(ens, bins=7, normalized=normalized)
    col = "normalized" if normalized else "acc"
    values = ens.table[col].to_numpy()
    edges = (
        np.linspace(0, 1, 8)
        if normalized
        else np.linspace(values.min(), values.max(), 8)
    )
    for g in ens.options("dataset"):
        counts, _ = np.histogram(values[ens.table["dataset"] == g], bins=edges)
        assert got.loc[got["group"] == g, "count"].tolist() == counts.tolist()


# -------------------------------------------------------------------- bad input


def test_bad_trellis_arguments(ens: hpcore.Ensemble) -> None:
    with pytest.raises(ParameterError, match=r"primary 'lr' is not a parameter"):
        hpcore.trellis(ens, primary="lr")
    with pytest.raises(ParameterError, match=r"secondary 'x' is not a parameter"):
        hpcore.trellis(ens, primary="opt", secondary="x")
    with pytest.raises(ParameterError, match=r"secondary must differ from primary"):
        hpcore.trellis(ens, primary="opt", secondary="opt")
    with pytest.raises(
        ParameterError, match=r"value must be 'normalized' or the metric"
    ):
        hpcore.trellis(ens, primary="opt", value="loss")


def test_selection_from_another_ensemble(ens: hpcore.Ensemble) -> None:
    other = _random_ensemble(0)
    sel = hpcore.select(other)
    with pytest.raises(
        SelectionError, match=r"selection has 300 rows but the ensemble"
    ):
        hpcore.pair_counts(ens, sel)
    with pytest.raises(SelectionError, match=r"must be an hpcore.Selection"):
        hpcore.trellis(ens, np.ones(8, bool), primary="opt")  # type: ignore[arg-type]


def test_bad_histogram_bins(ens: hpcore.Ensemble) -> None:
    with pytest.raises(HpcoreError, match=r"`bins` must be a positive integer; got 0"):
        hpcore.histogram(ens, bins=0)


def test_unnormalized_views_need_normalize(ensemble_df: pd.DataFrame) -> None:
    raw = hpcore.load(ensemble_df)
    with pytest.raises(SelectionError, match="normalize"):
        hpcore.histogram(raw, normalized=True)
    with pytest.raises(SelectionError, match="normalize"):
        hpcore.trellis(raw, primary="opt")
    assert (
        hpcore.trellis(raw, primary="opt", value="test_accuracy")["count"].sum() == 16
    )


# -------------------------------------------------------------------- properties


@given(seed=st.integers(0, 10_000), lo=st.floats(0, 1), width=st.floats(0, 1))
def test_pair_count_properties(seed: int, lo: float, width: float) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], n),
            "p": rng.choice(["x", "y", "z"], n),
            "q": rng.choice([1, 2], n),
            "acc": rng.integers(0, 5, n).astype(float),
        }
    )
    if min(df[c].nunique() for c in ("dataset", "p", "q")) < 2:
        return
    before = df.copy(deep=True)
    ens = hpcore.normalize(hpcore.load(df))
    sel = hpcore.select(ens, range=(lo, min(1.0, lo + width)))
    pairs = hpcore.pair_counts(ens, sel)
    pd.testing.assert_frame_equal(df, before)
    # every block sums to the selection size
    sums = pairs.groupby(["param_a", "param_b"])["count"].sum()
    assert (sums == sel.count).all()
    # symmetric in the pair order: counting (b, a) gives the transposed block
    t = ens.table[sel.mask]
    for a, b in itertools.combinations(ens.parameters, 2):
        block = pairs[(pairs.param_a == a) & (pairs.param_b == b)]
        swapped = pd.crosstab(t[b], t[a]).reindex(
            index=list(ens.options(b)), columns=list(ens.options(a)), fill_value=0
        )
        for r in block.itertuples():
            assert swapped.loc[r.option_b, r.option_a] == r.count
    # the marginal of each block: summing over b gives the count of each option of a
    for a, b in itertools.combinations(ens.parameters, 2):
        block = pairs[(pairs.param_a == a) & (pairs.param_b == b)]
        marg = block.groupby("option_a", sort=False)["count"].sum()
        want = t[a].value_counts().reindex(list(ens.options(a)), fill_value=0)
        assert marg.tolist() == want.tolist()


def test_with_columns_quick_way_is_drop_then_assign_and_safe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The frame put together from arrays equals drop+assign, for labels of
    every kind the engine's templates hold, and neither it nor the table
    sees the other's later changes; other inputs take the public way."""

    built: list[int] = []
    real = pd.DataFrame._from_arrays

    def spy(*args: object, **kwargs: object) -> pd.DataFrame:
        built.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "_from_arrays", spy)
    table = pd.DataFrame(
        {
            "a": pd.Series(["x", "y", None], dtype="str"),
            "c": pd.Categorical(["p", "q", "p"]),
            "count": [1, 2, 3],
            "b": [0.5, 0.25, 1.0],
        }
    )
    for _ in range(2):  # the second time from the cached layouts
        for drop, columns in [
            ((), {"count": np.array([3, 4, 5])}),
            (("b",), {"z": np.array([1.0, 2.0, 3.0]), "count": np.array([7, 8, 9])}),
            ((), {"w": np.array([True, False, True])}),
        ]:
            before = len(built)
            got = with_columns(table, drop=drop, **columns)
            assert len(built) == before + 1  # the quick way
            pd.testing.assert_frame_equal(
                got, table.drop(columns=list(drop)).assign(**columns)
            )
            got.loc[0, "a"] = "changed"
            got.loc[1, "c"] = "p"
            got.columns.name = "renamed"  # its own labels: no other frame's
            assert with_columns(table, drop=drop, **columns).columns.name is None
            if "b" in got:
                got.loc[0, "b"] = 9.0
            assert table["a"].tolist()[:2] == ["x", "y"]
            assert table["c"].tolist() == ["p", "q", "p"]
            assert table["b"].tolist() == [0.5, 0.25, 1.0]
    # the public way: a new column that is not plain numbers, a wrong length,
    # repeated or non-string labels
    odd = [
        (table, {"s": np.array(["u", "v", "w"], dtype=object)}),
        (table.set_axis(["a", "c", "count", "count"], axis=1), {"z": np.arange(3)}),
        (table.set_axis(["a", "c", 0, 1], axis=1), {"z": np.arange(3)}),
    ]
    for frame, columns in odd:
        before = len(built)
        got = with_columns(frame, **columns)
        assert len(built) == before
        want = pd.concat([frame, pd.DataFrame(columns)], axis=1)
        pd.testing.assert_frame_equal(got, want)
    with pytest.raises(ValueError):
        with_columns(table, z=np.arange(4))


def test_with_columns_is_drop_then_assign_and_leaves_the_table_alone() -> None:
    table = pd.DataFrame(
        {"a": pd.Series(["x", "y"], dtype="str"), "count": [1, 2], "b": [0.5, 0.25]}
    )
    table.attrs["primary"] = "optimizer"
    cases: list[tuple[tuple[str, ...], dict[str, np.ndarray]]] = [
        ((), {"count": np.array([3, 4])}),  # replaced in place
        (("count",), {"z": np.array([1.0, 2.0])}),  # dropped, one appended
        ((), {"new": np.array([1, 2]), "a": np.array(["p", "q"], dtype=object)}),
        ((), {"z": np.array([1.0, 2.0]), "w": np.array([3, 4])}),  # only new ones
    ]
    for drop, columns in cases:
        want = table.drop(columns=list(drop)).assign(**columns)
        got = with_columns(table, drop=drop, **columns)
        pd.testing.assert_frame_equal(got, want)
        assert got.attrs == want.attrs == {"primary": "optimizer"}
    cached = np.array([9, 9])
    cached.setflags(write=False)
    got = with_columns(table, count=cached)
    got.loc[0, "a"] = "changed"  # copy-on-write: the (template) table keeps its own
    got.loc[0, "count"] = 1  # a copy of the (cached, read-only) array given
    assert table.loc[0, "a"] == "x"
    assert cached.tolist() == [9, 9]
    got = with_columns(table, z=cached)  # only a new column: joined to the table
    got.loc[0, "a"] = "changed"
    got.loc[0, "z"] = 1
    assert table.loc[0, "a"] == "x" and "z" not in table
    assert cached.tolist() == [9, 9]
