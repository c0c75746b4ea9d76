"""hpcore.load: metric/group/parameter inference, binning, files, bad input."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hpcore
from hpcore.data.errors import ColumnError, DataSourceError, MetricError, ParameterError
from hpcore.data.loading import looks_like_metric, read_table


def test_defaults_on_hand_frame(ensemble_df: pd.DataFrame) -> None:
    before = ensemble_df.copy(deep=True)
    ens = hpcore.load(ensemble_df)
    pd.testing.assert_frame_equal(ensemble_df, before)
    assert ens.metric == "test_accuracy"
    assert ens.group == "dataset"
    assert ens.parameters == ("dataset", "opt", "batch")
    assert ens.options("dataset") == ("a", "b")
    assert ens.options("opt") == ("adam", "sgd")  # first seen
    assert ens.options("batch") == ("32", "64")  # numbers ascending
    assert ens.table["test_accuracy"].tolist() == ensemble_df["test_accuracy"].tolist()
    assert dict(ens.dropped) == {}
    assert ens.source == "DataFrame"
    assert ens.normalization is None


def test_metric_name_is_case_insensitive() -> None:
    df = pd.DataFrame({"p": ["x", "y"], "Test_Acc": [0.1, 0.2]})
    assert hpcore.load(df).metric == "Test_Acc"


def test_option_order_numbers_booleans_strings() -> None:
    df = pd.DataFrame(
        {
            "n": [10, 2, 2, 10, 5, 2],
            "b": [True, False, True, True, False, False],
            "s": ["z", "a", "m", "a", "z", "m"],
            "f": [0.5, 0.25, 1e-5, 0.5, 0.25, 1e-5],
            "acc": np.linspace(0, 1, 6),
        }
    )
    ens = hpcore.load(df, group=None)
    assert ens.group is None
    assert ens.options("n") == ("2", "5", "10")
    assert ens.options("b") == ("False", "True")
    assert ens.options("s") == ("z", "a", "m")
    assert ens.options("f") == ("1e-05", "0.25", "0.5")


def test_missing_metric_rows_dropped_and_counted() -> None:
    df = pd.DataFrame(
        {
            "p": ["a", "b", "a", "a", "b"],
            "acc": [1.0, np.nan, 3.0, np.inf, 5.0],
        }
    )
    ens = hpcore.load(df)
    assert len(ens.table) == 3
    assert dict(ens.dropped) == {"missing metric 'acc'": 1, "infinite metric 'acc'": 1}
    assert ens.table["acc"].tolist() == [1.0, 3.0, 5.0]


def test_missing_parameter_values_become_last_option() -> None:
    df = pd.DataFrame({"p": ["a", None, "b", "a"], "acc": [1.0, 2.0, 3.0, 4.0]})
    ens = hpcore.load(df)
    assert ens.options("p") == ("a", "b", "missing")
    assert ens.table["p"].tolist() == ["a", "missing", "b", "a"]


def test_exclusions_are_reported() -> None:
    n = 40
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "run_id": np.arange(n),
            "name": [f"net{i}" for i in range(n)],
            "const": ["same"] * n,
            "opt": rng.choice(["adam", "sgd"], n),
            "val_loss": rng.random(n),
            "test_accuracy": rng.random(n),
        }
    )
    ens = hpcore.load(df)
    assert ens.parameters == ("opt",)
    assert set(ens.excluded) == {"run_id", "name", "const", "val_loss"}
    assert "identifier" in ens.excluded["run_id"]
    assert "identifier or free text" in ens.excluded["name"]
    assert "constant" in ens.excluded["const"]
    assert "metric-like" in ens.excluded["val_loss"]


def test_explicit_parameters_keep_order_and_add_group(
    ensemble_df: pd.DataFrame,
) -> None:
    ens = hpcore.load(ensemble_df, parameters=["batch", "opt"])
    assert ens.parameters == ("dataset", "batch", "opt")
    ens = hpcore.load(ensemble_df, parameters=["opt"], group="batch")
    assert ens.parameters == ("batch", "opt")
    assert ens.group == "batch"


def test_binning_linear_log_integer_and_overrides() -> None:
    rng = np.random.default_rng(1)
    n = 500
    df = pd.DataFrame(
        {
            "lr": 10 ** rng.uniform(-5, -1, n),  # spans 4 orders: log bins
            "depth": rng.integers(2, 20, n),  # integers: integer bins
            "drop": rng.uniform(0.0, 0.5, n),  # linear bins
            "acc": rng.random(n),
        }
    )
    ens = hpcore.load(df)
    assert set(ens.binned) == {"lr", "depth", "drop"}
    lr_edges = np.array(ens.binned["lr"])
    assert np.allclose(np.diff(np.log10(lr_edges)), np.diff(np.log10(lr_edges))[0])
    assert ens.options("depth") == ("2–4", "5–8", "9–11", "12–15", "16–19")
    drop_edges = np.array(ens.binned["drop"])
    assert np.allclose(np.diff(drop_edges), np.diff(drop_edges)[0])
    assert ens.options("drop")[0].startswith("[") and ens.options("drop")[-1].endswith(
        "]"
    )
    # every row sits in the bin whose interval holds its value
    codes = ens.codes("drop").to_numpy()
    assert np.all(drop_edges[codes] <= df["drop"].to_numpy())
    assert np.all(df["drop"].to_numpy() <= drop_edges[codes + 1])

    ens = hpcore.load(df, bins={"lr": 3, "depth": None})
    assert len(ens.options("lr")) == 3
    assert ens.options("depth") == tuple(str(v) for v in range(2, 20))
    assert "depth" not in ens.binned


def test_eight_distinct_values_stay_raw_nine_are_binned() -> None:
    eight = pd.DataFrame({"k": np.arange(16) % 8, "acc": np.arange(16.0)})
    assert hpcore.load(eight).options("k") == tuple(str(i) for i in range(8))
    nine = pd.DataFrame({"k": np.arange(18) % 9, "acc": np.arange(18.0)})
    assert len(hpcore.load(nine).options("k")) == 5


def test_csv_tsv_parquet_round_trip(tmp_path, ensemble_df: pd.DataFrame) -> None:
    csv = tmp_path / "e.csv"
    tsv = tmp_path / "e.tsv"
    pq = tmp_path / "e.parquet"
    ensemble_df.to_csv(csv, index=False)
    ensemble_df.to_csv(tsv, index=False, sep="\t")
    ensemble_df.to_parquet(pq)
    ref = hpcore.load(ensemble_df)
    for path in (csv, tsv, pq):
        ens = hpcore.load(path)
        assert ens.source == str(path)
        assert ens.parameters == ref.parameters
        pd.testing.assert_frame_equal(ens.table, ref.table)


def test_looks_like_metric() -> None:
    assert looks_like_metric("final_val_acc")
    assert looks_like_metric("val_loss")
    assert not looks_like_metric("num_params")
    assert not looks_like_metric("learning_rate")


BAD_FRAMES = [
    (
        {"p": ["a", "b"], "score": [1.0, 2.0]},
        {},
        MetricError,
        r"no metric column named like test accuracy.*candidates: \['score'\]",
    ),
    (
        {"p": ["a", "b"], "acc": [1.0, 2.0], "accuracy": [1.0, 2.0]},
        {},
        MetricError,
        r"several columns could be the metric: \['acc', 'accuracy'\]",
    ),
    (
        {"p": ["a", "b"], "acc": [1.0, 2.0]},
        {"metric": "nope"},
        MetricError,
        r"metric: missing column\(s\) \['nope'\]; available: \['p', 'acc'\]",
    ),
    (
        {"p": ["a", "b"], "acc": ["high", "low"]},
        {},
        MetricError,
        r"metric column 'acc' must be numeric; found non-numeric values such as",
    ),
    (
        {"p": ["a", "b"], "acc": [np.nan, np.nan]},
        {},
        MetricError,
        r"metric column 'acc' has no values \(all missing\)",
    ),
    (
        {"p": ["a", "b"], "acc": [1.0, 2.0]},
        {"group": "dataset"},
        ColumnError,
        r"group: missing column\(s\) \['dataset'\]",
    ),
    (
        {"p": ["a", "b"], "acc": [1.0, 2.0]},
        {"parameters": ["p", "q"]},
        ColumnError,
        r"parameters: missing column\(s\) \['q'\]",
    ),
    (
        {"p": ["a", "a"], "q": ["x", "y"], "acc": [1.0, 2.0]},
        {"parameters": ["p", "q"]},
        ParameterError,
        r"parameter 'p' has one option \('a'\).*at least two",
    ),
    (
        {"p": ["a", "b"], "acc": [1.0, 2.0]},
        {"parameters": ["p", "acc"]},
        ParameterError,
        r"'acc' is the metric",
    ),
    (
        {"p": ["a", "b"], "acc": [1.0, 2.0]},
        {"bins": {"q": 3}},
        ParameterError,
        r"bins: 'q' is not a parameter; parameters: \['p'\]",
    ),
    (
        {"p": ["a", "b"], "acc": [1.0, 2.0]},
        {"bins": {"p": 3}},
        ParameterError,
        r"bins: parameter 'p' is not numeric",
    ),
    (
        {"k": list(range(12)), "acc": np.arange(12.0)},
        {"bins": {"k": 1}},
        ParameterError,
        r"must be an integer >= 2 or `None` to keep raw values; got 1",
    ),
    (
        {"c": ["same", "same"], "acc": [1.0, 2.0]},
        {},
        ParameterError,
        r"no column can serve as a hyper-parameter",
    ),
]


@pytest.mark.parametrize(("data", "kwargs", "exc", "match"), BAD_FRAMES)
def test_bad_frames(data, kwargs, exc, match) -> None:
    df = pd.DataFrame(data)
    before = df.copy(deep=True)
    with pytest.raises(exc, match=match):
        hpcore.load(df, **kwargs)
    pd.testing.assert_frame_equal(df, before)
    assert issubclass(exc, ValueError)


def test_bad_files(tmp_path) -> None:
    with pytest.raises(DataSourceError, match=r"data file '.*nope.csv' does not exist"):
        hpcore.load(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataSourceError, match=r"empty.csv' is empty"):
        hpcore.load(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("p,acc\n")
    with pytest.raises(
        DataSourceError, match=r"has no rows \(columns: \['p', 'acc'\]\)"
    ):
        hpcore.load(header_only)
    xlsx = tmp_path / "table.xlsx"
    xlsx.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataSourceError, match=r"unsupported file type '.xlsx'"):
        hpcore.load(xlsx)
    bad_pq = tmp_path / "bad.parquet"
    bad_pq.write_text("not parquet at all")
    with pytest.raises(
        DataSourceError, match=r"bad.parquet' could not be read as Parquet"
    ):
        hpcore.load(bad_pq)
    with pytest.raises(DataSourceError, match=r"source must be a path"):
        hpcore.load(42)  # type: ignore[arg-type]
    with pytest.raises(DataSourceError, match=r"the DataFrame has no rows"):
        hpcore.load(pd.DataFrame({"p": [], "acc": []}))


def test_unknown_parameter_names_in_options(ensemble_df: pd.DataFrame) -> None:
    ens = hpcore.load(ensemble_df)
    with pytest.raises(ParameterError, match=r"'lr' is not a parameter.*\['dataset'"):
        ens.options("lr")


def test_the_name_normalized_is_reserved() -> None:
    df = pd.DataFrame(
        {"p": ["a", "b", "a"], "normalized": ["x", "y", "x"], "acc": [1.0, 2.0, 3.0]}
    )
    ens = hpcore.normalize(hpcore.load(df))
    assert ens.parameters == ("p",)
    assert "reserved" in ens.excluded["normalized"]
    assert ens.table["acc"].tolist() == [1.0, 2.0, 3.0]
    for kwargs in ({"metric": "normalized"}, {"group": "normalized"}):
        with pytest.raises(ColumnError, match=r"'normalized' is reserved"):
            hpcore.load(df.rename(columns={"acc": "x"}), **kwargs)
    with pytest.raises(ColumnError, match=r"parameters: the column name 'normalized'"):
        hpcore.load(df, parameters=["p", "normalized"])
    with pytest.raises(ColumnError, match=r"metric: the column name 'normalized'"):
        hpcore.load(
            pd.DataFrame({"p": ["a", "b"], "normalized": [1.0, 2.0]}),
            metric="normalized",
        )


@pytest.mark.parametrize("dtype", ["boolean", "bool[pyarrow]"])
def test_nullable_booleans_with_missing_values(dtype: str) -> None:
    df = pd.DataFrame({"aug": [True, None, False, True], "acc": [1.0, 2.0, 3.0, 4.0]})
    df["aug"] = df["aug"].astype(dtype)
    ens = hpcore.load(df)
    assert ens.options("aug") == ("False", "True", "missing")
    assert ens.table["aug"].tolist() == ["True", "missing", "False", "True"]


def test_separator_is_taken_from_the_header(
    tmp_path, ensemble_df: pd.DataFrame
) -> None:
    ref = hpcore.load(ensemble_df)
    semi = tmp_path / "semi.csv"
    ensemble_df.to_csv(semi, index=False, sep=";")
    tabbed = tmp_path / "tabbed.txt"
    ensemble_df.to_csv(tabbed, index=False, sep="\t")
    for path in (semi, tabbed):
        pd.testing.assert_frame_equal(hpcore.load(path).table, ref.table)


# ------------------------------------------- options by counting, not hashing


def _reference_options(
    series: pd.Series, bins: int | None
) -> tuple[list[str], list[int]]:
    """Labels and codes by the plain route: hash-factorize, or a binary search of
    the bin edges (the fast paths count and compare instead)."""
    from hpcore.data.options import _bin_labels, bin_edges, number_label

    if bins is None:
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes, uniques = pd.factorize(series, sort=bool(series.cat.ordered))
            labels = [str(u) for u in uniques]
        elif pd.api.types.is_bool_dtype(series.dtype):
            codes, uniques = pd.factorize(series, sort=True)
            labels = [str(bool(u)) for u in uniques]
        else:
            codes, uniques = pd.factorize(series.to_numpy(), sort=True)
            labels = [number_label(u) for u in uniques]
        return labels, list(codes)
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(values)
    edges, integer = bin_edges(values[present], bins)
    idx = np.searchsorted(edges[1:-1], values, side="right")
    used = sorted(set(idx[present].tolist()))
    labels = [_bin_labels(edges, integer)[i] for i in used]
    codes = [used.index(i) if ok else -1 for i, ok in zip(idx, present, strict=True)]
    return labels, codes


@pytest.mark.parametrize(
    "values",
    [
        # hashed seeds beyond int64: the counted values' offsets overflowed
        np.array([2**63 + 2, 2**63, 2**64 - 1, 2**63] * 5, dtype=np.uint64),
        np.array([2**63 + 1, 2**63, 2**63 + 3] * 5, dtype=np.uint64),
        np.array([-(2**63), -(2**63) + 2, 2**63 - 1, 0] * 5, dtype=np.int64),
        np.array([-(2**63) + 1, -(2**63)] * 5, dtype=np.int64),
    ],
)
def test_integer_options_at_the_ends_of_64_bits(values: np.ndarray) -> None:
    from hpcore.data.options import make_options

    got = make_options(pd.Series(values), bins=None).values
    codes, uniques = pd.factorize(values, sort=True)
    assert list(got.categories) == [str(int(u)) for u in uniques]
    assert np.asarray(got.codes).tolist() == codes.tolist()


@pytest.mark.parametrize("seed", range(12))
def test_options_by_counting_equal_the_hashed_ones(seed: int) -> None:
    from hpcore.data.options import MISSING_LABEL, make_options

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    series = [
        pd.Series(rng.integers(-7, 9, n)),  # narrow integers: counted
        pd.Series(rng.integers(0, 5, n) * 10**7),  # wide: hashed
        pd.Series(rng.integers(0, 4, n), dtype="int8"),
        pd.Series(rng.integers(3, 9, n), dtype="uint64"),  # numpy 1.26 refused it
        pd.Series(rng.choice([True, False], n)),
        pd.Series(rng.choice([True, True, True, False], n)),
        pd.Series(pd.Categorical(rng.choice(list("abc"), n), list("dcba"), True)),
        pd.Series(pd.Categorical(rng.choice(list("abc"), n), list("dcba"), False)),
    ]
    floats = rng.choice([1e-5, 3e-4, 1e-2, 0.5, np.nan], n)
    for column in series:
        got = make_options(column, bins=None).values
        labels, codes = _reference_options(column, None)
        assert list(got.categories) == labels
        assert np.asarray(got.codes).tolist() == codes
    for bins in (2, 5, 40):  # compared edge by edge, and searched
        for column in (pd.Series(floats), pd.Series(rng.normal(0, 1, n))):
            got = make_options(column, bins=bins).values
            labels, codes = _reference_options(column, bins)
            if -1 in codes:
                labels = [*labels, MISSING_LABEL]
                codes = [len(labels) - 1 if c < 0 else c for c in codes]
            assert list(got.categories) == labels
            assert np.asarray(got.codes).tolist() == codes


def test_binning_integers_beyond_float64_is_refused_clearly() -> None:
    df = pd.DataFrame(
        {
            "x": 2**60 + np.arange(40) % 5,
            "y": ["a", "b"] * 20,
            "accuracy": np.linspace(0, 1, 40),
        }
    )
    with pytest.raises(ParameterError, match=r"parameter 'x'.*too large to bin"):
        hpcore.load(df, parameters=["x", "y"], bins={"x": 3})


def test_codes_are_counted_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    from hpcore.data import options

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 6, 100)
    monkeypatch.setattr(options, "COUNT_PIECE", 7)
    for kind in (np.int8, np.int16, np.uint32, np.uint64, np.intp):
        got = options.count_codes(codes.astype(kind), 9)
        np.testing.assert_array_equal(got, np.bincount(codes, minlength=9))


@pytest.mark.parametrize("kind", [np.int8, np.uint8, np.int16, np.uint16, np.int32])
def test_a_few_small_codes_are_counted_by_comparisons(kind: type) -> None:
    from hpcore.data import options

    rng = np.random.default_rng(4)
    for n in range(1, options.COMPARE_BELOW + 2):
        for size in (0, 1, 1000):
            codes = rng.integers(0, n, size).astype(kind)
            got = options.count_codes(codes, n)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, np.bincount(codes, minlength=n))
    # a code beyond n: bincount's own answer (comparisons would miss it)
    codes = np.array([0, 1, 3], dtype=kind)
    np.testing.assert_array_equal(options.count_codes(codes, 2), [1, 1, 0, 1])


@pytest.mark.parametrize(
    "values",
    [
        np.array([256, 32, 64, 128] * 100),  # every value in the first rows
        np.repeat([5, 9, 7], 40),  # sorted: values after the first rows
        np.arange(300) % 200,  # more values than one-byte codes hold
        np.array([-3, 4, -3, 2] * 25 + [11]),  # negative, one value at the end
        (np.arange(120) % 7).astype(np.uint64),
        (np.arange(120) % 3).astype(np.int16),
    ],
)
def test_narrow_integers_get_the_codes_of_a_sorted_factorize(
    values: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpcore.data import options

    monkeypatch.setattr(options, "HEAD_ROWS", 16)  # the first rows: 16 here
    got = options._int_codes(values)
    assert got is not None
    codes, uniques = got
    want_codes, want_uniques = pd.factorize(values, sort=True)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(uniques, want_uniques)


def test_the_table_shares_no_memory_with_the_input() -> None:
    df = pd.DataFrame(
        {
            "accuracy": np.linspace(0.1, 0.9, 30),
            "opt": pd.Categorical(["a", "b", "c"] * 10, ordered=True),
            "batch": [32, 64] * 15,
            "aug": [True, False, False] * 10,
        }
    )
    ens = hpcore.load(df)
    for name in ens.table.columns:
        table_column = ens.table[name]
        mine = (
            table_column.cat.codes.to_numpy()
            if isinstance(table_column.dtype, pd.CategoricalDtype)
            else table_column.to_numpy()
        )
        for theirs in df.columns:
            column = df[theirs]
            data = (
                column.cat.codes.to_numpy()
                if isinstance(column.dtype, pd.CategoricalDtype)
                else column.to_numpy()
            )
            assert not np.shares_memory(mine, data), (name, theirs)


def test_no_finite_metric_is_a_clear_error_not_a_crash() -> None:
    # every row would be dropped (the integer column then crashed on its first
    # value, later every column was "all values missing"): the metric is named
    df = pd.DataFrame(
        {"a": [1, 2, 3], "b": ["x", "y", "x"], "accuracy": [np.inf, np.inf, -np.inf]}
    )
    with pytest.raises(MetricError, match=r"'accuracy' has no finite values"):
        hpcore.load(df)


def test_per_column_keeps_column_order_and_the_first_error() -> None:
    import time

    from hpcore.data.loading import per_column

    def work(name: str) -> str:
        time.sleep(0.02 if name == "a" else 0.0)  # "a" finishes last
        if name in ("b", "d"):
            raise KeyError(name)
        return name.upper()

    assert per_column(work, ["a", "c", "e"]) == ["A", "C", "E"]
    with pytest.raises(KeyError, match="b"):  # b comes before d
        per_column(work, ["a", "b", "c", "d"])


def test_options_errors_name_the_first_parameter_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hpcore.data import loading

    real = loading.make_options

    def failing(series: pd.Series, *args: object, **kwargs: object) -> object:
        if series.name in ("p2", "p1"):
            raise ValueError(f"cannot do {series.name}")
        return real(series, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "make_options", failing)
    n = 60
    df = pd.DataFrame(
        {f"p{i}": np.arange(n) % (i + 2) for i in range(4)}
        | {"test_acc": np.linspace(0.1, 0.9, n)}
    )
    with pytest.raises(ParameterError, match=r"parameter 'p1'.*cannot do p1"):
        hpcore.load(df, parameters=["p0", "p1", "p2", "p3"])


# ------------------------------------------- values no bin holds: inf and 0


def _counts(ens: hpcore.Ensemble, name: str) -> dict[str, int]:
    codes = ens.codes(name).to_numpy()
    return dict(zip(ens.options(name), np.bincount(codes).tolist(), strict=True))


def test_inf_gets_an_option_of_its_own_and_the_finite_values_their_bins() -> None:
    """One inf put every finite value in one bin '[0.00219, inf)' (exit 0,
    a numpy warning); -inf and inf together made a '[-inf, nan)' option.
    A gradient clip of inf (no clipping) is an option of its own."""
    rng = np.random.default_rng(8)
    lr = 10 ** rng.uniform(-4, -1, 60)
    frame = pd.DataFrame({"lr": lr, "opt": rng.choice(["a", "b"], 60)})
    frame["acc"] = rng.random(60)
    finite = hpcore.load(frame)
    frame.loc[[3, 9], "lr"] = [np.inf, -np.inf]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ens = hpcore.load(frame)
    options = list(ens.options("lr"))
    assert options[0] == "-inf" and options[-1] == "inf"
    counts = _counts(ens, "lr")
    assert counts["-inf"] == counts["inf"] == 1
    # the finite values are binned as they would be alone (58 of the 60)
    alone = hpcore.load(frame.drop(index=[3, 9]))
    assert options[1:-1] == list(alone.options("lr"))
    assert ens.binned["lr"] == alone.binned["lr"]
    assert sum(counts.values()) == 60
    assert len(finite.options("lr")) == 5


def test_zero_beside_log_spread_values_is_an_option_and_the_rest_log_bins() -> None:
    """A weight decay of 0 on 30% of the rows beside 1e-6 .. 1e-2 turned the
    bins linear: 357 of 400 rows in the first. Now 0 is an option and the
    others get the log bins they get without it."""
    rng = np.random.default_rng(9)
    decay = 10 ** rng.uniform(-6, -2, 400)
    decay[rng.random(400) < 0.3] = 0.0
    frame = pd.DataFrame({"weight_decay": decay, "opt": rng.choice(["a", "b"], 400)})
    frame["acc"] = rng.random(400)
    ens = hpcore.load(frame)
    without = hpcore.load(frame[frame["weight_decay"] > 0])
    assert list(ens.options("weight_decay")) == [
        "0",
        *without.options("weight_decay"),
    ]
    assert _counts(ens, "weight_decay")["0"] == int((decay == 0).sum())
    assert max(_counts(ens, "weight_decay").values()) < 0.4 * 400
    # a number of bins asked for: 0 apart, 4 log bins
    four = hpcore.load(frame, bins={"weight_decay": 4})
    assert four.options("weight_decay")[0] == "0"
    assert len(four.options("weight_decay")) == 5
    # values spread evenly from 0: equal widths, 0 in the first bin
    even = frame.assign(weight_decay=np.linspace(0.0, 100.0, 400))
    assert "0" not in hpcore.load(even).options("weight_decay")


def test_a_quote_left_open_in_a_csv_is_named_not_swallowing_rows(
    tmp_path: Path,
) -> None:
    """Two stray quotes made 14 of 40 rows one option holding 14 lines of
    CSV; the report said nothing was dropped."""
    rng = np.random.default_rng(10)
    lines = ["dataset,opt,bs,acc"]
    for i in range(40):
        opt = rng.choice(["sgd", "adam", "rms"])
        lines.append(f"{'ab'[i % 2]},{opt},{rng.choice([16, 64])},{rng.random():.4f}")
    lines[7] = 'b,"rms,64,0.0655'  # a quote opened here ...
    lines[21] = 'b,adam",16,0.7413'  # ... closed 14 lines later
    path = tmp_path / "quotes.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ColumnError, match=r"runs over \d+ lines.*stray '\"'") as err:
        hpcore.load(path)
    assert str(path) in str(err.value)
    # a Parquet file or a DataFrame may hold a label with a line break
    frame = pd.read_csv(path)
    assert (frame["opt"].str.contains("\n")).any()
    assert "\n" in "".join(hpcore.load(frame, metric="acc").options("opt"))


def test_integers_beyond_2_53_stay_distinct_options() -> None:
    """float64 merged 2**53 and 2**53 + 1 (hash buckets, 64-bit seeds): four
    options of 15 rows became three (30/15/15)."""
    big = 2**53 + np.arange(4, dtype=np.int64)
    frame = pd.DataFrame(
        {"bucket": np.repeat(big, 15), "opt": ["a", "b", "c"] * 20, "acc": range(60)}
    )
    ens = hpcore.load(frame, parameters=["bucket", "opt"])
    assert ens.options("bucket") == tuple(str(int(v)) for v in big)
    assert _counts(ens, "bucket") == {str(int(v)): 15 for v in big}


def test_a_group_of_one_row_per_value_is_refused_by_name() -> None:
    """`--group tag` on an identifier-like column warned about thousands of
    one-row groups, then said 'tag' is not a parameter."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "tag": [f"t{i}" for i in range(600)],
            "dataset": rng.choice(["a", "b"], 600),
            "opt": rng.choice(["x", "y"], 600),
            "acc": rng.random(600),
        }
    )
    with pytest.raises(ColumnError, match=r"^group 'tag': 600 distinct values in 600"):
        hpcore.load(frame, group="tag")
    frame["tag"] = [f"t{i // 2}" for i in range(600)]  # two rows each: allowed
    assert hpcore.load(frame, group="tag").group == "tag"


def test_rows_with_another_separator_than_the_header_are_named(tmp_path) -> None:
    """A header separated by ';' over rows separated by ',' read as a table
    with empty last columns: "metric column 'acc' has no values"."""
    path = tmp_path / "runs.csv"
    path.write_text("dataset;opt;acc\na,x,0.5\nb,y,0.6\n")
    with pytest.raises(DataSourceError) as err:
        hpcore.load(path)
    assert str(err.value) == (
        f"data file {str(path)!r}: the header has 3 fields separated by ';', but "
        "the first data row has 1 and also holds ','; write the file with one "
        "separator throughout"
    )
    # rows that leave an empty last column off are still read
    path.write_text("dataset,opt,acc,notes\na,x,0.5\nb,y,0.6\na,y,0.7\n")
    assert len(read_table(path)) == 3


def test_integers_spanning_all_of_int64_load_without_an_overflow_warning() -> None:
    import warnings

    frame = pd.DataFrame(
        {
            "seed": np.array([-(2**63), 2**63 - 1] * 10, dtype=np.int64),
            "opt": ["a", "b", "c", "d"] * 5,
            "test_accuracy": np.linspace(0.1, 0.9, 20),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow in scalar subtract"
        ens = hpcore.load(frame)
    assert list(ens.options("seed")) == [str(-(2**63)), str(2**63 - 1)]


@pytest.mark.parametrize(
    ("encoding", "match"),
    [
        ("utf-16", "is UTF-16 text (it starts with UTF-16's byte-order mark)"),
        ("latin-1", "is not UTF-8 text: byte 0xe1 cannot occur there in UTF-8"),
    ],
)
def test_a_table_not_in_utf8_is_named_with_its_encoding(
    tmp_path: Path, encoding: str, match: str
) -> None:
    # before: "'utf-8' codec can't decode byte 0xff in position 0"
    path = tmp_path / "t.csv"
    text = "opt,acc\n" + "".join(f"{o},{a}\n" for o, a in [("más", 0.5), ("b", 0.7)])
    path.write_bytes(text.encode(encoding))
    with pytest.raises(hpcore.HpcoreError, match=re.escape(match)) as err:
        hpcore.load(path)
    assert str(err.value).endswith("save it as UTF-8 (spreadsheets: CSV UTF-8)")
