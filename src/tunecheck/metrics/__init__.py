"""Task metrics: pure functions of predictions and references (more arrive with the score layer)."""

from tunecheck.metrics._classification import (
    UNPARSED,
    ClassificationReport,
    classification_report,
    extract_label,
)
from tunecheck.metrics._qa import exact_match, normalize_answer, token_f1

__all__ = [
    "UNPARSED",
    "ClassificationReport",
    "classification_report",
    "exact_match",
    "extract_label",
    "normalize_answer",
    "token_f1",
]
