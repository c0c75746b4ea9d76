"""Small checks shared by the public functions; each raises one clear HpcoreError."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Sequence

from .errors import DataSourceError, HpcoreError, SelectionError

_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_readable_kind(path: str | os.PathLike[str], what: str = "data file") -> None:
    """Refuse a path that is neither a regular file nor a folder: a named
    pipe blocked the reader for ever (it is read more than once: its type
    is sniffed first), and ``/dev/null`` was "not a W&B runs export"."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing or unreadable: the reader says why
        return
    for test, kind in _SPECIAL_FILES:
        if test(mode):
            raise DataSourceError(
                f"{what} {os.fspath(path)!r} is {kind}, not a file; give a file "
                "(or a folder of runs) saved on disk"
            )


def fmt_value(value: object) -> str:
    """``repr`` of a value as a user wrote it: numpy scalars as plain Python.

    ``np.float64(0.0034)`` -> ``0.0034``, ``np.False_`` -> ``False``.
    """
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    return repr(value)


def fmt_list(values: Iterable[object], limit: int = 20) -> str:
    """Render values as ``['a', 'b', ...]`` with at most ``limit`` shown."""
    items = [repr(str(v)) if not isinstance(v, str) else repr(v) for v in values]
    if len(items) > limit:
        items = [*items[:limit], f"... ({len(items) - limit} more)"]
    return "[" + ", ".join(items) + "]"


def check_one_of(
    name: str,
    value: object,
    allowed: Sequence[object],
    error: type[HpcoreError] = HpcoreError,
) -> None:
    """Raise ``error`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise error(
            f"`{name}` must be one of {fmt_list(allowed)}; got {fmt_value(value)}"
        )


def require_columns(
    columns: Iterable[str],
    available: Sequence[str],
    what: str,
    error: type[HpcoreError],
) -> None:
    """Raise ``error`` naming every column of ``columns`` missing from ``available``."""
    missing = [c for c in columns if c not in available]
    if missing:
        raise error(
            f"{what}: missing column(s) {fmt_list(missing)}; "
            f"available: {fmt_list(available, limit=40)}"
        )


def _not_a_number(value: object) -> bool:
    """Text and booleans (numpy's too), which float() would take."""
    kind = type(value)
    return isinstance(value, bool | str | bytes) or (
        kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
    )


def check_interval(name: str, value: object) -> tuple[float, float]:
    """Validate a closed sub-interval of [0, 1] given as a pair ``(lo, hi)``."""
    try:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise TypeError("not iterable")
        pair = list(value)
        if len(pair) != 2 or any(_not_a_number(v) for v in pair):
            raise ValueError("not a pair of numbers")
        lo, hi = float(pair[0]), float(pair[1])
    except (TypeError, ValueError) as err:
        raise SelectionError(
            f"`{name}` must be a pair (lo, hi) of numbers in [0, 1]; got {value!r}"
        ) from err
    if not all(0.0 <= v <= 1.0 for v in (lo, hi)):  # NaN too
        raise SelectionError(
            f"`{name}` must lie within [0, 1] on the normalized metric; "
            f"got ({lo:g}, {hi:g})"
        )
    if lo > hi:
        raise SelectionError(f"`{name}` must have lo <= hi; got lo={lo:g} > hi={hi:g}")
    return lo, hi
