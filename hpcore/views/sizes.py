"""The default size of each view: the size it picks for a new figure."""

from __future__ import annotations

import pandas as pd

from ..data.errors import ColumnError
from ..data.validation import check_one_of
from .histogram import draw_histogram
from .pairs import draw_pair_matrix
from .style import (
    HISTOGRAM_COLUMNS,
    KINDS,
    PAIR_KEYS,
    TRELLIS_COLUMNS,
    Kind,
    _check_frame,
)
from .trellis import draw_trellis


def figure_size_for(kind: Kind, table: pd.DataFrame) -> tuple[float, float]:
    """Default figure size, in inches, for drawing ``table`` as ``kind``.

    The size the view gives a new figure: its content at the base font size
    (cells and panels sized to their labels), so text stays readable when the
    figure is placed on a page or a slide; bounded by
    :data:`~hpcore.views.style.MAX_INCHES` (fonts shrink instead).

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
        _check_frame(table, HISTOGRAM_COLUMNS, "histogram")
        fig = draw_histogram(table, table)
    elif kind == "pairs":
        _check_frame(table, PAIR_KEYS, "pair matrix")
        value = "count" if "count" in table.columns else "_none"
        fig = draw_pair_matrix(
            table if value == "count" else table.assign(_none=0.0), value=value
        )
    else:
        _check_frame(table, TRELLIS_COLUMNS, "trellis")
        fig = draw_trellis(table)
    width, height = fig.get_size_inches()
    return (round(float(width), 2), round(float(height), 2))
