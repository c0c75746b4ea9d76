"""Benchmark: hpexplorer serve, from a brush in the browser to every view updated.

For synthetic NWS-like ensembles (:func:`hpcore.synthetic.nws_like`) of several
sizes, with the paper's parameters (dataset, lrate, batch_size, augmentation,
optimizer, activation, initialization) and with all twelve, measure in one run:

- **ours**: a server (:func:`hpcore.app.serve.serve_in_thread`) and one page in
  headless Debian chromium driven by Playwright. A brush is a drag on the
  normalized histogram (mouse down, 6 moves, up) to a random range. The
  latency runs from the brush's last change in the page (a listener on the
  brushed box, ``performance.now()``) to the first animation frame at which
  the page shows the state of that range (its stamp, which the server sets
  after every other view: histograms, matrix, importance, trellis, table,
  status); so it covers the websocket, the server's computation of all the
  tables (:func:`hpcore.analysis.tables.compute_tables`), the drawing and the
  browser's update. Before it, the page has answered the drag's earlier
  moves (they are coalesced: only the newest pending state is computed).
- **server**: :func:`hpcore.app.serve.compute_view` alone for the same ranges
  (the tables of one state, in-process, no browser).
- **baseline**: the plain pandas recompute of the same tables for the same
  ranges, in-process: :func:`hpcore.select` plus
  :func:`hpcore.analysis.tables.plain_tables` (re-scans every row), which is
  what a server without the engine would spend before sending anything.

``ratio`` is baseline / ours (medians). Run from the repository root::

    python benchmarks/serve_latency.py                    # 13k, 1M, 10M; 7 and 12
    python benchmarks/serve_latency.py --sizes 13000,1000000 --brushes 20

Prints a table and writes JSON (``--out``, default
``benchmarks/results/serve_latency.json``). Needs the ``serve`` and ``test``
extras and ``/usr/bin/chromium`` (or ``--chromium``). Never used by the tests;
timings depend on the machine and its load, which the JSON records.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import hpcore
from hpcore.analysis.tables import plain_tables
from hpcore.app import serve

PAPER_PARAMETERS = (
    "dataset",
    "lrate",
    "batch_size",
    "augmentation",
    "optimizer",
    "activation",
    "initialization",
)
ALL_PARAMETERS = (
    *PAPER_PARAMETERS,
    "filter_size",
    "depth_conv",
    "depth_fc",
    "width_conv",
    "width_fc",
)
DEFAULT_SIZES = (13_000, 1_000_000, 10_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "serve_latency.json"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

#: Installed in the page: when the brushed box last changed.
LISTEN_JS = """() => {
    const brush = Bokeh.documents[0].get_model_by_name('brush');
    window.__brushed = performance.now();
    const mark = () => { window.__brushed = performance.now(); };
    brush.property('left').change.connect(mark);
    brush.property('right').change.connect(mark);
}"""

#: True (as the latency in ms) once the page shows the brushed range.
SHOWN_JS = """() => {
    const d = Bokeh.documents[0];
    const b = d.get_model_by_name('brush');
    const s = JSON.parse(d.get_model_by_name('stamp').data.state[0]);
    const r = (v) => Math.min(Math.max(Math.round(v * 1e4) / 1e4, 0), 1);
    if (s.lo === r(Math.min(b.left, b.right)) && s.hi === r(Math.max(b.left, b.right)))
        return performance.now() - window.__brushed;
    return false;
}"""

FRAME_JS = """(name) => {
    const fig = Bokeh.documents[0].get_model_by_name(name);
    const view = Bokeh.index.find_one(fig);
    const box = view.canvas_view.el.getBoundingClientRect();
    const f = view.frame.bbox;
    return [box.left + f.left, box.top + f.top, f.width, f.height];
}"""


def stats(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "min_ms": ordered[0],
        "n": len(ordered),
    }


def ranges(count: int, seed: int) -> list[tuple[float, float]]:
    """Random brushes: start in [0.05, 0.7], width 0.1..0.45 (within [0, 1])."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        lo = rng.uniform(0.05, 0.7)
        out.append((lo, min(lo + rng.uniform(0.1, 0.45), 0.98)))
    return out


#: The brushed box's ends.
BOX_JS = """() => {
    const b = Bokeh.documents[0].get_model_by_name('brush');
    return [b.left, b.right];
}"""


def clear_brush(page: Any) -> None:
    """Press "whole range" and wait until the page shows [0, 1]."""
    page.get_by_role("button", name="whole range").click()
    page.wait_for_function(
        "() => { const s = JSON.parse(Bokeh.documents[0]"
        ".get_model_by_name('stamp').data.state[0]); "
        "return s.lo === 0 && s.hi === 1; }",
        polling="raf",
    )


def browser_latency(
    page: Any, brushes: Sequence[tuple[float, float]]
) -> tuple[list[float], list[tuple[float, float]]]:
    """Drag each brush on the normalized histogram; latency of each, in ms."""
    x, y, w, h = page.evaluate(FRAME_JS, "hist_norm")
    page.evaluate(LISTEN_JS)
    latencies: list[float] = []
    shown: list[tuple[float, float]] = []
    for lo, hi in brushes:
        # a drag brushes anew where it starts outside the box (inside, it
        # moves the box): from the end outside it, or after "whole range"
        left, right = page.evaluate(BOX_JS)
        start, stop = lo, hi
        if left < lo < right and (left, right) != (0.0, 1.0):
            if left < hi < right:
                clear_brush(page)
            else:
                start, stop = hi, lo
        page.mouse.move(x + w * start, y + h * 0.5)
        page.mouse.down()
        for i in range(1, 7):
            page.mouse.move(x + w * (start + (stop - start) * i / 6), y + h * 0.5)
        page.mouse.up()
        latency = page.wait_for_function(SHOWN_JS, polling="raf").json_value()
        latencies.append(float(latency))
        stamp = json.loads(
            page.evaluate(
                "() => Bokeh.documents[0].get_model_by_name('stamp').data.state[0]"
            )
        )
        shown.append((stamp["lo"], stamp["hi"]))
    return latencies, shown


def bench(
    n_rows: int,
    parameters: Sequence[str],
    *,
    brushes: int,
    baseline_reps: int,
    seed: int,
    chromium: Path,
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    frame = hpcore.synthetic.nws_like(n_rows, seed=seed)[[*parameters, "test_accuracy"]]
    ens = hpcore.normalize(hpcore.load(frame))
    del frame
    store = serve.DataStore.from_ensemble(ens, f"synthetic, {n_rows:,} rows")
    out = Path(tempfile.mkdtemp(prefix="serve-latency-")) / "report"
    running = serve.serve_in_thread(store, out=out)
    try:
        deadline = time.monotonic() + 3600
        while not store.ready and time.monotonic() < deadline:
            if store.error:
                raise RuntimeError(store.error)
            time.sleep(0.2)
        prepare_s = time.perf_counter() - started
        variant = store.variant()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=FLAGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(600_000)
            page.goto(running.url)
            page.wait_for_function(
                "() => window.Bokeh && Bokeh.documents.length && "
                "Bokeh.documents[0].get_model_by_name('stamp').data.state[0] !== '{}'"
            )
            warm, _ = browser_latency(page, ranges(2, seed + 1))
            latencies, shown = browser_latency(page, ranges(brushes, seed))
            browser.close()
        server_ms = []
        for lo, hi in shown:
            t = time.perf_counter()
            serve.compute_view(variant, serve.ViewState(range=(lo, hi)))
            server_ms.append((time.perf_counter() - t) * 1e3)
        baseline_ms = []
        for lo, hi in shown[:baseline_reps]:
            t = time.perf_counter()
            sel = hpcore.select(ens, range=(lo, hi))
            plain_tables(ens, sel, primary="dataset", secondary=None)
            baseline_ms.append((time.perf_counter() - t) * 1e3)
    finally:
        running.stop()
    ours = stats(latencies)
    base = stats(baseline_ms)
    return {
        "rows": n_rows,
        "parameters": list(parameters),
        "n_parameters": len(parameters),
        "combinations": variant.engine.n_combinations if variant.engine else None,
        "prepare_s": prepare_s,
        "ours": ours,
        "ours_ms": latencies,
        "warmup_ms": warm,
        "server": stats(server_ms),
        "baseline": base,
        "ratio": base["median_ms"] / ours["median_ms"],
    }


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
    }


def print_table(results: Sequence[dict[str, Any]]) -> None:
    head = (
        f"{'rows':>11} {'params':>6} {'what':<34} {'ours ms':>8} {'p90':>7} "
        f"{'server ms':>9} {'baseline ms':>11} {'ratio':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['rows']:>11,} {r['n_parameters']:>6} "
            f"{'brush -> all views (chromium)':<34} "
            f"{r['ours']['median_ms']:>8.0f} {r['ours']['p90_ms']:>7.0f} "
            f"{r['server']['median_ms']:>9.0f} {r['baseline']['median_ms']:>11.0f} "
            f"{r['ratio']:>6.1f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated row counts (default: %(default)s)",
    )
    parser.add_argument(
        "--parameter-sets",
        default="paper,all",
        help="'paper' (7 columns), 'all' (12) or both (default: %(default)s)",
    )
    parser.add_argument("--brushes", type=int, default=15)
    parser.add_argument(
        "--baseline-reps",
        type=int,
        default=None,
        help="brushes the baseline runs (default: all, 5 above 2M rows)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    sets = {"paper": PAPER_PARAMETERS, "all": ALL_PARAMETERS}
    chosen = [s.strip() for s in args.parameter_sets.split(",") if s.strip()]
    if not args.chromium.exists():
        parser.error(f"no browser at {args.chromium} (apt-get install chromium)")
    run: dict[str, Any] = {"machine": machine(), "results": []}
    for name in chosen:
        for n_rows in sizes:
            print(
                f"... {n_rows:,} rows, {name} parameters", file=sys.stderr, flush=True
            )
            reps = args.baseline_reps
            if reps is None:
                reps = args.brushes if n_rows <= 2_000_000 else 5
            result = bench(
                n_rows,
                sets[name],
                brushes=args.brushes,
                baseline_reps=reps,
                seed=args.seed,
                chromium=args.chromium,
            )
            run["results"].append(result)
            print_table([result])
            gc.collect()
    run["machine"]["loadavg_after"] = list(os.getloadavg())
    print()
    print_table(run["results"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(run, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
