"""Write HPExplorer's Inviwo networks into ``workspaces/``.

Run ``python workspaces/build_workspace.py`` after changing a network; the
output is deterministic and ``tests/test_workspace.py`` checks that the
committed files are exactly what this script writes.

``hyperparameter-analysis.inv``, the paper's views (pipeline order left to
right, as in DESIGN.md's diagram):

- Ensemble Source (the built-in synthetic ensemble: its File is empty) ->
  Metric Normalization -> Metric Range Filter (CIFAR-10 and STL-10, as the
  paper selects) -> Parameter Pair Counter and Trellis Aggregator (primary
  optimizer, secondary batch size: the paper's Fig. 4) -> Metric Histogram
  Plot, Pair Matrix Plot and Trellis Plot, each into its own canvas;
- the pair matrix's bare heat map -> Inviwo's Image Plot -> a canvas;
- the normalized table -> Inviwo's Parallel Coordinates (-> a canvas, the
  metric and the paper's parameters as axes), linked through a Brushing And
  Linking processor, which also receives the range filter's selection;
- the range filter's best 1,000 selected networks, best first -> Inviwo's
  DataFrame Table (a table of all rows following a brush of a million of
  them costs Inviwo ~0.3 s per brush; the best ones are what a user reads);
- property links, both ways: the range filter's Normalized Range with the
  histogram's Shaded Range (drag on the histogram), its Option Filter with
  the pair matrix's (click a cell), the trellis plot's Primary with the
  aggregator's (click a panel title).

``comparison.inv``, the paper's comparison and the other direction of
brushing: two range filters (the top networks, 0.9..1, and the bulk, 0..0.8)
each into a pair matrix, side by side, and Selection Comparison into the
difference matrix; Parallel Coordinates brushed by hand drives a trellis
through Linked Selection.

Format: workspace version 3, processor network version 20, the version
Inviwo 0.9.11 writes (newer Inviwo upgrades it on load; an older one warns
about a newer file). Only non-default property values are written.
``InviwoSetup`` lists HPExplorer's module only: Inviwo runs a module's
workspace converters when the file lists it with a version older than the
running module (``WorkspaceManager``), and these networks set no property
whose format Inviwo's own modules have converted since.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from hpcore.data.nws import METRIC
from hpcore.data.synthetic import COLUMNS

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE / "hyperparameter-analysis.inv"
COMPARISON = HERE / "comparison.inv"
#: Processor network version written (Inviwo 0.9.11's).
NETWORK_VERSION = "20"
OURS = "org.hpexplorer."
#: Parameters of the built-in ensemble (Ensemble Source with an empty File),
#: the options the trellis' Primary and Secondary are filled with.
BUILTIN_PARAMETERS = tuple(c for c in COLUMNS if c != METRIC)
STEP = 225  # horizontal distance between pipeline stages
#: Class identifier of a Parallel Coordinates axis (``pcpaxissettings.cpp``).
PCP_AXIS = "org.inviwo.parallelcoordinates.axissettingsproperty"
#: Columns without an axis in Parallel Coordinates: Inviwo's row index, the
#: raw metric (its normalized form has one) and the parameters beyond the
#: paper's seven, so that eight axes share the canvas readably.
PCP_HIDDEN = [
    "index",
    METRIC,
    "filter_size",
    "depth_conv",
    "depth_fc",
    "width_conv",
    "width_fc",
]
PCP_CANVAS = (1400, 560)


@dataclass
class Node:
    identifier: str
    type: str
    display: str
    x: int
    y: int
    properties: list[ET.Element] = field(default_factory=list)
    canvas: tuple[int, int] | None = None


def _content(parent: ET.Element, tag: str, value: str) -> ET.Element:
    return ET.SubElement(parent, tag, {"content": value})


def string_property(identifier: str, value: str) -> ET.Element:
    prop = ET.Element(
        "Property", {"type": "org.inviwo.StringProperty", "identifier": identifier}
    )
    _content(prop, "value", value)
    return prop


def minmax_property(identifier: str, lo: float, hi: float) -> ET.Element:
    prop = ET.Element(
        "Property", {"type": "org.inviwo.FloatMinMaxProperty", "identifier": identifier}
    )
    ET.SubElement(prop, "value", {"x": f"{lo:g}", "y": f"{hi:g}"})
    return prop


def option_property(
    identifier: str, options: list[tuple[str, str]], selected: str
) -> ET.Element:
    """An ``OptionPropertyString`` whose options differ from the default:
    Inviwo writes the option list and the selected identifier."""
    prop = ET.Element(
        "Property",
        {"type": "org.inviwo.OptionPropertyString", "identifier": identifier},
    )
    listed = ET.SubElement(prop, "options")
    for option_id, name in options:
        option = ET.SubElement(listed, "option")
        _content(option, "id", option_id)
        _content(option, "name", name)
        _content(option, "value", option_id)
    _content(prop, "selectedIdentifier", selected)
    return prop


def selected_option(identifier: str, selected: str) -> ET.Element:
    """An ``OptionPropertyString`` with its default options and another
    selection: Inviwo writes the selected identifier only."""
    prop = ET.Element(
        "Property",
        {"type": "org.inviwo.OptionPropertyString", "identifier": identifier},
    )
    _content(prop, "selectedIdentifier", selected)
    return prop


def pcp_axes(hidden: list[str]) -> ET.Element:
    """Parallel Coordinates' ``axisProps_`` with the ``hidden`` columns' axes
    unchecked.

    The processor makes one axis property per DataFrame column when data
    arrives and keeps one it finds with the column's identifier; these are
    written as owned properties, so loading creates them (through the
    property factory) before the data comes, unchecked.
    """
    prop = ET.Element(
        "Property", {"type": "org.inviwo.CompositeProperty", "identifier": "axisProps_"}
    )
    owned = ET.SubElement(prop, "OwnedPropertyIdentifiers")
    for column in hidden:
        _content(owned, "PropertyIdentifier", column)
    props = ET.SubElement(prop, "Properties")
    for column in hidden:
        axis = ET.SubElement(
            props, "Property", {"type": PCP_AXIS, "identifier": column}
        )
        inner = ET.SubElement(axis, "Properties")
        checked = ET.SubElement(
            inner,
            "Property",
            {"type": "org.inviwo.BoolProperty", "identifier": "checked"},
        )
        _content(checked, "value", "0")
    return prop


def composite(identifier: str, kind: str, children: list[ET.Element]) -> ET.Element:
    """A composite property (``kind``) with some of its children set."""
    prop = ET.Element("Property", {"type": kind, "identifier": identifier})
    ET.SubElement(prop, "Properties").extend(children)
    return prop


def value_property(identifier: str, kind: str, value: str) -> ET.Element:
    prop = ET.Element("Property", {"type": kind, "identifier": identifier})
    _content(prop, "value", value)
    return prop


def pcp_style() -> list[ET.Element]:
    """Parallel Coordinates' text and lines, sized for eight axes on its
    canvas: option labels at 14 px instead of 20 fit between the axes,
    thinner lines (2 px instead of 7) keep 13,000 networks apart."""
    font = "org.inviwo.FontProperty"
    size = "org.inviwo.IntProperty"
    return [
        composite("captions", font, [value_property("fontSize", size, "18")]),
        composite("labels", font, [value_property("fontSize", size, "14")]),
        composite(
            "lines",
            "org.inviwo.CompositeProperty",
            [value_property("lineWidth", "org.inviwo.FloatProperty", "2")],
        ),
    ]


def _source_and_normalization(s: int) -> list[Node]:
    return [
        Node("EnsembleSource", OURS + "EnsembleSource", "Ensemble Source", 0, 100),
        Node(
            "MetricNormalization",
            OURS + "MetricNormalization",
            "Metric Normalization",
            s,
            100,
        ),
    ]


def _parallel_coordinates(x: int, y: int, canvas_x: int) -> list[Node]:
    return [
        Node(
            "BrushingAndLinking",
            "org.inviwo.BrushingAndLinkingProcessor",
            "Brushing And Linking",
            x - STEP,
            y,
        ),
        Node(
            "ParallelCoordinates",
            "org.inviwo.ParallelCoordinates",
            "Parallel Coordinates",
            x,
            y,
            [pcp_axes(PCP_HIDDEN), *pcp_style()],
        ),
        Node(
            "ParallelCoordinatesCanvas",
            "org.inviwo.CanvasGL",
            "Parallel Coordinates",
            canvas_x,
            y,
            canvas=PCP_CANVAS,
        ),
    ]


Network = tuple[list[Node], list[tuple[str, str]], list[tuple[str, str]]]


def _both_ways(a: str, b: str) -> list[tuple[str, str]]:
    return [(a, b), (b, a)]


def network() -> Network:
    """The analysis workspace: processors, connections (``proc.port``) and
    property links (``proc.prop``)."""
    params = [(p, p) for p in BUILTIN_PARAMETERS]
    s = STEP
    nodes = [
        *_source_and_normalization(s),
        Node(
            "MetricRangeFilter",
            OURS + "MetricRangeFilter",
            "Metric Range Filter",
            2 * s,
            100,
            [string_property("where", "dataset = cifar10 | stl10")],
        ),
        *_parallel_coordinates(2 * s, 450, 3 * s),
        Node(
            "DataFrameTable", "org.inviwo.DataFrameTable", "DataFrame Table", 3 * s, 600
        ),
        Node(
            "ParameterPairCounter",
            OURS + "ParameterPairCounter",
            "Parameter Pair Counter",
            3 * s,
            175,
        ),
        Node(
            "TrellisAggregator",
            OURS + "TrellisAggregator",
            "Trellis Aggregator",
            3 * s,
            300,
            [
                option_property("primary", params, "optimizer"),
                option_property(
                    "secondary", [("none", "(none)"), *params], "batch_size"
                ),
            ],
        ),
        Node(
            "MetricHistogramPlot",
            OURS + "MetricHistogramPlot",
            "Metric Histogram Plot",
            4 * s,
            25,
        ),
        Node(
            "PairMatrixPlot",
            OURS + "PairMatrixPlot",
            "Pair Matrix Plot",
            4 * s,
            175,
            [string_property("where", "dataset = cifar10 | stl10")],
        ),
        Node(
            "TrellisPlot",
            OURS + "TrellisPlot",
            "Trellis Plot",
            4 * s,
            300,
            [option_property("primary", params, "optimizer")],
        ),
        Node(
            "HistogramCanvas",
            "org.inviwo.CanvasGL",
            "Metric Histogram",
            5 * s,
            25,
            canvas=(1000, 420),
        ),
        Node(
            "PairMatrixCanvas",
            "org.inviwo.CanvasGL",
            "Pair Matrix",
            5 * s,
            125,
            canvas=(900, 800),
        ),
        Node("ImagePlot", "org.inviwo.ImagePlotProcessor", "Image Plot", 5 * s, 225),
        Node(
            "TrellisCanvas",
            "org.inviwo.CanvasGL",
            "Trellis",
            5 * s,
            325,
            canvas=(1400, 600),
        ),
        Node(
            "HeatMapCanvas",
            "org.inviwo.CanvasGL",
            "Heat Map",
            6 * s,
            225,
            canvas=(500, 500),
        ),
    ]
    connections = [
        ("EnsembleSource.ensemble", "MetricNormalization.ensemble"),
        ("MetricNormalization.normalized", "MetricRangeFilter.ensemble"),
        ("MetricNormalization.normalized", "ParameterPairCounter.ensemble"),
        ("MetricNormalization.normalized", "TrellisAggregator.ensemble"),
        ("MetricNormalization.normalized", "MetricHistogramPlot.ensemble"),
        ("MetricRangeFilter.selection", "ParameterPairCounter.selection"),
        ("MetricRangeFilter.selection", "TrellisAggregator.selection"),
        ("MetricRangeFilter.selection", "MetricHistogramPlot.selection"),
        ("ParameterPairCounter.counts", "PairMatrixPlot.counts"),
        ("TrellisAggregator.trellis", "TrellisPlot.trellis"),
        ("MetricHistogramPlot.outport", "HistogramCanvas.inport"),
        ("PairMatrixPlot.outport", "PairMatrixCanvas.inport"),
        ("TrellisPlot.outport", "TrellisCanvas.inport"),
        ("PairMatrixPlot.heatmap", "ImagePlot.image"),
        ("ImagePlot.outport", "HeatMapCanvas.inport"),
        ("MetricNormalization.dataframe", "ParallelCoordinates.dataFrame"),
        ("MetricRangeFilter.selected", "DataFrameTable.inport"),
        ("BrushingAndLinking.outport", "MetricRangeFilter.brushing"),
        ("BrushingAndLinking.outport", "ParallelCoordinates.brushingAndLinking"),
        ("ParallelCoordinates.outport", "ParallelCoordinatesCanvas.inport"),
    ]
    links = [
        *_both_ways("MetricRangeFilter.range", "MetricHistogramPlot.range"),
        *_both_ways("MetricRangeFilter.where", "PairMatrixPlot.where"),
        *_both_ways("TrellisAggregator.primary", "TrellisPlot.primary"),
    ]
    return nodes, connections, links


def comparison_network() -> Network:
    """The comparison workspace (see the module's docstring)."""
    params = [(p, p) for p in BUILTIN_PARAMETERS]
    s = STEP
    nodes = [*_source_and_normalization(s)]
    connections = [("EnsembleSource.ensemble", "MetricNormalization.ensemble")]
    for row, (name, title, lo, hi) in enumerate(
        [
            ("Top", "Top networks", 0.9, 1.0),
            ("Bulk", "The bulk", 0.0, 0.8),
        ]
    ):
        y = 25 + 150 * row
        action = "select" if name == "Top" else "none"
        nodes += [
            Node(
                f"{name}Filter",
                OURS + "MetricRangeFilter",
                f"{title} ({lo:g}..{hi:g})",
                2 * s,
                y,
                [
                    minmax_property("range", lo, hi),
                    selected_option("brushAction", action),
                ],
            ),
            Node(
                f"{name}Counter",
                OURS + "ParameterPairCounter",
                f"{title}: pair counts",
                3 * s,
                y,
            ),
            Node(
                f"{name}Matrix",
                OURS + "PairMatrixPlot",
                f"{title}: pair matrix",
                5 * s,
                y,
                [
                    string_property(
                        "title", f"{title}: normalized metric in {lo:g}..{hi:g}"
                    )
                ],
            ),
            Node(
                f"{name}Canvas",
                "org.inviwo.CanvasGL",
                f"{title}",
                6 * s,
                y,
                canvas=(800, 720),
            ),
        ]
        connections += [
            ("MetricNormalization.normalized", f"{name}Filter.ensemble"),
            ("MetricNormalization.normalized", f"{name}Counter.ensemble"),
            (f"{name}Filter.selection", f"{name}Counter.selection"),
            (f"{name}Counter.counts", f"{name}Matrix.counts"),
            (f"{name}Matrix.outport", f"{name}Canvas.inport"),
        ]
    nodes += [
        Node(
            "Comparison",
            OURS + "SelectionComparison",
            "Selection Comparison",
            4 * s,
            325,
        ),
        Node(
            "DifferenceMatrix",
            OURS + "PairMatrixPlot",
            "Difference matrix",
            5 * s,
            325,
            [
                selected_option("colour", "difference"),
                string_property(
                    "title", "Top networks (0.9..1) against the bulk (0..0.8)"
                ),
            ],
        ),
        Node(
            "DifferenceCanvas",
            "org.inviwo.CanvasGL",
            "Difference",
            6 * s,
            325,
            canvas=(800, 720),
        ),
        *_parallel_coordinates(2 * s, 500, 3 * s),
        Node(
            "LinkedSelection",
            OURS + "LinkedSelection",
            "Linked Selection",
            3 * s,
            600,
        ),
        Node(
            "LinkedTrellisAggregator",
            OURS + "TrellisAggregator",
            "Trellis of the linked selection",
            4 * s,
            600,
            [
                option_property("primary", params, "optimizer"),
                option_property("secondary", [("none", "(none)"), *params], "none"),
            ],
        ),
        Node(
            "LinkedTrellisPlot",
            OURS + "TrellisPlot",
            "Trellis Plot",
            5 * s,
            600,
            [option_property("primary", params, "optimizer")],
        ),
        Node(
            "LinkedTrellisCanvas",
            "org.inviwo.CanvasGL",
            "Trellis of the networks brushed in Parallel Coordinates",
            6 * s,
            600,
            canvas=(1400, 600),
        ),
    ]
    connections += [
        ("MetricNormalization.normalized", "Comparison.ensemble"),
        ("TopFilter.selection", "Comparison.selection"),
        ("BulkFilter.selection", "Comparison.reference"),
        ("Comparison.comparison", "DifferenceMatrix.counts"),
        ("DifferenceMatrix.outport", "DifferenceCanvas.inport"),
        ("MetricNormalization.dataframe", "ParallelCoordinates.dataFrame"),
        ("BrushingAndLinking.outport", "TopFilter.brushing"),
        ("BrushingAndLinking.outport", "ParallelCoordinates.brushingAndLinking"),
        ("BrushingAndLinking.outport", "LinkedSelection.brushing"),
        ("ParallelCoordinates.outport", "ParallelCoordinatesCanvas.inport"),
        ("MetricNormalization.normalized", "LinkedSelection.ensemble"),
        ("MetricNormalization.normalized", "LinkedTrellisAggregator.ensemble"),
        ("LinkedSelection.selection", "LinkedTrellisAggregator.selection"),
        ("LinkedTrellisAggregator.trellis", "LinkedTrellisPlot.trellis"),
        ("LinkedTrellisPlot.outport", "LinkedTrellisCanvas.inport"),
    ]
    links = [
        *_both_ways("TopFilter.where", "BulkFilter.where"),
        *_both_ways("TopFilter.where", "TopMatrix.where"),
        *_both_ways("BulkFilter.where", "BulkMatrix.where"),
        *_both_ways("LinkedTrellisAggregator.primary", "LinkedTrellisPlot.primary"),
    ]
    return nodes, connections, links


def _processor(parent: ET.Element, node: Node) -> None:
    proc = ET.SubElement(
        parent,
        "Processor",
        {"type": node.type, "identifier": node.identifier, "displayName": node.display},
    )
    ET.SubElement(proc, "PortGroups")
    props = ET.SubElement(proc, "Properties")
    props.extend(node.properties)
    meta = ET.SubElement(proc, "MetaDataMap")
    item = ET.SubElement(
        meta,
        "MetaDataItem",
        {"type": "org.inviwo.ProcessorMetaData", "key": "org.inviwo.ProcessorMetaData"},
    )
    ET.SubElement(item, "position", {"x": str(node.x), "y": str(node.y)})
    _content(item, "visibility", "1")
    _content(item, "selection", "0")
    if node.canvas is not None:
        widget = ET.SubElement(
            meta,
            "MetaDataItem",
            {
                "type": "org.inviwo.ProcessorWidgetMetaData",
                "key": "org.inviwo.ProcessorWidgetMetaData",
            },
        )
        ET.SubElement(
            widget, "position", {"x": str(100 + node.x), "y": str(100 + node.y)}
        )
        ET.SubElement(
            widget, "dimensions", {"x": str(node.canvas[0]), "y": str(node.canvas[1])}
        )
        _content(widget, "visibility", "1")
        _content(widget, "fullScreen", "0")
        _content(widget, "onTop", "0")


def render(
    build: Callable[[], Network] = network,
    title: str = "HPExplorer: impact of neural-network hyper-parameters",
) -> str:
    """The XML of the workspace ``build`` describes, deterministic."""
    nodes, connections, links = build()
    root = ET.Element("InviwoWorkspace", {"version": "3"})
    modules = ET.SubElement(ET.SubElement(root, "InviwoSetup"), "Modules")
    ours = ET.SubElement(
        ET.SubElement(modules, "Module", {"name": "HPExplorer", "version": "0"}),
        "Processors",
    )
    for type_id in sorted({n.type for n in nodes if n.type.startswith(OURS)}):
        _content(ours, "Processor", type_id)
    net = ET.SubElement(root, "ProcessorNetwork")
    _content(net, "ProcessorNetworkVersion", NETWORK_VERSION)
    procs = ET.SubElement(net, "Processors")
    for node in nodes:
        _processor(procs, node)
    conns = ET.SubElement(net, "Connections")
    for src, dst in connections:
        ET.SubElement(conns, "Connection", {"src": src, "dst": dst})
    plinks = ET.SubElement(net, "PropertyLinks")
    for src, dst in links:
        ET.SubElement(plinks, "PropertyLink", {"src": src, "dst": dst})
    ET.SubElement(root, "PortInspectors")
    notes = ET.SubElement(ET.SubElement(root, "WorkspaceAnnotations"), "Properties")
    notes.append(string_property("title", title))
    notes.append(string_property("author", "HPExplorer"))
    notes.append(string_property("tags", "PY, HPExplorer, DataFrame, Brushing"))
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8" ?>\n' + body + "\n"


def without(workspace: Path, drop: Collection[str], folder: Path) -> Path:
    """A copy of ``workspace`` in ``folder`` without the processors whose
    identifiers are in ``drop``, and without their connections and links
    (e.g. for Inviwo's GLFW runner, which has no Qt processors)."""
    tree = ET.parse(workspace)
    net = tree.getroot().find("ProcessorNetwork")
    assert net is not None
    for group in ("Processors", "Connections", "PropertyLinks"):
        parent = net.find(group)
        if parent is None:
            continue
        for item in list(parent):
            ends = {item.get("identifier", "")} | {
                item.get(end, "").split(".")[0] for end in ("src", "dst")
            }
            if ends & set(drop):
                parent.remove(item)
    copy = folder / workspace.name
    tree.write(copy, encoding="utf-8", xml_declaration=True)
    return copy


#: Each workspace file and the network it holds.
WORKSPACES: dict[Path, tuple[Callable[[], Network], str]] = {
    WORKSPACE: (network, "HPExplorer: impact of neural-network hyper-parameters"),
    COMPARISON: (
        comparison_network,
        "HPExplorer: comparing selections, and brushing in Parallel Coordinates",
    ),
}


def main() -> int:
    for path, (build, title) in WORKSPACES.items():
        path.write_text(render(build, title), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
