"""Checkpoint sweep: evaluate every `checkpoint-*` of a training run (found by
`_checkpoints.py`) and place them on the U-curve (`_ucurve.py`).

Each checkpoint is scored with the perplexity machinery on the validation set (and the training
set, for the gap), optionally generating answers and scoring them with a task metric.

Each checkpoint's result is saved as soon as it is done (atomically, keyed by a fingerprint of
its weight files, the data and the settings), so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunecheck import _io
from tunecheck._io import read_json
from tunecheck._progress import Progress
from tunecheck.core import Estimate, Record
from tunecheck.data import Dataset, FieldMap, load_data
from tunecheck.errors import ConfigError
from tunecheck.models import GENERATION, SCORING, ModelSpec, loaded
from tunecheck.overfitting._checkpoints import (
    Checkpoint,
    default_cache_dir,
    final_note,
    find_checkpoints,
)
from tunecheck.overfitting._plots import plot_sweep
from tunecheck.overfitting._ucurve import (
    CheckpointResult,
    SweepReport,
    place_on_curve,
    recommend,
    sweep_signal,
)
from tunecheck.perplexity import (
    SUMS,
    ModelPerplexity,
    PerplexityConfig,
    score_model,
    summarise_records,
)


@dataclass(frozen=True)
class SweepConfig:
    perplexity: PerplexityConfig = field(default_factory=PerplexityConfig)
    """How loss is computed (completion-only, template, windows, dtype, device, resamples)."""
    base: str | None = None
    """Base model for adapter checkpoints; default: the one in each adapter_config.json."""
    task: str | None = None
    """Also generate answers for the validation set and score them with this task metric."""
    max_new_tokens: int = 128
    stop: tuple[str, ...] = ()
    labels: tuple[str, ...] | None = None
    """classification: the allowed labels (default: the gold labels seen)."""
    rules: dict[str, Any] | None = None
    """format: rules for every sample (a row's own "format" field adds to them)."""
    include_final: bool = True
    """Also evaluate the run directory itself when it holds a model (the final save)."""

    def score_config(self) -> Any:
        """The score layer's settings for --task (validated here, before any model loads)."""
        from tunecheck.scoring import ScoreConfig

        p = self.perplexity
        return ScoreConfig(self.task or "qa", labels=self.labels, rules=self.rules, n_resamples=p.n_resamples, seed=p.seed)

    def __post_init__(self) -> None:
        if self.task is not None:
            if self.task == "custom":
                raise ConfigError("sweep --task custom is not supported: score the saved predictions with tunecheck score --metric")
            self.score_config()


CACHE_VERSION = 2
"""Bump when what a saved checkpoint result holds changes: older files are then re-evaluated."""


def _files_stamp(folder: Path) -> list[tuple[str, int, int | str]]:
    """Name, size and mtime of every file in a model folder: weights, tokenizer and chat template
    all change the numbers (cheap, unlike hashing gigabytes); a GGUF file's name, size and hash."""
    if not folder.is_dir():
        from tunecheck.models import weights_stamp

        return weights_stamp(str(folder)) if folder.is_file() else []
    return sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir() if f.is_file())


def _resolve(spec: ModelSpec) -> Any:
    """resolve(), with the fix a sweep user can apply (the --base option, not --model)."""
    from tunecheck.errors import ModelError
    from tunecheck.models import resolve

    try:
        return resolve(spec)
    except ModelError as err:
        raise ModelError(f"{spec.location}: {str(err).split(': ', 1)[-1].split('; ')[0]}; pass the base model with --base PATH") from None


def _fingerprint(
    ckpt: Checkpoint, config: SweepConfig, eval_set: Dataset, train_set: Dataset | None, fields: FieldMap | None
) -> str:
    from tunecheck.models import pick_device, pick_dtype

    p = config.perplexity
    device = pick_device(p.device)
    base = config.base
    if base is None and (ckpt.path / "adapter_config.json").is_file():
        base = _resolve(ModelSpec(str(ckpt.path))).model  # the adapter's own base
    key = {
        "version": CACHE_VERSION,
        "files": _files_stamp(ckpt.path),
        "base": base,
        "base_files": _files_stamp(Path(base).expanduser()) if base else [],  # --base "~/base" too
        "eval": eval_set.sha256,
        "train": train_set.sha256 if train_set else None,
        "fields": asdict(fields) if fields else None,
        # auto dtype is fp32 on a CPU and bf16 on a GPU: a sweep resumed elsewhere must not mix them
        "dtype": str(pick_dtype(p.dtype, device)),
        # losses are re-bootstrapped from per-document sums on every load; task CIs are saved
        "scoring": {k: v for k, v in asdict(p).items() if k not in ("batch_size", "device", "dtype", "n_resamples", "seed")},
        "resampling": [p.n_resamples, p.seed] if config.task else None,
        "task": [config.task, config.max_new_tokens, list(config.stop), config.labels, config.rules],
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _perplexity_dict(mp: ModelPerplexity) -> dict[str, Any]:
    """A checkpoint's scores as its cache file keeps them (the per-document sums are what is read back)."""
    per_document = [{"id": r.sample_id, **{k: r.values[k] for k in SUMS}} for r in mp.records]
    return {"model": mp.model, "tokenization_sha256": mp.tokenization, "identity": mp.identity, "per_document": per_document}


def _perplexity_from(d: dict[str, Any], name: str, config: PerplexityConfig) -> ModelPerplexity:
    records = [Record(str(r["id"]), name, {k: float(r[k]) for k in SUMS}) for r in d["per_document"]]
    return summarise_records(name, records, config, tokenization=d["tokenization_sha256"], identity=d.get("identity") or {})


def _evaluate_one(
    ckpt: Checkpoint, config: SweepConfig, eval_set: Dataset, train_set: Dataset | None, out: Path, progress: Progress | None
) -> dict[str, Any]:
    spec = ModelSpec(str(ckpt.path), name=ckpt.name, base=config.base)
    _resolve(spec)
    with loaded(spec, SCORING, layer="sweep", dtype=config.perplexity.dtype, device=config.perplexity.device) as model:
        result: dict[str, Any] = {"eval": _perplexity_dict(score_model(model, eval_set, config.perplexity, progress=progress))}
        if train_set is not None:
            result["train"] = _perplexity_dict(score_model(model, train_set, config.perplexity, progress=progress))
        if config.task:
            from tunecheck.generation import GenerateConfig, generate_predictions
            from tunecheck.models import GenerationParams
            from tunecheck.scoring import score_predictions

            preds = out / "preds" / f"{ckpt.name}.jsonl"
            gen = GenerateConfig(params=GenerationParams(max_new_tokens=config.max_new_tokens, stop=config.stop), template=config.perplexity.template)
            generate_predictions(GENERATION.of(model, "sweep --task"), eval_set, preds, gen, overwrite=True, progress=progress)
            scores = score_predictions([f"{preds},name={ckpt.name}"], config.score_config())
            result["task"] = {k: {"value": v.value, "ci95": list(v.ci95) if v.ci95 else None} for k, v in scores.models[0].metrics.items()}
        return result


def sweep_checkpoints(
    run_dir: str | Path,
    eval_data: str | Path | Dataset,
    out: str | Path,
    config: SweepConfig | None = None,
    *,
    train_data: str | Path | Dataset | None = None,
    fields: FieldMap | None = None,
    progress: Progress | None = None,
) -> SweepReport:
    """Evaluate each checkpoint (reusing results already saved in `out`), then find the best
    and place every other checkpoint on the U-curve."""
    config = config or SweepConfig()
    checkpoints = find_checkpoints(run_dir, include_final=config.include_final)
    eval_set = eval_data if isinstance(eval_data, Dataset) else load_data(eval_data, fields)
    train_set = None
    if train_data is not None:
        train_set = train_data if isinstance(train_data, Dataset) else load_data(train_data, fields)
    out_dir = Path(out)
    results = []
    task = None if progress is None else progress.task("checkpoints", len(checkpoints), "checkpoints")
    for ckpt in checkpoints:
        cache = out_dir / "checkpoints" / f"{ckpt.name}.json"
        fp = _fingerprint(ckpt, config, eval_set, train_set, fields)
        saved = _load_cache(cache, fp)
        if saved is None:
            saved = {"fingerprint": fp, **_evaluate_one(ckpt, config, eval_set, train_set, out_dir, progress)}
            _io.write_json(cache, _io.clean(saved))
        p = config.perplexity
        results.append(CheckpointResult(
            ckpt,
            _perplexity_from(saved["eval"], ckpt.name, p),
            _perplexity_from(saved["train"], ckpt.name, p) if train_set is not None else None,
            {k: Estimate(v["value"], tuple(v["ci95"]) if v.get("ci95") else None) for k, v in saved.get("task", {}).items()},
        ))
        if task is not None:
            task.advance(1)
    best, versus, phases = place_on_curve(results, config.perplexity)
    data = {"eval": eval_set.identity(), **({"train": train_set.identity()} if train_set else {})}
    note = final_note(run_dir, checkpoints, include_final=config.include_final)
    notes = [note] if note else []
    notes.append(f"per-checkpoint results are kept in {out_dir}: a rerun continues from them (--cache-dir to choose the place)")
    return SweepReport(results, best, versus, phases, recommend(results, best, phases), data, config, notes)


def _load_cache(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    saved = read_json(path, fix="delete it to evaluate that checkpoint again")
    if not isinstance(saved, dict) or saved.get("fingerprint") != fingerprint or "eval" not in saved:
        return None  # another version or other settings: evaluate again
    return saved


__all__ = [
    "Checkpoint",
    "CheckpointResult",
    "SweepConfig",
    "SweepReport",
    "default_cache_dir",
    "final_note",
    "find_checkpoints",
    "place_on_curve",
    "plot_sweep",
    "recommend",
    "sweep_checkpoints",
    "sweep_signal",
]
