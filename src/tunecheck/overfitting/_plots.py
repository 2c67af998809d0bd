"""Line charts as PNG (matplotlib) and self-contained interactive HTML (plotly).

`line_chart` is deliberately generic (named series of (x, y) points plus labelled markers) so the
checkpoint sweep's U-curve and the HTML report draw with it too. Series names often come from
users' files, so they are escaped for the HTML (plotly.js renders a subset of HTML in text) and
for matplotlib's mathtext. Both libraries are imported only when a chart is drawn: importing
tunecheck stays fast, and matplotlib is used through its object API (no pyplot), so a user's
notebook backend and open figures are left alone.
"""

from __future__ import annotations

import html as html_lib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tunecheck._io import write_bytes, write_text
from tunecheck.errors import ConfigError
from tunecheck.overfitting._curves import CurveReport, _num, analyse_curves
from tunecheck.overfitting._logs import TrainingCurves

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

    from tunecheck.overfitting._ucurve import SweepReport

_MARKER_SYMBOLS = (("*", "star"), ("X", "x"), ("D", "diamond"), ("s", "square"))
"""(matplotlib, plotly) marker shapes, cycled over the markers."""
_POINTS_UP_TO = 60  # series with at most this many points also show a dot per point


@dataclass(frozen=True)
class Series:
    """One line of a chart."""

    name: str
    """Legend label (may come from a user's file: escaped before it is drawn)."""
    xs: Sequence[float]
    ys: Sequence[float]
    """Same length as xs; NaN/inf are drawn as gaps."""


@dataclass(frozen=True)
class Marker:
    """One labelled point, e.g. the best checkpoint."""

    label: str
    x: float
    y: float


@dataclass(frozen=True)
class Chart:
    """What a chart shows, before it is drawn: built by pure functions (tested on their
    contents), drawn by `draw` with matplotlib and/or plotly."""

    series: Sequence[Series]
    title: str
    x_label: str
    y_label: str
    markers: Sequence[Marker] = ()


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    markers: Sequence[Marker] = (),
    png: str | Path | None = None,
    html: str | Path | None = None,
) -> None:
    """Draw the series and markers to a PNG file, a self-contained HTML file (plotly.js inlined,
    so it opens offline), or both; each is written atomically."""
    draw(Chart(series, title, x_label, y_label, markers), png=png, html=html)


def draw(chart: Chart, *, png: str | Path | None = None, html: str | Path | None = None) -> None:
    """`line_chart` for a built `Chart`."""
    if png is None and html is None:
        raise ConfigError("line_chart: pass png=PATH and/or html=PATH (nothing to write)")
    for s in chart.series:
        if len(s.xs) != len(s.ys):
            raise ConfigError(f"line_chart: series {s.name!r} has {len(s.xs)} x values but {len(s.ys)} y values")
    parts = (chart.series, chart.markers, chart.title, chart.x_label, chart.y_label)
    if png is not None:
        write_bytes(Path(png), _png(*parts))
    if html is not None:
        write_text(html, _html(*parts))


def curves_chart(curves: CurveReport | TrainingCurves, *, title: str | None = None) -> Chart:
    """Train and eval loss against step, with the best checkpoint (and divergence, if any) marked.
    A TrainingCurves is analysed with the default settings first."""
    report = curves if isinstance(curves, CurveReport) else analyse_curves(curves)
    c = report.curves
    series = [
        Series(name, [p.step for p in points], [p.value for p in points])
        for name, points in (("train loss", c.train), ("eval loss", c.eval))
        if points
    ]
    markers = []
    if report.best_step is not None and report.best_eval_loss is not None:
        label = f"best: step {report.best_step}, eval loss {_num(report.best_eval_loss)}"
        markers.append(Marker(label, report.best_step, report.best_eval_loss))
    if report.diverges_at is not None:
        value = next(p.value for p in c.eval if p.step == report.diverges_at)
        markers.append(Marker(f"eval loss rising from step {report.diverges_at}", report.diverges_at, value))
    name = title or f"Training curves: {'/'.join(Path(c.source).parts[-2:])}"
    return Chart(series, name, "step", "loss", markers)


def plot_curves(
    curves: CurveReport | TrainingCurves,
    *,
    png: str | Path | None = None,
    html: str | Path | None = None,
    title: str | None = None,
) -> None:
    """Draw `curves_chart` to a PNG and/or an HTML file."""
    draw(curves_chart(curves, title=title), png=png, html=html)


def sweep_chart(report: SweepReport) -> Chart:
    """The U-curve: validation (and training) loss per checkpoint, the best one marked. A final
    save without a known step is drawn just after the last checkpoint; with no steps at all the
    checkpoints are drawn in order."""
    rows = report.checkpoints
    steps = [r.checkpoint.step for r in rows]
    known = [x for x in steps if x is not None]
    if len(known) == len(steps):
        xs, label = [float(x) for x in known], "step"
    elif known:
        xs, label = [float(x) if x is not None else float(max(known)) * 1.05 + 1 for x in steps], "step (final save last)"
    else:
        xs, label = [float(i) for i in range(len(rows))], "checkpoint (in order)"
    series = [Series("validation loss", xs, [r.eval_loss for r in rows])]
    trains = [r.train_loss for r in rows]
    if all(t is not None for t in trains):
        series.append(Series("training loss", xs, [float(t) for t in trains if t is not None]))
    best = rows[report.best]
    markers = [Marker(f"best: {best.checkpoint.name}", xs[report.best], best.eval_loss)]
    return Chart(series, "Checkpoint sweep: loss per checkpoint", label, "loss (nats/token)", markers)


def plot_sweep(report: SweepReport, *, png: str | Path | None = None, html: str | Path | None = None) -> None:
    """Draw `sweep_chart` to a PNG and/or an HTML file."""
    draw(sweep_chart(report), png=png, html=html)


def _png(series: Sequence[Series], markers: Sequence[Marker], title: str, x_label: str, y_label: str) -> bytes:
    buf = io.BytesIO()
    _mpl_figure(series, markers, title, x_label, y_label).savefig(buf, format="png")
    return buf.getvalue()


def _mpl_figure(series: Sequence[Series], markers: Sequence[Marker], title: str, x_label: str, y_label: str) -> Figure:
    from matplotlib.figure import Figure

    # A bare Figure renders with the Agg canvas on savefig: no pyplot, no global backend switch,
    # nothing registered that a notebook would later display or that needs closing.
    fig = Figure(figsize=(8, 4.5), dpi=110, layout="constrained")
    ax = fig.subplots()
    for s in series:
        ys = [y if math.isfinite(y) else math.nan for y in s.ys]
        dots = "o" if len(ys) <= _POINTS_UP_TO else None
        ax.plot(list(s.xs), ys, label=_mpl_text(s.name), marker=dots, markersize=3, linewidth=1.5)
    for i, m in enumerate(markers):
        symbol = _MARKER_SYMBOLS[i % len(_MARKER_SYMBOLS)][0]
        ax.plot([m.x], [m.y], linestyle="none", marker=symbol, markersize=12, label=_mpl_text(m.label), zorder=5)
    ax.set_title(_mpl_text(title))
    ax.set_xlabel(_mpl_text(x_label))
    ax.set_ylabel(_mpl_text(y_label))
    ax.grid(alpha=0.3)
    if series or markers:
        ax.legend()
    return fig


def _html(series: Sequence[Series], markers: Sequence[Marker], title: str, x_label: str, y_label: str) -> str:
    import plotly.io as pio

    fig = _plotly_figure(series, markers, title, x_label, y_label)
    text: str = pio.to_html(fig, include_plotlyjs=True, full_html=True)
    return text.replace("<head>", f"<head>\n    <title>{_html_text(title)}</title>", 1)  # the browser tab's name


def _plotly_figure(series: Sequence[Series], markers: Sequence[Marker], title: str, x_label: str, y_label: str) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    for s in series:
        ys = [y if math.isfinite(y) else None for y in s.ys]
        mode = "lines+markers" if len(ys) <= _POINTS_UP_TO else "lines"
        fig.add_trace(go.Scatter(x=list(s.xs), y=ys, mode=mode, name=_html_text(s.name)))
    for i, m in enumerate(markers):
        symbol = _MARKER_SYMBOLS[i % len(_MARKER_SYMBOLS)][1]
        shape = {"size": 14, "symbol": symbol}
        fig.add_trace(go.Scatter(x=[m.x], y=[m.y], mode="markers", name=_html_text(m.label), marker=shape))
    fig.update_layout(
        title={"text": _html_text(title)},
        xaxis_title=_html_text(x_label),
        yaxis_title=_html_text(y_label),
        template="plotly_white",
        hovermode="x unified",
    )
    return fig


def _html_text(text: str) -> str:
    # plotly.js renders tags such as <b> or <a href> inside text; entities show the text literally.
    return html_lib.escape(text, quote=True)


def _mpl_text(text: str) -> str:
    # `$...$` would be parsed as mathtext (and can fail to parse); a leading "_" hides a legend entry.
    text = text.replace("$", r"\$")
    return " " + text if text.startswith("_") else text
