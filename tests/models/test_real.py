"""The Hugging Face backend on a real instruct model: SmolLM2-135M-Instruct (ChatML; `<|im_start|>`
is its BOS, id 1; `<|im_end|>` its EOS, id 2, also its pad token).

Tiny test models have no chat template with an end-of-turn token, a pad token equal to EOS or a
BOS that is also the start of every turn: these tests are where such bugs show. The GGUF file is
loaded once for the module (~20 s: transformers parses its vocabulary and dequantises 272 tensors);
the rest uses the session's safetensors copy of it (`smollm2`, ~2 s).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tunecheck.generation import GenerateConfig, generate_predictions
from tunecheck.models import (
    GenerationParams,
    HFModel,
    LoglikelihoodRequest,
    weights_stamp,
)
from tunecheck.models._hf_load import load_hf

pytestmark = pytest.mark.real

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
    "Café au lait, naïve façade: accents cost bytes.",
    "1, 2, 3, 4, 5",
]
REQUESTS = [LoglikelihoodRequest("", t) for t in TEXTS]


@pytest.fixture(scope="module")
def gguf_file() -> Path:
    from tunecheck.demo._real import smollm2_gguf

    return smollm2_gguf()


@pytest.fixture(scope="module")
def from_gguf(gguf_file: Path) -> HFModel:
    return load_hf(str(gguf_file), device="cpu")


@pytest.fixture(scope="module")
def real(smollm2: Path) -> HFModel:
    return load_hf(str(smollm2), device="cpu")


def test_gguf_spec_equals_the_model_converted_to_safetensors(from_gguf: HFModel, real: HFModel, gguf_file: Path) -> None:
    # the conftest fixture dequantised the same file with transformers and saved it as
    # safetensors: both must give the same per-token log-likelihoods, token ids included
    got = from_gguf.loglikelihood(REQUESTS)
    ref = real.loglikelihood(REQUESTS)
    for g, r in zip(got, ref):
        assert g.token_ids.tolist() == r.token_ids.tolist()
        np.testing.assert_allclose(g.logprobs, r.logprobs, rtol=0, atol=1e-5)
    assert from_gguf.model.dtype == real.model.dtype  # float32 on the CPU (--dtype auto)
    # the results name the file by its content, as weights_stamp does for the run fingerprints
    digest = hashlib.sha256(gguf_file.read_bytes()).hexdigest()
    ident = from_gguf.identity()
    assert (ident["gguf"], ident["sha256"]) == (str(gguf_file), digest)
    assert weights_stamp(str(gguf_file)) == [(gguf_file.name, gguf_file.stat().st_size, digest)]
    assert "sha256" not in real.identity()


def test_chatml_prompt_and_stop_at_end_of_turn(real: HFModel, tmp_path: Path) -> None:
    # a question the model answers in a few tokens; max_new_tokens is far larger, so a run that
    # does not stop at <|im_end|> would say "length" and hit 64 tokens
    data = tmp_path / "chat.jsonl"
    data.write_text(json.dumps({"id": "q", "messages": [{"role": "user", "content": "What is the capital of France? Answer in one word."}]}) + "\n")
    out = tmp_path / "preds.jsonl"
    generate_predictions(real, data, out, GenerateConfig(params=GenerationParams(max_new_tokens=64)))
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["prompt"].startswith("<|im_start|>system\n")
    assert row["prompt"].endswith("<|im_start|>user\nWhat is the capital of France? Answer in one word.<|im_end|>\n<|im_start|>assistant\n")
    assert row["finish_reason"] == "stop" and row["output_tokens"] < 64
    assert "<|im_end|>" not in row["output"] and "<|im_start|>" not in row["output"]
    assert "Paris" in row["output"]
    # the prompt's tokens start with the template's own <|im_start|>: no second BOS before it
    ids = real.with_bos(real.encode(row["prompt"]))  # as generate() tokenises a prompt
    assert ids[0] == 1 and ids[1] != 1


def test_perplexity_does_not_depend_on_the_batch_size(real: HFModel) -> None:
    # texts of different lengths, so batches are padded; pad = eos = <|im_end|> must not leak in
    ones = real.loglikelihood(REQUESTS, batch_size=1)
    for batch in (4, None):
        got = real.loglikelihood(REQUESTS, batch_size=batch)
        for g, r in zip(got, ones):
            np.testing.assert_allclose(g.logprobs, r.logprobs, rtol=0, atol=1e-4)


def test_greedy_generation_does_not_depend_on_the_batch_size(real: HFModel) -> None:
    from tunecheck.models import GenerationRequest

    prompts = ["<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n", "The capital of Italy is", "Once upon a time, in a small village by the sea,", "2 + 2 ="]
    requests = [GenerationRequest(p, None, str(i)) for i, p in enumerate(prompts)]
    params = GenerationParams(max_new_tokens=8)

    def run(batch: int) -> list[Any]:
        got: dict[int, Any] = {}
        real.generate(requests, params, lambda i, gens: got.__setitem__(i, gens[0]), batch_size=batch)
        return [(got[i].output, got[i].output_tokens, got[i].finish_reason) for i in range(len(prompts))]

    # left padding with pad = eos: the shorter prompts of a batch of 4 must continue as alone
    assert run(4) == run(1)


@pytest.fixture(scope="module")
def adapter(smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(smollm2))
    # init_lora_weights=False: B is random, so the adapter changes the outputs
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    out = tmp_path_factory.mktemp("lora") / "adapter"
    peft_model.save_pretrained(out)
    return out


def test_lora_adapter_equals_its_merged_model(real: HFModel, smollm2: Path, adapter: Path, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(smollm2)), str(adapter)).merge_and_unload()
    merged.save_pretrained(tmp_path / "merged")
    real.tokenizer.save_pretrained(tmp_path / "merged")
    got = load_hf(str(adapter), device="cpu").loglikelihood(REQUESTS[:2])
    ref = load_hf(str(tmp_path / "merged"), device="cpu").loglikelihood(REQUESTS[:2])
    base = real.loglikelihood(REQUESTS[:2])
    for g, r, b in zip(got, ref, base):
        np.testing.assert_allclose(g.logprobs, r.logprobs, rtol=0, atol=1e-4)
        assert abs(g.nll - b.nll) > 0.01  # the adapter is not a no-op


def test_lora_adapter_on_a_gguf_base(adapter: Path, gguf_file: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # an adapter trained on the Hugging Face model, applied to its GGUF export with base=
    got = load_hf(f"{adapter},base={gguf_file}", device="cpu")
    # transformers' own "Converting and de-quantizing GGUF tensors" bar stays off the terminal
    assert "de-quantizing" not in capfd.readouterr().err
    ref = load_hf(str(adapter), device="cpu")
    for g, r in zip(got.loglikelihood(REQUESTS[:2]), ref.loglikelihood(REQUESTS[:2])):
        np.testing.assert_allclose(g.logprobs, r.logprobs, rtol=0, atol=1e-4)
    assert got.identity()["sha256"] == hashlib.sha256(gguf_file.read_bytes()).hexdigest()
