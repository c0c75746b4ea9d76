"""Benchmark: brushing with hpcore.analysis.engine.BrushEngine vs re-scanning the table.

For synthetic NWS-like ensembles (:func:`hpcore.synthetic.nws_like`) of several
sizes, measure in one run:

- the engine: build time, peak memory of the build (tracemalloc) next to the
  table's own size, and the latency of ``engine.query`` (count, normalized
  histogram, pair counts of all parameter pairs, trellis) over random brushes;
- the plain pandas path that re-scans the table on every brush: boolean masks,
  ``pd.crosstab`` for every parameter pair, one ``groupby`` per trellis panel,
  ``pd.cut`` + ``groupby`` for the histogram;
- the hpcore reference path (``hpcore.select`` + ``histogram`` +
  ``pair_counts`` + ``trellis``), which is also the oracle: the engine's
  tables are checked against it on every brush the slow paths run.

The engine's latency covers everything a view needs, including building a
trellis layout the first time a primary/secondary pair is asked for (the
``engine_warm`` entry repeats the same brushes with every layout cached). The
brushes are random: a range ``[lo, hi]`` in [0, 1], a ``where`` filter
(none, or one or two parameters restricted to a random subset of options),
a random primary and, half the time, a secondary trellis parameter. The slow
paths run only the first ``--slow-reps`` brushes of the same list (by default
200 up to 100 thousand rows, 20 up to 2 million, 10 above); ratios are medians
over those brushes against the engine's median over all of them.

Run from the repository root::

    python benchmarks/brush.py                          # 13k, 1M, 10M rows
    python benchmarks/brush.py --sizes 13000,1000000 --out /tmp/brush.json

Prints a table and writes the numbers as JSON (``--out``, default
``benchmarks/results/brush.json``). Never used by the tests; timings depend on
the machine and its load, which the JSON records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hpcore
from hpcore.analysis.engine import BrushEngine, BrushResult
from hpcore.data.model import NORMALIZED

#: The paper's six hyper-parameters plus the data set (``lrate`` is binned).
PAPER_PARAMETERS = (
    "dataset",
    "lrate",
    "batch_size",
    "augmentation",
    "optimizer",
    "activation",
    "initialization",
)
DEFAULT_SIZES = (13_000, 1_000_000, 10_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "brush.json"


@dataclass(frozen=True)
class Brush:
    """One random brush: range, filter and trellis parameters."""

    lo: float
    hi: float
    where: dict[str, list[str]]
    primary: str
    secondary: str | None


def random_brushes(ens: hpcore.Ensemble, n: int, seed: int) -> list[Brush]:
    """``n`` random brushes over the ensemble's parameters and options."""
    rng = np.random.default_rng(seed)
    params = list(ens.parameters)
    brushes = []
    for _ in range(n):
        lo, hi = sorted(float(x) for x in rng.random(2))
        where: dict[str, list[str]] = {}
        for name in rng.choice(params, size=int(rng.integers(0, 3)), replace=False):
            options = ens.options(str(name))
            k = int(rng.integers(1, len(options)))
            where[str(name)] = [str(o) for o in rng.choice(options, k, replace=False)]
        primary = str(rng.choice(params))
        others = [p for p in params if p != primary]
        secondary = str(rng.choice(others)) if rng.random() < 0.5 else None
        brushes.append(Brush(lo, hi, where, primary, secondary))
    return brushes


def engine_query(engine: BrushEngine, b: Brush) -> BrushResult:
    return engine.query(
        range=(b.lo, b.hi), where=b.where, primary=b.primary, secondary=b.secondary
    )


def reference_query(ens: hpcore.Ensemble, bins: int, b: Brush) -> dict[str, Any]:
    """The hpcore plain functions: the engine's oracle."""
    sel = hpcore.select(ens, range=(b.lo, b.hi), where=b.where)
    passing = hpcore.select(ens, where=b.where)
    return {
        "count": sel.count,
        "histogram": hpcore.histogram(
            ens, bins=bins, normalized=True, selection=passing
        ),
        "pair_counts": hpcore.pair_counts(ens, sel),
        "trellis": hpcore.trellis(ens, sel, primary=b.primary, secondary=b.secondary),
    }


def pandas_query(ens: hpcore.Ensemble, bins: int, b: Brush) -> dict[str, Any]:
    """The plain pandas path: re-scan the table with pandas on every brush."""
    table = ens.table
    params = list(ens.parameters)
    passing = pd.Series(True, index=table.index)
    for name, options in b.where.items():
        passing &= table[name].isin(options)
    sel = table[passing & table[NORMALIZED].between(b.lo, b.hi)]
    pairs = [
        pd.crosstab(sel[a], sel[c], dropna=False)
        for i, a in enumerate(params)
        for c in params[i + 1 :]
    ]
    by = [b.primary] + ([b.secondary] if b.secondary else [])
    trellis = [
        sel.groupby([p, *by], observed=False)[NORMALIZED].agg(["mean", "count"])
        for p in params
        if p not in by
    ]
    shown = table[passing]
    edges = np.linspace(0.0, 1.0, bins + 1)
    values = shown[NORMALIZED].to_numpy()
    codes = pd.cut(values, list(edges), right=False, labels=None).codes
    codes = np.where(codes >= 0, codes, bins - 1)  # last bin closed: 1.0 is in it
    binned = pd.Series(
        pd.Categorical(codes, categories=np.arange(bins)), index=shown.index
    )
    group = shown[ens.group] if ens.group else pd.Series("all", index=shown.index)
    hist = shown.groupby([group, binned], observed=False).size()
    return {"count": len(sel), "pairs": pairs, "trellis": trellis, "hist": hist}


def check_equal(result: BrushResult, ref: dict[str, Any], pan: dict[str, Any]) -> float:
    """Assert the engine equals the oracle; return the largest relative mean gap."""
    assert result.count == ref["count"] == pan["count"]
    pd.testing.assert_frame_equal(result.pair_counts, ref["pair_counts"])
    pd.testing.assert_frame_equal(result.histogram, ref["histogram"])
    assert result.trellis is not None
    pd.testing.assert_frame_equal(
        result.trellis, ref["trellis"], check_exact=False, rtol=1e-12, atol=0.0
    )
    crosstab = np.concatenate([t.to_numpy().reshape(-1) for t in pan["pairs"]])
    assert np.array_equal(crosstab, result.pair_counts["count"].to_numpy())
    assert np.array_equal(pan["hist"].to_numpy(), result.histogram["count"].to_numpy())
    grouped = pd.concat(pan["trellis"])
    assert np.array_equal(grouped["count"].to_numpy(), result.trellis["count"])
    np.testing.assert_allclose(
        grouped["mean"].to_numpy(), result.trellis["mean"], rtol=1e-12, atol=0.0
    )
    got = result.trellis["mean"].to_numpy()
    want = ref["trellis"]["mean"].to_numpy()
    both = np.isfinite(want) & (want != 0)
    if not both.any():
        return 0.0
    return float(np.max(np.abs(got[both] - want[both]) / np.abs(want[both])))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {
        "n": len(ms),
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(np.max(ms)),
    }


def slow_reps_for(n_rows: int) -> int:
    if n_rows <= 100_000:
        return 200
    return 20 if n_rows <= 2_000_000 else 10


def bench_size(
    n_rows: int,
    parameters: Sequence[str],
    n_brushes: int,
    slow_reps: int | None,
    seed: int,
    bins: int,
) -> dict[str, Any]:
    start = time.perf_counter()
    frame = hpcore.synthetic.nws_like(n_rows, seed=seed)
    t_setup = time.perf_counter() - start
    start = time.perf_counter()
    ens = hpcore.normalize(hpcore.load(frame, parameters=list(parameters)))
    t_load = time.perf_counter() - start
    del frame
    gc.collect()
    table_bytes = int(ens.table.memory_usage(deep=True).sum())

    # build: timed without tracemalloc, then once more under it for the peak
    builds: list[float] = []
    while len(builds) < 5 and sum(builds) < 2.0:
        start = time.perf_counter()
        BrushEngine(ens, bins=bins)
        builds.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    engine = BrushEngine(ens, bins=bins)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    brushes = random_brushes(ens, n_brushes, seed + 1)
    engine_query(engine, brushes[0])  # first call: imports, caches
    eng_times = [timed(partial(engine_query, engine, b))[0] for b in brushes]
    # the same brushes again: every primary/secondary layout is cached now
    warm_times = [timed(partial(engine_query, engine, b))[0] for b in brushes]

    k = min(slow_reps if slow_reps is not None else slow_reps_for(n_rows), n_brushes)
    pan_times, ref_times, gaps = [], [], []
    for b in brushes[:k]:
        t_pan, pan = timed(partial(pandas_query, ens, bins, b))
        t_ref, ref = timed(partial(reference_query, ens, bins, b))
        pan_times.append(t_pan)
        ref_times.append(t_ref)
        gaps.append(check_equal(engine_query(engine, b), ref, pan))
        del pan, ref
    eng = summary(eng_times)
    pan_s = summary(pan_times)
    ref_s = summary(ref_times)
    eng_same = summary(eng_times[:k])
    return {
        "rows": n_rows,
        "parameters": list(parameters),
        "combinations": engine.n_combinations,
        "possible_combinations": int(
            np.prod([len(ens.options(p)) for p in ens.parameters])
        ),
        "setup_s": {"nws_like": t_setup, "load_normalize": t_load},
        "table_bytes": table_bytes,
        "build_s": float(statistics.median(builds)),
        "build_runs": len(builds),
        "build_peak_bytes": int(peak),
        "build_peak_over_table": peak / table_bytes,
        "engine_bytes": engine.nbytes,
        "engine": eng,
        "engine_warm": summary(warm_times),
        "engine_on_slow_brushes": eng_same,
        "pandas": pan_s,
        "reference": ref_s,
        "speedup_vs_pandas_median": pan_s["median_ms"] / eng["median_ms"],
        "speedup_vs_pandas_same_brushes": pan_s["median_ms"] / eng_same["median_ms"],
        "speedup_vs_reference_median": ref_s["median_ms"] / eng["median_ms"],
        "checked_brushes": k,
        "max_relative_mean_gap": max(gaps) if gaps else 0.0,
    }


def machine() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
    }


def print_table(results: Sequence[dict[str, Any]]) -> None:
    head = (
        f"{'rows':>11} {'combos':>7} {'build s':>8} {'peak/tab':>8} "
        f"{'eng med ms':>10} {'eng p95':>8} {'warm med':>8} "
        f"{'pandas med ms':>13} {'p95':>8} "
        f"{'reps':>4} {'x pandas':>9} {'ref med ms':>10} {'x ref':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['rows']:>11,} {r['combinations']:>7,} {r['build_s']:>8.2f} "
            f"{r['build_peak_over_table']:>8.2f} {r['engine']['median_ms']:>10.3f} "
            f"{r['engine']['p95_ms']:>8.3f} {r['engine_warm']['median_ms']:>8.3f} "
            f"{r['pandas']['median_ms']:>13.1f} "
            f"{r['pandas']['p95_ms']:>8.1f} {r['checked_brushes']:>4} "
            f"{r['speedup_vs_pandas_median']:>9.0f} "
            f"{r['reference']['median_ms']:>10.1f} "
            f"{r['speedup_vs_reference_median']:>7.0f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated row counts (default: %(default)s)",
    )
    parser.add_argument(
        "--parameters",
        default=",".join(PAPER_PARAMETERS),
        help="comma-separated nws_like columns used as parameters "
        "(default: the paper's six plus dataset: %(default)s)",
    )
    parser.add_argument("--brushes", type=int, default=200)
    parser.add_argument(
        "--slow-reps",
        type=int,
        default=None,
        help="brushes the slow paths run (default: 200 / 20 / 10 by size)",
    )
    parser.add_argument("--bins", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers; got {args.sizes!r}")
    parameters = [p.strip() for p in args.parameters.split(",") if p.strip()]

    run: dict[str, Any] = {"machine": machine()}
    results: list[dict[str, Any]] = []
    for n_rows in sizes:
        print(f"... {n_rows:,} rows", file=sys.stderr, flush=True)
        results.append(
            bench_size(
                n_rows, parameters, args.brushes, args.slow_reps, args.seed, args.bins
            )
        )
        gc.collect()
    run["results"] = results
    run["machine"]["loadavg_after"] = list(os.getloadavg())
    # whole process, table generation included (Linux reports KiB)
    run["machine"]["max_rss_bytes"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(run, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
