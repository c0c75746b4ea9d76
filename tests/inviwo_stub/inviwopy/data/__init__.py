"""``inviwopy.data``: images, layers, the bit set and the image ports.

Sources (``inviwo/inviwo``):

- ``bindings/src/pyimage.cpp``: ``Image(layer)``, ``Image(size2_t, format)``,
  ``Image.dimensions``/``colorLayers``; ``Layer(LayerPy)``, ``Layer.swizzlemask``
  / ``interpolation`` / ``dimensions`` / ``data`` (shape ``(y, x[, c])``);
  ``LayerPy(data, layerType=Color, swizzleMask=rgba, interpolation=Linear,
  wrapping=clampAll)``; ``SwizzleMask.rgba`` ...; ``ImageOutport(identifier,
  help=Document())`` with ``dimensions``, ``setDimensions``,
  ``setHandleResizeEvents``.
- CHANGELOG 2023-03-24 / 2023-04-26: layer arrays must be C-contiguous, shape
  ``(y, x[, c])``; ``PythonImageExample.py`` flips images top-to-bottom
  because Inviwo's origin is the lower-left corner.
- ``src/core/ports/imageport.cpp``: an ``ImageOutport`` that handles resize
  events starts with a 1x1 image; ``setData`` from Python stores a *const*
  image, so a resize replaces it by a blank image of the requested size and
  invalidates the processor (``InvalidOutput``); ``dimensions`` is the size of
  the current image; the requested size is the largest of the connected
  inports' sizes.
- ``bindings/src/pybitset.cpp``: ``BitSet()``, ``BitSet(list)``; overloads in the
  order ``()``, ``(std::vector<bool>)``, ``(py::list)``: a list of bools, or any
  numpy array or tuple, is read as a *mask* (numpy integers by truthiness!),
  only a Python ``list`` of ints as indices.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any

import numpy as np

from .. import glm
from .._core import _PORT_ARGS, Inport, Outport
from .._overload import resolve
from ..doc import Document


class LayerType(Enum):
    Color = 0
    Depth = 1
    Picking = 2


class InterpolationType(Enum):
    Linear = 0
    Nearest = 1


class SwizzleMask:
    rgb: SwizzleMask
    rgba: SwizzleMask
    rgbZeroAlpha: SwizzleMask
    luminance: SwizzleMask
    luminanceAlpha: SwizzleMask
    redGreen: SwizzleMask
    depth: SwizzleMask

    def __init__(self, name: str = "rgba") -> None:
        self._name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SwizzleMask) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f"SwizzleMask.{self._name}"


for _name in (
    "rgb",
    "rgba",
    "rgbZeroAlpha",
    "luminance",
    "luminanceAlpha",
    "redGreen",
    "depth",
):
    setattr(SwizzleMask, _name, SwizzleMask(_name))

_FORMATS = {
    np.dtype(np.uint8),
    np.dtype(np.float32),
    np.dtype(np.float64),
    np.dtype(np.uint16),
}


class LayerPy:
    """A layer representation holding (not copying) a numpy array."""

    def __init__(
        self,
        data: np.ndarray,
        layerType: LayerType = LayerType.Color,
        swizzleMask: SwizzleMask | None = None,
        interpolation: InterpolationType = InterpolationType.Linear,
        wrapping: Any = None,
    ) -> None:
        if not isinstance(data, np.ndarray):
            raise TypeError("LayerPy(): data must be a numpy array")
        if data.ndim not in (2, 3) or (data.ndim == 3 and not 1 <= data.shape[2] <= 4):
            raise ValueError(
                "LayerPy(): expected shape (y, x) or (y, x, c) with c in 1..4; "
                f"got {data.shape}"
            )
        if not data.flags.c_contiguous:
            raise ValueError("LayerPy(): the array must be C-contiguous")
        if data.dtype not in _FORMATS:
            raise ValueError(f"LayerPy(): unsupported data format {data.dtype}")
        self._data = data
        self.layertype = layerType
        self.swizzleMask = swizzleMask if swizzleMask is not None else SwizzleMask.rgba
        self.interpolation = interpolation

    @property
    def data(self) -> np.ndarray:
        return self._data

    @property
    def dimensions(self) -> glm.size2_t:
        return glm.size2_t(int(self._data.shape[1]), int(self._data.shape[0]))


class Layer:
    """``Layer(LayerPy)`` or ``Layer(numpy array)``; ``data`` is ``(y, x[, c])``."""

    def __init__(self, source: LayerPy | np.ndarray) -> None:
        if isinstance(source, np.ndarray):
            source = LayerPy(np.ascontiguousarray(source))
        if not isinstance(source, LayerPy):
            raise TypeError("Layer(): expected a LayerPy or a numpy array")
        self._rep = source
        self.swizzlemask = source.swizzleMask
        self.interpolation = source.interpolation

    @property
    def layertype(self) -> LayerType:
        return self._rep.layertype

    @property
    def dimensions(self) -> glm.size2_t:
        return self._rep.dimensions

    @property
    def data(self) -> np.ndarray:
        return self._rep.data

    def getLayerPyRepresentation(self) -> LayerPy:
        return self._rep


class Image:
    """``Image(layer)`` or ``Image(size2_t, format=None)`` (a blank RGBA image)."""

    def __init__(
        self, arg: Layer | glm.size2_t | Iterable[int], fmt: Any = None
    ) -> None:
        if isinstance(arg, Layer):
            self._layers = [arg]
        else:
            w, h = (int(v) for v in glm.xy(arg))
            self._layers = [Layer(np.zeros((max(h, 0), max(w, 0), 4), dtype=np.uint8))]

    @property
    def dimensions(self) -> glm.size2_t:
        return self._layers[0].dimensions

    @property
    def colorLayers(self) -> list[Layer]:
        return list(self._layers)


# ------------------------------------------------------------------------ ports


class ImageOutport(Outport):
    """``ImageOutport(identifier, help=Document())``; see the module docstring."""

    _kind = "Image"
    _class_identifier = "org.inviwo.Image.outport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve("ImageOutport", [_PORT_ARGS], args, kwargs)
        super().__init__(a["identifier"], a["help"])
        self._handle_resize = True
        self._requested: dict[int, tuple[int, int]] = {}
        self._data = Image(glm.size2_t(1, 1))

    @property
    def dimensions(self) -> glm.size2_t:
        if self._data is None:
            return glm.size2_t(0, 0)
        return self._data.dimensions

    def setDimensions(self, dims: Any) -> None:
        w, h = (int(v) for v in glm.xy(dims))
        if self._data is None or glm.xy(self.dimensions) != (w, h):
            self._data = Image(glm.size2_t(w, h))
            self._changed()

    def setHandleResizeEvents(self, handle: bool) -> None:
        self._handle_resize = bool(handle)

    def setData(self, data: Any) -> None:
        if not isinstance(data, Image):
            raise TypeError(
                f"ImageOutport.setData(): expected an Image; got {type(data).__name__}"
            )
        super().setData(data)

    def _resize_request(self, inport: Inport, size: tuple[int, int]) -> None:
        """A ResizeEvent from ``inport`` (``ImageOutport::propagateEvent``)."""
        self._requested[id(inport)] = size
        largest = max(self._requested.values(), key=lambda s: s[0] * s[1])
        if self._handle_resize:
            self.setDimensions(largest)
            if self._processor is not None:
                from .._core import InvalidationLevel

                self._processor.invalidate(InvalidationLevel.InvalidOutput)


class ImageInport(Inport):
    """``ImageInport(identifier, help=Document())``; ``getData``, ``hasData``."""

    _kind = "Image"
    _class_identifier = "org.inviwo.Image.inport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve("ImageInport", [_PORT_ARGS], args, kwargs)
        super().__init__(a["identifier"], a["help"])

    def hasData(self) -> bool:
        out = self.getConnectedOutport()
        return out is not None and out.hasData()

    def getData(self) -> Image | None:
        out = self.getConnectedOutport()
        return None if out is None else out.getData()


# ---------------------------------------------------------------------- bit set


class BitSet:
    """A set of uint32 indices (roaring bitmap in Inviwo)."""

    def __init__(self, arg: Any = None) -> None:
        if arg is None:
            values: Iterable[int] = ()
        elif isinstance(arg, list) and not all(
            isinstance(x, bool | np.bool_) for x in arg
        ):
            values = _uint32s(arg)
        elif isinstance(arg, list | tuple | np.ndarray):
            # std::vector<bool>: position i is in the set when item i is truthy
            values = [i for i, x in enumerate(arg) if bool(x)]
        else:
            raise TypeError("BitSet(): incompatible constructor arguments")
        self._set: set[int] = set(values)

    def cardinality(self) -> int:
        return len(self._set)

    def size(self) -> int:
        return len(self._set)

    def empty(self) -> bool:
        return not self._set

    def clear(self) -> None:
        self._set.clear()

    def add(self, values: Any) -> None:
        self._set.update(i for i, x in enumerate(values) if bool(x))

    def addChecked(self, value: int) -> bool:
        v = _uint32(value)
        new = v not in self._set
        self._set.add(v)
        return new

    def remove(self, value: int) -> None:
        self._set.discard(int(value))

    def contains(self, value: int) -> bool:
        return int(value) in self._set

    def flip(self, start: int, end: int) -> None:
        self._set ^= set(range(int(start), int(end)))

    def min(self) -> int:
        return min(self._set)

    def max(self) -> int:
        return max(self._set)

    def toVector(self) -> list[int]:
        return sorted(self._set)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._set))

    def __len__(self) -> int:
        return len(self._set)

    def __contains__(self, value: object) -> bool:
        return value in self._set

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BitSet) and other._set == self._set

    def __hash__(self) -> int:  # pragma: no cover - unhashable in Inviwo, fine here
        return hash(frozenset(self._set))

    def _op(self, other: BitSet, result: set[int]) -> BitSet:
        out = BitSet()
        out._set = result
        return out

    def __and__(self, other: BitSet) -> BitSet:
        return self._op(other, self._set & other._set)

    def __or__(self, other: BitSet) -> BitSet:
        return self._op(other, self._set | other._set)

    def __sub__(self, other: BitSet) -> BitSet:
        return self._op(other, self._set - other._set)

    def __xor__(self, other: BitSet) -> BitSet:
        return self._op(other, self._set ^ other._set)

    def __repr__(self) -> str:
        return f"BitSet({sorted(self._set)[:10]}{'...' if len(self._set) > 10 else ''})"


def _uint32s(items: list[Any]) -> list[int]:
    """``std::vector<uint32_t>`` from a list: Python ints in range (checked as
    a whole when numpy reads them as integers, item by item otherwise)."""
    array = np.asarray(items)  # (an empty list reads as floats: no items to check)
    if array.dtype.kind in "iu":
        if array.min() < 0 or array.max() >= 2**32:
            bad = array[(array < 0) | (array >= 2**32)][0]
            raise TypeError(f"BitSet(): {bad} does not fit in uint32")
        out: list[int] = array.tolist()
        return out
    return [_uint32(x) for x in items]


def _uint32(x: Any) -> int:
    if isinstance(x, bool) or not isinstance(x, int | np.integer):
        raise TypeError(f"BitSet(): expected unsigned integers; got {x!r}")
    if not 0 <= int(x) < 2**32:
        raise TypeError(f"BitSet(): {x} does not fit in uint32")
    return int(x)


__all__ = [
    "BitSet",
    "Document",
    "Image",
    "ImageInport",
    "ImageOutport",
    "InterpolationType",
    "Layer",
    "LayerPy",
    "LayerType",
    "SwizzleMask",
]
