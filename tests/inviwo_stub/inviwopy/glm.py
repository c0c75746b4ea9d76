"""``inviwopy.glm``: the small vectors the processors touch.

Follows ``modules/python3/bindings/src/pyglmtypes.cpp``: vectors have ``x``,
``y`` members, index and iterate like sequences, and compare by value. The
component type is kept (``vec2`` is float32, ``dvec2`` float64, ``ivec2``
int32, ``size2_t`` uint64), so ``vec2(0.9).x`` is ``0.8999999761581421`` as in
Inviwo.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np


def xy(v: Any) -> tuple[Any, Any]:
    """The two components of a vector or of a 2-sequence (the stand-in's own
    code reads vectors through this: they are not iterable, see ``__iter__``)."""
    if isinstance(v, _Vec2):
        return v.x, v.y
    x, y = v
    return x, y


class _Vec2:
    dtype: ClassVar[type] = np.float32

    def __init__(self, *args: Any) -> None:
        if len(args) == 1 and isinstance(args[0], _Vec2 | tuple | list):
            x, y = xy(args[0])
        elif len(args) == 1:
            x = y = args[0]
        elif len(args) == 2:
            x, y = args
        elif not args:
            x = y = 0
        else:
            raise TypeError(f"{type(self).__name__}() takes 0, 1 or 2 arguments")
        if self.dtype in (np.int32, np.uint64, np.uint32) and (
            isinstance(x, float) or isinstance(y, float)
        ):
            raise TypeError(f"{type(self).__name__}(): integer components expected")
        self._v = np.array([x, y], dtype=self.dtype)

    @property
    def x(self) -> Any:
        return self._v[0].item()

    @x.setter
    def x(self, value: Any) -> None:
        self._v[0] = value

    @property
    def y(self) -> Any:
        return self._v[1].item()

    @y.setter
    def y(self, value: Any) -> None:
        self._v[1] = value

    @property
    def array(self) -> np.ndarray:
        return self._v.copy()

    def __getitem__(self, i: int) -> Any:
        return self._v[i].item()

    def __iter__(self) -> Iterator[Any]:
        # 0.9.11 binds __getitem__ without a range check and no __iter__ or
        # __len__: tuple(v) reads past the vector until memory runs out
        # (seen: a test grew to 13 GB inside Inviwo). Refuse it here.
        raise TypeError(
            f"{type(self).__name__} is not iterable in inviwopy (tuple() never "
            "ends there): use .x and .y, or .array"
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Vec2):
            return (self.x, self.y) == (other.x, other.y)
        if isinstance(other, tuple | list):
            return len(other) == 2 and (self.x, self.y) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.x, self.y))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.x}, {self.y})"


class vec2(_Vec2):
    dtype = np.float32


class dvec2(_Vec2):
    dtype = np.float64


class ivec2(_Vec2):
    dtype = np.int32


class size2_t(_Vec2):
    dtype = np.uint64


class uvec2(_Vec2):
    dtype = np.uint32
