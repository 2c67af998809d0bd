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
