"""Did the fine-tune work? Three answers from every layer's stored results, each with evidence.

1. **Task**: did the task get better? From `score` results: each task metric against the
   baseline, Holm-adjusted as `score` reported it. Improved if at least one metric improved
   and none regressed, regressed in the mirror case, inconclusive if none changed beyond its
   CI or they disagree. Perplexity on the task's own data is shown beside them; it decides
   only when no `score` result was given. An `overlap` result adds a caveat when eval rows
   overlap the training data (the score may then be inflated).
2. **General ability**: did it hold? From perplexity results on general text. Which text is
   general cannot be read from a result (task data can be plain text too, and completion-only
   is only a hint), so the user says it: a result given with the `general` role
   (`--general FILE`). Regressed when perplexity on general text rose beyond its CI.
3. **Overfitting**: is it overfitting or memorising? The overfitting signals, in their own
   words (healthy / overfitting / inconclusive / not applicable; `overfitting_verdict`).

A pure function over the results' JSON (what each command writes with `--out`): the CLI only
loads files and renders. A result given twice is refused, not deduplicated: the same file twice
is almost always a slip for another file, and dropping it quietly would hide that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunecheck.core import Verdict
from tunecheck.errors import ConfigError
from tunecheck.overfitting import (
    OVERFITTING_LAYERS,
    RUN,
    OverfittingVerdict,
    combine,
    models_in,
    signals_from,
)

TASK, GENERAL = "task", "general"


@dataclass(frozen=True)
class Result:
    """One layer's result and how to read it."""

    payload: Mapping[str, Any]
    """The JSON a command wrote with --out (or a report's to_dict())."""
    source: str = ""
    """Where it came from (a file name), for the evidence and messages."""
    role: str = TASK
    """"general" for perplexity on general text (did general ability hold?); "task" otherwise."""


@dataclass(frozen=True)
class Evidence:
    """One compared metric behind an answer."""

    source: str
    layer: str
    metric: str
    baseline_value: float | None
    value: float | None
    ci95: list[float | None] | None
    """95% CI of the difference (tuned - baseline)."""
    verdict: str
    deciding: bool = True

    def line(self) -> str:
        ci = f", CI [{_g(self.ci95[0], '+.3g')}, {_g(self.ci95[1], '+.3g')}]" if self.ci95 else ""
        extra = "" if self.deciding else ", context"
        return f"{self.metric} {_g(self.baseline_value)} -> {_g(self.value)} ({self.verdict}{ci}{extra}; {self.source})"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "layer": self.layer, "metric": self.metric, "baseline_value": self.baseline_value,
                "value": self.value, "ci95": self.ci95, "verdict": self.verdict, "deciding": self.deciding, "text": self.line()}


@dataclass
class Answer:
    """The answer to one question: a verdict against the baseline, and why."""

    question: str
    verdict: Verdict
    measured: bool
    """False when no result bore on the question (the verdict is then inconclusive)."""
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "verdict": self.verdict.value, "measured": self.measured, "summary": self.summary,
                "evidence": [e.to_dict() for e in self.evidence], "caveats": list(self.caveats)}


@dataclass
class FineTuneVerdict:
    model: str
    baseline: str | None
    task: Answer
    general: Answer
    overfitting: OverfittingVerdict
    inputs: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[tuple[str, str, str]]:
        """The three answers as (question, word, summary)."""
        return [("task", self.task.verdict.value, self.task.summary),
                ("general ability", self.general.verdict.value, self.general.summary),
                ("overfitting", self.overfitting.status.value, self.overfitting.summary)]

    def to_dict(self) -> dict[str, Any]:
        return {"layer": "verdict", "model": self.model, "baseline": self.baseline, "task": self.task.to_dict(),
                "general": self.general.to_dict(), "overfitting": self.overfitting.to_dict(), "inputs": self.inputs,
                "notes": list(self.notes)}


def _g(x: Any, fmt: str = ".4g") -> str:
    return format(x, fmt) if isinstance(x, (int, float)) and not isinstance(x, bool) else "n/a"


def _as_results(results: Iterable[Mapping[str, Any] | Result]) -> list[Result]:
    out = []
    for k, r in enumerate(results, start=1):
        res = r if isinstance(r, Result) else Result(r, f"result {k}")
        if res.role not in (TASK, GENERAL):
            raise ConfigError(f"{res.source}: role {res.role!r}: use task or general")
        if not isinstance(res.payload, Mapping) or "layer" not in res.payload:
            raise ConfigError(f"{res.source}: not a tunecheck result (no 'layer' field); write one with a command's --out")
        out.append(res)
    return out


def _refuse_duplicates(results: Sequence[Result]) -> None:
    seen: dict[str, Result] = {}
    for r in results:
        key = json.dumps(r.payload, sort_keys=True, default=str)
        if key in seen:
            first = seen[key].source
            what = f"{r.source} is given twice" if first == r.source else f"{r.source} holds the same result as {first}"
            raise ConfigError(f"{what}; each result counts once, so pass it once")
        seen[key] = r


def _baselines(result: Mapping[str, Any]) -> set[str]:
    return {c["baseline"] for c in result.get("comparison", []) if isinstance(c, Mapping) and isinstance(c.get("baseline"), str)}


def _pick_model(results: Sequence[Result], model: str | None) -> str:
    names = set().union(*(models_in(r.payload) for r in results)) if results else set()
    if model is None:
        if len(names) > 1:
            raise ConfigError(f"the results cover several models ({', '.join(sorted(names))}); name one with --model")
        return next(iter(names), RUN)
    if names and model not in names:
        bases = set().union(*(_baselines(r.payload) for r in results)) - names
        what = "is only a baseline in these results" if model in bases else "is in no result"
        raise ConfigError(f"--model {model!r} {what}; the results judge: {', '.join(sorted(names))}")
    return model


def _evidence(r: Result, model: str, *, deciding: bool = True) -> list[Evidence]:
    layer = str(r.payload.get("layer"))
    return [Evidence(r.source, layer, str(c.get("metric")), c.get("baseline_value"), c.get("value"), c.get("ci95"),
                     str(c.get("verdict")), deciding)
            for c in r.payload.get("comparison", []) if isinstance(c, Mapping) and c.get("model") == model]


def _judge(evidence: list[Evidence], what: str) -> tuple[Verdict, str]:
    """Improved if some deciding metric improved and none regressed; regressed in the mirror
    case; otherwise inconclusive, saying which way the metrics went."""
    deciding = [e for e in evidence if e.deciding]
    up = [e.metric for e in deciding if e.verdict == Verdict.IMPROVED.value]
    down = [e.metric for e in deciding if e.verdict == Verdict.REGRESSED.value]
    if up and down:
        return Verdict.INCONCLUSIVE, f"mixed: {', '.join(up)} improved but {', '.join(down)} regressed"
    if up:
        return Verdict.IMPROVED, f"{what}: {', '.join(up)} improved ({len(up)} of {len(deciding)} metrics), none regressed"
    if down:
        return Verdict.REGRESSED, f"{what}: {', '.join(down)} regressed ({len(down)} of {len(deciding)} metrics), none improved"
    return Verdict.INCONCLUSIVE, f"{what}: no metric changed beyond its CI ({len(deciding)} compared)"


def _overlap_caveat(r: Result) -> str | None:
    p = r.payload
    rows = p.get("eval_rows")
    counts = {k: (p.get(k) or {}).get("count", 0) for k in ("exact", "near", "ngram")}
    if not any(counts.values()):
        return None
    kinds = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return f"{r.source}: eval rows overlap the training data ({kinds} of {rows} rows): the task score may be inflated"


def _task_answer(results: Sequence[Result], model: str, notes: list[str]) -> Answer:
    question = "did the task get better?"
    scores = [e for r in results if r.payload.get("layer") == "score" for e in _evidence(r, model)]
    ppl_results = [r for r in results if r.payload.get("layer") == "perplexity" and r.role == TASK]
    ppl = [e for r in ppl_results for e in _evidence(r, model, deciding=not scores)]
    for r in ppl_results:
        shape = ((r.payload.get("data") or {}).get("shape"))
        if shape == "text" and not (r.payload.get("config") or {}).get("completion_only"):
            notes.append(f"{r.source}: perplexity on plain text, read as the task's data; if it is general text, pass it with --general")
    caveats = [c for r in results if r.payload.get("layer") == "overlap" if (c := _overlap_caveat(r))]
    evidence = scores + ppl
    if not evidence:
        return Answer(question, Verdict.INCONCLUSIVE, False, "not measured: give a `tunecheck score --out` result", [], caveats)
    verdict, summary = _judge(evidence, "task metrics" if scores else "perplexity on the task data (no score result given)")
    return Answer(question, verdict, True, summary, evidence, caveats)


def _general_answer(results: Sequence[Result], model: str) -> Answer:
    question = "did general ability hold?"
    general = [r for r in results if r.role == GENERAL]
    for r in general:
        if r.payload.get("layer") != "perplexity":
            raise ConfigError(f"{r.source}: --general takes perplexity results on general text, not a {r.payload.get('layer')} result")
    evidence = [e for r in general for e in _evidence(r, model)]
    if not evidence:
        why = "no result compares this model" if general else "give perplexity on general text with --general FILE"
        return Answer(question, Verdict.INCONCLUSIVE, False, f"not measured: {why}")
    verdict, summary = _judge(evidence, "perplexity on general text")
    return Answer(question, verdict, True, summary, evidence)


def did_it_work(results: Iterable[Mapping[str, Any] | Result], model: str | None = None) -> FineTuneVerdict:
    """Did the fine-tune work? The task, general ability and overfitting answers for `model`
    (default: the only tuned model the results judge) from every layer's results."""
    loaded = _as_results(results)
    _refuse_duplicates(loaded)
    name = _pick_model(loaded, model)
    notes: list[str] = []
    signals = []
    for r in loaded:
        layer = r.payload.get("layer")
        if layer in OVERFITTING_LAYERS:
            got = signals_from(r.payload, name)
            signals += got
            if not got:
                others = sorted(models_in(r.payload))
                notes.append(f"{r.source}: the {layer} result gave no signal for {name}" + (f" (it judges {', '.join(others)})" if others else ""))
        elif layer not in ("score", "perplexity", "overlap"):
            notes.append(f"{r.source}: a {layer!s} result is not read by the verdict")
    task = _task_answer(loaded, name, notes)
    general = _general_answer(loaded, name)
    bases = sorted({str(c.get("baseline")) for r in loaded for c in r.payload.get("comparison", [])
                    if isinstance(c, Mapping) and c.get("model") == name and c.get("baseline")})
    inputs = [{"source": r.source, "layer": str(r.payload.get("layer")), "role": r.role} for r in loaded]
    return FineTuneVerdict(name, ", ".join(bases) or None, task, general, combine(name, signals), inputs, notes)
