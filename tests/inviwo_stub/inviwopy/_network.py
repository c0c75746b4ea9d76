"""The application, the processor network and two of Inviwo's C++ processors.

API as bound in ``bindings/src/pynetwork.cpp`` (``addProcessor``,
``addConnection(sourcePort, destPort)``, ``addLink(src, dst)``,
``removeConnection``, ``lock``/``unlock``, ``processors``, ``getProcessorByIdentifier``)
and ``pyprocessors.cpp`` (``app.processorFactory.create(classId)``; what it
makes is a plain ``Processor`` to Python, see :class:`CanvasProcessor`).

Evaluation follows ``ProcessorNetworkEvaluator`` in spirit: when the network is
unlocked and a processor was invalidated, every invalid processor that has a
sink among its descendants (``topologicalSortFiltered``: a sink is a processor
without outports, such as a canvas) and whose inports are ready runs in
topological order (``initializeResources`` first when its
level is ``InvalidResources``), then ``setValid``; a processor that is not
ready gets ``doIfNotReady``. Property links copy a changed value from source to
destination (one way; a two-way link is two links, as in ``.inv`` files).
An exception escaping ``process`` is logged by Inviwo; the stand-in also keeps
it in :attr:`ProcessorNetwork.exceptions` so tests can assert that none escape.

The factory makes the C++ processors the tests and the workspace wire up:
``org.inviwo.CanvasGL`` (``src/core/processors/canvasprocessor.cpp``: inport
``inport``; a new size or a new connection sends a resize event upstream),
``org.inviwo.BrushingAndLinkingProcessor`` (``modules/brushingandlinking/src/
processors/brushingandlinkingprocessor.cpp``: optional inport ``inport``,
outport ``outport``) and, with their ports only (INVIWO.md section 5, the
processor sources in ``modules/plottinggl`` and ``modules/dataframeqt``),
``org.inviwo.ParallelCoordinates``, ``org.inviwo.DataFrameTable`` and
``org.inviwo.ImagePlotProcessor``.
"""

from __future__ import annotations

import traceback
from typing import Any, ClassVar

from ._core import InvalidationLevel, Processor, ProcessorInfo, Tags
from .data import Image, ImageInport, ImageOutport
from .properties import (
    CompositeProperty,
    FloatMinMaxProperty,
    IntSize2Property,
    Property,
)


class ProcessorNetwork:
    def __init__(self) -> None:
        self._processors: list[Processor] = []
        self._links: list[tuple[Property, Property]] = []
        self._locks = 0
        self._evaluating = False
        self._pending = False
        self.exceptions: list[tuple[str, BaseException, str]] = []

    # ------------------------------------------------------------- structure
    @property
    def processors(self) -> list[Processor]:
        return list(self._processors)

    def getProcessorByIdentifier(self, identifier: str) -> Processor | None:
        return next((p for p in self._processors if p.identifier == identifier), None)

    def __getattr__(self, name: str) -> Processor:
        if name.startswith("_"):
            raise AttributeError(name)
        proc = self.getProcessorByIdentifier(name)
        if proc is None:
            raise AttributeError(
                f"ProcessorNetwork does not have a processor with identifier: '{name}'"
            )
        return proc

    def addProcessor(self, processor: Processor) -> None:
        if not isinstance(processor, Processor):
            raise TypeError("addProcessor(): expected a Processor")
        ids = {p.identifier for p in self._processors}
        base, n = processor.identifier, 2
        while processor.identifier in ids:  # Inviwo makes identifiers unique
            processor.identifier = f"{base}{n}"
            n += 1
        processor._network = self
        self._processors.append(processor)
        processor.invalidate(InvalidationLevel.InvalidResources)

    def removeProcessor(self, processor: Processor) -> None:
        for port in [*processor._inports]:
            for out in list(port._outports):
                port.disconnectFrom(out)
        for port in [*processor._outports]:
            for inp in port.getConnectedInports():
                inp.disconnectFrom(port)
        self._links = [
            (s, d)
            for s, d in self._links
            if s._owner is not processor and d._owner is not processor
        ]
        self._processors.remove(processor)
        processor._network = None

    def addConnection(self, sourcePort: Any, destPort: Any) -> None:
        destPort.connectTo(sourcePort)
        if isinstance(sourcePort, ImageOutport) and isinstance(
            destPort._processor, CanvasProcessor
        ):
            destPort._processor._size_changed()
        self._request_evaluation()

    def removeConnection(self, sourcePort: Any, destPort: Any) -> None:
        destPort.disconnectFrom(sourcePort)
        self._request_evaluation()

    def addLink(self, src: Property, dst: Property) -> None:
        if type(src) is not type(dst):
            raise TypeError(
                f"cannot link {src.classIdentifier} to {dst.classIdentifier}"
            )
        self._links.append((src, dst))
        src.onChange(lambda s=src, d=dst: self._propagate(s, d))

    @property
    def links(self) -> list[tuple[Property, Property]]:
        return list(self._links)

    def _propagate(self, src: Property, dst: Property) -> None:
        if (src, dst) not in self._links:
            return
        if isinstance(src, FloatMinMaxProperty) or hasattr(src, "value"):
            dst.value = src.value  # type: ignore[attr-defined]

    # ------------------------------------------------------------ evaluation
    def lock(self) -> None:
        self._locks += 1

    def unlock(self) -> None:
        self._locks = max(self._locks - 1, 0)
        if self._locks == 0:
            self._request_evaluation()

    def isLocked(self) -> bool:
        return self._locks > 0

    def _request_evaluation(self) -> None:
        if self._locks or self._evaluating:
            self._pending = True
            return
        self._evaluate()

    def _order(self) -> list[Processor]:
        done: list[Processor] = []
        seen: set[int] = set()

        def visit(p: Processor) -> None:
            if id(p) in seen:
                return
            seen.add(id(p))
            for port in p._inports:
                for out in list(port._outports):
                    if (
                        out._processor is not None
                        and out._processor in self._processors
                    ):
                        visit(out._processor)
            done.append(p)

        for p in self._processors:
            if p.isSink():
                visit(p)
        return done

    def _evaluate(self) -> None:
        self._evaluating = True
        try:
            for _ in range(100):
                self._pending = False
                for p in self._order():
                    if p.isValid():
                        continue
                    if not p.isReady():
                        p.doIfNotReady()
                        continue
                    level = p._level
                    try:
                        if level == InvalidationLevel.InvalidResources:
                            p.initializeResources()
                        p.process()
                    except Exception as err:  # Inviwo logs it and goes on,
                        # leaving the processor invalid (no setValid)
                        self.exceptions.append(
                            (p.identifier, err, traceback.format_exc())
                        )
                        continue
                    if p.isReady():  # callbacks may have unreadied the inports
                        p.setValid()
                if not self._pending:
                    break
        finally:
            self._evaluating = False


class ProcessorFactory:
    _makers: ClassVar[dict[str, Any]] = {
        "org.inviwo.CanvasGL": lambda: CanvasProcessor(),
        "org.inviwo.BrushingAndLinkingProcessor": lambda: BrushingAndLinkingProcessor(),
        "org.inviwo.ParallelCoordinates": lambda: ParallelCoordinates(),
        "org.inviwo.DataFrameTable": lambda: DataFrameTable(),
        "org.inviwo.ImagePlotProcessor": lambda: ImagePlotProcessor(),
    }

    def hasKey(self, key: str) -> bool:
        return key in self._makers

    @property
    def keys(self) -> list[str]:
        return list(self._makers)

    def create(self, key: str, pos: Any = None) -> Processor:
        if key not in self._makers:
            raise KeyError(f"failed to create processor of type '{key}'")
        return self._makers[key]()


class InviwoApplication:
    def __init__(self) -> None:
        self.network = ProcessorNetwork()
        self.processorFactory = ProcessorFactory()

    def getProcessorNetwork(self) -> ProcessorNetwork:
        return self.network


# ----------------------------------------------------------- C++ processors


class CanvasProcessor(Processor):
    """``org.inviwo.CanvasGL``: shows ``inport``'s image.

    As Python sees one from ``processorFactory.create`` or
    ``network.processors``: a plain ``Processor`` (pybind cannot downcast to
    ``CanvasProcessor``, the object being a ``CanvasProcessorGL``), so the
    binding's ``size`` and ``image`` are out of reach. The size is set
    through the property ``inputSize.dimensions`` (a ``glm.size2_t``); like
    the GLFW runner's hidden canvas, a new size reaches the processors above
    only when the inport connects (``inport_.onConnect`` -> ``sizeChanged``),
    so set it before connecting, or reconnect. The image is the inport's data.
    """

    def __init__(self) -> None:
        super().__init__("Canvas", "Canvas")
        self._inport = ImageInport("inport")
        self.addInport(self._inport)
        self.inputSize = CompositeProperty("inputSize", "Input Dimensions")
        self.inputSize.dimensions = IntSize2Property(  # type: ignore[attr-defined]
            "dimensions", "Canvas Size", (256, 256)
        )
        self.addProperty(self.inputSize)
        self.shown: Image | None = None

    def getProcessorInfo(self) -> ProcessorInfo:
        return ProcessorInfo(
            classIdentifier="org.inviwo.CanvasGL",
            displayName="Canvas",
            category="Data Output",
            tags=Tags.GL,
        )

    def _size(self) -> tuple[int, int]:
        dims = self.inputSize.dimensions.value  # type: ignore[attr-defined]
        return int(dims.x), int(dims.y)

    def _size_changed(self) -> None:
        out = self._inport.getConnectedOutport()
        if isinstance(out, ImageOutport):
            out._resize_request(self._inport, self._size())

    def process(self) -> None:
        self.shown = self._inport.getData()

    def doIfNotReady(self) -> None:
        self.shown = None


class BrushingAndLinkingProcessor(Processor):
    """``org.inviwo.BrushingAndLinkingProcessor``: the root of a brushing network."""

    def __init__(self) -> None:
        import ivwbnl

        super().__init__(
            "BrushingAndLinkingProcessor", "Brushing And Linking Processor"
        )
        self._inport = ivwbnl.BrushingAndLinkingInport("inport")
        self._inport.optional = True
        self._outport = ivwbnl.BrushingAndLinkingOutport("outport", help=_doc())
        self._outport._parent = self._inport
        self.addInport(self._inport)
        self.addOutport(self._outport)

    def getProcessorInfo(self) -> ProcessorInfo:
        return ProcessorInfo(
            classIdentifier="org.inviwo.BrushingAndLinkingProcessor",
            displayName="Brushing And Linking Processor",
            category="Brushing And Linking",
            tags=Tags.CPU,
        )


def _doc() -> Any:
    from .doc import Document

    return Document()


class _PortsOnly(Processor):
    """A C++ plotting processor reduced to its ports: it records what it got."""

    _info: tuple[str, str, str] = ("", "", "")

    def __init__(self) -> None:
        class_id, name, _ = self._info
        super().__init__(class_id.rsplit(".", 1)[-1], name)
        self.received: dict[str, Any] = {}

    def getProcessorInfo(self) -> ProcessorInfo:
        class_id, name, category = self._info
        return ProcessorInfo(
            classIdentifier=class_id, displayName=name, category=category, tags=Tags.GL
        )

    def process(self) -> None:
        for port in self._inports:
            getter = getattr(port, "getData", None)
            self.received[port.identifier] = getter() if getter else None
        for port in self._outports:
            if isinstance(port, ImageOutport):
                port.setData(Image(port.dimensions))


class ParallelCoordinates(_PortsOnly):
    _info = ("org.inviwo.ParallelCoordinates", "Parallel Coordinates", "Plotting")

    def __init__(self) -> None:
        import ivwbnl
        import ivwdataframe

        super().__init__()
        self.addInport(ivwdataframe.DataFrameInport("dataFrame"))
        self.addInport(ivwbnl.BrushingAndLinkingInport("brushingAndLinking"))
        background = ImageInport("imageInport")
        background.optional = True
        self.addInport(background)
        self.addOutport(ImageOutport("outport"))
        from .properties import FontProperty

        # One axis per DataFrame column, made when data arrives; an axis the
        # workspace made beforehand is kept, and hidden when unchecked.
        self.axisProps_ = CompositeProperty("axisProps_", "Axis")
        self.addProperty(self.axisProps_)
        for prop in (
            FontProperty("captions", "Caption Settings"),
            FontProperty("labels", "Label Settings"),
            CompositeProperty("lines", "Line Settings"),
        ):
            self.addProperty(prop)
        self.axes: list[str] = []

    def process(self) -> None:
        super().process()
        frame = self.received.get("dataFrame")
        headers = [] if frame is None else [c.header for c in frame]
        shown = self.axisProps_.owned
        self.axes = [h for h in headers if shown.get(h, True)]


class DataFrameTable(_PortsOnly):
    _info = ("org.inviwo.DataFrameTable", "DataFrame Table", "Data Output")

    def __init__(self) -> None:
        import ivwbnl
        import ivwdataframe

        super().__init__()
        self.addInport(ivwdataframe.DataFrameInport("inport"))
        self.addInport(ivwbnl.BrushingAndLinkingInport("brushingAndLinking"))


class ImagePlotProcessor(_PortsOnly):
    _info = ("org.inviwo.ImagePlotProcessor", "Image Plot", "Plotting")

    def __init__(self) -> None:
        super().__init__()
        self.addInport(ImageInport("image"))
        background = ImageInport("bg")
        background.optional = True
        self.addInport(background)
        self.addOutport(ImageOutport("outport"))
