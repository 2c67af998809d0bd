"""Output diversity, base vs tuned: does the fine-tune answer different prompts alike?

"Very low response diversity" is a sign of an overfit fine-tune: it has learnt to reproduce its
training responses' wording whatever the prompt. Each predictions file is one model's outputs
on the same prompts (generation 0 of each sample); the first file is the baseline. Per model:
distinct-1/2/3 (corpus level; higher = more diverse) and mean self-BLEU (0-100; higher = less
diverse), each with a 95% bootstrap CI over outputs.

Every later model is compared with the baseline on the sample ids both have, the metrics
recomputed on exactly those outputs, with one resampling index shared by both models and by
every metric (the same seed), so a resample drops and repeats the same prompts for both.
The four metrics of one comparison are Holm-adjusted: a verdict is "regressed" (less diverse)
or "improved" only if the CI of the difference excludes zero and the adjusted p < 0.05.

distinct-n falls as outputs get longer (more tokens, more chances to repeat one), so a
fine-tune that answers more briefly can gain distinct-1 without being more varied: read it
beside distinct-2/3 and self-BLEU, which a formulaic answer raises whatever its length.

Diversity does not apply to answers from a closed label set (a classifier's distinct-1 falls
because it answers with one label word, as it should) nor to fewer than 10 outputs: each model's
details say `applies` and, if not, the `reason`; its signal is then "not applicable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tunecheck._progress import Progress, start
from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Result, Signal
from tunecheck.data import align_ids
from tunecheck.errors import ConfigError
from tunecheck.metrics import SELF_BLEU_ORDER, distinct_stats, self_bleu
from tunecheck.overfitting._applies import YES, Applies, closed_label_set, enough, references_of
from tunecheck.overfitting._signals import signals_for_models
from tunecheck.scoring import (
    PredictionSet,
    load_prediction_sets,
    pairing_warnings,
    require_shared_ids,
)
from tunecheck.stats import (
    N_RESAMPLES,
    SampleStats,
    adjust_holm,
    bootstrap_sums,
    paired,
    percentile_ci,
)

SIGNAL = "output diversity"
"""The name of this check's overfitting signal."""
DIVERSITY_NS = (1, 2, 3)
"""distinct-n orders reported by default: words, word pairs, word triples."""


@dataclass
class ModelDiversity:
    """One model's diversity over all its outputs."""

    model: str
    file: str
    n: int
    """Outputs measured: generation 0 of each sample in the file."""
    metrics: dict[str, Estimate]
    """distinct_1, distinct_2, ... and self_bleu, each with its 95% bootstrap CI."""
    applies: Applies = YES
    """Not for a closed label set (a classifier's distinct-n falls by design) or too few outputs."""
    identity: dict[str, Any] = field(default_factory=dict)
    """What the predictions file says about the model that wrote it."""


def diversity_applies(pset: PredictionSet) -> Applies:
    """Diversity says nothing about outputs from a closed label set, nor about a handful."""
    few = enough(len(pset.rows), "outputs")
    if not few.applies:
        return few
    outputs = [p.output for p in pset.rows]
    closed = closed_label_set(outputs, references_of([p.fields for p in pset.rows]))
    if closed:
        return Applies(False, f"{closed}, where fewer distinct words is what a fine-tune should learn")
    return YES


@dataclass
class DiversityReport:
    config: dict[str, Any]
    models: list[ModelDiversity]
    """The baseline first."""
    comparison: list[Comparison]
    """(baseline, model, result), one per metric of each later model, Holm-adjusted together."""
    warnings: list[str]
    data: list[DataInfo] = field(default_factory=list)
    """The predictions files read, in order."""

    def signals(self) -> list[Signal]:
        """The "output diversity" signal of every model compared with the baseline."""
        return signals_for_models(SIGNAL, self.comparison, [(m.model, m.applies) for m in self.models[1:]], "diversity vs the base")

    def to_result(self) -> Result:
        """Each model's distinct-n and self-BLEU with CIs, the comparisons, the signals; whether
        the check applies (and why not) in each model's details."""
        return Result(
            layer="diversity",
            data=list(self.data),
            models=[ModelInfo(m.model, dict(m.identity), {"file": m.file, "n": m.n, **m.applies.as_details()}) for m in self.models],
            config=dict(self.config),
            estimates=[replace(e, metric=k, model=m.model, n=m.n) for m in self.models for k, e in m.metrics.items()],
            comparisons=list(self.comparison),
            signals=self.signals(),
            warnings=list(self.warnings),
        )


def diversity_stats(texts: Sequence[str], ns: Sequence[int] = DIVERSITY_NS) -> dict[str, SampleStats]:
    """Every diversity metric of one set of outputs, as statistics for the bootstrap engine.

    Per-output self-BLEU depends on the whole set (its references are the other outputs); the
    bootstrap resamples these values as if fixed, so a resample that repeats an output does not
    raise the others' self-BLEU. distinct-n is handled properly by `metrics.distinct_stats`."""
    stats = {f"distinct_{n}": distinct_stats(texts, n) for n in ns}
    stats["self_bleu"] = SampleStats.mean("self_bleu", self_bleu(texts), higher_is_better=False)
    return stats


def _estimates(stats: dict[str, SampleStats], n_resamples: int, seed: int) -> dict[str, Estimate]:
    # every metric's columns side by side: one pass of resampling serves them all, and with the
    # same seed it is the very resampling `stats.estimate` would draw for each alone
    names = list(stats)
    widths = [stats[k].columns.shape[1] for k in names]
    sums = bootstrap_sums(np.hstack([stats[k].columns for k in names]), n_resamples=n_resamples, seed=seed)
    out: dict[str, Estimate] = {}
    col = 0
    for name, width in zip(names, widths):
        reps = stats[name].scorer(sums[:, col : col + width])
        out[name] = Estimate(stats[name].value(), percentile_ci(reps))
        col += width
    return out


def _on_shared(
    stats: dict[str, SampleStats], pset: PredictionSet, rows: list[int], orders: Sequence[int]
) -> dict[str, SampleStats]:
    """The metrics on the shared outputs, in the shared order. Both metrics depend on which
    outputs are in the set, so a subset is recomputed; the whole set only needs reordering."""
    if len(rows) == len(pset.rows):
        index = np.asarray(rows)
        return {k: v.take(index) for k, v in stats.items()}
    return diversity_stats([pset.rows[k].output for k in rows], orders)


def _check_ns(ns: Sequence[int]) -> tuple[int, ...]:
    orders = tuple(ns)
    if not orders or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in orders):
        raise ConfigError(f"n-gram orders {list(orders)!r}: give one or more positive integers, e.g. 1 2 3")
    if len(set(orders)) < len(orders):
        raise ConfigError(f"n-gram orders {list(orders)!r}: each order only once")
    return orders


def compare_diversity(
    sets: Sequence[str | PredictionSet],
    *,
    ns: Sequence[int] = DIVERSITY_NS,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    progress: Progress | None = None,
) -> DiversityReport:
    """Diversity of each predictions file (`FILE` or `FILE,name=NAME`) and of every later one
    against the first, paired on the sample ids they share."""
    orders = _check_ns(ns)
    if n_resamples < 1000:
        raise ConfigError(f"--n-resamples {n_resamples}: use at least 1,000 (10,000 is the default)")
    loaded = load_prediction_sets(sets)
    require_shared_ids(loaded)
    task = start(progress, "diversity", 2 * len(loaded) - 1, "steps")
    warnings: list[str] = []
    models: list[ModelDiversity] = []
    full: list[dict[str, SampleStats]] = []
    for s in loaded:
        texts = [p.output for p in s.rows]
        full.append(diversity_stats(texts, orders))
        models.append(ModelDiversity(s.name, s.path, len(texts), _estimates(full[-1], n_resamples, seed), diversity_applies(s), s.identity))
        task.advance()
        if s.extra_generations:
            warnings.append(
                f"{s.name}: {s.extra_generations} extra generations (sample > 0) were not used; "
                "diversity is measured across prompts, on the first generation of each"
            )
        if len(texts) < 2:
            warnings.append(f"{s.name}: only one output, so self-BLEU (each output against the others) is undefined")
    base = loaded[0]
    base_ids = [p.id for p in base.rows]
    comparison: list[Comparison] = []
    for j, s in enumerate(loaded[1:], start=1):
        shared, rows_a, rows_b = align_ids(base_ids, [p.id for p in s.rows])
        task.advance()
        if len(shared) < 2:
            warnings += pairing_warnings(base, s, len(shared), least=2)
            continue
        stats_a = _on_shared(full[0], base, rows_a.tolist(), orders)
        stats_b = _on_shared(full[j], s, rows_b.tolist(), orders)
        pairs = [paired(stats_a[k], stats_b[k], n_resamples=n_resamples, seed=seed, baseline=base.name, model=s.name) for k in stats_a]
        adjusted = adjust_holm(pairs)
        warnings += pairing_warnings(base, s, len(shared), least=2, results=adjusted)
        comparison.extend(adjusted)
    config = {
        "ns": list(orders),
        "n_resamples": n_resamples,
        "seed": seed,
        "ci_method": "percentile",
        "distinct_tokenize": "13a, lowercased",
        "self_bleu": f"sacrebleu sentence BLEU against all other outputs (13a, {SELF_BLEU_ORDER}-grams, exp smoothing, effective order)",
    }
    return DiversityReport(config, models, comparison, warnings, [s.data_info() for s in loaded])
