# Name: SelectionComparison

import inviwopy as ivw
import ivwdataframe as ivwdf

from hpcore import inviwo_bridge as bridge


class SelectionComparison(ivw.Processor):
    """
    Where two selections differ in their option pairs (paper Fig. 3, the
    main mode against the top networks): for every pair of options of every
    pair of parameters, the share of each selection having both options, the
    difference of the shares (selection minus reference), and Fisher's exact
    test of equal shares with Benjamini-Hochberg q-values over all cells
    (`hpcore.analysis.stats.compare_selections`). Exact for disjoint
    selections; for overlapping ones the test is conservative.

    Connect the output to Pair Matrix Plot with __Colour__ = *difference*
    to see the difference matrix.

    ### Inports
      * __ensemble__ the normalized `hpcore.Ensemble` both selections are of.
      * __selection__ the selection of interest, *b* (e.g. a Metric Range
        Filter at 0.9..1).
      * __reference__ the selection to compare with, *a* (e.g. a Metric
        Range Filter at 0..0.9, or a Linked Selection).

    ### Outports
      * __comparison__ pandas DataFrame `param_a, option_a, param_b,
        option_b, count_a, count_b, share_a, share_b, difference, p_value,
        q_value, count` (`count` = `count_b`) for Pair Matrix Plot.
      * __dataframe__ the same table as an Inviwo DataFrame.

    Example network: `workspaces/comparison.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.ensemble = ivw.PythonInport(
            "ensemble", help=ivw.md2doc("A normalized `hpcore.Ensemble`.")
        )
        self.addInport(self.ensemble, owner=False)
        self.selectionInport = ivw.PythonInport(
            "selection", help=ivw.md2doc("The selection of interest (b).")
        )
        self.addInport(self.selectionInport, owner=False)
        self.referenceInport = ivw.PythonInport(
            "reference", help=ivw.md2doc("The selection to compare with (a).")
        )
        self.addInport(self.referenceInport, owner=False)
        self.comparison = ivw.PythonOutport(
            "comparison", help=ivw.md2doc("The comparison (pandas DataFrame).")
        )
        self.addOutport(self.comparison, owner=False)
        self.dataframe = ivwdf.DataFrameOutport(
            "dataframe", help=ivw.md2doc("The comparison as an Inviwo DataFrame.")
        )
        self.addOutport(self.dataframe, owner=False)
        self._engines = bridge.ENGINES  # shared: trusts the filters' selections

    @staticmethod
    def processorInfo():
        return bridge.processor_info(SelectionComparison, "Selection Comparison")

    def getProcessorInfo(self):
        return SelectionComparison.processorInfo()

    def process(self):
        with bridge.reporting(self, self.comparison, self.dataframe):
            ens = bridge.expect(self.ensemble.getData(), bridge.Ensemble, "ensemble")
            selection = bridge.expect(
                self.selectionInport.getData(), bridge.Selection, "selection"
            )
            reference = bridge.expect(
                self.referenceInport.getData(), bridge.Selection, "reference"
            )
            table = bridge.selection_comparison(
                self._engines, ens, selection, reference
            )
            self.comparison.setData(table)
            self.dataframe.setData(bridge.table_to_inviwo(table))
