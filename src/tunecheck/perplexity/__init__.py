"""Perplexity: token, byte and word perplexity, windows, completion-only, paired comparison."""

from tunecheck.perplexity._evaluate import (
    ModelPerplexity,
    PerplexityConfig,
    PerplexityReport,
    build_requests,
    compare,
    data_info,
    evaluate_perplexity,
    score_model,
    summarise,
    summarise_records,
)
from tunecheck.perplexity._metrics import (
    METRICS,
    SUMS,
    count_bytes,
    count_words,
    perplexity_metrics,
)

__all__ = [
    "METRICS",
    "SUMS",
    "ModelPerplexity",
    "PerplexityConfig",
    "PerplexityReport",
    "build_requests",
    "compare",
    "count_bytes",
    "count_words",
    "data_info",
    "evaluate_perplexity",
    "perplexity_metrics",
    "score_model",
    "summarise",
    "summarise_records",
]
