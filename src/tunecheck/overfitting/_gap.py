"""Train/validation loss gap: the seeds' first overfitting check.

The thresholds follow the seed article's rule of thumb on mean per-token loss (nats):
gap = validation loss - train loss; > 0.5 high probability of overfitting, > 0.2 some
overfitting (acceptable), else none. Both are configurable because the right values depend on
the task and the loss scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_loss": self.train_loss,
            "eval_loss": self.eval_loss,
            "gap": self.gap,
            "level": self.level,
            "message": self.message,
            "suggestions": list(self.suggestions),
        }


def classify_gap(train_loss: float, eval_loss: float, thresholds: GapThresholds | None = None) -> GapVerdict:
    """Classify eval_loss - train_loss by the thresholds (strictly greater than, as the seeds)."""
    t = thresholds or GapThresholds()
    gap = eval_loss - train_loss
    level: Level = "high" if gap > t.high else "some" if gap > t.some else "none"
    return GapVerdict(train_loss, eval_loss, gap, level, _MESSAGES[level], SUGGESTIONS if level == "high" else ())
