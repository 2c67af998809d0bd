"""Run lm-evaluation-harness tasks on one tunecheck model spec and keep every document's metrics,
the input of the paired base-vs-tuned comparison.

The shape (`LmEvalRun`): per task a `TaskRun` with the task's version, few-shot count, aggregate
metrics and `samples: {doc_id: {"metric,filter": value}}` (keys as lm-evaluation-harness's
results name them: "acc,none", "acc_norm,none", "exact_match,strict-match"), plus the logged
samples themselves (`logged`: resps, target, doc, hashes). `groups` maps each group (MMLU's
"mmlu", "mmlu_stem") to its subtasks; `TaskRun.groups` names the groups a task belongs to.
`LmEvalRun.per_sample()` is `{task: {doc_id: {metric: value}}}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunecheck.bench._samples import BenchRun
from tunecheck.errors import ConfigError
from tunecheck.models._open import loaded
from tunecheck.models._protocol import GENERATION, SCORING, Capability, Model
from tunecheck.models._spec import ModelSpec

Value = float | tuple[float, ...]
"""One document's value of one metric."""


def _value(v: Any) -> Value:
    return tuple(float(x) for x in v) if isinstance(v, (list, tuple)) else float(v)


@dataclass(frozen=True)
class TaskRun:
    """One task's results for one model."""

    task: str
    version: Any
    """The task's `metadata.version` (a comparison refuses runs of different versions)."""
    num_fewshot: int | None
    metrics: dict[str, Any]
    """Aggregate metrics as lm-evaluation-harness reports them ("acc,none": 0.61, "acc_stderr,none": ...)."""
    samples: dict[int, dict[str, Value]]
    """doc_id -> {"metric,filter": value}: the per-document values the aggregates combine (a
    number; for perplexities lm-evaluation-harness's (log-likelihood, words or bytes) pair)."""
    groups: tuple[str, ...] = ()
    """Groups this task belongs to (MMLU subject -> category -> "mmlu")."""
    logged: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """lm-evaluation-harness's logged samples (`--log_samples`), as it gives them."""


@dataclass(frozen=True)
class LmEvalRun:
    """Every task's results for one model, as lm-evaluation-harness gives them."""

    model: dict[str, Any]
    """The model's identity (`Model.identity()`)."""
    tasks: dict[str, TaskRun]
    groups: dict[str, list[str]]
    """group -> its direct subtasks (lm-evaluation-harness's `group_subtasks`)."""
    group_metrics: dict[str, dict[str, Any]]

    def per_sample(self) -> dict[str, dict[int, dict[str, Value]]]:
        return {name: t.samples for name, t in self.tasks.items()}

    def to_bench_run(self, name: str) -> BenchRun:
        """The run as the regression check takes it (`compare_bench`): each task's logged
        samples per document, its version and few-shot setting, and the groups."""
        from tunecheck.bench._samples import from_lm_eval_samples

        tasks = {t: from_lm_eval_samples(t, r.logged, version=None if r.version is None else str(r.version), num_fewshot=r.num_fewshot)
                 for t, r in self.tasks.items()}
        return BenchRun(name, tasks, {g: list(v) for g, v in self.groups.items()}, dict(self.model))


def lm_eval_module() -> Any:
    """lm_eval, or a ConfigError with the install hint."""
    try:
        import lm_eval
    except ImportError:
        from tunecheck.bench._lm import INSTALL_HINT

        raise ConfigError(INSTALL_HINT) from None
    return lm_eval


def run_benchmarks(
    spec: str | ModelSpec | Model,
    tasks: Sequence[str],
    *,
    num_fewshot: int | None = None,
    limit: int | float | None = None,
    include_path: str | Path | None = None,
    batch_size: int | None = None,
    dtype: str = "auto",
    device: str = "auto",
    seed: int = 0,
) -> LmEvalRun:
    """`tasks` (lm-evaluation-harness task or group names; local task YAML files under
    `include_path`) on the model `spec`, through `TunecheckLM`. `limit`: the first N documents
    per task (a float < 1: that fraction)."""
    lm_eval = lm_eval_module()
    from lm_eval.tasks import TaskManager

    from tunecheck.bench._lm import TunecheckLM

    if not tasks:
        raise ConfigError("--task: name at least one lm-evaluation-harness task (e.g. mmlu,hellaswag)")
    manager = TaskManager(include_path=str(include_path) if include_path is not None else None)
    unknown = [t for t in tasks if t not in manager.all_tasks]
    if unknown:
        where = f" or under --include-path {include_path}" if include_path is not None else ""
        raise ConfigError(
            f"--task {','.join(unknown)}: not an lm-evaluation-harness task{where}; "
            "`lm_eval ls tasks` lists them, --include-path adds local task YAML files"
        )
    # each leaf task's request kind: only "loglikelihood" tasks use is_greedy (their acc)
    types = {name: str(task.OUTPUT_TYPE) for name, task in manager.load(list(tasks))["tasks"].items()}
    greedy = {name for name, kind in types.items() if kind == "loglikelihood"}
    need: Capability[Any] = GENERATION if all(k == "generate_until" for k in types.values()) else SCORING
    with loaded(spec, need, layer="bench", dtype=dtype, device=device) as model:
        lm = TunecheckLM(model, batch_size=batch_size, greedy_tasks=greedy)
        results = lm_eval.simple_evaluate(
            model=lm,
            tasks=list(tasks),
            num_fewshot=num_fewshot,
            limit=limit,
            log_samples=True,
            task_manager=manager,
            bootstrap_iters=0,  # tunecheck's comparison computes its own intervals
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
        identity = model.identity()
    return collect(results, identity)


def collect(results: Mapping[str, Any], identity: dict[str, Any]) -> LmEvalRun:
    """lm-evaluation-harness's results (with logged samples) as a `LmEvalRun`."""
    groups = {g: list(subs) for g, subs in (results.get("group_subtasks") or {}).items()}
    parents: dict[str, list[str]] = {}
    for g, subs in groups.items():
        for s in subs:
            parents.setdefault(s, []).append(g)

    def ancestors(name: str) -> tuple[str, ...]:
        seen: list[str] = []
        todo = list(parents.get(name, []))
        while todo:
            g = todo.pop(0)
            if g not in seen:
                seen.append(g)
                todo.extend(parents.get(g, []))
        return tuple(seen)

    samples = results.get("samples") or {}
    configs = results.get("configs") or {}
    runs: dict[str, TaskRun] = {}
    for name, logged in samples.items():
        per_doc: dict[int, dict[str, Value]] = {}
        for s in logged:
            row = per_doc.setdefault(int(s["doc_id"]), {})
            for metric in s.get("metrics", []):
                row[f"{metric},{s.get('filter', 'none')}"] = _value(s[metric])
        shots = (results.get("n-shot") or {}).get(name, configs.get(name, {}).get("num_fewshot"))
        runs[name] = TaskRun(
            task=name,
            version=(results.get("versions") or {}).get(name),
            num_fewshot=None if shots is None else int(shots),
            metrics=dict((results.get("results") or {}).get(name, {})),
            samples=per_doc,
            groups=ancestors(name),
            logged=list(logged),
        )
    group_metrics = {g: dict((results.get("groups") or results.get("results") or {}).get(g, {})) for g in groups}
    return LmEvalRun(model=identity, tasks=runs, groups=groups, group_metrics=group_metrics)
