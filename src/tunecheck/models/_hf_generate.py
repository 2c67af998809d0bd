"""Batched decoding for `HFModel`: tunecheck's decoding settings pinned over the model's own,
left-padded batches sized to the memory, halved on out-of-memory.

`HFModel.generate` (text outputs) and `HFModel.continue_ids` (token ids, for extraction) both
run on `run_batches`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tunecheck import _progress
from tunecheck._progress import Progress
from tunecheck.errors import ModelError
from tunecheck.models._protocol import Generation, GenerationParams

if TYPE_CHECKING:
    from tunecheck.models._hf import HFModel

# Prompts per generation batch on the CPU (benchmarks/generation.py: batch 16 is ~6x one-at-a-time).
_CPU_GEN_BATCH = 16
_MAX_GEN_BATCH = 256

OnRows = Callable[[int, list[list[int]], float], None]
"""Called with (prompt index, its new token rows, seconds its batch took)."""


def stop_ids(hf: HFModel) -> list[int]:
    """EOS ids of the model's generation config and of the tokenizer (end-of-turn ids included)."""
    ids: set[int] = set()
    for source in (getattr(hf.model, "generation_config", None), hf.tokenizer):
        value = getattr(source, "eos_token_id", None)
        ids.update(value if isinstance(value, list) else [value] if isinstance(value, int) else [])
    return sorted(ids)


def pad_id(tokenizer: Any) -> int:
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if value is not None:
            return int(value)
    return 0  # pragma: no cover


def trim(new: Sequence[int], stops: set[int], pad: int) -> list[int]:
    """New tokens up to and including the first stop token; without one, trailing padding off
    (a row that stopped on a stop string is padded to the batch's length)."""
    end = next((k for k, t in enumerate(new) if t in stops), None)
    if end is not None:
        return list(new[: end + 1])
    tokens = list(new)
    while tokens and tokens[-1] == pad:
        tokens.pop()
    return tokens


def generation_config(hf: HFModel, params: GenerationParams) -> Any:
    from transformers import GenerationConfig

    base = getattr(hf.model, "generation_config", None)
    config = copy.deepcopy(base) if base is not None else GenerationConfig()
    # The model's own decoding defaults (top_k=50, temperature=0.6, num_beams=4,
    # no_repeat_ngram_size=3, ...) would silently change what "greedy" or "temperature 0.7,
    # top-p 0.9" means; tunecheck's settings are the whole story. `generate` fills every
    # option left at None from the model's generation_config, so options that change the
    # decoding are pinned to their neutral values, not cleared.
    config.update(
        max_new_tokens=params.max_new_tokens,
        do_sample=not params.greedy,
        num_return_sequences=params.n,
        temperature=None if params.greedy else params.temperature,
        top_p=None if params.greedy else params.top_p,
        top_k=0,  # None would be refilled from the model's config (often 50); 0 turns top-k off
        min_p=None if params.greedy else 0.0,  # sampling only; 0 keeps every token
        typical_p=1.0,
        epsilon_cutoff=0.0,
        eta_cutoff=0.0,
        # one beam, no groups: plain greedy search or sampling, not beam search
        num_beams=1,
        num_beam_groups=1,
        diversity_penalty=0.0,
        length_penalty=1.0,
        early_stopping=False,
        penalty_alpha=0.0,  # > 0 with top_k > 1 would be contrastive search
        no_repeat_ngram_size=0,
        encoder_no_repeat_ngram_size=0,
        repetition_penalty=1.0,
        encoder_repetition_penalty=1.0,
        renormalize_logits=False,
        # min_new_tokens takes precedence over min_length (which may come from the model):
        # 0 forbids nothing, so the stop token may come at any step
        min_length=None,
        min_new_tokens=0,
        max_length=None,
        eos_token_id=stop_ids(hf) or None,
        pad_token_id=pad_id(hf.tokenizer),
        stop_strings=list(params.stop) or None,
    )
    return config


def _batch_size(hf: HFModel, longest: int, params: GenerationParams) -> int:
    """Prompts per batch: fixed on the CPU; on a GPU, what the KV cache lets fit in half the
    free memory."""
    if not hf.device.startswith("cuda"):
        return _CPU_GEN_BATCH
    import torch

    config = hf.model.config
    layers = int(getattr(config, "num_hidden_layers", 32) or 32)
    heads = int(getattr(config, "num_attention_heads", 32) or 32)
    kv_heads = int(getattr(config, "num_key_value_heads", heads) or heads)
    head_dim = int(getattr(config, "head_dim", 0) or int(getattr(config, "hidden_size", 4096)) // heads)
    per_token = 2 * layers * kv_heads * head_dim * hf.model.dtype.itemsize
    free, _ = torch.cuda.mem_get_info()
    fits = int(free * 0.5) // max(1, per_token * (longest + params.max_new_tokens) * params.n)
    return int(min(_MAX_GEN_BATCH, max(1, fits)))


def run_batches(
    hf: HFModel,
    prompts: list[list[int]],
    params: GenerationParams,
    on_rows: OnRows,
    *,
    batch_size: int | None,
    progress: Progress | None,
    desc: str,
) -> None:
    """Left-padded batches sorted by length (longest first, so memory errors show at once),
    halved on out-of-memory; each prompt's new token rows go to `on_rows`."""
    import torch

    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
    config = generation_config(hf, params)
    task = _progress.start(progress, desc, len(prompts), "prompts")
    if not params.greedy:
        torch.manual_seed(params.seed)
    size = batch_size or (_batch_size(hf, len(prompts[order[0]]), params) if order else 1)
    pos = 0
    with torch.inference_mode():
        while pos < len(order):
            batch = order[pos : pos + size]
            started = time.perf_counter()
            try:
                sequences, width = _generate_batch(hf, [prompts[i] for i in batch], config, params)
            except torch.OutOfMemoryError:
                if size == 1:
                    raise ModelError(
                        f"{hf.name}: out of memory generating one prompt; lower --max-new-tokens or use a smaller --dtype"
                    ) from None
                if hf.device.startswith("cuda"):
                    torch.cuda.empty_cache()
                size = max(1, size // 2)
                continue
            elapsed = time.perf_counter() - started
            for k, i in enumerate(batch):
                rows = sequences[k * params.n : (k + 1) * params.n]
                on_rows(i, [row[width:] for row in rows], elapsed)
                task.advance(1)
            pos += len(batch)


def _generate_batch(hf: HFModel, prompts: Sequence[list[int]], config: Any, params: GenerationParams) -> tuple[list[list[int]], int]:
    import torch

    width = max(len(p) for p in prompts)
    pad = pad_id(hf.tokenizer)
    input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for r, ids in enumerate(prompts):  # left padding: every prompt ends where generation starts
        input_ids[r, width - len(ids) :] = torch.tensor(ids)
        mask[r, width - len(ids) :] = 1
    device = hf.model.device
    extra = {"tokenizer": hf.tokenizer} if params.stop else {}
    out = hf.model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device), generation_config=config, **extra)
    return out.cpu().tolist(), width


def finish(hf: HFModel, new: list[int], prompt_tokens: int, params: GenerationParams, stops: set[int], elapsed: float) -> Generation:
    """One output as text, cut before the first stop string, with its finish reason."""
    tokens = trim(new, stops, pad_id(hf.tokenizer))
    stopped = bool(tokens) and tokens[-1] in stops
    text = hf.tokenizer.decode(tokens, skip_special_tokens=True)
    cut = min((at for at in (text.find(s) for s in params.stop) if at >= 0), default=-1)
    if cut >= 0:
        text = text[:cut]
    # HF also stops on a stop string that began in the prompt; any stop before the limit is "stop"
    reason = "length" if not stopped and cut < 0 and len(tokens) >= params.max_new_tokens else "stop"
    return Generation(text, reason, prompt_tokens, len(tokens), elapsed)
