"""Pairwise-judging statistics against hand-worked values, scipy's sign test and scikit-learn's
unpenalised logistic regression (an independent fit of the same design)."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression

from tunecheck.core import Verdict
from tunecheck.stats import (
    bradley_terry,
    combine_orders,
    length_controlled_win_rate,
    resample_counts,
    win_rate,
)


def test_combine_orders_by_hand():
    # pair: first, swapped -> combined, consistent
    # 0: +1, +1 -> +1 yes     1: +1, -1 -> 0 no     2: -1, -1 -> -1 yes
    # 3:  0,  0 ->  0 yes     4: +1,  0 -> 0 no     5: -1, +1 -> 0 no (the first-shown won twice)
    r = combine_orders([1, 1, -1, 0, 1, -1], [1, -1, -1, 0, 0, 1])
    assert r.outcomes == (1, 0, -1, 0, 0, 0)
    assert r.consistent == (True, False, True, True, False, False)
    assert r.position_consistency == pytest.approx(3 / 6)
    # first shown = A in `first` (wins when < 0): pairs 2, 5; = B in `swapped` (> 0): pairs 0, 5.
    # decisive verdicts: 5 in first (all but pair 3) + 4 in swapped (0, 1, 2, 5) = 9 -> 4 / 9
    assert r.first_position_win_rate == pytest.approx(4 / 9)
    assert r.weights == (1.0,) * 6


def test_a_judge_that_always_picks_the_first_answer():
    # A shown first wins (-1), then B shown first wins (+1): every pair flips, all ties
    r = combine_orders([-1] * 4, [1] * 4)
    assert r.outcomes == (0, 0, 0, 0)
    assert r.position_consistency == 0.0
    assert r.first_position_win_rate == 1.0
    # a judge that always picks the second answer: first won 0 of 8 decisive verdicts
    assert combine_orders([1] * 4, [-1] * 4).first_position_win_rate == 0.0
    assert math.isnan(combine_orders([0, 0], [0, 0]).first_position_win_rate)  # nothing decisive


def test_five_way_scale_weights():
    # (B>>A, B>>A) -> +1 weight (3 + 3) / 2 = 3; (B>A, B>>A) -> +1 weight (1 + 3) / 2 = 2;
    # (A>>B, B>A) -> disagree in sign: 0, weight (3 + 1) / 2 = 2
    r = combine_orders([2, 1, -2], [2, 2, 1], five_way=True)
    assert r.outcomes == (1, 1, 0)
    assert r.weights == (3.0, 2.0, 2.0)
    assert r.consistent == (True, True, False)
    with pytest.raises(ValueError, match=r"first\[0\]"):
        combine_orders([2], [1])  # 2 is not on the 3-way scale
    with pytest.raises(ValueError):
        combine_orders([1, 1], [1])


def test_win_rate_by_hand():
    # 6 wins, 2 ties, 2 losses: (6 + 2 / 2) / 10 = 0.7
    # sign test: 2 * P(X <= 2 | 8, 1/2) = 2 * (1 + 8 + 28) / 256 = 0.2890625
    r = win_rate([1] * 6 + [0] * 2 + [-1] * 2, n_resamples=2000)
    assert (r.wins, r.ties, r.losses) == (6, 2, 2)
    assert r.win_rate.value == pytest.approx(0.7)
    assert r.p_value == pytest.approx(0.2890625)
    assert r.verdict is Verdict.INCONCLUSIVE
    assert r.win_rate.n == 10


def test_win_rate_ci_matches_the_normal_approximation():
    # 550 wins, 100 ties, 350 losses: y = 1, 1/2, 0; mean 0.6; E[y^2] = (550 + 25) / 1000 = 0.575
    # var = 0.575 - 0.36 = 0.215; se = sqrt(0.215 / 1000) = 0.014663; CI 0.6 +- 0.028739
    o = [1] * 550 + [0] * 100 + [-1] * 350
    r = win_rate(o, n_resamples=10_000, seed=3)
    assert r.win_rate.ci95 == pytest.approx((0.5713, 0.6287), abs=0.003)
    assert r.p_value == pytest.approx(binomtest(550, 900, 0.5).pvalue)
    assert r.verdict is Verdict.IMPROVED
    assert win_rate([-x for x in o], n_resamples=2000).verdict is Verdict.REGRESSED


def test_win_rate_verdict_needs_both_the_ci_and_the_sign_test():
    # 5 wins, no loss: every resample scores 1.0 (CI [1, 1] excludes 0.5), but the exact sign test
    # gives 2 * (1/2)^5 = 0.0625 >= 0.05 -> inconclusive
    r = win_rate([1] * 5, n_resamples=2000)
    assert r.win_rate.ci95 == (1.0, 1.0)
    assert r.p_value == pytest.approx(0.0625)
    assert r.verdict is Verdict.INCONCLUSIVE
    # 6 wins: p = 2 / 64 = 0.03125 and CI [1, 1] -> improved
    assert win_rate([1] * 6, n_resamples=2000).verdict is Verdict.IMPROVED
    # weighted: 20 wins (weight 1) vs 8 strong losses (weight 3): the sign test on counts says B
    # (p = 2 P(X <= 8 | 28) = 0.0357), the weighted win rate 20 / (20 + 24) = 0.4545 does not
    r = win_rate([1] * 20 + [-1] * 8, weights=[1.0] * 20 + [3.0] * 8, n_resamples=2000)
    assert r.p_value == pytest.approx(0.035698, abs=1e-5)
    assert r.win_rate.value == pytest.approx(20 / 44)
    assert r.verdict is Verdict.INCONCLUSIVE
    # the same with losses weighing 2.2: the point 20 / (20 + 17.6) = 0.5319 is above 0.5 and
    # p < 0.05, but 28 pairs leave 0.5 inside the CI -> inconclusive
    r = win_rate([1] * 20 + [-1] * 8, weights=[1.0] * 20 + [2.2] * 8, n_resamples=2000)
    assert r.win_rate.value == pytest.approx(20 / 37.6)
    assert r.win_rate.ci95[0] < 0.5 < r.win_rate.ci95[1]
    assert r.verdict is Verdict.INCONCLUSIVE


def test_weighted_win_rate_by_hand():
    # outcomes +1, +1, -1, 0 with weights 1, 1, 3, 2: (1 + 1 + 0 + 2 * 0.5) / 7 = 3 / 7
    r = win_rate([1, 1, -1, 0], weights=[1, 1, 3, 2], n_resamples=500)
    assert r.win_rate.value == pytest.approx(3 / 7)
    with pytest.raises(ValueError):
        win_rate([1, 2])
    with pytest.raises(ValueError):
        win_rate([1, -1], weights=[1, 0])


def _verbose_judge(n, seed, *, slope=2.5, quality=0.0):
    """A judge whose preference depends only on length (and a true quality log-odds)."""
    rng = np.random.default_rng(seed)
    len_a = rng.integers(50, 400, n).astype(float)
    len_b = len_a + rng.normal(120, 150, n)  # the tuned model writes longer answers
    d = len_b - len_a
    p = 1 / (1 + np.exp(-(quality + slope * np.tanh(d / np.std(d, ddof=1)))))
    u = rng.random(n)
    outcome = np.where(u < p - 0.05, 1, np.where(u < p + 0.05, 0, -1))  # ~10% ties around p
    return outcome, len_a, len_b


def _sklearn_fit(outcome, len_a, len_b, weights=None):
    """The same design fitted by scikit-learn, unpenalised (C=inf: sklearn 1.8 deprecates
    penalty=None), ties duplicated into a win and a loss of weight 1/2."""
    d = np.asarray(len_b) - np.asarray(len_a)
    x = np.tanh(d / np.std(d, ddof=1))[:, None]
    w = np.ones(len(outcome)) if weights is None else np.asarray(weights, dtype=float)
    tie = np.asarray(outcome) == 0
    xs = np.concatenate([x[~tie], x[tie], x[tie]])
    ys = np.concatenate([(np.asarray(outcome)[~tie] > 0).astype(int), np.ones(tie.sum(), int), np.zeros(tie.sum(), int)])
    ws = np.concatenate([w[~tie], w[tie] / 2, w[tie] / 2])
    keep = ws > 0
    m = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(xs[keep], ys[keep], sample_weight=ws[keep])
    return float(m.intercept_[0]), float(m.coef_[0, 0])


def test_length_controlled_matches_sklearn(monkeypatch):
    monkeypatch.setattr("tunecheck.stats._preference._FIT_CHUNK", 30)  # 100 resamples in 4 chunks
    outcome, len_a, len_b = _verbose_judge(200, seed=1, quality=0.4)
    r = length_controlled_win_rate(outcome, len_a, len_b, n_resamples=100, seed=5)
    b0, b1 = _sklearn_fit(outcome, len_a, len_b)
    assert r.intercept == pytest.approx(b0, abs=1e-5)
    assert r.length_slope == pytest.approx(b1, abs=1e-5)
    assert r.win_rate.value == pytest.approx(1 / (1 + math.exp(-b0)), abs=1e-6)
    # the bootstrap: the same resamples (resample_counts, same seed) fitted by sklearn with the
    # counts as sample weights give the same percentile interval
    reps = []
    for counts in resample_counts(len(outcome), 100, 5):
        for c in counts:
            reps.append(1 / (1 + math.exp(-_sklearn_fit(outcome, len_a, len_b, weights=c)[0])))
    assert r.win_rate.ci95 == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])), abs=1e-4)
    assert r.mean_length_a == pytest.approx(float(np.mean(len_a)))


def test_a_judge_that_prefers_length_has_a_length_controlled_rate_near_half():
    # true quality 0: at equal length the judge is a coin; longer B answers inflate the raw rate
    outcome, len_a, len_b = _verbose_judge(2000, seed=7)
    r = length_controlled_win_rate(outcome, len_a, len_b, n_resamples=1000, seed=0)
    assert r.raw_win_rate > 0.7
    assert win_rate(outcome, n_resamples=1000).verdict is Verdict.IMPROVED
    assert r.win_rate.value == pytest.approx(0.5, abs=0.05)
    lo, hi = r.win_rate.ci95
    assert lo < 0.5 < hi
    assert r.length_slope > 1.5


def test_length_controlled_without_length_differences_is_the_raw_rate():
    # every length difference is 0: no slope can be fitted; the intercept-only logistic MLE is
    # logit of the mean: (3 + 0.5) / 5 = 0.7
    r = length_controlled_win_rate([1, 1, 1, 0, -1], [10] * 5, [10] * 5, n_resamples=500)
    assert r.win_rate.value == pytest.approx(0.7, abs=1e-6)
    assert r.length_slope == 0.0
    with pytest.raises(ValueError):
        length_controlled_win_rate([1, -1], [1, 2], [3])


def test_length_controlled_when_b_always_wins():
    # separation: the MLE intercept is +inf; the rate tends to the raw 1.0, without overflow
    r = length_controlled_win_rate([1] * 8, [10, 20, 30, 40, 50, 60, 70, 80], [15] * 8, n_resamples=300)
    assert r.win_rate.value > 0.99
    assert r.win_rate.ci95[0] > 0.99


def test_bradley_terry_three_models_by_hand():
    # strengths pi = 1, 2, 4 (A, B, C). Each pair's observed share equals its BT probability:
    # A-B: B wins 2 of 3 (2/3 = 2/(1+2)); B-C: C wins 2 of 3 (4/6); A-C: C wins 4 of 5 (4/5).
    # So every pair's likelihood is at its maximum: the MLE is log pi centred,
    # log(1, 2, 4) - log 2 = (-ln 2, 0, ln 2).
    pairs = [("A", "B", 1)] * 2 + [("A", "B", -1)]
    pairs += [("B", "C", 1)] * 2 + [("B", "C", -1)]
    pairs += [("A", "C", 1)] * 4 + [("A", "C", -1)]
    r = bradley_terry(pairs, n_resamples=500)
    assert [e.model for e in r.scores] == ["C", "B", "A"]
    assert r.score("A").value == pytest.approx(-math.log(2), abs=1e-4)
    assert r.score("B").value == pytest.approx(0.0, abs=1e-4)
    assert r.score("C").value == pytest.approx(math.log(2), abs=1e-4)
    assert r.n_pairs == 11
    # ties as half: A-B as one B win and two ties (one listed as B-A) gives B 1 + 1/2 + 1/2 = 2 of
    # 3, the same MLE
    tied = [("A", "B", 1), ("A", "B", 0), ("B", "A", 0), *pairs[3:]]
    assert bradley_terry(tied, n_resamples=200).score("C").value == pytest.approx(math.log(2), abs=1e-4)


def test_bradley_terry_two_models_is_the_log_odds_of_the_win_rate():
    # B wins 3 of 4: s_B - s_A = ln 3, centred: +-ln(3) / 2
    r = bradley_terry([("base", "tuned", 1)] * 3 + [("base", "tuned", -1)], n_resamples=200)
    assert r.score("tuned").value == pytest.approx(math.log(3) / 2, abs=1e-4)
    assert r.score("base").value == pytest.approx(-math.log(3) / 2, abs=1e-4)
    with pytest.raises(ValueError):
        bradley_terry([("a", "a", 1)])
    with pytest.raises(ValueError):
        bradley_terry([("a", "b", 3)])
    with pytest.raises(ValueError, match=r"\[\['a', 'b'\], \['c', 'd'\]\]"):
        bradley_terry([("a", "b", 1), ("c", "d", -1)])


def _simulated_pairs():
    true = {"m0": -1.0, "m1": -0.3, "m2": 0.0, "m3": 0.4, "m4": 0.9}  # already centred (sum 0)
    names = list(true)
    rng = np.random.default_rng(11)
    pairs = []
    for _ in range(4000):
        a, b = rng.choice(5, size=2, replace=False)
        p = 1 / (1 + math.exp(-(true[names[b]] - true[names[a]])))
        pairs.append((names[a], names[b], 1 if rng.random() < p else -1))
    return true, pairs


def test_bradley_terry_recovers_simulated_strengths():
    true, pairs = _simulated_pairs()
    r = bradley_terry(pairs, n_resamples=500, seed=2)
    assert [e.model for e in r.scores] == ["m4", "m3", "m2", "m1", "m0"]
    for e in r.scores:
        lo, hi = e.ci95
        se = (hi - lo) / 3.92
        assert 0.02 < se < 0.1
        assert abs(e.value - true[e.model]) < 3 * se, e


def test_bradley_terry_fits_repeated_battles_once_with_the_same_result(monkeypatch):
    # 4000 battles are 40 distinct (a, b, outcome) rows: the bootstrap fits those with summed
    # counts; fitting every row (ratio 10**9 turns the collapse off) must give the same intervals
    _, pairs = _simulated_pairs()
    pairs = [*pairs, ("m0", "m1", 0)]  # and a tie
    collapsed = bradley_terry(pairs, n_resamples=300, seed=4)
    monkeypatch.setattr("tunecheck.stats._preference._COLLAPSE_RATIO", 10**9)
    full = bradley_terry(pairs, n_resamples=300, seed=4)
    for a, b in zip(collapsed.scores, full.scores):
        assert a.model == b.model
        assert a.ci95 == pytest.approx(b.ci95, abs=1e-7)


def test_length_controlled_bradley_terry():
    # three equally good models; "verbose" writes ~150 characters more and the judge prefers the
    # longer answer (slope 2 on tanh(d / sd)): plain BT ranks it first, the controlled fit does not
    rng = np.random.default_rng(21)
    names, extra = ["plain", "short", "verbose"], {"plain": 0.0, "short": -40.0, "verbose": 150.0}
    pairs, len_a, len_b = [], [], []
    for _ in range(1500):
        i, j = rng.choice(3, size=2, replace=False)
        a, b = names[i], names[j]
        la, lb = rng.normal(200 + extra[a], 60), rng.normal(200 + extra[b], 60)
        pairs.append((a, b, 0))
        len_a.append(la)
        len_b.append(lb)
    d = np.array(len_b) - np.array(len_a)
    feat = np.tanh(d / np.std(d, ddof=1))
    y = rng.random(len(pairs)) < 1 / (1 + np.exp(-2.0 * feat))
    pairs = [(a, b, 1 if win else -1) for (a, b, _), win in zip(pairs, y)]
    raw = bradley_terry(pairs, n_resamples=200)
    assert raw.scores[0].model == "verbose" and raw.scores[0].value > 0.3
    assert raw.length_slope is None
    lc = bradley_terry(pairs, len_a=len_a, len_b=len_b, n_resamples=200)
    for e in lc.scores:
        assert e.ci95[0] < 0.0 < e.ci95[1], e
    # the same design fitted by scikit-learn, unpenalised, no intercept: columns "short",
    # "verbose" (the first model, "plain", is the reference at 0) and the length feature
    index = {"plain": 0, "short": 1, "verbose": 2}
    x = np.zeros((len(pairs), 3))
    for row, (a, b, _) in enumerate(pairs):
        x[row, index[b]] += 1
        x[row, index[a]] -= 1
    design = np.column_stack([x[:, 1:], feat])
    m = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(design, y.astype(int))
    s_short, s_verbose, slope = m.coef_[0]
    mean = (0.0 + s_short + s_verbose) / 3
    assert lc.length_slope == pytest.approx(slope, abs=1e-4)
    assert lc.score("plain").value == pytest.approx(-mean, abs=1e-4)
    assert lc.score("verbose").value == pytest.approx(s_verbose - mean, abs=1e-4)
    with pytest.raises(ValueError):
        bradley_terry(pairs, len_a=len_a, n_resamples=10)
