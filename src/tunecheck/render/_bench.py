"""Tables of a benchmark comparison: which tasks regressed significantly and which merely
wobbled, then per group and subject, then the subjects that moved most. Task and model names
come from the user's runs: escaped before Rich sees them."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from tunecheck.core import Comparison, Result
from tunecheck.render._tables import (
    VERDICT,
    Col,
    console,
    fitted,
    left,
    num,
    signed,
    verdict,
    warn,
)


def _p(x: object) -> str:
    return "<0.001" if isinstance(x, float) and 0 <= x < 0.001 else num(x, 3)


def _pts(x: object, scale: float = 100.0) -> str:
    """A change in points (x100) for metrics on a 0-1 scale; as it is (scale 1) for others."""
    return signed(scale * x, 1 if scale == 100 else 3) if isinstance(x, (int, float)) else "n/a"


def _scale(lo: float, hi: float) -> float:
    return 100.0 if lo >= 0.0 and hi <= 1.0 else 1.0


def _row(c: Comparison) -> list[str]:
    lo, hi = c.ci95
    k = _scale(min(c.baseline_value, c.value), max(c.baseline_value, c.value))
    return [escape(c.model), escape(str(c.extra.get("unit", c.metric))), escape(str(c.extra.get("metric", ""))),
            num(c.baseline_value, 3), num(c.value, 3), f"{_pts(c.difference, k)} [{_pts(lo, k)}, {_pts(hi, k)}]",
            _p(c.extra.get("test_p")), _p(c.p_value_holm), num(k * c.mdd, 1 if k == 100 else 3), num(c.n),
            verdict(c.verdict.value)]


_COLS = [left("model"), left("task"), Col("metric", "left", keep=2), Col("baseline", keep=4), Col("value", keep=3),
         Col("change [95% CI]"), Col("p", keep=5), Col("p (Holm)", keep=6), Col("MDD", keep=1),
         Col("n", keep=7), VERDICT]


def bench_tables(result: Result) -> None:
    """The headline tasks (verdicts first to the eye), groups and subjects, then what moved most.
    Changes and the MDD (minimum detectable change, 5% test, 80% power) of 0-1 metrics are in
    points (x100); p is McNemar's exact test's for 0/1 metrics, the paired bootstrap's otherwise."""
    rows = [c for c in result.comparisons if c.extra.get("level") == "task"]
    base = result.details.get("baseline", "")
    if rows:
        console.print(fitted(f"Benchmarks against {escape(str(base))} (paired per question; changes and MDD in points for 0-1 metrics; "
                             "p: McNemar's exact test for 0/1 metrics, else the paired bootstrap; Holm over tasks)", _COLS, [_row(c) for c in rows]))
    inner = [c for c in result.comparisons if c.extra.get("level") in ("group", "subject")]
    inner.sort(key=lambda c: (c.model, c.extra.get("level") != "group", str(c.extra.get("unit"))))
    if inner:
        console.print(fitted("Per group and subject (groups: mean over all their questions; Holm within groups, within subjects)",
                             _COLS, [_row(c) for c in inner]))
    moved: dict[str, list[dict[str, Any]]] = result.details.get("moved_most") or {}
    cells = []
    for m, rs in moved.items():
        for r in rs:
            k = _scale(min(r["baseline_value"], r["value"]), max(r["baseline_value"], r["value"]))
            cells.append([escape(m), escape(str(r["task"])), _pts(r["difference"], k), f"[{_pts(r['ci95'][0], k)}, {_pts(r['ci95'][1], k)}]",
                          num(r["n"]), _p(r["p"]), _p(r["p_value_holm"]), verdict(str(r["verdict"]))])
    if cells:
        cols = [left("model"), left("subject"), Col("change"), Col("95% CI", keep=2), Col("n", keep=3),
                Col("p", keep=1), Col("p (Holm)", keep=4), VERDICT]
        console.print(fitted("The subjects that moved most", cols, cells))
    warn(result.warnings)
