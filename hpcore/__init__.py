"""hpcore: the analysis behind HPExplorer.

Visual analysis of the impact of neural-network hyper-parameters (Jönsson et al.,
EuroVis/MLVis 2020): load an ensemble of trained networks, normalize the metric
per group, select a range, and count / aggregate the selected networks per
parameter option pair and per option.

>>> import hpcore
>>> ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(2000)))
>>> sel = hpcore.select(ens, range=(0.9, 1.0))
>>> counts = hpcore.pair_counts(ens, sel)

The package is layered along the data path; each layer imports only from the
layers before it (``tests/test_layers.py`` keeps it so):

- :mod:`hpcore.data`: data in (errors, the ensemble model, options and bins,
  loading, the NWS reader, the synthetic ensemble);
- :mod:`hpcore.analysis`: normalize, select, histogram, pair counts, trellis,
  statistics, findings, the fast engine, the tables of one analysis state;
- :mod:`hpcore.views`: drawing (matplotlib figures; the words of findings);
- :mod:`hpcore.app`: the ``hpexplorer`` commands, and beside it
  :mod:`hpcore.inviwo_bridge`, the one module that knows Inviwo.

The public names below are imported on first use, so ``import hpcore`` is
cheap and a command line can check its arguments before pandas is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .data.errors import (
    ColumnError,
    DataSourceError,
    HpcoreError,
    MetricError,
    OptionError,
    OutputError,
    ParameterError,
    SelectionError,
)

__version__ = "0.1.0"

#: Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    "BrushEngine": "hpcore.analysis.engine",
    "BrushResult": "hpcore.analysis.engine",
    "Ensemble": "hpcore.data.model",
    "Selection": "hpcore.analysis.selection",
    "compare_selections": "hpcore.analysis.stats",
    "discover": "hpcore.analysis.findings",
    "histogram": "hpcore.analysis.histogram",
    "load": "hpcore.data.loading",
    "normalize": "hpcore.analysis.normalization",
    "pair_counts": "hpcore.analysis.pairs",
    "pair_statistics": "hpcore.analysis.stats",
    "parameter_importance": "hpcore.analysis.stats",
    "select": "hpcore.analysis.selection",
    "synthetic": "hpcore.data.synthetic",
    "trellis": "hpcore.analysis.trellis",
    "trellis_with_ci": "hpcore.analysis.stats",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hpcore' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = loaded if name == "synthetic" else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from .analysis.engine import BrushEngine, BrushResult
    from .analysis.findings import discover
    from .analysis.histogram import histogram
    from .analysis.normalization import normalize
    from .analysis.pairs import pair_counts
    from .analysis.selection import Selection, select
    from .analysis.stats import (
        compare_selections,
        pair_statistics,
        parameter_importance,
        trellis_with_ci,
    )
    from .analysis.trellis import trellis
    from .data import synthetic
    from .data.loading import load
    from .data.model import Ensemble
