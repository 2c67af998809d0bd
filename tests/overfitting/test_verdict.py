"""The overfitting verdict: the layers' typed signals combined by the documented rule. Each
layer's own rule (the gap's CI against its thresholds, the curves, non-inferiority against the
base...) is tested beside that layer; here Results are built with Signals directly."""

from __future__ import annotations

import pytest

from tests.schema import assert_valid_result
from tunecheck.core import Comparison, Result, Signal, Status, Verdict, load_result
from tunecheck.errors import ConfigError
from tunecheck.overfitting import RUN, combine, models_in, overfitting_verdict, signals_for

H, OVER, UNSURE, NA = Status.HEALTHY, Status.OVERFITTING, Status.INCONCLUSIVE, Status.NOT_APPLICABLE


def _result(layer: str, *signals: Signal, comparisons: tuple[Comparison, ...] = ()) -> Result:
    return Result(layer=layer, signals=list(signals), comparisons=list(comparisons))


def _sig(name: str, status: Status, model: str = "tuned", *, reason: str | None = None, deciding: bool = True) -> Signal:
    return Signal(name, status, f"{name}: the numbers", reason, deciding, model)


def _comparison(model: str, metric: str = "distinct_1") -> Comparison:
    return Comparison(metric, "base", model, 30, 0.5, 0.4, -0.1, (-0.2, -0.05), 0.01, Verdict.REGRESSED)


def test_healthy_signals_make_a_healthy_verdict_in_the_order_given():
    v = overfitting_verdict([_result("overfit", _sig("loss gap", H)), _result("curves", _sig("training curves", H, RUN))], model="tuned")
    assert v.status == H
    assert [s.name for s in v.signals] == ["loss gap", "training curves"]
    assert v.summary == "no sign of overfitting in any of 2 applicable signals"


def test_one_overfitting_signal_decides():
    v = overfitting_verdict([_result("overfit", _sig("loss gap", H)), _result("curves", _sig("training curves", OVER, RUN))], model="tuned")
    assert v.status == OVER
    assert v.summary == "1 of 2 applicable signals show overfitting (training curves)"


def test_a_healthy_signal_beside_an_inconclusive_one_is_inconclusive():
    # the rule behind the demo's headline: healthy copying does not outvote curves that cannot tell
    v = overfitting_verdict([_result("copying", _sig("verbatim copying", H)), _result("curves", _sig("training curves", UNSURE, RUN, reason="gap 0.9"))])
    assert [(s.name, s.status) for s in v.signals] == [("verbatim copying", H), ("training curves", UNSURE)]
    assert v.status == UNSURE
    assert v.summary == "no signal shows overfitting, but training curves cannot rule it out"


def test_signals_that_do_not_apply_are_shown_but_never_counted():
    labels = "the references take only 3 values: a closed label set"
    got = [_result("diversity", _sig("output diversity", NA, reason=labels)), _result("copying", _sig("verbatim copying", NA, reason=labels)),
           _result("curves", _sig("training curves", H, RUN))]
    v = overfitting_verdict(got, model="tuned")
    assert v.status == H
    assert v.summary == "no sign of overfitting in any of 1 applicable signals; not applicable: output diversity, verbatim copying"
    only = overfitting_verdict(got[1:2], model="tuned")
    assert only.status == UNSURE and only.summary == "none of the 1 signals applies to this model (verbatim copying)"


def test_context_signals_never_decide():
    extraction = _result("extraction", _sig("extraction (context)", OVER, deciding=False))
    v = overfitting_verdict([_result("overfit", _sig("loss gap", H)), extraction])
    assert v.status == H and [s.deciding for s in v.signals] == [True, False]
    alone = overfitting_verdict([extraction])
    assert alone.status == UNSURE and alone.summary == "no overfitting check was measured for this model"


def test_nothing_measured():
    v = overfitting_verdict([])
    assert (v.model, v.status, v.summary) == (RUN, UNSURE, "no overfitting check was measured for this model")


def test_other_models_need_a_name_and_unused_results_are_noted():
    results = [_result("overfit", _sig("loss gap", OVER, "a")), _result("diversity", _sig("output diversity", H, "b"), comparisons=(_comparison("b"),))]
    with pytest.raises(ConfigError, match=r"several models \(a, b\); name one with --model"):
        overfitting_verdict(results)
    v = overfitting_verdict(results, "b")
    assert v.status == H
    assert v.notes == ["the overfit result gave no signal for b (it names a)"]
    assert overfitting_verdict(results, "a").status == OVER


def test_training_run_signals_count_for_every_model_and_name_none():
    run = _result("sweep", _sig("checkpoint sweep", OVER, RUN))
    assert models_in(run) == set()
    assert overfitting_verdict([run]).model == RUN
    assert [s.name for s in overfitting_verdict([run], "x").signals] == ["checkpoint sweep"]
    assert signals_for(run, "x") == run.signals


def test_models_in_reads_comparisons_and_signals_not_baselines():
    r = _result("diversity", _sig("output diversity", H, "t1"), comparisons=(_comparison("t2"),))
    assert models_in(r) == {"t1", "t2"}


def test_combine_keeps_the_notes():
    assert combine("m", [], ["a note"]).notes == ["a note"]


def test_as_a_result_it_validates_and_reads_back(tmp_path):
    from tunecheck._io import write_json

    v = overfitting_verdict([_result("copying", _sig("verbatim copying", H)), _result("overfit", _sig("loss gap", OVER, "other"))], "tuned")
    r = v.to_result()
    assert_valid_result(r.to_dict())
    write_json(tmp_path / "o.json", r.to_dict())
    back = load_result(tmp_path / "o.json")
    assert back.layer == "overfitting" and back.model_names() == ["tuned"]
    assert back.signals == v.signals and back.warnings == ["the overfit result gave no signal for tuned (it names other)"]
    assert back.details == {"status": "healthy", "summary": "no sign of overfitting in any of 1 applicable signals"}


def test_notes_name_every_other_model_and_nothing_when_a_result_names_none():
    # a curves result about nothing (no signal) and a copying result about a and c: neither reads "tuned"
    results = [_result("curves"), _result("copying", _sig("verbatim copying", H, "a"), _sig("verbatim copying", H, "c")),
               _result("overfit", _sig("loss gap", H))]
    v = overfitting_verdict(results, "tuned")
    assert v.notes == ["the curves result gave no signal for tuned", "the copying result gave no signal for tuned (it names a, c)"]
