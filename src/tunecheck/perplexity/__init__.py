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
    summarise_records,
)
from tunecheck.perplexity._metrics import SUMS

__all__ = [
    "SUMS",
    "ModelPerplexity",
    "PerplexityConfig",
    "PerplexityReport",
    "build_requests",
    "compare",
    "data_info",
    "evaluate_perplexity",
    "score_model",
    "summarise_records",
]
