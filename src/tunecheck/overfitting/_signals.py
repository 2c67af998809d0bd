"""The signal of a check that compares a tuned model with its base (copying, diversity,
paraphrase sensitivity, extraction), read from its typed comparisons.

The rule (moved here from `_verdict.py`, same rule and messages): *overfitting* if any metric
got significantly worse than the base's; *healthy* only if every metric's CI rules out a harm
larger than a margin (non-inferiority: "no worse than the base" is shown, not assumed from a CI
that merely crosses zero); otherwise *inconclusive*. The margin is 2 points for rates and
per-sample changes, 10% of the base value for distinct-n and self-BLEU (whose scale depends on
output length). *Not applicable* when the check says so for the model or fewer than
`MIN_SAMPLES` samples were paired.

`dataset_info` is the one other thing these layers' Results share: a data set as `DataInfo`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tunecheck.core import Comparison, DataInfo, Signal, Status, Verdict
from tunecheck.data import Dataset
from tunecheck.overfitting._applies import MIN_SAMPLES, YES, Applies

_LOWER_IS_BETTER = {"copy_rate", "copied_share", "self_bleu", "extracted", "prefix_match", "token_match"}
ABSOLUTE_MARGIN = 0.02
"""Non-inferiority margin for rates and per-sample changes: 2 points."""
RELATIVE_MARGIN = 0.10
"""For distinct-n and self-BLEU, whose scale depends on output length: 10% of the base value."""


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _g(x: float | None, fmt: str = ".3g") -> str:
    return format(x, fmt) if x is not None and _finite(x) else "n/a"


def _ci(ci: tuple[float, float]) -> str:
    """A comparison's CI is always a pair; an undefined one is a pair of NaNs, shown n/a."""
    return f"[{_g(ci[0], '+.3g')}, {_g(ci[1], '+.3g')}]"


def margin(c: Comparison) -> float:
    """How much harm a "healthy" reading must rule out for this metric."""
    if c.metric.endswith("_change") or c.metric in _LOWER_IS_BETTER - {"self_bleu"}:
        return ABSOLUTE_MARGIN
    return max(ABSOLUTE_MARGIN, RELATIVE_MARGIN * abs(c.baseline_value)) if _finite(c.baseline_value) else ABSOLUTE_MARGIN


def no_worse(c: Comparison) -> bool:
    """Non-inferiority: the CI rules out a harm larger than the margin, in the metric's own
    direction (the comparison's, so a custom lower-is-better metric is read the right way round)."""
    lo, hi = c.ci95
    if not (_finite(lo) and _finite(hi)):
        return False
    return lo >= -margin(c) if c.higher_is_better else hi <= margin(c)


def from_comparisons(
    name: str, comparisons: Sequence[Comparison], model: str, describe: str, *, applies: Applies = YES, deciding: bool = True
) -> Signal | None:
    """The signal `name` for `model` from its comparisons with the base (None if it has none)."""
    mine = [c for c in comparisons if c.model == model]
    if not mine:
        return None
    parts = [f"{c.metric} {_g(c.baseline_value)} -> {_g(c.value)} ({c.verdict.value}, CI {_ci(c.ci95)})" for c in mine]
    evidence = f"{describe}: " + "; ".join(parts)
    reason = None if applies.applies else (applies.reason or "the check does not apply to this model")
    fewest = min(c.n for c in mine)
    if reason is None and fewest < MIN_SAMPLES:
        reason = f"only {fewest} samples paired with the base: too few to judge (at least {MIN_SAMPLES} needed)"
    if reason:
        return Signal(name, Status.NOT_APPLICABLE, evidence, reason, deciding, model)
    if any(c.verdict == Verdict.REGRESSED for c in mine):
        return Signal(name, Status.OVERFITTING, evidence, None, deciding, model)
    if all(no_worse(c) for c in mine):
        return Signal(name, Status.HEALTHY, evidence, None, deciding, model)
    return Signal(name, Status.INCONCLUSIVE, evidence, "the CIs do not rule out a harm beyond the margin", deciding, model)


def signals_for_models(
    name: str, comparisons: Sequence[Comparison], models: Sequence[tuple[str, Applies]], describe: str, *, deciding: bool = True
) -> list[Signal]:
    """One signal per model compared with the base, in model order."""
    out = []
    for model, applies in models:
        signal = from_comparisons(name, comparisons, model, describe, applies=applies, deciding=deciding)
        if signal is not None:
            out.append(signal)
    return out


def dataset_info(data: Dataset, role: str) -> DataInfo:
    """A data set as a Result records it (its shape and sampling in the details)."""
    rest = {k: v for k, v in data.identity().items() if k not in ("source", "sha256", "n")}
    return DataInfo(data.source, data.sha256, len(data), role, rest)
