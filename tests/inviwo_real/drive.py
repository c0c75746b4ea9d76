"""Drive HPExplorer's workspace inside a running Inviwo (``Inviwo -p drive.py``).

Run by ``tests/test_inviwo_real.py`` and ``benchmarks/inviwo_latency.py``
through Inviwo's ``--pythonScript`` option, after Inviwo has opened the
workspace given with ``-w``. Sets the states listed in the JSON file named by
``HPEXPLORER_DRIVE_IN`` one after another, as a user would through the
property panels, and writes what the processors produced for each (and how
long the network took) to the JSON file named by ``HPEXPLORER_DRIVE_OUT``.
Every failure is written there too: a script error must not pass unseen.

A state is a mapping of any of: ``rows`` (Ensemble Source's built-in rows),
``method`` (normalization), ``range`` ([lo, hi]), ``where`` (option filter
text), ``primary``, ``secondary``, ``drag`` ([lo, hi] on the normalized
histogram's axis: a mouse drag from lo to hi sent to Metric Histogram Plot,
in the canvas' pixels from its lower left, as Inviwo's events count them),
``click_cell`` ([a, option_a, b, option_b]: a click on that matrix cell),
``hover_cell`` (the same four: the mouse moved onto that cell, no button),
``hover_point`` ([parameter, primary, secondary, option]: onto that trellis
marker), ``click_title`` (a parameter: a click on its trellis column title),
``record`` (false: time only; the selection's filter is kept as ``where_now``
either way). A hover's tooltip is recorded as ``tooltip``:
the event is a subclass of Inviwo's ``MouseEvent`` whose ``setToolTip``
keeps the text (the processors call it from Python, so the override is the
one they reach; a canvas would show it).
"""

import json
import os
import time
import traceback

import inviwopy as ivw
import numpy as np


def _get(identifier):
    proc = ivw.app.network.getProcessorByIdentifier(identifier)
    if proc is None:
        raise LookupError(f"the workspace has no processor {identifier!r}")
    return proc


class _Probe(ivw.MouseEvent):
    """A mouse event that keeps the tooltip a processor sets on it."""

    tip = None

    def setToolTip(self, text):
        self.tip = text


def _mouse(proc, state, xy, held):
    size = proc.outport.getData().dimensions
    w, h = int(size.x), int(size.y)
    event = _Probe(
        button=ivw.MouseButton.Left,
        state=getattr(ivw.MouseState, state),
        buttonState=ivw.MouseButtons(ivw.MouseButton.Left)
        if held
        else ivw.MouseButtons(),
        modifiers=ivw.KeyModifiers(),  # required: 0.9.11's defaults do not convert
        normalizedPosition=ivw.glm.dvec2(xy[0] / w, xy[1] / h),
        canvasSize=ivw.glm.uvec2(w, h),
    )
    proc.propagateEvent(event, None)
    return event.tip


def _point_xy(trellis, parameter, primary, secondary, option):
    marks = trellis._plot.figure._hpx_trellis
    for artist in marks.artists:
        keys = marks.keys.get(id(artist)) or []
        if (parameter, primary, secondary, option) in keys:
            at = keys.index((parameter, primary, secondary, option))
            xy = artist.get_offset_transform().transform(artist.get_offsets()[at])
            return float(xy[0]), float(xy[1])
    raise LookupError(f"no trellis marker {(parameter, primary, secondary, option)}")


def _title_xy(trellis, parameter):
    fig = trellis._plot.figure
    renderer = fig.canvas.get_renderer()
    for text in fig.texts:
        if text.get_gid() == f"trellis-title:{parameter}":
            box = text.get_window_extent(renderer)
            return float((box.x0 + box.x1) / 2), float((box.y0 + box.y1) / 2)
    raise LookupError(f"no trellis column title {parameter!r}")


def _cell_xy(matrix, a, option_a, b, option_b):
    cells = matrix._plot.figure._hpx_pairs
    lay = cells.layout
    i, j = lay.options[a].index(option_a), lay.options[b].index(option_b)
    x, y = cells.transform.transform((lay.x0[a] + i + 0.5, lay.y0[b] + j + 0.5))
    return float(x), float(y)


def _apply(state):
    if "rows" in state:
        _get("EnsembleSource").rows.value = int(state["rows"])
    if "method" in state:
        _get("MetricNormalization").method.selectedIdentifier = state["method"]
    if "range" in state:
        lo, hi = state["range"]
        _get("MetricRangeFilter").range.value = ivw.glm.vec2(lo, hi)
    if "where" in state:
        _get("MetricRangeFilter").where.value = state["where"]
    if "primary" in state:
        _get("TrellisAggregator").primary.selectedIdentifier = state["primary"]
    if "secondary" in state:
        _get("TrellisAggregator").secondary.selectedIdentifier = state["secondary"]
    if "drag" in state:
        hist = _get("MetricHistogramPlot")
        fig = hist._plot.figure
        (ax,) = [a for a in fig.axes if a.get_gid() == "histogram-normalized"]
        lo, hi = state["drag"]
        x0, y0 = ax.transData.transform((lo, 1.0))
        x1, y1 = ax.transData.transform((hi, 1.0))
        _mouse(hist, "Press", (x0, y0), True)
        _mouse(hist, "Move", ((x0 + x1) / 2, y0), True)
        _mouse(hist, "Move", (x1, y1), True)
        _mouse(hist, "Release", (x1, y1), False)
    if "click_cell" in state:
        matrix = _get("PairMatrixPlot")
        xy = _cell_xy(matrix, *state["click_cell"])
        _mouse(matrix, "Press", xy, True)
        _mouse(matrix, "Release", xy, False)
    if "click_title" in state:
        trellis = _get("TrellisPlot")
        xy = _title_xy(trellis, state["click_title"])
        _mouse(trellis, "Press", xy, True)
        _mouse(trellis, "Release", xy, False)
    tip = None
    if "hover_cell" in state:
        matrix = _get("PairMatrixPlot")
        tip = _mouse(matrix, "Move", _cell_xy(matrix, *state["hover_cell"]), False)
    if "hover_point" in state:
        trellis = _get("TrellisPlot")
        xy = _point_xy(trellis, *state["hover_point"])
        tip = _mouse(trellis, "Move", xy, False)
    return tip


def _frame(table):
    return json.loads(table.to_json(orient="split", index=False))


def _record():
    sel = _get("MetricRangeFilter").selection.getData()
    counts = _get("ParameterPairCounter").counts.getData()
    trellis = _get("TrellisAggregator").trellis.getData()
    canvases = {}
    for proc in ivw.app.network.processors:
        if proc.classIdentifier == "org.inviwo.CanvasGL":
            image = proc.getInport("inport").getData()
            canvases[proc.identifier] = (
                None
                if image is None
                else [
                    int(image.dimensions.x),
                    int(image.dimensions.y),
                ]
            )
    return {
        "selected": None if sel is None else np.flatnonzero(sel.mask).tolist(),
        "range": None if sel is None else list(sel.range),
        "where": None if sel is None else {k: list(v) for k, v in sel.where.items()},
        "filter_text": _get("MetricRangeFilter").where.value,
        "method": _get("MetricNormalization").method.value,
        "counts": None if counts is None else _frame(counts),
        "trellis": None if trellis is None else _frame(trellis),
        "primary": None if trellis is None else trellis.attrs.get("primary"),
        "secondary": None if trellis is None else trellis.attrs.get("secondary"),
        "canvases": canvases,
    }


def main():
    out = {"states": [], "error": None}
    try:
        with open(os.environ["HPEXPLORER_DRIVE_IN"], encoding="utf-8") as f:
            states = json.load(f)
        for state in states:
            start = time.perf_counter()
            tip = _apply(state)  # the network evaluates before the setter returns
            seconds = time.perf_counter() - start
            entry = {"state": state, "seconds": seconds, "tooltip": tip}
            sel = _get("MetricRangeFilter").selection.getData()
            entry["where_now"] = (
                None
                if sel is None
                else {k: sorted(map(str, v)) for k, v in sel.where.items()}
            )
            if state.get("record", True):
                entry.update(_record())
            out["states"].append(entry)
    except Exception:
        out["error"] = traceback.format_exc()
    with open(os.environ["HPEXPLORER_DRIVE_OUT"], "w", encoding="utf-8") as f:
        json.dump(out, f)


main()
