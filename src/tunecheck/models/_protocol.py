"""The backend protocol: what the evaluation layers may ask of a model.

As in lm-evaluation-harness, requests are split by kind. Log-likelihood of a continuation given
a context serves perplexity (context "" means: score the whole text from BOS), completion-only
loss, memorisation and multiple-choice benchmarks. Generation arrives with its own layer.
Hugging Face models implement it today; OpenAI-compatible servers and vLLM slot in beside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from tunecheck._progress import Progress
from tunecheck.models._prompt import ChatRenderer


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Score `continuation` given `context`; only continuation tokens count."""

    context: str
    """Conditioning text, not scored. "" scores the continuation from the BOS token."""
    continuation: str
    add_eos: bool = False
    """Also score the EOS token after the continuation (SFT recipes train on it)."""


@dataclass(frozen=True)
class TokenScores:
    """Per-token results for one request, in text order."""

    logprobs: np.ndarray
    """Natural-log probability of each scored token (float64)."""
    token_ids: np.ndarray
    """The scored tokens' ids, so callers can check two models tokenised alike."""

    @property
    def nll(self) -> float:
        return float(-self.logprobs.sum())

    @property
    def n_tokens(self) -> int:
        return int(self.logprobs.size)


@runtime_checkable
class LogLikelihoodModel(Protocol):
    """A model that can score text. Implementations batch internally and must give the same
    numbers whatever the batch size."""

    name: str
    """Display name used in results."""
    @property
    def context_length(self) -> int:
        """Longest input the model takes in one forward pass."""
        ...

    def loglikelihood(
        self,
        requests: Sequence[LoglikelihoodRequest],
        *,
        max_length: int | None = None,
        stride: int | None = None,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> list[TokenScores]:
        """Score each request; texts longer than `max_length` are scored in windows that advance
        by `stride` tokens, every token exactly once."""
        ...

    def chat_renderer(self) -> ChatRenderer | None:
        """The tokenizer's chat template as a function, or None if it has none."""
        ...
