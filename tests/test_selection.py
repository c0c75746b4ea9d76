"""hpcore.select: closed interval, where filters, bad input, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hpcore
from hpcore.data.errors import OptionError, ParameterError, SelectionError


@pytest.fixture
def ens(ensemble_df: pd.DataFrame) -> hpcore.Ensemble:
    return hpcore.normalize(hpcore.load(ensemble_df))


def test_range_by_hand(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, range=(0.4, 1.0))
    assert sel.mask.tolist() == [False, False, True, True, False, False, True, True]
    assert sel.count == 4
    assert sel.range == (0.4, 1.0)
    assert dict(sel.where) == {}


def test_closed_interval_includes_both_ends(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, range=(0.25, 0.5))
    assert sel.mask.tolist() == [False, True, True, False, False, True, False, False]
    assert hpcore.select(ens, range=(1.0, 1.0)).count == 2
    assert hpcore.select(ens, range=(0.0, 0.0)).count == 2


def test_where_labels_and_values(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens, where={"dataset": ["b"], "batch": [64]})
    assert sel.mask.tolist() == [False] * 6 + [True, True]
    assert dict(sel.where) == {"dataset": ("b",), "batch": ("64",)}
    sel = hpcore.select(ens, where={"opt": "sgd"})
    assert sel.mask.tolist() == [False, True, False, True, True, False, True, False]


def test_selection_is_read_only(ens: hpcore.Ensemble) -> None:
    sel = hpcore.select(ens)
    with pytest.raises(ValueError, match="read-only"):
        sel.mask[0] = False


BAD = [
    ({"range": (-0.1, 0.5)}, SelectionError, r"within \[0, 1\].*got \(-0.1, 0.5\)"),
    ({"range": (0.2, 1.5)}, SelectionError, r"within \[0, 1\].*got \(0.2, 1.5\)"),
    ({"range": (0.8, 0.2)}, SelectionError, r"lo <= hi; got lo=0.8 > hi=0.2"),
    ({"range": (0.1,)}, SelectionError, r"must be a pair \(lo, hi\)"),
    ({"range": "ab"}, SelectionError, r"must be a pair \(lo, hi\)"),
    ({"range": (float("nan"), 1.0)}, SelectionError, r"within \[0, 1\]"),
    # outside [0, 1] whatever the order (it said lo <= hi)
    ({"range": (float("inf"), 1.0)}, SelectionError, r"within \[0, 1\].*\(inf, 1\)"),
    ({"range": (0.5, -0.1)}, SelectionError, r"within \[0, 1\]"),
    ({"where": {"lr": ["x"]}}, ParameterError, r"where: 'lr' is not a parameter"),
    (
        {"where": {"opt": ["adam", "rmsprop"]}},
        OptionError,
        r"unknown option\(s\) \['rmsprop'\] for parameter 'opt'; "
        r"options: \['adam', 'sgd'\]",
    ),
    ({"where": {"opt": []}}, OptionError, r"no options given for parameter 'opt'"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), BAD)
def test_bad_input(ens: hpcore.Ensemble, kwargs, exc, match) -> None:
    with pytest.raises(exc, match=match):
        hpcore.select(ens, **kwargs)


def test_select_needs_normalized(ensemble_df: pd.DataFrame) -> None:
    with pytest.raises(SelectionError, match=r"call hpcore.normalize\(ens\) first"):
        hpcore.select(hpcore.load(ensemble_df))


@given(
    lo=st.floats(0, 1),
    hi=st.floats(0, 1),
    shrink_lo=st.floats(0, 1),
    shrink_hi=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_narrower_range_selects_a_subset(lo, hi, shrink_lo, shrink_hi, seed) -> None:
    lo, hi = min(lo, hi), max(lo, hi)
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], 60),
            "p": rng.choice(["x", "y", "z"], 60),
            "acc": rng.integers(0, 10, 60).astype(float),  # many ties
        }
    )
    ens = hpcore.normalize(hpcore.load(df))
    inner_lo = lo + (hi - lo) * shrink_lo
    inner_hi = inner_lo + (hi - inner_lo) * shrink_hi
    outer = hpcore.select(ens, range=(lo, hi))
    inner = hpcore.select(ens, range=(inner_lo, inner_hi))
    assert not np.any(inner.mask & ~outer.mask)
    both = hpcore.select(ens, range=(lo, hi), where={"p": ["x"]})
    assert not np.any(both.mask & ~outer.mask)
    norm = ens.table["normalized"]
    assert outer.count == int(((norm >= lo) & (norm <= hi)).sum())
