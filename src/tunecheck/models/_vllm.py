"""vLLM's offline engine for generation and scoring on GPU machines (`--model vllm:PATH`), where installed.

vLLM batches continuously on its own; tunecheck hands it prompts in chunks so results reach
the predictions file (and survive a kill) as the run goes. Adapters run as LoRA requests on
the base model, as vLLM serves them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tunecheck import _progress
from tunecheck._progress import Progress
from tunecheck.errors import ModelError
from tunecheck.models._chat import (
    DEFAULT_MAX_TOKENS,
    Decode,
    chat_settings,
    plain_logprobs,
    require_chat_template,
)
from tunecheck.models._prompt import ChatRenderer, tokenizer_chat_renderer
from tunecheck.models._protocol import (
    ChatReply,
    Generation,
    GenerationParams,
    GenerationRequest,
    LoglikelihoodRequest,
    OnResult,
    TokenScores,
)
from tunecheck.models._spec import ModelSpec, resolve

_CHUNK = 512


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


class VLLMModel:
    """vLLM's offline engine on this machine. Implements GenerationModel, ChatModel and
    LogLikelihoodModel (models/_vllm_score.py: untested against a real engine here)."""

    takes_messages = False
    """Chat prompts are rendered with the tokenizer's template before they reach vLLM."""

    def __init__(self, spec: ModelSpec, *, dtype: str = "auto", tensor_parallel_size: int = 1, max_model_len: int | None = None) -> None:
        if not vllm_available():
            raise ModelError(
                f"{spec.display_name}: the vllm backend needs `pip install vllm` (Linux with a GPU); "
                "use the Hugging Face backend (drop the vllm: prefix), or serve the model with "
                "`vllm serve` and pass --model openai:NAME --base-url http://HOST:8000/v1"
            )
        from vllm import LLM

        where = resolve(ModelSpec(spec.location, "hf", base=spec.base, revision=spec.revision))
        self.name = spec.display_name
        self._lora: Any = None
        kwargs: dict[str, Any] = {
            "model": where.model,
            "tokenizer": where.tokenizer,
            "dtype": spec.dtype or dtype,
            "tensor_parallel_size": tensor_parallel_size,
            "revision": spec.revision,
        }
        if max_model_len:
            kwargs["max_model_len"] = max_model_len
        if where.adapter:
            from vllm.lora.request import LoRARequest

            kwargs.update(enable_lora=True, max_lora_rank=_lora_rank(where.adapter))
            self._lora = LoRARequest("adapter", 1, where.adapter)
        try:
            self._llm = LLM(**kwargs)
        except Exception as err:
            raise ModelError(f"{self.name}: vLLM could not load {where.model} ({str(err).strip().splitlines()[0][:200]})") from None
        self._tokenizer = self._llm.get_tokenizer()
        self._lock = threading.Lock()  # the engine serves one caller at a time

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "vllm"}

    def chat_renderer(self) -> ChatRenderer | None:
        return tokenizer_chat_renderer(self._tokenizer)

    def close(self) -> None:
        """Drop the engine, so `models.loaded` can free its GPU memory."""
        self._llm = None

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        on_result: OnResult,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        from vllm import SamplingParams

        sampling = SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_new_tokens,
            stop=list(params.stop) or None,
            seed=params.seed,
        )
        task = _progress.start(progress, f"generating {self.name}", len(requests), "prompts")
        chunk = batch_size or _CHUNK
        for start in range(0, len(requests), chunk):
            part = requests[start : start + chunk]
            began = time.perf_counter()
            outs = self._llm.generate([r.prompt for r in part], sampling, lora_request=self._lora, use_tqdm=False)
            elapsed = time.perf_counter() - began
            for k, out in enumerate(outs):
                gens = [
                    Generation(c.text, c.finish_reason or "stop", len(out.prompt_token_ids or []), len(c.token_ids), elapsed)
                    for c in out.outputs
                ]
                on_result(start + k, gens)
                task.advance(1)


    def chat(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> ChatReply:
        """One chat request through `LLM.chat` (the model's chat template, applied by vLLM), for
        judges: the params of `OpenAIModel.chat`, and with top_logprobs K `extras["logprobs"]`
        in its plain format (vLLM's log-probabilities are the model's raw distribution, as
        HFModel's). Thread-safe."""
        from vllm import SamplingParams

        settings = chat_settings(params)
        require_chat_template(self.name, self._tokenizer)
        sampling = SamplingParams(
            n=1,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_tokens or DEFAULT_MAX_TOKENS,
            stop=list(settings.stop) or None,
            seed=settings.seed,
            logprobs=settings.top_logprobs,
        )
        conversation = [{"role": m["role"], "content": m["content"]} for m in messages]
        with self._lock:  # the engine, and the tokenizer the log-probabilities are decoded with
            try:
                [out] = self._llm.chat(conversation, sampling, use_tqdm=False, lora_request=self._lora, add_generation_prompt=True)
            except Exception as err:  # a prompt longer than the context, a template that refuses a role, ...
                first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
                raise ModelError(f"{self.name}: vLLM could not answer the judge call ({first})") from None
            choice = out.outputs[0]
            extras: dict[str, Any] = {"finish_reason": str(choice.finish_reason or "stop")}
            prompt_ids = list(out.prompt_token_ids or [])
            if settings.top_logprobs is not None:
                extras["logprobs"] = vllm_logprobs(self._decode, prompt_ids, choice, settings.top_logprobs)
        return ChatReply(choice.text, extras, len(prompt_ids), len(choice.token_ids))


    # -- scoring -------------------------------------------------------------------------------
    @property
    def context_length(self) -> int:
        try:
            return int(self._llm.llm_engine.model_config.max_model_len)
        except AttributeError:
            return int(getattr(self._tokenizer, "model_max_length", 2048) or 2048)

    @property
    def eos_token(self) -> str | None:
        value = getattr(self._tokenizer, "eos_token", None)
        return value if isinstance(value, str) else None

    def token_view(self, req: LoglikelihoodRequest) -> list[tuple[str, bool]]:
        from tunecheck.models._hf import scored_sequence

        ids, first = scored_sequence(self._tokenizer, req)
        return [(str(self._tokenizer.decode([t])), k >= first) for k, t in enumerate(ids)]

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
        """HFModel's token ids and windows (`_hf.scored_sequence`, `plan_windows`), each window
        one prompt of token ids scored by vLLM's `prompt_logprobs` (models/_vllm_score.py);
        vLLM batches them itself, `batch_size` windows per call."""
        import numpy as np
        from vllm import SamplingParams

        from tunecheck.errors import ConfigError
        from tunecheck.models._hf import scored_sequence
        from tunecheck.models._vllm_score import window_logprobs, window_prompt
        from tunecheck.models._windows import plan_windows

        # a window of max_length inputs goes with its last target: a prompt of max_length + 1 ids
        # (so the default windows are one token shorter than HFModel's, on texts that need them)
        if max_length is not None and max_length >= self.context_length:
            raise ConfigError(
                f"--max-length {max_length}: {self.name}'s context is {self.context_length} tokens, and vLLM scores a "
                f"window with its last target, so at most {self.context_length - 1}; leave it out to use the full context"
            )
        max_length = max_length or self.context_length - 1
        seqs = [scored_sequence(self._tokenizer, r) for r in requests]
        jobs = [(i, w) for i, (ids, first) in enumerate(seqs) for w in plan_windows(len(ids), first, max_length, stride or max_length, windows)]
        sampling = SamplingParams(n=1, temperature=0.0, max_tokens=1, prompt_logprobs=0, detokenize=False)
        parts: list[list[np.ndarray]] = [[] for _ in requests]
        task = _progress.start(progress, f"scoring {self.name}", sum(w.end - w.score_from + 1 for _, w in jobs))
        chunk = batch_size or _CHUNK
        for start in range(0, len(jobs), chunk):
            part = jobs[start : start + chunk]
            prompts: Any = [{"prompt_token_ids": window_prompt(seqs[i][0], w)} for i, w in part]
            with self._lock:
                outs = self._llm.generate(prompts, sampling, lora_request=self._lora, use_tqdm=False)
            for (i, w), prompt, out in zip(part, prompts, outs):
                parts[i].append(window_logprobs(prompt["prompt_token_ids"], out.prompt_logprobs, w, str(i)))
                task.advance(w.end - w.score_from + 1)
        return [
            TokenScores(np.concatenate(p) if p else np.zeros(0), np.asarray(ids[first:], dtype=np.int64))
            for p, (ids, first) in zip(parts, seqs)
        ]

    def _decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=True))


def vllm_logprobs(decode: Decode, prompt_ids: Sequence[int], choice: Any, k: int) -> list[dict[str, Any]] | None:
    """A vLLM CompletionOutput's log-probabilities in the plain format (`_chat.plain_logprobs`).

    `choice.logprobs[i]` maps token id -> Logprob(logprob, rank, decoded_token) for the top K
    ids at position i, plus the sampled id when it ranks below K. Token texts are decoded here
    with the engine's tokenizer, so they spell `choice.text` exactly (decoded_token is not
    bound to). None when vLLM returned none."""
    positions = getattr(choice, "logprobs", None)
    if positions is None:
        return None
    new = list(choice.token_ids)
    rows = []
    for token, position in zip(new, positions):
        ranked = sorted(position.items(), key=lambda item: (item[1].rank if item[1].rank is not None else 1 << 30, -item[1].logprob))
        top = [(int(t), float(lp.logprob)) for t, lp in ranked if lp.rank is None or lp.rank <= k][:k]
        chosen = position.get(token)
        rows.append((float(chosen.logprob) if chosen is not None else float("-inf"), top))
    return plain_logprobs(decode, list(prompt_ids)[-4:], new[: len(rows)], str(choice.text), rows)


def _lora_rank(adapter: str) -> int:
    import json
    from pathlib import Path

    try:
        config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
        return int(config.get("r", 16))
    except (OSError, ValueError):
        return 16
