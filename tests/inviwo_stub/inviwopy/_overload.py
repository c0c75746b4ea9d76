"""pybind11-style overload resolution for the stand-in's constructors.

pybind11 tries a function's overloads in the order they were defined and calls
the first whose arguments all convert. Inviwo binds most property constructors
twice, with and without a ``help`` Document as the third argument, and there is
no implicit ``str -> Document`` conversion (INVIWO.md section 1), so:

- ``StringProperty("id", "Name", "text")`` picks the overload without help and
  ``"text"`` is the value;
- ``StringProperty("id", "Name", help="text")`` matches no overload and raises
  ``TypeError`` (pybind11 says "incompatible constructor arguments").

Each overload here is a list of :class:`Arg`; a value is accepted by a checker
function that mirrors the pybind11 type caster of the C++ parameter type.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

REQUIRED = object()


@dataclass(frozen=True)
class Arg:
    name: str
    check: Callable[[Any], bool]
    default: Any = REQUIRED
    type_name: str = "object"


def is_str(v: Any) -> bool:
    return isinstance(v, str)


def is_float(v: Any) -> bool:
    # pybind11's float caster converts any real number (PyNumber_Float), never a
    # str, None or a sequence.
    return isinstance(v, numbers.Real | np.floating | np.integer | np.bool_)


def is_int(v: Any) -> bool:
    # pybind11's integer caster rejects floats (it never truncates).
    return isinstance(v, numbers.Integral | np.integer) and not isinstance(v, float)


def is_bool(v: Any) -> bool:
    # no-convert pass: True/False/numpy.bool_; convert pass: anything with __bool__
    # that is a number (pybind11 bool caster uses nb_bool).
    return isinstance(v, bool | np.bool_ | numbers.Integral | np.integer)


def is_any(v: Any) -> bool:
    return True


def is_callable(v: Any) -> bool:
    return callable(v)


def is_instance(*types: type) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        return isinstance(v, types)

    return check


def is_pair(first: Callable[[Any], bool], second_type: type) -> Callable[[Any], bool]:
    """``std::pair<T, ConstraintBehavior>``: a 2-sequence, never a bare number."""

    def check(v: Any) -> bool:
        return (
            isinstance(v, tuple | list)
            and len(v) == 2
            and first(v[0])
            and isinstance(v[1], second_type)
        )

    return check


def is_list_of(item: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``std::vector<T>`` from any non-string sequence whose items all convert."""

    def check(v: Any) -> bool:
        if isinstance(v, str | bytes) or not isinstance(v, Sequence | np.ndarray):
            return False
        return all(item(x) for x in v)

    return check


def resolve(
    what: str,
    overloads: Sequence[Sequence[Arg]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """Bind ``args``/``kwargs`` to the first overload that accepts them all."""
    for params in overloads:
        bound = _bind(params, args, kwargs)
        if bound is not None:
            return bound
    sigs = "\n".join(
        f"    {i}. {what}({', '.join(f'{a.name}: {a.type_name}' for a in params)})"
        for i, params in enumerate(overloads, start=1)
    )
    given = ", ".join(
        [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    )
    raise TypeError(
        f"{what}(): incompatible constructor arguments. The following argument types "
        f"are supported:\n{sigs}\n\nInvoked with: {given}"
    )


def _bind(
    params: Sequence[Arg], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any] | None:
    if len(args) > len(params):
        return None
    names = [p.name for p in params]
    if any(k not in names for k in kwargs):
        return None
    bound: dict[str, Any] = {}
    for p, value in zip(params, args, strict=False):
        if p.name in kwargs:
            return None
        bound[p.name] = value
    for p in params[len(args) :]:
        if p.name in kwargs:
            bound[p.name] = kwargs[p.name]
        elif p.default is REQUIRED:
            return None
        else:
            bound[p.name] = p.default() if callable(p.default) else p.default
    for p in params:
        given = p.name in dict(zip(names, args, strict=False)) or p.name in kwargs
        if given and not p.check(bound[p.name]):
            return None
    return bound
