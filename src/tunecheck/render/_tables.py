"""Rich tables of each layer's results, fitted to the terminal. No computation here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tunecheck.core import Comparison, ModelInfo, Result

_VERDICT_STYLE = {"improved": "bold green", "regressed": "bold red", "inconclusive": "yellow"}
_LEVEL_STYLE = {"none": "green", "some": "yellow", "high": "bold red"}

console = Console()


@dataclass(frozen=True)
class Col:
    """A table column and how it behaves on a narrow terminal. Verdicts and numbers are never cut
    or wrapped (a cut "improv…" or "12,34…" misleads); names and prose fold onto more lines; when
    even that does not fit, the columns with the lowest `keep` are left out first."""

    header: str
    justify: Literal["left", "right"] = "right"
    keep: int | None = None
    """Drop order on a narrow terminal (lowest first); None: always shown."""
    fold: bool = False
    """Names and prose: wrap (at words, else anywhere) instead of keeping to one line."""
    verdict: bool = False


def left(header: str, keep: int | None = None) -> Col:
    """A name column (model, metric, checkpoint): folds, never cut."""
    return Col(header, "left", keep, fold=True)


VERDICT = Col("verdict", "left", verdict=True)


def _min_width(col: Col, cells: Sequence[str]) -> int:
    texts = [Text.from_markup(c).plain for c in (escape(col.header), *cells)]
    if col.fold:  # a folded column can go down to its longest word (or 8: longer words fold)
        return max(min(8, max((cell_len(w) for w in t.split()), default=0)) for t in texts)
    return max(max((cell_len(line) for line in t.splitlines()), default=0) for t in texts)


def fitted(title: str, cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int | None = None) -> Table:
    """A table that fits `width` (the terminal's) without cutting a verdict, a number or a name:
    columns are dropped, lowest `keep` first, until the narrowest layout fits; a caption names them."""
    width = width or console.width
    shown = list(range(len(cols)))
    mins = [max(_min_width(c, [r[i] for r in rows]), len("inconclusive") if c.verdict else 0) for i, c in enumerate(cols)]
    while sum(mins[i] + 3 for i in shown) + 1 > width:
        droppable = [i for i in shown if cols[i].keep is not None]
        if not droppable:
            break
        shown.remove(min(droppable, key=lambda i: (cols[i].keep, -i)))
    hidden = [cols[i].header.replace("\n", " ") for i in range(len(cols)) if i not in shown]
    caption = f"narrow terminal: {', '.join(hidden)} not shown (widen it, or use --format json)" if hidden else None
    table = Table(title=title, caption=caption)
    for i in shown:
        c = cols[i]
        if c.verdict:
            table.add_column(c.header, justify=c.justify, no_wrap=True, min_width=mins[i])
        elif c.fold:
            table.add_column(c.header, justify=c.justify, overflow="fold", min_width=mins[i])
        else:
            table.add_column(c.header, justify=c.justify, no_wrap=True, min_width=mins[i])
    for r in rows:
        table.add_row(*[r[i] for i in shown])
    return table


def num(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.{digits}f}" if abs(x) < 1e6 else f"{x:.3e}"
    return f"{x:,}"


def signed(x: Any, digits: int = 4) -> str:
    """A difference with its sign; "n/a" for a missing or non-finite one (NaN is stored as null)."""
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}"


def ci(pair: Any, digits: int = 4) -> str:
    return f"[{num(pair[0], digits)}, {num(pair[1], digits)}]" if pair else ""


def verdict(word: str) -> str:
    return f"[{_VERDICT_STYLE.get(word, '')}]{word}[/]"


def perplexity_tables(result: Result) -> None:
    """Each model's perplexity metrics with the CI, then its comparison with the baseline."""
    data = result.data[0]
    cols = [left("model"), Col("perplexity"), Col("95% CI", keep=3), Col("bits/byte", keep=4), Col("byte ppl", keep=1),
            Col("word ppl", keep=2), Col("tokens", keep=5)]
    cells = []
    for m in result.models:
        ppl = result.estimate("perplexity", m.name)
        cells.append([escape(m.name), num(result.value("perplexity", m.name)), ci(ppl.ci95 if ppl else None), num(result.value("bits_per_byte", m.name)),
                      num(result.value("byte_perplexity", m.name)), num(result.value("word_perplexity", m.name)), num(m.details.get("tokens"))])
    console.print(fitted(f"Perplexity on {escape(data.source)}  (n={data.n}, {(data.sha256 or '')[:19]})", cols, cells))
    comparison_table(result.comparisons)


def comparison_table(rows: Sequence[Comparison]) -> None:
    """Perplexity comparisons: the relative improvement and its CI (from `Comparison.extra`)."""
    if not rows:
        return
    cols = [left("model"), Col("metric", "left"), Col("baseline", keep=2), Col("value", keep=3), Col("improvement"),
            Col("95% CI", keep=4), Col("p", keep=1), VERDICT]
    cells = []
    for c in rows:
        lo_hi = c.extra.get("improvement_pct_ci95")
        cells.append([
            escape(c.model), c.metric, num(c.baseline_value), num(c.value),
            f"{num(c.extra.get('improvement_pct'), 1)}%", f"[{num(lo_hi[0], 1)}%, {num(lo_hi[1], 1)}%]" if lo_hi else "",
            num(c.p_value, 4), verdict(c.verdict.value),
        ])
    console.print(fitted("Compared with the baseline (paired bootstrap over documents)", cols, cells))
    for c in rows:
        if c.extra.get("note"):
            console.print(f"[yellow]note[/]: {escape(c.model)}: {escape(str(c.extra['note']))}")


def overfit_tables(result: Result) -> None:
    """Train vs validation loss per model, the gap with its CI and its level's message."""
    sources = {d.role: d.source for d in result.data}
    title = f"Train vs validation loss ({sources.get('train', '?')} / {sources.get('validation', '?')})"
    cols = [left("model"), Col("train loss", keep=3), Col("eval loss", keep=4), Col("gap"), Col("gap 95% CI", keep=2),
            Col("verdict", "left", fold=True)]
    cells = []
    for m in result.models:
        gap = result.estimate("gap", m.name)
        style = _LEVEL_STYLE.get(str(m.details.get("level")), "")
        cells.append([escape(m.name), num(result.value("train_loss", m.name)), num(result.value("eval_loss", m.name)), num(result.value("gap", m.name)), ci(gap.ci95 if gap else None),
                      f"[{style}]{escape(str(m.details.get('message', '')))}[/]"])
    console.print(fitted(escape(title), cols, cells))
    for m in result.models:
        if m.details.get("suggestions"):
            console.print(f"[bold]Suggestions for {escape(m.name)}:[/]")
            for s in m.details["suggestions"]:
                console.print(f"  - {escape(s)}")


def split_table(result: Result) -> None:
    """A "split" result: each side's rows, file and content hash."""
    source = next(d for d in result.data if d.role == "source")
    cols = [Col("side", "left"), Col("rows"), left("file"), Col("sha256", "left", keep=1)]
    cells = [[d.role, num(d.n), escape(d.source), (d.sha256 or "")[:23]] for d in result.data if d.role != "source"]
    console.print(fitted(f"{result.details['strategy']} split of {escape(source.source)}", cols, cells))
    if result.details["categories_too_small"]:
        names = ", ".join(result.details["categories_too_small"])
        console.print(f"[yellow]note[/]: too few rows to split, kept in train only: {escape(names)}")


def generate_table(result: Result) -> None:
    """A "generate" result: the run's counts for its model, and where the predictions are."""
    info = result.models[0]
    d = info.details
    out = next(x.source for x in result.data if x.role == "predictions")
    table = Table(title=f"Predictions in {escape(out)}")
    for col in ("model", "samples", "done before", "generated now", "output tokens", "tokens/s", "finish reasons"):
        table.add_column(col, justify="left" if col in ("model", "finish reasons") else "right")
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(d["finish_reasons"].items())) or "-"
    table.add_row(
        escape(info.name), num(d["samples"]), num(d["already_done"]), num(d["generated"]),
        num(d["output_tokens"]), num(d["tokens_per_second"], 1), reasons,
    )
    console.print(table)
    warn(result.warnings)


def warn(lines: list[str]) -> None:
    for line in lines:
        console.print(f"[yellow]warning:[/] {escape(line)}")


def score_tables(result: Result) -> None:
    """The score layer's tables: each metric per model with its CI, the per-class tables of a
    classifier, the paired comparisons with the baseline."""
    models = result.models
    table = Table(title=f"{result.details.get('task', '')} metrics (95% CI)")
    table.add_column("metric", no_wrap=True)
    for m in models:
        table.add_column(f"{escape(m.name)}\nn={m.details.get('n', '')}", justify="right", overflow="fold")
    names = list(dict.fromkeys(e.metric for e in result.estimates))
    for name in names:
        cells = []
        for m in models:
            est = next((e for e in result.estimates if e.metric == name and e.model == m.name), None)
            cells.append(f"{num(est.value)} {ci(est.ci95)}" if est else "")
        table.add_row(escape(name), *cells)
    if any("unparsed" in m.details for m in models):
        table.add_row("unparsed outputs", *[num(m.details.get("unparsed", 0)) for m in models])
    console.print(table)
    for m in models:
        if m.details.get("per_class"):
            classification_tables(m)
    rows = result.comparisons
    if rows:
        cols = [left("model"), Col("metric", "left"), Col("difference"), Col("95% CI", keep=3), Col("p", keep=2), Col("detectable", keep=1), VERDICT]
        compared = [[escape(c.model), escape(c.metric), signed(c.difference), ci(c.ci95), num(c.p_value_holm, 3),
                     f"±{num(c.mdd, 3)}", verdict(c.verdict.value)] for c in rows]
        console.print(fitted("Paired comparison with the baseline (p Holm-adjusted over metrics)", cols, compared))
    warn(result.warnings)


def classification_tables(info: ModelInfo) -> None:
    """Per-class precision / recall / F1 and the confusion matrix of one model (from its
    `ModelInfo.details`), the unparsed outputs (naming no allowed label) in a column of their own."""
    name, m = escape(info.name), info.details
    cols = [left("class"), Col("support"), Col("precision"), Col("recall"), Col("F1")]
    cells = [[escape(label), num(v["support"]), num(v["precision"], 3), num(v["recall"], 3), num(v["f1"], 3)]
             for label, v in m["per_class"].items()]
    console.print(fitted(f"{name}: per class", cols, cells))
    labels = list(m.get("labels") or m["per_class"])
    confusion = m.get("confusion")
    if confusion:
        cols = [left("gold \\ predicted"), *[Col(escape(label), fold=True) for label in labels], Col("unparsed\n(no label)")]
        cells = [[escape(label), *[num(int(v)) for v in row]] for label, row in zip(labels, confusion)]
        console.print(fitted(f"{name}: confusion matrix (rows: gold label, columns: predicted)", cols, cells))
