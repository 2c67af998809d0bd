"""The judge's single chat request (`OpenAIModel.chat`) against a real HTTP server on
127.0.0.1 that scripts the judge's answers, and through the on-disk cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.generation._server import Step, hang, serve
from tunecheck.errors import ConfigError, ModelError
from tunecheck.judge._cache import CachedCalls, JudgeCache
from tunecheck.models._openai import OpenAIModel, ServerOptions

ASK = [{"role": "system", "content": "You are a judge."}, {"role": "user", "content": "Grade this answer."}]
SCORE = '{"accuracy": {"score": 4, "justification": "right"}}'


def judge(url: str, *, retries: int = 2, timeout: float = 5.0) -> OpenAIModel:
    return OpenAIModel("tiny", server=ServerOptions(base_url=url, retries=retries, timeout=timeout))


def test_text_and_usage_are_returned_and_params_are_sent() -> None:
    with serve([Step(text=SCORE)]) as (url, log):
        reply = judge(url).chat(ASK, {"temperature": 0, "max_tokens": 64, "seed": 7, "stop": ["\n\n"], "repeat": 1})
    assert reply.text == SCORE
    # the server counts whitespace-separated words of the last user message: "Grade this answer." = 3,
    # completion = words + 1 = 4
    assert (reply.prompt_tokens, reply.completion_tokens) == (3, 4)
    assert reply.extras == {"finish_reason": "stop"}  # no logprobs asked for: none returned
    (sent,) = log.requests
    assert sent["messages"] == ASK and sent["path"] == "/v1/chat/completions"
    assert (sent["temperature"], sent["max_tokens"], sent["seed"], sent["stop"]) == (0, 64, 7, ["\n\n"])
    assert "logprobs" not in sent and "top_logprobs" not in sent and "repeat" not in sent


def test_logprobs_come_back_as_plain_json_when_asked() -> None:
    tokens = [("4", -0.25, [("4", -0.25), ("5", -1.5), ("3", -2.0)]), ("}", -0.01, [("}", -0.01), ("\n", -5.0), (" ", -6.0)])]
    with serve([Step(text="4}", logprobs=tokens)]) as (url, log):
        reply = judge(url).chat(ASK, {"temperature": 0, "top_logprobs": 2})
    assert log.requests[0]["logprobs"] is True and log.requests[0]["top_logprobs"] == 2
    # the server sends the top 2 alternatives per token (top_logprobs=2), in OpenAI's wire format
    expected = [
        {"token": "4", "logprob": -0.25, "top": [{"token": "4", "logprob": -0.25}, {"token": "5", "logprob": -1.5}]},
        {"token": "}", "logprob": -0.01, "top": [{"token": "}", "logprob": -0.01}, {"token": "\n", "logprob": -5.0}]},
    ]
    assert reply.extras["logprobs"] == expected
    assert reply.extras["finish_reason"] == "stop"
    assert json.loads(json.dumps(reply.extras)) == {"finish_reason": "stop", "logprobs": expected}  # plain JSON


def test_logprobs_asked_but_not_sent_are_none() -> None:
    with serve([Step(text="4")]) as (url, _):  # a server that ignores `logprobs`
        reply = judge(url).chat(ASK, {"top_logprobs": 5})
    assert reply.extras == {"finish_reason": "stop", "logprobs": None}


def test_429_then_success_is_retried() -> None:
    with serve([Step(429, {"Retry-After": "0"}), Step(text=SCORE)]) as (url, log):
        reply = judge(url).chat(ASK, {})
    assert reply.text == SCORE
    assert len(log.requests) == 2


def test_500_beyond_the_retries_is_one_line() -> None:
    with serve([Step(500)] * 3) as (url, log), pytest.raises(ModelError) as err:
        judge(url, retries=1).chat(ASK, {})
    assert str(err.value) == f"{url}: judge call: HTTP 500 after 1 retries (scripted 500)"
    assert len(log.requests) == 2  # the first try and one retry


def test_a_hang_beyond_the_timeout_is_one_line() -> None:
    with serve([hang(3.0)] * 3) as (url, log), pytest.raises(ModelError) as err:
        judge(url, retries=1, timeout=0.5).chat(ASK, {})
    assert str(err.value) == (
        f"{url}: judge call: no answer within --timeout 0.5s after 1 retries; raise --timeout or lower --concurrency"
    )
    assert "\n" not in str(err.value)
    assert len(log.requests) == 2


def test_unknown_params_are_refused_before_any_request() -> None:
    with serve() as (url, log), pytest.raises(ConfigError, match="chat params temprature: not understood"):
        judge(url).chat(ASK, {"temprature": 0})
    assert log.requests == []


def test_cached_calls_over_chat_send_each_question_once(tmp_path: Path) -> None:
    tokens = [("4", -0.25, [("4", -0.25), ("5", -1.5)])]
    with serve([Step(text=SCORE, logprobs=tokens)]) as (url, log), JudgeCache(tmp_path / "c.sqlite") as cache:
        model = judge(url)
        calls = CachedCalls(cache, model.identity(), model.chat)
        first = calls(ASK, {"temperature": 0, "top_logprobs": 2})
        second = calls(ASK, {"temperature": 0, "top_logprobs": 2})
        assert len(log.requests) == 1  # the second identical ask was answered from the file
        assert first.text == second.text == SCORE
        assert second.extras["logprobs"] == [
            {"token": "4", "logprob": -0.25, "top": [{"token": "4", "logprob": -0.25}, {"token": "5", "logprob": -1.5}]}
        ]
        usage = calls.usage()
        assert (usage.requests, usage.cached, usage.prompt_tokens, usage.cached_prompt_tokens) == (1, 1, 3, 3)
        # another decoding setting is another question: sent
        calls(ASK, {"temperature": 0})
        assert len(log.requests) == 2
    # a new run on the same file, with the server gone: the questions already asked are answered
    # from the file (a request would fail: nothing listens on the port any more)
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        model = judge(url, retries=0)
        calls = CachedCalls(cache, model.identity(), model.chat)
        assert calls(ASK, {"temperature": 0, "top_logprobs": 2}).text == SCORE
        with pytest.raises(ModelError, match="cannot connect"):
            calls(ASK, {"temperature": 0.5})
