"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.cli.test_cli_errors import one_error_line, tunecheck
from tests.generation._server import Step, serve
from tunecheck.data import read_predictions
from tunecheck.errors import ModelError
from tunecheck.generation import GenerateConfig, generate_predictions
from tunecheck.models import GenerationParams


def _data(tmp_path: Path, n: int = 5, chat: bool = False) -> Path:
    path = tmp_path / "data.jsonl"
    rows = []
    for i in range(n):
        if chat:
            rows.append({"id": f"c{i}", "messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]})
        else:
            rows.append({"id": f"p{i}", "prompt": f"question {i}", "completion": f"answer {i}"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _config(url: str, **kw) -> GenerateConfig:
    kw.setdefault("retries", 2)
    kw.setdefault("timeout", 5.0)
    return GenerateConfig(params=GenerationParams(max_new_tokens=16), base_url=url, **kw)


def test_chat_data_goes_to_chat_endpoint_and_rows_carry_usage(tmp_path):
    with serve() as (url, log):
        out = tmp_path / "preds.jsonl"
        summary = generate_predictions("openai:tiny", _data(tmp_path, chat=True), out, _config(url, system_prompt="Be brief."))
    assert summary.generated == 5
    assert {r["path"] for r in log.requests} == {"/v1/chat/completions"}
    sent = log.requests[0]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_tokens"] == 16 and sent["temperature"] == 0 and sent["model"] == "tiny"
    rows = {p.id: p.fields for p in read_predictions(out)}
    assert rows["c3"]["output"] == "echo: question 3"
    assert rows["c3"]["prompt"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "question 3"}]
    assert rows["c3"]["reference"] == "answer 3"
    assert rows["c3"]["messages"] == [{"role": "user", "content": "question 3"}]  # as asked: --system-prompt is ours, not the data's
    assert rows["c3"]["prompt_tokens"] == 2 and rows["c3"]["output_tokens"] == 3
    assert rows["c3"]["finish_reason"] == "stop" and rows["c3"]["model"] == "openai:tiny"
    assert rows["c3"]["latency_s"] >= 0


def test_plain_prompts_go_to_completions_endpoint_with_n_samples(tmp_path):
    with serve() as (url, log):
        out = tmp_path / "preds.jsonl"
        config = GenerateConfig(params=GenerationParams(max_new_tokens=8, temperature=0.7, n=2, stop=("\n",)), base_url=url)
        generate_predictions("openai:tiny", _data(tmp_path, n=3), out, config)
    assert {r["path"] for r in log.requests} == {"/v1/completions"}
    assert log.requests[0]["n"] == 2 and log.requests[0]["stop"] == ["\n"]
    rows = read_predictions(out)
    assert sorted((p.id, p.sample) for p in rows) == [(f"p{i}", k) for i in range(3) for k in range(2)]
    assert all(p.fields["output_tokens"] is None for p in rows)  # usage covers both samples together


def test_429_then_200_honours_retry_after(tmp_path):
    script = [Step(429, {"Retry-After": "1"}), Step(429, {"Retry-After": "1"})]
    with serve(script) as (url, log):
        generate_predictions("openai:tiny", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url, concurrency=1))
    assert len(log.requests) == 3
    gaps = [b - a for a, b in zip(log.times, log.times[1:])]
    assert all(g >= 0.9 for g in gaps), gaps  # waited as the server asked, not the 0.5 s default backoff
    assert read_predictions(tmp_path / "o.jsonl")[0].output == "echo: question 0"


def test_5xx_is_retried_with_backoff(tmp_path):
    with serve([Step(503), Step(500)]) as (url, log):
        generate_predictions("openai:tiny", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url, concurrency=1))
    assert len(log.requests) == 3


def test_timeout_retries_then_fails_clearly_and_keeps_finished_rows(tmp_path):
    # p0 answers at once; then every request hangs longer than --timeout
    script = [Step()] + [Step(delay=3.0)] * 10
    out = tmp_path / "o.jsonl"
    with serve(script) as (url, log):
        started = time.monotonic()
        with pytest.raises(ModelError, match=r"no answer within --timeout 0.5s after 1 retries"):
            generate_predictions("openai:tiny", _data(tmp_path, n=3), out, _config(url, concurrency=1, timeout=0.5, retries=1))
        assert time.monotonic() - started < 10
    assert [p.id for p in read_predictions(out)] == ["p0"]
    assert len(log.requests) == 3  # p0, then p1 twice (first try + one retry)


def test_malformed_json_is_a_clear_error(tmp_path):
    with serve([Step(body=b'{"id": "x", "choices": [ {')]) as (url, _), pytest.raises(ModelError, match="answer is not valid JSON"):
            generate_predictions("openai:tiny", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url))


def test_json_without_choices_is_a_clear_error(tmp_path):
    with serve([Step(body=b'{"id": "x", "object": "chat.completion"}')]) as (url, _), pytest.raises(
        ModelError, match=r"expected 1 choice\(s\) in the answer, got no"
    ):
            generate_predictions("openai:tiny", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url))


def test_401_names_the_key_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", "wrong")
    with serve(key="right") as (url, log):
        with pytest.raises(ModelError, match=r"401 Unauthorized; put the API key in \$MY_KEY"):
            generate_predictions("openai:tiny", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url, api_key_env="MY_KEY"))
        assert len(log.requests) == 1  # not retried
        monkeypatch.setenv("MY_KEY", "right")
        generate_predictions("openai:tiny", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url, api_key_env="MY_KEY"))


def test_404_for_an_unknown_model(tmp_path):
    with serve(model="tiny") as (url, log):
        with pytest.raises(ModelError, match=r"404 Not Found for model 'huge'.*GET .*/v1/models"):
            generate_predictions("openai:huge", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url))
        assert len(log.requests) == 1


def test_connection_refused_is_a_clear_error(tmp_path):
    with serve() as (url, _):
        pass  # the port is closed again
    with pytest.raises(ModelError, match=r"cannot connect after 0 retries.*is the server running"):
        generate_predictions("openai:tiny", _data(tmp_path, n=1), tmp_path / "o.jsonl", _config(url, retries=0))


def test_concurrency_is_bounded(tmp_path):
    script = [Step(delay=0.2)] * 12
    with serve(script) as (url, log):
        generate_predictions("openai:tiny", _data(tmp_path, n=12), tmp_path / "o.jsonl", _config(url, concurrency=3))
    assert log.max_in_flight == 3
    assert len(read_predictions(tmp_path / "o.jsonl")) == 12


def test_cli_error_is_one_line_exit_2(tmp_path):
    with serve(model="tiny") as (url, _):
        result = tunecheck(tmp_path, "generate", "-m", "openai:nope", "-d", str(_data(tmp_path, n=1)), "-o", "o.jsonl", "--base-url", url)
    line = one_error_line(result)
    assert "404 Not Found for model 'nope'" in line
