"""What an analysis of training curves found (`analyse_curves` in `_curves.py` computes it),
as a report and as the shared result, with the curves' overfitting signal."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from tunecheck.core import DataInfo, Result, Signal, Status
from tunecheck.overfitting._gap import HIGH_GAP
from tunecheck.overfitting._logs import LogFormat, TrainingCurves
from tunecheck.overfitting._verdict import RUN


@dataclass(frozen=True)
class TrainLossSummary:
    """How far the training loss fell, from smoothed start to smoothed end."""

    first: float
    """Mean of the first `window` finite training losses (the smoothed start)."""
    last: float
    """Mean of the last `window` finite training losses (the smoothed end)."""
    min: float
    """Lowest finite training loss logged."""
    drop: float
    """first - last: positive when the loss fell."""
    drop_pct: float | None
    """100 * drop / |first|; None when first is 0."""
    window: int
    """How many points each of first and last averages: 10% of the finite points, at least 1."""


@dataclass(frozen=True)
class GapAtStep:
    """The train-eval gap at one evaluation."""

    step: int
    epoch: float | None
    train_loss: float | None
    """Train loss near the evaluation (see the module docstring); None if none was logged before it."""
    eval_loss: float
    gap: float | None
    """eval_loss - train_loss; a gap that grows over training is the classic overfitting sign."""


@dataclass(frozen=True)
class CurveReport:
    """What the curves say: did the training loss fall, which checkpoint is best, where it diverges."""

    curves: TrainingCurves
    """The curves analysed (kept for plots and the JSON points)."""
    train_loss_decreased: bool
    """True when the training loss fell by at least 1% with no NaN/inf; False also when unknown."""
    train: TrainLossSummary | None
    """None when fewer than two finite training losses were logged."""
    best_step: int | None
    """Step of the lowest finite eval loss; None when the run has no eval loss."""
    best_epoch: float | None
    best_eval_loss: float | None
    diverges_at: int | None
    """First evaluation after the best one of a sustained rise while train loss fell; None if none."""
    diverges_at_epoch: float | None
    gap: tuple[GapAtStep, ...]
    """The train-eval gap at each evaluation, in step order."""
    findings: tuple[str, ...]
    """Short sentences: training loss first, then eval loss, gap and checkpoints."""
    recommendation: str
    """One sentence a user can act on (a training-loss problem takes precedence)."""
    patience: int
    """Evaluations in a row the eval loss must stay up for a divergence."""
    min_delta: float | None
    """The rise above the best eval loss that counts as "up" (the value used); None without eval loss."""
    min_delta_auto: bool
    """True when min_delta was derived from the eval loss's noise rather than given."""

    @property
    def source(self) -> str:
        return self.curves.source

    @property
    def format(self) -> LogFormat:
        return self.curves.format

    def details(self) -> dict[str, Any]:
        """What the curves say, as the result's details: the best evaluation, the divergence,
        the training-loss summary, the gap at each evaluation, the findings, the recommendation,
        the settings used and the logged points (NaN/inf are written as null)."""
        c = self.curves
        return {
            "best_step": self.best_step,
            "best_epoch": self.best_epoch,
            "best_eval_loss": self.best_eval_loss,
            "diverges_at": self.diverges_at,
            "diverges_at_epoch": self.diverges_at_epoch,
            "train_loss_decreased": self.train_loss_decreased,
            "train": asdict(self.train) if self.train else None,
            "gap": [asdict(g) for g in self.gap],
            "findings": list(self.findings),
            "recommendation": self.recommendation,
            "settings": {"patience": self.patience, "min_delta": self.min_delta, "min_delta_auto": self.min_delta_auto},
            "points": {"train": [[p.step, p.value] for p in c.train], "eval": [[p.step, p.value] for p in c.eval]},
        }

    def to_result(self) -> Result:
        """The shared result: the log as the data (role "log", its format in the details), the
        curves' signal for the training run, the log's notes as warnings, the analysis in
        details. No models (a log is the run's, whichever model it made) and no estimates (a
        logged loss has no CI)."""
        c = self.curves
        log = DataInfo(c.source, None, len(c.train) + len(c.eval), "log",
                       {"format": c.format, "train_points": len(c.train), "eval_points": len(c.eval)})
        config = {"patience": self.patience, "min_delta": self.min_delta if not self.min_delta_auto else None}
        return Result(layer="curves", data=[log], config=config, signals=[curve_signal(self)],
                      warnings=list(c.notes), details=self.details())


def curve_signal(report: CurveReport) -> Signal:
    """The training curves as an overfitting signal of the run. Not applicable without a
    validation loss or with under three evaluations (too few to see a divergence); overfitting
    when the validation loss diverged (rose for `patience` evaluations while the training loss
    fell); converged curves are healthy only when the training loss fell properly and the last
    logged train-eval gap is not high (above 0.5), else inconclusive. The evidence is the
    recommendation."""
    name, rec = "training curves", report.recommendation
    if report.best_step is None:
        return Signal(name, Status.NOT_APPLICABLE, rec, "no validation loss in the log", model=RUN)
    if report.diverges_at is not None:
        return Signal(name, Status.OVERFITTING, rec, model=RUN)
    finite = [g.gap for g in report.gap if g.gap is not None and math.isfinite(g.gap)]
    if len(report.gap) < 3:
        return Signal(name, Status.NOT_APPLICABLE, rec, f"only {len(report.gap)} evaluation(s) logged: too few to see a divergence", model=RUN)
    if not report.train_loss_decreased:
        return Signal(name, Status.INCONCLUSIVE, rec, "the training loss did not decrease properly", model=RUN)
    if finite and finite[-1] > HIGH_GAP:
        return Signal(name, Status.INCONCLUSIVE, rec, f"no divergence, but the logged train-eval gap is {finite[-1]:.3g}", model=RUN)
    return Signal(name, Status.HEALTHY, rec, model=RUN)
