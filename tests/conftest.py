"""Shared fixtures: a hand-made ensemble with known answers, the real data folders."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
METAQNN = SHARED / "data" / "metaqnn" / "metaqnn_cifar10_svhn.csv"


def run_main(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``cli.main(argv)`` -> (exit status, stdout, stderr); argparse exits included."""
    from hpcore.app import cli

    try:
        status = cli.main(argv)
    except SystemExit as stop:
        status = int(stop.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def imports_scipy_stats(code: str) -> bool:
    """Whether running ``code`` in a fresh interpreter imports ``scipy.stats``
    (about a second to import; brushes and the report do without it)."""
    import subprocess
    import sys

    probe = f"{code}\nimport sys\nprint('scipy.stats' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return out.stdout.strip() == "True"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def ensemble_df() -> pd.DataFrame:
    """Eight networks, two data sets, two parameters; answers worked out by hand.

    dataset a: acc 10, 20, 30, 50 -> minmax 0, .25, .5, 1
    dataset b: acc 60, 70, 80, 90 -> minmax 0, 1/3, 2/3, 1
    """
    return pd.DataFrame(
        {
            "dataset": ["a", "a", "a", "a", "b", "b", "b", "b"],
            "opt": ["adam", "sgd", "adam", "sgd", "sgd", "adam", "sgd", "adam"],
            "batch": [32, 64, 64, 32, 32, 32, 64, 64],
            "test_accuracy": [10.0, 20.0, 30.0, 50.0, 60.0, 70.0, 80.0, 90.0],
        }
    )


@pytest.fixture
def metaqnn_path() -> Path:
    if not METAQNN.exists():
        pytest.skip(f"real MetaQNN data not found at {METAQNN} (../shared is absent)")
    return METAQNN


@pytest.fixture(autouse=True)
def close_figs():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
