"""``inviwopy.properties``: the properties the processors use.

Constructors follow the bindings overload by overload (pybind11 tries them in
order, see :mod:`inviwopy._overload`):

- ``bindings/src/pyproperties.cpp`` (2022-2025): ``Property`` members,
  ``StringProperty`` ``(identifier, displayName, help, value="")`` then
  ``(identifier, displayName, value="")`` - ``help`` has *no* default, so a
  bare third ``str`` is the value; ``FileProperty`` ``(identifier,
  displayName, help=Document(), value="", contentType="default")`` then without
  help; ``BoolProperty`` ``(identifier, displayName, help=Document(),
  value=False)`` then without help; all ``invalidationLevel=InvalidOutput``.
- ``properties/pyordinalproperties.cpp``: ``IntProperty``/``FloatProperty``
  ``(identifier, name, value, min, max, increment)`` with plain bounds, then
  ``(identifier, name, help=Document(), value, min=(v, ConstraintBehavior),
  max=(v, ConstraintBehavior), increment)`` - with ``help`` the bounds must be
  pairs; defaults from ``Defaultvalues<T>`` (int: 0, 0..100, 1; float: 0,
  0..1, 0.01), so a value above 100 without ``max=`` is clamped to 100.
- ``properties/pyminmaxproperties.cpp`` (2025): ``FloatMinMaxProperty``
  ``(identifier, name, help, valueMin, valueMax, rangeMin, rangeMax, increment,
  minSeparation)`` (help required) then without help; ``.value`` is a
  ``glm.vec2`` (float32, x=lo, y=hi); ``validateValues`` swaps, clamps to the
  range and keeps ``minSeparation`` (``include/inviwo/core/properties/
  minmaxproperty.h``).
- ``properties/pyoptionproperties.cpp``: ``OptionPropertyString`` ``(identifier,
  name, help=Document(), options=[], selectedIndex=0)`` then without help;
  ``StringOption(id, name, value)``; ``replaceOptions(ids, names, values)``
  keeps the selected identifier when it is still an option, else selects
  index 0 (``include/inviwo/core/properties/optionproperty.h``);
  ``selectedIdentifier = x`` for an unknown ``x`` changes nothing.

Every change of a value marks the property modified, calls its ``onChange``
callbacks and invalidates its owner with the property's invalidation level.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from . import glm
from ._core import InvalidationLevel, validate_identifier
from ._overload import (
    REQUIRED,
    Arg,
    is_any,
    is_bool,
    is_float,
    is_instance,
    is_int,
    is_list_of,
    is_pair,
    is_str,
    resolve,
)
from .doc import Document

__all__ = [
    "BoolProperty",
    "CompositeProperty",
    "ConstraintBehavior",
    "DoubleMinMaxProperty",
    "FileProperty",
    "FloatMinMaxProperty",
    "FloatProperty",
    "FontProperty",
    "IntOption",
    "IntProperty",
    "IntSize2Property",
    "InvalidationLevel",
    "OptionPropertyInt",
    "OptionPropertyString",
    "Property",
    "PropertySemantics",
    "StringOption",
    "StringProperty",
]


class ConstraintBehavior(Enum):
    Editable = 0
    Mutable = 1
    Immutable = 2
    Ignore = 3


class PropertySemantics:
    """``PropertySemantics(str)``; ``Default``, ``Text``, ``Multiline`` ..."""

    Default: PropertySemantics
    Text: PropertySemantics
    Multiline: PropertySemantics
    TextEditor: PropertySemantics

    def __init__(self, semantic: str = "Default") -> None:
        self._s = semantic

    def getString(self) -> str:
        return self._s

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PropertySemantics) and other._s == self._s

    def __hash__(self) -> int:
        return hash(self._s)


PropertySemantics.Default = PropertySemantics("Default")
PropertySemantics.Text = PropertySemantics("Text")
PropertySemantics.Multiline = PropertySemantics("Multiline")
PropertySemantics.TextEditor = PropertySemantics("TextEditor")

_DOC = Arg("help", is_instance(Document), Document, "Document")
_DOC_REQUIRED = Arg("help", is_instance(Document), REQUIRED, "Document")
_LEVEL = Arg(
    "invalidationLevel",
    is_instance(InvalidationLevel),
    InvalidationLevel.InvalidOutput,
    "InvalidationLevel",
)
_SEM = Arg(
    "semantics",
    is_instance(PropertySemantics),
    PropertySemantics.Default,
    "PropertySemantics",
)


class Property:
    """Base class: identifier, displayName, readOnly, visible, semantics, ..."""

    _class_identifier = "org.inviwo.Property"

    def __init__(
        self,
        identifier: str,
        display_name: str,
        help: Document,
        level: InvalidationLevel,
        semantics: PropertySemantics,
    ) -> None:
        validate_identifier(identifier, "Property")
        self._identifier = identifier
        self.displayName = display_name
        self.help = help
        self.invalidationLevel = level
        self.semantics = semantics
        self.readOnly = False
        self.visible = True
        self._modified = False
        self._callbacks: list[Callable[[], None]] = []
        self._owner: Any = None
        self._default: Any = None

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def classIdentifier(self) -> str:
        return self._class_identifier

    @property
    def path(self) -> str:
        owner = getattr(self._owner, "identifier", None)
        return f"{owner}.{self._identifier}" if owner else self._identifier

    @property
    def isModified(self) -> bool:
        return self._modified

    def onChange(self, func: Callable[[], None]) -> None:
        self._callbacks.append(func)

    def setCurrentStateAsDefault(self) -> None:
        self._default = self._state()

    def resetToDefaultState(self) -> None:
        if self._default is not None:
            self._restore(self._default)

    # stand-in internals
    def _state(self) -> Any:
        raise NotImplementedError

    def _restore(self, state: Any) -> None:
        raise NotImplementedError

    def _property_modified(self) -> None:
        # As ``Property::propertyModified``: under a ``NetworkLock``, so the
        # links are followed and the owners invalidated before the network
        # evaluates once, when the lock is released.
        network = getattr(self._owner, "_network", None)
        if network is not None:
            network.lock()
        try:
            self._modified = True
            for func in list(self._callbacks):
                func()
            if self._owner is not None:
                self._owner.invalidate(self.invalidationLevel, self)
        finally:
            if network is not None:
                network.unlock()

    def _set_valid(self) -> None:
        self._modified = False


class CompositeProperty(Property):
    """``CompositeProperty(identifier, displayName)``; the stand-in keeps the
    child properties a workspace creates in it (``owned``: identifier ->
    whether its ``checked`` child is on, for a ``BoolCompositeProperty`` such
    as Parallel Coordinates' axes)."""

    _class_identifier = "org.inviwo.CompositeProperty"

    def __init__(self, identifier: str, displayName: str) -> None:
        super().__init__(
            identifier,
            displayName,
            Document(),
            InvalidationLevel.InvalidOutput,
            PropertySemantics.Default,
        )
        self.owned: dict[str, bool] = {}
        #: Values a workspace set on its (not owned) children, as written.
        self.values: dict[str, str] = {}

    def _state(self) -> Any:
        return dict(self.owned), dict(self.values)

    def _restore(self, state: Any) -> None:
        self.owned, self.values = dict(state[0]), dict(state[1])


class FontProperty(CompositeProperty):
    """``FontProperty`` (fontrendering module): fontFace, fontSize, ..."""

    _class_identifier = "org.inviwo.FontProperty"


class _ValueProperty(Property):
    """A property holding one value, set through ``.value``."""

    def __init__(self, a: dict[str, Any], value: Any) -> None:
        super().__init__(
            a["identifier"],
            a.get("displayName", a.get("name", "")),
            a["help"],
            a["invalidationLevel"],
            a["semantics"],
        )
        self._value = value
        self.setCurrentStateAsDefault()

    @property
    def value(self) -> Any:
        return self._get()

    @value.setter
    def value(self, new: Any) -> None:
        new = self._convert(new)
        if not self._equal(new, self._value):
            self._value = new
            self._property_modified()

    def _get(self) -> Any:
        return self._value

    def _convert(self, new: Any) -> Any:
        return new

    def _equal(self, a: Any, b: Any) -> bool:
        return bool(a == b)

    def _state(self) -> Any:
        return self._value

    def _restore(self, state: Any) -> None:
        self.value = state

    def __repr__(self) -> str:
        return repr(self._get())


# ----------------------------------------------------------------- simple types


class StringProperty(_ValueProperty):
    _class_identifier = "org.inviwo.StringProperty"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        base = [
            Arg("identifier", is_str, type_name="str"),
            Arg("displayName", is_str, type_name="str"),
        ]
        a = resolve(
            "StringProperty",
            [
                [*base, _DOC_REQUIRED, Arg("value", is_str, "", "str"), _LEVEL, _SEM],
                [*base, Arg("value", is_str, "", "str"), _LEVEL, _SEM],
            ],
            args,
            kwargs,
        )
        a.setdefault("help", Document())
        super().__init__(a, a["value"])

    def _convert(self, new: Any) -> Any:
        if not isinstance(new, str):
            raise TypeError(
                f"StringProperty.value: expected str; got {type(new).__name__}"
            )
        return new


class FileProperty(_ValueProperty):
    """``.value`` is a ``pathlib.Path`` (INVIWO.md sec. 1); ``""`` -> ``Path("")``."""

    _class_identifier = "org.inviwo.FileProperty"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        base = [
            Arg("identifier", is_str, type_name="str"),
            Arg("displayName", is_str, type_name="str"),
        ]
        tail = [
            Arg("value", is_instance(str, os.PathLike), "", "os.PathLike"),
            Arg("contentType", is_str, "default", "str"),
            _LEVEL,
            _SEM,
        ]
        a = resolve(
            type(self).__name__, [[*base, _DOC, *tail], [*base, *tail]], args, kwargs
        )
        a.setdefault("help", Document())
        super().__init__(a, Path(a["value"]))
        self.contentType = a["contentType"]
        self._filters: list[str] = []

    def _convert(self, new: Any) -> Any:
        if not isinstance(new, str | os.PathLike):
            raise TypeError(
                f"FileProperty.value: expected a path; got {type(new).__name__}"
            )
        return Path(new)

    def addNameFilter(self, name_filter: str) -> None:
        self._filters.append(str(name_filter))

    def getNameFilters(self) -> list[str]:
        return list(self._filters)


class BoolProperty(_ValueProperty):
    _class_identifier = "org.inviwo.BoolProperty"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        base = [
            Arg("identifier", is_str, type_name="str"),
            Arg("displayName", is_str, type_name="str"),
        ]
        tail = [Arg("value", is_bool, False, "bool"), _LEVEL, _SEM]
        a = resolve(
            "BoolProperty", [[*base, _DOC, *tail], [*base, *tail]], args, kwargs
        )
        a.setdefault("help", Document())
        super().__init__(a, bool(a["value"]))

    def _convert(self, new: Any) -> Any:
        return bool(new)

    def __bool__(self) -> bool:
        return bool(self._value)


# -------------------------------------------------------------------- ordinals


class IntSize2Property(_ValueProperty):
    """``IntSize2Property``: a ``glm.size2_t`` value (here only as a canvas'
    ``inputSize.dimensions``, which Python sets with a ``size2_t``)."""

    _class_identifier = "org.inviwo.IntSize2Property"

    def __init__(self, identifier: str, displayName: str, value: Any) -> None:
        super().__init__(
            {
                "identifier": identifier,
                "displayName": displayName,
                "help": Document(),
                "invalidationLevel": InvalidationLevel.Valid,
                "semantics": PropertySemantics.Default,
            },
            glm.size2_t(value),
        )

    def _convert(self, new: Any) -> Any:
        if not isinstance(new, glm.size2_t):
            raise TypeError(
                f"{self.path}.value: incompatible type; expected a glm.size2_t, "
                f"got {type(new).__name__}"
            )
        return glm.size2_t(new.x, new.y)


class _OrdinalProperty(_ValueProperty):
    _defaults: tuple[Any, Any, Any, Any]
    _check: Callable[[Any], bool]
    _cast: Callable[[Any], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        val, lo, hi, inc = self._defaults
        check = type(self)._check
        cb = ConstraintBehavior.Editable
        base = [
            Arg("identifier", is_str, type_name="str"),
            Arg("name", is_str, type_name="str"),
        ]
        plain = [
            Arg("value", check, val, "T"),
            Arg("min", check, lo, "T"),
            Arg("max", check, hi, "T"),
            Arg("increment", check, inc, "T"),
            _LEVEL,
            _SEM,
        ]
        paired = [
            Arg("value", check, val, "T"),
            Arg(
                "min",
                is_pair(check, ConstraintBehavior),
                (lo, cb),
                "tuple[T, ConstraintBehavior]",
            ),
            Arg(
                "max",
                is_pair(check, ConstraintBehavior),
                (hi, cb),
                "tuple[T, ConstraintBehavior]",
            ),
            Arg("increment", check, inc, "T"),
            _LEVEL,
            _SEM,
        ]
        a = resolve(
            type(self).__name__,
            [[*base, *plain], [*base, _DOC, *paired], [*base, *paired]],
            args,
            kwargs,
        )
        a.setdefault("help", Document())
        lo_v, hi_v = a["min"], a["max"]
        self._min, self._min_cb = lo_v if isinstance(lo_v, tuple | list) else (lo_v, cb)
        self._max, self._max_cb = hi_v if isinstance(hi_v, tuple | list) else (hi_v, cb)
        self.increment = a["increment"]
        cast = type(self)._cast
        super().__init__(a, self._clamp(cast(a["value"])))

    @property
    def minValue(self) -> Any:
        return self._min

    @property
    def maxValue(self) -> Any:
        return self._max

    def _clamp(self, v: Any) -> Any:
        if self._min_cb != ConstraintBehavior.Ignore:
            v = max(v, self._min)
        if self._max_cb != ConstraintBehavior.Ignore:
            v = min(v, self._max)
        return v

    def _convert(self, new: Any) -> Any:
        if not type(self)._check(new):
            raise TypeError(f"{type(self).__name__}.value: got {type(new).__name__}")
        return self._clamp(type(self)._cast(new))


class IntProperty(_OrdinalProperty):
    _class_identifier = "org.inviwo.IntProperty"
    _defaults = (0, 0, 100, 1)
    _check = staticmethod(is_int)
    _cast = staticmethod(int)


class FloatProperty(_OrdinalProperty):
    _class_identifier = "org.inviwo.FloatProperty"
    _defaults = (0.0, 0.0, 1.0, 0.01)
    _check = staticmethod(is_float)
    _cast = staticmethod(lambda v: float(np.float32(v)))


# -------------------------------------------------------------------- min-max


class _MinMaxProperty(Property):
    _vec: type = glm.vec2
    _dtype: Any = np.float32

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        base = [
            Arg("identifier", is_str, type_name="str"),
            Arg("name", is_str, type_name="str"),
        ]
        tail = [
            Arg("valueMin", is_float, 0.0, "float"),
            Arg("valueMax", is_float, 1.0, "float"),
            Arg("rangeMin", is_float, 0.0, "float"),
            Arg("rangeMax", is_float, 1.0, "float"),
            Arg("increment", is_float, 0.01, "float"),
            Arg("minSeparation", is_float, 0.0, "float"),
            _LEVEL,
            _SEM,
        ]
        a = resolve(
            type(self).__name__,
            [[*base, _DOC_REQUIRED, *tail], [*base, *tail]],
            args,
            kwargs,
        )
        super().__init__(
            a["identifier"],
            a["name"],
            a.get("help", Document()),
            a["invalidationLevel"],
            a["semantics"],
        )
        t = self._dtype
        self._range = (t(a["rangeMin"]), t(a["rangeMax"]))
        self.increment = float(t(a["increment"]))
        self.minSeparation = float(t(a["minSeparation"]))
        self._value = self._validate(t(a["valueMin"]), t(a["valueMax"]))
        self.setCurrentStateAsDefault()

    def _validate(self, x: Any, y: Any) -> tuple[Any, Any]:
        lo, hi = self._range
        x, y = min(max(x, lo), hi), min(max(y, lo), hi)
        if x > y:
            x, y = y, x
        sep = self._dtype(self.minSeparation)
        if abs(y - x) < sep:
            if x + sep <= hi:
                y = max(x + sep, y)
            else:
                y, x = hi, hi - sep
        return self._dtype(x), self._dtype(y)

    @property
    def value(self) -> Any:
        return self._vec(float(self._value[0]), float(self._value[1]))

    @value.setter
    def value(self, new: Any) -> None:
        if not isinstance(new, glm._Vec2) and (
            not isinstance(new, tuple | list) or len(new) != 2
        ):
            raise TypeError(f"{type(self).__name__}.value: expected a vec2")
        x, y = glm.xy(new)
        validated = self._validate(self._dtype(x), self._dtype(y))
        if validated != self._value:
            self._value = validated
            self._property_modified()

    @property
    def start(self) -> float:
        return float(self._value[0])

    @property
    def end(self) -> float:
        return float(self._value[1])

    @property
    def rangeMin(self) -> float:
        return float(self._range[0])

    @property
    def rangeMax(self) -> float:
        return float(self._range[1])

    @property
    def range(self) -> Any:
        return self._vec(float(self._range[0]), float(self._range[1]))

    def _state(self) -> Any:
        return self._value

    def _restore(self, state: Any) -> None:
        self.value = (state[0], state[1])

    def __repr__(self) -> str:
        return repr(self.value)


class FloatMinMaxProperty(_MinMaxProperty):
    _class_identifier = "org.inviwo.FloatMinMaxProperty"
    _vec = glm.vec2
    _dtype = np.float32


class DoubleMinMaxProperty(_MinMaxProperty):
    _class_identifier = "org.inviwo.DoubleMinMaxProperty"
    _vec = glm.dvec2
    _dtype = np.float64


# ---------------------------------------------------------------------- options


class _Option:
    _value_check: Callable[[Any], bool] = is_any

    def __init__(self, *args: Any) -> None:
        if not args:
            self.id, self.name, self.value = "", "", self._empty()
            return
        if len(args) != 3 or not is_str(args[0]) or not is_str(args[1]):
            raise TypeError(f"{type(self).__name__}(id: str, name: str, value)")
        if not type(self)._value_check(args[2]):
            raise TypeError(f"{type(self).__name__}: bad value {args[2]!r}")
        self.id, self.name, self.value = args

    def _empty(self) -> Any:
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Option) and (self.id, self.name, self.value) == (
            other.id,
            other.name,
            other.value,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r}, {self.name!r}, {self.value!r})"


class StringOption(_Option):
    _value_check = staticmethod(is_str)

    def _empty(self) -> Any:
        return ""


class IntOption(_Option):
    _value_check = staticmethod(is_int)

    def _empty(self) -> Any:
        return 0


class _OptionProperty(Property):
    _option: type[_Option] = _Option

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        base = [
            Arg("identifier", is_str, type_name="str"),
            Arg("name", is_str, type_name="str"),
        ]
        tail = [
            Arg(
                "options",
                is_list_of(is_instance(self._option)),
                list,
                f"list[{self._option.__name__}]",
            ),
            Arg("selectedIndex", is_int, 0, "int"),
            _LEVEL,
            _SEM,
        ]
        a = resolve(
            type(self).__name__, [[*base, _DOC, *tail], [*base, *tail]], args, kwargs
        )
        super().__init__(
            a["identifier"],
            a["name"],
            a.get("help", Document()),
            a["invalidationLevel"],
            a["semantics"],
        )
        self._options: list[_Option] = list(a["options"])
        self._selected = min(a["selectedIndex"], max(len(self._options) - 1, 0))
        self.setCurrentStateAsDefault()

    # members of BaseOptionProperty
    @property
    def size(self) -> int:
        return len(self._options)

    @property
    def identifiers(self) -> list[str]:
        return [o.id for o in self._options]

    @property
    def displayNames(self) -> list[str]:
        return [o.name for o in self._options]

    @property
    def values(self) -> list[Any]:
        return [o.value for o in self._options]

    @property
    def selectedIndex(self) -> int:
        return self._selected

    @selectedIndex.setter
    def selectedIndex(self, index: int) -> None:
        if index != self._selected and 0 <= index < len(self._options):
            self._selected = index
            self._property_modified()

    def _current(self) -> _Option:
        if not self._options:
            raise IndexError(
                f"option property {self.identifier!r} has no options (Inviwo asserts)"
            )
        return self._options[self._selected]

    @property
    def selectedIdentifier(self) -> str:
        return self._current().id

    @selectedIdentifier.setter
    def selectedIdentifier(self, identifier: str) -> None:
        for i, o in enumerate(self._options):
            if o.id == identifier:
                self.selectedIndex = i
                return

    @property
    def selectedDisplayName(self) -> str:
        return self._current().name

    @property
    def selectedValue(self) -> Any:
        return self._current().value

    @property
    def value(self) -> Any:
        return self._current().value

    @value.setter
    def value(self, new: Any) -> None:
        for i, o in enumerate(self._options):
            if o.value == new:
                self.selectedIndex = i
                return

    def addOption(self, identifier: str, displayName: str, value: Any) -> None:
        self._options.append(self._option(identifier, displayName, value))
        if len(self._options) == 1:
            self._selected = 0
        self._property_modified()

    def removeOption(self, key: int | str) -> None:
        if not self._options:
            return
        selected = self._current().id
        if isinstance(key, int):
            del self._options[key]
        else:
            self._options = [o for o in self._options if o.id != key]
        ids = self.identifiers
        self._selected = ids.index(selected) if selected in ids else 0
        self._property_modified()

    def replaceOptions(self, *args: Any) -> None:
        """``replaceOptions(ids, displayNames, values)`` or ``([Option])``."""
        selected = self._current().id if self._options else ""
        if len(args) == 3:
            ids, names, values = args
            if not (is_list_of(is_str)(ids) and is_list_of(is_str)(names)):
                raise TypeError(
                    "replaceOptions(ids: list[str], displayNames: list[str], values)"
                )
            self._options = [
                self._option(i, n, v)
                for i, n, v in zip(ids, names, values, strict=False)
            ]
        elif len(args) == 1 and is_list_of(is_instance(self._option))(args[0]):
            self._options = list(args[0])
        else:
            raise TypeError("replaceOptions(): incompatible function arguments")
        ids = self.identifiers
        self._selected = ids.index(selected) if selected in ids else 0
        self._property_modified()

    def _state(self) -> Any:
        return (list(self._options), self._selected)

    def _restore(self, state: Any) -> None:
        self._options, self._selected = list(state[0]), state[1]
        self._property_modified()

    def __repr__(self) -> str:
        return repr(self.value) if self._options else "<no options>"


class OptionPropertyString(_OptionProperty):
    _class_identifier = "org.inviwo.OptionPropertyString"
    _option = StringOption


class OptionPropertyInt(_OptionProperty):
    _class_identifier = "org.inviwo.OptionPropertyInt"
    _option = IntOption
