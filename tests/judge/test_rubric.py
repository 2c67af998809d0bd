"""Rubrics: the built-ins, files in YAML and JSON, and one-line errors naming file, field and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunecheck.errors import ConfigError
from tunecheck.judge._builtin import BUILTIN_RUBRICS
from tunecheck.judge._rubric import Criterion, Rubric, load_rubric

GOOD_YAML = """\
name: support
instructions: Grade a support answer.
reference_guided: true
criteria:
  - name: accuracy
    description: Is it right? 5 = all right, 1 = wrong.
    low: 1
    high: 5
  - name: tone
    description: Is it polite?
    low: 0
    high: 3
overall:
  description: All in all.
  low: 1
  high: 10
"""


def test_builtins_are_the_three_asked_for():
    assert set(BUILTIN_RUBRICS) == {"quality-5", "quality-10", "reference-correctness"}
    q5, q10, ref = (load_rubric(n) for n in ("quality-5", "quality-10", "reference-correctness"))
    assert [c.name for c in q5.criteria] == ["accuracy", "relevance", "fluency", "format"]
    assert {(c.low, c.high) for c in q5.criteria} == {(1, 5)} and q5.overall is None
    assert [c.name for c in q10.criteria] == ["accuracy", "completeness", "format", "clarity"]
    assert {(c.low, c.high) for c in q10.scored} == {(1, 10)}
    assert q10.overall is not None and (q10.overall.name, q10.overall.low, q10.overall.high) == ("overall", 1, 10)
    assert [c.name for c in q10.scored] == ["accuracy", "completeness", "format", "clarity", "overall"]
    assert ref.reference_guided and not q5.reference_guided and not q10.reference_guided
    assert [(c.name, c.low, c.high) for c in ref.criteria] == [("correctness", 1, 5)]


@pytest.mark.parametrize("name", sorted(BUILTIN_RUBRICS))
def test_builtin_descriptions_anchor_the_low_and_high_ends(name):
    # every criterion says what its lowest and highest score mean ("1:" / "5:" or "1-2:" / "9-10:")
    for c in BUILTIN_RUBRICS[name].scored:
        assert f"{c.low}:" in c.description or f"{c.low}-{c.low + 1}:" in c.description, c.name
        assert f"{c.high}:" in c.description, c.name


def test_builtin_round_trips_through_a_file(tmp_path):
    # a built-in written out as a rubric file loads back equal: the file format covers them,
    # rewordings included
    r = BUILTIN_RUBRICS["quality-10"]
    doc = {
        "name": r.name, "instructions": r.instructions, "reference_guided": r.reference_guided,
        "criteria": [{"name": c.name, "description": c.description, "low": c.low, "high": c.high} for c in r.criteria],
        "overall": {"description": r.overall.description, "low": 1, "high": 10} if r.overall else None,
        "variants": [{"instructions": v.instructions, "criteria": dict(v.descriptions)} for v in r.variants],
    }
    p = tmp_path / "q10.json"
    p.write_text(json.dumps(doc))
    assert load_rubric(str(p)) == r


def test_yaml_file(tmp_path):
    p = tmp_path / "support.yaml"
    p.write_text(GOOD_YAML)
    r = load_rubric(str(p))
    assert r == Rubric(
        "support",
        (Criterion("accuracy", "Is it right? 5 = all right, 1 = wrong.", 1, 5), Criterion("tone", "Is it polite?", 0, 3)),
        Criterion("overall", "All in all.", 1, 10),
        True,
        "Grade a support answer.",
    )


def test_minimal_file_defaults(tmp_path):
    # name from the file's stem, no instructions, no overall, not reference-guided
    p = tmp_path / "mine.yml"
    p.write_text("criteria:\n  - {name: x, description: d, low: -2, high: 2}\n")
    assert load_rubric(str(p)) == Rubric("mine", (Criterion("x", "d", -2, 2),), None, False, "")


def test_a_file_without_a_yaml_suffix_is_read_as_yaml(tmp_path):
    p = tmp_path / "rubric.txt"
    p.write_text('{"criteria": [{"name": "x", "description": "d", "low": 1, "high": 3}]}')
    assert load_rubric(str(p)).criteria == (Criterion("x", "d", 1, 3),)


C = "  - {name: a, description: d, low: 1, high: 5}\n"

BAD = [
    # (file content, what the one-line message must contain)
    ("criteria: []\n", "field 'criteria' must be a list of at least one criterion"),
    ("name: x\n", "field 'criteria' must be a list of at least one criterion (name, description, low, high), got nothing"),
    ("criteria:\n  - {name: a, low: 1, high: 5}\n", "field 'criteria[0].description' is missing or empty"),
    ("criteria:\n  - {name: a, description: '  ', low: 1, high: 5}\n", "field 'criteria[0].description' is missing or empty"),
    ("criteria:\n  - {name: a, description: d, low: 5, high: 5}\n", "field 'criteria[0]': the scale 5-5 is empty or reversed"),
    ("criteria:\n  - {name: a, description: d, low: 5, high: 1}\n", "the scale 5-1 is empty or reversed (low must be below high"),
    ("criteria:\n  - {name: a, description: d, low: 1.0, high: 5}\n", "field 'criteria[0].low' must be an integer, got 1.0"),
    ("criteria:\n  - {name: a, description: d, low: 1, high: '5'}\n", "field 'criteria[0].high' must be an integer, got '5'"),
    ("criteria:\n  - {name: a, description: d, low: 1}\n", "field 'criteria[0].high' must be an integer, got nothing"),
    ("criteria:\n  - {name: a, description: d, low: true, high: 5}\n", "field 'criteria[0].low' must be an integer, got True"),
    ("criteria:\n  - {name: a, description: d, low: 1, high: 5, weight: 2}\n", "unknown field 'criteria[0].weight' (the fields here are name, description, low, high)"),
    ("criterias:\n" + C, "unknown field 'criterias' (the fields here are name, instructions, reference_guided, criteria, overall, variants)"),
    ("criteria:\n" + C + C, "field 'criteria[1].name': criterion 'a' is given twice"),
    ("criteria:\n" + C + "  - {name: A, description: d, low: 1, high: 5}\n", "criterion 'A' is given twice"),
    ("criteria:\n  - {name: overall, description: d, low: 1, high: 5}\n", "'overall' is reserved"),
    ("criteria:\n  - {name: '1st', description: d, low: 1, high: 5}\n", "field 'criteria[0].name' must be a name of letters"),
    ("criteria:\n  - {description: d, low: 1, high: 5}\n", "field 'criteria[0].name' must be a name of letters, digits, '_' or '-' starting with a letter, got None"),
    ("criteria:\n  - just a string\n", "field 'criteria[0]' must be a mapping with name, description, low, high, got 'just a string'"),
    ("criteria:\n" + C + "overall: {description: d, low: 1, high: 1}\n", "field 'overall': the scale 1-1 is empty or reversed"),
    ("criteria:\n" + C + "overall: {name: o, description: d, low: 1, high: 5}\n", "unknown field 'overall.name' (the fields here are description, low, high)"),
    ("criteria:\n" + C + "reference_guided: 'yes'\n", "field 'reference_guided' must be true or false, got 'yes'"),
    ("criteria:\n" + C + "instructions: [a]\n", "field 'instructions' must be a text, got a list"),
    ("- a\n- b\n", "a rubric is a mapping with a 'criteria' list, got a list"),
    ("", "a rubric is a mapping with a 'criteria' list, got nothing"),
    ("criteria: [\n  {name: a\n", "not valid YAML or JSON (line "),
]


@pytest.mark.parametrize(("content", "message"), BAD)
def test_bad_rubric_files(tmp_path, content, message):
    p = tmp_path / "r.yaml"
    p.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_rubric(str(p))
    text = str(err.value)
    assert message in text
    assert text.startswith(f"{p}: ") and "\n" not in text


def test_bad_json_file_names_the_line(tmp_path):
    p = tmp_path / "r.json"
    p.write_text('{\n  "criteria": [\n    {"name": "a",}\n')
    with pytest.raises(ConfigError, match=r"r\.json: not valid JSON \(line 3: "):
        load_rubric(str(p))


def test_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"^--rubric quality-7: not a built-in rubric nor a file \(use one of quality-5, quality-10, reference-correctness"):
        load_rubric("quality-7")
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such file \(check the path"):
        load_rubric(str(missing))


def test_a_folder_is_not_a_rubric_file(tmp_path):
    with pytest.raises(ConfigError, match=r": is a directory, not a rubric file$"):
        load_rubric(str(tmp_path))


def test_non_utf8_file(tmp_path: Path):
    p = tmp_path / "r.yaml"
    p.write_bytes(b"criteria:\n  - {name: a, description: caf\xe9, low: 1, high: 5}\n")
    with pytest.raises(ConfigError, match=r"r\.yaml"):
        load_rubric(str(p))


def test_yaml_is_imported_only_to_read_a_file():
    # importing tunecheck stays fast: PyYAML loads when a rubric file is read, not before
    import subprocess
    import sys

    code = "import sys, tunecheck.judge._rubric, tunecheck.judge._parse, tunecheck.judge._prompts; print('yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
