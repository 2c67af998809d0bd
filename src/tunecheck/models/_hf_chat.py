"""`HFModel.chat`: one chat request to a local Hugging Face model, so it can be a judge.

The messages are rendered with the tokenizer's chat template (a model without one is no judge),
decoded with `_hf_generate`'s pinned settings and stop ids, and, with `top_logprobs`, each
generated token's log-probability and its K most likely alternatives are reported in the OpenAI
backend's plain format. The log-probabilities are the model's own distribution (log-softmax of
the raw logits), before temperature or top-p, as OpenAI and vLLM report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunecheck.errors import ConfigError
from tunecheck.models import _hf_generate
from tunecheck.models._chat import (
    DEFAULT_MAX_TOKENS,
    ChatSettings,
    chat_settings,
    plain_logprobs,
    require_chat_template,
)
from tunecheck.models._protocol import ChatReply, GenerationParams

if TYPE_CHECKING:
    from tunecheck.models._hf import HFModel


def render_chat(name: str, tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> str:
    """The judge prompt as the model was trained to read a conversation, ready for its reply."""
    require_chat_template(name, tokenizer)
    conv = [{"role": m["role"], "content": m["content"]} for m in messages]
    try:
        return str(tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=True))
    except Exception as err:  # jinja's TemplateError, e.g. "System role not supported"
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ConfigError(f"{name}: its chat template refused the judge's messages ({first})") from None


def chat(hf: HFModel, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> ChatReply:
    """See `HFModel.chat`. The whole call holds the model's lock: one forward pass at a time, the
    global seed is this call's until it ends, and the fast tokenizer (whose state `__call__`
    changes) is not shared between threads."""
    settings = chat_settings(params)
    with hf.lock:
        return _chat(hf, messages, settings)


def _chat(hf: HFModel, messages: Sequence[Mapping[str, str]], settings: ChatSettings) -> ChatReply:
    prompt = hf.with_bos(hf.encode(render_chat(hf.name, hf.tokenizer, messages)))
    room = hf.context_length - len(prompt)
    if room < 1:
        raise ConfigError(
            f"{hf.name}: the judge prompt is {len(prompt)} tokens, which fills its context of "
            f"{hf.context_length}; use a judge with a longer context or shorter answers"
        )
    gen = GenerationParams(
        max_new_tokens=min(settings.max_tokens or DEFAULT_MAX_TOKENS, room),
        temperature=settings.temperature,
        top_p=settings.top_p,
        seed=settings.seed,
        stop=settings.stop,
    )
    new, logits = _generate(hf, prompt, gen, want_logits=settings.top_logprobs is not None)
    stops = set(_hf_generate.stop_ids(hf))
    done = _hf_generate.finish(hf, new, len(prompt), gen, stops, 0.0)
    extras: dict[str, Any] = {"finish_reason": done.finish_reason}
    if settings.top_logprobs is not None:
        extras["logprobs"] = _logprobs(hf, prompt, new, logits, done.output, settings.top_logprobs)
    return ChatReply(done.output, extras, len(prompt), done.output_tokens)


def _generate(hf: HFModel, prompt: list[int], params: GenerationParams, *, want_logits: bool) -> tuple[list[int], Any]:
    """New token ids, and the raw logits of each step (one row per new token) or None."""
    import torch

    config = _hf_generate.generation_config(hf, params)
    config.update(return_dict_in_generate=True, output_logits=want_logits, output_scores=False)
    device = hf.model.device
    ids = torch.tensor([prompt], dtype=torch.long, device=device)
    extra = {"tokenizer": hf.tokenizer} if params.stop else {}
    with torch.inference_mode():
        if not params.greedy:
            torch.manual_seed(params.seed)
        out = hf.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config, **extra)
    new = out.sequences[0, len(prompt) :].tolist()
    logits = torch.cat([step[:1].float() for step in out.logits]).cpu() if want_logits else None
    return new, logits


def _logprobs(hf: HFModel, prompt: list[int], new: list[int], logits: Any, text: str, k: int) -> list[dict[str, Any]]:
    """The plain format (`_chat.plain_logprobs`) from the raw logits of each step."""
    import torch

    logp = torch.log_softmax(logits.double(), dim=-1)
    rows = []
    for i, t in enumerate(new[: logp.shape[0]]):
        values, ids = torch.topk(logp[i], k) if k else (logp[i][:0], logp[i][:0].long())
        rows.append((float(logp[i, t]), list(zip(ids.tolist(), values.tolist()))))
    return plain_logprobs(hf.decode, prompt[-4:], new[: len(rows)], text, rows)
