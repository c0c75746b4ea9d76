"""The words of ``hpexplorer findings``: sentences, findings.md, terminal lines.

Text views of :class:`hpcore.analysis.findings.Findings`; no matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import pandas as pd

from ..analysis.findings import Effect, Findings
from ..data.better import normalized_name
from ..data.model import NORMALIZED


def _num(x: float) -> str:
    """A deviation or mean with two significant digits (``0.18``, ``0.012``)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.2g}" if abs(x) < 1 else f"{x:.3g}"


def format_p(p: float, permutations: int, test: str = "permutation") -> str:
    """``p = 0.012``; ``p <= 0.001`` when no permutation reached the observed value.

    A p-value of the F test (``test="F"``) has no such floor: ``p = 3.2e-41``.
    """
    if not math.isfinite(p):
        return "p = n/a"
    if test == "F":
        return f"p = {p:.2g}" if p >= 1e-300 else "p < 1e-300"
    if p <= 1.0 / (permutations + 1) + 1e-15:
        return f"p <= {1.0 / (permutations + 1):.2g}"
    return f"p = {p:.2g}"


def _q(q: float) -> str:
    return "q = n/a" if not math.isfinite(q) else f"q = {q:.2g}"


def _value_label(findings: Findings) -> str:
    return (
        normalized_name(findings.metric, findings.better == "lower")
        if findings.value == NORMALIZED
        else findings.metric
    )


def _cell_phrase(parameters: Sequence[str], row: pd.Series) -> str:
    """``a = x and b = y`` / ``g = w, a = x and b = y``."""
    parts = [f"{p} = {row[p]}" for p in parameters]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe(effect: Effect, findings: Findings) -> str:
    """Readable sentences about one effect, with its numbers.

    Examples: "optimizer explains 21% of the variance of normalized
    test_accuracy (p <= 0.001, q = 0.002). Highest mean: optimizer = ADAM
    (0.71, n = 4,300); lowest: optimizer = Momentum SGD (0.52, n = 4,310)."
    For a significant interaction the driving cells follow (see
    :meth:`Effect.drivers`):
    "Networks with optimizer = Momentum SGD and batch_size = 256 are 0.18
    below what optimizer and batch_size alone predict (0.41 vs 0.59, n = 212;
    40% of the interaction)."
    """
    label = _value_label(findings)
    stats = (
        f"{format_p(effect.p_value, findings.permutations, effect.test)}, "
        f"{_q(effect.q_value)}"
    )
    pct = f"{100 * effect.effect:.2g}%" if effect.effect > 0 else "0%"
    cells = effect.cells
    if effect.kind == "main":
        p = effect.parameters[0]
        text = f"{p} explains {pct} of the variance of {label} ({stats})."
        if len(cells) > 1:
            by_mean = cells.sort_values("mean", ascending=False, kind="stable")
            hi, lo = by_mean.iloc[0], by_mean.iloc[-1]
            text += (
                f" Highest mean: {p} = {hi[p]} ({_num(float(hi['mean']))}, "
                f"n = {int(hi['count']):,}); lowest: {p} = {lo[p]} "
                f"({_num(float(lo['mean']))}, n = {int(lo['count']):,})."
            )
        return text
    if effect.kind == "pair":
        a, b = effect.parameters
        text = (
            f"The interaction of {a} and {b} explains {pct} of the variance of "
            f"{label} beyond their main effects ({stats})."
        )
        reference = f"what {a} and {b} alone predict"
    else:
        g, a, b = effect.parameters
        text = (
            f"The three-way interaction of {g}, {a} and {b} explains {pct} of the "
            f"variance of {label} beyond their two-way combinations ({stats})."
        )
        reference = f"what the pairs of {g}, {a} and {b} predict"
    if effect.q_value < findings.alpha:
        for _, row in effect.drivers().iterrows():
            dev = float(row["deviation"])
            text += (
                f" Networks with {_cell_phrase(effect.parameters, row)} are "
                f"{_num(abs(dev))} "
                f"{'above' if dev > 0 else 'below'} {reference} "
                f"({_num(float(row['mean']))} vs {_num(float(row['predicted']))}, "
                f"n = {int(row['count']):,}; {100 * float(row['share']):.0f}% of "
                "the interaction)."
            )
    return text


#: Section titles of the report, by kind.
SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "main": "Main effects",
        "pair": "Interactions of two parameters",
        "triple": "Three-way interactions with the group",
    }
)


def _p_cell(p: float, permutations: int, test: str = "permutation") -> str:
    return (
        format_p(p, permutations, test)
        .replace("p = ", "")
        .replace("p <= ", "<= ")
        .replace("p < ", "< ")
    )


def _method_text(findings: Findings) -> str:
    """How the p-values were obtained, as the tests ran."""
    from ..analysis.findings import MIN_F_CELL_ROWS, SEQUENTIAL_HITS

    used = {e.test for e in findings.effects}
    perm = (
        f"permutations (at most {findings.permutations:,}, seed {findings.seed}, "
        f"stopping once {SEQUENTIAL_HITS} reach the observed F, Besag-Clifford; the "
        "metric for main effects, the residuals of the additive model for "
        "interactions: Freedman-Lane)"
    )
    if findings.method == "permutation" or "F" not in used:
        return f"p-values from {perm}"
    if "permutation" not in used:
        return (
            "p-values from the F test (every cell holds at least "
            f"{MIN_F_CELL_ROWS} rows)"
        )
    return (
        f"p-values from the F test where every cell holds at least "
        f"{MIN_F_CELL_ROWS} rows, elsewhere from {perm} (column test)"
    )


def why_nothing(findings: Findings) -> str:
    """Why no effect is significant, as far as the data tells."""
    notes = " ".join(f"{n[0].upper()}{n[1:]}." for n in findings.notes)
    if notes and all(e.effect == 0 for e in findings.effects):
        return " " + notes  # nothing varies: chance is not the reason
    return " No pattern stands out from chance." + (f" {notes}" if notes else "")


def findings_markdown(
    findings: Findings,
    *,
    top: int | None = None,
    figures: Mapping[str, str] | None = None,
    source: str = "",
) -> str:
    """The text of ``findings.md``.

    A header with the data and the method, then one section per kind (main
    effects, pairs, triples) describing its significant effects strongest
    first (at most ``top`` per kind, see :meth:`Findings.top_significant`),
    each with its figure, then a table of every test.

    Parameters
    ----------
    findings : Findings
    top : int, optional
        Effects described per kind (default: ``findings.top``).
    figures : mapping of effect name to relative image path, optional
        Images embedded below each described effect.
    source : str, optional
        Where the data came from (shown in the header).
    """
    figures = figures or {}
    label = _value_label(findings)
    n_tests = len(findings.effects)
    n_sig = len(findings.significant())
    lines = [
        f"# Findings: what drives the {label}",
        "",
        f"Data: {source + ', ' if source else ''}{findings.rows:,} rows.",
        "",
        "Method: the share of the variance of the "
        f"{label} explained by each parameter (main effect, eta squared), by each "
        "pair beyond its two main effects (two-way interaction, least squares on "
        "unbalanced cells) and by the group column with each pair beyond their "
        f"two-way combinations (three-way interaction). {_method_text(findings)}; "
        "q-values by Benjamini-Hochberg over the "
        f"{sum(e.test != 'none' for e in findings.effects)} effects tested. "
        "Significant: "
        f"q < {findings.alpha:g}. An effect is the "
        "share of the variance it explains; a cell's deviation is its mean minus "
        "what the simpler model predicts for it.",
        "",
        f"**{n_sig} of {n_tests} effects are significant.**"
        + ("" if n_sig else why_nothing(findings)),
        "",
    ]
    if n_sig and findings.notes:
        lines += [" ".join(f"{n[0].upper()}{n[1:]}." for n in findings.notes), ""]
    for name, why in findings.unranked.items():
        e = findings.effect(name)
        lines += [
            f"Not ranked: {name} explains {100 * e.effect:.3g}% of the variance "
            f"of the {label}, but {why.split(': ', 1)[1]}.",
            "",
        ]
    for kind, chosen in findings.top_significant(top).items():
        if not chosen:
            continue
        lines += [f"## {SECTIONS[kind]}", ""]
        for rank, effect in chosen:
            lines += [f"### {rank}. {effect.name}", "", describe(effect, findings), ""]
            if effect.name in figures:
                lines += [f"![{effect.name}]({figures[effect.name]})", ""]
    lines += [
        "## All tests",
        "",
        "| rank | kind | parameters | effect | p | q | test |",
        "|---:|---|---|---:|---:|---:|---|",
    ]
    for e, rank in zip(findings.effects, findings.table["rank"], strict=True):
        lines.append(
            f"| {'-' if pd.isna(rank) else rank} | {e.kind} | {e.name} | "
            f"{100 * e.effect:.3g}% | "
            f"{_p_cell(e.p_value, findings.permutations, e.test)} | "
            f"{_q(e.q_value)[4:]} | {e.test} |"
        )
    if findings.skipped:
        lines += ["", "Not tested:", ""]
        lines += [f"- {k}: {v}" for k, v in findings.skipped.items()]
    return "\n".join(lines) + "\n"


def summary_lines(findings: Findings, top: int | None = None) -> list[str]:
    """The terminal summary: per kind, its strongest significant effects.

    One line per effect (at most ``top`` per kind, default ``findings.top``)
    with rank, kind, parameters, effect (% of variance), p and q; for an
    interaction also its strongest driving cell.
    """
    lines = []
    for kind, chosen in findings.top_significant(top).items():
        if chosen:
            lines.append(f"{SECTIONS[kind]}:")
        for rank, e in chosen:
            line = (
                f"{rank:>4}. {e.name:<40} {100 * e.effect:7.3g}%  "
                f"{format_p(e.p_value, findings.permutations, e.test):<12} "
                f"{_q(e.q_value)}"
            )
            if kind != "main" and len(e.cells):
                row = e.cells.iloc[0]
                line += (
                    f"  [{_cell_phrase(e.parameters, row)}: "
                    f"{float(row['deviation']):+.2g}, n = {int(row['count']):,}]"
                )
            lines.append(line)
    return lines
