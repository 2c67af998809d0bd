"""Paired bootstrap speed: 1,000 samples x 10,000 resamples (target: under 0.5 s).

    .venv/bin/python benchmarks/stats.py [--n 1000] [--resamples 10000] [--repeats 5]

Times tunecheck's count-matrix bootstrap (`stats.bootstrap_sums` on both models' columns, then
the difference of means, CI and p-value) against the textbook version in the same run: an index
matrix and fancy indexing (`values[idx].mean(axis=1)`) per model, and scipy.stats.bootstrap's
paired percentile interval. Best of --repeats wall times. Not a test: the numbers depend on the
machine.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import best  # benchmarks/_common.py: scripts run from this folder
from scipy import stats as sps

from tunecheck.metrics import corpus_stats
from tunecheck.stats import SampleStats, bootstrap_p_value, bootstrap_sums, paired, percentile_ci


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--resamples", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    a = rng.binomial(1, 0.6, args.n).astype(float)
    b = np.clip(a + rng.binomial(1, 0.1, args.n), 0, 1)

    def tunecheck() -> object:
        sums = bootstrap_sums(np.stack([a, b], axis=1), n_resamples=args.resamples, seed=1)
        diff = (sums[:, 1] - sums[:, 0]) / args.n
        return percentile_ci(diff), bootstrap_p_value(diff)

    def index_matrix() -> object:
        idx = np.random.default_rng(1).integers(0, args.n, size=(args.resamples, args.n))
        diff = b[idx].mean(axis=1) - a[idx].mean(axis=1)
        return np.quantile(diff, [0.025, 0.975])

    def scipy_paired() -> object:
        return sps.bootstrap(
            (a, b), lambda x, y, axis: y.mean(axis=axis) - x.mean(axis=axis), paired=True,
            vectorized=True, method="percentile", n_resamples=args.resamples, random_state=1,
        ).confidence_interval

    def full_comparison() -> object:
        # what `tunecheck score` runs per metric: CI, p-value, McNemar, sign test, MDD, correlation
        return paired(SampleStats.mean("accuracy", a), SampleStats.mean("accuracy", b), n_resamples=args.resamples, seed=1)

    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away"]
    refs = [" ".join(rng.choice(words, 12)) for _ in range(args.n)]
    hyp_a = [" ".join(rng.choice(words, 12)) for _ in range(args.n)]
    hyp_b = [r if rng.random() < 0.3 else h for r, h in zip(refs, hyp_a)]

    def bleu_comparison() -> object:
        return paired(corpus_stats("bleu", hyp_a, refs), corpus_stats("bleu", hyp_b, refs), n_resamples=args.resamples, seed=1)

    rows = [("tunecheck (count matrix)", best(tunecheck, args.repeats)),
            ("tunecheck stats.paired (all tests)", best(full_comparison, args.repeats)),
            ("tunecheck paired corpus BLEU", best(bleu_comparison, max(1, args.repeats // 2))),
            ("index matrix + fancy indexing", best(index_matrix, args.repeats)),
            ("scipy.stats.bootstrap paired", best(scipy_paired, args.repeats))]
    base = rows[0][1]
    print(f"paired bootstrap: n={args.n}, resamples={args.resamples}, best of {args.repeats}")
    for name, secs in rows:
        print(f"  {name:36s} {secs:7.3f} s   {secs / base:5.2f}x the count matrix's time")


if __name__ == "__main__":
    main()
