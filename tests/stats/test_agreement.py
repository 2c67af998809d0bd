"""Agreement, repeat noise and rubric sensitivity against hand-worked values, Krippendorff's
published example and an independent implementation of alpha written out here."""

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from tunecheck.stats._agreement import (
    agreement,
    choice_agreement,
    judges_agreement,
    krippendorff_alpha,
    noise_vs_difference,
    repeat_noise,
    spearman,
    variant_spread,
    verdict_noise,
    weighted_kappa,
)

NAN = math.nan

# Krippendorff, K. (2011). "Computing Krippendorff's Alpha-Reliability", Annenberg School for
# Communication, section C (4 observers x 12 units, missing values): he gives alpha = 0.743
# (nominal), 0.815 (ordinal), 0.849 (interval), 0.797 (ratio). The krippendorff package's
# docstring reproduces this example with the same values.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_alpha_matches_krippendorffs_published_example(level, published):
    a = krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert a.value == pytest.approx(published, abs=5e-4)
    # units 1-11 have two or more values; unit 12 has a single 3 and is not pairable
    assert (a.raters, a.items, a.reason) == (4, 11, None)


def _alpha_reference(r: np.ndarray, level: str) -> float:
    """Krippendorff's alpha written out from his 2011 paper: coincidences o_ck summed over units
    (each pair of values within a unit weighs 1 / (m_u - 1)), n_c = sum_k o_ck, alpha = 1 -
    (n - 1) * sum o_ck d_ck / sum n_c n_k d_ck."""
    vals = np.unique(r[~np.isnan(r)])
    idx = {v: i for i, v in enumerate(vals)}
    o = np.zeros((vals.size, vals.size))
    for u in r.T:
        u = u[~np.isnan(u)]
        if u.size < 2:
            continue
        for i in range(u.size):
            for j in range(u.size):
                if i != j:
                    o[idx[u[i]], idx[u[j]]] += 1 / (u.size - 1)
    nc = o.sum(axis=1)
    n = nc.sum()
    d = np.zeros_like(o)
    for c in range(vals.size):
        for k in range(vals.size):
            if level == "interval":
                d[c, k] = (vals[c] - vals[k]) ** 2
            elif level == "nominal":
                d[c, k] = float(c != k)
            else:  # ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2
                lo, hi = min(c, k), max(c, k)
                d[c, k] = (nc[lo : hi + 1].sum() - (nc[c] + nc[k]) / 2) ** 2
    return 1 - (n - 1) * (o * d).sum() / (np.outer(nc, nc) * d).sum()


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_against_an_independent_implementation(level):
    rng = np.random.default_rng(7)
    r = rng.integers(1, 6, size=(3, 25)).astype(float)
    r[rng.random(r.shape) < 0.2] = NAN
    assert krippendorff_alpha(r, level).value == pytest.approx(_alpha_reference(r, level), rel=1e-9)


@pytest.mark.parametrize(
    ("ratings", "raters", "items", "fragment"),
    [
        ([[1, 2, 3]], 1, 0, "1 rater: agreement needs at least two"),
        ([[1, NAN, 3], [NAN, 2, NAN]], 2, 0, "no item was rated by two raters"),
        ([[4, 4, NAN], [4, 4, 4]], 2, 2, "every rating of the items rated twice is 4"),
        ([[4, 4, 1], [4, 4, NAN]], 2, 2, "every rating of the items rated twice is 4"),  # the 1 is unpaired
        ([[NAN, NAN], [NAN, NAN]], 0, 0, "0 raters"),
    ],
)
def test_alpha_undefined_is_nan_with_the_reason(ratings, raters, items, fragment):
    a = krippendorff_alpha(ratings)
    assert math.isnan(a.value)
    assert (a.raters, a.items) == (raters, items)
    assert fragment in a.reason


def test_exact_and_within_one_by_hand():
    # |a - b| = 0, 1, 0, 2, 0 (item 6 not rated by b: left out) -> exact 3/5, within one 4/5
    s = agreement([1, 2, 3, 4, 5, 2], [1, 3, 3, 2, 5, NAN])
    assert (s.n, s.exact, s.within_one) == (5, pytest.approx(0.6), pytest.approx(0.8))


# The 3 x 3 table of test_weighted_kappa_by_hand (rows a, columns b; categories 1, 2, 3):
#   a\b  1  2  3 | rows        expected E_ij = r_i c_j / n = 2 c_j / 6 = (1/3, 2/3, 1) on every row
#    1   1  1  0 |  2
#    2   0  1  1 |  2          quadratic w = (i - j)^2: observed sum O w = 1 + 1 = 2;
#    3   0  0  2 |  2          expected sum E w = (2/3 + 4) + (1/3 + 1) + (4/3 + 2/3) = 8
#  cols  1  2  3   n = 6       kappa = 1 - 2 / 8 = 0.75
#  linear w = |i - j|: observed 2; expected (2/3 + 2) + (1/3 + 1) + (2/3 + 2/3) = 16/3 -> 1 - 6/16 = 0.625
A3 = [1, 1, 2, 2, 3, 3]
B3 = [1, 2, 2, 3, 3, 3]


def test_weighted_kappa_by_hand():
    assert weighted_kappa(A3, B3) == pytest.approx(0.75)
    assert weighted_kappa(A3, B3, weights="linear") == pytest.approx(0.625)
    assert agreement(A3, B3).kappa == pytest.approx(0.75)


def test_weighted_kappa_weighs_score_distance_not_rank():
    # the same table with categories 1, 2, 5: weights (value difference)^2 = 1 (1-2), 9 (2-5), 16 (1-5)
    # observed: 1 + 9 = 10; expected (cols again 1/3, 2/3, 1 per row):
    #   row 1: 2/3 * 1 + 1 * 16 = 50/3; row 2: 1/3 * 1 + 1 * 9 = 28/3; row 5: 1/3 * 16 + 2/3 * 9 = 34/3
    #   sum = 112/3 -> kappa = 1 - 10 * 3 / 112 = 0.732142857 (by rank 1, 2, 3 it would be 0.75)
    to = {1: 1, 2: 2, 3: 5}
    a, b = [to[x] for x in A3], [to[x] for x in B3]
    assert weighted_kappa(a, b) == pytest.approx(1 - 30 / 112)
    # given the scale, unseen points change nothing: the spacing is already the values'
    assert weighted_kappa(a, b, labels=[1, 2, 3, 4, 5]) == pytest.approx(1 - 30 / 112)


def test_spearman_against_ranks_by_hand():
    a = [1, 2, 2, 4, 5, 3, 1]
    b = [2, 2, 3, 5, 4, 3, 1]
    # Spearman's rho = Pearson correlation of the (mid-)ranks
    rho = np.corrcoef(rankdata(a), rankdata(b))[0, 1]
    s = agreement(a, b)
    assert s.spearman == pytest.approx(rho)
    assert 0 < s.spearman_p < 0.05
    assert s.reason is None
    assert spearman(a, b) == (pytest.approx(rho), pytest.approx(s.spearman_p))
    assert all(math.isnan(v) for v in spearman([1, 2, 3], [2, 2, 2]))  # constant: undefined, no warning


def test_undefined_kappa_and_rho_are_nan_with_the_reason():
    s = agreement([3, 3, 3, 3], [3, 3, 3, 3])
    assert s.exact == 1.0
    assert math.isnan(s.kappa) and math.isnan(s.spearman)
    assert "kappa is undefined" in s.reason and "Spearman" in s.reason
    none = agreement([1, NAN], [NAN, 2])
    assert none.n == 0 and none.reason == "no item rated by both"
    assert math.isnan(weighted_kappa([2, 2], [2, 2]))


def test_choice_agreement_by_hand():
    # agree on items 0, 2, 3 -> 3/5; marginals A 2, B 2, tie 1 on both sides:
    # p_e = (2*2 + 2*2 + 1*1) / 25 = 9/25; kappa = (3/5 - 9/25) / (1 - 9/25) = 6/16 = 0.375
    c = choice_agreement(["A", "A", "B", "tie", "B", "A"], ["A", "B", "B", "tie", "A", None])
    assert (c.n, c.rate, c.kappa) == (5, pytest.approx(0.6), pytest.approx(0.375))
    same = choice_agreement(["tie", "tie"], ["tie", "tie"])
    assert same.rate == 1.0 and math.isnan(same.kappa) and "kappa is undefined" in same.reason


def test_judges_agreement_by_hand():
    scores = {
        "j1": {"q1": 5, "q2": 3, "q3": 1, "q4": 2},
        "j2": {"q1": 4, "q2": 3, "q3": 5, "q4": NAN},
        "j3": {"q1": 5, "q2": 3, "q3": 2},
    }
    r = judges_agreement(scores, top=2)
    assert r.judges == ("j1", "j2", "j3")
    assert set(r.kappas) == {("j1", "j2"), ("j1", "j3"), ("j2", "j3")}
    # j1 vs j3 share q1, q2, q3 with |d| = 0, 0, 1; j1 vs j2 share q1..q3 with |d| = 1, 0, 4
    assert r.kappas[("j1", "j3")].exact == pytest.approx(2 / 3)
    assert r.kappas[("j1", "j2")].within_one == pytest.approx(2 / 3)
    # means: q1 14/3, q2 3, q3 8/3, q4 2 (only j1)
    assert r.mean_scores == pytest.approx({"q1": 14 / 3, "q2": 3.0, "q3": 8 / 3, "q4": 2.0})
    # largest range: q3 (1, 5, 2: range 4), then q1 (5, 4, 5: range 1); q2 agrees, q4 has one judge
    assert [d.item for d in r.disagreements] == ["q3", "q1"]
    assert r.disagreements[0].scores == {"j1": 1.0, "j2": 5.0, "j3": 2.0}
    assert r.disagreements[0].range == 4.0
    assert r.disagreements[0].sd == pytest.approx(np.std([1, 5, 2], ddof=1))
    m = np.array([[5, 3, 1, 2], [4, 3, 5, NAN], [5, 3, 2, NAN]])
    assert r.alpha.value == pytest.approx(_alpha_reference(m, "ordinal"))


def test_repeat_noise_by_hand():
    # per item SD over its scored repeats (ddof=1): [3,3,3] 0; [2,4] sqrt(2); [5] one repeat: left out;
    # [1,2,3] 1 -> mean (0 + sqrt(2) + 1) / 3; changed: 2 of the 3 items
    r = repeat_noise([[3, 3, 3], [2, 4, NAN], [5, NAN, NAN], [1, 2, 3]])
    assert (r.items, r.repeats) == (3, 3)
    assert r.mean_sd == pytest.approx((math.sqrt(2) + 1) / 3)
    assert r.changed == pytest.approx(2 / 3)
    assert math.isnan(repeat_noise([[1, NAN]]).mean_sd)


def test_verdict_noise_share_of_changed_verdicts():
    # item 0 flips from B to A in repeat 3; item 1 always a tie; item 2 B twice -> 1 of 3 changed
    assert verdict_noise([[1, 1, -1], [0, 0, 0], [1, NAN, 1]]).changed == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"verdicts\[1\]\[0\] = 2"):
        verdict_noise([[1, 1], [2, 0]])


@pytest.mark.parametrize(
    ("per_repeat", "difference", "warn", "flips"),
    [
        ([0.2, 0.3, 0.1], 0.2, False, False),  # SD 0.1 < 0.2
        ([1.0, 2.0, 3.0], 1.0, True, False),  # SD exactly 1.0 >= |1.0|: the boundary warns
        ([1.0, 2.0, 3.0], -1.5, False, False),  # SD 1.0 < |-1.5|
        ([0.3, -0.1, 0.4], 0.2, True, True),  # SD 0.26 >= 0.2, and the sign flips
        ([0.5, -0.01], 0.6, True, True),  # SD 0.36 < 0.6, but one repeat says the other way
        ([0.2, 0.2], 0.2, False, False),  # a noiseless judge never warns
        ([0.0, 0.0], 0.0, False, False),
    ],
)
def test_noise_vs_difference_rule(per_repeat, difference, warn, flips):
    r = noise_vs_difference(per_repeat, difference)
    assert (r.warn, r.sign_changes) == (warn, flips)
    assert r.sd == pytest.approx(np.std(per_repeat, ddof=1))
    assert r.range == pytest.approx(max(per_repeat) - min(per_repeat))
    assert ("as large as the difference" in r.message) == warn
    assert ("changes sign" in r.message) == flips


def test_noise_vs_difference_needs_two_repeats():
    with pytest.raises(ValueError, match="at least two repeats"):
        noise_vs_difference([0.3], 0.3)


def test_variant_spread():
    # 3.0, 3.5, 2.5: range 1.0, SD 0.5 (deviations -0, +0.5, -0.5: sum of squares 0.5 / 2 = 0.25)
    means = {"original": 3.0, "reworded-1": 3.5, "reworded-2": 2.5}
    same = variant_spread(means, dict.fromkeys(means, "improved"))
    assert (same.range, same.sd, same.verdict_changed) == (pytest.approx(1.0), pytest.approx(0.5), False)
    assert "same under every wording" in same.message
    moved = variant_spread(means, {"original": "improved", "reworded-1": "improved", "reworded-2": "inconclusive"})
    assert moved.verdict_changed
    assert "depends on the rubric's wording" in moved.message and "reworded-2: inconclusive" in moved.message
    assert variant_spread({"only": 4.0}).sd == 0.0
    with pytest.raises(ValueError, match="verdicts for"):
        variant_spread(means, {"original": "improved"})


def test_kappa_of_scores_that_are_not_whole_numbers_is_nan_with_the_reason():
    # a probability-weighted (G-Eval) score has no category; exact agreement and rho still apply
    s = agreement([1.0, 2.5, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    assert math.isnan(s.kappa) and "whole-number scores" in s.reason and "2.5" in s.reason
    assert s.exact == pytest.approx(0.5) and s.spearman == pytest.approx(1.0)
