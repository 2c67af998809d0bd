"""Extractable memorisation: give a model the start of a training example, decode greedily, and
see how much of the true continuation comes back verbatim.

Following Carlini et al. 2023 ("Quantifying memorization across neural language models"), an
example is *extracted* when the greedy continuation of its first `prefix_tokens` tokens equals
the next `suffix_tokens` tokens exactly. The base model never saw the training set, so its rate
is the control: what a model gets right from the prefix alone (templates, formulaic answers).
Only the tuned model's excess over it is memorisation.

For instruction data the natural prefix is the training prompt and the continuation its
response (`prefix="prompt"`, what "auto" picks for prompt/response, Alpaca and chat data): does
the tuned model answer a training prompt word for word as in the training data? On templated
SFT data the first 32 tokens are mostly the template's preamble, shared by every example, so
token prefixes would measure template reproduction; they remain the default for plain text.
Token prefixes are used as token ids, never re-tokenised from text. BOS goes first as in
training: added unless the rendered text already starts with it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck._device import check_device
from tunecheck._progress import Progress
from tunecheck.core import Comparison, DataInfo, ModelInfo, Result, Signal
from tunecheck.data import Dataset, FieldMap, align_ids, load_data
from tunecheck.errors import ConfigError
from tunecheck.models import (
    TOKENS,
    ModelSpec,
    TokenModel,
    check_template,
    format_pair,
    format_text,
    loaded,
)
from tunecheck.overfitting._applies import YES
from tunecheck.overfitting._signals import dataset_info, signals_for_models
from tunecheck.stats import N_RESAMPLES, SampleStats, compare_metrics, estimate

PREFIX_MODES = ("auto", "tokens", "prompt")
SIGNAL = "extraction (context)"
"""The name of this check's (context-only) overfitting signal."""


@dataclass(frozen=True)
class ExtractionConfig:
    """Which training examples to probe, and how."""

    n_samples: int = 200
    """Training examples drawn at random (seeded); enough for a rate with a ~±7-point CI."""
    prefix: str = "auto"
    """"tokens": the first `prefix_tokens` tokens of the text (Carlini et al.); "prompt": the
    training prompt, with its response as the continuation (instruction data); "auto": "prompt"
    for instruction-shaped data, "tokens" for plain text (see `prefix_mode`)."""
    prefix_tokens: int = 32
    """Tokens shown in "tokens" mode, not counting BOS."""
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
        check_device(self.device)
        if self.prefix not in PREFIX_MODES:
            raise ConfigError(f"--prefix must be auto, tokens or prompt, got {self.prefix!r}")
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
class ProbeSet:
    """The probes cut from a data set for one model, and the examples that could not be cut."""

    probes: list[Probe]
    mode: str
    """The prefix mode used: "tokens" or "prompt" ("auto" resolved for the data)."""
    too_short: int = 0
    """Examples with fewer tokens than prefix + continuation (or an empty response)."""
    too_long: int = 0
    """"prompt" mode: prompts that leave no room for the continuation in the model's context."""


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
    identity: dict[str, Any] = field(default_factory=dict)
    """The backend's `identity()` of the model probed."""

    def metrics(self) -> dict[str, SampleStats]:
        return {
            "extracted": SampleStats.mean("extracted", self.exact, higher_is_better=False),
            "prefix_match": SampleStats.mean("prefix_match", self.prefix_match, higher_is_better=False),
            "token_match": SampleStats.mean("token_match", self.token_match, higher_is_better=False),
        }


@dataclass
class ExtractionReport:
    models: list[ModelExtraction]
    comparison: list[Comparison]
    config: ExtractionConfig
    prefix: str
    """The prefix mode used ("tokens" or "prompt"): `config.prefix` with "auto" resolved."""
    warnings: list[str] = field(default_factory=list)
    inputs: list[DataInfo] = field(default_factory=list)
    """The training set probed (role "train")."""

    def signals(self) -> list[Signal]:
        """The context-only "extraction (context)" signal of every model compared with the base:
        reproducing training answers to training prompts is what a fine-tune is for, so it never
        decides the verdict."""
        return signals_for_models(SIGNAL, self.comparison, [(m.model, YES) for m in self.models[1:]], "training continuations reproduced",
                                  deciding=False)

    def to_result(self) -> Result:
        """Extraction rates with CIs, the comparisons with the base, the (context-only) signals;
        per model, the examples probed, skipped and the best-reproduced ones in its details."""
        c = self.config
        estimates = [replace(estimate(s, n_resamples=c.n_resamples, seed=c.seed), metric=name, model=m.model, n=len(m.ids))
                     for m in self.models for name, s in m.metrics().items()]
        models = [ModelInfo(m.model, dict(m.identity), {"n": len(m.ids), "skipped": m.skipped, "examples": list(m.examples)}) for m in self.models]
        # "prefix" is the mode used, so the result reads the same whether it was asked for or
        # picked by "auto"; "prefix_option" is what was asked for
        config = {**asdict(c), "prefix": self.prefix, "prefix_option": c.prefix}
        return Result(layer="extraction", data=list(self.inputs), models=models, config=config, estimates=estimates,
                      comparisons=list(self.comparison), signals=self.signals(), warnings=list(self.warnings))


def prefix_mode(prefix: str, dataset: Dataset) -> str:
    """The prefix mode used on a data set: "auto" is "prompt" for instruction-shaped data
    (prompt/response, Alpaca, chat) and "tokens" for plain text."""
    if prefix != "auto":
        return prefix
    return "tokens" if dataset.shape == "text" else "prompt"


def build_probes(model: TokenModel, dataset: Dataset, config: ExtractionConfig) -> ProbeSet:
    """Probes for the samples that can be cut, with counts of those that cannot.

    BOS goes first as in training (`TokenModel.with_bos`: added only when the rendered text does
    not already start with it), and is never one of the `prefix_tokens` shown."""
    chat = model.chat_renderer()
    mode = prefix_mode(config.prefix, dataset)
    result = ProbeSet([], mode)
    for sample in dataset:
        where = f"{dataset.source} {sample.location or 'sample ' + sample.id}"
        if mode == "prompt":
            if sample.shape == "text":
                raise ConfigError(f"{dataset.source}: --prefix prompt needs prompt/response data, and this is plain text; use --prefix tokens")
            if sample.response is None:
                raise ConfigError(f"{where}: has no response (a prompt-only row); extraction probes training examples, which need one")
            prompt, response = format_pair(sample, config.template, chat)
            p_ids = model.encode(prompt)
            full = model.encode(prompt + response)
            rest = full[len(p_ids) :] if full[: len(p_ids)] == p_ids else model.encode(response)
            prefix, target = model.with_bos(p_ids), rest[: config.suffix_tokens]
            if not target:
                result.too_short += 1
                continue
            # every prefix is continued by up to --suffix-tokens tokens in the same batch
            if len(prefix) + config.suffix_tokens > model.context_length:
                result.too_long += 1
                continue
        else:
            ids = model.with_bos(model.encode(format_text(sample, config.template, chat)))
            lead = int(bool(ids) and ids[0] == model.bos_token_id)  # BOS is shown but not counted
            cut = lead + config.prefix_tokens
            if cut + config.suffix_tokens > model.context_length:
                raise ConfigError(
                    f"--prefix-tokens {config.prefix_tokens} + --suffix-tokens {config.suffix_tokens} exceed "
                    f"{model.name}'s context of {model.context_length} tokens; lower them"
                )
            if len(ids) < cut + config.suffix_tokens:
                result.too_short += 1
                continue
            prefix, target = ids[:cut], ids[cut : cut + config.suffix_tokens]
        result.probes.append(Probe(sample.id, prefix, target))
    return result


def match_scores(generated: Sequence[int], target: Sequence[int]) -> tuple[float, float, float]:
    """(exact, prefix-match share, positional token-match share) of a continuation."""
    n = len(target)
    agree = [i < len(generated) and generated[i] == t for i, t in enumerate(target)]
    first_miss = next((i for i, ok in enumerate(agree) if not ok), n)
    return float(first_miss == n), first_miss / n, sum(agree) / n


def extract_model(model: TokenModel, probes: Sequence[Probe], config: ExtractionConfig, *, progress: Progress | None = None, keep_examples: int = 5) -> ModelExtraction:
    if not probes:
        raise ConfigError(f"{model.name}: no probes given; extraction needs at least one training example")
    longest = max(len(p.target) for p in probes)
    outs = model.continue_ids([p.prefix for p in probes], longest, batch_size=config.batch_size, progress=progress)
    scores = np.array([match_scores(o[: len(p.target)], p.target) for o, p in zip(outs, probes)]).reshape(-1, 3)
    result = ModelExtraction(model.name, [p.sample_id for p in probes], scores[:, 0], scores[:, 1], scores[:, 2])
    decode = model.decode
    for k in np.argsort(-scores[:, 1], kind="stable")[:keep_examples]:
        p = probes[int(k)]
        result.examples.append({
            "id": p.sample_id,
            "prefix": decode(p.prefix)[-200:],
            "target": decode(p.target),
            "generated": decode(outs[int(k)][: len(p.target)]),
            "prefix_match": float(scores[k, 1]),
        })
    return result


def evaluate_extraction(
    models: Sequence[str | ModelSpec | TokenModel],
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
    results: list[ModelExtraction] = []
    warnings: list[str] = []
    mode = prefix_mode(config.prefix, data)
    for item in models:
        with loaded(item, TOKENS, layer="memorisation extraction", dtype=config.dtype, device=config.device) as model:
            cut = build_probes(model, data, config)
            if cut.too_long:
                warnings.append(
                    f"{model.name}: {cut.too_long} of {len(data)} training prompts leave no room for --suffix-tokens "
                    f"{config.suffix_tokens} tokens in its context of {model.context_length} and were left out"
                )
            if chosen is None:  # the first model picks the examples; the others probe the same ones
                if not cut.probes:
                    raise ConfigError(_no_probes(data, model, cut, config))
                pick = random.Random(config.seed).sample(range(len(cut.probes)), min(config.n_samples, len(cut.probes)))
                chosen = {cut.probes[i].sample_id for i in pick}
                if cut.too_short:
                    why = "have an empty response" if mode == "prompt" else "are too short to probe"
                    warnings.append(f"{cut.too_short} of {len(data)} training examples {why} and were left out")
            probes = [p for p in cut.probes if p.sample_id in chosen]
            if not probes:
                raise ConfigError(
                    f"{model.name}: none of the {len(chosen)} training examples probed on {results[0].model} can be probed with it "
                    f"({cut.too_long} prompts too long for its context of {model.context_length}, {cut.too_short} too short in its tokens); "
                    "lower --suffix-tokens, or compare models with similar contexts and tokenizers"
                )
            result = extract_model(model, probes, config, progress=progress)
            result.skipped = len(chosen) - len(probes)
            result.identity = model.identity()
            results.append(result)
    comparison = []
    base = results[0]
    for other in results[1:]:
        _, a_rows, b_rows = align_ids(base.ids, other.ids)
        results_b = compare_metrics(base.metrics(), other.metrics(), a_rows, b_rows, n_resamples=config.n_resamples, seed=config.seed, baseline=base.model, model=other.model)
        comparison += results_b
    if len(results[0].ids) < 100:
        warnings.append(f"only {len(results[0].ids)} examples probed: rates below ~5 points apart cannot be told apart")
    return ExtractionReport(results, comparison, config, mode, warnings, [dataset_info(data, "train")])


def _no_probes(data: Dataset, model: TokenModel, cut: ProbeSet, config: ExtractionConfig) -> str:
    if cut.mode == "tokens":
        return (
            f"{data.source}: no training example is longer than --prefix-tokens {config.prefix_tokens} + "
            f"--suffix-tokens {config.suffix_tokens} tokens; lower them, or use --prefix prompt for prompt/response data"
        )
    if cut.too_long:
        return (
            f"{data.source}: no training prompt leaves room for --suffix-tokens {config.suffix_tokens} tokens in "
            f"{model.name}'s context of {model.context_length} ({cut.too_long} too long, {cut.too_short} with an empty response); "
            "lower --suffix-tokens, or use --prefix tokens to probe the start of each text instead"
        )
    return f"{data.source}: every training response is empty after its prompt; nothing to compare"

