"""What people annotate: one item per sample id that every predictions file answers, with the
question as the user asked it, the reference if any, and each model's output; and the blind
A/B order of an item's two outputs, random per item but the same every time it is shown (a
reload must not swap A and B under an annotator)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from tunecheck.data import Dataset
from tunecheck.errors import ConfigError, DataError


@dataclass(frozen=True)
class AnnotationItem:
    id: str
    prompt: str
    reference: str | None
    outputs: dict[str, str] = field(default_factory=dict)
    """Model name -> its output, in the order the predictions files were given (the first is the baseline)."""
    category: str | None = None
    """The sample's category field, when the data has one (for stratified sheets)."""


def items_from_predictions(preds: Sequence[str], *, data: Dataset | None = None, category_field: str = "category") -> list[AnnotationItem]:
    """The items every file answers, in the first file's order. Questions and references come
    from `data` by id when given, else from what `tunecheck generate` carried into the files."""
    from tunecheck.judge._items import items_for
    from tunecheck.scoring._pairing import load_prediction_sets

    sets = load_prediction_sets(preds)
    questions = items_for(sets, data)
    by_set = [{p.id: p for p in s.rows} for s in sets]
    shared = [p.id for p in sets[0].rows if all(p.id in b for b in by_set[1:])]
    if not shared:
        raise DataError(f"{', '.join(s.path for s in sets)}: no sample id is in every file; pass predictions for the same data set")
    out = []
    for sid in shared:
        q = questions[sid]
        row = by_set[0][sid].fields or {}
        cat = row.get(category_field)
        out.append(AnnotationItem(sid, q.question, q.reference, {s.name: b[sid].output for s, b in zip(sets, by_set)},
                                  str(cat) if cat is not None else None))
    return out


def blind_order(item_id: str, models: Sequence[str], seed: int = 0) -> tuple[str, str]:
    """Which of the two models' outputs is shown as A and which as B for this item: a coin flip
    from a hash of (seed, item id), so it is random across items, fixed for an item, and the
    same on every machine (no global random state)."""
    if len(models) != 2:
        raise ConfigError(f"blind A/B compares two models; got {len(models)} ({', '.join(models)})")
    digest = hashlib.sha256(f"{seed}\0{item_id}".encode()).digest()
    a, b = models
    return (a, b) if digest[0] % 2 == 0 else (b, a)
