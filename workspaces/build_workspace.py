"""Write ``workspaces/hyperparameter-analysis.inv``, HPExplorer's Inviwo network.

Run ``python workspaces/build_workspace.py`` after changing the network; the
output is deterministic and ``tests/test_workspace.py`` checks that the
committed file is exactly what this script writes.

The network (pipeline order left to right, as in DESIGN.md's diagram):

- Ensemble Source (the built-in synthetic ensemble: its File is empty) ->
  Metric Normalization -> Metric Range Filter (CIFAR-10 and STL-10, as the
  paper selects) -> Parameter Pair Counter and Trellis Aggregator (primary
  optimizer, secondary batch size: the paper's Fig. 4) -> Metric Histogram
  Plot, Pair Matrix Plot and Trellis Plot, each into its own canvas;
- the pair matrix's bare heat map -> Inviwo's Image Plot -> a canvas;
- the normalized table -> Inviwo's Parallel Coordinates (-> a canvas) and
  DataFrame Table, both linked through a Brushing And Linking processor, which
  also receives the range filter's selection;
- the range filter's Normalized Range linked both ways with the histogram
  plot's Shaded Range.

Format: workspace version 3, processor network version 21 (INVIWO.md section
6, ``inviwo/modules`` ``molvis/gaussian/data/workspaces/benzene.inv``); only
non-default property values are written. ``InviwoSetup`` lists HPExplorer's
module only: Inviwo runs a module's workspace converters when the file lists
it with a version older than the running module (``WorkspaceManager``), and
this network sets no property of Inviwo's own processors, so listing them
could only cause needless conversions.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from hpcore.data.nws import METRIC
from hpcore.data.synthetic import COLUMNS

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE / "hyperparameter-analysis.inv"
OURS = "org.hpexplorer."
#: Parameters of the built-in ensemble (Ensemble Source with an empty File),
#: the options the trellis' Primary and Secondary are filled with.
BUILTIN_PARAMETERS = tuple(c for c in COLUMNS if c != METRIC)
STEP = 225  # horizontal distance between pipeline stages


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


def network() -> tuple[list[Node], list[tuple[str, str]], list[tuple[str, str]]]:
    """Processors, connections (``proc.port``) and property links (``proc.prop``)."""
    params = [(p, p) for p in BUILTIN_PARAMETERS]
    s = STEP
    nodes = [
        Node("EnsembleSource", OURS + "EnsembleSource", "Ensemble Source", 0, 100),
        Node(
            "MetricNormalization",
            OURS + "MetricNormalization",
            "Metric Normalization",
            s,
            100,
        ),
        Node(
            "BrushingAndLinking",
            "org.inviwo.BrushingAndLinkingProcessor",
            "Brushing And Linking",
            s,
            450,
        ),
        Node(
            "MetricRangeFilter",
            OURS + "MetricRangeFilter",
            "Metric Range Filter",
            2 * s,
            100,
            [string_property("where", "dataset = cifar10 | stl10")],
        ),
        Node(
            "ParallelCoordinates",
            "org.inviwo.ParallelCoordinates",
            "Parallel Coordinates",
            2 * s,
            450,
        ),
        Node(
            "DataFrameTable", "org.inviwo.DataFrameTable", "DataFrame Table", 2 * s, 600
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
            "ParallelCoordinatesCanvas",
            "org.inviwo.CanvasGL",
            "Parallel Coordinates",
            3 * s,
            450,
            canvas=(900, 500),
        ),
        Node(
            "MetricHistogramPlot",
            OURS + "MetricHistogramPlot",
            "Metric Histogram Plot",
            4 * s,
            25,
        ),
        Node("PairMatrixPlot", OURS + "PairMatrixPlot", "Pair Matrix Plot", 4 * s, 175),
        Node("TrellisPlot", OURS + "TrellisPlot", "Trellis Plot", 4 * s, 300),
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
        ("MetricNormalization.dataframe", "DataFrameTable.inport"),
        ("BrushingAndLinking.outport", "MetricRangeFilter.brushing"),
        ("BrushingAndLinking.outport", "ParallelCoordinates.brushingAndLinking"),
        ("BrushingAndLinking.outport", "DataFrameTable.brushingAndLinking"),
        ("ParallelCoordinates.outport", "ParallelCoordinatesCanvas.inport"),
    ]
    links = [
        ("MetricRangeFilter.range", "MetricHistogramPlot.range"),
        ("MetricHistogramPlot.range", "MetricRangeFilter.range"),
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


def render() -> str:
    """The workspace XML, deterministic."""
    nodes, connections, links = network()
    root = ET.Element("InviwoWorkspace", {"version": "3"})
    modules = ET.SubElement(ET.SubElement(root, "InviwoSetup"), "Modules")
    ours = ET.SubElement(
        ET.SubElement(modules, "Module", {"name": "HPExplorer", "version": "0"}),
        "Processors",
    )
    for type_id in sorted({n.type for n in nodes if n.type.startswith(OURS)}):
        _content(ours, "Processor", type_id)
    net = ET.SubElement(root, "ProcessorNetwork")
    _content(net, "ProcessorNetworkVersion", "21")
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
    notes.append(
        string_property(
            "title", "HPExplorer: impact of neural-network hyper-parameters"
        )
    )
    notes.append(string_property("author", "HPExplorer"))
    notes.append(string_property("tags", "PY, HPExplorer, DataFrame, Brushing"))
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8" ?>\n' + body + "\n"


def main() -> int:
    WORKSPACE.write_text(render(), encoding="utf-8")
    print(f"wrote {WORKSPACE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
