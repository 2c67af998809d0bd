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
