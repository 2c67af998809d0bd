"""The Hugging Face backend on real (tiny) Llama models saved the way users have them."""

import numpy as np
import pytest
import torch

from tests.conftest import CORPUS
from tests.models.test_spec import gguf as gguf_file
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models import HFModel, LoglikelihoodRequest, pick_dtype
from tunecheck.models._hf_load import load_hf


def _mixed_requests():
    # lengths from 1 word to several windows of 32 tokens: padding bugs hide in mixed batches
    texts = [CORPUS[0].split()[0], *CORPUS[:5], " ".join(CORPUS[:8]), " ".join(CORPUS[3:6]), "the"]
    return [LoglikelihoodRequest("", t) for t in texts] + [LoglikelihoodRequest("the red fox ", "walks to the hill", add_eos=True)]


@pytest.mark.parametrize(("max_length", "stride"), [(32, None), (32, 8), (128, None)])
def test_batch_size_never_changes_the_numbers(tiny_model, tokenizer, max_length, stride):
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    reqs = _mixed_requests()
    one = model.loglikelihood(reqs, max_length=max_length, stride=stride, batch_size=1)
    for bs in (3, 64, None):
        many = model.loglikelihood(reqs, max_length=max_length, stride=stride, batch_size=bs)
        for a, b in zip(one, many):
            assert a.n_tokens == b.n_tokens
            np.testing.assert_allclose(b.logprobs, a.logprobs, rtol=1e-5, atol=1e-5)


def test_window_covering_the_text_equals_one_forward(tiny_model, tokenizer):
    # reference: one forward over BOS + tokens with the model called directly
    text = " ".join(CORPUS[:3])
    ids = [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]
    with torch.inference_mode():
        logits = tiny_model(input_ids=torch.tensor([ids])).logits[0].double()
    ref = torch.log_softmax(logits, -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].numpy()
    [got] = HFModel(tiny_model, tokenizer, "tiny", "cpu").loglikelihood([LoglikelihoodRequest("", text)], max_length=128)
    np.testing.assert_allclose(got.logprobs, ref, rtol=1e-5, atol=1e-5)


def test_stride_reference_loop(tiny_model, tokenizer):
    # independent reference for max_length 16, stride 4: token t (1-based after BOS) is predicted
    # from the inputs of its window; rebuild each window by hand and compare every token
    text = " ".join(CORPUS[:4])
    ids = [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]
    L, S = 16, 4
    expected = {}
    # first window: inputs 0..15 score 1..16; then each scores the next 4 with the 12 inputs
    # before its own as context
    b = min(len(ids) - 1, L)
    windows = [(0, b, 1)]
    while b < len(ids) - 1:
        s, b = b + 1, min(len(ids) - 1, b + S)
        windows.append((max(0, s - 1 - (L - S)), b, s))
    with torch.inference_mode():
        for a, end, s in windows:
            lp = torch.log_softmax(tiny_model(input_ids=torch.tensor([ids[a:end]])).logits[0].double(), -1)
            for t in range(s, end + 1):
                expected[t] = lp[t - 1 - a, ids[t]].item()
    [got] = HFModel(tiny_model, tokenizer, "tiny", "cpu").loglikelihood(
        [LoglikelihoodRequest("", text)], max_length=L, stride=S, windows="fixed"
    )
    np.testing.assert_allclose(got.logprobs, [expected[t] for t in range(1, len(ids))], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("max_length", [16, 24])
def test_long_text_scores_as_lm_evaluation_harness(tiny_model, tokenizer, max_length):
    # reference: lm-evaluation-harness's rolling windows (HFLM.loglikelihood_rolling: its
    # get_rolling_token_windows with context_len 1, then make_disjoint_window), each fed to the
    # model as _loglikelihood_tokens does: (context + continuation)[-(max_length + 1):][:-1],
    # scoring the last len(continuation) positions
    from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

    text = " ".join(CORPUS[:5])
    tokens = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(tokens) % max_length not in (0, 1)  # the last window is partial: where refilling shows
    total = 0.0
    with torch.inference_mode():
        for context, pred in map(make_disjoint_window, get_rolling_token_windows(tokens, tokenizer.bos_token_id, max_length, 1)):
            inputs = (context + pred)[-(max_length + 1) :][:-1]
            lp = torch.log_softmax(tiny_model(input_ids=torch.tensor([inputs])).logits[0].double(), -1)
            total -= sum(lp[len(inputs) - len(pred) + k, t].item() for k, t in enumerate(pred))
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    [got] = model.loglikelihood([LoglikelihoodRequest("", text)], max_length=max_length)
    assert got.n_tokens == len(tokens)
    assert got.nll == pytest.approx(total, rel=1e-6)
    # the fixed windows give the last window less context, and another number
    [fixed] = model.loglikelihood([LoglikelihoodRequest("", text)], max_length=max_length, windows="fixed")
    assert abs(fixed.nll - total) > 1e-4


def test_load_full_model_dir(model_dirs, tokenizer):
    model = load_hf(str(model_dirs["base"]), device="cpu")
    assert model.context_length == 128
    assert model.model.dtype == torch.float32
    # hidden 32, 2 layers, MLP 128: per layer q/k/v/o 4 * 32 * 32 + gate/up/down 3 * 32 * 128
    # + two norms 2 * 32 = 16,448; final norm 32; embeddings V * 32, tied with the LM head so
    # counted once (2 * V * 32 if the head were counted again)
    assert model.identity()["parameters"] == 2 * 16_448 + 32 + len(tokenizer) * 32
    assert model.chat_renderer() is not None


def test_adapter_is_loaded_on_its_base(model_dirs, tokenizer):
    # the adapter must change the scores (random LoRA B), and match peft's own unmerged model
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    req = [LoglikelihoodRequest("", CORPUS[7])]
    base = load_hf(str(model_dirs["base"]), device="cpu").loglikelihood(req)[0]
    tuned = load_hf(str(model_dirs["adapter"]), device="cpu")
    got = tuned.loglikelihood(req)[0]
    assert abs(got.nll - base.nll) > 1e-3
    ref_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(model_dirs["base"])), str(model_dirs["adapter"]))
    ref = HFModel(ref_model.eval(), tokenizer, "ref", "cpu").loglikelihood(req)[0]
    np.testing.assert_allclose(got.logprobs, ref.logprobs, rtol=1e-4, atol=1e-4)


def test_adapter_with_missing_base(model_dirs, tmp_path):
    import json
    import shutil

    moved = tmp_path / "adapter"
    shutil.copytree(model_dirs["adapter"], moved)
    cfg = json.loads((moved / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "/home/someone/models/base"
    (moved / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=r"base=PATH_OR_HUB_ID"):
        load_hf(str(moved), device="cpu")
    # the fix the message suggests works
    fixed = load_hf(f"{moved},base={model_dirs['base']}", device="cpu")
    assert fixed.name == str(moved)


def test_unloadable_hub_id_is_a_model_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError) as info:
        load_hf("nobody-xyz/not-a-model", device="cpu")
    assert str(info.value).startswith("nobody-xyz/not-a-model: not a local folder and the hub cannot be reached: HF_HUB_OFFLINE is set")


@pytest.mark.parametrize("offline", [{"HF_HUB_OFFLINE": "1"}, {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}])
def test_unknown_hub_id_without_network_is_one_line_at_once(tmp_path, offline):
    # Before: without HF_HUB_OFFLINE, huggingface_hub retried for ~50 s and printed every retry
    # (here a proxy on the discard port refuses every connection, as no network does).
    import os
    import subprocess
    import sys

    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "hello"}\n')
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("HF_HUB_OFFLINE", "HTTP", "NO_PROXY"))}
    env.update(offline, HF_HOME=str(tmp_path / "hf"), PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run(
        [sys.executable, "-m", "tunecheck", "perplexity", "--model", "nobody-xyz/not-a-model", "--data", str(data)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: nobody-xyz/not-a-model: not a local folder and the hub cannot be reached: ")


def test_model_folder_without_tokenizer_is_named(model_dirs, tmp_path):
    import shutil

    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(model_dirs["base"] / name, folder / name)
    # before: "could not load the tokenizer ... (Couldn't instantiate the backend tokenizer ...)"
    with pytest.raises(ModelError, match=rf"^{folder}: no tokenizer files .* tokenizer.save_pretrained\('{folder}'\)"):
        load_hf(str(folder), device="cpu")


def test_adapter_without_weights_is_named(model_dirs, tmp_path):
    import shutil

    moved = tmp_path / "adapter"
    shutil.copytree(model_dirs["adapter"], moved)
    (moved / "adapter_model.safetensors").unlink()
    with pytest.raises(ModelError, match=rf"^adapter {moved}: has adapter_config.json but no adapter weights"):
        load_hf(str(moved), device="cpu")


def test_gguf_without_the_gguf_package_gives_the_install_hint(tmp_path, monkeypatch):
    import sys

    f = gguf_file(tmp_path / "m.gguf", "llama")
    monkeypatch.setitem(sys.modules, "gguf", None)  # `import gguf` raises ImportError
    with pytest.raises(ModelError) as info:
        load_hf(str(f), device="cpu")
    assert str(info.value) == f'{f}: reading GGUF files needs the gguf package: pip install "tunecheck[gguf]"'


def test_gguf_of_an_architecture_transformers_cannot_read(tmp_path):
    import transformers

    f = gguf_file(tmp_path / "m.gguf", "rwkv7")
    with pytest.raises(ModelError) as info:
        load_hf(f"{f},name=ft", device="cpu")
    assert str(info.value).startswith(f"ft ({f}): transformers {transformers.__version__} cannot read 'rwkv7' models from GGUF; ")


def test_dtype_choice():
    assert pick_dtype("auto", "cpu") == torch.float32
    assert pick_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(ConfigError, match="--dtype"):
        pick_dtype("int3", "cpu")


def test_max_length_beyond_context_is_rejected(tiny_model, tokenizer):
    with pytest.raises(ConfigError, match="exceeds tiny's context of 128"):
        HFModel(tiny_model, tokenizer, "tiny", "cpu").loglikelihood([LoglikelihoodRequest("", "the")], max_length=129)


class _OOMAboveTwoRows(torch.nn.Module):
    """Wraps a model and runs out of memory on batches of more than two rows, as a GPU would."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.config = inner.config
        self.batches = []

    @property
    def device(self):
        return self.inner.device

    def forward(self, input_ids, attention_mask=None, **kw):
        self.batches.append(input_ids.shape[0])
        if input_ids.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner(input_ids=input_ids, attention_mask=attention_mask)


def test_out_of_memory_halves_the_batch_and_keeps_the_numbers(tiny_model, tokenizer):
    reqs = [LoglikelihoodRequest("", t) for t in CORPUS[:6]]
    ref = HFModel(tiny_model, tokenizer, "tiny", "cpu").loglikelihood(reqs, batch_size=1)
    flaky = _OOMAboveTwoRows(tiny_model)
    got = HFModel(flaky, tokenizer, "tiny", "cpu").loglikelihood(reqs, batch_size=8)
    # 6 windows at batch size 8: 6 rows run out of memory, halved to 4 still do, 2 fit and stay
    assert flaky.batches == [6, 4, 2, 2, 2]
    for a, b in zip(ref, got):
        np.testing.assert_allclose(b.logprobs, a.logprobs, rtol=1e-5, atol=1e-5)


def test_out_of_memory_on_one_window_is_a_clear_error(tiny_model, tokenizer):
    class AlwaysOOM(_OOMAboveTwoRows):
        def forward(self, input_ids, attention_mask=None, **kw):
            raise torch.OutOfMemoryError("simulated")

    with pytest.raises(ModelError, match="out of memory on one window"):
        HFModel(AlwaysOOM(tiny_model), tokenizer, "tiny", "cpu").loglikelihood([LoglikelihoodRequest("", "the")])
