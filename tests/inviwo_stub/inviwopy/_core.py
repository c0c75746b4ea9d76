"""Ports, processors and invalidation: the core of the stand-in.

Sources (``inviwo/inviwo`` unless noted):

- ports: ``bindings/src/pyport.cpp`` (Port/Inport/Outport members,
  ``PythonInport``/``PythonOutport`` with ``(identifier, help=Document())``),
  ``include/modules/python3/pythonoutport.h`` / ``pythoninport.h`` (class
  identifiers ``org.inviwo.pythonoutport`` / ``org.inviwo.pythoninport``, one
  connection per inport, ``getData()`` is None when unconnected);
- processors: ``bindings/src/pyprocessors.cpp`` (``Processor(identifier,
  displayName)``, ``addInport/addOutport(port, group="default", owner=...)``,
  ``inports``/``outports`` wrappers, ``ProcessorInfo`` keywords),
  ``src/core/processors/processor.cpp`` (``allInportsAreReady``: every inport
  ready *or optional*; ``invalidate`` invalidates the outports; ``setValid``);
- property owners: ``bindings/src/pypropertyowner.cpp``.

The evaluation of a network (which processors run, in which order) lives in
:mod:`inviwopy._network`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from ._overload import Arg, is_instance, is_str, resolve
from .doc import Document

if TYPE_CHECKING:
    from ._network import ProcessorNetwork
    from .properties import Property

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def validate_identifier(identifier: str, what: str) -> None:
    """Inviwo rejects identifiers with spaces, dots and other separators."""
    if not isinstance(identifier, str) or not _IDENTIFIER.match(identifier):
        raise ValueError(
            f"{what} identifier {identifier!r} is not valid: use letters, digits, "
            "'_' and '-' only, not starting with a digit"
        )


class InvalidationLevel(Enum):
    """``inviwopy.properties.InvalidationLevel`` (``pyproperties.cpp``)."""

    Valid = 0
    InvalidOutput = 1
    InvalidResources = 2


class _IdentifierWrapper:
    """``VectorIdentifierWrapper``: index by position or identifier, or attribute."""

    def __init__(self, items: Sequence[Any]) -> None:
        self._items = list(items)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            for item in self._items:
                if item.identifier == key:
                    return item
            raise KeyError(key)
        return self._items[key]

    def __getattr__(self, name: str) -> Any:
        for item in self.__dict__.get("_items", []):
            if item.identifier == name:
                return item
        raise AttributeError(name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return any(item.identifier == key for item in self._items)


# ------------------------------------------------------------------------ ports


class Port:
    """Base of all ports: ``identifier``, ``processor``, ``classIdentifier``."""

    #: The data a port carries; only ports of the same kind connect.
    _kind: str = "port"
    _class_identifier: str = "org.inviwo.Port"

    def __init__(self, identifier: str, help: Document | None = None) -> None:
        validate_identifier(identifier, "Port")
        self._identifier = identifier
        self._help = help if help is not None else Document()
        self._processor: Processor | None = None

    @property
    def identifier(self) -> str:
        return self._identifier

    @property
    def processor(self) -> Processor | None:
        return self._processor

    @property
    def classIdentifier(self) -> str:
        return self._class_identifier

    def isConnected(self) -> bool:
        raise NotImplementedError

    def isReady(self) -> bool:
        raise NotImplementedError


class Outport(Port):
    """``Outport``: ``hasData``, ``clear``, connected inports.

    ``isReady()`` follows the processor status of newer Inviwo: an outport is
    ready when it has data and its processor is ready.
    """

    def __init__(self, identifier: str, help: Document | None = None) -> None:
        super().__init__(identifier, help)
        self._data: Any = None
        self._version = 0
        self._inports: list[Inport] = []

    def isConnected(self) -> bool:
        return bool(self._inports)

    def isConnectedTo(self, inport: Inport) -> bool:
        return inport in self._inports

    def getConnectedInports(self) -> list[Inport]:
        return list(self._inports)

    def hasData(self) -> bool:
        return self._data is not None

    def isReady(self) -> bool:
        return self.hasData() and (self._processor is None or self._processor.isReady())

    def getData(self) -> Any:
        return self._data

    def setData(self, data: Any) -> None:
        self._data = data
        self._changed()

    def clear(self) -> None:
        self._data = None
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        for inport in self._inports:
            inport._outport_changed()


class Inport(Port):
    """``Inport``: ``optional``, ``isChanged``, connections (``pyport.cpp``)."""

    _max_connections = 1

    def __init__(self, identifier: str, help: Document | None = None) -> None:
        super().__init__(identifier, help)
        self._optional = False
        self._outports: list[Outport] = []
        self._seen: dict[int, int] = {}

    @property
    def optional(self) -> bool:
        return self._optional

    @optional.setter
    def optional(self, value: bool) -> None:
        self._optional = bool(value)

    def isConnected(self) -> bool:
        return bool(self._outports)

    def _full(self) -> bool:
        return len(self._outports) >= self._max_connections

    def isReady(self) -> bool:
        return self.isConnected() and all(o.isReady() for o in self._outports)

    def canConnectTo(self, port: Port) -> bool:
        return isinstance(port, Outport) and port._kind == self._kind

    def connectTo(self, outport: Outport) -> None:
        if not self.canConnectTo(outport):
            raise ValueError(
                f"cannot connect {outport.classIdentifier} to {self.classIdentifier}"
            )
        if outport in self._outports:
            return
        if self._full():
            # ``DataInport::connectTo``: a single inport is not replaced
            raise RuntimeError("Trying to connect to a full port.")
        self._outports.append(outport)
        outport._inports.append(self)
        self._outport_changed()

    def disconnectFrom(self, outport: Outport) -> None:
        if outport in self._outports:
            self._outports.remove(outport)
            outport._inports.remove(self)
            self._outport_changed()

    def isConnectedTo(self, outport: Outport) -> bool:
        return outport in self._outports

    def getConnectedOutport(self) -> Outport | None:
        return self._outports[0] if self._outports else None

    def getConnectedOutports(self) -> list[Outport]:
        # bound in 0.9.11, but its std::vector<Outport*> does not convert
        raise TypeError(
            "Unable to convert function return value to a Python type! The "
            "signature was\n\t(self: inviwopy.Inport) -> std::vector<inviwo::"
            "Outport*, std::allocator<inviwo::Outport*> >"
        )

    def getMaxNumberOfConnections(self) -> int:
        return self._max_connections

    def getNumberOfConnections(self) -> int:
        return len(self._outports)

    def isChanged(self) -> bool:
        """True when a connected outport's data changed since the owner last ran."""
        current = {id(o): o._version for o in self._outports}
        return current != self._seen

    def _mark_seen(self) -> None:
        self._seen = {id(o): o._version for o in self._outports}

    def _outport_changed(self) -> None:
        if self._processor is not None:
            self._processor.invalidate(InvalidationLevel.InvalidOutput)


#: What a ``PythonOutport`` holds before any ``setData`` and after ``clear()``:
#: a null ``pybind11::object`` (not Python's None).
_NULL = object()


class PythonOutport(Outport):
    """``ivw.PythonOutport(identifier, help=Document())``: any Python object.

    As in Inviwo 0.9.11 (``pythonoutport.cpp``): the port starts with, and
    ``clear()`` leaves, a *null* object, which is not ``None``, so
    ``hasData()`` is true and the port is ready once its processor is valid,
    and ``getData()`` then raises ``TypeError`` (pybind11 cannot convert a
    null object; seen in the real application, where every processor
    downstream of a failed one ran and failed so). Only ``setData(None)``
    empties it: not ready, downstream processors are not run.
    """

    _kind = "python"
    _class_identifier = "org.inviwo.pythonoutport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve("PythonOutport", [_PORT_ARGS], args, kwargs)
        super().__init__(a["identifier"], a["help"])
        self._data = _NULL

    def clear(self) -> None:
        self._data = _NULL
        self._changed()

    def isReady(self) -> bool:
        # ``invalidationLevel_ == Valid && !data_.is_none()``
        valid = self._processor is None or self._processor.isValid()
        return valid and self.hasData()

    def getData(self) -> Any:
        if self._data is _NULL:
            raise TypeError(
                "Unable to convert function return value to a Python type! The "
                "signature was\n\t(self: inviwopy.PythonOutport) -> object"
            )
        return self._data


class PythonInport(Inport):
    """``ivw.PythonInport(identifier, help=Document())``; ``hasData``, ``getData``."""

    _kind = "python"
    _class_identifier = "org.inviwo.pythoninport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve("PythonInport", [_PORT_ARGS], args, kwargs)
        super().__init__(a["identifier"], a["help"])

    def _full(self) -> bool:
        # 0.9.11's PythonInport derives from Inport, not DataInport: a second
        # outport is connected too (no check), and the data still comes from
        # the first one
        return False

    def hasData(self) -> bool:
        out = self.getConnectedOutport()
        return out is not None and out.hasData()

    def getData(self) -> Any:
        out = self.getConnectedOutport()
        return None if out is None else out.getData()


_PORT_ARGS = [
    Arg("identifier", is_str, type_name="str"),
    Arg("help", is_instance(Document), Document, "inviwopy.doc.Document"),
]


# --------------------------------------------------------------- property owner


class PropertyOwner:
    """``addProperty(prop, owner=True)``, ``addProperties``, ``properties``."""

    def _init_owner(self) -> None:
        self._properties: list[Property] = []

    def addProperty(self, prop: Property, owner: bool = True) -> None:
        from .properties import Property

        if not isinstance(prop, Property):
            raise TypeError(
                f"addProperty(): expected a Property; got {type(prop).__name__}"
            )
        if any(p.identifier == prop.identifier for p in self._properties):
            raise ValueError(f"duplicate property identifier {prop.identifier!r}")
        prop._owner = self
        self._properties.append(prop)

    def addProperties(self, props: Sequence[Property], owner: bool = True) -> None:
        for prop in props:
            self.addProperty(prop, owner)

    @property
    def properties(self) -> _IdentifierWrapper:
        return _IdentifierWrapper(self._properties)

    def getPropertyByIdentifier(self, identifier: str) -> Property | None:
        return next((p for p in self._properties if p.identifier == identifier), None)

    def invalidate(
        self, level: InvalidationLevel, prop: Property | None = None
    ) -> None:
        raise NotImplementedError


# ------------------------------------------------------------------- processors


class CodeState(Enum):
    Broken = 0
    Experimental = 1
    Stable = 2


class Tag:
    """``ivw.Tag(str)``; ``Tag.PY`` etc. (newer bindings)."""

    def __init__(self, name: str = "") -> None:
        self._name = str(name)

    def getString(self) -> str:
        return self._name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tag) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)


class Tags:
    """``ivw.Tags()``, ``Tags("PY, Example")``, ``Tags([Tag, ...])``; ``Tags.PY``."""

    PY: Tags
    CPU: Tags
    GL: Tags

    def __init__(self, value: str | Sequence[Tag] | Tags = "") -> None:
        if isinstance(value, Tags):
            self.tags = list(value.tags)
        elif isinstance(value, str):
            self.tags = [Tag(t.strip()) for t in value.split(",") if t.strip()]
        elif all(isinstance(t, Tag) for t in value):
            self.tags = list(value)
        else:
            raise TypeError("Tags(): expected a str, a Tags or a list of Tag")

    def getString(self) -> str:
        return ", ".join(t.getString() for t in self.tags)

    def size(self) -> int:
        return len(self.tags)

    def empty(self) -> bool:
        return not self.tags

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tags) and other.tags == self.tags

    def __hash__(self) -> int:
        return hash(tuple(self.tags))


Tags.PY = Tags("PY")
Tags.CPU = Tags("CPU")
Tags.GL = Tags("GL")
Tag.PY = Tag("PY")  # type: ignore[attr-defined]


class ProcessorInfo:
    """``ivw.ProcessorInfo(classIdentifier, displayName, category="Python",
    codeState=CodeState.Stable, tags=Tags.PY, visible=True, help=Document())``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve(
            "ProcessorInfo",
            [
                [
                    Arg("classIdentifier", is_str, type_name="str"),
                    Arg("displayName", is_str, type_name="str"),
                    Arg("category", is_str, "Python", "str"),
                    Arg(
                        "codeState",
                        is_instance(CodeState),
                        CodeState.Stable,
                        "CodeState",
                    ),
                    Arg("tags", is_instance(Tags), Tags.PY, "Tags"),
                    Arg("visible", is_instance(bool), True, "bool"),
                    Arg("help", is_instance(Document), Document, "Document"),
                ]
            ],
            args,
            kwargs,
        )
        self.classIdentifier: str = a["classIdentifier"]
        self.displayName: str = a["displayName"]
        self.category: str = a["category"]
        self.codeState: CodeState = a["codeState"]
        self.tags: Tags = a["tags"]
        self.visible: bool = a["visible"]
        self._help: Document = a["help"]  # not readable in 0.9.11's binding

    # No __eq__: 0.9.11 binds none, so two infos compare by identity.


class Processor(PropertyOwner):
    """``ivw.Processor``; a subclass calls ``Processor.__init__(self, id, name)``.

    Overridable: ``initializeResources``, ``process``, ``getProcessorInfo``
    (required), ``doIfNotReady`` (trampoline, ``processortrampoline.h``).
    """

    def __init__(self, identifier: str, displayName: str) -> None:
        if not isinstance(identifier, str) or not isinstance(displayName, str):
            raise TypeError("Processor.__init__(): expected (str, str)")
        self._identifier = identifier
        self._display_name = displayName
        self._inports: list[Inport] = []
        self._outports: list[Outport] = []
        self._init_owner()
        self._level = InvalidationLevel.InvalidResources
        self._network: ProcessorNetwork | None = None
        self._port_groups: dict[str, str] = {}

    # identity
    @property
    def identifier(self) -> str:
        return self._identifier

    @identifier.setter
    def identifier(self, value: str) -> None:
        self._identifier = value

    @property
    def displayName(self) -> str:
        return self._display_name

    @displayName.setter
    def displayName(self, value: str) -> None:
        self._display_name = value

    @property
    def classIdentifier(self) -> str:
        return self.getProcessorInfo().classIdentifier

    @property
    def category(self) -> str:
        return self.getProcessorInfo().category

    @property
    def network(self) -> ProcessorNetwork | None:
        return self._network

    def getProcessorInfo(self) -> ProcessorInfo:
        raise RuntimeError(
            "Tried to call pure virtual function Processor::getProcessorInfo"
        )

    # ports
    def _add_port(self, port: Port, group: str, kind: type) -> None:
        if not isinstance(port, kind):
            raise TypeError(f"expected a {kind.__name__}; got {type(port).__name__}")
        known = [p.identifier for p in [*self._inports, *self._outports]]
        if port.identifier in known:
            raise ValueError(
                f"processor {self._identifier!r} already has a port {port.identifier!r}"
            )
        port._processor = self
        self._port_groups[port.identifier] = group
        if isinstance(port, Inport):
            self._inports.append(port)
        else:
            self._outports.append(port)  # type: ignore[arg-type]

    def addInport(
        self, inport: Inport, group: str = "default", owner: bool = True
    ) -> None:
        self._add_port(inport, group, Inport)

    def addOutport(
        self, outport: Outport, group: str = "default", owner: bool = True
    ) -> None:
        self._add_port(outport, group, Outport)

    @property
    def inports(self) -> _IdentifierWrapper:
        return _IdentifierWrapper(self._inports)

    @property
    def outports(self) -> _IdentifierWrapper:
        return _IdentifierWrapper(self._outports)

    def getPort(self, identifier: str) -> Port | None:
        return self.getInport(identifier) or self.getOutport(identifier)

    def getInport(self, identifier: str) -> Inport | None:
        return next((p for p in self._inports if p.identifier == identifier), None)

    def getOutport(self, identifier: str) -> Outport | None:
        return next((p for p in self._outports if p.identifier == identifier), None)

    # state
    def isSource(self) -> bool:
        """A processor with no inports brings data into the network."""
        return not self._inports

    def isSink(self) -> bool:
        """A processor with no outports pulls data: only processors with a sink
        among their descendants are evaluated (``Processor::isSink``)."""
        return not self._outports

    def isReady(self) -> bool:
        """``allInportsAreReady``: each inport is ready or optional."""
        return all(p.isReady() or p.optional for p in self._inports)

    def isValid(self) -> bool:
        return self._level == InvalidationLevel.Valid

    def invalidate(  # type: ignore[override]
        self, level: InvalidationLevel, prop: Property | None = None
    ) -> None:
        if level == InvalidationLevel.Valid:
            return
        if level.value > self._level.value:
            self._level = level
        for port in self._outports:
            for inport in port._inports:
                if inport._processor is not None and inport._processor is not self:
                    inport._processor._invalidate_from_upstream()
        if self._network is not None:
            self._network._request_evaluation()

    def _invalidate_from_upstream(self) -> None:
        if self._level == InvalidationLevel.Valid:
            self.invalidate(InvalidationLevel.InvalidOutput)

    def setValid(self) -> None:
        self._level = InvalidationLevel.Valid
        for prop in self._properties:
            prop._set_valid()
        for port in self._inports:
            port._mark_seen()

    # overridables
    def initializeResources(self) -> None:
        pass

    def process(self) -> None:
        pass

    def doIfNotReady(self) -> None:
        pass

    def invokeEvent(self, event: Any) -> None:
        """The base processor passes events on (``Processor::invokeEvent``)."""

    def propagateEvent(self, event: Any, source: Any = None) -> None:
        """Hand ``event`` to this processor, as a canvas does to the
        processors upstream of it (``Processor::propagateEvent``)."""
        self.invokeEvent(event)
