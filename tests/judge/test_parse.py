"""The rubric answer parser on hand-written judge answers: what is read, and why the rest is unscored."""

from __future__ import annotations

import pytest

from tunecheck.judge._builtin import BUILTIN_RUBRICS
from tunecheck.judge._parse import MISSING, NOT_INTEGER, Parsed, parse_rubric_answer
from tunecheck.judge._rubric import Criterion, Rubric

# a small rubric: two criteria on 1-5, an overall on 1-10
R = Rubric(
    "t",
    (Criterion("accuracy", "a", 1, 5), Criterion("fluency", "f", 1, 5)),
    Criterion("overall", "o", 1, 10),
    False,
    "",
)

OK = '{"accuracy": {"score": 4, "justification": "right"}, "fluency": {"score": 5, "justification": "clear"}, "overall": {"score": 8, "justification": "good"}}'

# (answer text, scores, unscored); justifications are checked separately
CASES = [
    ("plain JSON", OK, {"accuracy": 4, "fluency": 5, "overall": 8}, {}),
    ("in prose", "Here is my grading:\n" + OK + "\nI hope this helps.", {"accuracy": 4, "fluency": 5, "overall": 8}, {}),
    ("json fence", "Sure.\n```json\n" + OK + "\n```\n", {"accuracy": 4, "fluency": 5, "overall": 8}, {}),
    ("bare fence", "```\n" + OK + "\n```", {"accuracy": 4, "fluency": 5, "overall": 8}, {}),
    (
        "trailing commas",
        '{"accuracy": {"score": 3, "justification": "x",}, "fluency": {"score": 2,}, "overall": {"score": 1},}',
        {"accuracy": 3, "fluency": 2, "overall": 1},
        {},
    ),
    (
        "single-quoted keys",
        "{'accuracy': {'score': 3, 'justification': \"ok\"}, 'fluency': {'score': 4}, 'overall': {'score': 6}}",
        {"accuracy": 3, "fluency": 4, "overall": 6},
        {},
    ),
    (
        "python-style dict, single-quoted strings",
        "{'accuracy': {'score': 2, 'justification': 'wrong year'}, 'fluency': {'score': 5}, 'overall': {'score': 3}}",
        {"accuracy": 2, "fluency": 5, "overall": 3},
        {},
    ),
    ("bare numbers", '{"accuracy": 4, "fluency": "5", "overall": 10}', {"accuracy": 4, "fluency": 5, "overall": 10}, {}),
    ("4.0 is 4, '3.0' is 3", '{"accuracy": 4.0, "fluency": {"score": "3.0"}, "overall": 7}', {"accuracy": 4, "fluency": 3, "overall": 7}, {}),
    ("4.5 is not an integer", '{"accuracy": 4.5, "fluency": {"score": "2.5"}, "overall": 7}', {"overall": 7}, {"accuracy": NOT_INTEGER, "fluency": NOT_INTEGER}),
    ("N/high", '{"accuracy": "4/5", "fluency": {"score": "5 / 5"}, "overall": "9/10"}', {"accuracy": 4, "fluency": 5, "overall": 9}, {}),
    (
        "N/other is not on the scale",
        '{"accuracy": "8/10", "fluency": 3, "overall": "4/5"}',
        {"fluency": 3},
        {"accuracy": "score 8/10 is not on the 1-5 scale", "overall": "score 4/5 is not on the 1-10 scale"},
    ),
    (
        "outside the scale, never 0",
        '{"accuracy": 0, "fluency": 6, "overall": 11}',
        {},
        {"accuracy": "score 0 is outside the 1-5 scale", "fluency": "score 6 is outside the 1-5 scale", "overall": "score 11 is outside the 1-10 scale"},
    ),
    ("the scale's ends are on it", '{"accuracy": 1, "fluency": 5, "overall": 1}', {"accuracy": 1, "fluency": 5, "overall": 1}, {}),
    ("negative", '{"accuracy": -3, "fluency": 5, "overall": 1}', {"fluency": 5, "overall": 1}, {"accuracy": "score -3 is outside the 1-5 scale"}),
    ("a criterion missing", '{"accuracy": 4, "overall": 8}', {"accuracy": 4, "overall": 8}, {"fluency": MISSING}),
    ("overall missing", '{"accuracy": 4, "fluency": 3}', {"accuracy": 4, "fluency": 3}, {"overall": MISSING}),
    (
        "null, bool, text and list scores",
        '{"accuracy": {"score": null}, "fluency": {"score": true}, "overall": {"score": "good"}}',
        {},
        {"accuracy": "no score given", "fluency": "score true is not a number", "overall": "score 'good' is not a number"},
    ),
    (
        "NaN and Infinity (Python's json reads them)",
        '{"accuracy": NaN, "fluency": {"score": Infinity}, "overall": 3}',
        {"overall": 3},
        {"accuracy": "score nan is not a number", "fluency": "score inf is not a number"},
    ),
    (
        "python literals with a null in the text",
        "{'accuracy': {'score': 4, 'justification': 'rejects the null hypothesis'}, 'fluency': {'score': None}, 'overall': 2}",
        {"accuracy": 4, "overall": 2},
        {"fluency": "no score given"},
    ),
    ("a list score", '{"accuracy": [4], "fluency": 2, "overall": 2}', {"fluency": 2, "overall": 2}, {"accuracy": "score is list, not a number"}),
    ("a score object without score", '{"accuracy": {"justification": "fine"}, "fluency": 2, "overall": 2}', {"fluency": 2, "overall": 2}, {"accuracy": "no score given"}),
    ("keys in another case", '{"Accuracy": {"Score": 4}, "FLUENCY": 3, "Overall": 9}', {"accuracy": 4, "fluency": 3, "overall": 9}, {}),
    ("rating instead of score", '{"accuracy": {"rating": 2}, "fluency": {"value": 3}, "overall": {"score": 4}}', {"accuracy": 2, "fluency": 3, "overall": 4}, {}),
    ("wrapped in scores", '{"scores": {"accuracy": 4, "fluency": 3, "overall": 5}}', {"accuracy": 4, "fluency": 3, "overall": 5}, {}),
    (
        "an example first, the answer last",
        'The format is {"accuracy": {"score": 1}, "fluency": {"score": 1}, "overall": {"score": 1}}.\nMy answer:\n{"accuracy": {"score": 5}, "fluency": {"score": 4}, "overall": {"score": 9}}',
        {"accuracy": 5, "fluency": 4, "overall": 9},
        {},
    ),
    (
        "the object naming most criteria wins over a later partial one",
        '{"accuracy": 2, "fluency": 3, "overall": 4}\nNote: {"accuracy": 5}',
        {"accuracy": 2, "fluency": 3, "overall": 4},
        {},
    ),
    (
        "braces inside justifications",
        '{"accuracy": {"justification": "uses {x} and } wrongly", "score": 2}, "fluency": 4, "overall": 3}',
        {"accuracy": 2, "fluency": 4, "overall": 3},
        {},
    ),
    (
        "escaped quotes and braces inside a justification",
        r'{"accuracy": {"justification": "it prints \"}\" then {", "score": 3}, "fluency": 4, "overall": 5}',
        {"accuracy": 3, "fluency": 4, "overall": 5},
        {},
    ),
    (
        "a stray brace in prose before the JSON",
        'I looked at the set {a, b and the answer.\n{"accuracy": 3, "fluency": 3, "overall": 3}',
        {"accuracy": 3, "fluency": 3, "overall": 3},
        {},
    ),
    (
        "non-ASCII justifications",
        '{"accuracy": {"score": 5, "justification": "Korrekt: Ω = 2π — stimmt"}, "fluency": 5, "overall": 10}',
        {"accuracy": 5, "fluency": 5, "overall": 10},
        {},
    ),
]


@pytest.mark.parametrize(("text", "scores", "unscored"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_table(text, scores, unscored):
    p = parse_rubric_answer(text, R)
    assert p.error is None
    assert p.scores == scores
    assert p.unscored == unscored
    # every score given appears exactly once: scored or unscored, never both, never dropped
    assert set(p.scores) | set(p.unscored) == {"accuracy", "fluency", "overall"}
    assert not set(p.scores) & set(p.unscored)


def test_justifications():
    p = parse_rubric_answer(OK, R)
    assert p.justifications == {"accuracy": "right", "fluency": "clear", "overall": "good"}
    # a bare score has an empty justification; an unscored one keeps what the judge said
    p = parse_rubric_answer('{"accuracy": 4, "fluency": {"score": 9, "reason": "too good"}, "overall": 2}', R)
    assert p.justifications == {"accuracy": "", "fluency": "too good", "overall": ""}
    assert p.unscored == {"fluency": "score 9 is outside the 1-5 scale"}
    p = parse_rubric_answer('{"accuracy": {"score": 2, "justification": "Korrekt: Ω"}, "fluency": 1, "overall": 1}', R)
    assert p.justifications["accuracy"] == "Korrekt: Ω"
    # the trailing-comma repair keeps the judge's words too ("true" is not turned into "True")
    p = parse_rubric_answer('{"accuracy": {"score": null, "justification": "true of most",}, "fluency": 1, "overall": 1,}', R)
    assert p.justifications["accuracy"] == "true of most" and p.unscored == {"accuracy": "no score given"}
    # as does the single-quoted-key repair
    p = parse_rubric_answer("{'accuracy': {'score': 3, 'justification': \"true to the source\"}, 'fluency': null, 'overall': 1}", R)
    assert p.justifications["accuracy"] == "true to the source" and p.scores == {"accuracy": 3, "overall": 1}
    # the Python-literal fallback keeps the judge's words ("null" is not turned into "None")
    p = parse_rubric_answer("{'accuracy': {'score': 4, 'justification': 'a null result'}, 'fluency': 1, 'overall': 1}", R)
    assert p.justifications["accuracy"] == "a null result"


ALL = ("accuracy", "fluency", "overall")

WHOLE_FAILURES = [
    ("no JSON", "I would give it a four out of five.", "no JSON object in the answer"),
    ("empty", "", "no JSON object in the answer"),
    ("cut off", '```json\n{"accuracy": {"score": 4, "justification": "the answer is corr', "is not closed (the answer may be cut off"),
    ("broken JSON", '{"accuracy": 4 "fluency": 3}', "the JSON object in the answer cannot be parsed (line 1 column 16: Expecting ',' delimiter)"),
]


@pytest.mark.parametrize(("text", "error"), [c[1:] for c in WHOLE_FAILURES], ids=[c[0] for c in WHOLE_FAILURES])
def test_whole_answer_failures(text, error):
    p = parse_rubric_answer(text, R)
    assert p.error is not None and error in p.error
    assert p.scores == {}
    # each criterion unscored with the whole-answer reason, so counts per criterion add up
    assert p.unscored == dict.fromkeys(ALL, p.error)
    assert p.problem == p.error


def test_json_without_any_criterion_reads_as_all_missing():
    # valid JSON but not an answer to this rubric: each criterion "missing", no whole-answer error
    p = parse_rubric_answer('{"verdict": "A"}', R)
    assert p == Parsed({}, {}, dict.fromkeys(ALL, MISSING), None)


def test_a_json_list_is_not_an_answer():
    p = parse_rubric_answer("[4, 5, 8]", R)
    assert p.error == "no JSON object in the answer"


def test_problem_lists_the_unscored_for_the_retry():
    assert parse_rubric_answer(OK, R).problem is None
    p = parse_rubric_answer('{"accuracy": 7, "overall": 8}', R)
    assert p.problem == "accuracy: score 7 is outside the 1-5 scale; fluency: missing"


def test_on_a_builtin_rubric():
    # a realistic answer to quality-10, fenced and with a trailing comma
    text = """Let me evaluate.
```json
{
  "accuracy": {"justification": "The date is wrong (1867, not 1876).", "score": 5},
  "completeness": {"justification": "Covers both parts.", "score": 8},
  "format": {"justification": "A list, as asked.", "score": 10},
  "clarity": {"justification": "Clear.", "score": 9},
  "overall": {"justification": "Good apart from the date.", "score": 7},
}
```"""
    p = parse_rubric_answer(text, BUILTIN_RUBRICS["quality-10"])
    assert p.scores == {"accuracy": 5, "completeness": 8, "format": 10, "clarity": 9, "overall": 7}
    assert p.unscored == {} and p.error is None
    assert p.justifications["accuracy"] == "The date is wrong (1867, not 1876)."


def test_zero_based_scale():
    r = Rubric("z", (Criterion("harm", "h", 0, 2),), None, False, "")
    assert parse_rubric_answer('{"harm": 0}', r).scores == {"harm": 0}
    assert parse_rubric_answer('{"harm": 3}', r).unscored == {"harm": "score 3 is outside the 0-2 scale"}


def test_an_echoed_answer_template_is_named_as_such():
    # what SmolLM2-135M-Instruct answered to the quality-5 prompt: the schema it was shown, unfilled
    from tunecheck.judge import load_rubric, rubric_messages

    rubric = load_rubric("quality-5")
    shown = rubric_messages(rubric, "What is the capital of France?", "Paris.")[0]["content"]
    schema = shown[shown.index("{"):shown.rindex("}") + 1]
    parsed = parse_rubric_answer("The JSON object is: " + schema, rubric)
    reason = "the judge copied the answer template (<integer ...> placeholders) instead of scoring"
    assert parsed.scores == {} and parsed.error == reason and set(parsed.unscored.values()) == {reason}
