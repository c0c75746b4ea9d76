"""Issue 10: the command line never loses a user's files and speaks its own words.

Each test runs the real command (``hpcore.app.cli.main`` in process, or the
console script in a subprocess where signals or imports are the point).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_main as _run_main

from hpcore.app.output import MANIFEST, OutputFolder
from hpcore.app.report import report_files
from hpcore.data.errors import OutputError

REPORT = list(report_files("png"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small table: two data sets, a float parameter, a bool and a constant."""
    rng = __import__("numpy").random.default_rng(3)
    n = 240
    frame = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], n),
            "lr": rng.choice([0.001, 0.0034, 0.01], n),
            "aug": rng.choice([True, False], n),
            "opt": rng.choice(["x", "y"], n),
            "c": 0.0034,
            "flag": False,
            "acc": rng.random(n),
        }
    )
    path = tmp_path_factory.mktemp("data") / "runs.csv"
    frame.to_csv(path, index=False)
    return path


Run = Callable[[list[str]], tuple[int, str, str]]


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str]) -> Run:
    """``hpexplorer ARGV`` in process -> (status, stdout, stderr)."""
    return lambda argv: _run_main(argv, capsys)


def report(run: Run, data: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(["report", str(data), "--out", str(out), *extra])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------ 3, 4: nobody else's files


def test_an_input_inside_out_is_refused(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    assert report(run_main, data, out)[0] == 0
    before = snapshot(out)
    status, _, err = report(run_main, out / "pairs.csv", out)
    assert status == 2
    assert "inputs are never modified" in err and "pairs.csv" in err
    assert snapshot(out) == before
    status, _, err = run_main(
        ["findings", str(out / "pairs.csv"), "--out", str(out), "--permutations", "19"]
    )
    assert status == 2 or "pairs.csv" not in snapshot(out)  # never replaced
    assert snapshot(out)["pairs.csv"] == before["pairs.csv"]


def test_an_out_folder_inside_an_input_folder_is_refused(tmp_path: Path) -> None:
    folder = OutputFolder(tmp_path / "nws" / "rep", REPORT, "report", [tmp_path])
    with pytest.raises(OutputError, match="inside the input folder"):
        folder.check()


@pytest.mark.parametrize("theirs", ["pairs.csv", "histogram.png", "summary.json"])
def test_a_users_file_in_the_way_is_refused_and_kept(
    run_main: Run, data: Path, tmp_path: Path, theirs: str
) -> None:
    out = tmp_path / "rep"
    out.mkdir()
    (out / theirs).write_text("{}" if theirs.endswith(".json") else "mine")
    (out / "trellis.svg").write_text("my svg")
    (out / "compare.csv").write_text("my comparison")
    before = snapshot(out)
    status, _, err = report(run_main, data, out)
    assert status == 2
    assert f"did not write and would replace: {theirs}" in err
    assert "loading" not in err and "not a parameter" not in err  # before any work
    assert snapshot(out) == before


def test_only_what_an_earlier_run_wrote_is_replaced(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    assert (
        report(run_main, data, out, "--format", "svg", "--compare", "0", "0.5")[0] == 0
    )
    (out / "notes.txt").write_text("mine")
    (out / "extra").mkdir()
    (out / "extra" / "pairs.png").write_text("mine too")
    assert report(run_main, data, out)[0] == 0  # png, no comparison
    names = sorted(snapshot(out))
    # the earlier run's svg figures and comparison are gone, the user's files stay
    assert names == sorted([*REPORT, MANIFEST, "notes.txt", "extra/pairs.png"])
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(REPORT)
    # a file of the tool that the user edited is theirs now
    (out / "pairs.csv").write_text("edited")
    status, _, err = report(run_main, data, out)
    assert status == 2 and "would replace: pairs.csv" in err
    assert (out / "pairs.csv").read_text() == "edited"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_folder_of_an_older_version_without_manifest_is_not_ours(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    assert report(run_main, data, out)[0] == 0
    (out / MANIFEST).unlink()
    status, _, err = report(run_main, data, out)
    assert status == 2 and "did not write" in err


def test_findings_keep_foreign_files_too(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "f"
    out.mkdir()
    (out / "findings.md").write_text("my notes")
    status, _, err = run_main(
        ["findings", str(data), "--out", str(out), "--permutations", "19"]
    )
    assert status == 2 and "would replace: findings.md" in err
    assert (out / "findings.md").read_text() == "my notes"


def snapshot_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


def test_report_and_findings_share_a_folder(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    """Each command replaces and removes only its own files: a findings run
    into a report's folder (and back) loses neither command's results."""
    out = tmp_path / "both"
    findings = ["findings", str(data), "--out", str(out), "--permutations", "19"]
    assert report(run_main, data, out)[0] == 0
    drawn = snapshot_bytes(out)
    assert run_main(findings)[0] == 0
    found = {k: v for k, v in snapshot_bytes(out).items() if k not in drawn}
    assert found and snapshot_bytes(out) == {**drawn, **found}
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["commands"] == {
        **dict.fromkeys(drawn, "report"),
        **dict.fromkeys(found, "findings"),
    }
    # a report as SVG removes the report's PNGs, not the findings
    assert report(run_main, data, out, "--format", "svg")[0] == 0
    names = set(snapshot_bytes(out))
    assert set(found) <= names and set(report_files("svg")) <= names
    assert not {n for n in names if n.endswith(".png") and n in drawn}
    # both commands' files are still theirs to replace
    assert run_main(findings)[0] == 0
    assert report(run_main, data, out)[0] == 0
    assert set(snapshot_bytes(out)) == set(drawn) | set(found)


def test_a_version_1_manifest_belongs_to_its_command(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    """A folder written before the manifest named each file's command: its
    files are the command's that wrote the manifest."""
    out = tmp_path / "old"
    assert report(run_main, data, out)[0] == 0
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["commands"]
    manifest["version"] = 1
    (out / MANIFEST).write_text(json.dumps(manifest))
    drawn = snapshot_bytes(out)
    findings = ["findings", str(data), "--out", str(out), "--permutations", "19"]
    assert run_main(findings)[0] == 0
    assert {k: v for k, v in snapshot_bytes(out).items() if k in drawn} == drawn
    assert report(run_main, data, out)[0] == 0  # still the report's own files


def test_a_manifest_never_reaches_outside_its_folder(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    """A received or edited manifest listing a file outside the folder (a
    '..' path, an absolute path, a path through a link out of the folder)
    with that file's very digest: the run leaves the file alone."""
    import hashlib

    out = tmp_path / "shared"
    assert report(run_main, data, out)[0] == 0
    victims = {}
    for name in ("notes.txt", "abs.txt", "linked/deep.txt"):
        victim = tmp_path / "elsewhere" / name
        victim.parent.mkdir(parents=True, exist_ok=True)
        victim.write_text(f"my precious {name}")
        victims[victim] = victim.read_bytes()
    (out / "link").symlink_to(tmp_path / "elsewhere" / "linked")
    manifest = json.loads((out / MANIFEST).read_text())
    for entry in (
        "../elsewhere/notes.txt",
        str(tmp_path / "elsewhere" / "abs.txt"),
        "link/deep.txt",
    ):
        target = out / entry
        manifest["files"][entry] = [hashlib.sha256(target.read_bytes()).hexdigest()]
        manifest["commands"][entry] = "report"
    (out / MANIFEST).write_text(json.dumps(manifest))
    status, _, err = report(run_main, data, out)
    assert status == 0, err
    assert {v: v.read_bytes() for v in victims} == victims
    assert (out / "link").is_symlink()


# ----------------------------------------------------- 15: bad --out and DATA


@pytest.mark.parametrize(
    ("out", "match"),
    [
        ("", "--out: the folder name is empty"),
        ("   ", "--out: the folder name is empty"),
        ("/proc/hpexplorer-test", "is not writable"),
    ],
)
def test_bad_out_fails_before_any_work(run_main: Run, out: str, match: str) -> None:
    if out.startswith("/proc") and not Path("/proc").is_dir():  # pragma: no cover
        pytest.skip("no /proc on this system")
    started = time.perf_counter()
    status, _, err = run_main(["report", "--out", out])
    assert status == 2
    assert match in err
    assert "built-in" not in err  # refused before the data was made or loaded
    assert time.perf_counter() - started < 60  # no drawing happened (not a timing)


def test_a_symlink_loop_is_named_as_such(run_main: Run, tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    status, _, err = run_main(["report", str(tmp_path / "a.csv")])
    assert status == 2
    assert "symbolic link that loops back on itself" in err
    (tmp_path / "c.csv").symlink_to(tmp_path / "gone.csv")
    status, _, err = run_main(["report", str(tmp_path / "c.csv")])
    assert "is a symbolic link to" in err and "which does not exist" in err


def test_a_pipe_or_device_as_data_is_refused_not_waited_on(
    run_main: Run, tmp_path: Path
) -> None:
    """A named pipe blocked the report for ever (it is read more than once),
    and /dev/null was "not a W&B runs export"."""
    import hpcore

    fifo = tmp_path / "runs.csv"
    os.mkfifo(fifo)
    for path, kind in (
        (fifo, "a named pipe"),
        (Path(os.devnull), "a character device"),
    ):
        for command in ("report", "findings"):
            out = tmp_path / "out"
            status, stdout, err = run_main([command, str(path), "--out", str(out)])
            assert status == 2 and stdout == "" and not out.exists()
            assert f"data file {str(path)!r} is {kind}, not a file" in err, err
        with pytest.raises(hpcore.HpcoreError, match=kind):
            hpcore.load(path)


def test_options_that_differ_by_spaces_can_each_be_chosen(
    run_main: Run, tmp_path: Path
) -> None:
    """--where stripped its options, so of 'x', ' x' and 'x ' only 'x' could
    be chosen, without a word; spaces after the commas still do no harm."""
    path = tmp_path / "runs.csv"
    path.write_text(
        "dataset,opt,acc\n"
        + "".join(
            f"{'ab'[i % 2]},{('x', ' x', 'x ')[i % 3]},{i / 60}\n" for i in range(60)
        )
    )
    for where, count in (
        ("opt= x", 20),
        ("opt=x ", 20),
        ("opt=x", 20),
        ("opt= x,x ", 40),
    ):
        status, stdout, err = report(
            run_main, path, tmp_path / "out", "--range", "0", "1", "--where", where
        )
        assert status == 0, err
        assert stdout.startswith(f"{count} of 60 networks selected"), (where, stdout)


def test_an_unwritable_parent_of_an_existing_folder_fails_first(
    tmp_path: Path,
) -> None:
    """The report goes into a temporary sibling of --out first: a read-only
    parent is found by the check before any work, and named."""
    import shutil

    parent = tmp_path / "ro"
    (parent / "out").mkdir(parents=True)
    command = [sys.executable, "-m", "hpcore.app.cli", "report", "--out",
               str(parent / "out")]  # fmt: skip
    if os.geteuid() == 0:  # root writes anywhere: drop that for the run
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}",
                   *command]  # fmt: skip
    parent.chmod(0o555)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        parent.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert f"'{parent}' is not writable" in done.stderr
    assert "loading" not in done.stderr and "drawing" not in done.stderr


# ----------------------------------------------------------- 9: signals


WRITER = """
import sys, time
from hpcore.app import report
original = report._write_files
def slow(rep, folder, fmt):
    (folder / "histogram.png").write_bytes(b"partial")
    print("WRITING", flush=True)
    time.sleep(60)
report._write_files = slow
from hpcore.app.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_while_writing_leaves_nothing_behind(
    data: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "sub" / "rep"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, "report", str(data), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "WRITING"
    assert next(p.name for p in (tmp_path / "sub").iterdir()).startswith(".rep.tmp-")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else 128 + sig)
    assert not (tmp_path / "sub").exists()  # the parent it created is gone too
    assert err.strip().splitlines()[-1].startswith("hpexplorer report: ")
    assert "Traceback" not in err


def test_an_ignored_hangup_stays_ignored(data: Path, tmp_path: Path) -> None:
    """Under ``nohup`` (SIGHUP ignored) a closed terminal does not end the run."""
    out = tmp_path / "rep"
    slow = WRITER.replace(
        "time.sleep(60)", "time.sleep(1.5); original(rep, folder, fmt)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", slow, "report", str(data), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "WRITING"
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (out / "summary.json").is_file()


def test_ctrl_c_while_starting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while the commands are imported and the arguments parsed (the
    first fraction of a second): status 130 and one line, no traceback."""
    from hpcore.app import cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    try:
        status = cli.main(["report"])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C while starting escaped main as a traceback")
    assert status == 130
    assert capsys.readouterr().err == "hpexplorer: interrupted\n"


# --------------------------------------------- 12: one value per flag


def test_where_and_bins_before_data_do_not_swallow_the_path(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    status, _, err = run_main(
        [
            "report",
            "--where",
            "opt=x",
            "--bins",
            "lr=none",
            str(data),
            "--out",
            str(out),
        ]
    )
    assert status == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["where"] == {"opt": ["x"]}
    assert summary["source"] == str(data)
    status, _, _ = run_main(
        ["report", str(data), "--where", "opt=x", "--where", "dataset=a",
         "--out", str(tmp_path / "r2")]
    )  # fmt: skip
    assert status == 0
    summary = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert summary["where"] == {"opt": ["x"], "dataset": ["a"]}


# ------------------------------------------------ 13: the command line's words


@pytest.mark.parametrize(
    ("argv", "expected", "unwanted"),
    [
        (["--params", "lr,zz"], "--params: missing column(s) ['zz']", "parameters"),
        (["--metric", "zz"], "--metric: missing column(s)", "metric:"),
        (["--bins", "opt=1"], "--bins: the number of bins", "None"),
        (["--bins", "opt=1"], "or none to keep raw values", "`"),
        (["--where", "aug=maybe"], "--where: unknown option(s)", "where:"),
    ],
)
def test_errors_name_the_options_not_the_api(
    run_main: Run,
    data: Path,
    tmp_path: Path,
    argv: list[str],
    expected: str,
    unwanted: str,
) -> None:
    status, _, err = run_main(["report", str(data), "--out", str(tmp_path), *argv])
    assert status == 2
    line = err.strip().splitlines()[-1]
    assert expected in line
    assert unwanted not in line.replace(expected, "")


def test_findings_settings_errors_name_the_options(run_main: Run, data: Path) -> None:
    status, _, err = run_main(["findings", str(data), "--permutations", "3"])
    assert status == 2
    assert "--permutations must be between 19" in err and "`" not in err


def test_notes_show_values_not_numpy_reprs(
    run_main: Run, data: Path, tmp_path: Path
) -> None:
    status, _, err = report(run_main, data, tmp_path / "rep")
    assert status == 0
    assert "not a parameter: 'flag': constant (one value: False)" in err
    assert "not a parameter: 'c': constant (one value: 0.0034)" in err
    assert "np." not in err


def test_version_examples_and_help_text(run_main: Run) -> None:
    status, out, _ = run_main(["--version"])
    assert status == 0 and out.strip().startswith("hpexplorer ")
    for command in ([], ["report"], ["findings"]):
        status, out, _ = run_main([*command, "--help"])
        assert status == 0
        assert "examples:" in out and "hpexplorer" in out.split("examples:")[1]
        assert "%%" not in out
    _, out, _ = run_main(["report", "--help"])
    assert "95% Student-t" in " ".join(out.split())
    assert "log2 enrichment" not in out


def test_unknown_options_are_reported_by_their_command(run_main: Run) -> None:
    status, _, err = run_main(["findings", "--nope"])
    assert status == 2
    assert err.startswith("hpexplorer findings: error: unrecognized arguments: --nope")


# -------------------------------------------- 17: argument errors at once


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--range", "2", "3"],
        ["report", "--bogus"],
        ["findings", "--permutations", "x"],
        ["report", "--bins", "lr"],
        ["--version"],
        ["report", "--help"],
    ],
)
def test_argument_errors_load_no_heavy_library(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from hpcore.app.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('pandas', 'numpy', 'matplotlib', 'scipy')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


def test_import_hpcore_loads_no_heavy_library() -> None:
    code = (
        "import sys, hpcore\n"
        "assert hpcore.HpcoreError\n"
        "print([m for m in ('pandas', 'numpy', 'matplotlib', 'scipy')"
        " if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_public_names_still_resolve() -> None:
    import hpcore

    for name in hpcore.__all__:
        assert getattr(hpcore, name) is not None
    assert callable(hpcore.synthetic.nws_like)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hpcore.nope  # noqa: B018
    assert os.environ is not None


@pytest.mark.parametrize("span", [(1e307, 8.9e307), (8.98e307, 8.9809e307)])
def test_a_metric_near_the_largest_double_draws_without_warnings(
    tmp_path: Path, span: tuple[float, float]
) -> None:
    """matplotlib's tick locators overflow on axis limits near 1.8e308 (the
    ticks come out right): four RuntimeWarnings per figure reached the
    terminal. Up to half the largest double (the loader's limit) the report
    draws; narrow spans from 9e307 on failed in the locators (a traceback)."""
    rng = __import__("numpy").random.default_rng(5)
    path = tmp_path / "huge.csv"
    pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], 60),
            "opt": rng.choice(["x", "y"], 60),
            "acc": rng.uniform(*span, 60),
        }
    ).to_csv(path, index=False, float_format="%.17g")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpcore.app.cli",
            "report",
            str(path),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert (tmp_path / "out" / "histogram.png").stat().st_size > 10_000
