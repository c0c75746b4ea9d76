"""Defaults of the analysis that the command line shows before any data is loaded.

Only constants: importing this module costs nothing (no numpy, no pandas), so
``hpexplorer --help`` and argument errors answer at once.
"""

from __future__ import annotations

from typing import Literal, get_args

#: Parameter order of the matrix and trellis: as in the data, or by importance.
Sort = Literal["data", "importance"]
SORTS: tuple[str, ...] = get_args(Sort)
#: Bins of both histograms.
HISTOGRAM_BINS = 20
#: Level of the trellis' confidence intervals (Student t).
CI_LEVEL = 0.95
#: Default number of permutations per test of ``hpexplorer findings``.
DEFAULT_PERMUTATIONS = 999
#: How ``hpexplorer findings`` gets p-values: ``auto`` (the F test where every
#: cell is large enough, permutations elsewhere) or ``permutation`` (always).
TestMethod = Literal["auto", "permutation"]
TEST_METHODS: tuple[str, ...] = get_args(TestMethod)
