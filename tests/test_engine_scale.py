"""BrushEngine with all twelve NWS-shaped parameters: exactness and cost.

Exactness: the engine equals the plain functions (``assert_matches`` of
test_engine.py: counts exactly, means to 1e-12, spreads within their bound)
on random tables with twelve parameters, ties, missing metrics, every
normalization, filters, empty selections and ranges whose ends hit values
and step boundaries exactly. Steps are forced small so that whole steps,
partial steps and the running tables all take part.

Cost, without a clock: what a range drag touches (rows near its ends only,
whatever the table's size), which tables a filter or trellis change builds
(each once), and the sizes of the tables and of the build's memory.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_engine import assert_matches

import hpcore
from hpcore.analysis.engine import BrushEngine
from hpcore.analysis.engine import index as index_module
from hpcore.analysis.engine import query as query_module

TWELVE = {
    "dataset": ["mnist", "fashion", "svhn", "cifar10", "stl10"],
    "lrate": ["1e-4", "3e-4", "1e-3", "3e-3", "1e-2"],
    "batch_size": [32, 64, 128, 256],
    "augmentation": [False, True],
    "optimizer": ["ADAM", "RMSProp", "SGD"],
    "activation": ["relu", "elu", "sigmoid", "tanh"],
    "initialization": ["glorot", "he", "normal", "constant"],
    "filter_size": [3, 5, 7],
    "depth_conv": [2, 4, 6],
    "depth_fc": [1, 2, 3],
    "width_conv": [16, 32, 64],
    "width_fc": [64, 128, 256],
}


def twelve_table(n: int, seed: int, *, ties: bool = True) -> pd.DataFrame:
    """Random codes for the twelve parameters; a metric with ties and NaNs."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {
        name: rng.choice(np.array(options, dtype=object), n)
        for name, options in TWELVE.items()
    }
    metric = rng.normal(60.0, 15.0, n)
    if ties:
        metric = metric.round(0)  # about 100 distinct values: many ties
        metric[rng.random(n) < 0.1] = 10.0  # diverged trainings, all equal
    metric[rng.random(n) < 0.02] = np.nan  # dropped (and counted) by load
    columns["test_accuracy"] = metric
    return pd.DataFrame(columns)


def load(frame: pd.DataFrame, method: str = "minmax") -> hpcore.Ensemble:
    ens = hpcore.load(frame, metric="test_accuracy", parameters=list(TWELVE))
    return hpcore.normalize(ens, method=method)


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> int:
    """Steps of 64 rows: tables of a few thousand rows get dozens of them."""
    monkeypatch.setattr(index_module, "STEP_MIN", 64)
    monkeypatch.setattr(index_module, "STEP_MAX", 64)
    return 64


def boundary_ranges(engine: BrushEngine) -> list[tuple[float, float]]:
    """Ranges whose ends are values of the table, step boundaries, or empty."""
    index = engine._index
    values = index.values
    distinct = np.unique(values)
    at_steps = values[index.pos[1:-1]] if index.n_steps > 1 else values[:1]
    mid = len(distinct) // 2
    return [
        (0.0, 1.0),
        (float(at_steps[0]), float(at_steps[-1])),  # both ends on a step's first row
        (float(at_steps[len(at_steps) // 2]), 1.0),
        (float(distinct[mid]), float(distinct[mid])),  # one tie block
        (float(distinct[1]), float(distinct[-2])),
        # strictly between two adjacent values: empty
        (
            float(np.nextafter(distinct[mid], 1.0)),
            float(np.nextafter(distinct[mid + 1], 0.0)),
        ),
        (0.0, 0.0),
        (1.0, 1.0),
    ]


@pytest.mark.parametrize("method", ["minmax", "rank", "robust"])
def test_twelve_parameters_equal_the_plain_functions(
    method: str, small_steps: int
) -> None:
    ens = load(twelve_table(1500, seed=3), method)
    assert len(ens.parameters) == 12
    engine = BrushEngine(ens, bins=7)
    assert engine._index.n_steps > 10
    cases: list[tuple[tuple[float, float], dict[str, Any] | None, str, str | None]] = [
        ((0.2, 0.85), None, "optimizer", "activation"),
        ((0.0, 1.0), {"dataset": ["cifar10", "stl10"]}, "dataset", "lrate"),
        ((0.3, 0.7), {"optimizer": "SGD", "depth_fc": [1, 3]}, "batch_size", None),
        ((0.5, 1.0), {"augmentation": [True]}, "initialization", "augmentation"),
    ]
    for rng_, where, primary, secondary in cases:
        assert_matches(engine, rng_, where, primary, secondary)
    for rng_ in boundary_ranges(engine):
        res = assert_matches(engine, rng_, {"width_fc": [64, 256]}, "depth_conv", None)
        assert res.trellis is not None


def test_twelve_parameters_random_brushes(small_steps: int) -> None:
    ens = load(twelve_table(2500, seed=8, ties=False))
    engine = BrushEngine(ens)
    rng = np.random.default_rng(1)
    names = list(ens.parameters)
    for _ in range(6):
        lo, hi = sorted(float(x) for x in rng.random(2))
        where = {}
        for name in rng.choice(names, size=int(rng.integers(0, 3)), replace=False):
            options = list(ens.options(str(name)))
            k = int(rng.integers(1, len(options)))
            where[str(name)] = list(rng.choice(options, k, replace=False))
        primary, secondary = (str(x) for x in rng.choice(names, 2, replace=False))
        assert_matches(engine, (lo, hi), where, primary, secondary)


def test_values_out_of_range_and_nan_are_never_selected(small_steps: int) -> None:
    ens = load(twelve_table(700, seed=5))
    norm = ens.table["normalized"].to_numpy().copy()
    rng = np.random.default_rng(2)
    norm[rng.random(len(norm)) < 0.05] = np.nan
    norm[rng.random(len(norm)) < 0.05] = 1.5
    norm[rng.random(len(norm)) < 0.05] = -0.25
    norm[rng.random(len(norm)) < 0.05] = -0.0
    hand = hpcore.Ensemble(
        table=ens.table.assign(normalized=norm),
        parameters=ens.parameters,
        metric=ens.metric,
        group=ens.group,
        normalization="minmax",
    )
    engine = BrushEngine(hand)
    assert engine._index.n < len(hand.table)
    for rng_ in [(0.0, 1.0), (0.0, 0.0), (0.25, 0.75)]:
        assert_matches(engine, rng_, {"optimizer": ["ADAM", "SGD"]}, "dataset", None)


# ------------------------------------------------------------------- cost


def spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Record the arguments of every call of ``module.name``."""
    calls: list[Any] = []
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_a_drag_reuses_the_fixed_ends_partial_step(
    small_steps: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drag moves one end: the other end's partial step (its counts and
    trellis sums) is taken from the brush before, and every brush equals
    the same brush on an engine that keeps nothing of its ends."""
    ens = load(twelve_table(6000, seed=12))
    engine, fresh = BrushEngine(ens), BrushEngine(ens)
    monkeypatch.setattr(fresh._store, "edges", None)
    where = {"optimizer": ["ADAM", "SGD"]}
    engine.query(range=(0.1, 0.9), where=where, primary="dataset", secondary="lrate")
    counted = spy(monkeypatch, query_module, "_edge_counts")
    aggregated = spy(monkeypatch, query_module, "_edge_moments")
    lo = 0.137
    highs = np.linspace(0.3, 0.95, 12)
    for hi in highs:
        brush: dict[str, Any] = {"range": (lo, float(hi)), "where": where}
        trellis = {"primary": "dataset", "secondary": "lrate"}
        res = engine.query(**brush)
        moments = engine.trellis_moments(**brush, **trellis)
        n_counted, n_aggregated = len(counted), len(aggregated)
        ref = fresh.query(**brush)
        assert res.count == ref.count
        pd.testing.assert_frame_equal(res.pair_counts, ref.pair_counts)
        pd.testing.assert_frame_equal(res.option_counts, ref.option_counts)
        pd.testing.assert_frame_equal(
            moments, fresh.trellis_moments(**brush, **trellis), check_exact=True
        )
        del counted[n_counted:], aggregated[n_aggregated:]  # the fresh engine's
    # the fixed end once (or never: on a step boundary), the moving one each time
    assert len(highs) <= len(counted) <= len(highs) + 1
    assert len(highs) <= len(aggregated) <= len(highs) + 1


@pytest.mark.parametrize("n_rows", [3000, 30000])
def test_a_range_drag_touches_only_rows_near_its_ends(
    n_rows: int, small_steps: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ens = load(twelve_table(n_rows, seed=11))
    engine = BrushEngine(ens)
    # every end computed afresh (keeping ends: the test above)
    monkeypatch.setattr(engine._store, "edges", None)
    where = {"dataset": ["svhn", "cifar10"]}
    engine.query(range=(0.1, 0.9), where=where, primary="optimizer")  # build
    built = [
        spy(monkeypatch, query_module, name)
        for name in ("build_filter", "build_steps", "build_histogram", "build_trellis")
    ]
    counted = spy(monkeypatch, query_module, "_edge_counts")
    aggregated = spy(monkeypatch, query_module, "_edge_moments")
    rng = np.random.default_rng(4)
    for _ in range(20):
        lo, hi = sorted(float(x) for x in rng.random(2))
        engine.query(range=(lo, hi), where=where, primary="optimizer")
        engine.trellis_moments(range=(lo, hi), where=where, primary="optimizer")
    assert all(calls == [] for calls in built)  # no table was built again
    # counts: at most half a step between each end and its nearest boundary
    assert len(counted) == 40
    assert all(stop - start <= small_steps // 2 for _, _, start, stop in counted)
    # trellis: only the partial steps at both ends, once per brush (the
    # query's moments serve its trellis_moments)
    assert 0 < len(aggregated) <= 40
    assert all(stop - start < small_steps for _, _, _, start, stop, _ in aggregated)


def test_each_change_builds_its_tables_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ens = load(twelve_table(2000, seed=12))
    engine = BrushEngine(ens)
    names = ("build_filter", "build_steps", "build_histogram", "build_trellis")
    calls = {name: spy(monkeypatch, query_module, name) for name in names}

    def built() -> dict[str, int]:
        return {name: len(c) for name, c in calls.items()}

    engine.query(range=(0.2, 0.8), where={"optimizer": "SGD"}, primary="dataset")
    assert built() == dict.fromkeys(names, 1)
    for rng_ in [(0.0, 0.5), (0.4, 1.0)]:  # range drags: nothing new
        engine.query(range=rng_, where={"optimizer": "SGD"}, primary="dataset")
    assert built() == dict.fromkeys(names, 1)
    # a new primary/secondary: one trellis pass, no filter work
    engine.trellis_moments(
        where={"optimizer": "SGD"}, primary="lrate", secondary="dataset"
    )
    assert built() == {**dict.fromkeys(names, 1), "build_trellis": 2}
    # a new filter: its bitmap, its running counts, its histogram, its trellis
    engine.query(where={"lrate": ["1e-4"]}, primary="lrate", secondary="dataset")
    assert built() == {
        "build_filter": 2,
        "build_steps": 2,
        "build_histogram": 2,
        "build_trellis": 3,
    }
    # a reordered engine shares every table
    other = engine.reordered(list(reversed(ens.parameters)))
    other.query(where={"lrate": ["1e-4"]}, primary="lrate", secondary="dataset")
    assert built()["build_trellis"] == 3 and built()["build_steps"] == 2


def test_table_sizes_follow_steps_and_cells() -> None:
    n = 40_000
    ens = load(twelve_table(n, seed=13))
    engine = BrushEngine(ens)
    index = engine._index
    assert index.step % 64 == 0 and index.n_steps == -(-index.n // index.step)
    # per row: value 8, row id 4, one byte per couple of parameters (6), one
    # bit per option (42) and one for all rows (the bitmaps padded to whole
    # steps plus one word): about 23 bytes; plus the per-step arrays and the
    # pair cells' option rows and columns
    options = sum(len(v) for v in TWELVE.values())
    padded = index.n_steps * index.step + 64
    per_step = 64 * (index.n_steps + 1)
    limit = (8 + 4 + 6) * index.n + (options + 1) / 8 * padded + per_step + 16 * 804
    assert index.nbytes <= limit
    engine.query(where={"optimizer": "SGD"}, primary="dataset", secondary="lrate")
    ft = next(iter(engine._store.filters.values()))
    assert ft.pair_cum is not None and ft.option_cum is not None
    assert ft.pair_cum.shape == (index.n_steps + 1, 804)
    tt = next(iter(engine._store.trellis.values()))
    cells = (options - 10) * 25  # panels' options x 5 data sets x 5 rates
    assert tt.count.shape == (index.n_steps + 1, cells) == tt.s2_lo.shape


def test_trellis_pass_counts_two_panels_per_key() -> None:
    """Every panel in exactly one ``bincount`` key, two to a key.

    The trellis pass costs three ``bincount`` per key; panels the primary
    or secondary leave alone in their couple are paired with each other,
    so twelve parameters always take five or six keys, never seven.
    """
    ens = load(twelve_table(2_000, seed=15))
    index = BrushEngine(ens)._index
    names = list(TWELVE)
    for primary in names:
        for secondary in [None, *(n for n in names if n != primary)]:
            layout = index_module.trellis_layout(index, primary, secondary)
            keyed = [i for key in layout.keys for i in key.params]
            assert sorted(keyed) == sorted(layout.panels)
            assert len(layout.keys) == -(-len(layout.panels) // 2)
            for key in layout.keys:
                if key.couple is not None:
                    assert key.params == index.couples[key.couple]


def test_build_memory_stays_under_twice_the_table() -> None:
    ens = load(twelve_table(200_000, seed=14, ties=False))
    table = int(ens.table.memory_usage(deep=True).sum())
    tracemalloc.start()
    try:
        engine = BrushEngine(ens)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert engine._index.nbytes < table
    assert peak < 2 * table, (peak, table)
