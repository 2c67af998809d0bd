"""Task scoring: metrics on predictions files, with CIs and paired comparisons between models.
Each task is one entry in `TASKS` (`_tasks.py`); a new one joins with `register_task`."""

from tunecheck.scoring._custom import CustomMetric, load_custom
from tunecheck.scoring._pairing import (
    RECOMMENDED_N,
    PredictionSet,
    load_prediction_sets,
    pairing_warnings,
    require_shared_ids,
    samples_to_detect,
)
from tunecheck.scoring._score import (
    ModelScores,
    ScoreConfig,
    ScoreReport,
    load_rules,
    score_predictions,
)
from tunecheck.scoring._tasks import TASKS, Scored, Task, TaskInput, register_task

__all__ = [
    "RECOMMENDED_N",
    "TASKS",
    "CustomMetric",
    "ModelScores",
    "PredictionSet",
    "ScoreConfig",
    "ScoreReport",
    "Scored",
    "Task",
    "TaskInput",
    "load_custom",
    "load_prediction_sets",
    "load_rules",
    "pairing_warnings",
    "register_task",
    "require_shared_ids",
    "samples_to_detect",
    "score_predictions",
]
