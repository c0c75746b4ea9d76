"""``hpexplorer report`` end to end, and its bad-input cases (exit 2, one line)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_main

from hpcore.app import cli
from hpcore.app.output import MANIFEST
from hpcore.app.report import report_files


@pytest.fixture
def csv(tmp_path: Path, ensemble_df: pd.DataFrame) -> Path:
    path = tmp_path / "runs.csv"
    ensemble_df.to_csv(path, index=False)
    return path


def check_report(out: Path, fmt: str = "png") -> dict[str, object]:
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*report_files(fmt), MANIFEST]
    )
    for name in report_files(fmt):
        assert (out / name).stat().st_size > 0
    summary: dict[str, object] = json.loads((out / "summary.json").read_text("utf-8"))
    return summary


# ------------------------------------------------------------------ success


def test_report_on_a_csv(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rep"
    argv = ["report", str(csv), "--range", "0.4", "1", "--secondary", "batch"]
    status, stdout, stderr = run_main([*argv, "--out", str(out)], capsys)
    assert status == 0, stderr
    summary = check_report(out)
    assert summary["selected"] == 4
    assert summary["rows"] == 8
    assert summary["range"] == [0.4, 1.0]
    assert summary["source"] == str(csv)
    assert summary["primary"] == "dataset"
    assert summary["secondary"] == "batch"
    assert "4 of 8 networks selected" in stdout
    assert "Traceback" not in stderr
    pairs = pd.read_csv(out / "pairs.csv")
    assert list(pairs.columns) == [
        "param_a",
        "option_a",
        "param_b",
        "option_b",
        "count",
        "expected",
        "enrichment",
        "p_value",
        "q_value",
    ]


def test_report_where_and_format(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rep"
    status, _, stderr = run_main(
        [
            "report",
            str(csv),
            "--where",
            "dataset=b",
            "--where",
            "opt=adam,sgd",
            "--range",  # every network that passes --where (the default is the top)
            "0",
            "1",
            "--format",
            "svg",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert status == 0, stderr
    summary = check_report(out, "svg")
    assert summary["where"] == {"dataset": ["b"], "opt": ["adam", "sgd"]}
    assert summary["selected"] == 4


def test_empty_selection_warns_and_still_writes(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rep"
    status, _, stderr = run_main(
        ["report", str(csv), "--range", "0.1", "0.2", "--out", str(out)], capsys
    )
    assert status == 0
    assert "warning: no networks selected" in stderr
    assert check_report(out)["selected"] == 0


def test_builtin_ensemble_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    status, stdout, stderr = run_main(
        ["report", "--range", "0.9", "1", "--out", str(out)], capsys
    )
    assert status == 0, stderr
    assert "SYNTHETIC" in stderr.splitlines()[0]
    summary = check_report(out)
    assert summary["rows"] == 13_000
    assert summary["source"] == "synthetic, seed 0"
    assert summary["metric"] == "test_accuracy"
    assert summary["group"] == "dataset"
    assert summary["primary"] == "dataset"
    assert summary["secondary"] is None
    params = summary["parameters"]
    assert isinstance(params, dict)
    assert params["dataset"] == ["mnist", "cifar10", "svhn", "stl10", "fashion"]
    assert len(params) >= 12
    assert 0 < int(summary["selected"]) < 13_000  # type: ignore[call-overload]
    hist = pd.read_csv(out / "histogram.csv")
    assert hist.loc[hist["kind"] == "raw", "count"].sum() == 13_000
    pairs = pd.read_csv(out / "pairs.csv")
    per_block = pairs.groupby(["param_a", "param_b"])["count"].sum()
    assert (per_block == summary["selected"]).all()
    assert f"{summary['selected']:,} of 13,000 networks selected" in stdout


def test_metaqnn_end_to_end(
    metaqnn_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rep"
    status, _, stderr = run_main(
        [
            "report",
            str(metaqnn_path),
            "--metric",
            "final_val_acc",
            "--range",
            "0.9",
            "1",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert status == 0, stderr
    summary = check_report(out)
    assert summary["rows"] == 2300
    assert summary["metric"] == "final_val_acc"
    assert "net" in summary["excluded"]  # type: ignore[operator]
    assert next(iter(summary["parameters"])) == "dataset"  # type: ignore[call-overload]


def test_installed_console_script(csv: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "hpexplorer"
    if not script.exists():
        found = shutil.which("hpexplorer")
        if found is None:
            pytest.skip("the hpexplorer console script is not installed")
        script = Path(found)
    out = tmp_path / "rep"
    done = subprocess.run(
        [str(script), "report", str(csv), "--range", "0.4", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert check_report(out)["selected"] == 4
    bad = subprocess.run(
        [str(script), "report", str(csv), "--range", "1", "0", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert check_report(out)["selected"] == 4  # the earlier report is untouched


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, stdout, _ = run_main(["report", "--help"], capsys)
    assert status == 0
    for option in (
        "--range",
        "--where",
        "--primary",
        "--secondary",
        "--format",
        "--out",
    ):
        assert option in stdout


# ---------------------------------------------------------------- bad input


BAD = [
    ("missing file", ["{missing}"], "does not exist"),
    ("bad metric column", ["{csv}", "--metric", "nope"], "metric: missing column"),
    ("bad group column", ["{csv}", "--group", "nope"], "group: missing column"),
    ("bad params column", ["{csv}", "--params", "opt,nope"], "missing column"),
    ("reversed range", ["{csv}", "--range", "0.9", "0.1"], "lo <= hi"),
    ("range beyond 1", ["{csv}", "--range", "0", "2"], r"within \[0, 1\]"),
    ("range not numbers", ["{csv}", "--range", "a", "b"], "must be numbers"),
    ("unknown option", ["{csv}", "--where", "opt=rmsprop"], "unknown option"),
    ("unknown where parameter", ["{csv}", "--where", "lr=1"], "not a parameter"),
    ("malformed where", ["{csv}", "--where", "opt"], "expected PARAM=OPT1,OPT2"),
    ("unknown primary", ["{csv}", "--primary", "nope"], "primary 'nope'"),
    ("secondary equals primary", ["{csv}", "--secondary", "dataset"], "must differ"),
    ("bad bins", ["{csv}", "--bins", "batch=x"], "must be an integer"),
    (
        "bins given twice",  # the last one silently won
        ["{csv}", "--bins", "batch=2", "--bins", "batch=none"],
        r"'batch' is given twice \(batch=2, batch=none\)",
    ),
    (
        "compressed without the table's type",
        ["{packed}"],
        r"names its table's type before '\.gz': 'runs\.csv\.gz'",
    ),
    ("unknown format", ["{csv}", "--format", "gif"], "invalid choice"),
    ("unknown flag", ["{csv}", "--colour", "red"], "unrecognized arguments"),
    ("output is a file", ["{csv}", "--out", "{file}"], "is not a folder"),
    ("output under a file", ["{csv}", "--out", "{file}/rep"], "is not a folder"),
]


@pytest.mark.parametrize(("case", "args", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_one_line(
    case: str,
    args: list[str],
    match: str,
    csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a folder")
    out = tmp_path / "rep"
    values = {
        "csv": str(csv),
        "missing": str(tmp_path / "nope.csv"),
        "file": str(a_file),
        "packed": str(tmp_path / "runs.gz"),
    }
    (tmp_path / "runs.gz").write_bytes(b"")
    argv = ["report", *(a.format(**values) for a in args)]
    if "--out" not in argv:
        argv += ["--out", str(out)]
    before = sorted(p.name for p in tmp_path.iterdir())
    status, stdout, stderr = run_main(argv, capsys)
    assert status == 2, (case, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert re.match(r"hpexplorer( report)?: error: ", lines[0]), lines[0]
    assert "Traceback" not in stderr
    assert re.search(match, lines[0]), lines[0]
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    assert a_file.read_text() == "not a folder"


def test_bins_names_are_stripped_and_may_hold_an_equals_sign() -> None:
    from hpcore.app.common import parse_bins

    assert parse_bins([" lr = 4", "bs=size=none", "depth= raw"]) == {
        "lr": 4,
        "bs=size": None,
        "depth": None,
    }


def test_where_keeps_option_labels_that_hold_commas() -> None:
    from hpcore.app.common import split_options

    opts = ("[0.0002, 0.00116)", "[0.00116, 0.00212)", "b,c", "b", "c")
    assert split_options("[0.0002, 0.00116),[0.00116, 0.00212)", opts) == list(opts[:2])
    assert split_options("b,c", opts) == ["b,c"]
    assert split_options("b, c", opts) == ["b", "c"]
    assert split_options("c,zzz", opts) == ["c", "zzz"]
    # as written first, then without the spaces around it
    spaced = ("x", " x", "x ")
    assert split_options(" x", spaced) == [" x"]
    assert split_options("x ", spaced) == ["x "]
    assert split_options("b , c", opts) == ["b", "c"]


def test_where_names_a_column_whose_name_holds_an_equals_sign() -> None:
    import hpcore
    from hpcore.app.common import parse_where, where_for

    ens = hpcore.load(
        pd.DataFrame(
            {
                "opt=adam": ["yes", "no", "yes", "no=maybe"],
                "a": ["x", "x=y", "y", "x"],
                "acc": [0.1, 0.2, 0.3, 0.4],
            }
        )
    )
    got = where_for(
        ens, parse_where(["opt=adam=yes,no=maybe", "a=x=y", " opt=adam = no"])
    )
    # a name that is a parameter at the first "=" keeps the rest as options
    assert got == {"opt=adam": ["yes", "no=maybe", "no"], "a": ["x=y"]}
    # no parameter however it is split: the name stays, to be reported
    assert where_for(ens, parse_where(["zz=q=r"])) == {"zz": ["q=r"]}
    assert where_for(ens, parse_where(["opt=adam="])) == {"opt": ["adam="]}


def test_report_where_on_binned_parameters_and_hyphens(
    tmp_path: Path, metaqnn_path: Path
) -> None:
    out = tmp_path / "r"
    code = cli.main(
        [
            "report", str(metaqnn_path), "--metric", "final_val_acc",
            "--where", "num_params=240k–2.59M,2.59M–27.9M", "--where", "depth=2-4,5-8",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["where"] == {
        "num_params": ["240k–2.59M", "2.59M–27.9M"],
        "depth": ["2–4", "5–8"],
    }


def test_bad_primary_after_exclusions_is_still_one_line(
    tmp_path: Path, metaqnn_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    argv = ["report", str(metaqnn_path), "--metric", "final_val_acc"]
    assert cli.main([*argv, "--primary", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--primary 'nope' is not a parameter" in err[0]
    assert cli.main(["report", "--params", ",,,", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "hpexplorer report: error: --params: no parameter names given; got ',,,'"
    ]
    assert not out.exists()


def test_a_report_of_one_parameter_says_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(4)
    data = tmp_path / "one.csv"
    pd.DataFrame(
        {
            "run": [f"r{i}" for i in range(200)],
            "opt": rng.choice(["a", "b", "c"], 200),
            "acc": rng.random(200),
        }
    ).to_csv(data, index=False)
    before = data.read_bytes()
    out = tmp_path / "r"
    assert cli.main(["report", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "hpexplorer report: error: a report needs at least 2 parameters (its "
        f"matrix and its trellis pair them); {data} has 1: ['opt'] (not "
        "parameters: 'run': identifier or free text (200 distinct values in 200 "
        "rows)); `hpexplorer findings` tests the effect of a single parameter"
    ]
    assert not out.exists() and data.read_bytes() == before
    # and findings does
    assert cli.main(["findings", str(data), "--out", str(out)]) == 0


def test_rows_without_a_group_are_announced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "g.csv"
    pd.DataFrame(
        {
            "dataset": ["a", None, "b", "a", None, "b"],
            "opt": ["x", "y", "x", "y", "x", "y"],
            "acc": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    ).to_csv(data, index=False)
    assert cli.main(["report", str(data), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "2 row(s) have no 'dataset'; they are normalized together" in err


@pytest.mark.parametrize(
    ("argv", "user", "want"),
    [
        (["report", "--range", "2", "3"], None, "1"),  # no BLAS work: one thread
        (["report", "--range", "2", "3"], "4", "4"),  # the user's choice stands
        (["findings", "--permutations", "-1"], None, None),  # least squares: pool
    ],
)
def test_blas_threads_only_where_the_command_uses_blas(
    argv: list[str], user: str | None, want: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpcore.app.common import BLAS_THREADS

    monkeypatch.setenv(BLAS_THREADS, "sentinel")  # undone after the test
    if user is None:
        monkeypatch.delenv(BLAS_THREADS)
    else:
        monkeypatch.setenv(BLAS_THREADS, user)
    assert cli.main(argv) == 2
    assert os.environ.get(BLAS_THREADS) == want


def test_report_on_a_loss_selects_the_lowest_losses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A metric named like a loss is normalized so that its lowest values are
    the selected top: the optimizer with the lower loss is over-represented,
    and the figures and stderr say so; --better higher keeps the raw order."""
    import numpy as np

    rng = np.random.default_rng(5)
    n = 600
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], n),
            "opt": rng.choice(["sgd", "adam"], n),
            "bs": rng.choice([32, 64], n),
        }
    )
    df["val_loss"] = 1.0 + 0.5 * (df["opt"] == "sgd") + rng.normal(0.0, 0.1, n)
    path = tmp_path / "loss.csv"
    df.to_csv(path, index=False)
    tops = {}
    argv = ["report", str(path), "--metric", "val_loss", "--range", "0.8", "1"]
    for extra in ([], ["--better", "higher"]):
        out = tmp_path / f"out{len(extra)}"
        status, _, stderr = run_main([*argv, *extra, "--out", str(out)], capsys)
        assert status == 0, stderr
        summary = check_report(out)
        importance = pd.read_csv(out / "importance.csv").set_index("parameter")
        tops[summary["better"]] = importance.loc["opt", "top_option"]
        assert ("lower values of 'val_loss' are better" in stderr) == (not extra)
    assert tops == {"lower": "adam", "higher": "sgd"}
