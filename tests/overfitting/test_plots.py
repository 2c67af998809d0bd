"""Charts: a valid PNG, a self-contained HTML page, and names from files kept inert."""

from __future__ import annotations

import math

import numpy as np
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


# What each chart shows is built apart from drawing it (`curves_chart`, `sweep_chart`) and tested
# on its contents; the drawn figures are tested on the data they carry (tests/MUTANTS.md).


def test_curves_chart_shows_both_losses_and_names_the_log():
    from tunecheck.overfitting._plots import curves_chart

    report = analyse_curves(make_curves(FALLING, DIVERGING))
    chart = curves_chart(report)
    train, evals = chart.series
    assert (train.name, list(train.xs), list(train.ys)) == ("train loss", [p.step for p in report.curves.train], [p.value for p in report.curves.train])
    assert (evals.name, list(evals.xs), list(evals.ys)) == ("eval loss", [p.step for p in report.curves.eval], [p.value for p in report.curves.eval])
    best, rising = chart.markers
    assert (best.label, best.x, best.y) == ("best: step 50, eval loss 1.000", 50, 1.0)
    rise = next(p.value for p in report.curves.eval if p.step == 60)
    assert (rising.label, rising.x, rising.y) == ("eval loss rising from step 60", 60, rise)
    assert (chart.x_label, chart.y_label) == ("step", "loss")
    # the title names the log by its last two path parts, unless one is given
    assert chart.title == "Training curves: " + "/".join(report.curves.source.split("/")[-2:])
    assert curves_chart(report, title="mine").title == "mine"
    # a log without evaluations: only the train line, nothing marked
    only_train = curves_chart(make_curves(FALLING, {}))
    assert [s.name for s in only_train.series] == ["train loss"] and list(only_train.markers) == []


def _sweep_report(steps, with_train=True, best_at=1):
    from tests.overfitting.test_sweep import _fake
    from tunecheck.overfitting import SweepConfig, SweepReport

    rng = np.random.default_rng(0)
    losses = [2.0, 1.0, 1.5, 1.7][: len(steps)]
    results = [_fake(f"checkpoint-{i}" if s is not None else "final", s, loss + rng.normal(0, 0.01, 20)) for i, (s, loss) in enumerate(zip(steps, losses))]
    if with_train:
        for r, t in zip(results, (1.9, 0.8, 0.4, 0.2)):
            r.train = _fake(r.checkpoint.name, r.checkpoint.step, np.full(10, t)).eval
    return SweepReport(results, best_at, [], ["x"] * len(results), "", {}, SweepConfig(), [])


def test_sweep_chart_places_checkpoints_by_step_and_marks_the_best():
    from tunecheck.overfitting._plots import sweep_chart

    report = _sweep_report([100, 200, 300])
    chart = sweep_chart(report)
    val, train = chart.series
    assert (val.name, list(val.xs)) == ("validation loss", [100.0, 200.0, 300.0])
    assert list(val.ys) == [r.eval_loss for r in report.checkpoints]
    assert (train.name, list(train.xs), list(train.ys)) == ("training loss", [100.0, 200.0, 300.0], pytest.approx([1.9, 0.8, 0.4]))
    [best] = chart.markers
    assert (best.label, best.x, best.y) == ("best: checkpoint-1", 200.0, report.checkpoints[1].eval_loss)
    assert (chart.title, chart.x_label, chart.y_label) == ("Checkpoint sweep: loss per checkpoint", "step", "loss (nats/token)")
    # a final save without a known step is drawn just after the last checkpoint (300 * 1.05 + 1)
    final = sweep_chart(_sweep_report([100, 200, 300, None], best_at=3))
    assert list(final.series[0].xs) == [100.0, 200.0, 300.0, 316.0] and final.x_label == "step (final save last)"
    assert (final.markers[0].label, final.markers[0].x) == ("best: final", 316.0)
    # no step known at all: in order
    none = sweep_chart(_sweep_report([None, None]))
    assert list(none.series[0].xs) == [0.0, 1.0] and none.x_label == "checkpoint (in order)"
    # without a training set, only the validation line
    assert [s.name for s in sweep_chart(_sweep_report([1, 2], with_train=False)).series] == ["validation loss"]


def test_the_drawn_figures_carry_the_chart_s_data():
    from tunecheck.overfitting._plots import (
        _MARKER_SYMBOLS,
        _POINTS_UP_TO,
        _mpl_figure,
        _plotly_figure,
    )

    many = list(range(_POINTS_UP_TO + 1))
    series = [Series("a", [1, 2, 3], [1.0, math.nan, math.inf]), Series("b", many, [0.5] * len(many))]
    markers = [Marker("m1", 2, 1.0), Marker("m2", 3, 0.5)]
    fig = _plotly_figure(series, markers, "T <x>", "X", "Y")
    a, b, m1, m2 = fig.data
    assert (a.name, list(a.x), list(a.y), a.mode) == ("a", [1, 2, 3], [1.0, None, None], "lines+markers")  # gaps, dots
    assert (b.mode, len(b.x)) == ("lines", _POINTS_UP_TO + 1)  # too many points for a dot each
    assert (m1.name, list(m1.x), list(m1.y), m1.mode, m1.marker.symbol) == ("m1", [2], [1.0], "markers", _MARKER_SYMBOLS[0][1])
    assert m2.marker.symbol == _MARKER_SYMBOLS[1][1]
    layout = fig.layout
    assert (layout.title.text, layout.xaxis.title.text, layout.yaxis.title.text) == ("T &lt;x&gt;", "X", "Y")
    ax = _mpl_figure(series, markers, "T $x$", "X", "Y").axes[0]
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["a", "b", "m1", "m2"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [1.0, math.nan, math.nan])
    assert (lines[0].get_marker(), lines[1].get_marker()) == ("o", "None")
    assert (lines[2].get_marker(), lines[3].get_marker(), lines[2].get_linestyle()) == (_MARKER_SYMBOLS[0][0], _MARKER_SYMBOLS[1][0], "None")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (r"T \$x\$", "X", "Y")
    assert ax.get_legend() is not None
    assert _mpl_figure([], [], "t", "x", "y").axes[0].get_legend() is None  # nothing to name


def test_the_title_names_the_log_by_its_folder_and_file():
    from dataclasses import replace

    from tunecheck.overfitting._plots import curves_chart

    curves = replace(make_curves(FALLING, DIVERGING), source="/home/me/runs/lora-7/trainer_state.json")
    assert curves_chart(curves).title == "Training curves: lora-7/trainer_state.json"


def test_points_and_markers_are_drawn_where_they_are(tmp_path):
    from tunecheck.overfitting._plots import (
        _POINTS_UP_TO,
        _html_text,
        _mpl_figure,
        _mpl_text,
        _plotly_figure,
    )

    # exactly _POINTS_UP_TO points still get a dot each; a line without markers still gets a legend
    edge = [Series("edge", list(range(_POINTS_UP_TO)), [1.0] * _POINTS_UP_TO)]
    assert _plotly_figure(edge, [], "t", "x", "y").data[0].mode == "lines+markers"
    ax = _mpl_figure(edge, [], "t", "x", "y").axes[0]
    assert ax.get_lines()[0].get_marker() == "o" and ax.get_legend() is not None
    ax = _mpl_figure([Series("a", [10, 20], [1.0, 2.0])], [Marker("m", 20, 2.0)], "t", "x", "y").axes[0]
    line, marker = ax.get_lines()
    assert list(line.get_xdata()) == [10, 20] and (list(marker.get_xdata()), list(marker.get_ydata())) == ([20], [2.0])
    # a leading "_" would hide a legend entry in matplotlib; quotes are escaped for any HTML context
    assert (_mpl_text("_hidden"), _mpl_text("shown_")) == (" _hidden", "shown_")
    assert _html_text('a "b" <c>') == "a &quot;b&quot; &lt;c&gt;"
    # line_chart draws its markers; the page carries plotly.js itself (it opens offline)
    line_chart([Series("a", [1, 2], [1.0, 0.5])], title="t", x_label="x", y_label="y", markers=[Marker("the best", 2, 0.5)],
               html=tmp_path / "c.html")
    page = (tmp_path / "c.html").read_text()
    assert '"name":"the best"' in page and "plotly.js v" in page


def test_plot_sweep_writes_both_files(tmp_path):
    from tunecheck.overfitting import plot_sweep

    plot_sweep(_sweep_report([100, 200, 300]), png=tmp_path / "u.png", html=tmp_path / "u.html")
    assert (tmp_path / "u.png").read_bytes().startswith(PNG_MAGIC)
    page = (tmp_path / "u.html").read_text()
    assert "<title>Checkpoint sweep: loss per checkpoint</title>" in page and '"name":"best: checkpoint-1"' in page
