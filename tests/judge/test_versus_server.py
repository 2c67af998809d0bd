"""Blind pairwise comparison (`_versus.compare_pair`, both orders) against the real test server's
scripted judges: position bias, length bias, verdicts that flip under swapping, the one repair
retry, requests counted at the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.generation._server import Responder, serve
from tests.judge import _judges as J
from tunecheck.judge._cache import JudgeCache
from tunecheck.judge._items import Item
from tunecheck.judge._judges import make_judge
from tunecheck.judge._judgment import PairJudgment
from tunecheck.judge._versus import compare_pair
from tunecheck.models._openai import OpenAIModel, ServerOptions

pairwise = pytest.importorskip("tunecheck.judge._pairwise")  # the prompt and parser land from the judge-pairwise branch

COLOUR = Item("s1", "Name a colour.")


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[JudgeCache]:
    with JudgeCache(tmp_path / "cache.sqlite") as c:
        yield c


def compared(responder: Responder, cache: JudgeCache, base: str, tuned: str, item: Item = COLOUR, *,
             five_way: bool = False) -> tuple[PairJudgment, int]:
    """The baseline's and the tuned model's answers judged in both orders; and the requests sent."""
    with serve(responder=responder) as (url, log):
        model = OpenAIModel("tiny", server=ServerOptions(base_url=url, retries=1, timeout=5))
        judge = make_judge(model.name, model.identity(), model.chat, cache)
        pair = compare_pair(judge, pairwise.builtin_pairwise_template(five_way), item, base, tuned, "base", "tuned", 0,
                            {"temperature": 0}, five_way=five_way)
    return pair, len(log.requests)


def verdicts(p: PairJudgment) -> tuple[int | None, int | None]:
    """Both orders in the pair's orientation: +1 the tuned model better, -1 the baseline."""
    return p.baseline_first.verdict, p.model_first.verdict


def test_a_position_consistent_judge_prefers_the_marked_answer_in_both_orders(cache: JudgeCache) -> None:
    p, requests = compared(J.prefers_marked(), cache, "blue", "GOOD red")
    assert verdicts(p) == (1, 1) and p.consistent is True
    assert (p.baseline_first.label, p.model_first.label) == ("B>A", "A>B")
    assert requests == 2  # one per order


def test_a_first_position_judge_is_inconsistent(cache: JudgeCache) -> None:
    p, _ = compared(J.first_position(), cache, "blue", "GOOD red")
    # A wins both times: the baseline when it is shown first (-1), the tuned model when it is (+1)
    assert verdicts(p) == (-1, 1) and p.consistent is False
    assert p.baseline_first.label == p.model_first.label == "A>B"


def test_strong_verdicts_on_the_five_way_scale(cache: JudgeCache) -> None:
    p, _ = compared(J.first_position(strong=True), cache, "blue", "red", five_way=True)
    assert verdicts(p) == (-2, 2)


def test_a_longer_answer_judge_follows_the_length(cache: JudgeCache) -> None:
    p, _ = compared(J.longer_answer(), cache, "a very long answer", "short")
    assert verdicts(p) == (-1, -1) and (p.length_baseline, p.length_model) == (18, 5)
    tie, _ = compared(J.longer_answer(), cache, "same", "size")
    assert verdicts(tie) == (0, 0)


def test_verdicts_flip_under_swapping_only_for_the_chosen_question(cache: JudgeCache) -> None:
    flips = J.flips_under_swap({"Name a colour."})
    p, _ = compared(flips, cache, "blue", "GOOD red")
    assert verdicts(p) == (-1, 1) and p.consistent is False
    q, _ = compared(flips, cache, "blue", "GOOD red", Item("s2", "Name a fruit."))
    assert verdicts(q) == (1, 1) and q.consistent is True


def test_no_verdict_is_repaired_by_the_one_retry(cache: JudgeCache) -> None:
    p, requests = compared(J.pairwise_invalid_then_valid(), cache, "GOOD blue", "red")
    assert verdicts(p) == (-1, -1)
    assert requests == 4  # each order: the try without a verdict and the repair
    assert p.baseline_first.replies[0] == J.NO_VERDICT and len(p.baseline_first.replies) == 2


def test_a_hang_in_one_order_leaves_the_pair_unscored(cache: JudgeCache) -> None:
    # hangs whenever the tuned model's answer is shown first
    hangs = J.hanging(J.prefers_marked(), lambda payload: "<answer_a>\nGOOD red" in payload["messages"][-1]["content"], 3.0)
    with serve(responder=hangs) as (url, log):
        model = OpenAIModel("tiny", server=ServerOptions(base_url=url, retries=0, timeout=0.3))
        judge = make_judge(model.name, model.identity(), model.chat, cache)
        p = compare_pair(judge, pairwise.builtin_pairwise_template(False), COLOUR, "blue", "GOOD red", "base", "tuned", 0, {})
    assert verdicts(p) == (1, None) and not p.usable
    assert p.unscored_reason is not None and p.unscored_reason.startswith("judge call failed: ")
    assert len(log.requests) == 2
