"""Where things go: the grids and default sizes of the pair matrix and the trellis.

Pure geometry from the tables (parameters, options, cells, inches); nothing
here draws. :func:`figure_size_for` gives each view its default size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.errors import ColumnError
from ..data.validation import check_one_of
from .style import (
    _PAIR_CELL,
    _PAIR_COLORBAR,
    _PAIR_GAP,
    _TRELLIS_ROW,
    _TRELLIS_SLOT,
    KINDS,
    PAIR_KEYS,
    TRELLIS_COLUMNS,
    Kind,
    _check_frame,
    _label_chars,
    _ordered,
)


def _pair_grid(pairs: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """Parameters and their options, in the order of the pair table's rows."""
    params = [
        str(p)
        for p in dict.fromkeys(
            v for ab in zip(pairs["param_a"], pairs["param_b"], strict=True) for v in ab
        )
    ]
    options: dict[str, list[str]] = {}
    for p in params:
        as_a = pairs.loc[pairs["param_a"] == p, "option_a"]
        as_b = pairs.loc[pairs["param_b"] == p, "option_b"]
        options[p] = _ordered(pd.concat([as_a, as_b], ignore_index=True))
    return params, options


def _trellis_grid(
    trellis: pd.DataFrame,
) -> tuple[list[str], dict[str, list[str]], list[str], list[str | None]]:
    """Panel parameters, their options, primary and secondary options, in row order."""
    params = _ordered(trellis["parameter"])
    options = {
        p: _ordered(trellis.loc[trellis["parameter"] == p, "option"]) for p in params
    }
    primary = _ordered(trellis["primary"])
    secondary: list[str | None] = list(_ordered(trellis["secondary"]))
    return params, options, primary, secondary or [None]


def _pair_cells(
    params: list[str], options: dict[str, list[str]]
) -> tuple[float, float]:
    """Width and height of the lower-triangle matrix, in cells (gaps included)."""
    cols, rows = params[:-1], params[1:]
    nx = sum(len(options[p]) for p in cols) + _PAIR_GAP * max(len(cols) - 1, 0)
    ny = sum(len(options[p]) for p in rows) + _PAIR_GAP * max(len(rows) - 1, 0)
    return nx, ny


@dataclass(frozen=True)
class PairLayout:
    """Where every block and cell of the pair matrix goes, in cell units.

    The lower triangle of a parameter x parameter grid: the block of the pair
    (a, b), a before b, sits in the column of a and the row of b; its cell of
    options (i, j) spans ``x0[a] + i .. + 1`` and ``y0[b] + j .. + 1``. Blocks
    are :data:`_PAIR_GAP` cells apart. Rows grow downwards (row 0 on top).
    """

    params: tuple[str, ...]
    options: dict[str, list[str]]
    x0: dict[str, float]
    y0: dict[str, float]
    width: float
    height: float

    @property
    def cols(self) -> tuple[str, ...]:
        """Parameters with a column of blocks (all but the last)."""
        return self.params[:-1]

    @property
    def rows(self) -> tuple[str, ...]:
        """Parameters with a row of blocks (all but the first)."""
        return self.params[1:]

    def index(self, param: str, option: str) -> int:
        """Position of ``option`` among ``param``'s options."""
        return self.options[param].index(option)


def pair_layout(pairs: pd.DataFrame) -> PairLayout:
    """The :class:`PairLayout` of a pair table (parameters in row order)."""
    params, options = _pair_grid(pairs)
    x0: dict[str, float] = {}
    pos = 0.0
    for p in params[:-1]:
        x0[p] = pos
        pos += len(options[p]) + _PAIR_GAP
    y0: dict[str, float] = {}
    pos = 0.0
    for p in params[1:]:
        y0[p] = pos
        pos += len(options[p]) + _PAIR_GAP
    nx, ny = _pair_cells(params, options)
    return PairLayout(tuple(params), options, x0, y0, nx, ny)


def _pair_extent(pairs: pd.DataFrame) -> tuple[float, float, float]:
    """Width and height of the matrix' cells and the width of its labels
    (options and parameter names), in inches; zeros below two parameters."""
    params, options = _pair_grid(pairs)
    if len(params) < 2:
        return (0.0, 0.0, 0.0)
    nx, ny = _pair_cells(params, options)
    cell = float(np.clip(7.5 / max(nx, ny), *_PAIR_CELL))
    all_opts = [o for p in params for o in options[p]]
    label = 0.075 * _label_chars(all_opts) + 0.3  # option labels
    name = 0.085 * _label_chars(params) + 0.2  # parameter names
    return nx * cell, ny * cell, label + name


def figure_size_for(kind: Kind, table: pd.DataFrame) -> tuple[float, float]:
    """Default figure size, in inches, for drawing ``table`` as ``kind``.

    Grows with the number of options so that labels stay readable with the
    13 parameters (about 45 options) of the NWS set as well as with four.

    Parameters
    ----------
    kind : {"histogram", "pairs", "trellis"}
    table : pandas.DataFrame
        The table the figure will show (a histogram frame, pair counts or a
        trellis frame).

    Returns
    -------
    (float, float)
        Width and height in inches.
    """
    check_one_of("kind", kind, KINDS, ColumnError)
    if kind == "histogram":
        return (11.0, 4.4)
    if kind == "pairs":
        _check_frame(table, PAIR_KEYS, "pair matrix")
        cells_w, cells_h, margin = _pair_extent(table)
        if cells_w == 0:
            return (5.0, 4.0)
        width = cells_w + margin + _PAIR_COLORBAR
        height = cells_h + margin + 0.8  # + title
        return (round(width, 2), round(height, 2))
    _check_frame(table, TRELLIS_COLUMNS, "trellis")
    params, options, primary, _ = _trellis_grid(table)
    slots = sum(_panel_slots(p, options[p]) for p in params)
    all_opts = [o for p in params for o in options[p]]
    rotated = 0.07 * _label_chars(all_opts) if _label_chars(all_opts) > 3 else 0.2
    width = max(slots * _TRELLIS_SLOT + 1.8, 5.0)
    height = max(len(primary), 1) * _TRELLIS_ROW + rotated + 1.6
    return (round(width, 2), round(height, 2))


def _panel_slots(name: str, options: Sequence[str]) -> float:
    """Width of a trellis panel in option slots: its options, at least two, and
    enough for its bold title."""
    return max(float(len(options)), 2.0, 0.23 * len(name))
