"""Automatic discovery: which parameters and combinations move the metric.

:func:`discover` ranks every parameter by its main effect, every parameter
pair by its two-way interaction and, where the data supports it, every pair
together with the group column (the data set) by its three-way interaction, on
the normalized metric. Each effect is the share of the metric's variance it
explains, tested by permutation and controlled for false discoveries with
Benjamini-Hochberg over the effects tested. For each significant interaction the
option cells that drive it are named.

The method, in terms of sums of squares (SS) of the ``n`` values ``y`` of the
metric, ``SS_total = sum((y - mean(y))**2)``:

- **main effect** of parameter A: the one-way between-options SS,
  ``sum_a n_a (mean_a - mean)**2``; its share of ``SS_total`` is eta squared.
- **two-way interaction** A x B: ``SS(cell means of A x B) - SS(additive
  model A + B)``, both fitted by least squares on the rows. For an unbalanced
  table (unequal or empty cells) the additive model is not the sum of the
  one-way means; it is fitted exactly as a weighted least-squares projection
  of the cell means (weights = cell sizes). The difference equals
  ``sum_cells n_c (mean_c - additive_c)**2``: every cell's share of it says how
  much that cell drives the interaction.
- **three-way interaction** G x A x B (G the group column): the same with the
  model of all two-way combinations (G x A, G x B, A x B) as the reduced model.
  Only tested where the data supports it: every non-empty G x A x B cell
  holds at least :data:`MIN_CELL_ROWS` rows (empty cells, e.g. structurally
  impossible combinations, only lower the degrees of freedom).

Each SS is the squared length of a projection: with ``u_c = sum_{rows in c}
y / sqrt(n_c)`` (one entry per non-empty cell), the reduced model spans the
columns of ``sqrt(n_c) X`` (``X`` its cell-level design); with ``Q`` an
orthonormal basis of that span (thin SVD), ``SS_effect = ||u - Q Q^T u||**2``,
the squared length of ``u``'s part outside the reduced model. Permutations only
change the cell sums, so every permutation costs one ``bincount`` per test.

**Permutation p-values.** The statistic is the F ratio ``(SS_effect / df) /
(SS_residual(full model) / (n - cells))``. Main effects: the metric is
permuted over the rows (exact under "the metric does not depend on this
parameter"). Interactions: the residuals of the reduced (additive) model are
permuted and added back to its fit (Freedman & Lane 1983), which keeps the
main effects and tests only the interaction; asymptotically exact, the method
recommended by Anderson & Legendre (1999) and Winkler et al. (2014). All tests
share the same permutations; ``p = (1 + #{F* >= F}) / (permutations + 1)``.
With ``m`` tests the smallest q-value BH can give one strong effect among
nulls is about ``m / (permutations + 1)``, hence the default of 999.

**Which test** (``method="auto"``, the default): an effect whose every
non-empty cell holds at least :data:`MIN_F_CELL_ROWS` rows gets the F test's
p-value, ``P(F(df, n - cells) >= F)`` (:func:`scipy.special.fdtrc`), exact
for normal errors and, with cells this large, asymptotically right for any
error law with finite variance (the cell means are then close to normal);
the null tests (``tests/test_findings.py``) hold it to its level. Effects
with smaller cells get permutations as above, with sequential stopping
(Besag & Clifford 1991): a test stops once :data:`SEQUENTIAL_HITS`
permutations reached its F, with ``p = hits / permutations run``, which is
a valid p-value; effects far from significance then cost a few dozen
permutations, not ``B``. ``method="permutation"`` permutes every effect.
Each effect costs one pass over the rows for its cell sums, and its
row -> cell vector is kept only while permutations need it, so ten million
rows and a dozen parameters fit in memory. ``findings.csv`` says in its
``test`` column which test gave each p-value.

On a per-group normalized metric the group's own main effect is computed
but not tested or ranked (see :attr:`Findings.unranked`): normalization
makes every group span the same range, so that share only shows how each
group's distribution is mapped. Its interactions are tested.

This module computes only: it knows nothing of the command line or of
matplotlib. The words are :mod:`hpcore.views.findings_text`, the figures
:func:`hpcore.views.draw_effect`, the command :mod:`hpcore.app.findings`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from ..data.errors import HpcoreError
from ..data.model import NORMALIZED, Ensemble, check_ensemble
from .pairs import parameter_pairs
from .selection import require_normalized
from .settings import DEFAULT_PERMUTATIONS, TEST_METHODS
from .stats import bh_q

Kind = Literal["main", "pair", "triple"]
#: The kinds of effect, in the order they are reported.
KINDS: tuple[str, ...] = ("main", "pair", "triple")


#: Columns of ``findings.csv`` (and the first columns of :attr:`Findings.table`).
CSV_COLUMNS = ("rank", "kind", "parameters", "effect", "p_value", "q_value", "test")


#: A three-way interaction is tested only if every non-empty cell holds this
#: many rows.
MIN_CELL_ROWS = 5


#: Driving cells are named until they account for this share of an interaction.
DRIVER_SHARE = 0.5


#: At most this many driving cells are named per interaction.
MAX_DRIVERS = 3


#: Joins parameter names in ``findings.csv`` and the report.
JOIN = " x "


@dataclass(frozen=True, eq=False)
class Effect:
    """One tested effect: a main effect, a pair or a triple interaction.

    Attributes
    ----------
    kind : {"main", "pair", "triple"}
    parameters : tuple of str
        The parameters involved (the group column first in a triple).
    effect : float
        Share of the metric's total variance (sum of squares) the effect
        explains beyond its reduced model (nothing for a main effect; the two
        main effects for a pair; all two-way combinations for a triple).
    statistic : float
        The F ratio used by the permutation test.
    df : int
        Degrees of freedom of the effect (0: nothing to test).
    p_value, q_value : float
        Permutation p-value and Benjamini-Hochberg q-value over the effects
        tested (NaN when the test is impossible: fewer rows than cells; p and
        q are 1 for an effect with nothing to test).
    cells : pandas.DataFrame
        One row per non-empty cell: one column per parameter (option label),
        ``count`` (int64), ``mean``, ``sd`` (sample sd, NaN for one row),
        ``predicted`` (the reduced model's value for the cell: the overall
        mean for a main effect), ``deviation = mean - predicted`` and
        ``share`` (the cell's part ``count * deviation**2`` of the effect's
        sum of squares, summing to 1), sorted by ``share`` (largest first).
    options : Mapping[str, tuple of str]
        Each parameter's options in the ensemble's order.
    test : str
        Which test gave the p-value: ``"F"`` (the F distribution),
        ``"permutation"`` or ``"none"`` (not tested: nothing to test, or the
        group's own main effect on a per-group normalized metric).
    """

    kind: Kind
    parameters: tuple[str, ...]
    effect: float
    statistic: float
    df: int
    p_value: float
    q_value: float
    cells: pd.DataFrame
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    test: str = "permutation"

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @property
    def name(self) -> str:
        """Parameter names joined by ``" x "``."""
        return JOIN.join(self.parameters)

    def drivers(
        self, share: float = DRIVER_SHARE, limit: int = MAX_DRIVERS
    ) -> pd.DataFrame:
        """The cells that together drive at least ``share`` of the effect.

        The largest contributors first, at most ``limit`` of them.
        """
        cum = self.cells["share"].cumsum().to_numpy()
        needed = int(np.searchsorted(cum, share - 1e-12)) + 1
        return self.cells.head(min(max(needed, 1), limit)).reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Findings:
    """The result of :func:`discover`.

    Attributes
    ----------
    effects : tuple of Effect
        Every tested effect in rank order: significant ones (``q < alpha``)
        first, each part by decreasing ``effect``.
    table : pandas.DataFrame
        One row per effect in the same order: :data:`CSV_COLUMNS` (``rank``
        from 1, ``kind``, ``parameters`` joined by ``" x "``, ``effect``,
        ``p_value``, ``q_value``) plus ``statistic`` and ``df``.
    value : str
        The analysed column (``"normalized"`` or the metric).
    metric : str
        The ensemble's metric.
    rows : int
        Rows analysed.
    permutations, seed : int
        Permutations per test and their seed.
    alpha : float
        The q-value under which an effect counts as significant.
    top : int
        How many effects the report describes.
    skipped : Mapping[str, str]
        Triples not tested (name -> reason).
    method : str
        How p-values were obtained (``"auto"`` or ``"permutation"``).
    unranked : Mapping[str, str]
        Effects computed but neither tested nor ranked (name -> why): the
        group's own main effect on a per-group normalized metric.
    notes : tuple of str
        Why nothing can stand out, where the data says so (a metric that
        does not vary, groups normalized to 0.5).
    better : {"higher", "lower"}
        The ensemble's better end of the metric (the normalized metric puts
        it at 1).
    """

    effects: tuple[Effect, ...]
    table: pd.DataFrame
    value: str
    metric: str
    rows: int
    permutations: int
    seed: int
    alpha: float
    top: int = 10
    skipped: Mapping[str, str] = field(default_factory=dict)
    method: str = "permutation"
    unranked: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    better: Literal["higher", "lower"] = "higher"

    def __post_init__(self) -> None:
        object.__setattr__(self, "skipped", MappingProxyType(dict(self.skipped)))
        object.__setattr__(self, "unranked", MappingProxyType(dict(self.unranked)))

    def significant(self) -> tuple[Effect, ...]:
        """The effects with ``q_value < alpha``, in rank order."""
        return tuple(e for e in self.effects if e.q_value < self.alpha)

    def top_significant(
        self, top: int | None = None
    ) -> dict[str, list[tuple[int, Effect]]]:
        """Per kind (main, pair, triple), its ``top`` strongest significant
        effects with their overall rank (default ``top``: :attr:`top`)."""
        top = self.top if top is None else top
        out: dict[str, list[tuple[int, Effect]]] = {k: [] for k in KINDS}
        for rank, e in enumerate(self.effects, start=1):
            if e.q_value < self.alpha and len(out[e.kind]) < top:
                out[e.kind].append((rank, e))
        return out

    def effect(self, *parameters: str) -> Effect:
        """The effect of exactly these parameters (in any order)."""
        wanted = frozenset(parameters)
        for e in self.effects:
            if frozenset(e.parameters) == wanted and len(e.parameters) == len(
                parameters
            ):
                return e
        raise HpcoreError(f"no tested effect of {JOIN.join(parameters)!r}")


@dataclass(frozen=True, eq=False)
class _Design:
    """One effect's cells, projections and cell sums (internal).

    ``codes`` (row -> cell) is kept only for effects tested by permutation:
    at ten million rows one such vector per effect would not fit in memory.
    """

    kind: Kind
    parameters: tuple[str, ...]
    shape: tuple[int, ...]
    counts: np.ndarray  # per cell (all cells)
    nonempty: np.ndarray  # indices of non-empty cells
    q_red: np.ndarray  # (C', r) orthonormal basis of the reduced model
    df_effect: int  # C' - rank of the reduced model
    sums: np.ndarray  # per cell: sum of the values
    within: np.ndarray  # per non-empty cell: sum of squares about its mean
    residual_key: str  # which residual vector its permutations use
    codes: np.ndarray | None = None  # row -> cell, for permutation tests

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))

    @property
    def df(self) -> int:
        return self.df_effect

    @property
    def smallest(self) -> int:
        """Rows in the smallest non-empty cell."""
        return int(self.counts[self.nonempty].min()) if len(self.nonempty) else 0


def _cell_codes(
    parameters: tuple[str, ...],
    codes: Mapping[str, np.ndarray],
    levels: Mapping[str, int],
) -> np.ndarray:
    """Row -> index of its cell among all option combinations (int64)."""
    cell = codes[parameters[0]].astype(np.int64)
    for p in parameters[1:]:
        cell *= levels[p]
        cell += codes[p]
    return cell


def _design(
    kind: Kind,
    parameters: tuple[str, ...],
    cell: np.ndarray,
    levels: Mapping[str, int],
    y: np.ndarray,
    y_centered: np.ndarray,
) -> _Design:
    shape = tuple(levels[p] for p in parameters)
    size = int(np.prod(shape))
    counts = np.bincount(cell, minlength=size)
    nonempty = np.flatnonzero(counts)
    sums = np.bincount(cell, weights=y, minlength=size)
    # within-cell sums of squares from the centred values' sums and squares
    # (one pass each, no per-row cell means; values are centred so nothing
    # large cancels)
    sq = np.bincount(cell, weights=y_centered * y_centered, minlength=size)[nonempty]
    n_ne = counts[nonempty].astype(np.float64)
    sum_c = sums[nonempty] - n_ne * float(y.mean())
    within = np.maximum(sq - sum_c * sum_c / n_ne, 0.0)
    # cell-level design of the reduced model: one-hot columns of every
    # combination of all but one of the parameters (the intercept for a main
    # effect; both main effects for a pair; the three two-way tables for a
    # triple)
    idx = np.unravel_index(nonempty, shape)
    blocks: list[np.ndarray] = []
    for sub in itertools.combinations(range(len(parameters)), len(parameters) - 1):
        if not sub:
            blocks.append(np.ones((len(nonempty), 1)))
            continue
        sub_shape = tuple(shape[i] for i in sub)
        sub_code = np.ravel_multi_index(tuple(idx[i] for i in sub), sub_shape)
        onehot = np.zeros((len(nonempty), int(np.prod(sub_shape))))
        onehot[np.arange(len(nonempty)), sub_code] = 1.0
        blocks.append(onehot)
    design = np.hstack(blocks) * np.sqrt(n_ne)[:, None]
    # the thin SVD is enough: the effect's space is the complement of the
    # reduced model's, so its sum of squares is that of the residual of the
    # projection (see :func:`_ss_effect`); the full C' x C' basis would cost
    # most of the run with a few hundred cells
    u_mat, sing, _ = np.linalg.svd(design, full_matrices=False)
    tol = sing.max(initial=0.0) * max(design.shape) * np.finfo(np.float64).eps
    rank = int(np.sum(sing > tol))
    return _Design(
        kind=kind,
        parameters=parameters,
        shape=shape,
        counts=counts,
        nonempty=nonempty,
        q_red=u_mat[:, :rank],
        df_effect=len(nonempty) - rank,
        sums=sums,
        within=within,
        residual_key="main" if kind == "main" else JOIN.join(parameters),
    )


def _u(design: _Design, sums: np.ndarray) -> np.ndarray:
    """Cell sums (..., C) -> weighted coordinates (..., C') of the cell means."""
    out: np.ndarray = sums[..., design.nonempty] / np.sqrt(
        design.counts[design.nonempty]
    )
    return out


#: Most permutations one test may ask for (p-values down to 1e-5).
MAX_PERMUTATIONS = 100_000


#: With ``method="auto"`` an effect gets the F test's p-value when every
#: non-empty cell of its model holds at least this many rows (and the
#: residual degrees of freedom are at least as many); elsewhere permutations.
MIN_F_CELL_ROWS = 30


#: Sequential stopping (Besag & Clifford 1991): a permutation test stops as
#: soon as this many permutations reached the observed statistic.
SEQUENTIAL_HITS = 20


#: Names of the tests in ``findings.csv`` (column ``test``).
TEST_F = "F"
TEST_PERMUTATION = "permutation"
TEST_NONE = "none"


def permutations_needed(tests: int, alpha: float) -> int:
    """Fewest permutations with which one effect alone can reach ``q < alpha``.

    The smallest permutation p-value is ``1 / (B + 1)``; Benjamini-Hochberg
    multiplies the smallest p by the number of tests, so ``tests / (B + 1)``
    must fall below ``alpha``.
    """
    return max(19, math.floor(tests / alpha))


def _check_settings(
    permutations: int, seed: int, top: int, alpha: float, method: str = "auto"
) -> None:
    """Validate the settings of :func:`discover` (before any data is loaded)."""
    if isinstance(permutations, bool) or not isinstance(permutations, int):
        raise HpcoreError(f"`permutations` must be an integer; got {permutations!r}")
    if not 19 <= permutations <= MAX_PERMUTATIONS:
        raise HpcoreError(
            f"`permutations` must be between 19 (p-values down to 0.05) and "
            f"{MAX_PERMUTATIONS:,}; got {permutations}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise HpcoreError(f"`seed` must be a non-negative integer; got {seed!r}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise HpcoreError(f"`top` must be a positive integer; got {top!r}")
    if not isinstance(alpha, float | int) or not 0.0 < float(alpha) < 1.0:
        raise HpcoreError(f"`alpha` must lie strictly between 0 and 1; got {alpha!r}")
    if method not in TEST_METHODS:
        raise HpcoreError(
            f"`method` must be one of {', '.join(TEST_METHODS)}; got {method!r}"
        )


def _check_args(
    ens: Ensemble,
    value: str,
    permutations: int,
    seed: int,
    top: int,
    alpha: float,
    method: str,
) -> None:
    check_ensemble(ens, "discover")
    if value == NORMALIZED:
        require_normalized(ens, "discover(value='normalized')")
    elif value != ens.metric:
        raise HpcoreError(
            f"`value` must be 'normalized' or the metric {ens.metric!r}; got {value!r}"
        )
    _check_settings(permutations, seed, top, alpha, method)
    if len(ens.table) < 3:
        raise HpcoreError(
            "finding effects needs at least 3 networks (rows); the ensemble "
            f"has {len(ens.table)}"
        )


def _group_apart(ens: Ensemble, value: str) -> str | None:
    """Why the group's own main effect is not tested (None when it is)."""
    if value != NORMALIZED or ens.group is None or ens.group not in ens.parameters:
        return None
    return (
        f"main effect of the group {ens.group!r} not ranked: the metric is "
        f"normalized within each {ens.group}, so the share its groups explain only "
        f"shows how the normalization maps each {ens.group}'s distribution, not a "
        "setting anyone can choose; its interactions with the parameters are "
        "tested and ranked"
    )


def _why_flat(ens: Ensemble, value: str, flat: Mapping[str, int]) -> list[str]:
    """Notes on values that cannot vary: a constant metric, constant groups
    (``flat``: :func:`~hpcore.analysis.normalization.flat_groups`)."""
    notes: list[str] = []
    if value != NORMALIZED:
        if ens.table[ens.metric].nunique() <= 1:
            notes.append(f"the metric {ens.metric!r} has one value on every row")
        return notes
    total = len(ens.table)
    if sum(flat.values()) == total:
        notes.append(
            f"the metric {ens.metric!r} does not vary within "
            + (f"any {ens.group!r}" if ens.group is not None else "the table")
            + ": every row is normalized to 0.5, so no parameter can explain anything"
        )
    elif flat:
        notes.append(
            flat_groups_note(ens, flat) + "; findings leaves their rows out of its "
            "tests (they say nothing about any parameter, and their constant 0.5 "
            "would read as an interaction with the group)"
        )
    return notes


def _without_flat_groups(ens: Ensemble, flat: Mapping[str, int]) -> Ensemble:
    """The ensemble without the rows of the ``flat`` groups (those whose
    metric does not vary), where other groups do vary: their rows all sit at
    0.5 of the normalized value whatever their options, which would make
    every parameter's effect look different in those groups (a spurious
    group x parameter effect)."""
    if not flat or ens.group is None or sum(flat.values()) == len(ens.table):
        return ens
    column = ens.table[ens.group]
    left_out = [i for i, c in enumerate(column.cat.categories) if str(c) in flat]
    keep = ~np.isin(column.cat.codes.to_numpy(), left_out)  # codes, not strings
    return dataclasses.replace(ens, table=ens.table.loc[keep].reset_index(drop=True))


def flat_groups_note(ens: Ensemble, flat: Mapping[str, int]) -> str:
    """One sentence naming the groups whose metric does not vary."""
    shown = [f"{g!r} ({n:,} row{'s' if n != 1 else ''})" for g, n in flat.items()]
    listed = ", ".join(shown[:5]) + (
        f" and {len(shown) - 5:,} more" if len(shown) > 5 else ""
    )
    return (
        f"{len(flat):,} group(s) of {ens.group!r} have a metric that does not vary "
        f"(one row, or one value): {listed}; their rows are normalized to 0.5, "
        "neither good nor bad"
    )


def discover(
    ens: Ensemble,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
    top: int = 10,
    alpha: float = 0.05,
    value: str = NORMALIZED,
    triples: bool = True,
    method: str = "auto",
) -> Findings:
    """Rank main effects and interactions of the parameters on the metric.

    See the module docstring for the method.

    Parameters
    ----------
    ens : Ensemble
        A normalized ensemble (unless ``value`` is the metric).
    permutations : int, default=999
        Most permutations per permutation test (at least 19). The smallest
        permutation p-value is ``1 / (permutations + 1)``.
    seed : int, default=0
        Seed of the permutations; results are reproducible.
    top : int, default=10
        How many effects :func:`findings_markdown` and the command describe.
        Does not change the tests.
    alpha : float, default=0.05
        q-value threshold of "significant".
    value : str, default="normalized"
        ``"normalized"`` or the metric column.
    triples : bool, default=True
        Also test group x pair three-way interactions (needs a group column).
    method : {"auto", "permutation"}, default="auto"
        ``auto``: the F test's p-value for an effect whose every non-empty
        cell holds at least :data:`MIN_F_CELL_ROWS` rows, permutations for
        the others; ``permutation``: permutations for every effect.

    Returns
    -------
    Findings

    Raises
    ------
    HpcoreError
        Bad arguments or an ensemble that is not normalized.

    Examples
    --------
    >>> import hpcore
    >>> ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(2000)))
    >>> found = discover(ens, permutations=99)  # doctest: +SKIP
    >>> found.table.head(3)  # doctest: +SKIP
    """
    _check_args(ens, value, permutations, seed, top, alpha, method)
    from .normalization import flat_groups

    flat = flat_groups(ens) if value == NORMALIZED else {}
    notes = tuple(_why_flat(ens, value, flat))
    ens = _without_flat_groups(ens, flat)
    y = ens.table[value].to_numpy(dtype=np.float64)
    n = len(y)
    if not np.all(np.isfinite(y)):
        raise HpcoreError(f"column {value!r} holds missing or infinite values")
    y_centered = y - y.mean()
    ss_total = float(np.dot(y_centered, y_centered))
    # the categoricals' own (small) integer codes: no int64 copy per parameter
    codes = {p: ens.codes(p).to_numpy() for p in ens.parameters}
    levels = {p: len(ens.options(p)) for p in ens.parameters}
    apart = _group_apart(ens, value)

    candidates: list[tuple[Kind, tuple[str, ...]]] = [
        ("main", (p,)) for p in ens.parameters
    ]
    candidates += [("pair", ab) for ab in parameter_pairs(ens)]
    group = ens.group
    if triples and group is not None and group in ens.parameters:
        others = [p for p in ens.parameters if p != group]
        candidates += [
            ("triple", (group, a, b)) for a, b in itertools.combinations(others, 2)
        ]

    designs: list[_Design] = []
    tests: list[str] = []
    skipped: dict[str, str] = {}
    for kind, params in candidates:
        cell = _cell_codes(params, codes, levels)
        d = _design(kind, params, cell, levels, y, y_centered)
        if kind == "triple":
            if d.smallest < MIN_CELL_ROWS:
                skipped[d.residual_key] = (
                    f"the smallest non-empty cell of the {d.n_cells} "
                    f"{JOIN.join(d.parameters)} cells holds {d.smallest} row(s); "
                    f"at least {MIN_CELL_ROWS} needed"
                )
                continue
            if d.df == 0:
                skipped[d.residual_key] = (
                    f"{len(d.nonempty)} of the {d.n_cells} {JOIN.join(d.parameters)} "
                    "cells hold rows: too few to estimate a three-way interaction"
                )
                continue
        df_res = n - len(d.nonempty)
        is_group = apart is not None and kind == "main" and params == (group,)
        if d.df == 0 or df_res <= 0 or ss_total <= 0 or is_group:
            test = TEST_NONE
        elif (
            method == "auto"
            and d.smallest >= MIN_F_CELL_ROWS
            and df_res >= MIN_F_CELL_ROWS
            # no spread within the cells: the F distribution's normal errors
            # do not hold (its p-value would be 0), permutations still do
            and _f_parts(d, ss_total)[1] > 0
        ):
            test = TEST_F
        else:
            test = TEST_PERMUTATION
        if test == TEST_PERMUTATION:
            d = dataclasses.replace(d, codes=cell)
        designs.append(d)
        tests.append(test)

    parts = [_f_parts(d, ss_total) for d in designs]
    f_obs = [_f_ratio(part, d, n) for part, d in zip(parts, designs, strict=True)]
    p_values = np.full(len(designs), np.nan)
    perm_ids = [i for i, t in enumerate(tests) if t == TEST_PERMUTATION]
    f_ids = [i for i, t in enumerate(tests) if t == TEST_F]
    if f_ids:
        from scipy.special import fdtrc

        for i in f_ids:
            d = designs[i]
            p_values[i] = float(fdtrc(d.df, n - len(d.nonempty), f_obs[i]))
    for i, d in enumerate(designs):
        if tests[i] == TEST_NONE and not (
            apart is not None and d.kind == "main" and d.parameters == (group,)
        ):
            p_values[i] = np.nan if (d.df > 0 and ss_total > 0) else 1.0
    if perm_ids:
        p_values[perm_ids] = _permutation_p(
            [designs[i] for i in perm_ids],
            [parts[i] for i in perm_ids],
            y,
            NOISE * ss_total,
            permutations,
            seed,
        )
    # an effect that is not tested (nothing varies) is not in the family
    q_values = bh_q(p_values, np.array(tests) != TEST_NONE)

    effects: list[Effect] = []
    for i, d in enumerate(designs):
        cells, ss_eff = _cells(ens, d)
        effects.append(
            Effect(
                kind=d.kind,
                parameters=d.parameters,
                effect=_share(ss_eff, ss_total),
                statistic=f_obs[i]
                if (d.df > 0 and n > len(d.nonempty) and ss_total > 0)
                else float("nan"),
                df=d.df,
                p_value=float(p_values[i]),
                q_value=float(q_values[i]),
                cells=cells,
                options={p: ens.options(p) for p in d.parameters},
                test=tests[i],
            )
        )
    # the group's own main effect (not tested: see _group_apart) comes last,
    # without a rank
    apart_name = None if apart is None else str(group)
    effects.sort(
        key=lambda e: (
            e.name == apart_name,
            not e.q_value < alpha,
            -e.effect,
            e.p_value if math.isfinite(e.p_value) else 2.0,
        )
    )
    ranked = sum(e.name != apart_name for e in effects)
    table = pd.DataFrame(
        {
            "rank": pd.array(
                [*range(1, ranked + 1), *[None] * (len(effects) - ranked)],
                dtype="Int64",
            ),
            "kind": pd.Series([e.kind for e in effects], dtype="str"),
            "parameters": pd.Series([e.name for e in effects], dtype="str"),
            "effect": np.array([e.effect for e in effects], dtype=np.float64),
            "p_value": np.array([e.p_value for e in effects], dtype=np.float64),
            "q_value": np.array([e.q_value for e in effects], dtype=np.float64),
            "test": pd.Series([e.test for e in effects], dtype="str"),
            "statistic": np.array([e.statistic for e in effects], dtype=np.float64),
            "df": np.array([e.df for e in effects], dtype=np.int64),
        }
    )
    return Findings(
        effects=tuple(effects),
        table=table,
        value=value,
        metric=ens.metric,
        rows=n,
        permutations=permutations,
        seed=seed,
        alpha=float(alpha),
        top=top,
        skipped=skipped,
        method=method,
        unranked={} if apart is None else {str(group): apart},
        notes=notes,
        better=ens.better or "higher",
    )


def _ss_effect(d: _Design, u: np.ndarray) -> np.ndarray:
    """Sum of squares of the effect: ``||u - Q Q^T u||**2`` (``Q`` the reduced
    model's orthonormal basis), over the last axis of ``u``."""
    resid = u - (u @ d.q_red) @ d.q_red.T
    out: np.ndarray = np.sum(resid * resid, axis=-1)
    return out


def _f_parts(d: _Design, ss_total: float) -> tuple[float, float]:
    """The effect's and the within-cell sums of squares of the F ratio, each
    0 where it is rounding noise (at most :data:`NOISE` of ``ss_total``).

    ``SS_effect`` is the same for the values and for the residuals of the
    reduced model (their difference lies in the reduced model's span), so
    no residual vector is needed.
    """
    ss_eff = float(_ss_effect(d, _u(d, d.sums)))
    rss = float(d.within.sum())
    floor = NOISE * ss_total
    return (ss_eff if ss_eff > floor else 0.0), (rss if rss > floor else 0.0)


def _f_ratio(parts: tuple[float, float], d: _Design, n: int) -> float:
    """The F ratio of an effect, ``(SS_effect / df) / (SS_within / (n -
    cells))``, from its sums of squares (:func:`_f_parts`): inf where the
    cells have no spread and the effect has, NaN where neither has."""
    ss_eff, rss = parts
    df_res = n - len(d.nonempty)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(
            np.float64(ss_eff / max(d.df, 1)) / np.float64(rss / max(df_res, 1))
        )


#: A sum of squares at most this share of the total is rounding noise: 0.
NOISE = 1e-12


def _share(ss: float, ss_total: float) -> float:
    """``ss / ss_total``; rounding noise (below :data:`NOISE`) counts as 0."""
    if ss_total <= 0:
        return 0.0
    share = ss / ss_total
    return 0.0 if share < NOISE else min(float(share), 1.0)


#: Permutations whose cell sums are held in memory at once.
CHUNK = 64


def _permutation_p(
    designs: Sequence[_Design],
    observed: Sequence[tuple[float, float]],
    y: np.ndarray,
    floor: float,
    permutations: int,
    seed: int,
) -> np.ndarray:
    """Permutation p-values with sequential stopping, one per design.

    Main effects permute the values; interactions the residuals of their
    reduced (additive) model, added back to its fit (Freedman-Lane). Every
    permutation of the rows is applied to each residual vector once and each
    test needs one ``bincount`` of the shuffled vector over its cells.

    A test stops at the permutation ``L`` where :data:`SEQUENTIAL_HITS`
    permutations have reached its observed F, with ``p = hits / L``; one
    that never gets there runs all ``B`` permutations, ``p = (1 + hits) /
    (B + 1)`` (Besag & Clifford 1991: a valid p-value either way; a test far
    from significant stops after a few dozen permutations).

    A permutation reaches the observed F when ``SS_effect * SS_within_obs >=
    SS_effect_obs * SS_within`` (the degrees of freedom cancel), each sum of
    squares 0 at or below ``floor`` (rounding noise; ``observed``: the
    designs' own, from :func:`_f_parts`): so an observed
    F that is infinite (no spread within the cells) is reached exactly by the
    permutations that leave none either, and one of 0 / 0 (neither the
    effect nor the cells vary) by every permutation.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    residuals: dict[str, np.ndarray] = {"main": y - y.mean()}
    for d in designs:
        if d.kind != "main" and d.residual_key not in residuals:
            assert d.codes is not None
            u = _u(d, d.sums)
            fitted = np.zeros(d.n_cells)
            fitted[d.nonempty] = (d.q_red @ (d.q_red.T @ u)) / np.sqrt(
                d.counts[d.nonempty]
            )
            residuals[d.residual_key] = y - fitted[d.codes]
    norms = {k: float(np.dot(e, e)) for k, e in residuals.items()}

    def reached(i: int, sums: np.ndarray) -> np.ndarray:
        d = designs[i]
        u = _u(d, sums)
        ss_eff = _ss_effect(d, u)
        rss = norms[d.residual_key] - np.sum(u**2, axis=-1)
        ss_eff[ss_eff <= floor] = 0.0
        rss[rss <= floor] = 0.0
        ss_obs, rss_obs = observed[i]
        out: np.ndarray = ss_eff * rss_obs >= (1.0 - 1e-9) * ss_obs * rss
        return out

    hits = np.zeros(len(designs), dtype=np.int64)
    stopped_at = np.zeros(len(designs), dtype=np.int64)  # 0: still running
    done = 0
    while done < permutations:
        active = [i for i in range(len(designs)) if stopped_at[i] == 0]
        if not active:
            break
        size = min(CHUNK, permutations - done)
        by_key: dict[str, list[int]] = {}
        for i in active:
            by_key.setdefault(designs[i].residual_key, []).append(i)
        sums = {i: np.empty((size, designs[i].n_cells)) for i in active}
        for b in range(size):
            perm = rng.permutation(n)
            for key, ids in by_key.items():
                shuffled = residuals[key][perm]
                for i in ids:
                    codes = designs[i].codes
                    assert codes is not None
                    sums[i][b] = np.bincount(
                        codes, weights=shuffled, minlength=designs[i].n_cells
                    )
        for i in active:
            running = hits[i] + np.cumsum(reached(i, sums[i]))
            stop = np.flatnonzero(running >= SEQUENTIAL_HITS)
            if len(stop):
                stopped_at[i] = done + int(stop[0]) + 1
                hits[i] = SEQUENTIAL_HITS
            else:
                hits[i] = int(running[-1])
        done += size
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            stopped_at > 0,
            hits / np.maximum(stopped_at, 1),
            (1 + hits) / (permutations + 1),
        )


def _cells(ens: Ensemble, d: _Design) -> tuple[pd.DataFrame, float]:
    """The per-cell table of an effect and its sum of squares."""
    ne = d.nonempty
    count = d.counts[ne].astype(np.float64)
    mean = d.sums[ne] / count
    u = _u(d, d.sums)
    predicted = (d.q_red @ (d.q_red.T @ u)) / np.sqrt(count)
    deviation = mean - predicted
    contrib = count * deviation**2
    ss_eff = float(_ss_effect(d, u))
    total = float(contrib.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(count > 1, np.sqrt(d.within / (count - 1)), np.nan)
        share = contrib / total if total > 0 else np.zeros(len(ne))
    idx = np.unravel_index(ne, d.shape)
    columns: dict[str, object] = {
        p: pd.Series(np.asarray(ens.options(p), dtype=object)[idx[j]], dtype="str")
        for j, p in enumerate(d.parameters)
    }
    frame = pd.DataFrame(
        {
            **columns,
            "count": count.astype(np.int64),
            "mean": mean,
            "sd": sd,
            "predicted": predicted,
            "deviation": deviation,
            "share": share,
        }
    )
    frame = frame.sort_values("share", ascending=False, kind="stable")
    return frame.reset_index(drop=True), ss_eff
