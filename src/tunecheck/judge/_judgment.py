"""One judgment, as the sibling JSONL and the report's sample browser show it: what the judge
was asked about, what it answered (raw text, every attempt), what was read from it, and why
anything is unscored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RubricJudgment:
    """One judge's grading of one model's answer to one sample (one rubric wording, one repeat)."""

    judge: str
    model: str
    sample_id: str
    rubric: str
    """The rubric's name; a rewording's name ends in "~v2", "~v3", ..."""
    repeat: int
    scores: dict[str, int] = field(default_factory=dict)
    weighted: dict[str, float] = field(default_factory=dict)
    """The probability-weighted score per criterion (G-Eval), where the judge gave log-probabilities."""
    justifications: dict[str, str] = field(default_factory=dict)
    unscored: dict[str, str] = field(default_factory=dict)
    """criterion -> why it has no score (never a 0)."""
    replies: tuple[str, ...] = ()
    """The judge's raw answers: the first, then the one after the repair retry, if any."""
    error: str | None = None
    """The call itself failed (after the backend's retries); every criterion is then unscored."""
    logprobs: bool = False
    """The judge's answer came with token log-probabilities."""

    def to_dict(self) -> dict[str, Any]:
        return {"mode": "rubric", **asdict(self), "replies": list(self.replies)}


@dataclass(frozen=True)
class Order:
    """One of a pair's two judgings."""

    shown_first: str
    """Which model's answer was shown as A."""
    verdict: int | None
    """In the pair's orientation: +1 the judged model better, -1 the baseline, 0 tie (±2 strong,
    5-way); None when unusable (see `error`)."""
    label: str | None = None
    """The verdict as the judge wrote it, positions: "A>B", "A=B", ..."""
    replies: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class PairJudgment:
    """One judge's blind comparison of the baseline's and a model's answers to one sample, both orders."""

    judge: str
    baseline: str
    model: str
    sample_id: str
    repeat: int
    baseline_first: Order
    model_first: Order
    length_baseline: int
    length_model: int
    """Answer lengths in characters (for verbosity control)."""

    @property
    def usable(self) -> bool:
        return self.baseline_first.verdict is not None and self.model_first.verdict is not None

    @property
    def unscored_reason(self) -> str | None:
        for o in (self.baseline_first, self.model_first):
            if o.verdict is None:
                return o.error or "no verdict"
        return None

    @property
    def consistent(self) -> bool | None:
        if not self.usable:
            return None
        a, b = self.baseline_first.verdict or 0, self.model_first.verdict or 0
        return (a > 0) == (b > 0) and (a < 0) == (b < 0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("baseline_first", "model_first"):
            d[k]["replies"] = list(d[k]["replies"])
        return {"mode": "pairwise", **d, "position_consistent": self.consistent, "unscored": self.unscored_reason}


def write_judgments(path: str, judgments: Sequence[RubricJudgment | PairJudgment]) -> None:
    """Every judgment as one JSON line, written atomically (a crash leaves the old file or the new)."""
    from tunecheck._io import clean, to_jsonable, write_text

    lines = [json.dumps(clean(j.to_dict()), ensure_ascii=False, allow_nan=False, default=to_jsonable) for j in judgments]
    write_text(path, "".join(line + "\n" for line in lines))
