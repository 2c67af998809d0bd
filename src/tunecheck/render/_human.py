"""Tables of people's ratings (the human layer): mean scores per criterion and model with their
CIs, the comparisons with the baseline, A/B win rates, agreement between annotators, each
annotator's bias, and the warnings. Names come from people's files: escaped before Rich sees them."""

from __future__ import annotations

import math
from typing import Any

from rich.markup import escape
from rich.table import Table

from tunecheck.core import Result
from tunecheck.render._tables import (
    VERDICT,
    Col,
    ci,
    console,
    fitted,
    left,
    num,
    signed,
    verdict,
    warn,
)

_KAPPA = {"cohen_quadratic": "Cohen's kappa (quadratic weighted)", "cohen": "Cohen's kappa", "fleiss": "Fleiss' kappa"}


def _p(x: object) -> str:
    return "<0.001" if isinstance(x, float) and 0 <= x < 0.001 else num(x, 3)


def human_tables(result: Result) -> None:
    """Every table of a human-layer Result, then its warnings."""
    if result.details.get("kind") == "choices":
        _choices(result)
    else:
        _scores(result)
    for line in agreement_lines(result):
        console.print(f"[bold]agreement[/]: {escape(line)}")
    _bias(result.details.get("annotator_bias") or {})
    warn(result.warnings)


def _scores(result: Result) -> None:
    criteria: dict[str, Any] = result.details.get("criteria") or {}
    n_people = len(result.details.get("annotators") or [])
    table = Table(title=f"People's scores (mean over samples of the {n_people} annotator{'' if n_people == 1 else 's'}' mean, 95% CI)")
    table.add_column("criterion", no_wrap=True)
    for m in result.models:
        table.add_column(f"{escape(m.name)}\nn={m.details.get('n', '')}", justify="right", overflow="fold")
    for c, info in criteria.items():
        cells = []
        for m in result.models:
            e = result.estimate(c, m.name)
            cells.append(f"{num(e.value, 2)} {ci(e.ci95, 2)}" if e else "")
        scale = info.get("scale") if isinstance(info, dict) else None
        table.add_row(escape(f"{c} ({scale[0]}-{scale[1]})" if scale else c), *cells)
    console.print(table)
    rows = result.comparisons
    if rows:
        cols = [left("model"), Col("criterion", "left"), Col("baseline", keep=2), Col("value", keep=3), Col("difference"),
                Col("95% CI", keep=4), Col("Wilcoxon p", keep=1), Col("p (Holm)", keep=5), VERDICT]
        cells_ = [[escape(c.model), escape(c.metric), num(c.baseline_value, 2), num(c.value, 2), signed(c.difference, 2),
                   ci(c.ci95, 2), _p(c.tests.get("wilcoxon_p")), _p(c.p_value_holm), verdict(c.verdict.value)] for c in rows]
        console.print(fitted(f"Compared with the baseline {escape(str(result.details.get('baseline', '')))} (paired on samples, p Holm-adjusted over criteria)", cols, cells_))


def _choices(result: Result) -> None:
    rows = result.details.get("pairwise") or []
    cols = [left("model (B)"), left("vs (A)", keep=2), Col("W / T / L"), Col("win rate"), Col("95% CI"), Col("sign p", keep=1),
            Col("disagreed", keep=3), VERDICT]
    cells = [[escape(r["model"]), escape(r["baseline"]), f"{r['wins']} / {r['ties']} / {r['losses']}", num(r["win_rate"], 3),
              ci(r["win_rate_ci95"], 3), _p(r["p_value"]), num(r.get("disagreed")), verdict(r["verdict"]) if r.get("verdict") else "-"]
             for r in rows]
    console.print(fitted("People's blind A/B choices (a sample's outcome is its annotators' majority; a split or a tie counts half)", cols, cells))


def _alpha_text(a: dict[str, Any]) -> str:
    v = a.get("value")
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return f"Krippendorff's alpha ({a.get('level')}) undefined: {a.get('reason')}"
    return f"Krippendorff's alpha ({a.get('level')}) {v:.3f} on {a.get('items')} items, {a.get('raters')} annotators"


def _kappa_text(k: dict[str, Any]) -> str:
    name = _KAPPA.get(str(k.get("method")), "")
    if not name:
        return ""
    v = k.get("value")
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return f"{name} undefined: {k.get('reason')}"
    exact = k.get("exact")
    same = f", all the same on {100 * exact:.0f}%" if isinstance(exact, (int, float)) and math.isfinite(exact) else ""
    return f"{name} {v:.3f} on {k.get('n')} items{same}"


def agreement_lines(result: Result) -> list[str]:
    """One line per criterion (scores) or one for the choices: alpha, then the kappa."""
    agreement = result.details.get("agreement") or {}
    if result.details.get("kind") == "choices":
        parts = {"choices": agreement} if agreement else {}
    else:
        parts = agreement
    out = []
    for name, entry in parts.items():
        texts = [_alpha_text(entry.get("alpha") or {}), _kappa_text(entry.get("kappa") or {})]
        out.append(f"{name}: " + "; ".join(t for t in texts if t))
    return out


def _bias(bias: dict[str, Any]) -> None:
    rows = [(a, b) for a, b in bias.items() if b.get("n")]
    if not rows:
        return
    criteria = list(dict.fromkeys(c for _, b in rows for c in b.get("per_criterion", {})))
    cols = [left("annotator"), Col("shared"), Col("bias"), *[Col(escape(c), keep=len(criteria) - i) for i, c in enumerate(criteria)]]
    cells = [[escape(a or "(unnamed)"), num(b["n"]), signed(b["bias"], 2),
              *[signed(b.get("per_criterion", {}).get(c, {}).get("bias"), 2) for c in criteria]] for a, b in rows]
    console.print(fitted("Each annotator's bias: mean offset from the others' mean on the answers they share", cols, cells))
