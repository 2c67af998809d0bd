"""Rephrase sensitivity: does quality hold when the prompt is said differently?

A model that learned the task answers a paraphrased prompt about as well as the original; a
model that memorised training prompts does well on their exact wording and worse on any other.
The user supplies predictions on the original prompts and on paraphrases of them (same ids, or
an `original_id` field naming the original). Each model's paraphrase quality is compared with
its original quality, paired by id, through the score layer; with several models, the change
of each later model is compared with the first's (a difference in differences), so a drop
every model shows (a harder paraphrase) is not blamed on the fine-tune.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from tunecheck.core import Comparison, DataInfo, ModelInfo, Result, Signal
from tunecheck.errors import ConfigError, DataError
from tunecheck.overfitting._applies import YES
from tunecheck.overfitting._signals import signals_for_models
from tunecheck.scoring import PredictionSet, ScoreConfig, ScoreReport, score_predictions
from tunecheck.stats import SampleStats, adjust_holm, paired

SIGNAL = "paraphrase sensitivity"
"""The name of this check's overfitting signal."""


@dataclass
class RephraseReport:
    task: str
    per_model: list[tuple[str, ScoreReport]]
    """For each model, the score report of [original, paraphrased]: its comparison is the change."""
    versus_baseline: list[Comparison] = field(default_factory=list)
    """(baseline, model, result): the model's change on paraphrases minus the baseline's."""
    warnings: list[str] = field(default_factory=list)

    def signals(self) -> list[Signal]:
        """The "paraphrase sensitivity" signal of every model compared with the baseline."""
        return signals_for_models(SIGNAL, self.versus_baseline, [(name, YES) for name, _ in self.per_model[1:]],
                                  "change on paraphrased prompts vs the base's change")

    def to_result(self) -> Result:
        """Per model, each metric on the originals (`<metric>_original`) and the paraphrases
        (`<metric>_paraphrased`) with CIs; the comparisons: each model's own change (baseline
        "NAME original", model "NAME paraphrased", `extra["within"]` = NAME), then every later
        model's change against the baseline's; the signals."""
        data: list[DataInfo] = []
        models, estimates, comparisons = [], [], []
        for name, rep in self.per_model:
            orig, para = rep.models
            models.append(ModelInfo(name, dict(orig.identity), {"original": orig.file, "paraphrased": para.file, "n": orig.n}))
            for scores, which in ((orig, "original"), (para, "paraphrased")):
                estimates += [replace(e, metric=f"{k}_{which}", model=name, n=scores.n) for k, e in scores.metrics.items()]
            comparisons += [replace(c, extra={**c.extra, "within": name}) for c in rep.comparison]
            data += [rep.inputs[0], replace(rep.inputs[1], role="paraphrases")]
            data += [d for d in rep.inputs[2:] if d not in data]
        config = dict(self.per_model[0][1].config) if self.per_model else {}
        return Result(layer="rephrase", data=data, models=models, config=config, estimates=estimates,
                      comparisons=[*comparisons, *self.versus_baseline], signals=self.signals(), warnings=list(self.warnings),
                      details={"task": self.task})


def _keyed_by_original(pset: PredictionSet) -> PredictionSet:
    """Paraphrase rows may carry `original_id`; score them under that id so they pair up."""
    rows = []
    seen: set[str] = set()
    for p in pset.rows:
        orig = (p.fields or {}).get("original_id")
        pid = str(orig) if orig is not None else p.id
        if pid in seen:
            raise DataError(f"{p.location}: a second paraphrase of {pid!r}; keep one paraphrase per original (one file per paraphrase set)")
        seen.add(pid)
        rows.append(dataclasses.replace(p, id=pid))
    return PredictionSet(pset.name, pset.path, tuple(rows), pset.extra_generations)


def rephrase_sensitivity(
    pairs: Sequence[tuple[str | PredictionSet, str | PredictionSet]],
    config: ScoreConfig,
    *,
    data: str | None = None,
    names: Sequence[str] | None = None,
) -> RephraseReport:
    """`pairs`: for each model, (predictions on the originals, predictions on the paraphrases).
    The first model is the baseline."""
    if not pairs:
        raise ConfigError("pass --original and --paraphrased predictions for at least one model")
    per_model: list[tuple[str, ScoreReport]] = []
    deltas: list[tuple[str, dict[str, dict[str, float]]]] = []
    warnings: list[str] = []
    for k, (orig, para) in enumerate(pairs):
        o = orig if isinstance(orig, PredictionSet) else PredictionSet.load(orig)
        p = _keyed_by_original(para if isinstance(para, PredictionSet) else PredictionSet.load(para))
        name = names[k] if names else o.name
        o, p = PredictionSet(f"{name} original", o.path, o.rows, o.extra_generations), PredictionSet(f"{name} paraphrased", p.path, p.rows, p.extra_generations)
        report = score_predictions([o, p], config, data=data)
        per_model.append((name, report))
        warnings += report.warnings  # each names its set already ("NAME original: ...", "NAME paraphrased vs ...")
        # per-sample change (paraphrased - original) for the metrics that are per-sample means
        mo, mp = report.models
        pos = {i: j for j, i in enumerate(mp.ids)}
        change: dict[str, dict[str, float]] = {}
        for metric, values in mo.per_sample.items():
            if metric not in mp.per_sample or metric == "unparsed":
                continue
            change[metric] = {i: mp.per_sample[metric][pos[i]] - values[j] for j, i in enumerate(mo.ids) if i in pos}
        deltas.append((name, change))
    versus: list[Comparison] = []
    base_name, base_change = deltas[0]
    # a lower-is-better metric's change is lower-is-better too (a custom metric may say so)
    better = {c.metric: c.higher_is_better for c in per_model[0][1].comparison}
    for name, change in deltas[1:]:
        results = []
        for metric, by_id in base_change.items():
            other = change.get(metric, {})
            shared = [i for i in by_id if i in other]
            if len(shared) < 2:
                if metric in change:  # said once per metric the model has, not for one only the base has
                    warnings.append(f"{name}: only {len(shared)} sample(s) with both predictions shared with {base_name}: "
                                    f"{metric}_change not compared (at least 2 needed)")
                continue
            hib = better[metric]
            a = SampleStats.mean(f"{metric}_change", np.array([by_id[i] for i in shared]), higher_is_better=hib)
            b = SampleStats.mean(f"{metric}_change", np.array([other[i] for i in shared]), higher_is_better=hib)
            results.append(paired(a, b, n_resamples=config.n_resamples, seed=config.seed, baseline=base_name, model=name))
        versus += adjust_holm(results)
    return RephraseReport(config.task, per_model, versus, warnings)
