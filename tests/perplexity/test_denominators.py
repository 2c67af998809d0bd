"""Each perplexity divides by its own unit: tokens, UTF-8 bytes (not characters) or words.

The other definition tests use a whitespace tokenizer over ASCII, where tokens = words and
bytes = characters, so a wrong denominator there goes unnoticed. Here every unit differs."""

import math

import numpy as np
import pytest

from tunecheck.data import Dataset, Sample
from tunecheck.models import TokenScores
from tunecheck.perplexity import PerplexityConfig
from tunecheck.perplexity._evaluate import summarise
from tunecheck.perplexity._metrics import perplexity_metrics

# doc 0 "héllo wörld": 2 words, 11 characters, 13 UTF-8 bytes (é, ö take 2 each); 5 tokens
# doc 1 "naïve café 東京": 3 words, 13 characters, 19 bytes (ï 2, é 2, 東 3, 京 3); 3 tokens
TEXTS = ("héllo wörld", "naïve café 東京")
LOGPROBS = (np.full(5, -0.5), np.array([-1.0, -0.25, -0.75]))
# NLL = 5 * 0.5 + (1.0 + 0.25 + 0.75) = 2.5 + 2.0 = 4.5
# tokens 5 + 3 = 8; words 2 + 3 = 5; bytes 13 + 19 = 32; characters 11 + 13 = 24
NLL, TOKENS, WORDS, BYTES, CHARS = 4.5, 8, 5, 32, 24


def _summary():
    ds = Dataset(tuple(Sample(str(i), "text", text=t) for i, t in enumerate(TEXTS)), "mem", "text", "sha256:x")
    scores = [TokenScores(lp, np.arange(lp.size)) for lp in LOGPROBS]
    return summarise("m", ds, scores, TEXTS, PerplexityConfig(n_resamples=100))


def test_units_really_differ():
    assert sum(len(t) for t in TEXTS) == CHARS
    assert len({TOKENS, WORDS, BYTES, CHARS}) == 4


def test_totals_count_utf8_bytes_and_whitespace_words():
    assert _summary().totals == {"nll": pytest.approx(NLL), "tokens": TOKENS, "bytes": BYTES, "words": WORDS}


def test_each_metric_divides_by_its_own_unit():
    m = {k: v.value for k, v in _summary().metrics.items()}
    # word perplexity = exp(4.5 / 5) = exp(0.9) = 2.4596...; exp(4.5 / 8) (per token) would be 1.755
    assert m["word_perplexity"] == pytest.approx(math.exp(0.9))
    assert m["word_perplexity"] == pytest.approx(2.45960311)
    # token perplexity = exp(4.5 / 8) = exp(0.5625)
    assert m["nll_per_token"] == pytest.approx(0.5625)
    assert m["perplexity"] == pytest.approx(math.exp(0.5625))
    # bits per byte = 4.5 / 32 / ln 2 = 0.140625 / 0.693147 = 0.202879; per character (24) would be 0.2705
    assert m["bits_per_byte"] == pytest.approx(0.140625 / math.log(2))
    assert m["bits_per_byte"] == pytest.approx(0.2028790, rel=1e-6)
    assert m["byte_perplexity"] == pytest.approx(math.exp(0.140625))


def test_pure_function_with_distinct_sums():
    m = perplexity_metrics(NLL, TOKENS, BYTES, WORDS)
    assert m["word_perplexity"] == pytest.approx(math.exp(0.9))
    assert m["perplexity"] == pytest.approx(math.exp(0.5625))
    assert m["bits_per_byte"] == pytest.approx(0.140625 / math.log(2))
    assert m["byte_perplexity"] == pytest.approx(math.exp(0.140625))
