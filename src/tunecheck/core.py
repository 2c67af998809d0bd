"""The small data model every layer speaks.

A layer turns samples into per-sample ``Record``s (keyed by sample id and model name),
aggregates them into ``Estimate``s with confidence intervals, and compares models with
``Comparison``s ending in a ``Verdict``. The report and the statistics engine join layers
on these keys, so new layers reuse these types rather than inventing their own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Verdict(str, enum.Enum):
    """The only three words a comparison may end in: a CI that crosses zero is inconclusive."""

    IMPROVED = "improved"
    REGRESSED = "regressed"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Estimate:
    """A reported number with its uncertainty."""

    value: float
    """The point estimate on the full data."""
    ci95: tuple[float, float] | None = None
    """Two-sided 95% confidence interval (bootstrap unless said otherwise); None if not computed."""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": list(self.ci95) if self.ci95 else None}


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
    """One model against a baseline on one metric, over the same samples."""

    metric: str
    """What was compared (e.g. "perplexity" or "bits_per_byte")."""
    baseline: str
    """Display name of the reference model (usually the base model)."""
    model: str
    """Display name of the model compared against it."""
    baseline_value: float
    value: float
    difference: float
    """value - baseline_value, in the metric's units."""
    ci95: tuple[float, float]
    """95% CI of the difference, from a paired resampling of the shared samples."""
    p_value: float
    """Two-sided p-value for "no difference" from the same paired resampling."""
    verdict: Verdict
    """improved / regressed only when the CI excludes zero, in the metric's good direction."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Metric-specific additions, e.g. improvement_pct for perplexity, and notes."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "baseline": self.baseline,
            "model": self.model,
            "baseline_value": self.baseline_value,
            "value": self.value,
            "difference": self.difference,
            "ci95": list(self.ci95),
            "p_value": self.p_value,
            "verdict": self.verdict.value,
        }
        out.update(self.extra)
        return out
