"""The overfitting and verdict renderers read typed Results: the status words, a signal that
does not apply leading with its reason, context signals marked as not counted."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tunecheck.core import Signal, Status
from tunecheck.overfitting import combine
from tunecheck.render import _overfitting as ro


@pytest.fixture
def screen(monkeypatch):
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    monkeypatch.setattr(ro, "console", console)
    return console


def _lines(console: Console) -> list[str]:
    return [" ".join(line.replace("│", " ").split()) for line in console.export_text().splitlines()]


def test_an_overfitting_result_shows_each_signal_and_the_status(screen):
    signals = [Signal("output diversity", Status.NOT_APPLICABLE, "distinct_1 0.5 -> 0.1", "a closed label set", True, "tuned"),
               Signal("loss gap", Status.HEALTHY, "gap 0.05 nats/token", None, True, "tuned"),
               Signal("extraction (context)", Status.OVERFITTING, "extracted 0 -> 0.6", None, False, "tuned")]
    ro.verdict_table(combine("tuned", signals, ["the sweep result gave no signal for tuned"]).to_result())
    lines = _lines(screen)
    assert "Overfitting signals for tuned: healthy" in lines
    # not applicable: the reason first, the numbers under it; context: marked as not counted
    at = lines.index("output diversity not applicable a closed label set")
    assert lines[at + 1] == "distinct_1 0.5 -> 0.1"
    assert "extraction (context) (not counted) overfitting extracted 0 -> 0.6" in lines
    assert "Overfitting: healthy - no sign of overfitting in any of 1 applicable signals; not applicable: output diversity" in lines
    assert "note: the sweep result gave no signal for tuned" in lines
