"""The overfitting verdict's combining rule (`combine`), case by case (each layer's own signal
rule is tested beside it: tests/overfitting/test_signals.py, test_gap.py, test_curves.py, ...).

Expected values come from the rule in `overfitting/_verdict.py`'s docstring: only deciding
signals that apply count; overfitting if any shows it, healthy if every one is healthy, else
inconclusive (also when none applies); context-only signals never move the verdict.
"""

from __future__ import annotations

import itertools

import pytest

from tunecheck.overfitting import Signal, Status, combine

HEALTHY, OVER, UNSURE, NA = Status.HEALTHY, Status.OVERFITTING, Status.INCONCLUSIVE, Status.NOT_APPLICABLE


def _s(name: str, status: Status, *, deciding: bool = True) -> Signal:
    return Signal(name, status, f"{name} evidence", None if status in (HEALTHY, OVER) else f"{name} reason", deciding)


def test_healthy_beside_inconclusive_is_inconclusive():
    # the demo's headline: loss gap, curves and sweep healthy, copying inconclusive
    v = combine("tuned", [_s("loss gap", HEALTHY), _s("training curves", HEALTHY), _s("checkpoint sweep", HEALTHY), _s("verbatim copying", UNSURE)])
    assert v.status == UNSURE
    assert v.summary == "no signal shows overfitting, but verbatim copying cannot rule it out"


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


# Mutation-testing cases (tests/MUTANTS.md): each branch keeps the model, the signals and the notes,
# and lists several names with ", ".


@pytest.mark.parametrize(("statuses", "status", "summary"), [
    ((NA, NA), UNSURE, "none of the 2 signals applies to this model (s0, s1)"),
    ((OVER, HEALTHY, OVER), OVER, "2 of 3 applicable signals show overfitting (s0, s2)"),
    ((UNSURE, HEALTHY, UNSURE, NA), UNSURE, "no signal shows overfitting, but s0, s2 cannot rule it out; not applicable: s3"),
    ((HEALTHY, HEALTHY), HEALTHY, "no sign of overfitting in any of 2 applicable signals"),
])
def test_every_branch_keeps_model_signals_and_notes(statuses, status, summary):
    signals = [_s(f"s{i}", st) for i, st in enumerate(statuses)]
    v = combine("tuned", signals, ["a note"])
    assert (v.model, v.status, v.summary, v.signals, v.notes) == ("tuned", status, summary, signals, ["a note"])
