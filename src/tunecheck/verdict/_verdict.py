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
3. **Overfitting**: is it overfitting or memorising? The signals the overfitting layers put in
   their results, in their own words (healthy / overfitting / inconclusive / not applicable;
   `overfitting_verdict`).

A pure function over typed `core.Result`s (what each command writes with `--out`, read back
with `load_result`): the CLI only loads files and renders. A result given twice is refused,
not deduplicated: the same file twice is almost always a slip for another file, and dropping
it quietly would hide that.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunecheck import _io
from tunecheck.core import Comparison, ModelInfo, Result, Verdict
from tunecheck.errors import ConfigError
from tunecheck.overfitting._verdict import (
    OVERFITTING_LAYERS,
    RUN,
    OverfittingVerdict,
    combine,
    models_in,
    signals_for,
)

TASK, GENERAL = "task", "general"
KINDS = ("exact", "near", "ngram")
"""The overlap result's kinds of match: its estimates `{kind}_rows` count the eval rows with one."""


@dataclass(frozen=True)
class Given:
    """One layer's result and how to read it."""

    result: Result
    """What a command wrote with --out (`load_result`), or a report's `to_result()`."""
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
    baseline_value: float
    value: float
    ci95: tuple[float, float]
    """95% CI of the difference (tuned - baseline)."""
    verdict: Verdict
    deciding: bool = True

    @classmethod
    def of(cls, given: Given, c: Comparison, *, deciding: bool = True) -> Evidence:
        return cls(given.source, given.result.layer, c.metric, c.baseline_value, c.value, c.ci95, c.verdict, deciding)

    def line(self) -> str:
        ci = f", CI [{_g(self.ci95[0], '+.3g')}, {_g(self.ci95[1], '+.3g')}]"
        extra = "" if self.deciding else ", context"
        return f"{self.metric} {_g(self.baseline_value)} -> {_g(self.value)} ({self.verdict.value}{ci}{extra}; {self.source})"

    def as_details(self) -> dict[str, Any]:
        return {"source": self.source, "layer": self.layer, "metric": self.metric, "baseline_value": self.baseline_value,
                "value": self.value, "ci95": list(self.ci95), "verdict": self.verdict.value, "deciding": self.deciding, "text": self.line()}


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

    def as_details(self) -> dict[str, Any]:
        return {"question": self.question, "verdict": self.verdict.value, "measured": self.measured, "summary": self.summary,
                "evidence": [e.as_details() for e in self.evidence], "caveats": list(self.caveats)}


@dataclass
class FineTuneVerdict:
    model: str
    baselines: list[str]
    task: Answer
    general: Answer
    overfitting: OverfittingVerdict
    inputs: list[dict[str, str]]
    """Each result read: its source, layer and role."""
    notes: list[str] = field(default_factory=list)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What the inputs record about each model (`ModelInfo.identity`), by name."""

    @property
    def baseline(self) -> str | None:
        return ", ".join(self.baselines) or None

    def lines(self) -> list[tuple[str, str, str]]:
        """The three answers as (question, word, summary)."""
        return [("task", self.task.verdict.value, self.task.summary),
                ("general ability", self.general.verdict.value, self.general.summary),
                ("overfitting", self.overfitting.status.value, self.overfitting.summary)]

    def to_result(self) -> Result:
        """The verdict as a result (layer "verdict"): the tuned model first, then its baselines;
        the overfitting signals; the three answers, the inputs and the notes."""
        models = [ModelInfo(name, dict(self.identities.get(name, {})), {"role": "tuned" if k == 0 else "baseline"})
                  for k, name in enumerate([self.model, *self.baselines])]
        details = {"task": self.task.as_details(), "general": self.general.as_details(),
                   "overfitting": {"status": self.overfitting.status.value, "summary": self.overfitting.summary}, "inputs": self.inputs}
        return Result(layer="verdict", models=models, config={"model": self.model}, signals=list(self.overfitting.signals),
                      warnings=[*self.notes, *self.overfitting.notes], details=details)


def _g(x: Any, fmt: str = ".4g") -> str:
    ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    return format(x, fmt) if ok else "n/a"


def _as_given(results: Iterable[Result | Given]) -> list[Given]:
    out = []
    for k, r in enumerate(results, start=1):
        given = r if isinstance(r, Given) else Given(r, f"result {k}")
        if given.role not in (TASK, GENERAL):
            raise ConfigError(f"{given.source}: role {given.role!r}: use task or general")
        if not isinstance(given.result, Result):
            raise ConfigError(f"{given.source}: not a tunecheck result; read the file with tunecheck.load_result")
        out.append(given)
    return out


def _refuse_duplicates(results: Sequence[Given]) -> None:
    seen: dict[str, Given] = {}
    for r in results:
        key = json.dumps(_io.clean(r.result.to_dict()), sort_keys=True, default=str)
        if key in seen:
            first = seen[key].source
            what = f"{r.source} is given twice" if first == r.source else f"{r.source} holds the same result as {first}"
            raise ConfigError(f"{what}; each result counts once, so pass it once")
        seen[key] = r


def _pick_model(results: Sequence[Given], model: str | None) -> str:
    names = set().union(*(models_in(r.result) for r in results)) if results else set()
    if model is None:
        if len(names) > 1:
            raise ConfigError(f"the results cover several models ({', '.join(sorted(names))}); name one with --model")
        return next(iter(names), RUN)
    if names and model not in names:
        bases = {c.baseline for r in results for c in r.result.comparisons} - names
        what = "is only a baseline in these results" if model in bases else "is in no result"
        raise ConfigError(f"--model {model!r} {what}; the results judge: {', '.join(sorted(names))}")
    return model


def _evidence(r: Given, model: str, *, deciding: bool = True) -> list[Evidence]:
    return [Evidence.of(r, c, deciding=deciding) for c in r.result.comparisons_for(model)]


def _judge(evidence: list[Evidence], what: str) -> tuple[Verdict, str]:
    """Improved if some deciding metric improved and none regressed; regressed in the mirror
    case; otherwise inconclusive, saying which way the metrics went."""
    deciding = [e for e in evidence if e.deciding]
    up = [e.metric for e in deciding if e.verdict == Verdict.IMPROVED]
    down = [e.metric for e in deciding if e.verdict == Verdict.REGRESSED]
    if up and down:
        return Verdict.INCONCLUSIVE, f"mixed: {', '.join(up)} improved but {', '.join(down)} regressed"
    if up:
        return Verdict.IMPROVED, f"{what}: {', '.join(up)} improved ({len(up)} of {len(deciding)} metrics), none regressed"
    if down:
        return Verdict.REGRESSED, f"{what}: {', '.join(down)} regressed ({len(down)} of {len(deciding)} metrics), none improved"
    return Verdict.INCONCLUSIVE, f"{what}: no metric changed beyond its CI ({len(deciding)} compared)"


def _overlap_caveat(r: Given) -> str | None:
    """From the overlap result's data-level estimates: eval rows with each kind of match."""
    counts = {k: int(e.value) if (e := r.result.estimate(f"{k}_rows")) is not None and math.isfinite(e.value) else 0 for k in KINDS}
    if not any(counts.values()):
        return None
    rows = next((d.n for d in r.result.data if d.role == "eval"), None)
    kinds = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return f"{r.source}: eval rows overlap the training data ({kinds} of {rows} rows): the task score may be inflated"


def _plain_text(r: Result) -> bool:
    shape = next((d.details.get("shape") for d in r.data if d.role == "eval"), None)
    return shape == "text" and not r.config.get("completion_only")


def _task_answer(results: Sequence[Given], model: str, notes: list[str]) -> Answer:
    question = "did the task get better?"
    scores = [e for r in results if r.result.layer == "score" for e in _evidence(r, model)]
    ppl_results = [r for r in results if r.result.layer == "perplexity" and r.role == TASK]
    ppl = [e for r in ppl_results for e in _evidence(r, model, deciding=not scores)]
    for r in ppl_results:
        if _plain_text(r.result):
            notes.append(f"{r.source}: perplexity on plain text, read as the task's data; if it is general text, pass it with --general")
    caveats = [c for r in results if r.result.layer == "overlap" if (c := _overlap_caveat(r))]
    evidence = scores + ppl
    if not evidence:
        return Answer(question, Verdict.INCONCLUSIVE, False, "not measured: give a `tunecheck score --out` result", [], caveats)
    verdict, summary = _judge(evidence, "task metrics" if scores else "perplexity on the task data (no score result given)")
    return Answer(question, verdict, True, summary, evidence, caveats)


def _general_answer(results: Sequence[Given], model: str) -> Answer:
    question = "did general ability hold?"
    general = [r for r in results if r.role == GENERAL]
    for r in general:
        if r.result.layer != "perplexity":
            raise ConfigError(f"{r.source}: --general takes perplexity results on general text, not a {r.result.layer} result")
    evidence = [e for r in general for e in _evidence(r, model)]
    if not evidence:
        why = "no result compares this model" if general else "give perplexity on general text with --general FILE"
        return Answer(question, Verdict.INCONCLUSIVE, False, f"not measured: {why}")
    verdict, summary = _judge(evidence, "perplexity on general text")
    return Answer(question, verdict, True, summary, evidence)


def did_it_work(results: Iterable[Result | Given], model: str | None = None) -> FineTuneVerdict:
    """Did the fine-tune work? The task, general ability and overfitting answers for `model`
    (default: the only tuned model the results judge) from every layer's results; `to_result()`
    stores it."""
    loaded = _as_given(results)
    _refuse_duplicates(loaded)
    name = _pick_model(loaded, model)
    notes: list[str] = []
    signals = []
    for r in loaded:
        layer = r.result.layer
        if layer in OVERFITTING_LAYERS:
            got = signals_for(r.result, name)
            signals += got
            if not got:
                others = sorted(models_in(r.result))
                notes.append(f"{r.source}: the {layer} result gave no signal for {name}" + (f" (it judges {', '.join(others)})" if others else ""))
        elif layer not in ("score", "perplexity", "overlap"):
            notes.append(f"{r.source}: a {layer} result is not read by the verdict")
    task = _task_answer(loaded, name, notes)
    general = _general_answer(loaded, name)
    bases = sorted({c.baseline for r in loaded for c in r.result.comparisons_for(name) if c.baseline})
    identities: dict[str, dict[str, Any]] = {}
    for r in loaded:
        for m in r.result.models:
            if m.identity and m.name in (name, *bases):
                identities.setdefault(m.name, dict(m.identity))
    inputs = [{"source": r.source, "layer": r.result.layer, "role": r.role} for r in loaded]
    return FineTuneVerdict(name, bases, task, general, combine(name, signals), inputs, notes, identities)


def verdict_from(results: Sequence[str | Path | Result], general: Sequence[str | Path | Result] = (), model: str | None = None) -> Result:
    """What `tunecheck verdict` writes: `did_it_work` over results files (read with
    `load_result`: a file that is no result, or from a newer schema, is a DataError) or
    `Result`s, the `general` ones on general text; as a `verdict` Result."""
    from tunecheck.core import load_result

    given = []
    for k, (item, role) in enumerate([*((r, TASK) for r in results), *((r, GENERAL) for r in general)], start=1):
        given.append(Given(item, f"result {k}", role) if isinstance(item, Result) else Given(load_result(item), str(item), role))
    return did_it_work(given, model).to_result()
