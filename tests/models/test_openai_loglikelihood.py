"""Log-likelihood from an OpenAI-compatible completion server (echo + logprobs), against the test
server of tests/generation/_server.py: each prompt token (words with their leading spaces) has
log-probability -len(token)/10, the first token none, and one generated "!" follows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.cli.test_bad_inputs import run_cli
from tests.generation._server import Step, serve
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models import SCORING, LoglikelihoodRequest, ServerOptions, open_model
from tunecheck.models._openai import OpenAIModel
from tunecheck.models._openai_score import token_id
from tunecheck.models._protocol import LogLikelihoodModel


def _model(url: str, concurrency: int = 4) -> OpenAIModel:
    return OpenAIModel("tiny", server=ServerOptions(base_url=url, retries=0, timeout=5.0, concurrency=concurrency))


def test_only_the_continuations_tokens_are_scored_with_the_servers_values():
    with serve() as (url, log):
        [s] = _model(url).loglikelihood([LoglikelihoodRequest("The capital is", " Paris today")])
    # tokens "The" " capital" " is" | " Paris" " today" (then the generated "!", dropped):
    # the continuation's two tokens at -6/10 each
    assert s.logprobs.tolist() == [-0.6, -0.6]
    assert s.token_ids.tolist() == [token_id(" Paris"), token_id(" today")]
    sent = log.requests[0]
    assert sent["path"] == "/v1/completions" and sent["prompt"] == "The capital is Paris today"
    assert sent["echo"] is True and sent["logprobs"] == 1 and sent["max_tokens"] == 1


def test_a_token_spanning_the_boundary_is_scored_with_the_continuation():
    with serve(scoring="bos") as (url, _):
        model = _model(url)
        # "Answer: " + "Paris": the server's token " Paris" starts inside the context (its space)
        # "ab" + "cd ef": the token "abcd" is half context, half continuation
        a, b = model.loglikelihood([LoglikelihoodRequest("Answer: ", "Paris"), LoglikelihoodRequest("ab", "cd ef")])
    assert a.logprobs.tolist() == [-0.6]  # " Paris": 6 characters
    # after the BOS "<s>" (which shifts the server's offsets by 3): "abcd" (-0.4) and " ef" (-0.3)
    assert b.logprobs.tolist() == [-0.4, -0.3]


def test_a_whole_text_scores_its_first_token_only_after_a_bos():
    req = LoglikelihoodRequest("", "the red fox")
    with serve() as (url, _):
        [plain] = _model(url).loglikelihood([req])
    with serve(scoring="bos") as (url, _):
        [after_bos] = _model(url).loglikelihood([req])
    assert plain.logprobs.tolist() == [-0.4, -0.4]  # "the" has nothing before it: not scored
    assert after_bos.logprobs.tolist() == [-0.3, -0.4, -0.4]


def test_many_requests_come_back_in_order_with_bounded_concurrency():
    reqs = [LoglikelihoodRequest("x", " " + "y" * k) for k in range(1, 21)]
    with serve() as (url, log):
        scores = _model(url, concurrency=3).loglikelihood(reqs)
    # continuation " y...y" of k+1 characters: -(k+1)/10
    assert [s.logprobs.tolist() for s in scores] == [[-(k + 1) / 10] for k in range(1, 21)]
    assert len(log.requests) == 20 and log.max_in_flight <= 3


def test_a_server_that_ignores_echo_is_refused_in_one_line():
    with serve(scoring="ignore") as (url, _), pytest.raises(ModelError) as err:
        _model(url).loglikelihood([LoglikelihoodRequest("a", " b")])
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{url}: openai:tiny: request 0: no log-probabilities of the prompt in the answer: the server cannot score text")
    assert msg.endswith("Serve the model with vLLM, or pass the model's weights")


def test_an_answer_whose_tokens_stop_short_of_the_prompt_is_refused():
    # "a b c" echoed as "a" " b" only: the last token's log-probability is missing, not 0
    body = {"id": "x", "object": "text_completion", "created": 0, "model": "tiny",
            "choices": [{"index": 0, "text": "a b c!", "finish_reason": "length",
                         "logprobs": {"tokens": ["a", " b"], "token_logprobs": [None, -0.2], "text_offset": [0, 1]}}]}
    with serve([Step(body=json.dumps(body).encode())]) as (url, _), pytest.raises(ModelError, match=r"request 0: no log-probabilities of the prompt"):
        _model(url).loglikelihood([LoglikelihoodRequest("a", " b c")])


def test_a_server_that_refuses_echo_or_serves_only_chat_is_refused_in_one_line():
    # OpenAI answers 400 to echo with logprobs on its instruct models, 404 on /v1/completions for chat models
    with serve([Step(400)]) as (url, log), pytest.raises(ModelError) as err:
        _model(url).loglikelihood([LoglikelihoodRequest("a", " b")])
    assert len(log.requests) == 1  # a 400 is not retried
    assert str(err.value).startswith(
        f"{url}: openai:tiny: request 0: HTTP 400 for a completion with echo and logprobs (scripted 400): the server cannot score text"
    )
    with serve(model="other") as (url, _), pytest.raises(ModelError, match=r"request 0: HTTP 404 .*\(The model `tiny` does not exist\.\): the server cannot"):
        _model(url).loglikelihood([LoglikelihoodRequest("a", " b")])


def test_eos_and_windows_cannot_be_asked_of_a_server():
    model = _model("http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match=r"cannot append the EOS token; pass --eos no"):
        model.loglikelihood([LoglikelihoodRequest("a", " b", add_eos=True)])
    with pytest.raises(ConfigError, match=r"--max-length/--stride: openai:tiny is scored by its server"):
        model.loglikelihood([LoglikelihoodRequest("a", " b")], max_length=512)


def test_the_openai_backend_now_opens_for_scoring():
    model = open_model("openai:tiny,base_url=http://127.0.0.1:9/v1", SCORING, layer="perplexity")
    assert isinstance(model, LogLikelihoodModel)


def test_token_ids_are_vllms_ids_where_it_sends_them_else_a_stable_hash_of_the_text():
    assert token_id("token_id:1234") == 1234
    assert token_id(" Paris") == token_id(" Paris") != token_id("Paris")
    assert 0 <= token_id("é") < 2**63


def test_token_view_marks_the_scored_tokens():
    with serve() as (url, _):
        view = _model(url).token_view(LoglikelihoodRequest("The capital is", " Paris"))
    assert view == [("The", False), (" capital", False), (" is", False), (" Paris", True)]


def test_perplexity_through_the_cli_from_a_server(tmp_path: Path, monkeypatch, capsys):
    rows = ["the red fox", "hello world again", "où est café"]
    data = tmp_path / "texts.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in rows), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with serve() as (url, log):
        code, out, err = run_cli(
            ["perplexity", "--model", f"openai:tiny,base_url={url},name=a", "--model", f"openai:tiny,base_url={url},name=b",
             "--data", "texts.jsonl", "--format", "json", "--n-resamples", "200"],
            monkeypatch, capsys,
        )
    assert code == 0, err
    assert len(log.requests) == 6
    result = json.loads(out)
    metrics = {m["metric"]: m["value"] for m in result["estimates"] if m["model"] == "a"}
    # first tokens unscored; " red" " fox" 0.4+0.4, " world" " again" 0.6+0.6, " est" " café" 0.4+0.5:
    # NLL 2.9 nats over 6 tokens, 9 words; bytes 11 + 17 + 13 ("où" and "café" have 2-byte letters) = 41
    assert metrics["perplexity"] == pytest.approx(math.exp(2.9 / 6))
    assert metrics["bits_per_byte"] == pytest.approx(2.9 / math.log(2) / 41)
    assert metrics["word_perplexity"] == pytest.approx(math.exp(2.9 / 9))
    # the same server's tokens (the same token texts) are the same tokenisation: compared on perplexity
    [comparison] = result["comparisons"]
    assert comparison["metric"] == "perplexity" and comparison["extra"]["tokenizers_match"] is True
