"""The backend protocol: what the evaluation layers may ask of a model.

As in lm-evaluation-harness, requests are split by kind. Log-likelihood of a continuation given
a context serves perplexity (context "" means: score the whole text from BOS), completion-only
loss, memorisation and multiple-choice benchmarks. Generation takes prompts (text, or chat
messages for chat endpoints) and reports each result as soon as it is done, so callers can
write it to disk and a killed run loses nothing. Every backend implements both (OpenAI-compatible
servers score only where they echo the prompt's log-probabilities, as vLLM's server does). Every backend also answers one chat
request (`ChatModel`: messages in, one reply with optional token log-probabilities out), so any
generating model can be a judge. Token-level operations (greedy
continuation of exact token ids, for extraction) are a protocol of their own, `TokenModel`,
which only backends that hold the weights implement. Every backend is a `Model`: a name, an
identity for the results, and `close()` to let its memory go.

A layer asks for the protocol it needs, never for a concrete backend class; a model that lacks
it is refused by `require` with one line naming its backend and what to use instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable

import numpy as np

from tunecheck._progress import Progress
from tunecheck.data import Message
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models._prompt import ChatRenderer


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Score `continuation` given `context`; only continuation tokens count."""

    context: str
    """Conditioning text, not scored. "" scores the continuation from the BOS token."""
    continuation: str
    add_eos: bool = False
    """Also score the EOS token after the continuation (SFT recipes train on it)."""
    prefix: str = "bos"
    """What comes before the text's own tokens. "bos": a conditioning token (BOS, else EOS)
    unless the text starts with it, so the first token is scored too (lm-evaluation-harness's
    perplexity). "tokenizer": what `tokenizer(text)` adds itself, as training tokenised a
    plain-text prompt + completion (TRL; nothing for tokenizers that add no BOS). "none": the
    text's tokens as they are, as TRL tokenises a chat template's text (which writes its own
    BOS). Without a first token to condition on, the first token is not scored, as in training."""


@dataclass(frozen=True)
class TokenScores:
    """Per-token results for one request, in text order."""

    logprobs: np.ndarray
    """Natural-log probability of each scored token (float64)."""
    token_ids: np.ndarray
    """The scored tokens' ids, so callers can check two models tokenised alike. From an
    OpenAI-compatible server, which sends token texts: vLLM's ids where it sends "token_id:N",
    else a stable 63-bit hash of each token's text (equal texts, equal values; never an id
    to decode)."""

    @property
    def nll(self) -> float:
        return float(-self.logprobs.sum())

    @property
    def n_tokens(self) -> int:
        return int(self.logprobs.size)


@runtime_checkable
class Model(Protocol):
    """What every backend has."""

    name: str
    """Display name used in results."""

    def identity(self) -> dict[str, Any]:
        """What results record about the model (name, location, ...; `backend` for non-HF ones)."""
        ...

    def chat_renderer(self) -> ChatRenderer | None:
        """The chat template as a function; None if the model has none or the server applies it."""
        ...

    def close(self) -> None:
        """Let go of the weights or connections; `models.loaded` calls it on what it opened."""
        ...


@runtime_checkable
class LogLikelihoodModel(Model, Protocol):
    """A model that can score text. Implementations batch internally and must give the same
    numbers whatever the batch size."""

    @property
    def context_length(self) -> int:
        """Longest input the model takes in one forward pass."""
        ...

    @property
    def eos_token(self) -> str | None:
        """The EOS token as text (a response that already ends with it gets no second one)."""
        ...

    def loglikelihood(
        self,
        requests: Sequence[LoglikelihoodRequest],
        *,
        max_length: int | None = None,
        stride: int | None = None,
        batch_size: int | None = None,
        progress: Progress | None = None,
        windows: str = "lm-eval",
    ) -> list[TokenScores]:
        """Score each request; texts longer than `max_length` are scored in windows that advance
        by `stride` tokens, every token exactly once, filled with context as `windows` says
        ("lm-eval" or "fixed", see models/_windows.py)."""
        ...

    def token_view(self, req: LoglikelihoodRequest) -> list[tuple[str, bool]]:
        """Each token of a request as text, and whether it is scored (for --show-tokens)."""
        ...


@runtime_checkable
class TokenModel(Model, Protocol):
    """Token-level access: exact token ids in, greedy token ids out (extraction attacks compare
    tokens with tokens, so nothing is re-tokenised from text)."""

    @property
    def context_length(self) -> int: ...

    @property
    def bos_token_id(self) -> int | None: ...

    def encode(self, text: str, special: bool = False) -> list[int]:
        """Token ids of `text`; `special`: with what the tokenizer adds itself (BOS, ...)."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids, special tokens left out."""
        ...

    def with_bos(self, ids: list[int]) -> list[int]:
        """BOS first, as training saw it, unless `ids` already start with it or there is none."""
        ...

    def continue_ids(
        self,
        prefixes: Sequence[list[int]],
        max_new_tokens: int,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> list[list[int]]:
        """Greedy continuation of each exact token prefix, up to and including a stop token."""
        ...


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings, shared by every backend (names follow the OpenAI API)."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    """0 is greedy decoding."""
    top_p: float = 1.0
    n: int = 1
    """Generations per prompt (sampling only)."""
    seed: int = 0
    stop: tuple[str, ...] = ()
    """Generation ends before the first of these strings; it is not part of the output."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"--max-new-tokens {self.max_new_tokens}: must be at least 1")
        if self.temperature < 0:
            raise ConfigError(f"--temperature {self.temperature}: must be 0 (greedy) or more")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"--top-p {self.top_p}: must be in (0, 1]")
        if self.n < 1:
            raise ConfigError(f"--n {self.n}: must be at least 1")
        if self.n > 1 and self.temperature == 0:
            raise ConfigError(f"--n {self.n} with greedy decoding gives {self.n} identical outputs; set --temperature > 0")
        if any(not s for s in self.stop):
            raise ConfigError("--stop: empty stop string")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class ChatReply:
    """One chat request's answer (`OpenAIModel.chat`): what a judge is asked and stores (the judge's
    cache keeps it as a `judge.CachedCall`, this plus the time it was stored)."""

    text: str
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Plain JSON: `finish_reason`, and `logprobs` when asked for (see `OpenAIModel.chat`)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt: text for completion-style backends, messages for chat endpoints."""

    prompt: str
    """The prompt text (a chat prompt already rendered with the model's template, when it has one)."""
    messages: tuple[Message, ...] | None = None
    """Set for chat prompts: chat endpoints get these instead of `prompt`."""
    id: str = ""
    """The sample's id, for error messages."""


@dataclass(frozen=True)
class Generation:
    """One generated output and what it cost."""

    output: str
    finish_reason: str
    """"stop" (end of sequence or a stop string) or "length" (hit --max-new-tokens)."""
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None
    """Wall time of the request, or of the batch it ran in, in seconds."""
    extra: dict[str, object] = field(default_factory=dict)


OnResult = Callable[[int, list[Generation]], None]
"""Called with (request index, its n generations) as soon as a request is done."""


@runtime_checkable
class GenerationModel(Model, Protocol):
    """A model that can generate. Results arrive through `on_result` in any order."""

    @property
    def takes_messages(self) -> bool:
        """True: chat prompts go as messages and the backend applies the template (chat endpoints)."""
        ...

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        on_result: OnResult,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> None: ...


@runtime_checkable
class ChatModel(Model, Protocol):
    """A model that answers one chat request: what a judge is (`judge`'s cached calls take `chat`).

    Every backend takes the same `params` (`CHAT_PARAMS`): temperature (default 0, greedy),
    max_tokens, top_p, seed, stop, top_logprobs (an int K: `extras["logprobs"]` is then a list,
    one per generated token, of {token, logprob, top: [{token, logprob}, ... K]}, the tokens
    spelling the text), repeat (cache key only). Anything else raises ConfigError. Callers may
    call `chat` from several threads."""

    def chat(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> ChatReply: ...


M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Capability(Generic[M]):
    """What a layer needs of a model: a name, the protocol that provides it, and what it does
    (for the refusal). `models.open_model` and `models.loaded` take one of the four below."""

    name: str
    protocol: Any
    """The runtime-checkable protocol (typed Any: mypy takes no protocol class as `type[...]`)."""
    does: str

    def of(self, model: Model, layer: str) -> M:
        """`model` as this protocol; a ModelError naming its backend and what to use instead."""
        if isinstance(model, self.protocol):
            return cast(M, model)
        backend = model.identity().get("backend")
        who = f"the {backend} backend" if backend else type(model).__name__
        raise ModelError(
            f"{model.name}: {layer} needs {self.does}, which {who} cannot do; pass the model's weights instead "
            "(a local directory, hub id, adapter directory or GGUF file: the Hugging Face backend)"
        )


SCORING: Capability[LogLikelihoodModel] = Capability("scoring", LogLikelihoodModel, "log-likelihoods of given text")
GENERATION: Capability[GenerationModel] = Capability("generation", GenerationModel, "text generation")
TOKENS: Capability[TokenModel] = Capability("tokens", TokenModel, "greedy continuation of exact token ids")
CHAT: Capability[ChatModel] = Capability("chat", ChatModel, "chat replies (a judge)")
