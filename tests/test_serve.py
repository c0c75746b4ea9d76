"""hpexplorer serve without a browser: state and address, views, errors, security.

The oracle of every number is the report's path or the plain functions
(:func:`hpcore.analysis.tables.plain_tables`, naive pandas); the browser tests
(``test_serve_browser.py``) check that the page shows these numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import html
import inspect
import json
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_main
from hypothesis import given
from hypothesis import strategies as st

import hpcore
from hpcore.analysis.tables import plain_tables
from hpcore.app import serve
from hpcore.app.serve import (
    DataStore,
    Latest,
    ServeError,
    ViewState,
    compute_view,
    state_from_query,
    state_to_query,
)
from hpcore.data.errors import HpcoreError, OptionError, ParameterError

pytest.importorskip("bokeh", reason="hpexplorer serve needs the 'serve' extra")

PAPER = [
    "dataset",
    "lrate",
    "batch_size",
    "augmentation",
    "optimizer",
    "activation",
    "initialization",
]


def _args(data: str | None = None, **kw: object) -> argparse.Namespace:
    base = {
        "data": data,
        "metric": None,
        "group": None,
        "params": None,
        "bins": [],
        "normalize": "minmax",
        "study": None,
        "experiment": None,
        "epoch": None,
    }
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return hpcore.synthetic.nws_like(3000, seed=3)[[*PAPER, "test_accuracy"]]


@pytest.fixture(scope="module")
def store(frame: pd.DataFrame) -> DataStore:
    ens = hpcore.normalize(hpcore.load(frame))
    s = DataStore.from_ensemble(ens, "synthetic test")
    s.load()
    assert s.ready, s.error
    return s


def _query(state: ViewState) -> dict[str, list[str]]:
    text = state_to_query(state)
    assert text == "" or text.startswith("?")
    return urllib.parse.parse_qs(text[1:], keep_blank_values=True)


# ------------------------------------------------------------ state <-> URL

labels = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
)
unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def states(draw: st.DrawFn) -> ViewState:
    lo, hi = sorted((draw(unit), draw(unit)))
    names = draw(st.lists(labels, max_size=4, unique=True))
    filters = tuple(
        (n, tuple(draw(st.lists(labels, min_size=1, max_size=3, unique=True))))
        for n in names
    )
    cells = tuple(
        draw(
            st.lists(st.tuples(labels, labels, labels, labels), max_size=3, unique=True)
        )
    )
    return ViewState(
        metric=draw(st.none() | labels),
        group=draw(st.none() | labels),
        normalization=draw(st.none() | st.sampled_from(["minmax", "rank", "robust"])),
        range=(lo, hi),
        filters=filters,
        cells=cells,
        primary=draw(st.none() | labels),
        secondary=draw(st.none() | labels),
        color=draw(st.sampled_from(["count", "enrichment"])),
        sort=draw(st.sampled_from(["data", "importance"])),
        page=draw(st.integers(0, 10_000)),
    )


@given(states())
def test_state_round_trips_through_the_address(state: ViewState) -> None:
    assert state_from_query(_query(state)) == state


def test_default_state_is_an_empty_query() -> None:
    assert state_to_query(ViewState()) == ""
    assert state_from_query({}) == ViewState()


def test_address_is_readable() -> None:
    state = ViewState(
        range=(0.5, 0.9),
        filters=(("dataset", ("cifar10", "stl10")),),
        primary="optimizer",
    )
    assert state_to_query(state) == (
        "?range=0.5,0.9&f.dataset=cifar10&f.dataset=stl10&primary=optimizer"
    )


def test_bokeh_arguments_are_ignored() -> None:
    assert state_from_query({"bokeh-session-id": ["x"]}) == ViewState()


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ({"range": ["0.5"]}, "'range' must be LO,HI"),
        ({"range": ["a,b"]}, "'range' must be LO,HI"),
        ({"range": ["0.9,0.5"]}, "lo <= hi"),
        ({"range": ["0,2"]}, r"within \[0, 1\]"),
        ({"range": ["nan,1"]}, r"within \[0, 1\]"),
        ({"norm": ["zscore"]}, "`norm` must be one of"),
        ({"color": ["red"]}, "`color` must be one of"),
        ({"sort": ["size"]}, "`sort` must be one of"),
        ({"page": ["-1"]}, "'page' must be a whole number"),
        ({"page": ["9" * 12]}, "'page' must be a whole number"),
        ({"cell": ["[1,2]"]}, "'cell' must be a JSON list of four strings"),
        ({"cell": ["{"]}, "'cell' must be a JSON list of four strings"),
        ({"metric": ["a", "b"]}, "'metric' is given 2 times"),
        ({"file": ["/etc/passwd"]}, r"unknown key\(s\) \['file'\]"),
        ({"f.": ["x"]}, "needs a parameter name"),
        ({"cell": ['["a","b","c","d"]'] * (serve.MAX_CELLS + 1)}, "at most 64 cells"),
        ({"metric": ["x" * (serve.MAX_QUERY_CHARS + 1)]}, "at most 16,000"),
    ],
)
def test_bad_addresses_get_one_clear_message(
    query: dict[str, list[str]], match: str
) -> None:
    with pytest.raises(HpcoreError, match=match):
        state_from_query(query)


def test_undecodable_address_is_refused() -> None:
    with pytest.raises(ServeError, match="not valid UTF-8"):
        serve.decode_arguments({"metric": [b"\xff\xfe"]})


# ------------------------------------------------------------- transitions


def test_filters_keep_checked_options_and_drop_full_ones() -> None:
    options = ["a", "b", "c"]
    s = ViewState().with_filter("p", ["c", "a"], options)
    assert s.filters == (("p", ("a", "c")),)
    s = s.with_filter("q", ["x"], ["x", "y"]).with_filter("p", ["b"], options)
    assert s.filters == (("p", ("b",)), ("q", ("x",)))
    assert s.with_filter("p", options, options).filters == (("q", ("x",)),)


def test_clicking_a_cell_twice_removes_it() -> None:
    cell = ("optimizer", "ADAM", "activation", "ELU")
    s = ViewState(page=3).toggled(cell)
    assert s.cells == (cell,) and s.page == 0
    assert s.toggled(cell).cells == ()


def test_cells_combine_like_where() -> None:
    s = ViewState(filters=(("optimizer", ("ADAM", "RMSProp")),))
    s = s.toggled(("optimizer", "ADAM", "activation", "ELU"))
    s = s.toggled(("optimizer", "RMSProp", "activation", "ReLU"))
    assert s.where() == {
        "optimizer": ["ADAM", "RMSProp"],
        "activation": ["ELU", "ReLU"],
    }


def test_a_cell_outside_its_filter_is_explained() -> None:
    s = ViewState(filters=(("optimizer", ("ADAM",)),))
    s = s.toggled(("optimizer", "RMSProp", "activation", "ELU"))
    with pytest.raises(ServeError, match="outside the filter on 'optimizer'"):
        s.where()


def test_other_data_starts_the_choices_afresh() -> None:
    s = ViewState(
        metric="a",
        group="g",
        filters=(("p", ("x",)),),
        cells=(("p", "x", "q", "y"),),
        primary="p",
        secondary="q",
        range=(0.2, 0.4),
    )
    same = s.with_data(normalization="rank")
    assert same == dataclasses.replace(s, normalization="rank")
    other = s.with_data(metric="b")
    assert other.filters == other.cells == () and other.primary is None
    assert other.range == (0.2, 0.4) and other.group == "g"


def test_a_primary_equal_to_the_secondary_drops_the_secondary() -> None:
    s = ViewState(primary="a", secondary="b").with_primary("b")
    assert (s.primary, s.secondary) == ("b", None)


def test_brushed_ends_are_snapped() -> None:
    assert serve.snap(0.591304347826087) == 0.5913
    assert serve.snap(-0.001) == 0.0 and serve.snap(1.3) == 1.0


# -------------------------------------------------------------- the views


CASES = [
    ViewState(),
    ViewState(range=(0.5, 0.9)),
    ViewState(range=(0.8, 1.0), filters=(("dataset", ("cifar10", "stl10")),)),
    ViewState(
        range=(0.3, 0.95),
        cells=(("optimizer", "ADAM", "activation", "ELU"),),
        primary="optimizer",
        secondary="batch_size",
    ),
    ViewState(range=(0.6, 1.0), sort="importance", color="enrichment"),
    ViewState(range=(0.99, 1.0), page=2),
    ViewState(range=(0.2, 0.2)),
]


@pytest.mark.parametrize("state", CASES)
def test_views_equal_the_plain_functions(store: DataStore, state: ViewState) -> None:
    variant = store.variant()
    ens = variant.ensemble
    view = compute_view(variant, state)
    where = state.where()
    sel = hpcore.select(ens, range=state.range, where=where)
    assert view.selection.count == sel.count
    assert np.array_equal(view.selection.mask, sel.mask)
    primary = state.primary or "dataset"
    ref = plain_tables(
        ens, sel, primary=primary, secondary=state.secondary, sort=state.sort
    )
    t = view.tables
    pd.testing.assert_frame_equal(t.histogram_raw, ref.histogram_raw)
    pd.testing.assert_frame_equal(t.histogram_normalized, ref.histogram_normalized)
    pd.testing.assert_frame_equal(t.pairs, ref.pairs)
    pd.testing.assert_frame_equal(t.importance, ref.importance)
    pd.testing.assert_frame_equal(t.trellis, ref.trellis, rtol=1e-12)
    assert t.order == ref.order
    # the table page: naive sort of the selection, best first
    rows = ens.table[sel.mask].sort_values(NORM, ascending=False, kind="stable")
    first = min(state.page, max((sel.count - 1) // serve.PAGE_ROWS, 0))
    first *= serve.PAGE_ROWS
    want = rows.iloc[first : first + serve.PAGE_ROWS]
    assert view.first == first
    assert list(view.rows[NORM]) == list(want[NORM])
    assert list(view.rows["dataset"].astype(str)) == list(want["dataset"].astype(str))
    assert view.state.primary == primary and view.state.metric == ens.metric


NORM = "normalized"


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        (
            ViewState(filters=(("dataset", ("mars",)),)),
            OptionError,
            r"where: unknown option\(s\) \['mars'\] for parameter 'dataset'",
        ),
        (
            ViewState(filters=(("colour", ("red",)),)),
            ParameterError,
            "where: 'colour' is not a parameter",
        ),
        (
            ViewState(filters=(("dataset", ()),)),
            OptionError,
            "no options given for parameter 'dataset'",
        ),
        (ViewState(primary="depth"), ParameterError, "primary 'depth' is not"),
        (
            ViewState(primary="optimizer", secondary="optimizer"),
            ParameterError,
            "secondary must differ from primary",
        ),
        (
            ViewState(cells=(("nope", "a", "dataset", "mnist"),)),
            ParameterError,
            "clicked cell 'nope' is not a parameter",
        ),
        (ViewState(range=(0.5, 0.4)), HpcoreError, "lo <= hi"),
    ],
)
def test_states_the_data_cannot_show_are_explained(
    store: DataStore, state: ViewState, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        compute_view(store.variant(), state)


def test_page_errors_read_like_the_command_line(
    frame: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv = tmp_path / "t.csv"
    frame.to_csv(csv, index=False)
    status, _, err = run_main(
        ["report", str(csv), "--where", "dataset=mars", "--out", str(tmp_path / "r")],
        capsys,
    )
    assert status == 2
    cli_line = err.strip().splitlines()[-1]
    with pytest.raises(HpcoreError) as caught:
        store = DataStore.from_args(_args(str(csv)))
        store.load()
        compute_view(store.variant(), ViewState(filters=(("dataset", ("mars",)),)))
    page_line = serve._message(caught.value)
    assert page_line.replace("serve", "report", 1) == cli_line


def test_normalizations_are_computed_from_memory(store: DataStore) -> None:
    for method in ("rank", "robust", "minmax"):
        view = compute_view(store.variant(normalization=method), ViewState())
        assert view.variant.ensemble.normalization == method
        ref = hpcore.normalize(store.variant().ensemble, method=method)  # type: ignore[arg-type]
        assert np.array_equal(
            view.variant.ensemble.table[NORM].to_numpy(), ref.table[NORM].to_numpy()
        )
    assert store.variant(normalization="rank") is store.variant(normalization="rank")


def test_the_page_cannot_name_other_columns_or_files(tmp_path: Path) -> None:
    df = hpcore.synthetic.nws_like(400, seed=1)[["dataset", "optimizer", "activation"]]
    df = df.assign(final_acc=np.linspace(0, 1, 400), best_acc=np.linspace(1, 0, 400))
    csv = tmp_path / "m.csv"
    df.to_csv(csv, index=False)
    store = DataStore.from_args(_args(str(csv), metric="final_acc"))
    calls: list[tuple[object, ...]] = []
    loader = store._loader

    def recording(*a: object) -> tuple[hpcore.Ensemble, str]:
        calls.append(a)
        return loader(*a)  # type: ignore[arg-type]

    store._loader = recording  # type: ignore[assignment]
    store.load()
    assert store.variant().metrics == ("final_acc", "best_acc")
    for bad in ("/etc/passwd", "../m.csv", "dataset"):
        with pytest.raises(ServeError, match="is not a metric column of the loaded"):
            store.variant(metric=bad)
    with pytest.raises(ServeError, match="is not a parameter of the loaded table"):
        store.variant(group="/etc/passwd")
    with pytest.raises(ServeError, match="`normalization` must be one of"):
        store.variant(normalization="../../x")
    assert calls == [(None, None, None)]
    other = store.variant(metric="best_acc")
    assert other.ensemble.metric == "best_acc" and other.source == str(csv)
    assert calls[-1] == ("best_acc", "dataset", "minmax")
    by_opt = store.variant(group="optimizer")
    assert by_opt.ensemble.group == "optimizer"
    assert by_opt.ensemble.parameters[0] == "optimizer"


def test_a_data_error_is_the_command_lines_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("dataset,opt,score\na,x,1\nb,y,2\n")
    status, _, err = run_main(
        ["report", str(bad), "--out", str(tmp_path / "r")], capsys
    )
    assert status == 2
    store = DataStore.from_args(_args(str(bad)))
    store.load()
    assert not store.ready
    assert store.error == err.strip().splitlines()[-1].replace("report", "serve", 1)
    with pytest.raises(ServeError, match="no metric column"):
        store.variant()


# ------------------------------------------------------------------ report


@pytest.mark.parametrize("color", ["enrichment", "count"])
def test_save_report_writes_what_the_command_writes(
    color: str,
    frame: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The folder "save report" writes equals the shown command's, byte for
    byte: with the page's default colour (count) too, which the command left
    out while the command line's default is enrichment."""
    csv = tmp_path / "t.csv"
    frame.to_csv(csv, index=False)
    store = DataStore.from_args(_args(str(csv)))
    store.load()
    lrates = store.variant().ensemble.options("lrate")[:2]
    state = ViewState(
        range=(0.7, 1.0),
        filters=(("lrate", lrates),),
        cells=(("optimizer", "ADAM", "activation", "ELU"),),
        primary="optimizer",
        secondary="batch_size",
        color=color,
        sort="importance",
    )
    view = compute_view(store.variant(), state)
    served = tmp_path / "served"
    line = serve.save_report(view, served)
    command = serve.report_command(view, data=str(csv), out=str(tmp_path / "cli"))
    words = shlex.split(command)
    assert words[:2] == ["hpexplorer", "report"]
    status, out, err = run_main(words[1:], capsys)
    assert status == 0, err
    assert out.splitlines()[0] == line.replace(str(served), str(tmp_path / "cli"))
    files = sorted(p.name for p in served.iterdir())
    assert files == sorted(p.name for p in (tmp_path / "cli").iterdir())
    for name in files:
        assert (served / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), (
            name
        )
    summary = json.loads((served / "summary.json").read_text())
    assert all("," in label for label in lrates)  # labels that hold commas
    assert summary["where"] == {
        "lrate": list(lrates),
        "optimizer": ["ADAM"],
        "activation": ["ELU"],
    }


def test_save_report_keeps_the_output_folder_safety(
    store: DataStore, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    view = compute_view(store.variant(), ViewState())
    with pytest.raises(HpcoreError, match="exists and is not a folder"):
        serve.save_report(view, blocker)
    assert blocker.read_text() == "x"


# -------------------------------------------------------------- coalescing


def test_only_the_newest_pending_state_is_computed() -> None:
    started = threading.Event()
    release = threading.Event()
    done: list[tuple[int, object]] = []
    finished = threading.Event()

    def work(item: int) -> int:
        if item == 0:
            started.set()
            release.wait(5)
        return item * 10

    def deliver(item: int, result: object) -> None:
        done.append((item, result))
        if item == 99:
            finished.set()

    with ThreadPoolExecutor(2) as pool:
        latest: Latest[int, int] = Latest(work, deliver, pool)
        latest.submit(0)
        assert started.wait(5)
        for i in range(1, 100):  # a fast drag while 0 is computed
            latest.submit(i)
        release.set()
        assert finished.wait(5)
        time.sleep(0.05)
    assert done == [(0, 0), (99, 990)]
    assert latest.computed == 2 and not latest.busy


def test_a_failing_computation_is_delivered_not_raised() -> None:
    got: list[object] = []
    ready = threading.Event()

    def work(item: int) -> int:
        raise ParameterError(f"bad {item}")

    def deliver(item: int, result: object) -> None:
        got.append(result)
        ready.set()

    with ThreadPoolExecutor(1) as pool:
        Latest(work, deliver, pool).submit(7)
        assert ready.wait(5)
    assert isinstance(got[0], ParameterError) and str(got[0]) == "bad 7"


def test_a_closed_session_computes_nothing_more() -> None:
    calls: list[int] = []
    with ThreadPoolExecutor(1) as pool:
        latest: Latest[int, int] = Latest(
            lambda i: calls.append(i) or i, lambda i, r: None, pool
        )
        latest.close()
        latest.submit(1)
    assert calls == []


# ------------------------------------------------------------ command line


def test_serve_is_a_command_with_the_data_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run_main(["serve", "--help"], capsys)
    assert status == 0
    for option in (
        "--metric",
        "--group",
        "--params",
        "--bins",
        "--normalize",
        "--port",
        "--host",
        "--no-browser",
        "--out",
        "hpexplorer[serve]",
    ):
        assert option in out


def test_missing_bokeh_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "bokeh", None)
    status, out, err = run_main(["serve", "--no-browser"], capsys)
    assert status == 2 and out == ""
    assert err == (
        "hpexplorer serve: error: hpexplorer serve needs Bokeh, which is not "
        "installed; install it with: pip install 'hpexplorer[serve]'\n"
    )


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--port", "70000"], "--port must be in 0..65535; got 70000"),
        (["--out", "/dev/null"], "exists and is not a folder"),
    ],
)
def test_bad_serve_options_exit_2(
    argv: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_main(["serve", "--no-browser", *argv], capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and match in err


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = run_main(
            ["serve", "--no-browser", "--port", str(port)], capsys
        )
    assert status == 2
    assert err.startswith(f"hpexplorer serve: error: --port {port}: cannot listen")
    assert err.count("\n") == 1


@pytest.mark.parametrize("port", ["0", "5079"])
@pytest.mark.parametrize("host", ["999.1.1.1", "192.0.2.1", "::1"])
def test_an_address_not_of_this_machine_is_one_line(
    capsys: pytest.CaptureFixture[str], host: str, port: str
) -> None:
    """The address's fault, named as --host (192.0.2.1: TEST-NET, never local)."""
    status, _, err = run_main(
        ["serve", "--no-browser", "--host", host, "--port", port], capsys
    )
    assert status == 2 and "Traceback" not in err
    last = err.splitlines()[-1]  # after the warning that others could see the page
    reason = "IPv6 addresses are not" if ":" in host else "cannot listen"
    assert last.startswith(f"hpexplorer serve: error: --host {host}: {reason}")


def test_websocket_origins() -> None:
    assert serve.websocket_origins("127.0.0.1", 5006) == [
        "127.0.0.1:5006",
        "localhost:5006",
    ]
    assert "10.1.2.3:80" in serve.websocket_origins("10.1.2.3", 80)
    wide = serve.websocket_origins("0.0.0.0", 80)
    assert f"{socket.gethostname()}:80" in wide and "0.0.0.0:80" not in wide


# ----------------------------------------------------------- a live server


@pytest.fixture(scope="module")
def live(
    store: DataStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serve.Running]:
    running = serve.serve_in_thread(store, out=tmp_path_factory.mktemp("out") / "r")
    yield running
    running.stop()


def _model(session: Any, name: str, ready: Callable[[Any], bool]) -> Any:
    """The model ``name`` of a client session's page once ``ready`` says so.

    The server's page is read again until then, each time by a new client of
    the same server session (a client without a running event loop does not
    apply the server's updates by itself).
    """
    from bokeh.client import pull_session

    deadline = time.monotonic() + 30
    document = session.document
    page = session.url.replace("ws://", "http://", 1).rsplit("/ws", 1)[0] + "/"
    while True:
        model = document.get_model_by_name(name)
        if (model is not None and ready(model)) or time.monotonic() > deadline:
            return model
        time.sleep(0.2)
        with pull_session(session_id=session.id, url=page) as again:
            document = again.document


def slow_store(frame: pd.DataFrame) -> tuple[DataStore, threading.Event]:
    """A store whose data loads once the event is set."""
    release = threading.Event()

    def slow(
        metric: str | None, group: str | None, method: str | None
    ) -> tuple[hpcore.Ensemble, str]:
        release.wait(60)
        return hpcore.normalize(hpcore.load(frame)), "slow source"

    return DataStore(slow, label="big.parquet"), release


def test_progress_is_shown_while_the_data_loads(frame: pd.DataFrame) -> None:
    from bokeh.client import pull_session

    store, release = slow_store(frame)
    running = serve.serve_in_thread(store)
    try:
        with pull_session(url=running.url) as session:
            text = _model(session, "progress", lambda m: "loading" in m.text).text
            assert text.startswith("loading big.parquet \u2026 ")
            assert text.endswith(" s")
            release.set()
            stamp = _model(session, "stamp", lambda m: m.data["state"][0] != "{}")
            assert json.loads(stamp.data["state"][0])["selected"] == len(frame)
    finally:
        release.set()
        running.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


def test_the_server_listens_on_loopback_only(live: serve.Running) -> None:
    assert live.url.startswith("http://127.0.0.1:")
    status, page = _get(live.url)
    assert status == 200 and "bokeh" in page.lower()


def test_the_page_state_comes_from_its_address(live: serve.Running) -> None:
    from bokeh.client import pull_session

    arguments = {"range": "0.8,1", "f.dataset": "cifar10", "primary": "optimizer"}
    with pull_session(url=live.url, arguments=arguments) as session:
        shown = json.loads(
            _model(session, "stamp", lambda m: m.data["state"][0] != "{}").data[
                "state"
            ][0]
        )
    ens = live.app.store.variant().ensemble
    want = hpcore.select(ens, range=(0.8, 1.0), where={"dataset": ["cifar10"]})
    assert shown["selected"] == want.count
    assert (shown["lo"], shown["hi"]) == (0.8, 1.0)
    assert "primary=optimizer" in shown["query"]
    assert "f.dataset=cifar10" in shown["query"]


def test_csv_download_is_the_selection_best_first(live: serve.Running) -> None:
    query = "?range=0.6,0.9&f.dataset=cifar10&f.dataset=svhn"
    status, text = _get(live.url + "selection.csv" + query)
    assert status == 200
    got = pd.read_csv(__import__("io").StringIO(text), dtype=str)
    ens = live.app.store.variant().ensemble
    sel = hpcore.select(ens, range=(0.6, 0.9), where={"dataset": ["cifar10", "svhn"]})
    want = ens.table[sel.mask].sort_values(NORM, ascending=False, kind="stable")
    assert len(got) == sel.count
    assert list(got.columns) == ["rank", *ens.parameters, ens.metric, NORM]
    assert list(got["rank"].astype(int)) == list(range(1, sel.count + 1))
    assert np.allclose(got[NORM].astype(float), want[NORM], rtol=1e-15)
    assert list(got["optimizer"]) == list(want["optimizer"].astype(str))


def test_csv_download_refuses_bad_addresses(live: serve.Running) -> None:
    status, text = _get(live.url + "selection.csv?f.dataset=mars")
    assert status == 400
    assert text.startswith("hpexplorer serve: error: --where: unknown option(s)")
    status, text = _get(live.url + "selection.csv?path=/etc/passwd")
    assert status == 400 and "unknown key" in text


def _token() -> str:
    from bokeh.util.token import generate_jwt_token, generate_session_id

    return generate_jwt_token(generate_session_id())


async def _closed_after(url: str, fragments: list[str]) -> bool:
    """Open the page's websocket, send ``fragments``: did the server refuse them?"""
    from tornado.websocket import WebSocketClosedError, websocket_connect

    ws = await websocket_connect(url, subprotocols=["bokeh", _token()])
    try:
        for fragment in fragments:
            await ws.write_message(fragment)
    except WebSocketClosedError:  # closed before the last fragment
        return True

    async def until_closed() -> None:
        # Bokeh either closes the connection or, for a well-formed message it
        # cannot apply (a patch naming unknown models, depending on how far the
        # session got), answers with an ERROR message: both refuse it.
        while (message := await ws.read_message()) is not None:
            if isinstance(message, str) and '"msgtype":"ERROR"' in message.replace(
                " ", ""
            ):
                ws.close()
                return

    try:
        await asyncio.wait_for(until_closed(), 30)
    except TimeoutError:
        ws.close()
        return False
    return True


def test_oversized_and_malformed_messages_close_only_their_connection(
    live: serve.Running,
) -> None:
    ws = live.url.replace("http://", "ws://") + "ws"
    assert asyncio.run(_closed_after(ws, ["x" * (serve.MAX_MESSAGE_BYTES + 1)]))
    assert asyncio.run(_closed_after(ws, ["garbage", "{", "not json"]))
    header = json.dumps({"msgid": "1", "msgtype": "PATCH-DOC", "num_buffers": 0})
    patch = json.dumps({"events": [{"kind": "ModelChanged", "model": {"id": "zz"}}]})
    assert asyncio.run(_closed_after(ws, [header, "{}", patch]))
    status, _ = _get(live.url)
    assert status == 200
    test_the_page_state_comes_from_its_address(live)


def test_foreign_pages_cannot_open_the_websocket(live: serve.Running) -> None:
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    url = live.url.replace("http://", "ws://") + "ws"

    async def connect() -> None:
        request = HTTPRequest(url, headers={"Origin": "http://evil.example"})
        await websocket_connect(request, subprotocols=["bokeh", _token()])

    with pytest.raises(HTTPClientError, match="403"):
        asyncio.run(connect())


# ---------------------------------------------------- the command, for real


def _serve_process(
    argv: list[str], tmp_path: Path
) -> tuple[subprocess.Popen[str], int]:
    port = serve.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpcore.app.cli",
            "serve",
            *argv,
            "--no-browser",
            "--port",
            str(port),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed once the server listens
    if "the page is at" not in first:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"server did not start: {first} {out} {err}")
    return proc, port, first


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl+C; the rest of stdout and stderr."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out, err


def test_bad_data_is_shown_and_the_server_keeps_running(tmp_path: Path) -> None:
    from bokeh.client import pull_session

    bad = tmp_path / "bad.csv"
    bad.write_text("dataset,opt,score\na,x,1\nb,y,2\n")
    proc, port, first = _serve_process([str(bad)], tmp_path)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pull_session(url=url) as session:
            shown = _model(session, "progress", lambda m: "error" in m.text).text
        assert proc.poll() is None
        assert _get(url)[0] == 200
    finally:
        _, err = _stop(proc)
    line = (
        "hpexplorer serve: error: no metric column named like test accuracy "
        "(test_accuracy, test_acc, accuracy, acc, any case); candidates: "
        "['score']; choose one with --metric"
    )
    assert line in err.splitlines()
    assert "no metric column named like test accuracy" in shown
    assert f"http://127.0.0.1:{port}/" in first


def test_host_is_an_explicit_opt_in_with_a_warning(tmp_path: Path) -> None:
    proc, port, _ = _serve_process(["--host", "0.0.0.0"], tmp_path)
    _, err = _stop(proc)
    assert (
        f"hpexplorer: warning: --host 0.0.0.0: every machine that can reach "
        f"0.0.0.0:{port} can see this data" in err
    )
    assert proc.returncode == 0, err  # the server's own words when it is not


def test_the_default_listens_on_loopback(tmp_path: Path) -> None:
    proc, port, first = _serve_process([], tmp_path)
    try:
        hosts = {
            conn[4][0]
            for conn in socket.getaddrinfo(socket.gethostname(), port)
            if conn[0] == socket.AF_INET
        } - {"127.0.0.1"}
        for host in hosts:  # another address of this machine: nobody listens
            with pytest.raises(OSError):
                socket.create_connection((host, port), timeout=2).close()
    finally:
        _, err = _stop(proc)
    assert "warning" not in err
    assert f"the page is at http://127.0.0.1:{port}/" in first


@contextlib.contextmanager
def page_session(rows: int = 500) -> Iterator[tuple[serve.BrowserSession, Any]]:
    """A browser session of the server's code on a document without a
    browser (the page's messages are property changes), and its data."""
    from bokeh.document import Document

    ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(rows, seed=1)))
    store = serve.DataStore.from_ensemble(ens, "test")
    store.load()
    with ThreadPoolExecutor(1) as pool:
        session = serve.BrowserSession(Document(), serve.ServeApp(store, pool))
        try:
            yield session, store.variant()
        finally:
            session._destroyed(None)


def wait_until_idle(session: serve.BrowserSession) -> None:
    """Until the views the session submitted have been computed and handed
    to its document."""
    deadline = time.monotonic() + 60
    while session._latest.busy:
        assert time.monotonic() < deadline, "the session's views never came"
        time.sleep(0.01)


def arrive(session: serve.BrowserSession, variant: Any, state: ViewState) -> None:
    """The result of ``state`` comes back to the session."""
    session._apply(state, serve.compute_view(variant, state))


def test_a_result_of_an_older_state_leaves_the_controls_be() -> None:
    """Clicks faster than the views are computed: the result of an older
    state is drawn (the views), but the checkboxes keep what the user clicked
    since. Setting them back undid clicks in flight in the page, and the next
    click then sent a filter the user never chose."""
    with page_session(2000) as (session, variant):
        arrive(session, variant, ViewState())
        box = session.page.filters["dataset"]
        older = ViewState(filters=(("dataset", ("mnist", "cifar10")),))
        newer = ViewState(filters=(("dataset", ("svhn",)),))
        box.active = [2]  # the user's clicks, as the page sends them
        session.requested = newer
        arrive(session, variant, older)
        assert session.shown is not None
        assert session.shown.state.filters == older.filters  # the views
        assert box.active == [2]  # controls: what the user asked for last
        arrive(session, variant, newer)
        assert session.shown.state.filters == newer.filters and box.active == [2]


def test_a_typed_end_past_the_other_moves_it_along() -> None:
    """Typing a 'from' above 'to' (moving the range up, 'from' first) was an
    error that reverted the value; the other end now follows the typed one."""
    with page_session() as (session, variant):
        start = ViewState(range=(0.2, 0.3))
        session.requested = start
        arrive(session, variant, start)
        assert session.page.range_hi.value == 0.3

        def shown() -> tuple[float, float]:  # the server draws what was asked
            arrive(session, variant, session.requested)
            return session.page.range_lo.value, session.page.range_hi.value

        session.page.range_lo.value = 0.5  # the page's message, as typed
        assert session.requested.range == (0.5, 0.5) and shown() == (0.5, 0.5)
        session.page.range_hi.value = 0.1
        assert session.requested.range == (0.1, 0.1) and shown() == (0.1, 0.1)
        session.page.range_hi.value = 0.8
        assert session.requested.range == (0.1, 0.8) and shown() == (0.1, 0.8)


def _run_brush_callbacks(session: serve.BrowserSession, kind: str) -> int:
    """Run the session's pending brush callbacks of ``kind`` (what the
    server's loop would do next); how many ran."""
    wanted = {"tick": "_brush_settled", "timeout": "_brush_rested"}[kind]
    ran = 0
    for cb in list(session.doc.session_callbacks):
        fn = inspect.unwrap(cb.callback)
        if getattr(fn, "__qualname__", "") == f"BrowserSession.{wanted}":
            with contextlib.suppress(ValueError):  # as the loop takes it off
                session.doc.callbacks.remove_session_callback(cb)
            cb.callback()
            ran += 1
    return ran


def test_the_box_is_read_once_both_its_ends_are_set() -> None:
    """A message holding both ends is applied one end at a time, each end
    calling back: read then, the new left end with the old right one made a
    range nobody brushed ([0.5, 0.6] from [0.2, 0.5] to [0.6, 0.95]), which
    the page showed for half a second."""
    with page_session() as (session, variant):
        state = ViewState(range=(0.2, 0.5))
        session.requested = state
        arrive(session, variant, state)
        box = session.page.brush
        box.left = 0.6  # a drawn box: the message's first end ...
        assert session.requested.range == (0.2, 0.5)  # ... not read alone
        box.right = 0.95
        box.tags = [1]  # the page counts the boxes it draws
        assert _run_brush_callbacks(session, "tick") == 1  # one read for both
        assert session.requested.range == (0.6, 0.95)
        # one end dragged, or the box moved (both ends, on every mouse move):
        # read once it rests, not on every move
        for moves in ([(0.6, 0.9), (0.6, 0.85), (0.6, 0.8)], [(0.5, 0.7), (0.4, 0.6)]):
            arrive(session, variant, session.requested)
            before = session.requested.range
            for left, right in moves:
                box.update(left=left, right=right)
                assert _run_brush_callbacks(session, "tick") == 1
                assert session.requested.range == before
            assert _run_brush_callbacks(session, "timeout") == 1  # the last only
            assert session.requested.range == moves[-1]


def test_a_box_moved_or_stretched_past_the_axis_is_put_back() -> None:
    """BokehJS lets a moved box or a dragged end run past 0 and 1: the range
    was cut there while the box kept a hidden part, whose end could not be
    grabbed and which made the next move grow the range (a browser review:
    [0.5, 0.8] moved to [0.89, 1.19], range [0.89, 1]; moved off the axis,
    a range of [0, 0] and no box to grab)."""
    with page_session() as (session, variant):
        box = session.page.brush

        def settle(left: float, right: float) -> tuple[float, float]:
            box.update(left=left, right=right)  # a move or an end, as sent
            _run_brush_callbacks(session, "tick")
            _run_brush_callbacks(session, "timeout")
            arrive(session, variant, session.requested)
            return session.requested.range

        for start, moved, want in (
            ((0.5, 0.8), (0.89, 1.19), (0.7, 1.0)),  # moved past 1: stops there
            ((0.1, 0.2), (-0.35, -0.25), (0.0, 0.1)),  # moved off the axis
            ((0.3, 0.5), (-0.2, 0.5), (0.0, 0.5)),  # an end dragged past 0
            ((0.3, 0.5), (0.3, 1.05), (0.3, 1.0)),  # ... past 1
        ):
            state = ViewState(range=start)
            session._submit(state, brush=False)  # as typed: the server sets the box
            arrive(session, variant, state)
            assert (box.left, box.right) == start
            assert settle(*moved) == want
            assert (box.left, box.right) == want  # the box the page draws too
        # and the box, put back, moves on from where it is drawn
        assert settle(0.55, 1.25) == (0.3, 1.0)


def test_whole_range_clears_the_brush_and_keeps_the_rest() -> None:
    """The brush could be cleared only by typing 0 and 1: 'reset view' also
    forgot the filters, clicked cells and trellis choices."""
    from bokeh.events import ButtonClick

    with page_session() as (session, variant):
        state = ViewState(
            range=(0.2, 0.3), filters=(("dataset", ("svhn",)),), primary="lrate"
        )
        session.requested = state
        arrive(session, variant, state)
        before = session.requested
        session.page.whole_range._trigger_event(ButtonClick(session.page.whole_range))
        assert session.requested == dataclasses.replace(before, range=(0.0, 1.0))
        assert session.requested.filters == state.filters
        assert session.requested.primary == "lrate"
        arrive(session, variant, session.requested)
        assert (session.page.brush.left, session.page.brush.right) == (0.0, 1.0)
        assert session.page.brush.editable is False


def test_unchecking_the_last_option_is_said_under_the_filter() -> None:
    """In the page's words, not --where's, and under the filter clicked: a
    line at the top of the page was a screen away from the sidebar's
    filters, so the box just checked itself again without a word in view."""
    with page_session() as (session, variant):
        state = ViewState(filters=(("dataset", ("svhn",)),))
        session.requested = state
        arrive(session, variant, state)
        session.page.filters["dataset"].active = []
        note = session.page.filter_notes["dataset"]
        assert note.visible
        assert html.unescape(note.text) == (
            "keep at least one option checked: with none, no network would be left"
        )
        assert not any(
            n.visible for k, n in session.page.filter_notes.items() if k != "dataset"
        )
        assert session.requested.filters == state.filters
        assert list(session.page.filters["dataset"].active) == [
            session.page.filters["dataset"].labels.index("svhn")
        ]
        # the next accepted click takes the line away
        session.page.filters["dataset"].active = [0, 1]
        assert not note.visible


def test_a_refused_click_while_a_request_is_computed_keeps_that_request() -> None:
    """A refused change (the last option unchecked) puts the controls back
    to the request being computed, not to the older state on show: that made
    the request's result stale when it came, so its controls were never
    shown."""
    with page_session() as (session, variant):
        session.requested = ViewState()
        arrive(session, variant, ViewState())
        session.page.primary.value = "lrate"  # the user's choice, in flight
        asked = session.requested
        assert asked.primary == "lrate"
        session.page.filters["dataset"].active = []  # refused
        assert session.requested == asked
        assert session.page.primary.value == "lrate"
        assert list(session.page.filters["dataset"].active) == [0, 1, 2, 3, 4]
        arrive(session, variant, asked)  # its result
        assert session.shown is not None and session.shown.state.primary == "lrate"
        assert session.page.primary.value == "lrate"


def test_the_trellis_takes_the_width_the_page_sends() -> None:
    """The page sends its width when it loads and after a resize: the
    trellis' frames widen with it (a 1,920-pixel window left 700 pixels
    empty beside a trellis whose names were cut); nonsense is one message."""
    from hpcore.views import web

    with page_session(2000) as (session, variant):
        state = ViewState(primary="dataset")
        session.requested = state
        arrive(session, variant, state)
        panel = session.page.trellis_box.children[0]
        ens = variant.ensemble
        room = sum(len(ens.options(p)) for p in ens.parameters)  # all options
        n = len(session.page.trellis_x.factors)
        assert n < room and panel.frame_width == web.trellis_width(room)
        session.page.viewport.data = {"width": [2400]}  # as the page sends it
        assert session.page.trellis_frame == web.trellis_frame(2400)
        wide = session.page.trellis_box.children[0].frame_width
        assert wide == web.trellis_width(room, web.trellis_frame(2400))
        # a filter that drops options, or another primary or secondary,
        # changes the slots, not the frames: a figure's new width lays out
        # the whole page again in the browser (1.6-2.3 s for a filter click
        # at 1,500 pixels, 0.5-0.85 s without)
        for filters in ((("optimizer", ("ADAM",)),), (("batch_size", ("32", "64")),)):
            for primary, secondary in (("lrate", None), ("dataset", "optimizer")):
                state = ViewState(primary=primary, secondary=secondary, filters=filters)
                arrive(session, variant, state)
                figures = [f for f in session.page.trellis_box.children if f.visible]
                assert {f.frame_width for f in figures} == {wide}
                assert len(session.page.trellis_x.factors) < n
        assert session.page.trellis_frame == web.trellis_frame(2400)
        session.page.viewport.data = {"width": ["wide"]}
        assert "the page sent its width as" in session.page.error.text


def test_a_width_sent_while_the_data_loads_is_used(frame: pd.DataFrame) -> None:
    """The page sends its width as it loads; while the data still loads the
    session has not listened yet, and the trellis kept the narrow width."""
    from bokeh.document import Document

    from hpcore.views import web

    store, release = slow_store(frame)
    with ThreadPoolExecutor(2) as pool:
        session = serve.BrowserSession(Document(), serve.ServeApp(store, pool))
        try:
            assert not store.ready
            session.page.viewport.data = {"width": [2400]}  # not listened to yet
            release.set()
            deadline = time.monotonic() + 60
            while not store.ready and time.monotonic() < deadline:
                time.sleep(0.05)
            session._check_loading()  # the poll: the data is there
            assert session.page.trellis_frame == web.trellis_frame(2400)
        finally:
            release.set()
            session._destroyed(None)


def test_a_drag_changes_values_only_and_a_new_primary_or_filter_reshapes() -> None:
    """serve.values_only says which views go to the page as one message: the
    same data, filters, cells, trellis parameters, colour and order. The
    page agrees (``reshaped``): under such a view every view kept its rows,
    factors and figures; a new primary, filter or sort by importance changes
    them."""
    with page_session(3000) as (session, variant):
        state = ViewState(range=(0.2, 0.9))
        arrive(session, variant, state)
        rng = np.random.default_rng(4)
        for i in range(12):
            old = session.shown
            lo, hi = sorted(float(x) for x in rng.random(2))
            if i == 3:
                lo, hi = 0.9999, 1.0  # an empty selection
            state = dataclasses.replace(state, range=(lo, hi), page=i % 2)
            view = compute_view(variant, state)
            assert serve.values_only(old, view)
            session.page.reshaped = False
            session._apply(state, view)
            assert not session.page.reshaped, (lo, hi)
        for change in (
            {"primary": "optimizer", "secondary": "batch_size"},
            {"filters": (("dataset", ("mnist", "svhn")),)},
            {"filters": (), "sort": "importance", "range": (0.9, 1.0)},
        ):
            old = session.shown
            assert old is not None
            state = dataclasses.replace(state, **{"range": (0.5, 0.8), **change})
            view = compute_view(variant, state)
            assert not serve.values_only(old, view), change
            if "sort" in change:  # the matrix and trellis in a new order
                assert view.tables.order != old.tables.order
            session.page.reshaped = False
            session._apply(state, view)
            assert session.page.reshaped, change
        assert not serve.values_only(None, view)


class _FakeBokehSession:
    """What serve.OneMessagePerView uses of Bokeh's ServerSession, with two
    pages whose messages are recorded (each a list of change names)."""

    def __init__(self) -> None:
        self.sent: dict[str, list[list[str]]] = {"a": [], "b": []}
        sent = self.sent

        class Socket:
            def __init__(self, name: str) -> None:
                self.name = name

            async def send_message(self, msg: list[str]) -> None:
                sent[self.name].append(msg)

        class Protocol:
            def create(self, kind: str, events: list[Any]) -> list[str]:
                assert kind == "PATCH-DOC"
                return [e.name for e in events]

        class Connection:
            def __init__(self, name: str) -> None:
                self._socket = Socket(name)
                self.protocol = Protocol()

            async def send_patch_document(self, event: Any) -> None:
                sent[self._socket.name].append([event.name])

        self._pending_writes: list[Any] | None = None
        self._subscribed_connections = [Connection("a"), Connection("b")]
        self._current_patch_connection: Any = None

    def _document_patched(self, event: Any) -> None:
        # Bokeh's own: one message per change, at once
        if self._pending_writes is None:
            raise RuntimeError("Bokeh's own, outside a callback")
        for connection in self._subscribed_connections:
            if event.setter is self and connection is self._current_patch_connection:
                continue
            self._pending_writes.append(connection.send_patch_document(event))

    def callback(self, steps: list[Any], page: Any = None) -> None:
        """What Bokeh's locked callback does around the changes: each step a
        change (sent to _document_patched) or a function (called)."""

        async def run() -> None:
            self._pending_writes = writes = []
            self._current_patch_connection = page
            for step in steps:
                if callable(step):
                    step()
                else:
                    self._document_patched(step)
            self._current_patch_connection = None
            self._pending_writes = None
            for write in writes:
                await write

        asyncio.run(run())


@dataclasses.dataclass
class _Change:
    name: str
    setter: Any = None


def test_one_message_per_values_only_view() -> None:
    """Between start and stop a callback's changes go out as one message per
    page, in the order made, after the changes made before start (and before
    those after stop, which Bokeh sends); a change a page made is not sent
    back to it; a view that reshaped the page after all (split) goes out one
    message per change; outside a callback Bokeh's own method answers."""
    from bokeh.document import Document

    session = _FakeBokehSession()
    doc = Document()
    context = argparse.Namespace(_session=session)
    object.__setattr__(doc, "_session_context", lambda: context)
    batcher = serve.OneMessagePerView.install(doc)
    assert batcher is not None and session._document_patched == batcher.patched
    a = session._subscribed_connections[0]
    session.callback(
        [
            _Change("controls"),
            batcher.start,
            _Change("matrix"),
            _Change("box", setter=session),
            _Change("trellis"),
            _Change("stamp"),
            batcher.stop,
            _Change("idle"),
        ],
        page=a,
    )
    assert session.sent == {
        "a": [["controls"], ["matrix", "trellis", "stamp"], ["idle"]],
        "b": [["controls"], ["matrix", "box", "trellis", "stamp"], ["idle"]],
    }
    for name in "ab":
        session.sent[name].clear()
    session.callback(
        [batcher.start, _Change("x"), _Change("y"), batcher.split, batcher.stop]
    )
    assert session.sent == {"a": [["x"], ["y"]], "b": [["x"], ["y"]]}
    for name in "ab":
        session.sent[name].clear()
    session.callback([_Change("z")])  # Bokeh's own
    session.callback([batcher.start, _Change("u"), _Change("v"), batcher.stop])
    assert session.sent["a"] == session.sent["b"] == [["z"], ["u", "v"]]
    batcher.start()
    with pytest.raises(RuntimeError, match="Bokeh's own"):
        session._document_patched(_Change("outside"))
    batcher.stop()
    # a Bokeh without what it needs keeps its own messages
    del session._current_patch_connection
    assert serve.OneMessagePerView.install(doc) is None


def test_a_switch_of_group_reuses_the_filters() -> None:
    """BokehJS keeps the models a page no longer uses: new checkbox groups of
    the same names on every switch of group or metric piled up in the page
    (80 models each) and made get_model_by_name('filter:dataset') fail."""
    from bokeh.document import Document

    frame = hpcore.synthetic.nws_like(2000, seed=1)

    def loader(
        metric: str | None, group: str | None, method: str | None
    ) -> tuple[hpcore.Ensemble, str]:
        ens = hpcore.load(frame, metric=metric, group=group)
        return hpcore.normalize(ens, method=method or "minmax"), "test"

    store = serve.DataStore(loader, label="test")
    store.load()
    with ThreadPoolExecutor(1) as pool:
        session = serve.BrowserSession(Document(), serve.ServeApp(store, pool))
        first = ViewState()
        session._apply(first, serve.compute_view(store.variant(), first))
        boxes = dict(session.page.filters)
        for group in ("optimizer", "dataset"):
            state = ViewState(group=group)
            session.requested = state
            other = store.variant(state.metric, state.group, state.normalization)
            session._apply(state, serve.compute_view(other, state))
            assert session.shown is not None and session.shown.state.group == group
            assert session.page.filters == boxes  # the same models, reused
            names = [m.name for m in session.doc.models if m.name]
            assert len(names) == len(set(names)), sorted(names)
            heading = session.page.filter_box.children[0].text
            assert heading == f"<b>{next(iter(session.page.filters))}</b>"
        session._destroyed(None)


def test_save_and_download_wait_for_the_view_of_the_last_change(
    tmp_path: Path,
) -> None:
    """A click on "save report" or "download" while a change is on its way
    (a typed range, a filter click) wrote the state before it."""
    with page_session(2000) as (session, variant):
        session.app.out = tmp_path / "r"
        # callbacks run at once from here on, in the thread that adds them:
        # the first view, computed on the session's pool, must have been
        # handed over before, or the pool's thread draws it beside this one
        # (Bokeh's switch of property validation is global: two threads
        # drawing at once left it off, and a new figure kept its title a str)
        wait_until_idle(session)
        session.doc.add_next_tick_callback = lambda f: f()  # type: ignore[method-assign]
        arrive(session, variant, ViewState())
        newer = ViewState(range=(0.8, 1.0), filters=(("dataset", ("svhn",)),))
        session.requested = newer  # clicked; its view not computed yet
        session._on_save()
        session._on_download()
        assert session._save_due and session.page.save.disabled
        assert not (tmp_path / "r").exists()
        assert session.page.download_at.data["url"] == [""]
        arrive(session, variant, newer)
        assert session.page.download_at.data["url"] == [
            "selection.csv" + serve.state_to_query(session.shown.state)
        ]
        assert "range=0.8,1" in session.page.download_at.data["url"][0]
        session.app.executor.shutdown(wait=True)  # the report is written there
        summary = json.loads((tmp_path / "r" / "summary.json").read_text())
        assert summary["range"] == [0.8, 1.0]
        assert summary["where"] == {"dataset": ["svhn"]}
        assert not session._save_due and not session.page.save.disabled
