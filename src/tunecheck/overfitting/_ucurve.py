"""Placing a sweep's checkpoints on the U-curve, and what it says.

Validation loss falls while the model learns (under-fitting), bottoms out (the sweet spot),
then rises as it memorises the training set (over-fitting). Every checkpoint is compared with the
best one on the same documents (paired bootstrap, Holm-adjusted), so a checkpoint is only called
worse than the best when the difference is more than noise. The result names each checkpoint as
a model (its folder name: "checkpoint-1200", or "final"), so its estimates and its comparison
with the best checkpoint (the baseline) are keyed like any model's; the sweep's signal concerns
the training run (`RUN`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecheck.core import Comparison, Estimate, ModelInfo, Result, Signal, Status, Verdict
from tunecheck.errors import DataError
from tunecheck.overfitting._checkpoints import Checkpoint
from tunecheck.overfitting._curves import LITTLE_LEFT, RELATIVE_FLOOR
from tunecheck.overfitting._verdict import RUN
from tunecheck.perplexity import ModelPerplexity, PerplexityConfig, data_info
from tunecheck.stats import SampleStats, adjust_holm, paired

if TYPE_CHECKING:
    from tunecheck.overfitting._sweep import SweepConfig


@dataclass
class CheckpointResult:
    """One checkpoint's scores: validation (and training) perplexity, task metrics if asked."""

    checkpoint: Checkpoint
    eval: ModelPerplexity
    train: ModelPerplexity | None = None
    task: dict[str, Estimate] = field(default_factory=dict)

    @property
    def eval_loss(self) -> float:
        return self.eval.metrics["nll_per_token"].value

    @property
    def train_loss(self) -> float | None:
        return self.train.metrics["nll_per_token"].value if self.train else None

    def estimates(self) -> list[Estimate]:
        """Validation loss and perplexity with CIs, training loss and the gap (no CI: the sweep
        bootstraps each set on its own), task metrics with theirs; named by the checkpoint."""
        name, n = self.checkpoint.name, len(self.eval.records)
        e = self.eval.metrics
        out = [replace(e["nll_per_token"], metric="eval_loss", model=name, n=n), replace(e["perplexity"], metric="eval_perplexity", model=name, n=n)]
        if self.train is not None and self.train_loss is not None:
            out += [replace(self.train.metrics["nll_per_token"], metric="train_loss", model=name, n=len(self.train.records)),
                    Estimate(self.eval_loss - self.train_loss, None, "gap", name)]
        return out + [replace(v, metric=k, model=name, n=v.n if v.n is not None else n) for k, v in self.task.items()]


@dataclass
class SweepReport:
    checkpoints: list[CheckpointResult]
    best: int
    """Index of the checkpoint with the lowest validation loss."""
    versus_best: list[Comparison | None]
    """Each checkpoint's validation loss against the best's (None for the best itself)."""
    phases: list[str]
    recommendation: str
    data: dict[str, Any]
    config: SweepConfig
    notes: list[str] = field(default_factory=list)
    """What the user should know about how the sweep was run (e.g. the final save not scored twice)."""

    def to_result(self) -> Result:
        """The shared result: one model per checkpoint, in step order (step, path, phase in its
        details), its estimates, its comparison with the best checkpoint (baseline = the best's
        name), the sweep's signal for the training run; the notes as warnings; the best
        checkpoint, the recommendation and the task metrics' names in details."""
        models = [ModelInfo(cr.checkpoint.name, dict(cr.eval.identity), {
            "step": cr.checkpoint.step, "path": str(cr.checkpoint.path), "phase": phase,
            "documents": len(cr.eval.records), "tokenization_sha256": cr.eval.tokenization,
        }) for cr, phase in zip(self.checkpoints, self.phases)]
        best = self.checkpoints[self.best]
        data = [data_info(self.data["eval"], "validation"), *([data_info(self.data["train"], "train")] if "train" in self.data else [])]
        return Result(
            layer="sweep",
            data=data,
            models=models,
            config=asdict(self.config),
            estimates=[e for cr in self.checkpoints for e in cr.estimates()],
            comparisons=[vs for vs in self.versus_best if vs is not None],
            signals=[sweep_signal(self.phases, self.recommendation)],
            warnings=list(self.notes),
            details={
                "best_checkpoint": best.checkpoint.name,
                "best_step": best.checkpoint.step,
                "best_eval_loss": best.eval_loss,
                "u_curve": "under-fitting" in self.phases and "over-fitting" in self.phases,
                "recommendation": self.recommendation,
                "task_metrics": list(best.task),
            },
        )


def sweep_signal(phases: Sequence[str], recommendation: str) -> Signal:
    """The sweep as an overfitting signal of the training run: overfitting when a checkpoint
    after the best is significantly worse than it while its training loss kept falling;
    inconclusive when checkpoints after the best got worse on the training data too (not the
    pattern of overfitting, but not a healthy run either); healthy otherwise; not applicable with
    fewer than two checkpoints (no curve to place them on). The evidence is the recommendation."""
    name = "checkpoint sweep"
    if len(phases) < 2:
        return Signal(name, Status.NOT_APPLICABLE, recommendation, f"only {len(phases)} checkpoint(s): no curve to place them on", model=RUN)
    if "over-fitting" in phases:
        return Signal(name, Status.OVERFITTING, recommendation, model=RUN)
    if DEGRADED in phases:
        return Signal(name, Status.INCONCLUSIVE, recommendation, "the validation loss rose after the best checkpoint, but the training "
                      "loss rose too: the model got worse, it did not overfit", model=RUN)
    return Signal(name, Status.HEALTHY, recommendation, model=RUN)


def _loss_stats(mp: ModelPerplexity) -> SampleStats:
    def ratio(sums: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(sums[:, 0] / sums[:, 1], dtype=np.float64)

    return SampleStats("eval_loss", mp.columns()[:, :2], ratio, higher_is_better=False)


DEGRADED = "worse on both"
"""The phase of a checkpoint after the best that is significantly worse on the validation set
and no better on the training set: overfitting keeps lowering the training loss, so this is
unstable training, or a sweep that scores tokens the training did not optimise (prompts, when
training used a completion-only loss and the sweep runs without --completion-only)."""


def place_on_curve(results: Sequence[CheckpointResult], config: PerplexityConfig) -> tuple[int, list[Comparison | None], list[str]]:
    """The best checkpoint (lowest validation loss), each other one's paired comparison with it,
    and its phase: "under-fitting" / "over-fitting" when significantly worse before / after the
    best, "worse on both" (`DEGRADED`) instead of "over-fitting" when its training loss (with a
    training set) is not below the best's, "near best" when not told apart from it, "diverged"
    when its loss is NaN/inf."""
    losses = np.array([r.eval_loss for r in results], dtype=np.float64)
    finite = np.isfinite(losses)
    if not finite.any():
        raise DataError("every checkpoint has a non-finite validation loss (NaN/inf): the run diverged numerically; check the learning rate and dtype")
    best = int(np.argmin(np.where(finite, losses, np.inf)))
    best_stats = _loss_stats(results[best].eval)
    # a NaN/inf checkpoint is not compared: its replicates are all non-finite, which would read
    # as "inconclusive" and place a broken checkpoint "near best"
    others = [i for i in range(len(results)) if i != best and finite[i]]
    name = results[best].checkpoint.name
    raw = [paired(best_stats, _loss_stats(results[i].eval), n_resamples=config.n_resamples, seed=config.seed,
                  baseline=name, model=results[i].checkpoint.name) for i in others]
    adjusted = dict(zip(others, adjust_holm(raw)))
    versus: list[Comparison | None] = [adjusted.get(i) for i in range(len(results))]
    phases = []
    for i, vs in enumerate(versus):
        if not finite[i]:
            phases.append("diverged")
        elif vs is None:
            phases.append("best")
        elif vs.verdict == Verdict.REGRESSED:
            phases.append("under-fitting" if i < best else "over-fitting" if _train_fell(results[i], results[best]) else DEGRADED)
        else:
            phases.append("near best")
    return best, versus, phases


def _train_fell(later: CheckpointResult, best: CheckpointResult) -> bool:
    """Whether the training loss went on falling after the best checkpoint (True without a
    training set: the validation loss is then all there is to read)."""
    t, t_best = later.train_loss, best.train_loss
    if t is None or t_best is None or not (math.isfinite(t) and math.isfinite(t_best)):
        return True
    return t < t_best


def recommend(results: Sequence[CheckpointResult], best: int, phases: Sequence[str]) -> str:
    b = results[best]
    where = f"{b.checkpoint.name}" + (f" (step {b.checkpoint.step})" if b.checkpoint.step is not None else "")
    text = f"use {where}: lowest validation loss {b.eval_loss:.4f}"
    later = [r.checkpoint.name for r, ph in list(zip(results, phases))[best + 1 :] if ph == "over-fitting"]
    broken = [r.checkpoint.name for r, ph in zip(results, phases) if ph == "diverged"]
    worse = [r.checkpoint.name for r, ph in zip(results, phases) if ph == DEGRADED]
    if later:
        text += f"; {len(later)} later checkpoint(s) overfit (validation loss significantly higher: {', '.join(later[:3])}{'...' if len(later) > 3 else ''})"
    if worse:
        text += (f"; {len(worse)} later checkpoint(s) got worse on the training data too ({', '.join(worse[:3])}"
                 f"{'...' if len(worse) > 3 else ''}): not overfitting, but unstable training, or the sweep scores tokens "
                 "the training did not (add --completion-only if it trained on the responses only)")
    if not (later or worse):  # what to say of a run whose later checkpoints are no worse
        if best == len(results) - 1 and best > 0:
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
    task metric below its maximum). It is compared with the last checkpoint before it that did
    not diverge (a NaN/inf one is neither "not told apart" nor a loss to fall from)."""
    earlier = [i for i in range(best) if phases[i] != "diverged"]
    if not earlier:
        return ""
    b, prev = results[best], results[earlier[-1]]
    gain = prev.eval_loss - b.eval_loss
    fell = f"loss still fell at the last checkpoint (by {gain:.4f} from {prev.checkpoint.name})"
    if phases[earlier[-1]] != "under-fitting":
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
