"""The notebook API: one function per command, taking what the command takes (model specs as
strings, data as a path, an `hf:` id or a list of dicts) and returning the `Result` the command
would write. Layers import lazily, so `import tunecheck` stays light (no torch).

Options are the command's, spelled as Python names (`completion_only=True` for
`--completion-only`); they are checked by the layer's config dataclass, the one place each
option is validated, and a misspelt one is a ConfigError listing the valid names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecheck.errors import ConfigError

if TYPE_CHECKING:
    from tunecheck._progress import Progress
    from tunecheck.core import Result
    from tunecheck.data import Dataset, FieldMap

_FIELDS = {"text_field": "text", "prompt_field": "prompt", "response_field": "response",
           "messages_field": "messages", "input_field": "input", "id_field": "id"}


def _fields(options: dict[str, Any]) -> FieldMap:
    from tunecheck.data import FieldMap

    return FieldMap(**{_FIELDS[k]: options.pop(k) for k in list(options) if k in _FIELDS})


def _config(cls: type, options: Mapping[str, Any], command: str, extra: Sequence[str] = ()) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - names)
    if unknown:
        valid = ", ".join(sorted(names | set(extra) | set(_FIELDS)))
        raise ConfigError(f"tunecheck.{command}(): unknown option {unknown[0]!r}; its options are {valid}")
    return cls(**options)


def _dataset(data: Any, fields: FieldMap, limit: int | None, seed: int) -> Dataset:
    from tunecheck.data import load_data

    if limit is not None and limit < 1:
        raise ConfigError(f"limit={limit}: must be at least 1 (or None for every row)")
    dataset = load_data(data, fields)
    return dataset if limit is None else dataset.sample(limit, seed)


def _progress(show: bool | Progress) -> Progress | None:
    if show is True:
        from tunecheck._progress import RichProgress

        return RichProgress()
    return show or None


def perplexity(
    models: str | Sequence[str],
    data: str | Path | Sequence[Mapping[str, Any]],
    *,
    limit: int | None = None,
    per_document: bool = False,
    progress: bool | Progress = False,
    **options: Any,
) -> Result:
    """`tunecheck perplexity`: perplexity, bits per byte and word perplexity of each model with
    95% CIs; every model after the first is compared to it. Options: those of
    `perplexity.PerplexityConfig` (completion_only, template, eos, max_length, stride, windows,
    batch_size, dtype, device, n_resamples, seed) and the field names (prompt_field, ...)."""
    from tunecheck.perplexity import PerplexityConfig, evaluate_perplexity

    fields = _fields(options)
    config = _config(PerplexityConfig, options, "perplexity")
    specs = [models] if isinstance(models, str) else list(models)
    dataset = _dataset(data, fields, limit, config.seed)
    report = evaluate_perplexity(specs, dataset, config, fields=fields, progress=_progress(progress))
    return report.to_result(per_document=per_document)


def overfit(
    models: str | Sequence[str],
    train: str | Path | Sequence[Mapping[str, Any]],
    eval: str | Path | Sequence[Mapping[str, Any]],
    *,
    limit: int | None = None,
    high_gap: float | None = None,
    some_gap: float | None = None,
    progress: bool | Progress = False,
    **options: Any,
) -> Result:
    """`tunecheck overfit`: train vs validation loss of each model, the gap with its CI and the
    loss-gap signal. Options: as `perplexity`, plus the gap thresholds."""
    from tunecheck.overfitting import GapThresholds, evaluate_overfit
    from tunecheck.perplexity import PerplexityConfig

    fields = _fields(options)
    config = _config(PerplexityConfig, options, "overfit", ("high_gap", "some_gap"))
    given = {k: v for k, v in (("high", high_gap), ("some", some_gap)) if v is not None}
    specs = [models] if isinstance(models, str) else list(models)
    report = evaluate_overfit(
        specs, _dataset(train, fields, limit, config.seed), _dataset(eval, fields, limit, config.seed), config,
        GapThresholds(**given), fields=fields, progress=_progress(progress),
    )
    return report.to_result()


def generate(
    model: str,
    data: str | Path | Sequence[Mapping[str, Any]],
    out: str | Path,
    *,
    limit: int | None = None,
    overwrite: bool = False,
    progress: bool | Progress = False,
    **options: Any,
) -> Result:
    """`tunecheck generate`: outputs for every sample into the predictions JSONL `out` (a killed
    run resumes). Options: those of `generation.GenerateConfig` and of
    `models.GenerationParams` (max_new_tokens, temperature, top_p, n, seed, stop), and the field
    names."""
    from tunecheck.generation import GenerateConfig, generate_predictions
    from tunecheck.models import GenerationParams

    fields = _fields(options)
    param_names = {f.name for f in dataclasses.fields(GenerationParams)}
    params = {k: options.pop(k) for k in list(options) if k in param_names}
    if "stop" in params:
        params["stop"] = tuple(params["stop"])
    config = _config(GenerateConfig, {**options, "params": GenerationParams(**params)}, "generate", sorted(param_names))
    dataset = _dataset(data, fields, None, 0)
    summary = generate_predictions(model, dataset, out, config, fields=fields, limit=limit, overwrite=overwrite, progress=_progress(progress))
    return summary.to_result()


def score(
    predictions: str | Path | Sequence[str | Path],
    task: str,
    *,
    data: str | Path | None = None,
    per_sample: bool = False,
    **options: Any,
) -> Result:
    """`tunecheck score`: task metrics of each predictions file with 95% CIs; later files are
    compared with the first, paired on sample ids. Options: those of `scoring.ScoreConfig`
    (labels, rules, custom, cluster_field, ci_method, n_resamples, seed, use_stemmer, id_field)."""
    from tunecheck.scoring import ScoreConfig, score_predictions

    preds = [str(predictions)] if isinstance(predictions, (str, Path)) else [str(p) for p in predictions]
    if isinstance(options.get("labels"), list):
        options["labels"] = tuple(options["labels"])
    config = _config(ScoreConfig, {"task": task, **options}, "score")
    return score_predictions(preds, config, data=str(data) if data is not None else None).to_result(per_sample=per_sample)


def overlap(
    train: str | Path | Sequence[Mapping[str, Any]],
    eval: str | Path | Sequence[Mapping[str, Any]],
    *,
    progress: bool | Progress = False,
    **options: Any,
) -> Result:
    """`tunecheck overlap`: exact duplicates, near duplicates and shared 13-grams between training
    and eval data. Options: on, n, near_threshold, shingle, num_perm, seed, boilerplate_share,
    and the field names."""
    import inspect

    from tunecheck.hygiene import check_overlap

    fields = _fields(options)
    names = {p for p, v in inspect.signature(check_overlap).parameters.items() if v.kind == v.KEYWORD_ONLY} - {"progress"}
    unknown = sorted(set(options) - names)
    if unknown:
        raise ConfigError(f"tunecheck.overlap(): unknown option {unknown[0]!r}; its options are {', '.join(sorted(names | set(_FIELDS)))}")
    report = check_overlap(_dataset(train, fields, None, 0), _dataset(eval, fields, None, 0), progress=_progress(progress), **options)
    return report.to_result()


def curves(log: str | Path, *, patience: int = 3, min_delta: float | None = None) -> Result:
    """`tunecheck curves`: did the training loss fall, which checkpoint is best, where the
    validation loss starts rising; `log` is a trainer_state.json, its output_dir, a CSV or
    TensorBoard events."""
    from tunecheck.overfitting import analyse_curves, read_curves

    if patience < 1:
        raise ConfigError(f"patience={patience}: must be at least 1")
    return analyse_curves(read_curves(log), patience=patience, min_delta=min_delta).to_result()


def verdict(results: Sequence[str | Path | Result], *, general: Sequence[str | Path | Result] = (), model: str | None = None) -> Result:
    """`tunecheck verdict`: did the fine-tune work? The task, general-ability and overfitting
    answers from stored results (files or `Result`s); `general` holds perplexity results on
    general text."""
    from tunecheck.verdict import verdict_from

    return verdict_from(list(results), list(general), model)
