import pytest
from sklearn.metrics import f1_score

from tunecheck.metrics import UNPARSED, classification_report, extract_label

LABELS = ["positive", "negative", "neutral", "very positive"]


@pytest.mark.parametrize(
    ("output", "label"),
    [
        ("Positive.", "positive"),  # exact after normalising case and punctuation
        ("The sentiment is negative, clearly.", "negative"),
        ("I'd say very positive!", "very positive"),  # the longer label wins at the same place
        ("neutral, not negative", "neutral"),  # the first mentioned
        ("nonnegative outcome", UNPARSED),  # whole words only
        ("no idea", UNPARSED),
    ],
)
def test_extract_label(output, label):
    assert extract_label(output, LABELS) == label


def test_report_by_hand_and_against_sklearn():
    gold = ["pos", "pos", "neg", "neg", "neu"]
    pred = ["pos", "neg", "neg", UNPARSED, "neu"]
    r = classification_report(gold, pred, ["pos", "neg", "neu"])
    assert r.accuracy == pytest.approx(3 / 5)
    # pos: P 1/1, R 1/2, F1 2/3; neg: P 1/2, R 1/2, F1 1/2; neu: 1, 1, 1 -> macro (2/3+1/2+1)/3
    assert r.per_class["pos"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert r.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert r.weighted_f1 == pytest.approx(f1_score(gold, pred, labels=["pos", "neg", "neu"], average="weighted"))
    # micro over the real labels: TP 3, FP 1 (neg for a pos), FN 2 -> P 3/4, R 3/5, F1 2/3;
    # the unparsed output is a miss, not a silent drop
    assert r.micro_f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert r.unparsed == 1
    assert r.confusion[1] == [0, 1, 0, 1]  # gold neg: one neg, one unparsed


def test_unknown_gold_label():
    with pytest.raises(ValueError, match="not among the allowed labels"):
        classification_report(["x"], ["pos"], ["pos"])


# Tie-breaks of the module docstring: the label mentioned first wins; at the same place the
# longer label wins. Each case is checked with the labels listed in both orders, so a rule
# that fell back on the order of `labels` (or of the dict built from it) cannot pass.
@pytest.mark.parametrize(
    ("output", "expected"),
    [
        # "negative" starts at 0, "positive" at 13: the earlier one, whichever is listed first
        ("negative, not positive", "negative"),
        ("positive, not negative", "positive"),
        # "positive" at 0 beats "very positive" at 13: being longer only breaks a tie of position
        ("positive, or even very positive", "positive"),
    ],
)
@pytest.mark.parametrize("labels", [["positive", "negative", "very positive"], ["very positive", "negative", "positive"]])
def test_extract_label_earliest_mention_wins(output, expected, labels):
    assert extract_label(output, labels) == expected


@pytest.mark.parametrize("labels", [["mixed", "mixed positive"], ["mixed positive", "mixed"]])
def test_extract_label_longer_wins_at_the_same_position(labels):
    # normalised: "i d call it mixed positive overall"; "mixed" and "mixed positive" both start at
    # 12: same place, so the longer (14 chars > 5) wins
    assert extract_label("I'd call it mixed positive overall", labels) == "mixed positive"
    # the other direction: "mixed, not positive" -> "mixed not positive" holds only the shorter one
    assert extract_label("I'd call it mixed, not positive", labels) == "mixed"


# --- mutation-testing follow-ups (tests/MUTANTS.md): the bootstrap's F1 statistics ---


@pytest.mark.parametrize("rows", [None, [0, 0, 1, 3, 3, 3, 5, 6, 7], [2, 2, 4]])
def test_classification_stats_equal_sklearn_on_the_data_and_on_a_resample(rows):
    # a resample is a multiset of rows: the scorer on its summed TP/FP/FN must equal scikit-learn
    # on those rows (repeats included). "neutral" is never gold in some resamples (support 0),
    # one output is UNPARSED (wrong for every class), "mixed" is never predicted.
    import numpy as np
    from sklearn.metrics import accuracy_score

    from tunecheck.metrics import classification_stats

    labels = ["pos", "neg", "neutral", "mixed"]
    gold = ["pos", "neg", "neg", "neutral", "pos", "mixed", "neg", "pos"]
    pred = ["pos", "pos", "neg", UNPARSED, "pos", "neg", "neg", "neutral"]
    stats = classification_stats(gold, pred, labels)
    idx = np.arange(len(gold)) if rows is None else np.asarray(rows)
    g, p = [gold[i] for i in idx], [pred[i] for i in idx]
    sums = stats["macro_f1"].columns[idx].sum(axis=0)[None, :]
    for name, average in [("macro_f1", "macro"), ("micro_f1", "micro"), ("weighted_f1", "weighted")]:
        ref = f1_score(g, p, labels=labels, average=average, zero_division=0)
        assert stats[name].scorer(sums)[0] == pytest.approx(ref), name
    acc = stats["accuracy"].columns[idx].sum(axis=0)[None, :]
    assert stats["accuracy"].scorer(acc)[0] == pytest.approx(accuracy_score(g, p))
    assert stats["macro_f1"].n == len(gold)


def test_classification_stats_checks_lengths():
    from tunecheck.metrics import classification_stats

    with pytest.raises(ValueError, match="3 gold labels for 2 predictions"):
        classification_stats(["a", "b", "a"], ["a", "b"], ["a", "b"])


def test_a_label_that_normalises_to_nothing_does_not_stop_the_search():
    # "?!" has no word characters: it can never be mentioned, and the labels after it still count
    assert extract_label("I would say yes", ["?!", "yes", "no"]) == "yes"


def test_a_class_never_predicted_has_precision_zero():
    # "neu" is never predicted: precision 0/0 is 0 (scikit-learn's zero_division=0), not 1
    r = classification_report(["pos", "neu"], ["pos", "pos"], ["pos", "neu"])
    assert r.per_class["neu"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert r.per_class["pos"]["precision"] == 0.5


def test_classification_stats_score_many_resamples_at_once():
    # the bootstrap scores an (r, k) matrix of resampled sums in one call: each row on its own
    import numpy as np

    from tunecheck.metrics import classification_stats

    labels = ["pos", "neg", "neutral"]
    gold = ["pos", "neg", "neg", "neutral", "pos"]
    pred = ["pos", "pos", "neg", UNPARSED, "neutral"]
    stats = classification_stats(gold, pred, labels)
    resamples = [[0, 0, 1], [2, 3, 4, 4], [1, 2]]
    sums = np.stack([stats["macro_f1"].columns[r].sum(axis=0) for r in resamples])
    for name, average in [("macro_f1", "macro"), ("micro_f1", "micro"), ("weighted_f1", "weighted")]:
        want = [f1_score([gold[i] for i in r], [pred[i] for i in r], labels=labels, average=average, zero_division=0) for r in resamples]
        np.testing.assert_allclose(stats[name].scorer(sums), want, err_msg=name)


def test_a_label_never_gold_nor_predicted_counts_as_f1_zero_in_the_averages():
    # "neg" has no support and is never predicted: 2TP + FP + FN = 0, F1 0 (zero_division=0):
    # macro = (1 + 0) / 2 = 0.5; micro and weighted only see "pos": 1.0
    r = classification_report(["pos", "pos"], ["pos", "pos"], ["pos", "neg"])
    assert r.macro_f1 == 0.5
    assert r.micro_f1 == 1.0 and r.weighted_f1 == 1.0
    assert r.labels == ["pos", "neg"]
