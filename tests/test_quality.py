"""Static checks of hpcore: ruff and mypy --strict must be clean (as configured)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", tool, *args], cwd=REPO, capture_output=True, text=True
    )


def test_ruff_clean() -> None:
    result = _run(
        "ruff", "check", "hpcore", "tests", "processors", "benchmarks", "workspaces"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean() -> None:
    result = _run("mypy")  # strict, files = hpcore (pyproject.toml)
    assert result.returncode == 0, result.stdout + result.stderr
