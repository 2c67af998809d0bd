"""Extractable memorisation: give a model the start of a training example, decode greedily, and
see how much of the true continuation comes back verbatim.

Following Carlini et al. 2023 ("Quantifying memorization across neural language models"), an
example is *extracted* when the greedy continuation of its first `prefix_tokens` tokens equals
the next `suffix_tokens` tokens exactly. The base model never saw the training set, so its rate
is the control: what a model gets right from the prefix alone (templates, formulaic answers).
Only the tuned model's excess over it is memorisation.

For instruction data the natural prefix is the training prompt and the continuation its
response (`prefix="prompt"`): does the tuned model answer a training prompt word for word as
in the training data? Token prefixes are used as token ids, never re-tokenised from text.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck._progress import Progress
from tunecheck.data import Dataset, FieldMap, align_ids, load_data
from tunecheck.errors import ConfigError
from tunecheck.models import (
    HFModel,
    ModelSpec,
    format_pair,
    format_text,
    load_model,
    release_memory,
)
from tunecheck.models._prompt import check_template
from tunecheck.stats import N_RESAMPLES, PairedResult, SampleStats, adjust_holm, estimate, paired


@dataclass(frozen=True)
class ExtractionConfig:
    """Which training examples to probe, and how."""

    n_samples: int = 200
    """Training examples drawn at random (seeded); enough for a rate with a ~±7-point CI."""
    prefix: str = "tokens"
    """"tokens": the first `prefix_tokens` tokens of the text (Carlini et al.); "prompt": the
    training prompt, with its response as the continuation (instruction data)."""
    prefix_tokens: int = 32
    suffix_tokens: int = 32
    """Continuation tokens compared (in "prompt" mode, at most this many of the response)."""
    template: str = "auto"
    """How prompt and response were joined in training (as for perplexity)."""
    batch_size: int | None = None
    dtype: str = "auto"
    device: str = "auto"
    n_resamples: int = N_RESAMPLES
    seed: int = 0

    def __post_init__(self) -> None:
        check_template(self.template)
        if self.prefix not in ("tokens", "prompt"):
            raise ConfigError(f"--prefix must be tokens or prompt, got {self.prefix!r}")
        if self.n_samples < 1:
            raise ConfigError(f"--samples must be at least 1, got {self.n_samples}")
        if self.prefix_tokens < 1 or self.suffix_tokens < 1:
            raise ConfigError("--prefix-tokens and --suffix-tokens must be at least 1")


@dataclass(frozen=True)
class Probe:
    """One training example cut into the prefix shown and the continuation expected."""

    sample_id: str
    prefix: list[int]
    target: list[int]


@dataclass
class ModelExtraction:
    model: str
    ids: list[str]
    exact: np.ndarray
    """1 where the greedy continuation reproduced the whole target."""
    prefix_match: np.ndarray
    """Share of the target reproduced before the first wrong token."""
    token_match: np.ndarray
    """Share of target positions where the continuation has the same token."""
    examples: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0

    def metrics(self) -> dict[str, SampleStats]:
        return {
            "extracted": SampleStats.mean("extracted", self.exact, higher_is_better=False),
            "prefix_match": SampleStats.mean("prefix_match", self.prefix_match, higher_is_better=False),
            "token_match": SampleStats.mean("token_match", self.token_match, higher_is_better=False),
        }


@dataclass
class ExtractionReport:
    models: list[ModelExtraction]
    comparison: list[tuple[str, str, PairedResult]]
    data: dict[str, Any]
    config: ExtractionConfig
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        models = []
        for m in self.models:
            metrics = {name: estimate(s, n_resamples=c.n_resamples, seed=c.seed).to_dict() for name, s in m.metrics().items()}
            models.append({"model": m.model, "n": len(m.ids), "skipped": m.skipped, "metrics": metrics, "examples": m.examples})
        return {
            "layer": "extraction",
            "data": self.data,
            "config": asdict(self.config),
            "models": models,
            "comparison": [{"baseline": a, "model": b, **r.to_dict()} for a, b, r in self.comparison],
            "warnings": list(self.warnings),
        }


def build_probes(model: HFModel, dataset: Dataset, config: ExtractionConfig) -> tuple[list[Probe], int]:
    """Probes for the samples long enough to cut; returns them and how many were too short."""
    tok, chat = model.tokenizer, model.chat_renderer()
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    probes, short = [], 0
    for sample in dataset:
        if config.prefix == "prompt":
            if sample.response is None or sample.shape == "text":
                raise ConfigError(f"{dataset.source}: --prefix prompt needs prompt/response data; use --prefix tokens for plain text")
            prompt, response = format_pair(sample, config.template, chat)
            p_ids = _encode(tok, prompt)
            full = _encode(tok, prompt + response)
            rest = full[len(p_ids) :] if full[: len(p_ids)] == p_ids else _encode(tok, response)
            prefix, target = bos + p_ids, rest[: config.suffix_tokens]
            if not target:
                short += 1
                continue
        else:
            ids = bos + _encode(tok, format_text(sample, config.template, chat))
            cut = len(bos) + config.prefix_tokens
            if len(ids) < cut + config.suffix_tokens:
                short += 1
                continue
            prefix, target = ids[:cut], ids[cut : cut + config.suffix_tokens]
        probes.append(Probe(sample.id, prefix, target))
    return probes, short


def _encode(tok: Any, text: str) -> list[int]:
    return list(tok(text, add_special_tokens=False)["input_ids"]) if text else []


def match_scores(generated: Sequence[int], target: Sequence[int]) -> tuple[float, float, float]:
    """(exact, prefix-match share, positional token-match share) of a continuation."""
    n = len(target)
    agree = [i < len(generated) and generated[i] == t for i, t in enumerate(target)]
    first_miss = next((i for i, ok in enumerate(agree) if not ok), n)
    return float(first_miss == n), first_miss / n, sum(agree) / n


def extract_model(model: HFModel, probes: Sequence[Probe], config: ExtractionConfig, *, progress: Progress | None = None, keep_examples: int = 5) -> ModelExtraction:
    longest = max(len(p.target) for p in probes)
    too_long = [p.sample_id for p in probes if len(p.prefix) + longest > model.context_length]
    if too_long:
        raise ConfigError(f"sample {too_long[0]}: prefix + continuation exceed {model.name}'s context of {model.context_length}; lower --prefix-tokens/--suffix-tokens")
    outs = model.continue_ids([p.prefix for p in probes], longest, batch_size=config.batch_size, progress=progress)
    scores = np.array([match_scores(o[: len(p.target)], p.target) for o, p in zip(outs, probes)]).reshape(-1, 3)
    result = ModelExtraction(model.name, [p.sample_id for p in probes], scores[:, 0], scores[:, 1], scores[:, 2])
    decode = model.tokenizer.decode
    for k in np.argsort(-scores[:, 1], kind="stable")[:keep_examples]:
        p = probes[int(k)]
        result.examples.append({
            "id": p.sample_id,
            "prefix": decode(p.prefix, skip_special_tokens=True)[-200:],
            "target": decode(p.target, skip_special_tokens=True),
            "generated": decode(outs[int(k)][: len(p.target)], skip_special_tokens=True),
            "prefix_match": float(scores[k, 1]),
        })
    return result


def evaluate_extraction(
    models: Sequence[str | ModelSpec | HFModel],
    train: str | Path | Dataset,
    config: ExtractionConfig | None = None,
    *,
    fields: FieldMap | None = None,
    progress: Progress | None = None,
) -> ExtractionReport:
    """Extraction rates of each model on the same training examples; later models are compared
    with the first (the base model, the control) on the examples both could be probed on."""
    config = config or ExtractionConfig()
    if not models:
        raise ConfigError("name at least one model (--model); the first is the baseline")
    data = train if isinstance(train, Dataset) else load_data(train, fields)
    chosen: set[str] | None = None
    results, warnings = [], []
    for item in models:
        model = load_model(item, dtype=config.dtype, device=config.device) if isinstance(item, (str, ModelSpec)) else item
        probes, short = build_probes(model, data, config)
        if chosen is None:  # the first model picks the examples; the others probe the same ones
            if not probes:
                raise ConfigError(
                    f"{data.source}: no training example is longer than --prefix-tokens {config.prefix_tokens} + "
                    f"--suffix-tokens {config.suffix_tokens} tokens; lower them or use --prefix prompt"
                )
            pick = random.Random(config.seed).sample(range(len(probes)), min(config.n_samples, len(probes)))
            chosen = {probes[i].sample_id for i in pick}
            if short:
                warnings.append(f"{short} of {len(data)} training examples are too short to probe and were left out")
        probes = [p for p in probes if p.sample_id in chosen]
        result = extract_model(model, probes, config, progress=progress)
        result.skipped = len(chosen) - len(probes)
        results.append(result)
        if model is not item:
            del model
            release_memory()
    comparison = []
    base = results[0]
    for other in results[1:]:
        _, a_rows, b_rows = align_ids(base.ids, other.ids)
        pairs = [
            paired(sa.take(a_rows), other.metrics()[name].take(b_rows), n_resamples=config.n_resamples, seed=config.seed)
            for name, sa in base.metrics().items()
        ]
        comparison += [(base.model, other.model, r) for r in adjust_holm(pairs)]
    if len(results[0].ids) < 100:
        warnings.append(f"only {len(results[0].ids)} examples probed: rates below ~5 points apart cannot be told apart")
    return ExtractionReport(results, comparison, {"train": data.identity()}, config, warnings)
