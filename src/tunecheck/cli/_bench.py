"""`tunecheck bench`: lm-evaluation-harness tasks on the base and each tuned model, through
tunecheck's models, compared per question. Thin: parse options, run, compare, render."""

from __future__ import annotations

from typing import Annotated

import typer

from tunecheck import render as r
from tunecheck._files import Output, check_paths
from tunecheck.cli import _options as o
from tunecheck.cli._app import app
from tunecheck.errors import ConfigError


@app.command()
def bench(
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Model: local dir, hub id, PEFT adapter dir, GGUF, openai:NAME or vllm:PATH. Repeat; the first is the baseline.")] = None,
    task: Annotated[str | None, typer.Option("--task", "-t", help="lm-evaluation-harness tasks or groups, comma-separated (mmlu,hellaswag,arc_easy,...); local task YAML files with --include-path.")] = None,
    imports: Annotated[list[str] | None, typer.Option("--import", help="Instead of running: an lm_eval --output_path folder run with --log_samples (DIR or DIR,name=NAME). Repeat; the first is the baseline.")] = None,
    num_fewshot: Annotated[int | None, typer.Option(help="Few-shot examples per question (default: each task's own).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions of each task (a quick look; the comparison says how much that costs in power).")] = None,
    include_path: Annotated[str | None, typer.Option(help="A folder of lm-evaluation-harness task YAML files (dataset_path: json/parquet with local data files), for offline tasks.")] = None,
    metric: Annotated[str | None, typer.Option(help="The metric compared (default: acc where a task has it, else its first).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Windows per forward pass (default: automatic). Never changes the numbers.")] = None,
    dtype: o.Dtype = "auto",
    device: o.Device = "auto",
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Benchmarks (lm-evaluation-harness's tasks) on every model, the same questions for all: which capabilities the fine-tune lost or gained, per task, group and subject, with McNemar's test and Holm."""
    from tunecheck.bench._compare import compare_bench
    from tunecheck.bench._run import run_benchmarks
    from tunecheck.models import ModelSpec

    o.check_format(format)
    if imports:
        if model:
            raise ConfigError("pass --model (to run the tasks) or --import (runs you already have), not both")
        if len(imports) < 2:
            raise ConfigError("--import: pass the base model's run and at least one tuned model's (the first is the baseline)")
        from tunecheck.bench._compare import compare_bench
        from tunecheck.bench._import import import_run

        check_paths([i.split(",")[0] for i in imports], [Output(out) if out else None])
        runs = []
        for spec in imports:
            folder, _, opt = spec.partition(",")
            if opt and not opt.startswith("name="):
                raise ConfigError(f"--import {spec!r}: the only option is name=..., e.g. runs/tuned,name=tuned")
            runs.append(import_run(folder, name=opt.removeprefix("name=") or None))
        r.emit(compare_bench(runs, metric=metric, n_resamples=n_resamples, seed=seed).to_result(), out, format, r.bench_tables)
        return
    model = model or []
    tasks = [t.strip() for t in (task or "").split(",") if t.strip()]
    if not tasks:
        raise ConfigError("--task: name at least one lm-evaluation-harness task, e.g. --task mmlu,hellaswag")
    if len(model) < 2:
        raise ConfigError("--model: pass the base model and at least one tuned model (the first is the baseline)")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: give a number of questions, at least 1")
    if num_fewshot is not None and num_fewshot < 0:
        raise ConfigError(f"--num-fewshot {num_fewshot}: use 0 or more")
    names = [ModelSpec.parse(m).display_name for m in model]
    check_paths([*model, include_path], [Output(out) if out else None])
    runs = [run_benchmarks(spec, tasks, num_fewshot=num_fewshot, limit=limit, include_path=include_path,
                           batch_size=batch_size, dtype=dtype, device=device, seed=seed).to_bench_run(name)
            for spec, name in zip(model, names)]
    report = compare_bench(runs, metric=metric, n_resamples=n_resamples, seed=seed)
    r.emit(report.to_result(), out, format, r.bench_tables)
