"""The report's tables by the fast engine equal those of the plain functions.

``hpcore.app.report.compute_tables`` takes its counts from one
:class:`hpcore.BrushEngine`; ``hpcore.app.report.plain_tables`` is the readable
reference that scans the rows. Everything computed from counts (histograms,
pair statistics, importance, comparison, summary) must be the same to the
byte; the trellis means to 1e-12 relative (the engine adds per combination,
the plain path per row), its 95% intervals to ``1e-12 * mean + 1e-9 *
half-width`` (see ``assert_ci_close`` in test_engine.py for why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_engine import assert_ci_close

import hpcore
from hpcore.analysis import stats, tables
from hpcore.analysis.engine import BrushEngine
from hpcore.app import report as rep
from hpcore.data.errors import HpcoreError
from hpcore.data.model import Ensemble
from hpcore.data.synthetic import nws_like

COUNTED = ("histogram_raw", "histogram_normalized", "pairs", "importance")

BUILTIN_CASES: list[dict[str, Any]] = [
    {},
    {"range": (0.9, 1.0), "secondary": "augmentation"},
    {
        "range": (0.8, 1.0),
        "where": {"dataset": ["cifar10", "stl10"]},
        "compare": (0.0, 0.5),
        "secondary": "optimizer",
        "sort": "importance",
    },
    {  # failed trainings: many equal values; an empty comparison
        "range": (0.0, 0.05),
        "where": {"optimizer": ["ADAM"]},
        "secondary": "activation",
        "compare": (0.05, 0.06),
    },
    {"range": (0.3, 0.7), "primary": "optimizer", "color": "enrichment"},
]
METAQNN_CASES: list[dict[str, Any]] = [
    {},
    {"range": (0.7, 1.0), "compare": (0.0, 0.3), "sort": "importance"},
    {
        "range": (0.5, 0.95),
        "where": {"dataset": ["svhn"], "n_fc": ["0", "1"]},
        "compare": (0.95, 1.0),
        "primary": "n_pool",
        "secondary": "has_gap",
    },
]


@pytest.fixture(scope="module")
def builtin() -> hpcore.Ensemble:
    """The built-in ensemble of ``hpexplorer report`` (13,000 rows, seed 0)."""
    return hpcore.normalize(hpcore.load(nws_like(13000, seed=0)))


@pytest.fixture
def plain_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the report's calls of the plain reference path."""
    calls: list[int] = []
    original = tables.plain_tables

    def spy(*args: Any, **kwargs: Any) -> tables.ReportTables:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(tables, "plain_tables", spy)
    return calls


def assert_same_tables(fast: tables.ReportTables, plain: tables.ReportTables) -> None:
    for name in COUNTED:
        a, b = getattr(fast, name), getattr(plain, name)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a.to_csv(index=False) == b.to_csv(index=False), name
    if plain.compare is None:
        assert fast.compare is None
    else:
        assert fast.compare is not None
        pd.testing.assert_frame_equal(fast.compare, plain.compare, check_exact=True)
        assert fast.compare.to_csv(index=False) == plain.compare.to_csv(index=False)
    assert fast.order == plain.order
    pd.testing.assert_frame_equal(
        fast.trellis[["mean"]], plain.trellis[["mean"]], rtol=1e-12, atol=0.0
    )
    assert_ci_close(fast.trellis, plain.trellis)


def both_ways(
    ens: hpcore.Ensemble,
    monkeypatch: pytest.MonkeyPatch,
    plain_calls: list[int],
    **kwargs: Any,
) -> tuple[rep.Report, rep.Report]:
    """``build_report`` by the engine, then again with the engine switched off."""
    fast = rep.build_report(ens, **kwargs)
    assert plain_calls == []  # the engine path served everything
    with monkeypatch.context() as m:
        m.setattr(tables, "report_engine", lambda ens, bins=20: None)
        plain = rep.build_report(ens, **kwargs)
    assert plain_calls == [1]
    plain_calls.clear()
    return fast, plain


def assert_same_report(fast: rep.Report, plain: rep.Report) -> None:
    """Every file of the report but the figures: CSVs and summary.json."""
    assert_same_tables(fast.tables, plain.tables)
    assert json.dumps(dict(fast.summary)) == json.dumps(dict(plain.summary))
    assert fast.histogram.to_csv(index=False) == plain.histogram.to_csv(index=False)
    np.testing.assert_array_equal(fast.selection.mask, plain.selection.mask)


@pytest.mark.parametrize("kwargs", BUILTIN_CASES)
def test_builtin_report_both_ways(
    builtin: hpcore.Ensemble,
    monkeypatch: pytest.MonkeyPatch,
    plain_calls: list[int],
    kwargs: dict[str, Any],
) -> None:
    fast, plain = both_ways(builtin, monkeypatch, plain_calls, **kwargs)
    assert_same_report(fast, plain)
    assert fast.selection.count > 0


@pytest.mark.parametrize("kwargs", METAQNN_CASES)
def test_metaqnn_report_both_ways(
    metaqnn_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    plain_calls: list[int],
    kwargs: dict[str, Any],
) -> None:
    ens = hpcore.normalize(hpcore.load(metaqnn_path, metric="final_val_acc"))
    fast, plain = both_ways(ens, monkeypatch, plain_calls, **kwargs)
    assert_same_report(fast, plain)


def test_small_and_empty_reports_both_ways(
    ensemble_df: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    plain_calls: list[int],
) -> None:
    ens = hpcore.normalize(hpcore.load(ensemble_df))
    for kwargs in [
        {"range": (0.1, 0.2)},  # empty selection
        {"range": (0.4, 1.0), "secondary": "batch", "compare": (0.1, 0.2)},
        {"where": {"opt": ["sgd"]}, "sort": "importance", "compare": (0.0, 0.5)},
    ]:
        fast, plain = both_ways(ens, monkeypatch, plain_calls, **kwargs)
        assert_same_report(fast, plain)


def test_near_equal_values_both_ways(
    monkeypatch: pytest.MonkeyPatch, plain_calls: list[int]
) -> None:
    # the adversarial case for sums of squares, in a whole report
    rng = np.random.default_rng(2)
    n = 3000
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], n),
            "opt": rng.choice(["x", "y", "z"], n),
            "batch": rng.choice(["16", "32"], n),
            "acc": 0.6 + 1e-13 * rng.integers(0, 5, n),
        }
    )
    df.loc[:3, "acc"] = [0.0, 1.0, 0.0, 1.0]  # the min-max anchors of both groups
    df.loc[:3, "dataset"] = ["a", "a", "b", "b"]
    ens = hpcore.normalize(hpcore.load(df, metric="acc"))
    fast, plain = both_ways(
        ens, monkeypatch, plain_calls, range=(0.1, 0.9), secondary="batch"
    )
    assert_same_report(fast, plain)


def test_hand_made_selections_take_the_plain_path(
    builtin: hpcore.Ensemble, plain_calls: list[int]
) -> None:
    sel = hpcore.select(builtin, range=(0.5, 1.0))
    mask = sel.mask.copy()
    mask[::3] = False
    hand = hpcore.Selection(mask=mask, count=int(mask.sum()), range=sel.range)
    kwargs: dict[str, Any] = {"primary": "dataset", "secondary": None}
    got = tables.compute_tables(builtin, hand, **kwargs)
    assert plain_calls == [1]
    pd.testing.assert_frame_equal(
        got.pairs, stats.pair_statistics(builtin, hand), check_exact=True
    )
    plain_calls.clear()
    tables.compute_tables(builtin, sel, compare=hand, **kwargs)  # hand-made comparison
    assert plain_calls == [1]
    # a selection of hpcore.select is checked row by row, then served by the engine
    plain_calls.clear()
    fast = tables.compute_tables(builtin, sel, **kwargs)
    assert plain_calls == []
    assert_same_tables(fast, tables.plain_tables(builtin, sel, **kwargs))


def test_engine_argument_must_fit(builtin: hpcore.Ensemble) -> None:
    sel = hpcore.select(builtin, range=(0.5, 1.0))
    kwargs: dict[str, Any] = {"primary": "dataset", "secondary": None}
    with pytest.raises(HpcoreError, match=r"bins=20; got one with bins=10"):
        tables.compute_tables(
            builtin, sel, engine=BrushEngine(builtin, bins=10), **kwargs
        )
    other = hpcore.normalize(hpcore.load(nws_like(500, seed=1)))
    with pytest.raises(HpcoreError, match="on another ensemble"):
        tables.compute_tables(builtin, sel, engine=BrushEngine(other), **kwargs)


def test_report_engine_declines_tables_it_cannot_serve(
    ensemble_df: pd.DataFrame, plain_calls: list[int]
) -> None:
    ens = hpcore.normalize(hpcore.load(ensemble_df))
    assert isinstance(tables.report_engine(ens), BrushEngine)
    assert tables.report_engine(hpcore.load(ensemble_df)) is None  # not normalized
    assert tables.report_engine(ens, bins=0) is None  # the plain path raises
    # a hand-made normalized column outside [0, 1]: "any value" is not [0, 1]
    odd = Ensemble(
        table=ens.table.assign(normalized=ens.table["normalized"] * 2 - 0.5),
        parameters=ens.parameters,
        metric=ens.metric,
        group=ens.group,
        normalization="minmax",
    )
    assert tables.report_engine(odd) is None
    r = rep.build_report(odd, range=(0.2, 0.8))
    assert plain_calls == [1]
    assert r.tables.histogram_normalized["count"].sum() == len(odd.table)
