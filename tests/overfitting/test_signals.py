"""The signal rule of the checks compared with the base (copying, diversity, paraphrases,
extraction), on typed comparisons (the cases moved from test_verdict.py), and the signals each
layer's Result carries, from real reports."""

from __future__ import annotations

import json
import math

import pytest

from tunecheck.core import Comparison, Status, Verdict
from tunecheck.overfitting import CopyConfig, compare_diversity, evaluate_copying
from tunecheck.overfitting._applies import YES, Applies
from tunecheck.overfitting._membership import MembershipResult, membership_signal
from tunecheck.overfitting._signals import from_comparisons, margin
from tunecheck.stats import AurocResult

LOWER_IS_BETTER = {"copy_rate", "copied_share", "self_bleu", "extracted", "prefix_match", "token_match"}
"""The built-in metrics whose comparisons the layers make lower-is-better."""


def _c(metric: str, verdict: str, ci: tuple[float, float], base: float = 0.5, value: float = 0.5, n: int = 50, model: str = "tuned",
       higher_is_better: bool | None = None) -> Comparison:
    hib = metric not in LOWER_IS_BETTER if higher_is_better is None else higher_is_better
    return Comparison(metric, "base", model, n, base, value, value - base, ci, 0.5, Verdict(verdict), hib)


def test_non_inferiority_reads_the_comparison_s_own_direction():
    # a custom per-sample change where lower is better (e.g. words added on paraphrases): a CI of
    # [-0.5, +0.01] rules out a rise beyond the 2-point margin, so no worse than the base; read as
    # higher-is-better it would not rule out a 0.5 drop
    assert _status(_c("words_change", "inconclusive", (-0.5, 0.01), higher_is_better=False)) == Status.HEALTHY
    assert _status(_c("words_change", "inconclusive", (-0.5, 0.01), higher_is_better=True)) == Status.INCONCLUSIVE
    assert _status(_c("words_change", "inconclusive", (-0.01, 0.5), higher_is_better=False)) == Status.INCONCLUSIVE


def _status(*comparisons: Comparison, applies: Applies = YES) -> Status:
    signal = from_comparisons("x", comparisons, "tuned", "x vs the base", applies=applies)
    assert signal is not None
    return signal.status


def test_healthy_needs_non_inferiority_within_the_margin():
    # copy rate 0.10 -> 0.10, CI [-0.05, +0.05]: a rise of up to 5 points is not ruled out (margin 2)
    assert _status(_c("copy_rate", "inconclusive", (-0.05, 0.05), base=0.1, value=0.1)) == Status.INCONCLUSIVE
    # CI [-0.03, +0.01]: any rise above 1 point is ruled out: no worse than the base
    assert _status(_c("copy_rate", "inconclusive", (-0.03, 0.01), base=0.1, value=0.09)) == Status.HEALTHY
    # exactly at the margin counts (hi <= 0.02; 0.02 written as a literal, not 0.12 - 0.1)
    assert _status(_c("copy_rate", "inconclusive", (-0.03, 0.02), base=0.1)) == Status.HEALTHY
    # distinct-2 base 0.40: margin 10% = 0.04; CI of the change [-0.03, +0.02] rules out a 0.04 drop
    assert _status(_c("distinct_2", "inconclusive", (-0.03, 0.02), base=0.4)) == Status.HEALTHY
    assert _status(_c("distinct_2", "inconclusive", (-0.06, 0.02), base=0.4)) == Status.INCONCLUSIVE
    assert _status(_c("distinct_2", "regressed", (-0.2, -0.1), base=0.4)) == Status.OVERFITTING


def test_margins_by_metric():
    assert margin(_c("copy_rate", "inconclusive", (0, 0), base=0.9)) == 0.02  # rates: absolute 2 points
    assert margin(_c("exact_match_change", "inconclusive", (0, 0), base=0.9)) == 0.02
    assert margin(_c("self_bleu", "inconclusive", (0, 0), base=40.0)) == pytest.approx(4.0)  # 10% of 40
    assert margin(_c("distinct_1", "inconclusive", (0, 0), base=0.1)) == 0.02  # 10% of 0.1 is under 2 points
    assert margin(_c("distinct_1", "inconclusive", (0, 0), base=math.nan)) == 0.02  # undefined base value


def test_any_regression_is_overfitting_and_undefined_cis_are_never_healthy():
    fine = _c("distinct_1", "inconclusive", (-0.01, 0.01), base=0.4)
    assert _status(fine, _c("self_bleu", "regressed", (5.0, 9.0), base=20.0)) == Status.OVERFITTING
    # one-word answers: distinct-2 undefined (NaN): not "no worse", shown as n/a
    undefined = _c("distinct_2", "inconclusive", (math.nan, math.nan), base=math.nan, value=math.nan)
    signal = from_comparisons("output diversity", [fine, undefined], "tuned", "diversity vs the base")
    assert signal is not None and signal.status == Status.INCONCLUSIVE
    assert signal.reason == "the CIs do not rule out a harm beyond the margin"
    assert "distinct_2 n/a -> n/a (inconclusive, CI [n/a, n/a])" in signal.evidence


def test_not_applicable_when_the_layer_says_so_or_too_few_are_paired():
    closed = Applies(False, "a closed label set")
    assert _status(_c("copy_rate", "regressed", (0.1, 0.2)), applies=closed) == Status.NOT_APPLICABLE
    # 9 paired samples: too few; 10 is enough (MIN_SAMPLES = 10)
    few = from_comparisons("x", [_c("copy_rate", "regressed", (0.1, 0.2), n=9)], "tuned", "x")
    assert few is not None and few.status == Status.NOT_APPLICABLE
    assert few.reason == "only 9 samples paired with the base: too few to judge (at least 10 needed)"
    assert _status(_c("copy_rate", "regressed", (0.1, 0.2), n=10)) == Status.OVERFITTING
    # another model's comparisons give no signal for this one
    assert from_comparisons("x", [_c("copy_rate", "regressed", (0.1, 0.2), model="other")], "tuned", "x") is None


def test_the_signal_names_its_model_and_context_signals_do_not_decide():
    s = from_comparisons("extraction (context)", [_c("extracted", "regressed", (0.3, 0.5))], "tuned", "training continuations reproduced",
                         deciding=False)
    assert s is not None and (s.model, s.deciding, s.status) == ("tuned", False, Status.OVERFITTING)
    assert s.evidence == "training continuations reproduced: extracted 0.5 -> 0.5 (regressed, CI [+0.3, +0.5])"


def _auroc(value: float, ci: tuple[float, float], n: int = 50):
    from tunecheck.core import Estimate

    return AurocResult(Estimate(value, ci), 0.01, n, n)


def test_membership_levels_map_onto_statuses():
    def signal(level: str, n: int = 50):
        return membership_signal(MembershipResult("tuned", {"reference": _auroc(0.9, (0.85, 0.95), n)}, level, "msg"))

    assert (signal("high").status, signal("high").model) == (Status.OVERFITTING, "tuned")
    assert signal("low").status == Status.HEALTHY and signal("low").reason is None
    assert signal("unclear").status == Status.INCONCLUSIVE
    assert signal("unclear").reason == "the AUROC is neither clearly high nor clearly low"
    few = signal("high", n=9)  # 9 examples in the smaller set: too few
    assert few.status == Status.NOT_APPLICABLE and few.reason.startswith("only 9 examples")


def test_label_answers_make_diversity_and_copying_not_applicable_in_their_results(tmp_path):
    from tests.overfitting.sentiment import write_predictions

    f = write_predictions(tmp_path)
    div = compare_diversity([f["base"], f["tuned"]], n_resamples=1000).to_result()
    copy = evaluate_copying([f["base"], f["tuned"]], f["train"], CopyConfig(n_resamples=1000)).to_result()
    # distinct-1 fell (3 label words over 30 one-word outputs: 3/30 = 0.1) and reads "regressed" as a
    # comparison, but the signal does not apply: a closed label set
    d1 = next(c for c in div.comparisons if c.metric == "distinct_1")
    assert d1.value == pytest.approx(0.1) and d1.verdict == Verdict.REGRESSED
    labels = "the references take only 3 values ('negative', 'neutral', 'positive'): a closed label set"
    for result, name in ((div, "output diversity"), (copy, "verbatim copying")):
        [s] = result.signals
        assert (s.name, s.model, s.status) == (name, "tuned", Status.NOT_APPLICABLE) and s.reason.startswith(labels)
        info = result.model("tuned")
        assert info is not None and info.details["applies"] is False and info.details["reason"] == s.reason
    assert copy.layer == "copying" and [m.details["copied"] for m in copy.models] == [0, 0]


def test_a_copying_result_from_long_unrelated_outputs_is_healthy(tmp_path):
    def preds(name: str, outputs: list[str]) -> str:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": str(i), "model": name, "output": o}) + "\n" for i, o in enumerate(outputs)))
        return str(path)

    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"id": "t0", "text": "some training text that nobody copies here"}) + "\n")
    # 12 outputs of 15 words, none from the training text: copy rate 0 -> 0 with CI [0, 0], which
    # rules out a rise beyond the 2-point margin
    long = [f"output {i} " + " ".join(f"w{i}x{k}" for k in range(13)) for i in range(12)]
    result = evaluate_copying([preds("base", long), preds("tuned", long)], train, CopyConfig(n_resamples=1000)).to_result()
    assert [(s.name, s.status) for s in result.signals] == [("verbatim copying", Status.HEALTHY)]
    assert result.estimate("copy_rate", "tuned").ci95 == (0.0, 0.0)  # type: ignore[union-attr]


# Mutation-testing cases (tests/MUTANTS.md): every field of the signal, the boundaries of
# non-inferiority, and the formatting of the evidence, all worked out by hand.


def test_each_status_gives_the_whole_signal_with_its_model_and_evidence():
    from tunecheck.core import Signal

    over = _c("copy_rate", "regressed", (0.1, 0.2), base=0.1, value=0.25)
    # default: a deciding signal; the evidence joins each metric's "base -> value (verdict, CI)" by "; "
    assert from_comparisons("verbatim copying", [over, _c("copied_share", "inconclusive", (-0.01, 0.01), base=0.2, value=0.2)], "tuned", "copying vs the base") == Signal(
        "verbatim copying", Status.OVERFITTING,
        "copying vs the base: copy_rate 0.1 -> 0.25 (regressed, CI [+0.1, +0.2]); copied_share 0.2 -> 0.2 (inconclusive, CI [-0.01, +0.01])",
        None, True, "tuned")
    fine = _c("copy_rate", "inconclusive", (-0.03, 0.01), base=0.1, value=0.09)
    assert from_comparisons("c", [fine], "tuned", "d", deciding=False) == Signal(
        "c", Status.HEALTHY, "d: copy_rate 0.1 -> 0.09 (inconclusive, CI [-0.03, +0.01])", None, False, "tuned")
    wide = _c("copy_rate", "inconclusive", (-0.05, 0.05), base=0.1, value=0.1)
    assert from_comparisons("c", [wide], "tuned", "d", deciding=False) == Signal(
        "c", Status.INCONCLUSIVE, "d: copy_rate 0.1 -> 0.1 (inconclusive, CI [-0.05, +0.05])",
        "the CIs do not rule out a harm beyond the margin", False, "tuned")
    # a check that does not apply without saying why still gives a reason
    assert from_comparisons("c", [wide], "tuned", "d", applies=Applies(False), deciding=False) == Signal(
        "c", Status.NOT_APPLICABLE, "d: copy_rate 0.1 -> 0.1 (inconclusive, CI [-0.05, +0.05])",
        "the check does not apply to this model", False, "tuned")


def test_evidence_keeps_small_numbers_in_lower_case_exponent_form():
    # 1.5e-05 in three significant digits is "1.5e-05" (format ".3g"), never "1.5E-05"
    tiny = _c("copy_rate", "inconclusive", (-2e-05, 3e-05), base=1.5e-05, value=1.5e-05)
    s = from_comparisons("c", [tiny], "tuned", "d")
    assert s is not None and s.evidence == "d: copy_rate 1.5e-05 -> 1.5e-05 (inconclusive, CI [-2e-05, +3e-05])"


def test_non_inferiority_boundaries_for_higher_is_better_metrics():
    # exact_match_change: a per-sample change, absolute margin 0.02, higher is better:
    # healthy iff lo >= -0.02; a lower bound of exactly -0.02 counts (written as a literal)
    assert _status(_c("exact_match_change", "inconclusive", (-0.02, 0.05))) == Status.HEALTHY
    assert _status(_c("exact_match_change", "inconclusive", (-0.021, 0.05))) == Status.INCONCLUSIVE
    # a finite lower bound beside an undefined upper one is not a CI: never healthy
    assert _status(_c("distinct_1", "inconclusive", (0.0, math.nan), base=0.4)) == Status.INCONCLUSIVE


def test_an_infinite_base_value_gets_the_absolute_margin():
    # 10% of an infinite base would allow any harm: the margin stays 2 points
    assert margin(_c("distinct_1", "inconclusive", (0, 0), base=math.inf)) == 0.02


def test_signals_for_models_one_per_model_compared_in_model_order():
    from tunecheck.overfitting._signals import signals_for_models

    comps = [_c("copy_rate", "regressed", (0.1, 0.2), model="b"), _c("copy_rate", "inconclusive", (-0.03, 0.01), model="a")]
    got = signals_for_models("c", comps, [("a", YES), ("none", YES), ("b", Applies(False, "closed"))], "copying")
    # "none" has no comparison: no signal; "b" does not apply: its reason
    assert [(s.model, s.status, s.reason, s.deciding) for s in got] == [
        ("a", Status.HEALTHY, None, True), ("b", Status.NOT_APPLICABLE, "closed", True)]
    assert got[0].evidence == "copying: copy_rate 0.5 -> 0.5 (inconclusive, CI [-0.03, +0.01])"
    assert [s.deciding for s in signals_for_models("c", comps, [("a", YES)], "copying", deciding=False)] == [False]


def test_dataset_info_keeps_the_identity_and_puts_the_rest_in_details():
    from tunecheck.core import DataInfo
    from tunecheck.data import Dataset
    from tunecheck.data._sample import Sample
    from tunecheck.overfitting._signals import dataset_info

    rows = tuple(Sample(str(i), "text", text=f"t{i}") for i in range(3))
    data = Dataset(rows, "train.jsonl", "text", "sha256:ab", {"n": 3, "of": 7, "seed": 0})
    assert dataset_info(data, "train") == DataInfo("train.jsonl", "sha256:ab", 3, "train",
                                                   {"shape": "text", "sampled": {"n": 3, "of": 7, "seed": 0}})
