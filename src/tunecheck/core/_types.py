"""The small data model every layer speaks.

A layer turns samples into per-sample ``Record``s (keyed by sample id and model name),
aggregates them into ``Estimate``s with confidence intervals, compares each model with its
baseline in ``Comparison``s ending in a ``Verdict``, and reports overfitting checks as
``Signal``s with a ``Status``. The statistics engine produces the comparisons; the verdicts, the
demo and the report read them from a layer's ``Result`` (see ``_result.py``), never from
another layer's dict keys.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


class Verdict(str, enum.Enum):
    """The only three words a comparison of a model against its baseline may end in: a CI that
    crosses zero is inconclusive. Nothing else uses these words."""

    IMPROVED = "improved"
    REGRESSED = "regressed"
    INCONCLUSIVE = "inconclusive"


class Status(str, enum.Enum):
    """What an overfitting signal (or all of them) says about a fine-tune: its own words, not a
    comparison's. The loss gap's levels high / some / none and membership's high / low / unclear
    stay in those checks' details; their signal maps them onto these (see overfitting/)."""

    HEALTHY = "healthy"
    OVERFITTING = "overfitting"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Estimate:
    """A reported number with its uncertainty."""

    value: float
    """The point estimate on the full data."""
    ci95: tuple[float, float] | None = None
    """Two-sided 95% confidence interval (bootstrap unless said otherwise); None if not computed
    (counts such as tokens, or a number with no sampling error)."""
    metric: str = ""
    """What was measured (e.g. "perplexity", "accuracy"); set when the estimate stands in a
    Result's list rather than under a metric's key."""
    model: str = ""
    """The model it belongs to (its display name); empty for data-level numbers."""
    n: int | None = None
    """How many samples it was computed on."""


@dataclass(frozen=True)
class Record:
    """One sample's raw result for one model: the unit every aggregate is computed from."""

    sample_id: str
    """The sample's id in the dataset (the `id` field, or its 0-based row index)."""
    model: str
    """The display name of the model that produced it."""
    values: dict[str, float] = field(default_factory=dict)
    """Raw sums, never averages (e.g. nll, tokens, bytes): aggregates divide sums of these."""


@dataclass(frozen=True)
class Comparison:
    """One model against its baseline on one metric, over the samples both were scored on,
    as the statistics engine (`stats.paired`) computes it for every layer."""

    metric: str
    """What was compared (e.g. "perplexity", "accuracy", "copy_rate")."""
    baseline: str
    """Display name of the reference model (usually the base model)."""
    model: str
    """Display name of the model compared against it."""
    n: int
    """Paired samples (or documents) both models were scored on."""
    baseline_value: float
    value: float
    difference: float
    """value - baseline_value, in the metric's units."""
    ci95: tuple[float, float]
    """95% CI of the difference, from the paired bootstrap (one resampling of the shared samples)."""
    p_value: float
    """Two-sided p-value for "no difference" from the same paired bootstrap."""
    verdict: Verdict
    """improved / regressed only when the CI excludes zero in the metric's good direction (and,
    with several metrics compared at once, the Holm-adjusted p-value is under 0.05)."""
    higher_is_better: bool = True
    """The metric's good direction: False for perplexity, copy rates, self-BLEU."""
    se: float = math.nan
    """Standard error of the difference: cluster-robust for means when clusters are given,
    the per-sample one for means, otherwise the bootstrap's."""
    mdd: float = math.nan
    """Minimum detectable difference at this n (two-sided 5% test, 80% power)."""
    p_value_holm: float | None = None
    """Holm-adjusted over the metrics compared together; None when compared alone."""
    tests: dict[str, float] = field(default_factory=dict)
    """Other paired tests' p-values and statistics (mcnemar_p, wilcoxon_p, wins, losses, ties,
    sign_test_p, win_rate, correlation) where they fit the metric."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Metric-specific additions: perplexity's improvement_pct and its CI, tokenizers_match, a note."""


@dataclass(frozen=True)
class Signal:
    """One overfitting check's reading of one model (or of the training run)."""

    name: str
    """Which check: "loss gap", "training curves", "checkpoint sweep", "verbatim copying", ..."""
    status: Status
    evidence: str
    """One line with the numbers behind the status."""
    reason: str | None = None
    """Why the signal does not apply (or cannot decide); None when it decides."""
    deciding: bool = True
    """False for context-only signals (extraction), which never move the overall verdict."""
    model: str = ""
    """The model it reads; "training run" for signals from training logs and checkpoint sweeps."""
