"""``hpexplorer serve``: the paper's linked views, live in the browser.

``hpexplorer serve [DATA] [data options] [--port P] [--host H] [--no-browser]``
loads the data once, holds the rows in the server and serves one page
(:mod:`hpcore.views.web`, Bokeh) that receives only aggregates, so a brush
costs the same at 13 thousand and at 10 million networks.

How a view is computed
----------------------
A browser session has a :class:`ViewState` (metric, group, normalization,
range, option filters, clicked matrix cells, primary, secondary, colouring,
order, table page). :func:`compute_view` turns it into the tables of
:func:`hpcore.analysis.tables.compute_tables`, the very function the report
uses, with one :class:`~hpcore.BrushEngine` per loaded ensemble
(:func:`hpcore.analysis.tables.report_engine`) whose :meth:`select` makes the
selection, as :func:`hpcore.app.report.build_report` does. "save report"
calls :func:`~hpcore.app.report.build_report` and
:func:`~hpcore.app.report.write_report` on the session's state: the folder
equals what the ``hpexplorer report`` command shown on the page writes.

Sessions and load
-----------------
The loaded ensembles and their engines (:class:`DataStore`) are shared by all
sessions and never modified. Each session computes on a small shared pool of
worker threads through a :class:`Latest`: while one state is being computed,
newer states replace each other and only the newest one is computed next, so
a fast drag never queues stale work. The data is loaded after the server
starts; the page shows the progress, and an error in the data is shown on
the page with the line the command line prints (the server keeps running;
"load again" re-reads the same file).

State in the address
--------------------
The state is mirrored into the page's address (:func:`state_to_query`) and
read back from it when a page is opened (:func:`state_from_query`), so a view
can be bookmarked, shared and reloaded.

Security
--------
The server listens on 127.0.0.1 unless ``--host`` says otherwise (with a
warning), and only pages from the addresses it serves may open its
websocket. The page can only choose among what the server loaded: metric and
group come from the loaded table's columns, a new normalization is computed
from memory, a new metric or group re-reads the one file the server was
started with, and reports go into the one folder given by ``--out``.
Client messages larger than :data:`MAX_MESSAGE_BYTES` close that connection
only; malformed ones are refused by Bokeh the same way; a callback that
fails shows its message on the page and leaves the server running.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import functools
import json
import logging
import math
import shlex
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import webbrowser
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import pandas as pd

from ..analysis.engine import BrushEngine
from ..analysis.normalization import METHODS, better_end, normalize
from ..analysis.selection import Selection, resolve_where, select
from ..analysis.tables import (
    CI_LEVEL,
    HISTOGRAM_BINS,
    SORTS,
    ReportTables,
    compute_tables,
    default_primary,
    report_engine,
)
from ..data.errors import HpcoreError
from ..data.loading import looks_like_metric
from ..data.model import NORMALIZED, Ensemble
from ..data.validation import check_interval, check_one_of, fmt_list
from . import report
from .common import (
    announce,
    cli_message,
    load_from_args,
    note,
)
from .serve_settings import DEFAULT_PORT, EXTRA, LOOPBACK

if TYPE_CHECKING:
    from bokeh.document import Document
    from bokeh.server.server import Server

    from ..views.web import Page

log = logging.getLogger(__name__)


#: Largest websocket message a page may send; larger ones close that connection.
MAX_MESSAGE_BYTES = 256 * 1024

#: Longest query string a page address may carry.
MAX_QUERY_CHARS = 16_000

#: At most this many clicked matrix cells.
MAX_CELLS = 64

#: Selected networks per table page.
PAGE_ROWS = 20

#: Brushed range ends are rounded to this many decimals (so that the report
#: command shown on the page selects exactly the same networks).
RANGE_DECIMALS = 4

#: Worker threads computing views, shared by all sessions.
WORKERS = 2

#: Loaded ensembles (metric, group, normalization) kept besides the first.
MAX_VARIANTS = 3

#: Rows per chunk of the CSV download.
CSV_CHUNK = 50_000

#: The status line greys when an update takes longer than this (ms).
BUSY_MS = 200

#: How often a loading page asks for progress, in milliseconds.
POLL_MS = 250

T = TypeVar("T")
R = TypeVar("R")

#: A clicked matrix cell: (param_a, option_a, param_b, option_b).
Cell = tuple[str, str, str, str]


class ServeError(HpcoreError):
    """A state that a page or its address asked for and that cannot be shown."""


class ExtraMissingError(HpcoreError):
    """An optional dependency (an extra of the package) is not installed."""


def require_bokeh() -> None:
    """Raise :class:`ExtraMissingError` naming the extra when Bokeh is missing."""
    try:
        import bokeh
    except ImportError as err:
        raise ExtraMissingError(
            f"hpexplorer serve needs Bokeh, which is not installed; install it "
            f"with: {EXTRA}"
        ) from err
    major, minor = (int(p) for p in bokeh.__version__.split(".")[:2])
    if (major, minor) < (3, 4):
        raise ExtraMissingError(
            f"hpexplorer serve needs Bokeh >= 3.4; found {bokeh.__version__}; "
            f"upgrade with: {EXTRA}"
        )


# ------------------------------------------------------------------ state


@dataclass(frozen=True)
class ViewState:
    """What one browser session shows; every field is in the page's address.

    Attributes
    ----------
    metric, group, normalization : str or None
        The data choices; None: as the server was started.
    range : (float, float)
        Closed range on the normalized metric.
    filters : tuple of (parameter, options)
        The checked options of every parameter not all of whose options are
        checked (parameters in the order they were filtered).
    cells : tuple of Cell
        Clicked matrix cells, each keeping only the networks with both of its
        options; cells combine like ``--where``: a parameter keeps the options
        of the cells that name it (and of its filter).
    primary, secondary : str or None
        The trellis parameters; primary None: the group column.
    color : {"count", "enrichment"}
        Matrix colouring.
    sort : {"data", "importance"}
        Order of the matrix' parameters and the trellis panels.
    page : int
        Page of the table of selected networks (0 = the best).
    """

    metric: str | None = None
    group: str | None = None
    normalization: str | None = None
    range: tuple[float, float] = (0.0, 1.0)
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cells: tuple[Cell, ...] = ()
    primary: str | None = None
    secondary: str | None = None
    color: str = "count"
    sort: str = "data"
    page: int = 0

    def where(self) -> dict[str, list[str]]:
        """The ``where`` filter of filters and clicked cells together.

        Raises
        ------
        ServeError
            A clicked cell names an option its parameter's filter leaves out.
        """
        where: dict[str, list[str]] = {p: list(o) for p, o in self.filters}
        from_cells: dict[str, list[str]] = {}
        for a, oa, b, ob in self.cells:
            from_cells.setdefault(a, []).append(oa)
            from_cells.setdefault(b, []).append(ob)
        for name, options in from_cells.items():
            if name in where:
                kept = [o for o in where[name] if o in options]
                if not kept:
                    raise ServeError(
                        f"the clicked cell(s) with {name} = "
                        f"{', '.join(dict.fromkeys(options))} are outside the "
                        f"filter on {name!r} (checked: {fmt_list(where[name])}); "
                        "check that option or clear the clicked cells"
                    )
                where[name] = kept
            else:
                where[name] = list(dict.fromkeys(options))
        return where

    # --------------------------------------------------- transitions

    def with_range(self, lo: float, hi: float) -> ViewState:
        """The state with another range (first table page)."""
        return dataclasses.replace(self, range=(lo, hi), page=0)

    def with_filter(
        self, name: str, checked: Sequence[str], options: Sequence[str]
    ) -> ViewState:
        """The state with ``checked`` options of parameter ``name`` (of ``options``)."""
        keep = tuple(o for o in options if o in set(checked))
        filters = list(self.filters)
        names = [p for p, _ in filters]
        if set(keep) == set(options):
            filters = [(p, o) for p, o in filters if p != name]
        elif name in names:
            filters[names.index(name)] = (name, keep)
        else:
            filters.append((name, keep))
        return dataclasses.replace(self, filters=tuple(filters), page=0)

    def toggled(self, cell: Cell) -> ViewState:
        """The state with ``cell`` clicked: added, or removed when it was there."""
        cells = tuple(c for c in self.cells if c != cell)
        if len(cells) == len(self.cells):
            cells = (*cells, cell)
        return dataclasses.replace(self, cells=cells, page=0)

    def with_data(
        self,
        *,
        metric: str | None = None,
        group: str | None = None,
        normalization: str | None = None,
    ) -> ViewState:
        """Other data choices: filters, cells and trellis choices start afresh
        when metric or group change (the parameters may differ)."""
        metric = self.metric if metric is None else metric
        group = self.group if group is None else group
        normalization = self.normalization if normalization is None else normalization
        if (metric, group) == (self.metric, self.group):
            return dataclasses.replace(self, normalization=normalization, page=0)
        return dataclasses.replace(
            self,
            metric=metric,
            group=group,
            normalization=normalization,
            filters=(),
            cells=(),
            primary=None,
            secondary=None,
            page=0,
        )

    def with_primary(self, primary: str) -> ViewState:
        """Another primary; a secondary equal to it is dropped."""
        secondary = None if self.secondary == primary else self.secondary
        return dataclasses.replace(self, primary=primary, secondary=secondary)


def snap(value: float) -> float:
    """A brushed range end: rounded to :data:`RANGE_DECIMALS`, within [0, 1]."""
    return min(max(round(float(value), RANGE_DECIMALS), 0.0), 1.0)


def inside_axis(
    left: float, right: float, before: tuple[float, float] | None
) -> tuple[float, float]:
    """The brushed box's ends ``(lo, hi)`` within [0, 1].

    BokehJS lets a moved box, or a dragged end, run past the axis' ends (its
    limits hold neither): the range was then cut at the axis while the box
    kept a part nobody could see, whose end could not be grabbed and which
    made the next move grow the range. A box moved past an end (both ends by
    the same step since ``before``, the ends last read or set) stops against
    it and keeps its width, as brushes elsewhere do; an end dragged past one
    stops there.

    Examples
    --------
    >>> inside_axis(0.625, 1.125, (0.25, 0.75))  # moved past 1
    (0.5, 1.0)
    >>> inside_axis(-0.5, -0.25, (0.25, 0.5))  # moved off the axis
    (0.0, 0.25)
    >>> inside_axis(0.25, 1.125, (0.25, 0.75))  # its right end dragged past 1
    (0.25, 1.0)
    """
    lo, hi = sorted((float(left), float(right)))
    if lo >= 0.0 and hi <= 1.0:
        return lo, hi
    if (
        before is not None
        and hi - lo <= 1.0
        and math.isclose(lo - before[0], hi - before[1], abs_tol=1e-9)
    ):
        width = hi - lo
        lo, hi = (0.0, width) if lo < 0.0 else (1.0 - width, 1.0)
    return min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)


def _number(value: float) -> str:
    """A float in an address: the shortest text that reads back equal."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def state_to_query(state: ViewState) -> str:
    """The query string (with ``?``) of a state; empty for the default state.

    Keys: ``metric``, ``group``, ``norm``, ``range=LO,HI``, ``f.<parameter>``
    (one per checked option), ``cell`` (a JSON list of four strings),
    ``primary``, ``secondary``, ``color``, ``sort``, ``page``; defaults are
    left out.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in (
        ("metric", state.metric),
        ("group", state.group),
        ("norm", state.normalization),
    ):
        if value is not None:
            pairs.append((key, value))
    if state.range != (0.0, 1.0):
        pairs.append(("range", f"{_number(state.range[0])},{_number(state.range[1])}"))
    for name, options in state.filters:
        if options:
            pairs += [(f"f.{name}", o) for o in options]
        else:
            pairs.append((f"f.{name}", ""))
    pairs += [
        ("cell", json.dumps(list(c), ensure_ascii=False, separators=(",", ":")))
        for c in state.cells
    ]
    if state.primary is not None:
        pairs.append(("primary", state.primary))
    if state.secondary is not None:
        pairs.append(("secondary", state.secondary))
    if state.color != "count":
        pairs.append(("color", state.color))
    if state.sort != "data":
        pairs.append(("sort", state.sort))
    if state.page:
        pairs.append(("page", str(state.page)))
    if not pairs:
        return ""
    return "?" + urllib.parse.urlencode(pairs, safe=",", quote_via=urllib.parse.quote)


_KEYS: tuple[str, ...] = ("metric", "group", "norm", "range", "cell", "primary")
_KEYS += ("secondary", "color", "sort", "page")


def _one(arguments: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = arguments.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise ServeError(f"address: {key!r} is given {len(values)} times; give it once")
    return values[0]


def decode_arguments(arguments: Mapping[str, Sequence[bytes]]) -> dict[str, list[str]]:
    """Tornado's query arguments (bytes) as text; bad UTF-8 raises ServeError."""
    out: dict[str, list[str]] = {}
    for key, values in arguments.items():
        try:
            out[key] = [v.decode("utf-8") for v in values]
        except UnicodeDecodeError as err:
            raise ServeError(f"address: {key!r} is not valid UTF-8 text") from err
    return out


def state_from_query(arguments: Mapping[str, Sequence[str]]) -> ViewState:
    """Read a state from query arguments (as ``urllib.parse.parse_qs`` gives them).

    Only the form is checked here; whether the names and options exist is
    checked against the data by :func:`compute_view`, with the messages of
    the command line. Bokeh's own arguments (``bokeh-...``) are ignored.

    Raises
    ------
    ServeError
        Unknown key, a key given twice, a malformed range, cell or page, an
        unknown normalization, colouring or order, or too much text.
    """
    size = sum(len(k) + sum(len(v) + 1 for v in vs) for k, vs in arguments.items())
    if size > MAX_QUERY_CHARS:
        raise ServeError(
            f"address: the query holds {size:,} characters; at most "
            f"{MAX_QUERY_CHARS:,} are read"
        )
    unknown = [
        k
        for k in arguments
        if k not in _KEYS and not k.startswith("f.") and not k.startswith("bokeh-")
    ]
    if unknown:
        raise ServeError(
            f"address: unknown key(s) {fmt_list(unknown)}; known: "
            f"{fmt_list([*_KEYS, 'f.<parameter>'])}"
        )
    state = ViewState()
    updates: dict[str, Any] = {}
    for key, field_name in (("metric", "metric"), ("group", "group")):
        value = _one(arguments, key)
        if value is not None:
            updates[field_name] = value
    norm = _one(arguments, "norm")
    if norm is not None:
        check_one_of("norm", norm, METHODS, ServeError)
        updates["normalization"] = norm
    text = _one(arguments, "range")
    if text is not None:
        parts = text.split(",")
        try:
            if len(parts) != 2:
                raise ValueError(text)
            lo, hi = (float(p) for p in parts)
        except ValueError:
            raise ServeError(
                f"address: 'range' must be LO,HI (two numbers in [0, 1]); got {text!r}"
            ) from None
        updates["range"] = check_interval("range", (lo, hi))
    filters = []
    for key, values in arguments.items():
        if key.startswith("f."):
            name = key[2:]
            if not name:
                raise ServeError("address: 'f.' needs a parameter name (f.<parameter>)")
            filters.append((name, tuple(dict.fromkeys(v for v in values if v))))
    updates["filters"] = tuple(filters)
    cells = []
    for text in arguments.get("cell", ()):
        try:
            cell = json.loads(text)
        except json.JSONDecodeError:
            cell = None
        if (
            not isinstance(cell, list)
            or len(cell) != 4
            or not all(isinstance(c, str) for c in cell)
        ):
            raise ServeError(
                "address: 'cell' must be a JSON list of four strings "
                f'["param_a","option_a","param_b","option_b"]; got {text!r}'
            )
        cells.append((cell[0], cell[1], cell[2], cell[3]))
    if len(cells) > MAX_CELLS:
        raise ServeError(f"address: at most {MAX_CELLS} cells; got {len(cells)}")
    updates["cells"] = tuple(dict.fromkeys(cells))
    for key in ("primary", "secondary"):
        value = _one(arguments, key)
        if value is not None:
            updates[key] = value
    color = _one(arguments, "color")
    if color is not None:
        check_one_of("color", color, report.COLORS, ServeError)
        updates["color"] = color
    sort = _one(arguments, "sort")
    if sort is not None:
        check_one_of("sort", sort, SORTS, ServeError)
        updates["sort"] = sort
    page = _one(arguments, "page")
    if page is not None:
        if not page.isdigit() or len(page) > 9:
            raise ServeError(
                f"address: 'page' must be a whole number >= 0; got {page!r}"
            )
        updates["page"] = int(page)
    return dataclasses.replace(state, **updates)


# ------------------------------------------------------------------- data


Loader = Callable[[str | None, str | None, str | None], tuple[Ensemble, str]]
"""Load and normalize the ensemble of (metric, group, normalization); also say
its source. None: as the command line says."""


@dataclass(frozen=True, eq=False)
class Variant:
    """One loaded ensemble (metric, group, normalization) with its engine.

    Shared read-only by every session that shows it.

    Attributes
    ----------
    ensemble : Ensemble
        Normalized.
    engine : BrushEngine or None
        :func:`~hpcore.analysis.tables.report_engine` of the ensemble (None
        when it cannot serve: then the plain functions answer).
    source : str
        Where the rows came from (for ``summary.json``).
    order : numpy.ndarray
        Row positions best first: normalized metric descending (ties in row
        order).
    descending : numpy.ndarray
        ``-normalized[order]`` (ascending), for finding a range's rows.
    metrics : tuple of str
        Metric choices: the metric and the loaded table's other metric-like
        columns.
    """

    ensemble: Ensemble
    engine: BrushEngine | None
    source: str
    order: np.ndarray
    descending: np.ndarray
    metrics: tuple[str, ...]
    bins: int = HISTOGRAM_BINS

    @classmethod
    def build(
        cls,
        ens: Ensemble,
        source: str,
        *,
        bins: int = HISTOGRAM_BINS,
        step: Callable[[str], None] | None = None,
    ) -> Variant:
        """Build the engine and the best-first order of a normalized ensemble."""
        say = step or (lambda _text: None)
        say(f"building the brush engine for {len(ens.table):,} networks")
        engine = report_engine(ens, bins)
        say("ranking the networks")
        values = ens.table[NORMALIZED].to_numpy(dtype=np.float64)
        order = np.argsort(-values, kind="stable")
        metrics = (
            ens.metric,
            *[str(c) for c in ens.excluded if looks_like_metric(str(c))],
        )
        return cls(
            ensemble=ens,
            engine=engine,
            source=source,
            order=order,
            descending=-values[order],
            metrics=tuple(dict.fromkeys(metrics)),
            bins=bins,
        )

    @property
    def groups(self) -> tuple[str, ...]:
        """Group choices: the parameters (the group is always the first)."""
        return self.ensemble.parameters

    def select(
        self, range: tuple[float, float], where: Mapping[str, Sequence[str]]
    ) -> Selection:
        """The selection, made by the engine as the report makes it."""
        if self.engine is None:
            return select(self.ensemble, range=range, where=where)
        return self.engine.select(range=range, where=where)

    def _passes(
        self, rows: np.ndarray, where: Mapping[str, Sequence[str]]
    ) -> np.ndarray:
        keep = np.ones(len(rows), dtype=bool)
        for name, labels in where.items():
            options = self.ensemble.options(name)
            allowed = np.zeros(len(options), dtype=bool)
            allowed[[options.index(o) for o in labels]] = True
            codes = self.ensemble.table[name].cat.codes.to_numpy()
            keep &= allowed[codes[rows]]
        return keep

    def ranked(
        self,
        range: tuple[float, float],
        where: Mapping[str, Sequence[str]],
        *,
        chunk: int = 4096,
    ) -> Iterator[np.ndarray]:
        """Row positions of a selection, best first, in chunks.

        The rows in a range are one run of :attr:`order` (found by binary
        search); ``where`` is checked chunk by chunk, so the first page costs
        about one chunk however many rows are selected.
        """
        lo, hi = range
        start = int(np.searchsorted(self.descending, -hi, side="left"))
        stop = int(np.searchsorted(self.descending, -lo, side="right"))
        for first in np.arange(start, stop, chunk):
            rows = self.order[first : min(first + chunk, stop)]
            if where:
                rows = rows[self._passes(rows, where)]
            if len(rows):
                yield rows

    def best(
        self,
        range: tuple[float, float],
        where: Mapping[str, Sequence[str]],
        first: int,
        count: int,
    ) -> np.ndarray:
        """Row positions ``first .. first + count`` of a selection, best first."""
        taken: list[np.ndarray] = []
        seen = 0
        for rows in self.ranked(range, where, chunk=max(4096, first + count)):
            taken.append(rows)
            seen += len(rows)
            if seen >= first + count:
                break
        if not taken:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(taken)[first : first + count]

    def table_columns(self) -> list[str]:
        """Columns of the table of networks: group, then the other parameters."""
        return list(self.ensemble.parameters)


class DataStore:
    """The data a server was started with, shared read-only by all sessions.

    Loads the first ensemble with ``loader(None, None, None)`` (in
    :meth:`load`, run in a thread after the server has started) and others on
    demand (:meth:`variant`): another normalization is computed from an
    ensemble in memory, another metric or group calls the loader again (which
    reads the same source). Keeps the first and up to :data:`MAX_VARIANTS`
    others.
    """

    def __init__(self, loader: Loader, *, label: str, bins: int = HISTOGRAM_BINS):
        self._loader = loader
        self.label = label
        self.bins = bins
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._bases: OrderedDict[tuple[str, str | None], Ensemble] = OrderedDict()
        self._variants: OrderedDict[tuple[str, str | None, str], Variant] = (
            OrderedDict()
        )
        self.initial: Variant | None = None
        self.error: str | None = None
        self._stage = "waiting to load"
        self._started = time.perf_counter()
        self._loading = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DataStore:
        """A store loading what the data options of the command line name."""

        def loader(
            metric: str | None, group: str | None, method: str | None
        ) -> tuple[Ensemble, str]:
            ns = argparse.Namespace(**vars(args))
            if metric is not None:
                if metric != args.metric:  # --better was said of the other one
                    ns.better = None
                ns.metric = metric
            if group is not None:
                ns.group = group
            if method is not None:
                ns.normalize = method
            return load_from_args(ns)

        label = args.data if args.data is not None else "the built-in ensemble"
        return cls(loader, label=str(label))

    @classmethod
    def from_ensemble(cls, ens: Ensemble, source: str | None = None) -> DataStore:
        """A store of an ensemble in memory (tests, benchmarks, notebooks).

        Another metric or group is not available (the ensemble holds only its
        columns); normalizations are.
        """

        def loader(
            metric: str | None, group: str | None, method: str | None
        ) -> tuple[Ensemble, str]:
            if metric not in (None, ens.metric) or group not in (None, ens.group):
                raise ServeError(
                    "this server holds one ensemble in memory; metric and group "
                    f"are {ens.metric!r} and {ens.group!r}"
                )
            done = normalize(
                ens,
                method=method or ens.normalization or "minmax",  # type: ignore[arg-type]
                better=ens.better,
            )
            return done, source or ens.source

        return cls(loader, label=source or ens.source)

    # ---------------------------------------------------------- status

    @property
    def ready(self) -> bool:
        """True once the first ensemble is loaded."""
        return self.initial is not None

    @property
    def loading(self) -> bool:
        """True while :meth:`load` runs."""
        with self._lock:
            return self._loading

    def progress(self) -> str:
        """What the store is doing, for a loading page."""
        elapsed = time.perf_counter() - self._started
        return f"{self._stage} \u2026 {elapsed:.0f} s"

    def _step(self, text: str) -> None:
        self._stage = text

    def load(self) -> None:
        """Load the first ensemble; on failure keep the message in :attr:`error`.

        The message is the line the command line prints for the error; it is
        also printed on stderr.
        """
        with self._lock:
            if self._loading or self.initial is not None:
                return
            self._loading = True
            self.error = None
            self._started = time.perf_counter()
        try:
            self._step(f"loading {self.label}")
            ens, source = self._loader(None, None, None)
            variant = Variant.build(ens, source, bins=self.bins, step=self._step)
            announce(ens)
            with self._lock:
                self._bases[(ens.metric, ens.group)] = ens
                key = (ens.metric, ens.group, str(ens.normalization))
                self._variants[key] = variant
                self.initial = variant
            elapsed = time.perf_counter() - self._started
            note(
                f"loaded {len(ens.table):,} networks in {elapsed:.1f} s; "
                "the page is ready"
            )
        except HpcoreError as err:
            self.error = _message(err)
            print(self.error, file=sys.stderr, flush=True)
        except Exception as err:  # a bug or an exhausted machine: keep serving
            self.error = (
                f"hpexplorer serve: internal error while loading: "
                f"{type(err).__name__}: {err}"
            )
            traceback.print_exc()
        finally:
            with self._lock:
                self._loading = False
            self._stage = "loaded" if self.initial is not None else "failed"

    def variant(
        self,
        metric: str | None = None,
        group: str | None = None,
        normalization: str | None = None,
    ) -> Variant:
        """The ensemble of these choices (None: the first one's), built on demand.

        Raises
        ------
        ServeError
            Nothing loaded yet, or a metric or group that is not a column of
            the loaded table (the page cannot name other files or columns).
        HpcoreError
            The loader's errors (as on the command line).
        """
        first = self.initial
        if first is None:
            raise ServeError(self.error or "the data is still loading")
        ens0 = first.ensemble
        metric = ens0.metric if metric is None else metric
        group = ens0.group if group is None else group
        method = str(ens0.normalization) if normalization is None else normalization
        check_one_of("normalization", method, METHODS, ServeError)
        key = (metric, group, method)
        with self._lock:
            known = self._variants.get(key)
            if known is not None:
                self._variants.move_to_end(key)
                return known
            metrics = {m for v in self._variants.values() for m in v.metrics}
            groups = {g for v in self._variants.values() for g in v.groups}
            groups |= {v.ensemble.group for v in self._variants.values()} - {None}  # type: ignore[arg-type]
        if metric not in metrics:
            raise ServeError(
                f"metric {metric!r} is not a metric column of the loaded table; "
                f"choices: {fmt_list(sorted(metrics))}"
            )
        if group is not None and group not in groups:
            raise ServeError(
                f"group {group!r} is not a parameter of the loaded table; "
                f"choices: {fmt_list(sorted(groups))}"
            )
        with self._build_lock:
            with self._lock:
                known = self._variants.get(key)
                base = self._bases.get((metric, group))
            if known is not None:
                return known
            if base is None:
                base, source = self._loader(metric, group, method)
                with self._lock:
                    self._bases[(metric, group)] = base
                    while len(self._bases) > MAX_VARIANTS + 1:
                        oldest = next(iter(self._bases))
                        if (oldest[0], oldest[1]) == (ens0.metric, ens0.group):
                            self._bases.move_to_end(oldest)
                            continue
                        self._bases.popitem(last=False)
            else:
                source = first.source
            ens = (
                base
                if base.normalization == method
                else normalize(base, method=method, better=base.better)  # type: ignore[arg-type]
            )
            built = Variant.build(ens, source, bins=self.bins)
            with self._lock:
                self._variants[key] = built
                while len(self._variants) > MAX_VARIANTS + 1:
                    oldest_key = next(iter(self._variants))
                    if self._variants[oldest_key] is first:
                        self._variants.move_to_end(oldest_key)
                        continue
                    self._variants.popitem(last=False)
            return built

    def cached(
        self,
        metric: str | None = None,
        group: str | None = None,
        normalization: str | None = None,
    ) -> Variant | None:
        """The variant of these choices when it is already built, else None."""
        first = self.initial
        if first is None:
            return None
        ens0 = first.ensemble
        key = (
            ens0.metric if metric is None else metric,
            ens0.group if group is None else group,
            str(ens0.normalization) if normalization is None else normalization,
        )
        with self._lock:
            return self._variants.get(key)


# ------------------------------------------------------------------- views


@dataclass(frozen=True, eq=False)
class View:
    """Everything one state of the page shows.

    Attributes
    ----------
    state : ViewState
        The state, with metric, group, normalization and primary filled in.
    variant : Variant
        The data it shows.
    selection : Selection
        The selected networks (made by the engine).
    where : Mapping[str, tuple of str]
        The resolved filter (option filters and clicked cells).
    tables : ReportTables
        :func:`~hpcore.analysis.tables.compute_tables` of the state.
    rows : pandas.DataFrame
        The table page of selected networks, best first.
    first : int
        Rank (0-based) of the first row of ``rows``.
    """

    state: ViewState
    variant: Variant
    selection: Selection
    where: Mapping[str, tuple[str, ...]]
    tables: ReportTables
    rows: pd.DataFrame
    first: int


def compute_view(
    variant: Variant, state: ViewState, *, page_rows: int = PAGE_ROWS
) -> View:
    """The tables of a state, by the report's own function.

    Raises
    ------
    HpcoreError
        A state the data cannot show, with the command line's message
        (unknown parameter or option, bad range, bad primary/secondary, ...).
    """
    ens = variant.ensemble
    check_one_of("color", state.color, report.COLORS, ServeError)
    check_one_of("sort", state.sort, SORTS, ServeError)
    lo, hi = check_interval("range", state.range)
    for a, _, b, _ in state.cells:
        for name in (a, b):
            ens.check_parameter(name, "clicked cell")
    where = resolve_where(ens, state.where())
    primary = default_primary(ens) if state.primary is None else state.primary
    selection = variant.select((lo, hi), where)
    tables = compute_tables(
        ens,
        selection,
        primary=primary,
        secondary=state.secondary,
        bins=variant.bins,
        sort=state.sort,  # type: ignore[arg-type]
        engine=variant.engine,
    )
    pages = max(math.ceil(selection.count / page_rows), 1)
    page = min(state.page, pages - 1)
    first = page * page_rows
    rows = variant.best((lo, hi), where, first, page_rows)
    columns = [*variant.table_columns(), ens.metric, NORMALIZED]
    resolved = dataclasses.replace(
        state,
        metric=ens.metric,
        group=ens.group,
        normalization=ens.normalization,
        range=(lo, hi),
        primary=primary,
        page=page,
    )
    return View(
        state=resolved,
        variant=variant,
        selection=selection,
        where=where,
        tables=tables,
        rows=ens.table.iloc[rows][columns].reset_index(drop=True),
        first=first,
    )


def where_text(where: Mapping[str, Sequence[str]]) -> str:
    """``dataset in {cifar10, stl10}, optimizer in {ADAM}``."""
    return ", ".join(f"{k} in {{{', '.join(v)}}}" for k, v in where.items())


def status_text(view: View) -> str:
    """The summary line of a view (as the report's matrix title says it)."""
    ens = view.variant.ensemble
    lo, hi = view.selection.range
    text = (
        f"{view.selection.count:,} of {len(ens.table):,} networks selected: "
        f"{ens.normalized_name} in [{lo:g}, {hi:g}]"
    )
    if view.where:
        text += f", {where_text(view.where)}"
    return text


def report_command(
    view: View,
    *,
    data: str | None,
    params: str | None = None,
    bins: Sequence[str] = (),
    out: str = "report",
    fmt: str = "png",
) -> str:
    """The ``hpexplorer report`` command that writes what "save report" writes."""
    s, ens = view.state, view.variant.ensemble
    words = ["hpexplorer", "report"]
    if data is not None:
        words.append(data)
    words += ["--metric", ens.metric]
    if ens.group is not None:
        words += ["--group", ens.group]
    if params is not None:
        words += ["--params", params]
    for item in bins:  # one value per flag
        words += ["--bins", item]
    words += ["--normalize", str(ens.normalization)]
    if ens.better is not None and ens.better != better_end(ens.metric):
        words += ["--better", ens.better]
    lo, hi = view.selection.range
    words += ["--range", _number(lo), _number(hi)]
    for k, v in view.where.items():
        words += ["--where", f"{k}={','.join(v)}"]
    words += ["--primary", str(s.primary)]
    if s.secondary is not None:
        words += ["--secondary", s.secondary]
    if s.color != report.DEFAULT_COLOR:  # the page's default is the paper's
        words += ["--color", s.color]
    if s.sort != "data":
        words += ["--sort", s.sort]
    if fmt != "png":
        words += ["--format", fmt]
    words += ["--out", out]
    return shlex.join(words)


def save_report(view: View, out: Path, fmt: str = "png") -> str:
    """Write the report of a view with the report's own functions; say what.

    Returns the line ``hpexplorer report`` prints about its folder.
    """
    s = view.state
    built = report.build_report(
        view.variant.ensemble,
        range=view.selection.range,
        where={k: list(v) for k, v in view.where.items()},
        primary=s.primary,
        secondary=s.secondary,
        source=view.variant.source,
        color=s.color,  # type: ignore[arg-type]
        sort=s.sort,  # type: ignore[arg-type]
        bins=view.variant.bins,
    )
    report.write_report(built, out, fmt)
    files = report.report_files(fmt)
    return (
        f"{built.selection.count:,} of {len(view.variant.ensemble.table):,} "
        f"networks selected; report written to {out}/ ({', '.join(files)})"
    )


# ------------------------------------------------------------- coalescing


class Latest(Generic[T, R]):
    """Compute only the newest submitted item, one at a time, off the caller's thread.

    :meth:`submit` replaces the pending item (if any) and starts a worker when
    none runs; the worker computes the pending item, hands the result (or
    the exception) to ``deliver`` and loops while a newer item is pending. A
    burst of submissions while one item is computed thus costs one more
    computation, of the newest item, never a queue.
    """

    def __init__(
        self,
        work: Callable[[T], R],
        deliver: Callable[[T, R | BaseException], None],
        executor: Executor,
    ) -> None:
        self._work = work
        self._deliver = deliver
        self._executor = executor
        self._lock = threading.Lock()
        self._pending: tuple[T] | None = None
        self._running = False
        self._closed = False
        self.computed = 0

    @property
    def busy(self) -> bool:
        """True while an item is computed or waiting."""
        with self._lock:
            return self._running or self._pending is not None

    def submit(self, item: T) -> None:
        """Make ``item`` the next one computed (replacing any waiting one)."""
        with self._lock:
            if self._closed:
                return
            self._pending = (item,)
            if self._running:
                return
            self._running = True
        self._executor.submit(self._run)

    def close(self) -> None:
        """Drop the waiting item and stop after the current one."""
        with self._lock:
            self._closed = True
            self._pending = None

    def _run(self) -> None:
        while True:
            with self._lock:
                pending = self._pending
                self._pending = None
                if pending is None or self._closed:
                    self._running = False
                    return
            (item,) = pending
            try:
                result: R | BaseException = self._work(item)
            except Exception as err:
                result = err
            self.computed += 1
            try:
                self._deliver(item, result)
            except Exception:  # the page is gone; nothing to show it on
                log.exception("hpexplorer serve: could not deliver a result")


# ------------------------------------------------------------------ server


@dataclass
class ServeApp:
    """What every session of one server shares.

    Attributes
    ----------
    store : DataStore
    executor : Executor
        The worker threads that compute views.
    out : Path
        The report folder of "save report".
    fmt : str
        Its figure format.
    data, params, bins :
        The data options as given (for the report command shown on the page).
    """

    store: DataStore
    executor: Executor
    out: Path = Path("report")
    fmt: str = "png"
    data: str | None = None
    params: str | None = None
    bins: tuple[str, ...] = ()
    report_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    sessions: int = 0
    loader_thread: threading.Thread | None = None

    def start_loading(self) -> None:
        """Load the data in a thread (again after a failure)."""
        if self.store.ready:
            return
        thread = threading.Thread(
            target=self.store.load, name="hpexplorer-load", daemon=True
        )
        self.loader_thread = thread
        thread.start()

    def command(self, view: View) -> str:
        """The report command of a view."""
        return report_command(
            view,
            data=self.data,
            params=self.params,
            bins=self.bins,
            out=str(self.out),
            fmt=self.fmt,
        )


def _message(err: BaseException) -> str:
    """The page's one line for an error (the command line's line for HpcoreError)."""
    if isinstance(err, HpcoreError):
        return f"hpexplorer serve: error: {cli_message(str(err))}"
    return f"hpexplorer serve: internal error: {type(err).__name__}: {err}"


class BrowserSession:
    """One browser page: its :class:`~hpcore.views.web.Page`, state and callbacks.

    Runs on the server's event loop; views are computed by a :class:`Latest`
    on the shared workers and drawn back on the event loop.
    """

    def __init__(self, doc: Document, app: ServeApp) -> None:
        from ..views.web import Page

        self.doc = doc
        self.app = app
        self.page: Page = Page()
        doc.title = "HPExplorer"
        doc.add_root(self.page.root)
        self.page.attach(doc)
        self.requested = ViewState()
        self.shown: View | None = None
        #: The clicked cells the sidebar lists (None: not drawn yet).
        self._cells_shown: tuple[tuple[str, str, str, str], ...] | None = None
        self._syncing = False
        #: Whether the box changed since it was last read (a read is then
        #: scheduled, :meth:`_brush_moved`), whether it was drawn anew (its
        #: tags count the boxes drawn: read at once) rather than dragged
        #: (read once it rests), and the timer of a dragged box.
        self._brush_due = False
        self._brush_new = False
        self._brush_timer: Any = None
        #: The box's ends as last read or set (a move past the axis' ends
        #: keeps the box's width: :func:`inside_axis`).
        self._box_at: tuple[float, float] | None = None
        self._brush_origin = False
        self._wired = False
        self._poll: Any = None
        self._latest: Latest[ViewState, View] = Latest(
            self._work, self._deliver, app.executor
        )
        self._saving = False
        #: "save report" or "download" clicked while a change was on its way:
        #: done once its view is shown (:meth:`_when_settled`)
        self._save_due = False
        self._download_due = False
        #: The request whose view the page shows (``requested`` as it was
        #: once that view was drawn; the view's own state fills in defaults)
        self._settled_for: ViewState | None = None
        self._busy_timer: Any = None
        self._url_error: str | None = None
        try:
            context: Any = doc.session_context
            arguments = decode_arguments(context.request.arguments)
            self.requested = state_from_query(arguments)
        except HpcoreError as err:
            self._url_error = _message(err)
        except AttributeError:  # no request (a document built outside a server)
            pass
        doc.on_session_destroyed(self._destroyed)
        #: What sends a values-only view as one message (None: Bokeh's own
        #: messages); the server session exists once callbacks run.
        self.batcher: OneMessagePerView | None = None
        doc.add_next_tick_callback(self._batch_views)
        if app.store.ready:
            self._start()
        elif app.store.error is not None and not app.store.loading:
            self.page.show_failure(app.store.error)
            self._offer_retry()
        else:
            app.start_loading()
            self.page.show_loading(app.store.progress())
            self._poll = doc.add_periodic_callback(self._check_loading, POLL_MS)

    # ------------------------------------------------------------- life

    def _batch_views(self) -> None:
        self.batcher = OneMessagePerView.install(self.doc)

    def _destroyed(self, _context: Any) -> None:
        self._latest.close()

    def _check_loading(self) -> None:
        store = self.app.store
        if store.ready:
            self._stop_polling()
            self._start()
        elif store.error is not None:
            self._stop_polling()
            self.page.show_failure(store.error)
            self._offer_retry()
        else:
            self.page.show_loading(store.progress())

    def _stop_polling(self) -> None:
        if self._poll is not None:
            self.doc.remove_periodic_callback(self._poll)
            self._poll = None

    def _offer_retry(self) -> None:
        from bokeh.models.widgets import Button

        button = Button(label="load again", name="retry", width=120)

        def retry() -> None:
            self.app.start_loading()
            self.page.show_loading(self.app.store.progress())
            self._poll = self.doc.add_periodic_callback(self._check_loading, POLL_MS)

        button.on_click(self._clicked(retry))
        self.page.body.children = [self.page.progress, button]

    def _start(self) -> None:
        if not self._wired:  # before the widgets join the document: Bokeh
            self._wire()  # subscribes a model's event callbacks as it joins
        # a width the page sent while the data loaded (before the wiring)
        self._safely(lambda: self._on_window(self.page.viewport.data))
        self.page.show_views()
        if self._url_error is not None:
            self.page.show_error(self._url_error)
        self._submit(self.requested, brush=False)

    # -------------------------------------------------------- callbacks

    def _safely(self, fn: Callable[[], None]) -> None:
        """Run a callback's work; errors go to the page, never to Bokeh."""
        if self._syncing:
            return
        try:
            fn()
        except Exception as err:
            if not isinstance(err, HpcoreError):
                log.exception("hpexplorer serve: callback failed")
            self.page.show_error(_message(err))
            self._resync()

    def _changed(self, fn: Callable[[Any], None]) -> Callable[[str, Any, Any], None]:
        """A property callback calling ``fn(new)`` safely."""

        def callback(attr: str, old: Any, new: Any) -> None:
            self._safely(lambda: fn(new))

        return callback

    def _clicked(self, fn: Callable[[], None]) -> Callable[[], None]:
        """A button callback calling ``fn()`` safely."""

        def callback() -> None:
            self._safely(fn)

        return callback

    def _wire(self) -> None:
        self._wired = True
        p, on = self.page, self._changed
        p.brush.on_change("left", on(lambda _v: self._brush_moved()))
        p.brush.on_change("right", on(lambda _v: self._brush_moved()))
        p.brush.on_change("tags", on(lambda _v: self._brush_drawn()))
        p.viewport.on_change("data", on(lambda v: self._on_window(v)))
        p.range_lo.on_change("value", on(lambda _v: self._on_typed("lo")))
        p.range_hi.on_change("value", on(lambda _v: self._on_typed("hi")))
        p.color.on_change(
            "active", on(lambda v: self._change(color=report.COLORS[int(v or 0)]))
        )
        p.sort.on_change("active", on(lambda v: self._change(sort=SORTS[int(v or 0)])))
        p.primary.on_change(
            "value", on(lambda v: self._submit(self.requested.with_primary(str(v))))
        )
        p.secondary.on_change("value", on(self._on_secondary))
        p.metric.on_change(
            "value", on(lambda v: self._submit(self.requested.with_data(metric=v)))
        )
        p.group.on_change(
            "value", on(lambda v: self._submit(self.requested.with_data(group=v)))
        )
        p.normalization.on_change(
            "value",
            on(lambda v: self._submit(self.requested.with_data(normalization=v))),
        )
        p.pairs_source.selected.on_change("indices", on(self._on_cell))
        p.importance_source.selected.on_change("indices", on(self._on_importance))
        p.clear_cells.on_click(
            self._clicked(
                lambda: self._submit(dataclasses.replace(self.requested, cells=()))
            )
        )
        p.reset.on_click(self._clicked(self._on_reset))
        # the brush alone cleared (reset view forgets filters, cells, trellis)
        p.whole_range.on_click(
            self._clicked(
                lambda: self._submit(self.requested.with_range(0.0, 1.0), brush=False)
            )
        )
        p.save.on_click(self._clicked(self._on_save))
        p.download.on_click(self._clicked(self._on_download))
        p.prev_page.on_click(self._clicked(lambda: self._page(-1)))
        p.next_page.on_click(self._clicked(lambda: self._page(+1)))

    def _wire_filters(self, names: Sequence[str]) -> None:
        for name in names:
            box = self.page.filters[name]
            box.on_change("active", self._changed(self._filter_callback(name, box)))

    def _filter_callback(self, name: str, box: Any) -> Callable[[Any], None]:
        def changed(active: Any) -> None:
            checked = [box.labels[i] for i in active]
            if not checked:  # said in the page's words, under the filter
                self.page.show_filter_note(
                    name,
                    "keep at least one option checked: with none, no "
                    "network would be left",
                )
                self._resync()  # the box checks its option again
                return
            self.page.show_filter_note(None)
            self._submit(self.requested.with_filter(name, checked, list(box.labels)))

        return changed

    def _change(self, **changes: Any) -> None:
        self._submit(dataclasses.replace(self.requested, **changes))

    def _brush_moved(self) -> None:
        """The box's two ends come in one message but are set one at a time,
        each calling back while the other is still the old one: read then, a
        new left end with the old right end was a range nobody brushed (shown
        for half a second, with its matrix and trellis). Read both once the
        message is applied (the next tick), once however many ends moved."""
        if not self._brush_due:  # else the read is scheduled already
            self.doc.add_next_tick_callback(self._brush_settled)
            self._brush_due = True

    def _brush_drawn(self) -> None:
        """The page drew a new box (it counts them in the box's tags)."""
        self._brush_new = True
        self._brush_moved()

    def _brush_settled(self) -> None:
        """A drawn box (the page sends it debounced, and at once when the
        drag ends, counting it in the box's tags) is read now. A box whose
        end or body is dragged sends every mouse move, each a recomputed and
        redrawn page (4 s for a 12-step drag of an end in a browser review,
        against 1.3 s for drawing a box): it is read once it rests for
        :data:`~hpcore.views.web.DRAG_DEBOUNCE_MS`, as a drawn box is sent."""
        from ..views.web import DRAG_DEBOUNCE_MS

        self._brush_due = False
        drawn, self._brush_new = self._brush_new, False
        if self._brush_timer is not None:
            self.doc.remove_timeout_callback(self._brush_timer)
            self._brush_timer = None
        if not drawn:
            self._brush_timer = self.doc.add_timeout_callback(
                self._brush_rested, DRAG_DEBOUNCE_MS
            )
            return
        self._safely(self._on_brush)
        self._when_settled()

    def _brush_rested(self) -> None:
        self._brush_timer = None
        self._safely(self._on_brush)
        self._when_settled()

    def _on_brush(self) -> None:
        b: Any = self.page.brush
        left = 0.0 if b.left is None else float(b.left)
        right = 1.0 if b.right is None else float(b.right)
        if not (math.isfinite(left) and math.isfinite(right)):
            raise ServeError(f"the brushed range must be numbers; got {left}, {right}")
        box = (min(left, right), max(left, right))
        lo, hi = inside_axis(left, right, self._box_at)
        outside = (lo, hi) != box
        lo, hi = snap(lo), snap(hi)
        self._syncing = True
        try:  # a box past the axis' ends is put back inside
            self.page.show_range(lo, hi, brush=outside)
        finally:
            self._syncing = False
        self._box_at = (lo, hi) if outside else box
        if (lo, hi) != self.requested.range:
            self._submit(self.requested.with_range(lo, hi), brush=True)

    def _on_window(self, data: Any) -> None:
        """The page's width arrived (on loading and after a resize): the
        trellis takes the room there is."""
        try:
            width = int(data["width"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            raise ServeError(
                f"the page sent its width as {data!r}; expected one number"
            ) from None
        self.page.fit_window(width)

    def _on_typed(self, end: str) -> None:
        typed_lo, typed_hi = self.page.range_lo.value, self.page.range_hi.value
        if typed_lo is None or typed_hi is None:
            # a cleared box gets its end back (it blocked the other box: a
            # range typed there was never applied)
            was_lo, was_hi = self.requested.range
            self._syncing = True
            try:
                if typed_lo is None:
                    self.page.range_lo.value = typed_lo = was_lo
                if typed_hi is None:
                    self.page.range_hi.value = typed_hi = was_hi
            finally:
                self._syncing = False
        lo, hi = float(typed_lo), float(typed_hi)
        if lo > hi:  # the end typed last moves the other along (no error)
            lo, hi = (lo, lo) if end == "lo" else (hi, hi)
        self._submit(self.requested.with_range(lo, hi), brush=False)

    def _on_secondary(self, value: Any) -> None:
        secondary = None if value in (None, "", "(none)") else str(value)
        self._change(secondary=secondary)

    def _on_cell(self, indices: Any) -> None:
        if not indices:
            return
        data = self.page.pairs_source.data
        i = int(indices[0])
        cell = (
            str(data["param_a"][i]),
            str(data["option_a"][i]),
            str(data["param_b"][i]),
            str(data["option_b"][i]),
        )
        self._clear_selection(self.page.pairs_source)
        self._submit(self.requested.toggled(cell))

    def _on_importance(self, indices: Any) -> None:
        if not indices:
            return
        self._clear_selection(self.page.importance_source)
        sort = "data" if self.requested.sort == "importance" else "importance"
        self._change(sort=sort)

    def _clear_selection(self, source: Any) -> None:
        self._syncing = True
        try:
            source.selected.indices = []
        finally:
            self._syncing = False

    def _on_reset(self) -> None:
        first = self.app.store.initial
        state = ViewState()
        if first is not None:
            state = ViewState(
                metric=first.ensemble.metric,
                group=first.ensemble.group,
                normalization=first.ensemble.normalization,
            )
        self._submit(state, brush=False)

    def _page(self, step: int) -> None:
        self._change(page=max(self.requested.page + step, 0))

    def _changing(self) -> bool:
        """Whether the page asked for a state it does not show yet (computed,
        or a brushed box not read yet)."""
        return (
            self.shown is None
            or self.requested != self._settled_for
            or self._brush_due
            or self._brush_timer is not None
        )

    def _when_settled(self) -> None:
        """Save or download what was clicked while a change was on its way,
        now that the page shows the newest state."""
        if self._changing():
            return
        if self._save_due:
            self._save_due = False
            self._safely(self._on_save)
        if self._download_due:
            self._download_due = False
            self._safely(self._on_download)

    def _on_download(self) -> None:
        """The CSV of the selection the page shows once its last change is in
        (clicked right after a change, the address still named the state
        before it)."""
        if self._changing():
            self._download_due = True
            return
        assert self.shown is not None
        self.page.start_download(state_to_query(self.shown.state))

    def _on_save(self) -> None:
        """Write the report of what the page shows once its last change is
        in: a click right after typing a range or unchecking a filter wrote
        the state before it."""
        if self._saving or self._save_due:
            return
        if self._changing():
            self._save_due = True
            self.page.save.disabled = True
            self.page.show_message(
                "the report is written once the view shows the last change \u2026"
            )
            return
        view = self.shown
        assert view is not None
        self._saving = True
        self.page.save.disabled = True
        self.page.show_message(f"writing the report into {self.app.out}/ \u2026")

        def work() -> None:
            try:
                with self.app.report_lock:
                    line = save_report(view, self.app.out, self.app.fmt)
                note(line)
                result: str | BaseException = line
            except Exception as err:
                result = err
            self.doc.add_next_tick_callback(functools.partial(self._saved, result))

        self.app.executor.submit(work)

    def _saved(self, result: str | BaseException) -> None:
        self._saving = False
        self.page.save.disabled = False
        if isinstance(result, BaseException):
            self.page.show_message("")
            self.page.show_error(_message(result))
        else:
            self.page.show_error("")
            self.page.show_message(result)

    # ---------------------------------------------------------- compute

    def _submit(self, state: ViewState, *, brush: bool | None = None) -> None:
        if brush is not None:
            self._brush_origin = brush
        self.requested = state
        self._latest.submit(state)
        if self._busy_timer is None:  # grey the status line only when slow
            self._busy_timer = self.doc.add_timeout_callback(self._busy, BUSY_MS)

    def _busy(self) -> None:
        self._busy_timer = None
        if self._latest.busy:
            self.page.set_busy(True)

    def _idle(self) -> None:
        if self._busy_timer is not None:
            self.doc.remove_timeout_callback(self._busy_timer)
            self._busy_timer = None
        self.page.set_busy(False)

    def _work(self, state: ViewState) -> View:
        variant = self.app.store.variant(state.metric, state.group, state.normalization)
        return compute_view(variant, state)

    def _deliver(self, state: ViewState, result: View | BaseException) -> None:
        self.doc.add_next_tick_callback(functools.partial(self._apply, state, result))

    def _apply(self, state: ViewState, result: View | BaseException) -> None:
        latest = state == self.requested
        if isinstance(result, BaseException):
            if not isinstance(result, HpcoreError):
                log.error(
                    "hpexplorer serve: computing a view failed",
                    exc_info=(type(result), result, result.__traceback__),
                )
            self.page.show_error(_message(result))
            if latest and self.shown is None and state != ViewState():
                # the address asked for what the data cannot show: say so
                # above the view of the defaults
                self._url_error = _message(result)
                self._submit(ViewState(), brush=False)
            elif latest:
                if self.shown is not None:
                    self.requested = self._settled_for = self.shown.state
                self._resync()
                self._idle()
                self._when_settled()  # of the state the page still shows
            return
        try:
            self._draw(result, latest=latest)
        except Exception as err:  # drawing bug: report it, keep the server up
            log.exception("hpexplorer serve: drawing a view failed")
            self.page.show_error(_message(err))
        if latest:
            self._settled_for = self.requested
            if not self._latest.busy:
                self._idle()
        self._when_settled()

    def _resync(self) -> None:
        """Put the controls back after a refused change: to the newest
        request while its views are computed (those of an older state may be
        shown; resetting to them made the request's result stale, and the
        sidebar then never showed it), else to the shown state."""
        view = self.shown
        if view is None:
            return
        want = self.requested
        if want != view.state:
            store = self.app.store
            same_data = (
                store.cached(want.metric, want.group, want.normalization)
                is view.variant
            )
            if not same_data or want.primary is None:
                return  # the request's result sets the controls
            view = dataclasses.replace(view, state=want)
        self._draw(view, latest=True, controls_only=True)

    def _draw(self, view: View, *, latest: bool, controls_only: bool = False) -> None:
        p, s, t = self.page, view.state, view.tables
        ens = view.variant.ensemble
        self._syncing = True
        try:
            old = self.shown
            if latest:
                self.requested = dataclasses.replace(
                    self.requested,
                    metric=s.metric,
                    group=s.group,
                    normalization=s.normalization,
                    primary=s.primary,
                    page=s.page,
                )
            p.show_title(
                source=view.variant.source,
                rows=len(ens.table),
                metric=ens.metric,
                group=ens.group,
            )
            options = {q: list(ens.options(q)) for q in ens.parameters}
            # the controls show what the user asked for last: a result of an
            # older state (drawn while the newest is computed) leaves them be,
            # or clicks in flight would be undone in the page and lost
            if latest:
                self._show_controls(view, options)
            if controls_only:
                return
            batcher = self.batcher if values_only(old, view) else None
            if batcher is not None:
                batcher.start()
                p.reshaped = False
            same_data = old is not None and old.variant is view.variant
            if not (same_data and old is not None and old.where == view.where):
                p.show_histograms(
                    t.histogram_raw,
                    t.histogram_normalized,
                    groups=list(ens.options(ens.group)) if ens.group else ["all"],
                    metric=ens.metric,
                    normalization=str(ens.normalization),
                    lower_is_better=ens.better == "lower",
                )
            p.show_matrix(
                t.pairs,
                order=t.order,
                options=options,
                color=s.color,
                alpha=report.ALPHA,
                title="pair matrix of the selected networks",
                selected=view.selection.count,
                population=t.population,
            )
            p.show_importance(t.importance, alpha=report.ALPHA, group=ens.group)
            p.show_trellis(
                t.trellis,
                primary=str(s.primary),
                secondary=s.secondary,
                metric=ens.metric,
                ci_level=CI_LEVEL,
                lower_is_better=ens.better == "lower",
                options=options,
            )
            p.show_networks(
                view.rows,
                first=view.first,
                total=view.selection.count,
                page_rows=PAGE_ROWS,
                metric=ens.metric,
                columns=view.variant.table_columns(),
                labels=options,
            )
            p.show_status(status_text(view))
            p.show_command(self.app.command(view))
            query = state_to_query(s)
            if latest:
                p.show_error(self._url_error or "")
                self._url_error = None
            self.shown = view
            lo, hi = view.selection.range
            p.show_stamp(
                {
                    "selected": view.selection.count,
                    "lo": lo,
                    "hi": hi,
                    "query": query,
                },
                query or "?",
            )
            if batcher is not None and p.reshaped:  # not values only after all
                batcher.split()
        finally:
            self._syncing = False
            if self.batcher is not None:
                self.batcher.stop()

    def _show_controls(self, view: View, options: dict[str, list[str]]) -> None:
        """Set the sidebar's controls to the state of ``view``."""
        p, s = self.page, view.state
        ens = view.variant.ensemble
        if p.metric.options != list(view.variant.metrics):
            p.metric.options = list(view.variant.metrics)
        p.metric.value = ens.metric
        if p.group.options != list(view.variant.groups):
            p.group.options = list(view.variant.groups)
        p.group.value = ens.group or ""
        p.normalization.value = str(ens.normalization)
        p.show_range(s.range[0], s.range[1], brush=not self._brush_origin)
        if not self._brush_origin:
            self._box_at = s.range
        p.color.active = report.COLORS.index(s.color)
        p.sort.active = SORTS.index(s.sort)
        params = list(ens.parameters)
        if p.primary.options != params:
            p.primary.options = params
        p.primary.value = str(s.primary)
        second = ["(none)", *[q for q in params if q != s.primary]]
        if p.secondary.options != second:
            p.secondary.options = second
        p.secondary.value = s.secondary or "(none)"
        new = p.show_filters(options, dict(s.filters))
        if new:
            self._wire_filters(new)
        if self._cells_shown != tuple(s.cells):
            self._cells_shown = tuple(s.cells)
            p.show_cells(s.cells)


def _csv_handler() -> type[Any]:
    """The request handler of ``/selection.csv?<state>``: the selection, best first."""
    from tornado.web import RequestHandler

    class Handler(RequestHandler):
        def initialize(self, app: ServeApp) -> None:
            self.app = app

        async def get(self) -> None:
            try:
                arguments = decode_arguments(self.request.query_arguments)
                state = state_from_query(arguments)
                variant = self.app.store.cached(
                    state.metric, state.group, state.normalization
                )
                if variant is None:
                    raise ServeError(
                        "open this view in the page first; its data is not loaded"
                    )
                ens = variant.ensemble
                lo, hi = check_interval("range", state.range)
                where = resolve_where(ens, state.where())
            except HpcoreError as err:
                self.set_status(400)
                self.set_header("Content-Type", "text/plain; charset=utf-8")
                self.finish(_message(err) + "\n")
                return
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header(
                "Content-Disposition", 'attachment; filename="selection.csv"'
            )
            columns = [*variant.table_columns(), ens.metric, NORMALIZED]
            loop = asyncio.get_running_loop()
            rank = 0
            header = True
            for rows in variant.ranked((lo, hi), where, chunk=CSV_CHUNK):
                first = rank
                rank += len(rows)

                def text(
                    rows: np.ndarray = rows, first: int = first, head: bool = header
                ) -> str:
                    frame = ens.table.iloc[rows][columns].reset_index(drop=True)
                    frame.insert(0, "rank", np.arange(first + 1, first + 1 + len(rows)))
                    return str(frame.to_csv(index=False, header=head))

                self.write(await loop.run_in_executor(self.app.executor, text))
                header = False
                await self.flush()
            if header:
                self.write(",".join(["rank", *columns]) + "\n")
            self.finish()

    return Handler


def free_port(host: str = LOOPBACK) -> int:
    """A port that is free on ``host`` right now.

    Raises
    ------
    ServeError
        ``host`` is no address of this machine.
    """
    _check_host(host)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            return int(sock.getsockname()[1])
    except OSError as err:
        raise _listen_error(host, 0, err) from err


def _check_host(host: str) -> None:
    """Refuse an IPv6 address: Bokeh's check of the page's origin takes
    ``host:port`` only (it refused ``::1:5006`` with a traceback)."""
    if ":" in host:
        raise ServeError(
            f"--host {host}: IPv6 addresses are not supported (the Bokeh server "
            "checks the page's origin as host:port); give an IPv4 address "
            f"({LOOPBACK}, 0.0.0.0) or a host name"
        )


def _listen_error(host: str, port: int, err: OSError) -> ServeError:
    """The message for a failed listen: the address's fault or the port's."""
    reason = err.strerror or str(err)
    if isinstance(err, socket.gaierror) or err.errno == errno.EADDRNOTAVAIL:
        return ServeError(
            f"--host {host}: cannot listen there: {reason}; give an address "
            f"of this machine ({LOOPBACK} for this machine only, 0.0.0.0 for "
            "every network)"
        )
    return ServeError(
        f"--port {port}: cannot listen on {host}:{port}: {reason}; "
        "choose another port with --port"
    )


def values_only(old: View | None, new: View) -> bool:
    """Whether drawing ``new`` over ``old`` changes values only: the same
    data, filters, clicked cells, trellis parameters, colour and order, so
    every view keeps its rows, factors and figures (a drag of the brush, a
    page of the table). :class:`OneMessagePerView` sends such a view as one
    message."""
    if old is None or old.variant is not new.variant or old.where != new.where:
        return False
    same = ("primary", "secondary", "color", "sort", "cells")
    return all(getattr(old.state, k) == getattr(new.state, k) for k in same) and (
        tuple(old.tables.order) == tuple(new.tables.order)
    )


class OneMessagePerView:
    """Send the changes of a values-only view to a page as one message.

    Bokeh sends every change of a document (a property, a source's data) as
    a PATCH-DOC message of its own, about fifteen per view; the page applies
    each in a task of its own and may draw a frame between them, each frame
    laying out the page's layers anew (20 to 30 ms in headless Chromium).
    Between :meth:`start` and :meth:`stop` a callback's changes are kept,
    in the order made, and go out as one message once the callback is done
    (Bokeh's protocol takes a list of changes, as its notebook push sends).

    Only views that change values are sent so (:func:`values_only`: a drag
    of the brush, the repeated interaction). BokehJS updates a plot's
    glyphs asynchronously, and a message that changed a plot's factors or
    figures and its sources' rows together drew with the old rows' indices
    ("Size mismatch" on a new trellis primary) or met factors before their
    rows; such views keep Bokeh's one message per change. Should a view
    thought values-only reshape the page after all (:meth:`split`), its
    changes go out one message each, as Bokeh sends them. A change a page
    made itself is not sent back to it, as Bokeh does.

    Installed on one session (:meth:`install`) over a private method of
    Bokeh's ``ServerSession``; where this Bokeh lacks what it uses, nothing
    is installed and Bokeh sends one message per change.
    """

    _NEEDS = (
        "_document_patched",
        "_pending_writes",
        "_subscribed_connections",
        "_current_patch_connection",
    )

    def __init__(self, session: Any) -> None:
        self.session = session
        self._batching = False
        #: The pending writes of the callback being kept, and its changes.
        self._writes: list[Any] | None = None
        self._kept = _Kept()

    @classmethod
    def install(cls, doc: Document) -> OneMessagePerView | None:
        """Batch values-only views of ``doc``'s server session (None: not done)."""
        session = getattr(getattr(doc, "session_context", None), "_session", None)
        if session is None or not all(hasattr(session, a) for a in cls._NEEDS):
            log.debug("hpexplorer serve: one message per change (Bokeh's own)")
            return None
        batcher = cls(session)
        # an attribute of the instance: Bokeh looks the method up per event
        session._document_patched = batcher.patched
        return batcher

    def start(self) -> None:
        """Keep the changes made from now on for one message."""
        self._batching = True

    def stop(self) -> None:
        """Let Bokeh send the changes made from now on."""
        self._batching = False

    def split(self) -> None:
        """Send the changes kept in this callback one message each."""
        self._kept.split = True

    def patched(self, event: Any) -> None:
        session = self.session
        writes = session._pending_writes
        if not self._batching or writes is None:
            # Bokeh's own (outside a locked callback: its own error)
            type(session)._document_patched(session, event)
            return
        if writes is not self._writes:  # a new callback
            self._writes, self._kept = writes, _Kept()
            writes.append(self._send(self._kept))
        skip = session._current_patch_connection if event.setter is session else None
        self._kept.events.append((event, skip))

    async def _send(self, kept: _Kept) -> None:
        for connection in list(self.session._subscribed_connections):
            events = [event for event, skip in kept.events if skip is not connection]
            socket = getattr(connection, "_socket", None)
            if kept.split or socket is None:  # one message each, as Bokeh's
                for event in events:
                    await connection.send_patch_document(event)
            elif events:
                message = connection.protocol.create("PATCH-DOC", events)
                await socket.send_message(message)


@dataclass
class _Kept:
    """The changes :class:`OneMessagePerView` keeps from one callback, each
    with the connection it is not sent to (the one that made it), and
    whether they go out one message each."""

    events: list[tuple[Any, Any]] = dataclasses.field(default_factory=list)
    split: bool = False


def websocket_origins(host: str, port: int) -> list[str]:
    """The page addresses allowed to open the server's websocket."""
    names = {LOOPBACK, "localhost"}
    if host not in ("", "0.0.0.0", "::"):
        names.add(host)
    else:
        names |= {socket.gethostname(), socket.getfqdn()}
    return sorted(f"{name}:{port}" for name in names)


def make_server(
    app: ServeApp, *, host: str = LOOPBACK, port: int = DEFAULT_PORT
) -> Server:
    """A Bokeh server (not yet started) of the page on ``host:port``.

    Raises
    ------
    ServeError
        The port cannot be listened on (in use, or not allowed).
    """
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    def session(doc: Document) -> None:
        app.sessions += 1
        BrowserSession(doc, app)

    _check_host(host)
    try:
        return Server(
            {"/": Application(FunctionHandler(session))},
            address=host,
            port=port,
            allow_websocket_origin=websocket_origins(host, port),
            websocket_max_message_size=MAX_MESSAGE_BYTES,
            extra_patterns=[(r"/selection\.csv", _csv_handler(), {"app": app})],
            http_server_kwargs={"max_body_size": MAX_MESSAGE_BYTES},
            check_unused_sessions_milliseconds=5_000,
            unused_session_lifetime_milliseconds=30_000,
        )
    except OSError as err:
        raise _listen_error(host, port, err) from err


@dataclass
class Running:
    """A server running on its own thread (:func:`serve_in_thread`)."""

    server: Server
    thread: threading.Thread
    app: ServeApp
    url: str

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        loop = self.server.io_loop
        loop.add_callback(self.server.stop)
        loop.add_callback(loop.stop)
        self.thread.join(timeout=10)
        self.app.executor.shutdown(wait=False, cancel_futures=True)


def serve_in_thread(
    store: DataStore,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    out: Path | str = "report",
    fmt: str = "png",
    data: str | None = None,
    workers: int = WORKERS,
) -> Running:
    """Start a server on a thread of its own (tests, benchmarks, notebooks).

    ``port=0`` picks a free port. The data starts loading at once.
    """
    require_bokeh()
    port = port or free_port(host)
    app = ServeApp(
        store=store,
        executor=ThreadPoolExecutor(workers, thread_name_prefix="hpexplorer-view"),
        out=Path(out),
        fmt=fmt,
        data=data,
    )
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        from tornado.ioloop import IOLoop

        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            server = make_server(app, host=host, port=port)
            server.start()
            box["server"] = server
        except BaseException as err:
            box["error"] = err
            ready.set()
            return
        ready.set()
        IOLoop.current().start()

    thread = threading.Thread(target=run, name="hpexplorer-serve", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in box:
        raise box["error"]
    app.start_loading()
    return Running(box["server"], thread, app, f"http://{host}:{port}/")


# -------------------------------------------------------------------- CLI


def run(args: argparse.Namespace) -> int:
    """Run ``hpexplorer serve`` until Ctrl+C; 0 when stopped."""
    require_bokeh()
    if not 0 <= args.port <= 65535:
        raise ServeError(f"--port must be in 0..65535; got {args.port}")
    out = Path(args.out)
    inputs = [] if args.data is None else [args.data]
    report.report_folder(out, args.format, inputs=inputs).check()
    host = LOOPBACK if args.host is None else args.host
    port = args.port or free_port(host)
    if args.host is not None and host not in (LOOPBACK, "localhost", "::1"):
        note(
            f"warning: --host {host}: every machine that can reach {host}:{port} "
            f"can see this data and write reports into {str(out)!r}; the default "
            f"{LOOPBACK} keeps it to this machine"
        )
    from tornado.ioloop import IOLoop

    app = ServeApp(
        store=DataStore.from_args(args),
        executor=ThreadPoolExecutor(WORKERS, thread_name_prefix="hpexplorer-view"),
        out=out,
        fmt=args.format,
        data=args.data,
        params=args.params,
        bins=tuple(args.bins),
    )
    server = make_server(app, host=host, port=port)
    try:
        server.start()
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        url = f"http://{shown}:{port}/"
        print(
            f"hpexplorer serve: the page is at {url} (Ctrl+C stops the server)",
            flush=True,
        )
        app.start_loading()
        if not args.no_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        IOLoop.current().start()
    except KeyboardInterrupt:
        note("stopped")
    finally:
        server.stop()
        app.executor.shutdown(wait=False, cancel_futures=True)
    return 0
