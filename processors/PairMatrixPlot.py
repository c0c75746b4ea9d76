# Name: PairMatrixPlot

import inviwopy as ivw
import pandas as pd

from hpcore import inviwo_bridge as bridge
from hpcore import views as render


class PairMatrixPlot(ivw.Processor):
    """
    The paper's parameter combination overview (Fig. 3): a heat-map matrix
    with one block per pair of parameters and one cell per pair of options,
    coloured by how many selected networks have both options (a perceptually
    ordered ColorBrewer map, YlGnBu). Drawn with matplotlib into an image the
    size of the canvas it is connected to.

    The **heatmap** outport holds the bare matrix, one pixel per cell (the
    lower triangle, upper triangle transparent), for Inviwo's Image Plot.

    ### Inports
      * __counts__ pair counts (pandas DataFrame) from Parameter Pair Counter.

    ### Outports
      * __outport__ the labelled heat-map matrix; connect it to a Canvas.
      * __heatmap__ the matrix as a small image for Inviwo's Image Plot.

    ### Properties
      * __Title__ figure title (empty: none).

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.counts = ivw.PythonInport(
            "counts", help=ivw.md2doc("Pair counts from Parameter Pair Counter.")
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
            "title",
            "Title",
            help=ivw.md2doc("Figure title."),
            value="Option pairs of the selected networks",
        )
        self.addProperty(self.title, owner=False)

    @staticmethod
    def processorInfo():
        return bridge.processor_info(PairMatrixPlot, "Pair Matrix Plot")

    def getProcessorInfo(self):
        return PairMatrixPlot.processorInfo()

    def process(self):
        with bridge.reporting(self, self.outport, self.heatmap):
            counts = bridge.expect(self.counts.getData(), pd.DataFrame, "counts")
            size = bridge.canvas_pixels(self.outport)
            fig = render.draw_pair_matrix(
                counts,
                title=self.title.value or None,
                fig=render.figure_for_pixels(*size),
            )
            self.outport.setData(bridge.figure_to_image(fig, size))
            self.heatmap.setData(
                bridge.rgba_to_image(bridge.pair_heatmap_rgba(counts), nearest=True)
            )
