"""tunecheck: did the fine-tune work? Evaluate a base model against its fine-tunes.

The notebook API (each function is a command, returning the `Result` it writes)::

    import tunecheck
    ppl = tunecheck.perplexity(["base-model", "out/adapter"], "eval.jsonl", completion_only=True)
    ppl.comparisons[0].verdict        # Verdict.IMPROVED / REGRESSED / INCONCLUSIVE
    tunecheck.load_result("score.json")

Importing it loads no model library (torch, transformers): each function imports its layer.
"""

from tunecheck._api import curves, generate, overfit, overlap, perplexity, score, verdict
from tunecheck.core import (
    Comparison,
    Estimate,
    Result,
    ResultSet,
    Signal,
    Status,
    Verdict,
    load_result,
    load_results,
)

__all__ = [
    "Comparison",
    "Estimate",
    "Result",
    "ResultSet",
    "Signal",
    "Status",
    "Verdict",
    "curves",
    "generate",
    "load_result",
    "load_results",
    "overfit",
    "overlap",
    "perplexity",
    "score",
    "verdict",
]
