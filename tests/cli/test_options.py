"""Shared option parsing."""

from tunecheck.cli._options import label_list


def test_label_list_strips_and_drops_empty_items():
    assert label_list(" positive, negative ,,neutral ") == ("positive", "negative", "neutral")
    assert label_list(None) is None and label_list("") is None
