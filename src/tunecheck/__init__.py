"""tunecheck: did the fine-tune work? Evaluate a base model against its fine-tunes.

The notebook API (each function is a command, returning the `Result` it writes)::

    import tunecheck
    ppl = tunecheck.perplexity(["base-model", "out/adapter"], "eval.jsonl", completion_only=True)
    ppl.comparisons[0].verdict        # Verdict.IMPROVED / REGRESSED / INCONCLUSIVE
    tunecheck.load_result("score.json")

Importing it loads no model library (torch, transformers): each function imports its layer.
"""

import sys
import types

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


class _Package(types.ModuleType):
    """`tunecheck.perplexity` and `tunecheck.verdict` are API functions and also subpackages
    (`from tunecheck.perplexity import PerplexityConfig`). Importing a submodule makes Python set
    it as an attribute of its package, which would replace the function after its first call;
    this keeps the function (the subpackage stays importable by name, through sys.modules)."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and isinstance(self.__dict__.get(name), types.FunctionType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
