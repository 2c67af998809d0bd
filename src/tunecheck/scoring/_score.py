"""Score predictions files on the task's metrics and compare models, paired, honestly.

Every metric becomes per-sample additive statistics (`stats.SampleStats`); one engine gives
each a bootstrap CI and compares models on the samples both have, with one resampling index
shared by both. Metrics compared together are Holm-adjusted, and a verdict is "improved" or
"regressed" only when the CI excludes zero and the adjusted p-value is under 0.05.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck._io import read_json
from tunecheck.core import Comparison, Estimate
from tunecheck.data import Prediction, align_ids, load_rows, read_predictions
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
from tunecheck.scoring._custom import CustomMetric, load_custom
from tunecheck.stats import N_RESAMPLES, SampleStats, adjust_holm, estimate, legacy_dict, paired

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "macro_f1", "micro_f1", "weighted_f1"),
    "qa": ("exact_match", "f1"),
    "summarization": (*ROUGE_TYPES, "bleu", "chrf"),
    "generation": (*ROUGE_TYPES, "bleu", "chrf"),
    "format": ("format_pass_rate",),
    "custom": (),
}
"""Built-in metrics per task. "generation" is "summarization" by another name; "custom" has
only the --metric functions."""

RECOMMENDED_N = 100
"""100-500 eval examples are the usual advice; fewer rarely separate two fine-tunes of your model."""

_RESPONSE_FIELDS = ("completion", "output", "response")


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
        if self.task not in TASK_METRICS:
            raise ConfigError(f"--task {self.task!r}: use one of {', '.join(TASK_METRICS)}")
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


@dataclass(frozen=True)
class PredictionSet:
    """One model's predictions file."""

    name: str
    path: str
    rows: tuple[Prediction, ...]
    """Generation 0 of each sample, in file order."""
    extra_generations: int = 0

    @classmethod
    def load(cls, spec: str) -> PredictionSet:
        """`FILE` or `FILE,name=NAME`."""
        path, _, opt = spec.partition(",")
        name = None
        if opt:
            key, eq, value = opt.partition("=")
            if key.strip() != "name" or not eq or not value.strip():
                raise ConfigError(f"--preds {spec!r}: the only option is name=..., e.g. tuned.jsonl,name=tuned")
            name = value.strip()
        preds = read_predictions(path)
        first = [p for p in preds if p.sample == 0]
        if not first:
            raise DataError(f"{path}: no rows with sample 0")
        name = name or next((p.model for p in first if p.model), None) or Path(path).stem
        return cls(name, path, tuple(first), len(preds) - len(first))


@dataclass
class ModelScores:
    model: str
    file: str
    n: int
    metrics: dict[str, Estimate]
    details: dict[str, Any] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    per_sample: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self, per_sample: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "file": self.file,
            "n": self.n,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            **self.details,
        }
        if per_sample:
            out["samples"] = [
                {"id": i, **{k: v[j] for k, v in self.per_sample.items()}} for j, i in enumerate(self.ids)
            ]
        return out


@dataclass
class ScoreReport:
    task: str
    config: dict[str, Any]
    data: str | None
    models: list[ModelScores]
    comparison: list[Comparison]
    """(baseline, model, result)."""
    warnings: list[str]

    def to_dict(self, per_sample: bool = False) -> dict[str, Any]:
        return {
            "layer": "score",
            "task": self.task,
            "data": self.data,
            "config": self.config,
            "models": [m.to_dict(per_sample) for m in self.models],
            "comparison": [legacy_dict(r) for r in self.comparison],
            "warnings": list(self.warnings),
        }


# -- references ----------------------------------------------------------------------------------
def _response(row: Mapping[str, Any]) -> Any:
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


def _label(ctx: Mapping[str, Any], where: str, sid: str) -> str:
    for value in (ctx.get("label"), ctx.get("reference"), _response(ctx)):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    raise _missing(where, sid, "'label'", "classification")


def _answers(ctx: Mapping[str, Any], where: str, sid: str) -> list[str]:
    value = ctx.get("answers")
    if isinstance(value, Mapping):  # SQuAD: {"text": [...], "answer_start": [...]}
        value = value.get("text")
    if value is None:
        value = ctx.get("reference", _response(ctx))
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise _missing(where, sid, "'answers' (a string or a list of strings)", "qa")


def _reference(ctx: Mapping[str, Any], where: str, sid: str, task: str) -> str:
    value = ctx.get("reference", _response(ctx))
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = value[0]
    if isinstance(value, str):
        return value
    raise _missing(where, sid, "'reference' text", task)


# -- scoring one model ---------------------------------------------------------------------------
@dataclass
class _Scored:
    stats: dict[str, SampleStats]
    details: dict[str, Any]
    per_sample: dict[str, list[float]]


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
            if _response(row) is not None or any(k in row for k in _REFERENCE_KEYS):
                for k in _REFERENCE_KEYS:
                    ctx.pop(k, None)
            ctx.update(row)
        out.append(ctx)
    return out


def _score_set(
    pset: PredictionSet,
    ctxs: Sequence[Mapping[str, Any]],
    config: ScoreConfig,
    labels: Sequence[str] | None,
    custom: Sequence[CustomMetric],
) -> _Scored:
    outputs = [p.output for p in pset.rows]
    task = config.task
    stats: dict[str, SampleStats] = {}
    details: dict[str, Any] = {}
    per_sample: dict[str, list[float]] = {}
    if task == "classification":
        assert labels is not None
        gold = [_label(c, p.location, p.id) for p, c in zip(pset.rows, ctxs)]
        bad = next(((p, g) for p, g in zip(pset.rows, gold) if g not in labels), None)
        if bad:
            raise DataError(f"{bad[0].location} (id {bad[0].id}): gold label {bad[1]!r} is not among --labels {list(labels)}")
        predicted = [extract_label(o, labels) for o in outputs]
        stats.update(classification_stats(gold, predicted, labels))
        report = classification_report(gold, predicted, labels)
        details.update(unparsed=report.unparsed, per_class=report.per_class, labels=report.labels, confusion=report.confusion)
        per_sample["accuracy"] = [float(g == q) for g, q in zip(gold, predicted)]
        per_sample["unparsed"] = [float(q == UNPARSED) for q in predicted]
    elif task == "qa":
        answers = [_answers(c, p.location, p.id) for p, c in zip(pset.rows, ctxs)]
        em = [exact_match(o, a) for o, a in zip(outputs, answers)]
        f1 = [token_f1(o, a) for o, a in zip(outputs, answers)]
        stats.update(exact_match=SampleStats.mean("exact_match", em), f1=SampleStats.mean("f1", f1))
        per_sample.update(exact_match=em, f1=f1)
    elif task in ("summarization", "generation"):
        refs = [_reference(c, p.location, p.id, task) for p, c in zip(pset.rows, ctxs)]
        for name, values in rouge(outputs, refs, use_stemmer=config.use_stemmer).items():
            stats[name] = SampleStats.mean(name, values)
            per_sample[name] = values
        for name in ("bleu", "chrf"):
            stats[name] = corpus_stats(name, outputs, refs)
    elif task == "format":
        passes: list[float] = []
        by_rule: dict[str, list[float]] = {}
        for p, c, o in zip(pset.rows, ctxs, outputs):
            rules = dict(config.rules or {})
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
        stats["format_pass_rate"] = SampleStats.mean("format_pass_rate", passes)
        per_sample["format_pass_rate"] = passes
        details["rules"] = {r: {"pass_rate": float(np.mean(v)), "n": len(v)} for r, v in sorted(by_rule.items())}
    for metric in custom:
        columns: dict[str, list[float]] = {}
        for k, (p, c, o) in enumerate(zip(pset.rows, ctxs, outputs)):
            got = metric(o, {**c, "id": p.id}, p.location)
            if k and set(got) != set(columns):
                raise DataError(f"{p.location}: custom metric {metric.path} returned keys {sorted(got)}, earlier rows {sorted(columns)}")
            for key, v in got.items():
                columns.setdefault(key, []).append(v)
        for key, vals in columns.items():
            if key in stats:
                raise ConfigError(f"--metric {metric.path}: metric name {key!r} is already a {task} metric; rename it")
            stats[key] = SampleStats.mean(key, vals, higher_is_better=metric.higher_is_better)
            per_sample[key] = vals
    return _Scored(stats, details, per_sample)


def _clusters(pset: PredictionSet, ctxs: Sequence[Mapping[str, Any]], name: str | None) -> np.ndarray | None:
    if name is None:
        return None
    values = []
    for p, c in zip(pset.rows, ctxs):
        if c.get(name) is None:
            raise DataError(f"{p.location} (id {p.id}): no {name!r} field for --cluster-field; add it, or pass --data with it")
        values.append(json.dumps(c[name], sort_keys=True))
    return np.asarray(values)


def load_prediction_sets(preds: Sequence[str | PredictionSet]) -> list[PredictionSet]:
    """Load each `FILE[,name=NAME]`; two files with the same model name get their file names
    added, so tables and comparisons can tell them apart."""
    sets = [p if isinstance(p, PredictionSet) else PredictionSet.load(p) for p in preds]
    if not sets:
        raise ConfigError("pass at least one --preds file")
    names = [s.name for s in sets]
    for i, s in enumerate(sets):
        if names.count(s.name) > 1:
            sets[i] = PredictionSet(f"{s.name} ({Path(s.path).name})", s.path, s.rows, s.extra_generations)
    return sets


def pairing_warnings(
    a: PredictionSet, b: PredictionSet, n_shared: int, *, least: int = 1, results: Sequence[Comparison] = (),
    clusters: int | None = None,
) -> list[str]:
    """What to tell the user about pairing `b` with the baseline `a` by id: nothing (or too
    little) in common, a partial overlap, and too few shared samples (or `clusters`, when
    resampled by cluster: then the cluster is the unit that counts) - only when that matters: `results` holds an inconclusive metric whose
    observed difference more samples could make detectable (`samples_to_detect`). A clear
    result at n=90 needs no warning that 90 is few. Empty when the comparison is sound; fewer than
    `least` shared means "not compared". No id in common at all is a DataError: the files answer
    different data sets (or number their rows differently), and a report with no comparison
    would hide that."""
    n_a, n_b = len(a.rows), len(b.rows)
    if n_shared == 0:
        raise DataError(
            f"{b.path} and {a.path}: no sample id in common (e.g. {b.rows[0].id!r} and {a.rows[0].id!r}), so nothing can be "
            "compared; pass predictions for the same data set, with the ids of its samples"
        )
    if n_shared < least:
        return [f"{b.name}: {n_shared} sample ids in common with {a.name}; not compared (need {least} or more)"]
    out = []
    if n_shared < max(n_a, n_b):
        out.append(f"{b.name} vs {a.name}: compared on the {n_shared} samples both have ({n_a} and {n_b} in the files)")
    n, unit = (n_shared, "samples") if clusters is None else (clusters, "clusters")
    if n < RECOMMENDED_N:
        needs = [(r, samples_to_detect(r, n)) for r in results if r.verdict.value == "inconclusive"]
        needs = [(r, k) for r, k in needs if k is not None]
        if needs:
            named = ", ".join(f"{r.metric} ({r.difference:+.3g}: ~{k:,} {unit})" for r, k in needs)
            out.append(
                f"{b.name} vs {a.name}: only {n} {unit} in common: too few to tell models apart reliably "
                f"(use 100-500 examples of your data); inconclusive, but detectable with more {unit} at the difference seen: {named}"
            )
    return out


def require_shared_ids(sets: Sequence[PredictionSet]) -> None:
    """Refuse, before any work, predictions files that share no sample id with the first (the
    baseline): the same DataError `pairing_warnings` raises, but before progress and computation."""
    base = {p.id for p in sets[0].rows} if sets else set()
    for s in sets[1:]:
        if not any(p.id in base for p in s.rows):
            pairing_warnings(sets[0], s, 0)


def samples_to_detect(r: Comparison, n: int) -> int | None:
    """How many samples would make a true difference of the size observed detectable (two-sided
    5%, 80% power): the MDD falls as 1/sqrt(n), so n * (MDD / |difference|)^2. None when more
    samples could not help: no difference seen, or an MDD that is 0 or undefined."""
    d = abs(r.difference)
    if not (np.isfinite(r.mdd) and r.mdd > 0 and np.isfinite(d) and d > 0):
        return None
    return int(np.ceil(n * (r.mdd / d) ** 2))


def score_predictions(
    preds: Sequence[str | PredictionSet], config: ScoreConfig, *, data: str | None = None
) -> ScoreReport:
    """Score each predictions file; compare every later one with the first (the baseline)."""
    sets = load_prediction_sets(preds)
    require_shared_ids(sets)
    rows = load_rows(data, config.id_field) if data else None
    custom = [load_custom(c) for c in config.custom]
    contexts = [_contexts(s, rows) for s in sets]
    labels: list[str] | None = None
    if config.task == "classification":
        if config.labels:
            labels = list(config.labels)
        else:
            seen = {_label(c, p.location, p.id) for s, cs in zip(sets, contexts) for p, c in zip(s.rows, cs)}
            labels = sorted(seen)
            if len(labels) < 2:
                raise ConfigError(f"only one gold label ({labels[0]!r}) in the data; list the allowed labels with --labels")
    warnings: list[str] = []
    models: list[ModelScores] = []
    scored: list[_Scored] = []
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
        models.append(ModelScores(s.name, s.path, len(s.rows), metrics, details, [p.id for p in s.rows], result.per_sample))
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
        pairs = []
        for name, st_a in scored[0].stats.items():
            st_b = result.stats[name]
            pairs.append(
                paired(st_a.take(rows_a), st_b.take(rows_b), method=config.ci_method, n_resamples=config.n_resamples,
                       seed=config.seed, clusters=cl)
            )
        adjusted = adjust_holm(pairs)
        n_clusters = int(np.unique(cl).size) if cl is not None else None
        warnings += pairing_warnings(sets[0], s, len(shared), results=adjusted, clusters=n_clusters)
        undecided = []
        for r in adjusted:
            comparison.append(replace(r, baseline=sets[0].name, model=s.name))
            if r.verdict.value == "inconclusive" and np.isfinite(r.mdd) and r.mdd > 0:
                undecided.append(f"{r.metric} ±{r.mdd:.3g}")
        if undecided:
            warnings.append(
                f"{s.name} vs {sets[0].name}: inconclusive on {len(undecided)} metric(s); the smallest differences "
                f"detectable at n={len(shared)} (80% power) are {', '.join(undecided)}"
            )
    return ScoreReport(
        config.task,
        {
            "labels": labels,
            "rules": dict(config.rules) if config.rules else None,
            "custom": list(config.custom),
            "cluster_field": config.cluster_field,
            "ci_method": config.ci_method,
            "n_resamples": config.n_resamples,
            "seed": config.seed,
            "use_stemmer": config.use_stemmer,
        },
        data,
        models,
        comparison,
        warnings,
    )


def load_rules(path: str) -> dict[str, Any]:
    """A JSON file of format rules for every sample, e.g. {"json": true, "max_words": 80}."""
    rules = read_json(path, fix="--rules takes a JSON object of rules")
    if not isinstance(rules, dict):
        raise ConfigError(f"--rules {path}: expected a JSON object of rules, e.g. {{\"max_words\": 50}}")
    validate_rules(rules, f"--rules {path}")
    return rules
