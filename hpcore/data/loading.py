"""Loading an ensemble table from a file, an NWS folder or a DataFrame."""

from __future__ import annotations

import errno
import lzma
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .errors import (
    ColumnError,
    DataSourceError,
    HpcoreError,
    MetricError,
    ParameterError,
)
from .model import NORMALIZED, Ensemble
from .options import Options, count_codes, is_numeric, make_options, present_codes
from .validation import check_readable_kind, fmt_list, fmt_value, require_columns

#: Column names taken as the metric by default (case-insensitive), in priority order.
METRIC_NAMES = ("test_accuracy", "test_acc", "accuracy", "acc")
#: Threads of :func:`per_column` at most (and never more than the cores).
MAX_WORKERS = 4
T = TypeVar("T")
#: Column taken as the group by default (case-insensitive).
GROUP_NAME = "dataset"
#: A non-numeric column with more distinct values than this is not a parameter.
MAX_CATEGORIES = 50
#: Most bins a numeric parameter can be cut into.
MAX_BINS = 1000
#: A non-numeric column with a distinct value on at least this share of rows is an id.
IDENTIFIER_SHARE = 0.9

_METRIC_TOKENS = frozenset(
    (
        "acc accuracy loss err error score auc f1 precision recall perplexity ppl "
        "mse mae rmse bleu iou time duration runtime seconds"
    ).split()
)

_READERS = {
    ".csv": "CSV",
    ".tsv": "TSV",
    ".tab": "TSV",
    ".txt": "CSV",
    ".parquet": "Parquet",
    ".pq": "Parquet",
}

Source = str | PathLike[str] | pd.DataFrame
#: What reading a damaged or unreadable file raises (a truncated ``.gz`` or
#: ``.bz2`` ends in EOFError, a damaged ``.zip`` or ``.xz`` in their own errors).
_READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
    lzma.LZMAError,
    zlib.error,
    pd.errors.ParserError,
)
Bins = Mapping[str, int | None]


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {".gz", ".bz2", ".zip", ".xz", ".zst"}:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _header_line(path: Path, skip: int = 0) -> str:
    """The first line of a text table (after ``skip`` lines), as written
    (compressed files too).

    Read by pandas with a separator and quoting that cannot occur, so that
    every compression pandas reads is handled the same way.
    """
    import csv

    try:
        first = pd.read_csv(
            path,
            sep="\x1f",
            header=None,
            skiprows=skip,
            nrows=1,
            dtype=str,
            quoting=csv.QUOTE_NONE,
            keep_default_na=False,
            encoding="utf-8-sig",
            encoding_errors="replace",
        )
    except _READ_ERRORS:
        return ""  # the full read reports the problem with the file's name
    return str(first.iat[0, 0]) if first.shape[1] else ""


def _not_utf8(path: Path, err: UnicodeDecodeError) -> str:
    """Why a text table could not be decoded, and what to do."""
    found = (
        "is UTF-16 text (it starts with UTF-16's byte-order mark)"
        if bytes(err.object[:2]) in (b"\xff\xfe", b"\xfe\xff")
        else f"is not UTF-8 text: byte 0x{err.object[err.start]:02x} cannot occur "
        "there in UTF-8 (Latin-1 or Windows-1252?)"
    )
    return (
        f"data file {str(path)!r} {found}; tables are read as UTF-8: save it "
        "as UTF-8 (spreadsheets: CSV UTF-8)"
    )


def _separator(path: Path, default: str) -> str:
    """The field separator of a text table: the one its header line uses most.

    Semicolon-separated CSVs (common where the decimal mark is a comma) and
    tab-separated ``.txt`` files are read as such, compressed or not.
    """
    # separators inside a quoted name ("layers (conv;pool)") do not count
    header = re.sub(r'"(?:[^"]|"")*"', "", _header_line(path))
    counts = {sep: header.count(sep) for sep in (default, ",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[default] else default


def _fields(path: Path, sep: str, **rows: Any) -> pd.DataFrame:
    """Rows of a text table as written, picked by ``rows`` (``read_csv``'s
    ``nrows``, ``skiprows``, ...): every field a string, none read as missing
    (a column named NA is named), no header."""
    table: pd.DataFrame = pd.read_csv(
        path,
        sep=sep,
        header=None,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
        **rows,
    )
    return table


def _check_header(path: Path, sep: str) -> list[int]:
    """Refuse a header that names a column twice; the positions of the
    columns it leaves without a name (see :func:`_unnamed_columns`).

    pandas renames the second ``lr`` to ``lr.1``, and a blank name to
    ``Unnamed: 4``, before the frame is seen, so the header row is read on
    its own, as written.
    """
    try:
        raw = _fields(path, sep, nrows=1)
    except _READ_ERRORS:
        return []  # the full read reports it
    names = [str(v).strip() for v in (raw.iloc[0] if len(raw) else [])]
    index = pd.Index([n for n in names if n])
    dupes = sorted(set(index[index.duplicated()]))
    if dupes:
        raise ColumnError(
            f"data file {str(path)!r}: duplicate column names {fmt_list(dupes)}; "
            "each column needs its own name"
        )
    return [i for i, name in enumerate(names) if not name]


def _unnamed_columns(
    path: Path, df: pd.DataFrame, blank: Sequence[int]
) -> pd.DataFrame:
    """Drop the columns at ``blank`` (no name in the header) that hold no
    value (a separator at the end of every line, an empty spare column);
    refuse those that hold values, which no option or message could name
    (pandas called them ``Unnamed: 4``, and a Parquet column ``''`` became a
    parameter without a name)."""
    blank = [i for i in blank if i < df.shape[1]]
    if not blank:
        return df
    filled = [str(i + 1) for i in blank if df.iloc[:, i].notna().any()]
    if filled:
        which = (
            f"column {filled[0]} holds values but has"
            if len(filled) == 1
            else f"columns {', '.join(filled)} hold values but have"
        )
        raise ColumnError(
            f"data file {str(path)!r}: {which} no name; give each column a name"
        )
    gone = set(blank)
    return df.iloc[:, [i for i in range(df.shape[1]) if i not in gone]]


def _check_row_separator(path: Path, sep: str, df: pd.DataFrame) -> None:
    """Refuse rows written with another separator than the header's.

    pandas fills a row's missing fields with NaN, so a header separated by
    ``;`` over rows separated by ``,`` read as a table whose last columns
    are empty, and the message was "metric column 'acc' has no values".
    Said when the last column is empty in every row and the first data row
    has fewer fields than the header but holds another separator.
    """
    if not len(df) or df.shape[1] < 2 or df.iloc[:, -1].notna().any():
        return
    row = re.sub(r'"(?:[^"]|"")*"', "", _header_line(path, skip=1))
    fields = row.count(sep) + 1
    others = [o for o in (",", ";", "\t", "|") if o != sep and o in row]
    if fields < df.shape[1] and others:
        raise DataSourceError(
            f"data file {str(path)!r}: the header has {df.shape[1]} fields "
            f"separated by {sep!r}, but the first data row has {fields} and also "
            f"holds {' and '.join(map(repr, others))}; write the file with one "
            "separator throughout"
        )


#: A number written with a decimal comma (``0,91``, ``-1,5e-3``, ``12``).
_DECIMAL_COMMA = r"[-+]?\d+(?:,\d*)?(?:[eE][-+]?\d+)?"


def _decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns of a non-comma-separated table whose every value is a number
    with a decimal comma (Excel's CSV where the decimal mark is a comma) as
    float64; other columns are left as read."""
    converted: dict[str, pd.Series] = {}
    for name in df.columns:
        col = df[name]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
            continue
        text = col.dropna().astype(str).str.strip()
        if text.empty or not text.str.contains(",", regex=False).any():
            continue
        if text.str.fullmatch(_DECIMAL_COMMA).all():
            converted[name] = pd.to_numeric(
                col.astype(str)
                .str.strip()
                .str.replace(",", ".", regex=False)
                .where(col.notna()),
                errors="coerce",
            )
    return df.assign(**converted) if converted else df


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame, converted one column at a time.

    ``pandas.read_parquet`` holds the whole Arrow table and the whole
    DataFrame at once (about twice the table at its peak). Here Arrow reads
    the whole table (decoding columns and row groups on all cores, as
    ``read_parquet`` does), then each column is converted and dropped from
    the Arrow table, so its buffers are freed as soon as pandas holds it: the
    peak stays near the DataFrame plus one column. (Reading one column per
    call keeps the peak a column lower but decodes on one core: 1.4-1.8 s
    against 0.9 s for ten million rows.) The pandas metadata (categorical
    order, dtypes) is kept; a stored index is not needed and left out.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pool = pa.default_memory_pool()
    file = pq.ParquetFile(path)
    names = [str(n) for n in file.schema_arrow.names]
    meta = file.schema_arrow.pandas_metadata or {}
    levels = meta.get("column_indexes") or []
    if len(levels) > 1:
        raise _levels_error(
            f"data file {str(path)!r}", len(levels), file.schema_arrow.names[0]
        )
    stored_index = {str(c) for c in meta.get("index_columns", []) if isinstance(c, str)}
    index = pd.Index(names)
    if index.has_duplicates:
        dupes = sorted(set(index[index.duplicated()]))
        raise ColumnError(
            f"data file {str(path)!r}: duplicate column names {fmt_list(dupes)}; "
            "each column needs its own name"
        )
    wanted = [name for name in names if name not in stored_index]
    table = file.read(columns=wanted, use_pandas_metadata=True, use_threads=True)
    columns: dict[str, pd.Series] = {}
    for name in wanted:
        part = table.select([name])
        table = table.drop_columns([name])  # the table lets go of its buffers
        frame = part.to_pandas(self_destruct=True, split_blocks=True)
        del part
        columns[name] = frame[name].reset_index(drop=True)
        del frame
        pool.release_unused()  # see _release_arrow_memory
    del table
    if not columns:
        return pd.DataFrame()
    return pd.DataFrame(columns, copy=False)


def per_column(work: Callable[[str], T], columns: Sequence[str]) -> list[T]:
    """``[work(c) for c in columns]``, the columns spread over the machine's cores.

    Option inference is numpy and pandas work on one column at a time, most
    of it outside the GIL (``bincount``, casts, comparisons, hashing), so
    threads run columns side by side. Results come back in column order; an
    exception propagates as it would from the loop (``work`` may instead
    return it, to raise it in column order with its context).
    """
    workers = min(len(columns), os.cpu_count() or 1, MAX_WORKERS)
    if workers <= 1:
        return [work(c) for c in columns]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, columns))


def _release_arrow_memory() -> None:
    """Hand memory Arrow's allocator keeps for reuse back to the system.

    Columns read from Parquet share Arrow's buffers; once the DataFrame is
    dropped, mimalloc keeps those pages (about the file's whole table at ten
    million rows) unless told to release them.
    """
    import sys

    if "pyarrow" in sys.modules:  # never imported only for this
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def _why_missing(p: Path) -> str:
    """Why ``p`` cannot be opened although it was named: the words for a message."""
    if p.is_symlink():
        try:
            p.resolve(strict=True)
        except RuntimeError:  # Python < 3.13
            return "is a symbolic link that loops back on itself"
        except OSError as err:
            if err.errno == errno.ELOOP:
                return "is a symbolic link that loops back on itself"
            return f"is a symbolic link to {os.readlink(p)!r}, which does not exist"
    for parent in p.parents:  # e.g. a loop or a missing folder further up
        if parent.is_symlink() and not parent.exists():
            return f"cannot be reached: {str(parent)!r} is a broken symbolic link"
    return "does not exist"


def read_table(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file, or an NWS data-set folder, into a DataFrame.

    Raises
    ------
    DataSourceError
        The path does not exist, cannot be read, is of an unknown type or holds
        no rows.
    """
    _check_name(path)
    p = Path(path)
    try:
        exists, folder = p.exists(), p.is_dir()
    except OSError as err:  # e.g. a name too long for the file system
        raise DataSourceError(
            f"data file {str(p)!r} cannot be opened: {err.strerror or err}"
        ) from None
    if not exists:
        raise DataSourceError(f"data file {str(p)!r} {_why_missing(p)}")
    check_readable_kind(p)
    if folder:
        from .nws import read_nws_folder

        return read_nws_folder(p)
    kind = _READERS.get(_suffix(p))
    if kind is None:
        packed = [s.lower() for s in p.suffixes][-1:]
        hint = (
            f" (a compressed file names its table's type before {packed[0]!r}: "
            f"'{p.name.removesuffix(p.suffix)}.csv{p.suffix}')"
            if packed and packed[0] in {".gz", ".bz2", ".zip", ".xz", ".zst"}
            else ""
        )
        raise DataSourceError(
            f"data file {str(p)!r}: unsupported file type {_suffix(p) or '(none)'!r}; "
            f"expected one of {fmt_list(sorted(_READERS))} or an NWS data-set "
            f"folder{hint}"
        )
    try:
        if kind == "Parquet":
            df = _read_parquet(p)
            blank = [i for i, name in enumerate(df.columns) if not str(name).strip()]
            df = _unnamed_columns(p, df, blank)
        else:
            _not_parquet(p)
            sep = _separator(p, "\t" if kind == "TSV" else ",")
            blank = _check_header(p, sep)
            df = pd.read_csv(p, sep=sep)
            if _trailing_separator(p, sep, df):
                df = pd.read_csv(p, sep=sep, index_col=False)
            _check_row_separator(p, sep, df)
            df = _unnamed_columns(p, df, blank)
            if sep != ",":
                df = _decimal_commas(df)
    except HpcoreError:
        raise
    except pd.errors.EmptyDataError as err:
        raise DataSourceError(f"data file {str(p)!r} is empty") from err
    except UnicodeDecodeError as err:
        raise DataSourceError(_not_utf8(p, err)) from err
    except (*_READ_ERRORS, ImportError) as err:
        raise DataSourceError(
            f"data file {str(p)!r} could not be read as {kind}: {err}"
        ) from err
    if df.empty:
        raise DataSourceError(
            f"data file {str(p)!r} has no rows (columns: {fmt_list(df.columns)})"
        )
    return df


def _check_name(path: str | PathLike[str]) -> None:
    """Refuse an empty or blank file name (``Path("")`` is the folder ".")."""
    if not str(path).strip():
        raise DataSourceError("data file: the name is empty")


def _trailing_separator(path: Path, sep: str, df: pd.DataFrame) -> bool:
    """Whether every row ends with a separator the header does not have.

    Rows one field longer than the header are read by pandas as row labels
    and fields (R's ``write.table`` writes such tables); when the extra field
    is an empty one at the end of every row (as some exporters write), it is
    not a column, and the labels would shift every name one column left.
    """
    if isinstance(df.index, pd.RangeIndex) or not len(df.columns):
        return False
    if not df.iloc[:, -1].isna().all():
        return False  # the last column holds values: real row labels
    rows = _fields(path, sep, skiprows=1, index_col=False, usecols=[len(df.columns)])
    return bool((rows.iloc[:, 0] == "").all())


def _not_parquet(path: Path) -> None:
    """Refuse a Parquet file named like a text table (it begins with PAR1)."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError:
        return  # the full read reports it
    if magic == b"PAR1":
        raise DataSourceError(
            f"data file {str(path)!r} is a Parquet file, not {_suffix(path)!r} "
            "text; rename it to end in .parquet"
        )


def looks_like_metric(name: str) -> bool:
    """True when a column name reads like a score (``final_val_acc``, ``loss``)."""
    tokens = {t for t in re.split(r"[^a-z0-9]+", name.lower()) if t}
    return bool(tokens & _METRIC_TOKENS)


def _find_column(columns: Sequence[str], name: str) -> str | None:
    hits = [c for c in columns if c.lower() == name.lower()]
    return hits[0] if len(hits) == 1 else (name if name in columns else None)


def _pick_metric(df: pd.DataFrame, metric: str | None) -> str:
    columns = [str(c) for c in df.columns]
    if metric is not None:
        require_columns([metric], columns, "metric", MetricError)
        return metric
    hits = [c for c in columns if c.lower() in METRIC_NAMES]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise MetricError(
            f"several columns could be the metric: {fmt_list(hits)}; "
            "choose one with `metric`"
        )
    candidates = [c for c in columns if looks_like_metric(c) and is_numeric(df[c])]
    hint = (
        f"candidates: {fmt_list(candidates)}"
        if candidates
        else f"columns: {fmt_list(columns, limit=40)}"
    )
    raise MetricError(
        "no metric column named like test accuracy "
        f"({', '.join(METRIC_NAMES)}, any case); {hint}; "
        "choose one with `metric`"
    )


def _metric_values(df: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The metric as float64 (a copy the table owns) and where it is finite."""
    col = df[metric]
    if pd.api.types.is_complex_dtype(col.dtype):
        raise MetricError(
            f"metric column {metric!r} must be real numbers; found complex "
            f"values such as {_examples(col.dropna())}"
        )
    if pd.api.types.is_bool_dtype(col.dtype) or not (
        pd.api.types.is_numeric_dtype(col.dtype)
        or col.dtype == object
        or pd.api.types.is_string_dtype(col.dtype)
    ):
        raise MetricError(
            f"metric column {metric!r} must be numeric; found {col.dtype}"
        )
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iuf":
        # plain numbers: nothing to parse (a copy: the table owns its metric)
        values = col.to_numpy(dtype=np.float64, copy=True)
        bad = np.zeros(0, dtype=bool)
    else:
        values = pd.to_numeric(col, errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        bad = col.notna().to_numpy() & np.isnan(values)
    if bad.any():
        examples = _examples(col[bad])
        raise MetricError(
            f"metric column {metric!r} must be numeric; found non-numeric values "
            f"such as {examples}"
        )
    if np.isnan(values).all():
        raise MetricError(f"metric column {metric!r} has no values (all missing)")
    finite = np.isfinite(values)
    if not finite.any():
        raise MetricError(
            f"metric column {metric!r} has no finite values (all infinite or missing)"
        )
    lo, hi = (float(f(values, where=finite, initial=i)) for f, i in _BOUNDS)
    with np.errstate(over="ignore"):
        # matplotlib's tick locators step past the values: room to spare
        room = np.isfinite(HEADROOM * (hi - lo)) and np.isfinite(
            HEADROOM * max(abs(lo), abs(hi))
        )
    if not room:
        raise MetricError(
            f"metric column {metric!r} spans {lo:.4g} to {hi:.4g}: the values and "
            f"their span must stay below {np.finfo(np.float64).max / HEADROOM:.4g} "
            "(half the largest float64) to be normalized, binned and drawn; "
            "rescale the column or drop those rows (a sentinel value for failed "
            "runs? write it as empty or inf)"
        )
    return values, finite


#: A metric's values and their span times this must stay finite floats
#: (matplotlib's tick locators failed from 9e307 on).
HEADROOM = 2.0
#: ``(reduction, identity)`` of the smallest and largest finite metric value.
_BOUNDS = ((np.min, np.inf), (np.max, -np.inf))


def _check_names(*, metric: object, group: object, parameters: object) -> None:
    """Refuse column names of the wrong kind before any reading."""
    for what, name in (("metric", metric), ("group", group)):
        if name is not None and not isinstance(name, str):
            raise ColumnError(
                f"{what} must be a column name (str) or None; got "
                f"{type(name).__name__} {name!r}"
            )
    if parameters is None:
        return
    if isinstance(parameters, str) or not isinstance(parameters, Collection):
        raise ColumnError(
            "parameters must be a list of column names; got "
            f"{type(parameters).__name__} {parameters!r}"
            + (
                f" (for one parameter: [{parameters!r}])"
                if isinstance(parameters, str)
                else ""
            )
        )
    odd = [p for p in parameters if not isinstance(p, str)]
    if odd:
        raise ColumnError(f"parameters must be column names (str); got {fmt_list(odd)}")


def _one_line(source: str, name: str, labels: pd.Index) -> None:
    """Refuse an option that holds a line break: in a text file, a quote
    character left open (a hand edit, an inch mark) makes the reader take
    every line up to the next quote as one value, so those rows vanish into
    one option without a word."""
    for label in labels:
        text = str(label)
        if "\n" in text or "\r" in text:
            lines = [t if len(t) <= 40 else t[:39] + "…" for t in text.splitlines()]
            raise ColumnError(
                f"{source}: column {name!r} holds a value that runs over "
                f"{len(lines)} lines, {lines[0]!r} to {lines[-1]!r}: a quote "
                "character left open makes "
                "the lines up to the next one a single value (their rows would "
                "be lost); check the file for a stray '\"'"
            )


def _reserved(what: str) -> str:
    return (
        f"{what}: the column name {NORMALIZED!r} is reserved for the normalized "
        "metric hpcore adds; rename that column (e.g. "
        f"df.rename(columns={{{NORMALIZED!r}: 'normalized_input'}}))"
    )


def _one_level(columns: pd.Index, source: str) -> None:
    """Refuse column names on several levels (a pandas MultiIndex)."""
    if isinstance(columns, pd.MultiIndex):
        raise _levels_error(source, columns.nlevels, columns[0])


def _levels_error(source: str, levels: int, example: object) -> ColumnError:
    """The message for column names on several levels (a DataFrame's or those
    a Parquet file stored)."""
    return ColumnError(
        f"{source}: the column names have {levels} levels (a pandas MultiIndex, "
        f"such as {fmt_value(example)}); hpcore needs one name per column: "
        "flatten them, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns]"
    )


def _examples(values: pd.Series, limit: int = 3) -> str:
    """A few distinct values for a message (lists and records too)."""
    try:
        return fmt_list(pd.unique(values)[:limit])
    except TypeError:  # unhashable values: lists, records (numpy arrays as lists)
        shown = (str(v.tolist() if hasattr(v, "tolist") else v) for v in values[:100])
        return fmt_list(list(dict.fromkeys(shown))[:limit])


def _distinct(series: pd.Series, missing: bool = False) -> int:
    """Distinct values of a column, a missing value counted as one where
    ``missing``.

    Counted without hashing for plain booleans and categoricals.
    """
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "b":
        trues = int(np.count_nonzero(series.to_numpy()))
        return int(trues > 0) + int(trues < len(series))
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        given = present_codes(codes)
        found = np.count_nonzero(count_codes(given, len(series.cat.categories)))
        return int(found) + int(missing and len(given) < len(codes))
    return int(series.nunique(dropna=not missing))


def _exclusion_reason(series: pd.Series, n_rows: int) -> str | None:
    """Why a column cannot be a hyper-parameter, or None when it can.

    Cheap checks come first so that a 10-million-row float column is not
    hashed just to learn that it is not constant.
    """
    name = str(series.name)
    if is_numeric(series):
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
            ints = series.to_numpy()  # no missing values, no float copy
            if not len(ints):  # no row kept (e.g. every metric value infinite)
                return "all values missing"
            lo, hi = int(ints.min()), int(ints.max())  # no int64 overflow below
        else:
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isnan(values).all():
                return "all values missing"
            lo, hi = np.nanmin(values), np.nanmax(values)
        if lo == hi:
            return f"constant (one value: {fmt_value(series.dropna().iloc[0])})"
        if pd.api.types.is_float_dtype(series.dtype) and looks_like_metric(name):
            return "metric-like column (its name reads like a score, not a setting)"
        if (
            pd.api.types.is_integer_dtype(series.dtype)
            and n_rows >= 20
            and hi - lo + 1 >= n_rows
            and series.nunique() == n_rows
        ):
            return "identifier (a distinct integer on every row)"
        return None
    try:
        distinct = _distinct(series)
    except TypeError:  # lists or records (Parquet list, struct, map columns)
        return (
            "its values are lists or records, not options (such as "
            f"{_examples(series.dropna(), 1)})"
        )
    if distinct == 0:
        return "all values missing"
    if distinct == 1:
        return f"constant (one value: {fmt_value(series.dropna().iloc[0])})"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "date/time column"
    if n_rows >= 20 and distinct >= IDENTIFIER_SHARE * n_rows:
        return f"identifier or free text ({distinct} distinct values in {n_rows} rows)"
    if distinct > MAX_CATEGORIES:
        return (
            f"too many distinct values to be options ({distinct} > {MAX_CATEGORIES}); "
            "name it in `parameters` to use it anyway"
        )
    return None


def _check_bins(bins: Bins | None, parameters: Sequence[str], df: pd.DataFrame) -> None:
    if bins is not None and not isinstance(bins, Mapping):
        raise ParameterError(
            "bins must map parameters to a number of bins or None (e.g. "
            f"{{'lr': 4}}); got a {type(bins).__name__}"
        )
    for name, k in (bins or {}).items():
        if name not in parameters:
            raise ParameterError(
                f"bins: {name!r} is not a parameter; parameters: {fmt_list(parameters)}"
            )
        if k is None:
            continue
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
            raise ParameterError(
                f"bins: the number of bins for {name!r} must be an integer >= 2 "
                f"or `None` to keep raw values; got {fmt_value(k)}"
            )
        if k > MAX_BINS:
            raise ParameterError(
                f"bins: the number of bins for {name!r} must be at most "
                f"{MAX_BINS:,} (each bin is an option of the matrix); got {k:,}"
            )
        if not is_numeric(df[name]):
            raise ParameterError(
                f"bins: parameter {name!r} is not numeric ({df[name].dtype}); "
                "only numeric parameters can be binned"
            )


def load(
    source: Source,
    *,
    metric: str | None = None,
    group: str | None = None,
    parameters: Sequence[str] | None = None,
    bins: Bins | None = None,
    study: str | None = None,
    experiment: str | None = None,
    epoch: int | str | None = None,
) -> Ensemble:
    """Load an ensemble of trained networks.

    Parameters
    ----------
    source : str, path or pandas.DataFrame
        A CSV, TSV or Parquet file, an NWS data-set folder (split CSVs plus one
        folder per network with ``error.bin``), or a DataFrame (never modified);
        or a tracker or tuner (see :mod:`hpcore.data.sources`): an Optuna
        storage (``sqlite:///study.db`` or any database URL Optuna accepts, a
        JournalStorage file), an MLflow tracking URI (``sqlite:///mlflow.db``,
        the file store ``mlruns/``, ``http(s)://`` server), a Ray Tune
        experiment folder, a W&B runs export (CSV or JSON), a TensorBoard log
        folder with HParams data.
    metric : str, optional
        The metric column. Default: the one column named ``test_accuracy``,
        ``test_acc``, ``accuracy`` or ``acc`` (any case); an error lists the
        candidates when there is none or more than one.
    group : str, optional
        Column to normalize within. Default: ``dataset`` when present, else
        none (one group of all rows). The group is always a parameter (first)
        unless it is constant.
    parameters : sequence of str, optional
        Hyper-parameter columns, in order. Default: every other column except
        those that cannot be hyper-parameters (identifiers and free text,
        constant columns, metric-like float columns); see ``Ensemble.excluded``.
    bins : mapping of str to int or None, optional
        Per-parameter number of bins for numeric parameters (``None`` keeps raw
        values). By default numeric parameters with more than 8 distinct values
        are cut into 5 equal-width bins (log-spaced when positive values span
        two orders of magnitude or more), labelled by their interval; empty
        bins are left out.
    study : str, optional
        The Optuna study to read (default: the only one in the storage).
    experiment : str, optional
        The MLflow experiment (name or id) to read (default: the only one with
        runs).
    epoch : int or str, optional
        For sources with per-epoch values (NWS ``error.bin``, MLflow metric
        history, Ray Tune results, TensorBoard scalars, Optuna intermediate
        values): ``"last"`` (default), ``"best"``, ``"min"``, ``"max"`` or a step
        number; ``Ensemble.epoch`` says which was used.

    Returns
    -------
    Ensemble
        Rows with a missing or non-finite metric are dropped and counted in
        ``dropped``; failed, pruned and unfinished runs of a tracker too.

    Raises
    ------
    DataSourceError, ColumnError, MetricError, ParameterError

    Examples
    --------
    >>> import pandas as pd, hpcore
    >>> df = pd.DataFrame({"opt": ["adam", "sgd", "adam"], "acc": [0.9, 0.5, 0.8]})
    >>> hpcore.load(df).options("opt")
    ('adam', 'sgd')
    """
    _check_names(metric=metric, group=group, parameters=parameters)
    if isinstance(source, pd.DataFrame):
        from .sources import check_plain

        check_plain(study=study, experiment=experiment, epoch=epoch)
        df, where_from = source, "DataFrame"
        if df.empty:
            raise DataSourceError(
                f"the DataFrame has no rows (columns: {fmt_list(df.columns)})"
            )
    elif isinstance(source, str | PathLike):
        from .sources import finish, load_source

        _check_name(source)  # an empty name would be read as the folder "."
        found = load_source(
            source, study=study, experiment=experiment, metric=metric, epoch=epoch
        )
        if found is not None:
            ens = ensemble_from_frame(
                found.frame,
                metric=found.metric if found.metric is not None else metric,
                group=group,
                parameters=parameters,
                bins=bins,
                source=found.description,
                log_scale=found.log_scale,
                left_out=found.excluded,
            )
            return finish(ens, found)
        ens = ensemble_from_frame(
            read_table(source),
            metric=metric,
            group=group,
            parameters=parameters,
            bins=bins,
            source=str(source),
            text=_READERS.get(_suffix(Path(source))) != "Parquet",
        )
        _release_arrow_memory()  # the file's DataFrame is gone by now
        return ens
    else:
        raise DataSourceError(
            "source must be a path (CSV, TSV, Parquet or NWS folder) or a pandas "
            f"DataFrame; got {type(source).__name__}"
        )
    return ensemble_from_frame(
        df,
        metric=metric,
        group=group,
        parameters=parameters,
        bins=bins,
        source=where_from,
    )


def ensemble_from_frame(
    df: pd.DataFrame,
    *,
    metric: str | None = None,
    group: str | None = None,
    parameters: Sequence[str] | None = None,
    bins: Bins | None = None,
    source: str = "DataFrame",
    log_scale: Collection[str] = (),
    text: bool = False,
    left_out: Mapping[str, str] | None = None,
) -> Ensemble:
    """Build an Ensemble from a DataFrame already in memory (see :func:`load`).

    ``log_scale`` names numeric parameters sampled on a log scale: their bins
    are log-spaced (see :func:`hpcore.data.options.make_options`). ``text``:
    the frame was read from a text file, where an option holding a line
    break is a quote left open (:func:`_one_line`). ``left_out``: keys a
    tracker's reader did not make columns, and why (named among the
    exclusions, and where ``parameters`` asks for one).
    """
    _one_level(df.columns, source)
    if len(set(map(str, df.columns))) != len(df.columns):
        dupes = sorted(
            {str(c) for c in df.columns if list(map(str, df.columns)).count(str(c)) > 1}
        )
        raise ColumnError(f"{source}: duplicate column names {fmt_list(dupes)}")
    df = (
        df.rename(columns=str)
        if any(not isinstance(c, str) for c in df.columns)
        else df
    )
    columns = list(df.columns)
    for what, name in (("metric", metric), ("group", group)):
        if name == NORMALIZED:
            raise ColumnError(_reserved(what))
    metric = _pick_metric(df, metric)
    if metric == NORMALIZED:
        raise ColumnError(_reserved("metric"))
    values, keep = _metric_values(df, metric)

    found_group = None  # a group found by its name, not asked for
    if group is None:
        group = found_group = _find_column(columns, "dataset")
        if group == metric:
            group = None
    else:
        require_columns([group], columns, "group", ColumnError)
        if group == metric:
            raise ColumnError(f"group {group!r} cannot also be the metric column")

    dropped: dict[str, int] = {}
    n_missing = int(np.isnan(values).sum())
    if n_missing:
        dropped[f"missing metric {metric!r}"] = n_missing
    n_inf = int((~keep).sum()) - n_missing
    if n_inf:
        dropped[f"infinite metric {metric!r}"] = n_inf
    kept = df.loc[keep] if not keep.all() else df
    if group is not None and group != found_group and len(kept) >= 20:
        # each group is normalized on its own: groups of one row or two say
        # nothing (an identifier or free text named by mistake)
        distinct = _distinct(kept[group], missing=True)
        if 2 * distinct > len(kept):
            raise ColumnError(
                f"group {group!r}: {distinct:,} distinct values in {len(kept):,} "
                "rows, fewer than two rows per group (an identifier or free "
                "text?); a group column holds a few values, such as the data "
                "set, within each of which the metric is normalized"
            )

    excluded: dict[str, str] = dict(left_out or {})
    # a one-valued group is no grouping: normalized over all rows; the column
    # stays in the table (as its one option) for code that reads it
    one_group = (
        group
        if group is not None and _distinct(kept[group], missing=True) <= 1
        else None
    )
    if one_group is not None:
        excluded[one_group] = (
            f"the group column holds one value "
            f"({fmt_value(kept[one_group].iloc[0]) if len(kept) else 'none'}) on every "
            "row: one group, so the metric is normalized over all rows"
        )
        group = None
    if parameters is None:
        params: list[str] = []
        candidates = [col for col in columns if col not in (metric, NORMALIZED)]
        reasons = dict(
            zip(
                candidates,
                per_column(lambda c: _exclusion_reason(kept[c], len(kept)), candidates),
                strict=True,
            )
        )
        for col in columns:
            if col == metric:
                continue
            reason = (
                "name reserved for the normalized metric; rename the column to use it"
                if col == NORMALIZED
                else reasons[col]
            )
            if reason is None:
                params.append(col)
            elif col != group and col not in excluded:
                excluded[col] = reason
        if group is not None and group in params:
            params.remove(group)
            params.insert(0, group)
    else:
        if isinstance(parameters, str):
            parameters = [parameters]
        params = list(dict.fromkeys(parameters))
        gone = [p for p in params if p not in columns and p in excluded]
        if gone:
            raise ColumnError(
                f"parameters: {source} has no column {gone[0]!r}: its reader left "
                f"it out ({excluded[gone[0]]})"
            )
        require_columns(params, columns, "parameters", ColumnError)
        if NORMALIZED in params:
            raise ColumnError(_reserved("parameters"))
        if metric in params:
            raise ParameterError(
                f"parameters: {metric!r} is the metric, not a parameter"
            )
        if group is not None and group not in params and _distinct(kept[group]) > 1:
            params.insert(0, group)
        excluded |= {
            c: "not listed in `parameters`"
            for c in columns
            if c not in params and c not in (metric, group) and c not in excluded
        }
    if not params:
        raise ParameterError(
            f"{source}: no column can serve as a hyper-parameter; "
            f"excluded: {excluded or 'none'}; name them in `parameters`"
        )
    _check_bins(bins, params, df)

    table: dict[str, object] = {}
    binned: dict[str, tuple[float, ...]] = {}

    def options_of(name: str) -> Options | Exception:
        k = (bins or {}).get(name, "auto")
        try:
            return make_options(kept[name], k, True if name in log_scale else None)
        except (ValueError, TypeError) as err:  # raised below, in column order
            return err

    for name, found in zip(params, per_column(options_of, params), strict=True):
        if isinstance(found, Exception):
            if isinstance(found, HpcoreError):
                raise found
            raise ParameterError(  # never a bare pandas error
                f"{source}: parameter {name!r} ({kept[name].dtype}) could not be "
                f"turned into options: {found}"
            ) from found
        opts = found
        if text:
            _one_line(source, name, opts.values.categories)
        if len(opts.values.categories) < 2:
            raise ParameterError(
                f"parameter {name!r} has one option ({opts.values.categories[0]!r}) "
                f"in the {len(kept)} rows with a metric; a parameter needs at least two"
            )
        table[name] = opts.values
        if opts.edges is not None:
            binned[name] = opts.edges
    for column in (group, one_group):
        if column is not None and column not in table:
            labels = make_options(kept[column], None).values
            if text:
                _one_line(source, column, labels.categories)
            table[column] = labels
    fresh = not np.may_share_memory(values, df[metric].to_numpy())
    table[metric] = values if fresh and keep.all() else values[keep]
    # every column is a new array made here: no copy of 10 million rows again
    frame = pd.DataFrame(table, index=pd.RangeIndex(int(keep.sum())), copy=False)
    return Ensemble(
        table=frame,
        parameters=tuple(params),
        metric=metric,
        group=group,
        dropped=dropped,
        excluded=excluded,
        binned=binned,
        source=source,
    )
