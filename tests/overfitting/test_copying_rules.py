"""Mutation-testing cases for `overfitting/_copying.py`: each test pins a rule a surviving mutant
changed (which rows are paired and with whom, directions, counts and boundaries, which example is
shown and the training excerpt around it, what the Result records). The survivors that stay are
explained in tests/MUTANTS.md (section overfitting/_copying.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.overfitting.test_copying import SPAN13, TRAIN, _preds, _train
from tunecheck.core import Status, Verdict
from tunecheck.data import FieldMap, load_data
from tunecheck.errors import ConfigError, DataError
from tunecheck.overfitting import CopyConfig, evaluate_copying
from tunecheck.overfitting._copying import train_excerpt
from tunecheck.stats import SampleStats, estimate, paired

SPAN15 = "bread needs flour water salt and yeast mixed then left to rise for two hours"  # 15 words of TRAIN[1]
OWN = "in my own words this answer says something new about the topic it was asked"  # 15 words, none in TRAIN


def _rows(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_the_result_of_a_small_case_field_by_field(tmp_path):
    outputs = [SPAN13, SPAN15 + " today", "nothing in common"]
    rows = [{"id": str(i), "model": "tuned-7b", "output": o} for i, o in enumerate(outputs)]
    rows.append({"id": "0", "sample": 1, "model": "tuned-7b", "output": "a second generation"})
    preds = _rows(tmp_path / "p.jsonl", rows)
    train = _train(tmp_path)
    result = evaluate_copying([preds], train, CopyConfig(n_resamples=200, seed=5)).to_result()
    [info] = result.models
    assert (info.name, info.identity) == ("tuned-7b", {"model": "tuned-7b"})
    assert info.details == {
        "file": preds,
        "n": 3,
        "copied": 2,
        "longest_span_max": 15,
        "long_enough": 2,  # 13 and 16 words; "nothing in common" has 3
        "applies": False,
        "reason": "only 2 of 3 outputs have 13+ words, and a shorter one can never share a 13-gram: too few to measure "
                  "copying (for short answers lower --ngram, e.g. 6)",
        # longest span first; each training text is shorter than 300 characters and its span starts
        # within 50 of its start, so it is shown whole
        "examples": [
            {"id": "1", "train_id": "t1", "longest_span_words": 15, "span": SPAN15, "output": outputs[1], "train_text": TRAIN[1]},
            {"id": "0", "train_id": "t0", "longest_span_words": 13, "span": SPAN13, "output": SPAN13, "train_text": TRAIN[0]},
        ],
    }
    # copy rate 2/3; copied share: output 0 has one 13-gram, in training (1); output 1 has 16
    # words, four 13-grams, three in training (3/4); output 2 none (0)
    assert [(e.metric, e.model, e.n) for e in result.estimates] == [("copy_rate", "tuned-7b", 3), ("copied_share", "tuned-7b", 3)]
    assert [e.value for e in result.estimates] == pytest.approx([2 / 3, (1 + 3 / 4 + 0) / 3])
    assert result.config == {"n": 13, "on": "full", "n_resamples": 200, "seed": 5, "examples": 5}
    assert [(d.source, d.n, d.role) for d in result.data] == [(preds, 3, "predictions"), (str(train), 2, "train")]
    assert result.data[0].details == {"extra_generations": 1}
    assert result.warnings == ["tuned-7b: 1 extra generations (sample > 0) were not checked"]
    assert (result.comparisons, result.signals) == ([], [])  # one model: nothing to compare with


def _three_models(tmp_path: Path) -> list[str]:
    """base: 30 outputs of its own words (and one extra generation); tuned: the same, but rows
    0-14 copy 13 words; tuned2: only rows 0-19, row 0 copying."""
    base = [f"{OWN} {i}" for i in range(30)]
    tuned = [f"{SPAN13} so {i}" if i < 15 else base[i] for i in range(30)]  # 15 words: 3 13-grams, 1 copied
    tuned2 = [tuned[0], *base[1:20]]
    b = [{"id": str(i), "model": "base", "output": o} for i, o in enumerate(base)] + [{"id": "0", "sample": 1, "model": "base", "output": "x"}]
    return [_rows(tmp_path / "b.jsonl", b), _preds(tmp_path / "t.jsonl", tuned, "tuned"), _preds(tmp_path / "t2.jsonl", tuned2, "tuned2")]


def test_every_model_is_compared_with_the_first_on_the_ids_they_share(tmp_path):
    paths = _three_models(tmp_path)
    config = CopyConfig(n_resamples=300, seed=5)
    result = evaluate_copying(paths, _train(tmp_path), config).to_result()
    assert [(c.metric, c.baseline, c.model, c.n, c.higher_is_better) for c in result.comparisons] == [
        ("copy_rate", "base", "tuned", 30, False), ("copied_share", "base", "tuned", 30, False),
        ("copy_rate", "base", "tuned2", 20, False), ("copied_share", "base", "tuned2", 20, False),
    ]
    # tuned: 15 of 30 copy (each copy: 1 of its 3 13-grams); tuned2: 1 of 20
    assert [c.value for c in result.comparisons] == pytest.approx([0.5, 0.5 / 3, 1 / 20, 1 / 20 / 3])
    # copying more is worse, for the copied share too: regressed, not improved
    assert [c.verdict for c in result.comparisons] == [Verdict.REGRESSED, Verdict.REGRESSED, Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE]
    assert [(s.model, s.status) for s in result.signals] == [("tuned", Status.OVERFITTING), ("tuned2", Status.INCONCLUSIVE)]
    assert result.signals[0].evidence.startswith("outputs copying training text: copy_rate 0 -> 0.5 (regressed, CI [")
    # the base's extra generation, then tuned2's pairing with the base (not with tuned): a partial
    # overlap, and 20 samples too few for its inconclusive differences; tuned (clear) gets none
    w = result.warnings
    assert w[:2] == ["base: 1 extra generations (sample > 0) were not checked",
                     "tuned2 vs base: compared on the 20 samples both have (30 and 20 in the files)"]
    assert len(w) == 3 and w[2].startswith("tuned2 vs base: only 20 samples in common: too few to tell models apart")
    assert "copy_rate (+0.05: ~" in w[2] and "copied_share (+0.0167: ~" in w[2]
    by_model = {m.name: m.details for m in result.models}
    assert (by_model["base"]["copied"], by_model["base"]["longest_span_max"], by_model["base"]["examples"]) == (0, 0, [])
    assert (by_model["tuned"]["copied"], by_model["tuned"]["longest_span_max"], by_model["tuned2"]["copied"]) == (15, 13, 1)


def test_the_cis_are_drawn_with_the_configured_seed_and_resamples(tmp_path):
    paths = _three_models(tmp_path)
    result = evaluate_copying(paths, _train(tmp_path), CopyConfig(n_resamples=300, seed=5)).to_result()
    # the reference: tunecheck.stats on the per-output copy flags, known from the construction
    copied = np.array([1.0 if i < 15 else 0.0 for i in range(30)])
    tuned_rate = SampleStats.mean("copy_rate", copied, higher_is_better=False)
    base_rate = SampleStats.mean("copy_rate", np.zeros(30), higher_is_better=False)
    expected = estimate(tuned_rate, n_resamples=300, seed=5).ci95
    # the seed and the number of resamples both move this CI: a run ignoring either would differ
    assert expected != estimate(tuned_rate, n_resamples=300, seed=0).ci95
    assert expected != estimate(tuned_rate, seed=5).ci95
    assert result.estimate("copy_rate", "tuned").ci95 == expected  # type: ignore[union-attr]
    diff = paired(base_rate, tuned_rate, n_resamples=300, seed=5).ci95
    assert diff != paired(base_rate, tuned_rate, n_resamples=300, seed=0).ci95
    assert diff != paired(base_rate, tuned_rate, seed=5).ci95
    assert result.comparisons[0].ci95 == diff


def test_ties_show_the_first_copies_in_file_order_and_outputs_are_cut_at_500_characters(tmp_path):
    # 20 outputs, the even ones copying exactly 13 words: every copy ties at 13. An unstable sort
    # (numpy's default quicksort) shows 0, 2, 6, 4, 12 here; the file's order is 0, 2, 4, 6, 8
    long_copy = SPAN13 + " " + " ".join(f"filler{i}" for i in range(100))  # 13 shared words, 900+ characters
    outputs = [long_copy if i == 0 else SPAN13 if i % 2 == 0 else f"{OWN} {i}" for i in range(20)]
    result = evaluate_copying([_preds(tmp_path / "p.jsonl", outputs, "m")], _train(tmp_path), CopyConfig(n_resamples=100)).to_result()
    examples = result.models[0].details["examples"]
    assert [e["id"] for e in examples] == ["0", "2", "4", "6", "8"]
    assert len(long_copy) > 600 and examples[0]["output"] == long_copy[:500]


def test_ten_long_enough_outputs_are_enough(tmp_path):
    # MIN_SAMPLES is 10: ten outputs of 13+ words (and two short ones) are measured
    outputs = [f"{OWN} {i}" for i in range(10)] + ["short", "short too"]
    result = evaluate_copying([_preds(tmp_path / "p.jsonl", outputs, "m")], _train(tmp_path), CopyConfig(n_resamples=100)).to_result()
    d = result.models[0].details
    assert (d["long_enough"], d["applies"], d["reason"]) == (10, True, None)


def test_label_answers_do_not_apply(tmp_path):
    # long outputs (not label-like by themselves), but every row's reference is one of 2 labels
    rows = [{"id": str(i), "output": f"{OWN} {i}", "label": "positive" if i % 2 else "negative"} for i in range(20)]
    result = evaluate_copying([_rows(tmp_path / "p.jsonl", rows)], _train(tmp_path), CopyConfig(n_resamples=100)).to_result()
    d = result.models[0].details
    assert (d["long_enough"], d["applies"]) == (20, False)
    assert d["reason"] == ("the references take only 2 values ('negative', 'positive'): a closed label set: "
                           "repeating a label found in the training set is not copying")


def test_the_short_output_warning_needs_more_than_half_shorter_than_n(tmp_path):
    exactly13 = "one two three four five six seven eight nine ten eleven twelve thirteen"
    half = [exactly13] * 5 + ["three words here"] * 5  # 5 of 10 shorter than 13 words: not more than half
    result = evaluate_copying([_preds(tmp_path / "h.jsonl", half, "m")], _train(tmp_path), CopyConfig(n_resamples=100)).to_result()
    assert result.warnings == []
    most = [exactly13] * 4 + ["three words here"] * 6
    result = evaluate_copying([_preds(tmp_path / "m.jsonl", most, "m")], _train(tmp_path), CopyConfig(n_resamples=100)).to_result()
    assert [w[:50] for w in result.warnings] == ["m: 6 of 10 outputs are shorter than 13 words and c"]


def test_one_word_ngrams_are_allowed_and_zero_is_refused(tmp_path):
    result = evaluate_copying([_preds(tmp_path / "p.jsonl", ["yeast", "nothing"], "m")], _train(tmp_path), CopyConfig(n=1, n_resamples=100)).to_result()
    d = result.models[0].details
    assert (d["copied"], d["longest_span_max"], d["long_enough"]) == (1, 1, 2)
    with pytest.raises(ConfigError, match="--ngram"):
        CopyConfig(n=0)


def test_a_loaded_dataset_and_named_fields_are_used(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"id": f"t{i}", "content": t, "meta": "x"}) + "\n" for i, t in enumerate(TRAIN)))
    preds = _preds(tmp_path / "p.jsonl", [SPAN13], "m")
    by_field = evaluate_copying([preds], train, CopyConfig(n_resamples=100), fields=FieldMap(text="content")).to_result()
    loaded = evaluate_copying([preds], load_data(train, FieldMap(text="content")), CopyConfig(n_resamples=100)).to_result()
    for result in (by_field, loaded):
        assert result.models[0].details["copied"] == 1 and result.data[-1].role == "train"


def test_a_missing_part_names_the_row(tmp_path):
    # plain text rows have no prompt: the error names the file and line, not the row's id
    with pytest.raises(ConfigError, match=r"train\.jsonl line 1: has no prompt"):
        evaluate_copying([_preds(tmp_path / "p.jsonl", [SPAN13], "m")], _train(tmp_path), CopyConfig(on="prompt"))


class _Recorder:
    def __init__(self) -> None:
        self.tasks: list[list[Any]] = []

    def task(self, description: str, total: int, unit: str | None = None) -> _Recorder:
        self.tasks.append([description, total, unit, 0])
        return self

    def advance(self, n: int = 1) -> None:
        self.tasks[-1][3] += n


def test_progress_is_reported_for_the_index_and_every_file(tmp_path):
    progress = _Recorder()
    preds = [_preds(tmp_path / "a.jsonl", ["x", "y", "z"], "a"), _preds(tmp_path / "b.jsonl", ["x", "y"], "b")]
    evaluate_copying(preds, _train(tmp_path), CopyConfig(n_resamples=100), progress=progress)
    assert progress.tasks == [["13-gram index", 2, "texts", 2], ["13-gram lookup", 3, "texts", 3], ["13-gram lookup", 2, "texts", 2]]


WORD4 = "abcd "  # a 4-letter word and its space: words start every 5 characters


def test_the_excerpt_starts_at_the_first_occurrence_of_the_span():
    span = "span words here"
    text = f"{span} " + WORD4 * 80 + span  # the span again at 416
    assert train_excerpt(text, span) == text[:300] + "…"


def test_the_excerpt_starts_at_a_word_boundary():
    span = "span words here"
    # 50 characters before the span is a word's start (60 - 50 = 10, just after a space): kept
    text = WORD4 * 12 + span
    assert text[9] == " " and train_excerpt(text, span) == "…" + text[10:]
    # 50 before is 1, inside the first word ("aabcd"): the excerpt moves on to the next word, at 6
    text = "a" + WORD4 * 10 + span
    assert text.index(span) == 51 and train_excerpt(text, span) == "…" + text[6:]


def test_a_300_character_text_is_shown_uncut():
    text = WORD4 * 59 + "abcde"  # 59 * 5 + 5 = 300 characters
    assert len(text) == 300 and train_excerpt(text, "abcd abcd") == text
    assert train_excerpt(text + " f", "abcd abcd") == text + "…"


def test_files_sharing_no_id_with_the_base_are_refused(tmp_path):
    # before any work (require_shared_ids), so the comparison loop always has ids to pair
    base = _preds(tmp_path / "b.jsonl", [SPAN13], "base")
    other = _rows(tmp_path / "o.jsonl", [{"id": "x", "model": "tuned", "output": SPAN13}])
    with pytest.raises(DataError, match=r"o\.jsonl and .*b\.jsonl: no sample id in common"):
        evaluate_copying([base, other], _train(tmp_path), CopyConfig(n_resamples=100))
