"""Score predictions files on the task's metrics and compare models, paired, honestly.

Every metric becomes per-sample additive statistics (`stats.SampleStats`); one engine gives
each a bootstrap CI and compares models on the samples both have, with one resampling index
shared by both. Metrics compared together are Holm-adjusted, and a verdict is "improved" or
"regressed" only when the CI excludes zero and the adjusted p-value is under 0.05.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from tunecheck._io import read_json
from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Record, Result, Verdict
from tunecheck.data import align_ids, content_hash, load_rows
from tunecheck.errors import ConfigError, DataError
from tunecheck.metrics import validate_rules
from tunecheck.scoring._custom import load_custom
from tunecheck.scoring._pairing import (
    PredictionSet,
    load_prediction_sets,
    pairing_warnings,
    require_shared_ids,
)
from tunecheck.scoring._tasks import (
    TASKS,
    Scored,
    TaskInput,
    custom_columns,
    gold_label,
    response_of,
)
from tunecheck.stats import N_RESAMPLES, adjust_holm, estimate, paired


@dataclass(frozen=True)
class ScoreConfig:
    task: str
    labels: tuple[str, ...] | None = None
    """Allowed labels (classification); default: every gold label seen."""
    rules: Mapping[str, Any] | None = None
    """Format rules for every sample; a sample's own `format` field adds to / overrides them."""
    custom: tuple[str, ...] = ()
    """Custom metric functions, as module:function or file.py:function."""
    cluster_field: str | None = None
    """Samples sharing this field's value are resampled together (cluster bootstrap)."""
    ci_method: str = "percentile"
    n_resamples: int = N_RESAMPLES
    seed: int = 0
    use_stemmer: bool = False
    id_field: str = "id"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"--task {self.task!r}: use one of {', '.join(TASKS)}")
        if self.task == "custom" and not self.custom:
            raise ConfigError("--task custom needs at least one --metric module:function")
        if self.ci_method not in ("percentile", "bca"):
            raise ConfigError(f"--ci-method {self.ci_method!r}: use percentile or bca")
        if self.n_resamples < 1000:
            raise ConfigError(f"--n-resamples {self.n_resamples}: use at least 1,000 (10,000 is the default)")
        if self.rules is not None:
            validate_rules(self.rules, "--rules")
        if self.labels is not None and len(set(self.labels)) < 2:
            raise ConfigError("--labels: give at least two distinct labels")


@dataclass
class ModelScores:
    """One model's scores: what `score_predictions` keeps per predictions file (the sweep reads
    `metrics`, rephrase `ids` and `per_sample`)."""

    model: str
    file: str
    n: int
    metrics: dict[str, Estimate]
    """Each metric's estimate with its 95% CI (named by the key; `to_result` fills in names)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Per-model facts without a CI: unparsed outputs, per-class table, confusion, format rules, clusters."""
    ids: list[str] = field(default_factory=list)
    per_sample: dict[str, list[float]] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    """What the predictions file says about the model that wrote it."""


@dataclass
class ScoreReport:
    task: str
    config: dict[str, Any]
    models: list[ModelScores]
    comparison: list[Comparison]
    """Every later model against the first, Holm-adjusted over the metrics of each pair."""
    warnings: list[str]
    inputs: list[DataInfo] = field(default_factory=list)
    """Every file read: the predictions files in order, then --data (role "references")."""

    def to_result(self, per_sample: bool = False) -> Result:
        """The score layer's `Result`: per-model estimates per metric, the comparisons, each
        model's per-class table (classification) in its `ModelInfo.details`, and with
        `per_sample` one `Record` per sample and model."""
        return Result(
            layer="score",
            data=list(self.inputs),
            models=[ModelInfo(m.model, dict(m.identity), {"file": m.file, "n": m.n, **m.details}) for m in self.models],
            config=dict(self.config),
            estimates=[replace(e, metric=name, model=m.model, n=m.n) for m in self.models for name, e in m.metrics.items()],
            comparisons=list(self.comparison),
            records=[Record(i, m.model, {k: v[j] for k, v in m.per_sample.items()}) for m in self.models for j, i in enumerate(m.ids)]
            if per_sample else [],
            warnings=list(self.warnings),
            details={"task": self.task},
        )


# -- scoring one model ---------------------------------------------------------------------------
_REFERENCE_KEYS = ("reference", "references", "answers", "label")


def _contexts(pset: PredictionSet, data: Mapping[str, tuple[str, Mapping[str, Any]]] | None) -> list[dict[str, Any]]:
    """What each prediction is scored against: the prediction row's carried fields (not its
    output), or, with --data, the data row, whose references then replace the carried ones."""
    out = []
    for p in pset.rows:
        ctx = {k: v for k, v in (p.fields or {}).items() if k != "output"}
        if data is not None:
            if p.id not in data:
                raise DataError(f"{p.location}: id {p.id!r} is not in --data; pass the data set these predictions were made for")
            row = data[p.id][1]
            if response_of(row) is not None or any(k in row for k in _REFERENCE_KEYS):
                for k in _REFERENCE_KEYS:
                    ctx.pop(k, None)
            ctx.update(row)
        out.append(ctx)
    return out


def _clusters(pset: PredictionSet, ctxs: Sequence[Mapping[str, Any]], name: str | None) -> np.ndarray | None:
    if name is None:
        return None
    values = []
    for p, c in zip(pset.rows, ctxs):
        if c.get(name) is None:
            raise DataError(f"{p.location} (id {p.id}): no {name!r} field for --cluster-field; add it, or pass --data with it")
        values.append(json.dumps(c[name], sort_keys=True))
    return np.asarray(values)


def _score_set(pset: PredictionSet, ctxs: Sequence[Mapping[str, Any]], config: ScoreConfig, labels: Sequence[str] | None,
               custom: Sequence[Any]) -> Scored:
    """The task's metrics (its entry in `TASKS`), then the --metric functions'."""
    given = TaskInput(pset.rows, ctxs, labels, config.rules, config.use_stemmer)
    scored = TASKS[config.task].score(given)
    extra = custom_columns(given, custom, config.task, scored.stats)
    return Scored({**scored.stats, **extra.stats}, scored.details, {**scored.per_sample, **extra.per_sample})


def _labels(config: ScoreConfig, sets: Sequence[PredictionSet], contexts: Sequence[Sequence[Mapping[str, Any]]]) -> list[str] | None:
    """The allowed labels of a label task: --labels, else every gold label seen."""
    if not TASKS[config.task].needs_labels:
        return None
    if config.labels:
        return list(config.labels)
    labels = sorted({gold_label(c, p.location, p.id) for s, cs in zip(sets, contexts) for p, c in zip(s.rows, cs)})
    if len(labels) < 2:
        raise ConfigError(f"only one gold label ({labels[0]!r}) in the data; list the allowed labels with --labels")
    return labels


def score_predictions(
    preds: Sequence[str | PredictionSet], config: ScoreConfig, *, data: str | None = None
) -> ScoreReport:
    """Score each predictions file; compare every later one with the first (the baseline)."""
    sets = load_prediction_sets(preds)
    require_shared_ids(sets)
    rows = load_rows(data, config.id_field) if data else None
    custom = [load_custom(c) for c in config.custom]
    contexts = [_contexts(s, rows) for s in sets]
    labels = _labels(config, sets, contexts)
    warnings: list[str] = []
    models: list[ModelScores] = []
    scored: list[Scored] = []
    clusters: list[np.ndarray | None] = []
    for s, ctxs in zip(sets, contexts):
        result = _score_set(s, ctxs, config, labels, custom)
        cl = _clusters(s, ctxs, config.cluster_field)
        metrics = {
            name: estimate(st, method=config.ci_method, n_resamples=config.n_resamples, seed=config.seed, clusters=cl)
            for name, st in result.stats.items()
        }
        details = dict(result.details)
        if cl is not None:
            details["clusters"] = int(np.unique(cl).size)
        models.append(ModelScores(s.name, s.path, len(s.rows), metrics, details, [p.id for p in s.rows], result.per_sample, s.identity))
        scored.append(result)
        clusters.append(cl)
        if s.extra_generations:
            warnings.append(
                f"{s.name}: {s.extra_generations} extra generations (sample > 0) were not scored; "
                "task metrics use the first generation of each prompt"
            )
        if details.get("unparsed"):
            warnings.append(f"{s.name}: {details['unparsed']} of {len(s.rows)} outputs named no allowed label (counted as wrong)")
    comparison: list[Comparison] = []
    base_ids = [p.id for p in sets[0].rows]
    for s, result in zip(sets[1:], scored[1:]):
        shared, rows_a, rows_b = align_ids(base_ids, [p.id for p in s.rows])
        if not shared:
            warnings += pairing_warnings(sets[0], s, 0)
            continue
        cl = clusters[0][rows_a] if clusters[0] is not None else None
        pairs = [
            paired(st_a.take(rows_a), result.stats[name].take(rows_b), method=config.ci_method, n_resamples=config.n_resamples,
                   seed=config.seed, clusters=cl, baseline=sets[0].name, model=s.name)
            for name, st_a in scored[0].stats.items()
        ]
        adjusted = adjust_holm(pairs)
        n_clusters = int(np.unique(cl).size) if cl is not None else None
        warnings += pairing_warnings(sets[0], s, len(shared), results=adjusted, clusters=n_clusters)
        comparison += adjusted
        undecided = [f"{r.metric} ±{r.mdd:.3g}" for r in adjusted if r.verdict == Verdict.INCONCLUSIVE and np.isfinite(r.mdd) and r.mdd > 0]
        if undecided:
            warnings.append(
                f"{s.name} vs {sets[0].name}: inconclusive on {len(undecided)} metric(s); the smallest differences "
                f"detectable at n={len(shared)} (80% power) are {', '.join(undecided)}"
            )
    inputs = [s.data_info() for s in sets]
    if data and rows is not None:
        inputs.append(DataInfo(data, content_hash(r for _, r in rows.values()), len(rows), "references"))
    config_out = {**asdict(config), "labels": labels, "rules": dict(config.rules) if config.rules else None, "custom": list(config.custom)}
    return ScoreReport(config.task, config_out, models, comparison, warnings, inputs)


def load_rules(path: str) -> dict[str, Any]:
    """A JSON file of format rules for every sample, e.g. {"json": true, "max_words": 80}."""
    rules = read_json(path, fix="--rules takes a JSON object of rules")
    if not isinstance(rules, dict):
        raise ConfigError(f"--rules {path}: expected a JSON object of rules, e.g. {{\"max_words\": 50}}")
    validate_rules(rules, f"--rules {path}")
    return rules
