"""What ``hpexplorer report`` draws: its defaults, and figures that stay bounded,
readable and consistent whatever the table (issue 10 #6, #7, #8, #14, #19,
#20, #21, #22). Figures are checked on their artists, not their pixels."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_main
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.figure import Figure
from PIL import Image

import hpcore
from hpcore import views
from hpcore.app import report as rep
from hpcore.views import limits, text
from hpcore.views.histogram import FADED


def find(fig: Figure, gid: str) -> list[object]:
    return [a for a in fig.findobj() if a.get_gid() == gid]


def starting(fig: Figure, prefix: str) -> list[object]:
    return [a for a in fig.findobj() if str(a.get_gid()).startswith(prefix)]


def png_pixels(fig: Figure) -> tuple[int, int]:
    """Width and height of the figure saved as the report saves it."""
    buffer = io.BytesIO()
    rep._save_figure(fig, buffer, "png")  # type: ignore[arg-type]
    buffer.seek(0)
    with Image.open(buffer) as image:
        return image.size


@pytest.fixture(scope="module")
def builtin() -> hpcore.Ensemble:
    return hpcore.normalize(hpcore.load(hpcore.synthetic.nws_like(4000, seed=2)))


# ------------------------------------------------------- issue 10 #19: defaults


def test_the_default_report_shows_the_best_networks_against_all(
    builtin: hpcore.Ensemble,
) -> None:
    r = rep.build_report(builtin)
    assert r.selection.range == rep.DEFAULT_RANGE == (0.9, 1.0)
    assert r.color == "enrichment" and r.summary["color"] == "enrichment"
    assert 0 < r.selection.count < len(builtin)
    # the importance panel and the matrix show real differences
    assert len(r.summary["significant_parameters"]) >= 3
    assert r.summary["significant_cells"] > 0
    figures = rep.draw_report(r)
    meshes = starting(figures["pairs"], "pairs:")
    assert all(m.get_cmap().name.startswith("RdBu") for m in meshes)  # type: ignore[attr-defined]
    colours = np.concatenate(
        [np.asarray(m.get_array()).ravel() for m in meshes]  # type: ignore[attr-defined]
    )
    assert np.nanstd(colours) > 0.1  # not one flat colour
    dark = [
        b
        for b in starting(figures["pairs"], "importance-bar:")
        if b.get_facecolor() == pytest.approx(to_rgba(views.IMPORTANCE_COLOURS[0]))  # type: ignore[attr-defined]
    ]
    assert len(dark) >= 3
    # the trellis: means that differ between options by more than their intervals
    trellis = r.tables.trellis
    spread = trellis.groupby(["parameter", "primary"])["mean"].agg(np.ptp)
    assert spread.max() > 2 * (trellis["ci_high"] - trellis["ci_low"]).median()


def test_the_default_command_uses_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rep"
    status, _, stderr = run_main(["report", "--out", str(out)], capsys)
    assert status == 0, stderr
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["range"] == [0.9, 1.0]
    assert summary["color"] == "enrichment"
    assert summary["significant_parameters"]
    assert summary["drawn"]["left_out"] == {"pairs": {}, "trellis": {}}
    status, help_text, _ = run_main(["report", "--help"], capsys)
    assert status == 0
    flat = " ".join(help_text.split())
    assert "default: 0.9 1" in flat and "(default: shows what the selection" in flat
    assert "count = selected networks with both options (the paper's" in flat


def test_count_colours_keep_the_papers_view(builtin: hpcore.Ensemble) -> None:
    r = rep.build_report(builtin, color="count")
    fig = rep.draw_report(r)["pairs"]
    (mesh,) = find(fig, "pairs:dataset|optimizer")
    assert mesh.get_cmap().name.startswith("YlGnBu")  # type: ignore[attr-defined]
    assert mesh.norm.vmin == 0  # type: ignore[attr-defined]


def hand_enrichment(values: list[float], expected: list[float]) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "param_a": ["dataset"] * 2 + ["opt"] * (n - 2),
            "option_a": ["a"] * n,
            "param_b": ["opt"] * 2 + ["batch"] * (n - 2),
            "option_b": [str(i) for i in range(n)],
            "enrichment": values,
            "expected": expected,
        }
    )


def test_enrichment_limit_by_hand() -> None:
    lo, hi = (float(np.log2(v)) for v in rep.ENRICHMENT_LIMITS)
    # the group's cells (first two, x16 and x1/16) are left out; of the others
    # the 95 % quantile of |log2| over 21 cells of 2, 1/2 and 1 is log2(2) = 1
    values = [16.0, 1 / 16] + [2.0] * 8 + [0.5] * 8 + [1.0] * 5
    pairs = hand_enrichment(values, [50.0] * len(values))
    assert rep.enrichment_limit(pairs, "dataset") == pytest.approx(1.0)
    # with the group's cells the scale would end at x16
    assert rep.enrichment_limit(pairs, None) == pytest.approx(hi)
    # cells expected to hold fewer than 5 networks are noise: not counted
    noisy = hand_enrichment(values, [50.0] * 2 + [1.0] * (len(values) - 2))
    assert rep.enrichment_limit(noisy, "dataset") == pytest.approx(hi)
    # never narrower than x1.5
    flat = hand_enrichment([1.0] * 6, [50.0] * 6)
    assert rep.enrichment_limit(flat, "dataset") == pytest.approx(lo)


# ------------------------------------------------------- issue 10 #21: colours


def test_group_colours_are_stable_across_row_orders() -> None:
    df = hpcore.synthetic.nws_like(1500, seed=4)
    df["dataset"] = df["dataset"].astype(str)  # options in order of first sight
    shuffled = df.sample(frac=1.0, random_state=9).reset_index(drop=True)
    seen = []
    for table in (df, shuffled):
        ens = hpcore.normalize(hpcore.load(table))
        r = rep.build_report(ens, secondary="dataset", primary="optimizer")
        figures = rep.draw_report(r)
        (ax,) = [a for a in figures["histogram"].axes if a.get_gid() == "histogram-raw"]
        hist = {c.get_label(): c.patches[0].get_facecolor() for c in ax.containers}
        trellis = {
            str(p.get_gid()).rsplit("|", 1)[1]: tuple(p.get_edgecolor()[0])  # type: ignore[attr-defined]
            for p in starting(figures["trellis"], "trellis-points:lrate|ADAM|")
        }
        assert {k: to_rgb(v) for k, v in hist.items()} == {
            k: to_rgb(v) for k, v in trellis.items()
        }
        seen.append(hist)
    assert seen[0] == seen[1]
    # the row order changed the option order (first seen); the colours did not
    assert hpcore.load(df).options("dataset") != hpcore.load(shuffled).options(
        "dataset"
    )
    # a subset of the groups keeps the colours of the whole set
    sub = rep.build_report(
        hpcore.normalize(hpcore.load(df)), where={"dataset": ["cifar10", "stl10"]}
    )
    (ax,) = [
        a
        for a in rep.draw_report(sub)["histogram"].axes
        if a.get_gid() == "histogram-raw"
    ]
    part = {c.get_label(): c.patches[0].get_facecolor() for c in ax.containers}
    assert part["cifar10"] == seen[0]["cifar10"] and part["stl10"] == seen[0]["stl10"]


def lab(colour: tuple[float, float, float]) -> np.ndarray:
    """CIE L*a*b* of an sRGB colour (D65)."""
    c = np.asarray(colour, dtype=float)
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = (
        np.array(
            [
                [0.4124, 0.3576, 0.1805],
                [0.2126, 0.7152, 0.0722],
                [0.0193, 0.1192, 0.9505],
            ]
        )
        @ c
        / np.array([0.9505, 1.0, 1.089])
    )
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def faded(colour: str) -> tuple[float, float, float]:
    r, g, b = to_rgb(colour)
    return (
        FADED * r + 1 - FADED,
        FADED * g + 1 - FADED,
        FADED * b + 1 - FADED,
    )


def test_five_groups_stay_apart_also_faded() -> None:
    names = ["mnist", "cifar10", "svhn", "stl10", "fashion"]
    colours = views.group_colours(names)
    assert len(set(colours.values())) == 5
    for a in names:
        for b in names:
            if a < b:
                full = np.linalg.norm(lab(to_rgb(colours[a])) - lab(to_rgb(colours[b])))
                pale = np.linalg.norm(lab(faded(colours[a])) - lab(faded(colours[b])))
                assert full > 30 and pale > 12, (a, b, full, pale)


# ----------------------------------------------- issue 10 #6: wide tables


def wide_table(width: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    cols: dict[str, object] = {"dataset": rng.choice(["a", "b"], n)}
    for i in range(width):
        cols[f"p{i:03d}"] = rng.choice(["x", "y", "z"], n)
    df = pd.DataFrame(cols)
    df["test_accuracy"] = rng.normal(70, 5, n) + 6 * (df["p007"] == "x")
    return df


def test_a_wide_table_draws_the_most_important_parameters() -> None:
    ens = hpcore.normalize(hpcore.load(wide_table(40)))
    r = rep.build_report(ens, range=(0.6, 1.0))
    drawn = r.summary["drawn"]
    assert len(drawn["pairs"]) == limits.MAX_PARAMETERS
    assert drawn["pairs"][0] == "dataset"  # the group first, then by importance
    assert "p007" in drawn["pairs"]
    assert len(drawn["trellis"]) <= limits.MAX_PANELS
    assert len(drawn["left_out"]["pairs"]) == len(ens.parameters) - len(drawn["pairs"])
    assert all("less important" in v for v in drawn["left_out"]["pairs"].values())
    # the tables keep every pair
    n = len(ens.parameters)
    blocks = r.tables.pairs.groupby(["param_a", "param_b"]).ngroups
    assert blocks == n * (n - 1) // 2
    figures = rep.draw_report(r)
    meshes = starting(figures["pairs"], "pairs:")
    assert len(meshes) == limits.MAX_PARAMETERS * (limits.MAX_PARAMETERS - 1) // 2
    (note,) = find(figures["pairs"], "figure-note")
    assert f"16 of {n} parameters" in note.get_text()  # type: ignore[attr-defined]
    assert "pairs.csv" in note.get_text()  # type: ignore[attr-defined]
    selection, panels = (
        t.get_text()  # type: ignore[attr-defined]
        for t in find(figures["trellis"], "figure-note")
    )
    # the trellis says whose means it shows, then what it leaves out
    assert selection.startswith(f"means of the {r.selection.count:,} selected")
    assert "normalized test_accuracy in [0.60, 1.00]" in selection
    assert "trellis.csv" in panels
    lines = rep.drawing_notes(r)
    assert any(
        "pairs.png draws the matrix of the 16 most important" in s for s in lines
    )
    # the importance panel: the strongest rows and a line for the rest
    panel = [b for b in starting(figures["pairs"], "importance-bar:")]
    assert len(panel) == limits.MAX_PARAMETERS


def test_draw_pair_matrix_bounds_any_table_by_itself() -> None:
    ens = hpcore.normalize(hpcore.load(wide_table(30, n=200)))
    pairs = hpcore.pair_counts(ens)
    fig = views.draw_pair_matrix(pairs)
    assert len(starting(fig, "pairs:")) == limits.MAX_PARAMETERS * 15 // 2
    assert find(fig, "figure-note")
    w, h = fig.get_size_inches()
    assert max(w, h) <= 16


# ------------------------------------- issue 10 #7: many options per parameter


def many_options() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n = 600
    return pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], n),
            "lrate": rng.uniform(1e-4, 1e-2, n),
            "opt": rng.choice(["adam", "sgd"], n),
            "batch": rng.choice([32, 64], n),
            "test_accuracy": rng.normal(70, 5, n),
        }
    )


def test_a_parameter_with_too_many_options_is_left_out_of_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "many.csv"
    many_options().to_csv(csv, index=False)
    out = tmp_path / "rep"
    status, _, stderr = run_main(
        ["report", str(csv), "--bins", "lrate=400", "--out", str(out)], capsys
    )
    assert status == 0, stderr
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    n_lrate = len(summary["parameters"]["lrate"])
    assert n_lrate > limits.MAX_OPTIONS
    for figure in ("pairs", "trellis"):
        assert "lrate" not in summary["drawn"][figure]
        assert summary["drawn"]["left_out"][figure]["lrate"] == (
            f"more than {limits.MAX_OPTIONS} options ({n_lrate:,})"
        )
    # one clear line on the command line
    lines = [s for s in stderr.splitlines() if "more than 30 options" in s]
    assert len(lines) == 1 and f"lrate ({n_lrate:,})" in lines[0]
    # the CSV files keep every option; the PNGs stay small
    pairs = pd.read_csv(out / "pairs.csv")
    assert (
        pairs.loc[pairs["param_a"] == "dataset"].query("param_b == 'lrate'").shape[0]
        == 2 * n_lrate
    )
    for stem in ("histogram", "pairs", "trellis"):
        with Image.open(out / f"{stem}.png") as image:
            assert image.size[0] * image.size[1] < 8e6


# -------------------------------------------------- issue 10 #8: long names


def long_names() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    n = 300
    name = "a_hyper_parameter_with_a_very_long_name_" * 13
    return pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], n),
            name[:500]: rng.choice(["x" * 300, "short"], n),
            name[:499] + "2": rng.choice(["p", "q"], n),
            "opt": rng.choice(["adam", "sgd"], n),
            "test_accuracy": rng.normal(70, 5, n),
        }
    )


def test_long_names_are_shortened_on_the_figures_only(tmp_path: Path) -> None:
    df = long_names()
    long_a, long_b = [c for c in df.columns if len(c) >= 499]
    ens = hpcore.normalize(hpcore.load(df))
    r = rep.build_report(ens, range=(0.5, 1.0), secondary="opt")
    figures = rep.draw_report(r)
    for stem, fig in figures.items():
        labels = [
            t.get_text()  # type: ignore[attr-defined]
            for t in fig.findobj()
            if hasattr(t, "get_text") and t.get_gid()
        ]
        assert all(len(line) <= 100 for s in labels for line in s.split("\n")), stem
        width, height = png_pixels(fig)
        assert width <= 3000 and height <= 3000, stem
    names = [t.get_text() for t in starting(figures["pairs"], "pair-name:")]  # type: ignore[attr-defined]
    assert all(len(s) <= text.MAX_LABEL_CHARS for s in names)
    assert len(set(names)) == len(names)  # still told apart
    assert any(text.ELLIPSIS in s for s in names)
    out = rep.write_report(r, tmp_path / "rep")
    pairs = pd.read_csv(out / "pairs.csv")
    assert {long_a, long_b} <= set(pairs["param_a"]) | set(pairs["param_b"])


@pytest.mark.parametrize(
    ("labels", "limit", "expected"),
    [
        (["short", "x" * 30], 10, ["short", "xxxxx…xxxx"]),
        (["abcdefghij_1", "abcdefghij_2"], 8, ["abcd…j_1", "abcd…j_2"]),
        (["two\nlines"], 24, ["two lines"]),
    ],
)
def test_shorten_by_hand(labels: list[str], limit: int, expected: list[str]) -> None:
    got = text.shorten(labels, limit)
    assert got == expected
    assert len(set(got)) == len(set(labels))


def test_shortened_labels_stay_distinct() -> None:
    labels = [f"{'same_prefix_' * 5}{i}_{'same_suffix' * 3}" for i in range(40)]
    got = text.shorten(labels, 20)
    assert len(set(got)) == 40


# ----------------------------------------- issue 10 #14: other scripts, emoji


def test_missing_glyphs_are_named_once_without_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    n = 200
    dino = "\U0001f996"  # in no font this project may find
    df = pd.DataFrame(
        {
            "dataset": rng.choice(["a", "b"], n),
            "活性化関数": rng.choice(["ReLU", "シグモイド", f"{dino} rex"], n),
            "opt": rng.choice(["adam", "sgd"], n),
            "test_accuracy": rng.normal(70, 5, n),
        }
    )
    csv = tmp_path / "cjk.csv"
    df.to_csv(csv, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph warning would fail the run
        status, _, stderr = run_main(
            ["report", str(csv), "--out", str(tmp_path / "rep")], capsys
        )
    assert status == 0, stderr
    glyph_lines = [s for s in stderr.splitlines() if "no installed font" in s]
    assert len(glyph_lines) == 1 and dino in glyph_lines[0]
    assert "Glyph" not in stderr and "findfont" not in stderr
    cjk_font = text.missing_glyphs(["活"]) == ""
    if cjk_font:  # a fallback font is installed: the CJK labels are drawn
        assert "活" not in glyph_lines[0]


def test_figure_fonts_list_installed_fallbacks() -> None:
    families = text.font_families()
    assert families[0] == text.MAIN_FONT
    assert set(families[1:]) <= set(text.FALLBACK_FONTS)
    assert text.missing_glyphs(["plain ascii", "é", "Ω"]) == ""
