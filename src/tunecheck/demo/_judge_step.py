"""The demos' LLM-judge step: a blind pairwise comparison of base vs tuned answers, run when a
judge is configured (`--judge SPEC` or $TUNECHECK_JUDGE), else one line saying how to configure
one. A judge is a real chat model (a served one, or a local instruct model): the demo cannot
build a judge worth the name offline, and a toy one would teach nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = "TUNECHECK_JUDGE"
HINT = (f"LLM judge: skipped; set {ENV}=SPEC or pass --judge SPEC (e.g. openai:gpt-4o-mini with OPENAI_API_KEY, "
        "openai:NAME,base_url=http://127.0.0.1:8000/v1 for a local vLLM/Ollama server, or a local instruct model folder) "
        "for a blind pairwise comparison of base vs tuned")


def judge_spec(given: str | None) -> str | None:
    """The judge to use: the flag, else the environment, else None (skip the step)."""
    return given or os.environ.get(ENV) or None


def judge_step(results: dict[str, Any], preds: dict[str, Path], spec: str, out: Path, progress: Any) -> None:
    """Both models' answers judged blind in both orders into results["judge"]; the judge's answers
    are cached in the work directory, so a second demo run sends no request."""
    from tunecheck.judge import JudgeCache, JudgeConfig, judge_predictions, open_judges
    from tunecheck.models import ServerOptions

    files = [f"{preds['base']},name=base", f"{preds['tuned']},name=tuned"]
    config = JudgeConfig(mode="pairwise", max_tokens=512, n_resamples=2000)
    with JudgeCache(out / "judge-cache.sqlite") as cache, open_judges([spec], cache, server=ServerOptions()) as judges:
        report = judge_predictions(files, judges, config, progress=progress)
    results["judge"] = report.to_result()


def judge_sections(results: dict[str, Any], preds: dict[str, Path], given: str | None, out: Path, progress: Any,
                   console: Any, json_output: bool) -> list[Any]:
    """Run the step if a judge is configured and return the demo's section for it; else the one
    line on how to configure one (on stderr with --format json, so stdout stays JSON)."""
    from tunecheck import render

    spec = judge_spec(given)
    if spec is None:
        if json_output:
            console.print(HINT)
            return []
        return [(None, lambda _: console.print(f"[dim]{HINT}[/]"), "verdict")]
    with progress.running():
        judge_step(results, preds, spec, out, progress)
    return [("LLM judge: blind pairwise comparison of base vs tuned answers, both orders", render.judge_tables, "judge")]
