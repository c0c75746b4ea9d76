# Name: TrellisAggregator

import inviwopy as ivw
import ivwdataframe as ivwdf

from hpcore import inviwo_bridge as bridge

NONE = "none"
VALUES = [("normalized", "Normalized metric"), ("metric", "Metric")]


class TrellisAggregator(ivw.Processor):
    """
    The numbers behind the paper's Becker-barley trellis (Fig. 4): for every
    parameter except the primary and secondary one, the mean metric of the
    selected networks per option, split by the options of the **primary**
    parameter (panel rows) and of the **secondary** parameter (colour and
    marker), so three parameters are read at once. Empty cells have mean NaN
    and count 0.

    The normalized metric of a Metric Range Filter selection is aggregated by
    hpcore's fast engine (shared, built once per ensemble), with the means of
    `hpcore.trellis` (to rounding); the metric itself and hand-made
    selections by `hpcore.trellis`.

    ### Inports
      * __ensemble__ a normalized `hpcore.Ensemble` (Metric Normalization).
      * __selection__ an `hpcore.Selection` of it (Metric Range Filter).

    ### Outports
      * __trellis__ pandas DataFrame `parameter, option, primary, secondary,
        mean, count, ci_low, ci_high` (95% Student-t interval of each mean;
        Python object) for Trellis Plot.
      * __dataframe__ the same table as an Inviwo DataFrame.

    ### Properties
      * __Primary__, __Secondary__ parameters (refilled from the ensemble;
        Secondary may be *none*). They must differ.
      * __Value__ the normalized metric (default) or the metric itself.

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.ensemble = ivw.PythonInport(
            "ensemble", help=ivw.md2doc("A normalized `hpcore.Ensemble`.")
        )
        self.addInport(self.ensemble, owner=False)
        self.selectionInport = ivw.PythonInport(
            "selection", help=ivw.md2doc("An `hpcore.Selection` of the ensemble.")
        )
        self.addInport(self.selectionInport, owner=False)
        self.trellis = ivw.PythonOutport(
            "trellis", help=ivw.md2doc("Trellis table (pandas DataFrame).")
        )
        self.addOutport(self.trellis, owner=False)
        self.dataframe = ivwdf.DataFrameOutport(
            "dataframe", help=ivw.md2doc("Trellis table as an Inviwo DataFrame.")
        )
        self.addOutport(self.dataframe, owner=False)

        self.primary = ivw.properties.OptionPropertyString(
            "primary",
            "Primary",
            help=ivw.md2doc("Parameter of the panel rows."),
            options=[],
        )
        self.secondary = ivw.properties.OptionPropertyString(
            "secondary",
            "Secondary",
            help=ivw.md2doc("Parameter shown as colour and marker, or none."),
            options=[ivw.properties.StringOption(NONE, "(none)", NONE)],
        )
        self.value = ivw.properties.OptionPropertyString(
            "value",
            "Value",
            help=ivw.md2doc("Aggregate the normalized metric or the metric."),
            options=[ivw.properties.StringOption(i, n, i) for i, n in VALUES],
        )
        self.addProperties([self.primary, self.secondary, self.value])
        self._engines = bridge.ENGINES  # shared: trusts the filter's selections

    @staticmethod
    def processorInfo():
        return bridge.processor_info(TrellisAggregator, "Trellis Aggregator")

    def getProcessorInfo(self):
        return TrellisAggregator.processorInfo()

    def process(self):
        with bridge.reporting(self, self.trellis, self.dataframe):
            ens = bridge.expect(self.ensemble.getData(), bridge.Ensemble, "ensemble")
            selection = bridge.expect(
                self.selectionInport.getData(), bridge.Selection, "selection"
            )
            params = list(ens.parameters)
            bridge.set_choices(self.primary, params)
            bridge.set_choices(self.secondary, [NONE, *params], ["(none)", *params])
            primary = self.primary.value
            secondary = None if self.secondary.value == NONE else self.secondary.value
            value = "normalized" if self.value.value == "normalized" else ens.metric
            table = bridge.selected_trellis_ci(
                self._engines,
                ens,
                selection,
                primary=primary,
                secondary=secondary,
                value=value,
            )
            table = bridge.with_attrs(
                table,
                {
                    "primary": primary,
                    "secondary": secondary,
                    "value": value,
                    "value_label": ens.normalized_name
                    if value == "normalized"
                    else ens.metric,
                    "parameters": tuple(params),
                },
            )
            self.trellis.setData(table)
            self.dataframe.setData(bridge.table_to_inviwo(table))
