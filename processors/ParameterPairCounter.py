# Name: ParameterPairCounter

import inviwopy as ivw
import ivwdataframe as ivwdf

from hpcore import inviwo_bridge as bridge


class ParameterPairCounter(ivw.Processor):
    """
    Counts the selected networks for every pair of options of every pair of
    parameters: the numbers behind the paper's heat-map matrix (Fig. 3).
    Because hyper-parameters were sampled at random, a high count in a
    top-accuracy selection marks a good combination. Pairs that never occur
    are counted as 0. Next to each count: the count expected if the
    selection were a random draw from the networks passing the option
    filter, the enrichment (count / expected), the exact two-sided
    hypergeometric p-value and the Benjamini-Hochberg q-value over all
    cells (`hpcore.pair_statistics`).

    Selections of Metric Range Filter are answered by hpcore's fast engine
    (shared, built once per ensemble), with the same numbers as
    `hpcore.pair_statistics`; other selections by `hpcore.pair_statistics`.

    ### Inports
      * __ensemble__ a normalized `hpcore.Ensemble` (Metric Normalization).
      * __selection__ an `hpcore.Selection` of it (Metric Range Filter).

    ### Outports
      * __counts__ pandas DataFrame `param_a, option_a, param_b, option_b,
        count, expected, enrichment, p_value, q_value` (Python object) for
        Pair Matrix Plot.
      * __dataframe__ the same table as an Inviwo DataFrame (numbers as
        float32).

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
        self.counts = ivw.PythonOutport(
            "counts", help=ivw.md2doc("Pair counts (pandas DataFrame).")
        )
        self.addOutport(self.counts, owner=False)
        self.dataframe = ivwdf.DataFrameOutport(
            "dataframe", help=ivw.md2doc("Pair counts as an Inviwo DataFrame.")
        )
        self.addOutport(self.dataframe, owner=False)
        self._engines = bridge.ENGINES  # shared: trusts the filter's selections

    @staticmethod
    def processorInfo():
        return bridge.processor_info(ParameterPairCounter, "Parameter Pair Counter")

    def getProcessorInfo(self):
        return ParameterPairCounter.processorInfo()

    def process(self):
        with bridge.reporting(self, self.counts, self.dataframe):
            ens = bridge.expect(self.ensemble.getData(), bridge.Ensemble, "ensemble")
            selection = bridge.expect(
                self.selectionInport.getData(), bridge.Selection, "selection"
            )
            counts = bridge.selected_pair_statistics(self._engines, ens, selection)
            counts = bridge.with_attrs(counts, {"selected": selection.count})
            self.counts.setData(counts)
            self.dataframe.setData(bridge.table_to_inviwo(counts))
