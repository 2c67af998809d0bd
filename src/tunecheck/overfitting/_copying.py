"""Copying: how many of a model's outputs copy long spans of the training set verbatim.

An output *copies* when it shares a word n-gram (13 words by default, the span contamination
studies use, after the same normalisation as the leakage check) with some training example;
the example (its id and, normalised, the text around the span) and the longest shared span are
reported so a person can look. The base model's outputs are the control: boilerplate both
models write is not the fine-tune's doing. Run it on outputs for held-out prompts: copying
training text into answers to new prompts is the overfitting sign (reproducing a training
answer for its own training prompt is what `tunecheck memorisation extraction` measures).

Copying does not apply to outputs shorter than the span (fewer than 10 outputs with n+ words:
a copy rate of 0 over them is guaranteed, not measured) nor to label answers (a classifier
"copies" its labels): each model's details say `applies` and the `reason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck._progress import Progress
from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Result, Signal
from tunecheck.data import Dataset, FieldMap, align_ids, load_data
from tunecheck.errors import ConfigError
from tunecheck.hygiene import NgramIndex, On, check_on, sample_text, words
from tunecheck.overfitting._applies import (
    MIN_SAMPLES,
    YES,
    Applies,
    closed_label_set,
    references_of,
)
from tunecheck.overfitting._signals import dataset_info, signals_for_models
from tunecheck.scoring import (
    PredictionSet,
    load_prediction_sets,
    pairing_warnings,
    require_shared_ids,
)
from tunecheck.stats import N_RESAMPLES, SampleStats, compare_metrics, estimate

SIGNAL = "verbatim copying"
"""The name of this check's overfitting signal."""
TRAIN_EXCERPT = 300
"""Characters of the matching training example shown with a copy, from shortly before the span."""
_LEAD = 50
"""Characters of context kept before the span, so the excerpt shows where the copy begins."""


@dataclass(frozen=True)
class CopyConfig:
    n: int = 13
    """Words in the shared n-gram that makes an output a copy."""
    on: On = "full"
    """Which part of each training example is indexed: full, prompt or response."""
    n_resamples: int = N_RESAMPLES
    seed: int = 0
    examples: int = 5
    """Copied outputs shown per model, longest span first."""

    def __post_init__(self) -> None:
        # named as the CLI flag and the API argument: either may have set it
        if self.n < 1:
            raise ConfigError(f"--ngram (n) must be at least 1 word, got {self.n}; 13 is the usual contamination n-gram")
        check_on(self.on)


@dataclass
class ModelCopying:
    model: str
    file: str
    ids: list[str]
    copied: np.ndarray
    """1 where the output shares an n-gram with a training example."""
    copied_share: np.ndarray
    """Share of the output's n-grams found anywhere in the training set (0 for outputs shorter
    than n words)."""
    longest: np.ndarray
    """Longest verbatim span shared with the best-matching training example, in words."""
    examples: list[dict[str, Any]] = field(default_factory=list)
    long_enough: int = 0
    """Outputs with at least n words: only these can share an n-gram."""
    applies: Applies = YES
    identity: dict[str, Any] = field(default_factory=dict)
    """What the predictions file says about the model that wrote it."""

    def metrics(self) -> dict[str, SampleStats]:
        return {
            "copy_rate": SampleStats.mean("copy_rate", self.copied, higher_is_better=False),
            "copied_share": SampleStats.mean("copied_share", self.copied_share, higher_is_better=False),
        }


@dataclass
class CopyingReport:
    models: list[ModelCopying]
    comparison: list[Comparison]
    config: CopyConfig
    warnings: list[str] = field(default_factory=list)
    inputs: list[DataInfo] = field(default_factory=list)
    """The predictions files in order, then the training set (role "train")."""

    def estimates(self) -> list[Estimate]:
        c = self.config
        return [replace(estimate(s, n_resamples=c.n_resamples, seed=c.seed), metric=k, model=m.model, n=len(m.ids))
                for m in self.models for k, s in m.metrics().items()]

    def signals(self) -> list[Signal]:
        """The "verbatim copying" signal of every model compared with the base."""
        return signals_for_models(SIGNAL, self.comparison, [(m.model, m.applies) for m in self.models[1:]], "outputs copying training text")

    def to_result(self) -> Result:
        """Copy rates with CIs, the comparisons with the base, the signals; per model, its copied
        count, longest span and the copied examples in its details."""
        c = self.config
        models = [ModelInfo(m.model, dict(m.identity), {
            "file": m.file, "n": len(m.ids), "copied": int(m.copied.sum()), "longest_span_max": int(m.longest.max()) if m.longest.size else 0,
            "long_enough": m.long_enough, **m.applies.as_details(), "examples": list(m.examples)}) for m in self.models]
        return Result(layer="copying", data=list(self.inputs), models=models, config=asdict(c), estimates=self.estimates(),
                      comparisons=list(self.comparison), signals=self.signals(), warnings=list(self.warnings))


def copying_of(pset: PredictionSet, index: NgramIndex, train_ids: Sequence[str], config: CopyConfig, progress: Progress | None = None) -> ModelCopying:
    hits = index.query_many([p.output for p in pset.rows], progress=progress)
    copied = np.array([h is not None for h in hits], dtype=np.float64)
    share = np.array([h.covered_ngrams / h.ngram_total if h else 0.0 for h in hits])
    longest = np.array([h.longest_span_words if h else 0 for h in hits], dtype=np.float64)
    long_enough = sum(len(words(p.output)) >= config.n for p in pset.rows)
    result = ModelCopying(pset.name, pset.path, [p.id for p in pset.rows], copied, share, longest,
                          long_enough=long_enough, applies=copying_applies(pset, long_enough, config.n), identity=pset.identity)
    for k in np.argsort(-longest, kind="stable")[: config.examples]:
        hit = hits[int(k)]
        if hit is None:
            break
        result.examples.append({
            "id": pset.rows[int(k)].id,
            "train_id": train_ids[hit.train_index],
            "longest_span_words": hit.longest_span_words,
            "span": hit.span_text,
            "output": pset.rows[int(k)].output[:500],
            "train_text": train_excerpt(index.train_text(hit.train_index), hit.span_text),
        })
    return result


def copying_applies(pset: PredictionSet, long_enough: int, n: int) -> Applies:
    """Copying cannot be measured on outputs shorter than the span, nor on label answers (a
    classifier "copies" its labels from the training set, as it should)."""
    closed = closed_label_set([p.output for p in pset.rows], references_of([p.fields for p in pset.rows]))
    if closed:
        return Applies(False, f"{closed}: repeating a label found in the training set is not copying")
    if long_enough < MIN_SAMPLES:
        return Applies(False, f"only {long_enough} of {len(pset.rows)} outputs have {n}+ words, and a shorter one can never "
                              f"share a {n}-gram: too few to measure copying (for short answers lower --ngram, e.g. 6)")
    return YES


def train_excerpt(text: str, span: str, size: int = TRAIN_EXCERPT) -> str:
    """`size` characters of a (normalised) training text, starting at a word up to ~50
    characters before `span`; "…" marks a cut at either end."""
    at = max(0, text.find(span))
    start = max(0, at - _LEAD)
    if start > 0 and text[start - 1] != " ":  # do not start mid-word
        start = text.find(" ", start) + 1
    end = start + size
    return ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")


def evaluate_copying(
    preds: Sequence[str | PredictionSet],
    train: str | Path | Dataset,
    config: CopyConfig | None = None,
    *,
    fields: FieldMap | None = None,
    progress: Progress | None = None,
) -> CopyingReport:
    """Copy rate of each predictions file against the training set; later files are compared
    with the first (the base model's outputs) on the sample ids they share."""
    config = config or CopyConfig()
    sets = load_prediction_sets(preds)
    require_shared_ids(sets)
    data = train if isinstance(train, Dataset) else load_data(train, fields)
    texts = []
    for s in data:
        text = sample_text(s, config.on)
        if text is None:
            raise ConfigError(f"{data.source} {s.location or s.id}: has no {config.on}; use --on full")
        texts.append(text)
    index = NgramIndex.build(texts, n=config.n, progress=progress)
    ids = [s.id for s in data]
    results = [copying_of(s, index, ids, config, progress) for s in sets]
    warnings = [f"{s.name}: {s.extra_generations} extra generations (sample > 0) were not checked" for s in sets if s.extra_generations]
    comparison = []
    base = results[0]
    for pset, other in zip(sets[1:], results[1:]):
        shared, rows_a, rows_b = align_ids(base.ids, other.ids)  # never empty: require_shared_ids checked
        results_b = compare_metrics(base.metrics(), other.metrics(), rows_a, rows_b, n_resamples=config.n_resamples, seed=config.seed, baseline=base.model, model=other.model)
        warnings += pairing_warnings(sets[0], pset, len(shared), results=results_b)
        comparison += results_b
    for pset in sets:
        short = sum(len(words(p.output)) < config.n for p in pset.rows)
        if short > len(pset.rows) / 2:
            warnings.append(
                f"{pset.name}: {short} of {len(pset.rows)} outputs are shorter than {config.n} words and cannot share a "
                f"{config.n}-gram; for short answers lower --ngram (e.g. 6), knowing shared phrasing then counts too"
            )
    inputs = [s.data_info() for s in sets] + [dataset_info(data, "train")]
    return CopyingReport(results, comparison, config, warnings, inputs)
