"""When a signal does not apply: the boundaries of `closed_label_set` and `enough`, tested on both
sides, and a loss gap from too few documents left out of the verdict."""

from __future__ import annotations

import json

from tests.conftest import CORPUS
from tunecheck.core import Status
from tunecheck.overfitting import evaluate_overfit
from tunecheck.overfitting._applies import closed_label_set, enough
from tunecheck.perplexity import PerplexityConfig


def test_references_decide_a_closed_label_set_at_twenty_values_each_seen_twice_on_average():
    twenty = [f"label{k % 20}" for k in range(40)]  # 20 values, 2 * 20 <= 40
    assert closed_label_set(["whatever"] * 40, twenty) == (
        "the references take only 20 values ('label0', 'label1', 'label10', 'label11', ...): a closed label set"
    )
    assert closed_label_set(["x"] * 42, [f"label{k % 21}" for k in range(42)]) is None  # 21 values
    assert closed_label_set(["x"] * 19, [f"l{k % 10}" for k in range(19)]) is None  # 2 * 10 > 19
    assert closed_label_set(["x"] * 20, [f"l{k % 10}" for k in range(20)]) is not None  # 2 * 10 = 20
    # references that are not all strings (QA answers lists): the outputs decide
    assert closed_label_set([f"answer {i}" for i in range(20)], [["a"]] * 20) is None
    assert closed_label_set(["yes", "no"] * 10, [["a"]] * 20) is not None


def test_outputs_read_as_labels_at_three_words_on_average_at_most():
    three = ["very good film", "bad"] * 3 + ["so so ok fine"] * 2  # (3 + 1) * 3 + 4 * 2 = 20 words / 8 = 2.5
    assert closed_label_set(three) == "the 8 outputs repeat 3 short values ('bad', 'so so ok fine', 'very good film'): label-like answers"
    exactly = ["a b c"] * 4  # 3.0 words: still labels
    assert closed_label_set(exactly) is not None
    longer = ["a b c", "a b c", "a b c d"] * 2  # (3 + 3 + 4) / 3 = 3.33 words
    assert closed_label_set(longer) is None
    # case, outer punctuation and spacing do not make new values
    assert closed_label_set(["Positive.", "positive", " POSITIVE ", "negative"]).startswith("the 4 outputs repeat 2 short values")


def test_enough_needs_ten():
    assert enough(9, "outputs").reason == "only 9 outputs: too few to judge (at least 10 needed)"
    assert enough(10, "outputs").applies


def test_a_loss_gap_from_five_documents_does_not_apply(model_dirs, tmp_path):
    def write(name, texts):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
        return path

    report = evaluate_overfit([f"{model_dirs['base']},name=tuned"], write("train.jsonl", CORPUS[:30]), write("eval.jsonl", CORPUS[30:35]),
                              PerplexityConfig(n_resamples=300))
    result = report.to_result()
    [info], [signal] = result.models, result.signals
    assert (info.details["applies"], signal.status, signal.model) == (False, Status.NOT_APPLICABLE, "tuned")
    assert signal.reason == info.details["reason"] == "only 5 documents in the smaller of the two sets: too few to judge (at least 10 needed)"
    assert (info.details["train_documents"], info.details["eval_documents"]) == (30, 5)
    # its signal (not applicable: "only 5 documents ...") is the overfit layer's rule, tested beside it


# Mutation-testing cases (tests/MUTANTS.md), worked out by hand.


def test_four_values_are_all_shown_five_are_cut():
    four = [f"l{k % 4}" for k in range(8)]  # 4 values, each twice
    assert closed_label_set(["x"] * 8, four) == "the references take only 4 values ('l0', 'l1', 'l2', 'l3'): a closed label set"
    five = [f"l{k % 5}" for k in range(10)]
    assert closed_label_set(["x"] * 10, five) == "the references take only 5 values ('l0', 'l1', 'l2', 'l3', ...): a closed label set"


def test_references_decide_only_when_every_row_has_one():
    # 2 reference values but for 10 of the 20 rows: the outputs decide, and 20 different
    # five-word outputs are prose, not labels
    prose = [f"answer number {i} is here" for i in range(20)]
    assert closed_label_set(prose, ["yes", "no"] * 5) is None


def test_outputs_with_twenty_short_values_each_twice_are_labels():
    twenty = [f"w{k % 20}" for k in range(40)]  # 20 values (<= MAX_LABELS), 2 * 20 <= 40, 1 word each
    assert closed_label_set(twenty) is not None
    assert closed_label_set([f"w{k % 21}" for k in range(42)]) is None  # 21 values


def test_references_of_reads_label_then_reference():
    from tunecheck.overfitting._applies import references_of

    rows = [{"label": "a", "reference": "r"}, {"reference": "b"}, None, {}]
    assert references_of(rows) == ["a", "b", None, None]
