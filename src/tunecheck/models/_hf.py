"""Hugging Face causal LMs behind the backend protocols: scoring (windows, batches) and the
token-level operations; decoding is in `_hf_generate.py`, loading in `_hf_load.py`."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck import _progress
from tunecheck._progress import Progress
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models import _gguf, _hf_chat, _hf_generate
from tunecheck.models._prompt import ChatRenderer, tokenizer_chat_renderer
from tunecheck.models._protocol import (
    ChatReply,
    GenerationParams,
    GenerationRequest,
    LoglikelihoodRequest,
    OnResult,
    TokenScores,
)
from tunecheck.models._spec import ModelSpec
from tunecheck.models._windows import Window, plan_windows

# Tokens per batch on the CPU: larger batches only fall out of cache (benchmarks/perplexity.py
# measured 2-4k tokens fastest on a 2-core machine; 64k was 2x slower per token).
_CPU_BUDGET = 4096
# On GPUs, logits of one batch are (tokens x vocab) floats: keep them to a quarter of free memory.
_MIN_BUDGET, _MAX_BUDGET = 512, 65536


@dataclass
class HFModel:
    """A loaded causal LM and its tokenizer. Implements LogLikelihoodModel, GenerationModel,
    TokenModel and ChatModel."""

    model: Any
    tokenizer: Any
    name: str
    device: str
    spec: ModelSpec | None = None
    gguf: str | None = None
    """The GGUF file the weights were read from (dequantised), or None."""
    lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    """Held around `chat`'s forward passes: a judge runner calls `chat` from several threads."""
    takes_messages = False
    """Chat prompts are rendered here with the tokenizer's template, not sent as messages."""

    @property
    def context_length(self) -> int:
        config = self.model.config
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        return limit if isinstance(limit, int) and 0 < limit < 10**7 else 2048

    def identity(self) -> dict[str, Any]:
        """What results record about the model."""
        spec = self.spec
        return {
            "name": self.name,
            "location": spec.location if spec else None,
            "base": spec.base if spec else None,
            "dtype": str(getattr(self.model, "dtype", "")).removeprefix("torch."),
            "device": self.device,
            "parameters": int(sum(p.numel() for p in self.model.parameters())),
            # a quantised export is another model than its source: the file's content names it
            **({"gguf": self.gguf, "sha256": _gguf.sha256(Path(self.gguf))} if self.gguf else {}),
        }

    def close(self) -> None:
        """Drop the weights, so `models.loaded` can free them even while a caller still
        holds this object."""
        self.model = None

    # -- prompts -------------------------------------------------------------------------
    def chat_renderer(self) -> ChatRenderer | None:
        return tokenizer_chat_renderer(self.tokenizer)

    def chat(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> ChatReply:
        """One chat request, for judges (`_hf_chat.chat`): the same params as `OpenAIModel.chat`
        (temperature 0 greedy, max_tokens, top_p, seed, stop, top_logprobs K, repeat), and with
        top_logprobs `extras["logprobs"]` in its plain format. Thread-safe."""
        return _hf_chat.chat(self, messages, params)

    # -- tokenisation ----------------------------------------------------------------------
    @property
    def bos_token_id(self) -> int | None:
        value = self.tokenizer.bos_token_id
        return None if value is None else int(value)

    @property
    def eos_token(self) -> str | None:
        value = getattr(self.tokenizer, "eos_token", None)
        return value if isinstance(value, str) else None

    def encode(self, text: str, special: bool = False) -> list[int]:
        """Token ids of `text`; `special`: with what the tokenizer adds itself (BOS, ...)."""
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"]) if text else []

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def _sequence(self, req: LoglikelihoodRequest) -> tuple[list[int], int]:
        """Token ids as the model sees them (see LoglikelihoodRequest.prefix), and the first
        scored position."""
        return scored_sequence(self.tokenizer, req)

    def token_view(self, req: LoglikelihoodRequest) -> list[tuple[str, bool]]:
        """Each token of a request as text, and whether it is scored (for --show-tokens)."""
        ids, first = self._sequence(req)
        return [(str(self.tokenizer.decode([t])), k >= first) for k, t in enumerate(ids)]

    # -- scoring -----------------------------------------------------------------------------
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
        import torch

        if max_length is not None and max_length > self.context_length:
            raise ConfigError(
                f"--max-length {max_length} exceeds {self.name}'s context of {self.context_length} tokens; "
                "leave it out to use the full context"
            )
        max_length = max_length or self.context_length
        stride = stride or max_length
        seqs = [self._sequence(r) for r in requests]
        jobs: list[tuple[int, int, Window]] = []  # (request, order within request, window)
        for i, (ids, first) in enumerate(seqs):
            for k, w in enumerate(plan_windows(len(ids), first, max_length, stride, windows)):
                jobs.append((i, k, w))
        # Longest first: similar lengths share a batch (little padding), and an out-of-memory
        # error shows up on the first batch rather than after an hour.
        jobs.sort(key=lambda j: j[2].end - j[2].start, reverse=True)
        parts: list[dict[int, np.ndarray]] = [{} for _ in requests]
        total = sum(w.end - w.score_from + 1 for _, _, w in jobs)
        task = _progress.start(progress, f"scoring {self.name}", total)
        budget = None if batch_size else self._token_budget()
        pos = 0
        with torch.inference_mode():
            while pos < len(jobs):
                width = jobs[pos][2].end - jobs[pos][2].start
                n = batch_size or max(1, (budget or 0) // max(1, width))
                batch = jobs[pos : pos + n]
                if not batch_size:
                    # keep padding under ~10%: stop the batch where windows get much shorter
                    # (a smaller batch costs little; padded positions cost a full forward each)
                    cut = next((k for k, j in enumerate(batch) if j[2].end - j[2].start < width * 0.9), len(batch))
                    batch = batch[: max(1, cut)]
                try:
                    scores = self._score_batch([seqs[i][0] for i, _, _ in batch], [w for _, _, w in batch])
                except torch.OutOfMemoryError:
                    if n == 1:
                        raise ModelError(
                            f"{self.name}: out of memory on one window of {width} tokens; "
                            "lower --max-length or use a smaller --dtype"
                        ) from None
                    if self.device.startswith("cuda"):
                        torch.cuda.empty_cache()
                    if batch_size:
                        batch_size = max(1, batch_size // 2)
                    else:
                        budget = max(1, (budget or width) // 2)
                    continue
                for (i, k, w), s in zip(batch, scores):
                    parts[i][k] = s
                    task.advance(w.end - w.score_from + 1)
                pos += len(batch)
        out: list[TokenScores] = []
        for (ids, first), got in zip(seqs, parts):
            logprobs = np.concatenate([got[k] for k in sorted(got)]) if got else np.zeros(0)
            out.append(TokenScores(logprobs.astype(np.float64), np.asarray(ids[first:], dtype=np.int64)))
        return out

    def loglikelihood_choices(
        self,
        groups: Sequence[Sequence[LoglikelihoodRequest]],
        *,
        max_length: int | None = None,
        batch_size: int | None = None,
    ) -> list[list[TokenScores]]:
        """`loglikelihood` for groups that share a context (a question's choices): the shared
        tokens go through the model once per group, their KV cache serves every choice
        (`_hf_choices`). Same tokens and numbers as scoring each request on its own."""
        from tunecheck.models._hf_choices import loglikelihood_choices

        return loglikelihood_choices(self, groups, max_length=max_length, batch_size=batch_size)

    def _token_budget(self) -> int:
        """Tokens per batch when --batch-size is not given: bounded by the logits' size."""
        vocab = int(getattr(self.model.config, "vocab_size", 32000) or 32000)
        if self.device.startswith("cuda"):
            import torch

            free, _ = torch.cuda.mem_get_info()
            limit = int(free * 0.25) // (vocab * 4)
        else:
            return _CPU_BUDGET
        return int(min(_MAX_BUDGET, max(_MIN_BUDGET, limit)))

    def _score_batch(self, seqs: Sequence[list[int]], windows: Sequence[Window]) -> list[np.ndarray]:
        import torch

        width = max(w.end - w.start for w in windows)
        input_ids = np.zeros((len(windows), width + 1), dtype=np.int64)
        lengths = np.array([w.end - w.start for w in windows])
        for r, (ids, w) in enumerate(zip(seqs, windows)):
            input_ids[r, : w.end - w.start + 1] = ids[w.start : w.end + 1]  # inputs and the last target
        # input column c predicts the token in column c+1; scored targets s..b come from the
        # input columns s-1-a .. b-1-a of each row
        counts = np.array([w.end - w.score_from + 1 for w in windows])
        rows = np.repeat(np.arange(len(windows)), counts)
        cols = np.concatenate([np.arange(w.score_from - 1 - w.start, w.end - w.start) for w in windows])
        mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        device = self.model.device
        logits = self.model(
            input_ids=torch.from_numpy(input_ids[:, :width]).to(device),
            attention_mask=torch.from_numpy(mask).to(device),
        ).logits
        picked = logits[torch.from_numpy(rows).to(device), torch.from_numpy(cols).to(device)]
        target = torch.from_numpy(input_ids[rows, cols + 1]).to(device)
        # log-softmax in float32, in chunks, so low-precision logits do not lose the tail mass
        chunks = []
        for start in range(0, picked.shape[0], 8192):
            part = picked[start : start + 8192].float()
            chunks.append(-torch.nn.functional.cross_entropy(part, target[start : start + 8192], reduction="none"))
        flat = torch.cat(chunks).double().cpu().numpy()
        out, at = [], 0
        for w in windows:
            k = w.end - w.score_from + 1
            out.append(flat[at : at + k])
            at += k
        return out

    # -- generation ----------------------------------------------------------------------------
    def with_bos(self, ids: list[int]) -> list[int]:
        """Token ids as training and scoring saw them: BOS first, unless they already start with
        it (chat templates such as Llama-3's and Gemma's write it) or the tokenizer has none."""
        bos = self.tokenizer.bos_token_id
        return ids if bos is None or (ids and ids[0] == bos) else [bos, *ids]

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        on_result: OnResult,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Batched generation (`_hf_generate.run_batches`); only new tokens are decoded, and each
        prompt's results go to `on_result` as soon as its batch is done."""
        prompts = [self.with_bos(self.encode(r.prompt)) for r in requests]
        for r, ids in zip(requests, prompts):
            if len(ids) + params.max_new_tokens > self.context_length:
                raise ConfigError(
                    f"sample {r.id or '?'}: the prompt is {len(ids)} tokens, and with --max-new-tokens "
                    f"{params.max_new_tokens} it exceeds {self.name}'s context of {self.context_length}; "
                    "lower --max-new-tokens or shorten the prompt"
                )
        stops = set(_hf_generate.stop_ids(self))

        def finish(i: int, rows: list[list[int]], elapsed: float) -> None:
            on_result(i, [_hf_generate.finish(self, row, len(prompts[i]), params, stops, elapsed) for row in rows])

        _hf_generate.run_batches(self, prompts, params, finish, batch_size=batch_size, progress=progress, desc=f"generating {self.name}")

    def continue_ids(
        self,
        prefixes: Sequence[list[int]],
        max_new_tokens: int,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> list[list[int]]:
        """Greedy continuations of exact token prefixes, as token ids.

        A continuation ends with the first stop token (EOS, or the model's end-of-turn id),
        which is kept, as `generate` keeps it in its token counts: in chat training data the
        response ends with that token (`<|im_end|>`, `<|eot_id|>`), so a model that ends the turn
        where the training response ended matches the target, and one that stops early still
        differs from it at that position.

        Extraction attacks compare tokens with tokens; going through text would re-tokenise the
        prefix and could shift the boundary, so this path never decodes."""
        params = GenerationParams(max_new_tokens=max_new_tokens)
        stops = set(_hf_generate.stop_ids(self))
        pad = _hf_generate.pad_id(self.tokenizer)
        out: list[list[int]] = [[] for _ in prefixes]

        def keep(i: int, rows: list[list[int]], _elapsed: float) -> None:
            out[i] = _hf_generate.trim(rows[0], stops, pad)

        desc = f"continuing prefixes ({self.name})"
        _hf_generate.run_batches(self, list(prefixes), params, keep, batch_size=batch_size, progress=progress, desc=desc)
        return out


def scored_sequence(tokenizer: Any, req: LoglikelihoodRequest) -> tuple[list[int], int]:
    """Token ids of a request as a model with this Hugging Face tokenizer sees them (see
    LoglikelihoodRequest.prefix), and the first scored position; vLLM's engine scores the same ids."""
    tok = tokenizer

    def encode(text: str, special: bool) -> list[int]:
        return list(tok(text, add_special_tokens=special)["input_ids"]) if text else []

    context = req.context
    continuation = req.continuation
    # As lm-evaluation-harness: trailing spaces of the context belong to the continuation,
    # so "Answer: " + "Paris" tokenises like the training text did.
    stripped = context.rstrip(" ")
    if stripped != context:
        continuation = context[len(stripped) :] + continuation
        context = stripped
    special = req.prefix == "tokenizer"
    whole = encode(context + continuation, special)
    n_ctx = 0
    if context:
        # the scored part starts where the tokenised context and the whole text diverge
        # (TRL's common_prefix_length): a token merged across the boundary is scored
        ctx = encode(context, special)
        n_ctx = next((i for i, (a, b) in enumerate(zip(whole, ctx)) if a != b), min(len(ctx), len(whole)))
    if req.add_eos and tok.eos_token_id is not None:
        whole.append(tok.eos_token_id)
    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    if req.prefix != "bos" or prefix is None or (whole and whole[0] == prefix):
        # the text as it is (a chat template may write BOS itself); with nothing before the
        # first token, it has no prediction and is not scored
        return whole, max(1, n_ctx)
    return [prefix, *whole], n_ctx + 1
