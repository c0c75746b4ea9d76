# Name: LinkedSelection

import inviwopy as ivw
import ivwbnl

from hpcore import inviwo_bridge as bridge

USES = [
    ("unfiltered", "Networks no linked plot filters out"),
    ("selected", "Networks selected in the linked plots"),
]


class LinkedSelection(ivw.Processor):
    """
    Turns a selection made in Inviwo's own plots into an `hpcore.Selection`,
    so that brushing the axes of Parallel Coordinates, or selecting points in
    a Scatter Plot, drives the pair matrix and the trellis: the other
    direction of Metric Range Filter's brushing.

    Connect its __brushing__ inport to the Brushing And Linking processor the
    plots use and its __selection__ outport to Parameter Pair Counter,
    Trellis Aggregator or Selection Comparison. It re-runs when the linked
    plots brush (when they only highlight it hands on the same selection),
    and never brushes itself, so it cannot feed back into the plots.

    ### Inports
      * __ensemble__ the normalized `hpcore.Ensemble` whose table the linked
        plots show (Metric Normalization's __dataframe__: row *i* is
        network *i*).
      * __brushing__ connect to a Brushing And Linking processor.

    ### Outports
      * __selection__ the `hpcore.Selection` (row mask, count; range 0..1).

    ### Properties
      * __Use__ the networks no linked plot filters out (brushing axes of
        Parallel Coordinates filters), or the selected ones among them
        (clicked lines, a Scatter Plot's rectangle).
      * __Option Filter__ one `parameter = option | option` per line, applied
        on top; empty: all options.
      * __Selected__ number of networks in the selection (read-only).

    Nothing selected (with __Use__ = selected) or an empty result is reported
    in the log and leaves the outport empty.

    Example network: `workspaces/comparison.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.inport = ivw.PythonInport(
            "ensemble", help=ivw.md2doc("A normalized `hpcore.Ensemble`.")
        )
        self.addInport(self.inport, owner=False)
        # Default invalidation levels (any brushing action re-runs it): Inviwo
        # 0.9.11 binds BrushingTargetsInvalidationLevel as an Inport subclass,
        # and a list of them crashes the application, so a highlight (hovering
        # a line) re-runs it too; it then hands on the same selection.
        self.brushing = ivwbnl.BrushingAndLinkingInport(
            "brushing", help=ivw.md2doc("Connect to a Brushing And Linking processor.")
        )
        self.addInport(self.brushing, owner=False)
        self.selection = ivw.PythonOutport(
            "selection", help=ivw.md2doc("The `hpcore.Selection`.")
        )
        self.addOutport(self.selection, owner=False)
        self.use = ivw.properties.OptionPropertyString(
            "use",
            "Use",
            help=ivw.md2doc("Which networks of the linked plots to take."),
            options=[ivw.properties.StringOption(i, n, i) for i, n in USES],
        )
        self.where = bridge.where_property()
        self.count = bridge.count_property("selectedCount", "Selected")
        self.addProperties([self.use, self.where, self.count])
        self._last = None  # (state, selection) of the last run

    @staticmethod
    def processorInfo():
        return bridge.processor_info(LinkedSelection, "Linked Selection")

    def getProcessorInfo(self):
        return LinkedSelection.processorInfo()

    def process(self):
        with bridge.reporting(self, self.selection):
            ens = bridge.expect(self.inport.getData(), bridge.Ensemble, "ensemble")
            filtered = self.brushing.getFilteredIndices()
            selected = self.brushing.getSelectedIndices()
            state = (ens, self.use.value, self.where.value, filtered, selected)
            if self._last is not None and bridge.same_state(self._last[0], state):
                self.selection.setData(self._last[1])  # e.g. only a highlight
                return
            selection = bridge.linked_selection(
                ens,
                filtered=filtered,
                selected=selected,
                use=self.use.value,
                where=bridge.parse_where(self.where.value),
            )
            self.count.value = selection.count
            self.selection.setData(selection)
            self._last = (state, selection)
