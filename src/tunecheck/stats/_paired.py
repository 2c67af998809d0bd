"""Paired tests for two models scored on the same samples (never an unpaired test on shared items).

Each function takes per-sample values in the same sample order for both models. Exact and
rank tests come from scipy; what scipy lacks (Holm, the minimum detectable difference, the
win rate with ties) is written out here with its formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunecheck._lazy import lazy_module

sps = lazy_module("scipy.stats")


def _pair(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired values need equal 1-D shapes, got {x.shape} and {y.shape}")
    if x.size == 0:
        raise ValueError("no paired samples")
    return x, y


def mcnemar_exact(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """McNemar's exact test for 0/1 scores: a two-sided binomial test on the discordant pairs
    (b01 = a wrong & b right, b10 = a right & b wrong) with p = 1/2. 1.0 when none differ."""
    x, y = _pair(a, b)
    if not np.isin(x, (0, 1)).all() or not np.isin(y, (0, 1)).all():
        raise ValueError("McNemar's test needs 0/1 scores")
    b01 = int(np.count_nonzero((x == 0) & (y == 1)))
    b10 = int(np.count_nonzero((x == 1) & (y == 0)))
    if b01 + b10 == 0:
        return 1.0
    return float(sps.binomtest(b01, b01 + b10, 0.5).pvalue)


def wilcoxon_signed_rank(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of b - a (zero differences dropped, as Wilcoxon's
    original test); 1.0 when every pair is tied."""
    x, y = _pair(a, b)
    d = y - x
    if not np.any(d != 0):
        return 1.0
    return float(sps.wilcoxon(d, zero_method="wilcox").pvalue)


@dataclass(frozen=True)
class WinLoss:
    """Per-sample wins of b over a, for judges and A/B tests as much as for scores."""

    wins: int
    losses: int
    ties: int
    p_value: float
    """Two-sided sign test (binomial, p = 1/2) on wins vs losses; ties are reported, not counted."""

    @property
    def n(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def win_rate(self) -> float:
        """(wins + ties / 2) / n: a tie counts as half a win."""
        return (self.wins + 0.5 * self.ties) / self.n if self.n else float("nan")


def sign_test(wins: int, losses: int, ties: int = 0) -> WinLoss:
    if min(wins, losses, ties) < 0:
        raise ValueError("counts must be non-negative")
    p = 1.0 if wins + losses == 0 else float(sps.binomtest(wins, wins + losses, 0.5).pvalue)
    return WinLoss(wins, losses, ties, p)


def win_loss(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, higher_is_better: bool = True) -> WinLoss:
    x, y = _pair(a, b)
    better = y > x if higher_is_better else y < x
    worse = y < x if higher_is_better else y > x
    return sign_test(int(better.sum()), int(worse.sum()), int((x == y).sum()))


def paired_permutation(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, n_resamples: int = 10_000, seed: int | None = 0
) -> float:
    """Approximate randomisation: flip the sign of each paired difference at random and count how
    often |mean| is at least the observed one; (count + 1) / (n_resamples + 1)."""
    x, y = _pair(a, b)
    d = y - x
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    chunk = max(1, 4_000_000 // d.size)
    while done < n_resamples:
        c = min(chunk, n_resamples - done)
        signs = rng.integers(0, 2, size=(c, d.size)) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ d) / d.size >= observed - 1e-12))
        done += c
    return (hits + 1) / (n_resamples + 1)


def correlation(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Pearson correlation of the two models' per-sample scores: the higher it is, the more a
    paired test gains over an unpaired one (var(b - a) = var a + var b - 2 cov). NaN if constant."""
    x, y = _pair(a, b)
    if x.size < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return [float(v) for v in adjusted]


def minimum_detectable_difference(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest true mean difference a two-sided paired test at level `alpha` detects with
    probability `power` at this n: (z_{1-alpha/2} + z_{power}) * sd(b - a) / sqrt(n)."""
    x, y = _pair(a, b)
    if x.size < 2:
        return float("inf")
    sd = float(np.std(y - x, ddof=1))
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    return float(z * sd / math.sqrt(x.size))


def clustered_se(values: Sequence[float] | np.ndarray, clusters: Sequence[object] | np.ndarray) -> float:
    """Cluster-robust standard error of a mean (the CR1 sandwich estimator): residuals are summed
    within each cluster before squaring, so correlated samples of one unit count once.
    SE = sqrt(G / (G - 1) * sum_g (sum_{i in g} (x_i - mean))^2) / n. With every sample its own
    cluster this is the usual sd / sqrt(n)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return float("nan")
    _, inv = np.unique(np.asarray(clusters), return_inverse=True)
    g = int(inv.max()) + 1
    if g < 2:
        return float("nan")
    sums = np.bincount(inv, weights=x - x.mean(), minlength=g)
    return float(math.sqrt(g / (g - 1) * float(np.sum(sums**2))) / x.size)
