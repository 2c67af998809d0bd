"""Backend dispatch (`open_model`), the load -> use -> free loop (`loaded`), and the protocols the
layers reach models through."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import tunecheck.models._hf_load as hf_load
import tunecheck.models._open as open_mod
from tunecheck.errors import ModelError
from tunecheck.generation import GenerateConfig, generate_predictions
from tunecheck.models import (
    GENERATION,
    SCORING,
    TOKENS,
    Generation,
    GenerationModel,
    HFModel,
    LogLikelihoodModel,
    LoglikelihoodRequest,
    ModelSpec,
    ServerOptions,
    TokenModel,
    TokenScores,
    loaded,
    open_model,
)
from tunecheck.models._openai import OpenAIModel
from tunecheck.models._vllm import vllm_available
from tunecheck.overfitting import evaluate_extraction
from tunecheck.perplexity import PerplexityConfig, evaluate_perplexity


class FakeScorer:
    """Scores every whitespace word at log-probability -1; records being open and closed."""

    open_now: ClassVar[list[str]] = []
    peak = 0

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.closed = name, fail, False
        FakeScorer.open_now.append(name)
        FakeScorer.peak = max(FakeScorer.peak, len(FakeScorer.open_now))

    context_length = 64
    eos_token = None

    def identity(self) -> dict[str, Any]:
        return {"name": self.name}

    def chat_renderer(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True
        FakeScorer.open_now.remove(self.name)

    def token_view(self, req: LoglikelihoodRequest) -> list[tuple[str, bool]]:
        return [(w, True) for w in req.continuation.split()]

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest], **_: Any) -> list[TokenScores]:
        if self.fail:
            raise RuntimeError("out of memory (fake)")
        return [TokenScores(np.full(len(r.continuation.split()), -1.0), np.arange(len(r.continuation.split()))) for r in requests]


@pytest.fixture
def fake_loads(monkeypatch: pytest.MonkeyPatch) -> list[FakeScorer]:
    """`load_hf` returns FakeScorers (a spec ending in "!" fails while scoring); releases are counted."""
    made: list[FakeScorer] = []
    FakeScorer.open_now, FakeScorer.peak = [], 0

    def load(spec: ModelSpec, **_: Any) -> FakeScorer:
        made.append(FakeScorer(spec.display_name, fail=spec.location.endswith("!")))
        return made[-1]

    monkeypatch.setattr(hf_load, "load_hf", load)
    return made


def _texts(tmp_path: Path) -> Path:
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in ("a b c", "d e", "f g h i")), encoding="utf-8")
    return path


def test_a_spec_is_closed_and_freed_after_the_block_even_on_error(fake_loads, monkeypatch):
    freed: list[int] = []
    monkeypatch.setattr(open_mod, "release_memory", lambda: freed.append(1))
    with loaded("some/model", SCORING, layer="perplexity") as model:
        assert not model.closed
    assert fake_loads[0].closed and freed == [1]
    with pytest.raises(RuntimeError, match="boom"), loaded("other/model", SCORING, layer="perplexity"):
        raise RuntimeError("boom")
    assert fake_loads[1].closed and freed == [1, 1]


def test_open_model_dispatches_on_the_spec_and_leaves_closing_to_the_caller(fake_loads):
    hf = open_model("some/model,name=ft", SCORING, layer="perplexity")
    assert fake_loads == [hf] and hf.name == "ft" and not hf.closed
    server = open_model("openai:tiny", GENERATION, layer="generate", server=ServerOptions("http://127.0.0.1:9/v1", concurrency=3))
    assert isinstance(server, OpenAIModel) and (server.name, server.base_url, server.concurrency) == ("openai:tiny", "http://127.0.0.1:9/v1", 3)
    assert len(fake_loads) == 1  # an openai: spec loads no weights


def test_a_model_object_is_used_as_given_and_left_open(fake_loads):
    mine = FakeScorer("mine")
    with loaded(mine, SCORING, layer="perplexity") as model:
        assert model is mine
    assert not mine.closed and fake_loads == []  # nothing loaded, and its owner closes it


def test_perplexity_holds_one_model_at_a_time_and_closes_it_when_scoring_fails(fake_loads, tmp_path):
    data = _texts(tmp_path)
    report = evaluate_perplexity(["base", "tuned"], data, PerplexityConfig(n_resamples=100))
    # 3 documents of 3, 2 and 4 words at -1 nat each: 9 nats over 9 tokens, perplexity e
    assert report.models[0].metrics["perplexity"].value == pytest.approx(np.e)
    assert [m.closed for m in fake_loads] == [True, True] and FakeScorer.peak == 1
    with pytest.raises(RuntimeError, match="fake"):
        evaluate_perplexity(["base", "tuned!"], data, PerplexityConfig(n_resamples=100))
    assert all(m.closed for m in fake_loads) and FakeScorer.open_now == []


@pytest.mark.skipif(vllm_available(), reason="vLLM is installed: the spec would load")
def test_every_backend_now_scores_and_a_vllm_spec_without_vllm_says_how_to_install_it(fake_loads, tmp_path):
    # before: "./merged: perplexity needs log-likelihoods of given text, which the vllm backend cannot do"
    with pytest.raises(ModelError, match=r"^\./merged: the vllm backend needs `pip install vllm`"):
        evaluate_perplexity(["vllm:./merged"], _texts(tmp_path))
    assert fake_loads == []
    assert all("scoring" in can for can in open_mod._CAN.values())


def test_a_generation_only_object_is_refused_by_extraction_with_its_backend_named(tmp_path):
    server = OpenAIModel("tiny", server=ServerOptions(base_url="http://127.0.0.1:9/v1"))
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"prompt": "q", "completion": "a"}) + "\n", encoding="utf-8")
    # before: AttributeError ('OpenAIModel' object has no attribute 'tokenizer')
    with pytest.raises(ModelError, match=r"^openai:tiny: memorisation extraction needs greedy continuation of exact "
                       r"token ids, which the openai backend cannot do; pass the model's weights instead"):
        evaluate_extraction([server], data)


def test_hf_models_are_every_protocol_and_servers_generate_and_score(tiny_model, tokenizer):
    hf = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    assert isinstance(hf, LogLikelihoodModel) and isinstance(hf, GenerationModel) and isinstance(hf, TokenModel)
    server = OpenAIModel("tiny", server=ServerOptions(base_url="http://127.0.0.1:9/v1"))
    # scoring through echo + logprobs (models/_openai_score.py); exact token ids only with the weights
    assert isinstance(server, GenerationModel) and isinstance(server, LogLikelihoodModel)
    assert not isinstance(server, TokenModel)
    assert GENERATION.of(hf, "generate") is hf and TOKENS.of(hf, "x") is hf


class ChatServer:
    """A generation backend of some other kind that, like a chat endpoint, takes messages."""

    name = "chat-server"
    takes_messages = True

    def __init__(self) -> None:
        self.got: list[Any] = []

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "fake"}

    def chat_renderer(self) -> None:
        return None

    def close(self) -> None:  # pragma: no cover - an object passed in is never closed
        raise AssertionError("closed a model it did not open")

    def generate(self, requests, params, on_result, *, batch_size=None, progress=None) -> None:
        for i, r in enumerate(requests):
            self.got.append(r)
            on_result(i, [Generation("ok", "stop")])


def test_chat_prompts_go_as_messages_to_any_backend_that_takes_them(tmp_path):
    data = tmp_path / "chat.jsonl"
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    data.write_text(json.dumps(row) + "\n", encoding="utf-8")
    server = ChatServer()
    generate_predictions(server, data, tmp_path / "p.jsonl", GenerateConfig())
    # before: only an OpenAIModel got messages; another chat backend got the prompt as text
    [req] = server.got
    assert req.messages is not None and [(m.role, m.content) for m in req.messages] == [("user", "hi")]


def test_importing_models_loads_no_heavy_library():
    code = "import sys, tunecheck.models; print(sorted(m for m in ('torch', 'transformers', 'openai', 'peft') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
