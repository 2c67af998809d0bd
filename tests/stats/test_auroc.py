"""AUROC against scikit-learn, including ties and the weighted form behind the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu
from sklearn.metrics import roc_auc_score

from tunecheck.stats import auroc, auroc_test
from tunecheck.stats._auroc import _weighted_auroc


def test_auroc_by_hand_and_against_sklearn():
    # positives 3, 2; negatives 1, 2: pairs (3>1) (3>2) (2>1) (2=2 -> 1/2) => 3.5 / 4
    assert auroc([3, 2], [1, 2]) == 0.875
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(0.4, 1, 90).round(1), rng.normal(0, 1, 70).round(1)  # rounding makes ties
    expected = roc_auc_score(np.r_[np.ones(90), np.zeros(70)], np.r_[pos, neg])
    assert auroc(pos, neg) == pytest.approx(expected, abs=1e-12)


def test_weighted_auroc_equals_auroc_of_the_repeated_rows():
    rng = np.random.default_rng(1)
    pos, neg = rng.normal(0.5, 1, 20).round(1), rng.normal(0, 1, 15).round(1)
    w_pos, w_neg = rng.integers(0, 3, 20).astype(float), rng.integers(0, 3, 15).astype(float)
    got = _weighted_auroc(pos, neg, w_pos[None, :], w_neg[None, :])[0]
    assert got == pytest.approx(auroc(np.repeat(pos, w_pos.astype(int)), np.repeat(neg, w_neg.astype(int))), abs=1e-12)


def test_auroc_test_interval_and_p_value():
    rng = np.random.default_rng(2)
    same = auroc_test(rng.normal(size=200), rng.normal(size=200), n_resamples=2000)
    assert same.value.ci95[0] < 0.5 < same.value.ci95[1] and same.p_value > 0.01
    x, y = np.random.default_rng(7).normal(size=30), np.random.default_rng(8).normal(size=25)
    res = auroc_test(x, y, n_resamples=500)
    assert res.value.value == pytest.approx(roc_auc_score(np.r_[np.ones(30), np.zeros(25)], np.r_[x, y]), abs=1e-12)
    assert res.p_value == pytest.approx(mannwhitneyu(x, y, alternative="two-sided").pvalue)
    # perfectly separated groups: every stratified resample (each group resampled on its own, so
    # never empty) still separates them, so the interval is the single point 1 (or 0 reversed)
    assert auroc_test([5, 6, 7], [1, 2], n_resamples=300).value.ci95 == (1.0, 1.0)
    assert auroc_test([1, 2], [5, 6, 7], n_resamples=300).value.ci95 == (0.0, 0.0)
    apart = auroc_test(rng.normal(1.5, 1, 200), rng.normal(size=200), n_resamples=2000)
    assert apart.value.ci95[0] > 0.75 and apart.p_value < 1e-10
    assert auroc_test([1, 2, 3], [0, 1], n_resamples=200, seed=5) == auroc_test([1, 2, 3], [0, 1], n_resamples=200, seed=5)
    with pytest.raises(ValueError, match="two rows per group"):
        auroc_test([1], [0, 1])


def test_auroc_edges_and_group_sizes():
    # one positive, one negative is enough; an empty group has no AUROC
    assert auroc([1.0], [0.0]) == 1.0
    assert np.isnan(auroc([], [1.0])) and np.isnan(auroc([1.0], []))
    r = auroc_test([0.9, 0.8, 0.7], [0.1, 0.2], n_resamples=50)
    assert (r.n_positive, r.n_negative) == (3, 2)
