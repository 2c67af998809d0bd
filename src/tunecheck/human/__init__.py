"""Human evaluation: what people annotate (`_items`: one item per sample, each model's output, a
blind A/B order per item), where their answers live (`_store`: SQLite, one transaction per
answer, every change kept), the terminal A/B (`_terminal`), the answers' export in the format
`tunecheck judge --human` reads (`_export`), and people's ratings turned into the human layer's
`Result` with their agreement (`_results`, `_agreement`)."""

from tunecheck.human._export import answer_rows, write_answers
from tunecheck.human._items import AnnotationItem, blind_order, items_from_predictions
from tunecheck.human._results import (
    MIN_ALPHA,
    merge_ratings,
    ratings_sha256,
    summarise,
    write_ratings,
)
from tunecheck.human._store import KINDS, AnswerStore, StoredAnswer
from tunecheck.human._terminal import AbSession, run_ab

__all__ = [
    "KINDS",
    "MIN_ALPHA",
    "AbSession",
    "AnnotationItem",
    "AnswerStore",
    "StoredAnswer",
    "answer_rows",
    "blind_order",
    "items_from_predictions",
    "merge_ratings",
    "ratings_sha256",
    "run_ab",
    "summarise",
    "write_answers",
    "write_ratings",
]
