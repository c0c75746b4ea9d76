# Name: PairMatrixPlot

import inviwopy as ivw

from hpcore import inviwo_bridge as bridge

COLOURS = [
    ("enrichment", "Enrichment over chance"),
    ("count", "Count (the paper's)"),
    ("difference", "Difference of shares (Selection Comparison)"),
]
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
    Benjamini-Hochberg over all cells). Fed by Selection Comparison, it shows
    the difference matrix: how much more (blue) or less (red) common each
    pair is in the selection than in the reference, in percentage points,
    a dot where the shares differ at q < 0.05 (Fisher's exact test).

    **Click a cell** to keep only networks with that pair of options; click
    it again to remove the filter. The filter is this processor's __Option
    Filter__, linked both ways with Metric Range Filter's. **Hover a cell**
    for its count, expected count, enrichment, p and q. A brush recolours
    the cells over the kept labels, so it keeps up with the mouse.

    The **heatmap** outport holds the bare counts, one pixel per cell (the
    lower triangle, upper triangle transparent), for Inviwo's Image Plot.

    ### Inports
      * __counts__ pair statistics (pandas DataFrame) from Parameter Pair
        Counter, or a comparison from Selection Comparison.

    ### Outports
      * __outport__ the labelled heat-map matrix; connect it to a Canvas.
      * __heatmap__ the matrix as a small image for Inviwo's Image Plot.

    ### Properties
      * __Title__ figure title (empty: the selection's size).
      * __Colour__ enrichment over chance, count, or the difference of
        shares (needs Selection Comparison's table).
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
        self.where = bridge.where_property()
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
            colour = self.colour.value
            if colour == "difference" and "difference" not in counts:
                raise bridge.HpcoreError(
                    "Colour 'difference' needs the table of Selection "
                    "Comparison; counts has no column 'difference' (choose "
                    "'enrichment' or 'count', or connect Selection Comparison)"
                )
            if colour == "enrichment" and "enrichment" not in counts:
                colour = "count"  # e.g. a comparison: counts of the selection
            marks = (
                counts["q_value"].to_numpy() < ALPHA if "q_value" in counts else None
            )
            selected = counts.attrs.get("selected")
            reference = counts.attrs.get("reference")
            title = self.title.value or bridge.pairs_title(selected, reference)
            style, mark_label = bridge.pair_matrix_style(colour, ALPHA)

            def draw(fig):
                return bridge.draw_pair_matrix(
                    fig,
                    counts,
                    title=title or None,
                    marks=marks,
                    mark_label=mark_label,
                    annotate=False,
                    **style,
                )

            def update(fig):
                return bridge.update_pair_matrix(fig, counts, marks=marks, title=title)

            layout = tuple(counts["param_a"].astype(str).unique()), len(counts)
            key = (layout, colour, marks is not None, bool(title))
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
