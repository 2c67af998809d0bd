"""Hugging Face causal LMs (local dir, hub id, PEFT adapter) behind the backend protocol."""

from __future__ import annotations

import copy
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck import _progress
from tunecheck._progress import Progress
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models import _gguf
from tunecheck.models._prompt import ChatRenderer, tokenizer_chat_renderer
from tunecheck.models._protocol import (
    Generation,
    GenerationParams,
    GenerationRequest,
    LoglikelihoodRequest,
    OnResult,
    TokenScores,
)
from tunecheck.models._spec import ModelSpec, check_files, check_hub, resolve
from tunecheck.models._windows import Window, plan_windows

DTYPES = ("auto", "float32", "bfloat16", "float16")
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16", "float": "float32"}

# Tokens per batch on the CPU: larger batches only fall out of cache (benchmarks/perplexity.py
# measured 2-4k tokens fastest on a 2-core machine; 64k was 2x slower per token).
_CPU_BUDGET = 4096
# Prompts per generation batch on the CPU (benchmarks/generation.py: batch 16 is ~6x one-at-a-time).
_CPU_GEN_BATCH = 16
_MAX_GEN_BATCH = 256
# On GPUs, logits of one batch are (tokens x vocab) floats: keep them to a quarter of free memory.
_MIN_BUDGET, _MAX_BUDGET = 512, 65536


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: CUDA is not available on this machine (use --device cpu)")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str, device: str) -> Any:
    """`auto` is bf16 on GPUs that support it (fp16 otherwise) and fp32 on the CPU, where
    half precision is slow and perplexity should be exact."""
    import torch

    name = _ALIASES.get(dtype, dtype)
    if name not in DTYPES:
        raise ConfigError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32
    return getattr(torch, name)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@dataclass
class HFModel:
    """A loaded causal LM and its tokenizer. Implements LogLikelihoodModel."""

    model: Any
    tokenizer: Any
    name: str
    device: str
    spec: ModelSpec | None = None
    gguf: str | None = None
    """The GGUF file the weights were read from (dequantised), or None."""

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

    # -- prompts -------------------------------------------------------------------------
    def chat_renderer(self) -> ChatRenderer | None:
        return tokenizer_chat_renderer(self.tokenizer)

    # -- tokenisation ----------------------------------------------------------------------
    def _encode(self, text: str, special: bool = False) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"]) if text else []

    def _sequence(self, req: LoglikelihoodRequest) -> tuple[list[int], int]:
        """Token ids as the model sees them (see LoglikelihoodRequest.prefix), and the first
        scored position."""
        tok = self.tokenizer
        context = req.context
        continuation = req.continuation
        # As lm-evaluation-harness: trailing spaces of the context belong to the continuation,
        # so "Answer: " + "Paris" tokenises like the training text did.
        stripped = context.rstrip(" ")
        if stripped != context:
            continuation = context[len(stripped) :] + continuation
            context = stripped
        special = req.prefix == "tokenizer"
        whole = self._encode(context + continuation, special)
        n_ctx = 0
        if context:
            # the scored part starts where the tokenised context and the whole text diverge
            # (TRL's common_prefix_length): a token merged across the boundary is scored
            ctx = self._encode(context, special)
            n_ctx = next((i for i, (a, b) in enumerate(zip(whole, ctx)) if a != b), min(len(ctx), len(whole)))
        if req.add_eos and tok.eos_token_id is not None:
            whole.append(tok.eos_token_id)
        prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if req.prefix != "bos" or prefix is None or (whole and whole[0] == prefix):
            # the text as it is (a chat template may write BOS itself); with nothing before the
            # first token, it has no prediction and is not scored
            return whole, max(1, n_ctx)
        return [prefix, *whole], n_ctx + 1

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

    def _prompt_ids(self, prompt: str) -> list[int]:
        return self.with_bos(self._encode(prompt))

    def _stop_ids(self) -> list[int]:
        ids: set[int] = set()
        for source in (getattr(self.model, "generation_config", None), self.tokenizer):
            value = getattr(source, "eos_token_id", None)
            ids.update(value if isinstance(value, list) else [value] if isinstance(value, int) else [])
        return sorted(ids)

    def _generation_config(self, params: GenerationParams) -> Any:
        from transformers import GenerationConfig

        base = getattr(self.model, "generation_config", None)
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
            eos_token_id=self._stop_ids() or None,
            pad_token_id=self._pad_id(),
            stop_strings=list(params.stop) or None,
        )
        return config

    def _pad_id(self) -> int:
        tok = self.tokenizer
        for value in (tok.pad_token_id, tok.eos_token_id, 0):
            if value is not None:
                return int(value)
        return 0  # pragma: no cover

    def _generation_batch(self, longest: int, params: GenerationParams) -> int:
        """Prompts per batch: fixed on the CPU; on a GPU, what the KV cache lets fit in half the
        free memory."""
        if not self.device.startswith("cuda"):
            return _CPU_GEN_BATCH
        import torch

        config = self.model.config
        layers = int(getattr(config, "num_hidden_layers", 32) or 32)
        heads = int(getattr(config, "num_attention_heads", 32) or 32)
        kv_heads = int(getattr(config, "num_key_value_heads", heads) or heads)
        head_dim = int(getattr(config, "head_dim", 0) or int(getattr(config, "hidden_size", 4096)) // heads)
        per_token = 2 * layers * kv_heads * head_dim * self.model.dtype.itemsize
        free, _ = torch.cuda.mem_get_info()
        fits = int(free * 0.5) // max(1, per_token * (longest + params.max_new_tokens) * params.n)
        return int(min(_MAX_GEN_BATCH, max(1, fits)))

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: GenerationParams,
        on_result: OnResult,
        *,
        batch_size: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Batched generation (see `_run_batches`); only new tokens are decoded, and each
        prompt's results go to `on_result` as soon as its batch is done."""
        prompts = [self._prompt_ids(r.prompt) for r in requests]
        for r, ids in zip(requests, prompts):
            if len(ids) + params.max_new_tokens > self.context_length:
                raise ConfigError(
                    f"sample {r.id or '?'}: the prompt is {len(ids)} tokens, and with --max-new-tokens "
                    f"{params.max_new_tokens} it exceeds {self.name}'s context of {self.context_length}; "
                    "lower --max-new-tokens or shorten the prompt"
                )
        stop_ids = set(self._stop_ids())

        def finish(i: int, rows: list[list[int]], elapsed: float) -> None:
            on_result(i, [self._finish(row, len(prompts[i]), params, stop_ids, elapsed) for row in rows])

        self._run_batches(prompts, params, finish, batch_size=batch_size, progress=progress, desc=f"generating {self.name}")

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
        stop_ids = set(self._stop_ids())
        pad = self._pad_id()
        out: list[list[int]] = [[] for _ in prefixes]

        def keep(i: int, rows: list[list[int]], _elapsed: float) -> None:
            new = rows[0]
            end = next((k for k, t in enumerate(new) if t in stop_ids), None)
            tokens = list(new[: end + 1] if end is not None else new)
            while end is None and tokens and tokens[-1] == pad:
                tokens.pop()
            out[i] = tokens

        self._run_batches(list(prefixes), params, keep, batch_size=batch_size, progress=progress, desc=f"continuing prefixes ({self.name})")
        return out

    def _run_batches(
        self,
        prompts: list[list[int]],
        params: GenerationParams,
        on_rows: Callable[[int, list[list[int]], float], None],
        *,
        batch_size: int | None,
        progress: Progress | None,
        desc: str,
    ) -> None:
        """Left-padded batches sorted by length (longest first, so memory errors show at once),
        halved on out-of-memory; each prompt's new token rows go to `on_rows`."""
        import torch

        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
        config = self._generation_config(params)
        task = _progress.start(progress, desc, len(prompts), "prompts")
        if not params.greedy:
            torch.manual_seed(params.seed)
        size = batch_size or (self._generation_batch(len(prompts[order[0]]), params) if order else 1)
        pos = 0
        with torch.inference_mode():
            while pos < len(order):
                batch = order[pos : pos + size]
                started = time.perf_counter()
                try:
                    sequences, width = self._generate_batch([prompts[i] for i in batch], config, params)
                except torch.OutOfMemoryError:
                    if size == 1:
                        raise ModelError(
                            f"{self.name}: out of memory generating one prompt; lower --max-new-tokens or use a smaller --dtype"
                        ) from None
                    if self.device.startswith("cuda"):
                        torch.cuda.empty_cache()
                    size = max(1, size // 2)
                    continue
                elapsed = time.perf_counter() - started
                for k, i in enumerate(batch):
                    rows = sequences[k * params.n : (k + 1) * params.n]
                    on_rows(i, [row[width:] for row in rows], elapsed)
                    task.advance(1)
                pos += len(batch)

    def _generate_batch(self, prompts: Sequence[list[int]], config: Any, params: GenerationParams) -> tuple[list[list[int]], int]:
        import torch

        width = max(len(p) for p in prompts)
        pad = self._pad_id()
        input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for r, ids in enumerate(prompts):  # left padding: every prompt ends where generation starts
            input_ids[r, width - len(ids) :] = torch.tensor(ids)
            mask[r, width - len(ids) :] = 1
        device = self.model.device
        extra = {"tokenizer": self.tokenizer} if params.stop else {}
        out = self.model.generate(
            input_ids=input_ids.to(device), attention_mask=mask.to(device), generation_config=config, **extra
        )
        return out.cpu().tolist(), width

    def _finish(self, new: list[int], prompt_tokens: int, params: GenerationParams, stop_ids: set[int], elapsed: float) -> Generation:
        end = next((k for k, t in enumerate(new) if t in stop_ids), None)
        if end is not None:
            tokens = new[: end + 1]
        else:  # a row that stopped on a stop string is padded to the batch's length
            pad, tokens = self._pad_id(), list(new)
            while tokens and tokens[-1] == pad:
                tokens.pop()
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        cut = min((at for at in (text.find(s) for s in params.stop) if at >= 0), default=-1)
        if cut >= 0:
            text = text[:cut]
        # HF also stops on a stop string that began in the prompt; any stop before the limit is "stop"
        reason = "length" if end is None and cut < 0 and len(tokens) >= params.max_new_tokens else "stop"
        return Generation(text, reason, prompt_tokens, len(tokens), elapsed)


def load_model(spec: str | ModelSpec, *, dtype: str = "auto", device: str = "auto") -> HFModel:
    """Load a causal LM from a local dir, hub id or PEFT adapter dir (merged onto its base)."""
    spec = ModelSpec.parse(spec)
    if spec.kind != "hf":
        raise ModelError(
            f"{spec.display_name}: {spec.kind} models can only generate; "
            "scoring text needs a local directory, hub id or adapter dir"
        )
    where = resolve(spec)
    dev = pick_device(device)
    torch_dtype = pick_dtype(spec.dtype or dtype, dev)
    check_files(where)
    for location in dict.fromkeys((where.tokenizer, where.model)):
        check_hub(location, spec.revision)
    if where.gguf:
        _gguf.require_gguf(spec.display_name)
    _quiet_transformers()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok_file = {"gguf_file": where.tokenizer_gguf} if where.tokenizer_gguf else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(where.tokenizer, revision=spec.revision, **tok_file)
    except Exception as err:  # transformers raises OSError, ValueError, ... for the same cause
        if where.gguf and _gguf.unsupported(err):
            raise ModelError(_gguf.unsupported_message(spec.display_name, Path(where.gguf))) from None
        raise ModelError(f"{spec.display_name}: could not load the tokenizer from {where.tokenizer} ({_first_line(err)})") from None
    # GGUF: transformers dequantises every tensor to `dtype` (it keeps a GGUF "quantizer" on the
    # model, which only refuses save_pretrained); scoring and generation see a plain model.
    model_file = {"gguf_file": Path(where.gguf).name} if where.gguf else {}
    try:
        with _gguf.quiet_dequantising():
            model = AutoModelForCausalLM.from_pretrained(where.model, dtype=torch_dtype, revision=spec.revision, **model_file)
    except Exception as err:
        if where.gguf and _gguf.unsupported(err):
            raise ModelError(_gguf.unsupported_message(spec.display_name, Path(where.gguf))) from None
        what = where.gguf or where.model
        what = f"base model {what} of adapter {where.adapter}" if where.adapter else what
        hint = "; if it is a hub id, check it and that you are online" if not os.path.isdir(where.model) else ""
        raise ModelError(f"{spec.display_name}: could not load {what} ({_first_line(err)}){hint}") from None
    if where.adapter:
        model = _apply_adapter(model, tokenizer, where.adapter, spec.display_name)
    model.to(dev)  # type: ignore[arg-type]
    model.eval()
    return HFModel(model, tokenizer, spec.display_name, dev, spec, where.gguf)


def release_memory() -> None:
    """Free a released model's memory now, so the next model of a comparison fits."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _apply_adapter(model: Any, tokenizer: Any, adapter: str, name: str) -> Any:
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        raise ModelError(f"{name}: loading a PEFT adapter needs `pip install peft`") from None
    # Fine-tunes that added tokens save a larger tokenizer; the base embeddings must match it.
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    with warnings.catch_warnings():  # transformers 5 deprecations raised inside peft
        warnings.simplefilter("ignore", FutureWarning)
        try:
            peft_model = PeftModel.from_pretrained(model, adapter)
        except Exception as err:
            raise ModelError(f"{name}: could not apply adapter {adapter} ({_first_line(err)})") from None
        # Merging makes scoring as fast as a full model; the numbers are the adapter's either way.
        return peft_model.merge_and_unload()


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # tunecheck draws its own progress
    logging.getLogger("peft").setLevel(logging.ERROR)
