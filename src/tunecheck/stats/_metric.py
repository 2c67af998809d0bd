"""One statistics path for every metric: a metric is per-sample additive statistics plus the
function that turns their sums into the score.

A mean (accuracy, token F1, ROUGE) is the statistics (value, 1) and sum0 / sum1. Corpus BLEU and
chrF are sacrebleu's n-gram counts and sacrebleu's own scoring of them. Macro F1 is per-class
TP/FP/FN counts. Resampling rows of the statistics and re-scoring the sums is then the right
bootstrap for all of them, and stacking two models' columns into one matrix makes every resample
shared: the paired bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tunecheck.core import Comparison, Estimate, Verdict
from tunecheck.stats._bootstrap import (
    N_RESAMPLES,
    bca_ci,
    bootstrap_p_value,
    bootstrap_sums,
    percentile_ci,
    verdict,
)
from tunecheck.stats._paired import (
    clustered_se,
    correlation,
    holm,
    mcnemar_exact,
    minimum_detectable_difference,
    wilcoxon_signed_rank,
    win_loss,
)

Scorer = Callable[[np.ndarray], np.ndarray]
"""(r, k) sums of statistics -> (r,) scores."""

_Z_MDD = 2.8015852857896965  # z_{0.975} + z_{0.80}: two-sided 5% test, 80% power


def _mean_scorer(sums: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(sums[:, 0] / sums[:, 1], dtype=np.float64)


@dataclass(frozen=True)
class SampleStats:
    """A metric over n samples, ready to be estimated and compared."""

    name: str
    columns: np.ndarray
    """(n, k) additive statistics, one row per sample."""
    scorer: Scorer = field(repr=False)
    higher_is_better: bool = True
    per_sample: np.ndarray | None = None
    """Per-sample scores when the metric is their mean: enables Wilcoxon, win/loss, correlation."""
    binary: bool = False
    """Per-sample scores are 0/1 (accuracy-type): enables McNemar's exact test."""

    @classmethod
    def mean(cls, name: str, values: Any, *, higher_is_better: bool = True) -> SampleStats:
        x = np.asarray(values, dtype=np.float64)
        binary = bool(x.size) and bool(np.isin(x, (0.0, 1.0)).all())
        return cls(name, np.stack([x, np.ones_like(x)], axis=1), _mean_scorer, higher_is_better, x, binary)

    @property
    def n(self) -> int:
        return int(self.columns.shape[0])

    def value(self) -> float:
        return float(self.scorer(self.columns.sum(axis=0)[None, :])[0])

    def take(self, rows: np.ndarray) -> SampleStats:
        """The same metric on a subset of samples (e.g. those two models share)."""
        per = self.per_sample[rows] if self.per_sample is not None else None
        return SampleStats(self.name, self.columns[rows], self.scorer, self.higher_is_better, per, self.binary)

    def jackknife(self, clusters: np.ndarray | None) -> np.ndarray:
        """Leave-one-out (or leave-one-cluster-out) scores, for BCa's acceleration."""
        total = self.columns.sum(axis=0)
        if clusters is None:
            return self.scorer(total[None, :] - self.columns)
        _, inv = np.unique(clusters, return_inverse=True)
        group = np.zeros((int(inv.max()) + 1, self.columns.shape[1]))
        np.add.at(group, inv, self.columns)
        return self.scorer(total[None, :] - group)


def _interval(reps: np.ndarray, estimate: float, jack: np.ndarray, method: str) -> tuple[float, float]:
    if method == "percentile":
        return percentile_ci(reps)
    if method == "bca":
        return bca_ci(reps, estimate, jack)
    raise ValueError(f"unknown CI method {method!r}: use percentile or bca")


def estimate(
    metric: SampleStats,
    *,
    method: str = "percentile",
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
    clusters: np.ndarray | None = None,
) -> Estimate:
    """The metric and its 95% bootstrap CI (resampling samples, or clusters of them)."""
    value = metric.value()
    reps = metric.scorer(bootstrap_sums(metric.columns, n_resamples=n_resamples, seed=seed, clusters=clusters))
    jack = metric.jackknife(clusters) if method == "bca" else np.zeros(0)
    return Estimate(value, _interval(reps, value, jack, method))


def paired(
    a: SampleStats,
    b: SampleStats,
    *,
    method: str = "percentile",
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
    clusters: np.ndarray | None = None,
    baseline: str = "",
    model: str = "",
) -> Comparison:
    """Paired bootstrap of b - a: one resampling index shared by both models (their columns sit
    in one matrix), the score recomputed from resampled sums; plus the paired tests that fit.
    `baseline` and `model` name a and b in the comparison."""
    if a.n != b.n:
        raise ValueError(f"paired metrics need the same samples, got {a.n} and {b.n}")
    k = a.columns.shape[1]
    sums = bootstrap_sums(np.hstack([a.columns, b.columns]), n_resamples=n_resamples, seed=seed, clusters=clusters)
    with np.errstate(invalid="ignore"):  # a degenerate resample (no n-grams at all) scores inf on both sides
        reps = b.scorer(sums[:, k:]) - a.scorer(sums[:, :k])
    va, vb = a.value(), b.value()
    diff = vb - va
    jack = (b.jackknife(clusters) - a.jackknife(clusters)) if method == "bca" else np.zeros(0)
    ci = _interval(reps, diff, jack, method)
    finite = reps[np.isfinite(reps)]
    boot_se = float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")
    tests: dict[str, float] = {}
    se, mdd = boot_se, _Z_MDD * boot_se
    if a.per_sample is not None and b.per_sample is not None:
        x, y = a.per_sample, b.per_sample
        if clusters is not None:
            se = clustered_se(y - x, clusters)
            mdd = _Z_MDD * se
        elif a.n > 1:
            se = float(np.std(y - x, ddof=1) / np.sqrt(a.n))
            mdd = minimum_detectable_difference(x, y)
        if a.binary and b.binary:
            tests["mcnemar_p"] = mcnemar_exact(x, y)
        else:
            tests["wilcoxon_p"] = wilcoxon_signed_rank(x, y)
        wl = win_loss(x, y, higher_is_better=a.higher_is_better)
        tests.update(wins=wl.wins, losses=wl.losses, ties=wl.ties, sign_test_p=wl.p_value, win_rate=wl.win_rate)
        tests["correlation"] = correlation(x, y)
    return Comparison(
        metric=a.name,
        baseline=baseline,
        model=model,
        n=a.n,
        baseline_value=va,
        value=vb,
        difference=diff,
        ci95=ci,
        p_value=bootstrap_p_value(reps),
        verdict=verdict(ci, higher_is_better=a.higher_is_better),
        higher_is_better=a.higher_is_better,
        se=se,
        mdd=mdd,
        tests=tests,
    )


def adjust_holm(results: list[Comparison], alpha: float = 0.05) -> list[Comparison]:
    """Holm-adjust the p-values of metrics compared at once; a verdict stays improved/regressed
    only if its adjusted p-value is also below `alpha`."""
    if not results:
        return []
    adjusted = holm([r.p_value for r in results])
    out = []
    for r, p in zip(results, adjusted):
        word = r.verdict if p < alpha else Verdict.INCONCLUSIVE
        out.append(replace(r, verdict=word, p_value_holm=p))
    return out


def compare_metrics(
    a: dict[str, SampleStats],
    b: dict[str, SampleStats],
    rows_a: np.ndarray,
    rows_b: np.ndarray,
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
    baseline: str = "",
    model: str = "",
) -> list[Comparison]:
    """Every metric of `a` (the baseline) against the same metric of `b` on paired rows (see
    `data.align_ids`), Holm-adjusted together: one model against its baseline."""
    return adjust_holm(
        [paired(sa.take(rows_a), b[k].take(rows_b), n_resamples=n_resamples, seed=seed, baseline=baseline, model=model) for k, sa in a.items()]
    )
