"""The leakage check on realistic rows: a shared long instruction, different short reviews,
one-word labels (what a sentiment fine-tune trains on), and short questions and paragraphs
with small edits. Similarities are worked out by hand where feasible."""

import json

import numpy as np
import pytest

from tunecheck.data import load_data
from tunecheck.hygiene import check_overlap, find_overlap, similarity
from tunecheck.hygiene._boilerplate import strip_boilerplate

INSTRUCTION = "Classify the sentiment of this product review as positive, negative or neutral. Answer with one word."
# normalised: 16 words, then "review" (from "Review:") starts every prompt: 17 shared words, so
# 17 - 8 + 1 = 10 word 8-grams are in every row
PREFIX = "classify the sentiment of this product review as positive negative or neutral answer with one word review"
_WORDS_TEXT = """battery screen phone kettle blender lamp charger cable speaker headphones camera laptop mouse keyboard
case strap bottle jacket shoes chair broke quickly works great arrived late early cheap expensive sturdy flimsy
loud quiet bright dim heavy light fast slow lasted months weeks days returned refund support helpful rude
packaging damaged perfect fine decent awful excellent terrible average colour size fits small large noisy
smell plastic metal glass wooden recommend again never always would buy gift daughter son kitchen office
travel daily weekend setup easy hard manual missing button stopped working after two three first"""
WORDS = _WORDS_TEXT.split()
LABELS = ["positive", "negative", "neutral"]


def _review(rng: np.random.Generator) -> str:
    # 8-14 words from 94: no 8-gram of a review, nor one that ends with its first word (about 2
    # rows in 200 start with the same word), is in 10 rows
    words = [WORDS[int(rng.integers(len(WORDS)))] for _ in range(int(rng.integers(8, 15)))]
    return " ".join(words).capitalize() + "."


def _rows(prefix: str, reviews: list[str], rng: np.random.Generator) -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i}", "prompt": f"{INSTRUCTION}\n\nReview: {r}", "completion": LABELS[int(rng.integers(3))]}
            for i, r in enumerate(reviews)]


@pytest.fixture(scope="module")
def instruction_files(tmp_path_factory):
    """200 training rows, 40 eval rows; eval e7 is training t123's review with one word changed
    (a real leak), everything else is new."""
    rng = np.random.default_rng(11)
    train_reviews = [_review(rng) for _ in range(200)]
    eval_reviews = [_review(rng) for _ in range(40)]
    words = train_reviews[123].rstrip(".").split()
    words[4] = "zigzagging" if words[4] != "zigzagging" else "zany"
    eval_reviews[7] = " ".join(words) + "."
    folder = tmp_path_factory.mktemp("instr")
    for name, rows in (("train", _rows("t", train_reviews, rng)), ("eval", _rows("e", eval_reviews, rng))):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_data(folder / "train.jsonl"), load_data(folder / "eval.jsonl"), train_reviews, eval_reviews


def test_shared_instruction_is_boilerplate_and_the_leak_is_still_found(instruction_files):
    train, evals, train_reviews, eval_reviews = instruction_files
    # before: every eval row shares the instruction's 13-grams with every training row
    kept = check_overlap(train, evals, boilerplate_share=None).result
    assert kept.ngram.count == 40
    for on in ("full", "prompt"):
        r = check_overlap(train, evals, on=on).result  # type: ignore[arg-type]
        b = r.boilerplate
        # the 10 8-grams of the shared prefix are in all 200 rows (>= max(10, 5% of 200))
        assert (b.ngrams, b.min_rows, b.train_rows, b.eval_rows) == (10, 10, 200, 40)
        assert b.example == PREFIX
        assert (r.exact.count, r.near.count, r.ngram.count) == (0, 1, 1), on
        (pair,) = r.pairs
        assert (pair.eval_id, pair.train_id, pair.kinds) == ("e7", "t123", ("near", "ngram"))
        assert pair.similarity >= 0.8
        assert any("ignored 10 word 8-grams" in n for n in r.notes)
    # the reported similarity is the lower of the two: with the instruction, the ratio is higher
    stripped = similarity(eval_reviews[7], train_reviews[123])
    assert r.pairs[0].similarity == pytest.approx(stripped)


def test_one_word_labels_get_a_caveat(instruction_files):
    train, evals, _, _ = instruction_files
    res = check_overlap(train, evals, on="response").to_result()
    d = res.details
    # every eval label is one of the 3 training labels
    assert res.estimate("exact_rate") is not None and res.estimate("exact_rate").value == 1.0
    assert d["applies"] is False
    assert d["caveat"] == (
        "responses are too short (median 1 word) and repeat a small set of values (3 distinct in 200 training "
        "rows): exact matches are expected and say nothing about leakage"
    )
    assert d["compared"]["fields"] == "the completion"
    assert d["compared"]["normalisation"].startswith("Unicode NFKC, lower case, punctuation deleted")
    full = check_overlap(train, evals).to_result().details
    assert full["applies"] is True and full["compared"]["fields"] == "prompt and completion joined by a newline"


def test_a_text_repeated_a_few_times_is_not_boilerplate():
    # 3 copies among 20 rows is 15% of them, but fewer than 10 rows: still a text, and its copy
    # in the eval set is found
    rng = np.random.default_rng(3)
    leak = "the quick brown fox jumps over the lazy dog near the river bank today"
    train = [leak] * 3 + [" ".join(f"w{i}" for i in rng.integers(0, 5000, 20)) for _ in range(17)]
    _, _, b = strip_boilerplate(train, [leak], 0.05)
    assert b.ngrams == 0 and b.min_rows == 10
    assert find_overlap(train, ["The quick brown fox jumps over the lazy dog near the river bank, today"]).exact.count == 1


QUESTION = "What is the capital city of France and how many people live there?"


def test_one_word_edit_of_a_short_question_is_found():
    # "what is the capital city of france and how many people live there": 13 words, 65 characters;
    # "live" -> "reside" (67 characters): the 61 other characters are common, plus "ie" of
    # live/reside, LCS 63: similarity 2 x 63 / (65 + 67) = 0.9545. The word 5-gram Jaccard of
    # before was 7 / 11 = 0.64 (2 of 9 shingles hold "live"): missed at 0.8
    edited = "What is the capital city of France and how many people reside there?"
    assert similarity(QUESTION, edited) == pytest.approx(126 / 132)
    r = find_overlap([QUESTION, "Which animals live in the rivers of Scotland?"], [edited])
    assert r.near.count == 1 and r.pairs[0].train_index == 0 and r.pairs[0].similarity == pytest.approx(126 / 132)


def test_unrelated_questions_about_the_same_country_stay_clean():
    # same entity, shared words ("what is the", "of france", "how many people live"), other questions:
    # similarities 0.45-0.52 against the training question (rapidfuzz), far below 0.8
    evals = [
        "Which river flows through the largest city of France?",
        "What is the population of the capital of France?",
        "How many people live in the largest city of France?",
    ]
    assert max(similarity(QUESTION, e) for e in evals) < 0.55
    r = find_overlap([QUESTION], evals)
    assert (r.exact.count, r.near.count, r.ngram.count) == (0, 0, 0)


def test_paragraph_with_one_edit_is_found():
    paragraph = (
        "The old stone bridge crosses the river at the narrowest point of the valley. It was built "
        "in the twelfth century by monks from the abbey, and for six hundred years it carried every "
        "cart and traveller heading to the market town on the far bank."
    )  # 46 words
    edited = paragraph.replace("monks", "masons")
    a, b = paragraph.lower().replace(".", "").replace(",", ""), edited.lower().replace(".", "").replace(",", "")
    # "monks" -> "masons": LCS of the two words is "mons" (m, o, n, s), so LCS = len(a) - 5 + 4
    # and similarity = 2 (len(a) - 1) / (len(a) + len(a) + 1); the word 5-gram Jaccard of before
    # was 37 / 47 = 0.79 (42 shingles, 5 of them hold "monks"): missed at 0.8
    expected = 2 * (len(a) - 1) / (2 * len(a) + 1)
    assert len(b) == len(a) + 1 and similarity(paragraph, edited) == pytest.approx(expected)
    assert expected > 0.98
    r = find_overlap([paragraph, QUESTION], [edited])
    assert r.near.count == 1 and r.pairs[0].similarity == pytest.approx(expected)
