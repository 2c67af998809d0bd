"""Rubric grading: the repair retry, unscored reasons, and the aggregation into paired statistics."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tunecheck.core import Verdict
from tunecheck.errors import ModelError
from tunecheck.judge import BUILTIN_RUBRICS, Item, JudgeCache, RubricJudgment, make_judge
from tunecheck.judge._grade import comparisons, estimates, grade, sample_scores, unscored_counts
from tunecheck.models import ChatReply
from tunecheck.stats import SampleStats, paired

RUBRIC = BUILTIN_RUBRICS["quality-5"]
NAMES = [c.name for c in RUBRIC.scored]


def _answer(score: int) -> str:
    return json.dumps({n: {"justification": "fine", "score": score} for n in NAMES})


def _judge(tmp_path: Path, replies: list[str | Exception]):  # type: ignore[no-untyped-def]
    sent: list[Sequence[Mapping[str, Any]]] = []

    def chat(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> ChatReply:
        sent.append(messages)
        r = replies.pop(0)
        if isinstance(r, Exception):
            raise r
        return ChatReply(r)

    return make_judge("j", {"name": "j"}, chat, JudgeCache(tmp_path / "c.sqlite")), sent


ITEM = Item("s1", "What is 2+2?")


def test_a_readable_answer_is_used_as_is(tmp_path: Path) -> None:
    j, sent = _judge(tmp_path, [_answer(4)])
    g = grade(j, RUBRIC, ITEM, "4", "tuned", 0, {"temperature": 0})
    assert g.scores == dict.fromkeys(NAMES, 4) and g.unscored == {} and len(sent) == 1
    assert (g.judge, g.model, g.sample_id, g.rubric, g.repeat) == ("j", "tuned", "s1", "quality-5", 0)


def test_an_unreadable_answer_gets_one_repair_that_shows_the_error(tmp_path: Path) -> None:
    j, sent = _judge(tmp_path, ["I think it is good.", _answer(5)])
    g = grade(j, RUBRIC, ITEM, "4", "tuned", 0, {})
    assert g.scores == dict.fromkeys(NAMES, 5)
    assert g.replies == ("I think it is good.", _answer(5))
    retry = sent[1]
    assert retry[-2] == {"role": "assistant", "content": "I think it is good."}
    assert retry[-1]["content"].startswith("Your previous reply could not be used: no JSON object")


def test_still_unreadable_is_unscored_with_the_reason_never_zero(tmp_path: Path) -> None:
    bad = json.dumps({n: {"justification": "x", "score": 7} for n in NAMES})  # 7 is off the 1-5 scale
    j, sent = _judge(tmp_path, [bad, bad])
    g = grade(j, RUBRIC, ITEM, "4", "tuned", 0, {})
    assert g.scores == {} and set(g.unscored) == set(NAMES) and len(sent) == 2
    assert all("1-5" in why or "scale" in why for why in g.unscored.values())


def test_a_repair_that_reads_worse_keeps_the_first_answer(tmp_path: Path) -> None:
    partial = json.dumps({NAMES[0]: {"justification": "x", "score": 3}})  # the others missing
    j, _ = _judge(tmp_path, [partial, "no json at all"])
    g = grade(j, RUBRIC, ITEM, "4", "tuned", 0, {})
    assert g.scores == {NAMES[0]: 3} and set(g.unscored) == set(NAMES[1:])


def test_a_failed_call_is_unscored_with_the_reason(tmp_path: Path) -> None:
    j, _ = _judge(tmp_path, [ModelError("http://x/v1: judge call: HTTP 503")])
    g = grade(j, RUBRIC, ITEM, "4", "tuned", 0, {})
    assert g.error == "http://x/v1: judge call: HTTP 503"
    assert g.unscored == dict.fromkeys(NAMES, "judge call failed: http://x/v1: judge call: HTTP 503")


def _j(judge: str, model: str, sid: str, repeat: int, score: int | None, rubric: str = "quality-5") -> RubricJudgment:
    scores = {"accuracy": score} if score is not None else {}
    unscored = {} if score is not None else {"accuracy": "missing"}
    return RubricJudgment(judge, model, sid, rubric, repeat, scores=scores, unscored=unscored)


def test_sample_scores_average_repeats_then_judges() -> None:
    js = [
        _j("a", "m", "1", 0, 4), _j("a", "m", "1", 1, 2),  # judge a: mean 3
        _j("b", "m", "1", 0, 5),                           # judge b: 5 -> sample 1: (3 + 5) / 2 = 4
        _j("a", "m", "2", 0, None), _j("b", "m", "2", 0, 1),  # a unscored: only b counts
        _j("a", "m", "3", 0, 5, rubric="quality-5~v2"),     # another wording: not in this table
    ]
    t = sample_scores(js, "quality-5")
    assert t["m"]["accuracy"] == {"1": 4.0, "2": 1.0}
    assert sample_scores(js, "quality-5", judge="a")["m"]["accuracy"] == {"1": 3.0}
    assert sample_scores(js, "quality-5", repeat=1)["m"]["accuracy"] == {"1": 2.0}


def test_comparisons_pair_on_samples_both_have_and_match_the_engine() -> None:
    rng = np.random.default_rng(0)
    base = {str(i): float(v) for i, v in enumerate(rng.integers(1, 4, 30))}
    tuned = {str(i): float(min(5, v + 1)) for i, v in enumerate(rng.integers(1, 4, 30)) if i != 7}
    table = {"base": {"accuracy": base}, "tuned": {"accuracy": tuned}}
    [c] = comparisons(table, "base", ["base", "tuned"], ["accuracy"], n_resamples=2000, seed=3)
    ids = sorted(set(base) & set(tuned))
    want = paired(SampleStats.mean("accuracy", [base[i] for i in ids]), SampleStats.mean("accuracy", [tuned[i] for i in ids]),
                  n_resamples=2000, seed=3, baseline="base", model="tuned")
    assert c.n == 29 and c.difference == pytest.approx(want.difference) and c.ci95 == pytest.approx(want.ci95)
    assert c.tests["wilcoxon_p"] == pytest.approx(want.tests["wilcoxon_p"])
    assert c.p_value_holm == pytest.approx(want.p_value)  # one criterion: Holm leaves p as it is
    e = estimates(table, ["base", "tuned"], ["accuracy"], n_resamples=2000, seed=3)
    assert [(x.model, x.n) for x in e] == [("base", 30), ("tuned", 29)]
    assert e[0].value == pytest.approx(np.mean(list(base.values())))


def test_holm_across_criteria_can_turn_a_verdict_inconclusive() -> None:
    # 4 of 40 samples one point better: improved alone (bootstrap p = 0.033 with this seed), but
    # with two such criteria Holm's smallest adjusted p is 2 x 0.033 > 0.05
    n = 40
    base = {str(i): 3.0 for i in range(n)}
    tuned = {str(i): 3.0 + (1.0 if i < 4 else 0.0) for i in range(n)}
    table = {"b": {"accuracy": base, "fluency": base}, "t": {"accuracy": tuned, "fluency": tuned}}
    alone = comparisons({"b": {"accuracy": base}, "t": {"accuracy": tuned}}, "b", ["b", "t"], ["accuracy"], n_resamples=4000, seed=0)
    both = comparisons(table, "b", ["b", "t"], ["accuracy", "fluency"], n_resamples=4000, seed=0)
    assert alone[0].verdict == Verdict.IMPROVED and 0.025 < alone[0].p_value < 0.05
    assert both[0].p_value_holm == pytest.approx(2 * both[0].p_value)
    assert [c.verdict for c in both] == [Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE]


def test_unscored_counts_with_reasons() -> None:
    js = [_j("a", "m", "1", 0, None), _j("a", "m", "2", 0, 3), _j("a", "m", "3", 0, None)]
    u = unscored_counts(js, RUBRIC)["m"]
    assert u["gradings"] == 3 and u["unscored"]["accuracy"] == 2 and u["reasons"] == {"accuracy": {"missing": 2}}


def test_a_verdict_needs_the_rank_test_too() -> None:
    # 3 samples, each one point better: the bootstrap CI is [1, 1] (every resample the same), but
    # the exact Wilcoxon signed-rank test of 3 positive differences gives p = 2 / 2^3 = 0.25
    table = {"b": {"accuracy": {"1": 2.0, "2": 3.0, "3": 2.0}}, "t": {"accuracy": {"1": 3.0, "2": 4.0, "3": 3.0}}}
    [c] = comparisons(table, "b", ["b", "t"], ["accuracy"], n_resamples=2000, seed=0)
    assert c.ci95 == (1.0, 1.0) and c.tests["wilcoxon_p"] == pytest.approx(0.25)
    assert c.verdict == Verdict.INCONCLUSIVE and "Wilcoxon" in c.extra["note"]
