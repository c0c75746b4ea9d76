"""hpexplorer serve in a real browser: drag, click, choose, reload; the numbers.

Headless Debian chromium driven by Playwright (``/usr/bin/chromium``, or the
path in ``HPEXPLORER_CHROMIUM``; never ``playwright install``). Without a
browser these tests skip with the reason. The page is read through its Bokeh
models (its widgets live in shadow DOM); every number read is compared with
the report's own computation for the state the page says it shows (its
address). Screenshots of every step go to a temporary folder and are checked
for content.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hpcore
from hpcore.app import report, serve
from hpcore.app.output import MANIFEST
from hpcore.app.serve import DataStore, ViewState, state_from_query
from hpcore.views import web

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("HPEXPLORER_CHROMIUM", "/usr/bin/chromium"))

#: Headless chromium on a machine without outside network (see BROWSER.md).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

PAPER = (
    "dataset",
    "lrate",
    "batch_size",
    "augmentation",
    "optimizer",
    "activation",
    "initialization",
)

#: How long a step may take on a busy machine.
TIMEOUT_MS = 60_000


def _need_browser() -> None:
    pytest.importorskip("bokeh", reason="hpexplorer serve needs the 'serve' extra")
    pytest.importorskip(
        "playwright.sync_api", reason="the browser tests need playwright ('[test]')"
    )
    if not CHROMIUM.exists():
        pytest.skip(
            f"no browser: {CHROMIUM} is missing (apt-get install chromium, or set "
            "HPEXPLORER_CHROMIUM to a chromium binary)"
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[serve.Running]:
    _need_browser()
    # the built-in ensemble with the paper's seven parameters
    args = argparse.Namespace(
        data=None,
        metric=None,
        group=None,
        params=",".join(PAPER),
        bins=[],
        normalize="minmax",
    )
    out = tmp_path_factory.mktemp("saved") / "report"
    running = serve.serve_in_thread(DataStore.from_args(args), out=out)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


STAMP_JS = """() => {
    if (!(window.Bokeh && Bokeh.documents.length)) return null;
    const s = Bokeh.documents[0].get_model_by_name('stamp');
    return s ? s.data.state[0] : null;
}"""

FRAME_JS = """(name) => {
    const fig = Bokeh.documents[0].get_model_by_name(name);
    const view = Bokeh.index.find_one(fig);
    const box = view.canvas_view.el.getBoundingClientRect();
    const f = view.frame.bbox;
    return [box.left + f.left, box.top + f.top, f.width, f.height];
}"""

CELL_JS = """([name, xf, yf]) => {
    const fig = Bokeh.documents[0].get_model_by_name(name);
    const view = Bokeh.index.find_one(fig);
    const box = view.canvas_view.el.getBoundingClientRect();
    return [box.left + view.frame.x_scale.compute(fig.x_range.synthetic(xf)),
            box.top + view.frame.y_scale.compute(fig.y_range.synthetic(yf))];
}"""

DATA_JS = """([name, columns]) => {
    const data = Bokeh.documents[0].get_model_by_name(name).data;
    const out = {};
    for (const c of columns) out[c] = Array.from(data[c]);
    return out;
}"""


class Driver:
    """One browser tab on the server's page."""

    def __init__(self, page: Any, server: serve.Running, shots: Path) -> None:
        self.page = page
        self.server = server
        self.shots = shots
        page.set_default_timeout(TIMEOUT_MS)

    def open(self, query: str = "") -> dict[str, Any]:
        self.page.goto(self.server.url + query)
        return self.wait(None)

    def stamp(self) -> dict[str, Any]:
        text = self.page.evaluate(STAMP_JS)
        return {} if text is None else dict(json.loads(text))

    def wait(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        """The page's next shown state (after ``previous``)."""
        before = "{}" if previous is None else json.dumps(previous, sort_keys=True)
        self.page.wait_for_function(
            "(prev) => { const f = " + STAMP_JS + "; const s = f(); "
            "return s !== null && s !== '{}' && s !== prev; }",
            arg=before,
            polling="raf",
        )
        return self.stamp()

    def model(self, name: str, attribute: str) -> Any:
        return self.page.evaluate(
            "([n, a]) => { const m = Bokeh.documents[0].get_model_by_name(n); "
            "const v = m[a]; return (v && v.text !== undefined) ? v.text : v; }",
            [name, attribute],
        )

    def data(self, name: str, columns: list[str]) -> dict[str, list[Any]]:
        return dict(self.page.evaluate(DATA_JS, [name, columns]))

    def sweep(self, figure: str, start: float, stop: float, steps: int = 12) -> None:
        """Press, move across the frame of ``figure`` (fractions of its
        width; a start of 0 is 1 px inside) and release, not waiting."""
        x, y, w, h = self.page.evaluate(FRAME_JS, figure)
        mouse = self.page.mouse
        first = max(x + w * start, x + 1)
        mouse.move(first, y + h * 0.5)
        mouse.down()
        for i in range(1, steps + 1):
            mouse.move(first + (x + w * stop - first) * i / steps, y + h * 0.5)
        mouse.up()

    def drag(self, figure: str, start: float, stop: float) -> dict[str, Any]:
        """Drag across the frame of ``figure`` (fractions of its width)."""
        self.sweep(figure, start, stop)
        # every update of the drag arrives in order; wait for the last one
        self.page.wait_for_function(
            "() => { const d = Bokeh.documents[0]; const f = "
            + STAMP_JS
            + "; const s = JSON.parse(f() || '{}'); "
            "const b = d.get_model_by_name('brush'); "
            "const r = (v) => Math.min(Math.max(Math.round(v * 1e4) / 1e4, 0), 1); "
            "return s.lo === r(Math.min(b.left, b.right)) && "
            "s.hi === r(Math.max(b.left, b.right)); }",
            polling="raf",
        )
        return self.stamp()

    def click_cell(self, x: list[str], y: list[str]) -> dict[str, Any]:
        before = self.stamp()
        px, py = self.page.evaluate(CELL_JS, ["matrix", x, y])
        self.page.mouse.click(px, py)
        return self.wait(before)

    def choose(self, label: str, value: str) -> dict[str, Any]:
        before = self.stamp()
        self.page.get_by_label(label).select_option(value)
        return self.wait(before)

    def rendered_ranks(self, want: list[int]) -> list[int]:
        """The ranks in the table's drawn rows (what a person reads), once
        they begin with ``want`` (or after five seconds)."""
        js = """() => {
            const out = [];
            const visit = (root) => {
                for (const e of root.querySelectorAll('*')) {
                    if (e.classList.contains('slick-row')) {
                        out.push(Number(e.querySelector('.slick-cell').innerText));
                    }
                    if (e.shadowRoot) visit(e.shadowRoot);
                }
            };
            visit(document);
            return out;
        }"""
        from playwright.sync_api import TimeoutError as Timeout

        with contextlib.suppress(Timeout):  # timed out: the rows say what is drawn
            self.page.wait_for_function(
                f"(want) => ({js})().slice(0, want.length).join() == want.join()",
                arg=want,
                timeout=5000,
            )
        ranks: list[int] = self.page.evaluate(js)
        return ranks

    def shot(self, name: str) -> Path:
        """A full-page screenshot; it must show something."""
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        check_not_blank(path)
        return path


def check_not_blank(path: Path) -> None:
    from matplotlib.image import imread

    pixels = imread(str(path))[..., :3]
    assert pixels.shape[0] > 500 and pixels.shape[1] > 1000
    coloured = (np.abs(pixels - 1.0).sum(axis=2) > 0.15).mean()
    assert pixels.std() > 0.05, f"{path.name} is nearly uniform"
    assert coloured > 0.05, f"{path.name}: only {coloured:.1%} of it is not white"


@pytest.fixture
def tab(browser: Any, server: serve.Running, shots: Path) -> Iterator[Driver]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield Driver(page, server, shots)
    context.close()
    assert errors == [], errors


def shown_state(stamp: dict[str, Any]) -> ViewState:
    query = urllib.parse.parse_qs(stamp["query"][1:], keep_blank_values=True)
    return state_from_query(query)


def check_numbers(tab: Driver, stamp: dict[str, Any]) -> report.Report:
    """Every number the page shows equals the report's for the page's state."""
    store = tab.server.app.store
    state = shown_state(stamp)
    ens = store.variant(state.metric, state.group, state.normalization).ensemble
    want = report.build_report(
        ens,
        range=state.range,
        where=state.where(),
        primary=state.primary,
        secondary=state.secondary,
        color=state.color,  # type: ignore[arg-type]
        sort=state.sort,  # type: ignore[arg-type]
    )
    t = want.tables
    assert stamp["selected"] == want.selection.count
    assert (stamp["lo"], stamp["hi"]) == want.selection.range
    assert str(want.selection.count) in tab.model("status", "title").replace(",", "")

    cells = tab.data(
        "pairs_source",
        ["param_a", "option_a", "param_b", "option_b", "count", "p_value", "q_value"],
    )
    assert cells["param_a"] == list(t.pairs["param_a"])
    assert cells["option_b"] == list(t.pairs["option_b"])
    assert cells["count"] == t.pairs["count"].tolist()
    assert np.array_equal(cells["p_value"], t.pairs["p_value"].to_numpy())
    assert np.array_equal(cells["q_value"], t.pairs["q_value"].to_numpy())

    bars = tab.data("hist_norm_source", ["group", "bin_left", "count"])
    got = sorted(zip(bars["group"], bars["bin_left"], bars["count"], strict=True))
    hist = t.histogram_normalized
    # the groups with networks (a filter's left-out groups have no bars)
    totals = hist.groupby(hist["group"].astype(str))["count"].transform("sum")
    if (totals > 0).any():
        hist = hist[(totals > 0).to_numpy()]
    assert got == sorted(
        zip(hist["group"], hist["bin_left"], hist["count"].tolist(), strict=True)
    )

    imp = tab.data("importance_source", ["parameter", "score", "q_value"])
    assert imp["parameter"] == list(t.importance["parameter"])
    assert np.allclose(imp["score"], t.importance["score"], rtol=1e-12)

    points = tab.data(
        "trellis_source", ["parameter", "option", "primary", "mean", "count", "ci_low"]
    )
    tr = t.trellis
    assert points["parameter"] == list(tr["parameter"])
    assert points["primary"] == list(tr["primary"])
    assert points["count"] == tr["count"].tolist()
    mean = np.array(points["mean"], dtype=float)
    assert np.allclose(mean, tr["mean"], rtol=1e-12, equal_nan=True)
    assert np.allclose(points["ci_low"], tr["ci_low"], rtol=1e-12, equal_nan=True)
    figures = tab.page.evaluate(
        "() => Bokeh.documents[0].get_model_by_name('trellis').children"
        ".filter((f) => f.visible).map((f) => f.name)"
    )
    assert figures == [f"trellis:{o}" for o in dict.fromkeys(tr["primary"])]

    table = tab.data("networks_source", ["rank", "normalized"])
    sel = want.selection
    best = ens.table[sel.mask].sort_values("normalized", ascending=False, kind="stable")
    first = state.page * serve.PAGE_ROWS
    assert table["rank"] == list(range(first + 1, first + 1 + len(table["rank"])))
    # and the table draws those rows (the top ones, which it has room for)
    shown = tab.rendered_ranks(table["rank"][:5])
    assert shown and shown == table["rank"][: len(shown)], (shown, table["rank"])
    assert table["normalized"] == best["normalized"].iloc[first : first + 20].tolist()
    return want


# ------------------------------------------------------------------ steps


def test_brush_click_choose_reload(tab: Driver, server: serve.Running) -> None:
    first = tab.open()
    assert first["selected"] == len(server.app.store.variant().ensemble.table)
    assert tab.page.url.endswith(first["query"])  # the state is in the address
    check_numbers(tab, first)
    tab.shot("1-opened")

    # drag on the normalized histogram: the brushed range
    dragged = tab.drag("hist_norm", 0.55, 0.9)
    assert abs(dragged["lo"] - 0.55) < 0.02 and abs(dragged["hi"] - 0.9) < 0.02
    assert shown_state(dragged).range == (dragged["lo"], dragged["hi"])
    assert tab.model("range_lo", "value") == dragged["lo"]
    check_numbers(tab, dragged)
    tab.shot("2-brushed")

    # adjust one end by dragging the box's right edge
    edge = tab.drag("hist_norm", dragged["hi"], 0.97)
    assert edge["lo"] == dragged["lo"] and abs(edge["hi"] - 0.97) < 0.02
    check_numbers(tab, edge)

    # click a matrix cell: only that pair of options; again: gone
    cell = tab.click_cell(["optimizer", "ADAM"], ["activation", "ELU"])
    assert shown_state(cell).cells == (("optimizer", "ADAM", "activation", "ELU"),)
    want = check_numbers(tab, cell)
    assert dict(want.selection.where) == {
        "optimizer": ("ADAM",),
        "activation": ("ELU",),
    }
    outlined = tab.data("clicked_source", ["x", "y"])
    assert outlined == {"x": [["optimizer", "ADAM"]], "y": [["activation", "ELU"]]}
    tab.shot("3-cell-clicked")

    # another primary and a secondary
    chosen = tab.choose("trellis rows (primary)", "optimizer")
    chosen = tab.choose("trellis colour and marker (secondary)", "batch_size")
    assert shown_state(chosen).primary == "optimizer"
    assert shown_state(chosen).secondary == "batch_size"
    check_numbers(tab, chosen)
    tab.shot("4-primary-secondary")

    unclicked = tab.click_cell(["optimizer", "ADAM"], ["activation", "ELU"])
    assert shown_state(unclicked).cells == ()
    check_numbers(tab, unclicked)

    # colour by enrichment, order by importance (a click on a bar)
    recoloured = tab.page.get_by_text("enrichment", exact=True)
    before = tab.stamp()
    recoloured.click()
    coloured = tab.wait(before)
    assert shown_state(coloured).color == "enrichment"
    x, y, _, _ = tab.page.evaluate(FRAME_JS, "importance")
    before = tab.stamp()
    tab.page.mouse.click(x + 4, y + 12)  # the top bar, near the axis
    ordered = tab.wait(before)
    assert shown_state(ordered).sort == "importance"
    want = check_numbers(tab, ordered)
    assert tab.data("pairs_source", ["param_a"])["param_a"][0] == want.tables.order[0]
    tab.shot("5-enrichment-by-importance")

    # the address reproduces the view in a new tab
    address = tab.page.url
    assert address.endswith(ordered["query"])
    tab.page.goto("about:blank")
    again = tab.open(address[len(server.url) :])
    assert again == ordered
    check_numbers(tab, again)
    tab.shot("6-reloaded")


def test_two_quick_drags_show_only_brushed_ranges(tab: Driver) -> None:
    """The box's two ends arrive in one message but the server was called
    back for each: a second drag right after a first showed, for half a
    second, its new left end with the old right end (the status, matrix and
    trellis of [0.5, 0.6] while the boxes said 0.6 .. 0.95). Every view the
    page shows must be of a range the box held."""
    tab.open("?range=0.9,1")
    tab.page.evaluate(
        "() => { const d = Bokeh.documents[0]; window._shown = []; "
        "window._boxes = []; const b = d.get_model_by_name('brush'); "
        "b.connect(b.change, () => window._boxes.push([b.left, b.right])); "
        "const s = d.get_model_by_name('stamp'); s.connect(s.change, () => { "
        "const st = JSON.parse(s.data.state[0]); "
        "window._shown.push([st.lo, st.hi]); }); }"
    )
    for start, stop in ((0.2, 0.5), (0.6, 0.95)):  # the second one at once
        tab.sweep("hist_norm", start, stop, steps=5)
    # until the page shows what the box holds: the second drag's range (a
    # drag begun while the page applied the first's view was now and then
    # lost: test_a_drag_begun_while_the_page_is_busy_is_not_lost)
    tab.page.wait_for_function(
        "() => { const d = Bokeh.documents[0]; const b = "
        "d.get_model_by_name('brush'); const r = (v) => "
        "Math.min(Math.max(Math.round(v * 1e4) / 1e4, 0), 1); "
        "const s = window._shown.at(-1); return s !== undefined && "
        "s[0] === r(Math.min(b.left, b.right)) && "
        "s[1] === r(Math.max(b.left, b.right)); }",
        polling="raf",
    )
    shown = tab.page.evaluate("() => window._shown")
    boxes = tab.page.evaluate("() => window._boxes")
    held = {
        (round(min(lo, hi), 4), round(max(lo, hi), 4))
        for lo, hi in boxes
        if lo is not None and hi is not None
    }
    assert shown and boxes
    nobody = [r for r in map(tuple, shown) if r not in held]
    assert not nobody, (nobody, sorted(held))
    lo, hi = shown[-1]
    assert abs(lo - 0.6) < 0.02 and abs(hi - 0.95) < 0.02, shown


def test_a_drag_begun_while_the_page_is_busy_is_not_lost(tab: Driver) -> None:
    """A drag begun while the page applies a view: its first move was handled
    after BokehJS' 300 ms press timer, the gesture became a press and the
    drag was lost (the box, the boxes and the numbers stayed on the earlier
    range). The page being busy for 450 ms is made here on purpose."""
    tab.open("?range=0.9,1")
    x, y, w, h = tab.page.evaluate(FRAME_JS, "hist_norm")
    mouse = tab.page.mouse
    mouse.move(x + w * 0.3, y + h * 0.5)
    mouse.down()
    tab.page.evaluate(
        "() => { const t = performance.now(); while (performance.now() - t < 450); }"
    )
    for i in range(1, 6):
        mouse.move(x + w * (0.3 + 0.3 * i / 5), y + h * 0.5)
    mouse.up()
    tab.page.wait_for_function(
        "() => { const f = " + STAMP_JS + "; const s = JSON.parse(f() || '{}'); "
        "return s.hi !== undefined && s.hi < 0.9; }",
        polling="raf",
        timeout=15000,
    )
    shown = tab.stamp()
    assert abs(shown["lo"] - 0.3) < 0.02 and abs(shown["hi"] - 0.6) < 0.02, shown


def test_a_drag_inside_the_box_moves_it(tab: Driver) -> None:
    """A drag inside the brushed box moves it, as brushes elsewhere do (it
    drew a new box: a range could not be moved); outside, one is drawn."""
    tab.open("?range=0.4,0.6")
    before = tab.stamp()
    tab.sweep("hist_norm", 0.5, 0.7)
    shown = tab.wait(before)
    while abs(shown["lo"] - 0.6) > 0.02:  # views of the move on its way
        shown = tab.wait(shown)
    assert abs(shown["hi"] - 0.8) < 0.02, shown
    assert tab.model("range_lo", "value") == shown["lo"]
    # moved past the axis' end: it stops there, as wide as it was
    tab.sweep("hist_norm", 0.7, 0.99)
    while abs(shown["lo"] - 0.8) > 0.02:
        shown = tab.wait(shown)
    assert shown["hi"] == 1.0, shown
    tab.page.wait_for_function(
        "() => { const b = Bokeh.documents[0].get_model_by_name('brush'); "
        "return b.right === 1 && Math.abs(b.left - 0.8) < 0.02; }",
        polling="raf",
    )
    shown = tab.drag("hist_norm", 0.1, 0.3)  # outside the box: a new one
    assert abs(shown["lo"] - 0.1) < 0.02 and abs(shown["hi"] - 0.3) < 0.02, shown


def test_a_drag_reaches_the_page_as_one_message_a_new_primary_as_bokehs(
    tab: Driver,
) -> None:
    """Bokeh sends every change as a message of its own (about fifteen per
    view), which the page applied in separate tasks, drawing frames between
    them. A drag's view (values only: serve.values_only) now arrives as one
    message: the one that sets the stamp also fills the matrix, the trellis
    and the table. A new trellis primary changes figures, factors and rows
    and keeps Bokeh's one change per message (in one message BokehJS drew
    the trellis with the old rows' indices). Both views must show the right
    numbers and raise no page error (the fixture)."""
    contents: list[dict[str, Any]] = []

    def listen(ws: Any) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, str) and payload.startswith('{"events"'):
                with contextlib.suppress(ValueError):
                    contents.append(json.loads(payload))

        ws.on("framereceived", received)

    tab.page.on("websocket", listen)
    tab.open("?range=0.9,1")
    ids = tab.page.evaluate(
        "(names) => names.map((n) => Bokeh.documents[0].get_model_by_name(n).id)",
        ["stamp", "pairs_source", "trellis_source", "networks_source"],
    )
    stamp_id, views = ids[0], set(ids[1:])

    def models(content: dict[str, Any]) -> set[str]:
        return {
            str((e.get("model") or {}).get("id")) for e in content.get("events", [])
        }

    time.sleep(0.5)  # what the page asked for on opening (its width)
    contents.clear()
    shown = tab.drag("hist_norm", 0.2, 0.5)
    assert abs(shown["lo"] - 0.2) < 0.02 and abs(shown["hi"] - 0.5) < 0.02
    check_numbers(tab, shown)
    stamped = [c for c in contents if stamp_id in models(c)]
    assert stamped, "no message set the stamp"
    assert all(views <= models(c) for c in stamped), [models(c) for c in stamped]

    contents.clear()
    chosen = tab.choose("trellis rows (primary)", "optimizer")
    assert shown_state(chosen).primary == "optimizer"
    check_numbers(tab, chosen)
    assert contents and all(len(c["events"]) == 1 for c in contents)
    # and a drag under the new layout is one message again
    contents.clear()
    shown = tab.drag("hist_norm", 0.6, 0.8)
    check_numbers(tab, shown)
    stamped = [c for c in contents if stamp_id in models(c)]
    assert stamped and all(views <= models(c) for c in stamped)


def test_a_drag_from_the_edge_of_a_full_range_draws_a_box(tab: Driver) -> None:
    """On a fresh page the box covers the whole axis, its ends on the plot's
    edges: a drag from the left edge to the middle caught the box's left end
    and selected the upper half ([0.4977, 1], 10,729 networks)."""
    tab.open()
    tab.sweep("hist_norm", 0.0, 0.5, steps=5)  # from 1 px inside the edge
    # the drag's end (on a busy machine a view of the drag under way, drawn
    # while the mouse rested, may come first)
    tab.page.wait_for_function(
        "() => { const f = " + STAMP_JS + "; const s = JSON.parse(f() || '{}'); "
        "return s.hi !== undefined && Math.abs(s.hi - 0.5) < 0.02; }",
        polling="raf",
    )
    shown = tab.stamp()
    assert shown["lo"] < 0.02 and abs(shown["hi"] - 0.5) < 0.02, shown
    assert tab.model("brush", "editable") is True  # a narrower box's ends move


def test_typed_range_filters_and_pages(tab: Driver) -> None:
    tab.open("?range=0.5,1")
    before = tab.stamp()
    box = tab.page.get_by_label("range from")
    box.fill("0.8")
    box.press("Enter")
    typed = tab.wait(before)
    assert (typed["lo"], typed["hi"]) == (0.8, 1.0)
    brush = tab.page.evaluate(
        "() => { const b = Bokeh.documents[0].get_model_by_name('brush'); "
        "return [b.left, b.right]; }"
    )
    assert brush == [0.8, 1.0]  # the box follows typed values
    check_numbers(tab, typed)

    before = typed
    tab.page.get_by_text("mnist", exact=True).first.click()  # uncheck a data set
    filtered = tab.wait(before)
    state = shown_state(filtered)
    assert dict(state.filters)["dataset"] == ("cifar10", "svhn", "stl10", "fashion")
    check_numbers(tab, filtered)

    before = filtered
    tab.page.get_by_text("worse \u25b6").click()
    paged = tab.wait(before)
    assert shown_state(paged).page == 1
    check_numbers(tab, paged)
    tab.shot("7-typed-filtered-paged")


def test_errors_are_shown_on_the_page(tab: Driver) -> None:
    shown = tab.open("?f.dataset=mars&range=0.5,0.9")
    error = tab.model("error", "text")
    assert error.startswith(
        "hpexplorer serve: error: --where: unknown option(s) [&#x27;mars&#x27;] "
        "for parameter &#x27;dataset&#x27;"
    )
    assert shown_state(shown) == shown_state(tab.open())  # the defaults instead
    tab.page.goto(tab.server.url + "?f.dataset=mars")
    tab.wait(None)
    tab.shot("8-error")
    before = tab.stamp()
    tab.page.get_by_label("trellis rows (primary)").select_option("optimizer")
    assert tab.wait(before)["selected"] > 0  # the page keeps working


def test_save_report_and_download(tab: Driver, server: serve.Running) -> None:
    stamp = tab.open("?range=0.9,1&f.optimizer=ADAM&primary=optimizer")
    tab.page.get_by_text("save report", exact=True).click()
    tab.page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('message').text"
        ".includes('report written')",
    )
    out = server.app.out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selected"] == stamp["selected"]
    assert summary["where"] == {"optimizer": ["ADAM"]}
    assert summary["range"] == [0.9, 1.0] and summary["primary"] == "optimizer"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*report.report_files("png"), MANIFEST]
    )
    command = tab.model("command", "value")
    assert command.startswith("hpexplorer report --metric test_accuracy")
    with tab.page.expect_download() as caught:
        tab.page.get_by_text("download the selection as CSV").click()
    text = Path(caught.value.path()).read_text(encoding="utf-8")
    assert text.count("\n") == stamp["selected"] + 1


def test_save_and_download_right_after_a_change_follow_it(
    tab: Driver, server: serve.Running
) -> None:
    # a click on "save report" right after typing a range (no Enter: the
    # click takes the focus) wrote the state before it, as did "download"
    # right after a filter click (it read the address, which changes later)
    tab.open("?range=0.5,1")
    tab.page.get_by_label("range from").fill("0.8")
    tab.page.get_by_text("save report", exact=True).click()
    tab.page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('message').text"
        ".includes('report written')",
    )
    stamp = tab.stamp()
    assert (stamp["lo"], stamp["hi"]) == (0.8, 1.0)
    summary = json.loads((server.app.out / "summary.json").read_text())
    assert summary["range"] == [0.8, 1.0]
    assert summary["selected"] == stamp["selected"]

    tab.page.get_by_text("mnist", exact=True).first.click()  # uncheck a data set
    with tab.page.expect_download() as caught:
        tab.page.get_by_text("download the selection as CSV").click()
    text = Path(caught.value.path()).read_text(encoding="utf-8")
    filtered = tab.stamp()
    assert dict(shown_state(filtered).filters)["dataset"] == (
        "cifar10", "svhn", "stl10", "fashion",
    )  # fmt: skip
    assert text.count("\n") == filtered["selected"] + 1 < stamp["selected"] + 1


def test_a_cleared_range_box_gets_its_end_back(tab: Driver) -> None:
    # a cleared "from" blocked "to": 0.6 typed there was never applied
    before = tab.open("?range=0.3,0.9")
    lo = tab.page.get_by_label("range from")
    lo.fill("")
    lo.press("Enter")
    hi = tab.page.get_by_label("to", exact=True)
    hi.fill("0.6")
    hi.press("Enter")
    typed = tab.wait(before)
    assert (typed["lo"], typed["hi"]) == (0.3, 0.6)
    assert tab.model("range_lo", "value") == 0.3


KEEPS_TYPING_JS = """() => ['range_lo', 'range_hi'].every((name) => {
    const m = Bokeh.documents[0].get_model_by_name(name);
    const v = m && Bokeh.index.find_one(m);
    return !!(v && v.input_el && v.input_el.dataset.keepTyping !== undefined);
})"""


def test_a_range_end_being_typed_survives_the_view_of_the_other(
    tab: Driver,
) -> None:
    # "from" 0.75 above "to" 0.7 moves "to" along; the view of that arrived
    # while 0.8 was being typed into "to", set the box to 0.75, and Enter
    # then committed 0.75: the range typed was lost
    before = tab.open("?range=0.5,0.7")
    # the page keeps typing from when both boxes' views exist (in CI, typed
    # right after the first view, the boxes were not held yet once)
    tab.page.wait_for_function(KEEPS_TYPING_JS)
    lo = tab.page.get_by_label("range from")
    lo.fill("0.75")
    lo.press("Enter")
    hi = tab.page.get_by_label("to", exact=True)
    hi.fill("0.8")  # typed, not committed, while the view comes in
    moved = tab.wait(before)
    assert (moved["lo"], moved["hi"]) == (0.75, 0.75)
    assert tab.model("range_hi", "value") == 0.75  # the server set the box
    assert hi.input_value() == "0.8"  # and what is being typed stays
    hi.press("Enter")
    typed = tab.wait(moved)
    assert (typed["lo"], typed["hi"]) == (0.75, 0.8)


TOOLTIP_JS = """() => {
    const out = [];
    const visit = (root) => {
        for (const e of root.querySelectorAll('*')) {
            if (e.classList.contains('bk-tooltip-content')) out.push(e.innerText);
            if (e.shadowRoot) visit(e.shadowRoot);
        }
    };
    visit(document);
    return out.filter((t) => t.trim()).join('|');
}"""


def cell_card(tab: Driver, cells: dict[str, list[Any]], i: int) -> str:
    """The hover card of matrix cell ``i`` (of ``cells``, with ``x``, ``y``)."""
    tab.page.mouse.move(0, 0)
    x, y = tab.page.evaluate(CELL_JS, ["matrix", cells["x"][i], cells["y"][i]])
    tab.page.mouse.move(x, y)
    tab.page.wait_for_function(f"() => ({TOOLTIP_JS})().includes('enrichment')")
    card: str = tab.page.evaluate(TOOLTIP_JS)
    return card


def test_a_cell_without_an_expected_network_has_no_test_on_its_card(
    tab: Driver,
) -> None:
    tab.open("?range=0.5,0.5")  # nothing selected: no cell has a test
    card = cell_card(tab, tab.data("pairs_source", ["x", "y"]), 0)
    assert "enrichment: \u2013 (none expected)" in card, card
    assert "no test (no network expected)" in card, card
    assert "NaN" not in card and "p = 1" not in card, card
    # every network selected: each cell's count is what is expected, no test
    tab.open("?range=0,1")
    cells = tab.data("pairs_source", ["x", "y", "no_test"])
    assert set(cells["no_test"]) == {"every network selected"}
    card = cell_card(tab, cells, 0)
    assert "enrichment: \u00d71.00" in card, card
    assert "no test (every network selected)" in card, card
    assert "p = 1" not in card, card
    tab.shot("10-card-every-network-selected")
    tab.open("?range=0.9,1")  # a tested cell: its enrichment, p and q
    cells = tab.data("pairs_source", ["x", "y", "p_value", "q_value", "enrichment"])
    i = next(k for k, e in enumerate(cells["enrichment"]) if e == e and e > 0)
    card = cell_card(tab, cells, i)
    assert f"enrichment: \u00d7{cells['enrichment'][i]:.2f}" in card, card
    p, q = cells["p_value"][i], cells["q_value"][i]
    match = re.search(r"p = (\S+), q = (\S+)", card)
    assert match, card
    assert float(match[1]) == pytest.approx(float(f"{p:.2g}")), card
    assert float(match[2]) == pytest.approx(float(f"{q:.2g}")), card


BOX_JS = """(name) => {
    const view = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name));
    const r = view.el.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
}"""


@pytest.mark.parametrize("width", [1280, 1500, 1920])
def test_the_page_fits_the_window(
    browser: Any, server: serve.Running, shots: Path, width: int
) -> None:
    """No view runs off a 1,280-pixel window; wider windows widen the histograms,
    and from 1,500 pixels the importance panel stands beside the matrix."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        tab = Driver(context.new_page(), server, shots)
        tab.open()
        scroll, client = tab.page.evaluate(
            "() => [document.documentElement.scrollWidth, "
            "document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{scroll - client} px to scroll sideways"
        boxes = {
            name: tab.page.evaluate(BOX_JS, name)
            for name in ("hist_raw", "hist_norm", "matrix", "importance", "networks")
        }
        assert all(box[2] <= client for box in boxes.values()), boxes
        raw, norm = boxes["hist_raw"], boxes["hist_norm"]
        assert norm[2] - norm[0] >= web.HISTOGRAM_MIN_WIDTH
        assert abs((raw[2] - raw[0]) - (norm[2] - norm[0])) < 2
        # the histograms share the main area (the sidebar's width aside)
        share = (norm[2] - raw[0]) / (width - web.SIDEBAR_WIDTH)
        assert share > 0.9, share
        beside = boxes["importance"][1] == boxes["matrix"][1]
        assert beside == (width >= 1500), boxes
        # the trellis takes the room beside the controls (test_web: so wider
        # windows cut fewer of its panels' names)
        ens = server.app.store.variant().ensemble
        room = sum(len(ens.options(p)) for p in ens.parameters)
        frame = web.trellis_width(room, web.trellis_frame(client))
        tab.page.wait_for_function(
            "(w) => Bokeh.documents[0].get_model_by_name('trellis')"
            ".children.every((f) => f.frame_width === w)",
            arg=frame,
        )
        assert (frame <= web.TRELLIS_FRAME) == (width <= 1280), frame
        trellis = tab.page.evaluate(BOX_JS, "trellis")
        assert trellis[2] <= client, trellis
        tab.shot(f"9-window-{width}")
    finally:
        context.close()


@pytest.mark.slow
def test_twenty_sessions_brushing_for_thirty_seconds(
    browser: Any, server: serve.Running
) -> None:
    """20 tabs brush at once for 30 s; every answer is right, the server stays up."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    store = server.app.store
    tabs = []
    for _ in range(20):  # the 20 pages load at the same time
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(server.url, wait_until="commit")
        tabs.append(page)
    for page in tabs:
        page.wait_for_function(
            "() => { const f = " + STAMP_JS + "; const s = f(); "
            "return s !== null && s !== '{}'; }"
        )
    ens = store.variant().ensemble  # loaded: the pages show it
    rng = random.Random(20)
    oracle: dict[tuple[float, float], tuple[int, list[int]]] = {}

    def expected(lo: float, hi: float) -> tuple[int, list[int]]:
        if (lo, hi) not in oracle:
            sel = hpcore.select(ens, range=(lo, hi))
            counts = hpcore.pair_counts(ens, sel)["count"].tolist()
            oracle[(lo, hi)] = (sel.count, counts)
        return oracle[(lo, hi)]

    answers = 0
    started = time.monotonic()
    while time.monotonic() - started < 30:
        wanted = []
        for page in tabs:  # every tab brushes, then all answers are awaited
            lo = round(rng.uniform(0.0, 0.9), 4)
            hi = round(rng.uniform(lo, 1.0), 4)
            page.evaluate(  # a box drawn, as the page counts them
                "([lo, hi]) => { const b = Bokeh.documents[0]"
                ".get_model_by_name('brush'); "
                "b.setv({left: lo, right: hi, tags: [(b.tags[0] || 0) + 1]}); }",
                [lo, hi],
            )
            wanted.append((lo, hi))
        for page, (lo, hi) in zip(tabs, wanted, strict=True):
            page.wait_for_function(
                "([lo, hi]) => { const f = " + STAMP_JS + "; "
                "const s = JSON.parse(f()); return s.lo === lo && s.hi === hi; }",
                arg=[lo, hi],
            )
            stamp = json.loads(page.evaluate(STAMP_JS))
            counts = page.evaluate(DATA_JS, ["pairs_source", ["count"]])["count"]
            count, want = expected(lo, hi)
            assert stamp["selected"] == count
            assert counts == want
            answers += 1
    context.close()
    assert answers >= 40, answers
    with urllib.request.urlopen(server.url, timeout=30) as answer:
        assert answer.status == 200
    assert server.thread.is_alive()
