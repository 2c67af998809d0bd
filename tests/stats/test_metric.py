"""The shared statistics engine: estimates, paired comparisons, clusters, Holm, verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from tunecheck.core import Comparison, Verdict
from tunecheck.metrics import corpus_stats, score_from_statistics, segment_statistics
from tunecheck.stats import (
    SampleStats,
    adjust_holm,
    clustered_se,
    estimate,
    mean_ci,
    paired,
    resample_counts,
)


def test_mean_estimate_matches_mean_ci():
    x = np.random.default_rng(1).random(80)
    est = estimate(SampleStats.mean("m", x), n_resamples=2000, seed=3)
    value, ci = mean_ci(x, n_resamples=2000, seed=3)
    assert est.value == pytest.approx(value) and est.ci95 == pytest.approx(ci)
    bca = estimate(SampleStats.mean("m", x), n_resamples=2000, seed=3, method="bca")
    assert bca.ci95 == pytest.approx(mean_ci(x, n_resamples=2000, seed=3, method="bca")[1])


def test_paired_bleu_shares_one_resampling_index_and_recomputes_from_counts():
    preds_a = ["the cat sat", "a dog ran far", "hello world", "it is raining today", "fine"]
    preds_b = ["the cat sat down", "the dog ran far", "hello there world", "it rains today", "fine thanks"]
    refs = ["the cat sat down", "the dog ran far away", "hello world", "it is raining today", "fine thanks"]
    a, b = corpus_stats("bleu", preds_a, refs), corpus_stats("bleu", preds_b, refs)
    result = paired(a, b, n_resamples=1000, seed=5)
    # by hand: the same count matrix applied to both models' segment statistics
    sa, sb = segment_statistics("bleu", preds_a, refs), segment_statistics("bleu", preds_b, refs)
    counts = np.concatenate(list(resample_counts(5, 1000, 5)))
    reps = np.array([score_from_statistics("bleu", c @ sb) - score_from_statistics("bleu", c @ sa) for c in counts])
    assert result.ci95 == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])))
    assert result.difference == pytest.approx(score_from_statistics("bleu", sb.sum(0)) - score_from_statistics("bleu", sa.sum(0)))


def test_pairing_beats_an_unpaired_interval_on_correlated_scores():
    rng = np.random.default_rng(0)
    skill = rng.random(300)
    a = np.clip(skill + rng.normal(0, 0.05, 300), 0, 1)
    b = np.clip(skill + 0.03 + rng.normal(0, 0.05, 300), 0, 1)
    res = paired(SampleStats.mean("s", a), SampleStats.mean("s", b), n_resamples=4000)
    assert res.verdict is Verdict.IMPROVED and res.tests["correlation"] > 0.9
    ea, eb = estimate(SampleStats.mean("s", a), n_resamples=4000), estimate(SampleStats.mean("s", b), n_resamples=4000, seed=9)
    unpaired_width = np.hypot(ea.ci95[1] - ea.ci95[0], eb.ci95[1] - eb.ci95[0])
    assert res.ci95[1] - res.ci95[0] < unpaired_width / 3
    assert "wilcoxon_p" in res.tests and res.tests["wins"] > res.tests["losses"]


def test_binary_scores_get_mcnemar_and_noise_is_inconclusive():
    rng = np.random.default_rng(2)
    a = (rng.random(60) < 0.6).astype(float)
    b = a.copy()
    flip = rng.choice(60, 4, replace=False)
    b[flip] = 1 - b[flip]
    res = paired(SampleStats.mean("acc", a), SampleStats.mean("acc", b), n_resamples=4000)
    # the 4 flips turn 2 right answers wrong and 2 wrong answers right: b01 = b10 = 2, so McNemar's
    # exact p is P(|X - 2| >= 0) for X ~ Bin(4, 1/2) = 1, the sign test 2 vs 2 likewise, difference 0
    assert (a[flip].sum(), b[flip].sum()) == (2.0, 2.0)
    assert res.tests["mcnemar_p"] == 1.0 and res.tests["sign_test_p"] == 1.0
    assert (res.tests["wins"], res.tests["losses"], res.tests["ties"]) == (2, 2, 56)
    assert res.difference == 0.0
    # the interval, by hand: the same resampling counts applied to the per-row differences
    counts = np.concatenate(list(resample_counts(60, 4000, 0)))
    assert res.ci95 == pytest.approx(tuple(np.quantile(counts @ (b - a) / 60, [0.025, 0.975])))
    assert res.ci95[0] < 0 < res.ci95[1]
    assert res.verdict is Verdict.INCONCLUSIVE
    # mdd: (z.975 + z.8) * sd(d) / sqrt(n)
    d = b - a
    assert res.mdd == pytest.approx(2.8015852857896965 * d.std(ddof=1) / np.sqrt(60), rel=1e-6)


def test_lower_is_better_flips_the_verdict():
    a = np.linspace(1, 2, 100)
    res = paired(SampleStats.mean("len", a, higher_is_better=False), SampleStats.mean("len", a - 0.5, higher_is_better=False), n_resamples=2000)
    assert res.verdict is Verdict.IMPROVED and res.difference == pytest.approx(-0.5)


def test_clustered_se_by_hand():
    x = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 2.0])
    # singleton clusters: the ordinary standard error
    assert clustered_se(x, np.arange(6)) == pytest.approx(x.std(ddof=1) / np.sqrt(6))
    # clusters {0,1}, {2,3}, {4,5}: residual sums -2, 0, 2 around the mean 3
    expected = np.sqrt(3 / 2 * ((-2) ** 2 + 0**2 + 2**2)) / 6
    assert clustered_se(x, [0, 0, 1, 1, 2, 2]) == pytest.approx(expected)


def test_cluster_bootstrap_widens_when_samples_are_copies():
    rng = np.random.default_rng(4)
    unit = rng.random(40)
    a = np.repeat(unit, 5)  # five near-identical questions per passage
    b = np.repeat(unit + rng.normal(0.02, 0.1, 40), 5)
    clusters = np.repeat(np.arange(40), 5)
    naive = paired(SampleStats.mean("s", a), SampleStats.mean("s", b), n_resamples=4000)
    clustered = paired(SampleStats.mean("s", a), SampleStats.mean("s", b), n_resamples=4000, clusters=clusters)
    assert (clustered.ci95[1] - clustered.ci95[0]) > 1.8 * (naive.ci95[1] - naive.ci95[0])
    assert clustered.se == pytest.approx(clustered_se(b - a, clusters))


def test_holm_downgrades_a_verdict_that_does_not_survive_correction():
    def result(metric, p):
        return Comparison(metric, "base", "tuned", 100, 0.5, 0.6, 0.1, (0.01, 0.19), p, Verdict.IMPROVED, se=0.04, mdd=0.11)

    adjusted = adjust_holm([result("a", 0.001), result("b", 0.02), result("c", 0.04)])
    # Holm by hand: sorted p 0.001, 0.02, 0.04 times 3, 2, 1 -> 0.003, 0.04, 0.04 (monotone)
    assert [r.p_value_holm for r in adjusted] == pytest.approx([0.003, 0.04, 0.04])
    assert [r.verdict for r in adjusted] == [Verdict.IMPROVED] * 3
    adjusted = adjust_holm([result("a", 0.001), result("b", 0.03), result("c", 0.04), result("d", 0.2)])
    assert [r.p_value_holm for r in adjusted] == pytest.approx([0.004, 0.09, 0.09, 0.2])
    assert [r.verdict for r in adjusted] == [Verdict.IMPROVED] + [Verdict.INCONCLUSIVE] * 3


# --- mutation-testing follow-ups (tests/MUTANTS.md) ---
# scipy.stats.bootstrap with rng=default_rng(seed) draws the same resamples as bootstrap_sums
# (one chunk), so these agree with scipy to float precision.


def _ratio(s, n, axis=-1):
    return s.sum(axis=axis) / n.sum(axis=axis)


def _no_per_sample(name, values):
    # a mean metric without per-sample scores (the way BLEU is): the bootstrap's own SE is used
    x = np.asarray(values, dtype=float)
    return SampleStats(name, np.stack([x, np.ones_like(x)], axis=1), lambda s: s[:, 0] / s[:, 1])


def test_paired_bca_equals_scipy_paired_bca():
    from scipy import stats as sps

    rng = np.random.default_rng(5)
    x = rng.exponential(size=15)
    y = x + 0.5 * rng.normal(size=15) + 0.2
    r = paired(SampleStats.mean("m", x), SampleStats.mean("m", y), method="bca", n_resamples=2000, seed=3)
    ref = sps.bootstrap(
        (x, y), lambda a, b, axis=-1: b.mean(axis=axis) - a.mean(axis=axis), paired=True, method="BCa",
        n_resamples=2000, rng=np.random.default_rng(3), vectorized=True,
    )
    np.testing.assert_allclose(r.ci95, (ref.confidence_interval.low, ref.confidence_interval.high), rtol=1e-12)
    assert r.n == 15
    assert r.difference == pytest.approx(y.mean() - x.mean())


@pytest.mark.parametrize("n_resamples", [2, 2000])
def test_bootstrap_se_without_per_sample_scores_is_scipys_standard_error(n_resamples):
    from scipy import stats as sps

    rng = np.random.default_rng(8)
    x, y = rng.random(12), rng.random(12)
    r = paired(_no_per_sample("m", x), _no_per_sample("m", y), n_resamples=n_resamples, seed=2)
    ref = sps.bootstrap(
        (x, y), lambda a, b, axis=-1: b.mean(axis=axis) - a.mean(axis=axis), paired=True,
        method="percentile", n_resamples=n_resamples, rng=np.random.default_rng(2), vectorized=True,
    )
    assert r.se == pytest.approx(ref.standard_error, rel=1e-12)  # sd of the replicates, ddof=1
    assert r.mdd == pytest.approx(2.8015852857896965 * ref.standard_error, rel=1e-12)
    assert r.tests == {}  # no per-sample scores: no Wilcoxon, win/loss or correlation
    # one replicate has no standard deviation
    assert np.isnan(paired(_no_per_sample("m", x), _no_per_sample("m", y), n_resamples=1).se)


def test_cluster_bca_estimate_equals_scipy_on_cluster_sums():
    # leave-one-cluster-out jackknife (SampleStats.jackknife) = scipy's jackknife over clusters
    from scipy import stats as sps

    # 20 clusters: a resample drawing every cluster once (its mean equals the estimate, a tie
    # that float rounding may break either way) has probability 20!/20^20 ~ 2e-8
    clusters = np.repeat(np.arange(20), np.random.default_rng(1).integers(1, 5, size=20))
    x = np.random.default_rng(9).exponential(size=clusters.size) * (1 + clusters % 2)
    c_sum, c_n = np.bincount(clusters, weights=x), np.bincount(clusters).astype(float)
    est = estimate(SampleStats.mean("m", x), method="bca", n_resamples=2000, seed=6, clusters=clusters)
    ref = sps.bootstrap(
        (c_sum, c_n), _ratio, paired=True, method="BCa", n_resamples=2000, rng=np.random.default_rng(6),
        vectorized=True,
    ).confidence_interval
    np.testing.assert_allclose(est.ci95, (ref.low, ref.high), rtol=1e-12)
    # and the percentile estimate resamples clusters too
    pct = estimate(SampleStats.mean("m", x), n_resamples=2000, seed=6, clusters=clusters)
    ref = sps.bootstrap(
        (c_sum, c_n), _ratio, paired=True, method="percentile", n_resamples=2000,
        rng=np.random.default_rng(6), vectorized=True,
    ).confidence_interval
    np.testing.assert_allclose(pct.ci95, (ref.low, ref.high), rtol=1e-12)


def test_paired_per_sample_se_mdd_and_tests_by_hand():
    from scipy import stats as sps

    x = [0.1, 0.5, 0.2, 0.9]
    y = [0.3, 0.4, 0.6, 1.0]
    # d = y - x = (0.2, -0.1, 0.4, 0.1), mean 0.15, squared deviations .0025 + .0625 + .0625 + .0025
    # = 0.13, sd = sqrt(0.13 / 3) = 0.208167, se = sd / sqrt(4) = 0.104083, mdd = 2.80159 * se
    r = paired(SampleStats.mean("m", x), SampleStats.mean("m", y), n_resamples=200)
    assert r.se == pytest.approx(0.1040833, rel=1e-5)
    assert r.mdd == pytest.approx(2.8015853 * 0.1040833, rel=1e-5)
    # b wins rows 0, 2, 3 and loses row 1; not 0/1 scores: Wilcoxon, not McNemar
    assert (r.tests["wins"], r.tests["losses"], r.tests["ties"], r.tests["win_rate"]) == (3, 1, 0, 0.75)
    assert r.tests["wilcoxon_p"] == pytest.approx(sps.wilcoxon([0.2, -0.1, 0.4, 0.1]).pvalue)
    assert "mcnemar_p" not in r.tests
    # lower is better: the same rows are 1 win, 3 losses
    low = paired(SampleStats.mean("m", x, higher_is_better=False), SampleStats.mean("m", y, higher_is_better=False), n_resamples=200)
    assert (low.tests["wins"], low.tests["losses"]) == (1, 3)
    # clusters {0, 1} and {2, 3}: residual sums -0.2 and +0.2, CR1 se = sqrt(2 / 1 * 0.08) / 4 = 0.1
    c = paired(SampleStats.mean("m", x), SampleStats.mean("m", y), n_resamples=200, clusters=np.array([0, 0, 1, 1]))
    assert c.se == pytest.approx(0.1) and c.mdd == pytest.approx(2.8015853 * 0.1, rel=1e-6)
    # two samples are enough: d = (1, 3), sd sqrt(2), se = 1, mdd = 2.80159
    two = paired(SampleStats.mean("m", [0.5, 0.0]), SampleStats.mean("m", [1.5, 3.0]), n_resamples=50)
    assert two.se == pytest.approx(1.0) and two.mdd == pytest.approx(2.8015853, rel=1e-6)
    # one model 0/1 and the other not: no McNemar
    mixed = paired(SampleStats.mean("m", [0.0, 1.0, 1.0, 0.0]), SampleStats.mean("m", y), n_resamples=50)
    assert "wilcoxon_p" in mixed.tests and "mcnemar_p" not in mixed.tests
    # only one side with per-sample scores: no per-sample tests (and no crash)
    assert paired(_no_per_sample("m", x), SampleStats.mean("m", y), n_resamples=50).tests == {}


def test_paired_cluster_bca_equals_scipy_on_both_models_cluster_sums():
    # leave-one-cluster-out for both models (their difference's jackknife), clusters resampled
    from scipy import stats as sps

    clusters = np.repeat(np.arange(20), np.random.default_rng(2).integers(1, 5, size=20))
    rng = np.random.default_rng(4)
    x = rng.exponential(size=clusters.size)
    y = x + rng.exponential(size=clusters.size) * (clusters % 3)
    r = paired(SampleStats.mean("m", x), SampleStats.mean("m", y), method="bca", n_resamples=2000, seed=5, clusters=clusters)
    sa, sb = np.bincount(clusters, weights=x), np.bincount(clusters, weights=y)
    cn = np.bincount(clusters).astype(float)
    ref = sps.bootstrap(
        (sa, sb, cn), lambda a, b, n, axis=-1: (b.sum(axis=axis) - a.sum(axis=axis)) / n.sum(axis=axis),
        paired=True, method="BCa", n_resamples=2000, rng=np.random.default_rng(5), vectorized=True,
    ).confidence_interval
    np.testing.assert_allclose(r.ci95, (ref.low, ref.high), rtol=1e-12)
