"""Benchmark: the fixed cost of ``hpexplorer report`` on the built-in ensemble.

Issue 14, target 4 (drawing part): the report on the built-in 13,000-row
ensemble should take at most 2 s of CPU end to end. This script measures, in
one run and interleaved, two code trees:

- **ours**: this checkout;
- **baseline**: the same package at ``--baseline`` (default ``75f83e7``, the
  commit before the views laid their figures out themselves: constrained
  layout, a "tight" bounding box at save, one axes per trellis panel),
  exported with ``git archive`` into a temporary folder.

Both run the same arguments (``report --range 0.9 1 --color enrichment``, the
new defaults spelled out so the old code draws the same selection), each in a
fresh interpreter:

- **command**: the whole command, CPU seconds (user + sys) of the child
  process and its peak resident memory;
- **stages** (a worker process per run): imports (``hpcore``,
  ``hpcore.app.report``, matplotlib), load (the built-in ensemble,
  normalized), tables (``build_report``), the draw of each figure and the save
  of each figure (PNG, 150 dpi).

Every number is the median over ``--repeat`` runs. With ``--memory-rows N``
the drawing's memory is also measured at 13,000 and N rows (tracemalloc peak
while drawing and saving the three figures): drawing works on the tables
only, so it must not grow with the rows.

First (and alone with ``--fixed-cost``) the **fixed costs** of target 4,
each a fresh interpreter, CPU seconds (user + sys of the child), interleaved
with their baselines: ``import hpcore`` against ``python -c pass``, the whole
``hpexplorer report`` against a bare ``import pandas, matplotlib``, an
argument error against ``python -c pass``.

Every tree measured is byte-compiled first (:func:`byte_compile`), as an
installed package is; the children themselves never write bytecode.

Run from the repository root::

    python benchmarks/report.py --fixed-cost    # the fixed costs only
    python benchmarks/report.py                 # 5 runs each
    python benchmarks/report.py --repeat 9 --memory-rows 1000000

Prints a table (rows, what, ours, baseline, ratio) and writes JSON (``--out``,
default ``benchmarks/results/report.json``). Never used by the tests; timings
depend on the machine and its load, which the JSON records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "report.json"
DEFAULT_BASELINE = "75f83e7"
ARGS = ["report", "--range", "0.9", "1", "--color", "enrichment"]
FIGURES = ("histogram", "pairs", "trellis")
ROWS = 13_000


def _cpu(usage: Any) -> float:
    return float(usage.ru_utime + usage.ru_stime)


def byte_compile(tree: Path) -> None:
    """Write the bytecode of ``tree``'s ``hpcore`` (as ``pip install`` does).

    The measured children run with ``PYTHONDONTWRITEBYTECODE=1`` (they never
    write into a tree); without this step each of them would compile
    hpcore's modules from source (about 0.1 s), which no installed package
    does after its first import, while pandas and matplotlib were
    byte-compiled when pip installed them.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(tree / "hpcore")],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def run_command(tree: Path, out: Path) -> dict[str, float]:
    """The whole command in a fresh interpreter: CPU seconds and peak RSS (MB)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from hpcore.app.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tree), *ARGS, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"the report failed in {tree} (status {status})")
    return {"cpu": _cpu(usage), "peak_mb": usage.ru_maxrss / 1024.0}


def run_worker(tree: Path) -> dict[str, float]:
    """The stages, timed inside a fresh interpreter (see :func:`worker`)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def worker(tree: Path) -> None:
    """Time each stage with ``time.process_time`` and print them as JSON."""
    sys.path.insert(0, str(tree))
    times: dict[str, float] = {}
    start = time.process_time()
    import matplotlib

    matplotlib.use("Agg")
    import hpcore
    from hpcore.app import report as rep

    times["imports"] = time.process_time() - start
    start = time.process_time()
    ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(ROWS, seed=0)))
    times["load"] = time.process_time() - start
    start = time.process_time()
    report = rep.build_report(ens, range=(0.9, 1.0), color="enrichment")
    times["tables"] = time.process_time() - start

    from hpcore import views

    for name in ("draw_histogram", "draw_pair_matrix", "draw_trellis"):
        original = getattr(views, name)

        def timed(*args: Any, _f: Any = original, _n: str = name, **kw: Any) -> Any:
            begin = time.process_time()
            out = _f(*args, **kw)
            stem = _n.removeprefix("draw_").replace("pair_matrix", "pairs")
            times[f"draw {stem}"] = time.process_time() - begin
            return out

        setattr(views, name, timed)
    start = time.process_time()
    figures = rep.draw_report(report)
    times["draw (all)"] = time.process_time() - start
    with tempfile.TemporaryDirectory() as tmp:
        for stem in FIGURES:
            begin = time.process_time()
            rep._save_figure(figures[stem], Path(tmp) / f"{stem}.png", "png")
            times[f"save {stem}"] = time.process_time() - begin
            size = (Path(tmp) / f"{stem}.png").stat().st_size
            times[f"png kB {stem}"] = size / 1024.0
            width, height = figures[stem].get_size_inches() * rep.PNG_DPI
            times[f"megapixels {stem}"] = float(width * height) / 1e6
    print(json.dumps(times))


def memory(tree: Path, rows: int) -> float:
    """Peak traced memory (MB) of drawing and saving a report of ``rows`` rows."""
    code = f"""
import sys, io, tracemalloc
sys.path.insert(0, {str(tree)!r})
import matplotlib; matplotlib.use("Agg")
import hpcore
from hpcore.app import report as rep
ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like({rows}, seed=0)))
r = rep.build_report(ens, range=(0.9, 1.0), color="enrichment")
rep.draw_report(r)  # warm caches (fonts, glyphs)
tracemalloc.start()
for stem, fig in rep.draw_report(r).items():
    rep._save_figure(fig, io.BytesIO(), "png")
print(tracemalloc.get_traced_memory()[1] / 2**20)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


#: The fixed costs of issue 14, target 4: (label, command after the
#: interpreter, baseline label, target CPU seconds). Each runs in a fresh
#: interpreter; ``report`` and the argument error through ``hpcore.app.cli``.
_CLI = "import sys; from hpcore.app.cli import main; sys.exit(main(sys.argv[1:]))"
FIXED: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "import pandas, matplotlib": ["-c", "import pandas, matplotlib"],
    "import hpcore": ["-c", "import hpcore"],
    "hpexplorer report (13k)": ["-c", _CLI, "report", "--out"],
    "argument error (--range 2 3)": ["-c", _CLI, "report", "--range", "2", "3"],
}
#: ours -> (baseline measured in the same run, target CPU seconds)
FIXED_AGAINST = {
    "import hpcore": ("python -c pass", 0.5),
    "hpexplorer report (13k)": ("import pandas, matplotlib", 2.0),
    "argument error (--range 2 3)": ("python -c pass", 0.5),
}


def run_fixed(argv: list[str], out: Path) -> dict[str, float]:
    """CPU seconds (user + sys, wait4) and wall seconds of one fresh interpreter."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    extra = [str(out)] if argv[-1] == "--out" else []
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *argv, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    return {"cpu": _cpu(usage), "wall": time.perf_counter() - start}


def fixed_costs(repeat: int) -> dict[str, Any]:
    """Target 4's fixed costs against baselines run interleaved with them."""
    samples: dict[str, dict[str, list[float]]] = {k: {} for k in FIXED}
    byte_compile(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for label, argv in FIXED.items():
                found = run_fixed(argv, Path(tmp) / f"report-{i}")
                for key, value in found.items():
                    samples[label].setdefault(key, []).append(value)
    medians = {
        label: {k: statistics.median(v) for k, v in found.items()}
        for label, found in samples.items()
    }
    print(
        f"{'rows':>7}  {'what':<30}{'ours':>8}{'baseline':>10}{'ratio':>8}"
        f"{'target':>8}  (CPU s, median of {repeat}; baseline in brackets below)"
    )
    rows = []
    for label, (base, target) in FIXED_AGAINST.items():
        ours, ref = medians[label]["cpu"], medians[base]["cpu"]
        rows.append(
            {
                "rows": ROWS,
                "what": label,
                "ours_cpu_s": ours,
                "ours_wall_s": medians[label]["wall"],
                "baseline": base,
                "baseline_cpu_s": ref,
                "ratio": ours / ref,
                "target_cpu_s": target,
            }
        )
        print(
            f"{ROWS:>7}  {label:<30}{ours:>8.3f}{ref:>10.3f}{ours / ref:>8.2f}"
            f"{target:>8.1f}  ({base}; wall {medians[label]['wall']:.2f} s)"
        )
    return {"repeat": repeat, "rows": rows, "medians": medians, "samples": samples}


def export(ref: str, into: Path) -> Path:
    """The package at ``ref`` (git archive of ``hpcore``) in ``into``."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "hpcore"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--memory-rows", type=int, default=0)
    parser.add_argument(
        "--fixed-cost",
        action="store_true",
        help="only the fixed costs (import, report, argument error) against "
        "python -c pass and bare imports; writes --out",
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.worker)
        return 0
    fixed = fixed_costs(args.repeat)
    if args.fixed_cost:
        record = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
            },
            "fixed_cost": fixed,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"ours": ROOT, "baseline": export(args.baseline, Path(tmp) / "base")}
        for tree in trees.values():
            byte_compile(tree)
        samples: dict[str, dict[str, list[float]]] = {k: {} for k in trees}
        for i in range(args.repeat):
            for name, tree in trees.items():  # interleaved: same load for both
                found = run_command(tree, Path(tmp) / f"out-{name}-{i}")
                found |= run_worker(tree)
                for key, value in found.items():
                    samples[name].setdefault(key, []).append(value)
        mem: dict[str, dict[str, float]] = {}
        if args.memory_rows:
            for name, tree in trees.items():
                mem[name] = {str(n): memory(tree, n) for n in (ROWS, args.memory_rows)}
    medians = {
        name: {k: statistics.median(v) for k, v in found.items()}
        for name, found in samples.items()
    }
    keys = ["cpu", "peak_mb", "imports", "load", "tables"]
    keys += [f"draw {f}" for f in FIGURES] + [f"save {f}" for f in FIGURES]
    keys += [f"megapixels {f}" for f in FIGURES] + [f"png kB {f}" for f in FIGURES]
    labels = {"cpu": "whole command, CPU s", "peak_mb": "whole command, peak MB"}
    rows = []
    print(f"{'rows':>7}  {'what':<28}{'ours':>10}{'baseline':>10}{'ratio':>8}")
    for key in keys:
        ours = medians["ours"].get(key, float("nan"))
        base = medians["baseline"].get(key, float("nan"))
        ratio = ours / base if base else float("nan")
        what = labels.get(
            key, key + ("" if " kB" in key or "mega" in key else ", CPU s")
        )
        rows.append(
            {"rows": ROWS, "what": what, "ours": ours, "baseline": base, "ratio": ratio}
        )
        print(f"{ROWS:>7}  {what:<28}{ours:>10.3f}{base:>10.3f}{ratio:>8.2f}")
    drawing = {
        name: sum(m[f"draw {f}"] + m[f"save {f}"] for f in FIGURES)
        for name, m in medians.items()
    }
    print(
        f"{ROWS:>7}  {'draw + save, CPU s':<28}{drawing['ours']:>10.3f}"
        f"{drawing['baseline']:>10.3f}{drawing['ours'] / drawing['baseline']:>8.2f}"
    )
    for name, found in mem.items():
        for n, mb in found.items():
            print(f"{int(n):>7}  {'drawing peak MB (' + name + ')':<28}{mb:>10.1f}")
    record = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "arguments": ARGS,
        "baseline": args.baseline,
        "repeat": args.repeat,
        "rows": rows,
        "draw_and_save": drawing,
        "medians": medians,
        "samples": samples,
        "drawing_memory_mb": mem,
        "fixed_cost": fixed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
