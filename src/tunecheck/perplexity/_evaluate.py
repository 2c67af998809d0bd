"""Score a dataset with one or more models and compare them: the perplexity layer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck._device import check_device
from tunecheck._progress import Progress
from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Record, Result
from tunecheck.data import Dataset, FieldMap, load_data
from tunecheck.errors import ConfigError
from tunecheck.models import (
    SCORING,
    LogLikelihoodModel,
    LoglikelihoodRequest,
    ModelSpec,
    TokenScores,
    check_template,
    check_windows,
    format_pair,
    format_text,
    loaded,
    prompt_kind,
)
from tunecheck.perplexity._metrics import (
    METRICS,
    SUMS,
    count_bytes,
    count_words,
    perplexity_metrics,
)
from tunecheck.perplexity._show import describe_tokens
from tunecheck.stats import (
    N_RESAMPLES,
    SampleStats,
    adjust_holm,
    bootstrap_sums,
    paired,
    percentile_ci,
)

EOS_CHOICES = ("auto", "yes", "no")


@dataclass(frozen=True)
class PerplexityConfig:
    """How to score; validated on construction so a bad flag fails before a model loads."""

    completion_only: bool = False
    """Score only the response of prompt/response data (SFT loss), not the prompt."""
    template: str = "auto"
    """How prompt and response were joined in training: auto, chat, alpaca, concat or a
    format string with {prompt}."""
    eos: str = "auto"
    """Score an EOS token after the text: auto (as TRL trains on that data shape, see
    `build_requests`), yes or no."""
    max_length: int | None = None
    """Tokens per window; default: the model's context length."""
    stride: int | None = None
    """Tokens scored per window after the first; default: max_length (no overlap)."""
    windows: str = "lm-eval"
    """Context of the windows after the first: lm-eval (refilled to max_length, as
    lm-evaluation-harness) or fixed (max_length - stride tokens); see models/_windows.py."""
    batch_size: int | None = None
    """Windows per forward pass; default: sized automatically. Never changes the numbers."""
    dtype: str = "auto"
    device: str = "auto"
    n_resamples: int = N_RESAMPLES
    seed: int = 0

    def __post_init__(self) -> None:
        check_template(self.template)
        check_device(self.device)
        check_windows(self.windows)
        if self.eos not in EOS_CHOICES:
            raise ConfigError(f"--eos {self.eos!r}: use one of {', '.join(EOS_CHOICES)}")
        if self.max_length is not None and self.max_length < 2:
            raise ConfigError(f"--max-length must be at least 2, got {self.max_length}")
        if self.stride is not None and self.stride < 1:
            raise ConfigError(f"--stride must be at least 1, got {self.stride}")
        if self.stride is not None and self.max_length is not None and self.stride > self.max_length:
            raise ConfigError(f"--stride ({self.stride}) cannot exceed --max-length ({self.max_length})")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.n_resamples < 100:
            raise ConfigError(f"--n-resamples must be at least 100, got {self.n_resamples}")


@dataclass
class ModelPerplexity:
    """One model's perplexity on one dataset, with per-document records."""

    model: str
    records: list[Record]
    metrics: dict[str, Estimate]
    totals: dict[str, float]
    tokenization: str
    """Hash of every scored token id: equal hashes mean the token counts are comparable."""
    identity: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> np.ndarray:
        """(documents x SUMS) matrix of the raw sums, in dataset order."""
        return np.array([[r.values[k] for k in SUMS] for r in self.records], dtype=np.float64)

    def info(self) -> ModelInfo:
        """Who it is and the counts behind its estimates (no CI: they are the data's sizes)."""
        details = {k: int(self.totals[k]) for k in ("tokens", "bytes", "words")}
        return ModelInfo(self.model, dict(self.identity), {**details, "documents": len(self.records), "tokenization_sha256": self.tokenization})

    def estimates(self) -> list[Estimate]:
        """Every metric with its CI, named by metric and model, as a Result lists them."""
        return [replace(self.metrics[k], metric=k, model=self.model, n=len(self.records)) for k in METRICS]


@dataclass
class PerplexityReport:
    """Every model's perplexity and each tuned model compared to the first (the baseline)."""

    models: list[ModelPerplexity]
    comparison: list[Comparison]
    data: dict[str, Any]
    config: PerplexityConfig

    def to_result(self, *, per_document: bool = False) -> Result:
        """The shared result: per-model estimates with CIs, counts in each model's details, the
        comparisons as the statistics engine made them; `per_document`: every document's raw
        sums (nll, tokens, bytes, words) as records."""
        return Result(
            layer="perplexity",
            data=[data_info(self.data)],
            models=[m.info() for m in self.models],
            config=asdict(self.config),
            estimates=[e for m in self.models for e in m.estimates()],
            comparisons=list(self.comparison),
            records=[r for m in self.models for r in m.records] if per_document else [],
        )


def data_info(identity: dict[str, Any], role: str = "eval") -> DataInfo:
    """A `Dataset.identity()` as a Result's DataInfo: source, hash and size, the rest (shape,
    how it was sampled) in its details."""
    details = {k: v for k, v in identity.items() if k not in ("source", "sha256", "n")}
    return DataInfo(str(identity["source"]), identity.get("sha256"), int(identity["n"]), role, details)


def build_requests(
    dataset: Dataset, model: LogLikelihoodModel, config: PerplexityConfig
) -> tuple[list[LoglikelihoodRequest], list[str]]:
    """Requests for the model and, per sample, the scored text (for bytes and words).

    Instruction data is scored on the tokens the standard SFT recipe trains on, as TRL's
    SFTTrainer builds them (trl/trainer/sft_trainer.py, `_prepare_dataset`, TRL 1.16), so the
    completion-only loss equals the Trainer's `eval_loss` on the same model and data:

    - chat data (the conversation before the last assistant turn as the prompt, TRL's
      conversational prompt/completion): the context is the conversation rendered with the
      generation prompt, the scored part everything the full rendering adds: the assistant's
      content and the template's end-of-turn tokens, its trailing newline included
      (`answer<|im_end|>\n` for ChatML). TRL adds no EOS to conversational data (the template
      ends the turn; its assistant-only training templates also cover `<|im_end|>\n`), and
      tokenises the template's text without special tokens (the template writes BOS itself).
    - Alpaca, prompt/completion text and custom templates: the response and an EOS, as TRL
      appends `eos_token` to a non-conversational completion (unless it already ends with it)
      and tokenises prompt + completion with `tokenizer(text)`, so a BOS comes first only for
      tokenizers that add one themselves.

    The scored part starts where the tokenised prompt and the tokenised whole diverge (TRL's
    `common_prefix_length`). Without --completion-only the same training text is scored whole
    (as TRL's language-modelling loss on it), while plain text is scored as lm-evaluation-
    harness's rolling log-likelihood: from a BOS token, every token, no EOS. `config.eos`
    "yes" / "no" overrides the EOS choice.
    """
    chat = model.chat_renderer()
    eos_text = model.eos_token
    requests, scored = [], []
    for sample in dataset:
        if sample.shape == "text":
            if config.completion_only:
                raise ConfigError(
                    f"{dataset.source}: --completion-only needs prompt/response data, but the rows have only "
                    "text (map fields with --prompt-field/--response-field)"
                )
            text = format_text(sample, config.template, chat)
            requests.append(LoglikelihoodRequest("", text, add_eos=config.eos == "yes"))
            scored.append(text)
            continue
        prompt, response = format_pair(sample, config.template, chat)
        is_chat = prompt_kind(sample, config.template) == "chat"
        if config.eos == "auto":
            add_eos = not is_chat and not (isinstance(eos_text, str) and eos_text and response.endswith(eos_text))
        else:
            add_eos = config.eos == "yes"
        prefix = "none" if is_chat else "tokenizer"
        if config.completion_only:
            requests.append(LoglikelihoodRequest(prompt, response, add_eos=add_eos, prefix=prefix))
            scored.append(response)
        else:
            requests.append(LoglikelihoodRequest("", prompt + response, add_eos=add_eos, prefix=prefix))
            scored.append(prompt + response)
    return requests, scored


def score_model(
    model: LogLikelihoodModel,
    dataset: Dataset,
    config: PerplexityConfig | None = None,
    *,
    progress: Progress | None = None,
    show_tokens: Callable[[str], None] | None = None,
) -> ModelPerplexity:
    """Perplexity of one loaded model on a dataset, with a bootstrap CI over documents.
    `show_tokens` receives the first sample's tokens with the scored ones marked."""
    config = config or PerplexityConfig()
    requests, texts = build_requests(dataset, model, config)
    if show_tokens is not None and requests:
        show_tokens(describe_tokens(model.name, dataset.samples[0].id, requests[0], model.token_view(requests[0])))
    scores = model.loglikelihood(
        requests,
        max_length=config.max_length,
        stride=config.stride,
        batch_size=config.batch_size,
        progress=progress,
        windows=config.windows,
    )
    return summarise(model.name, dataset, scores, texts, config, identity=model.identity())


def summarise(
    name: str,
    dataset: Dataset,
    scores: Sequence[TokenScores],
    texts: Sequence[str],
    config: PerplexityConfig,
    *,
    identity: dict[str, Any] | None = None,
) -> ModelPerplexity:
    """Records, totals and bootstrap CIs from per-document token scores."""
    digest = hashlib.sha256()
    records = []
    for sample, score, text in zip(dataset, scores, texts):
        digest.update(score.token_ids.astype(np.int64).tobytes())
        digest.update(b"|")
        values = {"nll": score.nll, "tokens": float(score.n_tokens), "bytes": float(count_bytes(text)), "words": float(count_words(text))}
        records.append(Record(sample.id, name, values))
    return summarise_records(name, records, config, tokenization="sha256:" + digest.hexdigest(), identity=identity)


def summarise_records(
    name: str, records: list[Record], config: PerplexityConfig, *, tokenization: str, identity: dict[str, Any] | None = None
) -> ModelPerplexity:
    """Totals and bootstrap CIs from per-document sums (also for results read back from disk)."""
    columns = np.array([[r.values[k] for k in SUMS] for r in records], dtype=np.float64).reshape(-1, len(SUMS))
    totals = dict(zip(SUMS, columns.sum(axis=0).tolist()))
    point = perplexity_metrics(*(totals[k] for k in SUMS))
    reps = bootstrap_sums(columns, n_resamples=config.n_resamples, seed=config.seed)
    rep_metrics = perplexity_metrics(*(reps[:, i] for i in range(len(SUMS))))
    metrics = {k: Estimate(point[k], percentile_ci(rep_metrics[k])) for k in METRICS}
    return ModelPerplexity(name, records, metrics, totals, tokenization, identity or {})


def metric_stats(result: ModelPerplexity, metric: str) -> SampleStats:
    """One perplexity metric as the statistics engine takes it: the per-document raw sums and
    the metric recomputed from their (resampled) totals, lower is better."""

    def scorer(sums: np.ndarray) -> np.ndarray:
        return np.asarray(perplexity_metrics(*(sums[:, i] for i in range(len(SUMS))))[metric], dtype=np.float64)

    return SampleStats(metric, result.columns(), scorer, higher_is_better=False)


def compare(baseline: ModelPerplexity, other: ModelPerplexity, config: PerplexityConfig) -> Comparison:
    """`other` against `baseline` on the same documents, through the statistics engine (paired
    bootstrap over documents, standard error, minimum detectable difference, Holm).

    Token perplexities are only comparable when both models tokenised every document alike;
    otherwise the comparison is on bits per byte, which does not depend on the tokenizer. One
    metric is compared, not each of perplexity, bits per byte and word perplexity: on the same
    texts they are the same total NLL over another fixed denominator, so more tests would only
    split the 5% between copies of one question.
    """
    if [r.sample_id for r in baseline.records] != [r.sample_id for r in other.records]:
        raise ConfigError("models were scored on different documents; compare them on the same data")
    same_tokens = baseline.tokenization == other.tokenization
    metric = "perplexity" if same_tokens else "bits_per_byte"
    (result,) = adjust_holm(
        [
            paired(
                metric_stats(baseline, metric), metric_stats(other, metric),
                n_resamples=config.n_resamples, seed=config.seed, baseline=baseline.model, model=other.model,
            )
        ]
    )
    # the relative change on the same resamples (one index for both models, as `paired` draws it)
    k = len(SUMS)
    reps = bootstrap_sums(np.hstack([baseline.columns(), other.columns()]), n_resamples=config.n_resamples, seed=config.seed)
    a = perplexity_metrics(*(reps[:, i] for i in range(k)))[metric]
    b = perplexity_metrics(*(reps[:, k + i] for i in range(k)))[metric]
    with np.errstate(divide="ignore", invalid="ignore"):
        improvement = (1.0 - b / a) * 100.0
    extra: dict[str, Any] = {
        "improvement_pct": (1.0 - result.value / result.baseline_value) * 100.0,
        "improvement_pct_ci95": list(percentile_ci(improvement)),
        "tokenizers_match": same_tokens,
    }
    if not same_tokens:
        extra["note"] = (
            "the models tokenise the data differently, so token perplexities are not comparable; "
            "compared on bits per byte"
        )
    return replace(result, extra=extra)


def evaluate_perplexity(
    models: Sequence[str | ModelSpec | LogLikelihoodModel],
    data: str | Path | Dataset,
    config: PerplexityConfig | None = None,
    *,
    fields: FieldMap | None = None,
    progress: Progress | None = None,
    show_tokens: Callable[[str], None] | None = None,
) -> PerplexityReport:
    """Perplexity of each model on `data`; every model after the first is compared to the first.
    `show_tokens` receives the first sample's scored tokens, for each model.

    Models are loaded one at a time and released after scoring, so a base and a tuned 8B model
    need the memory of one.
    """
    config = config or PerplexityConfig()
    if not models:
        raise ConfigError("name at least one model (--model)")
    dataset = data if isinstance(data, Dataset) else load_data(data, fields)
    results = []
    for item in models:
        with loaded(item, SCORING, layer="perplexity", dtype=config.dtype, device=config.device) as model:
            results.append(score_model(model, dataset, config, progress=progress, show_tokens=show_tokens))
    names = [r.model for r in results]
    if len(set(names)) != len(names):
        raise ConfigError(f"two models share the name {names}; give one another with --model 'PATH,name=NAME'")
    comparison = [compare(results[0], r, config) for r in results[1:]]
    return PerplexityReport(results, comparison, dataset.identity(), config)
