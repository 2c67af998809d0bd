"""The judge's runner: bounded concurrency, results in order, fail-fast, metering, prices."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tunecheck.errors import ModelError
from tunecheck.judge import JudgeCache, JudgeUsage
from tunecheck.judge._cache import CachedCalls
from tunecheck.judge._run import FAIL_FAST, CallFailed, Meter, Price, run_parallel
from tunecheck.models import ChatReply


def test_run_parallel_yields_every_unit_once_and_bounds_concurrency() -> None:
    active, peak = 0, 0
    lock = threading.Lock()

    def work(u: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.01)
        with lock:
            active -= 1
        return u * u

    done = list(run_parallel(list(range(40)), work, concurrency=4))
    assert sorted(d.index for d in done) == list(range(40))
    assert all(d.result == d.unit * d.unit for d in done)
    assert 1 < peak <= 4


def test_run_parallel_stops_on_an_error_and_cancels_the_queue() -> None:
    started: list[int] = []

    def work(u: int) -> int:
        started.append(u)
        if u == 0:
            raise RuntimeError("boom")
        time.sleep(0.01)
        return u

    with pytest.raises(RuntimeError, match="boom"):
        list(run_parallel(list(range(1000)), work, concurrency=2))
    # at most what was submitted before the error surfaced: 2 x concurrency queued, a few more
    assert len(started) < 20


def test_run_parallel_refuses_zero_concurrency() -> None:
    with pytest.raises(ValueError):
        list(run_parallel([1], lambda u: u, concurrency=0))


def _meter(tmp_path: Path, call: object) -> Meter:
    cache = JudgeCache(tmp_path / "c.sqlite")
    return Meter("j", CachedCalls(cache, {"name": "j"}, call))  # type: ignore[arg-type]


def test_meter_counts_and_turns_a_failed_call_into_call_failed(tmp_path: Path) -> None:
    def call(messages: object, params: object) -> ChatReply:
        if "bad" in str(messages):
            raise ModelError("http://x: judge call: HTTP 500")
        return ChatReply("ok", {}, 3, 1)

    m = _meter(tmp_path, call)
    assert m([{"role": "user", "content": "a"}], {}).text == "ok"
    assert m([{"role": "user", "content": "a"}], {}).text == "ok"  # cached
    with pytest.raises(CallFailed, match="HTTP 500"):
        m([{"role": "user", "content": "bad"}], {})
    assert (m.done, m.failed) == (3, 1)
    u = m.usage()
    assert (u.requests, u.cached) == (1, 1)
    assert "1 cached, 1 failed" in m.description()


def test_meter_stops_the_run_when_the_first_calls_all_fail(tmp_path: Path) -> None:
    def call(messages: object, params: object) -> ChatReply:
        raise ModelError("http://127.0.0.1:9/v1: connection refused")

    m = _meter(tmp_path, call)
    for i in range(FAIL_FAST - 1):
        with pytest.raises(CallFailed):
            m([{"role": "user", "content": str(i)}], {})
    with pytest.raises(ModelError, match=f"first {FAIL_FAST} calls all failed: http://127.0.0.1:9/v1: connection refused"):
        m([{"role": "user", "content": "last"}], {})


def test_meter_keeps_going_after_a_success(tmp_path: Path) -> None:
    calls = 0

    def call(messages: object, params: object) -> ChatReply:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ModelError("HTTP 500")
        return ChatReply("ok")

    m = _meter(tmp_path, call)
    m([{"role": "user", "content": "first"}], {})
    for i in range(2 * FAIL_FAST):  # failures after a success are recorded, never fatal
        with pytest.raises(CallFailed):
            m([{"role": "user", "content": str(i)}], {})


def test_price_of_usage() -> None:
    u = JudgeUsage(requests=2, cached=1, prompt_tokens=1_000_000, completion_tokens=500_000, cached_prompt_tokens=200_000,
                   cached_completion_tokens=100_000, without_usage=0)
    p = Price(2.5, 10.0)
    assert p.cost(u) == pytest.approx(2.5 + 5.0)  # 1M x $2.5 + 0.5M x $10
    assert p.saved(u) == pytest.approx(0.5 + 1.0)  # 0.2M x $2.5 + 0.1M x $10
