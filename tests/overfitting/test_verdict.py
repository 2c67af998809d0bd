"""The overfitting verdict: each check's result read as a signal, combined by the documented rule."""

from __future__ import annotations

import pytest

from tunecheck.core import Verdict
from tunecheck.errors import ConfigError
from tunecheck.overfitting import overfitting_verdict


def _overfit(level, gap, ci, model="tuned"):
    msg = {"none": "no overfitting detected", "some": "some overfitting present (acceptable)", "high": "high probability of overfitting"}[level]
    return {"layer": "overfit", "thresholds": {"high": 0.5, "some": 0.2},
            "models": [{"model": model, "level": level, "gap": gap, "message": msg, "ci95": {"gap": ci}}]}


def _curves(diverges_at, best_step=100):
    return {"layer": "curves", "best_step": best_step, "diverges_at": diverges_at, "recommendation": f"stop at step {best_step}"}


def _paired(layer, metric, verdict, model="tuned"):
    return {"layer": layer, "comparison": [{"baseline": "base", "model": model, "metric": metric, "baseline_value": 0.5,
                                            "value": 0.4, "ci95": [-0.2, -0.01], "verdict": verdict}]}


def test_healthy_run_is_improved():
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), _curves(None)])
    assert v.verdict == Verdict.IMPROVED and v.model == "tuned"
    assert [s.name for s in v.signals] == ["loss gap", "training curves"]


def test_any_deciding_signal_showing_overfitting_makes_it_regressed():
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), _curves(1200), _paired("diversity", "distinct_2", "inconclusive")])
    assert v.verdict == Verdict.REGRESSED
    assert "1 of 3" in v.summary and "training curves" in v.summary


def test_a_gap_whose_ci_reaches_the_threshold_is_inconclusive():
    # gap 0.15 is under 0.2 but its CI reaches 0.25: "none" cannot be claimed
    v = overfitting_verdict([_overfit("none", 0.15, [0.05, 0.25])])
    assert v.verdict == Verdict.INCONCLUSIVE and "loss gap" in v.summary


def test_context_signals_never_decide():
    v = overfitting_verdict([_overfit("none", 0.05, [0.01, 0.09]), _paired("extraction", "extracted", "regressed")])
    assert v.verdict == Verdict.IMPROVED
    assert [s.deciding for s in v.signals] == [True, False]


def test_no_curves_eval_and_nothing_measured():
    v = overfitting_verdict([_curves(None, best_step=None)])
    assert v.verdict == Verdict.INCONCLUSIVE
    assert overfitting_verdict([]).verdict == Verdict.INCONCLUSIVE


def test_signals_of_other_models_are_ignored_and_several_models_need_a_name():
    results = [_overfit("high", 0.9, [0.8, 1.0], model="a"), _paired("diversity", "distinct_1", "improved", model="b")]
    with pytest.raises(ConfigError, match="name one with --model"):
        overfitting_verdict(results)
    assert overfitting_verdict(results, "b").verdict == Verdict.IMPROVED
    assert overfitting_verdict(results, "a").verdict == Verdict.REGRESSED
