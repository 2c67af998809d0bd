"""Task metrics: pure functions of predictions and references (more arrive with the score layer)."""

from tunecheck.metrics._classification import (
    UNPARSED,
    ClassificationReport,
    classification_report,
    classification_stats,
    extract_label,
)
from tunecheck.metrics._format import FORMAT_RULES, check_format, format_pass, validate_rules
from tunecheck.metrics._generation import (
    CORPUS_METRICS,
    ROUGE_TYPES,
    corpus_score,
    corpus_score_ci,
    corpus_stats,
    rouge,
    score_from_statistics,
    segment_statistics,
)
from tunecheck.metrics._qa import exact_match, normalize_answer, token_f1

__all__ = [
    "CORPUS_METRICS",
    "FORMAT_RULES",
    "ROUGE_TYPES",
    "UNPARSED",
    "ClassificationReport",
    "check_format",
    "classification_report",
    "classification_stats",
    "corpus_score",
    "corpus_score_ci",
    "corpus_stats",
    "exact_match",
    "extract_label",
    "format_pass",
    "normalize_answer",
    "rouge",
    "score_from_statistics",
    "segment_statistics",
    "token_f1",
    "validate_rules",
]
