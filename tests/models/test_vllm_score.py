"""VLLMModel.loglikelihood without vLLM (not installed here): the conversion of vLLM's
`prompt_logprobs` on hand-made objects shaped like vLLM's (a list, None first, then dicts token
id -> Logprob(logprob, rank, decoded_token)), and the whole path over a stand-in engine that
answers `LLM.generate` with prompt log-probabilities computed by the tiny Hugging Face model, so
its numbers must equal HFModel's, windows included. Not a test against a real vLLM engine."""

from __future__ import annotations

import math
import sys
import threading
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
import torch

from tunecheck.errors import ModelError
from tunecheck.models import SCORING, LoglikelihoodRequest
from tunecheck.models._hf import HFModel
from tunecheck.models._vllm import VLLMModel
from tunecheck.models._vllm_score import window_logprobs, window_prompt
from tunecheck.models._windows import Window


def lp(p: float, rank: int = 1) -> SimpleNamespace:
    return SimpleNamespace(logprob=math.log(p), rank=rank, decoded_token=None)


def test_a_windows_scored_targets_are_read_from_its_prompt_logprobs():
    ids = [1, 10, 11, 12, 13]
    # window a=1, b=4, s=3: the prompt is ids[1..4]; prompt entries 2 and 3 score ids 12 and 13
    w = Window(1, 4, 3)
    prompt = window_prompt(ids, w)
    assert prompt == [10, 11, 12, 13]
    # entry 2 also holds a more likely token (prompt_logprobs=1): the prompt's own token counts
    entries = [None, {11: lp(0.5)}, {12: lp(0.25, 2), 99: lp(0.7)}, {13: lp(0.125)}]
    assert window_logprobs(prompt, entries, w, "s1").tolist() == pytest.approx([math.log(0.25), math.log(0.125)])


def test_missing_prompt_logprobs_are_one_line_errors():
    w = Window(0, 2, 1)
    with pytest.raises(ModelError, match=r"^sample s1: vLLM returned no prompt log-probabilities for the prompt \(none\)"):
        window_logprobs([1, 2, 3], None, w, "s1")
    with pytest.raises(ModelError, match=r"^sample s1: vLLM gave no log-probability for prompt token 3 at position 2$"):
        window_logprobs([1, 2, 3], [None, {2: lp(0.5)}, {4: lp(0.5)}], w, "s1")


@pytest.fixture
def fake_vllm(monkeypatch, tiny_model, tokenizer):
    """A VLLMModel whose engine gives each prompt's log-probabilities from the tiny model."""
    module = ModuleType("vllm")
    module.SamplingParams = lambda **kw: SimpleNamespace(**kw)
    monkeypatch.setitem(sys.modules, "vllm", module)
    calls: list[tuple[list[list[int]], SimpleNamespace]] = []

    class Engine:
        llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=128))

        def generate(self, prompts, sampling, **kw):
            calls.append(([p["prompt_token_ids"] for p in prompts], sampling))
            outs = []
            for p in prompts:
                ids = p["prompt_token_ids"]
                with torch.no_grad():
                    logits = tiny_model(input_ids=torch.tensor([ids])).logits[0].double().log_softmax(-1)
                entries = [None] + [{ids[j]: SimpleNamespace(logprob=float(logits[j - 1, ids[j]]), rank=1, decoded_token=None)} for j in range(1, len(ids))]
                outs.append(SimpleNamespace(prompt_token_ids=ids, prompt_logprobs=entries))
            return outs

    model = VLLMModel.__new__(VLLMModel)
    model.name, model._lora, model._llm, model._lock, model._tokenizer = "vllm:tiny", None, Engine(), threading.Lock(), tokenizer
    return model, calls


REQUESTS = [
    LoglikelihoodRequest("", "the red fox walks to the river near town number 3"),
    LoglikelihoodRequest("the old owl walks to the", " hill near farm", add_eos=True, prefix="tokenizer"),
    LoglikelihoodRequest("the blue cat ", "walks", prefix="none"),
]


def test_vllm_scores_the_ids_and_windows_hf_scores(fake_vllm, tiny_model, tokenizer):
    model, calls = fake_vllm
    assert SCORING.of(model, "perplexity") is model
    hf = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    for kw in ({}, {"max_length": 5, "stride": 3}, {"max_length": 4, "windows": "fixed"}):
        got = model.loglikelihood(REQUESTS, **kw)
        want = hf.loglikelihood(REQUESTS, **kw)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.logprobs, w.logprobs, rtol=0, atol=1e-5)
            assert g.token_ids.tolist() == w.token_ids.tolist()
    sampling = calls[0][1]
    assert (sampling.prompt_logprobs, sampling.max_tokens, sampling.temperature) == (0, 1, 0.0)
    # with --max-length 5 a window is a prompt of at most 6 ids
    assert max(len(p) for p in calls[1][0]) == 6 and len(calls[1][0]) > len(REQUESTS)
    assert model.token_view(REQUESTS[2]) == hf.token_view(REQUESTS[2])
