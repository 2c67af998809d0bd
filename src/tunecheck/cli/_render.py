"""Rendering results: Rich tables for people, JSON for machines. No computation here."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tunecheck._io import clean, to_jsonable, write_json
from tunecheck.errors import ConfigError

_VERDICT_STYLE = {"improved": "bold green", "regressed": "bold red", "inconclusive": "yellow"}
_LEVEL_STYLE = {"none": "green", "some": "yellow", "high": "bold red"}

console = Console()


def to_stderr(text: str) -> None:
    """Diagnostics (--show-tokens) go to stderr, so --format json on stdout stays parseable."""
    print(text, file=sys.stderr, flush=True)


def check_format(fmt: str) -> str:
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format {fmt!r}: use table or json")
    return fmt


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


def emit(payload: dict[str, Any], out: str | None, fmt: str, table: Callable[[dict[str, Any]], None]) -> None:
    """The usual ending of a command: the results to --out (atomically), then JSON or a table."""
    payload = clean(payload)
    if out:
        write_json(out, payload)
    print_json(payload) if fmt == "json" else table(payload)


def print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False, default=to_jsonable))


def perplexity_tables(payload: dict[str, Any]) -> None:
    data = payload["data"]
    table = Table(title=f"Perplexity on {data['source']}  (n={data['n']}, {data['sha256'][:19]})")
    for col in ("model", "perplexity", "95% CI", "bits/byte", "byte ppl", "word ppl", "tokens"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for m in payload["models"]:
        table.add_row(
            m["model"], num(m["perplexity"]), ci(m["ci95"]["perplexity"]), num(m["bits_per_byte"]),
            num(m["byte_perplexity"]), num(m["word_perplexity"]), num(m["tokens"]),
        )
    console.print(table)
    comparison_table(payload["comparison"])


def comparison_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title="Compared with the baseline (paired bootstrap over documents)")
    for col in ("model", "metric", "baseline", "value", "improvement", "95% CI", "p", "verdict"):
        table.add_column(col, justify="left" if col in ("model", "metric", "verdict") else "right")
    for c in rows:
        lo_hi = c.get("improvement_pct_ci95")
        table.add_row(
            c["model"], c["metric"], num(c["baseline_value"]), num(c["value"]),
            f"{num(c['improvement_pct'], 1)}%", f"[{num(lo_hi[0], 1)}%, {num(lo_hi[1], 1)}%]" if lo_hi else "",
            num(c["p_value"], 4), verdict(c["verdict"]),
        )
    console.print(table)
    for c in rows:
        if c.get("note"):
            console.print(f"[yellow]note[/]: {c['model']}: {c['note']}")


def overfit_tables(payload: dict[str, Any]) -> None:
    table = Table(title=f"Train vs validation loss ({payload['data']['train']['source']} / {payload['data']['eval']['source']})")
    for col in ("model", "train loss", "eval loss", "gap", "gap 95% CI", "verdict"):
        table.add_column(col, justify="left" if col in ("model", "verdict") else "right")
    for m in payload["models"]:
        style = _LEVEL_STYLE[m["level"]]
        table.add_row(m["model"], num(m["train_loss"]), num(m["eval_loss"]), num(m["gap"]), ci(m["ci95"]["gap"]), f"[{style}]{m['message']}[/]")
    console.print(table)
    for m in payload["models"]:
        if m["suggestions"]:
            console.print(f"[bold]Suggestions for {m['model']}:[/]")
            for s in m["suggestions"]:
                console.print(f"  - {s}")


def split_table(summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['strategy']} split of {summary['source']}")
    for col in ("side", "rows", "file", "sha256"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for side in ("train", "validation"):
        s = summary[side]
        table.add_row(side, num(s["n"]), s["path"], s["sha256"][:23])
    console.print(table)
    if summary["categories_too_small"]:
        names = ", ".join(summary["categories_too_small"])
        console.print(f"[yellow]note[/]: too few rows to split, kept in train only: {names}")


def generate_table(payload: dict[str, Any]) -> None:
    table = Table(title=f"Predictions in {escape(payload['out'])}")
    for col in ("model", "samples", "done before", "generated now", "output tokens", "tokens/s", "finish reasons"):
        table.add_column(col, justify="left" if col in ("model", "finish reasons") else "right")
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(payload["finish_reasons"].items())) or "-"
    table.add_row(
        escape(payload["model"]), num(payload["samples"]), num(payload["already_done"]), num(payload["generated"]),
        num(payload["output_tokens"]), num(payload["tokens_per_second"], 1), reasons,
    )
    console.print(table)
    warn(payload.get("warnings", []))


def warn(lines: list[str]) -> None:
    for line in lines:
        console.print(f"[yellow]warning:[/] {escape(line)}")


def score_tables(payload: dict[str, Any]) -> None:
    models = payload["models"]
    table = Table(title=f"{payload['task']} metrics (95% CI)")
    table.add_column("metric")
    for m in models:
        table.add_column(f"{escape(m['model'])}\nn={m['n']}", justify="right")
    names = list(models[0]["metrics"]) if models else []
    for name in names:
        cells = []
        for m in models:
            est = m["metrics"].get(name)
            cells.append(f"{num(est['value'])} {ci(est['ci95'])}" if est else "")
        table.add_row(name, *cells)
    if any("unparsed" in m for m in models):
        table.add_row("unparsed outputs", *[num(m.get("unparsed", 0)) for m in models])
    console.print(table)
    rows = payload["comparison"]
    if rows:
        comp = Table(title="Paired comparison with the baseline (p Holm-adjusted over metrics)")
        for col in ("model", "metric", "difference", "95% CI", "p", "detectable", "verdict"):
            comp.add_column(col, justify="left" if col in ("model", "metric", "verdict") else "right")
        for c in rows:
            comp.add_row(
                escape(c["model"]), c["metric"], signed(c["difference"]), ci(c["ci95"]), num(c["p_value_holm"], 3),
                f"±{num(c['mdd'], 3)}", verdict(c["verdict"]),
            )
        console.print(comp)
    warn(payload.get("warnings", []))
