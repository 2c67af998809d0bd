"""Tables of a judge run: scores per criterion (rubric mode) or win rates (pairwise mode), the
comparisons with the baseline, the judge's reliability, and what the calls cost. Names and
judge text are untrusted: escaped before Rich sees them."""

from __future__ import annotations

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

_WEIGHTED = " (weighted)"


def _p(x: object) -> str:
    return "<0.001" if isinstance(x, float) and 0 <= x < 0.001 else num(x, 3)


def judge_tables(result: Result) -> None:
    if result.config.get("mode") == "pairwise":
        _pairwise(result)
    else:
        _rubric(result)
    _reliability(result.details.get("reliability") or {})
    _usage(result.details.get("judges") or [], result.details.get("cost_usd"))
    warn(result.warnings)


def _rubric(result: Result) -> None:
    rubric = result.details.get("rubric", {})
    criteria = list(rubric.get("criteria", {}))
    table = Table(title=f"Judge scores on rubric {escape(str(rubric.get('name', '')))} (mean, 95% CI)")
    table.add_column("criterion", no_wrap=True)
    for m in result.models:
        table.add_column(f"{escape(m.name)}\nn={m.details.get('n', '')}", justify="right", overflow="fold")
    for suffix in ("", _WEIGHTED):
        for c in criteria:
            cells = []
            for m in result.models:
                e = result.estimate(c + suffix, m.name)
                cells.append(f"{num(e.value, 2)} {ci(e.ci95, 2)}" if e else "")
            if any(cells):
                scale = rubric["criteria"][c]
                table.add_row(escape(f"{c}{suffix} ({scale})"), *cells)
    unscored = result.details.get("unscored", {})
    if any(sum(u.get("unscored", {}).values()) for u in unscored.values()):
        table.add_row("unscored", *[num(sum(unscored.get(m.name, {}).get("unscored", {}).values())) for m in result.models])
    console.print(table)
    rows = result.comparisons
    if rows:
        cols = [left("model"), Col("criterion", "left"), Col("baseline", keep=2), Col("value", keep=3), Col("difference"),
                Col("95% CI", keep=4), Col("Wilcoxon p", keep=1), Col("p (Holm)", keep=5), VERDICT]
        compared = [[escape(c.model), escape(c.metric), num(c.baseline_value, 2), num(c.value, 2), signed(c.difference, 2),
                  ci(c.ci95, 2), _p(c.tests.get("wilcoxon_p")), _p(c.p_value_holm), verdict(c.verdict.value)] for c in rows]
        console.print(fitted("Compared with the baseline (paired on samples, p Holm-adjusted over criteria)", cols, compared))
    if result.details.get("weighted_note"):
        console.print(f"[dim]{escape(result.details['weighted_note'])}[/]")


def _pairwise(result: Result) -> None:
    rows = result.details.get("pairwise") or []
    if not rows:
        console.print("[yellow]no pair was compared[/]: the judge gave no usable verdict in both orders (the warnings say why; the judgments file has its replies)")
        return
    cols = [left("model"), left("baseline", keep=1), Col("W / T / L"), Col("win rate"), Col("95% CI"), Col("sign p", keep=2), VERDICT]
    cells: list[list[str]] = [[escape(r["model"]), escape(r["baseline"]), f"{r['wins']} / {r['ties']} / {r['losses']}",
                               num(r["win_rate"], 3), ci(r["win_rate_ci95"], 3), _p(r["p_value"]), verdict(r["verdict"])] for r in rows]
    console.print(fitted("Blind pairwise comparison, both orders (ties and order flips count half)", cols, cells))
    cols = [left("model"), Col("mean length", keep=1), Col("LC win rate"), Col("LC 95% CI", keep=3), Col("consistent", keep=4),
            Col("first wins", keep=2), Col("at equal length", "left", verdict=True)]
    cells = [[escape(r["model"]), f"{r['mean_length_model']:.0f} vs {r['mean_length_baseline']:.0f}",
              num(r["length_controlled_win_rate"], 3), ci(r["length_controlled_win_rate_ci95"], 3),
              f"{num(100 * r['position_consistency'], 0)}%", f"{num(100 * r['first_position_win_rate'], 0)}%",
              verdict(r["length_controlled_verdict"])] for r in rows]
    console.print(fitted("The judge's biases: length-controlled win rate (LC), position consistency, first-shown wins", cols, cells))
    per_judge = result.details.get("per_judge") or []
    if per_judge:
        cols = [left("judge"), left("model"), Col("W / T / L"), Col("win rate"), Col("95% CI", keep=2), Col("consistent", keep=1), VERDICT]
        cells = [[escape(r["judge"]), escape(r["model"]), f"{r['wins']} / {r['ties']} / {r['losses']}", num(r["win_rate"], 3),
                  ci(r["win_rate_ci95"], 3), f"{num(100 * r['position_consistency'], 0)}%", verdict(r["verdict"])] for r in per_judge]
        console.print(fitted("Each judge alone", cols, cells))
    for key, title in (("leaderboard", "Bradley-Terry leaderboard"), ("leaderboard_length_controlled", "Bradley-Terry, length-controlled")):
        board = result.details.get(key)
        if board:
            cells = [[str(i + 1), escape(r["model"]), signed(r["score"], 3), ci(r["ci95"], 3)] for i, r in enumerate(board)]
            console.print(fitted(f"{title} (log-strength, mean 0)", [Col("rank"), left("model"), Col("score"), Col("95% CI")], cells))


def _reliability(rel: dict[str, Any]) -> None:
    for line in rel.get("lines", []):
        console.print(f"[bold]reliability[/]: {escape(str(line))}")


def _usage(judges: list[dict[str, Any]], cost: float | None) -> None:
    if not judges:
        return
    priced = any("cost_usd" in j for j in judges)
    cols = [left("judge"), Col("requests"), Col("cached"), Col("failed"), Col("prompt tokens", keep=2), Col("completion tokens", keep=1)]
    if priced:
        cols.append(Col("cost"))
    cells = []
    for j in judges:
        row = [escape(j["judge"]), num(j["requests"]), num(j["cached"]), num(j["failed"]), num(j["prompt_tokens"]), num(j["completion_tokens"])]
        if priced:
            row.append(f"${j.get('cost_usd', 0):,.4f}")
        cells.append(row)
    title = "Judge calls (cached answers cost nothing)" + (f": ${cost:,.4f} in all" if cost is not None else "")
    console.print(fitted(title, cols, cells))
