"""The figure of one finding (``hpexplorer findings``): observed and predicted means."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from .style import MARKERS, _prepare, palette
from .text import shorten
from .trellis import _t_half

if TYPE_CHECKING:
    from ..analysis.findings import Effect

#: Characters of an option name on an axis or in a legend (longer ones are
#: cut in the middle, :func:`hpcore.views.text.shorten`).
LABEL_CHARS = 18
#: Legend entries per column.
LEGEND_ROWS = 12


def _size(
    n_x: int, labels: list[str], panels: int, legend_cols: int
) -> tuple[float, float]:
    """Inches for ``panels`` panels of ``n_x`` options whose (shortened) tick
    labels are ``labels`` (rotated 30 degrees), with a legend of
    ``legend_cols`` columns beside them (none: 0)."""
    longest = max((len(t) for t in labels), default=1)
    width = panels * max(3.2, 0.3 * n_x + 1.2) + (
        1.3 * legend_cols if legend_cols else 0.0
    )
    return width, 2.6 + 0.045 * longest


def draw_effect(effect: Effect, *, value_label: str = "metric") -> Figure:
    """A small figure of one effect, drawn from ``effect.cells`` only.

    - main effect: the mean of every option with its 95% t-interval
      (one ``errorbar`` container, options in their order along x);
    - pair: the cell means of the first parameter's options (x) with one solid
      line per option of the second, and the additive prediction of each as a
      dashed line of the same colour;
    - triple: the same as the pair, one panel per group option.

    Lines carry a label ``"<option>"`` (observed) or ``"<option> predicted"``
    so tests can match them to ``effect.cells``. The intervals come from each
    cell's ``count`` and ``sd`` (``t(0.975, n-1) * sd / sqrt(n)``); nothing is
    aggregated here.

    Parameters
    ----------
    effect : hpcore.analysis.findings.Effect
        One effect of :func:`hpcore.analysis.findings.discover`.
    value_label : str, default="metric"
        Name of the analysed value, for the y axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cells = effect.cells
    if effect.kind == "main":
        p = effect.parameters[0]
        rank = {o: i for i, o in enumerate(effect.options[p])}
        order = cells.sort_values(p, key=lambda s: s.map(rank))
        ticks = shorten([str(o) for o in order[p]], LABEL_CHARS)
        fig = _prepare(None, _size(len(order), ticks, 1, 0), constrained=True)
        ax = fig.add_subplot()
        x = np.arange(len(order))
        half = _t_half(order)  # from the cells' count and sd: no aggregation
        ax.errorbar(
            x, order["mean"].to_numpy(), yerr=half, fmt="o", capsize=3, label="mean"
        )
        ax.set_xticks(x, ticks, rotation=30, ha="right")
        ax.set_xlabel(p)
        ax.set_ylabel(f"mean {value_label}", fontsize=9)
        ax.set_title(f"{effect.name} (95% t-intervals)", fontsize=10)
        return fig
    panels: list[str | None]
    if effect.kind == "triple":
        g, a, b = effect.parameters
        panels = [o for o in effect.options[g] if o in set(cells[g])]
    else:
        g, (a, b) = "", effect.parameters
        panels = [None]
    x_opts = [o for o in effect.options[a] if o in set(cells[a])]
    line_opts = [o for o in effect.options[b] if o in set(cells[b])]
    ticks = shorten([str(o) for o in x_opts], LABEL_CHARS)
    legend_cols = -(-len(line_opts) // LEGEND_ROWS)
    size = _size(len(x_opts), ticks, len(panels), legend_cols)
    fig = _prepare(None, size, constrained=True)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    colors = palette(len(line_opts))
    for ax, panel in zip(axes, panels, strict=True):
        part = cells if panel is None else cells[cells[g] == panel]
        for j, opt in enumerate(line_opts):
            sub = part[part[b] == opt].set_index(a).reindex(x_opts)
            color = colors[j]
            ax.plot(
                range(len(x_opts)),
                sub["mean"].to_numpy(),
                "-",
                marker=MARKERS[j % len(MARKERS)],  # colours repeat after eight
                color=color,
                label=str(opt),
            )
            ax.plot(
                range(len(x_opts)),
                sub["predicted"].to_numpy(),
                "--",
                color=color,
                alpha=0.6,
                label=f"{opt} predicted",
            )
        ax.set_xticks(range(len(x_opts)), ticks, rotation=30, ha="right")
        ax.set_xlabel(a)
        if panel is not None:
            ax.set_title(f"{g} = {panel}", fontsize=9)
    axes[0].set_ylabel(f"mean {value_label}", fontsize=9)
    handles = [
        h for h in axes[-1].get_lines() if not str(h.get_label()).endswith(" predicted")
    ]
    axes[-1].legend(
        handles=handles,
        labels=shorten([str(h.get_label()) for h in handles], LABEL_CHARS),
        ncols=legend_cols,
        title=b,
        fontsize=7,
        title_fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    fig.suptitle(f"{effect.name} (dashed: additive prediction)", fontsize=10)
    return fig
