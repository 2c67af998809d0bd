"""The tasks `tunecheck score` knows: one `Task` entry each (its metrics, what every row must
supply, and the function that scores a model's outputs), in the table `TASKS`.

A new task joins with `register_task(Task(...))` and touches no other: simple-evals' one short
file per evaluation rather than a chain of `if task == ...`. A task's function turns outputs and
their references into per-sample additive statistics (`stats.SampleStats`); the score layer
gives them CIs and compares models, the same for every task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunecheck.data import Prediction
from tunecheck.errors import ConfigError, DataError
from tunecheck.metrics import (
    ROUGE_TYPES,
    UNPARSED,
    check_format,
    classification_report,
    classification_stats,
    corpus_stats,
    exact_match,
    extract_label,
    rouge,
    token_f1,
    validate_rules,
)
from tunecheck.scoring._custom import CustomMetric
from tunecheck.stats import SampleStats

_RESPONSE_FIELDS = ("completion", "output", "response")


@dataclass(frozen=True)
class TaskInput:
    """One model's predictions and what each is scored against."""

    rows: Sequence[Prediction]
    contexts: Sequence[Mapping[str, Any]]
    """Per row: the fields it is scored against (its carried fields, or the --data row)."""
    labels: Sequence[str] | None = None
    """Allowed labels (tasks with `needs_labels`)."""
    rules: Mapping[str, Any] | None = None
    """Format rules for every sample (the format task)."""
    use_stemmer: bool = False

    @property
    def outputs(self) -> list[str]:
        return [p.output for p in self.rows]


@dataclass
class Scored:
    """A task function's answer: statistics per metric, per-model facts, per-sample values."""

    stats: dict[str, SampleStats]
    details: dict[str, Any] = field(default_factory=dict)
    """Per-model facts without a CI (a classifier's per-class table and confusion matrix)."""
    per_sample: dict[str, list[float]] = field(default_factory=dict)
    """Per-sample values of the metrics that are means (what --per-sample shows)."""


@dataclass(frozen=True)
class Task:
    """One task: its name (--task), built-in metrics, the field each row needs, how it scores."""

    name: str
    metrics: tuple[str, ...]
    needs: str
    """What each row must supply, for --help and the README (e.g. "a gold 'label'")."""
    score: Callable[[TaskInput], Scored]
    needs_labels: bool = False
    """Scored against a closed label set (from --labels, else every gold label seen)."""


# -- references ----------------------------------------------------------------------------------
def response_of(row: Mapping[str, Any]) -> Any:
    """A data row's reference response: completion / output / response, or a chat's last
    assistant turn."""
    for name in _RESPONSE_FIELDS:
        if row.get(name) is not None:
            return row[name]
    messages = row.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], Mapping) and messages[-1].get("role") == "assistant":
        return messages[-1].get("content")
    return None


def _missing(where: str, sid: str, what: str, task: str) -> DataError:
    return DataError(
        f"{where} (id {sid}): no {what} for --task {task}; add it to the row, or pass --data with that id and field"
    )


def gold_label(ctx: Mapping[str, Any], where: str, sid: str) -> str:
    """A row's gold label: 'label', else 'reference', else its response."""
    for value in (ctx.get("label"), ctx.get("reference"), response_of(ctx)):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    raise _missing(where, sid, "'label'", "classification")


def _answers(ctx: Mapping[str, Any], where: str, sid: str) -> list[str]:
    value = ctx.get("answers")
    if isinstance(value, Mapping):  # SQuAD: {"text": [...], "answer_start": [...]}
        value = value.get("text")
    if value is None:
        value = ctx.get("reference", response_of(ctx))
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise _missing(where, sid, "'answers' (a string or a list of strings)", "qa")


def _reference(ctx: Mapping[str, Any], where: str, sid: str, task: str) -> str:
    value = ctx.get("reference", response_of(ctx))
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = value[0]
    if isinstance(value, str):
        return value
    raise _missing(where, sid, "'reference' text", task)


# -- the tasks -----------------------------------------------------------------------------------
def score_classification(x: TaskInput) -> Scored:
    labels = list(x.labels or ())
    gold = [gold_label(c, p.location, p.id) for p, c in zip(x.rows, x.contexts)]
    bad = next(((p, g) for p, g in zip(x.rows, gold) if g not in labels), None)
    if bad:
        raise DataError(f"{bad[0].location} (id {bad[0].id}): gold label {bad[1]!r} is not among --labels {labels}")
    predicted = [extract_label(o, labels) for o in x.outputs]
    report = classification_report(gold, predicted, labels)
    return Scored(
        dict(classification_stats(gold, predicted, labels)),
        {"unparsed": report.unparsed, "per_class": report.per_class, "labels": report.labels, "confusion": report.confusion},
        {"accuracy": [float(g == q) for g, q in zip(gold, predicted)], "unparsed": [float(q == UNPARSED) for q in predicted]},
    )


def score_qa(x: TaskInput) -> Scored:
    answers = [_answers(c, p.location, p.id) for p, c in zip(x.rows, x.contexts)]
    em = [exact_match(o, a) for o, a in zip(x.outputs, answers)]
    f1 = [token_f1(o, a) for o, a in zip(x.outputs, answers)]
    return Scored({"exact_match": SampleStats.mean("exact_match", em), "f1": SampleStats.mean("f1", f1)}, {}, {"exact_match": em, "f1": f1})


def _score_text(task: str) -> Callable[[TaskInput], Scored]:
    def score(x: TaskInput) -> Scored:
        refs = [_reference(c, p.location, p.id, task) for p, c in zip(x.rows, x.contexts)]
        out = Scored({})
        for name, values in rouge(x.outputs, refs, use_stemmer=x.use_stemmer).items():
            out.stats[name] = SampleStats.mean(name, values)
            out.per_sample[name] = values
        for name in ("bleu", "chrf"):
            out.stats[name] = corpus_stats(name, x.outputs, refs)
        return out

    return score


def score_format(x: TaskInput) -> Scored:
    passes: list[float] = []
    by_rule: dict[str, list[float]] = {}
    for p, c, o in zip(x.rows, x.contexts, x.outputs):
        rules = dict(x.rules or {})
        own = c.get("format")
        if own is not None:
            if not isinstance(own, Mapping):
                raise DataError(f"{p.location} (id {p.id}): field 'format' must be an object of rules, e.g. {{\"max_words\": 50}}")
            validate_rules(own, f"{p.location} (id {p.id}) field 'format'")
            rules.update(own)
        if not rules:
            raise DataError(f"{p.location} (id {p.id}): no format rules; give the row a 'format' field or pass --rules FILE")
        checks = check_format(o, rules)
        passes.append(float(all(checks.values())))
        for rule, ok in checks.items():
            by_rule.setdefault(rule, []).append(float(ok))
    rules_seen = {r: {"pass_rate": float(np.mean(v)), "n": len(v)} for r, v in sorted(by_rule.items())}
    return Scored({"format_pass_rate": SampleStats.mean("format_pass_rate", passes)}, {"rules": rules_seen}, {"format_pass_rate": passes})


def _no_builtin(_: TaskInput) -> Scored:
    return Scored({})


TASKS: dict[str, Task] = {}
"""Every task by its --task name, in the order --help lists them."""


def register_task(task: Task) -> Task:
    """Add a task to the table (a new task's only step); a name is taken once."""
    if task.name in TASKS:
        raise ConfigError(f"task {task.name!r} is already defined")
    TASKS[task.name] = task
    return task


_TEXT = (*ROUGE_TYPES, "bleu", "chrf")
for _task in (
    Task("classification", ("accuracy", "macro_f1", "micro_f1", "weighted_f1"), "a gold 'label' (or 'reference')", score_classification, needs_labels=True),
    Task("qa", ("exact_match", "f1"), "'answers' (a string or a list; SQuAD's {'text': [...]} too) or a 'reference'", score_qa),
    Task("summarization", _TEXT, "a 'reference' text (or the row's response)", _score_text("summarization")),
    Task("generation", _TEXT, "a 'reference' text (or the row's response); the same as summarization", _score_text("generation")),
    Task("format", ("format_pass_rate",), "format rules: --rules for all rows and/or a row's own 'format' object", score_format),
    Task("custom", (), "what the --metric functions read", _no_builtin),
):
    register_task(_task)


def custom_columns(x: TaskInput, metrics: Sequence[CustomMetric], task: str, taken: Mapping[str, Any]) -> Scored:
    """The --metric functions' values for every row, as mean statistics (any task adds them)."""
    out = Scored({})
    for metric in metrics:
        columns: dict[str, list[float]] = {}
        for k, (p, c, o) in enumerate(zip(x.rows, x.contexts, x.outputs)):
            got = metric(o, {**c, "id": p.id}, p.location)
            if k and set(got) != set(columns):
                raise DataError(f"{p.location}: custom metric {metric.path} returned keys {sorted(got)}, earlier rows {sorted(columns)}")
            for key, v in got.items():
                columns.setdefault(key, []).append(v)
        for key, vals in columns.items():
            if key in taken or key in out.stats:
                raise ConfigError(f"--metric {metric.path}: metric name {key!r} is already a {task} metric; rename it")
            out.stats[key] = SampleStats.mean(key, vals, higher_is_better=metric.higher_is_better)
            out.per_sample[key] = vals
    return out
