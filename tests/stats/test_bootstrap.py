import numpy as np
import pytest

from tunecheck.core import Verdict
from tunecheck.stats import (
    bootstrap_p_value,
    bootstrap_sums,
    percentile_ci,
    resample_counts,
    verdict,
)


def test_counts_are_resamples_with_replacement():
    chunks = list(resample_counts(7, 2500, seed=3))
    counts = np.concatenate(chunks)
    assert counts.shape == (2500, 7)
    assert (counts.sum(axis=1) == 7).all()
    # each row is drawn with probability 1/7 per draw: mean count 1
    assert counts.mean() == pytest.approx(1.0)


def test_sums_match_an_explicit_loop():
    # the same seed gives the same index draws as rng.integers, so a plain loop must agree
    data = np.arange(12, dtype=float).reshape(6, 2)
    got = bootstrap_sums(data, n_resamples=50, seed=11)
    rng = np.random.default_rng(11)
    idx = rng.integers(0, 6, size=(50, 6))
    np.testing.assert_allclose(got, np.stack([data[i].sum(axis=0) for i in idx]))


def test_seeded_and_reproducible():
    data = np.random.default_rng(0).normal(size=(100, 1))
    assert np.array_equal(bootstrap_sums(data, n_resamples=300, seed=1), bootstrap_sums(data, n_resamples=300, seed=1))
    assert not np.array_equal(bootstrap_sums(data, n_resamples=300, seed=1), bootstrap_sums(data, n_resamples=300, seed=2))


def test_mean_ci_matches_normal_theory():
    # mean of 400 N(0,1) draws: SE = 1/20, so the 95% CI half-width is about 1.96/20 = 0.098
    x = np.random.default_rng(5).normal(size=400)
    reps = bootstrap_sums(x[:, None], n_resamples=10_000, seed=0)[:, 0] / 400
    lo, hi = percentile_ci(reps)
    assert (hi - lo) / 2 == pytest.approx(1.96 * x.std() / 20, rel=0.08)


def test_p_value_and_verdict():
    assert bootstrap_p_value(np.full(999, 1.0)) == pytest.approx(2 / 1000)
    assert bootstrap_p_value(np.r_[np.full(500, -1.0), np.full(500, 1.0)]) == 1.0
    assert verdict((0.1, 0.3), higher_is_better=True) is Verdict.IMPROVED
    assert verdict((0.1, 0.3), higher_is_better=False) is Verdict.REGRESSED
    assert verdict((-0.3, -0.1), higher_is_better=False) is Verdict.IMPROVED
    assert verdict((-0.1, 0.3), higher_is_better=True) is Verdict.INCONCLUSIVE
    assert verdict((0.0, 0.3), higher_is_better=True) is Verdict.INCONCLUSIVE  # touching zero is not enough
    assert verdict((float("nan"), 1.0), higher_is_better=True) is Verdict.INCONCLUSIVE


def test_empty_sample():
    with pytest.raises(ValueError):
        bootstrap_sums(np.zeros((0, 2)))


# --- mutation-testing follow-ups (tests/MUTANTS.md): exact agreement with scipy, boundaries ---
# scipy.stats.bootstrap draws its resamples as rng.integers(0, n, (n_resamples, n)), the same
# draws as resample_counts (one chunk), so with the same Generator seed the intervals agree to
# float precision, not just to Monte Carlo error: a wrong jackknife, acceleration or z0 shows.


def _scipy_ci(data, statistic, method, n_resamples, seed, level, paired=False):
    from scipy import stats as sps

    res = sps.bootstrap(
        data, statistic, method=method, n_resamples=n_resamples, rng=np.random.default_rng(seed),
        vectorized=True, paired=paired, confidence_level=level,
    )
    return res.confidence_interval.low, res.confidence_interval.high


@pytest.mark.parametrize("level", [0.95, 0.9])
@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_mean_ci_equals_scipy_bootstrap_on_the_same_draws(method, level):
    from tunecheck.stats import mean_ci

    x = np.random.default_rng(5).exponential(size=15)  # skewed: BCa's z0 and acceleration matter
    est, ci = mean_ci(x, method=method, n_resamples=2000, seed=3, level=level)
    ref = _scipy_ci((x,), np.mean, {"bca": "BCa"}.get(method, method), 2000, 3, level)
    assert est == pytest.approx(x.mean())
    np.testing.assert_allclose(ci, ref, rtol=1e-12)


def test_cluster_bca_equals_scipy_on_per_cluster_sums():
    # the cluster bootstrap of a mean is the ordinary bootstrap of clusters with the statistic
    # sum(cluster sums) / sum(cluster sizes); leave-one-cluster-out is scipy's jackknife of it
    from tunecheck.stats import mean_ci

    rng = np.random.default_rng(7)
    # 20 clusters: a resample drawing every cluster once ties the estimate (20!/20^20 ~ 2e-8)
    clusters = np.repeat(np.arange(20), rng.integers(1, 5, size=20))
    x = rng.exponential(size=clusters.size) + clusters % 3
    c_sum = np.bincount(clusters, weights=x)
    c_n = np.bincount(clusters).astype(float)
    _, ci = mean_ci(x, method="bca", n_resamples=2000, seed=4, clusters=clusters)
    ref = _scipy_ci(
        (c_sum, c_n), lambda s, n, axis=-1: s.sum(axis=axis) / n.sum(axis=axis), "BCa", 2000, 4, 0.95,
        paired=True,
    )
    np.testing.assert_allclose(ci, ref, rtol=1e-12)


def test_one_value_and_no_values():
    from tunecheck.stats import bca_ci, mean_ci

    # one sample: every resample is that sample, the interval is the point (no 0/0 jackknife)
    assert mean_ci([2.0], method="bca", n_resamples=20) == (2.0, (2.0, 2.0))
    # a single replicate is an interval, no replicate is none
    assert bca_ci(np.array([1.0]), 1.0, np.array([1.0])) == (1.0, 1.0)
    assert percentile_ci(np.array([3.0])) == (3.0, 3.0)
    assert all(np.isnan(bca_ci(np.array([np.nan]), 1.0, np.array([1.0]))))
    assert all(np.isnan(percentile_ci(np.array([np.nan]))))
    assert bootstrap_p_value(np.array([0.5])) == 1.0  # below (0+1)/2, above (1+1)/2: min(1, 2 * 1/2)
    assert np.isnan(bootstrap_p_value(np.array([np.nan])))


def test_bootstrap_p_value_counts_zero_on_both_sides():
    # 9 replicates 0..8: at or below zero 1 (the 0) -> (1 + 1) / 10 = 0.2; p = 2 * 0.2 = 0.4
    assert bootstrap_p_value(np.arange(9.0)) == pytest.approx(0.4)
    assert bootstrap_p_value(-np.arange(9.0)) == pytest.approx(0.4)
    # 9 replicates 1..9: none at or below zero -> 1 / 10, p = 0.2
    assert bootstrap_p_value(np.arange(1.0, 10.0)) == pytest.approx(0.2)


def test_verdict_boundaries():
    assert verdict((-1.0, 0.0), higher_is_better=True) is Verdict.INCONCLUSIVE  # hi = 0 is not < 0
    assert verdict((0.0, 1.0), higher_is_better=True) is Verdict.INCONCLUSIVE
    assert verdict((-2.0, -1.0), higher_is_better=True) is Verdict.REGRESSED
    assert verdict((-2.0, -1.0), higher_is_better=False) is Verdict.IMPROVED
    assert verdict((float("nan"), -1.0), higher_is_better=True) is Verdict.INCONCLUSIVE
    assert verdict((1.0, float("nan")), higher_is_better=True) is Verdict.INCONCLUSIVE


def test_many_chunks_give_exactly_n_resamples():
    # 200,000 rows -> 4e6 // 2e5 = 20 resamples a chunk: 50 resamples are 20 + 20 + 10
    sums = bootstrap_sums(np.ones(200_000), n_resamples=50, seed=0)
    assert sums.shape == (50, 1)
    assert (sums == 200_000).all()


def test_bca_degenerate_and_symmetric_cases_are_percentile_intervals():
    from tunecheck.stats import bca_ci

    # every replicate above (share 0) or below (share 1) the estimate: BCa is undefined, the
    # percentile interval is used; at level 0.5 the quantiles .25 / .75 of (2, 3, 4) are 2.5, 3.5
    reps = np.array([2.0, 3.0, 4.0])
    assert bca_ci(reps, 1.0, np.array([1.0, 2.0, 3.0]), level=0.5) == (2.5, 3.5)
    assert bca_ci(-reps, 1.0, np.array([1.0, 2.0, 3.0]), level=0.5) == (-3.5, -2.5)
    # replicates symmetric about the estimate (share (50 + 0.5) / 101 = 1/2, z0 = 0) and a
    # constant jackknife (no skew, acceleration 0): BCa is exactly the percentile interval
    sym = np.arange(-50.0, 51.0)
    np.testing.assert_allclose(bca_ci(sym, 0.0, np.ones(5)), percentile_ci(sym), rtol=1e-12)
