"""Log-likelihood from OpenAI-compatible completion servers: the prompt's own log-probabilities.

A completion request with `echo` and `logprobs` (vLLM's server, and OpenAI's legacy completion
models) answers the prompt back with each prompt token's text, log-probability and character
offset. tunecheck sends `prompt = context + continuation` with `max_tokens=1` (vLLM, TGI and
most servers refuse 0; the one generated token is dropped: it starts at or after the end of
the prompt), and scores the tokens that hold at least one character of the continuation.

Unlike lm-evaluation-harness's API models (lm_eval/models/api_models.py, openai_completions.py),
which tokenise locally with the model's Hugging Face tokenizer, send token ids and cut at the
context's token count, tunecheck has no tokenizer for a served model: it cuts by characters.
A token that spans the boundary ("Answer:" + " Paris" merged, or "Answer: " + "Paris" whose
" Paris" starts inside the context) is scored with the continuation, the rule HFModel follows
(TRL's common prefix of the tokenised context and the whole text).

Servers return token texts, not ids: `TokenScores.token_ids` holds each token's id where the
server writes tokens as "token_id:N" (vLLM's `--return-tokens-as-token-ids`), else a stable
63-bit hash of the token's text, so two servers that tokenised a text alike compare alike (and a
server against local weights falls back to bits per byte, which no tokenizer changes).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunecheck.errors import ModelError
from tunecheck.models._protocol import LoglikelihoodRequest, TokenScores

_TOKEN_ID = re.compile(r"token_id:(\d+)")

CANNOT_SCORE = (
    "the server cannot score text: scoring needs /v1/completions to echo the prompt's log-probabilities "
    "(echo with logprobs), as vLLM's `vllm serve` does; OpenAI's chat models and many servers refuse or ignore it. "
    "Serve the model with vLLM, or pass the model's weights"
)
NO_PROMPT_LOGPROBS = "no log-probabilities of the prompt in the answer: " + CANNOT_SCORE


@dataclass(frozen=True)
class PromptToken:
    """One echoed token: its text, log-probability (None for the first, which nothing predicts)
    and character offset within the prompt."""

    text: str
    logprob: float | None
    offset: int


def echoed_tokens(prompt: str, logprobs: Any) -> list[PromptToken]:
    """The prompt's tokens from a completion choice's `logprobs` (tokens, token_logprobs,
    text_offset), with offsets into `prompt`.

    Servers count offsets from the start of the echoed text, which may begin with tokens the
    server's tokenizer added (vLLM echoes a BOS as "<s>", counted in the offsets): leading
    tokens without a log-probability whose text does not start the prompt are left out and the
    offsets shifted past them. Tokens from `max_tokens` generation (at or past the prompt's
    end) are left out. Raises ModelError (`NO_PROMPT_LOGPROBS`) when the answer has none."""
    tokens = _list(logprobs, "tokens")
    values = _list(logprobs, "token_logprobs")
    offsets = _list(logprobs, "text_offset")
    if not tokens or values is None or offsets is None or not (len(tokens) == len(values) == len(offsets)):
        raise ModelError(NO_PROMPT_LOGPROBS)
    if all(v is not None for v in values) and prompt not in "".join(map(str, tokens)):
        # every token has a log-probability, the first included, and they do not spell the
        # prompt: only generated tokens came back (a server that ignores echo)
        raise ModelError(NO_PROMPT_LOGPROBS)
    lead = 0
    while lead < len(tokens) and values[lead] is None and not (tokens[lead] and prompt.startswith(str(tokens[lead]))):
        lead += 1
    if lead == len(tokens):
        raise ModelError(NO_PROMPT_LOGPROBS)
    base = int(offsets[lead])
    out = []
    for text, value, offset in zip(tokens[lead:], values[lead:], offsets[lead:]):
        at = int(offset) - base
        if at >= len(prompt):
            break  # the generated token (max_tokens=1)
        out.append(PromptToken(str(text), None if value is None else float(value), at))
    if not out or out[-1].offset + len(out[-1].text) < len(prompt):
        raise ModelError(NO_PROMPT_LOGPROBS)  # the echoed tokens stop short of the prompt's end
    return out


def continuation_scores(req: LoglikelihoodRequest, tokens: Sequence[PromptToken], index: int) -> TokenScores:
    """The continuation's tokens of one request: those ending after the context (a token that
    spans the boundary counts with the continuation). `index` names the request in errors."""
    boundary = len(req.context)
    scored = [t for t in tokens if t.offset + max(1, len(t.text)) > boundary]
    if scored and scored[0].logprob is None:
        # the text's first token with nothing before it (no BOS from the server's tokenizer): no
        # prediction, not scored, as HFModel does for a text without a conditioning token
        scored = scored[1:]
    missing = next((t for t in scored if t.logprob is None), None)
    if missing is not None:
        raise ModelError(f"request {index}: the server gave no log-probability for the prompt token {missing.text!r} at character {missing.offset}")
    return TokenScores(
        np.array([t.logprob for t in scored], dtype=np.float64),
        np.array([token_id(t.text) for t in scored], dtype=np.int64),
    )


def token_id(text: str) -> int:
    """The id in "token_id:N" (vLLM's --return-tokens-as-token-ids), else a stable hash of the text."""
    match = _TOKEN_ID.fullmatch(text)
    if match:
        return int(match.group(1))
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") >> 1


def _list(obj: Any, name: str) -> list[Any] | None:
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return list(value) if isinstance(value, list) else None
