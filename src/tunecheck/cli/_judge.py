"""`tunecheck judge`: an LLM judge grades predictions files (rubric) or compares them blind
(pairwise). Thin: parse options, open the judges, call `judge.judge_predictions`, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunecheck import render as r
from tunecheck._files import Output, check_paths
from tunecheck.cli import _options as o
from tunecheck.cli._app import app, progress, state
from tunecheck.errors import ConfigError


def _price(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 2:
        raise ConfigError(f"--price-per-mtok {text!r}: give two numbers, dollars per million prompt and completion tokens, e.g. 2.5,10")
    return values[0], values[1]


def judgments_path(out: str | None, judgments: str | None) -> str | None:
    """Where the per-sample judgments go: --judgments, else beside --out (OUT.judgments.jsonl)."""
    if judgments is not None:
        return judgments
    if out is None:
        return None
    p = Path(out)
    return str(p.with_name(p.stem + ".judgments.jsonl"))


@app.command()
@o.option_sets
def judge(
    preds: Annotated[list[str], typer.Option("--preds", "-p", help="Predictions JSONL (FILE or FILE,name=NAME). Repeat to compare; the first is the baseline.")],
    judge: Annotated[list[str], typer.Option("--judge", "-j", help="Judge model, as --model takes it: openai:NAME (with --base-url), a local dir or hub id, vllm:PATH. Repeat for several judges.")],
    mode: Annotated[str, typer.Option(help="rubric (score each answer on a rubric) or pairwise (blind A/B of each model against the baseline, both orders).")] = "rubric",
    rubric: Annotated[str, typer.Option(help="Rubric mode: quality-5, quality-10, reference-correctness, or a YAML/JSON rubric file.")] = "quality-5",
    rubric_variants: Annotated[int, typer.Option(help="Rubric sensitivity: grade with this many wordings of the rubric in all (the rubric itself first; the built-ins ship rewordings).")] = 1,
    template: Annotated[str | None, typer.Option(help="Pairwise: your own prompt template file with {question}, {answer_a}, {answer_b} (and {reference}).")] = None,
    five_way: Annotated[bool, typer.Option("--five-way", help="Pairwise: Arena-Hard's 5-way scale (A>>B, A>B, A=B, B>A, B>>A), strong verdicts weighted 3.")] = False,
    pairs: Annotated[str, typer.Option(help="Pairwise with 3+ files: baseline (each against the first) or all (every pair, for the leaderboard).")] = "baseline",
    data: Annotated[str | None, typer.Option("--data", "-d", help="The data set the predictions answer: questions and references by id (default: what the predictions files carry).")] = None,
    repeats: Annotated[int, typer.Option(help="Ask each question N times with sampling on: the judge's own noise.")] = 1,
    judge_temperature: Annotated[float | None, typer.Option(help="The judge's sampling temperature (default 0, or 0.7 with --repeats).")] = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens the judge may write per answer.")] = 1024,
    logprobs: Annotated[bool, typer.Option("--logprobs/--no-logprobs", help="Rubric: ask for token log-probabilities for the probability-weighted (G-Eval) score; turn off for servers that refuse them.")] = True,
    human: Annotated[str | None, typer.Option(help="People's ratings or A/B choices for some of the same ids (CSV/JSON/JSONL): how well the judge agrees with them.")] = None,
    cache: Annotated[str | None, typer.Option(help="SQLite cache of judge answers (default: $XDG_CACHE_HOME/tunecheck/judge/cache.sqlite).")] = None,
    price_per_mtok: Annotated[str | None, typer.Option(help="IN,OUT: dollars per million prompt and completion tokens, for the cost line.")] = None,
    judgments: Annotated[str | None, typer.Option(help="Write every judgment (raw judge text, parsed scores, reasons) to this JSONL (default: beside --out).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N samples of the baseline file (a quick, cheap look).")] = None,
    base_url: Annotated[str | None, typer.Option(help="openai judges: server URL ending in /v1 (default: $OPENAI_BASE_URL, else api.openai.com); per judge: openai:NAME,base_url=URL.")] = None,
    api_key_env: Annotated[str, typer.Option(help="openai judges: environment variable holding the API key.")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="Judge calls in flight at once.")] = 8,
    timeout: Annotated[float, typer.Option(help="openai judges: seconds to wait for one answer.")] = 120.0,
    retries: Annotated[int, typer.Option(help="openai judges: retries on 429/5xx/timeouts, with exponential backoff.")] = 5,
    dtype: o.Dtype = "auto",
    device: o.Device = "auto",
    *,
    fields: o.Fields,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """An LLM judge grades the predictions on a rubric, or compares them blind with the baseline in both orders; its position and length biases, noise and agreement are measured, and every call is cached."""
    from tunecheck.judge import (
        JudgeCache,
        JudgeConfig,
        default_cache_path,
        judge_predictions,
        open_judges,
        plan_judging,
    )
    from tunecheck.models import ModelSpec, ServerOptions

    o.check_format(format)
    jsonl = judgments_path(out, judgments)
    where = cache or str(default_cache_path())
    check_paths([*preds, data, human, template, *judge],
                [Output(out) if out else None, Output(jsonl, "--judgments") if jsonl else None, Output(where, "--cache")])
    config = JudgeConfig(mode=mode, rubric=rubric, template=template, five_way=five_way, repeats=repeats, temperature=judge_temperature,
                         max_tokens=max_tokens, logprobs=logprobs, rubric_variants=rubric_variants, pairs=pairs,
                         concurrency=concurrency, n_resamples=n_resamples, seed=seed, price=_price(price_per_mtok))
    server = ServerOptions(base_url=base_url, api_key_env=api_key_env, concurrency=concurrency, timeout=timeout, retries=retries)
    dataset = None
    if data is not None:
        from tunecheck.data import load_data

        dataset = load_data(data, fields)
    for spec in judge:
        ModelSpec.parse(spec)  # a bad spec fails before the cache file is made
    plan = plan_judging(preds, config, data=dataset, limit=limit, human=human)  # every file checked before any call
    state["interrupt_hint"] = "every judge answer so far is cached; run the same command again to continue"
    bar = progress()
    with JudgeCache(where) as store, open_judges(judge, store, server=server, dtype=dtype, device=device) as judges, bar.running():
        report = judge_predictions(plan, judges, progress=bar)
    result = report.to_result()
    if jsonl:
        from tunecheck.judge import write_judgments

        write_judgments(jsonl, report.judgments)
        result.details["judgments_file"] = jsonl
    r.emit(result, out, format, r.judge_tables)
