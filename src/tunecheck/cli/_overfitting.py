"""Commands for "did it learn, or did it memorise?": curves, sweep, overlap, memorisation,
diversity and the overfitting verdict. Thin, like the rest of the CLI."""

from __future__ import annotations

from typing import Annotated

import typer

from tunecheck import render as r
from tunecheck._files import Output, check_paths
from tunecheck.cli import _options as o
from tunecheck.cli._app import app, progress
from tunecheck.errors import ConfigError

memorisation = typer.Typer(
    help="Memorisation: copied training text in outputs, extractable training data, membership signal, paraphrase sensitivity.",
    no_args_is_help=True,
)
app.add_typer(memorisation, name="memorisation")
app.add_typer(memorisation, name="memorization", hidden=True)

Preds = Annotated[list[str], typer.Option("--preds", "-p", help="Predictions JSONL (FILE or FILE,name=NAME). Repeat to compare; the first is the baseline.")]
Train = Annotated[str, typer.Option("--train", help="Training data (any format --data takes).")]
Samples = Annotated[int, typer.Option("--samples", help="Examples drawn at random (seeded).")]



@app.command()
def curves(
    path: Annotated[str, typer.Argument(help="trainer_state.json (or its output_dir / checkpoint-* parent), a CSV of step/train/eval columns, or TensorBoard event files.")],
    patience: Annotated[int, typer.Option(help="Evaluations in a row the eval loss must stay above its best to count as divergence.")] = 3,
    min_delta: Annotated[float | None, typer.Option(help="Rise above the best eval loss that counts (default: from the eval loss's own noise).")] = None,
    plot: Annotated[str | None, typer.Option(help="Write the curves as a PNG here.")] = None,
    html: Annotated[str | None, typer.Option(help="Write the curves as an interactive HTML chart here.")] = None,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Training curves from the logs you already have: did the loss fall, which checkpoint is best, and where the validation loss starts rising while the training loss still falls."""
    from tunecheck.overfitting import analyse_curves, plot_curves, read_curves

    o.check_format(format)
    check_paths([path], [_out(plot, "--plot"), _out(html, "--html"), _out(out)])
    report = analyse_curves(read_curves(path), patience=patience, min_delta=min_delta)
    if plot or html:
        plot_curves(report, png=plot, html=html)
    r.emit(report.to_result(), out, format, r.curves_table)


@app.command()
@o.option_sets
def sweep(
    run_dir: Annotated[str, typer.Argument(help="Training output_dir holding checkpoint-* directories (full models or adapters).")],
    eval: Annotated[str, typer.Option("--eval", help="Held-out validation data.")],
    train: Annotated[str | None, typer.Option("--train", help="Training data (or a sample), for the train/validation gap.")] = None,
    cache_dir: Annotated[str | None, typer.Option("--cache-dir", "--workdir", help="Where per-checkpoint results (and --task predictions) are kept, so a rerun continues (default: $XDG_CACHE_HOME/tunecheck/sweep/RUN-NAME-HASH, ~/.cache without it; never RUN_DIR).")] = None,
    base: Annotated[str | None, typer.Option(help="Base model for adapter checkpoints (default: from adapter_config.json).")] = None,
    task: Annotated[str | None, typer.Option("--task", "-t", help="Also generate answers and score them: classification, qa, summarization, generation or format.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="--task: most tokens generated per answer.")] = 128,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="--task: stop string (repeatable).")] = None,
    labels: Annotated[str | None, typer.Option(help="--task classification: allowed labels, comma-separated.")] = None,
    rules: Annotated[str | None, typer.Option(help="--task format: JSON file of rules for every sample.")] = None,
    final: Annotated[bool, typer.Option("--final/--no-final", help="Also evaluate the model saved in RUN_DIR itself.")] = True,
    plot: Annotated[str | None, typer.Option(help="Write the U-curve as a PNG here.")] = None,
    html: Annotated[str | None, typer.Option(help="Write the U-curve as an interactive HTML chart here.")] = None,
    *,
    scoring: o.ScoringQuiet,
    fields: o.Fields,
    n_resamples: o.Resamples = 10_000,
    limit: o.Limit = None,
    seed: o.SampledSeed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Evaluate every checkpoint on the validation set and find the sweet spot of the U-curve; run it again to continue an interrupted sweep."""
    from tunecheck.overfitting import SweepConfig, default_cache_dir, plot_sweep, sweep_checkpoints
    from tunecheck.scoring import load_rules

    o.check_format(format)
    where = cache_dir or str(default_cache_dir(run_dir))
    check_paths([run_dir, eval, train, base, rules],
                [Output(where, "--cache-dir", folder=True), _out(plot, "--plot"), _out(html, "--html"), _out(out)])
    ppl = scoring.config(n_resamples, seed)
    label_list = o.label_list(labels)
    config = SweepConfig(perplexity=ppl, base=base, task=task, max_new_tokens=max_new_tokens, stop=tuple(stop or ()),
                         labels=label_list, rules=dict(load_rules(rules)) if rules else None, include_final=final)
    eval_set = o.sampled(eval, fields, limit, seed)
    train_set = o.sampled(train, fields, limit, seed) if train is not None else None
    bar = progress()
    with bar.running():
        report = sweep_checkpoints(run_dir, eval_set, where, config, train_data=train_set, fields=fields, progress=bar)
    if plot or html:
        plot_sweep(report, png=plot, html=html)
    r.emit(report.to_result(), out, format, r.sweep_table)


@app.command()
@o.option_sets
def overlap(
    train: Train,
    eval: Annotated[str, typer.Option("--eval", help="Eval data, or benchmark items to check the training set against (contamination).")],
    on: Annotated[str, typer.Option(help="Compare full samples, or only the prompt or the response.")] = "full",
    ngram: Annotated[int, typer.Option(help="Words in the shared n-gram check (13, as contamination studies).")] = 13,
    near_threshold: Annotated[float, typer.Option(help="Character-level similarity (Indel ratio of the normalised texts) that makes a near duplicate.")] = 0.8,
    boilerplate_share: Annotated[float, typer.Option(help="A word 8-gram in at least this share of the training rows (and 10 or more) is boilerplate, such as a shared instruction, and left out of the near and n-gram checks; 0 keeps everything.")] = 0.05,
    show: Annotated[int, typer.Option(help="Matching pairs listed in the table (the JSON holds them all).")] = 10,
    *,
    fields: o.Fields,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Leakage between training and eval data: exact duplicates, near duplicates (a character-level similarity, MinHash-LSH candidates) and shared 13-grams, with shared instructions left out, and the offending pairs so you can remove them."""
    from tunecheck.data import load_data
    from tunecheck.hygiene import check_on, check_overlap

    o.check_format(format)
    check_on(on)
    if not 0 <= boilerplate_share <= 1:
        raise ConfigError(f"--boilerplate-share {boilerplate_share}: use a share in [0, 1] (0 keeps everything; 0.05 is the default)")
    if show < 0:
        raise ConfigError(f"--show {show}: the number of pairs to list must be 0 or more")
    check_paths([train, eval], [_out(out)])
    bar = progress()
    with bar.running():
        report = check_overlap(load_data(train, fields), load_data(eval, fields), on=on, n=ngram,  # type: ignore[arg-type]
                               near_threshold=near_threshold, boilerplate_share=boilerplate_share or None, progress=bar)
    r.emit(report.to_result(), out, format, lambda result: r.overlap_tables(result, show))


@app.command()
def diversity(
    preds: Preds,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Output diversity (distinct-1/2/3 over the whole set, self-BLEU) of each predictions file, later files compared with the first on the prompts they share."""
    from tunecheck.overfitting import compare_diversity

    o.check_format(format)
    check_paths(preds, [_out(out)])
    bar = progress()
    with bar.running():
        report = compare_diversity(preds, n_resamples=n_resamples, seed=seed, progress=bar)
    r.emit(report.to_result(), out, format, r.diversity_tables)


@memorisation.command("copying")
@o.option_sets
def copying(
    preds: Preds,
    train: Train,
    ngram: Annotated[int, typer.Option(help="Words in the shared n-gram that makes an output a copy.")] = 13,
    on: Annotated[str, typer.Option(help="Index the full training samples, or only their prompts or responses.")] = "full",
    *,
    fields: o.Fields,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Copying: the share of outputs that copy a long span of the training set verbatim, with the training example each one copies; the first --preds (the base) is the control."""
    from tunecheck.overfitting import CopyConfig, evaluate_copying

    o.check_format(format)
    config = CopyConfig(n=ngram, on=on, n_resamples=n_resamples, seed=seed)  # type: ignore[arg-type]
    check_paths([*preds, train], [_out(out)])
    bar = progress()
    with bar.running():
        report = evaluate_copying(preds, train, config, fields=fields, progress=bar)
    r.emit(report.to_result(), out, format, r.copying_tables)


@memorisation.command("extraction")
@o.option_sets
def extraction(
    model: o.Models,
    train: Train,
    samples: Samples = 200,
    prefix: Annotated[str, typer.Option(help="tokens: the first --prefix-tokens of each text; prompt: the training prompt (its response is the target); auto: prompt for prompt/response, Alpaca and chat data, tokens for plain text.")] = "auto",
    prefix_tokens: Annotated[int, typer.Option(help="Tokens shown to the model.")] = 32,
    suffix_tokens: Annotated[int, typer.Option(help="Tokens of the true continuation compared.")] = 32,
    template: o.Template = "auto",
    batch_size: Annotated[int | None, typer.Option(help="Prefixes per batch (default: 16 on CPU, what fits on a GPU).")] = None,
    dtype: o.Dtype = "auto",
    device: o.Device = "auto",
    *,
    fields: o.Fields,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Extractable memorisation: prompt each model with the start of training examples and measure how much of the true continuation it reproduces, greedy; the first model (the base) is the control."""
    from tunecheck.overfitting import ExtractionConfig, evaluate_extraction

    o.check_format(format)
    check_paths([*model, train], [_out(out)])
    config = ExtractionConfig(n_samples=samples, prefix=prefix, prefix_tokens=prefix_tokens, suffix_tokens=suffix_tokens,
                              template=template, batch_size=batch_size, dtype=dtype, device=device, n_resamples=n_resamples, seed=seed)
    bar = progress()
    with bar.running():
        report = evaluate_extraction(model, train, config, fields=fields, progress=bar)
    r.emit(report.to_result(), out, format, r.extraction_tables)


@memorisation.command("membership")
@o.option_sets
def membership(
    model: o.Models,
    train: Train,
    eval: Annotated[str, typer.Option("--eval", help="Held-out data the model never trained on.")],
    samples: Samples = 200,
    k_percent: Annotated[float, typer.Option(help="Min-K% Prob: the share of least likely tokens averaged.")] = 20.0,
    *,
    scoring: o.ScoringQuiet,
    fields: o.Fields,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Membership signal: AUROC of telling training from held-out examples by the tuned model's loss, Min-K% Prob, and its loss relative to the base (the first --model)."""
    from tunecheck.overfitting import MembershipConfig, evaluate_membership

    o.check_format(format)
    check_paths([*model, train, eval], [_out(out)])
    ppl = scoring.config(n_resamples, seed)
    bar = progress()
    with bar.running():
        report = evaluate_membership(model, train, eval, MembershipConfig(n_samples=samples, k_percent=k_percent, perplexity=ppl),
                                     fields=fields, progress=bar)
    r.emit(report.to_result(), out, format, r.membership_table)


@memorisation.command("rephrase")
def rephrase(
    task: Annotated[str, typer.Option("--task", "-t", help="classification, qa, summarization or generation.")],
    original: Annotated[list[str], typer.Option("--original", help="Predictions on the original prompts (FILE or FILE,name=NAME); one per model, the first is the baseline.")],
    paraphrased: Annotated[list[str], typer.Option("--paraphrased", help="Predictions on paraphrased prompts (same ids, or an original_id field); in the order of --original.")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="Data set whose rows supply references by id.")] = None,
    labels: Annotated[str | None, typer.Option(help="classification: allowed labels, comma-separated.")] = None,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Paraphrase sensitivity: quality on paraphrased prompts vs the originals, per model, and each tuned model's change against the base's."""
    from tunecheck.overfitting import rephrase_sensitivity
    from tunecheck.scoring import ScoreConfig

    o.check_format(format)
    if task not in ("classification", "qa", "summarization", "generation"):
        raise ConfigError(f"--task {task!r}: rephrase takes classification, qa, summarization or generation (format and custom metrics: use the Python API)")
    if len(original) != len(paraphrased):
        raise ConfigError(f"pass one --paraphrased per --original (got {len(original)} and {len(paraphrased)})")
    check_paths([*original, *paraphrased, data], [_out(out)])
    label_list = o.label_list(labels)
    config = ScoreConfig(task=task, labels=label_list, n_resamples=n_resamples, seed=seed)
    report = rephrase_sensitivity(list(zip(original, paraphrased)), config, data=data)
    r.emit(report.to_result(), out, format, r.rephrase_tables)


@app.command()
def verdict(
    results: Annotated[list[str] | None, typer.Argument(help="JSON results written with --out by score, perplexity (on the task's data), overfit, curves, sweep, overlap, diversity and the memorisation commands.")] = None,
    general: Annotated[list[str] | None, typer.Option("--general", "-g", help="Perplexity results (perplexity --out) on general text, for 'did general ability hold?' (repeatable).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="The tuned model to judge (default: the only one the results compare).")] = None,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Did the fine-tune work? Three answers from every layer's results, each with its evidence: did the task get better, did general ability hold, is it overfitting."""
    from tunecheck.verdict import verdict_from

    o.check_format(format)
    if not results and not general:
        raise ConfigError("give result files (written with --out), e.g. tunecheck verdict score.json gap.json --general ppl_wiki.json")
    check_paths([*(results or []), *(general or [])], [_out(out)])
    r.emit(verdict_from(results or [], general or [], model), out, format, r.verdict_tables)


def _out(path: str | None, flag: str = "--out") -> Output | None:
    return Output(path, flag) if path else None
