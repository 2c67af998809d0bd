"""Log-likelihood through vLLM's offline engine: the prompt's own log-probabilities.

vLLM scores a prompt when asked for `SamplingParams(prompt_logprobs=0, max_tokens=1)`:
`RequestOutput.prompt_logprobs` has one entry per prompt token, None for the first (nothing
predicts it), else a dict token id -> Logprob(logprob, rank, decoded_token) holding at least the
prompt's own token (with prompt_logprobs=K, also the K most likely). vLLM's log-probabilities
are the model's raw distribution (`logprobs_mode="raw_logprobs"`, its default), as HFModel's.

The token ids are built exactly as HFModel builds them (`_hf.scored_sequence`, with vLLM's
Hugging Face tokenizer) and sent as ids, so context, continuation, `prefix` and `add_eos` mean
the same on both backends, and texts longer than the context are scored in the same windows
(models/_windows.py), one prompt per window.

Written from vLLM's documentation (SamplingParams, RequestOutput, Logprob); the conversion
below is tested on objects shaped like vLLM's, not against a real engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunecheck.errors import ModelError
from tunecheck.models._windows import Window


def window_prompt(ids: Sequence[int], window: Window) -> list[int]:
    """The prompt vLLM scores for one window: inputs a..b-1 and the last target b."""
    return list(ids[window.start : window.end + 1])


def window_logprobs(prompt_ids: Sequence[int], prompt_logprobs: Sequence[Mapping[int, Any] | None] | None, window: Window, sample: str) -> np.ndarray:
    """Log-probabilities of a window's scored targets s..b from vLLM's `prompt_logprobs` of
    `window_prompt` (entry j scores prompt token j given tokens 0..j-1)."""
    if prompt_logprobs is None or len(prompt_logprobs) != len(prompt_ids):
        got = "none" if prompt_logprobs is None else f"{len(prompt_logprobs)} entries for {len(prompt_ids)} tokens"
        raise ModelError(f"sample {sample}: vLLM returned no prompt log-probabilities for the prompt ({got}); is prompt_logprobs supported by this vLLM version?")
    out = []
    for j in range(window.score_from - window.start, window.end - window.start + 1):
        entry = prompt_logprobs[j]
        token = int(prompt_ids[j])
        hit = None if entry is None else entry.get(token)
        if hit is None:
            raise ModelError(f"sample {sample}: vLLM gave no log-probability for prompt token {token} at position {window.start + j}")
        out.append(float(hit.logprob if not isinstance(hit, (int, float)) else hit))
    return np.asarray(out, dtype=np.float64)
