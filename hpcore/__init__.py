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
from .errors import (
    ColumnError,
    DataSourceError,
    HpcoreError,
    MetricError,
    OptionError,
    ParameterError,
    SelectionError,
)
from .histogram import histogram
from .loading import load
from .model import Ensemble
from .normalization import normalize
from .pairs import pair_counts
from .selection import Selection, select
from .trellis import trellis

__version__ = "0.1.0"

__all__ = [
    "ColumnError",
    "DataSourceError",
    "Ensemble",
    "HpcoreError",
    "MetricError",
    "OptionError",
    "ParameterError",
    "Selection",
    "SelectionError",
    "histogram",
    "load",
    "normalize",
    "pair_counts",
    "select",
    "synthetic",
    "trellis",
]
