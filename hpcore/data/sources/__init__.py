"""Experiment trackers and tuners as data sources, and the dispatcher for them.

:func:`hpcore.load` (and every ``hpexplorer`` command) reads, besides CSV, TSV,
Parquet and NWS folders:

- an **Optuna** study: a database URL Optuna accepts (``sqlite:///study.db``,
  ``postgresql://...``) or a JournalStorage file (:mod:`.optuna_study`);
- **MLflow** runs: a tracking URI, i.e. a database (``sqlite:///mlflow.db``), the
  file store ``mlruns/`` or an ``http(s)://`` tracking server
  (:mod:`.mlflow_tracking`);
- a **Ray Tune** experiment folder (:mod:`.ray_tune`);
- a **Weights & Biases** export: the runs table CSV of the project page, or the
  JSON of runs with ``config`` and ``summary`` the public API gives
  (:mod:`.wandb_export`);
- a **TensorBoard** log folder with HParams data (:mod:`.tensorboard_hparams`).

What a source is comes from its content, never from its name: an SQLite
database is Optuna's or MLflow's by its own tables (``studies``/``trials`` or
``experiments``/``runs``), a folder by the files the tool writes into it, a
CSV by its header. The readers of Optuna, MLflow and TensorBoard use the
tools' own libraries (``pip install 'hpexplorer[trackers]'``); Ray Tune and
W&B exports are plain files read without ray or wandb.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import sqlite3
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from ..errors import DataSourceError, HpcoreError
from ..model import Ensemble
from ..validation import check_readable_kind, fmt_list
from .common import Epoch, SourceTable, no_epochs, parse_epoch, quiet, require
from .wandb_export import WANDB_COLUMNS

__all__ = [
    "Epoch",
    "Found",
    "SourceTable",
    "check_plain",
    "detect",
    "finish",
    "load_source",
]

#: Tables that make a database an Optuna storage, or an MLflow tracking store.
OPTUNA_TABLES = frozenset({"studies", "trials", "trial_params"})
MLFLOW_TABLES = frozenset({"experiments", "runs", "latest_metrics"})
#: Suffixes hpcore.load reads as plain tables (loading._READERS).
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: How many folder levels are searched for TensorBoard event files / NWS meta.csv.
SCAN_DEPTH = 6

_KINDS = {
    "optuna": "an Optuna storage",
    "mlflow": "an MLflow tracking store",
    "ray": "a Ray Tune experiment folder",
    "tensorboard": "a TensorBoard log folder",
    "wandb-csv": "a W&B runs table export (CSV)",
    "wandb-json": "a W&B runs export (JSON)",
    "nws": "an NWS data-set folder",
}


@dataclass(frozen=True)
class Found:
    """A recognised source: its kind (a key of ``_KINDS``) and where it is."""

    kind: str
    location: str


def load_source(
    source: str | PathLike[str],
    *,
    study: str | None = None,
    experiment: str | None = None,
    metric: str | None = None,
    epoch: int | str | None = None,
) -> SourceTable | None:
    """Read a tracker, tuner or NWS source; None for a plain table file.

    Parameters
    ----------
    source : str or path
        A URL (``sqlite:///...``, ``http://...``, ``file:...``), a file or a folder.
    study : str, optional
        Optuna study name (default: the only study of the storage).
    experiment : str, optional
        MLflow experiment name or id (default: the only experiment with runs).
    metric : str, optional
        The metric to read (default: the only one, or one named like test
        accuracy).
    epoch : int or str, optional
        ``"last"`` (default), ``"best"``, ``"min"``, ``"max"`` or a step number,
        for sources with per-epoch values.

    Raises
    ------
    HpcoreError
        A bad epoch, ``study``/``experiment`` given for a source that has none,
        a source of no known kind, or any error of the reader.
    """
    when = parse_epoch(epoch)
    found = detect(source)
    if found is None:
        if _exists(Path(os.fspath(source))):
            check_plain(
                study=study,
                experiment=experiment,
                epoch=epoch,
                what=f"the table {os.fspath(source)!r}",
            )
        return None
    found = _settle(found, study=study, experiment=experiment)
    if study is not None and found.kind != "optuna":
        raise HpcoreError(
            f"study={study!r} (CLI: --study) names an Optuna study; "
            f"{found.location!r} is {_KINDS[found.kind]}"
        )
    if experiment is not None and found.kind != "mlflow":
        raise HpcoreError(
            f"experiment={experiment!r} (CLI: --experiment) names an MLflow "
            f"experiment; {found.location!r} is {_KINDS[found.kind]}"
        )
    return read(found, study=study, experiment=experiment, metric=metric, epoch=when)


def check_plain(
    *,
    study: str | None = None,
    experiment: str | None = None,
    epoch: int | str | None = None,
    what: str = "a DataFrame",
) -> None:
    """Refuse study, experiment and an epoch other than last for a plain table."""
    for flag, value, owner in (
        ("study", study, "an Optuna study"),
        ("experiment", experiment, "an MLflow experiment"),
    ):
        if value is not None:
            raise HpcoreError(
                f"{flag}={value!r} (CLI: --{flag}) names {owner}; {what} is a "
                "plain table"
            )
    no_epochs(parse_epoch(epoch), what)


def read(
    found: Found,
    *,
    study: str | None = None,
    experiment: str | None = None,
    metric: str | None = None,
    epoch: Epoch | None = None,
) -> SourceTable:
    """Read a source :func:`detect` recognised."""
    when = epoch or Epoch(default=True)
    if found.kind == "optuna":
        from .optuna_study import read_optuna

        return read_optuna(found.location, study=study, metric=metric, epoch=when)
    if found.kind == "mlflow":
        from .mlflow_tracking import read_mlflow

        return read_mlflow(
            found.location, experiment=experiment, metric=metric, epoch=when
        )
    if found.kind == "ray":
        from .ray_tune import read_ray_tune

        return read_ray_tune(Path(found.location), metric=metric, epoch=when)
    if found.kind == "tensorboard":
        from .tensorboard_hparams import read_tensorboard

        return read_tensorboard(Path(found.location), metric=metric, epoch=when)
    if found.kind in ("wandb-csv", "wandb-json"):
        from .wandb_export import read_wandb

        return read_wandb(Path(found.location), metric=metric, epoch=when)
    if found.kind == "nws":
        from ..nws import read_nws_folder

        frame = read_nws_folder(Path(found.location), epoch=when)
        what = str(when) if when.kind != "step" else f"epoch {when.step}"
        return SourceTable(
            frame=frame,
            metric=metric,
            description=found.location,
            epoch=f"{what}: the test accuracy of each network's "
            + (
                "last epoch row of error.bin"
                if when.kind == "last"
                else f"row {when.step} of error.bin (row 0: before training)"
                if when.kind == "step"
                else "best epoch row of error.bin (highest test accuracy)"
                if when.kind in ("best", "max")
                else "worst epoch row of error.bin (lowest test accuracy)"
            ),
        )
    raise DataSourceError(f"unknown source kind {found.kind!r}")  # pragma: no cover


def finish(ens: Ensemble, table: SourceTable) -> Ensemble:
    """The ensemble with what the reader found added (drops, epoch); the
    reader's exclusions are in it already (``ensemble_from_frame``'s
    ``left_out``)."""
    return dataclasses.replace(
        ens,
        dropped={**table.dropped, **ens.dropped},
        epoch=table.epoch,
        better=table.better,
    )


# --- recognising a source ----------------------------------------------------------


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False where it cannot even be looked up (a
    name too long: reading it as a table says why)."""
    try:
        return path.exists()
    except OSError:
        return False


def detect(source: str | PathLike[str]) -> Found | None:
    """What kind of source ``source`` is; None for a plain table file (or no file).

    Raises
    ------
    DataSourceError
        A URL of an unknown scheme, a database that is neither Optuna's nor
        MLflow's, a folder or file of no known kind.
    """
    text = os.fspath(source)
    match = _SCHEME.match(text)
    if match:
        return _url_kind(text, match.group(1).lower())
    if text.startswith("file:"):
        return Found("mlflow", text)
    path = Path(text)
    if not _exists(path):
        return None
    check_readable_kind(path)
    if path.is_dir():
        return _folder_kind(path)
    return _file_kind(path)


def _url_kind(url: str, scheme: str) -> Found:
    if scheme in ("http", "https", "file"):
        return Found("mlflow", url)
    if scheme.split("+")[0] == "sqlite":
        return Found(_db_kind(url, _sqlite_tables(url)), url)
    if scheme in _DB_SCHEMES or scheme.split("+")[0] in _DB_SCHEMES:
        return Found(_db_kind(url, _sql_tables(url)), url)
    raise DataSourceError(
        f"{url!r}: unknown URL scheme {scheme + '://'!r}; expected a database URL "
        "(sqlite:///file.db, postgresql://..., mysql://...) of an Optuna or MLflow "
        "store, an http(s):// MLflow tracking server or a file: URI of an MLflow "
        "file store"
    )


_DB_SCHEMES = frozenset(
    {"postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle", "cockroachdb"}
)


def sqlite_path(url: str) -> Path:
    """The database file of a ``sqlite:///...`` URL (``sqlite:////abs`` -> ``/abs``)."""
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or rest in ("/", ""):
        raise DataSourceError(
            f"{url!r}: expected sqlite:///relative/file.db or sqlite:////absolute/"
            "file.db (an in-memory database holds no runs)"
        )
    name = rest[1:].split("?", 1)[0]
    if name.startswith("file:"):
        name = name[5:]
    return Path(name)


def _sqlite_tables(url: str) -> frozenset[str]:
    path = sqlite_path(url)
    if not path.is_file():
        raise DataSourceError(
            f"{url!r}: the database file {str(path)!r} does not exist"
            if not path.exists()
            else f"{url!r}: {str(path)!r} is not a file"
        )
    return _tables_of_file(path, url)


def _tables_of_file(path: Path, where: str) -> frozenset[str]:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as err:
        raise DataSourceError(f"{where!r} could not be read: {err}") from err
    if head != _SQLITE_MAGIC:
        raise DataSourceError(f"{where!r}: {str(path)!r} is not an SQLite database")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error as err:
        raise DataSourceError(
            f"{where!r}: the SQLite database {str(path)!r} could not be read: {err}"
        ) from err
    return frozenset(str(r[0]) for r in rows)


def _sql_tables(url: str) -> frozenset[str]:
    sqlalchemy = require("sqlalchemy", f"the database {url!r}")
    connect_args = (
        {"connect_timeout": 5} if url.startswith(("postgres", "mysql")) else {}
    )
    try:
        with quiet():
            engine = sqlalchemy.create_engine(url, connect_args=connect_args)
            try:
                names = sqlalchemy.inspect(engine).get_table_names()
            finally:
                engine.dispose()
    except Exception as err:  # driver errors have no common base class
        from .common import one_line

        raise DataSourceError(
            f"the database {url!r} does not answer or cannot be read: {one_line(err)}"
        ) from err
    return frozenset(str(n) for n in names)


def _db_kind(url: str, tables: frozenset[str]) -> str:
    optuna = tables >= OPTUNA_TABLES
    mlflow = tables >= MLFLOW_TABLES
    if optuna and mlflow:
        return "optuna+mlflow"
    if optuna:
        return "optuna"
    if mlflow:
        return "mlflow"
    raise DataSourceError(
        f"{url!r} holds neither an Optuna study (tables "
        f"{fmt_list(sorted(OPTUNA_TABLES))}) nor MLflow runs (tables "
        f"{fmt_list(sorted(MLFLOW_TABLES))}); tables found: "
        f"{fmt_list(sorted(tables)) if tables else 'none'}"
    )


def _settle(found: Found, *, study: str | None, experiment: str | None) -> Found:
    """Choose Optuna or MLflow for a database that holds both."""
    if found.kind != "optuna+mlflow":
        return found
    if study is not None and experiment is None:
        return Found("optuna", found.location)
    if experiment is not None and study is None:
        return Found("mlflow", found.location)
    raise DataSourceError(
        f"{found.location!r} holds both an Optuna storage and MLflow runs; say "
        "which to read with study= or experiment= (CLI: --study NAME or "
        "--experiment NAME)"
    )


def _folder_kind(path: Path) -> Found:
    where = str(path)
    try:
        entries = sorted(path.iterdir())
    except OSError as err:
        raise DataSourceError(f"folder {where!r} could not be read: {err}") from err
    files = [e for e in entries if e.is_file()]
    folders = [e for e in entries if e.is_dir()]
    if any(_is_mlflow_experiment(f) for f in folders):
        return Found("mlflow", where)
    if any(f.name.startswith("experiment_state") for f in files) or any(
        (f / "params.json").is_file()
        and ((f / "result.json").is_file() or (f / "progress.csv").is_file())
        for f in folders
    ):
        return Found("ray", where)
    if _has_events(path):
        return Found("tensorboard", where)
    if any(f.suffix.lower() == ".csv" for f in files) or _has_meta_csv(path):
        return Found("nws", where)
    shown = [e.name + ("/" if e.is_dir() else "") for e in entries]
    raise DataSourceError(
        f"folder {where!r} is not a data source hpexplorer reads: expected an "
        "MLflow file store (mlruns/ with <experiment id>/meta.yaml), a Ray Tune "
        "experiment folder (one folder per trial with params.json and "
        "result.json), a TensorBoard log folder (events.out.tfevents.* files with "
        "HParams data) or an NWS data-set folder (split CSVs, or network folders "
        f"with meta.csv and error.bin); found {len(files)} file(s) and "
        f"{len(folders)} folder(s){': ' + fmt_list(shown, limit=8) if shown else ''}"
    )


def _is_mlflow_experiment(folder: Path) -> bool:
    meta = folder / "meta.yaml"
    if not meta.is_file():
        return False
    try:
        head = meta.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return "experiment_id:" in head and "lifecycle_stage:" in head


def _walk(path: Path) -> list[tuple[Path, list[str]]]:
    found: list[tuple[Path, list[str]]] = []
    for here, dirs, names in os.walk(path):
        depth = len(Path(here).relative_to(path).parts)
        if depth >= SCAN_DEPTH:
            dirs[:] = []
        dirs.sort()
        found.append((Path(here), names))
    return found


def _has_events(path: Path) -> bool:
    for _here, names in _walk(path):
        if any(n.startswith("events.out.tfevents.") for n in names):
            return True
    return False


def _has_meta_csv(path: Path) -> bool:
    return any("meta.csv" in names for _here, names in _walk(path))


def _file_kind(path: Path) -> Found | None:
    where = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return None  # read_table names the problem
    if head.startswith(_SQLITE_MAGIC):
        url = f"sqlite:///{path.resolve()}"
        return Found(_db_kind(where, _tables_of_file(path, where)), url)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in TABLE_SUFFIXES:
        if suffixes[-1] in (".csv", ".txt") and _is_wandb_csv(head):
            return Found("wandb-csv", where)
        return None
    if suffixes and suffixes[-1] in {".gz", ".bz2", ".zip", ".xz", ".zst"}:
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text[:1] in "{[":
        first = text.splitlines()[0] if text else ""
        if '"op_code"' in first and '"worker_id"' in first:
            return Found("optuna", where)
        return Found("wandb-json", where)
    raise DataSourceError(
        f"data file {where!r}: unsupported file type "
        f"{suffixes[-1] if suffixes else '(none)'!r}; expected a CSV, TSV or "
        "Parquet table, an SQLite database of Optuna or MLflow, an Optuna journal "
        "file, a W&B runs export (CSV or JSON), or a folder (NWS data set, MLflow "
        "file store, Ray Tune experiment, TensorBoard logs)"
    )


def _is_wandb_csv(head: bytes) -> bool:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    line = text.splitlines()[0] if text else ""
    try:
        header = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return False
    names = {h.strip() for h in header}
    if {"summary", "config"} <= names:  # to_csv of the documented export script
        return True
    return {"Name", "State"} <= names and bool(
        names & (WANDB_COLUMNS - {"Name", "State"})
    )
