"""One overfitting verdict from every signal that was measured, each with its evidence.

Each check that is an overfitting check (the loss gap, curves, the sweep, copying, diversity,
paraphrases, extraction, membership) puts its own `core.Signal`s in its `Result`, one per
model it reads (or for the training run), with a status of its own: *overfitting* (the signal
shows it), *healthy* (it shows healthy training), *inconclusive* (the data cannot tell) or *not
applicable* (the check cannot measure this model: too few samples, a closed label set, outputs
shorter than the copying span; the reason is given). Each layer holds its rule beside the
numbers it reads; this module only combines. improved / regressed stay the words for a model
against its baseline.

The overall status counts only deciding signals that apply: *overfitting* if any shows it,
*healthy* if every one is healthy, else *inconclusive* (also when none applies). A signal that
does not apply is shown with its reason and never moves the verdict: a classifier's distinct-1
falls because it answers with one label word, which is what it was tuned to do. Extraction of
training continuations is context (`deciding=False`): reproducing its training answers to its
training prompts is what a fine-tune is for; copying them into answers to *new* prompts (the
copying signal) is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tunecheck.core import ModelInfo, Result, Signal, Status
from tunecheck.errors import ConfigError

RUN = "training run"
"""Signals from training logs and checkpoint sweeps concern the run, whichever model it made."""
OVERFITTING_LAYERS = ("overfit", "curves", "sweep", "copying", "diversity", "rephrase", "extraction", "membership")
"""The layers whose results hold overfitting signals."""


@dataclass
class OverfittingVerdict:
    """Every signal read for one model, and the status the documented rule gives them."""

    model: str
    status: Status
    summary: str
    signals: list[Signal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Results that gave no signal for this model (another model's name, another layer)."""

    def to_result(self) -> Result:
        """As a stored result (layer "overfitting"): the signals, with status and summary in details."""
        return Result(layer="overfitting", models=[ModelInfo(self.model)], signals=list(self.signals), warnings=list(self.notes),
                      details={"status": self.status.value, "summary": self.summary})


def models_in(result: Result) -> set[str]:
    """The tuned models a result judges: those compared with a baseline and those its signals
    read (not the training run)."""
    names = {c.model for c in result.comparisons} | {s.model for s in result.signals}
    return {n for n in names if n and n != RUN}


def signals_for(result: Result, model: str) -> list[Signal]:
    """The signals a result holds for `model`, and those about the training run."""
    return [s for s in result.signals if s.model in (model, RUN)]


def combine(model: str, signals: list[Signal], notes: list[str] | None = None) -> OverfittingVerdict:
    """The documented rule over signals: only deciding signals that apply count."""
    notes = list(notes or [])
    deciding = [s for s in signals if s.deciding]
    if not deciding:
        return OverfittingVerdict(model, Status.INCONCLUSIVE, "no overfitting check was measured for this model", signals, notes)
    counted = [s for s in deciding if s.status != Status.NOT_APPLICABLE]
    skipped = [s.name for s in deciding if s.status == Status.NOT_APPLICABLE]
    aside = f"; not applicable: {', '.join(skipped)}" if skipped else ""
    if not counted:
        return OverfittingVerdict(model, Status.INCONCLUSIVE, f"none of the {len(deciding)} signals applies to this model ({', '.join(skipped)})", signals, notes)
    bad = [s.name for s in counted if s.status == Status.OVERFITTING]
    if bad:
        return OverfittingVerdict(model, Status.OVERFITTING, f"{len(bad)} of {len(counted)} applicable signals show overfitting ({', '.join(bad)}){aside}", signals, notes)
    if all(s.status == Status.HEALTHY for s in counted):
        return OverfittingVerdict(model, Status.HEALTHY, f"no sign of overfitting in any of {len(counted)} applicable signals{aside}", signals, notes)
    unclear = [s.name for s in counted if s.status == Status.INCONCLUSIVE]
    return OverfittingVerdict(model, Status.INCONCLUSIVE, f"no signal shows overfitting, but {', '.join(unclear)} cannot rule it out{aside}", signals, notes)


def overfitting_verdict(results: Iterable[Result], model: str | None = None) -> OverfittingVerdict:
    """Combine the checks' results into one verdict for `model` (default: the only tuned model
    they judge; the training run when they judge none)."""
    results = list(results)
    if model is None:
        names = set().union(*(models_in(r) for r in results)) if results else set()
        if len(names) > 1:
            raise ConfigError(f"the results cover several models ({', '.join(sorted(names))}); name one with --model")
        model = next(iter(names), RUN)
    signals: list[Signal] = []
    notes: list[str] = []
    for r in results:
        got = signals_for(r, model)
        if not got:
            others = sorted(models_in(r))
            named = f" (it names {', '.join(others)})" if others else ""
            notes.append(f"the {r.layer} result gave no signal for {model}{named}")
        signals += got
    return combine(model, signals, notes)
