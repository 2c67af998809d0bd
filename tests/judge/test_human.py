"""People's ratings (--human): the formats, one table of bad inputs each named by file, row and
column, and the judge's calibration against people with hand-worked agreement."""

from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pytest
from scipy.stats import rankdata

from tunecheck.errors import DataError
from tunecheck.judge._builtin import BUILTIN_RUBRICS
from tunecheck.judge._calibration import _rule, calibrate_choices, calibrate_scores
from tunecheck.judge._human import HumanChoice, HumanScore, load_human

Q5 = BUILTIN_RUBRICS["quality-5"]  # accuracy, relevance, fluency, format on 1-5


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_long_csv(tmp_path):
    p = _write(tmp_path, "h.csv", "id,model,criterion,score,annotator,notes\nq1,tuned,accuracy,4,ana,fine\nq1,tuned,accuracy,2,bob,\n")
    h = load_human(p, Q5)
    assert h.kind == "scores" and h.annotators == ("ana", "bob")
    assert h.scores == (HumanScore("q1", "tuned", "accuracy", "ana", 4.0, "row 2"), HumanScore("q1", "tuned", "accuracy", "bob", 2.0, "row 3"))


def test_wide_csv_and_nested_json_and_jsonl(tmp_path):
    wide = load_human(_write(tmp_path, "w.csv", "id,model,accuracy,fluency,prompt\nq1,base,3,5,Hi\n"), Q5)
    assert [(s.criterion, s.score, s.annotator) for s in wide.scores] == [("accuracy", 3.0, ""), ("fluency", 5.0, "")]
    rows = [{"id": 7, "model": "tuned", "annotator": "ana", "scores": {"format": 2, "relevance": "4"}}]
    nested = load_human(_write(tmp_path, "n.json", json.dumps(rows)), Q5)
    assert [(s.id, s.criterion, s.score, s.where) for s in nested.scores] == [("7", "format", 2.0, "item 1"), ("7", "relevance", 4.0, "item 1")]
    lines = '{"id": "q1", "model": "m", "criterion": "accuracy", "score": 5}\n\n{"id": "q2", "model": "m", "criterion": "accuracy", "score": 1}\n'
    jl = load_human(_write(tmp_path, "l.jsonl", lines), scale=(1, 5))
    assert [(s.id, s.where) for s in jl.scores] == [("q1", "line 1"), ("q2", "line 3")]


def test_pairwise_choices(tmp_path):
    text = "id,model_a,model_b,choice\nq1,base,tuned,A\nq2,base,tuned,tie\nq3,tuned,base,b\nq4,base,tuned,tuned\n"
    h = load_human(_write(tmp_path, "c.csv", text))
    assert h.kind == "choices"
    assert [c.winner for c in h.choices] == ["base", None, "base", "tuned"]
    assert h.choices[2] == HumanChoice("q3", "tuned", "base", "", "base", "row 4")


HEAD = "id,model,criterion,score\n"
BAD = [
    # (file name, content, rubric?, expected fragment after the file's path)
    ("a.csv", "id,criterion,score\nq1,accuracy,3\n", True, "row 1 (the header): no column 'model'"),
    ("a.csv", "id,model,criterion\nq1,m,accuracy\n", True, "row 1 (the header): no column 'score'"),
    ("a.jsonl", '{"id": "q1", "criterion": "accuracy", "score": 3}\n', True, "line 1, column 'model': missing"),
    ("a.csv", HEAD + "q1,m,accuracy,\n", True, "row 2, column 'score': the score is empty; give a whole number on the scale 1-5"),
    ("a.csv", HEAD + "q1,m,accuracy,3\nq2,m,accuracy,good\n", True, "row 3, column 'score': the score 'good' is not a number"),
    ("a.json", '[{"id": "q1", "model": "m", "criterion": "accuracy", "score": null}]', True, "item 1, column 'score': the score is empty"),
    ("a.json", '[{"id": "q1", "model": "m", "criterion": "accuracy", "score": true}]', True, "item 1, column 'score': the score True is not a number"),
    ("a.csv", HEAD + "q1,m,accuracy,3.5\n", True, "row 2, column 'score': the score '3.5' is not a whole number"),
    ("a.csv", HEAD + "q1,m,accuracy,3\nq1,m,fluency,7\n", True, "row 3, column 'score': the score 7 is outside the scale 1-5"),
    ("a.csv", HEAD + "q1,m,accuracy,0\n", True, "the score 0 is outside the scale 1-5"),
    ("a.csv", HEAD + "q1,m,acuracy,3\n", True, "row 2, column 'criterion': unknown criterion 'acuracy' (the rubric quality-5 has accuracy, relevance, fluency, format)"),
    ("a.csv", "id,model,accuracy,acuracy\nq1,m,3,4\n", True, "row 1 (the header), column 'acuracy': unknown column"),
    ("a.json", '[{"id": "q1", "model": "m", "scores": {"acc": 3}}]', True, "item 1, column 'scores.acc': unknown criterion 'acc'"),
    ("a.json", '[{"id": "q1", "model": "m", "scores": [3]}]', True, "item 1, column 'scores': must map each criterion to a score"),
    ("a.csv", HEAD + "q1,m,accuracy,3\nq1,m,accuracy,4\n", True, "row 3, column 'score': a second score for id 'q1', model 'm', criterion 'accuracy' by the same person"),
    ("a.csv", "id,model,criterion,score,annotator\nq1,m,accuracy,3,ana\nq1,m,accuracy,4,ana\n", True, "by annotator 'ana' (the first is at row 2)"),
    ("a.csv", HEAD + ",m,accuracy,3\n", True, "row 2, column 'id': is empty"),
    ("a.json", '[{"id": ["q1"], "model": "m", "criterion": "accuracy", "score": 3}]', True, "item 1, column 'id': must be a text or a number, got list"),
    ("a.csv", HEAD + "q1,m,accuracy,3,extra\n", True, "row 2: more cells than header columns"),
    ("a.csv", "id,model,criterion,score,choice\nq1,m,accuracy,3,A\n", True, "holds both pairwise choices"),
    ("a.csv", "id,model,accuracy\nq1,m,3\n", False, "no columns 'criterion' and 'score'"),
    ("a.csv", "id,model,notes\nq1,m,ok\n", True, "no column 'score', 'choice' or a criterion of the rubric"),
    ("a.csv", "", True, "no ratings (the file is empty)"),
    ("a.txt", "id,model\n", True, "unknown format .txt"),
    ("a.json", '[{"id": "q1",', True, "invalid JSON"),
    ("a.jsonl", '{"id": "q1"}\n[1]\n', True, "line 2: expected a JSON object"),
    ("c.csv", "id,model_a,model_b,choice\nq1,base,tuned,C\n", False, "row 2, column 'choice': unknown choice 'C'; write A, B, tie or the winning model's name (base or tuned)"),
    ("c.csv", "id,model_a,model_b,choice\nq1,base,tuned,\n", False, "row 2, column 'choice': is empty"),
    ("c.csv", "id,model_a,choice\nq1,base,A\n", False, "row 1 (the header): no column 'model_b'"),
    ("c.csv", "id,model_a,model_b,choice\nq1,base,base,A\n", False, "row 2, column 'model_b': the same model as model_a"),
    ("c.csv", "id,model_a,model_b,choice\nq1,base,tuned,A\nq1,tuned,base,B\n", False, "row 3, column 'choice': a second choice for id 'q1' between 'tuned' and 'base' by the same person (add an 'annotator' column when several people chose) (the first is at row 2)"),
    ("c.jsonl", '{"id": "q1", "model_a": "x", "model_b": "y", "choice": "A", "winner": "x"}\n', False, "line 1, column 'winner': unknown column"),
]


@pytest.mark.parametrize(("name", "content", "with_rubric", "fragment"), BAD)
def test_bad_input_is_one_line_naming_file_row_and_column(tmp_path, name, content, with_rubric, fragment):
    p = _write(tmp_path, name, content)
    with pytest.raises(DataError) as err:
        load_human(p, Q5 if with_rubric else None)
    message = str(err.value)
    assert message.startswith(str(p)) and "\n" not in message
    assert fragment in message


def test_scale_without_a_rubric(tmp_path):
    p = _write(tmp_path, "s.csv", HEAD + "q1,m,anything,11\n")
    with pytest.raises(DataError, match=r"row 2, column 'score': the score 11 is outside the scale 1-10"):
        load_human(p, scale=(1, 10))
    assert load_human(p).scores[0].score == 11.0  # no rubric, no scale: any whole number


# A3 vs B3 (categories 1-3) is the table of tests/stats/test_agreement.py: quadratic kappa 0.75,
# exact agreement 4/6 (items 0, 2, 4, 5), every pair within one point.
A3 = [1, 1, 2, 2, 3, 3]
B3 = [1, 2, 2, 3, 3, 3]


def _scores_file(tmp_path, people):
    lines = ["id,model,criterion,score,annotator"]
    for name, values in people.items():
        lines += [f"q{i},tuned,accuracy,{v},{name}" for i, v in enumerate(values)]
    return load_human(_write(tmp_path, "h.csv", "\n".join(lines) + "\n"), Q5)


def _judge(values):
    return {(f"q{i}", "tuned", "accuracy"): float(v) for i, v in enumerate(values)}


def test_judge_agrees_with_people_as_well_as_they_agree_with_each_other(tmp_path):
    # 12 items; judge = A3 twice, ana = B3 twice, bob = A3 twice.
    # judge-person pairs: (A3, B3) and (A3, A3), each twice; per copy the table (judge rows) is
    #   (1,1) 3, (1,2) 1, (2,2) 3, (2,3) 1, (3,3) 4: rows 4, 4, 4; cols 3, 4, 5; n = 12
    #   observed sum O w = 1 + 1 = 2; expected E_ij = 4 c_j / 12 = (1, 4/3, 5/3) on each row:
    #   row 1: 4/3 + 4 * 5/3 = 8; row 2: 1 + 5/3 = 8/3; row 3: 4 + 4/3 = 16/3; sum 16 -> 1 - 2/16 = 0.875
    #   exact: (4 + 6) / 12 = 5/6
    # ana-bob pairs: (B3, A3), the transposed table: quadratic kappa 0.75
    # rule: 0.875 >= 0.75 - 0.1 on 12 >= 10 items -> stands in
    h = _scores_file(tmp_path, {"ana": B3 * 2, "bob": A3 * 2})
    c = calibrate_scores(_judge(A3 * 2), h)
    (acc,) = c.criteria
    assert (acc.criterion, acc.items, acc.judge_vs_people.n) == ("accuracy", 12, 24)
    assert acc.judge_vs_people.kappa == pytest.approx(0.875)
    assert acc.judge_vs_people.exact == pytest.approx(5 / 6)
    assert acc.judge_vs_people.within_one == 1.0
    assert acc.people is not None and acc.people.kappa == pytest.approx(0.75) and acc.people.n == 12
    assert acc.people_items == 12
    means = (np.array(A3 * 2) + np.array(B3 * 2)) / 2
    assert acc.mean_spearman == pytest.approx(np.corrcoef(rankdata(A3 * 2), rankdata(means))[0, 1])
    assert acc.people_alpha is not None
    assert acc.people_alpha.value == pytest.approx(krippendorff.alpha(reliability_data=[B3 * 2, A3 * 2], level_of_measurement="ordinal"))
    assert acc.stands_in is True and c.stands_in is True
    assert "can stand in for people (it agrees with a person, kappa 0.88, at least as well as people agree with each other, 0.75; 12 items)" in c.sentence
    assert c.unmatched == 0


def test_judge_below_people_cannot_stand_in(tmp_path):
    # ana = bob = B3 twice: people agree perfectly (kappa 1.0); judge-person pairs are (A3, B3) four
    # times: kappa 0.75 < 1.0 - 0.1 -> cannot stand in
    h = _scores_file(tmp_path, {"ana": B3 * 2, "bob": B3 * 2})
    c = calibrate_scores(_judge(A3 * 2), h)
    (acc,) = c.criteria
    assert acc.judge_vs_people.kappa == pytest.approx(0.75)
    assert acc.people is not None and acc.people.kappa == pytest.approx(1.0)
    assert acc.stands_in is False and c.stands_in is False
    assert "cannot stand in for people" in c.sentence and "kappa 0.75" in c.sentence and "1.00" in c.sentence


@pytest.mark.parametrize(
    ("copies", "stands", "fragment"),
    [
        (1, None, "too few items rated by both the judge and people to say (6; rate at least 10)"),
        (4, None, "kappa 0.75 with people on only 24 items; rate at least 30"),
        (5, True, "can stand in for people (kappa 0.75 with people, 'substantial'; 30 items; no two people"),
    ],
)
def test_one_person_uses_the_absolute_rule(tmp_path, copies, stands, fragment):
    c = calibrate_scores(_judge(A3 * copies), _scores_file(tmp_path, {"ana": B3 * copies}))
    assert c.criteria[0].people is None and c.criteria[0].people_alpha is None
    assert c.stands_in is stands
    assert fragment in c.sentence


def test_one_person_reversed_is_no(tmp_path):
    # judge 1,1,2,2,3,3 against 3,3,2,2,1,1 (twice): observed O w = (4 + 4) * 2 / 12 = 4/3 per pair,
    # margins uniform 1/3: expected sum_ij w / 9 = 12/9 -> kappa 1 - (4/3) / (4/3) ... = 1 - 2 = -1
    c = calibrate_scores(_judge(A3 * 2), _scores_file(tmp_path, {"ana": A3[::-1] * 2}))
    assert c.criteria[0].judge_vs_people.kappa == pytest.approx(-1.0)
    assert c.stands_in is False and "below 0.6" in c.sentence


def test_unmatched_and_unscored_judge_items(tmp_path):
    h = _scores_file(tmp_path, {"ana": B3 * 2})
    judge = _judge(A3 * 2)
    judge[("q0", "tuned", "accuracy")] = math.nan  # unscored by the judge
    del judge[("q1", "tuned", "accuracy")]
    c = calibrate_scores(judge, h)
    assert (c.unmatched, c.criteria[0].items) == (2, 10)
    with pytest.raises(ValueError, match="not a whole number"):
        calibrate_scores({("q0", "tuned", "accuracy"): 3.4}, h)


def test_rule_boundaries():
    assert _rule(0.8, None, 9, None, 0, "x")[0] is None  # 9 < MIN_ITEMS
    assert _rule(0.6, None, 30, None, 0, "x")[0] is True  # exactly "substantial" on exactly 30
    assert _rule(0.6, None, 29, None, 0, "x")[0] is None
    assert _rule(0.59, None, 100, None, 0, "x")[0] is False
    assert _rule(0.5, None, 10, 0.625, 10, "x")[0] is False  # 0.5 < 0.525
    assert _rule(0.55, None, 10, 0.625, 10, "x") == (True, "x: the judge can stand in for people (it agrees with a person, kappa 0.55, within 0.1 of how well people agree with each other, 0.62; 10 items)")
    # people overlap on only 9 items: the absolute rule decides
    assert _rule(0.55, None, 40, 0.625, 9, "x") == (False, "x: the judge cannot stand in for people (kappa 0.55 with people, below 0.6 'substantial'; 40 items; people overlap on only 9 items)")
    assert _rule(math.nan, "both gave 3", 40, None, 0, "x") == (None, "x: cannot say (both gave 3)")


def test_calibrate_choices_by_hand(tmp_path):
    # canonical winners, items 0-4 twice (10 items); A = base, B = tuned in the judge's order
    #   judge: base, base, tuned, tie, tuned      ana: base, tuned, tuned, tie, base
    # agree on items 0, 2, 3 -> 3/5; marginals base 2, tuned 2, tie 1 on both sides:
    # p_e = (4 + 4 + 1) / 25 = 9/25; kappa = (0.6 - 0.36) / 0.64 = 0.375 < 0.6 -> cannot stand in
    judge_w = ["A", "A", "B", "tie", "B"] * 2
    judge = {(f"q{i}", "base", "tuned"): v for i, v in enumerate(judge_w)}
    # the file shows the pair in either order and names winners by letter or by name
    rows = ["q0,base,tuned,A", "q1,tuned,base,A", "q2,base,tuned,tuned", "q3,tuned,base,TIE", "q4,tuned,base,B"]
    rows += ["q5,base,tuned,base", "q6,base,tuned,B", "q7,tuned,base,A", "q8,base,tuned,tie", "q9,base,tuned,A"]
    rows += ["q10,base,tuned,A"]  # the judge has no verdict for q10
    h = load_human(_write(tmp_path, "c.csv", "id,model_a,model_b,choice\n" + "\n".join(rows) + "\n"))
    c = calibrate_choices(judge, h)
    assert (c.items, c.unmatched, c.judge_vs_people.n) == (10, 1, 10)
    assert c.judge_vs_people.rate == pytest.approx(0.6)
    assert c.judge_vs_people.kappa == pytest.approx(0.375)
    assert c.people is None and c.stands_in is False
    assert "pairwise choices: the judge cannot stand in" in c.sentence


def test_calibrate_choices_beside_people(tmp_path):
    # ana and bob both choose tuned on q0-q9 except a tie on q9 (they agree: rate 1, kappa 1);
    # the judge says tuned on all 10: judge-person rate 18/20 = 0.9; kappa: categories tuned/tie,
    # judge all tuned -> p_o = 0.9, p_e = 1 * 0.9 = 0.9 -> kappa 0 < 1 - 0.1 -> cannot stand in
    judge = {(f"q{i}", "base", "tuned"): "tuned" for i in range(10)}
    rows = [f"q{i},base,tuned,{'tie' if i == 9 else 'B'},{who}" for who in ("ana", "bob") for i in range(10)]
    h = load_human(_write(tmp_path, "c.csv", "id,model_a,model_b,choice,annotator\n" + "\n".join(rows) + "\n"))
    c = calibrate_choices(judge, h)
    assert c.judge_vs_people.rate == pytest.approx(0.9) and c.judge_vs_people.kappa == pytest.approx(0.0)
    assert c.people is not None and (c.people.rate, c.people.kappa, c.people_items) == (1.0, pytest.approx(1.0), 10)
    assert c.stands_in is False
