"""Multiple-choice throughput of tunecheck's Hugging Face backend on the CPU: a question's choices
scored against one KV-cached pass over their shared context, against every (context + choice)
scored separately.

    .venv/bin/python benchmarks/multiple_choice.py [--items 60] [--hidden 256] [--layers 4] ...

Everything is built offline, as in benchmarks/perplexity.py: a BPE tokenizer trained on the demo
corpus and a randomly initialised Llama (speed does not depend on the weights). Items have 4
choices, in two shapes of lm-evaluation-harness's tasks:

  mmlu       a question of 1-3 demo paragraphs (about 50-150 tokens) followed by four lettered
             options and "Answer:"; the choices are " A", " B", " C", " D" (one token each).
  hellaswag  a context of 1-2 paragraphs; the choices are four continuations of 8-30 words.

Two ways of scoring the same requests are timed, in items per second (wall time, best of
--repeats rounds that interleave the methods, after a warm-up on a tenth of the items):

  shared context  HFModel.loglikelihood_choices: one group per item.
  separate        HFModel.loglikelihood on the flat list of (context, choice) requests, its
                  automatic batching (longest first, token budget).

Both include tokenisation. The script also checks that both give the same numbers (the largest
difference of a token log-probability is printed) and counts the positions each computes.
--json PATH also writes the figures. Not a test: numbers depend on the machine, and shared CPUs
are noisy, hence best-of-N.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from _common import model_options  # benchmarks/ is on the path when a script runs

from tunecheck.demo._build import tiny_llama, train_tokenizer
from tunecheck.demo._corpus import corpus, world
from tunecheck.models._hf import HFModel
from tunecheck.models._protocol import LoglikelihoodRequest

SHAPES = ("mmlu", "hellaswag")
Groups = list[list[LoglikelihoodRequest]]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    model_options(p)
    p.add_argument("--context", type=int, default=512, help="the model's context length (default 512)")
    p.add_argument("--items", type=int, default=60, help="4-choice items per shape (default 60)")
    p.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of {', '.join(SHAPES)}")
    p.add_argument("--seed", type=int, default=0, help="seed of the items (default 0)")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the figures here")
    args = p.parse_args(argv)
    args.shapes = [s for s in args.shapes.split(",") if s]
    if args.repeats < 1 or args.items < 1 or not set(args.shapes) <= set(SHAPES):
        p.error(f"--repeats and --items must be >= 1, --shapes of {', '.join(SHAPES)}")
    return args


def make_items(pieces: list[str], shape: str, n: int, seed: int) -> Groups:
    """`n` 4-choice items of `shape` from demo-corpus paragraphs (see the module docstring)."""
    rng = random.Random(seed)
    words = " ".join(pieces).split()

    def span(lo: int, hi: int) -> str:
        k = rng.randint(lo, hi)
        at = rng.randrange(len(words) - k)
        return " ".join(words[at : at + k])

    items: Groups = []
    for _ in range(n):
        if shape == "mmlu":
            question = "\n\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))
            options = "\n".join(f"{letter}. {span(3, 12)}" for letter in "ABCD")
            context = f"{question}\n{options}\nAnswer:"
            items.append([LoglikelihoodRequest(context, f" {letter}") for letter in "ABCD"])
        else:
            context = "\n\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 2)))
            items.append([LoglikelihoodRequest(context, " " + span(8, 30)) for _ in range(4)])
    return items


class PositionCounter:
    """Counts the positions (batch x width, padding included) each forward pass computes."""

    def __init__(self, model: Any) -> None:
        self.positions = 0
        self._handle = model.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            self.positions += int(ids.numel())

    def remove(self) -> None:
        self._handle.remove()


def timed_rounds(
    methods: Sequence[tuple[str, Callable[[Groups], object]]], items: Groups, warm: Groups, repeats: int, counter: PositionCounter
) -> dict[str, dict[str, Any]]:
    """Warm every method up, then time them in interleaved rounds (A B, A B, ...), so a slow
    phase of a shared machine hits both alike; each keeps its best wall time."""
    for _, run in methods:
        run(warm)
    times: dict[str, list[float]] = {name: [] for name, _ in methods}
    positions: dict[str, int] = {}
    for _ in range(repeats):
        for name, run in methods:
            counter.positions = 0
            start = time.perf_counter()
            run(items)
            times[name].append(time.perf_counter() - start)
            positions[name] = counter.positions
    return {
        name: {
            "seconds": min(ts),
            "seconds_median": statistics.median(ts),
            "seconds_all": ts,
            "items_per_s": len(items) / min(ts),
            "forward_positions": positions[name],
        }
        for name, ts in times.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pieces = corpus(world())
    tok = train_tokenizer(pieces, vocab_size=args.vocab)
    model = tiny_llama(tok, hidden=args.hidden, layers=args.layers, heads=args.heads, context=args.context).float()
    model.eval()
    hf = HFModel(model, tok, "bench", "cpu")
    params = sum(p.numel() for p in model.parameters())

    def shared(groups: Groups) -> object:
        return hf.loglikelihood_choices(groups)

    def separate(groups: Groups) -> object:
        return hf.loglikelihood([r for g in groups for r in g])

    methods = [("shared context", shared), ("separate", separate)]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, python "
        f"{platform.python_version()}, {platform.machine()}",
        flush=True,
    )
    print(
        f"model: Llama hidden={args.hidden} layers={args.layers} heads={args.heads} "
        f"vocab={model.config.vocab_size}, {params / 1e6:.2f}M parameters, float32, cpu; "
        f"best of {args.repeats} interleaved rounds after a warm-up",
        flush=True,
    )
    figures: dict[str, Any] = {}
    counter = PositionCounter(model)
    for shape in args.shapes:
        items = make_items(pieces, shape, args.items, args.seed)
        warm = items[: max(4, len(items) // 10)]
        ctx = [len(tok(g[0].context, add_special_tokens=False)["input_ids"]) for g in items]
        ch = [len(tok(r.continuation, add_special_tokens=False)["input_ids"]) for g in items for r in g]
        # the same numbers, checked once outside the timing
        a = [s for g in hf.loglikelihood_choices(items) for s in g]
        b = hf.loglikelihood([r for g in items for r in g])
        diff = max(float(abs(x.logprobs - y.logprobs).max()) for x, y in zip(a, b))
        same_tokens = all((x.token_ids == y.token_ids).all() for x, y in zip(a, b))
        results = timed_rounds(methods, items, warm, args.repeats, counter)
        speedup = results["shared context"]["items_per_s"] / results["separate"]["items_per_s"]
        print(
            f"\n{shape}: {len(items)} items x 4 choices; context tokens median {int(statistics.median(ctx))} "
            f"(min {min(ctx)}, max {max(ctx)}), choice tokens median {int(statistics.median(ch))} (max {max(ch)})"
        )
        header = f"  {'method':<16}{'seconds':>9}{'items/s':>10}{'positions':>11}   runs"
        print(header)
        for name, r in results.items():
            runs = ", ".join(f"{s:.2f}" for s in r["seconds_all"])
            print(f"  {name:<16}{r['seconds']:>9.2f}{r['items_per_s']:>10.1f}{r['forward_positions']:>11}   {runs}")
        print(f"  shared context vs separate: {speedup:.2f}x items/s; same tokens: {same_tokens}; largest logprob difference {diff:.1e}")
        figures[shape] = {
            "items": len(items),
            "context_tokens_median": statistics.median(ctx),
            "choice_tokens_median": statistics.median(ch),
            "methods": results,
            "speedup": speedup,
            "same_tokens": same_tokens,
            "max_logprob_difference": diff,
        }
    counter.remove()
    if args.json:
        out = {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "config": {k: v for k, v in vars(args).items() if k != "json"},
            "parameters": params,
            "shapes": figures,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
