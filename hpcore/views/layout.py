"""Where things go: the grids of the pair matrix and the trellis.

Pure geometry from the tables (parameters, options, cells); nothing here
draws. :func:`hpcore.views.sizes.figure_size_for` gives each view's default
size.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .style import (
    _PAIR_GAP,
    _ordered,
)


def _distinct(keys: pd.Series, values: pd.Series) -> dict[str, dict[str, None]]:
    """Per key, the distinct non-missing values (as strings) in row order."""
    out: dict[str, dict[str, None]] = {}
    missing = values.isna().to_numpy()
    for k, v, na in zip(keys.tolist(), values.tolist(), missing, strict=True):
        seen = out.setdefault(str(k), {})
        if not na:
            seen[str(v)] = None
    return out


def _pair_grid(pairs: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """Parameters and their options, in the order of the pair table's rows."""
    params = [
        str(p)
        for p in dict.fromkeys(
            v
            for ab in zip(
                pairs["param_a"].tolist(), pairs["param_b"].tolist(), strict=True
            )
            for v in ab
        )
    ]
    as_a = _distinct(pairs["param_a"], pairs["option_a"])
    as_b = _distinct(pairs["param_b"], pairs["option_b"])
    options = {
        p: list(dict.fromkeys([*as_a.get(p, {}), *as_b.get(p, {})])) for p in params
    }
    return params, options


def _trellis_grid(
    trellis: pd.DataFrame,
) -> tuple[list[str], dict[str, list[str]], list[str], list[str | None]]:
    """Panel parameters, their options, primary and secondary options, in row order."""
    params = _ordered(trellis["parameter"])
    found = _distinct(trellis["parameter"], trellis["option"])
    options = {p: list(found.get(p, {})) for p in params}
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


def pair_layout(
    pairs: pd.DataFrame,
    grid: tuple[list[str], dict[str, list[str]]] | None = None,
) -> PairLayout:
    """The :class:`PairLayout` of a pair table (parameters in row order);
    ``grid`` is its :func:`_pair_grid` when already known."""
    params, options = _pair_grid(pairs) if grid is None else grid
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
