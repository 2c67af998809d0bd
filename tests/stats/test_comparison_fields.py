"""What `paired`, `compare_metrics` and `estimate` put in their results beyond the numbers: the
names, both values, the direction, and the defaults a caller relies on (mutation-testing cases,
tests/MUTANTS.md)."""

from __future__ import annotations

import numpy as np
import pytest

from tunecheck.stats import SampleStats, compare_metrics, estimate, paired

A = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]  # mean 0.7
B = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # mean 0.9


def test_a_comparison_names_both_sides_and_keeps_both_values_and_the_direction():
    c = paired(SampleStats.mean("acc", A), SampleStats.mean("acc", B), n_resamples=1000, seed=3, baseline="base", model="tuned")
    assert (c.metric, c.baseline, c.model, c.n) == ("acc", "base", "tuned", 10)
    assert (c.baseline_value, c.value) == (pytest.approx(0.7), pytest.approx(0.9)) and c.difference == pytest.approx(0.2)
    assert c.higher_is_better is True
    low = paired(SampleStats.mean("rate", A, higher_is_better=False), SampleStats.mean("rate", B, higher_is_better=False), n_resamples=1000)
    assert low.higher_is_better is False
    # unnamed sides stay unnamed (a Result fills them in), and the default seed is 0
    assert (low.baseline, low.model) == ("", "")
    # continuous scores, so that another seed gives another CI (0/1 scores of 10 samples often do not)
    rng = np.random.default_rng(0)
    a, b = SampleStats.mean("score", rng.normal(0, 1, 30)), SampleStats.mean("score", rng.normal(0.2, 1, 30))
    assert paired(a, b, n_resamples=1000).ci95 == paired(a, b, n_resamples=1000, seed=0).ci95
    assert paired(a, b, n_resamples=1000).ci95 != paired(a, b, n_resamples=1000, seed=1).ci95
    assert estimate(a, n_resamples=1000).ci95 == estimate(a, n_resamples=1000, seed=0).ci95
    assert estimate(a, n_resamples=1000).ci95 != estimate(a, n_resamples=1000, seed=1).ci95


def test_compare_metrics_hands_its_seed_and_names_to_every_comparison():
    a = {"acc": SampleStats.mean("acc", A), "score": SampleStats.mean("score", np.linspace(0, 1, 10))}
    b = {"acc": SampleStats.mean("acc", B), "score": SampleStats.mean("score", np.linspace(0, 1, 10) ** 2)}
    rows = np.arange(10)
    got = compare_metrics(a, b, rows, rows, n_resamples=1000, seed=7, baseline="base", model="tuned")
    for c in got:
        want = paired(a[c.metric], b[c.metric], n_resamples=1000, seed=7, baseline="base", model="tuned")
        assert (c.baseline, c.model, c.ci95, c.p_value) == ("base", "tuned", want.ci95, want.p_value)
    unnamed = compare_metrics(a, b, rows, rows, n_resamples=1000)
    assert {(c.baseline, c.model) for c in unnamed} == {("", "")}
    assert [c.ci95 for c in unnamed] == [c.ci95 for c in compare_metrics(a, b, rows, rows, n_resamples=1000, seed=0)]
    assert [c.ci95 for c in unnamed] != [c.ci95 for c in compare_metrics(a, b, rows, rows, n_resamples=1000, seed=1)]


def test_a_corpus_metric_without_per_sample_scores_is_taken_to_the_shared_rows():
    # a ratio of sums (like BLEU's statistics): no per-sample scores to take along
    def ratio(sums: np.ndarray) -> np.ndarray:
        return np.asarray(sums[:, 0] / sums[:, 1])

    cols = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 5.0], [0.0, 1.0]])
    m = SampleStats("ratio", cols, ratio)
    taken = m.take(np.array([2, 0]))
    assert taken.per_sample is None and taken.columns.tolist() == [[5.0, 5.0], [1.0, 2.0]]
    assert taken.value() == pytest.approx(6 / 7)
