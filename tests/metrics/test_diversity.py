"""distinct-n on hand-counted sets, its resampling statistics, and self-BLEU equal to sacrebleu's
own sentence BLEU of each output against all the others."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tunecheck.metrics import (
    distinct_n,
    distinct_stats,
    diversity_tokens,
    ngram_presence,
    self_bleu,
)
from tunecheck.stats import estimate

# tokens (13a, lowercased): [the, cat, sat, .], [the, cat, ran], [a]
TEXTS = ["The cat sat.", "the cat ran", "a"]


def test_tokens_are_13a_lowercased():
    assert diversity_tokens("The cat sat.") == ["the", "cat", "sat", "."]
    assert diversity_tokens("Hello, World!") == ["hello", ",", "world", "!"]
    assert diversity_tokens("   ") == []


@pytest.mark.parametrize(
    ("n", "want"),
    [
        (1, 6 / 8),  # 4 + 3 + 1 unigrams; unique: the cat sat . ran a
        (2, 4 / 5),  # (the cat) (cat sat) (sat .) + (the cat) (cat ran); "a" has none
        (3, 3 / 3),  # (the cat sat) (cat sat .) (the cat ran): all different
        (4, 1 / 1),  # only (the cat sat .)
    ],
)
def test_distinct_n_hand_counted(n, want):
    assert distinct_n(TEXTS, n) == pytest.approx(want)


def test_distinct_n_is_corpus_level_not_a_mean_of_ratios():
    # each output alone is all-distinct (ratio 1), but together "a b" repeats: 2 unique / 4
    assert distinct_n(["a b", "a b"], 1) == pytest.approx(0.5)


def test_distinct_n_undefined_without_ngrams():
    assert math.isnan(distinct_n(TEXTS, 5))  # no output has 5 tokens
    assert math.isnan(distinct_n([], 1))
    with pytest.raises(ValueError, match="positive integer"):
        distinct_n(TEXTS, 0)


def test_presence_matrix_equals_distinct_n_of_repeated_texts():
    for n in (1, 2, 3):
        matrix, totals = ngram_presence(TEXTS, n)
        assert matrix.shape[0] == 3
        assert totals.tolist() == [max(0, k - n + 1) for k in (4, 3, 1)]
        w = np.array([2.0, 0.0, 1.0])  # the first output twice, the second not at all
        repeated = [TEXTS[0], TEXTS[0], TEXTS[2]]
        got = np.count_nonzero(w @ matrix) / (w @ totals)
        assert got == pytest.approx(distinct_n(repeated, n))
        ones = np.ones(3)
        assert np.count_nonzero(ones @ matrix) / (ones @ totals) == pytest.approx(distinct_n(TEXTS, n))


def test_distinct_stats_columns_hand_worked():
    # bigrams: (the cat) is held by outputs 0 and 1: shared, spread 1/3 to each output;
    # (cat sat) (sat .) only by output 0; (cat ran) only by output 1; output 2 has none.
    st = distinct_stats(TEXTS, 2)
    assert st.name == "distinct_2"
    assert st.higher_is_better is True  # more distinct n-grams is better (the verdict's direction)
    np.testing.assert_allclose(st.columns, [[2 + 1 / 3, 3], [1 + 1 / 3, 2], [1 / 3, 0]])
    assert st.value() == pytest.approx(distinct_n(TEXTS, 2))  # 4 / 5
    # a resample drawing output 0 twice and output 2 once: (2 * 7/3 + 1/3) / (2 * 3) = 5 / 6;
    # output 0's own bigrams count twice (as two different prompts' would), the shared one once.
    # Repeating the text itself would give distinct_n([s0, s0, "a"], 2) = 3 / 6: a repeated
    # output repeats its n-grams, the bias distinct_stats avoids.
    w = np.array([[2.0, 0.0, 1.0]])
    assert st.scorer(w @ st.columns)[0] == pytest.approx(5 / 6)


def test_distinct_stats_bootstrap_is_centred_on_the_estimate():
    # 200 outputs with no repeated bigram: distinct-2 is exactly 1. Every resample keeps it 1,
    # whereas recounting resampled (repeated) texts would average about 1 - 1/e = 0.63.
    texts = [f"w{i} x{i} y{i}" for i in range(200)]
    result = estimate(distinct_stats(texts, 2), n_resamples=1000)
    assert result.value == 1.0
    assert result.ci95 == (1.0, 1.0)


def _sacrebleu_self_bleu(texts: list[str]) -> list[float]:
    import sacrebleu

    return [sacrebleu.sentence_bleu(t, texts[:i] + texts[i + 1 :]).score for i, t in enumerate(texts)]


def _random_set(seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "ran", "fast", "slow", ".", ",", "!", "The", "Dog"]
    out: list[str] = []
    for _ in range(rng.randint(3, 12)):
        r = rng.random()
        if r < 0.1:
            out.append("")
        elif r < 0.25 and out:
            out.append(rng.choice(out))  # an exact duplicate
        else:
            out.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 14))))
    return out


SETS = [
    ["the cat sat on the mat", "the cat sat on the mat", "a dog ran in the park today"],  # duplicates
    ["", "hello", "hello world", ""],  # empty outputs (BLEU 0, reference length 0)
    ["yes", "no", "yes", "maybe"],  # single words: only unigrams, effective order 1
    ["a b c", "a b", "a b c d"],  # length 3 vs others 2 and 4: a tie, sacrebleu takes the shorter
    ["The cat.", "the cat.", "THE CAT ."],  # case kept, 13a splits the period
    ["one two three four five six", "two three four five six seven", "one two three"],
    ["the cat sat on the mat", "the cat ran off the mat"],  # two outputs: each the other's only reference
    *[_random_set(seed) for seed in range(12)],
]


@pytest.mark.parametrize("texts", SETS)
def test_self_bleu_equals_sacrebleu_sentence_bleu(texts):
    got = self_bleu(texts)
    assert got.shape == (len(texts),)
    np.testing.assert_allclose(got, _sacrebleu_self_bleu(texts), rtol=0, atol=1e-9)


def test_self_bleu_range_and_degenerate_sets():
    same = self_bleu(["the same answer every time"] * 5)
    np.testing.assert_allclose(same, 100.0)  # identical outputs: BLEU 100, least diverse
    assert math.isnan(self_bleu(["only one"])[0])  # no other outputs to be references
    assert self_bleu([]).shape == (0,)
