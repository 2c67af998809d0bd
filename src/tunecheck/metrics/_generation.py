"""Generation metrics: ROUGE from rouge-score, BLEU and chrF from sacrebleu, not re-implemented.

ROUGE is a per-sample F-measure (averaged over samples). BLEU and chrF are corpus-level: they
are computed from summed per-segment sufficient statistics, so their bootstrap resamples
segments and recomputes the score from the resampled sums, as sacrebleu's own paired bootstrap
does (it uses the same two sacrebleu methods) -- never an average of sentence scores.
BLEU and chrF keep sacrebleu's 0-100 scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tunecheck.stats import N_RESAMPLES, SampleStats, bootstrap_sums, percentile_ci

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
CORPUS_METRICS = ("bleu", "chrf")


def rouge(predictions: Sequence[str], references: Sequence[str], *, use_stemmer: bool = False) -> dict[str, list[float]]:
    """Per-sample ROUGE-1/2/L F-measure (rouge-score's RougeScorer)."""
    from rouge_score import rouge_scorer

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    out: dict[str, list[float]] = {k: [] for k in ROUGE_TYPES}
    for pred, ref in zip(predictions, references):
        scores = scorer.score(ref, pred)  # rouge-score takes (target, prediction)
        for k in ROUGE_TYPES:
            out[k].append(float(scores[k].fmeasure))
    return out


def _metric(name: str) -> Any:
    from sacrebleu.metrics.bleu import BLEU
    from sacrebleu.metrics.chrf import CHRF

    if name == "bleu":
        return BLEU()
    if name == "chrf":
        return CHRF()
    raise ValueError(f"unknown corpus metric {name!r}: use one of {', '.join(CORPUS_METRICS)}")


def segment_statistics(name: str, predictions: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """(segments x statistics) matrix of sacrebleu's additive sufficient statistics."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    metric = _metric(name)
    stats = metric._extract_corpus_statistics(list(predictions), [list(references)])
    return np.asarray(stats, dtype=np.float64)


def score_from_statistics(name: str, sums: np.ndarray, metric: Any | None = None) -> float:
    metric = metric or _metric(name)
    values = [round(float(x)) for x in sums]  # every BLEU and chrF statistic is a count
    return float(metric._compute_score_from_stats(values).score)


def corpus_score(name: str, predictions: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu's corpus BLEU or chrF (0-100)."""
    return score_from_statistics(name, segment_statistics(name, predictions, references).sum(axis=0))


def corpus_score_ci(
    name: str,
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
) -> tuple[float, tuple[float, float]]:
    """Corpus score and its 95% bootstrap CI over segments (statistics resampled, then scored)."""
    stats = segment_statistics(name, predictions, references)
    metric = _metric(name)
    reps = bootstrap_sums(stats, n_resamples=n_resamples, seed=seed)
    values = np.array([score_from_statistics(name, row, metric) for row in reps])
    return score_from_statistics(name, stats.sum(axis=0), metric), percentile_ci(values)


def corpus_stats(name: str, predictions: Sequence[str], references: Sequence[str]) -> SampleStats:
    """BLEU or chrF as per-segment statistics for the shared statistics engine (CIs, paired
    bootstrap): resampled segments' counts are summed and scored by sacrebleu."""
    stats = segment_statistics(name, predictions, references)
    metric = _metric(name)

    def scorer(sums: np.ndarray) -> np.ndarray:
        return np.array([score_from_statistics(name, row, metric) for row in np.atleast_2d(sums)])

    return SampleStats(name, stats, scorer)
