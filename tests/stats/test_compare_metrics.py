"""compare_metrics pairs the rows `align_ids` gives, not rows in file order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunecheck.core import Verdict
from tunecheck.data import align_ids
from tunecheck.stats import SampleStats, compare_metrics

IDS_A = ["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"]
IDS_B = ["q5", "q2", "q7", "q0", "q3", "q6", "q1", "q4"]  # the same ids, shuffled
SCORE = dict(zip(IDS_A, [0.0, 0.125, 0.5, 0.875, 0.25, 0.75, 0.375, 0.625]))
RIGHT = dict(zip(IDS_A, [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]))


def _results():
    # Model b scores every question exactly 0.25 higher than a, and gets the same questions right;
    # its rows are in its own (shuffled) order.
    a = {"score": SampleStats.mean("score", [SCORE[i] for i in IDS_A]), "acc": SampleStats.mean("acc", [RIGHT[i] for i in IDS_A])}
    b = {
        "score": SampleStats.mean("score", [SCORE[i] + 0.25 for i in IDS_B]),
        "acc": SampleStats.mean("acc", [RIGHT[i] for i in IDS_B]),
    }
    shared, rows_a, rows_b = align_ids(IDS_A, IDS_B)
    assert shared == IDS_A and list(rows_b) != list(range(8))
    return {r.metric: r for r in compare_metrics(a, b, rows_a, rows_b, n_resamples=500, seed=1)}


def test_paired_by_id_every_row_differs_by_the_same_amount():
    score = _results()["score"]
    # Paired by id, every difference is +0.25, so every resample's mean difference is 0.25: the CI
    # collapses to a point, b wins all 8 rows, the two models' scores correlate perfectly.
    # Paired by row position (identity order) the differences would range from -0.625 to +1.0.
    assert score.difference == pytest.approx(0.25)
    assert score.ci95 == pytest.approx((0.25, 0.25), abs=1e-12)
    assert score.se == pytest.approx(0.0, abs=1e-12)
    assert (score.tests["wins"], score.tests["losses"], score.tests["ties"]) == (8, 0, 0)
    assert score.tests["correlation"] == pytest.approx(1.0)
    assert score.verdict is Verdict.IMPROVED


def test_paired_by_id_identical_answers_tie_everywhere():
    acc = _results()["acc"]
    # The same questions right: no discordant pair, so McNemar's p is 1 and every row ties.
    # Paired by position, 6 of the 8 rows would be discordant.
    assert acc.difference == 0.0
    assert acc.ci95 == (0.0, 0.0)
    assert acc.tests["mcnemar_p"] == 1.0
    assert (acc.tests["wins"], acc.tests["losses"], acc.tests["ties"]) == (0, 0, 8)
    assert acc.verdict is Verdict.INCONCLUSIVE


# --- mutation-testing follow-ups (tests/MUTANTS.md) ---


def test_holm_p_of_exactly_alpha_is_not_significant():
    # b beats a on every row, so no resample has a difference <= 0: with 39 resamples the
    # bootstrap p-value is 2 * (0 + 1) / (39 + 1) = 0.05 exactly. The CI is above zero, but
    # p = alpha is not p < alpha, so Holm (one metric: adjusted p = p) keeps it inconclusive.
    a = {"s": SampleStats.mean("s", [0.0, 0.1, 0.2, 0.3])}
    b = {"s": SampleStats.mean("s", [1.0, 1.1, 1.2, 1.3])}
    rows = np.arange(4)
    (r,) = compare_metrics(a, b, rows, rows, n_resamples=39, seed=0)
    assert r.p_value == pytest.approx(0.05) and r.p_value_holm == pytest.approx(0.05)
    assert r.ci95[0] > 0
    assert r.verdict is Verdict.INCONCLUSIVE
    assert (r.metric, r.n) == ("s", 4)
    assert r.difference == pytest.approx(1.0)
    # every difference is exactly 1: sd 0, so se and mdd are 0
    assert r.se == pytest.approx(0.0, abs=1e-12) and r.mdd == pytest.approx(0.0, abs=1e-12)
    assert r.tests["wins"] == 4


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=1, max_size=30),
    st.booleans(),
)
def test_a_model_compared_with_itself_is_inconclusive_with_difference_zero(values, higher_is_better):
    a = {"m": SampleStats.mean("m", values, higher_is_better=higher_is_better)}
    rows = np.arange(len(values))
    (r,) = compare_metrics(a, a, rows, rows, n_resamples=200, seed=0)
    assert r.difference == 0.0
    assert r.ci95 == (0.0, 0.0)
    assert r.p_value == 1.0
    assert r.verdict is Verdict.INCONCLUSIVE
    assert r.tests["losses"] == r.tests["wins"] == 0
