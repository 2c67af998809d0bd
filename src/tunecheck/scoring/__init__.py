"""Task scoring: metrics on predictions files, with CIs and paired comparisons between models."""

from tunecheck.scoring._custom import CustomMetric, load_custom
from tunecheck.scoring._score import (
    RECOMMENDED_N,
    TASK_METRICS,
    ModelScores,
    PredictionSet,
    ScoreConfig,
    ScoreReport,
    load_prediction_sets,
    load_rules,
    pairing_warnings,
    require_shared_ids,
    samples_to_detect,
    score_predictions,
)

__all__ = [
    "RECOMMENDED_N",
    "TASK_METRICS",
    "CustomMetric",
    "ModelScores",
    "PredictionSet",
    "ScoreConfig",
    "ScoreReport",
    "load_custom",
    "load_prediction_sets",
    "load_rules",
    "pairing_warnings",
    "require_shared_ids",
    "samples_to_detect",
    "score_predictions",
]
