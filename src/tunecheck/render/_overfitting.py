"""Tables for the overfitting and memorisation commands. Text from data files and model outputs
is escaped before Rich sees it: it is untrusted and may hold markup."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from tunecheck.core import Comparison, Result, Signal, Status
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

_PHASE_STYLE = {"best": "bold green", "near best": "green", "under-fitting": "yellow", "over-fitting": "bold red", "worse on both": "bold yellow", "diverged": "bold red"}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def not_applicable(result: Result) -> None:
    """Say which models the check cannot measure, and why (the verdict leaves them out): a
    model whose `details` say `applies: False`."""
    for info in result.models:
        if info.details.get("applies") is False:
            console.print(f"[dim]not applicable to {escape(info.name)}:[/] {escape(str(info.details.get('reason') or ''))}")


def paired_table(rows: Sequence[Comparison], title: str) -> None:
    """Comparisons with the baseline, one row each, p Holm-adjusted over the metrics compared together."""
    if not rows:
        return
    cols = [left("model"), Col("metric", "left"), Col("baseline", keep=2), Col("value", keep=3), Col("difference"),
            Col("95% CI", keep=4), Col("p (Holm)", keep=1), VERDICT]
    cells = [[escape(c.model), escape(c.metric), num(c.baseline_value), num(c.value), signed(c.difference),
              ci(c.ci95), num(c.p_value_holm, 3), verdict(c.verdict.value)] for c in rows]
    console.print(fitted(title, cols, cells))


def _estimate_cell(result: Result, metric: str, model: str) -> str:
    est = next((e for e in result.estimates if e.metric == metric and e.model == model), None)
    return f"{num(est.value, 3)} {ci(est.ci95, 3)}" if est else ""


def sweep_table(result: Result) -> None:
    """One row per checkpoint (the result's models, in step order): losses, task metrics, the
    comparison with the best checkpoint, the phase; then the notes and the recommendation."""
    tasks = list(result.details.get("task_metrics", []))
    cols = [left("checkpoint"), Col("step", keep=2), Col("eval loss"), Col("95% CI", keep=4), Col("perplexity", keep=1),
            Col("train loss", keep=3), Col("gap", keep=3), *[Col(escape(t), keep=5, fold=True) for t in tasks],
            Col("vs best", keep=4, fold=True), Col("phase", "left", verdict=True)]
    cells = []
    for m in result.models:
        loss = result.estimate("eval_loss", m.name)
        vs = next((c for c in result.comparisons if c.model == m.name), None)
        phase = str(m.details.get("phase", ""))
        cells.append([
            escape(m.name), num(m.details.get("step")), num(result.value("eval_loss", m.name)), ci(loss.ci95 if loss else None),
            num(result.value("eval_perplexity", m.name), 3), num(result.value("train_loss", m.name)), num(result.value("gap", m.name)), *[num(result.value(t, m.name), 3) for t in tasks],
            f"{signed(vs.difference)} (p={num(vs.p_value_holm, 3)})" if vs else "-",
            f"[{_PHASE_STYLE.get(phase, '')}]{phase}[/]",
        ])
    source = next((d.source for d in result.data if d.role == "validation"), "?")
    console.print(fitted(f"Checkpoint sweep on {escape(source)} (validation loss, nats/token)", cols, cells))
    for line in result.warnings:
        console.print(f"[yellow]note:[/] {escape(line)}")
    console.print(f"[bold]Recommendation:[/] {escape(str(result.details.get('recommendation', '')))}")


def extraction_tables(result: Result) -> None:
    c = result.config
    how = "training prompt -> its response" if c["prefix"] == "prompt" else f"{c['prefix_tokens']}-token prefix -> next {c['suffix_tokens']} tokens"
    table = Table(title=f"Extractable memorisation ({how}, greedy; 95% CI)")
    for col in ("model", "probed", "extracted (exact)", "prefix reproduced", "tokens matching"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for m in result.models:
        table.add_row(escape(m.name), num(m.details["n"]), *[_estimate_cell(result, k, m.name) for k in ("extracted", "prefix_match", "token_match")])
    console.print(table)
    paired_table(result.comparisons, "Against the base model (higher = more memorised)")
    last = result.models[-1]
    for ex in last.details.get("examples", [])[:3]:
        if ex["prefix_match"] > 0:
            console.print(f"[dim]{escape(last.name)} on {escape(ex['id'])}:[/] …{escape(_one_line(ex['prefix'])[-50:])} "
                          f"-> [bold]{escape(_one_line(ex['generated']))}[/] (training: {escape(_one_line(ex['target']))})")
    warn(result.warnings)


def membership_table(result: Result) -> None:
    table = Table(title="Membership signal: AUROC of telling training from held-out examples (0.5 = cannot)")
    for col in ("model", "signal", "AUROC", "95% CI", "p (vs 0.5)", "n train / held-out"):
        table.add_column(col, justify="left" if col in ("model", "signal") else "right")
    for m in result.models:
        for name, s in m.details.get("auroc", {}).items():
            est = result.estimate(f"auroc_{name}", m.name)
            table.add_row(escape(m.name), name, num(est.value if est else None, 3), ci(est.ci95 if est else None, 3), num(s["p_value"], 4),
                          f"{s['n_positive']} / {s['n_negative']}")
    console.print(table)
    for m in result.models:
        style = {"high": "bold red", "low": "green"}.get(m.details.get("level", ""), "yellow")
        console.print(f"[{style}]{escape(m.name)}: {escape(str(m.details.get('message', '')))}[/]")
    not_applicable(result)
    warn(result.warnings)


def rephrase_tables(result: Result) -> None:
    cols = [left("model"), Col("metric", "left"), Col("original", keep=2), Col("paraphrased", keep=3), Col("change"),
            Col("95% CI", keep=4), VERDICT]
    within = [c for c in result.comparisons if "within" in c.extra]
    cells = [[escape(str(c.extra["within"])), escape(c.metric), num(c.baseline_value), num(c.value), signed(c.difference),
              ci(c.ci95), verdict(c.verdict.value)] for c in within]
    console.print(fitted(f"{result.details.get('task', '')}: original vs paraphrased prompts", cols, cells))
    paired_table([c for c in result.comparisons if "within" not in c.extra], "Change on paraphrases against the base model's change")
    warn(result.warnings)


_STATUS_STYLE = {"healthy": "bold green", "overfitting": "bold red", "inconclusive": "yellow", "not applicable": "dim"}


def status(word: str) -> str:
    """An overfitting status (healthy / overfitting / inconclusive / not applicable), styled."""
    return f"[{_STATUS_STYLE.get(word, '')}]{word}[/]"


def signals_table(signals: Sequence[Signal], title: str) -> None:
    """The overfitting signals, each with its status and, when it does not decide, why."""
    cols = [left("signal"), Col("status", "left", verdict=True), Col("evidence", "left", fold=True)]
    cells = []
    for s in signals:
        name = escape(s.name) if s.deciding else f"[dim]{escape(s.name)} (not counted)[/]"
        # a signal that does not apply leads with why; the numbers follow, dimmed
        if s.status == Status.NOT_APPLICABLE:
            cell = f"{escape(s.reason or '')}\n[dim]{escape(s.evidence)}[/]"
        else:
            cell = escape(s.evidence) + (f"\n[dim]why: {escape(s.reason)}[/]" if s.reason else "")
        cells.append([name, status(s.status.value), cell])
    if cells:
        console.print(fitted(title, cols, cells))


def verdict_table(result: Result) -> None:
    """An "overfitting" result (`OverfittingVerdict.to_result()`): the signals and the overall status."""
    model, word = escape(result.model_names()[0] if result.models else ""), str(result.details["status"])
    signals_table(result.signals, f"Overfitting signals for {model}: {word}")
    console.print(f"[bold]Overfitting: {status(word)}[/] - {escape(str(result.details['summary']))}")
    for line in result.warnings:
        console.print(f"[yellow]note:[/] {escape(line)}")


def verdict_tables(result: Result) -> None:
    """A "verdict" result (`did_it_work(...).to_result()`): three answers, then the evidence behind each."""
    tuned, bases = result.models[0].name, [m.name for m in result.models[1:]]
    against = f" against {escape(', '.join(bases))}" if bases else ""
    console.print(f"[bold]Did the fine-tune work? {escape(tuned)}{against}[/]")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    d = result.details
    o = d["overfitting"]
    grid.add_row("task", verdict(d["task"]["verdict"]), escape(d["task"]["summary"]))
    grid.add_row("general ability", verdict(d["general"]["verdict"]), escape(d["general"]["summary"]))
    grid.add_row("overfitting", status(o["status"]), escape(o["summary"]))
    console.print(grid)
    for key, title in (("task", "Task"), ("general", "General ability")):
        answer = d[key]
        if answer["evidence"] or answer["caveats"]:
            console.print(f"[bold]{title}:[/]")
        for e in answer["evidence"]:
            console.print(f"  - {escape(e['text'])}")
        for c in answer["caveats"]:
            console.print(f"  [yellow]caveat:[/] {escape(c)}")
    signals_table(result.signals, f"Overfitting signals for {escape(tuned)}: {o['status']}")
    for line in result.warnings:
        console.print(f"[yellow]note:[/] {escape(line)}")


def curves_table(result: Result) -> None:
    """The gap at each evaluation (best step green, divergence red), the training loss's fall,
    the findings and the recommendation, from the result's details."""
    d = result.details
    log = result.data[0]
    table = Table(title=f"Training curves from {escape(log.source)} ({escape(str(log.details.get('format', '')))})")
    for col in ("step", "epoch", "train loss", "eval loss", "gap"):
        table.add_column(col, justify="right")
    for g in d["gap"]:
        style = "bold green" if g["step"] == d["best_step"] else "bold red" if g["step"] == d["diverges_at"] else ""
        cells = [num(g["step"]), num(g["epoch"], 2), num(g["train_loss"]), num(g["eval_loss"]), num(g["gap"])]
        table.add_row(*[f"[{style}]{c}[/]" if style else c for c in cells])
    if d["gap"]:
        console.print(table)
    t = d.get("train") or {}
    if t:
        console.print(f"training loss {num(t.get('first'))} -> {num(t.get('last'))} ({num(t.get('drop_pct'), 1)}% lower)")
    if d["best_step"] is not None:
        console.print(f"best checkpoint: step {d['best_step']} (eval loss {num(d['best_eval_loss'])}); "
                      f"diverges at: {num(d['diverges_at']) if d['diverges_at'] is not None else 'no divergence'}")
    for f in d["findings"]:
        console.print(f"  - {escape(f)}")
    console.print(f"[bold]Recommendation:[/] {escape(d['recommendation'])}")


def overlap_tables(result: Result, show: int = 10) -> None:
    """An "overlap" result: each kind's eval rows, then the strongest pairs."""
    c, d = result.config, result.details
    data = {info.role: info for info in result.data}
    if d.get("caveat"):
        console.print(f"[bold yellow]not applicable: {escape(d['caveat'])}[/]")
    table = Table(title=f"Overlap of {escape(data['eval'].source)} ({data['eval'].n} rows) with "
                        f"{escape(data['train'].source)} ({data['train'].n} rows), on {c['on']}")
    for col in ("match", "eval rows", "rate", "rule"):
        table.add_column(col, justify="right" if col in ("eval rows", "rate") else "left")
    rules = {"exact": "same text after normalisation",
             "near": f"character similarity (Indel ratio) >= {c['near_threshold']}",
             "ngram": f"shares a word {c['n']}-gram (or a near match)"}
    for kind in ("exact", "near", "ngram"):
        rows, rate = result.estimate(f"{kind}_rows"), result.estimate(f"{kind}_rate")
        count = int(rows.value) if rows else 0
        style = "green" if not count else "yellow" if d.get("caveat") else "bold red"
        table.add_row(kind, f"[{style}]{count}[/]", f"{100 * (rate.value if rate else 0.0):.2f}%", rules[kind])
    console.print(table)
    compared = d.get("compared")
    if compared:
        console.print(f"compared: {escape(compared['fields'])}; {escape(compared['normalisation'])}; "
                      f"boilerplate: {escape(compared['boilerplate'])}")
    pairs = d["pairs"][:show]
    if pairs:
        pt = Table(title=f"Matching pairs (strongest first; {len(d['pairs'])} in all)")
        for col in ("eval id", "train id", "kinds", "similarity", "longest span (words)", "span"):
            pt.add_column(col, justify="right" if col in ("similarity", "longest span (words)") else "left")
        for p in pairs:
            pt.add_row(escape(p["eval_id"]), escape(p["train_id"]), ", ".join(p["kinds"]), num(p["similarity"], 3),
                       num(p["longest_span_words"]), escape(p["span"][:80]))
        console.print(pt)
    for line in result.warnings:
        console.print(f"[dim]note: {escape(line)}[/]")


def copying_tables(result: Result) -> None:
    n = result.config["n"]
    table = Table(title=f"Outputs copying the training set ({n}+ words verbatim; 95% CI)")
    for col in ("model", "outputs", "copying", "copy rate", "share of n-grams copied", "longest span"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for m in result.models:
        d = m.details
        table.add_row(escape(m.name), num(d["n"]), num(d["copied"]), _estimate_cell(result, "copy_rate", m.name),
                      _estimate_cell(result, "copied_share", m.name), num(d["longest_span_max"]))
    console.print(table)
    paired_table(result.comparisons, "Against the base model's outputs (lower is better)")
    for m in result.models[1:] or result.models:
        for ex in m.details.get("examples", [])[:3]:
            console.print(f"[dim]{escape(m.name)} {escape(ex['id'])} copies {escape(ex['train_id'])} "
                          f"({ex['longest_span_words']} words):[/] {escape(ex['span'][:120])}")
    not_applicable(result)
    warn(result.warnings)


def diversity_tables(result: Result) -> None:
    models = result.models
    table = Table(title="Output diversity (distinct-n: unique / all n-grams of the whole set; self-BLEU: lower = more diverse)")
    table.add_column("metric", no_wrap=True)
    for m in models:
        table.add_column(f"{escape(m.name)}\nn={m.details.get('n', '')}", justify="right")
    for name in dict.fromkeys(e.metric for e in result.estimates):
        table.add_row(name, *[_estimate_cell(result, name, m.name) for m in models])
    console.print(table)
    paired_table(result.comparisons, "Against the baseline, paired on shared prompts (p Holm-adjusted)")
    not_applicable(result)
    warn(result.warnings)
