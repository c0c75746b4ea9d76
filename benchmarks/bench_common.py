"""What the benchmark scripts share: the machine a run was measured on, and
writing a run's results as JSON.

Imported by the scripts of this folder, run as ``python benchmarks/X.py``
(their folder is then on ``sys.path``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """When and where a run was measured (the load average says how busy)."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def write_results(path: Path, results: Sequence[dict[str, Any]]) -> None:
    """Write ``{"machine": ..., "results": ...}`` to ``path`` and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    print(f"wrote {path}")
