"""The overfitting verdict: each check's result read as a signal, combined by the documented
rule; fed both hand-written payloads (for the edges) and real reports' `to_dict()`."""

from __future__ import annotations

import json

import pytest

from tunecheck.errors import ConfigError
from tunecheck.overfitting import (
    CurvePoint,
    Status,
    TrainingCurves,
    analyse_curves,
    compare_diversity,
    overfitting_verdict,
)


def _overfit(level, gap, ci, model="tuned"):
    msg = {"none": "no overfitting detected", "some": "some overfitting present (acceptable)", "high": "high probability of overfitting"}[level]
    return {"layer": "overfit", "thresholds": {"high": 0.5, "some": 0.2},
            "models": [{"model": model, "level": level, "gap": gap, "message": msg, "ci95": {"gap": ci}}]}


def _curves(train_evals, **kw):
    """Real curves: train loss logged every 5 steps, eval every 10, from {step: (train, eval)}."""
    train = tuple(CurvePoint(s, t) for s, (t, _) in sorted(train_evals.items()))
    evals = tuple(CurvePoint(s, e) for s, (_, e) in sorted(train_evals.items()) if e is not None)
    return analyse_curves(TrainingCurves("trainer_state.json", "trainer_state", train, evals), **kw).to_dict()


CONVERGED = {10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.2, 1.3), 40: (1.0, 1.15), 50: (0.9, 1.1)}
DIVERGED = {10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.2, 1.3), 40: (1.0, 1.5), 50: (0.8, 1.7), 60: (0.6, 1.9), 70: (0.4, 2.1)}


def _paired(layer, metric, verdict, ci, model="tuned", base=0.5, value=0.5):
    return {"layer": layer, "comparison": [{"baseline": "base", "model": model, "metric": metric, "baseline_value": base,
                                            "value": value, "ci95": ci, "verdict": verdict}]}


def test_healthy_run_is_healthy():
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), _curves(CONVERGED)], model="tuned")
    assert v.status == Status.HEALTHY
    assert [s.name for s in v.signals] == ["loss gap", "training curves"]


def test_real_divergence_makes_it_overfitting():
    curves = _curves(DIVERGED)
    assert curves["diverges_at"] is not None
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), curves], model="tuned")
    assert v.status == Status.OVERFITTING
    assert "1 of 2" in v.summary and "training curves" in v.summary


def test_loss_gap_needs_its_whole_ci_past_a_threshold():
    # 0.9 is "high", but a CI reaching 0.1 cannot show it: inconclusive, not regressed
    assert overfitting_verdict([_overfit("high", 0.9, [0.1, 1.7])]).status == Status.INCONCLUSIVE
    assert overfitting_verdict([_overfit("high", 0.9, [0.6, 1.2])]).status == Status.OVERFITTING
    # 0.15 is under 0.2 but its CI reaches 0.25: "none" cannot be claimed either
    assert overfitting_verdict([_overfit("none", 0.15, [0.05, 0.25])]).status == Status.INCONCLUSIVE


def test_converged_curves_are_healthy_only_when_training_went_well():
    rising = {10: (1.0, 2.1), 20: (1.5, 1.6), 30: (2.0, 1.3), 40: (2.5, 1.15), 50: (3.0, 1.1)}
    v = overfitting_verdict([_curves(rising)], model="tuned")
    assert v.status == Status.INCONCLUSIVE and "did not decrease" in v.signals[0].reason
    two_evals = {10: (2.0, 2.1), 20: (1.0, 1.6)}
    assert overfitting_verdict([_curves(two_evals)], model="tuned").status == Status.INCONCLUSIVE
    no_eval = {10: (2.0, None), 20: (1.0, None)}
    assert overfitting_verdict([_curves(no_eval)], model="tuned").status == Status.INCONCLUSIVE


def test_compared_signals_need_non_inferiority_for_healthy():
    # copy rate 0.10 -> 0.10, CI [-0.05, +0.05]: a rise of up to 5 points is not ruled out (margin 2)
    wide = _paired("regurgitation", "copy_rate", "inconclusive", [-0.05, 0.05], base=0.1, value=0.1)
    assert overfitting_verdict([wide]).status == Status.INCONCLUSIVE
    # CI [-0.03, +0.01]: any rise above 1 point is ruled out: no worse than the base
    tight = _paired("regurgitation", "copy_rate", "inconclusive", [-0.03, 0.01], base=0.1, value=0.09)
    assert overfitting_verdict([tight]).status == Status.HEALTHY
    # distinct-2 base 0.40: margin 10% = 0.04; CI of the change [-0.03, +0.02] rules out a 0.04 drop
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", [-0.03, 0.02], base=0.4)]).status == Status.HEALTHY
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", [-0.06, 0.02], base=0.4)]).status == Status.INCONCLUSIVE
    assert overfitting_verdict([_paired("diversity", "distinct_2", "regressed", [-0.2, -0.1], base=0.4)]).status == Status.OVERFITTING


def test_context_signals_never_decide():
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), _paired("extraction", "extracted", "regressed", [0.3, 0.5])])
    assert v.status == Status.HEALTHY
    assert [s.deciding for s in v.signals] == [True, False]


def test_nothing_measured():
    assert overfitting_verdict([]).status == Status.INCONCLUSIVE


def test_other_models_need_a_name_and_unused_results_are_noted():
    results = [_overfit("high", 0.9, [0.8, 1.0], model="a"), _paired("diversity", "distinct_1", "improved", [0.01, 0.05], model="b")]
    with pytest.raises(ConfigError, match="name one with --model"):
        overfitting_verdict(results)
    v = overfitting_verdict(results, "b")
    assert v.status == Status.HEALTHY
    assert v.notes == ["the overfit result gave no signal for b (it names a)"]
    assert overfitting_verdict(results, "a").status == Status.OVERFITTING


def test_real_diversity_payload_with_undefined_metrics(tmp_path):
    # one-word answers: distinct-2/3 are undefined (NaN, stored as null) and must not crash
    for name in ("base", "tuned"):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"id": str(i), "model": name, "output": "yes" if i % 2 else "no"}) + "\n" for i in range(30)))
    from tunecheck import _io

    payload = _io.clean(compare_diversity([str(tmp_path / "base.jsonl"), str(tmp_path / "tuned.jsonl")]).to_dict())
    v = overfitting_verdict([payload], model="tuned")
    assert v.status == Status.INCONCLUSIVE and "n/a" in v.signals[0].evidence


# ---- signals that do not apply (issue 9, point 2) ------------------------------------------------
def _real(report):
    from tunecheck import _io

    return _io.clean(report.to_dict())


def test_classification_fine_tune_is_not_overfitting_because_of_its_label_answers(tmp_path):
    from tests.overfitting.sentiment import write_predictions
    from tunecheck.overfitting import CopyConfig, evaluate_copying

    f = write_predictions(tmp_path)
    div = _real(compare_diversity([f["base"], f["tuned"]], n_resamples=1000))
    copy = _real(evaluate_copying([f["base"], f["tuned"]], f["train"], CopyConfig(n_resamples=1000)))
    # what the issue saw: distinct-1 fell (3 label words over 30 one-word outputs: 3/30 = 0.1,
    # against the base's varied 15-25 word answers), and no output copied a 13-gram (copy rate
    # 0 -> 0, CI [0, 0]): once read as "regressed" and "improved"
    d1 = next(c for c in div["comparison"] if c["metric"] == "distinct_1")
    assert d1["value"] == pytest.approx(0.1) and d1["verdict"] == "regressed"
    assert [m["copied"] for m in copy["models"]] == [0, 0]
    v = overfitting_verdict([div, copy, _curves(CONVERGED)], model="tuned")
    got = {s.name: s for s in v.signals}
    labels = "the references take only 3 values ('negative', 'neutral', 'positive'): a closed label set"
    assert got["output diversity"].status == Status.NOT_APPLICABLE and got["output diversity"].reason.startswith(labels)
    assert got["verbatim copying"].status == Status.NOT_APPLICABLE and got["verbatim copying"].reason.startswith(labels)
    # only the curves decide, and they are healthy
    assert v.status == Status.HEALTHY
    assert v.summary == "no sign of overfitting in any of 1 applicable signals; not applicable: output diversity, verbatim copying"
    assert v.to_dict()["signals"][0] == {"signal": "output diversity", "status": "not applicable", "reason": got["output diversity"].reason,
                                         "evidence": got["output diversity"].evidence, "deciding": True}


def _preds_writer(tmp_path):
    def preds(name, outputs):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": str(i), "model": name, "output": o}) + "\n" for i, o in enumerate(outputs)))
        return str(path)

    return preds


def _untouched_train(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"id": "t0", "text": "some training text that nobody copies here"}) + "\n")
    return train


def test_label_answers_without_references_and_outputs_too_short_for_the_span(tmp_path):
    from tunecheck.overfitting import CopyConfig, evaluate_copying

    preds, train = _preds_writer(tmp_path), _untouched_train(tmp_path)
    # no label field: one-word outputs repeating 2 values (2 <= 20, 2 * 2 <= 12, 1 word each) read as labels
    words = ["Yes." if i % 2 else "no" for i in range(12)]
    div = _real(compare_diversity([preds("base", words), preds("tuned", words)], n_resamples=1000))
    assert div["models"][1]["reason"].startswith("the 12 outputs repeat 2 short values ('no', 'yes'): label-like answers")
    # varied 6-word sentences: not labels, but none has the 13 words a copy needs
    sentences = [f"answer {i} is my very own" for i in range(12)]
    copy = _real(evaluate_copying([preds("b", sentences), preds("t", sentences)], train, CopyConfig(n_resamples=1000)))
    assert copy["models"][1]["applies"] is False
    assert copy["models"][1]["reason"].startswith("only 0 of 12 outputs have 13+ words, and a shorter one can never share a 13-gram")
    v = overfitting_verdict([copy], model="t")
    assert [s.status for s in v.signals] == [Status.NOT_APPLICABLE]
    assert v.status == Status.INCONCLUSIVE and v.summary == "none of the 1 signals applies to this model (verbatim copying)"


def test_a_healthy_signal_beside_an_inconclusive_one_is_inconclusive(tmp_path):
    from tunecheck.overfitting import CopyConfig, evaluate_copying

    preds, train = _preds_writer(tmp_path), _untouched_train(tmp_path)
    # 12 outputs of 15 words, none from the training text: copy rate 0 -> 0 with CI [0, 0],
    # which rules out a rise beyond the 2-point margin: healthy
    long = [f"output {i} " + " ".join(f"w{i}x{k}" for k in range(13)) for i in range(12)]
    copy = _real(evaluate_copying([preds("base", long), preds("tuned", long)], train, CopyConfig(n_resamples=1000)))
    # eval loss falls throughout (no divergence) but stays 0.9 above the training loss
    high_gap = _curves({10: (2.0, 2.6), 20: (1.5, 2.3), 30: (1.2, 2.0), 40: (1.0, 1.8), 50: (0.8, 1.7)})
    v = overfitting_verdict([copy, high_gap], model="tuned")
    assert [(s.name, s.status) for s in v.signals] == [("verbatim copying", Status.HEALTHY), ("training curves", Status.INCONCLUSIVE)]
    assert v.signals[1].reason == "no divergence, but the logged train-eval gap is 0.9"
    assert v.status == Status.INCONCLUSIVE
    assert v.summary == "no signal shows overfitting, but training curves cannot rule it out"


def test_too_few_samples_and_a_single_checkpoint_do_not_apply():
    few = _paired("rephrase", "exact_match_change", "regressed", [-0.5, -0.1])
    few["comparison"][0]["n"] = 6
    v = overfitting_verdict([few, {"layer": "sweep", "recommendation": "use checkpoint-10", "checkpoints": [{"phase": "best"}]}], model="tuned")
    assert [(s.status, s.reason) for s in v.signals] == [
        (Status.NOT_APPLICABLE, "only 6 samples paired with the base: too few to judge (at least 10 needed)"),
        (Status.NOT_APPLICABLE, "only 1 checkpoint(s): no curve to place them on"),
    ]
    assert v.status == Status.INCONCLUSIVE


def test_margins_are_absolute_for_rates_and_changes_relative_for_diversity():
    # mutation-testing follow-up. The margin is 2 points for rates and per-sample changes, however
    # large the base value; 10% of the base only for distinct-n / self-BLEU.
    # rephrase: token_f1_change base 1.0, change CI [-0.05, 0.01]: a 5-point drop is not ruled out
    # by a 2-point margin (10% of 1.0 would wrongly allow it)
    change = _paired("rephrase", "token_f1_change", "inconclusive", [-0.05, 0.01], base=1.0, value=0.98)
    assert overfitting_verdict([change]).status == Status.INCONCLUSIVE
    assert overfitting_verdict([_paired("rephrase", "token_f1_change", "inconclusive", [-0.015, 0.01], base=1.0)]).status == Status.HEALTHY
    # copied_share (lower is better) base 0.5: a rise up to 5 points is not ruled out by 2 points
    share = _paired("regurgitation", "copied_share", "inconclusive", [-0.01, 0.05], base=0.5)
    assert overfitting_verdict([share]).status == Status.INCONCLUSIVE
    assert overfitting_verdict([_paired("regurgitation", "copied_share", "inconclusive", [-0.01, 0.015], base=0.5)]).status == Status.HEALTHY
    # self-BLEU (lower is better) base 0.6: margin 10% = 0.06, so a CI up to +0.05 is no worse
    assert overfitting_verdict([_paired("diversity", "self_bleu", "inconclusive", [-0.01, 0.05], base=0.6)]).status == Status.HEALTHY
    assert overfitting_verdict([_paired("diversity", "self_bleu", "inconclusive", [-0.01, 0.07], base=0.6)]).status == Status.INCONCLUSIVE
    # no baseline value to scale by: the absolute margin
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", [-0.03, 0.02], base=None)]).status == Status.INCONCLUSIVE
    # a CI with one end missing rules nothing out
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", [None, 0.02], base=0.4)]).status == Status.INCONCLUSIVE
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", [-0.01, None], base=0.4)]).status == Status.INCONCLUSIVE


def test_non_inferiority_boundary_is_inclusive():
    # a CI ending exactly at the 2-point margin rules out any harm beyond it: healthy
    at = _paired("regurgitation", "copy_rate", "inconclusive", [-0.01, 0.02], base=0.1)
    assert overfitting_verdict([at]).status == Status.HEALTHY
    drop = _paired("rephrase", "token_f1_change", "inconclusive", [-0.02, 0.01], base=0.0)
    assert overfitting_verdict([drop]).status == Status.HEALTHY
    # no CI at all: nothing is ruled out
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", None, base=0.4)]).status == Status.INCONCLUSIVE


def _gap_result(models, thresholds=None):
    out = {"layer": "overfit", "models": [
        {"model": name, "level": "none", "gap": gap, "message": "m", "ci95": {"gap": ci}} for name, gap, ci in models]}
    if thresholds is not None:
        out["thresholds"] = thresholds
    return out


def test_gap_signal_thresholds_default_custom_and_one_sided_ci():
    def status(result, model="tuned"):
        (s,) = overfitting_verdict([result], model=model).signals
        return s.status

    # no thresholds in the result: the seeds' 0.5 / 0.2
    assert status(_gap_result([("tuned", 0.6, [0.55, 0.7])])) == Status.OVERFITTING
    assert status(_gap_result([("tuned", 0.2, [0.1, 0.3])])) == Status.INCONCLUSIVE
    assert status(_gap_result([("tuned", 0.15, [0.1, 0.2])])) == Status.HEALTHY  # <= 0.2: healthy
    # the result's own thresholds are used
    assert status(_gap_result([("tuned", 0.37, [0.35, 0.4])], {"some": 0.1, "high": 0.3})) == Status.OVERFITTING
    assert status(_gap_result([("tuned", 0.15, [0.12, 0.18])], {"some": 0.1, "high": 0.3})) == Status.INCONCLUSIVE
    # the lower end alone shows a gap above the threshold
    assert status(_gap_result([("tuned", 0.7, [0.6, None])])) == Status.OVERFITTING
    # the model asked for is found after another one
    assert status(_gap_result([("other", 0.0, [0.0, 0.0]), ("tuned", 0.9, [0.8, 1.0])]), "tuned") == Status.OVERFITTING


def test_curve_signal_statuses_and_reasons():
    (no_eval,) = overfitting_verdict([_curves({10: (2.0, None), 20: (1.0, None)})], model="tuned").signals
    assert no_eval.status == Status.NOT_APPLICABLE and no_eval.reason == "no validation loss in the log"
    assert no_eval.evidence
    (two,) = overfitting_verdict([_curves({10: (2.0, 2.1), 20: (1.0, 1.6)})], model="tuned").signals
    assert two.status == Status.NOT_APPLICABLE and two.reason.startswith("only 2 evaluation(s) logged")
    # three evaluations are enough to judge a converged run
    three = {10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.2, 1.3)}
    (s,) = overfitting_verdict([_curves(three)], model="tuned").signals
    assert s.status == Status.HEALTHY and s.evidence
    (d,) = overfitting_verdict([_curves(DIVERGED)], model="tuned").signals
    assert d.status == Status.OVERFITTING and d.evidence


def test_checkpoint_sweep_signal():
    def sweep(phases):
        return {"layer": "sweep", "recommendation": "use step 20",
                "checkpoints": [{"step": 10 * (i + 1), "phase": p} for i, p in enumerate(phases)]}

    (one,) = overfitting_verdict([sweep(["learning"])]).signals
    assert one.status == Status.NOT_APPLICABLE and one.reason.startswith("only 1 checkpoint(s)")
    (two,) = overfitting_verdict([sweep(["learning", "over-fitting"])]).signals  # two are enough
    assert (two.name, two.status, two.evidence) == ("checkpoint sweep", Status.OVERFITTING, "use step 20")
    (fine,) = overfitting_verdict([sweep(["learning", "plateau", "plateau"])]).signals
    assert fine.status == Status.HEALTHY
