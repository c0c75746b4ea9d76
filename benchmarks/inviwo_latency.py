"""Benchmark: HPExplorer's workspace in a real Inviwo, from a change to all views.

Needs a real Inviwo build with this checkout as its ``hpexplorer`` module
(``HPEXPLORER_INVIWO`` = the build folder holding ``bin/Inviwo``, as for
``tests/test_inviwo_real.py``) and ``xvfb-run``. For each size, one headless
Inviwo editor opens ``workspaces/hyperparameter-analysis.inv`` and runs
``tests/inviwo_real/drive.py``, which

- sets Ensemble Source's built-in rows to the size (the whole network
  evaluates: data, normalization, engine, every view drawn) - **open**;
- then sets the Normalized Range to a series of ranges, as a drag on the
  histogram does - **range change**: from the property's change until every
  processor has run again (matrix, trellis and histogram redrawn into their
  canvases' images), the network evaluating before the setter returns;
- then changes the option filter - **filter change**.

Baseline, measured here in the same run on the same ensemble: the plain
recompute of the tables of one range (``hpcore.select`` +
``pair_statistics`` + ``trellis_with_ci`` + ``histogram``), without any
drawing. **Opening** is also timed as a whole: the wall time of ``Inviwo -w
workspace -q`` minus that of ``Inviwo -q`` (start-up and quit alone).

Run from the repository root::

    HPEXPLORER_INVIWO=/path/to/build python benchmarks/inviwo_latency.py
    HPEXPLORER_INVIWO=... python benchmarks/inviwo_latency.py --sizes 13000,1000000

Prints a table (rows, what, ours, baseline, ratio) and writes JSON (``--out``,
default ``benchmarks/results/inviwo_latency.json``). Never used by the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hpcore.inviwo_bridge import parse_where

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = REPO / "workspaces" / "hyperparameter-analysis.inv"
DRIVE = REPO / "tests" / "inviwo_real" / "drive.py"
SCREEN = "-screen 0 1920x1080x24"

sys.path.insert(0, str(REPO / "workspaces"))
from build_workspace import without  # noqa: E402  (the workspaces' own writer)

#: A drag: the upper end of the range moved in small steps, then the whole
#: window moved, as a hand on the histogram does.
RANGES = [(0.6, round(0.8 + 0.01 * i, 2)) for i in range(16)] + [
    (round(0.6 + 0.01 * i, 2), round(0.95 + 0.0025 * i, 4)) for i in range(1, 11)
]
#: Option filters, each new to the engine (its tables are built), each valid:
#: the run checks that the selection took each one (an error would be fast).
FILTERS = [
    "optimizer = ADAM",
    "optimizer = ADAM | Momentum SGD\nactivation = ReLU",
    "dataset = mnist | svhn",
]


def app() -> Path:
    build = os.environ.get("HPEXPLORER_INVIWO")
    if not build or not (Path(build) / "bin" / "Inviwo").is_file():
        sys.exit(
            "set HPEXPLORER_INVIWO to an Inviwo build folder holding bin/Inviwo "
            "(see tests/test_inviwo_real.py)"
        )
    return Path(build) / "bin" / "Inviwo"


def run(args: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one headless Inviwo editor run (it quits at the end)."""
    cmd = ["xvfb-run", "-a", "-s", SCREEN, str(app()), "-n", *args, "-q"]
    start = time.perf_counter()
    subprocess.run(
        cmd, env={**os.environ, **(env or {})}, check=True, capture_output=True
    )
    return time.perf_counter() - start


def drive(rows: int, repeat: int, drop: set[str]) -> dict[str, Any]:
    states: list[dict[str, Any]] = [{"rows": rows, "record": False}]
    for _ in range(repeat):
        states += [{"range": list(r), "record": False} for r in RANGES]
    states += [{"where": w, "record": False} for w in FILTERS]
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.json", Path(tmp) / "out.json"
        inp.write_text(json.dumps(states), encoding="utf-8")
        run(
            ["-w", str(without(WORKSPACE, drop, Path(tmp))), "-p", str(DRIVE)],
            env={"HPEXPLORER_DRIVE_IN": str(inp), "HPEXPLORER_DRIVE_OUT": str(out)},
        )
        driven = json.loads(out.read_text(encoding="utf-8"))
    if driven["error"]:
        sys.exit(driven["error"])
    n_ranges = repeat * len(RANGES)
    for text, state in zip(FILTERS, driven["states"][1 + n_ranges :], strict=True):
        want = {k: sorted(v) for k, v in parse_where(text).items()}
        if state["where_now"] != want:
            sys.exit(
                f"the option filter {text!r} did not take: the selection's "
                f"filter is {state['where_now']!r} (see the processors' errors)"
            )
    seconds = [s["seconds"] for s in driven["states"]]
    return {
        "open": seconds[0],
        "range": seconds[1 : 1 + n_ranges],
        "filter": seconds[1 + n_ranges :],
    }


def plain(rows: int) -> list[float]:
    """Seconds of the plain recompute of each range's tables (no drawing)."""
    import hpcore
    from hpcore.analysis.settings import CI_LEVEL
    from hpcore.analysis.stats import pair_statistics, trellis_with_ci
    from hpcore.app.common import BUILTIN_SEED
    from hpcore.data.loading import ensemble_from_frame
    from hpcore.data.synthetic import nws_like

    norm = hpcore.normalize(ensemble_from_frame(nws_like(rows, seed=BUILTIN_SEED)))
    where = {"dataset": ["cifar10", "stl10"]}
    out = []
    for lo, hi in RANGES:
        start = time.perf_counter()
        sel = hpcore.select(norm, range=(lo, hi), where=where)
        hpcore.histogram(norm, selection=sel)
        pair_statistics(norm, sel)
        trellis_with_ci(
            norm, sel, primary="optimizer", secondary="batch_size", level=CI_LEVEL
        )
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="13000,1000000")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the ranges")
    parser.add_argument(
        "--out", default=str(REPO / "benchmarks" / "results" / "inviwo_latency.json")
    )
    parser.add_argument(
        "--drop",
        default="",
        help="processors to leave out of the workspace, comma-separated (e.g. "
        "ParallelCoordinates,ParallelCoordinatesCanvas: Inviwo's own plot, "
        "software-rendered without a GPU)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    drop = {d for d in args.drop.split(",") if d}

    empty = statistics.median(run([]) for _ in range(2))
    with_ws = statistics.median(run(["-w", str(WORKSPACE)]) for _ in range(2))
    rows: list[dict[str, Any]] = [
        {
            "rows": 13000,
            "what": "open the workspace (wall, minus start-up)",
            "ours_s": with_ws - empty,
            "baseline_s": None,
            "baseline": "5 s goal",
        }
    ]
    for n in sizes:
        got = drive(n, args.repeat, drop)
        base = statistics.median(plain(n))
        rng = statistics.median(got["range"])
        rows += [
            {
                "rows": n,
                "what": "set rows: whole network, every view drawn",
                "ours_s": got["open"],
                "baseline_s": None,
                "baseline": "",
            },
            {
                "rows": n,
                "what": "range change -> all canvases redrawn (median)",
                "ours_s": rng,
                "p90_s": float(np.percentile(got["range"], 90)),
                "baseline_s": base,
                "baseline": "plain recompute of the tables, no drawing",
            },
            {
                "rows": n,
                "what": "option filter change -> all redrawn (median)",
                "ours_s": statistics.median(got["filter"]),
                "baseline_s": base,
                "baseline": "plain recompute of the tables, no drawing",
            },
        ]
    print(f"{'rows':>10}  {'what':<48} {'ours':>9} {'baseline':>9} {'ratio':>6}")
    for r in rows:
        base_s = r["baseline_s"]
        ratio = f"{r['ours_s'] / base_s:6.2f}" if base_s else "     -"
        base_txt = f"{base_s * 1e3:7.0f}ms" if base_s else f"{r['baseline']:>9}"
        print(
            f"{r['rows']:>10,}  {r['what']:<48} {r['ours_s'] * 1e3:7.0f}ms "
            f"{base_txt} {ratio}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "dropped": sorted(drop),
                "rows": rows,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
