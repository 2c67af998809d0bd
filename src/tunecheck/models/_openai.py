"""OpenAI-compatible servers (vLLM, SGLang, TGI, Ollama, llama.cpp, hosted APIs) for generation.

This is how models too big for one machine are evaluated: serve them with tensor parallelism
(`vllm serve MODEL --tensor-parallel-size 8`) and point tunecheck at the server. The official
`openai` client does the HTTP: retries with exponential backoff and jitter on 408/409/429/5xx,
timeouts and connection errors, honouring Retry-After / retry-after-ms. tunecheck adds bounded
concurrency and turns what cannot be retried into one clear line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from tunecheck import _progress
from tunecheck._progress import Progress
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models._openai_score import (
    CANNOT_SCORE,
    NO_PROMPT_LOGPROBS,
    PromptToken,
    continuation_scores,
    echoed_tokens,
)
from tunecheck.models._prompt import ChatRenderer
from tunecheck.models._protocol import (
    ChatReply,
    Generation,
    GenerationParams,
    GenerationRequest,
    LoglikelihoodRequest,
    OnResult,
    TokenScores,
)

DEFAULT_KEY_ENV = "OPENAI_API_KEY"


@dataclass(frozen=True)
class ServerOptions:
    """How to reach an OpenAI-compatible server (`openai:` specs)."""

    base_url: str | None = None
    """None: $OPENAI_BASE_URL, else OpenAI's API."""
    api_key_env: str = DEFAULT_KEY_ENV
    concurrency: int = 8
    timeout: float = 120.0
    """Seconds per request; the client retries up to `retries` times after that."""
    retries: int = 5

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency {self.concurrency}: must be at least 1")
        if self.timeout <= 0:
            raise ConfigError(f"--timeout {self.timeout}: must be a positive number of seconds")
        if self.retries < 0:
            raise ConfigError(f"--retries {self.retries}: must be 0 or more")


CHAT_PARAMS = frozenset({"temperature", "max_tokens", "top_p", "seed", "stop", "top_logprobs", "repeat"})
"""What `OpenAIModel.chat` takes; `repeat` (the index of a `--repeats` sample) only keys the
cache and is not sent."""


class OpenAIModel:
    """A served model behind /v1/chat/completions (chat prompts) or /v1/completions (text).
    Implements GenerationModel, ChatModel and LogLikelihoodModel (the last on servers that echo
    the prompt's log-probabilities, see models/_openai_score.py)."""

    takes_messages = True
    """Chat prompts go as messages: the server applies the model's chat template."""

    def __init__(self, model: str, *, name: str | None = None, server: ServerOptions | None = None) -> None:
        import openai

        server = server or ServerOptions()
        self.model = model
        self.name = name or f"openai:{model}"
        self.base_url = server.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.api_key_env = server.api_key_env
        self.concurrency = server.concurrency
        self.timeout = server.timeout
        self.retries = server.retries
        # Local servers (vLLM, llama.cpp, Ollama) take any key; hosted APIs answer 401 without one.
        key = os.environ.get(self.api_key_env) or "EMPTY"
        self._client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=self.retries)

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "location": self.model, "base_url": self.base_url, "backend": "openai"}

    def chat_renderer(self) -> ChatRenderer | None:
        return None  # the server applies the model's chat template to the messages

    def close(self) -> None:
        self._client.close()

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        on_result: OnResult,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Up to --concurrency requests in flight; each result is reported as it arrives. The
        first request that fails for good stops the run (results already reported are kept)."""
        task = _progress.start(progress, f"generating {self.name}", len(requests), "prompts")
        lock = threading.Lock()
        stop = threading.Event()

        def run(i: int) -> None:
            if stop.is_set():
                return
            try:
                gens = self._one(requests[i], params)
            except BaseException:
                stop.set()  # queued requests are skipped; the error ends the run
                raise
            with lock:  # on_result writes the file: one writer at a time
                on_result(i, gens)
                task.advance(1)

        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="tunecheck-http")
        futures: list[Future[None]] = []
        try:
            futures = [pool.submit(run, i) for i in range(len(requests))]
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception()), None)
            if failed is not None:
                stop.set()
                raise failed.exception()  # type: ignore[misc]
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def chat(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> ChatReply:
        """One /chat/completions request, retried by the client like `generate`'s; for judges.

        `params`: temperature (default 0), max_tokens, top_p, seed, stop, top_logprobs (an int K
        asks for the K most likely tokens at each generated position; then `extras["logprobs"]`
        is a list, one per generated token, of {token, logprob, top: [{token, logprob}, ...]}),
        repeat (cache key only). Anything else is a mistake in the caller and raises ConfigError.
        """
        unknown = sorted(set(params) - CHAT_PARAMS)
        if unknown:
            raise ConfigError(f"chat params {', '.join(unknown)}: not understood (use {', '.join(sorted(CHAT_PARAMS))})")
        kwargs: dict[str, Any] = {"model": self.model, "temperature": params.get("temperature", 0)}
        for name in ("max_tokens", "top_p", "seed"):
            if params.get(name) is not None:
                kwargs[name] = params[name]
        if params.get("stop"):
            kwargs["stop"] = list(params["stop"])
        k = params.get("top_logprobs")
        if k is not None:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = int(k)
        sent: Any = [{"role": m["role"], "content": m["content"]} for m in messages]
        response = self._send("chat/completions", "judge call: ", lambda: self._client.chat.completions.create(messages=sent, **kwargs))
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or len(choices) != 1:
            got = len(choices) if isinstance(choices, list) else "no"
            raise ModelError(
                f"{self.base_url}: judge call: expected 1 choice in the answer, got {got}; "
                "is --base-url an OpenAI-compatible endpoint?"
            )
        choice = choices[0]
        text = getattr(getattr(choice, "message", None), "content", None)
        extras: dict[str, Any] = {"finish_reason": str(getattr(choice, "finish_reason", None) or "stop")}
        if k is not None:
            extras["logprobs"] = _plain_logprobs(getattr(choice, "logprobs", None))
        usage = getattr(response, "usage", None)
        return ChatReply(
            text if isinstance(text, str) else "", extras, getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        )

    # -- scoring --------------------------------------------------------------------------------
    context_length = 1 << 30
    """Unknown to the client: the server refuses a text longer than its context (one line)."""
    eos_token: str | None = None
    """Unknown to the client; `add_eos` is refused (an EOS token cannot be sent as text)."""

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
        """Each request's continuation scored by the server (one /completions request per text,
        up to --concurrency in flight). The server tokenises `context + continuation` as its
        tokenizer does, with what it adds itself (as `prefix="tokenizer"`, whatever `prefix`
        says); texts go whole, so --max-length/--stride windows are refused."""
        if max_length is not None or stride is not None:
            raise ConfigError(
                f"--max-length/--stride: {self.name} is scored by its server, which takes each text whole "
                "in one request; leave them out (the server refuses a text longer than its context)"
            )
        for i, r in enumerate(requests):
            if r.add_eos:
                raise ConfigError(
                    f"request {i}: {self.name}: a server scores text and cannot append the EOS token; "
                    "pass --eos no, or the model's weights to score the EOS too"
                )
        task = _progress.start(progress, f"scoring {self.name}", len(requests), "texts")
        lock = threading.Lock()

        def one(i: int) -> TokenScores:
            scores = continuation_scores(requests[i], self._echo(requests[i], i), i)
            with lock:
                task.advance(1)
            return scores

        return self._pool_map(one, len(requests))

    def token_view(self, req: LoglikelihoodRequest) -> list[tuple[str, bool]]:
        """The server's tokens of one request and whether each is scored (one request)."""
        tokens = self._echo(req, 0)
        n = continuation_scores(req, tokens, 0).n_tokens
        return [(t.text, k >= len(tokens) - n) for k, t in enumerate(tokens)]

    def _echo(self, req: LoglikelihoodRequest, index: int) -> list[PromptToken]:
        """The prompt's tokens as the server echoes them; `index` names the request in errors."""
        prompt = req.context + req.continuation
        kwargs: dict[str, Any] = {"model": self.model, "prompt": prompt, "max_tokens": 1, "temperature": 0, "echo": True, "logprobs": 1}
        label = f"request {index}: scoring needs /completions with echo and logprobs: "

        def create() -> Any:
            import openai

            try:
                return self._client.completions.create(**kwargs)
            except (openai.BadRequestError, openai.NotFoundError, openai.UnprocessableEntityError) as err:
                # a chat-only model (OpenAI's: 404 "This is a chat model..."), or echo with logprobs
                # refused (400): say what cannot be done, with the server's own reason
                raise ModelError(
                    f"{self.base_url}: {self.name}: request {index}: HTTP {err.status_code} for a completion with echo "
                    f"and logprobs ({_message(err)}): {CANNOT_SCORE}"
                ) from None

        response = self._send("completions", label, create)
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise ModelError(f"{self.base_url}: request {index}: no choice in the answer; is --base-url an OpenAI-compatible endpoint?")
        try:
            return echoed_tokens(prompt, getattr(choices[0], "logprobs", None))
        except ModelError:
            raise ModelError(f"{self.base_url}: {self.name}: request {index}: {NO_PROMPT_LOGPROBS}") from None

    def _pool_map(self, fn: Callable[[int], Any], n: int) -> list[Any]:
        """fn(0..n-1) on up to --concurrency threads, in order; the first failure ends the run."""
        out: list[Any] = [None] * n
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="tunecheck-http")
        futures = {pool.submit(fn, i): i for i in range(n)}
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
            for f in futures:
                if f.done() and not f.cancelled() and f.exception() is not None:
                    raise f.exception()  # type: ignore[misc]
            for f, i in futures.items():
                out[i] = f.result()
        finally:
            for f in futures:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        return out

    # -- one request -----------------------------------------------------------------------------
    def _one(self, req: GenerationRequest, params: GenerationParams) -> list[Generation]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": params.n,
            "seed": params.seed,
        }
        if params.stop:
            kwargs["stop"] = list(params.stop)
        started = time.perf_counter()
        endpoint = "chat/completions" if req.messages is not None else "completions"
        if req.messages is not None:
            messages: Any = [{"role": m.role, "content": m.content} for m in req.messages]
            response = self._send(endpoint, f"sample {req.id}: ", lambda: self._client.chat.completions.create(messages=messages, **kwargs))
        else:
            response = self._send(endpoint, f"sample {req.id}: ", lambda: self._client.completions.create(prompt=req.prompt, **kwargs))
        latency = time.perf_counter() - started
        return self._parse(response, req, params, latency)

    def _send(self, endpoint: str, label: str, create: Callable[[], Any]) -> Any:
        """Run one client call (the client retries what can be retried) and turn what still
        fails into one line; `label` ("sample ID: ", "judge call: ") says which request."""
        import openai

        try:
            return create()
        except openai.AuthenticationError:
            raise ModelError(
                f"{self.base_url}: 401 Unauthorized; put the API key in ${self.api_key_env} "
                "(or name another variable with --api-key-env)"
            ) from None
        except openai.PermissionDeniedError as err:
            raise ModelError(f"{self.base_url}: 403 Forbidden for model {self.model!r} ({_message(err)})") from None
        except openai.NotFoundError as err:
            raise ModelError(
                f"{self.base_url}/{endpoint}: 404 Not Found for model {self.model!r} ({_message(err)}); "
                f"check the served model's name (GET {self.base_url}/models) and that --base-url ends in /v1"
            ) from None
        except openai.APITimeoutError:
            raise ModelError(
                f"{self.base_url}: {label}no answer within --timeout {self.timeout:g}s "
                f"after {self.retries} retries; raise --timeout or lower --concurrency"
            ) from None
        except openai.APIConnectionError as err:
            cause = err.__cause__ or err
            raise ModelError(
                f"{self.base_url}: cannot connect after {self.retries} retries ({_message(cause)}); is the server running?"
            ) from None
        except openai.RateLimitError:
            raise ModelError(
                f"{self.base_url}: still rate-limited (429) after {self.retries} retries; lower --concurrency or raise --retries"
            ) from None
        except openai.APIStatusError as err:
            raise ModelError(
                f"{self.base_url}: {label}HTTP {err.status_code} after {self.retries} retries ({_message(err)})"
            ) from None
        except ValueError as err:  # the body was not JSON (json.JSONDecodeError is a ValueError)
            raise ModelError(
                f"{self.base_url}: {label}the server's answer is not valid JSON ({err}); "
                "is --base-url an OpenAI-compatible endpoint?"
            ) from None

    def _parse(self, response: Any, req: GenerationRequest, params: GenerationParams, latency: float) -> list[Generation]:
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or len(choices) != params.n:
            got = len(choices) if isinstance(choices, list) else "no"
            raise ModelError(
                f"{self.base_url}: sample {req.id}: expected {params.n} choice(s) in the answer, got {got}; "
                "is --base-url an OpenAI-compatible endpoint?"
            )
        usage = getattr(response, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        completion_tokens = getattr(usage, "completion_tokens", None)
        out: list[Generation] = []
        for choice in sorted(choices, key=lambda c: getattr(c, "index", 0) or 0):
            if req.messages is not None:
                text = getattr(getattr(choice, "message", None), "content", None)
            else:
                text = getattr(choice, "text", None)
            if not isinstance(text, str):
                text = ""  # e.g. a refusal or tool call: an empty output, scored as such
            reason = getattr(choice, "finish_reason", None) or "stop"
            # usage counts all n choices together: per-choice counts only when n == 1
            out.append(Generation(text, str(reason), prompt_tokens, completion_tokens if params.n == 1 else None, latency))
        return out


def _message(err: BaseException) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        msg = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(msg, str) and msg:
            return msg.splitlines()[0][:200]
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:200]


def _plain_logprobs(logprobs: Any) -> list[dict[str, Any]] | None:
    """The client's token log-probability objects as plain JSON lists (for the cache file);
    None when the server sent none (some servers ignore `logprobs`)."""
    content = getattr(logprobs, "content", None)
    if not isinstance(content, list):
        return None
    return [
        {
            "token": str(t.token),
            "logprob": float(t.logprob),
            "top": [{"token": str(a.token), "logprob": float(a.logprob)} for a in (getattr(t, "top_logprobs", None) or [])],
        }
        for t in content
    ]
