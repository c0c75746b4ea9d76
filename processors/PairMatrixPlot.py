# Name: PairMatrixPlot

import inviwopy as ivw

from hpcore import inviwo_bridge as bridge

COLOURS = [
    ("enrichment", "Enrichment over chance"),
    ("count", "Count (the paper's)"),
]
#: The enrichment scale ends at x4 and x1/4 (log2 = 2): fixed, so a brush
#: redraws only the cells.
ENRICHMENT_LIMIT = 2.0
#: q-value under which a cell is marked with a dot.
ALPHA = 0.05


class PairMatrixPlot(ivw.Processor):
    """
    The paper's parameter combination overview (Fig. 3): a heat-map matrix
    with one block per pair of parameters and one cell per pair of options.
    Cells are coloured by how many more (blue) or fewer (red) selected
    networks have both options than chance predicts, or by the count of
    selected networks (the paper's YlGnBu map); a dot marks the cells whose
    count differs from chance at q < 0.05 (exact hypergeometric test,
    Benjamini-Hochberg over all cells).

    **Click a cell** to keep only networks with that pair of options; click
    it again to remove the filter. The filter is this processor's __Option
    Filter__, linked both ways with Metric Range Filter's. **Hover a cell**
    for its count, expected count, enrichment, p and q. A brush recolours
    the cells over the kept labels, so it keeps up with the mouse.

    The **heatmap** outport holds the bare counts, one pixel per cell (the
    lower triangle, upper triangle transparent), for Inviwo's Image Plot.

    ### Inports
      * __counts__ pair statistics (pandas DataFrame) from Parameter Pair
        Counter.

    ### Outports
      * __outport__ the labelled heat-map matrix; connect it to a Canvas.
      * __heatmap__ the matrix as a small image for Inviwo's Image Plot.

    ### Properties
      * __Title__ figure title (empty: the selection's size).
      * __Colour__ enrichment over chance or count.
      * __Option Filter__ one `parameter = option | option` per line; link it
        with Metric Range Filter's __Option Filter__ (both ways).

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.counts = ivw.PythonInport(
            "counts", help=ivw.md2doc("Pair statistics from Parameter Pair Counter.")
        )
        self.addInport(self.counts, owner=False)
        self.outport = ivw.data.ImageOutport(
            "outport", help=ivw.md2doc("The heat-map matrix, sized to the canvas.")
        )
        self.addOutport(self.outport, owner=False)
        self.heatmap = ivw.data.ImageOutport(
            "heatmap", help=ivw.md2doc("One pixel per cell, for Image Plot.")
        )
        self.heatmap.setHandleResizeEvents(False)
        self.addOutport(self.heatmap, owner=False)
        self.title = ivw.properties.StringProperty(
            "title", "Title", help=ivw.md2doc("Figure title."), value=""
        )
        self.colour = ivw.properties.OptionPropertyString(
            "colour",
            "Colour",
            help=ivw.md2doc("What colours the cells."),
            options=[ivw.properties.StringOption(i, n, i) for i, n in COLOURS],
        )
        self.where = ivw.properties.StringProperty(
            "where",
            "Option Filter",
            help=ivw.md2doc("One `parameter = option | option` per line."),
            value="",
        )
        self.where.semantics = ivw.properties.PropertySemantics.Multiline
        self.addProperties([self.title, self.colour, self.where])
        self._plot = bridge.LivePlot("pairs")
        self._counts = None
        self._press = None

    @staticmethod
    def processorInfo():
        return bridge.processor_info(PairMatrixPlot, "Pair Matrix Plot")

    def getProcessorInfo(self):
        return PairMatrixPlot.processorInfo()

    def process(self):
        with bridge.reporting(self, self.outport, self.heatmap):
            counts = bridge.expect_frame(self.counts.getData(), "counts")
            self._counts = counts
            size = bridge.canvas_pixels(self.outport)
            enrichment = self.colour.value == "enrichment" and "enrichment" in counts
            marks = (
                counts["q_value"].to_numpy() < ALPHA if "q_value" in counts else None
            )
            selected = counts.attrs.get("selected")
            title = self.title.value or (
                f"{selected:,} networks selected" if selected is not None else ""
            )
            style = (
                {"value": "enrichment", "scale": "log2", "limit": ENRICHMENT_LIMIT}
                if enrichment
                else {"value": "count"}
            )

            def draw(fig):
                return bridge.draw_pair_matrix(
                    fig,
                    counts,
                    title=title or None,
                    marks=marks,
                    mark_label=f"q < {ALPHA:g}: more or fewer networks than chance",
                    annotate=False,
                    **style,
                )

            def update(fig):
                return bridge.update_pair_matrix(fig, counts, marks=marks, title=title)

            layout = tuple(counts["param_a"].astype(str).unique()), len(counts)
            key = (layout, enrichment, marks is not None, bool(title))
            self.outport.setData(self._plot.image(key, size, draw, update))
            self.heatmap.setData(
                bridge.rgba_to_image(bridge.pair_heatmap_rgba(counts), nearest=True)
            )

    def invokeEvent(self, event):
        m = bridge.mouse(event)
        if m is None:
            ivw.Processor.invokeEvent(self, event)
            return
        cell = bridge.cell_under(self._plot, m)
        if m.kind == "press" and m.left:
            self._press = cell
            if cell is not None:
                event.markAsUsed()
        elif m.kind == "release" and self._press is not None:
            if cell == self._press:  # a click, not a drag across cells
                self.where.value = bridge.toggle_pair(self.where.value, *cell)
            self._press = None
            event.markAsUsed()
        elif m.kind == "move" and not m.held and cell and self._counts is not None:
            event.setToolTip(bridge.pair_tooltip(self._counts, *cell))
