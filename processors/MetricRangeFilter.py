# Name: MetricRangeFilter

import inviwopy as ivw
import ivwbnl
import ivwdataframe as ivwdf

from hpcore import inviwo_bridge as bridge

ACTIONS = [
    ("select", "Select the selected rows"),
    ("filter", "Filter out the other rows"),
    ("none", "Do not brush"),
]


class MetricRangeFilter(ivw.Processor):
    """
    Selects the networks whose normalized metric lies in a range (for example
    the top 10 %, or one mode of the histogram), optionally only some options
    of some parameters (the paper selects CIFAR-10 and STL-10). Everything
    downstream (pair matrix, trellis) is computed on this selection.

    The selected rows also go to Inviwo's brushing and linking, so a Scatter
    Plot, Parallel Coordinates or DataFrame Table connected to the same
    Brushing And Linking processor shows the same networks.

    The selection is made by hpcore's fast engine (built once per ensemble,
    shared with Parameter Pair Counter and Trellis Aggregator), so these
    count a brush in about a millisecond, whatever the number of networks.

    ### Inports
      * __ensemble__ a normalized `hpcore.Ensemble` (Metric Normalization).
      * __brushing__ (optional) connect to a Brushing And Linking processor.

    ### Outports
      * __selection__ the `hpcore.Selection` (row mask, count, range, filter).
      * __selected__ the best selected networks, best first, as an Inviwo
        DataFrame for a DataFrame Table: `network` (the row in the ensemble
        table and in brushing), group, parameters, metric, normalized metric.

    ### Properties
      * __Normalized Range__ closed interval on the normalized metric, 0..1.
        Link it to Metric Histogram Plot's __Shaded Range__ to see it there.
      * __Option Filter__ one `parameter = option | option` per line, e.g.
        `dataset = cifar10 | stl10`; empty: all options.
      * __Brushing__ *select* the selected rows, *filter* out the others, or
        leave brushing alone.
      * __Table Rows__ how many networks __selected__ lists (default 1,000).
      * __Selected__ number of selected networks (read-only).

    An unknown parameter or option, a range outside 0..1 or an empty
    selection is reported in the log and leaves the outport empty.

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.inport = ivw.PythonInport(
            "ensemble", help=ivw.md2doc("A normalized `hpcore.Ensemble`.")
        )
        self.addInport(self.inport, owner=False)
        # No help argument: older ivwbnl bindings only take (identifier,
        # invalidationLevels). No invalidation levels: brushing by other plots
        # does not re-run this processor.
        self.brushing = ivwbnl.BrushingAndLinkingInport(
            "brushing", invalidationLevels=[]
        )
        self.brushing.optional = True
        self.addInport(self.brushing, owner=False)
        self.selection = ivw.PythonOutport(
            "selection", help=ivw.md2doc("The `hpcore.Selection`.")
        )
        self.addOutport(self.selection, owner=False)
        self.selected = ivwdf.DataFrameOutport(
            "selected",
            help=ivw.md2doc("The best selected networks, best first."),
        )
        self.addOutport(self.selected, owner=False)

        self.range = bridge.normalized_range_property(
            "Normalized Range", "Closed interval on the normalized metric."
        )
        self.where = bridge.where_property()
        self.action = ivw.properties.OptionPropertyString(
            "brushAction",
            "Brushing",
            help=ivw.md2doc("What the selection does to linked Inviwo plots."),
            options=[ivw.properties.StringOption(i, n, i) for i, n in ACTIONS],
        )
        self.tableRows = ivw.properties.IntProperty(
            "tableRows",
            "Table Rows",
            help=ivw.md2doc("How many of the best selected networks *selected* lists."),
            value=bridge.TABLE_ROWS,
            min=(1, ivw.properties.ConstraintBehavior.Immutable),
            max=(100_000, ivw.properties.ConstraintBehavior.Ignore),
            increment=100,
        )
        self.count = bridge.count_property("selectedCount", "Selected")
        self.addProperties(
            [self.range, self.where, self.action, self.tableRows, self.count]
        )

    @staticmethod
    def processorInfo():
        return bridge.processor_info(MetricRangeFilter, "Metric Range Filter")

    def getProcessorInfo(self):
        return MetricRangeFilter.processorInfo()

    def process(self):
        with bridge.reporting(self, self.selection, self.selected):
            ens = bridge.expect(self.inport.getData(), bridge.Ensemble, "ensemble")
            selection = bridge.brush_selection(
                bridge.ENGINES,
                ens,
                range=bridge.range_value(self.range.value),
                where=bridge.parse_where(self.where.value),
            )
            self.count.value = selection.count
            bridge.brush(
                self.brushing, selection.mask, self.action.value, self.identifier
            )
            self.selection.setData(bridge.check_selection(selection))
            table = bridge.selected_table(ens, selection.mask, self.tableRows.value)
            self.selected.setData(bridge.table_to_inviwo(table))
