"""hpcore.normalize: hand-computed values, constant groups, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

import hpcore
from hpcore.analysis.normalization import CONSTANT_GROUP_VALUE
from hpcore.data.errors import HpcoreError


def test_minmax_by_hand(ensemble_df: pd.DataFrame) -> None:
    ens = hpcore.load(ensemble_df)
    out = hpcore.normalize(ens)
    assert out.normalization == "minmax"
    assert "normalized" not in ens.table.columns  # input untouched
    expected = [0.0, 0.25, 0.5, 1.0, 0.0, 1 / 3, 2 / 3, 1.0]
    np.testing.assert_allclose(out.table["normalized"], expected, rtol=0, atol=1e-15)


def test_rank_by_hand(ensemble_df: pd.DataFrame) -> None:
    out = hpcore.normalize(hpcore.load(ensemble_df), method="rank")
    third = 1 / 3
    expected = [0.0, third, 2 * third, 1.0] * 2
    np.testing.assert_allclose(out.table["normalized"], expected, atol=1e-15)


def test_rank_ties_take_the_average_rank() -> None:
    df = pd.DataFrame({"p": ["a", "b", "a", "b"], "acc": [1.0, 2.0, 2.0, 3.0]})
    out = hpcore.normalize(hpcore.load(df), method="rank")
    # ranks 1, 2.5, 2.5, 4 -> (r - 1) / 3
    np.testing.assert_allclose(out.table["normalized"], [0, 0.5, 0.5, 1], atol=1e-15)


def test_robust_by_hand(ensemble_df: pd.DataFrame) -> None:
    out = hpcore.normalize(hpcore.load(ensemble_df), method="robust")
    # group a: [10, 20, 30, 50]; linear-interpolated q01 = 10.3, q99 = 49.4
    lo, hi = 10 + 0.03 * 10, 30 + 0.97 * 20
    a = [0.0, (20 - lo) / (hi - lo), (30 - lo) / (hi - lo), 1.0]
    # group b: [60, 70, 80, 90]: q01 = 60.3, q99 = 89.7
    lo, hi = 60.3, 89.7
    b = [0.0, (70 - lo) / (hi - lo), (80 - lo) / (hi - lo), 1.0]
    np.testing.assert_allclose(out.table["normalized"], a + b, atol=1e-12)


def test_robust_is_not_anchored_by_a_diverged_training() -> None:
    acc = np.r_[np.linspace(80.0, 90.0, 199), 10.0]  # one failure at chance level
    df = pd.DataFrame({"p": ["x", "y"] * 100, "acc": acc})
    minmax = hpcore.normalize(hpcore.load(df)).table["normalized"]
    robust = hpcore.normalize(hpcore.load(df), method="robust").table["normalized"]
    # min-max squeezes the 199 good networks into the top eighth of the scale
    assert minmax.iloc[:199].min() > 0.87
    assert robust.iloc[:199].min() < 0.01


@pytest.mark.parametrize("method", ["minmax", "rank", "robust"])
def test_constant_group_is_one_half(method: str) -> None:
    df = pd.DataFrame(
        {
            "dataset": ["c", "c", "c", "v", "v", "one"],
            "p": ["a", "b", "a", "b", "a", "b"],
            "acc": [5.0, 5.0, 5.0, 1.0, 3.0, 7.0],
        }
    )
    out = hpcore.normalize(hpcore.load(df), method=method).table["normalized"]
    assert out.iloc[:3].tolist() == [CONSTANT_GROUP_VALUE] * 3
    assert out.iloc[5] == CONSTANT_GROUP_VALUE  # a group of one row
    assert out.iloc[3:5].tolist() == [0.0, 1.0]


def test_no_group_means_one_group() -> None:
    df = pd.DataFrame({"p": ["a", "b", "a"], "acc": [0.0, 10.0, 5.0]})
    out = hpcore.normalize(hpcore.load(df))
    assert out.group is None
    assert out.table["normalized"].tolist() == [0.0, 1.0, 0.5]


def test_unknown_method(ensemble_df: pd.DataFrame) -> None:
    with pytest.raises(
        HpcoreError, match=r"`method` must be one of \['minmax', 'rank'"
    ):
        hpcore.normalize(hpcore.load(ensemble_df), method="zscore")  # type: ignore[arg-type]


frames = data_frames(
    [
        column("g", elements=st.sampled_from(["a", "b", "c"])),
        column("p", elements=st.sampled_from(["x", "y"])),
        column("acc", elements=st.floats(-1e6, 1e6, allow_nan=False)),
    ],
    index=range_indexes(min_size=2, max_size=40),
)


@given(df=frames, method=st.sampled_from(["minmax", "rank", "robust"]))
def test_properties_range_order_and_input_unchanged(df: pd.DataFrame, method) -> None:
    if df["p"].nunique() < 2:
        return
    before = df.copy(deep=True)
    ens = hpcore.load(df, group="g")
    out = hpcore.normalize(ens, method=method)
    pd.testing.assert_frame_equal(df, before)
    norm = out.table["normalized"].to_numpy()
    assert np.all((norm >= 0) & (norm <= 1))
    for _, part in out.table.groupby("g", observed=True):
        order = np.argsort(part["acc"].to_numpy(), kind="stable")
        sorted_norm = part["normalized"].to_numpy()[order]
        assert np.all(np.diff(sorted_norm) >= 0)  # order-preserving
        if method == "minmax" and part["acc"].nunique() > 1:
            assert sorted_norm[0] == 0.0 and sorted_norm[-1] == 1.0


@pytest.mark.parametrize("method", ["minmax", "rank", "robust"])
def test_a_loss_puts_each_groups_lowest_value_at_one(method: str) -> None:
    df = pd.DataFrame(
        {
            "dataset": [*list("aaaabbbb"), "c"],
            "opt": [*list("xyxyxyxy"), "x"],
            "val_loss": [0.5, 0.1, 0.3, 0.9, 2.0, 4.0, 3.0, 1.0, 7.0],
        }
    )
    up = hpcore.normalize(
        hpcore.load(df, metric="val_loss"), method=method, better="higher"
    )
    auto = hpcore.normalize(hpcore.load(df, metric="val_loss"), method=method)
    assert (up.better, auto.better) == ("higher", "lower")
    flipped = auto.table["normalized"].to_numpy()
    np.testing.assert_allclose(flipped, 1.0 - up.table["normalized"].to_numpy())
    # the lowest loss of each group is its best network: 1; the one-row group 0.5
    best = df.groupby("dataset")["val_loss"].transform("min").to_numpy()
    lowest = df["val_loss"].to_numpy() == best
    assert np.all(flipped[:8][lowest[:8]] == 1.0)
    assert flipped[8] == CONSTANT_GROUP_VALUE
    assert auto.normalized_name == "normalized val_loss (1 = lowest)"
    assert up.normalized_name == "normalized val_loss"


def test_the_better_end_comes_from_the_metrics_name() -> None:
    from hpcore.analysis.normalization import better_end

    assert [
        better_end(m)
        for m in ("test_accuracy", "val_loss", "top1_err", "runtime", "score", "y")
    ] == ["higher", "lower", "lower", "lower", "higher", "higher"]
    ens = hpcore.load(pd.DataFrame({"p": list("abab"), "acc": [1.0, 2.0, 3.0, 4.0]}))
    with pytest.raises(HpcoreError, match="`better` must be one of"):
        hpcore.normalize(ens, better="down")  # type: ignore[arg-type]
