"""Rubric grading (`_grade.grade`) against the real test server's scripted judges: one repair
retry, unscored with the reason (never a 0), a failed call recorded on its judgment, requests
counted at the server, and each call sent once (the cache)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.generation._server import Responder, serve
from tests.judge import _judges as J
from tunecheck.judge._builtin import BUILTIN_RUBRICS
from tunecheck.judge._cache import JudgeCache
from tunecheck.judge._grade import grade
from tunecheck.judge._items import Item
from tunecheck.judge._judges import Judge, make_judge
from tunecheck.judge._judgment import RubricJudgment
from tunecheck.models._openai import OpenAIModel, ServerOptions

QUALITY = BUILTIN_RUBRICS["quality-5"]
CRITERIA = ["accuracy", "relevance", "fluency", "format"]
CAT = Item("s1", "How many legs has a cat?")


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[JudgeCache]:
    with JudgeCache(tmp_path / "cache.sqlite") as c:
        yield c


def a_judge(url: str, cache: JudgeCache, *, retries: int = 2, timeout: float = 5.0) -> Judge:
    model = OpenAIModel("tiny", server=ServerOptions(base_url=url, retries=retries, timeout=timeout))
    return make_judge(model.name, model.identity(), model.chat, cache)


def graded(responder: Responder, cache: JudgeCache, answer: str, item: Item = CAT, *, retries: int = 2,
           timeout: float = 5.0) -> tuple[RubricJudgment, int]:
    """One grading; the judgment and the requests the server saw."""
    with serve(responder=responder) as (url, log):
        j = grade(a_judge(url, cache, retries=retries, timeout=timeout), QUALITY, item, answer, "tuned", 0, {"temperature": 0})
    return j, len(log.requests)


def test_a_valid_answer_is_scored_in_one_request(cache: JudgeCache) -> None:
    j, requests = graded(J.rubric_judge(), cache, "A cat has 4 legs.")
    assert j.scores == dict.fromkeys(CRITERIA, 4) and j.unscored == {} and j.error is None
    assert requests == 1 and len(j.replies) == 1


def test_invalid_json_is_repaired_by_the_one_retry(cache: JudgeCache) -> None:
    j, requests = graded(J.invalid_then_valid(), cache, "2 legs")
    assert j.scores == dict.fromkeys(CRITERIA, 2) and j.unscored == {}
    assert requests == 2
    assert j.replies[0] == J.INVALID and len(j.replies) == 2


def test_out_of_scale_scores_are_unscored_with_the_reason_after_the_retry(cache: JudgeCache) -> None:
    j, requests = graded(J.out_of_scale(7), cache, "4 legs")
    assert j.scores == {}
    assert j.unscored == dict.fromkeys(CRITERIA, "score 7 is outside the 1-5 scale")
    assert requests == 2


def test_out_of_scale_fixed_on_the_retry_is_scored(cache: JudgeCache) -> None:
    j, requests = graded(J.out_of_scale(7, fixed_on_repair=True), cache, "4 legs")
    assert j.scores == dict.fromkeys(CRITERIA, 4) and requests == 2


def test_no_json_twice_is_unscored(cache: JudgeCache) -> None:
    j, requests = graded(J.always_invalid(), cache, "4 legs")
    assert j.scores == {} and j.unscored == dict.fromkeys(CRITERIA, "no JSON object in the answer")
    assert requests == 2


def test_429s_are_retried_and_the_answer_scored(cache: JudgeCache) -> None:
    j, requests = graded(J.rate_limited(J.rubric_judge(), times=2), cache, "3 legs", retries=2)
    assert j.scores == dict.fromkeys(CRITERIA, 3)
    assert requests == 3  # two 429s, then the answer


def test_a_hang_is_a_failed_call_on_its_judgment_and_no_retry(cache: JudgeCache) -> None:
    hangs = J.hanging(J.rubric_judge(), J.mentions("HANG"), seconds=3.0)
    j, requests = graded(hangs, cache, "4 legs", Item("s2", "HANG: how many legs?"), retries=0, timeout=0.3)
    assert j.scores == {} and j.error is not None and "no answer within --timeout 0.3s" in j.error
    assert set(j.unscored) == set(CRITERIA) and all(v.startswith("judge call failed: ") for v in j.unscored.values())
    assert requests == 1  # a failed call is not repaired: the repair is for answers that cannot be read


def test_grading_again_sends_nothing(cache: JudgeCache) -> None:
    # one server: its URL is part of the judge's identity, so another port is another judge
    with serve(responder=J.invalid_then_valid()) as (url, log):
        first = grade(a_judge(url, cache), QUALITY, CAT, "2 legs", "tuned", 0, {"temperature": 0})
        sent = len(log.requests)
        again = grade(a_judge(url, cache), QUALITY, CAT, "2 legs", "tuned", 0, {"temperature": 0})
    assert (sent, len(log.requests)) == (2, 2)  # the first try and the repair both come from the cache
    assert again.scores == first.scores == dict.fromkeys(CRITERIA, 2)
    assert again.replies == first.replies


def test_logprobs_give_the_weighted_score(cache: JudgeCache) -> None:
    pytest.importorskip("tunecheck.judge._geval")  # lands from the judge-chat branch
    with serve(responder=J.rubric_judge(logprobs=J.SPREAD)) as (url, log):
        j = grade(a_judge(url, cache), QUALITY, CAT, "4 legs", "tuned", 0, {"temperature": 0, "top_logprobs": 5})
    assert j.scores == dict.fromkeys(CRITERIA, 4)
    # 0.6 x 4 + 0.3 x 5 + 0.1 x 3 = 4.2 (SPREAD's probabilities sum to 1 over the scale's values)
    assert j.weighted == pytest.approx(dict.fromkeys(CRITERIA, 4.2))
    assert len(log.requests) == 1
