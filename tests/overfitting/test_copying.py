"""Copying: outputs copying 13+ words of a training example are counted, the example and
the span shown; the base model's outputs are the control, paired by id."""

from __future__ import annotations

import json

import pytest

from tunecheck.core import Result, Status, Verdict
from tunecheck.errors import ConfigError
from tunecheck.overfitting import CopyConfig, evaluate_copying

TRAIN = [
    "the quick brown fox jumps over the lazy dog while the farmer sleeps under the old oak tree",
    "a recipe for bread needs flour water salt and yeast mixed then left to rise for two hours",
]
SPAN13 = "the quick brown fox jumps over the lazy dog while the farmer sleeps"  # 13 words of TRAIN[0]


def _value(result: Result, metric: str, model: str) -> float:
    est = result.estimate(metric, model)
    assert est is not None and est.metric == metric and est.model == model
    return est.value


def _train(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(TRAIN)))
    return path


def _preds(path, outputs, model):
    path.write_text("".join(json.dumps({"id": str(i), "model": model, "output": o}) + "\n" for i, o in enumerate(outputs)))
    return str(path)


def test_copies_are_counted_with_their_training_example(tmp_path):
    outputs = [
        "Well, " + SPAN13.upper() + "! That is all.",  # 13 words verbatim after normalisation: a copy
        "the quick brown fox jumps over the lazy dog while the farmer",  # 12 words: not a copy
        "nothing in common with the training set at all, none, zero",
        "bread needs flour water salt and yeast mixed then left to rise for two hours today",  # 15 words of TRAIN[1]
    ]
    result = evaluate_copying([_preds(tmp_path / "p.jsonl", outputs, "tuned")], _train(tmp_path), CopyConfig(n_resamples=1000)).to_result()
    [info] = result.models
    m = info.details
    assert result.layer == "copying" and info.name == "tuned"
    assert m["copied"] == 2 and _value(result, "copy_rate", "tuned") == 0.5
    # longest span first: output 3 shares 15 words with t1, output 0 shares 13 with t0
    assert [(e["id"], e["train_id"], e["longest_span_words"]) for e in m["examples"]] == [("3", "t1", 15), ("0", "t0", 13)]
    assert m["examples"][1]["span"] == SPAN13
    # the matching training example is shown: both are short (< 300 characters) and already
    # normalised (lowercase, no punctuation), and each span starts within 50 characters of the
    # text's start ("a recipe for " is 13), so the whole example appears, uncut
    assert [e["train_text"] for e in m["examples"]] == [TRAIN[1], TRAIN[0]]
    # copied share: output 0 has 17 words (well + 13 + that is all) -> 5 13-grams, 1 in training: 1/5;
    # output 3 has 16 words -> 4 13-grams, 3 of them in training (all but the one ending in "today")
    assert _value(result, "copied_share", "tuned") == pytest.approx((1 / 5 + 3 / 4) / 4)


def test_tuned_copying_more_than_base_is_regressed(tmp_path):
    n = 120
    base = [f"answer number {i} written in my own words" for i in range(n)]
    tuned = [SPAN13 if i % 3 == 0 else base[i] for i in range(n)]  # 40 of 120 copy
    result = evaluate_copying(
        [_preds(tmp_path / "b.jsonl", base, "base"), _preds(tmp_path / "t.jsonl", tuned, "tuned")], _train(tmp_path), CopyConfig(n_resamples=1000)
    ).to_result()
    [rate] = [c for c in result.comparisons if c.metric == "copy_rate"]
    assert (rate.baseline, rate.model, rate.baseline_value, rate.higher_is_better) == ("base", "tuned", 0.0, False)
    assert rate.value == pytest.approx(40 / 120)
    assert rate.verdict == Verdict.REGRESSED and rate.tests["mcnemar_p"] < 1e-6
    # more copying, significantly: the signal shows overfitting
    assert [(s.name, s.model, s.status) for s in result.signals] == [("verbatim copying", "tuned", Status.OVERFITTING)]
    # every output is shorter than 13 words except the copies: the report says what that means
    assert any("shorter than 13 words" in w for w in result.warnings)


def test_shorter_ngram_and_missing_parts(tmp_path):
    outputs = ["the lazy dog while the farmer sleeps"]  # 7 words of TRAIN[0]
    preds = _preds(tmp_path / "p.jsonl", outputs, "m")
    assert evaluate_copying([preds], _train(tmp_path), CopyConfig(n_resamples=1000)).to_result().models[0].details["copied"] == 0
    assert evaluate_copying([preds], _train(tmp_path), CopyConfig(n=6, n_resamples=1000)).to_result().models[0].details["copied"] == 1
    with pytest.raises(ConfigError, match="has no prompt"):
        evaluate_copying([preds], _train(tmp_path), CopyConfig(on="prompt"))


def test_a_long_training_example_is_shown_around_the_span(tmp_path):
    head = " ".join(f"word{i}" for i in range(60))
    tail = " ".join(f"tail{i}" for i in range(60))
    text = f"{head} {SPAN13} {tail}"
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"id": "long", "text": text}) + "\n")
    result = evaluate_copying([_preds(tmp_path / "p.jsonl", [SPAN13], "m")], train, CopyConfig(n_resamples=200)).to_result()
    [example] = result.models[0].details["examples"]
    # head: word0-9 (5 characters) and word10-59 (6) with 59 spaces = 50 + 300 + 59 = 409, so the
    # span starts at 410; 50 before is 360, the space after "word52" (354-359): the excerpt starts at
    # the next word, "word53", at 361, and runs 300 characters; "…" marks both cuts
    assert text.index(SPAN13) == 410 and text[361:368] == "word53 "
    assert example["train_text"] == "…" + text[361:661] + "…"
    assert SPAN13 in example["train_text"]
