"""Test harness: load Inviwo's Python API and HPExplorer's processors as Inviwo does.

- :func:`load_inviwo` returns the real ``inviwopy``/``ivwdataframe``/``ivwbnl``
  when they are importable (inside an Inviwo build) and the stand-in in this
  folder otherwise.
- :func:`load_processor_file` follows ``PythonProcessorFactoryObject::load``
  (``modules/python3/src/pythonprocessorfactoryobject.cpp``): the class name
  is the first line's ``# Name: <Class>`` (else the file stem), the whole file
  is executed into a fresh globals dict standing for ``__main__``, the name
  must then be defined, and ``<Class>.processorInfo()`` is called.
- :func:`create` constructs a processor with ``(identifier, displayName)``.

The tests then build networks with the ``app.network`` API of ``pynetwork.cpp``
(``addProcessor``, ``addConnection``, ``addLink``, ``lock``/``unlock``), which
the stand-in implements too.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

STUB_DIR = Path(__file__).resolve().parent
REPO = STUB_DIR.parents[1]
PROCESSORS = REPO / "processors"
NAME_LABEL = "# Name: "


@dataclass(frozen=True)
class Inviwo:
    """The three Inviwo modules and whether they are the real ones."""

    ivw: ModuleType
    df: ModuleType
    bnl: ModuleType
    real: bool

    def fresh(self) -> None:
        """An empty network and log (the stand-in) before a test."""
        if self.real:
            self.ivw.app.network.clear()
        else:
            self.ivw.reset()

    @property
    def app(self) -> Any:
        return self.ivw.app

    @property
    def network(self) -> Any:
        return self.ivw.app.network


def _is_stub(module: ModuleType) -> bool:
    path = Path(getattr(module, "__file__", "") or "").resolve()
    return path.is_relative_to(STUB_DIR)


def load_inviwo() -> Inviwo:
    """The real Inviwo modules if importable with a running app, else the stand-in."""
    try:
        ivw = importlib.import_module("inviwopy")
        real = not _is_stub(ivw) and getattr(ivw, "app", None) is not None
    except ImportError:
        real = False
    if not real:
        if str(STUB_DIR) not in sys.path:
            sys.path.insert(0, str(STUB_DIR))
        for name in ("inviwopy", "ivwdataframe", "ivwbnl"):
            module = sys.modules.get(name)
            if module is not None and not _is_stub(module):
                del sys.modules[name]
    ivw = importlib.import_module("inviwopy")
    df = importlib.import_module("ivwdataframe")
    bnl = importlib.import_module("ivwbnl")
    return Inviwo(ivw=ivw, df=df, bnl=bnl, real=real)


@dataclass(frozen=True)
class ProcessorType:
    """A processor file as Inviwo registers it."""

    path: Path
    name: str
    cls: type
    info: Any


def processor_name(script: str, path: Path) -> str:
    """The class name Inviwo looks for: ``# Name: X`` on line 1, else the stem."""
    if script.startswith(NAME_LABEL):
        end = script.find("\n")
        return script[len(NAME_LABEL) : end if end >= 0 else None].strip()
    return path.stem


def load_processor_file(path: Path) -> ProcessorType:
    """Execute a processor file the way Inviwo's Python processor factory does."""
    script = path.read_text(encoding="utf-8")
    name = processor_name(script, path)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(script, str(path), "exec"), namespace)
    if name not in namespace:
        raise LookupError(
            f'Failed to find python processor "{name}" in pythons object register'
        )
    cls = namespace[name]
    return ProcessorType(path=path, name=name, cls=cls, info=cls.processorInfo())


def processor_files() -> list[Path]:
    """Every ``*.py`` Inviwo would load from ``processors/`` (recursively)."""
    return sorted(PROCESSORS.rglob("*.py"))


def create(ptype: ProcessorType, identifier: str | None = None) -> Any:
    """Construct a processor with ``(identifier, displayName)``."""
    return ptype.cls(identifier or ptype.name, ptype.info.displayName)


# ------------------------------------------------------------------ canvases


def wh(vector: Any) -> tuple[int, int]:
    """A glm vector's two components: inviwopy's vectors are not iterable
    (``tuple(v)`` reads on past them until memory runs out)."""
    return int(vector.x), int(vector.y)


def set_canvas_size(iv: Inviwo, canvas: Any, width: int, height: int) -> None:
    """Give a canvas (``org.inviwo.CanvasGL``) the size its input is drawn at.

    Python sees a canvas as a plain ``Processor`` (the binding's ``size`` is
    out of reach), so the size goes through ``inputSize.dimensions``; it
    reaches the processors above when the inport connects, so a connected
    canvas is reconnected (what the GLFW runner needs: its hidden canvases do
    not resize; the Qt editor's would).
    """
    canvas.inputSize.dimensions.value = iv.ivw.glm.size2_t(width, height)
    inport = canvas.getInport("inport")
    source = inport.getConnectedOutport()
    if source is not None:
        iv.network.lock()
        try:
            iv.network.removeConnection(source, inport)
            iv.network.addConnection(source, inport)
        finally:
            iv.network.unlock()


def canvas_image(canvas: Any) -> Any:
    """The image a canvas shows: its inport's data (None before any)."""
    return canvas.getInport("inport").getData()


# ------------------------------------------------------------------ sinks


def _sink_inport(iv: Inviwo, outport: Any) -> Any:
    """An inport that can take ``outport``'s data (None for an image: a canvas)."""
    kinds = (
        (iv.ivw.PythonOutport, iv.ivw.PythonInport),
        (iv.df.DataFrameOutport, iv.df.DataFrameInport),
        (iv.bnl.BrushingAndLinkingOutport, iv.bnl.BrushingAndLinkingInport),
    )
    for out_kind, in_kind in kinds:
        if isinstance(outport, out_kind):
            return in_kind("inport")
    return None


def _sink_class(iv: Inviwo) -> type:
    """A processor with one inport and no outports, so Inviwo evaluates what
    it is connected to (``Processor::isSink``), as a view would."""
    ivw = iv.ivw

    class Sink(ivw.Processor):  # type: ignore[misc, name-defined]
        def __init__(self, identifier: str, inport: Any) -> None:
            ivw.Processor.__init__(self, identifier, identifier)
            self.inport = inport
            self.addInport(inport)

        def getProcessorInfo(self) -> Any:
            return ivw.ProcessorInfo(
                classIdentifier="org.hpexplorer.tests.Sink",
                displayName="Sink",
                category="Tests",
                codeState=ivw.CodeState.Experimental,
                tags=ivw.Tags("PY"),
            )

    return Sink


def make_sink(iv: Inviwo, identifier: str, inport: Any) -> Any:
    """A processor holding ``inport`` (and no outports), added to the network:
    stands for a view at the end of a network (an inport must belong to a
    processor to connect)."""
    sink = _sink_class(iv)(identifier, inport)
    iv.network.addProcessor(sink)
    return sink


def attach_sinks(iv: Inviwo, processors: list[Any]) -> list[Any]:
    """A sink on every outport of ``processors`` that has none connected.

    Inviwo evaluates only processors with a sink (a processor without
    outports, such as a canvas) among their descendants, so a test that reads
    an outport must give it a consumer, as a user's network would. Images go
    to a ``CanvasGL``, everything else to a small Python sink.
    """
    added: list[Any] = []
    for proc in processors:
        for outport in proc.outports:
            if outport.isConnected():
                continue
            inport = _sink_inport(iv, outport)
            if inport is None:
                sink = iv.app.processorFactory.create("org.inviwo.CanvasGL")
                iv.network.addProcessor(sink)
                inport = sink.getInport("inport")
            else:
                name = f"Sink{proc.identifier}{outport.identifier}"
                sink = make_sink(iv, name, inport)
            iv.network.addConnection(outport, inport)
            added.append(sink)
    return added


# ------------------------------------------------------------------ workspaces


def apply_property(prop: Any, element: Any) -> None:
    """Set a property from its ``<Property>`` element, as Inviwo deserializes it.

    Covers the property types HPExplorer's workspace sets: String, Int, Bool,
    File (``absolutePath``), FloatMinMax (``value x= y=``) and OptionPropertyString
    (written ``options``, then ``selectedIdentifier`` if it is one of them).
    """
    kind = element.get("type")
    if kind != prop.classIdentifier:
        raise TypeError(
            f"{prop.path}: workspace type {kind} but {prop.classIdentifier}"
        )
    value = element.find("value")
    if kind == "org.inviwo.StringProperty" and value is not None:
        prop.value = value.get("content", "")
    elif kind == "org.inviwo.IntProperty" and value is not None:
        prop.value = int(value.get("content"))
    elif kind == "org.inviwo.BoolProperty" and value is not None:
        prop.value = value.get("content") == "1"
    elif kind == "org.inviwo.FileProperty":
        path = element.find("absolutePath")
        if path is not None:
            prop.value = path.get("content", "")
    elif kind == "org.inviwo.FloatMinMaxProperty" and value is not None:
        prop.value = (float(value.get("x")), float(value.get("y")))
    elif kind == "org.inviwo.OptionPropertyString":
        options = element.find("options")
        if options is not None:
            rows = [
                tuple(opt.find(tag).get("content") for tag in ("id", "name", "value"))
                for opt in options.findall("option")
            ]
            prop.replaceOptions(
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
            )
        selected = element.find("selectedIdentifier")
        if selected is not None:
            prop.selectedIdentifier = selected.get("content")
    elif kind in ("org.inviwo.CompositeProperty", "org.inviwo.FontProperty"):
        owned = [
            e.get("content")
            for e in element.iterfind("OwnedPropertyIdentifiers/PropertyIdentifier")
        ]
        for child in element.iterfind("Properties/Property"):
            name = child.get("identifier")
            if name in owned:  # made by the workspace (an axis)
                checked = child.find("Properties/Property[@identifier='checked']/value")
                prop.owned[name] = checked is None or checked.get("content") == "1"
            else:  # one of the property's own children
                value = child.find("value")
                if value is None:
                    raise NotImplementedError(f"{prop.path}.{name}: no value")
                prop.values[name] = value.get("content", "")
    else:
        raise NotImplementedError(f"{prop.path}: cannot apply a {kind}")


def load_workspace(iv: Inviwo, path: Path) -> dict[str, Any]:
    """Build the network of an ``.inv`` file; return its processors by identifier.

    With a real Inviwo this is ``app.network.load(path)``. With the stand-in
    every HPExplorer processor comes from its file (as above), Inviwo's own
    from ``app.processorFactory``; then properties, canvas sizes (the
    ``ProcessorWidgetMetaData`` dimensions), connections and links are
    applied with the network locked, and it evaluates on unlock.
    """
    import xml.etree.ElementTree as ET

    if iv.real:
        iv.network.load(path)
        return {p.identifier: p for p in iv.network.processors}
    root = ET.parse(path).getroot()
    ours = {
        t.info.classIdentifier: t for t in map(load_processor_file, processor_files())
    }
    procs: dict[str, Any] = {}
    net = iv.network
    net.lock()
    try:
        for element in root.iterfind("ProcessorNetwork/Processors/Processor"):
            identifier, kind = element.get("identifier"), element.get("type")
            if kind in ours:
                proc = create(ours[kind], identifier)
            else:
                proc = iv.app.processorFactory.create(kind)
                proc.identifier = identifier
            proc.displayName = element.get("displayName")
            net.addProcessor(proc)
            procs[identifier] = proc
            for prop_element in element.iterfind("Properties/Property"):
                prop = proc.getPropertyByIdentifier(prop_element.get("identifier"))
                if prop is None:
                    raise LookupError(
                        f"{identifier} has no property {prop_element.get('identifier')}"
                    )
                apply_property(prop, prop_element)
            dims = element.find(
                "MetaDataMap/MetaDataItem[@key='org.inviwo.ProcessorWidgetMetaData']/dimensions"
            )
            if dims is not None:  # (a canvas: its widget's size)
                set_canvas_size(iv, proc, int(dims.get("x")), int(dims.get("y")))
        for conn in root.iterfind("ProcessorNetwork/Connections/Connection"):
            src, out = conn.get("src").split(".", 1)
            dst, into = conn.get("dst").split(".", 1)
            net.addConnection(procs[src].getOutport(out), procs[dst].getInport(into))
        for link in root.iterfind("ProcessorNetwork/PropertyLinks/PropertyLink"):
            src, sprop = link.get("src").split(".", 1)
            dst, dprop = link.get("dst").split(".", 1)
            net.addLink(
                procs[src].getPropertyByIdentifier(sprop),
                procs[dst].getPropertyByIdentifier(dprop),
            )
    finally:
        net.unlock()
    return procs


def workspace_builder() -> ModuleType:
    """``workspaces/build_workspace.py`` (the workspaces' writer) as a module."""
    name = "hpexplorer_build_workspace"
    if name not in sys.modules:
        path = REPO / "workspaces" / "build_workspace.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
