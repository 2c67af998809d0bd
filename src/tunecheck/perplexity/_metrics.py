"""Perplexity definitions, as pure functions of raw sums.

Given the total negative log-likelihood (natural log) over a set and its size in tokens,
UTF-8 bytes and whitespace-separated words:

    nll_per_token    = NLL / tokens
    perplexity       = exp(NLL / tokens)              token-level; depends on the tokenizer
    bits_per_byte    = NLL / bytes / ln 2             tokenizer-independent (nanochat, lm-eval)
    byte_perplexity  = exp(NLL / bytes)  = 2 ** bits_per_byte
    word_perplexity  = exp(NLL / words)

Aggregates always divide sums over the whole set (token-weighted), never average per-document
perplexities. Functions accept numpy arrays so the bootstrap evaluates all resamples at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SUMS = ("nll", "tokens", "bytes", "words")
"""The per-document raw sums every perplexity metric is computed from."""

METRICS = ("nll_per_token", "perplexity", "bits_per_byte", "byte_perplexity", "word_perplexity")


def count_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def count_words(text: str) -> int:
    return len(text.split())


def _div(a: Any, b: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(b) > 0, np.asarray(a, dtype=np.float64) / np.where(np.asarray(b) > 0, b, 1), np.nan)


def perplexity_metrics(nll: Any, tokens: Any, n_bytes: Any, words: Any) -> dict[str, Any]:
    """All five metrics from sums (scalars or equal-shape arrays); undefined ones are NaN."""
    per_token = _div(nll, tokens)
    per_byte = _div(nll, n_bytes)
    per_word = _div(nll, words)
    with np.errstate(over="ignore", invalid="ignore"):
        out = {
            "nll_per_token": per_token,
            "perplexity": np.exp(per_token),
            "bits_per_byte": per_byte / math.log(2),
            "byte_perplexity": np.exp(per_byte),
            "word_perplexity": np.exp(per_word),
        }
    if np.ndim(nll) == 0:
        return {k: float(v) for k, v in out.items()}
    return out
