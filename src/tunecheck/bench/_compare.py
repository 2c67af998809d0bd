"""The regression check: did the fine-tune keep what it knew, per task, per group and per subject?

Each tuned model is compared with the baseline on the same documents (paired per question):
McNemar's exact test for 0/1 metrics (acc, acc_norm, exact_match), the paired bootstrap for the
others, a bootstrap CI of the change either way. Units:

- task level (the headline): every task in no group, and every top-level group (mmlu);
- group level: the groups inside those (mmlu_stem, ...);
- subject level: every task inside a group (mmlu_abstract_algebra, ...).

A group's score is the micro average, the mean over all its documents, as lm-evaluation-harness
aggregates MMLU (`aggregate_metric_list` with `weight_by_size: true`). Holm adjusts the test's
p-values (McNemar's for 0/1 metrics, the bootstrap's otherwise) within each model and level, so
57 subjects do not dilute the headline tasks. A verdict is improved / regressed only when the CI
of the change excludes 0 and that Holm-adjusted p is under 0.05; since Holm's p is never below
the raw one, a 0/1 metric also needs McNemar's p < 0.05, as the judge layer needs its rank test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tunecheck.bench._samples import BenchRun, TaskSamples, check_pair, doc_key, leaves
from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Result, Verdict
from tunecheck.errors import ConfigError, DataError
from tunecheck.stats._bootstrap import N_RESAMPLES, bootstrap_sums, percentile_ci
from tunecheck.stats._metric import SampleStats, paired
from tunecheck.stats._paired import holm

ALPHA = 0.05
TWO_POINTS = 0.02
"""The change a benchmark run should be able to see: 2 points of accuracy."""
LEVELS = ("task", "group", "subject")


@dataclass(frozen=True)
class BenchReport:
    """Everything the check found; `to_result()` is the file format."""

    baseline: str
    models: list[ModelInfo]
    estimates: list[Estimate]
    comparisons: list[Comparison]
    details: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    data: list[DataInfo] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_result(self) -> Result:
        """A `Result` of layer "bench". Estimates are named "TASK/METRIC" (groups too: "mmlu/acc");
        comparisons carry `extra` = {unit, level, kind, metric, test, test_p} and tests["mcnemar_p"]
        for 0/1 metrics; `details` holds baseline, tasks, groups, power and moved_most."""
        return Result(
            layer="bench", data=list(self.data), models=list(self.models), config=dict(self.config),
            estimates=list(self.estimates), comparisons=list(self.comparisons),
            warnings=list(self.warnings), details=dict(self.details),
        )


def _primary(t: TaskSamples, metric: str | None, model: str) -> str:
    names = t.metric_names
    if metric is not None:
        if metric not in names:
            raise DataError(f"{model}: task {t.task} has no metric {metric!r} (has {', '.join(names) or 'none'}); choose one it has")
        return metric
    if not names:
        raise DataError(f"{model}: task {t.task}: its documents carry no metric values")
    return "acc" if "acc" in names else names[0]


def _stats(name: str, values: np.ndarray, higher: bool) -> SampleStats:
    return SampleStats.mean(name, values, higher_is_better=higher)


def compare_bench(
    runs: Sequence[BenchRun],
    *,
    baseline: int = 0,
    metric: str | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
    moved_most: int = 10,
) -> BenchReport:
    """Every run's tasks with CIs, and each run against `runs[baseline]` paired per document.

    `metric` picks the compared metric of every task (default: "acc" where a task has it, else its
    first). Tasks the baseline ran and another model did not are left out with a warning."""
    if len(runs) < 2:
        raise ConfigError(f"a benchmark comparison needs two or more models, got {len(runs)}")
    if not 0 <= baseline < len(runs):
        raise ConfigError(f"baseline index {baseline} is out of range for {len(runs)} models")
    names = [r.model for r in runs]
    if len(set(names)) != len(names):
        raise ConfigError(f"model names must be distinct, got {names}; name each run differently")
    for r in runs:
        for key, held in r.tasks.items():
            if key != held.task:
                raise DataError(f"{r.model}: task key {key!r} holds samples of task {held.task!r}; key each task by its own name")
    base = runs[baseline]
    warnings: list[str] = []
    kw: dict[str, Any] = {"n_resamples": n_resamples, "seed": seed}

    # Which tasks are whose: groups from the baseline, members it did not run are ignored.
    groups = {g: [t for t in leaves(base.groups, g) if t in base.tasks] for g in base.groups}
    groups = {g: m for g, m in groups.items() if m}
    nested = {m for ms in base.groups.values() for m in ms}
    grouped = {t for ms in groups.values() for t in ms}
    primary = {t: _primary(s, metric, base.model) for t, s in base.tasks.items()}

    estimates: list[Estimate] = []
    for r in runs:
        for t, s in r.tasks.items():
            ids = sorted(s.docs, key=doc_key)
            cols = {f"{t}/{m}": s.values(m, ids, model=r.model) for m in s.metric_names}
            estimates.extend(_mean_estimates(cols, r.model, **kw))

    task_info: dict[str, dict[str, Any]] = {}
    for t, s in base.tasks.items():
        task_info[t] = {"metric": primary[t], "metrics": list(s.metric_names), "n": len(s.docs), "version": s.version,
                        "num_fewshot": s.num_fewshot, "level": "subject" if t in grouped else "task",
                        "groups": [g for g in groups if t in groups[g]]}
    group_info: dict[str, dict[str, Any]] = {}
    for g, members in groups.items():
        metrics = {primary[t] for t in members}
        info: dict[str, Any] = {"members": list(base.groups[g]), "tasks": members, "level": "group" if g in nested else "task",
                                "n": sum(len(base.tasks[t].docs) for t in members), "aggregation": "micro (mean over documents)"}
        if len(metrics) != 1:
            warnings.append(f"group {g}: its tasks are compared on different metrics ({', '.join(sorted(metrics))}); no group score")
            info["metric"] = None
        else:
            info["metric"] = metrics.pop()
        group_info[g] = info

    comparisons: list[Comparison] = []
    power: dict[str, dict[str, dict[str, Any]]] = {}
    for r in runs:
        if r is base:
            continue
        rows: list[Comparison] = []
        ids_by_task: dict[str, list[str]] = {}
        for t, s in base.tasks.items():
            if t not in r.tasks:
                warnings.append(f"task {t}: {base.model} ran it, {r.model} did not; not compared")
                continue
            ids_by_task[t] = check_pair(t, s, r.tasks[t], base.model, r.model)
        for t in r.tasks:
            if t not in base.tasks:
                warnings.append(f"task {t}: {r.model} ran it, the baseline {base.model} did not; not compared")
        for t, ids in ids_by_task.items():
            m = primary[t]
            higher = base.tasks[t].higher_is_better.get(m, True)
            a = _stats(f"{t}/{m}", base.tasks[t].values(m, ids, model=base.model), higher)
            b = _stats(f"{t}/{m}", r.tasks[t].values(m, ids, model=r.model), higher)
            rows.append(_compared(a, b, base.model, r.model, unit=t, kind="task", level=task_info[t]["level"], metric=m, **kw))
        for g, info in group_info.items():
            m = info["metric"]
            members = [t for t in info["tasks"] if t in ids_by_task]
            if m is None or not members:
                continue
            higher = base.tasks[members[0]].higher_is_better.get(m, True)
            xa = np.concatenate([base.tasks[t].values(m, ids_by_task[t], model=base.model) for t in members])
            xb = np.concatenate([r.tasks[t].values(m, ids_by_task[t], model=r.model) for t in members])
            a, b = _stats(f"{g}/{m}", xa, higher), _stats(f"{g}/{m}", xb, higher)
            for run, x in ((base, xa), (r, xb)):
                if not any(e.metric == a.name and e.model == run.model for e in estimates):
                    estimates.extend(_mean_estimates({a.name: x}, run.model, **kw))
            rows.append(_compared(a, b, base.model, r.model, unit=g, kind="group", level=info["level"], metric=m, **kw))
        rows = _holm_by_level(rows)
        comparisons.extend(rows)
        power[r.model] = _power(rows, warnings)

    details: dict[str, Any] = {
        "baseline": base.model,
        "tasks": task_info,
        "groups": group_info,
        "power": power,
        "moved_most": {m: _moved(comparisons, m, moved_most) for m in names if m != base.model},
        "holm": "within each model and level (task, group, subject), over McNemar's p for 0/1 metrics, the bootstrap's otherwise",
    }
    data = [DataInfo(source=f"task {t}", sha256=None, n=len(s.docs), role="eval", details={"version": s.version, "num_fewshot": s.num_fewshot})
            for t, s in base.tasks.items()]
    models = [ModelInfo(r.model, dict(r.identity), {"tasks": len(r.tasks), "baseline": r is base}) for r in runs]
    config = {"baseline": base.model, "metric": metric, "n_resamples": n_resamples, "seed": seed, "alpha": ALPHA}
    return BenchReport(base.model, models, estimates, comparisons, details, warnings, data, config)


def _mean_estimates(columns: dict[str, np.ndarray], model: str, *, n_resamples: int, seed: int | None) -> list[Estimate]:
    """Each metric's mean and 95% percentile CI, all of one task's metrics in one bootstrap pass:
    the same resamples, so the same numbers as `stats.estimate` of each alone."""
    names = list(columns)
    x = np.stack([columns[k] for k in names] + [np.ones(len(columns[names[0]]))], axis=1)
    sums = bootstrap_sums(x, n_resamples=n_resamples, seed=seed)
    out = []
    for j, name in enumerate(names):
        ci = percentile_ci(sums[:, j] / sums[:, -1])
        out.append(Estimate(float(x[:, j].mean()), ci, name, model, int(x.shape[0])))
    return out


def _compared(a: SampleStats, b: SampleStats, base: str, model: str, *, unit: str, kind: str, level: str, metric: str, **kw: Any) -> Comparison:
    c = paired(a, b, baseline=base, model=model, **kw)
    binary = "mcnemar_p" in c.tests
    test_p = c.tests["mcnemar_p"] if binary else c.p_value
    extra = {"unit": unit, "kind": kind, "level": level, "metric": metric, "test": "mcnemar" if binary else "paired bootstrap", "test_p": test_p}
    return replace(c, extra=extra)


def _holm_by_level(rows: list[Comparison]) -> list[Comparison]:
    """Holm within each level over the test's p; the verdict needs the CI and Holm p < ALPHA."""
    out = list(rows)
    for level in LEVELS:
        idx = [i for i, c in enumerate(rows) if c.extra["level"] == level]
        adjusted = holm([rows[i].extra["test_p"] for i in idx]) if idx else []
        for i, p in zip(idx, adjusted):
            c = rows[i]
            out[i] = replace(c, p_value_holm=p, verdict=c.verdict if p < ALPHA else Verdict.INCONCLUSIVE)
    return out


def _power(rows: list[Comparison], warnings: list[str]) -> dict[str, dict[str, Any]]:
    """Per unit: n, the minimum detectable change (5% test, 80% power) and the questions needed
    to detect 2 points (the MDD shrinks as 1/sqrt(n)); a warning for headline units that fall short."""
    out: dict[str, dict[str, Any]] = {}
    for c in rows:
        need = math.ceil(c.n * (c.mdd / TWO_POINTS) ** 2) if math.isfinite(c.mdd) and c.mdd > 0 else None
        unit = c.extra["unit"]
        out[unit] = {"n": c.n, "mdd": c.mdd, "n_for_2_points": need}
        on_unit_scale = min(c.baseline_value, c.value) >= 0.0 and max(c.baseline_value, c.value) <= 1.0
        if c.extra["level"] == "task" and on_unit_scale and need is not None and need > c.n:
            warnings.append(
                f"{c.model} vs {c.baseline} on {unit}: {c.n} questions detect a change of {100 * c.mdd:.1f} points at best "
                f"(5% test, 80% power); about {need} are needed to detect 2 points"
            )
    return out


def _moved(comparisons: list[Comparison], model: str, k: int) -> list[dict[str, Any]]:
    """The subjects (tasks inside a group) with the largest |change|, ties by name."""
    rows = [c for c in comparisons if c.model == model and c.extra["level"] == "subject"]
    rows.sort(key=lambda c: (-abs(c.difference), c.extra["unit"]))
    return [{"task": c.extra["unit"], "metric": c.extra["metric"], "baseline_value": c.baseline_value, "value": c.value,
             "difference": c.difference, "ci95": list(c.ci95), "n": c.n, "test": c.extra["test"], "p": c.extra["test_p"],
             "p_value_holm": c.p_value_holm, "verdict": c.verdict.value} for c in rows[:k]]
