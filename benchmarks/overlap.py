"""Leakage check speed and recall: 100,000 training x 10,000 eval texts (target: minutes, 2 cores),
then near duplicates of short texts by length and edit (benchmarks/_near_study.py).

    .venv/bin/python benchmarks/overlap.py [--train 100000] [--eval 10000] [--planted 300] [--short-only]

Synthetic texts of 40-120 words from a Zipfian vocabulary (seeded, offline), with sentence case,
commas and full stops so normalisation has work to do. The eval side holds --planted copies of
each kind: exact (a training text upper-cased, re-punctuated and re-spaced), near (a training
text of 60+ words with one word replaced) and 13-gram (a 20-word passage of a
training text inside an otherwise new 60-word text). Recall counts a planted row found with that
kind and its source row; "other matches" are flagged rows that were not planted.

Stages are timed as `find_overlap` runs them (a progress object notes when each begins), plus
two side measurements: MinHash signatures of the word 3-gram shingles alone (the long texts' tier), in
tunecheck's numpy batches and with one datasketch `MinHash.update_batch` per text on a
subsample. The baseline, in the same run, is brute-force all-pairs similarity (rapidfuzz's
`process.cdist`, C++, one thread) on a --base-train x --base-eval subsample, extrapolated to the
full sizes; it finds only near duplicates, so the ratio flatters it. It also prints the largest
share of training rows any word 8-gram occurs in (the evidence for the boilerplate default).
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np
from _common import prose  # benchmarks/_common.py: scripts run from this folder
from _near_study import study
from datasketch import MinHash
from rapidfuzz import process
from rapidfuzz.distance import Indel

from tunecheck.hygiene import find_overlap, normalize
from tunecheck.hygiene._boilerplate import BOILERPLATE_N
from tunecheck.hygiene._near import Signer, word_shingle_hashes
from tunecheck.hygiene._ngrams import _WordHasher, window_hashes


class StageClock:
    """A Progress that only notes when each stage starts."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def task(self, description: str, total: int, unit: str | None = None) -> StageClock:
        self.marks.append((description, time.perf_counter()))
        return self

    def advance(self, n: int = 1) -> None:
        pass


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 10, size)
    made = {"".join(rng.choice(letters, n)) for n in lengths}
    return np.array(sorted(made))


def texts(n: int, vocab: np.ndarray, p: np.ndarray, rng: np.random.Generator, lo: int = 40, hi: int = 120) -> list[list[str]]:
    lengths = rng.integers(lo, hi + 1, n)
    tokens = vocab[rng.choice(vocab.size, int(lengths.sum()), p=p)].tolist()
    cuts = np.cumsum(lengths)[:-1].tolist()
    return [tokens[a:b] for a, b in zip([0, *cuts], [*cuts, len(tokens)])]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=100_000)
    ap.add_argument("--eval", type=int, default=10_000)
    ap.add_argument("--planted", type=int, default=300, help="eval rows planted per kind")
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--base-train", type=int, default=2000)
    ap.add_argument("--base-eval", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-cell", type=int, default=200, help="pairs per length and edit in the short-text study")
    ap.add_argument("--short-only", action="store_true", help="only the short-text study")
    args = ap.parse_args()
    if args.short_only:
        study(args.per_cell, args.seed)
        return
    rng = np.random.default_rng(args.seed)
    vocab = vocabulary(args.vocab, rng)
    p = 1.0 / np.arange(1, vocab.size + 1) ** 1.1
    p /= p.sum()

    t0 = time.perf_counter()
    train_words = texts(args.train, vocab, p, rng)
    train = [prose(ws, rng) for ws in train_words]
    evals = [prose(ws, rng) for ws in texts(args.eval, vocab, p, rng)]
    k = args.planted
    rows = rng.choice(args.eval, 3 * k, replace=False)
    planted: dict[str, dict[int, int]] = {"exact": {}, "near": {}, "ngram": {}}
    long_rows = np.flatnonzero(np.array([len(ws) for ws in train_words]) >= 60)
    for e in rows[:k].tolist():
        src = int(rng.integers(args.train))
        evals[e] = "  " + train[src].upper().replace(",", "").replace(". ", "!\n") + " ?"
        planted["exact"][e] = src
    for e in rows[k : 2 * k].tolist():
        src = int(rng.choice(long_rows))
        ws = list(train_words[src])
        ws[int(rng.integers(len(ws)))] = "zzplanted"
        evals[e] = prose(ws, rng)
        planted["near"][e] = src
    fresh = texts(k, vocab, p, rng, 40, 40)
    for e, new in zip(rows[2 * k :].tolist(), fresh):
        src = int(rng.integers(args.train))
        at = int(rng.integers(len(train_words[src]) - 20 + 1))
        evals[e] = prose(new[:20] + train_words[src][at : at + 20] + new[20:], rng)
        planted["ngram"][e] = src
    gen = time.perf_counter() - t0

    clock = StageClock()
    t0 = time.perf_counter()
    result = find_overlap(train, evals, progress=clock)
    total = time.perf_counter() - t0
    marks = [*clock.marks, ("end", t0 + total)]

    # side measurement: MinHash signatures alone, from precomputed shingle hashes
    # (the long tier's shingles, word 3-grams: every text here has 200+ characters)
    norm = [normalize(t) for t in train + evals]
    t0, hasher = time.perf_counter(), _WordHasher()
    hashed = [word_shingle_hashes(hasher, [t.split() for t in norm[lo : lo + 2048]], 3) for lo in range(0, len(norm), 2048)]
    t_shingles = time.perf_counter() - t0
    signer = Signer(128, 1)
    t0 = time.perf_counter()
    for lo, (h32, doc) in zip(range(0, len(norm), 2048), hashed):
        signer.sign(h32, doc, len(norm[lo : lo + 2048]))
    sig_batch = time.perf_counter() - t0
    base = MinHash(num_perm=128, seed=1, hashfunc=int)
    h32, doc = hashed[0]
    bounds = np.searchsorted(doc, np.arange(min(2048, len(norm)) + 1))
    t0 = time.perf_counter()
    for i in range(bounds.size - 1):
        m = base.copy()
        m.update_batch(h32[bounds[i] : bounds[i + 1]].tolist())
    sig_each = (time.perf_counter() - t0) * len(norm) / (bounds.size - 1)

    # baseline: brute-force all-pairs similarity on a subsample, extrapolated
    bt, be = norm[: args.base_train], norm[args.train : args.train + args.base_eval]
    t0 = time.perf_counter()
    process.cdist(be, bt, scorer=Indel.normalized_similarity, score_cutoff=0.8, workers=1)
    t_pairs, t_sets = time.perf_counter() - t0, 0.0
    brute = t_pairs * (args.train * args.eval) / (len(bt) * len(be))

    # evidence for the boilerplate default: the largest share of training rows one 8-gram is in
    hasher = _WordHasher()
    keys, docs = [], []
    for lo in range(0, args.train, 4096):
        h, d = window_hashes(*hasher.flat([t.split() for t in norm[lo : min(lo + 4096, args.train)]]), BOILERPLATE_N)
        keys.append(h)
        docs.append(d + lo)
    pairs_ = np.unique(np.stack([np.concatenate(keys), np.concatenate(docs).astype(np.uint64)]), axis=1)
    top = int(np.unique(pairs_[0], return_counts=True)[1].max())

    found = {pair.eval_index: pair for pair in result.pairs}
    print(
        f"overlap: {args.train:,} train x {args.eval:,} eval texts (40-120 words, Zipfian vocabulary of "
        f"{vocab.size:,}), {os.cpu_count()} CPUs; data generated in {gen:.1f} s"
    )
    print("  stage                          seconds")
    for (name, at), (_, nxt) in itertools.pairwise(marks):
        print(f"  {name:30s} {nxt - at:8.2f}")
    print(f"  {'total find_overlap':30s} {total:8.2f}")
    print(f"  shingle hashing alone {t_shingles:.2f} s; MinHash signatures from those hashes: numpy batches "
          f"{sig_batch:.2f} s, one datasketch update_batch per text {sig_each:.1f} s (from "
          f"{bounds.size - 1:,} texts): {sig_each / sig_batch:.0f}x")
    print(f"  largest share of training rows holding one word {BOILERPLATE_N}-gram: {top} rows = {100 * top / args.train:.4f}%")
    print(f"  brute-force all-pairs similarity (rapidfuzz cdist): {t_pairs + t_sets:.2f} s for {len(bt):,} x {len(be):,}, "
          f"extrapolated {brute:,.0f} s ({brute / 3600:.1f} h) -> {brute / total:,.0f}x slower")
    lsh = ", ".join(f"{tier} {b} bands x {r} rows" for tier, (b, r) in result.lsh.items())
    print(f"  LSH {lsh}; counts: exact {result.exact.count}, near {result.near.count}, ngram {result.ngram.count}")
    for kind, want in planted.items():
        hit = sum(1 for e, src in want.items() if e in found and kind in found[e].kinds and found[e].train_index == src)
        print(f"  recall {kind:6s} {hit}/{len(want)} = {hit / len(want):.3f}")
    planted_rows = set(rows.tolist())
    print(f"  other matches (not planted): {sum(1 for e in found if e not in planted_rows)}")
    js = [found[e].similarity for e in planted["near"] if e in found]
    if js:
        print(f"  planted near similarity: min {min(js):.3f}, median {float(np.median(js)):.3f}")
    study(args.per_cell, args.seed)


if __name__ == "__main__":
    main()
