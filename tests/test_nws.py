"""hpcore.data.nws: reading an NWS folder (split CSVs or meta.csv + error.bin)."""

from __future__ import annotations

import csv
import hashlib
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hpcore
from hpcore.data.errors import DataSourceError
from hpcore.data.nws import NwsWarning, read_error_bin, read_nws_folder

HP = [
    "dataset",
    "lrate",
    "batch_size",
    "batch_norm",
    "augmentation",
    "optimizer",
    "activation",
    "initialization",
    "filter_size",
    "depth_conv",
    "depth_fc",
    "width_conv",
    "width_fc",
]
# Labels written out by hand from the codebook (the oracle, not the module's maps).
OPT = ["ADAM", "RMSProp", "Momentum SGD"]
ACT = ["ReLU", "ELU", "Sigmoid", "TanH"]
INIT = ["Constant", "Random normal", "Glorot uniform", "Glorot normal"]

# dataset, lrate, batch, aug, opt, act, init, filter, dconv, dfc, wconv, wfc, test err
NETS = [
    ("mnist", 0.0002, 32, 0, 0, 0, 0, 3, 3, 2, 4, 64, 1.5),
    ("cifar10", 0.0005, 64, 1, 1, 1, 1, 5, 4, 3, 8, 128, 35.25),
    ("svhn", 0.001, 128, 0, 2, 2, 2, 7, 5, 4, 12, 192, 8.0),
    ("stl10", 0.0015, 256, 1, 0, 3, 3, 3, 3, 2, 4, 64, 52.5),
    ("fashion", 0.002, 32, 0, 1, 0, 1, 5, 4, 3, 8, 128, 9.75),
    ("mnist", 0.0025, 64, 1, 2, 1, 2, 7, 5, 4, 12, 192, 0.75),
    ("cifar10", 0.003, 128, 0, 0, 2, 3, 3, 3, 2, 4, 64, 90.0),
    ("svhn", 0.0035, 256, 1, 1, 3, 0, 5, 4, 3, 8, 128, 6.5),
    ("stl10", 0.004, 32, 0, 2, 0, 1, 7, 5, 4, 12, 192, 45.0),
    ("fashion", 0.0045, 64, 1, 0, 1, 2, 3, 3, 2, 4, 64, 11.25),
    ("cifar10", 0.0048, 128, 0, 1, 2, 3, 5, 4, 3, 8, 128, 28.5),
    ("mnist", 0.005, 256, 1, 2, 3, 0, 7, 5, 4, 12, 192, 1.0),
]
# 100 - last test error, by hand
ACCURACY = [98.5, 64.75, 92.0, 47.5, 90.25, 99.25, 10.0, 93.5, 55.0, 88.75, 71.5, 99.0]
TRAIN, TEST = list(range(8)), list(range(6, 12))  # networks 6 and 7 are in both
ORDER = [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]  # test CSV sorts first


def curve(k: int, test_error: float) -> np.ndarray:
    """A training curve of 2-4 epochs whose LAST test error is ``test_error``.

    The first epoch has a lower test error, so "best" and "last" differ.
    """
    n = 2 + k % 3
    rows = []
    for i in range(n):
        test = test_error if i == n - 1 else (test_error / 2 if i == 0 else 99.0)
        rows.append([100.0 * i, 50.0 - i, 60.0 - i, test, 55.0 - i])
    return np.array(rows, dtype=np.float64)


def write_network(folder: Path, k: int) -> None:
    folder.mkdir(parents=True)
    c = curve(k, NETS[k][-1])
    c.tofile(folder / "error.bin")
    np.array([len(c), c[-1, 0], 1.0, 12.5]).tofile(folder / "stat.bin")
    (folder / "weights").mkdir()
    np.arange(4, dtype=np.float64).tofile(folder / "weights" / "001.bin")


def split_frame(ks: list[int], path_of: Callable[[int], str]) -> pd.DataFrame:
    records = []
    for k in ks:
        d, lr, bs, aug, opt, act, init, fs, dc, dfc, wc, wfc, _ = NETS[k]
        hps = [d, lr, bs, True, aug, opt, act, init, fs, dc, dfc, wc, wfc]
        records.append([*hps, 1000 + k, 500 + k, path_of(k)])
    return pd.DataFrame(records, columns=[*HP, "weightn_conv", "weightn_fc", "path"])


def build_nws(root: Path) -> Path:
    """12 networks under nets/, train CSV with relative paths, test CSV absolute."""
    root.mkdir(parents=True, exist_ok=True)
    for k in range(12):
        write_network(root / "nets" / f"{k + 1:04d}", k)
    split_frame(TRAIN, lambda k: f"nets/{k + 1:04d}").to_csv(
        root / "nws_main_train.csv", index=False
    )
    split_frame(TEST, lambda k: str(root / "nets" / f"{k + 1:04d}")).to_csv(
        root / "nws_main_test.csv", index=False
    )
    return root


def expected(order: list[int]) -> pd.DataFrame:
    """The reader's output for networks ``order``, built by hand."""
    cols: dict[str, list[object]] = {name: [] for name in [*HP, "test_accuracy"]}
    for k in order:
        d, lr, bs, aug, opt, act, init, fs, dc, dfc, wc, wfc, _ = NETS[k]
        values = [d, lr, bs, True, bool(aug), OPT[opt], ACT[act], INIT[init]]
        values += [fs, dc, dfc, wc, wfc, ACCURACY[k]]
        for name, v in zip(cols, values, strict=True):
            cols[name].append(v)
    ds = ["mnist", "cifar10", "svhn", "stl10", "fashion"]
    return pd.DataFrame(
        {
            "dataset": pd.Categorical(cols["dataset"], categories=ds, ordered=True),
            "lrate": np.array(cols["lrate"], dtype=np.float64),
            **{
                c: np.array(cols[c], dtype=np.int64)
                for c in ["batch_size", "filter_size", "depth_conv", "depth_fc"]
            },
            "batch_norm": np.array(cols["batch_norm"], dtype=bool),
            "augmentation": np.array(cols["augmentation"], dtype=bool),
            "optimizer": pd.Categorical(
                cols["optimizer"], categories=OPT, ordered=True
            ),
            "activation": pd.Categorical(
                cols["activation"], categories=ACT, ordered=True
            ),
            "initialization": pd.Categorical(
                cols["initialization"], categories=INIT, ordered=True
            ),
            "width_conv": np.array(cols["width_conv"], dtype=np.int64),
            "width_fc": np.array(cols["width_fc"], dtype=np.int64),
            "test_accuracy": np.array(cols["test_accuracy"], dtype=np.float64),
        }
    )[[*HP, "test_accuracy"]]


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder below ``root`` with the SHA-256 of each file."""
    return {
        str(p.relative_to(root)): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        )
        for p in sorted(root.rglob("*"))
    }


@contextmanager
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture
def nws(tmp_path: Path) -> Path:
    return build_nws(tmp_path / "nws")


# --- the split-CSV layout -------------------------------------------------------


def test_values_labels_and_types_by_hand(nws: Path) -> None:
    before = snapshot(nws)
    with no_warnings():
        df = read_nws_folder(nws)
    assert snapshot(nws) == before
    pd.testing.assert_frame_equal(df, expected(ORDER))
    assert list(df.columns) == [*HP, "test_accuracy"]  # no path, no weightn_*
    assert isinstance(df.index, pd.RangeIndex)
    # spot checks written out in full
    first = df.iloc[0]
    assert (first["dataset"], first["optimizer"], first["activation"]) == (
        "cifar10",
        "ADAM",
        "Sigmoid",
    )
    assert first["initialization"] == "Glorot normal"
    assert first["test_accuracy"] == 100.0 - 90.0
    assert df["test_accuracy"].tolist()[-1] == 100.0 - 0.75


def test_accuracy_is_from_the_last_epoch_not_the_best(tmp_path: Path) -> None:
    root = build_nws(tmp_path / "n")
    c = read_error_bin(root / "nets" / "0002" / "error.bin")
    assert c.shape == (3, 5)
    assert c[:, 3].tolist() == [35.25 / 2, 99.0, 35.25]
    df = read_nws_folder(root)
    assert df.loc[ORDER.index(1), "test_accuracy"] == 64.75


def test_network_in_two_splits_is_kept_once(nws: Path) -> None:
    df = read_nws_folder(nws)
    assert len(df) == 12  # 8 + 6 listed, networks 6 and 7 twice (relative + absolute)
    assert df["lrate"].tolist().count(0.003) == 1


def test_duplicate_with_other_hyperparameters_is_an_error(nws: Path) -> None:
    test = pd.read_csv(nws / "nws_main_test.csv")
    test.loc[0, "optimizer"] = 2  # network 6 is ADAM in the train CSV
    test.to_csv(nws / "nws_main_test.csv", index=False)
    with pytest.raises(
        DataSourceError,
        match=r"network 'nets/0007' is listed twice with different hyper-parameters "
        r"\(\['optimizer'\]\): "
        r".*nws_main_test.csv' line 2 and .*nws_main_train.csv' line 8",
    ):
        read_nws_folder(nws)


def test_index_column_extra_columns_and_spaces_are_tolerated(nws: Path) -> None:
    train = pd.read_csv(nws / "nws_main_train.csv")
    train.insert(14, "note", "x")
    train.to_csv(nws / "nws_main_train.csv")  # leading unnamed index column
    test = pd.read_csv(nws / "nws_main_test.csv").drop(columns="weightn_fc")
    lines = test.to_csv(index=False).splitlines()
    body = [f"{i},{line}" for i, line in enumerate(lines[1:])]  # implicit index
    header = ", ".join(lines[0].split(","))  # "dataset, lrate, ..."
    (nws / "nws_main_test.csv").write_text("\n".join([header, *body]) + "\n")
    pd.testing.assert_frame_equal(read_nws_folder(nws), expected(ORDER))


def test_other_csvs_are_not_split_csvs(nws: Path) -> None:
    pd.DataFrame(
        {"column": ["optimizer"], "code": [0], "label": ["ADAM"], "notes": [""]}
    ).to_csv(nws / "nws_codebook.csv", index=False)
    (nws / "empty.csv").write_text("")
    (nws / "listing.csv").write_text("path,comment\nnets/0001,has path only\n")
    pd.testing.assert_frame_equal(read_nws_folder(nws), expected(ORDER))


def test_labels_and_boolean_spellings_are_accepted(tmp_path: Path) -> None:
    root = tmp_path / "n"
    for k in (0, 1, 2):
        write_network(root / f"{k}", k)
    df = split_frame([0, 1, 2], str)
    df["dataset"] = df["dataset"].astype(object)
    df["optimizer"] = df["optimizer"].astype(object)
    df["augmentation"] = df["augmentation"].astype(object)
    df.loc[0, "dataset"] = "MNIST"
    df.loc[1, "dataset"] = " CIFAR-10 "
    df.loc[2, "dataset"] = "pascal"  # unknown names are kept, after the codebook
    df.loc[0, "optimizer"] = "rmsprop"
    df.loc[1, "optimizer"] = "2.0"
    df.loc[:, "augmentation"] = ["False", "true", "1"]
    df.to_csv(root / "split.csv", index=False)
    out = read_nws_folder(root)
    assert out["dataset"].tolist() == ["mnist", "cifar10", "pascal"]
    assert list(out["dataset"].cat.categories)[-1] == "pascal"
    assert out["optimizer"].tolist() == ["RMSProp", "Momentum SGD", "Momentum SGD"]
    assert out["augmentation"].tolist() == [False, True, True]


def test_moved_absolute_paths_are_found_under_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "downloaded"
    for k in range(4):
        write_network(root / "nws_main" / f"{k + 1:04d}", k)
    write_network(root / "0001", 11)  # a decoy: the longer match wins
    old = "/mnt/raid/dnn_weights/output/nws_main"
    paths = {
        0: f"{old}/0001",
        1: f"{old}/0002/",
        2: "D:\\nws\\nws_main\\0003",
        3: "nws_main/0004",
    }
    split_frame([0, 1, 2, 3], paths.__getitem__).to_csv(root / "s.csv", index=False)
    before = snapshot(root)
    out = read_nws_folder(root)
    assert out["test_accuracy"].tolist() == ACCURACY[:4]
    assert snapshot(root) == before


def test_paths_relative_to_a_parent_are_found(tmp_path: Path) -> None:
    # the CSV names nws_main/000k, but the user points at the nws_main folder
    root = tmp_path / "nws_main"
    for k in range(3):
        write_network(root / f"{k + 1:04d}", k)
    split_frame([0, 1, 2], lambda k: f"nws_main/{k + 1:04d}").to_csv(
        root / "s.csv", index=False
    )
    assert read_nws_folder(root)["test_accuracy"].tolist() == ACCURACY[:3]


# --- missing or empty curves: NaN, a warning, and hpcore.load drops them ---------


def test_missing_and_empty_error_bin_give_nan_and_a_warning(nws: Path) -> None:
    (nws / "nets" / "0001" / "error.bin").unlink()  # network 0
    (nws / "nets" / "0003" / "error.bin").write_bytes(b"")  # network 2
    with pytest.warns(
        NwsWarning,
        match=r"2 of 12 networks have no test accuracy \(1 no error.bin, e.g. "
        r"'nets/0001' from .*nws_main_train.csv' line 2; 1 empty error.bin",
    ):
        df = read_nws_folder(nws)
    acc = df["test_accuracy"].to_numpy()
    want = np.array([ACCURACY[k] for k in ORDER])
    want[[ORDER.index(0), ORDER.index(2)]] = np.nan
    np.testing.assert_array_equal(acc, want)
    with pytest.warns(NwsWarning):
        ens = hpcore.load(nws)
    assert dict(ens.dropped) == {"missing metric 'test_accuracy'": 2}
    assert len(ens.table) == 10


def test_the_command_says_the_warning_in_one_line(
    nws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hpcore.app.cli import main

    (nws / "nets" / "0001" / "error.bin").unlink()
    assert main(["report", str(nws), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if "no test accuracy" in x]
    assert len(lines) == 1, err
    assert lines[0].startswith("hpexplorer: warning: NWS folder ")
    assert "NwsWarning" not in err and "read_nws_folder(" not in err


def test_nan_test_error_and_missing_folder_give_nan(nws: Path) -> None:
    c = curve(4, 9.75)
    c[-1, 3] = np.nan
    c.tofile(nws / "nets" / "0005" / "error.bin")
    train = pd.read_csv(nws / "nws_main_train.csv")
    train.loc[5, "path"] = "/nowhere/at/all"
    train.to_csv(nws / "nws_main_train.csv", index=False)
    with pytest.warns(NwsWarning) as record:
        df = read_nws_folder(nws)
    message = str(record[0].message)
    assert "1 last test error is NaN in error.bin" in message
    assert "1 network folder not found, e.g. '/nowhere/at/all'" in message
    assert df["test_accuracy"].isna().sum() == 2


# --- the meta.csv layout ----------------------------------------------------------


def write_meta(folder: Path, k: int) -> None:
    """meta.csv as classifier.py writes it (csv.writer, Python bools)."""
    d, lr, bs, aug, opt, act, init, fs, dc, dfc, wc, wfc, _ = NETS[k]
    with (folder / "meta.csv").open("w", newline="") as f:
        w = csv.writer(f, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL)
        w.writerow(HP)
        w.writerow([d, lr, bs, True, bool(aug), opt, act, init, fs, dc, dfc, wc, wfc])


def test_meta_csv_layout(tmp_path: Path) -> None:
    root = tmp_path / "output"
    for k in range(12):
        net = root / "runs" / f"{k + 1:04d}"
        write_network(net, k)
        write_meta(net, k)
    write_network(root / "runs" / "9999", 3)  # error.bin but no meta.csv: ignored
    (root / "README.csv").write_text("a,b\n1,2\n")  # not a split CSV
    before = snapshot(root)
    with no_warnings():
        df = read_nws_folder(root)
    assert snapshot(root) == before
    pd.testing.assert_frame_equal(df, expected(list(range(12))))


def test_meta_csv_without_error_bin_is_nan(tmp_path: Path) -> None:
    root = tmp_path / "output"
    for k in range(3):
        write_network(root / f"{k}", k)
        write_meta(root / f"{k}", k)
    (root / "1" / "error.bin").unlink()
    with pytest.warns(NwsWarning, match="1 of 3 networks"):
        df = read_nws_folder(root)
    assert df["test_accuracy"].isna().tolist() == [False, True, False]


def test_meta_csv_search_stops_at_network_folders_and_depth(tmp_path: Path) -> None:
    root = tmp_path / "output"
    for k in range(3):
        write_network(root / f"{k}", k)
        write_meta(root / f"{k}", k)
    write_meta(root / "0" / "weights", 5)  # inside a network folder: not a network
    deep = root / "a" / "b" / "c" / "d" / "e"  # five levels down: not searched
    write_network(deep, 6)
    write_meta(deep, 6)
    df = read_nws_folder(root)
    assert df["test_accuracy"].tolist() == ACCURACY[:3]


def test_split_csvs_take_precedence_over_meta_csv(nws: Path) -> None:
    extra = nws / "unlisted" / "0099"
    write_network(extra, 0)
    write_meta(extra, 0)
    assert len(read_nws_folder(nws)) == 12


# --- end to end through hpcore.load -------------------------------------------------


def test_load_end_to_end(nws: Path) -> None:
    before = snapshot(nws)
    with no_warnings():
        ens = hpcore.load(nws)
    assert snapshot(nws) == before
    assert ens.metric == "test_accuracy"
    assert ens.group == "dataset"
    assert ens.source == str(nws)
    assert ens.parameters[0] == "dataset"
    assert ens.options("dataset") == ("mnist", "cifar10", "svhn", "stl10", "fashion")
    assert "constant" in ens.excluded["batch_norm"]
    assert "batch_norm" not in ens.parameters
    assert ens.options("optimizer") == ("ADAM", "RMSProp", "Momentum SGD")
    assert ens.options("activation") == ("ReLU", "ELU", "Sigmoid", "TanH")
    assert ens.options("initialization") == tuple(INIT)
    assert ens.options("augmentation") == ("False", "True")
    assert ens.options("batch_size") == ("32", "64", "128", "256")
    # lrate spans 0.0002..0.005 (ratio 25): five equal-width bins
    np.testing.assert_allclose(ens.binned["lrate"], np.linspace(0.0002, 0.005, 6))
    assert ens.codes("lrate").value_counts().sort_index().tolist() == [3, 2, 2, 2, 3]

    ens = hpcore.normalize(ens)
    norm = dict(zip(ens.table["test_accuracy"], ens.table["normalized"], strict=True))
    assert norm[98.5] == 0.0 and norm[99.25] == 1.0  # mnist: 98.5, 99.25, 99
    assert norm[99.0] == pytest.approx(0.5 / 0.75)
    assert norm[10.0] == 0.0 and norm[71.5] == 1.0  # cifar10: 64.75, 10, 71.5
    sel = hpcore.select(ens, range=(0.9, 1.0))
    assert sel.count == 5  # the best network of each data set
    pairs = hpcore.pair_counts(ens, sel)
    assert (pairs.groupby(["param_a", "param_b"])["count"].sum() == 5).all()
    hist = hpcore.histogram(ens)
    assert hist["count"].sum() == 12


# --- bad input ---------------------------------------------------------------------


def _edit_csv(
    name: str, row: int, column: str, value: object
) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        df = pd.read_csv(root / name, dtype=str)
        df.loc[row, column] = value
        df.to_csv(root / name, index=False)

    return edit


def _empty_folder(root: Path) -> None:
    for p in sorted(root.rglob("*"), reverse=True):
        if p.is_file():
            p.unlink()
        else:
            p.rmdir()
    (root / "notes.csv").write_text("x,y\n1,2\n")


def _all_error_bins_gone(root: Path) -> None:
    for p in root.rglob("error.bin"):
        p.unlink()


def _different_columns(root: Path) -> None:
    df = pd.read_csv(root / "nws_main_test.csv").drop(columns="width_fc")
    df.to_csv(root / "nws_main_test.csv", index=False)


def _odd_size(root: Path) -> None:
    (root / "nets" / "0003" / "error.bin").write_bytes(np.zeros(6).tobytes())


def _test_error_out_of_range(root: Path) -> None:
    c = curve(2, 8.0)
    c[-1, 3] = 250.0
    c.tofile(root / "nets" / "0003" / "error.bin")


def _meta_only(root: Path, content: str) -> None:
    _empty_folder(root)
    (root / "notes.csv").unlink()
    write_network(root / "0001", 0)
    (root / "0001" / "meta.csv").write_text(content)


ALLOWED_OPT = r"allowed codes: 0 \('ADAM'\), 1 \('RMSProp'\), 2 \('Momentum SGD'\)"
BAD_INPUT = [
    (
        _empty_folder,
        r"NWS folder '.*': no split CSV \(a top-level \*.csv with columns \['path', "
        r"'dataset', 'lrate', 'optimizer'\]\) and no network folder with meta.csv "
        r".*top-level CSVs: \['notes.csv'\]",
    ),
    (
        _edit_csv("nws_main_train.csv", 1, "optimizer", "7"),
        r"nws_main_train.csv' line 3: column 'optimizer' has value '7'; " + ALLOWED_OPT,
    ),
    (
        _edit_csv("nws_main_train.csv", 0, "optimizer", "Adagrad"),
        r"line 2: column 'optimizer' has value 'Adagrad'; " + ALLOWED_OPT,
    ),
    (
        _edit_csv("nws_main_test.csv", 2, "activation", "1.5"),
        r"nws_main_test.csv' line 4: column 'activation' has value '1.5'; allowed "
        r"codes: 0 \('ReLU'\), 1 \('ELU'\), 2 \('Sigmoid'\), 3 \('TanH'\)",
    ),
    (
        _edit_csv("nws_main_test.csv", 0, "initialization", "-1"),
        r"column 'initialization' has value '-1'; allowed codes: 0 \('Constant'\)",
    ),
    (
        _edit_csv("nws_main_train.csv", 4, "augmentation", "maybe"),
        r"line 6: column 'augmentation' has value 'maybe'; expected 0/1 or False/True",
    ),
    (
        _edit_csv("nws_main_train.csv", 4, "batch_norm", "2"),
        r"column 'batch_norm' has value '2'; expected 0/1 or False/True",
    ),
    (
        _edit_csv("nws_main_train.csv", 3, "lrate", "fast"),
        r"line 5: column 'lrate' has value 'fast'; expected a number",
    ),
    (
        _edit_csv("nws_main_train.csv", 3, "lrate", "inf"),
        r"column 'lrate' has value 'inf'; expected a finite number",
    ),
    (
        _edit_csv("nws_main_train.csv", 2, "width_fc", None),
        r"nws_main_train.csv' line 4: column 'width_fc' has no value",
    ),
    (
        _edit_csv("nws_main_train.csv", 2, "path", None),
        r"nws_main_train.csv' line 4: column 'path' is empty",
    ),
    (
        _different_columns,
        r"split CSVs have different hyper-parameter columns: .*nws_main_test.csv' "
        r"has \[.*'width_conv'\], .*nws_main_train.csv' has \[.*'width_fc'\]",
    ),
    (
        _odd_size,
        r"error.bin '.*0003/error.bin': 48 bytes is not a whole number of rows of "
        r"5 float64 values \(40 bytes each\)",
    ),
    (
        _test_error_out_of_range,
        r"error.bin '.*0003/error.bin': last test error 250 lies outside \[0, 100\]",
    ),
    (
        _all_error_bins_gone,
        r"none of the 12 networks has a test accuracy \(12 no error.bin, e.g. "
        r"'/.*' from .*nws_main_test.csv' line 2\)",
    ),
    (
        lambda root: _meta_only(
            root, "dataset,lrate,optimizer\nmnist,0.1,0\nsvhn,1,1\n"
        ),
        r"meta.csv '.*0001/meta.csv': expected a header row and one data row; "
        r"found 3 non-empty row\(s\)",
    ),
    (
        lambda root: _meta_only(root, "dataset,optimizer\nmnist,0\n"),
        r"meta.csv '.*': missing column\(s\) \['lrate'\]",
    ),
    (
        lambda root: _meta_only(root, "dataset,lrate,optimizer\nmnist,0.1\n"),
        r"meta.csv '.*': the data row has 2 values, the header 3 names",
    ),
    (
        lambda root: _meta_only(root, "dataset,lrate,optimizer\nmnist,0.1,3\n"),
        r"meta.csv' line 2: column 'optimizer' has value '3'; " + ALLOWED_OPT,
    ),
]


@pytest.mark.parametrize(("mutate", "match"), BAD_INPUT)
def test_bad_input_one_clear_error(
    tmp_path: Path, mutate: Callable[[Path], None], match: str
) -> None:
    root = build_nws(tmp_path / "nws")
    mutate(root)
    before = snapshot(root)
    with pytest.raises(DataSourceError, match=match):
        read_nws_folder(root)
    with pytest.raises(DataSourceError, match=match):
        hpcore.load(root)
    assert snapshot(root) == before


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"NWS folder '.*x.bin' is not a folder"):
        read_nws_folder(tmp_path / "x.bin")


def test_meta_csvs_with_different_columns(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for k in range(2):
        write_network(root / f"{k}", k)
        write_meta(root / f"{k}", k)
    (root / "1" / "meta.csv").write_text("dataset,lrate,optimizer\nmnist,0.1,0\n")
    with pytest.raises(
        DataSourceError,
        match=r"meta.csv '.*1/meta.csv' has the hyper-parameter columns "
        r"\['dataset', 'lrate', 'optimizer'\]; '.*0/meta.csv' has \['dataset'",
    ):
        read_nws_folder(root)


# --- invariant ------------------------------------------------------------------


@given(
    st.lists(
        st.lists(
            st.floats(0, 100, allow_nan=False), min_size=1, max_size=6
        ),  # test errors per epoch
        min_size=1,
        max_size=4,
    )
)
def test_accuracy_is_100_minus_the_last_test_error(errors: list[list[float]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, per_epoch in enumerate(errors):
            net = root / f"{k}"
            net.mkdir()
            c = np.zeros((len(per_epoch), 5))
            c[:, 3] = per_epoch
            c[:, 1] = 200.0  # other columns are not read
            c.tofile(net / "error.bin")
            write_meta(net, k)
        df = read_nws_folder(root)
    want = [100.0 - e[-1] for e in errors]
    assert df["test_accuracy"].tolist() == want
