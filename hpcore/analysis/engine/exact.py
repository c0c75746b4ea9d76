"""Error-free arithmetic for the engine's sums: double-double numbers, vectorized.

A double-double is a pair of float64 arrays ``(hi, lo)`` standing for the
exact sum ``hi + lo`` with ``|lo| <= ulp(hi) / 2`` (about 106 significant
bits). The engine keeps its running sums in this form so that the difference
of two running sums (a brush's sum) does not lose the digits the plain
float64 sum would keep (see the package docstring, "Exactness").

Knuth's TwoSum and Dekker's TwoProduct give the exact rounding error of one
addition or multiplication; the rest are the usual compositions of them.
"""

from __future__ import annotations

import numpy as np

#: Veltkamp's splitting constant ``2**27 + 1`` (see :func:`split`).
SPLITTER = 134217729.0

Pair = tuple[np.ndarray, np.ndarray]


def two_sum(a: np.ndarray, b: np.ndarray) -> Pair:
    """Knuth's TwoSum: ``s = fl(a + b)`` and the exact error ``e = a + b - s``."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def split(a: np.ndarray) -> Pair:
    """Veltkamp's split of ``a`` into two halves of 26 significant bits each."""
    c = SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_product(a: np.ndarray, b: np.ndarray) -> Pair:
    """Dekker's TwoProduct: ``p = fl(a * b)`` and the exact error ``e = a * b - p``.

    Exact for ``|a|, |b|`` below about 1e150 whose product does not underflow
    (the engine multiplies values in [0, 1] and counts; a product below
    1e-290 keeps an error of at most about 1e-300, far under any tolerance).
    """
    p = a * b
    a_hi, a_lo = split(a)
    b_hi, b_lo = split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def dd_add(
    a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray, b_lo: np.ndarray
) -> Pair:
    """``(a_hi + a_lo) + (b_hi + b_lo)`` as a normalized double-double."""
    s, e = two_sum(a_hi, b_hi)
    e = e + (a_lo + b_lo)
    return two_sum(s, e)


def dd_sub(
    a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray, b_lo: np.ndarray
) -> Pair:
    """``(a_hi + a_lo) - (b_hi + b_lo)`` as a normalized double-double."""
    return dd_add(a_hi, a_lo, -b_hi, -b_lo)


def dd_div(hi: np.ndarray, lo: np.ndarray, n: np.ndarray) -> Pair:
    """``(hi + lo) / n`` for float64 ``n > 0``, as a double-double.

    Where ``n`` is 0 the result is ``(nan, nan)``-free garbage the caller
    masks; callers divide by positive counts only.
    """
    q1 = hi / n
    p, p_err = two_product(q1, n)
    q2 = (((hi - p) - p_err) + lo) / n
    return two_sum(q1, q2)


def dd_square_over(hi: np.ndarray, lo: np.ndarray, n: np.ndarray) -> Pair:
    """``(hi + lo) ** 2 / n`` as a double-double (``n > 0``)."""
    p, e = two_product(hi, hi)
    e = e + 2.0 * hi * lo
    sq_hi, sq_lo = two_sum(p, e)
    return dd_div(sq_hi, sq_lo, n)


def dd_prefix(
    hi: np.ndarray, lo: np.ndarray, carry_hi: np.ndarray, carry_lo: np.ndarray
) -> Pair:
    """Inclusive running sums of double-double terms along axis 0.

    Row ``i`` of the result is ``carry + terms[0] + ... + terms[i]``. ``hi``
    of the result is the ordinary float64 running sum of ``hi``; its ``lo``
    the running sum of the exact rounding error of every addition (TwoSum)
    and of the terms' own ``lo``: together about 106 bits of the exact sum.
    """
    run = np.cumsum(np.concatenate([carry_hi[None], hi]), axis=0)
    prev, run = run[:-1], run[1:]
    s, e = two_sum(prev, hi)
    err = (s - run) + e + lo  # s == run: cumsum adds in order; kept exact if not
    tail = carry_lo[None] + np.cumsum(err, axis=0)
    return run, tail
