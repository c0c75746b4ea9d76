# Name: TrellisPlot

import inviwopy as ivw
import pandas as pd
from inviwopy.properties import ConstraintBehavior as cb

from hpcore import inviwo_bridge as bridge
from hpcore import views as render


class TrellisPlot(ivw.Processor):
    """
    The paper's parameter combination details (Fig. 4), after Becker's
    barley trellis: one panel per parameter (columns) and primary option
    (rows), the parameter's options along x and the mean metric along y; the
    secondary parameter's options are colours and marker shapes side by
    side. Cells with few networks get open markers. Drawn with matplotlib
    into an image the size of the canvas it is connected to.

    ### Inports
      * __trellis__ the trellis table (pandas DataFrame) from Trellis
        Aggregator.

    ### Outports
      * __outport__ the trellis; connect it to a Canvas.

    ### Properties
      * __Lines__ join a secondary option's means across the options.
      * __Few Networks__ cells with fewer networks get open markers (0: off).

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.inport = ivw.PythonInport(
            "trellis", help=ivw.md2doc("Trellis table from Trellis Aggregator.")
        )
        self.addInport(self.inport, owner=False)
        self.outport = ivw.data.ImageOutport(
            "outport", help=ivw.md2doc("The trellis, sized to the canvas.")
        )
        self.addOutport(self.outport, owner=False)
        self.lines = ivw.properties.BoolProperty(
            "lines", "Lines", help=ivw.md2doc("Join the means."), value=True
        )
        self.lowCount = ivw.properties.IntProperty(
            "lowCount",
            "Few Networks",
            help=ivw.md2doc("Open markers below this many networks."),
            value=render.LOW_COUNT,
            min=(0, cb.Immutable),
            max=(1000, cb.Ignore),
            increment=1,
        )
        self.addProperties([self.lines, self.lowCount])

    @staticmethod
    def processorInfo():
        return bridge.processor_info(TrellisPlot, "Trellis Plot")

    def getProcessorInfo(self):
        return TrellisPlot.processorInfo()

    def process(self):
        with bridge.reporting(self, self.outport):
            table = bridge.expect(self.inport.getData(), pd.DataFrame, "trellis")
            meta = table.attrs
            value = meta.get("value", "normalized")
            size = bridge.canvas_pixels(self.outport)
            fig = render.draw_trellis(
                table,
                value_label=f"mean {value}",
                primary_name=meta.get("primary"),
                secondary_name=meta.get("secondary"),
                low_count=self.lowCount.value,
                lines=self.lines.value,
                fig=render.figure_for_pixels(*size),
            )
            self.outport.setData(bridge.figure_to_image(fig, size))
