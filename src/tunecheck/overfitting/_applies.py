"""When an overfitting signal cannot apply, and why: such a signal is shown with its reason and
stays out of the verdict (inspect_ai's explicit "unscored", never a number that only looks like
evidence).

Three cases recur across the checks:

- **too few samples**: under `MIN_SAMPLES` outputs or examples, each one moves a rate by 10
  points or more and a bootstrap CI is not to be trusted;
- **a closed label set**: a classifier answers with one of a handful of label words, so its
  distinct-n falls (that is what it should learn) and its "copies" of the training set are the
  labels themselves;
- **outputs too short for the span**: an output shorter than the copying check's n-gram can
  never share one, so a copy rate of 0 over such outputs says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MIN_SAMPLES = 10
"""Fewest outputs (or examples per set) a signal is judged on."""
MAX_LABELS = 20
"""A task whose answers take at most this many values (each at least twice on average) is a
closed label set."""
LABEL_WORDS = 3.0
"""Mean words per output at or under which repeated outputs read as labels, not prose."""


@dataclass(frozen=True)
class Applies:
    """Whether a signal applies to one model's results, and if not, why."""

    applies: bool
    reason: str | None = None

    def as_details(self) -> dict[str, Any]:
        """The two fields as they go into a model's `ModelInfo.details`."""
        return {"applies": self.applies, "reason": self.reason}


YES = Applies(True)


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!?,;:\"'")


def _show(values: Sequence[str], most: int = 4) -> str:
    shown = ", ".join(repr(v) for v in values[:most])
    return shown + (", ..." if len(values) > most else "")


def enough(n: int, what: str) -> Applies:
    if n < MIN_SAMPLES:
        return Applies(False, f"only {n} {what}: too few to judge (at least {MIN_SAMPLES} needed)")
    return YES


def closed_label_set(outputs: Sequence[str], references: Sequence[object] = ()) -> str | None:
    """Why these outputs are answers from a closed label set, or None if they are not.

    The references decide when every row has a string one (a classification data set's labels);
    without them, outputs that repeat a handful of short values are read as labels."""
    refs = [_norm(r) for r in references if isinstance(r, str)]
    if refs and len(refs) == len(outputs):
        values = sorted(set(refs))
        if len(values) <= MAX_LABELS and 2 * len(values) <= len(refs):
            return f"the references take only {len(values)} values ({_show(values)}): a closed label set"
        return None
    if not outputs:
        return None
    values = sorted({_norm(o) for o in outputs})
    mean_words = sum(len(o.split()) for o in outputs) / len(outputs)
    if len(values) <= MAX_LABELS and 2 * len(values) <= len(outputs) and mean_words <= LABEL_WORDS:
        return f"the {len(outputs)} outputs repeat {len(values)} short values ({_show(values)}): label-like answers"
    return None


def references_of(rows: Sequence[Mapping[str, Any] | None]) -> list[object]:
    """Each prediction row's reference label, if it has one ('label', else 'reference')."""
    return [(row or {}).get("label", (row or {}).get("reference")) for row in rows]
