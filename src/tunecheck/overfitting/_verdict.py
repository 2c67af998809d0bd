"""One overfitting verdict from every signal that was measured, each with its evidence.

Each check's JSON result (what `--out` writes, or a report's `to_dict()`) is read as one signal
in tunecheck's three words: *regressed* means the signal shows overfitting, *improved* that it
shows healthy training (e.g. the curves converged, diversity held up or rose), *inconclusive*
that the data cannot tell. The tuned model's overall verdict is regressed if any deciding
signal is, improved only if every deciding signal measured is, else inconclusive.

Deciding signals: the train/validation loss gap, curve divergence, the checkpoint sweep,
verbatim copying of training text in outputs, a drop in output diversity, paraphrase
sensitivity, and a high membership AUROC. Extraction of training continuations is shown as
context but does not decide: reproducing its training answers to its training prompts is what
a fine-tune is for; copying them into answers to *new* prompts (the copying signal) is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tunecheck.core import Verdict
from tunecheck.errors import ConfigError

RUN = "training run"
"""Signals from training logs and checkpoint sweeps concern the run, whichever model it made."""


@dataclass(frozen=True)
class Signal:
    name: str
    """Which check: "loss gap", "training curves", "checkpoint sweep", "verbatim copying", ..."""
    verdict: Verdict
    evidence: str
    """One line with the numbers behind the verdict."""
    deciding: bool = True
    """False for context-only signals (extraction), which never move the overall verdict."""

    def to_dict(self) -> dict[str, Any]:
        return {"signal": self.name, "verdict": self.verdict.value, "evidence": self.evidence, "deciding": self.deciding}


@dataclass
class OverfittingVerdict:
    model: str
    verdict: Verdict
    summary: str
    signals: list[Signal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": "overfitting",
            "model": self.model,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "signals": [s.to_dict() for s in self.signals],
        }


def _ci(ci: Any) -> str:
    return f"[{ci[0]:+.3g}, {ci[1]:+.3g}]" if ci else "[n/a]"


def _from_comparisons(name: str, comps: list[Mapping[str, Any]], model: str, describe: str, *, deciding: bool = True) -> Signal | None:
    mine = [c for c in comps if c.get("model") == model]
    if not mine:
        return None
    words = [Verdict(c["verdict"]) for c in mine]
    verdict = Verdict.REGRESSED if Verdict.REGRESSED in words else (
        Verdict.IMPROVED if all(w == Verdict.IMPROVED for w in words) else Verdict.INCONCLUSIVE
    )
    parts = [f"{c['metric']} {c['baseline_value']:.3g} -> {c['value']:.3g} ({c['verdict']}, CI {_ci(c.get('ci95'))})" for c in mine]
    return Signal(name, verdict, f"{describe}: " + "; ".join(parts), deciding)


def signals_from(result: Mapping[str, Any], model: str) -> list[Signal]:
    """The signals one check's result holds for `model` (and for the training run)."""
    layer = result.get("layer")
    if layer == "overfit":
        out = []
        for m in result.get("models", []):
            if m.get("model") != model:
                continue
            hi = (m.get("ci95") or {}).get("gap")
            some = (result.get("thresholds") or {}).get("some", 0.2)
            if m["level"] == "high":
                v = Verdict.REGRESSED
            elif hi is not None and hi[1] <= some:
                v = Verdict.IMPROVED
            else:
                v = Verdict.INCONCLUSIVE
            out.append(Signal("loss gap", v, f"validation - train loss = {m['gap']:.3f} nats/token (CI {_ci(hi)}): {m['message']}"))
        return out
    if layer == "curves":
        if result.get("best_step") is None:
            return [Signal("training curves", Verdict.INCONCLUSIVE, result.get("recommendation", "no validation loss in the log"))]
        if result.get("diverges_at") is not None:
            return [Signal("training curves", Verdict.REGRESSED, result["recommendation"])]
        return [Signal("training curves", Verdict.IMPROVED, result["recommendation"])]
    if layer == "sweep":
        phases = [c["phase"] for c in result.get("checkpoints", [])]
        v = Verdict.REGRESSED if "over-fitting" in phases else Verdict.IMPROVED
        return [Signal("checkpoint sweep", v, result["recommendation"])]
    if layer == "regurgitation":
        s = _from_comparisons("verbatim copying", result.get("comparison", []), model, "outputs copying training text")
        if s is None:
            return []
        return [s]
    if layer == "diversity":
        s = _from_comparisons("output diversity", result.get("comparison", []), model, "diversity vs the base")
        return [s] if s else []
    if layer == "rephrase":
        s = _from_comparisons("paraphrase sensitivity", result.get("comparison", []), model, "change on paraphrased prompts vs the base's change")
        return [s] if s else []
    if layer == "extraction":
        s = _from_comparisons("extraction (context)", result.get("comparison", []), model, "training continuations reproduced", deciding=False)
        return [s] if s else []
    if layer == "membership":
        out = []
        for m in result.get("models", []):
            if m.get("model") != model:
                continue
            v = {"high": Verdict.REGRESSED, "low": Verdict.IMPROVED}.get(m["level"], Verdict.INCONCLUSIVE)
            out.append(Signal("membership signal", v, m["message"]))
        return out
    return []


def _models_in(result: Mapping[str, Any]) -> set[str]:
    names = {c.get("model") for c in result.get("comparison", []) if isinstance(c, Mapping)}
    if result.get("layer") in ("overfit", "membership"):
        names |= {m.get("model") for m in result.get("models", []) if isinstance(m, Mapping)}
    return {n for n in names if isinstance(n, str)}


def overfitting_verdict(results: Iterable[Mapping[str, Any]], model: str | None = None) -> OverfittingVerdict:
    """Combine the checks' results into one verdict for `model` (default: the only tuned model
    they mention)."""
    results = list(results)
    if model is None:
        names = set().union(*(_models_in(r) for r in results)) if results else set()
        if len(names) > 1:
            raise ConfigError(f"the results cover several models ({', '.join(sorted(names))}); name one with --model")
        model = next(iter(names), RUN)
    signals = [s for r in results for s in signals_from(r, model)]
    deciding = [s for s in signals if s.deciding]
    if not deciding:
        return OverfittingVerdict(model, Verdict.INCONCLUSIVE, "no overfitting check was measured for this model", signals)
    bad = [s.name for s in deciding if s.verdict == Verdict.REGRESSED]
    if bad:
        return OverfittingVerdict(model, Verdict.REGRESSED, f"overfitting: {len(bad)} of {len(deciding)} signals show it ({', '.join(bad)})", signals)
    if all(s.verdict == Verdict.IMPROVED for s in deciding):
        return OverfittingVerdict(model, Verdict.IMPROVED, f"no sign of overfitting in any of {len(deciding)} signals", signals)
    unclear = [s.name for s in deciding if s.verdict == Verdict.INCONCLUSIVE]
    return OverfittingVerdict(model, Verdict.INCONCLUSIVE, f"no signal shows overfitting, but {', '.join(unclear)} cannot rule it out", signals)
