"""Which end of a metric is better: higher (accuracy) or lower (a loss)."""

from __future__ import annotations

import re
from typing import Literal

#: How labels say that a normalized metric has each group's lowest value at 1.
LOWER_NOTE = "1 = lowest"


def normalized_name(metric: str, lower_is_better: bool) -> str:
    """The normalized metric's name on labels: ``normalized acc``, or for a
    metric whose lower values are better ``normalized loss (1 = lowest)``."""
    return f"normalized {metric}" + (f" ({LOWER_NOTE})" if lower_is_better else "")


#: Tokens of a metric name saying that lower is better, or that higher is.
_LOWER_BETTER = frozenset(
    "loss err error mse mae rmse nll perplexity ppl wer cer cost regret "
    "time duration runtime seconds".split()
)
_HIGHER_BETTER = frozenset(
    "acc accuracy auc f1 precision recall bleu iou score map reward return dice "
    "r2 top1 top5".split()
)


#: Tokens that name an accuracy alone (timm's ``top1``) but only qualify an
#: error beside one (``top1_err``).
_QUALIFIERS = frozenset({"top1", "top5"})


def direction(metric: str) -> Literal["min", "max"] | None:
    """Whether lower (``min``) or higher (``max``) is better, from the name
    (None where it does not say, or says both)."""
    tokens = {t for t in re.split(r"[^a-z0-9]+", metric.lower()) if t}
    lower = bool(tokens & _LOWER_BETTER)
    higher = bool(tokens & (_HIGHER_BETTER - _QUALIFIERS if lower else _HIGHER_BETTER))
    if lower == higher:
        return None
    return "min" if lower else "max"
