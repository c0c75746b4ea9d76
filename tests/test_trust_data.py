"""Issue 10 (items 1, 2, 5, 10, 11, 16): tables real users bring load and analyse.

CLI cases run the real command (``hpcore.app.cli.main``); bad input ends with
exit status 2 and one line naming the file or column, without output.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import run_main

import hpcore
from hpcore.analysis.findings import discover
from hpcore.data.errors import ColumnError


def table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    opt = rng.choice(["adam", "sgd"], n)
    act = rng.choice(["relu", "elu", "tanh"], n)
    return pd.DataFrame(
        {
            "dataset": rng.choice(["mnist", "cifar10"], n),
            "opt": opt,
            "act": act,
            "lr": rng.choice([0.001, 0.01, 0.1], n),
            "acc": rng.random(n) * 0.1 + 0.3 * (opt == "adam") + 0.5,
        }
    )


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    return run_main([str(a) for a in argv], capsys)


# -- item 1: a constant group column is no grouping -------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["report"],
        ["report", "--primary", "opt"],
        ["findings", "--permutations", "99"],
    ],
)
def test_one_data_set_is_no_grouping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    df = table().assign(dataset="tinyimagenet")
    path = tmp_path / "one.csv"
    df.to_csv(path, index=False)
    status, _, err = cli(capsys, extra[0], path, "--out", tmp_path / "o", *extra[1:])
    assert status == 0, err
    assert err.count("one group, so the metric is normalized over all rows") == 1
    ens = hpcore.load(path)
    assert ens.group is None and "dataset" not in ens.parameters
    norm = hpcore.normalize(ens).table["normalized"]
    assert norm.min() == 0.0 and norm.max() == 1.0  # over all rows


# -- item 2: labels unique by construction ---------------------------------


def test_float32_logged_values_get_distinct_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = table()
    df["lr"] = np.where(np.arange(len(df)) % 2 == 0, 0.001, float(np.float32(0.001)))
    path = tmp_path / "f32.csv"
    df.to_csv(path, index=False)
    ens = hpcore.load(path)
    assert ens.options("lr") == ("0.001", "0.00100000005")
    status, _, err = cli(capsys, "report", path, "--out", tmp_path / "o")
    assert status == 0, err


def test_bins_none_on_a_continuous_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = table()
    df["lr"] = 1.0 + np.random.default_rng(1).random(len(df)) * 1e-7
    path = tmp_path / "cont.csv"
    df.to_csv(path, index=False)
    ens = hpcore.load(path, bins={"lr": None})
    labels = ens.options("lr")
    assert len(set(labels)) == len(labels) == df["lr"].nunique()
    status, _, err = cli(
        capsys, "report", path, "--bins", "lr=none", "--out", tmp_path / "o"
    )
    assert status == 0, err


# -- item 5: the group's own main effect is not ranked ----------------------


def test_group_main_effect_is_not_ranked_on_a_normalized_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b", "c"], n),
            "opt": rng.choice(["adam", "sgd"], n),
            "act": rng.choice(["relu", "elu"], n),
        }
    )
    # skewed distributions per data set: after min-max the groups' means differ
    skew = df["dataset"].map({"a": 0.2, "b": 1.0, "c": 5.0}).to_numpy()
    df["acc"] = rng.random(n) ** skew + 0.05 * (df["opt"] == "adam")
    ens = hpcore.normalize(hpcore.load(df))
    found = discover(ens, permutations=99)
    group = found.effect("dataset")
    assert group.effect > found.effect("opt").effect  # it would have led
    assert group.test == "none" and np.isnan(group.q_value)
    assert "dataset" in found.unranked
    assert found.significant()[0].name != "dataset"
    assert found.effect("dataset", "opt").test in {"F", "permutation"}
    # on the raw metric it is a real effect and tested
    raw = discover(ens, permutations=99, value="acc")
    assert raw.effect("dataset").test == "F" and not raw.unranked
    path = tmp_path / "nb201.csv"
    df.to_csv(path, index=False)
    status, out, err = cli(capsys, "findings", path, "--out", tmp_path / "o")
    assert status == 0, err
    assert "dataset" not in out.split("Main effects:")[1].split("\n")[1]
    md = (tmp_path / "o" / "findings.md").read_text()
    assert "Not ranked: dataset explains" in md
    assert "but the metric is normalized within each dataset" in md  # "the the"
    assert "| - | main | dataset |" in md
    csv = pd.read_csv(tmp_path / "o" / "findings.csv")
    assert csv.loc[csv["parameters"] == "dataset", "test"].item() == "none"
    # last and without a rank, so the ranks of the others run 1, 2, 3, ...
    assert csv["parameters"].iloc[-1] == "dataset" and pd.isna(csv["rank"].iloc[-1])
    assert csv["rank"].iloc[:-1].tolist() == list(range(1, len(csv)))


# -- item 10: duplicate column names ----------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv"])
def test_duplicate_column_names_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    sep = "\t" if suffix == ".tsv" else ","
    text = sep.join(["activation", "opt", "activation", "acc"]) + "\n"
    text += "".join(
        sep.join([a, o, b, str(v)]) + "\n"
        for a, o, b, v in [("relu", "x", "elu", 0.5), ("elu", "y", "relu", 0.7)] * 5
    )
    path = tmp_path / f"dup{suffix}"
    if suffix.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    with pytest.raises(ColumnError, match=r"duplicate column names \['activation'\]"):
        hpcore.load(path)
    out = tmp_path / "o"
    status, stdout, err = cli(capsys, "report", path, "--out", out)
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path.name) in err and "'activation'" in err
    assert not out.exists() and stdout == ""


# -- item 11: Excel's European CSVs -----------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_semicolon_csv_with_decimal_commas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    df = table()
    path = tmp_path / f"excel{suffix}"
    df.to_csv(path, sep=";", decimal=",", index=False)
    ens = hpcore.load(path)
    expected = hpcore.load(df)
    assert ens.parameters == expected.parameters
    np.testing.assert_allclose(ens.table["acc"], expected.table["acc"])
    assert ens.options("lr") == expected.options("lr")
    status, _, err = cli(capsys, "report", path, "--out", tmp_path / "o")
    assert status == 0, err


def test_semicolon_gz_with_decimal_points(tmp_path: Path) -> None:
    df = table()
    path = tmp_path / "points.csv.gz"
    df.to_csv(path, sep=";", index=False)
    ens = hpcore.load(path)
    assert ens.parameters == hpcore.load(df).parameters
    text = tmp_path / "names.csv"
    # a semicolon file whose text column merely holds commas stays text
    pd.DataFrame({"opt": ["a,b", "c,d"] * 5, "acc": np.arange(10.0)}).to_csv(
        text, sep=";", index=False
    )
    assert hpcore.load(text).options("opt") == ("a,b", "c,d")


# -- item 16: a metric that cannot vary says why ----------------------------


def test_constant_metric_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "const.csv"
    table().assign(acc=0.5).to_csv(path, index=False)
    status, out, err = cli(
        capsys, "findings", path, "--out", tmp_path / "o", "--permutations", "99"
    )
    assert status == 0, err
    assert "does not vary" in err and "normalized to 0.5" in err
    assert "does not vary" in out
    md = (tmp_path / "o" / "findings.md").read_text()
    assert "No pattern stands out" not in md and "does not vary" in md


def test_a_group_with_one_row_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = table()
    df.loc[0, "dataset"] = "solo"
    path = tmp_path / "solo.csv"
    df.to_csv(path, index=False)
    status, _, err = cli(capsys, "report", path, "--out", tmp_path / "o")
    assert status == 0, err
    assert err.count("'solo' (1 row)") == 1
    assert "normalized to 0.5" in err


def test_duplicate_column_names_in_parquet_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = [pa.array(["relu", "elu"] * 5), pa.array(["elu", "relu"] * 5)]
    arrays.append(pa.array(np.linspace(0, 1, 10)))
    path = tmp_path / "dup.parquet"
    pq.write_table(
        pa.Table.from_arrays(arrays, names=["activation", "activation", "acc"]), path
    )
    status, stdout, err = cli(capsys, "report", path, "--out", tmp_path / "o")
    assert status == 2 and stdout == ""
    assert "dup.parquet" in err and "duplicate column names ['activation']" in err


def test_parquet_read_by_column_equals_pandas(tmp_path: Path) -> None:
    # the column-by-column reader keeps dtypes and categorical order
    df = hpcore.synthetic.nws_like(2000, seed=4)
    df.index = np.arange(len(df)) * 3  # a stored index is not a column
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    ens = hpcore.load(path)
    ref = hpcore.load(df.reset_index(drop=True))
    assert ens.parameters == ref.parameters
    pd.testing.assert_frame_equal(ens.table, ref.table)


# -- tables that read wrongly or crashed (review of 2026-12-03) --------------


def test_a_separator_at_the_end_of_every_row_shifts_nothing(tmp_path: Path) -> None:
    """Some exporters end every row with the separator: pandas took the first
    column for row labels and shifted every name one column to the left."""
    frame = table(200)
    path = tmp_path / "trailing.csv"
    lines = [",".join(frame.columns)] + [
        ",".join(map(str, row)) + "," for row in frame.itertuples(index=False)
    ]
    path.write_text("\n".join(lines) + "\n")
    ens = hpcore.load(path)
    expected = hpcore.load(frame)
    assert ens.metric == "acc" and ens.parameters == expected.parameters
    pd.testing.assert_series_equal(ens.table["acc"], expected.table["acc"])


def test_row_labels_before_the_fields_are_still_row_labels(tmp_path: Path) -> None:
    """R's write.table: a header one field shorter than the rows, each row
    starting with its label; pandas reads the labels as the index."""
    frame = table(200)
    path = tmp_path / "r.csv"
    lines = [",".join(frame.columns)] + [
        f'"{i + 1}",' + ",".join(map(str, row))
        for i, row in enumerate(frame.itertuples(index=False))
    ]
    path.write_text("\n".join(lines) + "\n")
    ens = hpcore.load(path)
    assert ens.parameters == hpcore.load(frame).parameters
    assert ens.table["acc"].tolist() == frame["acc"].tolist()


def test_a_separator_inside_a_quoted_name_does_not_count(tmp_path: Path) -> None:
    frame = table(100).rename(columns={"act": "layers (conv;pool;fc;bn)"})
    path = tmp_path / "quoted.csv"
    frame.to_csv(path, index=False, quoting=1)  # every field quoted
    ens = hpcore.load(path)
    assert "layers (conv;pool;fc;bn)" in ens.parameters


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            b",,opt,acc\na,b,adam,0.5\nc,d,sgd,0.6\n",
            "columns 1, 2 hold values but have",
        ),
        (b"ds,,acc\na,b,0.5\nc,d,0.6\n", "column 2 holds values but has no name"),
        (b"PAR1\x00\x00garbage", "is a Parquet file, not '.csv' text"),
    ],
)
def test_odd_headers_and_contents_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, match: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    status, _, err = cli(capsys, "report", path, "--out", tmp_path / "r")
    assert status == 2 and match in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_columns_without_a_name_or_a_value_are_left_out(tmp_path: Path) -> None:
    """A separator at the end of every line (header too) made a column pandas
    called 'Unnamed: 4', and a note said it was no parameter; a Parquet
    column named '' with values became a parameter without a name."""
    path = tmp_path / "t.csv"
    path.write_text(
        "dataset,opt,acc,\n"
        + "".join(f"{'ab'[i % 2]},{'xy'[i % 3 % 2]},{i / 40},\n" for i in range(40))
    )
    ens = hpcore.load(path)
    assert list(ens.table.columns)[:3] == ["dataset", "opt", "acc"]
    assert not any(str(c).startswith("Unnamed") for c in ens.table.columns)
    frame = table(50)
    parquet = tmp_path / "t.parquet"
    frame.assign(**{"": None}).to_parquet(parquet)  # empty: left out
    assert "" not in hpcore.load(parquet).table.columns
    frame.assign(**{"": "z"}).to_parquet(parquet)
    with pytest.raises(hpcore.HpcoreError, match="holds values but has no name"):
        hpcore.load(parquet)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zip"])
def test_a_damaged_compressed_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    whole = tmp_path / f"whole.csv{suffix}"
    table(5000).to_csv(whole, index=False)
    path = tmp_path / f"t.csv{suffix}"
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    status, _, err = cli(capsys, "report", path, "--out", tmp_path / "r")
    assert status == 2 and "Traceback" not in err
    assert f"data file '{path}' could not be read as CSV" in err


def test_a_name_too_long_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ("x" * 300 + ".csv")
    status, _, err = cli(capsys, "report", path, "--out", tmp_path / "r")
    assert status == 2 and "cannot be opened: File name too long" in err


def test_list_and_record_columns_are_not_parameters(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 100
    path = tmp_path / "nested.parquet"
    pq.write_table(
        pa.table(
            {
                "opt": ["a", "b"] * (n // 2),
                "layers": [[64, 128], [32]] * (n // 2),
                "config": [{"x": 1}, {"x": 2}] * (n // 2),
                "acc": [i / n for i in range(n)],
            }
        ),
        path,
    )
    ens = hpcore.load(path)
    assert ens.parameters == ("opt",)
    assert "lists or records" in ens.excluded["layers"]
    assert "[64, 128]" in ens.excluded["layers"]
    assert "lists or records" in ens.excluded["config"]
    with pytest.raises(hpcore.HpcoreError, match=re.escape("such as ['[0.1]'")):
        hpcore.load(pd.DataFrame({"opt": ["a", "b"] * 50, "acc": [[0.1], [0.2]] * 50}))


def test_column_names_on_several_levels_are_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {("g", "opt"): ["a", "b"] * 50, ("m", "acc"): np.linspace(0, 1, 100)}
    )
    with pytest.raises(ColumnError, match="DataFrame: the column names have 2 levels"):
        hpcore.load(frame)
    path = tmp_path / "multi.parquet"
    frame.to_parquet(path)
    with pytest.raises(
        ColumnError, match=re.escape("multi.parquet': the column names have 2")
    ):
        hpcore.load(path)


def test_an_output_name_too_long_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.csv"
    table().to_csv(path, index=False)
    out = tmp_path / ("y" * 300)
    status, _, err = cli(capsys, "report", path, "--out", out)
    assert status == 2 and "Traceback" not in err
    assert f"cannot write the report folder '{out}': File name too long" in err


@pytest.mark.parametrize(
    ("acc", "match"),
    [
        ([np.inf] * 10, "metric column 'acc' has no finite values"),
        ([1 + 2j] * 5 + [0.5 + 0j] * 5, "metric column 'acc' must be real numbers"),
        # a span beyond float64 (sentinels for failed runs): normalizing gave
        # NaN and the report's histogram a traceback
        (
            [1e308, -1e308] + [0.5] * 8,
            "metric column 'acc' spans -1e+308 to 1e+308: the values and their "
            "span must stay below 8.988e+307 (half the largest float64)",
        ),
        # a finite span, but matplotlib's tick locators failed (a traceback)
        (
            [1.6e308, 3e307] + [1e307] * 8,
            "metric column 'acc' spans 1e+307 to 1.6e+308: the values and",
        ),
        ([1e308, 1.2e308] * 5, "metric column 'acc' spans 1e+308 to 1.2e+308"),
    ],
)
def test_metrics_without_real_finite_values_are_named(
    acc: list[complex], match: str
) -> None:
    with pytest.raises(hpcore.HpcoreError, match=re.escape(match)):
        hpcore.load(pd.DataFrame({"opt": ["a", "b"] * 5, "acc": acc}))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f, e: hpcore.load(f, bins=[("lr", 3)]), "bins must map parameters"),
        (lambda f, e: hpcore.load(f, bins={"lr": 10**20}), "must be at most 1,000"),
        (lambda f, e: hpcore.select(e, where=[("opt", "adam")]), "where must map"),
        (lambda f, e: hpcore.select(e, range=(True, 1)), "must be a pair (lo, hi)"),
        (lambda f, e: hpcore.histogram(e, bins=10**9), "must be at most 10,000"),
        (lambda f, e: hpcore.load(""), "data file: the name is empty"),
        # a table or None where its ensemble belongs: AttributeError before
        (lambda f, e: hpcore.normalize(f), "normalize needs an hpcore.Ensemble"),
        (lambda f, e: hpcore.select(f), "got DataFrame; turn a table into one"),
        (lambda f, e: hpcore.histogram(None), "histogram needs an hpcore.Ensemble"),
        (lambda f, e: hpcore.pair_counts(None), "pair_counts needs an hpcore"),
        (lambda f, e: hpcore.trellis(None, primary="opt"), "the trellis needs an"),
        (lambda f, e: hpcore.discover(f), "discover needs an hpcore.Ensemble"),
        (lambda f, e: hpcore.load(f, parameters=5), "parameters must be a list"),
        (lambda f, e: hpcore.load(f, parameters="opt"), "one parameter: ['opt']"),
        (lambda f, e: hpcore.load(f, metric=["acc"]), "metric must be a column name"),
        (lambda f, e: hpcore.load(f, group=1), "group must be a column name"),
    ],
)
def test_api_arguments_of_the_wrong_kind_are_named(call: Any, match: str) -> None:
    frame = table()
    ens = hpcore.normalize(hpcore.load(frame))
    with pytest.raises(hpcore.HpcoreError, match=re.escape(match)):
        call(frame, ens)


def test_cli_words_for_an_empty_data_name_and_a_bad_primary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = cli(capsys, "report", "", "--out", tmp_path / "r")
    assert status == 2 and "DATA: the name is empty" in err
    status, _, err = cli(capsys, "report", "--primary", "nope", "--out", tmp_path / "r")
    assert status == 2 and "--primary 'nope' is not a parameter" in err
    assert not (tmp_path / "r").exists()
