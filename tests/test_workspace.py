"""``workspaces/*.inv``: every processor, port, connection, property and link is real.

A processor type must be one of HPExplorer's (read from ``processors/`` as
Inviwo reads them) or a known Inviwo processor (identifiers, ports and
properties from INVIWO.md sections 4-6 and the processor sources cited there);
a connection must join an existing outport to an existing inport of the same
data type; a property set or linked must exist on its processor with the same
type. The analysis workspace must then run: built in the stand-in network it
fills every canvas without an error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from inviwo_stub import harness

import hpcore
from hpcore import inviwo_bridge as bridge

WORKSPACES = harness.REPO / "workspaces"
ANALYSIS = WORKSPACES / "hyperparameter-analysis.inv"
OURS = "org.hpexplorer."

PY, DF, IMG, BNL = "python", "DataFrame", "Image", "BrushingAndLinking"

#: Inviwo processors: inports (kind, required), outports (kind), property types.
KNOWN: dict[str, dict[str, Any]] = {
    "org.inviwo.CanvasGL": {
        "in": {"inport": (IMG, True)},
        "out": {},
        "props": {},
    },
    "org.inviwo.BrushingAndLinkingProcessor": {
        "in": {"inport": (BNL, False)},
        "out": {"outport": BNL},
        "props": {},
    },
    "org.inviwo.ParallelCoordinates": {
        "in": {
            "dataFrame": (DF, True),
            "brushingAndLinking": (BNL, False),
            "imageInport": (IMG, False),
        },
        "out": {"outport": IMG},
        "props": {
            "showFiltered": "org.inviwo.BoolProperty",
            "handlesVisible": "org.inviwo.BoolProperty",
            "axisProps_": "org.inviwo.CompositeProperty",
            "captions": "org.inviwo.FontProperty",
            "labels": "org.inviwo.FontProperty",
            "lines": "org.inviwo.CompositeProperty",
        },
    },
    "org.inviwo.DataFrameTable": {
        "in": {"inport": (DF, True), "brushingAndLinking": (BNL, False)},
        "out": {},
        "props": {
            "showIndexColumn": "org.inviwo.BoolProperty",
            "showFilteredItems": "org.inviwo.BoolProperty",
        },
    },
    "org.inviwo.ImagePlotProcessor": {
        "in": {"image": (IMG, True), "bg": (IMG, False)},
        "out": {"outport": IMG},
        "props": {},
    },
    "org.inviwo.ScatterPlotProcessor": {
        "in": {
            "dataFrame_": (DF, True),
            "brushing": (BNL, False),
            "background": (IMG, False),
        },
        "out": {"outport": IMG},
        "props": {},
    },
}


def kind_of(class_identifier: str) -> str:
    """Data kind of a port from its class identifier (pyport.cpp, port traits)."""
    if class_identifier in ("org.inviwo.pythonoutport", "org.inviwo.pythoninport"):
        return PY
    if class_identifier.startswith("BrushingAndLinking"):
        return BNL
    for kind in (DF, IMG):
        if class_identifier.startswith(f"org.inviwo.{kind}."):
            return kind
    raise AssertionError(f"unknown port class {class_identifier}")


@pytest.fixture(scope="module")
def inviwo() -> harness.Inviwo:
    return harness.load_inviwo()


@pytest.fixture(scope="module")
def ours(inviwo: harness.Inviwo) -> dict[str, Any]:
    """HPExplorer's processors by class identifier: one instance each."""
    out = {}
    for path in harness.processor_files():
        ptype = harness.load_processor_file(path)
        out[ptype.info.classIdentifier] = harness.create(ptype)
    return out


def describe(kind: str, ours: dict[str, Any]) -> dict[str, Any]:
    """Ports and properties of a processor type, as in :data:`KNOWN`."""
    if kind in KNOWN:
        return KNOWN[kind]
    proc = ours[kind]
    return {
        "in": {
            p.identifier: (
                kind_of(p.classIdentifier),
                not p.optional and kind_of(p.classIdentifier) != BNL,
            )
            for p in proc.inports
        },
        "out": {p.identifier: kind_of(p.classIdentifier) for p in proc.outports},
        "props": {p.identifier: p.classIdentifier for p in proc.properties},
    }


def generator() -> ModuleType:
    """``workspaces/build_workspace.py`` as a module."""
    return harness.workspace_builder()


def workspace_files() -> list[Path]:
    return sorted(WORKSPACES.glob("*.inv"))


def test_the_analysis_workspace_exists() -> None:
    assert ANALYSIS in workspace_files()


def test_committed_workspaces_are_what_the_generator_writes() -> None:
    gen = generator()
    assert set(workspace_files()) == set(gen.WORKSPACES)
    for path, (build, title) in gen.WORKSPACES.items():
        assert path.read_text(encoding="utf-8") == gen.render(build, title), (
            f"run python workspaces/build_workspace.py ({path.name} differs)"
        )


def test_builtin_parameters_are_those_of_the_source_default(
    ours: dict[str, Any],
) -> None:
    from hpcore.app.common import BUILTIN_ROWS, BUILTIN_SEED
    from hpcore.data.loading import ensemble_from_frame
    from hpcore.data.synthetic import nws_like

    source = ours[OURS + "EnsembleSource"]
    assert (source.rows.value, source.seed.value) == (BUILTIN_ROWS, BUILTIN_SEED)
    ens = ensemble_from_frame(nws_like(BUILTIN_ROWS, seed=BUILTIN_SEED))
    assert ens.parameters == generator().BUILTIN_PARAMETERS


@pytest.mark.parametrize("path", workspace_files(), ids=lambda p: p.name)
def test_workspace_is_consistent(path: Path, ours: dict[str, Any]) -> None:
    root = ET.parse(path).getroot()
    assert root.tag == "InviwoWorkspace" and root.get("version") == "3"
    net = root.find("ProcessorNetwork")
    assert net is not None
    # the version Inviwo 0.9.11 writes: it warns about newer files
    assert net.find("ProcessorNetworkVersion").get("content") == "20"

    # processors: known types, unique identifiers, positions
    nodes: dict[str, ET.Element] = {}
    for element in net.iterfind("Processors/Processor"):
        kind = element.get("type")
        assert kind in KNOWN or kind in ours, f"unknown processor type {kind}"
        identifier = element.get("identifier")
        assert identifier not in nodes, f"duplicate identifier {identifier}"
        assert element.get("displayName")
        assert element.find("PortGroups") is not None
        nodes[identifier] = element
    position = {
        ident: tuple(
            int(e.find("MetaDataMap/MetaDataItem/position").get(a)) for a in ("x", "y")
        )
        for ident, e in nodes.items()
    }
    listed = {
        p.get("content")
        for p in root.iterfind("InviwoSetup/Modules/Module/Processors/Processor")
    }
    module = root.find("InviwoSetup/Modules/Module[@name='HPExplorer']")
    assert module is not None
    used = {e.get("type") for e in nodes.values() if e.get("type").startswith(OURS)}
    assert used <= listed

    # connections: existing ports of the same data type, left to right
    fed: Counter[tuple[str, str]] = Counter()
    for conn in net.iterfind("Connections/Connection"):
        src, out = conn.get("src").split(".", 1)
        dst, into = conn.get("dst").split(".", 1)
        assert src in nodes and dst in nodes, conn.attrib
        outs = describe(nodes[src].get("type"), ours)["out"]
        ins = describe(nodes[dst].get("type"), ours)["in"]
        assert out in outs, f"{src} has no outport {out!r}; outports: {sorted(outs)}"
        assert into in ins, f"{dst} has no inport {into!r}; inports: {sorted(ins)}"
        assert outs[out] == ins[into][0], (
            f"{conn.attrib}: {outs[out]} -> {ins[into][0]}"
        )
        assert position[src][0] < position[dst][0], (
            f"{conn.attrib} does not run left to right"
        )
        fed[(dst, into)] += 1
    assert max(fed.values()) == 1, "an inport has two connections"
    for ident, element in nodes.items():
        for port, (_, required) in describe(element.get("type"), ours)["in"].items():
            assert not required or fed[(ident, port)], (
                f"{ident}.{port} is not connected"
            )

    # properties set: existing, same type
    for ident, element in nodes.items():
        props = describe(element.get("type"), ours)["props"]
        for prop in element.iterfind("Properties/Property"):
            name = prop.get("identifier")
            assert name in props, f"{ident} has no property {name!r}"
            assert prop.get("type") == props[name], (
                f"{ident}.{name}: {prop.get('type')}"
            )

    # links: existing properties of the same type
    for link in net.iterfind("PropertyLinks/PropertyLink"):
        ends = []
        for end in (link.get("src"), link.get("dst")):
            ident, name = end.split(".", 1)
            props = describe(nodes[ident].get("type"), ours)["props"]
            assert name in props, f"link end {end} does not exist"
            ends.append(props[name])
        assert ends[0] == ends[1], link.attrib


def test_analysis_workspace_wiring(ours: dict[str, Any]) -> None:
    root = ET.parse(ANALYSIS).getroot()
    types = Counter(
        e.get("type") for e in root.iterfind("ProcessorNetwork/Processors/Processor")
    )
    assert all(
        types[OURS + name] == 1
        for name in (
            "EnsembleSource",
            "MetricNormalization",
            "MetricRangeFilter",
            "ParameterPairCounter",
            "TrellisAggregator",
            "MetricHistogramPlot",
            "PairMatrixPlot",
            "TrellisPlot",
        )
    )
    assert (
        types["org.inviwo.CanvasGL"] == 5
    )  # histogram, matrix, trellis, heat map, PCP
    assert types["org.inviwo.BrushingAndLinkingProcessor"] == 1
    assert (
        types["org.inviwo.ParallelCoordinates"]
        == types["org.inviwo.DataFrameTable"]
        == 1
    )
    links = {(k.get("src"), k.get("dst")) for k in root.iter("PropertyLink")}
    both_ways = [
        ("MetricRangeFilter.range", "MetricHistogramPlot.range"),  # drag
        ("MetricRangeFilter.where", "PairMatrixPlot.where"),  # click a cell
        ("TrellisAggregator.primary", "TrellisPlot.primary"),  # click a title
    ]
    assert links == {*both_ways, *((b, a) for a, b in both_ways)}
    source = root.find(
        "ProcessorNetwork/Processors/Processor[@identifier='EnsembleSource']"
    )
    assert (
        source.find("Properties/Property[@identifier='file']") is None
    )  # built-in data
    for canvas in root.iterfind(
        "ProcessorNetwork/Processors/Processor[@type='org.inviwo.CanvasGL']"
    ):
        dims = canvas.find(
            "MetaDataMap/MetaDataItem[@key='org.inviwo.ProcessorWidgetMetaData']/dimensions"
        )
        assert dims is not None and int(dims.get("x")) >= 400


def test_analysis_workspace_runs(
    inviwo: harness.Inviwo, monkeypatch: pytest.MonkeyPatch
) -> None:
    if inviwo.real:
        pytest.skip(
            "runs in the stand-in network; Inviwo itself loads it with network.load"
        )
    inviwo.fresh()
    errors: list[str] = []
    monkeypatch.setattr(inviwo.ivw, "logError", errors.append)
    procs = harness.load_workspace(inviwo, ANALYSIS)
    assert errors == [] and inviwo.network.exceptions == []

    agg = procs["TrellisAggregator"]
    assert (agg.primary.value, agg.secondary.value) == ("optimizer", "batch_size")
    norm = procs["MetricNormalization"].ensemble.getData()
    sel = procs["MetricRangeFilter"].selection.getData()
    want = hpcore.select(
        norm, range=(0.9, 1.0), where={"dataset": ["cifar10", "stl10"]}
    )
    np.testing.assert_array_equal(sel.mask, want.mask)
    for canvas, size in {
        "HistogramCanvas": (1000, 420),
        "PairMatrixCanvas": (900, 800),
        "TrellisCanvas": (1400, 600),
    }.items():
        image = harness.canvas_image(procs[canvas])
        assert image is not None and harness.wh(image.dimensions) == size, canvas
    heat = harness.canvas_image(procs["HeatMapCanvas"])
    assert heat is not None and heat.dimensions.x > 10
    assert harness.canvas_image(procs["ParallelCoordinatesCanvas"]) is not None
    # the table lists the best selected networks, best first (at most 1,000)
    table = bridge.inviwo_to_table(procs["DataFrameTable"].received["inport"])
    assert len(table) == min(want.count, bridge.TABLE_ROWS) > 0
    rows = table[bridge.NETWORK].to_numpy(dtype=np.int64)
    assert want.mask[rows].all()
    best = norm.table["normalized"].to_numpy()[want.mask]
    np.testing.assert_allclose(
        table["normalized"].to_numpy(), np.sort(best)[::-1][: len(table)], rtol=1e-6
    )
    assert (
        table["dataset"].astype(str).tolist()
        == norm.table["dataset"].astype(str).to_numpy()[rows].tolist()
    )

    # Parallel Coordinates: the normalized metric and the paper's parameters
    assert procs["ParallelCoordinates"].axes == [
        "dataset",
        "lrate",
        "batch_size",
        "augmentation",
        "optimizer",
        "activation",
        "initialization",
        "normalized",
    ]

    # the links: moving the histogram's shading moves the selection ...
    procs["MetricHistogramPlot"].range.value = inviwo.ivw.glm.vec2(0.5, 0.6)
    assert procs["MetricRangeFilter"].selection.getData().range == (0.5, 0.6)
    # ... the matrix's filter (set by clicking a cell) is the range filter's ...
    procs["PairMatrixPlot"].where.value = "optimizer = ADAM"
    sel = procs["MetricRangeFilter"].selection.getData()
    assert dict(sel.where) == {"optimizer": ("ADAM",)}
    want = hpcore.select(norm, range=(0.5, 0.6), where={"optimizer": ["ADAM"]})
    np.testing.assert_array_equal(sel.mask, want.mask)
    # ... and the trellis plot's primary (a click on a title) the aggregator's
    procs["TrellisPlot"].primary.value = "dataset"
    assert procs["TrellisAggregator"].trellis.getData().attrs["primary"] == "dataset"
    assert errors == [] and inviwo.network.exceptions == []
    inviwo.fresh()


def test_comparison_workspace_runs(
    inviwo: harness.Inviwo, monkeypatch: pytest.MonkeyPatch
) -> None:
    if inviwo.real:
        pytest.skip(
            "runs in the stand-in network; Inviwo itself loads it with network.load"
        )
    from hpcore.analysis.stats import compare_selections

    inviwo.fresh()
    errors: list[str] = []
    monkeypatch.setattr(inviwo.ivw, "logError", errors.append)
    procs = harness.load_workspace(inviwo, WORKSPACES / "comparison.inv")
    assert errors == [] and inviwo.network.exceptions == []
    norm = procs["MetricNormalization"].ensemble.getData()
    top = hpcore.select(norm, range=(0.9, 1.0))
    bulk = hpcore.select(norm, range=(0.0, 0.8))
    got = procs["Comparison"].comparison.getData()
    want = compare_selections(norm, bulk, top)
    pd.testing.assert_frame_equal(got.drop(columns="count"), want)
    assert got.attrs == {"selected": top.count, "reference": bulk.count}
    for canvas in ("TopCanvas", "BulkCanvas", "DifferenceCanvas"):
        assert harness.wh(harness.canvas_image(procs[canvas]).dimensions) == (
            800,
            720,
        ), canvas

    # nothing brushed in Parallel Coordinates: the trellis shows every network
    def counted(trellis: pd.DataFrame) -> int:  # networks in one panel
        return int(trellis["count"][trellis["parameter"] == "dataset"].sum())

    trellis = procs["LinkedTrellisAggregator"].trellis.getData()
    assert counted(trellis) == len(norm)
    # brushing an axis filters rows out: the trellis follows at once
    out = np.flatnonzero(norm.table["optimizer"].astype(str) == "SGD")
    pcp = procs["ParallelCoordinates"].getInport("brushingAndLinking")
    pcp.filter("parallelcoordinates", inviwo.ivw.data.BitSet([int(i) for i in out]))
    trellis = procs["LinkedTrellisAggregator"].trellis.getData()
    assert counted(trellis) == len(norm) - len(out)
    assert "SGD" not in set(trellis["option"][trellis["parameter"] == "optimizer"])
    assert procs["LinkedSelection"].count.value == len(norm) - len(out)
    # the top filter's own brushing (select) does not feed back into itself
    assert procs["TopFilter"].selection.getData().count == top.count
    assert errors == [] and inviwo.network.exceptions == []
    inviwo.fresh()
