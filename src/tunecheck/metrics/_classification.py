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

import numpy as np

from tunecheck.stats import SampleStats

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


def classification_stats(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, SampleStats]:
    """accuracy, macro_f1, micro_f1 and weighted_f1 as per-sample TP/FP/FN indicators, so
    bootstrap resamples recompute each F1 from resampled counts (as scikit-learn computes it on
    the full data: labels restricted to `labels`, F1 of a class with no TP+FP+FN is 0)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels for {len(predicted)} predictions")
    names = list(labels)
    g = np.array([[x == c for c in names] for x in gold], dtype=np.float64).reshape(len(gold), len(names))
    p = np.array([[x == c for c in names] for x in predicted], dtype=np.float64).reshape(len(gold), len(names))
    tp, fp, fn = g * p, (1 - g) * p, g * (1 - p)
    columns = np.hstack([tp, fp, fn])
    c = len(names)

    def per_class(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tps, fps, fns = sums[:, :c], sums[:, c : 2 * c], sums[:, 2 * c :]
        denom = 2 * tps + fps + fns
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(denom > 0, 2 * tps / np.where(denom > 0, denom, 1), 0.0)
        return f1, tps + fns

    def macro(sums: np.ndarray) -> np.ndarray:
        return np.asarray(per_class(sums)[0].mean(axis=1))

    def micro(sums: np.ndarray) -> np.ndarray:
        tps, fps, fns = sums[:, :c].sum(1), sums[:, c : 2 * c].sum(1), sums[:, 2 * c :].sum(1)
        denom = 2 * tps + fps + fns
        return np.asarray(np.where(denom > 0, 2 * tps / np.where(denom > 0, denom, 1), 0.0))

    def weighted(sums: np.ndarray) -> np.ndarray:
        f1, support = per_class(sums)
        total = support.sum(axis=1)
        return np.asarray(np.where(total > 0, (f1 * support).sum(axis=1) / np.where(total > 0, total, 1), 0.0))

    correct = np.array([a == b for a, b in zip(gold, predicted)], dtype=np.float64)
    return {
        "accuracy": SampleStats.mean("accuracy", correct),
        "macro_f1": SampleStats("macro_f1", columns, macro),
        "micro_f1": SampleStats("micro_f1", columns, micro),
        "weighted_f1": SampleStats("weighted_f1", columns, weighted),
    }
