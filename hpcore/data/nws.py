"""Reading a Neural Weight Space (NWS) data-set folder into an ensemble table.

The NWS data set (Eilertsen et al., "Classifying the classifier: dissecting the
weight space of neural networks", ECAI 2020) is distributed as a folder of
split CSVs (``nws_main_train.csv``, ``nws_main_test.csv``, ...) plus one folder
per trained network. The CSVs hold the 13 hyper-parameters (:data:`HYPERPARAMETERS`),
``weightn_conv``, ``weightn_fc`` and ``path``, the network's folder. Each network
folder holds ``error.bin``: float64 values, row-major ``[epochs, 5]`` with
columns step, train error %, validation error %, test error %, smoothed
validation error %. The test accuracy of a network is ``100 - test error`` of
the last epoch row.

Networks trained with the data set's ``classifier.py`` but not (yet) listed in
split CSVs are read from their own ``meta.csv`` (a header row and one data row
of the 13 hyper-parameters) next to ``error.bin``.

Integer codes become the labels of the data set's training script
(:data:`OPTIMIZERS`, :data:`ACTIVATIONS`, :data:`INITIALIZATIONS`); data-set
names stay the short codes (``mnist``, ``cifar10``, ``svhn``, ``stl10``,
``fashion``). Files are only read, never written.
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataSourceError
from .sources.common import Epoch, parse_epoch
from .validation import fmt_list

#: The hyper-parameter columns, in the order of the split CSVs and ``meta.csv``.
HYPERPARAMETERS: tuple[str, ...] = (
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
)
#: Name of the metric column the reader adds.
METRIC = "test_accuracy"
#: Columns a top-level CSV must have (any case) to count as a split CSV.
SPLIT_CSV_COLUMNS: tuple[str, ...] = ("path", "dataset", "lrate", "optimizer")
#: Columns a per-network ``meta.csv`` must have (any case).
META_CSV_COLUMNS: tuple[str, ...] = ("dataset", "lrate", "optimizer")
#: File name of the per-network training curve.
ERROR_FILE = "error.bin"
#: File name of the per-network hyper-parameter record written by classifier.py.
META_FILE = "meta.csv"
#: Values per epoch row of ``error.bin`` and the column holding the test error %.
ERROR_COLUMNS = 5
TEST_ERROR_COLUMN = 3
#: How many folder levels below the data-set folder are searched for meta.csv.
MAX_SCAN_DEPTH = 4

#: Data-set code -> readable name; the codes are kept, the names are also accepted.
DATASETS: Mapping[str, str] = {
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "svhn": "SVHN",
    "stl10": "STL-10",
    "fashion": "Fashion-MNIST",
}
#: ``optimizer`` code -> label (classifier.py: Adam, RMSProp, Momentum 0.95).
OPTIMIZERS: Mapping[int, str] = {0: "ADAM", 1: "RMSProp", 2: "Momentum SGD"}
#: ``activation`` code -> label.
ACTIVATIONS: Mapping[int, str] = {0: "ReLU", 1: "ELU", 2: "Sigmoid", 3: "TanH"}
#: ``initialization`` code -> label.
INITIALIZATIONS: Mapping[int, str] = {
    0: "Constant",
    1: "Random normal",
    2: "Glorot uniform",
    3: "Glorot normal",
}
#: Coded columns and their code -> label maps.
CODED: Mapping[str, Mapping[int, str]] = {
    "optimizer": OPTIMIZERS,
    "activation": ACTIVATIONS,
    "initialization": INITIALIZATIONS,
}
#: Columns stored as 0/1 or False/True.
BOOLEAN: tuple[str, ...] = ("batch_norm", "augmentation")
#: Integer-valued columns (kept as int64 when every value is a whole number).
INTEGER: tuple[str, ...] = (
    "batch_size",
    "filter_size",
    "depth_conv",
    "depth_fc",
    "width_conv",
    "width_fc",
)

_TRUE = frozenset({"true", "1", "1.0"})
_FALSE = frozenset({"false", "0", "0.0"})
_SEPARATORS = re.compile(r"[\\/]+")


class NwsWarning(UserWarning):
    """Some networks of an NWS folder have no test accuracy (see the message)."""


@dataclass(frozen=True)
class _Origin:
    """Where a row came from, for error messages."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{str(self.file)!r} line {self.line}"


@dataclass
class _Rows:
    """Raw (text) hyper-parameter values of the listed networks."""

    columns: tuple[str, ...]
    values: dict[str, list[str | None]] = field(default_factory=dict)
    origins: list[_Origin] = field(default_factory=list)
    folders: list[Path | None] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def read_nws_folder(path: Path, epoch: Epoch | int | str | None = None) -> pd.DataFrame:
    """Read an NWS data-set folder into one row per trained network.

    Parameters
    ----------
    path : pathlib.Path
        The data-set folder. Either it holds split CSVs at its top level
        (``*.csv`` files whose header has the columns ``path``, ``dataset``,
        ``lrate`` and ``optimizer``, any case; other CSVs are ignored), or, when
        it holds none, network folders (searched up to :data:`MAX_SCAN_DEPTH`
        levels down) each with a ``meta.csv`` and an ``error.bin``.

    Returns
    -------
    pandas.DataFrame
        One row per network, in the order of first appearance (split CSVs in
        file-name order), a ``RangeIndex``, and the columns of
        :data:`HYPERPARAMETERS` that the files have, then ``test_accuracy``:

        - ``dataset``: ordered Categorical of the data-set codes (codebook
          order ``mnist, cifar10, svhn, stl10, fashion``, then unknown names as
          found); readable names such as ``CIFAR-10`` are mapped to their code.
        - ``optimizer``, ``activation``, ``initialization``: ordered
          Categorical of the labels in code order (codes or labels accepted).
        - ``batch_norm``, ``augmentation``: bool (0/1, True/False accepted).
        - ``lrate``: float64; the other columns int64 (float64 if a value is
          not a whole number).
        - ``test_accuracy``: float64, ``100 -`` the test error % of the last
          row of ``error.bin``; NaN when the network folder or its
          ``error.bin`` is missing, ``error.bin`` is empty or its last test
          error is NaN. :func:`hpcore.load` drops such rows and counts them as
          a missing metric; a :class:`NwsWarning` says how many and why.

        With ``epoch`` (:func:`hpcore.data.sources.common.parse_epoch`), the
        test accuracy of another row of ``error.bin``: a number N takes row N
        (row 0 is evaluated before the first training step, row N after N
        epochs; networks with fewer rows get NaN), ``"best"`` / ``"max"`` the
        highest and ``"min"`` the lowest test accuracy of all rows.

        ``weightn_conv``, ``weightn_fc``, ``path`` and any other column are
        left out: ``path`` identifies a network and is no hyper-parameter, and
        in a small folder :func:`hpcore.load` could not tell it from one.
        A network listed in several split CSVs (same network folder) is kept
        once.

    Raises
    ------
    DataSourceError
        No split CSV and no network folder with ``meta.csv``; a split CSV or
        ``meta.csv`` that cannot be read, lacks a value, has an unknown code
        (the message names the file, line, column, value and the allowed codes)
        or disagrees with another about a network's hyper-parameters; split
        CSVs with different hyper-parameter columns; an ``error.bin`` whose
        size is not a whole number of rows of 5 float64 values, or whose last
        test error lies outside [0, 100]; no listed network has an
        ``error.bin`` at all.

    Notes
    -----
    ``path`` is resolved against the data-set folder when relative. When it
    does not exist (the data were moved), its trailing components are tried
    under the data-set folder, longest first: ``/mnt/raid/out/nws_main/0001``
    is found as ``<folder>/nws_main/0001`` or ``<folder>/0001``.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from pathlib import Path
    >>> from hpcore.data.nws import read_nws_folder
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "0001").mkdir()
    >>> np.array([[0, 50, 50, 40, 50], [1, 20, 20, 12.5, 20]]).tofile(
    ...     root / "0001" / "error.bin")
    >>> pd.DataFrame({"dataset": ["svhn"], "lrate": [0.001], "optimizer": [2],
    ...               "path": ["0001"]}).to_csv(root / "nws_train.csv", index=False)
    >>> df = read_nws_folder(root)
    >>> df["optimizer"].tolist(), df["test_accuracy"].tolist()
    (['Momentum SGD'], [87.5])
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataSourceError(f"NWS folder {str(folder)!r} is not a folder")
    splits = _split_csvs(folder)
    rows = _read_split_csvs(folder, splits) if splits else _scan_meta_csvs(folder)
    table = _convert(rows)
    keep = _first_of_each_network(table, rows)
    when = epoch if isinstance(epoch, Epoch) else parse_epoch(epoch)
    accuracy = _accuracies(folder, rows, keep, when)
    table = table.iloc[keep].reset_index(drop=True)
    table[METRIC] = accuracy
    return table


# --- finding and reading the listings ---------------------------------------


def _lower_map(columns: Sequence[object]) -> dict[str, str]:
    """Lower-cased, stripped name -> actual column name (first one wins)."""
    out: dict[str, str] = {}
    for c in columns:
        out.setdefault(str(c).strip().lower(), str(c))
    return out


def _split_csvs(folder: Path) -> list[tuple[Path, dict[str, str]]]:
    """Top-level split CSVs with their canonical -> actual column names."""
    found = []
    csvs = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv"
    )
    for p in csvs:
        try:
            header = pd.read_csv(p, nrows=0, skipinitialspace=True).columns
        except pd.errors.EmptyDataError:
            continue
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
            raise DataSourceError(
                f"NWS folder {str(folder)!r}: CSV file {str(p)!r} could not be "
                f"read: {err}"
            ) from err
        names = _lower_map(list(header))
        if all(c in names for c in SPLIT_CSV_COLUMNS):
            wanted = ("path", *HYPERPARAMETERS)
            found.append((p, {c: names[c] for c in wanted if c in names}))
    return found


def _read_split_csvs(folder: Path, splits: list[tuple[Path, dict[str, str]]]) -> _Rows:
    first_file, first_cols = splits[0]
    columns = tuple(c for c in HYPERPARAMETERS if c in first_cols)
    for p, cols in splits[1:]:
        other = tuple(c for c in HYPERPARAMETERS if c in cols)
        if other != columns:
            raise DataSourceError(
                f"NWS folder {str(folder)!r}: split CSVs have different "
                f"hyper-parameter columns: {str(first_file)!r} has "
                f"{fmt_list(columns)}, {str(p)!r} has {fmt_list(other)}"
            )
    rows = _Rows(columns=columns, values={c: [] for c in columns})
    cache: dict[tuple[str, ...], int] = {}
    for p, cols in splits:
        try:
            df = pd.read_csv(p, dtype=str, skipinitialspace=True)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
            raise DataSourceError(
                f"split CSV {str(p)!r} could not be read: {err}"
            ) from err
        raw_paths = df[cols["path"]].tolist()
        for i, raw in enumerate(raw_paths):
            origin = _Origin(p, i + 2)
            text = _text(raw)
            if text is None:
                raise DataSourceError(
                    f"split CSV {origin}: column 'path' is empty; "
                    "expected the network's folder"
                )
            rows.origins.append(origin)
            rows.paths.append(text)
            rows.folders.append(_resolve(folder, text, cache))
        for c in columns:
            rows.values[c].extend(_text(v) for v in df[cols[c]].tolist())
    if not rows.origins:
        raise DataSourceError(
            f"NWS folder {str(folder)!r}: the split CSVs "
            f"{fmt_list(str(p.name) for p, _ in splits)} have no rows"
        )
    return rows


def _text(value: object) -> str | None:
    """Stripped text of a cell, None when missing or blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _resolve(folder: Path, raw: str, cache: dict[tuple[str, ...], int]) -> Path | None:
    """The network folder ``raw`` names, or None when it cannot be found.

    ``cache`` maps a path's parent components to the number of trailing
    components that worked for a sibling, so a moved tree costs one search.
    """
    direct = Path(raw)
    direct = direct if direct.is_absolute() else folder / direct
    if direct.is_dir():
        return direct
    parts = tuple(p for p in _SEPARATORS.split(raw) if p and not p.endswith(":"))
    if not parts:
        return None
    parent = parts[:-1]
    tries = list(range(len(parts), 0, -1))
    if parent in cache:
        tries.insert(0, cache[parent])
    for k in tries:
        candidate = folder.joinpath(*parts[-k:])
        if candidate.is_dir():
            cache[parent] = k
            return candidate
    return None


def _scan_meta_csvs(folder: Path) -> _Rows:
    """Network folders below ``folder`` that hold a ``meta.csv``."""
    metas: list[Path] = []
    for here, dirs, files in os.walk(folder):
        depth = len(Path(here).relative_to(folder).parts)
        if META_FILE in files:
            metas.append(Path(here) / META_FILE)
            dirs[:] = []  # a network folder: its weights/ need no search
        elif depth >= MAX_SCAN_DEPTH:
            dirs[:] = []
        dirs.sort()
    if not metas:
        csvs = sorted(p.name for p in folder.glob("*.csv"))
        raise DataSourceError(
            f"NWS folder {str(folder)!r}: no split CSV (a top-level *.csv with "
            f"columns {fmt_list(SPLIT_CSV_COLUMNS)}) and no network folder with "
            f"{META_FILE} (searched {MAX_SCAN_DEPTH} levels down); "
            f"top-level CSVs: {fmt_list(csvs) if csvs else 'none'}"
        )
    rows: _Rows | None = None
    for meta in metas:
        header, data = _read_meta_csv(meta)
        names = _lower_map(header)
        columns = tuple(c for c in HYPERPARAMETERS if c in names)
        if rows is None:
            rows = _Rows(columns=columns, values={c: [] for c in columns})
        elif columns != rows.columns:
            raise DataSourceError(
                f"{META_FILE} {str(meta)!r} has the hyper-parameter columns "
                f"{fmt_list(columns)}; {str(rows.origins[0].file)!r} has "
                f"{fmt_list(rows.columns)}"
            )
        position = {h.strip().lower(): i for i, h in reversed(list(enumerate(header)))}
        for c in columns:
            rows.values[c].append(_text(data[position[c]]))
        rows.origins.append(_Origin(meta, 2))
        rows.folders.append(meta.parent)
        rows.paths.append(str(meta.parent))
    assert rows is not None
    return rows


def _read_meta_csv(meta: Path) -> tuple[list[str], list[str]]:
    """Header and data row of one ``meta.csv``."""
    try:
        with meta.open(newline="", encoding="utf-8") as f:
            lines = [r for r in csv.reader(f, skipinitialspace=True) if any(r)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataSourceError(
            f"{META_FILE} {str(meta)!r} could not be read: {err}"
        ) from err
    if len(lines) != 2:
        raise DataSourceError(
            f"{META_FILE} {str(meta)!r}: expected a header row and one data row; "
            f"found {len(lines)} non-empty row(s)"
        )
    header, data = lines
    missing = [c for c in META_CSV_COLUMNS if c not in _lower_map(header)]
    if missing:
        raise DataSourceError(
            f"{META_FILE} {str(meta)!r}: missing column(s) {fmt_list(missing)}; "
            f"header: {fmt_list(header)}"
        )
    if len(data) != len(header):
        raise DataSourceError(
            f"{META_FILE} {str(meta)!r}: the data row has {len(data)} values, "
            f"the header {len(header)} names"
        )
    return header, data


# --- turning text into typed columns ----------------------------------------


class _BadValue(Exception):
    """A cell that does not parse; the caller adds file, line and column."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _convert(rows: _Rows) -> pd.DataFrame:
    """Typed columns from the raw text, one clear error for a bad cell."""
    out: dict[str, object] = {}
    for name in rows.columns:
        parse, finish = _PARSERS[name]
        parsed: list[object] = []
        for value, origin in zip(rows.values[name], rows.origins, strict=True):
            if value is None:
                raise DataSourceError(
                    f"NWS file {origin}: column {name!r} has no value"
                )
            try:
                parsed.append(parse(value))
            except _BadValue as bad:
                raise DataSourceError(
                    f"NWS file {origin}: column {name!r} has value {value!r}; "
                    f"{bad.expected}"
                ) from None
        out[name] = finish(parsed)
    return pd.DataFrame(out, index=pd.RangeIndex(len(rows.origins)))


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _BadValue("expected a number") from None
    if not math.isfinite(number):
        raise _BadValue("expected a finite number")
    return number


def _integers(values: list[object]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if np.all(np.mod(array, 1) == 0):
        return array.astype(np.int64)
    return array


def _floats(values: list[object]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _BadValue("expected 0/1 or False/True")


def _bools(values: list[object]) -> np.ndarray:
    return np.asarray(values, dtype=bool)


def _dataset(value: str) -> str:
    lowered = value.lower()
    if lowered in DATASETS:
        return lowered
    for code, label in DATASETS.items():
        if lowered == label.lower():
            return code
    return value


def _datasets(values: list[object]) -> pd.Categorical:
    extra = [v for v in dict.fromkeys(values) if v not in DATASETS]
    return pd.Categorical(values, categories=[*DATASETS, *extra], ordered=True)


def _coded(codes: Mapping[int, str]) -> Callable[[str], object]:
    by_label = {label.lower(): label for label in codes.values()}
    allowed = ", ".join(f"{k} ({v!r})" for k, v in codes.items())

    def parse(value: str) -> object:
        try:
            number = float(value)
        except ValueError:
            label = by_label.get(value.lower())
            if label is None:
                raise _BadValue(f"allowed codes: {allowed}") from None
            return label
        if number.is_integer() and int(number) in codes:
            return codes[int(number)]
        raise _BadValue(f"allowed codes: {allowed}")

    return parse


def _labels(codes: Mapping[int, str]) -> Callable[[list[object]], pd.Categorical]:
    def finish(values: list[object]) -> pd.Categorical:
        return pd.Categorical(values, categories=list(codes.values()), ordered=True)

    return finish


_Parser = tuple[Callable[[str], object], Callable[[list[object]], object]]
_PARSERS: dict[str, _Parser] = {
    "dataset": (_dataset, _datasets),
    "lrate": (_number, _floats),
    **{name: (_number, _integers) for name in INTEGER},
    **{name: (_boolean, _bools) for name in BOOLEAN},
    **{name: (_coded(codes), _labels(codes)) for name, codes in CODED.items()},
}


# --- one row per network, and its accuracy -----------------------------------


def _first_of_each_network(table: pd.DataFrame, rows: _Rows) -> np.ndarray:
    """Positions of the first row of each network; conflicting duplicates raise."""
    keys = [
        str(f.resolve()) if f is not None else f"unresolved:{p}"
        for f, p in zip(rows.folders, rows.paths, strict=True)
    ]
    first: dict[str, int] = {}
    keep: list[int] = []
    for i, key in enumerate(keys):
        j = first.setdefault(key, i)
        if j == i:
            keep.append(i)
            continue
        a, b = table.iloc[j], table.iloc[i]
        differ = [c for c in table.columns if a[c] != b[c]]
        if differ:
            raise DataSourceError(
                f"network {rows.paths[i]!r} is listed twice with different "
                f"hyper-parameters ({fmt_list(differ)}): {rows.origins[j]} and "
                f"{rows.origins[i]}"
            )
    return np.asarray(keep, dtype=np.int64)


def read_error_bin(path: Path) -> np.ndarray:
    """The training curve in ``error.bin`` as a float64 array ``[epochs, 5]``.

    Columns: step, train error %, validation error %, test error %, smoothed
    validation error %. An empty file gives shape ``(0, 5)``.

    Raises
    ------
    DataSourceError
        The file cannot be read or its size is not a whole number of rows of
        5 float64 values (40 bytes).
    """
    row_bytes = ERROR_COLUMNS * 8
    try:
        size = path.stat().st_size
        if size % row_bytes:
            raise DataSourceError(
                f"{ERROR_FILE} {str(path)!r}: {size} bytes is not a whole number of "
                f"rows of {ERROR_COLUMNS} float64 values ({row_bytes} bytes each)"
            )
        values = np.fromfile(path, dtype="<f8")
    except OSError as err:
        raise DataSourceError(
            f"{ERROR_FILE} {str(path)!r} could not be read: {err}"
        ) from err
    return values.reshape(-1, ERROR_COLUMNS)


def _label(epoch: Epoch) -> str:
    return f"epoch {epoch.step}" if epoch.kind == "step" else epoch.kind


def _test_error(curve: np.ndarray, epoch: Epoch) -> tuple[float, str | None]:
    """The test error % of ``curve`` at ``epoch``, or NaN and why there is none."""
    errors = curve[:, TEST_ERROR_COLUMN]
    if epoch.kind == "last":
        return float(errors[-1]), None
    if epoch.kind == "step":
        row = int(epoch.step or 0)
        if row >= len(errors):
            return math.nan, f"no epoch {row} in {ERROR_FILE} (fewer rows)"
        return float(errors[row]), None
    if np.isnan(errors).all():
        return math.nan, None
    # the best (highest) accuracy is the lowest test error
    low = epoch.kind in ("best", "max")
    return float(np.nanmin(errors) if low else np.nanmax(errors)), None


def _accuracies(
    folder: Path, rows: _Rows, keep: np.ndarray, epoch: Epoch
) -> np.ndarray:
    """Test accuracy of each kept network; NaN (with a warning) when unknown."""
    accuracy = np.full(len(keep), np.nan)
    missing: Counter[str] = Counter()
    example: dict[str, str] = {}
    for out, i in enumerate(keep.tolist()):
        net, origin = rows.folders[i], rows.origins[i]
        reason = None
        if net is None:
            reason = "network folder not found"
        elif not (net / ERROR_FILE).is_file():
            reason = f"no {ERROR_FILE}"
        else:
            curve = read_error_bin(net / ERROR_FILE)
            if len(curve) == 0:
                reason = f"empty {ERROR_FILE}"
            else:
                error, reason = _test_error(curve, epoch)
                if reason is not None:
                    pass
                elif math.isnan(error):
                    reason = f"{_label(epoch)} test error is NaN in {ERROR_FILE}"
                elif not 0.0 <= error <= 100.0:
                    raise DataSourceError(
                        f"{ERROR_FILE} {str(net / ERROR_FILE)!r}: {_label(epoch)} "
                        "test error "
                        f"{error:g} lies outside [0, 100] %; expected float64 "
                        f"rows of {ERROR_COLUMNS} values as classifier.py writes"
                    )
                else:
                    accuracy[out] = 100.0 - error
        if reason is not None:
            missing[reason] += 1
            example.setdefault(reason, f"{rows.paths[i]!r} from {origin}")
    if missing and np.isnan(accuracy).all():
        raise DataSourceError(
            f"NWS folder {str(folder)!r}: none of the {len(keep)} networks has a "
            f"test accuracy ({_reasons(missing, example)}); the network folders "
            f"with {ERROR_FILE} are needed (paths are tried relative to the folder). "
            "If a CSV itself holds an accuracy column, load that CSV file instead"
        )
    if missing:
        warnings.warn(
            f"NWS folder {str(folder)!r}: {sum(missing.values())} of {len(keep)} "
            f"networks have no test accuracy ({_reasons(missing, example)}); "
            f"their {METRIC} is NaN and hpcore.load drops them",
            NwsWarning,
            stacklevel=3,
        )
    return accuracy


def _reasons(missing: Counter[str], example: Mapping[str, str]) -> str:
    return "; ".join(f"{n} {r}, e.g. {example[r]}" for r, n in missing.items())
