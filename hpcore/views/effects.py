"""The figure of one finding (``hpexplorer findings``): observed and predicted means."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from .style import _prepare, palette
from .trellis import _t_half

if TYPE_CHECKING:
    from ..analysis.findings import Effect


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
        fig = _prepare(None, (4.5, 3.0), constrained=True)
        ax = fig.add_subplot()
        rank = {o: i for i, o in enumerate(effect.options[p])}
        order = cells.sort_values(p, key=lambda s: s.map(rank))
        x = np.arange(len(order))
        half = _t_half(order)  # from the cells' count and sd: no aggregation
        ax.errorbar(
            x, order["mean"].to_numpy(), yerr=half, fmt="o", capsize=3, label="mean"
        )
        ax.set_xticks(x, order[p].tolist(), rotation=30, ha="right")
        ax.set_xlabel(p)
        ax.set_ylabel(f"mean {value_label}\n(95% t-interval)")
        ax.set_title(effect.name, fontsize=10)
        return fig
    panels: list[str | None]
    if effect.kind == "triple":
        g, a, b = effect.parameters
        panels = [o for o in effect.options[g] if o in set(cells[g])]
    else:
        g, (a, b) = "", effect.parameters
        panels = [None]
    fig = _prepare(None, (3.2 * len(panels) + 1.2, 3.0), constrained=True)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    x_opts = [o for o in effect.options[a] if o in set(cells[a])]
    line_opts = [o for o in effect.options[b] if o in set(cells[b])]
    colors = palette(len(line_opts))
    for ax, panel in zip(axes, panels, strict=True):
        part = cells if panel is None else cells[cells[g] == panel]
        for j, opt in enumerate(line_opts):
            sub = part[part[b] == opt].set_index(a).reindex(x_opts)
            color = colors[j]
            ax.plot(
                range(len(x_opts)),
                sub["mean"].to_numpy(),
                "o-",
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
        ax.set_xticks(range(len(x_opts)), x_opts, rotation=30, ha="right")
        ax.set_xlabel(a)
        if panel is not None:
            ax.set_title(f"{g} = {panel}", fontsize=9)
    axes[0].set_ylabel(f"mean {value_label}\n(dashed: predicted)")
    handles = [
        h for h in axes[-1].get_lines() if not str(h.get_label()).endswith(" predicted")
    ]
    axes[-1].legend(
        handles=handles,
        title=b,
        fontsize=7,
        title_fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    fig.suptitle(effect.name, fontsize=10)
    return fig
