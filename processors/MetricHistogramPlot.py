# Name: MetricHistogramPlot

import inviwopy as ivw
from inviwopy.properties import ConstraintBehavior as cb

import hpcore
from hpcore import inviwo_bridge as bridge
from hpcore import views as render


class MetricHistogramPlot(ivw.Processor):
    """
    The paper's overview (Fig. 2): a histogram of the metric stacked by
    group (data set), next to the histogram of the per-group normalized
    metric with the selected range shaded. Drawn with matplotlib into an
    image the size of the canvas it is connected to (resize the canvas to
    redraw).

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
        self._cached = None

    def _histograms(self, ens, bins):
        """Both histograms of all rows, counted once per ensemble and bin count
        (a brush only moves the shaded range)."""
        cached = self._cached
        if cached is None or cached[0] is not ens or cached[1] != bins:
            raw = hpcore.histogram(ens, bins=bins)
            normalized = hpcore.histogram(ens, bins=bins, normalized=True)
            self._cached = cached = (ens, bins, raw, normalized)
        return cached[2], cached[3]

    @staticmethod
    def processorInfo():
        return bridge.processor_info(MetricHistogramPlot, "Metric Histogram Plot")

    def getProcessorInfo(self):
        return MetricHistogramPlot.processorInfo()

    def process(self):
        with bridge.reporting(self, self.outport):
            ens = bridge.expect(self.ensemble.getData(), hpcore.Ensemble, "ensemble")
            selection = None
            if self.selectionInport.hasData():
                selection = bridge.expect(
                    self.selectionInport.getData(), hpcore.Selection, "selection"
                )
            size = bridge.canvas_pixels(self.outport)
            raw, normalized = self._histograms(ens, self.bins.value)
            fig = render.draw_histogram(
                raw,
                normalized,
                selected_range=(
                    bridge.range_value(self.range.value) if self.shade.value else None
                ),
                metric=ens.metric,
                group=ens.group,
                normalization=ens.normalization,
                selected_count=None if selection is None else selection.count,
                fig=render.figure_for_pixels(*size),
            )
            self.outport.setData(bridge.figure_to_image(fig, size))
