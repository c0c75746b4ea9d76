# Name: MetricNormalization

import inviwopy as ivw
import ivwdataframe as ivwdf

from hpcore import inviwo_bridge as bridge

METHODS = [
    ("minmax", "Min-max per group (paper)"),
    ("rank", "Percentile rank per group"),
    ("robust", "Robust min-max (1st-99th percentile)"),
]


class MetricNormalization(ivw.Processor):
    """
    Normalizes the metric within each group (data set) onto 0..1, so that
    networks trained on easy and hard data sets can be compared (paper
    Fig. 2b). Normalization uses all networks, before any selection.

    ### Inports
      * __ensemble__ an `hpcore.Ensemble` from Ensemble Source.

    ### Outports
      * __normalized__ the ensemble with the column `normalized`.
      * __dataframe__ the ensemble table with `normalized` as an Inviwo
        DataFrame (for Parallel Coordinates, DataFrame Table, Scatter Plot);
        row *i* is network *i*.

    ### Properties
      * __Method__ *min-max* (the paper's: `(x - min) / (max - min)` per
        group), *rank* (percentile rank per group) or *robust* (min-max
        between the group's 1st and 99th percentiles, clipped). A group whose
        metric does not vary gets 0.5 everywhere.

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.inport = ivw.PythonInport(
            "ensemble", help=ivw.md2doc("An `hpcore.Ensemble`.")
        )
        self.addInport(self.inport, owner=False)
        self.ensemble = ivw.PythonOutport(
            "normalized", help=ivw.md2doc("The normalized `hpcore.Ensemble`.")
        )
        self.addOutport(self.ensemble, owner=False)
        self.dataframe = ivwdf.DataFrameOutport(
            "dataframe", help=ivw.md2doc("The normalized table for Inviwo's plots.")
        )
        self.addOutport(self.dataframe, owner=False)
        self.method = ivw.properties.OptionPropertyString(
            "method",
            "Method",
            help=ivw.md2doc("Per-group normalization of the metric."),
            options=[ivw.properties.StringOption(i, n, i) for i, n in METHODS],
        )
        self.addProperty(self.method, owner=False)

    @staticmethod
    def processorInfo():
        return bridge.processor_info(MetricNormalization, "Metric Normalization")

    def getProcessorInfo(self):
        return MetricNormalization.processorInfo()

    def process(self):
        with bridge.reporting(self, self.ensemble, self.dataframe):
            ens = bridge.expect(self.inport.getData(), bridge.Ensemble, "ensemble")
            normalized = bridge.normalize(ens, self.method.value)
            self.ensemble.setData(normalized)
            self.dataframe.setData(bridge.ensemble_to_inviwo(normalized))
