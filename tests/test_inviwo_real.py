"""HPExplorer inside a real Inviwo: the workspaces, the processors, the numbers.

Runs only where a real Inviwo build is named by ``HPEXPLORER_INVIWO`` (the
build folder holding ``bin/Inviwo``, configured with this checkout as the
external module ``hpexplorer``: README, "Inviwo module"), with ``xvfb-run``
for a screen; everywhere else each test is skipped with the reason. The
stand-in tests (``test_processors.py``, ``test_workspace.py``) cover the same
code in CI.

What runs, each in a fresh headless Inviwo: the Qt editor (``bin/Inviwo``),
as users start it, or where the build has only the GLFW runner
(``bin/inviwo_glfwminimum``), that, on copies of the workspaces without the
Qt-only DataFrame Table:

- every workspace opens with no error and no warning in Inviwo's log, and
  every canvas is snapshot at its saved size, not blank;
- a script inside Inviwo (``tests/inviwo_real/drive.py``) sets range, option
  filter, normalization, primary and secondary and sends a mouse drag and a
  click, as a user would; what the processors produced equals hpcore's
  tables for the same state, computed here;
- ``test_processors.py`` and ``test_workspace.py`` themselves, run inside
  Inviwo's interpreter against the real ``inviwopy``
  (``tests/inviwo_real/run_pytest.py``; needs pytest in that Python): every
  test of the processors passes against the real API too, bar the checks of
  the stand-in itself.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from inviwo_stub import harness

import hpcore
from hpcore.analysis.settings import CI_LEVEL
from hpcore.analysis.stats import pair_statistics, trellis_with_ci
from hpcore.app.common import BUILTIN_ROWS, BUILTIN_SEED
from hpcore.data.loading import ensemble_from_frame
from hpcore.data.synthetic import nws_like

REPO = Path(__file__).resolve().parents[1]
WORKSPACES = sorted((REPO / "workspaces").glob("*.inv"))
HERE = Path(__file__).resolve().parent / "inviwo_real"
BUILD = os.environ.get("HPEXPLORER_INVIWO", "")
SCREEN = "-screen 0 1920x1080x24"
#: Processors of Inviwo's Qt modules, which the GLFW runner does not have.
QT_ONLY = {"org.inviwo.DataFrameTable"}


def _app() -> Path | None:
    """The Qt editor (``bin/Inviwo``), else the GLFW runner of the build."""
    for name in ("Inviwo", "inviwo_glfwminimum"):
        path = Path(BUILD) / "bin" / name
        if BUILD and path.is_file():
            return path
    return None


APP = _app()
QT = APP is not None and APP.name == "Inviwo"

pytestmark = [
    pytest.mark.skipif(
        not BUILD,
        reason="no real Inviwo: set HPEXPLORER_INVIWO to an Inviwo build folder "
        "(with bin/Inviwo) that has this checkout as its hpexplorer module",
    ),
    pytest.mark.skipif(
        bool(BUILD) and APP is None,
        reason=f"HPEXPLORER_INVIWO={BUILD!r} holds no bin/Inviwo or "
        "bin/inviwo_glfwminimum",
    ),
    pytest.mark.skipif(
        shutil.which("xvfb-run") is None,
        reason="xvfb-run (Debian's xvfb) is needed for Inviwo's OpenGL canvases",
    ),
]


def inviwo(
    tmp: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 900
) -> list[tuple[str, str]]:
    """Run the Inviwo editor headless with ``args``; its log as (level, text)."""
    assert APP is not None
    log = tmp / "inviwo-log.html"
    cmd = ["xvfb-run", "-a", "-s", SCREEN, str(APP), "-n", "-l", str(log), *args]
    proc = subprocess.run(
        [*cmd, "-q"],
        cwd=tmp,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert log.is_file(), (
        f"Inviwo wrote no log (exit {proc.returncode}):\n{proc.stderr}"
    )
    entries = [
        (level, html.unescape(re.sub(r"<[^>]+>", "\n", text)).strip())
        for level, text in re.findall(
            r"<div class='(info|warn|error) nowrap'>(.*?)</div>",
            log.read_text(encoding="utf-8", errors="replace"),
            flags=re.S,
        )
    ]
    assert proc.returncode == 0, f"Inviwo exited {proc.returncode}:\n{proc.stderr}"
    return entries


#: What the GLFW runner itself warns about on Linux, whatever it opens: it
#: has no file watching, so the Python module cannot watch processor folders
#: (``modules/glfw/src/filewatcher.cpp``); the Qt editor does not say it.
GLFW_RUNNER_WARNING = "FileObserver are currently not supported using GLFW"


def problems(log: list[tuple[str, str]]) -> list[str]:
    return [
        f"{level}: {text}"
        for level, text in log
        if level != "info" and (QT or GLFW_RUNNER_WARNING not in text)
    ]


def canvases(workspace: Path) -> dict[str, tuple[int, int]]:
    """Canvas identifier -> saved size."""
    root = ET.parse(workspace).getroot()
    out = {}
    for proc in root.iterfind(
        "ProcessorNetwork/Processors/Processor[@type='org.inviwo.CanvasGL']"
    ):
        dims = proc.find(
            "MetaDataMap/MetaDataItem[@key='org.inviwo.ProcessorWidgetMetaData']"
            "/dimensions"
        )
        assert dims is not None
        out[proc.get("identifier", "")] = (int(dims.get("x", 0)), int(dims.get("y", 0)))
    return out


def for_this_app(workspace: Path, tmp: Path) -> Path:
    """``workspace``, or for the GLFW runner a copy without Qt-only processors
    (and their connections): that runner cannot create them."""
    if QT:
        return workspace
    qt_only = {
        proc.get("identifier", "")
        for proc in ET.parse(workspace).getroot().iter("Processor")
        if proc.get("type") in QT_ONLY
    }
    return harness.workspace_builder().without(workspace, qt_only, tmp)  # type: ignore[no-any-return]


def empty_workspace(tmp: Path) -> Path:
    """A workspace with an empty network (the GLFW runner opens one always)."""
    path = tmp / "empty.inv"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8" ?>\n<InviwoWorkspace version="3">'
        '<ProcessorNetwork><ProcessorNetworkVersion content="20" />'
        "<Processors /><Connections /><PropertyLinks /></ProcessorNetwork>"
        "</InviwoWorkspace>\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("workspace", WORKSPACES, ids=lambda p: p.name)
def test_workspace_opens_clean_and_every_canvas_shows_its_view(
    workspace: Path, tmp_path: Path
) -> None:
    from PIL import Image

    opened = for_this_app(workspace, tmp_path)
    log = inviwo(tmp_path, "-w", str(opened), "-s", "UPN", "-o", str(tmp_path))
    assert problems(log) == []
    for identifier, size in canvases(opened).items():
        path = tmp_path / f"{identifier}.png"
        assert path.is_file(), f"no snapshot of {identifier}"
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=float)
        assert pixels.shape[1::-1] == size, identifier
        assert pixels.std() > 5, f"{identifier} is blank"


# ------------------------------------------------------ scripted, as a user

STATES: list[dict[str, Any]] = [
    {},  # as saved: 0.9..1, CIFAR-10 and STL-10, optimizer x batch size
    {"range": [0.5, 0.8]},
    {"where": "dataset = cifar10 | stl10\noptimizer = ADAM"},
    {"method": "rank"},
    {"primary": "dataset", "secondary": "optimizer"},
    {"where": "", "range": [0.9, 1.0], "method": "minmax"},
    # a drag on the normalized histogram (its lower panel) sets a range ...
    {"drag": [0.3, 0.6]},
    # ... and a click on a matrix cell filters to that option pair
    {"click_cell": ["optimizer", "ADAM", "activation", "ReLU"]},
    # hovering a cell or a trellis marker shows its numbers; a click on a
    # trellis column title makes that parameter the primary
    {"hover_cell": ["optimizer", "ADAM", "activation", "ReLU"]},
    {"click_title": "lrate"},
    {"hover_point": ["activation", "[0.000201, 0.00116)", "ADAM", "ReLU"]},
]


def _frame(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(data["data"], columns=data["columns"])


def _drive(tmp: Path, workspace: Path, states: list[dict[str, Any]]) -> list[Any]:
    states_file, out = tmp / "states.json", tmp / "driven.json"
    states_file.write_text(json.dumps(states), encoding="utf-8")
    log = inviwo(
        tmp,
        "-w",
        str(for_this_app(workspace, tmp)),
        "-p",
        str(HERE / "drive.py"),
        env={
            "HPEXPLORER_DRIVE_IN": str(states_file),
            "HPEXPLORER_DRIVE_OUT": str(out),
        },
    )
    assert out.is_file(), f"the script wrote nothing; log: {problems(log)}"
    driven = json.loads(out.read_text(encoding="utf-8"))
    assert driven["error"] is None, driven["error"]
    assert problems(log) == []
    return list(driven["states"])


def test_scripted_states_equal_hpcores_tables(tmp_path: Path) -> None:
    driven = _drive(
        tmp_path, REPO / "workspaces" / "hyperparameter-analysis.inv", STATES
    )
    assert len(driven) == len(STATES)
    ens = ensemble_from_frame(nws_like(BUILTIN_ROWS, seed=BUILTIN_SEED))
    dragged = driven[6]["range"]
    assert dragged == pytest.approx([0.3, 0.6], abs=0.01)  # the drag set it
    assert driven[7]["where"] == {"optimizer": ["ADAM"], "activation": ["ReLU"]}
    assert driven[8]["tooltip"].startswith("optimizer = ADAM, activation = ReLU\n")
    assert f"selected networks: {len(driven[8]['selected']):,}" in driven[8]["tooltip"]
    assert driven[9]["primary"] == "lrate"  # the title click chose it
    assert driven[10]["tooltip"].startswith(
        "activation = ReLU, lrate = [0.000201, 0.00116), optimizer = ADAM\nmean "
    )
    for got in driven:
        norm = hpcore.normalize(ens, method=got["method"])
        sel = hpcore.select(norm, range=tuple(got["range"]), where=got["where"])
        assert got["selected"] == np.flatnonzero(sel.mask).tolist(), got["state"]
        want_counts = pair_statistics(norm, sel)
        counts = _frame(got["counts"])
        pd.testing.assert_frame_equal(
            counts[list(want_counts.columns)],
            want_counts.reset_index(drop=True),
            check_dtype=False,
            check_categorical=False,
        )
        want_trellis = trellis_with_ci(
            norm,
            sel,
            primary=got["primary"],
            secondary=got["secondary"],
            level=CI_LEVEL,
        )
        trellis = _frame(got["trellis"])
        np.testing.assert_allclose(
            trellis["mean"].to_numpy(float), want_trellis["mean"].to_numpy(float)
        )
        np.testing.assert_array_equal(
            trellis["count"].to_numpy(int), want_trellis["count"].to_numpy(int)
        )
        for identifier, size in got["canvases"].items():
            assert size is not None, f"{identifier} got no image in {got['state']}"


def test_processor_tests_pass_inside_inviwo(tmp_path: Path) -> None:
    check = subprocess.run(
        ["/usr/bin/python3", "-c", "import pytest"], capture_output=True, check=False
    )
    if check.returncode:
        pytest.skip("pytest is not installed for the Python Inviwo embeds")
    out = tmp_path / "pytest"
    inviwo(
        tmp_path,
        *([] if QT else ["-w", str(empty_workspace(tmp_path))]),
        "-p",
        str(HERE / "run_pytest.py"),
        env={
            "HPEXPLORER_PYTEST_OUT": str(out),
            "HPEXPLORER_TESTS": str(REPO / "tests"),
        },
        timeout=1800,
    )
    report = out.with_suffix(".txt").read_text(encoding="utf-8")
    assert out.with_suffix(".code").read_text(encoding="utf-8") == "0", report
