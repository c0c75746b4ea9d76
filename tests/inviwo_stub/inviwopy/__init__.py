"""Stand-in of ``inviwopy`` (``modules/python3/bindings/src/inviwopy.cpp``).

Top level: ``Processor``, ``ProcessorInfo``, ``CodeState``, ``Tags``, ``Tag``,
``PythonInport``, ``PythonOutport``, ``md2doc`` (``pydocument.cpp``:
markdown -> help Document; 0.9.11 has no ``unindentMd2doc``, which newer
Inviwo adds: tests set it to check both), ``logInfo``/``logWarn``/
``logError`` (``pylogging.cpp``: one message string, reported with the source
context ``"inviwopy"``), ``app`` and ``getApp()``; submodules ``glm``,
``properties``, ``data``, ``doc``.

Messages logged through ``logInfo``/``logWarn``/``logError`` are kept in
:data:`log` as ``(level, message)`` pairs, standing for Inviwo's log.
"""

from __future__ import annotations

import textwrap

from . import _events, data, doc, glm, properties
from ._core import (
    CodeState,
    Inport,
    Outport,
    Port,
    Processor,
    ProcessorInfo,
    PythonInport,
    PythonOutport,
    Tag,
    Tags,
)
from ._events import (
    Event,
    InteractionEvent,
    KeyModifiers,
    MouseButton,
    MouseButtons,
    MouseEvent,
    MouseInteractionEvent,
    MouseState,
)
from ._network import InviwoApplication
from .doc import Document

#: Everything logged, as ``(level, message)``; level is "Info", "Warn" or "Error".
log: list[tuple[str, str]] = []


def logInfo(msg: str) -> None:
    log.append(("Info", _message(msg)))


def logWarn(msg: str) -> None:
    log.append(("Warn", _message(msg)))


def logError(msg: str) -> None:
    log.append(("Error", _message(msg)))


def _message(msg: object) -> str:
    if not isinstance(msg, str):
        raise TypeError(f"log functions take one str; got {type(msg).__name__}")
    return msg


def md2doc(md: str) -> Document:
    """Markdown to a help Document."""
    if not isinstance(md, str):
        raise TypeError(f"md2doc(): expected str; got {type(md).__name__}")
    return Document(md)


def newer_unindentMd2doc(md: str) -> Document:
    """Stand-in only: newer Inviwo's ``unindentMd2doc`` (absent in 0.9.11),
    for tests that set ``inviwopy.unindentMd2doc`` to it."""
    if not isinstance(md, str):
        raise TypeError(f"unindentMd2doc(): expected str; got {type(md).__name__}")
    return Document(textwrap.dedent(md).strip("\n"))


app = InviwoApplication()


def getApp() -> InviwoApplication:
    return app


def reset() -> None:
    """Stand-in only: a fresh application and an empty log (between tests)."""
    global app
    app = InviwoApplication()
    log.clear()
    _events.tooltips.clear()


__all__ = [
    "CodeState",
    "Document",
    "Event",
    "Inport",
    "InteractionEvent",
    "KeyModifiers",
    "MouseButton",
    "MouseButtons",
    "MouseEvent",
    "MouseInteractionEvent",
    "MouseState",
    "Outport",
    "Port",
    "Processor",
    "ProcessorInfo",
    "PythonInport",
    "PythonOutport",
    "Tag",
    "Tags",
    "app",
    "data",
    "doc",
    "getApp",
    "glm",
    "logError",
    "logInfo",
    "logWarn",
    "md2doc",
    "properties",
]
