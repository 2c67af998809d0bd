"""lm-evaluation-harness's `LM` interface over tunecheck's backends, so any task of its catalogue
runs on every model spec tunecheck takes, scored by tunecheck's batch-invariant scorer.

Tokenisation follows lm-evaluation-harness's Hugging Face model (`HFLM`, 0.4.x), so a task gives
the same per-sample numbers as `lm_eval --model hf` on the same items:

- loglikelihood(context, continuation): trailing whitespace of the context (spaces, newlines)
  moves to the continuation; context + continuation is tokenised whole, with what the tokenizer
  adds itself (HFLM's default `add_special_tokens`: a BOS for Llama-style tokenizers, nothing for
  GPT-2-style ones), i.e. tunecheck's `prefix="tokenizer"`. An empty context is conditioned on
  BOS (else EOS), as HFLM's `prefix_token_id`: `prefix="bos"`. tunecheck's own default for
  scoring (`prefix="bos"` always, and only spaces moved) would prepend a BOS that HFLM does not
  write on tokenizers that add none, which changes every log-likelihood.
- The context/continuation split: HFLM scores `whole[len(tokens(context)):]`, tunecheck scores
  from where the tokens of the context and of the whole text first differ. They agree unless a
  token merges across the boundary (after the whitespace move this is rare); where it does,
  tunecheck also scores the merged token. An input longer than the model's context: HFLM cuts the
  context on the left, tunecheck scores in lm-evaluation-harness's windows, whose last window is
  full of context: the same numbers while the continuation fits in one window (checked on a
  one-shot fixture MMLU prompt over the tiny test model's 128 tokens).
- loglikelihood_rolling: the text from BOS (else EOS) in lm-evaluation-harness's rolling
  windows (`windows="lm-eval"`, the full context). HFLM tokenises the text with the tokenizer's
  special tokens, so for tokenizers that add a BOS it also scores that BOS given BOS; here not.
- generate_until: greedy (or sampled, with `do_sample`) up to `max_gen_toks`, stopping before any
  `until` string or EOS. tunecheck's Hugging Face backend writes a BOS before the prompt where
  the tokenizer has one; HFLM only where the tokenizer adds it.
- is_greedy: whether greedy decoding from the context gives exactly the continuation's tokens.
  `TokenScores` carries no argmax, so it is found by a greedy continuation of the context's
  token ids (`TokenModel.continue_ids`), only for the tasks that use it (`greedy_tasks`; a
  multiple-choice task never does). Backends without token access report False.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from tunecheck.errors import ConfigError
from tunecheck.models._protocol import (
    GENERATION,
    SCORING,
    TOKENS,
    Generation,
    GenerationParams,
    GenerationRequest,
    LoglikelihoodRequest,
    Model,
    TokenModel,
    TokenScores,
)

INSTALL_HINT = 'benchmarks need lm-evaluation-harness: pip install "tunecheck[benchmarks]"'

try:
    from lm_eval.api.model import LM as _LMBase
except ImportError:  # pragma: no cover - the dev extra installs it
    raise ConfigError(INSTALL_HINT) from None


def to_request(context: str, continuation: str) -> LoglikelihoodRequest:
    """lm-evaluation-harness's (context, continuation) as HFLM tokenises it (see the module doc)."""
    if not context:
        return LoglikelihoodRequest("", continuation, prefix="bos")
    stripped = context.rstrip()
    return LoglikelihoodRequest(stripped, context[len(stripped) :] + continuation, prefix="tokenizer")


class TunecheckLM(_LMBase):  # type: ignore[misc]
    """A tunecheck model as an lm-evaluation-harness `LM` (pass it as `simple_evaluate(model=...)`)."""

    def __init__(
        self,
        model: Model,
        *,
        batch_size: int | None = None,
        greedy_tasks: Collection[str] | None = None,
        max_gen_toks: int = 256,
    ) -> None:
        """`greedy_tasks`: the tasks whose requests need is_greedy (None: all of them)."""
        super().__init__()
        self.model = model
        self.batch_size = batch_size
        self.greedy_tasks = None if greedy_tasks is None else frozenset(greedy_tasks)
        self.max_gen_toks = max_gen_toks

    @property
    def tokenizer_name(self) -> str:
        return self.model.name.replace("/", "__")

    # -- loglikelihood -------------------------------------------------------------------------
    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        if not requests:
            return []
        scorer = SCORING.of(self.model, "bench")
        reqs = [to_request(*r.args) for r in requests]
        scores = self._score(scorer, reqs)
        need = [self.greedy_tasks is None or getattr(r, "task_name", None) in self.greedy_tasks for r in requests]
        greedy = self._is_greedy(reqs, scores, need)
        out = [(float(s.logprobs.sum()), g) for s, g in zip(scores, greedy)]
        for r, o in zip(requests, out):
            self.cache_hook.add_partial("loglikelihood", r.args, o)
        return out

    def _score(self, scorer: Any, reqs: list[LoglikelihoodRequest]) -> list[TokenScores]:
        """A multiple-choice question's choices share its context: where the backend can, they
        are scored against one cached pass over it (`HFModel.loglikelihood_choices`, the same
        numbers as scoring each alone); otherwise request by request."""
        choices = getattr(scorer, "loglikelihood_choices", None)
        if choices is None:
            return list(scorer.loglikelihood(reqs, batch_size=self.batch_size))
        groups: dict[tuple[str, str], list[int]] = {}
        for i, r in enumerate(reqs):
            groups.setdefault((r.context, r.prefix), []).append(i)
        order = list(groups.values())
        scored = choices([[reqs[i] for i in g] for g in order], batch_size=self.batch_size)
        out: list[TokenScores | None] = [None] * len(reqs)
        for g, got in zip(order, scored):
            for i, s in zip(g, got):
                out[i] = s
        return [s for s in out if s is not None]

    def _is_greedy(self, reqs: Sequence[LoglikelihoodRequest], scores: Sequence[TokenScores], need: Sequence[bool]) -> list[bool]:
        """Greedy decoding from each request's unscored tokens gives its scored tokens exactly."""
        out = [False] * len(reqs)
        if not any(need) or not isinstance(self.model, TokenModel):
            return out
        tokens = TOKENS.of(self.model, "bench")
        todo: list[tuple[int, list[int], list[int]]] = []
        for i, (req, s) in enumerate(zip(reqs, scores)):
            if not need[i] or s.n_tokens == 0:
                continue
            if req.prefix == "bos":
                ids = tokens.with_bos(tokens.encode(req.continuation))
            else:
                ids = tokens.encode(req.context + req.continuation, special=True)
            scored = [int(t) for t in s.token_ids]
            head = ids[: len(ids) - len(scored)]
            if head and ids[len(head) :] == scored:  # else the backend tokenised otherwise: not greedy-checkable
                todo.append((i, head, scored))
        for length in sorted({len(t[2]) for t in todo}):
            group = [t for t in todo if len(t[2]) == length]
            got = tokens.continue_ids([h for _, h, _ in group], length, batch_size=self.batch_size)
            for (i, _, scored), g in zip(group, got):
                out[i] = g[:length] == scored
        return out

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        if not requests:
            return []
        scorer = SCORING.of(self.model, "bench")
        reqs = [LoglikelihoodRequest("", r.args[0], prefix="bos") for r in requests]
        scores = scorer.loglikelihood(reqs, batch_size=self.batch_size, windows="lm-eval")
        out = [float(s.logprobs.sum()) for s in scores]
        for r, o in zip(requests, out):
            self.cache_hook.add_partial("loglikelihood_rolling", r.args, o)
        return out

    # -- generation ----------------------------------------------------------------------------
    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        if not requests:
            return []
        gen = GENERATION.of(self.model, "bench")
        out: list[str] = [""] * len(requests)
        # one call per distinct set of generation settings, as HFLM groups them
        groups: dict[GenerationParams, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(self._params(r.args[1]), []).append(i)
        for params, idx in groups.items():
            prompts = [GenerationRequest(prompt=requests[i].args[0], id=str(getattr(requests[i], "doc_id", i))) for i in idx]

            def keep(k: int, results: list[Generation], idx: list[int] = idx) -> None:
                out[idx[k]] = results[0].output

            gen.generate(prompts, params, keep, batch_size=self.batch_size)
        for r, o in zip(requests, out):
            self.cache_hook.add_partial("generate_until", r.args, o)
        return out

    def _params(self, gen_kwargs: dict[str, Any]) -> GenerationParams:
        """A request's generation kwargs as tunecheck's settings (HFLM's defaults where absent)."""
        kw = dict(gen_kwargs or {})
        until = kw.get("until") or []
        if isinstance(until, str):
            until = [until]
        eos = getattr(self.model, "eos_token", None)
        stop = tuple(dict.fromkeys(s for s in [*until, *([eos] if isinstance(eos, str) else [])] if s))
        max_new = next((int(kw[k]) for k in ("max_gen_toks", "max_new_tokens", "max_tokens") if k in kw), self.max_gen_toks)
        sample = bool(kw.get("do_sample", False)) and float(kw.get("temperature", 1.0) or 0.0) > 0
        return GenerationParams(
            max_new_tokens=max_new,
            temperature=float(kw.get("temperature", 1.0)) if sample else 0.0,
            top_p=float(kw.get("top_p", 1.0) or 1.0) if sample else 1.0,
            stop=stop,
        )
