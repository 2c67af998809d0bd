"""Paired tests against hand-worked values and scipy's reference implementations."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from tunecheck.stats import (
    bootstrap_sums,
    correlation,
    holm,
    mcnemar_exact,
    mean_ci,
    minimum_detectable_difference,
    paired_permutation,
    sign_test,
    wilcoxon_signed_rank,
    win_loss,
)


def test_mcnemar_exact_by_hand():
    # a right / b wrong on 1 item, a wrong / b right on 6: discordant n = 7, b01 = 6.
    # two-sided exact binomial: 2 * P(X <= 1 | 7, 1/2) = 2 * (1 + 7) / 128 = 0.125
    a = [1, 0, 0, 0, 0, 0, 0, 1, 1, 0]
    b = [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    assert mcnemar_exact(a, b) == pytest.approx(0.125)
    assert mcnemar_exact([1, 0], [1, 0]) == 1.0  # no discordant pairs
    with pytest.raises(ValueError):
        mcnemar_exact([0.5], [1])


def test_sign_test_and_win_rate():
    # 8 wins, 2 losses: 2 * P(X <= 2 | 10, 1/2) = 2 * (1 + 10 + 45) / 1024 = 0.109375
    r = sign_test(8, 2, ties=4)
    assert r.p_value == pytest.approx(0.109375)
    assert r.win_rate == pytest.approx((8 + 2) / 14)  # ties count half
    assert sign_test(0, 0, 3).p_value == 1.0
    # lower-is-better scores (e.g. loss): b lower than a is a win
    w = win_loss([3.0, 2.0, 1.0], [2.0, 2.0, 1.5], higher_is_better=False)
    assert (w.wins, w.losses, w.ties) == (1, 1, 1)


def test_wilcoxon_matches_scipy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=40)
    b = a + rng.normal(0.3, 1.0, size=40)
    assert wilcoxon_signed_rank(a, b) == pytest.approx(sps.wilcoxon(b - a).pvalue)
    assert wilcoxon_signed_rank([1, 2], [1, 2]) == 1.0


def test_permutation_test_agrees_with_exact_enumeration():
    # 6 pairs: enumerate all 2^6 sign flips for the exact p-value and compare
    d = np.array([0.5, 1.2, -0.3, 0.8, 0.9, 0.1])
    flips = np.array([[1 if (m >> i) & 1 else -1 for i in range(6)] for m in range(64)])
    exact = np.mean(np.abs(flips @ d) >= abs(d.sum()) - 1e-12)
    got = paired_permutation(np.zeros(6), d, n_resamples=20_000, seed=0)
    assert got == pytest.approx(exact, abs=0.01)


def test_holm_by_hand():
    # sorted p: 0.01, 0.02, 0.04 with m = 3 -> 0.03, 0.04, max(0.04, 0.04) = 0.04; input order kept
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_minimum_detectable_difference():
    # sd of differences 1 (by construction), n = 100: (1.95996 + 0.84162) / 10 = 0.28016
    d = np.array([1.0, -1.0] * 50)
    d = d / d.std(ddof=1)
    assert minimum_detectable_difference(np.zeros(100), d) == pytest.approx(0.28016, abs=1e-4)


def test_correlation():
    a = np.arange(10.0)
    assert correlation(a, 2 * a + 1) == pytest.approx(1.0)
    assert math.isnan(correlation(a, np.ones(10)))


def test_bca_matches_scipy():
    # skewed data, where BCa and percentile differ: the intervals must agree with scipy's BCa
    # to Monte Carlo error (different random draws)
    x = np.random.default_rng(3).exponential(size=80)
    est, (lo, hi) = mean_ci(x, method="bca", n_resamples=20_000, seed=1)
    ref = sps.bootstrap((x,), np.mean, method="BCa", n_resamples=20_000, random_state=1).confidence_interval
    assert est == pytest.approx(x.mean())
    assert lo == pytest.approx(ref.low, abs=0.02)
    assert hi == pytest.approx(ref.high, abs=0.02)
    _, (plo, phi) = mean_ci(x, method="percentile", n_resamples=20_000, seed=1)
    assert (lo, hi) != (plo, phi)


def test_cluster_bootstrap_is_wider_for_correlated_samples():
    # 20 passages x 5 questions with a shared passage effect: resampling questions as if
    # independent understates the uncertainty; resampling passages does not
    rng = np.random.default_rng(0)
    effect = np.repeat(rng.normal(size=20), 5)
    x = effect + 0.1 * rng.normal(size=100)
    clusters = np.repeat(np.arange(20), 5)
    _, (lo, hi) = mean_ci(x, n_resamples=5000)
    _, (clo, chi) = mean_ci(x, n_resamples=5000, clusters=clusters)
    assert (chi - clo) > 1.8 * (hi - lo)
    # every resample draws 20 whole clusters: 100 rows
    sums = bootstrap_sums(np.ones(100), n_resamples=50, clusters=clusters)
    assert (sums == 100).all()


# --- mutation-testing follow-ups (tests/MUTANTS.md) ---


def test_permutation_p_is_one_for_identical_models_exactly():
    from tunecheck.stats import paired_permutation

    # every sign flip of all-zero differences reaches |mean| = 0: (10 + 1) / (10 + 1)
    assert paired_permutation([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], n_resamples=10) == 1.0
    # 400,000 pairs -> 4e6 // 4e5 = 10 flips a chunk: 25 = 10 + 10 + 5, never more
    zeros = np.zeros(400_000)
    assert paired_permutation(zeros, zeros, n_resamples=25) == 1.0


def test_two_sample_edges():
    # n = 2 is enough for an sd: d = (1, 3), sd = sqrt(2), mdd = (1.95996 + 0.84162) * sqrt(2) / sqrt(2)
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    assert minimum_detectable_difference([0.0, 0.0], [1.0, 3.0]) == pytest.approx(z)
    assert math.isinf(minimum_detectable_difference([0.0], [1.0]))
    # two points are perfectly (anti-)correlated; x = (-1, 1) has std exactly 1
    assert correlation([-1.0, 1.0], [5.0, 0.0]) == pytest.approx(-1.0)
    assert math.isnan(correlation([1.0, 1.0, 1.0], [0.0, 1.0, 2.0]))
    assert math.isnan(correlation([0.0], [1.0]))


def test_holm_caps_at_one_and_pair_checks():
    assert holm([0.6, 0.7]) == [1.0, 1.0]  # 2 * 0.6 = 1.2 -> 1
    assert sign_test(3, 1).ties == 0
    for bad in [(-1, 2, 0), (2, -1, 0), (1, 1, -1)]:
        with pytest.raises(ValueError):
            sign_test(*bad)
    assert win_loss([0.0], [1.0]).wins == 1  # higher is better by default
    wl = win_loss([0.0, 0.0], [1.0, 1.0], higher_is_better=False)
    assert (wl.wins, wl.losses) == (0, 2)
    assert win_loss([1.0], [2.0]).n == 1
    for a, b in [([1.0, 2.0], [1.0]), ([[1.0]], [[1.0]]), ([], [])]:
        with pytest.raises(ValueError):
            win_loss(a, b)


def test_clustered_se_edges():
    from tunecheck.stats import clustered_se

    # two samples in two clusters: residuals -1, +1; sqrt(2 / 1 * (1 + 1)) / 2 = 1 (= sd / sqrt(n))
    assert clustered_se([1.0, 3.0], ["a", "b"]) == pytest.approx(1.0)
    assert math.isnan(clustered_se([1.0, 3.0], ["a", "a"]))  # one cluster: no spread between clusters
    assert math.isnan(clustered_se([1.0], ["a"]))
