"""What the weight-holding backends (Hugging Face, vLLM) share for `ChatModel.chat`: the params
contract of `OpenAIModel.chat`, checked once, and token texts that spell the reply exactly.

A judge's G-Eval score (`judge._geval`) walks the reply's tokens to character offsets, so the
tokens' texts must join to the reply's text: a byte-level BPE token that ends inside a multi-byte
character gets "" and the token that completes it the whole character, as vLLM's incremental
detokenizer does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunecheck.errors import ConfigError
from tunecheck.models._openai import CHAT_PARAMS

DEFAULT_MAX_TOKENS = 512
"""Reply length when `max_tokens` is not given (a rubric answer is a few hundred tokens); it is
capped to what the model's context leaves after the prompt."""


@dataclass(frozen=True)
class ChatSettings:
    """`chat`'s params, checked: the OpenAI names and defaults (temperature 0 is greedy)."""

    temperature: float = 0.0
    max_tokens: int | None = None
    top_p: float = 1.0
    seed: int = 0
    """Seeds sampling, so a sampled call gives the same reply every time."""
    stop: tuple[str, ...] = ()
    top_logprobs: int | None = None
    """K: the K most likely tokens at each generated position; None asks for no log-probabilities."""


def chat_settings(params: Mapping[str, Any]) -> ChatSettings:
    """`params` as ChatSettings; what no backend understands, or a value out of range, is the
    caller's mistake: a one-line ConfigError naming the param."""
    unknown = sorted(set(params) - CHAT_PARAMS)
    if unknown:
        raise ConfigError(f"chat params {', '.join(unknown)}: not understood (use {', '.join(sorted(CHAT_PARAMS))})")

    def number(name: str, default: float) -> float:
        value = params.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"chat param {name}: must be a number, got {value!r}")
        return float(value)

    def integer(name: str) -> int | None:
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"chat param {name}: must be an integer, got {value!r}")
        return value

    temperature = number("temperature", 0.0)
    if temperature < 0:
        raise ConfigError(f"chat param temperature {temperature:g}: must be 0 (greedy) or more")
    top_p = number("top_p", 1.0)
    if not 0 < top_p <= 1:
        raise ConfigError(f"chat param top_p {top_p:g}: must be in (0, 1]")
    max_tokens = integer("max_tokens")
    if max_tokens is not None and max_tokens < 1:
        raise ConfigError(f"chat param max_tokens {max_tokens}: must be at least 1")
    k = integer("top_logprobs")
    if k is not None and not 0 <= k <= 20:
        raise ConfigError(f"chat param top_logprobs {k}: must be from 0 to 20 (as the OpenAI API takes it)")
    raw_stop = params.get("stop") or ()
    stop = (raw_stop,) if isinstance(raw_stop, str) else tuple(raw_stop)
    if any(not isinstance(s, str) or not s for s in stop):
        raise ConfigError(f"chat param stop {raw_stop!r}: must be non-empty texts")
    return ChatSettings(temperature, max_tokens, top_p, integer("seed") or 0, stop, k)


def spell(decode: Callable[[Sequence[int]], str], ids: Sequence[int], text: str) -> list[str]:
    """Each token's share of `text` (the decoded, possibly cut reply), so the shares join to it.

    Token i's share ends where the text decoded from the first i+1 tokens stops agreeing with
    `text`: a token that ends inside a character (the decoded prefix ends in U+FFFD) gets "",
    and tokens after a stop string's cut get "" too (the caller drops them)."""
    ends: list[int] = []
    at = 0
    for i in range(len(ids)):
        so_far = decode(ids[: i + 1])
        n = 0
        for a, b in zip(so_far, text):
            if a != b:
                break
            n += 1
        at = max(at, n)
        ends.append(at)
    if ends:
        ends[-1] = len(text)
    starts = [0, *ends[:-1]]
    return [text[s:e] for s, e in zip(starts, ends)]


Decode = Callable[[Sequence[int]], str]
"""Token ids -> text, special tokens left out (the reply's text is decoded so)."""


def plain_logprobs(
    decode: Decode, before: Sequence[int], new: Sequence[int], text: str, rows: Sequence[tuple[float, Sequence[tuple[int, float]]]]
) -> list[dict[str, Any]]:
    """The OpenAI backend's plain format (`OpenAIModel.chat`) from token ids: one {token,
    logprob, top: [{token, logprob}, ...]} per token of the reply's `text`.

    `before`: the prompt's last token ids (context for the first alternatives); `new`: the
    generated ids; `rows[i]`: token i's log-probability and its top alternatives as (id,
    log-probability), most likely first. The stop token and tokens past a stop string, which
    add nothing to `text`, are left out, as OpenAI leaves them out."""
    shares = spell(decode, new, text)
    while shares and not shares[-1]:
        shares.pop()
    ids = [*before, *new]
    out = []
    for i, share in enumerate(shares):
        at = len(before) + i
        context = ids[max(0, at - 4) : at]
        logprob, top = rows[i]
        out.append({
            "token": share,
            "logprob": float(logprob),
            "top": [{"token": alternative(decode, context, t), "logprob": float(lp)} for t, lp in top],
        })
    return out


def alternative(decode: Decode, context: Sequence[int], token: int) -> str:
    """A candidate token's text where it would stand: decoded after a few tokens of context, so
    a SentencePiece word start keeps its space ("▁4" reads " 4")."""
    before = decode(context)
    after = decode([*context, token])
    return after[len(before) :] if after.startswith(before) else decode([token])


def require_chat_template(name: str, tokenizer: Any) -> None:
    """A judge reads a conversation: a model whose tokenizer has no chat template is none."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"{name} has no chat template; a judge must be a chat/instruct model "
            "(one whose tokenizer has a chat template), e.g. an -Instruct or -chat checkpoint"
        )
