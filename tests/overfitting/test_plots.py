"""Charts: a valid PNG, a self-contained HTML page, and names from files kept inert."""

from __future__ import annotations

import math

import pytest

from tests.overfitting.test_curves import DIVERGING, FALLING, make_curves
from tunecheck.errors import ConfigError
from tunecheck.overfitting import Marker, Series, analyse_curves, line_chart, plot_curves

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPT = "<script>alert(1)</script>"


def test_line_chart_png_and_html(tmp_path):
    series = [
        Series("train loss", [1, 2, 3, 4], [2.0, 1.5, math.nan, 1.0]),  # NaN/inf are gaps, not errors
        Series("checkpoint-200 eval", [2, 4], [1.8, math.inf]),
    ]
    line_chart(
        series, title="U-curve", x_label="step", y_label="loss", markers=[Marker("best", 2, 1.8)],
        png=tmp_path / "sub" / "chart.png", html=tmp_path / "chart.html",
    )
    png = (tmp_path / "sub" / "chart.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 5_000
    assert (tmp_path / "sub" / "chart.png").stat().st_mode & 0o777 == 0o644
    page = (tmp_path / "chart.html").read_text()
    assert "<title>U-curve</title>" in page[:300] and "checkpoint-200 eval" in page
    assert '<script src="http' not in page  # plotly.js is inlined: the page works offline
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["chart.html", "chart.png", "sub"]  # no temp files


def test_names_from_files_cannot_inject_script(tmp_path):
    line_chart(
        [Series(SCRIPT, [1, 2], [1.0, 0.5]), Series("cost $5 of $x^$ _hidden", [1, 2], [2.0, 1.0])],
        title=f"run {SCRIPT}", x_label=SCRIPT, y_label="<b>loss</b>", markers=[Marker(SCRIPT, 1, 1.0)],
        png=tmp_path / "c.png", html=tmp_path / "c.html",
    )
    page = (tmp_path / "c.html").read_text()
    assert "alert(1)" in page  # the text is there ...
    assert "<script>alert" not in page and "<b>loss" not in page  # ... but never as markup
    # plotly.js renders some tags inside text; entities make it show the name literally
    assert '"name":"&lt;script&gt;alert(1)' in page and "<title>run &lt;script&gt;alert(1)" in page
    assert (tmp_path / "c.png").read_bytes().startswith(PNG_MAGIC)  # '$' did not break mathtext


def test_line_chart_needs_an_output_and_matching_lengths(tmp_path):
    with pytest.raises(ConfigError, match="png=PATH and/or html=PATH"):
        line_chart([], title="t", x_label="x", y_label="y")
    with pytest.raises(ConfigError, match="'a' has 2 x values but 1 y values"):
        line_chart([Series("a", [1, 2], [1.0])], title="t", x_label="x", y_label="y", png=tmp_path / "a.png")


def test_plot_curves_marks_best_and_divergence(tmp_path):
    report = analyse_curves(make_curves(FALLING, DIVERGING))
    plot_curves(report, png=tmp_path / "curves.png", html=tmp_path / "curves.html")
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG_MAGIC)
    page = (tmp_path / "curves.html").read_text()
    for text in ("train loss", "eval loss", "best: step 50, eval loss 1.000", "eval loss rising from step 60"):
        assert text in page
    # a TrainingCurves is analysed with the defaults first
    plot_curves(make_curves(FALLING, {}), html=tmp_path / "train-only.html", title="only train")
    page = (tmp_path / "train-only.html").read_text()
    assert "only train" in page and "best:" not in page
