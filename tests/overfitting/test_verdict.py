"""The overfitting verdict: each check's result read as a signal, combined by the documented
rule; fed both hand-written payloads (for the edges) and real reports' `to_dict()`."""

from __future__ import annotations

import json

import pytest

from tunecheck.core import Verdict
from tunecheck.errors import ConfigError
from tunecheck.overfitting import (
    CurvePoint,
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


def test_healthy_run_is_improved():
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), _curves(CONVERGED)], model="tuned")
    assert v.verdict == Verdict.IMPROVED
    assert [s.name for s in v.signals] == ["loss gap", "training curves"]


def test_real_divergence_makes_it_regressed():
    curves = _curves(DIVERGED)
    assert curves["diverges_at"] is not None
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), curves], model="tuned")
    assert v.verdict == Verdict.REGRESSED
    assert "1 of 2" in v.summary and "training curves" in v.summary


def test_loss_gap_needs_its_whole_ci_past_a_threshold():
    # 0.9 is "high", but a CI reaching 0.1 cannot show it: inconclusive, not regressed
    assert overfitting_verdict([_overfit("high", 0.9, [0.1, 1.7])]).verdict == Verdict.INCONCLUSIVE
    assert overfitting_verdict([_overfit("high", 0.9, [0.6, 1.2])]).verdict == Verdict.REGRESSED
    # 0.15 is under 0.2 but its CI reaches 0.25: "none" cannot be claimed either
    assert overfitting_verdict([_overfit("none", 0.15, [0.05, 0.25])]).verdict == Verdict.INCONCLUSIVE


def test_converged_curves_are_improved_only_when_training_went_well():
    rising = {10: (1.0, 2.1), 20: (1.5, 1.6), 30: (2.0, 1.3), 40: (2.5, 1.15), 50: (3.0, 1.1)}
    v = overfitting_verdict([_curves(rising)], model="tuned")
    assert v.verdict == Verdict.INCONCLUSIVE and "did not decrease" in v.signals[0].evidence
    two_evals = {10: (2.0, 2.1), 20: (1.0, 1.6)}
    assert overfitting_verdict([_curves(two_evals)], model="tuned").verdict == Verdict.INCONCLUSIVE
    no_eval = {10: (2.0, None), 20: (1.0, None)}
    assert overfitting_verdict([_curves(no_eval)], model="tuned").verdict == Verdict.INCONCLUSIVE


def test_compared_signals_need_non_inferiority_for_improved():
    # copy rate 0.10 -> 0.10, CI [-0.05, +0.05]: a rise of up to 5 points is not ruled out (margin 2)
    wide = _paired("regurgitation", "copy_rate", "inconclusive", [-0.05, 0.05], base=0.1, value=0.1)
    assert overfitting_verdict([wide]).verdict == Verdict.INCONCLUSIVE
    # CI [-0.03, +0.01]: any rise above 1 point is ruled out: no worse than the base
    tight = _paired("regurgitation", "copy_rate", "inconclusive", [-0.03, 0.01], base=0.1, value=0.09)
    assert overfitting_verdict([tight]).verdict == Verdict.IMPROVED
    # distinct-2 base 0.40: margin 10% = 0.04; CI of the change [-0.03, +0.02] rules out a 0.04 drop
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", [-0.03, 0.02], base=0.4)]).verdict == Verdict.IMPROVED
    assert overfitting_verdict([_paired("diversity", "distinct_2", "inconclusive", [-0.06, 0.02], base=0.4)]).verdict == Verdict.INCONCLUSIVE
    assert overfitting_verdict([_paired("diversity", "distinct_2", "regressed", [-0.2, -0.1], base=0.4)]).verdict == Verdict.REGRESSED


def test_context_signals_never_decide():
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), _paired("extraction", "extracted", "regressed", [0.3, 0.5])])
    assert v.verdict == Verdict.IMPROVED
    assert [s.deciding for s in v.signals] == [True, False]


def test_nothing_measured():
    assert overfitting_verdict([]).verdict == Verdict.INCONCLUSIVE


def test_other_models_need_a_name_and_unused_results_are_noted():
    results = [_overfit("high", 0.9, [0.8, 1.0], model="a"), _paired("diversity", "distinct_1", "improved", [0.01, 0.05], model="b")]
    with pytest.raises(ConfigError, match="name one with --model"):
        overfitting_verdict(results)
    v = overfitting_verdict(results, "b")
    assert v.verdict == Verdict.IMPROVED
    assert v.notes == ["the overfit result gave no signal for b (it names a)"]
    assert overfitting_verdict(results, "a").verdict == Verdict.REGRESSED


def test_real_diversity_payload_with_undefined_metrics(tmp_path):
    # one-word answers: distinct-2/3 are undefined (NaN, stored as null) and must not crash
    for name in ("base", "tuned"):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"id": str(i), "model": name, "output": "yes" if i % 2 else "no"}) + "\n" for i in range(30)))
    from tunecheck import _io

    payload = _io.clean(compare_diversity([str(tmp_path / "base.jsonl"), str(tmp_path / "tuned.jsonl")]).to_dict())
    v = overfitting_verdict([payload], model="tuned")
    assert v.verdict == Verdict.INCONCLUSIVE and "n/a" in v.signals[0].evidence
