"""Classification: label extraction from free text, and scikit-learn's metrics over it.

Extraction: the whole output equal to a label (case/punctuation-insensitive), else the allowed
label mentioned first in the output (whole words; a longer label wins over a shorter one that it
contains, e.g. "very positive" over "positive"). An output naming no label is UNPARSED: it counts
as wrong and is reported, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

UNPARSED = "<unparsed>"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def extract_label(output: str, labels: Sequence[str]) -> str:
    """The label an output names, or UNPARSED."""
    if not labels:
        raise ValueError("no allowed labels given")
    normed = {_norm(label): label for label in labels}
    text = _norm(output)
    if text in normed:
        return normed[text]
    best: tuple[int, int, str] | None = None  # (position, -length, label)
    for key, label in normed.items():
        if not key:
            continue
        m = re.search(rf"(?<!\w){re.escape(key)}(?!\w)", text)
        if m and (best is None or (m.start(), -len(key)) < best[:2]):
            best = (m.start(), -len(key), label)
    return best[2] if best else UNPARSED


@dataclass(frozen=True)
class ClassificationReport:
    accuracy: float
    macro_f1: float
    micro_f1: float
    weighted_f1: float
    per_class: dict[str, dict[str, float]]
    """label -> precision, recall, f1, support."""
    confusion: list[list[int]]
    """Rows: gold labels, columns: predicted labels then UNPARSED (in `labels` order)."""
    labels: list[str]
    unparsed: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def classification_report(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> ClassificationReport:
    """Accuracy and P/R/F1 (per class, macro, micro, weighted) with scikit-learn; UNPARSED
    predictions are wrong for every class (they lower recall, and no class's precision)."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels for {len(predicted)} predictions")
    if not gold:
        raise ValueError("no samples")
    names = list(labels)
    unknown = sorted(set(gold) - set(names))
    if unknown:
        raise ValueError(f"gold labels not among the allowed labels: {unknown}")
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=names, zero_division=0)
    per_class = {n: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, n in enumerate(names)}
    return ClassificationReport(
        accuracy=float(accuracy_score(gold, predicted)),
        macro_f1=float(f1_score(gold, predicted, labels=names, average="macro", zero_division=0)),
        micro_f1=float(f1_score(gold, predicted, labels=names, average="micro", zero_division=0)),
        weighted_f1=float(f1_score(gold, predicted, labels=names, average="weighted", zero_division=0)),
        per_class=per_class,
        confusion=confusion_matrix(gold, predicted, labels=[*names, UNPARSED]).tolist()[: len(names)],
        labels=names,
        unparsed=sum(1 for x in predicted if x == UNPARSED),
    )
