"""The Inviwo processors in ``processors/``, loaded and run the way Inviwo runs them.

No Inviwo here: the processors run against the stand-in of Inviwo's Python API
in ``tests/inviwo_stub`` (or against the real ``inviwopy`` when it can be
imported, see :mod:`inviwo_stub.harness`). Each processor file is loaded as
Inviwo's Python processor factory does (``# Name:`` line, the file executed
into a fresh ``__main__``, ``processorInfo()``, construction with
``(identifier, displayName)``), wired into a network and evaluated; its outputs
are compared with hpcore's results, and bad input must end in Inviwo's log
with empty outports, never in an exception.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from inviwo_stub import harness

import hpcore
from hpcore import inviwo_bridge as bridge
from hpcore import views as render
from hpcore.analysis.engine import BrushEngine
from hpcore.data.loading import ensemble_from_frame
from hpcore.data.synthetic import nws_like


def named(frame: Any, header: str) -> Any:
    """The column of an Inviwo DataFrame with this header (0.9.11 looks
    columns up by position only)."""
    return next(c for c in frame if c.header == header)


EXPECTED = {
    "EnsembleSource",
    "MetricNormalization",
    "MetricRangeFilter",
    "ParameterPairCounter",
    "TrellisAggregator",
    "MetricHistogramPlot",
    "PairMatrixPlot",
    "TrellisPlot",
    "LinkedSelection",
    "SelectionComparison",
}
ROWS, SEED = 1500, 3

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def inviwo() -> harness.Inviwo:
    return harness.load_inviwo()


@pytest.fixture(scope="module")
def types(inviwo: harness.Inviwo) -> dict[str, harness.ProcessorType]:
    return {p.stem: harness.load_processor_file(p) for p in harness.processor_files()}


@pytest.fixture
def iv(inviwo: harness.Inviwo) -> Iterator[harness.Inviwo]:
    inviwo.fresh()
    yield inviwo
    inviwo.fresh()


@pytest.fixture
def errors(iv: harness.Inviwo, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Everything logged through ``inviwopy.logError`` during the test."""
    logged: list[str] = []
    original = iv.ivw.logError

    def record(msg: str) -> None:
        logged.append(msg)
        original(msg)

    monkeypatch.setattr(iv.ivw, "logError", record)
    return logged


def escaped(iv: harness.Inviwo) -> list[Any]:
    """Exceptions that left a processor (the stand-in keeps them; Inviwo logs them)."""
    return [] if iv.real else list(iv.network.exceptions)


class Net:
    """A network of HPExplorer processors (by class name) plus Inviwo ones."""

    def __init__(self, iv: harness.Inviwo, types: dict[str, harness.ProcessorType]):
        self.iv = iv
        self.types = types
        self.p: dict[str, Any] = {}

    def add(self, name: str, identifier: str | None = None) -> Any:
        proc = harness.create(self.types[name], identifier)
        self.iv.network.addProcessor(proc)
        self.p[identifier or name] = proc
        return proc

    def inviwo(self, class_id: str, identifier: str) -> Any:
        proc = self.iv.app.processorFactory.create(class_id)
        self.iv.network.addProcessor(proc)
        self.p[identifier] = proc
        return proc

    def connect(self, src: str, outport: str, dst: str, inport: str) -> None:
        out = self.p[src].getOutport(outport)
        into = self.p[dst].getInport(inport)
        assert out is not None and into is not None, (src, outport, dst, inport)
        self.iv.network.addConnection(out, into)

    def __getitem__(self, name: str) -> Any:
        return self.p[name]


def pipeline(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    *,
    plots: bool = False,
    configure: Callable[[Net], None] | None = None,
) -> Net:
    """Source -> normalization -> range filter -> counter and trellis (-> plots)."""
    net = Net(iv, types)
    iv.network.lock()
    try:
        source = net.add("EnsembleSource")
        source.rows.value = ROWS
        source.seed.value = SEED
        net.add("MetricNormalization")
        net.add("MetricRangeFilter")
        net.add("ParameterPairCounter")
        net.add("TrellisAggregator")
        net.connect("EnsembleSource", "ensemble", "MetricNormalization", "ensemble")
        net.connect(
            "MetricNormalization", "normalized", "MetricRangeFilter", "ensemble"
        )
        for name in ("ParameterPairCounter", "TrellisAggregator"):
            net.connect("MetricNormalization", "normalized", name, "ensemble")
            net.connect("MetricRangeFilter", "selection", name, "selection")
        if plots:
            net.add("MetricHistogramPlot")
            net.add("PairMatrixPlot")
            net.add("TrellisPlot")
            net.connect(
                "MetricNormalization", "normalized", "MetricHistogramPlot", "ensemble"
            )
            net.connect(
                "MetricRangeFilter", "selection", "MetricHistogramPlot", "selection"
            )
            net.connect("ParameterPairCounter", "counts", "PairMatrixPlot", "counts")
            net.connect("TrellisAggregator", "trellis", "TrellisPlot", "trellis")
            for plot in ("MetricHistogramPlot", "PairMatrixPlot", "TrellisPlot"):
                canvas = net.inviwo("org.inviwo.CanvasGL", f"Canvas{plot}")
                harness.set_canvas_size(iv, canvas, 320, 240)
                net.connect(plot, "outport", f"Canvas{plot}", "inport")
        if configure is not None:
            configure(net)
        harness.attach_sinks(iv, list(net.p.values()))
    finally:
        iv.network.unlock()
    return net


@pytest.fixture
def expected() -> tuple[hpcore.Ensemble, hpcore.Ensemble]:
    """The source's and the normalization's ensembles, computed with hpcore alone."""
    ens = ensemble_from_frame(
        nws_like(ROWS, seed=SEED), source=f"synthetic, seed {SEED}"
    )
    return ens, hpcore.normalize(ens)


@pytest.fixture
def small_csv(tmp_path: Path, ensemble_df: pd.DataFrame) -> Path:
    """conftest's hand-made ensemble (minmax per data set known), a constant column."""
    path = tmp_path / "small.csv"
    ensemble_df.assign(const=1).to_csv(path, index=False)
    return path


# ------------------------------------------------------------ loading as Inviwo


def test_processor_folder_holds_exactly_the_processors() -> None:
    # Inviwo loads every *.py below processors/ as a processor (recursively)
    entries = sorted(
        p.relative_to(harness.PROCESSORS).as_posix()
        for p in harness.PROCESSORS.rglob("*")
        if "__pycache__" not in p.parts
    )
    assert entries == sorted(f"{name}.py" for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_loads_as_inviwo_loads_it(
    iv: harness.Inviwo, types: dict[str, harness.ProcessorType], name: str
) -> None:
    ptype = types[name]
    first = ptype.path.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# Name: {name}"
    assert ptype.name == name == ptype.cls.__name__
    info = ptype.info
    assert info.classIdentifier == f"org.hpexplorer.{name}"
    assert info.category == "HPExplorer"
    assert info.codeState == iv.ivw.CodeState.Stable
    # the class docstring is the help shown in Inviwo (0.9.11's ProcessorInfo
    # does not give it back: only the stand-in can read it)
    if not iv.real:
        text = info._help.str()
        assert text == bridge.help_document(ptype.cls.__doc__).str()
        assert text.startswith(ptype.cls.__doc__.strip().splitlines()[0].strip())
        example = re.search(r"Example network: `(workspaces/[\w-]+\.inv)`", text)
        assert example and (harness.REPO / example[1]).is_file()
    proc = harness.create(ptype, f"My{name}")
    assert proc.identifier == f"My{name}"
    assert proc.displayName == info.displayName
    got = proc.getProcessorInfo()  # (infos compare by identity in inviwopy)
    assert (got.classIdentifier, got.displayName, got.category) == (
        info.classIdentifier,
        info.displayName,
        info.category,
    )
    assert (got.codeState, got.tags.getString()) == (
        info.codeState,
        info.tags.getString(),
    )
    assert proc.classIdentifier == info.classIdentifier


def test_help_documents_every_port(types: dict[str, harness.ProcessorType]) -> None:
    for ptype in types.values():
        proc = harness.create(ptype)
        doc = ptype.cls.__doc__
        for port in [*proc.inports, *proc.outports]:
            assert f"__{port.identifier}__" in doc, (ptype.name, port.identifier)
            if not port.classIdentifier.startswith("BrushingAndLinking") and hasattr(
                port, "_help"
            ):  # (0.9.11 cannot read a port's help back: the stand-in can)
                assert not port._help.empty(), (ptype.name, port.identifier)


# --------------------------------------------------------- the whole pipeline


def test_source_and_normalization_equal_hpcore(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
    errors: list[str],
) -> None:
    net = pipeline(iv, types)
    ens, norm = expected
    got = net["EnsembleSource"].ensemble.getData()
    pd.testing.assert_frame_equal(got.table, ens.table)
    assert got.parameters == ens.parameters
    assert (got.metric, got.group) == ("test_accuracy", "dataset")
    assert got.source == f"synthetic, seed {SEED}"
    assert net["EnsembleSource"].summary.value.startswith(f"{ROWS:,} networks")

    normalized = net["MetricNormalization"].ensemble.getData()
    pd.testing.assert_frame_equal(normalized.table, norm.table)
    assert normalized.normalization == "minmax"

    # The Inviwo DataFrame: same rows, parameters categorical in option order,
    # metric and normalized metric as float32.
    frame = net["MetricNormalization"].dataframe.getData()
    assert frame.rows == ROWS and frame.cols == len(bridge.ensemble_columns(norm)) + 1
    assert list(frame.indexcol()) == list(range(ROWS))
    back = bridge.inviwo_to_table(frame)
    for p in norm.parameters:
        assert list(back[p].cat.categories) == list(norm.options(p))
        np.testing.assert_array_equal(back[p].cat.codes, norm.codes(p))
    for col in (norm.metric, "normalized"):
        assert back[col].dtype == np.float32
        np.testing.assert_allclose(back[col], norm.table[col], rtol=1e-6)

    net["MetricNormalization"].method.value = "rank"
    ranked = net["MetricNormalization"].ensemble.getData()
    pd.testing.assert_frame_equal(
        ranked.table, hpcore.normalize(ens, method="rank").table
    )
    assert errors == [] and escaped(iv) == []


def test_range_filter_counter_and_trellis_equal_hpcore(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
    errors: list[str],
) -> None:
    net = pipeline(iv, types)
    _, norm = expected
    filt = net["MetricRangeFilter"]
    filt.range.value = iv.ivw.glm.vec2(0.7, 0.95)
    filt.where.value = "dataset = cifar10 | svhn\noptimizer = ADAM"
    where = {"dataset": ["cifar10", "svhn"], "optimizer": ["ADAM"]}
    want = hpcore.select(norm, range=(0.7, 0.95), where=where)
    sel = filt.selection.getData()
    np.testing.assert_array_equal(sel.mask, want.mask)
    assert sel.range == (0.7, 0.95) and dict(sel.where) == dict(want.where)
    assert filt.count.value == want.count > 0

    counts = net["ParameterPairCounter"].counts.getData()
    pd.testing.assert_frame_equal(counts, hpcore.pair_statistics(norm, want))
    assert counts.attrs["selected"] == want.count
    frame = bridge.inviwo_to_table(net["ParameterPairCounter"].dataframe.getData())
    np.testing.assert_array_equal(frame["count"], counts["count"].astype(np.float32))
    assert list(frame["param_a"].astype(str)) == list(counts["param_a"])

    agg = net["TrellisAggregator"]
    assert agg.primary.identifiers == list(norm.parameters)
    assert agg.secondary.identifiers == ["none", *norm.parameters]
    agg.primary.selectedIdentifier = "optimizer"
    agg.secondary.selectedIdentifier = "batch_size"
    table = agg.trellis.getData()
    pd.testing.assert_frame_equal(
        table,
        hpcore.trellis_with_ci(norm, want, primary="optimizer", secondary="batch_size"),
        check_exact=False,
        rtol=1e-9,
    )
    assert table.attrs == {
        "primary": "optimizer",
        "secondary": "batch_size",
        "value": "normalized",
        "value_label": "normalized test_accuracy",
        "parameters": tuple(norm.parameters),
    }
    agg.value.value = "metric"
    pd.testing.assert_frame_equal(
        agg.trellis.getData(),
        hpcore.trellis_with_ci(
            norm, want, primary="optimizer", secondary="batch_size", value=norm.metric
        ),
    )
    assert errors == [] and escaped(iv) == []


def test_counter_uses_plain_counts_for_a_hand_made_selection(
    stub: harness.Inviwo,
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
) -> None:
    """A selection that is not a range + filter (its own mask) is counted exactly."""
    net = Net(iv, types)
    norm = hpcore.normalize(ensemble_from_frame(nws_like(400, seed=1)))
    mask = np.zeros(len(norm), dtype=bool)
    mask[::7] = True
    sel = hpcore.Selection(mask=mask, count=int(mask.sum()), range=(0.0, 1.0))
    feeder = iv.ivw.PythonOutport("feed")
    feeder2 = iv.ivw.PythonOutport("feed2")
    # data first: an outport that never got any holds a null object, which
    # Inviwo counts as data (the counter would run and fail on it)
    feeder.setData(norm)
    feeder2.setData(sel)
    counter = net.add("ParameterPairCounter")
    counter.ensemble.connectTo(feeder)
    counter.selectionInport.connectTo(feeder2)
    harness.attach_sinks(iv, [counter])
    pd.testing.assert_frame_equal(
        counter.counts.getData(), hpcore.pair_statistics(norm, sel)
    )
    assert errors == []


def test_plots_draw_hpcore_tables_at_the_canvas_size(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    for module, name in (
        ("histogram", "draw_histogram"),
        ("pairs", "draw_pair_matrix"),
        ("trellis", "draw_trellis"),
    ):
        home = importlib.import_module(f"hpcore.views.{module}")
        original = getattr(home, name)

        def spy(*args: Any, _o: Any = original, _n: str = name, **kwargs: Any) -> Any:
            drawn[_n] = (args, kwargs)
            return _o(*args, **kwargs)

        monkeypatch.setattr(home, name, spy)

    def configure(net: Net) -> None:
        net["MetricRangeFilter"].range.value = iv.ivw.glm.vec2(0.5, 1.0)
        net["MetricHistogramPlot"].range.value = iv.ivw.glm.vec2(0.5, 1.0)
        net["TrellisAggregator"].primary.replaceOptions(
            ["optimizer"], ["optimizer"], ["optimizer"]
        )

    net = pipeline(iv, types, plots=True, configure=configure)
    _, norm = expected
    sel = hpcore.select(norm, range=(0.5, 1.0))

    _, kw = drawn["draw_histogram"]
    raw, normalized = kw["raw"], kw["normalized"]
    pd.testing.assert_frame_equal(raw, hpcore.histogram(norm, bins=20))
    pd.testing.assert_frame_equal(
        normalized, hpcore.histogram(norm, bins=20, normalized=True)
    )
    assert kw["selected_range"] == (0.5, 1.0) and kw["selected_count"] == sel.count
    assert kw["metric"] == "test_accuracy" and kw["group"] == "dataset"
    (pairs,), _ = drawn["draw_pair_matrix"]
    pd.testing.assert_frame_equal(pairs, hpcore.pair_statistics(norm, sel))
    (table,), kw = drawn["draw_trellis"]
    pd.testing.assert_frame_equal(
        table,
        hpcore.trellis_with_ci(norm, sel, primary="optimizer"),
        check_exact=False,
        rtol=1e-9,
    )
    assert kw["primary_name"] == "optimizer" and kw["secondary_name"] is None

    for plot in ("MetricHistogramPlot", "PairMatrixPlot", "TrellisPlot"):
        image = net[plot].outport.getData()
        assert harness.wh(image.dimensions) == (320, 240), plot
        shown = harness.canvas_image(net[f"Canvas{plot}"])
        assert harness.wh(shown.dimensions) == (320, 240)
        pixels = image.colorLayers[0].data
        assert pixels.shape == (240, 320, 4) and pixels.dtype == np.uint8
        assert len(np.unique(pixels.reshape(-1, 4), axis=0)) > 10, plot  # not blank

    # A resized canvas re-runs its plot at the new size.
    harness.set_canvas_size(iv, net["CanvasTrellisPlot"], 400, 180)
    assert harness.wh(net["TrellisPlot"].outport.getData().dimensions) == (400, 180)

    # The bare heat map for Inviwo's Image Plot: one pixel per cell, not resized.
    heat = net["PairMatrixPlot"].heatmap.getData()
    _matrix, rows, cols = bridge.pair_matrix(hpcore.pair_counts(norm, sel))
    assert harness.wh(heat.dimensions) == (len(cols), len(rows))
    assert heat.colorLayers[0].interpolation == iv.ivw.data.InterpolationType.Nearest
    assert errors == [] and escaped(iv) == []


def test_histogram_shading_follows_the_linked_range(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A range change redraws only the shading: the figure is drawn once."""
    calls: list[tuple[str, Any]] = []
    home = importlib.import_module("hpcore.views.histogram")
    draw, update = home.draw_histogram, home.update_histogram

    def spy_draw(*args: Any, **kwargs: Any) -> Any:
        calls.append(("draw", kwargs["selected_range"]))
        return draw(*args, **kwargs)

    def spy_update(fig: Any, selected: Any, count: Any) -> Any:
        calls.append(("update", selected))
        return update(fig, selected, count)

    monkeypatch.setattr(home, "draw_histogram", spy_draw)
    monkeypatch.setattr(home, "update_histogram", spy_update)

    def configure(net: Net) -> None:
        filt, hist = net["MetricRangeFilter"].range, net["MetricHistogramPlot"].range
        iv.network.addLink(filt, hist)
        iv.network.addLink(hist, filt)

    net = pipeline(iv, types, plots=True, configure=configure)
    net["MetricRangeFilter"].range.value = iv.ivw.glm.vec2(0.25, 0.75)
    assert calls[-1][1] == (0.25, 0.75)
    assert net["MetricRangeFilter"].selection.getData().range == (0.25, 0.75)
    net["MetricHistogramPlot"].range.value = iv.ivw.glm.vec2(0.1, 0.2)
    assert net["MetricRangeFilter"].selection.getData().range == (0.1, 0.2)
    assert calls[-1] == ("update", (0.1, 0.2))
    assert [kind for kind, _ in calls].count("draw") == 1
    net["MetricHistogramPlot"].shade.value = False
    assert calls[-1] == ("draw", None)
    assert errors == [] and escaped(iv) == []


def test_selection_is_brushed_to_linked_inviwo_plots(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
    errors: list[str],
) -> None:
    def configure(net: Net) -> None:
        net.inviwo("org.inviwo.BrushingAndLinkingProcessor", "BnL")
        net.connect("BnL", "outport", "MetricRangeFilter", "brushing")

    net = pipeline(iv, types, configure=configure)
    _, norm = expected
    # a plot's brushing inport (e.g. Parallel Coordinates) linked to the same processor
    # (a port must belong to a processor to connect: a sink stands for the plot)
    plot_port = iv.bnl.BrushingAndLinkingInport("brushingAndLinking")
    plot = harness.make_sink(iv, "Plot", plot_port)
    iv.network.addConnection(net["BnL"].getOutport("outport"), plot.inport)
    filt = net["MetricRangeFilter"]
    filt.range.value = iv.ivw.glm.vec2(0.8, 1.0)
    rows = np.flatnonzero(hpcore.select(norm, range=(0.8, 1.0)).mask)

    others = np.flatnonzero(~hpcore.select(norm, range=(0.8, 1.0)).mask)
    assert plot_port.getSelectedIndices().toVector() == rows.tolist()
    assert not plot_port.getFilteredIndices().toVector()
    assert plot_port.isSelected(int(rows[0])) and not plot_port.isSelected(
        int(others[0])
    )

    filt.action.value = "filter"
    assert plot_port.getFilteredIndices().toVector() == others.tolist()

    filt.action.value = "none"
    assert not plot_port.getFilteredIndices().toVector()
    assert errors == [] and escaped(iv) == []


def test_source_reads_a_file_and_refills_its_choices(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    small_csv: Path,
    ensemble_df: pd.DataFrame,
    errors: list[str],
) -> None:
    net = pipeline(iv, types)
    source = net["EnsembleSource"]
    source.file.value = str(small_csv)
    assert source.metric.identifiers == ["auto", "batch", "test_accuracy", "const"]
    assert source.group.identifiers == ["auto", *ensemble_df.columns, "const"]
    ens = source.ensemble.getData()
    want = hpcore.load(small_csv)
    pd.testing.assert_frame_equal(ens.table, want.table)
    assert ens.source == str(small_csv) and ens.excluded == want.excluded
    # conftest's hand arithmetic: data set b normalizes to 0, 1/3, 2/3, 1
    norm = net["MetricNormalization"].ensemble.getData()
    np.testing.assert_allclose(norm.table["normalized"][4:], [0, 1 / 3, 2 / 3, 1])
    assert iv.real or any("not a parameter: 'const'" in m for _, m in iv.ivw.log)
    # a choice survives a reload when it is still offered
    source.group.selectedIdentifier = "dataset"
    source.file.value = str(small_csv)
    assert source.group.value == "dataset"
    assert errors == []


# ------------------------------------------------------------------- bad input


def _bad_file(net: Net, tmp: Path) -> str:
    net["EnsembleSource"].file.value = str(tmp / "missing.csv")
    return "does not exist"


def _bad_column(net: Net, tmp: Path) -> str:
    path = tmp / "cols.csv"
    frame = {
        "opt": ["a", "b", "a", "b"],
        "bs": [1, 1, 2, 2],
        "acc": [0.1, 0.5, 0.9, 0.2],
    }
    pd.DataFrame(frame).to_csv(path, index=False)
    net["EnsembleSource"].file.value = str(path)
    net["EnsembleSource"].group.selectedIdentifier = "acc"
    return "cannot also be the metric"


def _empty_selection(net: Net, tmp: Path) -> str:
    net["MetricRangeFilter"].where.value = "dataset = mnist"
    net["MetricRangeFilter"].range.value = net.iv.ivw.glm.vec2(0.123456, 0.123457)
    return "the selection is empty"


def _unknown_option(net: Net, tmp: Path) -> str:
    net["MetricRangeFilter"].where.value = "optimizer = Adagrad"
    return "unknown option(s) ['Adagrad'] for parameter 'optimizer'"


def _bad_filter_line(net: Net, tmp: Path) -> str:
    net["MetricRangeFilter"].where.value = "dataset cifar10"
    return "expected one 'parameter = option | option' per line"


def _same_primary_secondary(net: Net, tmp: Path) -> str:
    agg = net["TrellisAggregator"]
    agg.primary.selectedIdentifier = "optimizer"
    agg.secondary.selectedIdentifier = "optimizer"
    return "secondary must differ from primary"


def _wrong_object(net: Net, tmp: Path) -> str:
    # rewired: the selection's connection taken off first (a second outport on
    # a Python inport would be connected too, and ignored: its data comes from
    # the first)
    selection = net["ParameterPairCounter"].getInport("selection")
    net.iv.network.lock()
    try:
        while (source := selection.getConnectedOutport()) is not None:
            net.iv.network.removeConnection(source, selection)
        net.connect(
            "MetricNormalization", "normalized", "ParameterPairCounter", "selection"
        )
    finally:
        net.iv.network.unlock()
    return "inport 'selection' expects hpcore.analysis.selection.Selection"


BAD = {
    "unreadable file": (_bad_file, "EnsembleSource", ("ensemble", "dataframe")),
    "bad column choice": (_bad_column, "EnsembleSource", ("ensemble", "dataframe")),
    "empty selection": (
        _empty_selection,
        "MetricRangeFilter",
        ("selection", "selected"),
    ),
    "unknown option": (_unknown_option, "MetricRangeFilter", ("selection", "selected")),
    "bad filter line": (
        _bad_filter_line,
        "MetricRangeFilter",
        ("selection", "selected"),
    ),
    "primary equals secondary": (
        _same_primary_secondary,
        "TrellisAggregator",
        ("trellis", "dataframe"),
    ),
    "wrong object on an inport": (
        _wrong_object,
        "ParameterPairCounter",
        ("counts", "dataframe"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_logged_and_clears_outports(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
    tmp_path: Path,
    case: str,
) -> None:
    make_bad, name, ports = BAD[case]
    net = pipeline(iv, types)
    for port in ports:  # good results first, so clearing is visible
        assert net[name].getOutport(port).hasData()
    message = make_bad(net, tmp_path)
    assert escaped(iv) == []
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{name}: ")
    assert message in errors[0]
    assert "Traceback" not in errors[0]  # hpcore's message, not a crash
    for port in ports:
        assert not net[name].getOutport(port).hasData(), port


def test_downstream_of_a_failed_processor_is_not_run(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
    tmp_path: Path,
) -> None:
    net = pipeline(iv, types, plots=True)
    assert harness.canvas_image(net["CanvasTrellisPlot"]) is not None
    _bad_file(net, tmp_path)
    assert not net["MetricRangeFilter"].selection.isReady()
    assert not net["TrellisPlot"].outport.isReady()
    assert len(errors) == 1 and escaped(iv) == []


def test_an_unexpected_error_is_logged_with_its_traceback(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = pipeline(iv, types)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(bridge, "normalize", broken)
    net["MetricNormalization"].method.value = "robust"
    assert escaped(iv) == []
    assert errors and errors[0].startswith(
        "MetricNormalization: unexpected ZeroDivisionError"
    )
    assert "Traceback" in errors[0]
    assert not net["MetricNormalization"].ensemble.hasData()


# ------------------------------------------------------------------ the bridge


def test_table_to_inviwo_round_trip(iv: harness.Inviwo) -> None:
    table = pd.DataFrame(
        {
            "opt": pd.Categorical(
                ["sgd", "adam", None, "sgd"], categories=["sgd", "adam"]
            ),
            "name": ["x", "y", "x", None],
            "flag": [True, False, True, True],
            "n": [1, 2, 3, 4],
            "acc": [0.5, np.nan, 0.25, 1.0],
        }
    )
    before = table.copy()
    frame = bridge.table_to_inviwo(table)
    pd.testing.assert_frame_equal(table, before)  # input untouched
    assert frame.rows == 4 and [c.header for c in frame] == ["index", *table.columns]
    opt = named(frame, "opt")
    assert opt.categories == ["sgd", "adam", bridge.MISSING_LABEL]
    assert [opt.get(i) for i in range(4)] == [
        "sgd",
        "adam",
        bridge.MISSING_LABEL,
        "sgd",
    ]
    assert named(frame, "name").categories == ["x", "y", bridge.MISSING_LABEL]
    assert named(frame, "flag").categories == ["True", "False"]
    assert named(frame, "n").buffer.data.dtype == np.float32
    back = bridge.inviwo_to_table(frame)
    np.testing.assert_array_equal(back["acc"], table["acc"].astype(np.float32))
    assert list(back["n"]) == [1.0, 2.0, 3.0, 4.0]


def test_empty_table_converts(iv: harness.Inviwo) -> None:
    frame = bridge.table_to_inviwo(
        pd.DataFrame({"a": pd.Series([], dtype=str), "b": []})
    )
    assert frame.rows == 0 and frame.cols == 3


def test_mask_and_bitset_round_trip(iv: harness.Inviwo) -> None:
    mask = np.zeros(12, dtype=bool)
    mask[[0, 5, 11]] = True
    bits = bridge.mask_to_bitset(mask)
    assert bits.toVector() == [0, 5, 11]
    np.testing.assert_array_equal(bridge.bitset_to_mask(bits, 12), mask)
    with pytest.raises(hpcore.SelectionError, match=r"0\.\.9; got 0\.\.11"):
        bridge.bitset_to_mask(bits, 10)


def test_rgba_to_image_flips_rows_and_checks_shape(iv: harness.Inviwo) -> None:
    rgba = np.zeros((3, 2, 4), dtype=np.uint8)
    rgba[0, :, 0] = 255  # top row red
    layer = bridge.rgba_to_image(rgba).colorLayers[0]
    assert harness.wh(layer.dimensions) == (2, 3)
    assert layer.data[2, 0, 0] == 255 and layer.data[0, 0, 0] == 0  # origin lower-left
    assert layer.data.flags.c_contiguous
    with pytest.raises(ValueError, match=r"\(height, width, 4\) uint8"):
        bridge.rgba_to_image(np.zeros((3, 2, 3), dtype=np.uint8))


@pytest.mark.parametrize("size", [(320, 240), (333, 127), (901, 561)])
def test_figure_pixels_are_exact(size: tuple[int, int]) -> None:
    fig = render.figure_for_pixels(*size)
    assert bridge.figure_rgba(fig, size).shape == (size[1], size[0], 4)


def test_a_canvas_too_small_for_the_figure_is_logged(
    iv: harness.Inviwo, monkeypatch: pytest.MonkeyPatch
) -> None:
    warned: list[str] = []
    monkeypatch.setattr(iv.ivw, "logWarn", warned.append)
    ens = hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(500)))
    table = hpcore.trellis(ens, primary="dataset", secondary="optimizer")
    fig = render.draw_trellis(table, fig=render.figure_for_pixels(200, 100))
    assert bridge.figure_rgba(fig, (200, 100)).shape == (100, 200, 4)
    assert warned == [
        "a 200x100 px canvas is too small to lay this figure out (panels "
        "collapsed); enlarge the canvas"
    ]
    warned.clear()
    fig = render.draw_trellis(table, fig=render.figure_for_pixels(2400, 1400))
    bridge.figure_rgba(fig, (2400, 1400))
    assert warned == []


def test_canvas_pixels(iv: harness.Inviwo) -> None:
    port = iv.ivw.data.ImageOutport("outport")
    assert bridge.canvas_pixels(port) == bridge.DEFAULT_PIXELS  # 1 x 1 until sized
    port.setDimensions(iv.ivw.glm.size2_t(640, 480))
    assert bridge.canvas_pixels(port) == (640, 480)
    port.setDimensions(iv.ivw.glm.size2_t(16384, 100))
    assert bridge.canvas_pixels(port) == (bridge.MAX_PIXELS, 50)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", {}),
        ("dataset = a | b", {"dataset": ["a", "b"]}),
        (
            "x=1; y = [0.1, 0.2) | [0.2, 0.3]\n\nx = 2",
            {"x": ["1", "2"], "y": ["[0.1, 0.2)", "[0.2, 0.3]"]},
        ),
    ],
)
def test_parse_where(text: str, where: dict[str, list[str]]) -> None:
    assert bridge.parse_where(text) == where


@pytest.mark.parametrize("text", ["dataset", "= a", "dataset = ", "dataset = |"])
def test_parse_where_rejects(text: str) -> None:
    with pytest.raises(hpcore.OptionError, match="option filter: cannot read"):
        bridge.parse_where(text)


def test_file_path_and_range_value(iv: harness.Inviwo) -> None:
    assert bridge.file_path(Path("")) is None and bridge.file_path("") is None
    assert bridge.file_path(" /x/y.csv ") == Path("/x/y.csv")
    assert bridge.range_value(iv.ivw.glm.vec2(0.9, 1.0)) == (0.9, 1.0)


def test_set_choices_keeps_a_still_offered_selection(iv: harness.Inviwo) -> None:
    prop = iv.ivw.properties.OptionPropertyString("p", "P", options=[])
    bridge.set_choices(prop, ["a", "b", "c"])
    prop.selectedIdentifier = "b"
    bridge.set_choices(prop, ["c", "b"])
    assert prop.value == "b"
    bridge.set_choices(prop, ["x", "y"])
    assert prop.value == "x"


def test_pair_matrix_is_the_lower_triangle(ensemble_df: pd.DataFrame) -> None:
    ens = hpcore.normalize(hpcore.load(ensemble_df))
    pairs = hpcore.pair_counts(ens)
    matrix, rows, cols = bridge.pair_matrix(pairs)
    assert rows == [("opt", "adam"), ("opt", "sgd"), ("batch", "32"), ("batch", "64")]
    assert cols == [("dataset", "a"), ("dataset", "b"), ("opt", "adam"), ("opt", "sgd")]
    # hand count from conftest: dataset a: adam 32, sgd 64, adam 64, sgd 32
    assert matrix[0, 0] == 2 and matrix[2, 0] == 2  # (a, adam), (a, 32)
    assert matrix[2, 2] == 2 and matrix[3, 3] == 2  # (adam, 32), (sgd, 64)
    assert np.isnan(matrix[0, 2])  # opt x opt is not a pair
    rgba = bridge.pair_heatmap_rgba(pairs)
    assert rgba.shape == (4, 4, 4) and rgba[0, 2, 3] == 0 and rgba[0, 0, 3] == 255
    # a pair row with a missing option has no cell: it must not land in the
    # last row or column (index -1)
    # (moved to the end of the table, so a stray write would come last and stay)
    holed = pairs.astype({"option_b": object})
    hole = (holed["option_a"] == "a") & (holed["option_b"] == "adam")
    holed = pd.concat([holed[~hole], holed[hole]], ignore_index=True)
    hole = pd.Series([False] * (~hole).sum() + [True] * hole.sum())
    holed.loc[hole, ["option_b", "count"]] = [None, 99]
    hmatrix, hrows, hcols = bridge.pair_matrix(holed)
    for row in holed[~hole].itertuples():
        r = hrows.index((row.param_b, str(row.option_b)))
        c = hcols.index((row.param_a, str(row.option_a)))
        assert hmatrix[r, c] == row.count, row
    assert np.isfinite(hmatrix).sum() == (~hole).sum()


@pytest.mark.parametrize("limit", [0, 1, 7, 50, 10_000])
def test_best_rows_are_the_best_selected_first_ties_in_table_order(
    limit: int,
) -> None:
    rng = np.random.default_rng(limit)
    ens = hpcore.normalize(ensemble_from_frame(nws_like(600, seed=2)))
    # many exact ties (values on a coarse grid) and a few missing values
    values = np.round(rng.random(len(ens.table)) * 20) / 20
    values[::97] = np.nan
    ens.table["normalized"] = values
    mask = rng.random(len(ens.table)) < 0.6
    got = bridge.best_rows(ens, mask, limit)
    rows = np.flatnonzero(mask)  # the oracle: a full stable sort
    key = np.where(np.isnan(values[rows]), -np.inf, values[rows])
    want = rows[np.argsort(-key, kind="stable")][:limit]
    assert got.tolist() == want.tolist()
    table = bridge.selected_table(ens, mask, limit)
    assert table[bridge.NETWORK].tolist() == want.tolist()
    assert table[bridge.NETWORK].dtype == np.uint32


# --------------------------------------------------- stand-in fidelity guards


@pytest.fixture
def stub(inviwo: harness.Inviwo) -> harness.Inviwo:
    if inviwo.real:
        pytest.skip("checks of the stand-in itself")
    return inviwo


def test_stub_has_inviwos_overload_pitfalls(stub: harness.Inviwo) -> None:
    props, doc = stub.ivw.properties, stub.ivw.md2doc("h")
    cb = props.ConstraintBehavior
    assert props.StringProperty("s", "S", "text").value == "text"
    with pytest.raises(TypeError, match="incompatible constructor arguments"):
        props.StringProperty("s", "S", help="plain text is not a Document")
    with pytest.raises(TypeError):  # with help, bounds must be (value, behavior)
        props.IntProperty("i", "I", help=doc, value=5, min=0, max=10)
    assert props.IntProperty("i", "I", help=doc, value=500).value == 100  # default max
    assert (
        props.IntProperty("i", "I", help=doc, value=500, max=(1000, cb.Ignore)).value
        == 500
    )
    rng = props.FloatMinMaxProperty("r", "R", valueMin=0.9, valueMax=1.0)
    assert rng.value.x == pytest.approx(0.9, abs=1e-7) and rng.value.x != 0.9  # float32
    with pytest.raises(TypeError):
        stub.bnl.BrushingAndLinkingOutport("out")  # help is required
    with pytest.raises(ValueError, match="identifier"):
        props.BoolProperty("has space", "B")


def test_stub_bitset_reads_arrays_as_masks(stub: harness.Inviwo) -> None:
    bitset = stub.ivw.data.BitSet
    assert bitset([0, 5]).toVector() == [0, 5]
    assert bitset(np.array([0, 5])).toVector() == [1]  # std::vector<bool> by truthiness
    assert bitset([False, True, True]).toVector() == [1, 2]


def test_stub_dataframe_needs_update_index(stub: harness.Inviwo) -> None:
    frame = stub.df.DataFrame()
    col = frame.addFloatColumn("x", 3)
    assert frame.rows == 3 and frame.indexcol().size == 0
    frame.updateIndex()
    assert list(frame.indexcol()) == [0, 1, 2]
    cat = frame.addCategoricalColumn("c", ["b", "a", "b"])
    assert cat.categories == ["b", "a"] and col.buffer.data.dtype == np.float32
    with pytest.raises(IndexError):
        cat.set(0, 7)


def test_engine_answers_range_and_filter_selections_only(
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, norm = expected
    engines = bridge.EngineCache()
    where = {"optimizer": ["ADAM", "RMSProp"]}
    made = bridge.brush_selection(engines, norm, range=(0.3, 0.8), where=where)
    sel = hpcore.select(norm, range=(0.3, 0.8), where=where)
    np.testing.assert_array_equal(made.mask, sel.mask)
    assert (made.count, made.range, dict(made.where)) == (
        sel.count,
        sel.range,
        dict(sel.where),
    )
    engine = engines.get(norm)
    assert engines.get(norm) is engine and engine.made(made)  # built once

    # the fast path: the engine's own selection, its rows never looked at
    def no_rows(*args: object) -> np.ndarray:
        raise AssertionError("rows were looked at")

    with monkeypatch.context() as m:
        m.setattr(BrushEngine, "_rows", no_rows)
        result = bridge._engine_result(engines, norm, made, "dataset", "optimizer")
        assert result is not None and result.count == sel.count
        pd.testing.assert_frame_equal(
            bridge.selected_pair_counts(engines, norm, made),
            hpcore.pair_counts(norm, sel),
        )
        pd.testing.assert_frame_equal(
            bridge.selected_trellis(engines, norm, made, primary="dataset"),
            hpcore.trellis(norm, sel, primary="dataset"),
            rtol=1e-12,
        )
        with pytest.raises(AssertionError, match="rows were looked at"):
            bridge._engine_result(engines, norm, sel)  # not made: checked
    # a selection of hpcore.select: its rows are checked, then the engine answers
    assert bridge._engine_result(engines, norm, sel) is not None

    # the fallback: a hand-made mask goes to the plain functions
    mask = sel.mask.copy()
    mask[np.flatnonzero(mask)[0]] = False  # no longer a range + filter
    own = hpcore.Selection(
        mask=mask, count=int(mask.sum()), range=sel.range, where=sel.where
    )
    assert bridge._engine_result(engines, norm, own) is None
    pd.testing.assert_frame_equal(
        bridge.selected_pair_counts(engines, norm, own), hpcore.pair_counts(norm, own)
    )
    pd.testing.assert_frame_equal(
        bridge.selected_trellis(engines, norm, own, primary="dataset"),
        hpcore.trellis(norm, own, primary="dataset"),
    )
    # the metric itself is aggregated by the plain function, exactly
    pd.testing.assert_frame_equal(
        bridge.selected_trellis(
            engines, norm, made, primary="dataset", value=norm.metric
        ),
        hpcore.trellis(norm, sel, primary="dataset", value=norm.metric),
        check_exact=True,
    )


def test_engine_cache_keeps_the_latest_engines(
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
) -> None:
    raw, norm = expected
    other = hpcore.normalize(raw, method="rank")
    cache = bridge.EngineCache(size=1)
    first = cache.get(norm)
    assert cache.get(other) is not first
    assert cache.get(norm) is not first  # dropped for the other: rebuilt
    two = bridge.EngineCache(size=2)
    a, b = two.get(norm), two.get(other)
    assert two.get(norm) is a and two.get(other) is b
    # no engine for an ensemble it cannot serve; the plain functions raise
    assert two.find(raw) is None
    with pytest.raises(hpcore.SelectionError, match="normalize"):
        two.get(raw)
    with pytest.raises(hpcore.SelectionError, match="select needs the normalized"):
        bridge.brush_selection(two, raw, range=(0.0, 1.0))
    for size in (0, True, 1.5):
        with pytest.raises(hpcore.HpcoreError, match="`size` must be a positive"):
            bridge.EngineCache(size=size)  # type: ignore[arg-type]


def test_a_brush_is_answered_without_scanning_rows(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Downstream of Metric Range Filter, a brush re-scans no rows."""
    net = pipeline(iv, types, plots=True)
    calls = {"rows": 0, "plain": 0, "histogram": 0}
    original_rows = BrushEngine._rows

    def rows(*args: Any) -> np.ndarray:
        calls["rows"] += 1
        return original_rows(*args)

    def plain(*args: Any, **kwargs: Any) -> Any:
        calls["plain"] += 1
        raise AssertionError("a plain function ran")

    original_histograms = bridge.histograms

    def histograms(*args: Any, **kwargs: Any) -> Any:
        calls["histogram"] += 1
        return original_histograms(*args, **kwargs)

    monkeypatch.setattr(BrushEngine, "_rows", rows)
    monkeypatch.setattr(sys.modules["hpcore.analysis.pairs"], "pair_counts", plain)
    monkeypatch.setattr(sys.modules["hpcore.analysis.trellis"], "trellis", plain)
    monkeypatch.setattr(bridge, "histograms", histograms)
    filt = net["MetricRangeFilter"]
    for lo, hi in [(0.2, 0.9), (0.5, 1.0), (0.0, 0.3)]:
        filt.range.value = iv.ivw.glm.vec2(lo, hi)
        sel = filt.selection.getData()
        ens = net["MetricNormalization"].ensemble.getData()
        assert bridge.ENGINES.find(ens) is not None
        assert bridge.ENGINES.find(ens).made(sel)  # type: ignore[union-attr]
    # one pass over the sorted rows per brush: the filter's own mask
    assert calls == {"rows": 3, "plain": 0, "histogram": 0}
    net["MetricHistogramPlot"].bins.value = 10  # new bins: counted again
    assert calls["histogram"] == 1
    assert errors == [] and escaped(iv) == []


# ------------------------------------------------ direct manipulation (issue 9)


def linked(iv: harness.Inviwo) -> Callable[[Net], None]:
    """The workspace's links: range, option filter and primary, both ways."""

    def configure(net: Net) -> None:
        for a, b in (
            (net["MetricRangeFilter"].range, net["MetricHistogramPlot"].range),
            (net["MetricRangeFilter"].where, net["PairMatrixPlot"].where),
            (net["TrellisAggregator"].primary, net["TrellisPlot"].primary),
        ):
            iv.network.addLink(a, b)
            iv.network.addLink(b, a)
        for plot in ("MetricHistogramPlot", "PairMatrixPlot", "TrellisPlot"):
            harness.set_canvas_size(iv, net[f"Canvas{plot}"], 900, 700)

    return configure


def mouse_event(
    iv: harness.Inviwo, state: str, xy: tuple[float, float], size: Any, held: bool
) -> Any:
    ivw = iv.ivw
    w, h = int(size[0]), int(size[1])
    return ivw.MouseEvent(
        button=ivw.MouseButton.Left,
        state=getattr(ivw.MouseState, state),
        buttonState=ivw.MouseButtons(ivw.MouseButton.Left)
        if held
        else ivw.MouseButtons(),
        modifiers=ivw.KeyModifiers(),  # required: 0.9.11's defaults do not convert
        normalizedPosition=ivw.glm.dvec2(xy[0] / w, xy[1] / h),
        canvasSize=ivw.glm.uvec2(w, h),
    )


def send(iv: harness.Inviwo, proc: Any, state: str, xy: Any, held: bool) -> Any:
    size = proc.outport.getData().dimensions
    event = mouse_event(iv, state, (float(xy[0]), float(xy[1])), size, held)
    proc.propagateEvent(event, None)
    return event


def test_dragging_on_the_histogram_sets_the_linked_range(
    iv: harness.Inviwo, types: dict[str, harness.ProcessorType], errors: list[str]
) -> None:
    net = pipeline(iv, types, plots=True, configure=linked(iv))
    hist = net["MetricHistogramPlot"]
    fig = hist._plot.figure
    (ax,) = [a for a in fig.axes if a.get_gid() == "histogram-normalized"]
    at = lambda v: ax.transData.transform((v, 1.0))  # noqa: E731
    assert send(iv, hist, "Press", at(0.30), True).hasBeenUsed()
    send(iv, hist, "Move", at(0.45), True)
    send(iv, hist, "Move", at(0.60), True)
    send(iv, hist, "Release", at(0.60), False)
    lo, hi = bridge.range_value(net["MetricRangeFilter"].range.value)
    assert lo == pytest.approx(0.30, abs=0.01) and hi == pytest.approx(0.60, abs=0.01)
    sel = net["MetricRangeFilter"].selection.getData()
    assert sel.range == (lo, hi)
    # the matrix followed the new selection
    assert net["PairMatrixPlot"]._counts.attrs["selected"] == sel.count
    # grabbing the upper end moves only that end
    send(iv, hist, "Press", at(hi), True)
    send(iv, hist, "Move", at(0.9), True)
    send(iv, hist, "Release", at(0.9), False)
    lo2, hi2 = bridge.range_value(net["MetricRangeFilter"].range.value)
    assert lo2 == lo and hi2 == pytest.approx(0.9, abs=0.01)
    # hovering a bar shows its counts
    if not iv.real:
        iv.ivw._events.tooltips.clear()
        send(iv, hist, "Move", at(0.5), False)
        assert iv.ivw._events.tooltips[-1].startswith("normalized [0.50, 0.55)")
    assert errors == [] and escaped(iv) == []


def test_clicking_a_matrix_cell_toggles_that_option_pair(
    iv: harness.Inviwo, types: dict[str, harness.ProcessorType], errors: list[str]
) -> None:
    net = pipeline(iv, types, plots=True, configure=linked(iv))
    matrix = net["PairMatrixPlot"]
    cells = matrix._plot.figure._hpx_pairs
    lay = cells.layout
    a, b = "optimizer", "activation"
    i, j = lay.options[a].index("ADAM"), lay.options[b].index("ELU")
    xy = cells.transform.transform((lay.x0[a] + i + 0.5, lay.y0[b] + j + 0.5))
    if not iv.real:  # hovering shows the cell's statistics
        send(iv, matrix, "Move", xy, False)
        tip = iv.ivw._events.tooltips[-1]
        assert tip.startswith("optimizer = ADAM, activation = ELU")
        assert "expected by chance" in tip and "q = " in tip
    send(iv, matrix, "Press", xy, True)
    send(iv, matrix, "Release", xy, False)
    filt = net["MetricRangeFilter"]
    assert bridge.parse_where(filt.where.value) == {
        "optimizer": ["ADAM"],
        "activation": ["ELU"],
    }
    sel = filt.selection.getData()
    assert dict(sel.where) == {"optimizer": ("ADAM",), "activation": ("ELU",)}
    # the matrix redrew for the filtered selection, its layout kept
    assert matrix._counts.attrs["selected"] == sel.count
    send(iv, matrix, "Press", xy, True)
    send(iv, matrix, "Release", xy, False)
    assert filt.where.value == "" and not filt.selection.getData().where
    assert errors == [] and escaped(iv) == []


def test_clicking_a_trellis_title_makes_it_the_primary(
    iv: harness.Inviwo, types: dict[str, harness.ProcessorType], errors: list[str]
) -> None:
    net = pipeline(iv, types, plots=True, configure=linked(iv))
    plot = net["TrellisPlot"]
    fig = plot._plot.figure
    renderer = fig.canvas.get_renderer()
    title = next(
        t for t in fig.texts if (t.get_gid() or "") == "trellis-title:optimizer"
    )
    box = title.get_window_extent(renderer)
    xy = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    send(iv, plot, "Press", xy, True)
    send(iv, plot, "Release", xy, False)
    agg = net["TrellisAggregator"]
    assert agg.primary.value == "optimizer" == plot.primary.value
    table = agg.trellis.getData()
    assert table.attrs["primary"] == "optimizer"
    assert set(table["primary"].astype(str)) == {"ADAM", "RMSProp", "Momentum SGD"}
    if not iv.real:  # hovering a marker shows its mean, interval and size
        fig = plot._plot.figure
        points = next(
            p
            for p in fig.findobj()
            if str(p.get_gid() or "").startswith(
                ("trellis-points:", "trellis-live-points:")
            )
            and len(p.get_offsets())
        )
        px, py = points.get_offset_transform().transform(points.get_offsets()[0])
        send(iv, plot, "Move", (px, py), False)
        tip = iv.ivw._events.tooltips[-1]
        assert "optimizer = " in tip and "mean " in tip and "n = " in tip
    assert errors == [] and escaped(iv) == []


def test_processor_help_with_and_without_unindent_md2doc(
    stub: harness.Inviwo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.9.11 has only md2doc; newer Inviwo's unindentMd2doc is used when there."""
    doc = "\n    Line one.\n\n    * item\n    "
    plain = bridge.help_document(doc).str()
    assert plain == "Line one.\n\n* item"
    monkeypatch.setattr(
        stub.ivw, "unindentMd2doc", stub.ivw.newer_unindentMd2doc, raising=False
    )
    assert bridge.help_document(doc).str() == plain


# ------------------------------------ linking both ways, comparing selections


def _linked_selection(net: Net) -> None:
    """Brushing And Linking with Parallel Coordinates and Linked Selection ->
    a second trellis."""
    net.inviwo("org.inviwo.BrushingAndLinkingProcessor", "BrushingAndLinking")
    net.inviwo("org.inviwo.ParallelCoordinates", "ParallelCoordinates")
    net.add("LinkedSelection")
    net.add("TrellisAggregator", "LinkedTrellis")
    net.connect("MetricNormalization", "dataframe", "ParallelCoordinates", "dataFrame")
    for proc, port in (
        ("ParallelCoordinates", "brushingAndLinking"),
        ("LinkedSelection", "brushing"),
    ):
        net.connect("BrushingAndLinking", "outport", proc, port)
    for proc in ("LinkedSelection", "LinkedTrellis"):
        net.connect("MetricNormalization", "normalized", proc, "ensemble")
    net.connect("LinkedSelection", "selection", "LinkedTrellis", "selection")


def test_a_selection_in_inviwos_plots_drives_the_trellis(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
) -> None:
    _, norm = expected
    net = pipeline(iv, types, configure=_linked_selection)
    linked, pcp = net["LinkedSelection"], net["ParallelCoordinates"]
    assert linked.selection.getData().count == ROWS  # nothing brushed yet
    bits = iv.ivw.data.BitSet
    brushing = pcp.getInport("brushingAndLinking")

    # brushing an axis filters rows out: the linked trellis is theirs
    out = np.flatnonzero(norm.table["optimizer"].astype(str) == "SGD")
    brushing.filter("parallelcoordinates", bits([int(i) for i in out]))
    keep = np.ones(ROWS, dtype=bool)
    keep[out] = False
    sel = linked.selection.getData()
    np.testing.assert_array_equal(sel.mask, keep)
    got = net["LinkedTrellis"].trellis.getData()
    want = hpcore.trellis_with_ci(
        norm,
        sel,
        primary=got.attrs["primary"],
        secondary=got.attrs["secondary"],
        level=0.95,
    )
    np.testing.assert_allclose(got["mean"], want["mean"])
    assert linked.count.value == int(keep.sum())

    # "selected": the rows selected there (and not filtered out), filtered
    # further by the option filter
    linked.use.selectedIdentifier = "selected"
    assert len(errors) == 1 and "no network is selected" in errors[0]
    assert not linked.selection.hasData()
    errors.clear()
    brushing.select(bits(list(range(0, ROWS, 3))))
    linked.where.value = "dataset = mnist"
    chosen = np.zeros(ROWS, dtype=bool)
    chosen[::3] = True
    mnist = norm.table["dataset"].astype(str).to_numpy() == "mnist"
    np.testing.assert_array_equal(
        linked.selection.getData().mask, chosen & keep & mnist
    )
    # a highlight (hovering a line) does not re-run it
    before = linked.selection.getData()
    brushing.highlight(bits([1, 2]))
    assert linked.selection.getData() is before
    assert errors == [] and escaped(iv) == []


def _comparison(net: Net) -> None:
    bulk = net.add("MetricRangeFilter", "Bulk")
    bulk.range.value = net.iv.ivw.glm.vec2(0.0, 0.8)
    net.add("SelectionComparison")
    net.add("PairMatrixPlot", "Difference")
    net["Difference"].colour.selectedIdentifier = "difference"
    canvas = net.inviwo("org.inviwo.CanvasGL", "DifferenceCanvas")
    harness.set_canvas_size(net.iv, canvas, 400, 360)
    net.connect("MetricNormalization", "normalized", "Bulk", "ensemble")
    net.connect("MetricNormalization", "normalized", "SelectionComparison", "ensemble")
    net.connect("MetricRangeFilter", "selection", "SelectionComparison", "selection")
    net.connect("Bulk", "selection", "SelectionComparison", "reference")
    net.connect("SelectionComparison", "comparison", "Difference", "counts")
    net.connect("Difference", "outport", "DifferenceCanvas", "inport")


def test_two_selections_compared_in_the_difference_matrix(
    iv: harness.Inviwo,
    types: dict[str, harness.ProcessorType],
    errors: list[str],
    expected: tuple[hpcore.Ensemble, hpcore.Ensemble],
) -> None:
    from hpcore.analysis.stats import compare_selections

    _, norm = expected
    net = pipeline(iv, types, plots=True, configure=_comparison)
    top = hpcore.select(norm, range=(0.9, 1.0))
    bulk = hpcore.select(norm, range=(0.0, 0.8))
    got = net["SelectionComparison"].comparison.getData()
    pd.testing.assert_frame_equal(
        got.drop(columns="count"), compare_selections(norm, bulk, top)
    )
    np.testing.assert_array_equal(got["count"], got["count_b"])
    image = harness.canvas_image(net["DifferenceCanvas"])
    assert image is not None and harness.wh(image.dimensions) == (400, 360)
    cell = got.iloc[int(np.argmax(np.abs(got["difference"].to_numpy())))]
    tip = bridge.pair_tooltip(
        got, cell["param_a"], cell["option_a"], cell["param_b"], cell["option_b"]
    )
    assert f"selection: {int(cell['count_b']):,}" in tip
    assert f"reference: {int(cell['count_a']):,}" in tip
    assert "percentage points" in tip and "q = " in tip
    assert errors == [] and escaped(iv) == []

    # the difference colouring needs a comparison: one clear message
    net["PairMatrixPlot"].colour.selectedIdentifier = "difference"
    assert len(errors) == 1 and errors[0].startswith("PairMatrixPlot: ")
    assert "needs the table of Selection Comparison" in errors[0]
    assert not net["PairMatrixPlot"].outport.hasData()


def test_trellis_value_axis_is_kept_while_it_serves() -> None:
    def table(means: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"mean": means, "count": [50] * len(means)})

    first = bridge.sticky_limits(None, table([0.62, 0.71]))
    assert first == bridge.nice_limits(table([0.62, 0.71])) == (0.6, 0.75)
    # a small move of the means keeps the axis (no new layout) ...
    assert bridge.sticky_limits(first, table([0.64, 0.70])) == first
    # ... means outside it, or filling less than half of it, get a new one
    assert bridge.sticky_limits(first, table([0.55, 0.70])) == (0.55, 0.7)
    assert bridge.sticky_limits((0.0, 1.0), table([0.64, 0.70])) == (0.6, 0.7)


def test_no_processor_builds_brushing_invalidation_levels() -> None:
    # Inviwo 0.9.11 binds BrushingTargetsInvalidationLevel as a subclass of
    # Inport: a list of them given to a BrushingAndLinkingInport crashed the
    # real application when the processor was created (seen under gdb), so
    # the processors use the default levels or none ([]).
    for path in harness.processor_files():
        text = path.read_text(encoding="utf-8")
        assert "BrushingTargetsInvalidationLevel(" not in text, path.name
