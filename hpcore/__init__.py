"""hpcore: the analysis behind HPExplorer.

Visual analysis of the impact of neural-network hyper-parameters (Jönsson et al.,
EuroVis/MLVis 2020): load an ensemble of trained networks, normalize the metric
per group, select a range, and count / aggregate the selected networks per
parameter option pair and per option.

>>> import hpcore
>>> ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(2000)))
>>> sel = hpcore.select(ens, range=(0.9, 1.0))
>>> counts = hpcore.pair_counts(ens, sel)
"""

from . import synthetic
from .engine import BrushEngine, BrushResult
from .errors import (
    ColumnError,
    DataSourceError,
    HpcoreError,
    MetricError,
    OptionError,
    OutputError,
    ParameterError,
    SelectionError,
)
from .findings import discover
from .histogram import histogram
from .loading import load
from .model import Ensemble
from .normalization import normalize
from .pairs import pair_counts
from .selection import Selection, select
from .stats import (
    compare_selections,
    pair_statistics,
    parameter_importance,
    trellis_with_ci,
)
from .trellis import trellis

__version__ = "0.1.0"

__all__ = [
    "BrushEngine",
    "BrushResult",
    "ColumnError",
    "DataSourceError",
    "Ensemble",
    "HpcoreError",
    "MetricError",
    "OptionError",
    "OutputError",
    "ParameterError",
    "Selection",
    "SelectionError",
    "compare_selections",
    "discover",
    "histogram",
    "load",
    "normalize",
    "pair_counts",
    "pair_statistics",
    "parameter_importance",
    "select",
    "synthetic",
    "trellis",
    "trellis_with_ci",
]
