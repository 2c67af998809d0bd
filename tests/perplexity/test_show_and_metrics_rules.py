"""--show-tokens' text and the metrics at a count of one (mutation-testing cases of
tests/MUTANTS.md), worked out by hand."""

from __future__ import annotations

import math

import pytest

from tunecheck.models import LoglikelihoodRequest
from tunecheck.perplexity._metrics import perplexity_metrics
from tunecheck.perplexity._show import describe_tokens


def test_describe_tokens_counts_marks_and_escapes():
    # 4 tokens, 1 scored: "1 of 4 scored, 3 context only"; backslash, CR, tab and newline escaped
    view = [("a\\b", False), ("\r", False), ("\t", False), ("end\n", True)]
    text = describe_tokens("tuned", "7", LoglikelihoodRequest("ctx", "end", add_eos=True), view)
    assert text == (
        "tokens of sample '7' for tuned: 1 of 4 scored, 3 context only; an EOS token appended (scored tokens in [brackets])\n"
        "a\\\\b|\\r|\\t|[end\\n]"
    )
    no_eos = describe_tokens("tuned", "7", LoglikelihoodRequest("", "x"), [("x", True)])
    assert no_eos.splitlines()[0] == "tokens of sample '7' for tuned: 1 of 1 scored, 0 context only; no EOS token appended (scored tokens in [brackets])"


def test_one_token_one_byte_one_word_is_defined():
    # NLL 2 over 1 token, 1 byte, 1 word: perplexity e^2, bits per byte 2 / ln 2
    m = perplexity_metrics(2.0, 1.0, 1.0, 1.0)
    assert m["perplexity"] == pytest.approx(math.exp(2)) and m["word_perplexity"] == pytest.approx(math.exp(2))
    assert m["bits_per_byte"] == pytest.approx(2 / math.log(2))
