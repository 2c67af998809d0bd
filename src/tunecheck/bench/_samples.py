"""What the regression check reads: per model, per task, per document, the metric values.

Independent of lm-evaluation-harness: its logged samples (one line per document with the task's
metrics, e.g. {"acc": 1.0, "acc_norm": 0.0}) and its results' `group_subtasks`, `versions` and
`n-shot` map onto these directly, whether they come from a run in tunecheck or an imported one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunecheck.errors import DataError


@dataclass(frozen=True)
class TaskSamples:
    """One model's per-document results on one task (an lm-evaluation-harness task or subtask,
    e.g. mmlu_abstract_algebra)."""

    task: str
    docs: Mapping[str, Mapping[str, float]]
    """doc id (lm-eval's `doc_id`, as a string) -> {metric: value}; every document carries the
    same metrics. 0/1 values (acc, acc_norm, exact_match) get McNemar's test; others (f1, mc2)
    the paired bootstrap."""
    version: str | None = None
    """The task's version (lm-eval's `versions[task]`); must match across models when given."""
    num_fewshot: int | None = None
    """Few-shot examples (lm-eval's `n-shot[task]`); must match across models when given."""
    higher_is_better: Mapping[str, bool] = field(default_factory=dict)
    """Per metric (lm-eval's `higher_is_better[task]`); a metric not named here is higher-is-better."""
    doc_hashes: Mapping[str, str] = field(default_factory=dict)
    """doc id -> a hash of the document (lm-eval's `doc_hash`): when both models have one for a
    doc, they must agree, so the same ids over different data are refused."""

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The metrics of the task, in the first document's order."""
        first = next(iter(self.docs.values()), {})
        return tuple(first)

    def values(self, metric: str, doc_ids: Sequence[str], *, model: str) -> np.ndarray:
        """The metric's values on `doc_ids`, in that order; a DataError naming the document when
        one lacks it or is not a finite number."""
        out = np.empty(len(doc_ids))
        for i, d in enumerate(doc_ids):
            row = self.docs[d]
            if metric not in row:
                raise DataError(f"{model}: task {self.task}, doc {d}: no value for metric {metric!r} (has {', '.join(row) or 'none'}); every document needs the same metrics")
            try:
                v = float(row[metric])
            except (TypeError, ValueError):
                raise DataError(f"{model}: task {self.task}, doc {d}: metric {metric!r} is {row[metric]!r}, not a number") from None
            if not math.isfinite(v):
                raise DataError(f"{model}: task {self.task}, doc {d}: metric {metric!r} is {v}, not a finite number")
            out[i] = v
        return out


@dataclass(frozen=True)
class BenchRun:
    """One model's benchmark results: its tasks and how they group."""

    model: str
    """Display name, the key of its estimates and comparisons."""
    tasks: Mapping[str, TaskSamples]
    """task name -> its samples (the key and `TaskSamples.task` agree)."""
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """group -> its members, tasks or other groups: lm-eval's `group_subtasks` as it is
    ({"mmlu": ["mmlu_stem", ...], "mmlu_stem": ["mmlu_abstract_algebra", ...]}). The
    baseline's is used for every model."""
    identity: Mapping[str, Any] = field(default_factory=dict)
    """What the model is (spec, path, revision): copied into the result's ModelInfo."""


def check_pair(task: str, base: TaskSamples, other: TaskSamples, base_name: str, other_name: str) -> list[str]:
    """The documents both models answered, sorted; a one-line DataError naming the task and what
    differs when the two runs are not the same questions under the same settings."""
    if base.version is not None and other.version is not None and str(base.version) != str(other.version):
        raise DataError(
            f"task {task}: task version differs ({base_name}: {base.version}, {other_name}: {other.version}); "
            "run both models with the same lm-evaluation-harness task version"
        )
    if base.num_fewshot is not None and other.num_fewshot is not None and base.num_fewshot != other.num_fewshot:
        raise DataError(
            f"task {task}: num_fewshot differs ({base_name}: {base.num_fewshot}, {other_name}: {other.num_fewshot}); "
            "run both models with the same --num-fewshot"
        )
    a, b = set(base.docs), set(other.docs)
    if a != b:
        only_a, only_b = sorted(a - b, key=doc_key), sorted(b - a, key=doc_key)
        raise DataError(
            f"task {task}: document sets differ ({base_name}: {len(a)} docs, {other_name}: {len(b)}; "
            f"{len(only_a)} only in {base_name}{_examples(only_a)}, {len(only_b)} only in {other_name}{_examples(only_b)}); "
            "run both models on the same documents (same --limit and task data)"
        )
    changed = sorted((d for d in a if d in base.doc_hashes and d in other.doc_hashes and base.doc_hashes[d] != other.doc_hashes[d]), key=doc_key)
    if changed:
        raise DataError(
            f"task {task}: {len(changed)} documents differ in content under the same ids{_examples(changed)}, by their doc_hash; "
            "run both models on the same task data"
        )
    if not a:
        raise DataError(f"task {task}: no documents in {base_name}'s samples; run the task with --log_samples")
    return sorted(a, key=doc_key)


def doc_key(d: str) -> tuple[int, int, str]:
    """Numeric doc ids in numeric order (lm-eval's are 0, 1, ...), others after them by text."""
    return (0, int(d), "") if d.isdigit() else (1, 0, d)


def _examples(ids: list[str]) -> str:
    return f" (e.g. {', '.join(ids[:3])})" if ids else ""


def leaves(groups: Mapping[str, Sequence[str]], name: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """The tasks under a group, through nested groups, in the order listed (a cycle is an error)."""
    if name in seen:
        raise DataError(f"group {name}: it contains itself (through {', '.join(sorted(seen))}); check the group_subtasks mapping")
    out: list[str] = []
    for m in groups.get(name, ()):
        for t in leaves(groups, m, seen | {name}) if m in groups else [m]:
            if t not in out:
                out.append(t)
    return out


def from_lm_eval_samples(
    task: str,
    samples: Sequence[Mapping[str, Any]],
    *,
    version: str | None = None,
    num_fewshot: int | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
) -> TaskSamples:
    """One task's lm-evaluation-harness logged samples (the dicts of `samples[task]` or one
    samples_TASK_*.jsonl, each with doc_id, filter, metrics, doc_hash and the metric values) as
    TaskSamples. Metrics are named as in lm-eval's results without the default filter: "acc"
    for "acc,none", "exact_match,strict-match" otherwise. Corpus-level metrics whose per-document
    value is not a number (bleu's (reference, prediction) pairs) are left out: they cannot be
    paired per document."""
    docs: dict[str, dict[str, float]] = {}
    hashes: dict[str, str] = {}
    for i, sample in enumerate(samples):
        if "doc_id" not in sample:
            raise DataError(f"task {task}, sample {i}: no doc_id; log the samples with lm-evaluation-harness's --log_samples")
        doc = str(sample["doc_id"])
        filt = str(sample.get("filter", "none"))
        row = docs.setdefault(doc, {})
        for name in sample.get("metrics") or []:
            value = sample.get(name)
            if not isinstance(value, (bool, int, float)):  # ifeval's are bools: 0/1
                continue
            key = name if filt == "none" else f"{name},{filt}"
            if key in row:
                raise DataError(f"task {task}, sample {i}: doc {doc} has {key!r} twice; give each document's samples once")
            row[key] = float(value)
        if sample.get("doc_hash") is not None:
            hashes[doc] = str(sample["doc_hash"])
    given = higher_is_better or {}
    names = {key for row in docs.values() for key in row}  # a filtered name takes its metric's direction
    hib = {key: bool(given[key.split(",")[0]]) for key in names if key.split(",")[0] in given}
    return TaskSamples(task, docs, version=version, num_fewshot=num_fewshot, higher_is_better=hib, doc_hashes=hashes)
