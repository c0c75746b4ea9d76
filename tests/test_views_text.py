"""hpcore.views text and output: fast text rendering, text widths, saving."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image

from hpcore import views
from hpcore.views.canvas import FastTextCanvas, FastTextRenderer
from hpcore.views.style import save_figure
from hpcore.views.text import text_width


def ink(canvas_type: type, text: str, size: float, rotation: float = 0) -> np.ndarray:
    """Darkness (0..1) of a 300 x 100 px figure showing ``text``."""
    fig = Figure(figsize=(3, 1), dpi=100)
    canvas_type(fig)
    fig.text(0.05, 0.4, text, fontsize=size, rotation=rotation)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba(), dtype=float)  # type: ignore[attr-defined]
    return 1.0 - rgba[..., :3].mean(axis=2) / 255.0


@pytest.mark.parametrize("rotation", [0, 90])
def test_fast_text_looks_like_matplotlib_text(rotation: float) -> None:
    label = "Glorot normal [0.0002, 0.00116) x1.58"
    ours = ink(FastTextCanvas, label, 9, rotation)
    theirs = ink(FigureCanvasAgg, label, 9, rotation)
    assert ours.sum() == pytest.approx(theirs.sum(), rel=0.25)  # as much ink

    def box(a: np.ndarray) -> np.ndarray:
        rows, cols = np.nonzero(a > 0.3)
        return np.array([rows.min(), rows.max(), cols.min(), cols.max()])

    # in the same place: within a few pixels (no hinting, no kerning)
    assert np.abs(box(ours) - box(theirs)).max() <= 6


def test_fast_text_measures_with_the_same_advances() -> None:
    renderer = FastTextRenderer(100, 100, 150)  # type: ignore[no-untyped-call]
    for label, bold in (("initialization", True), ("Momentum SGD", False)):
        prop = FontProperties(
            family="DejaVu Sans", size=9, weight="bold" if bold else "normal"
        )
        width, height, descent = renderer.get_text_width_height_descent(
            label, prop, False
        )
        assert width == pytest.approx(text_width(label, 9, bold) * 150 / 72)
        assert height > descent >= 0


def test_math_text_still_goes_to_matplotlib() -> None:
    fig = views.new_figure(2, 1)
    fig.text(0.1, 0.5, r"$x^2$", fontsize=12)
    fig.canvas.draw()  # no error, some ink
    rgba = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]
    assert (rgba[..., :3] < 128).any()


def test_save_png_is_rgb_reproducible_and_dated_nowhere() -> None:
    fig = views.new_figure(2, 1)
    fig.text(0.1, 0.5, "hello")
    first, second = io.BytesIO(), io.BytesIO()
    for buffer in (first, second):
        save_figure(fig, buffer, "png", dpi=150, metadata={"Software": None})
    assert first.getvalue() == second.getvalue()
    with Image.open(io.BytesIO(first.getvalue())) as image:
        assert image.mode == "RGB"
        assert image.size == (300, 150)
        assert image.info.get("dpi") == pytest.approx((150, 150), abs=0.1)
        assert "Software" not in image.info
    # the figure keeps its own resolution
    assert fig.dpi == 100
    # a transparent figure keeps its alpha channel
    fig.patch.set_alpha(0.0)
    clear = io.BytesIO()
    save_figure(fig, clear, "png")
    with Image.open(io.BytesIO(clear.getvalue())) as image:
        assert image.mode == "RGBA"


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_save_vector_formats(fmt: str, magic: bytes) -> None:
    fig = views.new_figure(2, 1)
    fig.text(0.1, 0.5, "hello")
    buffer = io.BytesIO()
    save_figure(fig, buffer, fmt)
    assert buffer.getvalue().startswith(magic)


def test_trellis_row_labels_cut_the_parameter_name_first() -> None:
    from hpcore.views.text import text_width
    from hpcore.views.trellis import _row_labels

    rows = ["optimizer = ADAM", "optimizer = RMSProp", "optimizer = Momentum SGD"]
    font = 10.0
    assert _row_labels(rows, 1000.0, font) == rows
    room = text_width("optim\u2026 = Momentum SGD", font)
    cut = _row_labels(rows, room, font)
    assert cut == [r.replace("optimizer", "optim\u2026") for r in rows]
    assert all(text_width(t, font) <= room for t in cut)
    # no room for even a short name: the options alone, the longest cut
    alone = _row_labels(rows, text_width("Momentum SGD", font), font)
    assert alone == ["ADAM", "RMSProp", "Momentum SGD"]
    tight = _row_labels(rows, text_width("Moment", font), font)
    assert tight[0] == "ADAM" and "\u2026" in tight[2]
