"""Train/validation loss gap: the first overfitting check.

The thresholds follow a common rule of thumb on mean per-token loss (nats):
gap = validation loss - train loss; > 0.5 high probability of overfitting, > 0.2 some
overfitting (acceptable), else none. Both are configurable because the right values depend on
the task and the loss scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tunecheck.core import Estimate, Signal, Status
from tunecheck.errors import ConfigError

Level = Literal["high", "some", "none"]

HIGH_GAP = 0.5
SOME_GAP = 0.2

SUGGESTIONS = (
    "reduce the number of epochs (or stop at the best checkpoint)",
    "add more training data",
    "increase lora_dropout",
    "reduce the LoRA rank",
)

_MESSAGES = {
    "high": "high probability of overfitting",
    "some": "some overfitting present (acceptable)",
    "none": "no overfitting detected",
}


@dataclass(frozen=True)
class GapThresholds:
    high: float = HIGH_GAP
    some: float = SOME_GAP

    def __post_init__(self) -> None:
        if not self.some < self.high:
            raise ConfigError(f"--some-gap ({self.some}) must be below --high-gap ({self.high})")


@dataclass(frozen=True)
class GapVerdict:
    train_loss: float
    eval_loss: float
    gap: float
    level: Level
    message: str
    suggestions: tuple[str, ...] = field(default_factory=tuple)


def classify_gap(train_loss: float, eval_loss: float, thresholds: GapThresholds | None = None) -> GapVerdict:
    """Classify eval_loss - train_loss by the thresholds (strictly greater than)."""
    t = thresholds or GapThresholds()
    gap = eval_loss - train_loss
    level: Level = "high" if gap > t.high else "some" if gap > t.some else "none"
    return GapVerdict(train_loss, eval_loss, gap, level, _MESSAGES[level], SUGGESTIONS if level == "high" else ())


def _g(x: float, fmt: str) -> str:
    return format(x, fmt) if isinstance(x, (int, float)) and x == x else "n/a"


def gap_signal(model: str, gap: Estimate, message: str, thresholds: GapThresholds, reason: str | None = None) -> Signal:
    """The loss gap as an overfitting signal. Symmetric, and on the CI, not the point: overfitting
    only when the whole CI is above the high threshold, healthy only when it is all at or below
    the "some overfitting" one, otherwise inconclusive; not applicable (`reason`) when too few
    documents were scored. The gap's own level (high / some / none) is the point estimate's and
    stays beside it in the result's model details."""
    ci = gap.ci95
    shown = f"[{_g(ci[0], '+.3g')}, {_g(ci[1], '+.3g')}]" if ci else "[n/a]"
    evidence = f"validation - train loss = {_g(gap.value, '.3f')} nats/token (CI {shown}): {message}"
    some, high = thresholds.some, thresholds.high
    if reason:
        return Signal("loss gap", Status.NOT_APPLICABLE, evidence, reason, model=model)
    if ci and ci[0] > high:
        return Signal("loss gap", Status.OVERFITTING, evidence, model=model)
    if ci and ci[1] <= some:
        return Signal("loss gap", Status.HEALTHY, evidence, model=model)
    return Signal("loss gap", Status.INCONCLUSIVE, evidence, f"the CI is not wholly above {high:g} nor below {some:g}", model=model)
