"""Benchmark: brushing with hpcore's BrushEngine vs the plain path, at scale.

For synthetic NWS-like ensembles (:func:`hpcore.synthetic.nws_like`) of each
size, with the paper's seven columns and with all twelve parameters, measure
in one run:

- **build**: time of ``BrushEngine(ens)`` (median of up to five) and the
  peak of the memory it allocates (tracemalloc, one more build) next to the
  table's own size (``ens.table.memory_usage(deep=True)``).
- **range drag**: a brush whose filter and trellis parameters were seen
  before (the interaction repeated most), as the report and the serve path
  use it: ``query`` (count, histogram, pair counts, option counts)
  + ``trellis_moments`` (the trellis) + the statistics computed from counts
  (``enrich_pair_counts`` against the population, ``trellis_ci_from_moments``).
  ``engine only`` is ``query`` + ``trellis_moments`` without the statistics.
  Baseline: the plain path on the same brush, ``hpcore.select`` +
  ``histogram`` + ``pair_statistics`` + ``trellis_with_ci`` +
  ``option_counts`` (run on fewer brushes; the engine's tables are checked
  against it on each).
  The drag is also timed under ``--layouts`` random filters and trellis
  layouts (``range drag, N layouts``, all their brushes pooled): the
  statistics cost more where more pair cells need a search.
  Both ends of these brushes are random, so each brush has two new partial
  steps: the harder case of a drag. A slider drag moves one end and holds
  the other: ``range drag, one end held`` times ``--held`` such drags
  (one end at a random place, the other moved away from it in
  ``HELD_MOVES`` steps over 0.02 to 0.3), where the engine takes the held
  end's partial step from the brush before.
- **filter change**: the first brush under a ``where`` not seen before
  (the engine builds the filter's bitmap, running pair counts and trellis
  tables), then the median range drag under it again.
- **primary change**: the first ``trellis_moments`` with a new trellis
  primary/secondary under a known filter.
- **scan baseline** for both: one vectorized pass over the parameter codes
  (``allowed[codes]`` AND-reduced over every parameter column of the set,
  what a where-mask costs with every parameter filtered), median of 5.
- the filter change, primary change, plain path and scan are also given in
  **CPU time** (``time.process_time``, medians): on a shared machine wall
  time counts the other processes' turns too, CPU time does not.

The brushes are random: ranges ``[lo, hi]`` in [0, 1]; filters restrict one
or two parameters to a random subset of their options; primary and
secondary are random parameters. Run from the repository root::

    python benchmarks/brush.py                          # 13k, 1M, 10M rows
    python benchmarks/brush.py --sizes 13000,1000000 --out /tmp/brush.json

10 million rows need a few GB: run that size alone (``--sizes 10000000``);
``--merge`` adds a run's sizes to an existing JSON. Prints a table and
writes JSON (``--out``, default ``benchmarks/results/brush.json``). Never
used by the tests; timings depend on the machine and its load, which the
JSON records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hpcore
from hpcore.analysis import stats
from hpcore.analysis.engine import BrushEngine

#: Brushes per slider drag of the ``--held`` section (mouse moves of one end).
HELD_MOVES = 25
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
SETS = {"paper7": PAPER_PARAMETERS, "all12": None}
DEFAULT_SIZES = (13_000, 1_000_000, 10_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "brush.json"


#: CPU seconds of every :func:`timed` call, in order (the machine is shared:
#: wall time also counts the other processes' turns, CPU time does not).
CPU: list[float] = []


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of ``fn()`` and its result; its CPU seconds go to :data:`CPU`."""
    cpu = time.process_time()
    start = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - start
    CPU.append(time.process_time() - cpu)
    return wall, out


def cpu_of(fn: Callable[[], Any]) -> float:
    """CPU seconds of one ``fn()``."""
    timed(fn)
    return CPU[-1]


def summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    return {
        "n": len(ms),
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
    }


def random_where(
    ens: hpcore.Ensemble, rng: np.random.Generator
) -> dict[str, list[str]]:
    """One or two parameters restricted to a random proper subset of options."""
    where: dict[str, list[str]] = {}
    names = rng.choice(
        list(ens.parameters), size=int(rng.integers(1, 3)), replace=False
    )
    for name in names:
        options = ens.options(str(name))
        k = int(rng.integers(1, len(options)))
        where[str(name)] = [str(o) for o in rng.choice(options, k, replace=False)]
    return where


def random_trellis(
    ens: hpcore.Ensemble, rng: np.random.Generator
) -> tuple[str, str | None]:
    primary = str(rng.choice(list(ens.parameters)))
    others = [p for p in ens.parameters if p != primary]
    return primary, str(rng.choice(others))


def engine_brush(
    engine: BrushEngine,
    population: Any,
    lo: float,
    hi: float,
    where: dict[str, list[str]],
    primary: str,
    secondary: str | None,
    with_stats: bool = True,
) -> dict[str, Any]:
    """One brush as the report and the serve path take it from the engine
    (:func:`hpcore.analysis.tables.compute_tables`): the counting query
    without a trellis, whose means, intervals and counts come from
    ``trellis_moments`` (the same means, bit for bit)."""
    res = engine.query(range=(lo, hi), where=where)
    moments = engine.trellis_moments(
        range=(lo, hi), where=where, primary=primary, secondary=secondary
    )
    out: dict[str, Any] = {"result": res, "moments": moments}
    if with_stats:
        out["pairs"] = stats.enrich_pair_counts(
            res.pair_counts,
            population.pair_counts,
            selected=res.count,
            population=population.count,
        )
        out["trellis"] = stats.trellis_ci_from_moments(moments)
    return out


def plain_brush(
    ens: hpcore.Ensemble,
    bins: int,
    lo: float,
    hi: float,
    where: dict[str, list[str]],
    primary: str,
    secondary: str | None,
) -> dict[str, Any]:
    """The same tables by the plain functions (re-scan every row)."""
    sel = hpcore.select(ens, range=(lo, hi), where=where)
    passing = hpcore.select(ens, where=where)
    return {
        "count": sel.count,
        "histogram": hpcore.histogram(
            ens, bins=bins, normalized=True, selection=passing
        ),
        "pairs": stats.pair_statistics(ens, sel),
        "options": stats.option_counts(ens, sel),
        "trellis": stats.trellis_with_ci(
            ens, sel, primary=primary, secondary=secondary
        ),
    }


def check_equal(fast: dict[str, Any], plain: dict[str, Any]) -> float:
    """The engine's tables equal the plain ones; the largest relative mean gap."""
    res = fast["result"]
    assert res.count == plain["count"]
    pd.testing.assert_frame_equal(res.histogram, plain["histogram"])
    pd.testing.assert_frame_equal(fast["pairs"], plain["pairs"])
    pd.testing.assert_frame_equal(res.option_counts, plain["options"])
    got, want = fast["trellis"], plain["trellis"]
    assert np.array_equal(got["count"].to_numpy(), want["count"].to_numpy())
    a, b = got["mean"].to_numpy(), want["mean"].to_numpy()
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = np.isfinite(b) & (b != 0)
    gap = float(np.max(np.abs(a[ok] - b[ok]) / np.abs(b[ok]), initial=0.0))
    assert gap <= 1e-12, gap
    return gap


def scan_baseline(ens: hpcore.Ensemble) -> float:
    """One vectorized pass over every parameter's codes (a full where-mask)."""
    codes = [ens.codes(p).to_numpy() for p in ens.parameters]
    allowed = [np.ones(len(ens.options(p)), dtype=bool) for p in ens.parameters]

    def scan() -> np.ndarray:
        mask = allowed[0][codes[0]]
        for ok, c in zip(allowed[1:], codes[1:], strict=True):
            mask &= ok[c]
        return mask

    return float(statistics.median(timed(scan)[0] for _ in range(5)))


def scan_cpu(ens: hpcore.Ensemble) -> float:
    """CPU seconds of :func:`scan_baseline`'s pass (median of 5)."""
    codes = [ens.codes(p).to_numpy() for p in ens.parameters]
    allowed = [np.ones(len(ens.options(p)), dtype=bool) for p in ens.parameters]

    def scan() -> np.ndarray:
        mask = allowed[0][codes[0]]
        for ok, c in zip(allowed[1:], codes[1:], strict=True):
            mask &= ok[c]
        return mask

    return float(statistics.median(cpu_of(scan) for _ in range(5)))


def plain_reps(n_rows: int) -> int:
    return 20 if n_rows <= 100_000 else 5 if n_rows <= 2_000_000 else 3


def bench(
    n_rows: int, label: str, parameters: Sequence[str] | None, args: argparse.Namespace
) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 1)
    frame = hpcore.synthetic.nws_like(n_rows, seed=args.seed)
    kwargs = {} if parameters is None else {"parameters": list(parameters)}
    ens = hpcore.normalize(hpcore.load(frame, **kwargs))
    del frame
    gc.collect()
    table_bytes = int(ens.table.memory_usage(deep=True).sum())
    builds: list[float] = []
    while len(builds) < 5 and sum(builds) < 20.0:
        builds.append(timed(lambda: BrushEngine(ens, bins=args.bins))[0])
        gc.collect()
    tracemalloc.start()
    engine = BrushEngine(ens, bins=args.bins)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scan = scan_baseline(ens)

    # a filter and a trellis layout to drag under
    where = random_where(ens, rng)
    primary, secondary = random_trellis(ens, rng)
    population = engine.query(where=where)
    engine_brush(engine, population, 0.2, 0.9, where, primary, secondary)
    ranges = [
        tuple(sorted(float(x) for x in rng.random(2))) for _ in range(args.brushes)
    ]
    drag, only = [], []
    for lo, hi in ranges:
        drag.append(
            timed(
                lambda lo=lo, hi=hi: engine_brush(
                    engine, population, lo, hi, where, primary, secondary
                )
            )[0]
        )
    # the same drags under other random filters and trellis layouts: a
    # drag's statistics cost more where more pair cells need a search (each
    # layout built first, then dragged as above)
    # (their own random numbers: the later sections draw what they drew
    # before --layouts existed)
    layout_rng = np.random.default_rng(args.seed + 2)
    pooled = list(drag)
    for _ in range(args.layouts - 1):
        w2 = random_where(ens, layout_rng)
        p2, s2 = random_trellis(ens, layout_rng)
        pop2 = engine.query(where=w2)
        engine_brush(engine, pop2, 0.2, 0.9, w2, p2, s2)
        for lo, hi in ranges[: max(1, args.brushes // args.layouts)]:
            pooled.append(
                timed(
                    lambda lo=lo, hi=hi, w2=w2, p2=p2, s2=s2, pop2=pop2: engine_brush(
                        engine, pop2, lo, hi, w2, p2, s2
                    )
                )[0]
            )
    # a slider drag: one end held, the other moved by small steps (as mouse
    # moves arrive), under the drag's filter and layout; the held end's
    # partial step is the one before (own random numbers, like the layouts)
    held_rng = np.random.default_rng(args.seed + 3)
    held = []
    for _ in range(args.held):
        kept = float(held_rng.random())
        side = float(held_rng.choice([-1.0, 1.0]))
        moving = np.clip(kept + side * np.linspace(0.02, 0.3, HELD_MOVES), 0.0, 1.0)
        for m in moving:
            lo, hi = sorted((kept, float(m)))
            held.append(
                timed(
                    lambda lo=lo, hi=hi: engine_brush(
                        engine, population, lo, hi, where, primary, secondary
                    )
                )[0]
            )
    # apart: right after the same brush the engine would answer its trellis
    # from the one it remembers
    for lo, hi in ranges:
        only.append(
            timed(
                lambda lo=lo, hi=hi: engine_brush(
                    engine, population, lo, hi, where, primary, secondary, False
                )
            )[0]
        )
    plain, gaps = [], []
    plain_cpu: list[float] = []
    for lo, hi in ranges[: plain_reps(n_rows)]:
        t, ref = timed(
            lambda lo=lo, hi=hi: plain_brush(
                ens, args.bins, lo, hi, where, primary, secondary
            )
        )
        plain.append(t)
        plain_cpu.append(CPU[-1])
        gaps.append(
            check_equal(
                engine_brush(engine, population, lo, hi, where, primary, secondary), ref
            )
        )
        del ref

    # filter changes: the first brush under a new where (and its population)
    changes, after = [], []
    changes_cpu: list[float] = []
    for _ in range(args.changes):
        new = random_where(ens, rng)
        lo, hi = ranges[len(changes)]

        def first(
            new: dict[str, list[str]] = new, lo: float = lo, hi: float = hi
        ) -> Any:
            pop = engine.query(where=new)
            return engine_brush(engine, pop, lo, hi, new, primary, secondary), pop

        t, (_, pop) = timed(first)
        changes.append(t)
        changes_cpu.append(CPU[-1])
        for lo2, hi2 in ranges[:10]:
            after.append(
                timed(
                    lambda lo2=lo2, hi2=hi2, new=new, pop=pop: engine_brush(
                        engine, pop, lo2, hi2, new, primary, secondary
                    )
                )[0]
            )
    # the counting half of a filter change: bitmap, running pair counts,
    # histogram (a query without a trellis)
    counting = []
    for _ in range(args.changes):
        new = random_where(ens, rng)
        counting.append(
            timed(lambda new=new: engine.query(range=(0.2, 0.9), where=new))[0]
        )
    # primary/secondary changes under the drag's filter
    switches, switches_cpu = [], []
    for _ in range(args.changes):
        p, s = random_trellis(ens, rng)
        switches.append(
            timed(
                lambda p=p, s=s: engine.trellis_moments(
                    range=(0.2, 0.9), where=where, primary=p, secondary=s
                )
            )[0]
        )
        switches_cpu.append(CPU[-1])
    scan_c = scan_cpu(ens)
    cpu = {
        "scan_ms": scan_c * 1e3,
        "filter_change_ms": statistics.median(changes_cpu) * 1e3,
        "primary_change_ms": statistics.median(switches_cpu) * 1e3,
        "plain_ms": statistics.median(plain_cpu) * 1e3,
    }
    cpu["filter_change_over_scan"] = cpu["filter_change_ms"] / cpu["scan_ms"]
    cpu["primary_change_over_scan"] = cpu["primary_change_ms"] / cpu["scan_ms"]
    cpu["filter_change_over_plain"] = cpu["filter_change_ms"] / cpu["plain_ms"]
    drag_s, only_s, plain_s = summary(drag), summary(only), summary(plain)
    change_s, switch_s = summary(changes), summary(switches)
    return {
        "rows": n_rows,
        "set": label,
        "parameters": list(ens.parameters),
        "pair_cells": len(population.pair_counts),
        "table_bytes": table_bytes,
        "build_s": float(statistics.median(builds)),
        "build_peak_bytes": int(peak),
        "build_peak_over_table": peak / table_bytes,
        "engine_bytes": engine.nbytes,
        "scan_ms": scan * 1e3,
        "drag": drag_s,
        "drag_layouts": summary(pooled),
        **({"drag_held": summary(held)} if held else {}),
        "held_drags": args.held,
        "layouts": args.layouts,
        "drag_engine_only": only_s,
        "plain": plain_s,
        "drag_vs_plain": plain_s["median_ms"] / drag_s["median_ms"],
        "filter_change": change_s,
        "filter_change_over_scan": change_s["median_ms"] / (scan * 1e3),
        "filter_counts": summary(counting),
        "filter_counts_over_scan": summary(counting)["median_ms"] / (scan * 1e3),
        "drag_after_change": summary(after),
        "primary_change": switch_s,
        "primary_change_over_scan": switch_s["median_ms"] / (scan * 1e3),
        "cpu": cpu,
        "checked_brushes": len(gaps),
        "max_relative_mean_gap": max(gaps, default=0.0),
        "where": where,
        "trellis": [primary, secondary],
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
    head = ("rows", "set", "what", "ours", "baseline", "ratio")
    print("{:>11} {:>6} {:<34} {:>12} {:>12} {:>8}".format(*head))
    for r in results:
        rows = [
            (
                "build s / peak x table",
                f"{r['build_s']:.2f}",
                f"{r['build_peak_over_table']:.2f}x",
                "",
            ),
            (
                "range drag med ms (vs plain)",
                f"{r['drag']['median_ms']:.2f}",
                f"{r['plain']['median_ms']:.1f}",
                f"{r['drag_vs_plain']:.0f}x",
            ),
            (
                "range drag p95 ms",
                f"{r['drag']['p95_ms']:.2f}",
                f"{r['plain']['p95_ms']:.1f}",
                "",
            ),
            (
                f"range drag, {r.get('layouts', 1)} layouts med / p95 ms",
                f"{r.get('drag_layouts', r['drag'])['median_ms']:.2f}",
                f"{r.get('drag_layouts', r['drag'])['p95_ms']:.2f}",
                "",
            ),
            (
                "range drag, one end held med / p95",
                f"{r['drag_held']['median_ms']:.2f}" if "drag_held" in r else "",
                f"{r['drag_held']['p95_ms']:.2f}" if "drag_held" in r else "",
                "",
            ),
            (
                "  engine only med / p95 ms",
                f"{r['drag_engine_only']['median_ms']:.2f}",
                f"{r['drag_engine_only']['p95_ms']:.2f}",
                "",
            ),
            (
                "filter change ms (vs scan)",
                f"{r['filter_change']['median_ms']:.1f}",
                f"{r['scan_ms']:.1f}",
                f"{r['filter_change_over_scan']:.1f}x",
            ),
            (
                "  of which counts tables ms",
                f"{r['filter_counts']['median_ms']:.1f}",
                f"{r['scan_ms']:.1f}",
                f"{r['filter_counts_over_scan']:.1f}x",
            ),
            (
                "  drag after change med ms",
                f"{r['drag_after_change']['median_ms']:.2f}",
                "",
                "",
            ),
            (
                "primary change ms (vs scan)",
                f"{r['primary_change']['median_ms']:.1f}",
                f"{r['scan_ms']:.1f}",
                f"{r['primary_change_over_scan']:.1f}x",
            ),
            (
                "filter change CPU ms (vs scan)",
                f"{r['cpu']['filter_change_ms']:.1f}",
                f"{r['cpu']['scan_ms']:.1f}",
                f"{r['cpu']['filter_change_over_scan']:.1f}x",
            ),
            (
                "filter change CPU ms (vs plain)",
                f"{r['cpu']['filter_change_ms']:.1f}",
                f"{r['cpu']['plain_ms']:.1f}",
                f"{r['cpu']['filter_change_over_plain']:.2f}x",
            ),
            (
                "primary change CPU ms (vs scan)",
                f"{r['cpu']['primary_change_ms']:.1f}",
                f"{r['cpu']['scan_ms']:.1f}",
                f"{r['cpu']['primary_change_over_scan']:.1f}x",
            ),
        ]
        for what, ours, base, ratio in rows:
            cells = (f"{r['rows']:,}", r["set"], what, ours, base, ratio)
            print("{:>11} {:>6} {:<34} {:>12} {:>12} {:>8}".format(*cells))


def held_cell(r: dict[str, Any]) -> str:
    """``; <median>`` of the held-end drags, where the run timed them."""
    return f"; {r['drag_held']['median_ms']:.1f}" if "drag_held" in r else ""


def print_markdown(results: Sequence[dict[str, Any]]) -> None:
    """The README's table (medians; CPU times where the machine is shared)."""
    print(
        "| rows | parameters (pair cells) | build s (peak / table) "
        "| range drag: engine ms, median (p95) "
        "| range drag with statistics ms (over all layouts; one end held) "
        "| plain path CPU ms | filter change CPU ms (counting tables, wall ms) "
        "| scan CPU ms | filter change / scan | filter change / plain "
        "| primary change CPU ms (/ scan) |"
    )
    print("|---" * 11 + "|")
    for r in results:
        cpu = r["cpu"]
        print(
            f"| {r['rows']:,} | {len(r['parameters'])} ({r['pair_cells']}) "
            f"| {r['build_s']:.2f} ({r['build_peak_over_table']:.2f}x) "
            f"| {r['drag_engine_only']['median_ms']:.1f} "
            f"({r['drag_engine_only']['p95_ms']:.1f}) "
            f"| {r['drag']['median_ms']:.1f} "
            f"({r.get('drag_layouts', r['drag'])['median_ms']:.1f}"
            f"{held_cell(r)}) "
            f"| {cpu['plain_ms']:,.0f} "
            f"| {cpu['filter_change_ms']:.0f} ({r['filter_counts']['median_ms']:.0f}) "
            f"| {cpu['scan_ms']:.1f} | {cpu['filter_change_over_scan']:.1f}x "
            f"| {cpu['filter_change_over_plain']:.2f}x "
            f"| {cpu['primary_change_ms']:.0f} "
            f"({cpu['primary_change_over_scan']:.1f}x) |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated row counts (default: %(default)s)",
    )
    parser.add_argument(
        "--sets", default="paper7,all12", help="parameter sets: paper7, all12"
    )
    parser.add_argument("--brushes", type=int, default=100)
    parser.add_argument("--changes", type=int, default=15)
    parser.add_argument(
        "--layouts",
        type=int,
        default=4,
        help="random filter and trellis layouts the range drag is also timed "
        "under (default: 4, the first included)",
    )
    parser.add_argument(
        "--held",
        type=int,
        default=4,
        help=f"slider drags (one end held, the other moved {HELD_MOVES} times) "
        "timed under the drag's filter and layout (default: 4)",
    )
    parser.add_argument("--bins", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--merge", action="store_true", help="add to the results already in --out"
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the README's table from --out and stop (no measuring)",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print_markdown(json.loads(args.out.read_text())["results"])
        return 0
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers; got {args.sizes!r}")
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        parser.error(f"--sets: unknown {unknown}; known: {sorted(SETS)}")

    results: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    if args.merge and args.out.exists():
        old = json.loads(args.out.read_text())
        results = [r for r in old["results"] if r["rows"] not in sizes]
        runs = old.get("machines", [])
    run = machine()
    for n_rows in sizes:
        for label in sets:
            print(f"... {n_rows:,} rows, {label}", file=sys.stderr, flush=True)
            results.append(bench(n_rows, label, SETS[label], args))
            gc.collect()
    run["loadavg_after"] = list(os.getloadavg())
    run["sizes"] = sizes
    results.sort(key=lambda r: (r["rows"], r["set"] != "paper7"))
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"machines": [*runs, run], "results": results}, indent=2))
    tmp.replace(args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
