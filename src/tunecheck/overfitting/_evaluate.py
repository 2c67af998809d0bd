"""`tunecheck overfit`: train and validation loss with the perplexity machinery, and their gap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck._progress import Progress
from tunecheck.core import Estimate, ModelInfo, Result, Signal
from tunecheck.data import Dataset, FieldMap, load_data
from tunecheck.errors import ConfigError
from tunecheck.models import SCORING, LogLikelihoodModel, ModelSpec, loaded
from tunecheck.overfitting._applies import Applies, enough
from tunecheck.overfitting._gap import GapThresholds, GapVerdict, classify_gap, gap_signal
from tunecheck.perplexity import ModelPerplexity, PerplexityConfig, data_info, score_model
from tunecheck.stats import bootstrap_sums, percentile_ci


@dataclass
class ModelGap:
    model: str
    train: ModelPerplexity
    eval: ModelPerplexity
    gap: Estimate
    """eval loss - train loss; CI from independent bootstraps of the two sets (they share no samples)."""
    verdict: GapVerdict

    @property
    def applies(self) -> Applies:
        return enough(min(len(self.train.records), len(self.eval.records)), "documents in the smaller of the two sets")

    def info(self) -> ModelInfo:
        """The counts, the gap's level and message (the point estimate's, by the thresholds), and
        whether the check applies."""
        details = {
            "train_tokens": int(self.train.totals["tokens"]),
            "eval_tokens": int(self.eval.totals["tokens"]),
            "train_documents": len(self.train.records),
            "eval_documents": len(self.eval.records),
            **self.applies.as_details(),
            "level": self.verdict.level,
            "message": self.verdict.message,
            "suggestions": list(self.verdict.suggestions),
        }
        return ModelInfo(self.model, dict(self.train.identity), details)

    def estimates(self) -> list[Estimate]:
        """Train and validation loss and perplexity, and the gap, each with its CI."""
        n_train, n_eval = len(self.train.records), len(self.eval.records)
        picked = [("train_loss", self.train, "nll_per_token", n_train), ("eval_loss", self.eval, "nll_per_token", n_eval),
                  ("train_perplexity", self.train, "perplexity", n_train), ("eval_perplexity", self.eval, "perplexity", n_eval)]
        out = [replace(mp.metrics[key], metric=name, model=self.model, n=n) for name, mp, key, n in picked]
        return [*out, replace(self.gap, metric="gap", model=self.model)]

    def signal(self, thresholds: GapThresholds) -> Signal:
        return gap_signal(self.model, self.gap, self.verdict.message, thresholds, self.applies.reason)


@dataclass
class OverfitReport:
    models: list[ModelGap]
    data: dict[str, Any]
    thresholds: GapThresholds
    config: PerplexityConfig

    def to_result(self) -> Result:
        """The shared result: train / validation loss, perplexity and the gap with CIs per model,
        each model's loss-gap signal, its level (high / some / none) in its details, the
        thresholds in the result's details."""
        return Result(
            layer="overfit",
            data=[data_info(self.data["train"], "train"), data_info(self.data["eval"], "validation")],
            models=[m.info() for m in self.models],
            config=asdict(self.config),
            estimates=[e for m in self.models for e in m.estimates()],
            signals=[m.signal(self.thresholds) for m in self.models],
            details={"thresholds": asdict(self.thresholds)},
        )


def loss_gap(train: ModelPerplexity, eval_: ModelPerplexity, config: PerplexityConfig, thresholds: GapThresholds) -> ModelGap:
    """Gap with a CI: resample each set independently (with different RNG seeds: they share no samples)."""
    def losses(result: ModelPerplexity, seed: int) -> np.ndarray:
        cols = result.columns()[:, :2]  # nll, tokens
        sums = bootstrap_sums(cols, n_resamples=config.n_resamples, seed=seed)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(sums[:, 0] / sums[:, 1])

    t_loss = train.metrics["nll_per_token"].value
    e_loss = eval_.metrics["nll_per_token"].value
    reps = losses(eval_, config.seed + 1) - losses(train, config.seed)
    gap = Estimate(e_loss - t_loss, percentile_ci(reps))
    return ModelGap(train.model, train, eval_, gap, classify_gap(t_loss, e_loss, thresholds))


def evaluate_overfit(
    models: Sequence[str | ModelSpec | LogLikelihoodModel],
    train: str | Path | Dataset,
    eval_: str | Path | Dataset,
    config: PerplexityConfig | None = None,
    thresholds: GapThresholds | None = None,
    *,
    fields: FieldMap | None = None,
    progress: Progress | None = None,
    show_tokens: Callable[[str], None] | None = None,
) -> OverfitReport:
    """Train and validation loss of each model, computed alike, and the overfitting verdict.
    `show_tokens` receives each model's scored tokens of the first training sample."""
    config = config or PerplexityConfig()
    thresholds = thresholds or GapThresholds()
    if not models:
        raise ConfigError("name at least one model (--model)")
    train_set = train if isinstance(train, Dataset) else load_data(train, fields)
    eval_set = eval_ if isinstance(eval_, Dataset) else load_data(eval_, fields)
    if train_set.sha256 == eval_set.sha256:
        raise ConfigError(f"--train and --eval hold the same data ({train_set.source}); pass a held-out validation set")
    gaps = []
    for item in models:
        with loaded(item, SCORING, layer="overfit", dtype=config.dtype, device=config.device) as model:
            t = score_model(model, train_set, config, progress=progress, show_tokens=show_tokens)
            e = score_model(model, eval_set, config, progress=progress)
        gaps.append(loss_gap(t, e, config, thresholds))
    return OverfitReport(gaps, {"train": train_set.identity(), "eval": eval_set.identity()}, thresholds, config)
