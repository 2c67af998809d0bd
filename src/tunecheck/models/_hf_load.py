"""Loading Hugging Face causal LMs: device and dtype, local dir / hub id / PEFT adapter / GGUF.

Everything here runs once per model; scoring and generation are in `_hf.py` and `_hf_generate.py`.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from tunecheck.errors import ConfigError, ModelError
from tunecheck.models import _gguf
from tunecheck.models._hf import HFModel
from tunecheck.models._spec import ModelSpec, check_files, check_hub, resolve

DTYPES = ("auto", "float32", "bfloat16", "float16")
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16", "float": "float32"}


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: CUDA is not available on this machine (use --device cpu)")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str, device: str) -> Any:
    """`auto` is bf16 on GPUs that support it (fp16 otherwise) and fp32 on the CPU, where
    half precision is slow and perplexity should be exact."""
    import torch

    name = _ALIASES.get(dtype, dtype)
    if name not in DTYPES:
        raise ConfigError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32
    return getattr(torch, name)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def load_hf(spec: str | ModelSpec, *, dtype: str = "auto", device: str = "auto") -> HFModel:
    """Load a causal LM from a local dir, hub id, GGUF file or PEFT adapter dir (merged onto its
    base). `models.open_model` dispatches "hf" specs here."""
    spec = ModelSpec.parse(spec)
    where = resolve(spec)
    dev = pick_device(device)
    torch_dtype = pick_dtype(spec.dtype or dtype, dev)
    check_files(where)
    for location in dict.fromkeys((where.tokenizer, where.model)):
        check_hub(location, spec.revision)
    if where.gguf:
        _gguf.require_gguf(spec.display_name)
    quiet_transformers()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok_file = {"gguf_file": where.tokenizer_gguf} if where.tokenizer_gguf else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(where.tokenizer, revision=spec.revision, **tok_file)
    except Exception as err:  # transformers raises OSError, ValueError, ... for the same cause
        if where.gguf and _gguf.unsupported(err):
            raise ModelError(_gguf.unsupported_message(spec.display_name, Path(where.gguf))) from None
        raise ModelError(f"{spec.display_name}: could not load the tokenizer from {where.tokenizer} ({_first_line(err)})") from None
    # GGUF: transformers dequantises every tensor to `dtype` (it keeps a GGUF "quantizer" on the
    # model, which only refuses save_pretrained); scoring and generation see a plain model.
    model_file = {"gguf_file": Path(where.gguf).name} if where.gguf else {}
    try:
        with _gguf.quiet_dequantising():
            model = AutoModelForCausalLM.from_pretrained(where.model, dtype=torch_dtype, revision=spec.revision, **model_file)
    except Exception as err:
        if where.gguf and _gguf.unsupported(err):
            raise ModelError(_gguf.unsupported_message(spec.display_name, Path(where.gguf))) from None
        what = where.gguf or where.model
        what = f"base model {what} of adapter {where.adapter}" if where.adapter else what
        hint = "; if it is a hub id, check it and that you are online" if not os.path.isdir(where.model) else ""
        raise ModelError(f"{spec.display_name}: could not load {what} ({_first_line(err)}){hint}") from None
    if where.adapter:
        model = _apply_adapter(model, tokenizer, where.adapter, spec.display_name)
    model.to(dev)  # type: ignore[arg-type]
    model.eval()
    return HFModel(model, tokenizer, spec.display_name, dev, spec, where.gguf)


def _apply_adapter(model: Any, tokenizer: Any, adapter: str, name: str) -> Any:
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        raise ModelError(f"{name}: loading a PEFT adapter needs `pip install peft`") from None
    # Fine-tunes that added tokens save a larger tokenizer; the base embeddings must match it.
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    with warnings.catch_warnings():  # transformers 5 deprecations raised inside peft
        warnings.simplefilter("ignore", FutureWarning)
        try:
            peft_model = PeftModel.from_pretrained(model, adapter)
        except Exception as err:
            raise ModelError(f"{name}: could not apply adapter {adapter} ({_first_line(err)})") from None
        # Merging makes scoring as fast as a full model; the numbers are the adapter's either way.
        return peft_model.merge_and_unload()


def quiet_transformers() -> None:
    """transformers' and peft's own logging and progress bars off: tunecheck reports progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # tunecheck draws its own progress
    logging.getLogger("peft").setLevel(logging.ERROR)
