"""The fail-fast rule through the real path: `run_parallel` over a `Meter` over the cache and
`OpenAIModel.chat`, against the test server, requests counted at the server (the client's
retries count too: one call is 1 + retries requests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.generation._server import Step, hang, serve
from tests.judge import _judges as J
from tunecheck.errors import ModelError
from tunecheck.judge._cache import CachedCalls, JudgeCache
from tunecheck.judge._run import FAIL_FAST, CallFailed, Meter, run_parallel
from tunecheck.models._openai import OpenAIModel, ServerOptions
from tunecheck.models._protocol import ChatReply

ANSWER = J.rubric_text({"accuracy": 4})


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[JudgeCache]:
    with JudgeCache(tmp_path / "cache.sqlite") as c:
        yield c


def meter_for(url: str, cache: JudgeCache, *, retries: int, timeout: float = 5.0) -> Meter:
    model = OpenAIModel("tiny", server=ServerOptions(base_url=url, retries=retries, timeout=timeout))
    return Meter("tiny", CachedCalls(cache, model.identity(), model.chat))


def judge_all(meter: Meter, n: int, concurrency: int) -> list[ChatReply | None]:
    """n distinct calls; a failed call is None (as the modes record it: unscored)."""

    def work(i: int) -> ChatReply | None:
        try:
            return meter([{"role": "user", "content": f"question {i}"}], {})
        except CallFailed:
            return None

    return [d.result for d in run_parallel(list(range(n)), work, concurrency=concurrency)]


def test_a_judge_whose_server_always_fails_stops_after_its_first_calls(cache: JudgeCache) -> None:
    with serve(responder=J.failing(500)) as (url, log):
        meter = meter_for(url, cache, retries=1)
        with pytest.raises(ModelError) as err:
            judge_all(meter, 20, concurrency=1)
    assert str(err.value) == f"judge tiny: its first 5 calls all failed: {url}: judge call: HTTP 500 after 1 retries (scripted 500)"
    # FAIL_FAST calls of 1 + 1 retry each, and no call after the stop (the old code sent a sixth:
    # the unit queued behind the fifth was picked up by the worker before the run could cancel it)
    assert FAIL_FAST == 5
    assert len(log.requests) == 5 * 2
    assert (meter.done, meter.failed) == (5, 5)


def test_a_hanging_judge_stops_after_its_first_timeouts(cache: JudgeCache) -> None:
    with serve(responder=lambda payload: hang(3.0)) as (url, log):
        meter = meter_for(url, cache, retries=0, timeout=0.3)
        with pytest.raises(ModelError) as err:
            judge_all(meter, 20, concurrency=1)
    assert str(err.value) == (
        f"judge tiny: its first 5 calls all failed: {url}: judge call: no answer within --timeout 0.3s "
        "after 0 retries; raise --timeout or lower --concurrency"
    )
    assert len(log.requests) == 5  # 5 calls x (1 + 0 retries)


def test_one_answered_call_among_the_first_keeps_the_judge_running(cache: JudgeCache) -> None:
    def fails_but_one(payload: dict[str, Any]) -> Step:
        return Step(text=ANSWER) if payload["messages"][-1]["content"] == "question 2" else J.failing(500)(payload)

    with serve(responder=fails_but_one) as (url, log):
        meter = meter_for(url, cache, retries=1)
        results = judge_all(meter, 8, concurrency=1)
    assert sorted(r is not None for r in results) == [False] * 7 + [True]
    assert len(log.requests) == 1 + 7 * 2  # the answered call once, each failed one with its retry
    assert (meter.done, meter.failed) == (8, 7)


def test_at_most_concurrency_calls_are_in_flight_at_the_server(cache: JudgeCache) -> None:
    def answer_later(payload: dict[str, Any]) -> Step:
        return Step(delay=0.3, text=ANSWER)

    with serve(responder=answer_later) as (url, log):
        meter = meter_for(url, cache, retries=0)
        results = judge_all(meter, 12, concurrency=4)
    assert all(r is not None for r in results) and len(log.requests) == 12
    assert 1 < log.max_in_flight <= 4  # bounded by the concurrency; >1: the calls did overlap (0.3 s each)
