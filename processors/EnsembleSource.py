# Name: EnsembleSource

import inviwopy as ivw
import ivwdataframe as ivwdf
from inviwopy.properties import ConstraintBehavior as cb

from hpcore import inviwo_bridge as bridge

AUTO = "auto"


class EnsembleSource(ivw.Processor):
    """
    Loads an ensemble of trained networks: one row per network, with its
    hyper-parameters, a group (normally the data set) and a metric (normally
    test accuracy). HPExplorer's first processor; the analysis follows the
    EuroVis/MLVis 2020 paper "Visual Analysis of the Impact of Neural Network
    Hyper-Parameters".

    With an empty **File** it makes the built-in *synthetic* NWS-like ensemble
    (13,000 networks by default): generated, not real trainings.

    Numeric parameters with many values (a learning rate) are cut into a few
    options; identifier and free-text columns are left out (see the log).

    ### Outports
      * __ensemble__ the `hpcore.Ensemble` (a Python object) for HPExplorer's
        Metric Normalization.
      * __dataframe__ the ensemble table as an Inviwo DataFrame: parameters as
        categorical columns, the metric as float32; row *i* is network *i*.

    ### Properties
      * __File__ CSV, TSV or Parquet file, or an NWS data-set folder (type its
        path); empty: the synthetic ensemble.
      * __Synthetic Rows__, __Synthetic Seed__ size and seed of the synthetic
        ensemble.
      * __Metric__ the metric column; *automatic*: the one column named
        test_accuracy, test_acc, accuracy or acc (any case).
      * __Group__ the column the metric is normalized within; *automatic*:
        `dataset` when there is one.
      * __Loaded__ what was loaded (read-only).

    A file that cannot be read or a bad column choice is reported in the log
    and leaves the outports empty.

    Example network: `workspaces/hyperparameter-analysis.inv`.
    """

    def __init__(self, id, name):
        ivw.Processor.__init__(self, id, name)
        self.ensemble = ivw.PythonOutport(
            "ensemble", help=ivw.md2doc("The `hpcore.Ensemble` (Python object).")
        )
        self.addOutport(self.ensemble, owner=False)
        self.dataframe = ivwdf.DataFrameOutport(
            "dataframe", help=ivw.md2doc("The ensemble table for Inviwo's plots.")
        )
        self.addOutport(self.dataframe, owner=False)

        self.file = ivw.properties.FileProperty(
            "file",
            "File",
            help=ivw.md2doc("CSV/TSV/Parquet file or NWS folder; empty: synthetic."),
            value="",
            contentType="ensemble",
        )
        self.rows = ivw.properties.IntProperty(
            "syntheticRows",
            "Synthetic Rows",
            help=ivw.md2doc("Networks in the synthetic ensemble."),
            value=13000,
            min=(100, cb.Immutable),
            max=(1_000_000, cb.Ignore),
            increment=100,
        )
        self.seed = ivw.properties.IntProperty(
            "syntheticSeed",
            "Synthetic Seed",
            help=ivw.md2doc("Random seed of the synthetic ensemble."),
            value=0,
            min=(0, cb.Immutable),
            max=(1_000_000, cb.Ignore),
            increment=1,
        )
        automatic = [ivw.properties.StringOption(AUTO, "(automatic)", AUTO)]
        self.metric = ivw.properties.OptionPropertyString(
            "metric",
            "Metric",
            help=ivw.md2doc("The metric column (refilled when a table loads)."),
            options=automatic,
        )
        self.group = ivw.properties.OptionPropertyString(
            "group",
            "Group",
            help=ivw.md2doc(
                "Column to normalize within (refilled when a table loads)."
            ),
            options=automatic,
        )
        self.summary = ivw.properties.StringProperty(
            "summary",
            "Loaded",
            help=ivw.md2doc("What was loaded."),
            value="",
            invalidationLevel=ivw.properties.InvalidationLevel.Valid,
        )
        self.summary.readOnly = True
        self.addProperties(
            [self.file, self.rows, self.seed, self.metric, self.group, self.summary]
        )
        self._key = None
        self._reported = None
        self._frame = None
        self._source = ""

    @staticmethod
    def processorInfo():
        return bridge.processor_info(EnsembleSource, "Ensemble Source")

    def getProcessorInfo(self):
        return EnsembleSource.processorInfo()

    def process(self):
        with bridge.reporting(self, self.ensemble, self.dataframe):
            key = bridge.source_key(self.file.value, self.rows.value, self.seed.value)
            if key != self._key:
                self._frame, self._source = bridge.source_frame(
                    self.file.value, self.rows.value, self.seed.value
                )
                self._key = key
            metrics, columns = bridge.column_choices(self._frame)
            bridge.set_choices(self.metric, [AUTO, *metrics], ["(automatic)", *metrics])
            bridge.set_choices(self.group, [AUTO, *columns], ["(automatic)", *columns])
            ens = bridge.ensemble_from_frame(
                self._frame,
                metric=None if self.metric.value == AUTO else self.metric.value,
                group=None if self.group.value == AUTO else self.group.value,
                source=self._source,
            )
            self.summary.value = (
                f"{len(ens):,} networks, {len(ens.parameters)} parameters, "
                f"metric {ens.metric!r}, group {ens.group!r} ({ens.source})"
            )
            if (key, ens.metric, ens.group) != self._reported:
                self._reported = (key, ens.metric, ens.group)
                for column, why in ens.excluded.items():
                    ivw.logInfo(
                        f"{self.identifier}: not a parameter: {column!r}: {why}"
                    )
                for why, count in ens.dropped.items():
                    ivw.logWarn(f"{self.identifier}: dropped {count:,} row(s): {why}")
            self.ensemble.setData(ens)
            self.dataframe.setData(bridge.ensemble_to_inviwo(ens))
