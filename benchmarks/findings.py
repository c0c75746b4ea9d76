"""Benchmark: ``hpcore.discover`` (``hpexplorer findings``) at scale.

For synthetic NWS-like ensembles (:func:`hpcore.synthetic.nws_like`, all
twelve parameters, min-max normalized per data set) of each size, measure in
one run:

- **ours**: ``discover(ens)`` with the defaults (``method="auto"``: F-test
  p-values where every cell holds >= 30 rows, sequential permutations
  elsewhere, at most 999);
- **baseline**: ``discover(ens, method="permutation", permutations=B)``:
  every effect tested by permutation (Freedman-Lane for interactions), as
  before this work but with sequential stopping. ``B`` is 999 up to
  ``--full-baseline-rows`` rows and ``--baseline-permutations`` (default 99)
  above, where 999 would take hours; the table says which. At ten million
  rows the permutation path would hold one residual vector per interaction
  (121 x 80 MB): run it with ``--no-baseline``.
- **scan**: one pass per tested effect over the rows (its cell codes and one
  ``bincount`` of the metric), the least any exact method needs; always run.

Also printed: how many effects each test got, the agreement of the two
(effects significant in one and not the other; the largest |p_auto -
p_perm| where p_perm < 0.2) and the peak memory of the process
(``ru_maxrss``). Issue 14 target 3 asks for <= 60 s at one million rows
and <= 5 min at ten million. Run from
the repository root::

    python benchmarks/findings.py --sizes 13000,100000,1000000
    python benchmarks/findings.py --sizes 10000000 --out /tmp/f10m.json

Prints a table and writes JSON (``--out``, default
``benchmarks/results/findings.json``). Never used by the tests.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import write_results

import hpcore
from hpcore.analysis.findings import discover

DEFAULT_SIZES = (13_000, 100_000, 1_000_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "findings.json"


def bench(n_rows: int, args: argparse.Namespace) -> dict[str, Any]:
    ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(n_rows, seed=0)))
    start = time.perf_counter()
    ours = discover(ens)
    t_ours = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    b = 999 if n_rows <= args.full_baseline_rows else args.baseline_permutations
    t_base = float("nan")
    agreement = float("nan")
    decisions = -1
    if not args.no_baseline:
        start = time.perf_counter()
        base = discover(ens, method="permutation", permutations=b)
        t_base = time.perf_counter() - start
        p_ours = ours.table.set_index("parameters")["p_value"]
        p_base = base.table.set_index("parameters")["p_value"].reindex(p_ours.index)
        # where decisions are made (p_perm < 0.2): Besag-Clifford p-values
        # of clearly null effects (20 / L) are coarse by design
        near = (p_base < 0.2).to_numpy() & np.isfinite(p_ours.to_numpy())
        if near.any():
            agreement = float(np.max(np.abs(p_ours - p_base).to_numpy()[near]))
        q_ours = ours.table.set_index("parameters")["q_value"]
        q_base = base.table.set_index("parameters")["q_value"].reindex(q_ours.index)
        alpha = ours.alpha
        decisions = int(((q_ours < alpha) != (q_base < alpha)).sum())
    t_scan = scan(ens, [e.parameters for e in ours.effects])
    tests = ours.table["test"].value_counts().to_dict()
    return {
        "rows": n_rows,
        "parameters": len(ens.parameters),
        "effects": len(ours.effects),
        "tests": {str(k): int(v) for k, v in tests.items()},
        "significant": len(ours.significant()),
        "ours_seconds": t_ours,
        "baseline_seconds": t_base,
        "scan_seconds": t_scan,
        "baseline_permutations": b,
        "max_p_difference_below_0_2": agreement,
        "decisions_differing": decisions,
        "peak_rss_bytes": peak,
    }


def scan(ens: hpcore.Ensemble, effects: Sequence[tuple[str, ...]]) -> float:
    """Seconds of one pass per effect: its cell codes and a weighted bincount."""
    y = ens.table["normalized"].to_numpy()
    codes = {p: ens.codes(p).to_numpy() for p in ens.parameters}
    levels = {p: len(ens.options(p)) for p in ens.parameters}
    start = time.perf_counter()
    for params in effects:
        cell = codes[params[0]].astype(np.int64)
        for p in params[1:]:
            cell = cell * levels[p] + codes[p]
        np.bincount(cell, weights=y)
    return time.perf_counter() - start


def print_table(results: Sequence[dict[str, Any]]) -> None:
    print(f"{'rows':>12}  {'what':<44} {'ours':>8} {'baseline':>9} {'ratio':>6}")
    for r in results:
        what = f"findings, s (baseline: permutation, B={r['baseline_permutations']})"
        for label, base in (
            (what, "baseline_seconds"),
            ("findings vs scan, s", "scan_seconds"),
        ):
            print(
                f"{r['rows']:>12,}  {label:<44} {r['ours_seconds']:8.1f} "
                f"{r[base]:9.1f} {r['ours_seconds'] / r[base]:6.3f}"
            )
        print(
            f"{'':>12}  ({r['effects']} effects, tests {r['tests']}, "
            f"{r['significant']} significant, {r['decisions_differing']} "
            "decisions differ from the baseline's; max |p - p_perm| where p_perm "
            f"< 0.2: {r['max_p_difference_below_0_2']:.3f}; peak RSS "
            f"{r['peak_rss_bytes'] / 2**20:.0f} MB)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--full-baseline-rows", type=int, default=100_000)
    parser.add_argument("--baseline-permutations", type=int, default=99)
    parser.add_argument(
        "--no-baseline", action="store_true", help="time ours only (10M rows)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = [bench(n, args) for n in sizes]
    print_table(results)
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
