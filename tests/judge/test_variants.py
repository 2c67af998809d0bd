"""Rubric rewordings (rubric sensitivity): read from files, shipped for the built-ins, each a
distinct rubric with the same criteria and scales and other words."""

from __future__ import annotations

import pytest

from tunecheck.errors import ConfigError
from tunecheck.judge._builtin import BUILTIN_RUBRICS
from tunecheck.judge._prompts import rubric_messages
from tunecheck.judge._rubric import Criterion, Rubric, RubricVariant, load_rubric, rubric_variants

BASE = """\
name: support
instructions: Grade a support answer.
criteria:
  - {name: accuracy, description: 'Is it right?', low: 1, high: 5}
  - {name: tone, description: 'Is it polite?', low: 0, high: 3}
overall: {description: All in all., low: 1, high: 10}
"""

VARIANTS = BASE + """\
variants:
  - instructions: Assess a support answer.
    criteria:
      accuracy: Is it correct?
      overall: Taken together.
  - criteria:
      tone: {description: 'How courteous is it?', low: 0, high: 3}
  - instructions: Rate one support reply.
"""


def _load(tmp_path, text: str, name: str = "support.yaml") -> Rubric:
    p = tmp_path / name
    p.write_text(text)
    return load_rubric(str(p))


def test_variants_parse(tmp_path):
    r = _load(tmp_path, VARIANTS)
    assert r.variants == (
        RubricVariant("Assess a support answer.", (("accuracy", "Is it correct?"), ("overall", "Taken together."))),
        RubricVariant(None, (("tone", "How courteous is it?"),)),
        RubricVariant("Rate one support reply.", ()),
    )


def test_rubric_variants_keep_names_and_scales_and_change_the_words(tmp_path):
    r = _load(tmp_path, VARIANTS)
    v1, v2, v3, v4 = rubric_variants(r, 4)
    assert v1 is r  # K counts the original: it comes first, unchanged
    assert [v.name for v in (v1, v2, v3, v4)] == ["support", "support~v2", "support~v3", "support~v4"]
    assert v2 == Rubric(
        "support~v2",
        (Criterion("accuracy", "Is it correct?", 1, 5), Criterion("tone", "Is it polite?", 0, 3)),
        Criterion("overall", "Taken together.", 1, 10),
        False,
        "Assess a support answer.",
    )
    # a criterion or the instructions not named keep the original's words
    assert v3.instructions == "Grade a support answer." and v3.criteria[1].description == "How courteous is it?"
    assert v4.instructions == "Rate one support reply." and v4.criteria == r.criteria and v4.overall == r.overall
    assert rubric_variants(r, 1) == [r]
    assert [v.name for v in rubric_variants(r, 2)] == ["support", "support~v2"]


@pytest.mark.parametrize("name", sorted(BUILTIN_RUBRICS))
def test_builtins_ship_three_faithful_rewordings(name):
    r = BUILTIN_RUBRICS[name]
    assert len(r.variants) >= 3
    versions = rubric_variants(r, 4)
    assert len({v.name for v in versions}) == 4
    for v in versions[1:]:
        # same criteria, scales, reference use; every description and the instructions reworded
        assert [(c.name, c.low, c.high) for c in v.scored] == [(c.name, c.low, c.high) for c in r.scored]
        assert v.reference_guided == r.reference_guided and (v.overall is None) == (r.overall is None)
        assert v.instructions != r.instructions and v.instructions
        for c, orig in zip(v.scored, r.scored, strict=True):
            assert c.description != orig.description, (v.name, c.name)
            # the rewording anchors the ends of the scale as the original does
            assert f"{c.low}:" in c.description or f"{c.low}-{c.low + 1}:" in c.description, (v.name, c.name)
            assert f"{c.high}:" in c.description, (v.name, c.name)
    # no two versions share a description or instructions
    for i, c in enumerate(r.scored):
        assert len({v.scored[i].description for v in versions}) == 4, c.name
    assert len({v.instructions for v in versions}) == 4


@pytest.mark.parametrize("name", sorted(BUILTIN_RUBRICS))
def test_rubric_messages_differ_between_versions(name):
    r = BUILTIN_RUBRICS[name]
    systems = [rubric_messages(v, "q", "a", "r")[0]["content"] for v in rubric_variants(r, 4)]
    assert len(set(systems)) == 4
    # the answer format is the same: the parser reads every version's answers alike
    users = {rubric_messages(v, "q", "a", "r")[1]["content"] for v in rubric_variants(r, 4)}
    assert len(users) == 1


def test_asking_for_more_versions_than_shipped(tmp_path):
    r = _load(tmp_path, VARIANTS)
    with pytest.raises(ConfigError) as err:
        rubric_variants(r, 5)
    assert str(err.value) == (
        "--rubric-variants 5: rubric 'support' has 3 rewordings, so at most 4 versions (the rubric "
        "and its rewordings); ask for fewer, or add rewordings under 'variants:' in the rubric file"
    )
    with pytest.raises(ConfigError, match=r"^--rubric-variants 2: rubric 'plain' has 0 rewordings, so at most 1 version \("):
        rubric_variants(_load(tmp_path, BASE.replace("support", "plain")), 2)
    with pytest.raises(ConfigError, match=r"has 3 rewordings, so at most 4 versions .*copy it into a rubric file and add rewordings under 'variants:'$"):
        rubric_variants(BUILTIN_RUBRICS["quality-5"], 5)
    for k in (0, -1):
        with pytest.raises(ConfigError, match=rf"^--rubric-variants {k}: must be a whole number of at least 1"):
            rubric_variants(r, k)


BAD = [
    # (variants section, what the one-line message must say)
    ("variants: {a: 1}\n", "field 'variants' must be a list of rewordings"),
    ("variants:\n  - just text\n", "field 'variants[0]' must be a mapping with instructions and/or criteria, got 'just text'"),
    ("variants:\n  - {}\n", "field 'variants[0]' rewords nothing (give new instructions and/or criteria descriptions)"),
    ("variants:\n  - {instructions: x}\n  - {name: y}\n", "unknown field 'variants[1].name' (the fields here are instructions, criteria)"),
    ("variants:\n  - {instructions: '  '}\n", "field 'variants[0].instructions' must be a non-empty text"),
    ("variants:\n  - {criteria: [accuracy]}\n", "field 'variants[0].criteria' must be a mapping of criterion name to its new description, got a list"),
    ("variants:\n  - criteria: {clarity: 'Is it clear?'}\n",
     "field 'variants[0].criteria.clarity': the rubric has no criterion 'clarity' (a rewording keeps the criteria: accuracy, tone, overall)"),
    ("variants:\n  - criteria: {accuracy: ''}\n", "field 'variants[0].criteria.accuracy' must be the criterion's new description, a non-empty text"),
    ("variants:\n  - criteria: {accuracy: 5}\n", "field 'variants[0].criteria.accuracy' must be the criterion's new description, a non-empty text, got 5"),
    ("variants:\n  - criteria: {accuracy: {description: d, low: 1, high: 10}}\n",
     "field 'variants[0].criteria.accuracy.high': a rewording keeps the scale 1-5 (got 10); change only the words, or write a new rubric"),
    ("variants:\n  - criteria: {tone: {description: d, low: 1}}\n", "field 'variants[0].criteria.tone.low': a rewording keeps the scale 0-3 (got 1)"),
    ("variants:\n  - criteria: {accuracy: {description: d, weight: 2}}\n",
     "unknown field 'variants[0].criteria.accuracy.weight' (the fields here are description, low, high)"),
    ("variants:\n  - criteria: {accuracy: {low: 1, high: 5}}\n", "field 'variants[0].criteria.accuracy' must be the criterion's new description, a non-empty text, got nothing"),
]


@pytest.mark.parametrize(("section", "message"), BAD)
def test_bad_variants(tmp_path, section, message):
    p = tmp_path / "r.yaml"
    p.write_text(BASE + section)
    with pytest.raises(ConfigError) as err:
        load_rubric(str(p))
    text = str(err.value)
    assert message in text
    assert text.startswith(f"{p}: ") and "\n" not in text


def test_overall_is_no_criterion_of_a_rubric_without_one(tmp_path):
    text = "criteria:\n  - {name: a, description: d, low: 1, high: 5}\nvariants:\n  - criteria: {overall: x}\n"
    with pytest.raises(ConfigError, match=r"field 'variants\[0\]\.criteria\.overall': the rubric has no criterion 'overall' \(a rewording keeps the criteria: a\)"):
        _load(tmp_path, text, "r.yaml")
