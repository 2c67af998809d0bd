"""AUROC against scikit-learn, including ties and the weighted form behind the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
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
    apart = auroc_test(rng.normal(1.5, 1, 200), rng.normal(size=200), n_resamples=2000)
    assert apart.value.ci95[0] > 0.75 and apart.p_value < 1e-10
    assert auroc_test([1, 2, 3], [0, 1], n_resamples=200, seed=5) == auroc_test([1, 2, 3], [0, 1], n_resamples=200, seed=5)
    with pytest.raises(ValueError, match="two rows per group"):
        auroc_test([1], [0, 1])
