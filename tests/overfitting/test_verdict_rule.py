"""The overfitting verdict's combining rule (`combine`), case by case, and the signal readers no
other test reaches (sweep, membership, a comparison without a CI).

Expected values come from the rule in `overfitting/_verdict.py`'s docstring: only deciding
signals that apply count; overfitting if any shows it, healthy if every one is healthy, else
inconclusive (also when none applies); context-only signals never move the verdict.
"""

from __future__ import annotations

import itertools

import pytest

from tunecheck.overfitting import Signal, Status, combine, overfitting_verdict

HEALTHY, OVER, UNSURE, NA = Status.HEALTHY, Status.OVERFITTING, Status.INCONCLUSIVE, Status.NOT_APPLICABLE


def _s(name: str, status: Status, *, deciding: bool = True) -> Signal:
    return Signal(name, status, f"{name} evidence", None if status in (HEALTHY, OVER) else f"{name} reason", deciding)


def test_healthy_beside_inconclusive_is_inconclusive():
    # the demo's headline: loss gap, curves and sweep healthy, copying inconclusive
    v = combine("tuned", [_s("loss gap", HEALTHY), _s("training curves", HEALTHY), _s("checkpoint sweep", HEALTHY), _s("verbatim copying", UNSURE)])
    assert v.status == UNSURE
    assert v.summary == "no signal shows overfitting, but verbatim copying cannot rule it out"


def test_an_improved_comparison_beside_an_inconclusive_gap_is_inconclusive():
    # diversity improved (distinct-1 up, CI [+0.01, +0.05] above -margin): healthy; the gap's CI
    # [0.1, 0.3] is neither wholly above 0.5 nor wholly at or below 0.2: inconclusive
    diversity = {"layer": "diversity", "comparison": [{"baseline": "base", "model": "tuned", "metric": "distinct_1", "baseline_value": 0.4,
                                                       "value": 0.43, "ci95": [0.01, 0.05], "verdict": "improved", "n": 40}]}
    gap = {"layer": "overfit", "thresholds": {"high": 0.5, "some": 0.2},
           "models": [{"model": "tuned", "level": "some", "gap": 0.2, "message": "some", "ci95": {"gap": [0.1, 0.3]}}]}
    v = overfitting_verdict([diversity, gap], model="tuned")
    assert [(s.name, s.status) for s in v.signals] == [("output diversity", HEALTHY), ("loss gap", UNSURE)]
    assert v.status == UNSURE
    assert v.summary == "no signal shows overfitting, but loss gap cannot rule it out"


def test_overfitting_beside_not_applicable_is_overfitting():
    v = combine("tuned", [_s("output diversity", NA), _s("loss gap", OVER)])
    assert v.status == OVER
    # the not-applicable signal is neither counted nor hidden
    assert v.summary == "1 of 1 applicable signals show overfitting (loss gap); not applicable: output diversity"


def test_all_not_applicable_is_inconclusive():
    v = combine("tuned", [_s("output diversity", NA), _s("verbatim copying", NA)])
    assert v.status == UNSURE
    assert v.summary == "none of the 2 signals applies to this model (output diversity, verbatim copying)"


def test_healthy_beside_not_applicable_is_healthy():
    v = combine("tuned", [_s("loss gap", HEALTHY), _s("output diversity", NA)])
    assert v.status == HEALTHY
    assert v.summary == "no sign of overfitting in any of 1 applicable signals; not applicable: output diversity"


@pytest.mark.parametrize("context", [HEALTHY, OVER, UNSURE, NA])
def test_context_only_signals_never_move_the_verdict(context):
    extraction = _s("extraction (context)", context, deciding=False)
    for deciding, want in (([_s("loss gap", HEALTHY)], HEALTHY), ([_s("loss gap", OVER)], OVER), ([_s("loss gap", UNSURE)], UNSURE), ([_s("loss gap", NA)], UNSURE)):
        assert combine("tuned", [*deciding, extraction]).status == want
        assert combine("tuned", [extraction, *deciding]).summary == combine("tuned", deciding).summary
    # context alone: nothing that decides was measured
    v = combine("tuned", [extraction])
    assert (v.status, v.summary) == (UNSURE, "no overfitting check was measured for this model")
    assert v.signals == [extraction]  # still shown


def _rule(statuses: tuple[Status, ...]) -> Status:
    """The docstring's rule, written independently of `combine`."""
    counted = [s for s in statuses if s != NA]
    if OVER in counted:
        return OVER
    if counted and all(s == HEALTHY for s in counted):
        return HEALTHY
    return UNSURE


def test_every_mix_of_up_to_three_signals_follows_the_rule():
    for k in range(4):
        for statuses in itertools.product([HEALTHY, OVER, UNSURE, NA], repeat=k):
            got = combine("m", [_s(f"s{i}", st) for i, st in enumerate(statuses)]).status
            assert got == _rule(statuses), statuses


# ---- signal readers no other test reaches ---------------------------------------------------------
def test_a_comparison_without_a_ci_is_not_healthy():
    # copy rate unchanged, but the CI is unknown (stored as null): non-inferiority cannot be shown
    copy = {"layer": "regurgitation", "comparison": [{"baseline": "base", "model": "tuned", "metric": "copy_rate", "baseline_value": 0.1,
                                                      "value": 0.1, "ci95": [None, None], "verdict": "inconclusive", "n": 40}]}
    [s] = overfitting_verdict([copy], model="tuned").signals
    assert (s.status, s.reason) == (UNSURE, "the CIs do not rule out a harm beyond the margin")
    copy["comparison"][0]["ci95"] = None
    assert overfitting_verdict([copy], model="tuned").signals[0].status == UNSURE


def _sweep(*phases: str) -> dict[str, object]:
    return {"layer": "sweep", "recommendation": "use checkpoint-20", "checkpoints": [{"phase": p} for p in phases]}


def test_sweep_with_an_overfitting_checkpoint_is_overfitting_else_healthy():
    [s] = overfitting_verdict([_sweep("under-fitting", "best", "over-fitting")]).signals
    assert (s.name, s.status, s.evidence) == ("checkpoint sweep", OVER, "use checkpoint-20")
    assert overfitting_verdict([_sweep("under-fitting", "best", "near best")]).status == HEALTHY
    assert overfitting_verdict([_sweep("near best", "best")]).status == HEALTHY


def _membership(level: str, applies: bool = True) -> dict[str, object]:
    reason = None if applies else "only 4 members: too few"
    return {"layer": "membership", "models": [{"model": "tuned", "level": level, "message": f"AUROC says {level}", "applies": applies, "reason": reason},
                                              {"model": "other", "level": "high", "message": "other model", "applies": True, "reason": None}]}


@pytest.mark.parametrize(("level", "status", "reason"), [
    ("high", OVER, None),
    ("low", HEALTHY, None),
    ("unclear", UNSURE, "the AUROC is neither clearly high nor clearly low"),
])
def test_membership_levels(level, status, reason):
    v = overfitting_verdict([_membership(level)], model="tuned")
    # only the named model's entry is read
    assert [(s.name, s.status, s.evidence, s.reason) for s in v.signals] == [("membership signal", status, f"AUROC says {level}", reason)]
    assert v.status == status


def test_membership_that_does_not_apply_keeps_its_reason():
    v = overfitting_verdict([_membership("high", applies=False)], model="tuned")
    assert [(s.status, s.reason) for s in v.signals] == [(NA, "only 4 members: too few")]
    assert v.status == UNSURE


def test_a_loss_gap_that_does_not_apply_and_an_unknown_layer():
    gap = {"layer": "overfit", "thresholds": {"high": 0.5, "some": 0.2},
           "models": [{"model": "tuned", "level": "high", "gap": 0.9, "message": "high", "ci95": {"gap": [0.8, 1.0]},
                       "applies": False, "reason": "only 3 documents in the smaller of the two sets"}]}
    v = overfitting_verdict([gap, {"layer": "generate"}], model="tuned")
    # the CI is wholly above 0.5, but the check does not apply: it never says overfitting
    assert [(s.name, s.status, s.reason) for s in v.signals] == [("loss gap", NA, "only 3 documents in the smaller of the two sets")]
    assert v.status == UNSURE
    assert v.notes == ["the generate result gave no signal for tuned"]
