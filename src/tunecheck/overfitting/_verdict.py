"""One overfitting verdict from every signal that was measured, each with its evidence.

Each check's JSON result (what `--out` writes, or a report's `to_dict()`) is read as one signal
with a status of its own: *overfitting* (the signal shows it), *healthy* (it shows healthy
training), *inconclusive* (the data cannot tell) or *not applicable* (the check cannot measure
this model: too few samples, a closed label set, outputs shorter than the copying span; the
reason is given). improved / regressed stay the words for a model against its baseline.

The overall status counts only deciding signals that apply: *overfitting* if any shows it,
*healthy* if every one is healthy, else *inconclusive* (also when none applies). A signal that
does not apply is shown with its reason and never moves the verdict: a classifier's distinct-1
falls because it answers with one label word, which is what it was tuned to do.

Every rule needs the CI, on both sides. The loss gap shows overfitting when its whole CI is
above the "high" threshold (0.5) and is healthy when it is all below "some" (0.2). Converged
curves are healthy only if the training loss fell, at least three evaluations were logged and
the logged gap is not high. For signals compared with the base model (copying, diversity,
paraphrases) "healthy" is non-inferiority: every metric's CI rules out a harm larger than a
margin (2 points for rates and changes, 10% of the base value for distinct-n and self-BLEU), so
"no worse than the base" is shown, not assumed from a CI that merely crosses zero.

Deciding signals: the train/validation loss gap, curve divergence, the checkpoint sweep,
verbatim copying of training text in outputs, a drop in output diversity, paraphrase
sensitivity, and a high membership AUROC. Extraction of training continuations is shown as
context but does not decide: reproducing its training answers to its training prompts is what
a fine-tune is for; copying them into answers to *new* prompts (the copying signal) is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tunecheck.core import Verdict
from tunecheck.errors import ConfigError
from tunecheck.overfitting._applies import MIN_SAMPLES


class Status(str, Enum):
    """What an overfitting signal (or all of them) says about the fine-tune."""

    HEALTHY = "healthy"
    OVERFITTING = "overfitting"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"


RUN = "training run"
"""Signals from training logs and checkpoint sweeps concern the run, whichever model it made."""
OVERFITTING_LAYERS = ("overfit", "curves", "sweep", "regurgitation", "diversity", "rephrase", "extraction", "membership")
"""The layers whose results hold overfitting signals."""


@dataclass(frozen=True)
class Signal:
    name: str
    """Which check: "loss gap", "training curves", "checkpoint sweep", "verbatim copying", ..."""
    status: Status
    evidence: str
    """One line with the numbers behind the status."""
    reason: str | None = None
    """Why the signal does not apply (or cannot decide); None when it decides."""
    deciding: bool = True
    """False for context-only signals (extraction), which never move the overall verdict."""

    def to_dict(self) -> dict[str, Any]:
        return {"signal": self.name, "status": self.status.value, "reason": self.reason, "evidence": self.evidence, "deciding": self.deciding}


@dataclass
class OverfittingVerdict:
    model: str
    status: Status
    summary: str
    signals: list[Signal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Results that gave no signal for this model (another model's name, an unknown layer)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": "overfitting",
            "model": self.model,
            "status": self.status.value,
            "summary": self.summary,
            "signals": [s.to_dict() for s in self.signals],
            "notes": list(self.notes),
        }


def _g(x: Any, fmt: str = ".3g") -> str:
    return format(x, fmt) if isinstance(x, (int, float)) else "n/a"  # NaN is stored as null


def _ci(ci: Any) -> str:
    return f"[{_g(ci[0], '+.3g')}, {_g(ci[1], '+.3g')}]" if ci else "[n/a]"


_LOWER_IS_BETTER = {"copy_rate", "copied_share", "self_bleu", "extracted", "prefix_match", "token_match"}
_ABSOLUTE_MARGIN = 0.02
"""Non-inferiority margin for rates and per-sample changes: 2 points."""
_RELATIVE_MARGIN = 0.10
"""For distinct-n and self-BLEU, whose scale depends on output length: 10% of the base value."""


def _margin(c: Mapping[str, Any]) -> float:
    metric = str(c["metric"])
    if metric in ("copy_rate", "copied_share") or metric.endswith("_change") or metric in _LOWER_IS_BETTER - {"self_bleu"}:
        return _ABSOLUTE_MARGIN
    base = c.get("baseline_value")
    return max(_ABSOLUTE_MARGIN, _RELATIVE_MARGIN * abs(base)) if isinstance(base, (int, float)) else _ABSOLUTE_MARGIN


def _no_worse(c: Mapping[str, Any]) -> bool:
    """Non-inferiority: the CI rules out a harm larger than the margin."""
    ci = c.get("ci95")
    if not ci or ci[0] is None or ci[1] is None:
        return False
    return bool(ci[1] <= _margin(c)) if c["metric"] in _LOWER_IS_BETTER else bool(ci[0] >= -_margin(c))


def _model_entry(result: Mapping[str, Any], model: str) -> Mapping[str, Any]:
    return next((m for m in result.get("models", []) if isinstance(m, Mapping) and m.get("model") == model), {})


def _not_applicable(entry: Mapping[str, Any]) -> str | None:
    """The reason a layer gave for its check not applying to this model (results written before
    layers said so apply)."""
    if entry.get("applies", True) is False:
        return str(entry.get("reason") or "the check does not apply to this model")
    return None


def _from_comparisons(name: str, result: Mapping[str, Any], model: str, describe: str, *, deciding: bool = True) -> Signal | None:
    """Overfitting if any metric got significantly worse than the base's; healthy if every
    metric's CI rules out a harm beyond the margin (no worse than the base, not merely "not
    shown worse"); otherwise inconclusive. Not applicable when the layer says so for this model
    or fewer than MIN_SAMPLES samples were paired."""
    mine = [c for c in result.get("comparison", []) if isinstance(c, Mapping) and c.get("model") == model]
    if not mine:
        return None
    parts = [f"{c['metric']} {_g(c['baseline_value'])} -> {_g(c['value'])} ({c['verdict']}, CI {_ci(c.get('ci95'))})" for c in mine]
    evidence = f"{describe}: " + "; ".join(parts)
    reason = _not_applicable(_model_entry(result, model))
    paired = [c["n"] for c in mine if isinstance(c.get("n"), int)]
    if reason is None and paired and min(paired) < MIN_SAMPLES:
        reason = f"only {min(paired)} samples paired with the base: too few to judge (at least {MIN_SAMPLES} needed)"
    if reason:
        return Signal(name, Status.NOT_APPLICABLE, evidence, reason, deciding)
    words = [Verdict(c["verdict"]) for c in mine]
    if Verdict.REGRESSED in words:
        return Signal(name, Status.OVERFITTING, evidence, None, deciding)
    if all(_no_worse(c) for c in mine):
        return Signal(name, Status.HEALTHY, evidence, None, deciding)
    return Signal(name, Status.INCONCLUSIVE, evidence, "the CIs do not rule out a harm beyond the margin", deciding)


def _gap_signals(result: Mapping[str, Any], model: str) -> list[Signal]:
    out = []
    for m in result.get("models", []):
        if m.get("model") != model:
            continue
        ci = (m.get("ci95") or {}).get("gap")
        thresholds = result.get("thresholds") or {}
        some, high = thresholds.get("some", 0.2), thresholds.get("high", 0.5)
        evidence = f"validation - train loss = {_g(m['gap'], '.3f')} nats/token (CI {_ci(ci)}): {m['message']}"
        reason = _not_applicable(m)
        # symmetric: overfitting only when the whole CI is above the high threshold, healthy
        # only when it is all below the "some overfitting" one
        if reason:
            out.append(Signal("loss gap", Status.NOT_APPLICABLE, evidence, reason))
        elif ci and ci[0] is not None and ci[0] > high:
            out.append(Signal("loss gap", Status.OVERFITTING, evidence))
        elif ci and ci[1] is not None and ci[1] <= some:
            out.append(Signal("loss gap", Status.HEALTHY, evidence))
        else:
            out.append(Signal("loss gap", Status.INCONCLUSIVE, evidence, f"the CI is not wholly above {high:g} nor below {some:g}"))
    return out


def _curve_signals(result: Mapping[str, Any]) -> list[Signal]:
    name, rec = "training curves", result.get("recommendation", "")
    if result.get("best_step") is None:
        return [Signal(name, Status.NOT_APPLICABLE, rec, "no validation loss in the log")]
    if result.get("diverges_at") is not None:
        return [Signal(name, Status.OVERFITTING, rec)]
    gaps = [g.get("gap") for g in result.get("gap", []) if isinstance(g, Mapping)]
    last_gap = next((g for g in reversed(gaps) if isinstance(g, (int, float))), None)
    # converged is only healthy when training itself went well and there is a curve to judge
    if len(gaps) < 3:
        return [Signal(name, Status.NOT_APPLICABLE, rec, f"only {len(gaps)} evaluation(s) logged: too few to see a divergence")]
    if not result.get("train_loss_decreased"):
        return [Signal(name, Status.INCONCLUSIVE, rec, "the training loss did not decrease properly")]
    if last_gap is not None and last_gap > 0.5:
        return [Signal(name, Status.INCONCLUSIVE, rec, f"no divergence, but the logged train-eval gap is {last_gap:.3g}")]
    return [Signal(name, Status.HEALTHY, rec)]


def signals_from(result: Mapping[str, Any], model: str) -> list[Signal]:
    """The signals one check's result holds for `model` (and for the training run)."""
    layer = result.get("layer")
    if layer == "overfit":
        return _gap_signals(result, model)
    if layer == "curves":
        return _curve_signals(result)
    if layer == "sweep":
        checkpoints = result.get("checkpoints", [])
        rec = str(result.get("recommendation", ""))
        if len(checkpoints) < 2:
            return [Signal("checkpoint sweep", Status.NOT_APPLICABLE, rec, f"only {len(checkpoints)} checkpoint(s): no curve to place them on")]
        over = "over-fitting" in [c.get("phase") for c in checkpoints]
        return [Signal("checkpoint sweep", Status.OVERFITTING if over else Status.HEALTHY, rec)]
    described = {
        "regurgitation": ("verbatim copying", "outputs copying training text", True),
        "diversity": ("output diversity", "diversity vs the base", True),
        "rephrase": ("paraphrase sensitivity", "change on paraphrased prompts vs the base's change", True),
        "extraction": ("extraction (context)", "training continuations reproduced", False),
    }
    if layer in described:
        name, describe, deciding = described[str(layer)]
        s = _from_comparisons(name, result, model, describe, deciding=deciding)
        return [s] if s else []
    if layer == "membership":
        out = []
        for m in result.get("models", []):
            if m.get("model") != model:
                continue
            reason = _not_applicable(m)
            status = Status.NOT_APPLICABLE if reason else {"high": Status.OVERFITTING, "low": Status.HEALTHY}.get(m["level"], Status.INCONCLUSIVE)
            if status == Status.INCONCLUSIVE:
                reason = "the AUROC is neither clearly high nor clearly low"
            out.append(Signal("membership signal", status, m["message"], reason))
        return out
    return []


def models_in(result: Mapping[str, Any]) -> set[str]:
    """The tuned models a result judges: those compared with a baseline, and the models of the
    layers that measure each model on its own (overfit, membership)."""
    names = {c.get("model") for c in result.get("comparison", []) if isinstance(c, Mapping)}
    if result.get("layer") in ("overfit", "membership"):
        names |= {m.get("model") for m in result.get("models", []) if isinstance(m, Mapping)}
    return {n for n in names if isinstance(n, str)}


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


def overfitting_verdict(results: Iterable[Mapping[str, Any]], model: str | None = None) -> OverfittingVerdict:
    """Combine the checks' results into one verdict for `model` (default: the only tuned model
    they mention)."""
    results = list(results)
    if model is None:
        names = set().union(*(models_in(r) for r in results)) if results else set()
        if len(names) > 1:
            raise ConfigError(f"the results cover several models ({', '.join(sorted(names))}); name one with --model")
        model = next(iter(names), RUN)
    signals: list[Signal] = []
    notes: list[str] = []
    for r in results:
        got = signals_from(r, model)
        if not got:
            others = sorted(models_in(r))
            named = f" (it names {', '.join(others)})" if others else ""
            notes.append(f"the {r.get('layer', 'unknown')!s} result gave no signal for {model}{named}")
        signals += got
    return combine(model, signals, notes)
