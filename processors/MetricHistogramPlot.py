# Name: MetricHistogramPlot

import inviwopy as ivw
from inviwopy.properties import ConstraintBehavior as cb

from hpcore import inviwo_bridge as bridge


class MetricHistogramPlot(ivw.Processor):
    """
    The paper's overview (Fig. 2): a histogram of the metric stacked by
    group (data set), next to the histogram of the per-group normalized
    metric with the selected range shaded. Drawn with matplotlib into an
    image the size of the canvas it is connected to.

    **Drag on the normalized histogram** to select a range; drag an edge of
    the shaded range to move just that end. The range is this processor's
    __Shaded Range__, linked both ways with Metric Range Filter's
    __Normalized Range__, so the matrix and the trellis follow. Hover a bar
    for its counts. A drag redraws only the shading (the bars and labels
    stay), so it keeps up with the mouse.

    ### Inports
      * __ensemble__ a normalized `hpcore.Ensemble` (Metric Normalization).
      * __selection__ (optional) an `hpcore.Selection`: its size is quoted.

    ### Outports
      * __outport__ the image; connect it to a Canvas.

    ### Properties
      * __Bins__ number of equal-width bins.
      * __Shaded Range__ the range shaded on the normalized histogram; link
        it with Metric Range Filter's __Normalized Range__ (both ways).
      * __Shade Range__ show the range.

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.ensemble = ivw.PythonInport(
            "ensemble", help=ivw.md2doc("A normalized `hpcore.Ensemble`.")
        )
        self.addInport(self.ensemble, owner=False)
        self.selectionInport = ivw.PythonInport(
            "selection", help=ivw.md2doc("An `hpcore.Selection` (optional).")
        )
        self.selectionInport.optional = True
        self.addInport(self.selectionInport, owner=False)
        self.outport = ivw.data.ImageOutport(
            "outport", help=ivw.md2doc("The histograms, sized to the canvas.")
        )
        self.addOutport(self.outport, owner=False)

        self.bins = ivw.properties.IntProperty(
            "bins",
            "Bins",
            help=ivw.md2doc("Number of equal-width bins."),
            value=20,
            min=(1, cb.Immutable),
            max=(200, cb.Editable),
            increment=1,
        )
        self.range = bridge.normalized_range_property(
            "Shaded Range", "Range on the normalized metric to shade."
        )
        self.shade = ivw.properties.BoolProperty(
            "shadeRange", "Shade Range", help=ivw.md2doc("Shade the range."), value=True
        )
        self.addProperties([self.bins, self.range, self.shade])
        self._plot = bridge.LivePlot("histogram")
        self._tables = None  # (ensemble, bins, raw, normalized)
        self._drag = None  # (start value, grabbed end or None)

    @staticmethod
    def processorInfo():
        return bridge.processor_info(MetricHistogramPlot, "Metric Histogram Plot")

    def getProcessorInfo(self):
        return MetricHistogramPlot.processorInfo()

    def _histograms(self, ens, bins):
        """Both histograms of all rows, counted once per ensemble and bin count
        (a brush only moves the shaded range)."""
        cached = self._tables
        if cached is None or cached[0] is not ens or cached[1] != bins:
            raw, normalized = bridge.histograms(ens, bins)
            self._tables = cached = (ens, bins, raw, normalized)
        return cached[2], cached[3]

    def process(self):
        with bridge.reporting(self, self.outport):
            ens = bridge.expect(self.ensemble.getData(), bridge.Ensemble, "ensemble")
            count = None
            if self.selectionInport.hasData():
                selection = bridge.expect(
                    self.selectionInport.getData(), bridge.Selection, "selection"
                )
                count = selection.count
            size = bridge.canvas_pixels(self.outport)
            raw, normalized = self._histograms(ens, self.bins.value)
            shade = self.shade.value
            shown = bridge.range_value(self.range.value) if shade else None

            def draw(fig):
                return bridge.draw_histogram(
                    fig,
                    raw=raw,
                    normalized=normalized,
                    selected_range=shown,
                    metric=ens.metric,
                    group=ens.group,
                    normalization=ens.normalization,
                    lower_is_better=ens.better == "lower",
                    selected_count=count,
                )

            def update(fig):
                return bridge.update_histogram(fig, shown, count) if shade else []

            key = (id(ens), self.bins.value, shade)
            self.outport.setData(self._plot.image(key, size, draw, update))

    def invokeEvent(self, event):
        m = bridge.mouse(event)
        if m is None:
            ivw.Processor.invokeEvent(self, event)
            return
        value = bridge.histogram_value(self._plot, m)
        current = bridge.range_value(self.range.value)
        if m.kind == "press" and m.left and value is not None:
            self._drag = (value, bridge.grab_edge(self._plot, m, current))
            event.markAsUsed()
        elif m.kind == "move" and m.held and self._drag is not None:
            now = bridge.histogram_value(self._plot, m, inside=False)
            if now is not None:
                lo, hi = bridge.drag_range(self._drag[0], now, current, self._drag[1])
                self.range.value = ivw.glm.vec2(lo, hi)
            event.markAsUsed()
        elif m.kind == "release" and self._drag is not None:
            self._drag = None
            event.markAsUsed()
        elif m.kind == "move" and not m.held and value is not None and self._tables:
            event.setToolTip(bridge.histogram_tooltip(self._tables[3], value, current))
