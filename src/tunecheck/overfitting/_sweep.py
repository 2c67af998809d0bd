"""Checkpoint sweep: evaluate every `checkpoint-*` of a training run and draw the U-curve.

The seeds' picture: validation loss falls while the model learns (under-fitting), bottoms out
(the sweet spot), then rises as it memorises the training set (over-fitting). Each checkpoint
is scored with the perplexity machinery on the validation set (and the training set, for the
gap), optionally generating answers and scoring them with a task metric. Every checkpoint is
compared with the best one on the same documents (paired bootstrap, Holm-adjusted), so a
checkpoint is only called worse than the best when the difference is more than noise.

Each checkpoint's result is saved as soon as it is done (atomically, keyed by a fingerprint of
its weight files, the data and the settings), so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck import _io
from tunecheck._files import read_text
from tunecheck._io import read_json
from tunecheck._progress import Progress
from tunecheck.core import Estimate, Record, Verdict
from tunecheck.data import Dataset, FieldMap, load_data
from tunecheck.errors import ConfigError, DataError
from tunecheck.models import GENERATION, SCORING, ModelSpec, loaded
from tunecheck.overfitting._curves import LITTLE_LEFT, RELATIVE_FLOOR
from tunecheck.perplexity import (
    SUMS,
    ModelPerplexity,
    PerplexityConfig,
    score_model,
    summarise_records,
)
from tunecheck.stats import PairedResult, SampleStats, adjust_holm, paired


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


@dataclass(frozen=True)
class Checkpoint:
    name: str
    """The directory name, e.g. "checkpoint-1200" (or "final")."""
    step: int | None
    path: Path


def find_checkpoints(run_dir: str | Path, *, include_final: bool = True) -> list[Checkpoint]:
    """`checkpoint-<step>` directories holding a model or an adapter, by step."""
    root = Path(run_dir)
    if not root.is_dir():
        raise ConfigError(f"{run_dir}: no such directory (pass the training run's output_dir)")
    is_model = _is_model
    found = []
    for p in root.glob("checkpoint-*"):
        tail = p.name.rsplit("-", 1)[-1]
        if p.is_dir() and tail.isdigit() and is_model(p):
            found.append(Checkpoint(p.name, int(tail), p))
    found.sort(key=lambda c: c.step or 0)
    if include_final and is_model(root):
        # the final save sits at the run's last step; when a checkpoint was saved at that step it
        # holds the same weights (unless load_best_model_at_end copied an earlier one back)
        step = _global_step(root)
        if step is None or step not in {c.step for c in found}:
            found.append(Checkpoint("final", step, root))
    if not found:
        raise ConfigError(
            f"{run_dir}: no checkpoint-* directories with a model or adapter (the Trainer writes them with "
            "save_strategy='steps' or 'epoch'); pass the training run's output_dir"
        )
    return found


def _is_model(p: Path) -> bool:
    return (p / "config.json").is_file() or (p / "adapter_config.json").is_file()


def final_note(run_dir: str | Path, checkpoints: Sequence[Checkpoint], *, include_final: bool = True) -> str | None:
    """Why the model saved in the run directory itself is not in the sweep, when it is not: it
    was saved at a checkpoint's step, so it holds that checkpoint's weights."""
    root = Path(run_dir)
    if not include_final or not _is_model(root) or any(c.name == "final" for c in checkpoints):
        return None
    step = _global_step(root)
    return (f"final model in {run_dir} = checkpoint-{step} (both saved at step {step}), not scored twice; "
            "if training used load_best_model_at_end it holds the best checkpoint's weights instead")


def default_cache_dir(run_dir: str | Path) -> Path:
    """Where a sweep keeps its per-checkpoint results unless told (--cache-dir): tunecheck's own
    cache, $XDG_CACHE_HOME/tunecheck/sweep (~/.cache/... without it), one folder per run
    directory (its name plus a hash of its absolute path), never inside the training folder."""
    import os

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tunecheck" / "sweep"
    root = Path(run_dir).resolve()
    return base / f"{root.name}-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


def _global_step(root: Path) -> int | None:
    try:
        step = json.loads(read_text(root / "trainer_state.json")).get("global_step")  # read_text: never a FIFO
    except (DataError, json.JSONDecodeError, AttributeError):
        return None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


@dataclass
class CheckpointResult:
    checkpoint: Checkpoint
    eval: ModelPerplexity
    train: ModelPerplexity | None = None
    task: dict[str, Estimate] = field(default_factory=dict)

    @property
    def eval_loss(self) -> float:
        return self.eval.metrics["nll_per_token"].value


@dataclass
class SweepReport:
    checkpoints: list[CheckpointResult]
    best: int
    """Index of the checkpoint with the lowest validation loss."""
    versus_best: list[PairedResult | None]
    """Each checkpoint's validation loss against the best's (None for the best itself)."""
    phases: list[str]
    recommendation: str
    data: dict[str, Any]
    config: SweepConfig
    notes: list[str] = field(default_factory=list)
    """What the user should know about how the sweep was run (e.g. the final save not scored twice)."""

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for cr, vs, phase in zip(self.checkpoints, self.versus_best, self.phases):
            e = cr.eval.metrics
            row: dict[str, Any] = {
                "checkpoint": cr.checkpoint.name,
                "step": cr.checkpoint.step,
                "path": str(cr.checkpoint.path),
                "eval_loss": e["nll_per_token"].value,
                "eval_loss_ci95": list(e["nll_per_token"].ci95 or ()),
                "eval_perplexity": e["perplexity"].value,
                "train_loss": cr.train.metrics["nll_per_token"].value if cr.train else None,
                "gap": (cr.eval_loss - cr.train.metrics["nll_per_token"].value) if cr.train else None,
                "task": {k: v.to_dict() for k, v in cr.task.items()},
                "phase": phase,
                "versus_best": vs.to_dict() if vs else None,
            }
            rows.append(row)
        best = self.checkpoints[self.best]
        return {
            "layer": "sweep",
            "data": self.data,
            "config": asdict(self.config),
            "best_checkpoint": best.checkpoint.name,
            "best_step": best.checkpoint.step,
            "best_eval_loss": best.eval_loss,
            "u_curve": "under-fitting" in self.phases and "over-fitting" in self.phases,
            "recommendation": self.recommendation,
            "notes": list(self.notes),
            "checkpoints": rows,
        }


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
        "base_files": _files_stamp(Path(base)) if base else [],
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
    return mp.to_dict(per_document=True)


def _perplexity_from(d: dict[str, Any], name: str, config: PerplexityConfig, dataset: Dataset) -> ModelPerplexity:
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
            result["task"] = {k: v.to_dict() for k, v in scores.models[0].metrics.items()}
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
            _perplexity_from(saved["eval"], ckpt.name, p, eval_set),
            _perplexity_from(saved["train"], ckpt.name, p, train_set) if train_set is not None else None,
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


def _loss_stats(mp: ModelPerplexity) -> SampleStats:
    def ratio(sums: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(sums[:, 0] / sums[:, 1], dtype=np.float64)

    return SampleStats("eval_loss", mp.columns()[:, :2], ratio, higher_is_better=False)


def place_on_curve(results: Sequence[CheckpointResult], config: PerplexityConfig) -> tuple[int, list[PairedResult | None], list[str]]:
    """The best checkpoint (lowest validation loss), each other one's paired comparison with it,
    and its phase: "under-fitting" / "over-fitting" when significantly worse before / after the
    best, "near best" when not told apart from it, "diverged" when its loss is NaN/inf."""
    losses = np.array([r.eval_loss for r in results], dtype=np.float64)
    finite = np.isfinite(losses)
    if not finite.any():
        raise DataError("every checkpoint has a non-finite validation loss (NaN/inf): the run diverged numerically; check the learning rate and dtype")
    best = int(np.argmin(np.where(finite, losses, np.inf)))
    best_stats = _loss_stats(results[best].eval)
    # a NaN/inf checkpoint is not compared: its replicates are all non-finite, which would read
    # as "inconclusive" and place a broken checkpoint "near best"
    others = [i for i in range(len(results)) if i != best and finite[i]]
    raw = [paired(best_stats, _loss_stats(results[i].eval), n_resamples=config.n_resamples, seed=config.seed) for i in others]
    adjusted = dict(zip(others, adjust_holm(raw)))
    versus: list[PairedResult | None] = [adjusted.get(i) for i in range(len(results))]
    phases = []
    for i, vs in enumerate(versus):
        if not finite[i]:
            phases.append("diverged")
        elif vs is None:
            phases.append("best")
        elif vs.verdict == Verdict.REGRESSED:
            phases.append("under-fitting" if i < best else "over-fitting")
        else:
            phases.append("near best")
    return best, versus, phases


def recommend(results: Sequence[CheckpointResult], best: int, phases: Sequence[str]) -> str:
    b = results[best]
    where = f"{b.checkpoint.name}" + (f" (step {b.checkpoint.step})" if b.checkpoint.step is not None else "")
    text = f"use {where}: lowest validation loss {b.eval_loss:.4f}"
    later = [r.checkpoint.name for r, ph in list(zip(results, phases))[best + 1 :] if ph == "over-fitting"]
    broken = [r.checkpoint.name for r, ph in zip(results, phases) if ph == "diverged"]
    if later:
        text += f"; {len(later)} later checkpoint(s) overfit (validation loss significantly higher: {', '.join(later[:3])}{'...' if len(later) > 3 else ''})"
    elif best == len(results) - 1 and best > 0:
        text += _at_the_end(results, best, phases)
    elif any(ph == "near best" for ph in phases[best + 1 :]):
        text += "; later checkpoints are not significantly worse"
    if broken:
        text += f"; {', '.join(broken[:3])}{'...' if len(broken) > 3 else ''}: loss is NaN/inf (training diverged numerically)"
    return text


_CEILING = {"bleu": 100.0, "chrf": 100.0}
"""Task metrics on a 0-100 scale; every other sweep task metric tops out at 1."""


def _at_the_end(results: Sequence[CheckpointResult], best: int, phases: Sequence[str]) -> str:
    """What to say when the last checkpoint is the best: "more training may help" only when the
    last step still gained clearly and there is something left to gain (a loss well above 0, a
    task metric below its maximum)."""
    b, prev = results[best], results[best - 1]
    gain = prev.eval_loss - b.eval_loss
    fell = f"loss still fell at the last checkpoint (by {gain:.4f} from {prev.checkpoint.name})"
    if phases[best - 1] != "under-fitting":
        return f"; {prev.checkpoint.name} is not told apart from it: the loss has levelled off"
    at_max = [k for k, v in b.task.items() if math.isfinite(v.value) and v.value >= _CEILING.get(k, 1.0) - 1e-9]
    if at_max:
        return f"; {fell}, but {', '.join(at_max)} is already at its maximum: more training cannot improve the task, only memorise"
    if b.eval_loss < LITTLE_LEFT:
        return (f"; {fell}, but at {b.eval_loss:.4f} nats/token (perplexity {math.exp(b.eval_loss):.3f}) "
                "little is left to gain: more training would mostly memorise")
    if gain < RELATIVE_FLOOR * b.eval_loss:
        return f"; {fell}, under {RELATIVE_FLOOR:.0%} of the loss: it has nearly levelled off"
    return f"; {fell}: more training may help"


def plot_sweep(report: SweepReport, *, png: str | Path | None = None, html: str | Path | None = None) -> None:
    """The U-curve: validation (and training) loss per checkpoint, the best one marked."""
    from tunecheck.overfitting._plots import Marker, Series, line_chart

    rows = report.checkpoints
    steps = [r.checkpoint.step for r in rows]
    known = [x for x in steps if x is not None]
    if len(known) == len(steps):
        xs, label = [float(x) for x in known], "step"
    elif known:  # only the final save lacks a step: draw it just after the last checkpoint
        xs, label = [float(x) if x is not None else float(max(known)) * 1.05 + 1 for x in steps], "step (final save last)"
    else:
        xs, label = [float(i) for i in range(len(rows))], "checkpoint (in order)"
    series = [Series("validation loss", xs, [r.eval_loss for r in rows])]
    if all(r.train is not None for r in rows):
        series.append(Series("training loss", xs, [r.train.metrics["nll_per_token"].value for r in rows if r.train]))
    best = rows[report.best]
    markers = [Marker(f"best: {best.checkpoint.name}", xs[report.best], best.eval_loss)]
    line_chart(series, title="Checkpoint sweep: loss per checkpoint", x_label=label, y_label="loss (nats/token)",
               markers=markers, png=png, html=html)
