"""VLLMModel.chat without vLLM (not installed here): its request and the conversion of vLLM's
log-probabilities, on hand-made objects shaped like vLLM's (RequestOutput, CompletionOutput,
Logprob with .logprob, .rank, .decoded_token)."""

import math
import sys
import threading
from types import ModuleType, SimpleNamespace

import pytest

from tunecheck.errors import ConfigError
from tunecheck.judge._geval import weighted_scores
from tunecheck.judge._rubric import Criterion, Rubric
from tunecheck.models._protocol import CHAT
from tunecheck.models._vllm import VLLMModel, vllm_logprobs

# token ids of a toy tokenizer; 0 is the end-of-turn token, a special token decoded as ""
VOCAB = {0: "<|im_end|>", 1: '{"a": ', 2: "4", 3: "5", 4: "3", 5: "}", 6: " x", 7: "<|im_start|>", 8: "assistant\n"}


def decode(ids):
    return "".join(VOCAB[i] for i in ids if i not in (0, 7))


def lp(p, rank, text=None):
    # decoded_token deliberately not the text: the conversion decodes with the tokenizer
    return SimpleNamespace(logprob=math.log(p), rank=rank, decoded_token=text)


def choice_with_logprobs():
    # the judge sampled "3" (rank 3, p .1) where "4" (.6) and "5" (.3) were the top two; then
    # "}" and the end-of-turn token. Dicts in no particular order, as the ranks must sort them.
    positions = [
        {6: lp(0.01, 2, "Ġx"), 1: lp(0.99, 1)},
        {4: lp(0.1, 3), 3: lp(0.3, 2), 2: lp(0.6, 1)},
        {5: lp(1.0, 1)},
        {0: lp(0.9, 1)},
    ]
    return SimpleNamespace(text='{"a": 3}', token_ids=[1, 4, 5, 0], logprobs=positions, finish_reason="stop")


def test_vllm_logprobs_in_the_plain_format():
    got = vllm_logprobs(decode, [7, 8], choice_with_logprobs(), 2)
    assert got == [
        {"token": '{"a": ', "logprob": pytest.approx(math.log(0.99)),
         "top": [{"token": '{"a": ', "logprob": pytest.approx(math.log(0.99))}, {"token": " x", "logprob": pytest.approx(math.log(0.01))}]},
        # the sampled token keeps its own log-probability; the top list is the top 2 by rank
        {"token": "3", "logprob": pytest.approx(math.log(0.1)),
         "top": [{"token": "4", "logprob": pytest.approx(math.log(0.6))}, {"token": "5", "logprob": pytest.approx(math.log(0.3))}]},
        {"token": "}", "logprob": pytest.approx(0.0), "top": [{"token": "}", "logprob": pytest.approx(0.0)}]},
        # the end-of-turn token adds nothing to the text and is left out, as OpenAI leaves it out
    ]
    # and the judge layer reads it: 4 * .6 + 5 * .3 + 3 * .1 = 4.2
    rubric = Rubric("r", (Criterion("a", "d", 1, 5),), None, False, "")
    assert weighted_scores('{"a": 3}', got, rubric)["a"].value == pytest.approx(4.2)


def test_no_logprobs_from_vllm_is_none():
    assert vllm_logprobs(decode, [], SimpleNamespace(text="x", token_ids=[6], logprobs=None), 2) is None


@pytest.fixture
def fake_vllm(monkeypatch):
    """A VLLMModel over a stand-in engine, with `vllm.SamplingParams` recording its arguments."""
    module = ModuleType("vllm")
    module.SamplingParams = lambda **kw: SimpleNamespace(**kw)
    monkeypatch.setitem(sys.modules, "vllm", module)
    calls = []

    class Engine:
        def chat(self, messages, sampling, **kw):
            calls.append((messages, sampling, kw))
            return [SimpleNamespace(outputs=[choice_with_logprobs()], prompt_token_ids=[7, 8, 1])]

    model = VLLMModel.__new__(VLLMModel)
    model.name, model._lora, model._llm, model._lock = "vllm:judge", None, Engine(), threading.Lock()
    model._tokenizer = SimpleNamespace(chat_template="{{ messages }}", decode=lambda ids, skip_special_tokens: decode(ids))
    return model, calls


def test_vllm_chat_sends_one_conversation_with_the_params(fake_vllm):
    model, calls = fake_vllm
    assert CHAT.of(model, "judge") is model
    reply = model.chat([{"role": "user", "content": "grade"}], {"top_logprobs": 2, "max_tokens": 30, "seed": 3, "stop": ["\n\n"]})
    [(messages, sampling, kw)] = calls
    assert messages == [{"role": "user", "content": "grade"}]
    assert vars(sampling) == {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 30, "stop": ["\n\n"], "seed": 3, "logprobs": 2}
    assert kw == {"use_tqdm": False, "lora_request": None, "add_generation_prompt": True}
    assert reply.text == '{"a": 3}' and reply.extras["finish_reason"] == "stop"
    assert [e["token"] for e in reply.extras["logprobs"]] == ['{"a": ', "3", "}"]
    assert (reply.prompt_tokens, reply.completion_tokens) == (3, 4)


def test_vllm_chat_without_logprobs_and_bad_params(fake_vllm):
    model, calls = fake_vllm
    reply = model.chat([{"role": "user", "content": "grade"}], {"temperature": 0.7})
    assert "logprobs" not in reply.extras and calls[0][1].logprobs is None and calls[0][1].max_tokens == 512
    with pytest.raises(ConfigError, match="chat params best_of: not understood"):
        model.chat([], {"best_of": 2})
    model._tokenizer = SimpleNamespace(chat_template=None)
    with pytest.raises(ConfigError, match=r"^vllm:judge has no chat template; a judge must be a chat/instruct model"):
        model.chat([], {})
