import pytest

from tunecheck.errors import ConfigError
from tunecheck.metrics import check_format, format_pass


def test_json_rules():
    assert check_format('{"a": 1}', {"json": True}) == {"json": True}
    assert check_format('```json\n{"a": 1}\n```', {"json": True}) == {"json": True}
    assert check_format("not json", {"json": True}) == {"json": False}
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    assert check_format('{"name": "x"}', {"json_schema": schema})["json_schema"]
    assert not check_format('{"name": 3}', {"json_schema": schema})["json_schema"]
    assert not check_format("oops", {"json_schema": schema})["json_schema"]


def test_counts_by_hand():
    text = "- one\n- two\n* three\n1. four\nnot a bullet - here"
    assert check_format(text, {"bullet_points": 4})["bullet_points"]
    # sentences: "First sentence here" / "Second one" / "A third" / "yes" (a trailing fragment
    # counts) = 4; paragraphs 2; words 8
    prose = "First sentence here. Second one!\n\nA third? yes"
    assert check_format(prose, {"max_sentences": 4, "min_sentences": 4, "max_paragraphs": 2, "max_words": 8}) == {
        "max_sentences": True,
        "min_sentences": True,
        "max_paragraphs": True,
        "max_words": True,
    }
    assert not check_format(prose, {"max_words": 7})["max_words"]
    assert not check_format(prose, {"max_sentences": 3})["max_sentences"]


def test_keywords_and_affixes():
    out = "Dear customer, your refund is on its way. Regards"
    rules = {"required_keywords": ["Refund", "customer"], "forbidden_keywords": ["sorry"], "starts_with": "Dear", "ends_with": "Regards", "regex": r"refund\s+is"}
    assert format_pass(out, rules) == 1.0
    assert format_pass(out + " sorry", {"forbidden_keywords": ["sorry"]}) == 0.0


def test_bad_rules_are_config_errors():
    with pytest.raises(ConfigError, match="unknown rule 'max_word'"):
        check_format("x", {"max_word": 3})
    with pytest.raises(ConfigError, match="needs a int"):
        check_format("x", {"max_words": True})
    with pytest.raises(ConfigError, match="regular expression"):
        check_format("x", {"regex": "("})
