"""How much a figure shows: which parameters and options fit on a readable page.

A figure stays readable (and quick to draw) only up to a point: a pair matrix
of 200 parameters has 19,900 blocks, a parameter binned into 100,000 options
cannot be told apart cell by cell. :func:`choose_parameters` picks what the
pair matrix and the trellis draw: parameters with at most
:data:`MAX_OPTIONS` options, the most important first, while the figure has
room (:data:`MAX_PARAMETERS` parameters, :data:`MAX_CELLS` options along an
axis of the matrix; :data:`MAX_PANELS` panels, :data:`MAX_SLOTS` options
across the trellis). The tables (CSV files) always hold everything.

Pure Python (no matplotlib), so the report can record the choice in its
summary before anything is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: Most options of one parameter a figure draws (more: the parameter is left out).
MAX_OPTIONS = 30


#: Most parameters in the pair matrix, and panels per trellis row.
MAX_PARAMETERS = 16


#: Most options along the pair matrix' axes, or slots across the trellis.
MAX_CELLS = 64


#: Most panels across the trellis, and option slots across them.
MAX_PANELS = 12


MAX_SLOTS = 48


#: Most primary options (panel rows) and secondary options a trellis draws.
MAX_ROWS = 12


@dataclass(frozen=True)
class Drawn:
    """The parameters a figure draws and why the others are left out.

    Attributes
    ----------
    parameters : tuple of str
        Drawn, in the order given.
    left_out : dict of str to str
        Every parameter not drawn, with the reason.
    """

    parameters: tuple[str, ...]
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every parameter is drawn."""
        return not self.left_out

    def note(self, what: str, table: str) -> str:
        """One line for the figure: what is left out and where to find it."""
        if self.complete:
            return ""
        total = len(self.parameters) + len(self.left_out)
        crowded = [p for p, r in self.left_out.items() if r.startswith("more than")]
        text = f"{what}: {len(self.parameters)} of {total} parameters"
        ranked = any("less important" in r for r in self.left_out.values())
        if ranked:
            text += ", the most important"
        if crowded:
            text += (
                f"; left out for more than {MAX_OPTIONS} options: "
                + ", ".join(crowded[:3])
                + (f" and {len(crowded) - 3} more" if len(crowded) > 3 else "")
            )
        return f"{text} (every parameter is in {table})"


def choose_parameters(
    order: Sequence[str],
    n_options: Mapping[str, int],
    ranking: Sequence[str] | None = None,
    *,
    keep: Sequence[str] = (),
    max_parameters: int = MAX_PARAMETERS,
    max_cells: int = MAX_CELLS,
    max_options: int = MAX_OPTIONS,
) -> Drawn:
    """The parameters a figure draws, in ``order``.

    Parameters with more than ``max_options`` options are left out. Of the
    others, ``keep`` comes first (e.g. the group column), then ``ranking``
    (strongest first; default ``order``), as long as there are at most
    ``max_parameters`` and their options add up to at most ``max_cells``.

    Parameters
    ----------
    order : sequence of str
        All parameters, in the order the figure draws them.
    n_options : mapping of str to int
        Number of options of each parameter.
    ranking : sequence of str, optional
        Parameters by importance, strongest first; parameters it does not
        name follow in ``order``.
    keep : sequence of str, optional
        Parameters drawn first whenever they have few enough options.

    Returns
    -------
    Drawn

    >>> choose_parameters(["a", "b", "c"], {"a": 2, "b": 99, "c": 3}).left_out
    {'b': 'more than 30 options (99)'}
    """
    universe = set(order)
    ranked = [p for p in (*keep, *(ranking or ()), *order) if p in universe]
    chosen: list[str] = []
    left_out: dict[str, str] = {}
    cells = 0
    for p in dict.fromkeys(ranked):
        n = int(n_options[p])
        if n > max_options:
            left_out[p] = f"more than {max_options} options ({n:,})"
        elif len(chosen) < max_parameters and cells + n <= max_cells:
            chosen.append(p)
            cells += n
        else:
            left_out[p] = (
                "no room: less important than the parameters drawn"
                if ranking is not None
                else "no room: the figure draws the first parameters"
            )
    drawn = tuple(p for p in order if p in set(chosen))
    return Drawn(drawn, {p: left_out[p] for p in order if p in left_out})
