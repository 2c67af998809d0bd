"""GPU checks: skipped without CUDA; run on a GPU machine with `pytest tests/models/test_cuda.py`."""

import numpy as np
import pytest
import torch

from tests.conftest import CORPUS
from tunecheck.models import HFModel, LoglikelihoodRequest
from tunecheck.models._hf_load import load_hf

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _requests():
    return [LoglikelihoodRequest("", " ".join(CORPUS[i : i + k])) for i, k in ((0, 1), (3, 4), (10, 9), (20, 2))]


def test_auto_device_and_dtype(model_dirs):
    model = load_hf(str(model_dirs["base"]))
    assert model.device == "cuda"
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert model.model.dtype == expected


def test_cuda_fp32_matches_cpu(model_dirs):
    cpu = load_hf(str(model_dirs["base"]), device="cpu", dtype="float32").loglikelihood(_requests(), max_length=32, stride=8)
    gpu = load_hf(str(model_dirs["base"]), device="cuda", dtype="float32").loglikelihood(_requests(), max_length=32, stride=8)
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(b.logprobs, a.logprobs, rtol=1e-4, atol=1e-4)


def test_cuda_batch_size_invariance(model_dirs):
    model = load_hf(str(model_dirs["base"]), device="cuda", dtype="float32")
    one = model.loglikelihood(_requests(), max_length=32, batch_size=1)
    many = model.loglikelihood(_requests(), max_length=32)
    for a, b in zip(one, many):
        np.testing.assert_allclose(b.logprobs, a.logprobs, rtol=1e-5, atol=1e-5)


def test_bf16_close_to_fp32(model_dirs):
    ref = load_hf(str(model_dirs["base"]), device="cuda", dtype="float32").loglikelihood(_requests())
    half = load_hf(str(model_dirs["base"]), device="cuda", dtype="bfloat16").loglikelihood(_requests())
    for a, b in zip(ref, half):
        assert b.nll == pytest.approx(a.nll, rel=0.02)


def test_adapter_on_cuda(model_dirs, tokenizer):
    tuned = load_hf(str(model_dirs["adapter"]), device="cuda", dtype="float32")
    assert next(tuned.model.parameters()).device.type == "cuda"
    assert tuned.loglikelihood(_requests())[0].n_tokens > 0


def test_cuda_hf_model_wrapper(tiny_model, tokenizer):
    model = HFModel(tiny_model.to("cuda"), tokenizer, "tiny", "cuda")
    try:
        assert model._token_budget() >= 512
        assert all(s.n_tokens > 0 for s in model.loglikelihood(_requests()))
    finally:
        tiny_model.to("cpu")


def _gen(model, prompts, **kw):
    from tunecheck.models import GenerationParams, GenerationRequest

    got = {}
    model.generate([GenerationRequest(p) for p in prompts], GenerationParams(max_new_tokens=12), lambda i, g: got.__setitem__(i, g), **kw)
    return [got[i][0].output for i in range(len(prompts))]


def test_cuda_generation_matches_cpu_and_batching(model_dirs):
    prompts = [CORPUS[i][: 10 + i] for i in range(8)]
    cpu = _gen(load_hf(str(model_dirs["base"]), device="cpu", dtype="float32"), prompts)
    gpu = load_hf(str(model_dirs["base"]), device="cuda", dtype="float32")
    assert _gen(gpu, prompts) == cpu
    assert _gen(gpu, prompts, batch_size=1) == cpu


def test_vllm_engine_generates(model_dirs, tmp_path):
    from tunecheck.models import ModelSpec
    from tunecheck.models._vllm import VLLMModel, vllm_available

    if not vllm_available():
        pytest.skip("vllm is not installed")
    model = VLLMModel(ModelSpec.parse(f"vllm:{model_dirs['base']}"), dtype="float32")
    hf = load_hf(str(model_dirs["base"]), device="cuda", dtype="float32")
    prompts = [CORPUS[i][:15] for i in range(4)]
    assert _gen(model, prompts) == _gen(hf, prompts)


def test_loaded_gives_the_gpu_memory_back_after_its_block(model_dirs):
    from tunecheck.models import SCORING, loaded

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    with loaded(str(model_dirs["base"]), SCORING, layer="perplexity", device="cuda", dtype="float32") as model:
        model.loglikelihood(_requests())
        held = torch.cuda.memory_allocated()
    torch.cuda.synchronize()
    # the caller still holds `model`, but closing it dropped the weights: only they were on the GPU
    assert held > before and torch.cuda.memory_allocated() == before
