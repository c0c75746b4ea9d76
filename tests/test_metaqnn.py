"""Real trainings: the MetaQNN CIFAR-10/SVHN table in ../shared (skipped if absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpcore
from hpcore.data.errors import MetricError


def test_two_candidate_metrics_need_a_choice(metaqnn_path: Path) -> None:
    with pytest.raises(
        MetricError, match=r"candidates: \['final_val_acc', 'best_val_acc'\]"
    ):
        hpcore.load(metaqnn_path)


@pytest.mark.parametrize("metric", ["final_val_acc", "best_val_acc"])
def test_load_and_the_four_computations(metaqnn_path: Path, metric: str) -> None:
    raw = pd.read_csv(metaqnn_path)
    ens = hpcore.load(metaqnn_path, metric=metric)
    other = "best_val_acc" if metric == "final_val_acc" else "final_val_acc"
    assert ens.metric == metric
    assert ens.group == "dataset"
    assert "net" in ens.excluded and "identifier or free text" in ens.excluded["net"]
    assert other in ens.excluded and "metric-like" in ens.excluded[other]
    assert ens.parameters[0] == "dataset"
    assert {"depth", "num_params"} <= set(ens.binned)
    assert "lr" not in ens.binned  # five values: kept raw
    assert ens.options("lr") == ("2.6e-05", "6.4e-05", "0.00016", "0.0004", "0.001")
    assert len(ens.table) == len(raw) == 2300
    # num_params spans five orders of magnitude: log-spaced bins
    edges = np.array(ens.binned["num_params"])
    ratios = edges[1:-1] / edges[:-2]
    assert np.allclose(ratios, ratios[0], rtol=0.01)

    ens = hpcore.normalize(ens)
    for _g, part in ens.table.groupby("dataset", observed=True):
        assert part["normalized"].min() == 0.0 and part["normalized"].max() == 1.0
    sel = hpcore.select(ens, range=(0.9, 1.0))
    naive = (ens.table["normalized"] >= 0.9).sum()
    assert sel.count == naive > 0

    hist = hpcore.histogram(ens, normalized=True)
    assert hist["count"].sum() == 2300
    assert hist.groupby("group")["count"].sum().to_dict() == {
        "cifar10": 1000,
        "svhn": 1300,
    }

    pairs = hpcore.pair_counts(ens, sel)
    assert (pairs.groupby(["param_a", "param_b"])["count"].sum() == sel.count).all()
    k = len(ens.parameters)
    assert pairs[["param_a", "param_b"]].drop_duplicates().shape[0] == k * (k - 1) // 2

    tr = hpcore.trellis(ens, sel, primary="dataset", secondary="has_gap")
    sub = ens.table[sel.mask]
    want = sub.groupby(["lr", "dataset", "has_gap"], observed=False)[
        "normalized"
    ].mean()
    got = tr[tr.parameter == "lr"].set_index(["option", "primary", "secondary"])["mean"]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)


def test_large_integer_bins_get_compact_labels(metaqnn_path: Path) -> None:
    ens = hpcore.load(metaqnn_path, metric="final_val_acc")
    assert ens.options("num_params") == (
        "192–2067",
        "2068–22.3k",
        "22.3k–240k",
        "240k–2.59M",
        "2.59M–27.9M",
    )
