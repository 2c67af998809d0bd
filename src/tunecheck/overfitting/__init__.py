"""Overfitting: the train/validation loss gap, training curves, checkpoint sweeps, memorisation
(copying, extraction, membership, rephrasing), diversity, and the signals' verdict."""

# Signal and Status live in core; re-exported for callers that still import them from here
from tunecheck.core import Signal, Status
from tunecheck.overfitting._applies import MIN_SAMPLES, Applies
from tunecheck.overfitting._copying import CopyConfig, CopyingReport, evaluate_copying
from tunecheck.overfitting._curves import (
    CurveReport,
    GapAtStep,
    TrainLossSummary,
    analyse_curves,
    curve_signal,
)
from tunecheck.overfitting._diversity import (
    DIVERSITY_NS,
    DiversityReport,
    ModelDiversity,
    compare_diversity,
    diversity_stats,
)
from tunecheck.overfitting._evaluate import ModelGap, OverfitReport, evaluate_overfit, loss_gap
from tunecheck.overfitting._extraction import (
    ExtractionConfig,
    ExtractionReport,
    evaluate_extraction,
    match_scores,
)
from tunecheck.overfitting._gap import (
    HIGH_GAP,
    SOME_GAP,
    SUGGESTIONS,
    GapThresholds,
    GapVerdict,
    classify_gap,
    gap_signal,
)
from tunecheck.overfitting._logs import CurvePoint, LogFormat, TrainingCurves, read_curves
from tunecheck.overfitting._membership import (
    MembershipConfig,
    MembershipReport,
    evaluate_membership,
    min_k_prob,
)
from tunecheck.overfitting._plots import Marker, Series, line_chart, plot_curves
from tunecheck.overfitting._rephrase import RephraseReport, rephrase_sensitivity
from tunecheck.overfitting._sweep import (
    Checkpoint,
    SweepConfig,
    SweepReport,
    default_cache_dir,
    find_checkpoints,
    place_on_curve,
    plot_sweep,
    sweep_checkpoints,
    sweep_signal,
)
from tunecheck.overfitting._verdict import (
    OVERFITTING_LAYERS,
    RUN,
    OverfittingVerdict,
    combine,
    models_in,
    overfitting_verdict,
    signals_for,
)

__all__ = [
    "DIVERSITY_NS",
    "HIGH_GAP",
    "MIN_SAMPLES",
    "OVERFITTING_LAYERS",
    "RUN",
    "SOME_GAP",
    "SUGGESTIONS",
    "Applies",
    "Checkpoint",
    "CopyConfig",
    "CopyingReport",
    "CurvePoint",
    "CurveReport",
    "DiversityReport",
    "ExtractionConfig",
    "ExtractionReport",
    "GapAtStep",
    "GapThresholds",
    "GapVerdict",
    "LogFormat",
    "Marker",
    "MembershipConfig",
    "MembershipReport",
    "ModelDiversity",
    "ModelGap",
    "OverfitReport",
    "OverfittingVerdict",
    "RephraseReport",
    "Series",
    "Signal",
    "Status",
    "SweepConfig",
    "SweepReport",
    "TrainLossSummary",
    "TrainingCurves",
    "analyse_curves",
    "classify_gap",
    "combine",
    "compare_diversity",
    "curve_signal",
    "default_cache_dir",
    "diversity_stats",
    "evaluate_copying",
    "evaluate_extraction",
    "evaluate_membership",
    "evaluate_overfit",
    "find_checkpoints",
    "gap_signal",
    "line_chart",
    "loss_gap",
    "match_scores",
    "min_k_prob",
    "models_in",
    "overfitting_verdict",
    "place_on_curve",
    "plot_curves",
    "plot_sweep",
    "read_curves",
    "rephrase_sensitivity",
    "signals_for",
    "sweep_checkpoints",
    "sweep_signal",
]
