"""One judge's calls through the cache: each question sent once, usage summed."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tunecheck.judge._cache import CachedCall, CachedCalls, JudgeCache, call_key

JUDGE = {"name": "hf:judge", "location": "/models/judge", "dtype": "float32"}


class FakeJudge:
    """Answers with the question's last message, reports 10 prompt + 2 completion tokens."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> CachedCall:
        with self.lock:
            self.sent.append((messages[-1]["content"], params.get("temperature")))
        return CachedCall(f"graded {messages[-1]['content']}", {"finish_reason": "stop"}, 10, 2)


def q(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_each_question_is_sent_once_and_usage_is_summed(tmp_path: Path) -> None:
    judge = FakeJudge()
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        calls = CachedCalls(cache, JUDGE, judge)
        assert calls(q("a"), {"temperature": 0}).text == "graded a"
        assert calls(q("a"), {"temperature": 0}).text == "graded a"  # cached
        assert calls(q("a"), {"temperature": 1}).text == "graded a"  # other params: sent
        assert calls(q("b"), {"temperature": 0}).text == "graded b"
        assert judge.sent == [("a", 0), ("a", 1), ("b", 0)]
        u = calls.usage()
        # 3 sent (3*10 prompt, 3*2 completion), 1 cached (10, 2)
        assert (u.requests, u.cached, u.prompt_tokens, u.completion_tokens) == (3, 1, 30, 6)
        assert (u.cached_prompt_tokens, u.cached_completion_tokens, u.without_usage) == (10, 2, 0)
        assert cache.get(call_key(JUDGE, q("b"), {"temperature": 0})) is not None  # stored under call_key


def test_a_rerun_pays_only_for_new_calls(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first = FakeJudge()
    with JudgeCache(path) as cache:
        calls = CachedCalls(cache, JUDGE, first)
        for t in ("a", "b"):
            calls(q(t), {})
    second = FakeJudge()
    with JudgeCache(path) as cache:
        calls = CachedCalls(cache, JUDGE, second)
        for t in ("a", "b", "c"):  # one more model's answer to grade
            calls(q(t), {})
        assert second.sent == [("c", None)]
        assert (calls.usage().requests, calls.usage().cached) == (1, 2)
        other = FakeJudge()  # one more judge: all its calls are new
        calls2 = CachedCalls(cache, {**JUDGE, "location": "/models/judge2"}, other)
        calls2(q("a"), {})
        assert other.sent == [("a", None)]


def test_a_failed_call_stores_nothing_and_is_sent_again(tmp_path: Path) -> None:
    tries: list[int] = []

    def flaky(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> CachedCall:
        tries.append(1)
        if len(tries) == 1:
            raise ConnectionError("server went away")
        return CachedCall("ok")

    with JudgeCache(tmp_path / "c.sqlite") as cache:
        calls = CachedCalls(cache, JUDGE, flaky)
        with pytest.raises(ConnectionError):
            calls(q("a"), {})
        assert cache.stats().entries == 0
        assert calls(q("a"), {}).text == "ok"
        assert len(tries) == 2 and calls.usage().requests == 1


def test_unknown_token_counts_are_counted_not_summed(tmp_path: Path) -> None:
    def no_usage(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> CachedCall:
        return CachedCall("x")

    with JudgeCache(tmp_path / "c.sqlite") as cache:
        calls = CachedCalls(cache, JUDGE, no_usage)
        calls(q("a"), {})
        calls(q("b"), {})
        u = calls.usage()
        assert (u.requests, u.prompt_tokens, u.completion_tokens, u.without_usage) == (2, 0, 0, 2)


def test_a_thread_pool_sends_each_question_once(tmp_path: Path) -> None:
    judge = FakeJudge()
    questions = [f"q{i % 20}" for i in range(200)]  # each of 20 questions asked 10 times
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        calls = CachedCalls(cache, JUDGE, judge)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda t: calls(q(t), {"temperature": 0}).text, questions))
        assert answers == [f"graded {t}" for t in questions]
        assert sorted(t for t, _ in judge.sent) == sorted(f"q{i}" for i in range(20))
        u = calls.usage()
        assert (u.requests, u.cached, u.prompt_tokens, u.cached_prompt_tokens) == (20, 180, 200, 1800)
        assert cache.stats().entries == 20


def test_threads_asking_the_same_question_at_once_send_one_request(tmp_path: Path) -> None:
    release = threading.Event()
    started = threading.Event()
    sent: list[int] = []

    def slow(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> CachedCall:
        sent.append(1)
        started.set()
        release.wait()
        return CachedCall("verdict: A", {}, 5, 1)

    with JudgeCache(tmp_path / "c.sqlite") as cache:
        calls = CachedCalls(cache, JUDGE, slow)
        with ThreadPoolExecutor(max_workers=6) as pool:
            first = pool.submit(calls, q("same"), {})
            started.wait()  # the request is in flight; the others ask while it is
            others = [pool.submit(calls, q("same"), {}) for _ in range(5)]
            release.set()
            texts = [first.result().text] + [f.result().text for f in others]
        # whether another thread waited on the request in flight or found it stored, none re-sent it
        assert texts == ["verdict: A"] * 6 and len(sent) == 1
        assert (calls.usage().requests, calls.usage().cached) == (1, 5)
