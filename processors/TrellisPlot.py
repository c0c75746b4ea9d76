# Name: TrellisPlot

import inviwopy as ivw
from inviwopy.properties import ConstraintBehavior as cb

from hpcore import inviwo_bridge as bridge


class TrellisPlot(ivw.Processor):
    """
    The paper's parameter combination details (Fig. 4), after Becker's
    barley trellis: one column of panels per parameter, one row per option
    of the primary parameter; in each panel the mean metric per option, the
    secondary parameter as colour and marker, with 95% confidence bars.
    Lines join the means of ordered options (numbers, bins) only.

    **Click a column's title** to make that parameter the primary (this
    processor's __Primary__, linked with Trellis Aggregator's). **Hover a
    marker** for its mean, interval and number of networks. A brush moves
    only the markers over the kept panels (the value axis stays until the
    means leave it), so it keeps up with the mouse.

    ### Inports
      * __trellis__ trellis table (pandas DataFrame) from Trellis Aggregator.

    ### Outports
      * __outport__ the image; connect it to a Canvas.

    ### Properties
      * __Lines__ join the means of ordered options.
      * __Few Networks__ cells with fewer networks get open markers.
      * __Primary__ the primary parameter; link it with Trellis Aggregator's
        __Primary__ (both ways).

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
            value=bridge.LOW_COUNT,
            min=(0, cb.Immutable),
            max=(1000, cb.Ignore),
            increment=1,
        )
        self.primary = ivw.properties.OptionPropertyString(
            "primary",
            "Primary",
            help=ivw.md2doc("Parameter of the panel rows (click a column title)."),
            options=[],
        )
        self.addProperties([self.lines, self.lowCount, self.primary])
        self._plot = bridge.LivePlot("trellis")
        self._table = None
        self._limits = None
        self._press = None

    @staticmethod
    def processorInfo():
        return bridge.processor_info(TrellisPlot, "Trellis Plot")

    def getProcessorInfo(self):
        return TrellisPlot.processorInfo()

    def process(self):
        with bridge.reporting(self, self.outport):
            table = bridge.expect_frame(self.inport.getData(), "trellis")
            self._table = table
            meta = table.attrs
            value = meta.get("value_label", meta.get("value", "normalized"))
            choices = meta.get("parameters")
            if choices:
                bridge.set_choices(self.primary, list(choices))
            size = bridge.canvas_pixels(self.outport)
            # the value axis follows the means, but not at every step of a drag
            limits = bridge.sticky_limits(self._limits, table)
            self._limits = limits

            def draw(fig):
                return bridge.draw_trellis(
                    fig,
                    table,
                    value_label=f"mean {value}",
                    primary_name=meta.get("primary"),
                    secondary_name=meta.get("secondary"),
                    low_count=self.lowCount.value,
                    lines=self.lines.value,
                    value_limits=limits,
                )

            def update(fig):
                return bridge.update_trellis(fig, table)

            panels = (
                tuple(table["parameter"].astype(str).unique()),
                tuple(table["primary"].astype(str).unique()),
                meta.get("primary"),
                meta.get("secondary"),
                len(table),
            )
            key = (panels, limits, self.lines.value, self.lowCount.value)
            self.outport.setData(self._plot.image(key, size, draw, update))

    def invokeEvent(self, event):
        m = bridge.mouse(event)
        if m is None:
            ivw.Processor.invokeEvent(self, event)
            return
        if m.kind == "press" and m.left:
            self._press = bridge.title_under(self._plot, m)
            if self._press is not None:
                event.markAsUsed()
        elif m.kind == "release" and self._press is not None:
            if bridge.title_under(self._plot, m) == self._press:
                bridge.choose(self.primary, self._press)
            self._press = None
            event.markAsUsed()
        elif m.kind == "move" and not m.held and self._table is not None:
            found = bridge.marker_under(self._plot, m)
            if found is not None:
                event.setToolTip(bridge.trellis_tooltip(self._table, *found))
