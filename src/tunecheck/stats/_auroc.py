"""AUROC of a score that should separate two groups, with a bootstrap CI.

Membership-inference signals (does the tuned model single out its training examples?) are
read as an AUROC: 0.5 means the score cannot tell training rows from held-out ones, 1.0 means
it always can. The AUROC is the Mann-Whitney probability P(score of a positive > score of a
negative), ties counting one half (Hanley & McNeil 1982), which is what scikit-learn's
`roc_auc_score` computes; the weighted form below lets one sorted pass serve every bootstrap
resample at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tunecheck.core import Estimate
from tunecheck.stats._bootstrap import N_RESAMPLES, percentile_ci, resample_counts


@dataclass(frozen=True)
class AurocResult:
    """How well a score separates positives (e.g. training rows) from negatives (held-out)."""

    value: Estimate
    """AUROC with a stratified bootstrap 95% CI (each group resampled on its own)."""
    p_value: float
    """Two-sided Mann-Whitney U test of AUROC = 0.5."""
    n_positive: int
    n_negative: int


def _weighted_auroc(pos: np.ndarray, neg: np.ndarray, w_pos: np.ndarray, w_neg: np.ndarray) -> np.ndarray:
    """AUROC for each row of weights: (r, n_pos) and (r, n_neg) -> (r,).

    For each positive, the weight of negatives strictly below it plus half the tied weight,
    read off cumulative sums over the sorted negatives."""
    order = np.argsort(neg, kind="stable")
    sorted_neg = neg[order]
    below = np.searchsorted(sorted_neg, pos, side="left")  # negatives < each positive
    upto = np.searchsorted(sorted_neg, pos, side="right")  # negatives <= each positive
    cum = np.concatenate([np.zeros((w_neg.shape[0], 1)), np.cumsum(w_neg[:, order], axis=1)], axis=1)
    credit = cum[:, below] + 0.5 * (cum[:, upto] - cum[:, below])
    total = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((w_pos * credit).sum(axis=1) / total, dtype=np.float64)


def auroc(positive: Any, negative: Any) -> float:
    """P(positive score > negative score) + 0.5 P(tie); nan if a group is empty."""
    pos, neg = np.asarray(positive, dtype=np.float64), np.asarray(negative, dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    return float(_weighted_auroc(pos, neg, np.ones((1, pos.size)), np.ones((1, neg.size)))[0])


def auroc_test(
    positive: Any, negative: Any, *, n_resamples: int = N_RESAMPLES, seed: int | None = 0
) -> AurocResult:
    """AUROC, its stratified bootstrap CI and the Mann-Whitney p-value against 0.5."""
    from scipy.stats import mannwhitneyu

    pos, neg = np.asarray(positive, dtype=np.float64), np.asarray(negative, dtype=np.float64)
    if pos.size < 2 or neg.size < 2:
        raise ValueError(f"AUROC needs at least two rows per group, got {pos.size} and {neg.size}")
    value = auroc(pos, neg)
    chunk = max(1, 2_000_000 // max(pos.size, neg.size))
    seeds = iter(np.random.SeedSequence(seed).generate_state(2 * (n_resamples // chunk + 1)))
    reps, done = [], 0
    while done < n_resamples:
        c = min(chunk, n_resamples - done)
        w_pos = np.concatenate(list(resample_counts(pos.size, c, int(next(seeds)))))
        w_neg = np.concatenate(list(resample_counts(neg.size, c, int(next(seeds)))))
        reps.append(_weighted_auroc(pos, neg, w_pos, w_neg))
        done += c
    p = float(mannwhitneyu(pos, neg, alternative="two-sided").pvalue)
    return AurocResult(Estimate(value, percentile_ci(np.concatenate(reps))), p, int(pos.size), int(neg.size))

