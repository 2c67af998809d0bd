"""People's ratings into the human layer's Result: means and paired comparisons, A/B win rates
with the majority rule, agreement (alpha against the krippendorff package, Cohen's kappa against
scikit-learn, Fleiss' against statsmodels), each annotator's bias, the warnings, the export the
judge's --human reads back, and the tables."""

from __future__ import annotations

import io
import json
import math

import krippendorff
import numpy as np
import pytest
from rich.console import Console
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from tests.schema import assert_valid_result
from tunecheck.core import Result, Verdict
from tunecheck.errors import ConfigError, DataError
from tunecheck.human._results import (
    majority,
    merge_ratings,
    ratings_sha256,
    summarise,
    write_ratings,
)
from tunecheck.judge._human import HumanChoice, HumanRatings, HumanScore, load_human
from tunecheck.stats import SampleStats, adjust_holm, estimate, paired, win_rate

N = 2_000  # resamples: enough for stable CIs, quick on 2 cores


def _scores(rows: list[tuple[str, str, str, str, float]], scales: dict[str, tuple[int, int]] | None = None) -> HumanRatings:
    """(id, model, criterion, annotator, score) rows."""
    return HumanRatings("people.csv", "scores", scores=tuple(HumanScore(i, m, c, a, float(s), f"row {k + 2}") for k, (i, m, c, a, s) in enumerate(rows)), scales=scales)


def _choices(rows: list[tuple[str, str, str, str, str | None]]) -> HumanRatings:
    """(id, model_a, model_b, annotator, winner) rows."""
    return HumanRatings("ab.csv", "choices", choices=tuple(HumanChoice(i, a, b, who, w, f"row {k + 2}") for k, (i, a, b, who, w) in enumerate(rows)))


# Two annotators, two criteria. helpfulness per sample (mean over annotators):
#   base:  q1 (2+4)/2 = 3, q2 (3+3)/2 = 3, q3 1 (x only)        -> mean 7/3
#   tuned: q1 (4+5)/2 = 4.5, q2 (5+4)/2 = 4.5, q3 3 (x only)    -> mean 4
# clarity: base q1..q3 = 2, 3, 2 (x only: 2 on q3); tuned 3, 3, 2
TWO = [
    ("q1", "base", "helpfulness", "x", 2), ("q1", "base", "helpfulness", "y", 4),
    ("q2", "base", "helpfulness", "x", 3), ("q2", "base", "helpfulness", "y", 3),
    ("q3", "base", "helpfulness", "x", 1),
    ("q1", "tuned", "helpfulness", "x", 4), ("q1", "tuned", "helpfulness", "y", 5),
    ("q2", "tuned", "helpfulness", "x", 5), ("q2", "tuned", "helpfulness", "y", 4),
    ("q3", "tuned", "helpfulness", "x", 3),
    ("q1", "base", "clarity", "x", 2), ("q1", "base", "clarity", "y", 2),
    ("q2", "base", "clarity", "x", 3), ("q2", "base", "clarity", "y", 3),
    ("q3", "base", "clarity", "x", 2),
    ("q1", "tuned", "clarity", "x", 3), ("q1", "tuned", "clarity", "y", 3),
    ("q2", "tuned", "clarity", "x", 3), ("q2", "tuned", "clarity", "y", 3),
    ("q3", "tuned", "clarity", "x", 2),
]


def test_means_are_over_samples_of_the_annotators_mean() -> None:
    r = summarise(_scores(TWO), n_resamples=N)
    base, tuned = r.estimate("helpfulness", "base"), r.estimate("helpfulness", "tuned")
    assert base is not None and tuned is not None
    assert base.value == pytest.approx(7 / 3) and base.n == 3
    assert tuned.value == pytest.approx(4.0) and tuned.n == 3
    # the unit of resampling is the sample: the CI is the bootstrap of the three sample means,
    # not of the five ratings (which would give other resamples)
    ref = estimate(SampleStats.mean("helpfulness", [3.0, 3.0, 1.0]), n_resamples=N, seed=0)
    assert base.ci95 == pytest.approx(ref.ci95)
    assert r.value("clarity", "base") == pytest.approx(7 / 3)
    assert [m.name for m in r.models] == ["base", "tuned"]
    assert r.model("base").details["n"] == 3  # type: ignore[union-attr]


def test_comparison_is_the_engines_paired_one_holm_adjusted_over_criteria() -> None:
    r = summarise(_scores(TWO), n_resamples=N)
    got = {c.metric: c for c in r.comparisons}
    assert set(got) == {"helpfulness", "clarity"}
    refs = adjust_holm([
        paired(SampleStats.mean("helpfulness", [3, 3, 1]), SampleStats.mean("helpfulness", [4.5, 4.5, 3]), n_resamples=N, seed=0, baseline="base", model="tuned"),
        paired(SampleStats.mean("clarity", [2, 3, 2]), SampleStats.mean("clarity", [3, 3, 2]), n_resamples=N, seed=0, baseline="base", model="tuned"),
    ])
    for ref in refs:
        c = got[ref.metric]
        assert (c.baseline, c.model, c.n) == ("base", "tuned", 3)
        assert c.difference == pytest.approx(ref.difference)
        assert c.ci95 == pytest.approx(ref.ci95)
        assert c.p_value == pytest.approx(ref.p_value)
        assert c.p_value_holm == pytest.approx(ref.p_value_holm)
        assert c.tests["wilcoxon_p"] == pytest.approx(ref.tests["wilcoxon_p"])
        # a verdict needs the exact Wilcoxon test to agree (judge._grade): at n = 3 it cannot
        assert ref.tests["wilcoxon_p"] >= 0.05 and c.verdict is Verdict.INCONCLUSIVE
    # helpfulness: every sample better by 1.5, 1.5, 2 -> +5/3; clarity: +1, 0, 0 -> +1/3
    assert got["helpfulness"].difference == pytest.approx(5 / 3)
    assert got["clarity"].difference == pytest.approx(1 / 3)
    assert (got["helpfulness"].tests["wins"], got["helpfulness"].tests["losses"]) == (3, 0)
    # Holm over two: the smaller p doubled, the larger at least that
    ps = sorted([got["helpfulness"].p_value, got["clarity"].p_value])
    holm = sorted(c.p_value_holm for c in got.values())  # type: ignore[type-var]
    assert holm == pytest.approx([min(1, 2 * ps[0]), max(min(1, 2 * ps[0]), ps[1])])
    # every resample of +1.5/+1.5/+2 is positive: the CI excludes 0, and the bootstrap alone would
    # say improved; Wilcoxon's exact p for 3 positive differences is 2/8 = 0.25, so inconclusive
    assert got["helpfulness"].ci95[0] > 0
    assert got["helpfulness"].verdict is Verdict.INCONCLUSIVE and "Wilcoxon" in got["helpfulness"].extra["note"]


def test_baseline_default_is_first_model_seen_and_can_be_chosen() -> None:
    flipped = [row for row in TWO if row[1] == "tuned"] + [row for row in TWO if row[1] == "base"]
    r = summarise(_scores(flipped), n_resamples=200)
    assert r.details["baseline"] == "tuned" and {c.baseline for c in r.comparisons} == {"tuned"}
    r = summarise(_scores(flipped), baseline="base", n_resamples=200)
    assert r.details["baseline"] == "base" and {(c.baseline, c.model) for c in r.comparisons} == {("base", "tuned")}
    with pytest.raises(ConfigError, match=r"--baseline 'bse': no rating names that model .*base, tuned|tuned, base"):
        summarise(_scores(TWO), baseline="bse")


def test_too_few_shared_samples_is_a_warning_not_a_comparison() -> None:
    rows = [("q1", "base", "h", "x", 3), ("q2", "base", "h", "x", 4), ("q1", "tuned", "h", "x", 5), ("q9", "tuned", "h", "x", 2)]
    r = summarise(_scores(rows), n_resamples=200)
    assert r.comparisons == []
    assert any("tuned vs base on h: 1 sample scored for both" in w for w in r.warnings)


# -- agreement -----------------------------------------------------------------------------------
def test_alpha_is_the_krippendorff_packages_on_the_same_matrix() -> None:
    r = summarise(_scores(TWO), n_resamples=200)
    # helpfulness: annotators x units (q1,base) (q2,base) (q3,base) (q1,tuned) (q2,tuned) (q3,tuned)
    m = np.array([[2, 3, 1, 4, 5, 3], [4, 3, np.nan, 5, 4, np.nan]], dtype=float)
    want = krippendorff.alpha(reliability_data=m, level_of_measurement="ordinal")
    assert r.details["krippendorff_alpha"]["helpfulness"] == pytest.approx(want, abs=1e-12)
    info = r.details["agreement"]["helpfulness"]["alpha"]
    assert (info["level"], info["raters"], info["items"]) == ("ordinal", 2, 4)
    m = np.array([[2, 3, 2, 3, 3, 2], [2, 3, np.nan, 3, 3, np.nan]], dtype=float)
    assert r.details["krippendorff_alpha"]["clarity"] == pytest.approx(krippendorff.alpha(reliability_data=m, level_of_measurement="ordinal"))


def test_two_annotators_cohen_quadratic_kappa_on_the_scale_matches_sklearn() -> None:
    r = summarise(_scores(TWO, scales={"helpfulness": (1, 5), "clarity": (1, 5)}), n_resamples=200)
    k = r.details["agreement"]["helpfulness"]["kappa"]
    # units both rated: (q1,base) 2/4, (q2,base) 3/3, (q1,tuned) 4/5, (q2,tuned) 5/4
    want = cohen_kappa_score([2, 3, 4, 5], [4, 3, 5, 4], weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert k["method"] == "cohen_quadratic" and k["n"] == 4
    assert k["value"] == pytest.approx(want)
    assert k["exact"] == pytest.approx(1 / 4)


THREE = [  # three annotators on one criterion; u4 is rated by two only (Fleiss leaves it out)
    ("u1", "m", "c", "x", 1), ("u1", "m", "c", "y", 2), ("u1", "m", "c", "z", 6),
    ("u2", "m", "c", "x", 3), ("u2", "m", "c", "y", 3), ("u2", "m", "c", "z", 3),
    ("u3", "m", "c", "x", 2), ("u3", "m", "c", "y", 2), ("u3", "m", "c", "z", 1),
    ("u4", "m", "c", "x", 5), ("u4", "m", "c", "y", 4),
]


def test_three_annotators_fleiss_kappa_matches_statsmodels_on_complete_units() -> None:
    r = summarise(_scores(THREE), n_resamples=200)
    k = r.details["agreement"]["c"]["kappa"]
    table, _ = aggregate_raters(np.array([[1, 2, 6], [3, 3, 3], [2, 2, 1]]))
    assert k["method"] == "fleiss" and k["n"] == 3
    assert k["value"] == pytest.approx(fleiss_kappa(table, method="fleiss"))
    assert k["exact"] == pytest.approx(1 / 3)  # only u2 has one score from all three


def test_annotator_bias_by_hand() -> None:
    r = summarise(_scores(THREE), n_resamples=200)
    b = r.details["annotator_bias"]
    # x: u1 1-(2+6)/2=-3, u2 0, u3 2-(2+1)/2=+0.5, u4 5-4=+1 -> -1.5/4
    # y: u1 2-(1+6)/2=-1.5, u2 0, u3 2-1.5=+0.5, u4 4-5=-1 -> -2/4
    # z: u1 6-1.5=+4.5, u2 0, u3 1-2=-1 -> 3.5/3
    assert (b["x"]["bias"], b["x"]["n"]) == (pytest.approx(-1.5 / 4), 4)
    assert (b["y"]["bias"], b["y"]["n"]) == (pytest.approx(-0.5), 4)
    assert (b["z"]["bias"], b["z"]["n"]) == (pytest.approx(3.5 / 3), 3)
    assert b["z"]["per_criterion"]["c"] == {"bias": pytest.approx(3.5 / 3), "n": 3}
    two = summarise(_scores(TWO), n_resamples=200).details["annotator_bias"]
    # x vs y on helpfulness: -2, 0, -1, +1; on clarity: 0, 0, 0, 0 -> overall -2/8
    assert two["x"]["bias"] == pytest.approx(-0.25) and two["y"]["bias"] == pytest.approx(0.25)
    assert two["x"]["per_criterion"]["helpfulness"] == {"bias": pytest.approx(-0.5), "n": 4}


def test_low_alpha_warns_at_the_threshold_exactly() -> None:
    low = [("a", "m", "c", "x", 1), ("a", "m", "c", "y", 5), ("b", "m", "c", "x", 5), ("b", "m", "c", "y", 1), ("c", "m", "c", "x", 3), ("c", "m", "c", "y", 3)]
    r = summarise(_scores(low), n_resamples=200)
    assert r.details["krippendorff_alpha"]["c"] < 0.667
    assert any(w.startswith("criterion c: Krippendorff's alpha") and w.endswith("is below 0.667 (Krippendorff's lowest for tentative conclusions): "
               "agreement between annotators is too low to trust the means") for w in r.warnings)
    good = summarise(_scores(TWO), n_resamples=200)
    value = good.details["krippendorff_alpha"]["clarity"]  # 2/2, 3/3, 3/3, 3/3: alpha 1
    assert value == pytest.approx(1.0)
    assert not any("clarity" in w for w in summarise(_scores(TWO), n_resamples=200, min_alpha=value).warnings)
    assert any("criterion clarity" in w and "below" in w for w in summarise(_scores(TWO), n_resamples=200, min_alpha=value + 1e-9).warnings)


def test_one_annotator_warns_that_agreement_cannot_be_measured() -> None:
    rows = [(i, m, "c", "", s) for i, m, s in [("q1", "base", 2), ("q2", "base", 3), ("q1", "tuned", 4), ("q2", "tuned", 4)]]
    r = summarise(_scores(rows), n_resamples=200)
    assert r.warnings[0].startswith("one annotator (the file has no 'annotator' column) rated: agreement between people cannot be measured")
    assert math.isnan(r.details["krippendorff_alpha"]["c"])
    assert r.details["agreement"]["c"]["kappa"]["method"] is None
    assert not any("Krippendorff" in w for w in r.warnings)  # the one-annotator line says it, once


# -- choices -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("codes", "outcome"), [
    ([2.0, 2.0, 0.0], 1),       # B, B, A -> B
    ([0.0, 2.0, 1.0], 0),       # A, B, tie: a three-way split -> tie
    ([0.0, 2.0], 0),            # A, B -> tie
    ([0.0, 0.0, 1.0], -1),      # A, A, tie -> A
    ([1.0, 1.0, 2.0], 0),       # tie, tie, B -> tie
    ([2.0, 2.0, 0.0, 0.0, 1.0], 0),  # 2 B, 2 A, a tie: split at the top -> tie
    ([2.0, 2.0, 1.0, 0.0], 1),  # most say B (a plurality) -> B
    ([0.0], -1),
])
def test_majority_rule(codes: list[float], outcome: int) -> None:
    assert majority(codes) == outcome


AB = [  # model_a / model_b in both orders: the pair is oriented base (A) vs tuned (B)
    ("q1", "base", "tuned", "x", "tuned"), ("q1", "tuned", "base", "y", "tuned"), ("q1", "base", "tuned", "z", "base"),
    ("q2", "base", "tuned", "x", "base"), ("q2", "base", "tuned", "y", "tuned"), ("q2", "base", "tuned", "z", None),
    ("q3", "tuned", "base", "x", "base"), ("q3", "base", "tuned", "y", "base"), ("q3", "base", "tuned", "z", None),
    ("q4", "base", "tuned", "x", None), ("q4", "base", "tuned", "y", None), ("q4", "base", "tuned", "z", "tuned"),
    ("q5", "base", "tuned", "x", "tuned"),
]


def test_choices_win_tie_loss_by_majority_and_win_rate() -> None:
    r = summarise(_choices(AB), baseline="base", n_resamples=N)
    (row,) = r.details["pairwise"]
    # q1 B,B,A -> win; q2 A,B,tie -> tie; q3 A,A,tie -> loss; q4 tie,tie,B -> tie; q5 B -> win
    assert (row["baseline"], row["model"], row["n"]) == ("base", "tuned", 5)
    assert (row["wins"], row["ties"], row["losses"]) == (2, 2, 1)
    assert row["win_rate"] == pytest.approx((2 + 2 / 2) / 5)
    assert row["p_value"] == pytest.approx(1.0)  # binomtest(2, 3): 2 wins of 3 decisive
    assert row["verdict"] == "inconclusive" and row["disagreed"] == 4
    ref = win_rate([1, 0, -1, 0, 1], n_resamples=N, seed=0)
    assert row["win_rate_ci95"] == pytest.approx(list(ref.win_rate.ci95))
    (c,) = r.comparisons
    assert (c.metric, c.baseline, c.model, c.baseline_value) == ("win_rate", "base", "tuned", 0.5)
    assert c.difference == pytest.approx(0.1) and (c.tests["wins"], c.tests["ties"], c.tests["losses"]) == (2, 2, 1)


def test_choices_verdict_improved_when_every_sample_prefers_the_model() -> None:
    rows = [(f"q{i}", "base", "tuned", "x", "tuned") for i in range(6)]
    r = summarise(_choices(rows), n_resamples=N)
    # sign test: binomtest(6, 6) = 2 / 2**6 = 0.03125 < 0.05; the CI is [1, 1] > 0.5
    assert r.details["pairwise"][0]["p_value"] == pytest.approx(0.03125)
    assert r.comparisons[0].verdict is Verdict.IMPROVED
    rows = [(f"q{i}", "base", "tuned", "x", "base") for i in range(5)]
    # five losses: binomtest(0, 5) = 0.0625: not enough for a verdict
    assert summarise(_choices(rows), n_resamples=N).comparisons[0].verdict is Verdict.INCONCLUSIVE


def test_pairs_without_the_baseline_get_no_verdict() -> None:
    rows = [("q1", "base", "tuned", "x", "tuned"), ("q1", "other", "tuned", "x", "other"), ("q2", "tuned", "other", "x", "other")]
    r = summarise(_choices(rows), n_resamples=200)
    by = {(p["baseline"], p["model"]): p for p in r.details["pairwise"]}
    # models in order seen: base, tuned, other; (tuned, other) has no baseline: tuned (seen first) is A
    assert set(by) == {("base", "tuned"), ("tuned", "other")}
    assert by[("tuned", "other")]["verdict"] is None and by[("tuned", "other")]["wins"] == 2
    assert [(c.baseline, c.model) for c in r.comparisons] == [("base", "tuned")]


def test_choice_agreement_alpha_nominal_and_kappas() -> None:
    r = summarise(_choices(AB), n_resamples=200)
    # annotators x units q1..q5, coded A=0 tie=1 B=2 (nominal: any coding gives the same alpha)
    m = np.array([[2, 0, 0, 1, 2], [2, 2, 0, 1, np.nan], [0, 1, 1, 2, np.nan]], dtype=float)
    assert r.details["krippendorff_alpha"] == pytest.approx(krippendorff.alpha(reliability_data=m, level_of_measurement="nominal"))
    k = r.details["agreement"]["kappa"]
    table, _ = aggregate_raters(m[:, :4].T.astype(int))
    assert (k["method"], k["n"]) == ("fleiss", 4)
    assert k["value"] == pytest.approx(fleiss_kappa(table, method="fleiss"))
    two = summarise(_choices([row for row in AB if row[3] != "z"]), n_resamples=200).details["agreement"]["kappa"]
    assert two["method"] == "cohen" and two["n"] == 4
    assert two["value"] == pytest.approx(cohen_kappa_score(["B", "A", "A", "tie"], ["B", "B", "A", "tie"]))


def test_low_agreement_on_choices_warns() -> None:
    rows = [(f"q{i}", "base", "tuned", who, w) for i in range(4) for who, w in (("x", "tuned"), ("y", "base" if i % 2 else None))]
    r = summarise(_choices(rows), n_resamples=200)
    assert r.details["krippendorff_alpha"] < 0.667
    assert any(w.startswith("choices: Krippendorff's alpha") and "too low to trust the win rates" in w for w in r.warnings)


# -- the Result and the export -------------------------------------------------------------------
def test_result_fits_the_schema_and_reads_back() -> None:
    for r in (summarise(_scores(THREE), n_resamples=200), summarise(_choices(AB), n_resamples=200),
              summarise(_scores([("q1", "m", "c", "", 3)]), n_resamples=200)):
        payload = r.to_dict()
        assert payload["layer"] == "human"
        assert_valid_result(payload)
        from tunecheck._io import clean

        back = Result.from_dict(json.loads(json.dumps(clean(payload))))
        assert back.details["kind"] == r.details["kind"]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_write_ratings_reads_back_equal_through_load_human(tmp_path, suffix) -> None:
    scores = _scores([*TWO, ("q,4 \"é\"", "tuned", "clarity", "Zoë", 5)])
    p = write_ratings(scores, tmp_path / f"people{suffix}")
    back = load_human(p)
    assert back.kind == "scores"
    assert [(s.id, s.model, s.criterion, s.annotator, s.score) for s in back.scores] == [(s.id, s.model, s.criterion, s.annotator, s.score) for s in scores.scores]
    choices = _choices([*AB, ("q6", "A", "B", "", "B")])  # models named A and B: written as positions
    back_c = load_human(write_ratings(choices, tmp_path / f"ab{suffix}"))
    assert [(c.id, c.model_a, c.model_b, c.annotator, c.winner) for c in back_c.choices] == [(c.id, c.model_a, c.model_b, c.annotator, c.winner) for c in choices.choices]


def test_write_ratings_refuses_an_unknown_extension(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"people\.xlsx: unknown format \.xlsx .*name it \.csv, \.json or \.jsonl"):
        write_ratings(_scores(TWO), tmp_path / "people.xlsx")
    assert not (tmp_path / "people.xlsx").exists()


def test_ratings_hash_is_the_same_in_every_format_and_moves_with_a_score(tmp_path) -> None:
    ratings = _scores(TWO)
    hashes = {ratings_sha256(load_human(write_ratings(ratings, tmp_path / f"p{s}"))) for s in (".csv", ".json", ".jsonl")}
    assert hashes == {ratings_sha256(ratings)}
    changed = _scores([*TWO[:-1], (*TWO[-1][:4], 3)])
    assert ratings_sha256(changed) != ratings_sha256(ratings)
    assert summarise(ratings, n_resamples=200).data[0].sha256 == ratings_sha256(ratings)


def test_merge_names_files_without_annotators_after_the_file(tmp_path) -> None:
    ana = [(i, m, c, "", s) for i, m, c, a, s in TWO if a == "x"]
    ben = [(i, m, c, "", s) for i, m, c, a, s in TWO if a == "y"]
    write_ratings(_scores(ana), tmp_path / "ana.csv")
    write_ratings(_scores(ben), tmp_path / "ben.json")
    merged = merge_ratings([load_human(tmp_path / "ana.csv"), load_human(tmp_path / "ben.json")])
    assert merged.annotators == ("ana", "ben") and len(merged.scores) == len(TWO)
    r = summarise(merged, n_resamples=200)
    want = summarise(_scores(TWO), n_resamples=200)  # the same ratings with x, y named in the file
    assert r.details["krippendorff_alpha"] == pytest.approx(want.details["krippendorff_alpha"])
    assert r.details["annotator_bias"]["ana"]["bias"] == pytest.approx(-0.25)


@pytest.mark.parametrize(("second", "message"), [
    ([("q1", "base", "helpfulness", "x", 5)], r"b\.csv row 2: a second score for id 'q1', model 'base', criterion 'helpfulness' by 'x' \(the first is at \S*a\.csv row 2\)"),
    ("choices", r"a\.csv holds rubric scores but \S*b\.csv holds pairwise choices"),
])
def test_merge_refuses_a_rating_given_twice_or_a_mix(tmp_path, second, message) -> None:
    write_ratings(_scores(TWO), tmp_path / "a.csv")
    if second == "choices":
        write_ratings(_choices(AB), tmp_path / "b.csv")
    else:
        write_ratings(_scores(second), tmp_path / "b.csv")
    with pytest.raises(DataError, match=message):
        merge_ratings([load_human(tmp_path / "a.csv"), load_human(tmp_path / "b.csv")])


def test_a_json_sheet_and_a_csv_sheet_end_in_json_with_means_verdicts_and_alpha(tmp_path) -> None:
    """The Done-when of issue 12 at the library level: `sheet import a.json b.csv --format json`."""
    from tunecheck._io import clean
    from tunecheck.judge import load_rubric

    rubric = load_rubric("quality-5")
    a = [{"id": f"q{i}", "model": m, "annotator": "ana", "scores": {"accuracy": s, "fluency": 4}, "notes": "ok"}
         for i, (m, s) in enumerate([("base", 2), ("tuned", 4), ("base", 3), ("tuned", 5), ("base", 1), ("tuned", 4)])]
    for row in a:
        row["id"] = f"q{int(row['id'][1:]) // 2}"
    (tmp_path / "a.json").write_text(json.dumps(a), encoding="utf-8")
    (tmp_path / "b.csv").write_text("id,model,annotator,accuracy,fluency\nq0,base,bo,3,4\nq0,tuned,bo,4,5\nq1,base,bo,3,4\nq1,tuned,bo,5,4\n", encoding="utf-8")
    merged = merge_ratings([load_human(tmp_path / "a.json", rubric), load_human(tmp_path / "b.csv", rubric)])
    payload = json.loads(json.dumps(clean(summarise(merged, n_resamples=N).to_dict())))
    assert_valid_result(payload)
    means = {(e["model"], e["metric"]): e["value"] for e in payload["estimates"]}
    # accuracy per sample: base q0 (2+3)/2, q1 (3+3)/2, q2 1 -> 6.5/3; tuned q0 4, q1 5, q2 4 -> 13/3
    assert means[("base", "accuracy")] == pytest.approx(6.5 / 3) and means[("tuned", "accuracy")] == pytest.approx(13 / 3)
    assert {(c["model"], c["metric"]) for c in payload["comparisons"]} == {("tuned", "accuracy"), ("tuned", "fluency")}
    acc = next(c for c in payload["comparisons"] if c["metric"] == "accuracy")
    assert acc["difference"] == pytest.approx(13 / 3 - 6.5 / 3) and acc["p_value_holm"] is not None
    assert (acc["tests"]["wins"], acc["tests"]["losses"], acc["tests"]["ties"]) == (3, 0, 0)
    # units (q0,base) (q0,tuned) (q1,base) (q1,tuned) (q2,base) (q2,tuned)
    m = np.array([[2, 4, 3, 5, 1, 4], [3, 4, 3, 5, np.nan, np.nan]], dtype=float)
    assert payload["details"]["krippendorff_alpha"]["accuracy"] == pytest.approx(krippendorff.alpha(reliability_data=m, level_of_measurement="ordinal"))
    assert payload["details"]["criteria"]["accuracy"] == {"scale": [1, 5]}
    # and what write_ratings makes of them is what `judge --human` reads, with the rubric
    back = load_human(write_ratings(merged, tmp_path / "people.csv"), rubric)
    assert sorted((s.id, s.model, s.criterion, s.annotator, s.score) for s in back.scores) == sorted((s.id, s.model, s.criterion, s.annotator, s.score) for s in merged.scores)


# -- the tables ----------------------------------------------------------------------------------
@pytest.fixture
def screen(monkeypatch):
    from tunecheck.render import _human, _tables

    console = Console(width=160, record=True, color_system=None, file=io.StringIO())
    monkeypatch.setattr(_tables, "console", console)
    monkeypatch.setattr(_human, "console", console)
    return console


def test_tables_show_means_verdicts_agreement_bias_and_warnings(screen) -> None:
    from tunecheck.render._human import human_tables

    human_tables(summarise(_scores(TWO, scales={"helpfulness": (1, 5), "clarity": (1, 5)}), n_resamples=N))
    out = screen.export_text()
    assert "helpfulness (1-5)" in out and "2.33 [" in out and "4.00 [" in out
    assert "+1.67" in out and "inconclusive" in out  # n = 3: Wilcoxon's p = 0.25
    assert "helpfulness: Krippendorff's alpha (ordinal)" in out and "Cohen's kappa (quadratic weighted)" in out
    assert "-0.25" in out and "+0.25" in out  # x's and y's bias


def test_tables_for_choices_and_a_warning(screen) -> None:
    from tunecheck.render._human import human_tables

    rows = [(f"q{i}", "base", "tuned", who, w) for i in range(4) for who, w in (("x", "tuned"), ("y", "base" if i % 2 else None))]
    human_tables(summarise(_choices(rows), n_resamples=200))
    out = screen.export_text()
    assert "0 / 4 / 0" in out and "W / T / L" in out  # every sample split: all ties
    assert "choices: Krippendorff's alpha (nominal)" in out and "Cohen's kappa" in out
    assert "too low to trust" in out
