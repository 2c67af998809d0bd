"""Overfitting layer figures: curve-divergence false alarms, the distinct-n bootstrap, diversity speed.

    .venv/bin/python benchmarks/overfitting.py [--runs 400] [--datasets 200] [--outputs 1000] [--quick]

Reproduces, in one run, the figures the README quotes for the overfitting layer. All data are
simulated here (seeded, offline):

1. Curve divergence (`overfitting.analyse_curves`, patience 3). --runs training runs per noise
   level, each with 12-20 evaluations 100 steps apart: the eval loss decays exponentially to a
   plateau (0.5-2.5) plus Gaussian noise of sd --noise x the plateau; the training loss is logged
   every 10 steps (noise sd 2% of the plateau) and keeps falling below it, by --train-decline
   (15%) of the plateau over the run after its early decay. These runs do not overfit, so any
   `diverges_at` is a false alarm: the share flagged with the default noise-aware
   `min_delta=None` against the classic `min_delta=0.0`. A falling training loss is the hard
   case (divergence requires one); with --train-decline 0 fewer plateaus are flagged, but
   fewer real rises too. Runs that do overfit are the same curves with the eval loss rising by
   --rise (3%) of the plateau per evaluation after a minimum at 1/3-1/2 of the run: the share
   detected, and the median lag of `diverges_at` after the true minimum.
2. The distinct-n bootstrap (`metrics.distinct_stats`, `stats.estimate`). (a) The naive
   resample -- count_nonzero(w @ M) / (w @ totals) with M, totals from `metrics.ngram_presence`
   and w the resample counts of `stats.resample_counts` -- on --unique outputs whose bigrams are
   all distinct (distinct-2 = 1.0): its mean over resamples, against tunecheck's interval.
   (b) Coverage of tunecheck's 95% percentile CI (1,000 resamples) of distinct-2 over --datasets
   datasets of 150, 200 or 300 outputs of 8-30 words from a Zipfian vocabulary of --vocab
   words (exponent 1.1), plain and with shared templates (half the outputs open with one of 5
   fixed 6-word phrases). The "true" value for a size is the mean distinct-2 of --truth
   independent datasets of that size; the naive method's percentile interval from the same
   resamples is scored too.
3. Diversity speed, best of --repeats wall times after a warm-up: `overfitting.compare_diversity`
   on two predictions JSONL files of --outputs outputs each (20-80 words; written to a temporary
   folder) with 10,000 resamples, and `metrics.self_bleu` alone on one of them. The baseline,
   in the same run, is `sacrebleu.sentence_bleu(output, others)` on --base-hyps outputs,
   extrapolated to all of them (its scores are checked against tunecheck's).

Not a test: the figures depend on the machine (and, for 1-2, on the seed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import best, prose  # benchmarks/_common.py: scripts run from this folder

from tunecheck.metrics import distinct_n, distinct_stats, ngram_presence, self_bleu
from tunecheck.overfitting import CurvePoint, TrainingCurves, analyse_curves, compare_diversity
from tunecheck.stats import estimate, percentile_ci, resample_counts

EVAL_EVERY = 100
TRAIN_EVERY = 10
SIZES = (150, 200, 300)
TEMPLATE_WORDS = 6


# ---------------------------------------------------------------------------------------------
# 1. curves


def simulate_run(
    rng: np.random.Generator, noise: float, evals: tuple[int, int], rise: float | None, decline: float
) -> tuple[TrainingCurves, int | None]:
    """One run's curves, and (with `rise`) the step after which the eval loss starts rising."""
    k = int(rng.integers(evals[0], evals[1] + 1))
    plateau = rng.uniform(0.5, 2.5)
    amp, tau = rng.uniform(0.3, 1.0), rng.uniform(1.0, 3.0)  # tau in evaluations
    idx = np.arange(1, k + 1)
    clean = plateau * (1 + amp * np.exp(-(idx - 1) / tau))
    turn = None
    if rise is not None:
        m = int(rng.integers(k // 3, k // 2 + 1))
        clean = clean + rise * plateau * np.maximum(0, idx - m)
        turn = m * EVAL_EVERY
    eval_loss = clean + rng.normal(0.0, noise * plateau, k)
    steps = np.arange(TRAIN_EVERY, k * EVAL_EVERY + 1, TRAIN_EVERY)
    # below the eval loss and, with decline > 0, falling to the end: an exponential decay plus a
    # linear decline of `decline` x the plateau over the run
    train = plateau * (0.6 + (amp + 0.3) * np.exp(-steps / (tau * EVAL_EVERY)) - decline * steps / steps[-1])
    train = train + rng.normal(0.0, 0.02 * plateau, steps.size)
    curves = TrainingCurves(
        source="simulated",
        format="csv",
        train=tuple(CurvePoint(int(s), float(v)) for s, v in zip(steps, train)),
        eval=tuple(CurvePoint(int(i * EVAL_EVERY), float(v)) for i, v in zip(idx, eval_loss)),
    )
    return curves, turn


def curve_rows(args: argparse.Namespace) -> None:
    lo, hi = args.evals
    print(f"curve divergence (analyse_curves, patience 3): {args.runs} simulated runs per row, {lo}-{hi} "
          f"evaluations, eval noise sd as a share of the plateau, train loss declining "
          f"{100 * args.train_decline:g}% of the plateau over the run")
    print(f"  {'runs':28s} {'noise':>6s}   {'min_delta=None (auto)':>22s}   {'min_delta=0':>16s}")
    rng = np.random.default_rng(args.seed)
    for noise in args.noise:
        flagged = {"auto": 0, "zero": 0}
        for _ in range(args.runs):
            curves, _ = simulate_run(rng, noise, (lo, hi), None, args.train_decline)
            flagged["auto"] += analyse_curves(curves).diverges_at is not None
            flagged["zero"] += analyse_curves(curves, min_delta=0.0).diverges_at is not None
        a, z = flagged["auto"], flagged["zero"]
        print(f"  {'plateau: flagged (false)':28s} {100 * noise:5.1f}%   {a:4d} = {100 * a / args.runs:5.1f}%{'':7s}"
              f"{z:4d} = {100 * z / args.runs:5.1f}%")
    for noise in args.noise:
        hits = {"auto": 0, "zero": 0}
        lags: list[float] = []
        for _ in range(args.runs):
            curves, turn = simulate_run(rng, noise, (lo, hi), args.rise, args.train_decline)
            assert turn is not None
            at = analyse_curves(curves).diverges_at
            if at is not None:
                hits["auto"] += 1
                lags.append((at - turn) / EVAL_EVERY)
            hits["zero"] += analyse_curves(curves, min_delta=0.0).diverges_at is not None
        a, z = hits["auto"], hits["zero"]
        label = f"rise {100 * args.rise:g}%/eval: detected"
        lag = f"   median lag {float(np.median(lags)):.0f} evaluation(s) after the minimum" if lags else ""
        print(f"  {label:28s} {100 * noise:5.1f}%   {a:4d} = {100 * a / args.runs:5.1f}%{'':7s}"
              f"{z:4d} = {100 * z / args.runs:5.1f}%{lag}")


# ---------------------------------------------------------------------------------------------
# 2. distinct-n bootstrap


def naive_replicates(texts: list[str], n: int, n_resamples: int, seed: int) -> np.ndarray:
    """distinct-n of each resample, recounting unique n-grams of the outputs drawn (the naive way)."""
    matrix, totals = ngram_presence(texts, n)
    by_row = matrix.T.tocsr()  # (types x outputs): types present = nonzero rows of by_row @ w.T
    out = []
    for counts in resample_counts(len(texts), n_resamples, seed):
        for lo in range(0, counts.shape[0], 100):  # keep the dense (types x block) product small
            w = counts[lo : lo + 100]
            present = np.count_nonzero(np.asarray(by_row @ w.T), axis=0)
            out.append(present / (w @ totals))
    return np.concatenate(out)


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    made: set[str] = set()
    while len(made) < size:
        made.add("".join(rng.choice(letters, int(rng.integers(2, 10)))))
    return np.array(sorted(made))


def token_ids(
    m: int, vocab_size: int, p: np.ndarray, templates: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A dataset of m outputs of 8-30 words: (flat word ids, offsets of each output's start and end)."""
    lengths = rng.integers(8, 31, m)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.choice(vocab_size, int(offsets[-1]), p=p)
    if templates is not None:
        use = rng.random(m) < 0.5
        which = rng.integers(0, templates.shape[0], int(use.sum()))
        ids[offsets[:-1][use][:, None] + np.arange(TEMPLATE_WORDS)] = templates[which]
    return ids, offsets


def fast_distinct_2(ids: np.ndarray, offsets: np.ndarray, vocab_size: int) -> float:
    codes = ids[:-1].astype(np.int64) * vocab_size + ids[1:]
    keep = np.ones(codes.size, dtype=bool)
    keep[offsets[1:-1] - 1] = False  # pairs across two outputs
    codes = codes[keep]
    return float(np.unique(codes).size / codes.size)


def distinct_rows(args: argparse.Namespace) -> None:
    # (a) bias of the naive resample on all-unique outputs
    rng = np.random.default_rng(args.seed + 1)
    unique = [" ".join(f"w{i}x{j}" for j in range(int(rng.integers(10, 31)))) for i in range(args.unique)]
    reps = naive_replicates(unique, 2, args.resamples, seed=1)
    tc = estimate(distinct_stats(unique, 2), n_resamples=args.resamples, seed=1)
    assert tc.ci95 is not None
    lo, hi = percentile_ci(reps)
    print(f"distinct-2 bootstrap, {args.unique:,} outputs with all bigrams unique (distinct-2 = "
          f"{distinct_n(unique, 2):.3f}), {args.resamples:,} resamples:")
    print(f"  naive (recount unique n-grams in each resample): mean {reps.mean():.3f}, 95% CI [{lo:.3f}, {hi:.3f}]")
    print(f"  tunecheck distinct_stats: {tc.value:.3f}, 95% CI [{tc.ci95[0]:.3f}, {tc.ci95[1]:.3f}]")

    # (b) coverage
    rng = np.random.default_rng(args.seed + 2)
    vocab = vocabulary(args.vocab, rng)
    p = 1.0 / np.arange(1, vocab.size + 1) ** 1.1
    p /= p.sum()
    templates = rng.choice(vocab.size, (5, TEMPLATE_WORDS), p=p)
    print(f"  coverage of the 95% CI of distinct-2, {args.datasets} datasets per process ({'/'.join(map(str, SIZES))} "
          f"outputs of 8-30 words, Zipfian vocabulary of {vocab.size:,}); truth = mean of {args.truth:,} datasets per size")
    print(f"  {'process':18s} {'true distinct-2 by size':>26s}   {'tunecheck':>9s}  {'mean width':>10s}   {'naive':>6s}  {'naive mean':>10s}")
    for name, tmpl in (("zipf", None), ("zipf + templates", templates)):
        truth_rng = np.random.default_rng([args.seed, 3, 0 if tmpl is None else 1])
        truth = {m: float(np.mean([fast_distinct_2(*token_ids(m, vocab.size, p, tmpl, truth_rng), vocab.size)
                                   for _ in range(args.truth)])) for m in SIZES}
        data_rng = np.random.default_rng([args.seed, 4, 0 if tmpl is None else 1])
        covered = naive_covered = 0
        widths, naive_means = [], []
        for d in range(args.datasets):
            m = SIZES[d % len(SIZES)]
            ids, offsets = token_ids(m, vocab.size, p, tmpl, data_rng)
            texts = [" ".join(vocab[ids[a:b]]) for a, b in itertools.pairwise(offsets)]
            if d < 3:  # the fast count is the metric itself: 13a leaves lower-case words alone
                assert abs(distinct_n(texts, 2) - fast_distinct_2(ids, offsets, vocab.size)) < 1e-12
            est = estimate(distinct_stats(texts, 2), n_resamples=args.resamples, seed=d)
            assert est.ci95 is not None
            covered += est.ci95[0] <= truth[m] <= est.ci95[1]
            widths.append(est.ci95[1] - est.ci95[0])
            naive = naive_replicates(texts, 2, args.resamples, seed=d)
            nlo, nhi = percentile_ci(naive)
            naive_covered += nlo <= truth[m] <= nhi
            naive_means.append(float(naive.mean()) - truth[m])
        by_size = " ".join(f"{truth[m]:.3f}" for m in SIZES)
        print(f"  {name:18s} {by_size:>26s}   {100 * covered / args.datasets:8.1f}%  {np.mean(widths):10.4f}   "
              f"{100 * naive_covered / args.datasets:5.1f}%  {np.mean(naive_means):+10.4f}")
    print("  (naive mean: the naive replicates' mean minus the true value, averaged over datasets)")


# ---------------------------------------------------------------------------------------------
# 3. timing


def timing_rows(args: argparse.Namespace) -> None:
    import sacrebleu

    rng = np.random.default_rng(args.seed + 5)
    vocab = vocabulary(args.vocab, rng)
    p = 1.0 / np.arange(1, vocab.size + 1) ** 1.1
    p /= p.sum()

    def outputs(n: int, template: list[str] | None) -> list[str]:
        lengths = rng.integers(20, 81, n)
        words = vocab[rng.choice(vocab.size, int(lengths.sum()), p=p)].tolist()
        cuts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        made = []
        for a, b in itertools.pairwise(cuts):
            ws = words[a:b]
            if template is not None and rng.random() < 0.6:  # the tuned model's stock opening
                ws = template + ws[len(template) :]
            made.append(prose(ws, rng))
        return made

    base = outputs(args.outputs, None)
    tuned = outputs(args.outputs, vocab[rng.choice(vocab.size, 8, p=p)].tolist())
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for model, texts in (("base", base), ("tuned", tuned)):
            path = Path(tmp) / f"{model}.jsonl"
            with path.open("w") as f:
                for i, text in enumerate(texts):
                    f.write(json.dumps({"id": f"s{i}", "model": model, "output": text}) + "\n")
            files.append(str(path))
        t_compare = best(lambda: compare_diversity(files, n_resamples=10_000), args.repeats)
        report = compare_diversity(files, n_resamples=10_000)
    t_self = best(lambda: self_bleu(base), args.repeats)
    ours = self_bleu(base)

    k = min(args.base_hyps, len(base))
    t0 = time.perf_counter()
    theirs = [sacrebleu.sentence_bleu(base[i], base[:i] + base[i + 1 :]).score for i in range(k)]
    t_sacre = (time.perf_counter() - t0) * len(base) / k
    worst = float(np.max(np.abs(np.asarray(theirs) - ours[:k])))

    print(f"diversity speed: {args.outputs:,} outputs per model (20-80 words), {os.cpu_count()} CPUs, "
          f"best of {args.repeats}")
    print(f"  {'compare_diversity, 2 files, 10,000 resamples':52s} {t_compare:8.2f} s")
    print(f"  {f'self_bleu alone, {args.outputs:,} outputs':52s} {t_self:8.2f} s   "
          f"(both models' self-BLEU: {100 * 2 * t_self / t_compare:.0f}% of compare_diversity)")
    print(f"  {f'sacrebleu.sentence_bleu(h, others), {k} of them, x{len(base) / k:g}':52s} {t_sacre:8.1f} s   "
          f"{t_sacre / t_self:,.0f}x self_bleu's time; max |score difference| {worst:.2g}")
    for m in report.models:
        shown = ", ".join(f"{k} {v.value:.3f}" for k, v in m.metrics.items())
        print(f"  {m.model}: {shown}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=400, help="simulated training runs per noise level")
    ap.add_argument("--noise", type=float, nargs="+", default=[0.005, 0.01, 0.02], help="eval noise sd / plateau")
    ap.add_argument("--rise", type=float, default=0.03, help="overfitting runs: eval loss rise per evaluation / plateau")
    ap.add_argument("--evals", type=int, nargs=2, default=[12, 20], metavar=("LO", "HI"))
    ap.add_argument("--train-decline", type=float, default=0.15,
                    help="train loss's linear fall over the run / plateau (0: it levels off too)")
    ap.add_argument("--unique", type=int, default=1000, help="all-unique outputs for the naive bias")
    ap.add_argument("--datasets", type=int, default=200, help="coverage: simulated datasets per process")
    ap.add_argument("--truth", type=int, default=2000, help="coverage: datasets per size for the true value")
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the distinct-n figures")
    ap.add_argument("--vocab", type=int, default=2000)
    ap.add_argument("--outputs", type=int, default=1000, help="outputs per model for the timings")
    ap.add_argument("--base-hyps", type=int, default=50, help="outputs scored by sacrebleu for the baseline")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.unique, args.datasets, args.truth = 60, 300, 30, 200
        args.outputs, args.base_hyps, args.repeats = 300, 10, 1
    t0 = time.perf_counter()
    curve_rows(args)
    t1 = time.perf_counter()
    distinct_rows(args)
    t2 = time.perf_counter()
    timing_rows(args)
    print(f"(sections took {t1 - t0:.0f} s, {t2 - t1:.0f} s and {time.perf_counter() - t2:.0f} s)")


if __name__ == "__main__":
    main()
