"""Typer app. Each command parses options, calls the library, and renders; tunecheck's own
errors become one line on stderr and exit code 2 (a traceback only with --debug)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tunecheck import _io
from tunecheck._progress import RichProgress
from tunecheck.cli import _options as o
from tunecheck.cli import _render as r
from tunecheck.errors import TunecheckError

app = typer.Typer(
    name="tunecheck",
    help="Did the fine-tune work? Evaluate a base model against tuned models, honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = _state["debug"] or debug


def _progress() -> RichProgress:

    return RichProgress()


@app.command()
def perplexity(
    model: o.Models,
    data: Annotated[str, typer.Option("--data", "-d", help="Eval file (.jsonl/.json/.csv/.parquet) or hf:NAME[:CONFIG][:SPLIT].")],
    completion_only: o.CompletionOnly = False,
    template: o.Template = "auto",
    max_length: o.MaxLength = None,
    stride: o.Stride = None,
    batch_size: o.BatchSize = None,
    dtype: o.Dtype = "auto",
    device: o.Device = "auto",
    text_field: o.TextField = None,
    prompt_field: o.PromptField = None,
    response_field: o.ResponseField = None,
    messages_field: o.MessagesField = None,
    input_field: o.InputField = None,
    id_field: o.IdField = None,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    per_document: Annotated[bool, typer.Option(help="Include per-document sums in the JSON output.")] = False,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Perplexity, bits per byte and word perplexity of each model, with 95% CIs; every model
    after the first is compared to it with a paired bootstrap."""
    from tunecheck.perplexity import PerplexityConfig, evaluate_perplexity

    r.check_format(format)
    config = PerplexityConfig(completion_only=completion_only, template=template, max_length=max_length, stride=stride,
                              batch_size=batch_size, dtype=dtype, device=device, n_resamples=n_resamples, seed=seed)
    fields = o.field_map(text_field, prompt_field, response_field, messages_field, input_field, id_field)
    progress = _progress()
    with progress.running():
        report = evaluate_perplexity(model, data, config, fields=fields, progress=progress)
    if out:
        _io.write_json(out, report.to_dict(per_document=True))
    payload = _io.clean(report.to_dict(per_document=per_document))
    r.print_json(payload) if format == "json" else r.perplexity_tables(payload)


@app.command()
def overfit(
    model: o.Models,
    train: Annotated[str, typer.Option("--train", help="Training data (or a sample of it).")],
    eval: Annotated[str, typer.Option("--eval", help="Held-out validation data.")],
    high_gap: Annotated[float, typer.Option(help="Gap (nats/token) above which overfitting is likely.")] = 0.5,
    some_gap: Annotated[float, typer.Option(help="Gap above which some overfitting is present.")] = 0.2,
    completion_only: o.CompletionOnly = False,
    template: o.Template = "auto",
    max_length: o.MaxLength = None,
    stride: o.Stride = None,
    batch_size: o.BatchSize = None,
    dtype: o.Dtype = "auto",
    device: o.Device = "auto",
    text_field: o.TextField = None,
    prompt_field: o.PromptField = None,
    response_field: o.ResponseField = None,
    messages_field: o.MessagesField = None,
    input_field: o.InputField = None,
    id_field: o.IdField = None,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Train vs validation loss, the gap between them, and whether it means overfitting."""
    from tunecheck.overfitting import GapThresholds, evaluate_overfit
    from tunecheck.perplexity import PerplexityConfig

    r.check_format(format)
    thresholds = GapThresholds(high=high_gap, some=some_gap)
    config = PerplexityConfig(completion_only=completion_only, template=template, max_length=max_length, stride=stride,
                              batch_size=batch_size, dtype=dtype, device=device, n_resamples=n_resamples, seed=seed)
    fields = o.field_map(text_field, prompt_field, response_field, messages_field, input_field, id_field)
    progress = _progress()
    with progress.running():
        report = evaluate_overfit(model, train, eval, config, thresholds, fields=fields, progress=progress)
    payload = _io.clean(report.to_dict())
    if out:
        _io.write_json(out, payload)
    r.print_json(payload) if format == "json" else r.overfit_tables(payload)


@app.command()
def split(
    data: Annotated[str, typer.Option("--data", "-d", help="The data set to split (any format --data takes).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Folder for train.jsonl and validation.jsonl.")],
    strategy: Annotated[str, typer.Option(help="random, temporal (latest rows to validation) or category (stratified).")] = "random",
    test_size: Annotated[float, typer.Option(help="Share of rows for validation (the seeds suggest 0.1-0.2).")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed for random and category splits.")] = 42,
    date_field: Annotated[str | None, typer.Option(help="temporal: field with an ISO date or a number (default: file order).")] = None,
    category_field: Annotated[str, typer.Option(help="category: field holding the category.")] = "category",
    text_field: o.TextField = None,
    prompt_field: o.PromptField = None,
    response_field: o.ResponseField = None,
    messages_field: o.MessagesField = None,
    input_field: o.InputField = None,
    id_field: o.IdField = None,
    format: o.Format = "table",
) -> None:
    """Split a data set into train and validation files, with their content hashes."""
    from tunecheck.data import load_data
    from tunecheck.hygiene import split_dataset, write_split

    r.check_format(format)
    fields = o.field_map(text_field, prompt_field, response_field, messages_field, input_field, id_field)
    result = split_dataset(
        load_data(data, fields), strategy, test_size=test_size, seed=seed, date_field=date_field, category_field=category_field
    )
    summary = {"source": data, **write_split(result, out)}
    r.print_json(summary) if format == "json" else r.split_table(summary)


@app.command()
def demo(
    workdir: Annotated[str, typer.Option(help="Where models and results go.")] = "runs/demo",
    retrain: Annotated[bool, typer.Option(help="Train again even if cached models exist.")] = False,
    format: o.Format = "table",
) -> None:
    """Build a small base model, fine-tune it, and evaluate base vs tuned, offline."""
    from tunecheck.demo import run_demo

    r.check_format(format)
    run_demo(workdir, retrain=retrain, json_output=format == "json")


def main() -> None:
    """Entry point: run the app, turning tunecheck errors into one line and exit code 2."""
    # --debug is accepted anywhere on the line, not only before the command
    args = sys.argv[1:]
    if "--debug" in args:
        _state["debug"] = True
        args = [a for a in args if a != "--debug"]
    try:
        app(args=args, standalone_mode=False)
    except TunecheckError as err:
        if _state["debug"]:
            raise
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # click's usage errors
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            sys.exit(2)
        if isinstance(err, click.exceptions.Abort):
            sys.exit(130)
        raise
