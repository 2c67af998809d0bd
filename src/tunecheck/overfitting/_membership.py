"""Membership signal: does the tuned model single out the examples it was trained on?

Each training and held-out example gets a score that should be higher for training data, and
the AUROC of "training vs held-out" is reported: near 0.5 the model treats its training data
like new data; near 1.0 it has memorised it. Scores (all per example, higher = "member"):

- ``loss``: minus the tuned model's mean per-token NLL (Yeom et al. 2018).
- ``min_k``: the mean of the tuned model's lowest k% token log-probabilities (Min-K% Prob,
  Shi et al. 2024): memorised text has few surprising tokens.
- ``reference``: base NLL minus tuned NLL (the reference-model attack, Carlini et al. 2021;
  Mireshghallah et al. 2022). Training and held-out sets often differ in length or topic, which
  moves raw losses for reasons that have nothing to do with memorisation; the base model's loss
  cancels that.
- ``base_loss`` (control): the same AUROC from the base model's loss. The base never saw the
  training set, so anything but ~0.5 here means the two sets differ in kind, and the raw
  ``loss``/``min_k`` AUROCs overstate memorisation; trust ``reference`` then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tunecheck._progress import Progress
from tunecheck.core import DataInfo, ModelInfo, Result, Signal, Status
from tunecheck.data import Dataset, FieldMap, load_data
from tunecheck.errors import ConfigError, DataError
from tunecheck.models import SCORING, LogLikelihoodModel, ModelSpec, loaded
from tunecheck.overfitting._applies import YES, Applies, enough
from tunecheck.overfitting._signals import dataset_info
from tunecheck.perplexity import PerplexityConfig, build_requests
from tunecheck.stats import AurocResult, auroc_test

HIGH_AUROC = 0.8
"""A reference-score AUROC at or above this (with its CI above 0.5) reads as memorisation."""
LOW_AUROC = 0.6
"""A reference-score AUROC whose whole CI sits below this reads as no notable memorisation."""


@dataclass(frozen=True)
class MembershipConfig:
    n_samples: int = 200
    """Examples drawn from each of the training and held-out sets (seeded)."""
    k_percent: float = 20.0
    """Min-K% Prob: the share of lowest-probability tokens averaged (Shi et al. use 20)."""
    perplexity: PerplexityConfig = field(default_factory=PerplexityConfig)
    """How text is scored: completion-only, template, windows, dtype, device, resamples."""

    def __post_init__(self) -> None:
        if not 0 < self.k_percent <= 100:
            raise ConfigError(f"--k-percent must be in (0, 100], got {self.k_percent}")
        if self.n_samples < 2:
            raise ConfigError(f"--samples must be at least 2, got {self.n_samples}")


def min_k_prob(logprobs: np.ndarray, k_percent: float) -> float:
    """Mean of the lowest ceil(k% of n) token log-probabilities (at least one token)."""
    if logprobs.size == 0:
        return float("nan")
    k = max(1, int(np.ceil(logprobs.size * k_percent / 100)))
    return float(np.sort(logprobs)[:k].mean())


@dataclass
class DocScores:
    """Per-example scores of one model on one set, in sample order (a base's and a tuned model's
    scores of one set pair up by position: both score the same Dataset)."""

    mean_logprob: np.ndarray
    min_k: np.ndarray


@dataclass
class MembershipResult:
    model: str
    signals: dict[str, AurocResult]
    level: str
    """"high", "low" or "unclear": read from the reference AUROC when there is a base model;
    the signal maps it onto a Status (`membership_signal`)."""
    message: str
    identity: dict[str, Any] = field(default_factory=dict)
    """The backend's `identity()` of the model scored."""


@dataclass
class MembershipReport:
    baseline: str | None
    models: list[MembershipResult]
    config: MembershipConfig
    warnings: list[str] = field(default_factory=list)
    inputs: list[DataInfo] = field(default_factory=list)
    """The training (role "train") and held-out (role "eval") sets, as sampled."""
    baseline_identity: dict[str, Any] = field(default_factory=dict)

    def to_result(self) -> Result:
        """Each AUROC (metric `auroc_<score>`) with its CI per tuned model, the membership
        signals; per model its level, message, whether it applies, and each AUROC's p-value
        and group sizes in its details. The base model is named in `details["baseline"]`."""
        models, estimates = [], []
        for m in self.models:
            aurocs = {k: {"p_value": v.p_value, "n_positive": v.n_positive, "n_negative": v.n_negative} for k, v in m.signals.items()}
            models.append(ModelInfo(m.model, dict(m.identity), {"level": m.level, "message": m.message, **membership_applies(m).as_details(), "auroc": aurocs}))
            estimates += [replace(v.value, metric=f"auroc_{k}", model=m.model, n=v.n_positive + v.n_negative) for k, v in m.signals.items()]
        details: dict[str, Any] = {"baseline": self.baseline, "thresholds": {"high": HIGH_AUROC, "low": LOW_AUROC}}
        if self.baseline is not None:
            details["baseline_identity"] = dict(self.baseline_identity)
        return Result(layer="membership", data=list(self.inputs), models=models, config=asdict(self.config), estimates=estimates,
                      signals=[membership_signal(m) for m in self.models], warnings=list(self.warnings), details=details)


def membership_applies(result: MembershipResult) -> Applies:
    """An AUROC from a handful of examples per set is not evidence either way."""
    sizes = [min(s.n_positive, s.n_negative) for s in result.signals.values()]
    return enough(min(sizes), "examples in the smaller of the training and held-out sets") if sizes else YES


SIGNAL = "membership signal"
"""The name of this check's overfitting signal."""


def membership_signal(result: MembershipResult) -> Signal:
    """The level read as a signal: high is overfitting, low healthy, unclear inconclusive; not
    applicable on too few examples (the rule moved from the overfitting verdict)."""
    applies = membership_applies(result)
    if not applies.applies:
        return Signal(SIGNAL, Status.NOT_APPLICABLE, result.message, applies.reason or "the check does not apply to this model", model=result.model)
    status = {"high": Status.OVERFITTING, "low": Status.HEALTHY}.get(result.level, Status.INCONCLUSIVE)
    reason = "the AUROC is neither clearly high nor clearly low" if status == Status.INCONCLUSIVE else None
    return Signal(SIGNAL, status, result.message, reason, model=result.model)


def score_docs(model: LogLikelihoodModel, dataset: Dataset, config: MembershipConfig, *, progress: Progress | None = None) -> DocScores:
    requests, _ = build_requests(dataset, model, config.perplexity)
    p = config.perplexity
    scores = model.loglikelihood(requests, max_length=p.max_length, stride=p.stride, batch_size=p.batch_size, progress=progress, windows=p.windows)
    mean = np.array([s.logprobs.mean() if s.n_tokens else np.nan for s in scores])
    mink = np.array([min_k_prob(s.logprobs, config.k_percent) for s in scores])
    return DocScores(mean, mink)


def _level(reference: AurocResult) -> tuple[str, str]:
    value, (lo, hi) = reference.value.value, reference.value.ci95 or (float("nan"), float("nan"))
    if value >= HIGH_AUROC and lo > 0.5:
        return "high", f"the tuned model singles out its training examples (AUROC {value:.2f}): it has memorised them"
    if hi < LOW_AUROC:
        return "low", f"training examples are hardly told apart from held-out ones (AUROC {value:.2f}, CI below {LOW_AUROC})"
    return "unclear", f"some membership signal (AUROC {value:.2f}, CI [{lo:.2f}, {hi:.2f}])"


def _too_few(data: Dataset, flag: str, scorable: int, config: MembershipConfig) -> str:
    why = ""
    if scorable < len(data):  # rows with no tokens to score have no mean log-probability
        why = " (the others have no tokens to score" + (": an empty response under --completion-only)" if config.perplexity.completion_only else ")")
    return (
        f"{data.source} ({flag}): {scorable} of {len(data)} examples can be scored{why}; the AUROC needs at least 2 "
        "scorable examples in each of the training and held-out sets: add examples"
    )


def evaluate_membership(
    models: Sequence[str | ModelSpec | LogLikelihoodModel],
    train: str | Path | Dataset,
    heldout: str | Path | Dataset,
    config: MembershipConfig | None = None,
    *,
    fields: FieldMap | None = None,
    progress: Progress | None = None,
) -> MembershipReport:
    """AUROC of each membership score for every model after the first; the first model is the
    base (the reference and the control). With a single model only its own loss and Min-K%
    are available."""
    config = config or MembershipConfig()
    if not models:
        raise ConfigError("name at least one model (--model); with two or more, the first is the base")
    train_set = train if isinstance(train, Dataset) else load_data(train, fields)
    held_set = heldout if isinstance(heldout, Dataset) else load_data(heldout, fields)
    if train_set.sha256 == held_set.sha256:
        raise ConfigError(f"--train and --eval hold the same data ({train_set.source}); pass held-out data")
    seed = config.perplexity.seed
    # the sampler every --limit uses: the result records the rows' own hash and what was sampled
    train_set, held_set = train_set.sample(config.n_samples, seed), held_set.sample(config.n_samples, seed + 1)
    scored: list[tuple[str, DocScores, DocScores]] = []
    identities: list[dict[str, Any]] = []
    p = config.perplexity
    for item in models:
        with loaded(item, SCORING, layer="memorisation membership", dtype=p.dtype, device=p.device) as model:
            scored.append((model.name, score_docs(model, train_set, config, progress=progress), score_docs(model, held_set, config, progress=progress)))
            identities.append(dict(model.identity()))
    n_res = config.perplexity.n_resamples

    def test(pos: np.ndarray, neg: np.ndarray) -> AurocResult:
        keep_p, keep_n = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
        for kept, data, flag in ((keep_p, train_set, "--train"), (keep_n, held_set, "--eval")):
            if kept.size < 2:
                raise DataError(_too_few(data, flag, kept.size, config))
        return auroc_test(keep_p, keep_n, n_resamples=n_res, seed=seed)

    inputs = [dataset_info(train_set, "train"), dataset_info(held_set, "eval")]
    warnings = []
    if len(train_set) < 100 or len(held_set) < 100:
        warnings.append(f"only {len(train_set)} training and {len(held_set)} held-out examples: the AUROC CIs are wide")
    if len(models) == 1:
        name, tr, he = scored[0]
        signals = {"loss": test(tr.mean_logprob, he.mean_logprob), "min_k": test(tr.min_k, he.min_k)}
        result = MembershipResult(name, signals, "unclear", "no base model to calibrate against: raw loss AUROCs mix memorisation with how the two sets differ",
                                  identities[0])
        return MembershipReport(None, [result], config, warnings, inputs)
    base_name, base_tr, base_he = scored[0]
    control = test(base_tr.mean_logprob, base_he.mean_logprob)
    lo, hi = control.value.ci95 or (0.5, 0.5)
    if lo > 0.5 or hi < 0.5:
        warnings.append(
            f"the base model already tells the two sets apart (AUROC {control.value.value:.2f}): they differ in kind, "
            "so read the 'reference' signal, not 'loss' or 'min_k'"
        )
    results = []
    for (name, tr, he), identity in zip(scored[1:], identities[1:]):
        signals = {
            "reference": test(tr.mean_logprob - base_tr.mean_logprob, he.mean_logprob - base_he.mean_logprob),
            "loss": test(tr.mean_logprob, he.mean_logprob),
            "min_k": test(tr.min_k, he.min_k),
            "base_loss": control,
        }
        level, message = _level(signals["reference"])
        results.append(MembershipResult(name, signals, level, message, identity))
    return MembershipReport(base_name, results, config, warnings, inputs, identities[0])
