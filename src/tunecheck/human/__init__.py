"""Human evaluation (issue 12, in progress): what people annotate (`_items`: one item per sample,
each model's output, a blind A/B order per item) and where their answers live (`_store`: SQLite,
one transaction per answer, every change kept). Sheets, the annotation app, the terminal A/B and
the results build on these."""

from tunecheck.human._items import AnnotationItem, blind_order, items_from_predictions
from tunecheck.human._store import KINDS, AnswerStore, StoredAnswer

__all__ = ["KINDS", "AnnotationItem", "AnswerStore", "StoredAnswer", "blind_order", "items_from_predictions"]
