"""One overfitting verdict from every signal that was measured, each with its evidence.

Each check's JSON result (what `--out` writes, or a report's `to_dict()`) is read as one signal
in tunecheck's three words: *regressed* means the signal shows overfitting, *improved* that it
shows healthy training, *inconclusive* that the data cannot tell. The tuned model's overall
verdict is regressed if any deciding signal is, improved only if every deciding signal measured
is, else inconclusive.

Every rule needs the CI, on both sides. The loss gap is regressed when its whole CI is above the
"high" threshold (0.5) and improved when it is all below "some" (0.2). Converged curves are
improved only if the training loss fell, at least three evaluations were logged and the logged
gap is not high. For signals compared with the base model (copying, diversity, paraphrases)
"improved" is non-inferiority: every metric's CI rules out a harm larger than a margin (2 points
for rates and changes, 10% of the base value for distinct-n and self-BLEU), so "no worse than the
base" is shown, not assumed from a CI that merely crosses zero.

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
    notes: list[str] = field(default_factory=list)
    """Results that gave no signal for this model (another model's name, an unknown layer)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": "overfitting",
            "model": self.model,
            "verdict": self.verdict.value,
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


def _from_comparisons(name: str, comps: list[Mapping[str, Any]], model: str, describe: str, *, deciding: bool = True) -> Signal | None:
    """Regressed if any metric got significantly worse than the base's; improved if every
    metric's CI rules out a harm beyond the margin (no worse than the base, not merely "not
    shown worse"); otherwise inconclusive."""
    mine = [c for c in comps if c.get("model") == model]
    if not mine:
        return None
    words = [Verdict(c["verdict"]) for c in mine]
    if Verdict.REGRESSED in words:
        verdict = Verdict.REGRESSED
    elif all(_no_worse(c) for c in mine):
        verdict = Verdict.IMPROVED
    else:
        verdict = Verdict.INCONCLUSIVE
    parts = [f"{c['metric']} {_g(c['baseline_value'])} -> {_g(c['value'])} ({c['verdict']}, CI {_ci(c.get('ci95'))})" for c in mine]
    return Signal(name, verdict, f"{describe}: " + "; ".join(parts), deciding)


def signals_from(result: Mapping[str, Any], model: str) -> list[Signal]:
    """The signals one check's result holds for `model` (and for the training run)."""
    layer = result.get("layer")
    if layer == "overfit":
        out = []
        for m in result.get("models", []):
            if m.get("model") != model:
                continue
            ci = (m.get("ci95") or {}).get("gap")
            thresholds = result.get("thresholds") or {}
            some, high = thresholds.get("some", 0.2), thresholds.get("high", 0.5)
            # symmetric: regressed only when the whole CI is above the high threshold, improved
            # only when it is all below the "some overfitting" one
            if ci and ci[0] is not None and ci[0] > high:
                v = Verdict.REGRESSED
            elif ci and ci[1] is not None and ci[1] <= some:
                v = Verdict.IMPROVED
            else:
                v = Verdict.INCONCLUSIVE
            out.append(Signal("loss gap", v, f"validation - train loss = {_g(m['gap'], '.3f')} nats/token (CI {_ci(ci)}): {m['message']}"))
        return out
    if layer == "curves":
        rec = result.get("recommendation", "")
        if result.get("best_step") is None:
            return [Signal("training curves", Verdict.INCONCLUSIVE, rec or "no validation loss in the log")]
        if result.get("diverges_at") is not None:
            return [Signal("training curves", Verdict.REGRESSED, rec)]
        gaps = [g.get("gap") for g in result.get("gap", []) if isinstance(g, Mapping)]
        last_gap = next((g for g in reversed(gaps) if isinstance(g, (int, float))), None)
        # converged is only healthy when training itself went well and there is a curve to judge
        if not result.get("train_loss_decreased"):
            return [Signal("training curves", Verdict.INCONCLUSIVE, f"training loss did not decrease properly: {rec}")]
        if len(gaps) < 3:
            return [Signal("training curves", Verdict.INCONCLUSIVE, f"only {len(gaps)} evaluation(s) logged: {rec}")]
        if last_gap is not None and last_gap > 0.5:
            return [Signal("training curves", Verdict.INCONCLUSIVE, f"no divergence, but the logged train-eval gap is {last_gap:.3g}: {rec}")]
        return [Signal("training curves", Verdict.IMPROVED, rec)]
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
    signals: list[Signal] = []
    notes: list[str] = []
    for r in results:
        got = signals_from(r, model)
        if not got:
            others = sorted(_models_in(r))
            named = f" (it names {', '.join(others)})" if others else ""
            notes.append(f"the {r.get('layer', 'unknown')!s} result gave no signal for {model}{named}")
        signals += got
    deciding = [s for s in signals if s.deciding]
    if not deciding:
        return OverfittingVerdict(model, Verdict.INCONCLUSIVE, "no overfitting check was measured for this model", signals, notes)
    bad = [s.name for s in deciding if s.verdict == Verdict.REGRESSED]
    if bad:
        return OverfittingVerdict(model, Verdict.REGRESSED, f"overfitting: {len(bad)} of {len(deciding)} signals show it ({', '.join(bad)})", signals, notes)
    if all(s.verdict == Verdict.IMPROVED for s in deciding):
        return OverfittingVerdict(model, Verdict.IMPROVED, f"no sign of overfitting in any of {len(deciding)} signals", signals, notes)
    unclear = [s.name for s in deciding if s.verdict == Verdict.INCONCLUSIVE]
    return OverfittingVerdict(model, Verdict.INCONCLUSIVE, f"no signal shows overfitting, but {', '.join(unclear)} cannot rule it out", signals, notes)
