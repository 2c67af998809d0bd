"""Overfitting: the train/validation loss gap (training curves, sweeps and memorisation come next)."""

from tunecheck.overfitting._evaluate import ModelGap, OverfitReport, evaluate_overfit, loss_gap
from tunecheck.overfitting._gap import (
    HIGH_GAP,
    SOME_GAP,
    SUGGESTIONS,
    GapThresholds,
    GapVerdict,
    classify_gap,
)

__all__ = [
    "HIGH_GAP",
    "SOME_GAP",
    "SUGGESTIONS",
    "GapThresholds",
    "GapVerdict",
    "ModelGap",
    "OverfitReport",
    "classify_gap",
    "evaluate_overfit",
    "loss_gap",
]
