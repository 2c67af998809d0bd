"""Task metrics: pure functions of predictions and references (more arrive with the score layer)."""

from tunecheck.metrics._classification import (
    UNPARSED,
    ClassificationReport,
    classification_report,
    classification_stats,
    extract_label,
)
from tunecheck.metrics._diversity import (
    SELF_BLEU_ORDER,
    distinct_n,
    distinct_stats,
    diversity_tokens,
    ngram_presence,
    self_bleu,
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
    "SELF_BLEU_ORDER",
    "UNPARSED",
    "ClassificationReport",
    "check_format",
    "classification_report",
    "classification_stats",
    "corpus_score",
    "corpus_score_ci",
    "corpus_stats",
    "distinct_n",
    "distinct_stats",
    "diversity_tokens",
    "exact_match",
    "extract_label",
    "format_pass",
    "ngram_presence",
    "normalize_answer",
    "rouge",
    "score_from_statistics",
    "segment_statistics",
    "self_bleu",
    "token_f1",
    "validate_rules",
]
