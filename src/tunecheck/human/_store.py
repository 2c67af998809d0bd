"""Where people's answers live: one SQLite file in WAL mode, one transaction per answer.

An answer is saved the moment it is given (closing the tab, killing the server or a power cut
loses nothing committed), the latest answer per (annotator, item, kind, model) is the one that
counts, and every change is kept in `history` with its time, so "changed their mind" is on
record. Several annotators (several app requests, a terminal session) may write at once: SQLite
serialises the writers; readers never block.

Payloads are JSON:
    rubric: {"scores": {criterion: int}, "note": str}                 model = the model graded
    ab:     {"choice": "A" | "B" | "tie", "shown": [model A, model B], "note": str}   model = ""
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tunecheck.errors import ConfigError, DataError

KINDS = ("rubric", "ab")
SCHEMA_VERSION = 1
APPLICATION = "tunecheck-answers"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    annotator TEXT NOT NULL, item_id TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL,
    payload TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, revisions INTEGER NOT NULL,
    PRIMARY KEY (annotator, item_id, kind, model)
);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, annotator TEXT NOT NULL, item_id TEXT NOT NULL, kind TEXT NOT NULL,
    model TEXT NOT NULL, payload TEXT NOT NULL, at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StoredAnswer:
    annotator: str
    item_id: str
    kind: str
    model: str
    payload: dict[str, Any]
    created_at: float
    updated_at: float
    revisions: int
    """How many times it was given: 1 for an answer never changed."""


def check_annotator(name: str) -> str:
    """An annotator's name as entered: trimmed, 1-64 printable characters."""
    clean = name.strip()
    if not clean or len(clean) > 64 or not clean.isprintable():
        raise DataError(f"annotator name {name!r}: give 1 to 64 printable characters")
    return clean


def check_payload(kind: str, payload: Mapping[str, Any]) -> None:
    if kind not in KINDS:
        raise DataError(f"answer kind {kind!r}: use {' or '.join(KINDS)}")
    note = payload.get("note", "")
    if not isinstance(note, str):
        raise DataError("answer field 'note': must be text")
    if kind == "rubric":
        scores = payload.get("scores")
        if not isinstance(scores, Mapping) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                                     for k, v in scores.items()):
            raise DataError("rubric answer field 'scores': must map each criterion to a whole-number score")
    else:
        if payload.get("choice") not in ("A", "B", "tie"):
            raise DataError(f"A/B answer field 'choice' is {payload.get('choice')!r}: use A, B or tie")
        shown = payload.get("shown")
        if not (isinstance(shown, list) and len(shown) == 2 and all(isinstance(s, str) for s in shown)):
            raise DataError("A/B answer field 'shown': must list the two models in the order shown (A, B)")


class AnswerStore:
    """The answers file. Safe to share between threads (one connection, a lock) and processes
    (SQLite's own locking, WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        if self.path.exists() and self.path.is_dir():
            raise ConfigError(f"{self.path}: is a directory; the answers store is a file (e.g. answers.sqlite)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a committed answer survives a power cut
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "answers" not in tables:
                raise DataError(f"{self.path}: an SQLite file that is not a tunecheck answers store; choose another path")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('application', ?), ('schema_version', ?)",
                             (APPLICATION, str(SCHEMA_VERSION)))
            version = self.meta("schema_version")
        except sqlite3.DatabaseError as err:
            raise DataError(f"{self.path}: not a readable answers store ({err}); choose another path") from None
        if version != str(SCHEMA_VERSION):
            raise DataError(f"{self.path}: answers store format {version}, this tunecheck reads {SCHEMA_VERSION}; upgrade tunecheck")

    # -- metadata (what the store is for: the items' hash, the rubric, the task kind) ----------------
    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def bind(self, kind: str, models: list[str], *, rubric: str | None = None, seed: int = 0) -> None:
        """Tie the store to one task: its kind, the models compared (in order), the rubric and the
        blind seed. A store already holding another task is refused: an A/B answer is keyed by
        item, so two comparisons in one file would overwrite each other's answers."""
        task = json.dumps({"kind": kind, "models": models, "rubric": rubric, "seed": seed}, sort_keys=True)
        held = self.meta("binding")
        if held is None:
            self.set_meta("binding", task)
        elif held != task:
            old = json.loads(held)
            raise ConfigError(
                f"{self.path}: holds answers for another task ({old['kind']}: {', '.join(old['models'])}"
                f"{', rubric ' + old['rubric'] if old.get('rubric') else ''}, seed {old.get('seed', 0)}); "
                "use another --store for this one, or the same models, rubric and seed as before"
            )

    # -- answers -------------------------------------------------------------------------------------
    def save(self, annotator: str, item_id: str, kind: str, payload: Mapping[str, Any], *, model: str = "") -> StoredAnswer:
        """Record one answer, durably, in one transaction (the answer and its history row)."""
        who = check_annotator(annotator)
        check_payload(kind, payload)
        text = json.dumps(dict(payload), sort_keys=True, ensure_ascii=False)
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(annotator, item_id, kind, model) DO UPDATE "
                    "SET payload = excluded.payload, updated_at = excluded.updated_at, revisions = revisions + 1",
                    (who, item_id, kind, model, text, now, now),
                )
                self._db.execute("INSERT INTO history (annotator, item_id, kind, model, payload, at) VALUES (?, ?, ?, ?, ?, ?)",
                                 (who, item_id, kind, model, text, now))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        found = self.get(who, item_id, kind, model=model)
        assert found is not None
        return found

    def get(self, annotator: str, item_id: str, kind: str, *, model: str = "") -> StoredAnswer | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM answers WHERE annotator = ? AND item_id = ? AND kind = ? AND model = ?",
                                   (annotator.strip(), item_id, kind, model)).fetchone()
        return _answer(row) if row else None

    def answers(self, annotator: str | None = None, kind: str | None = None) -> list[StoredAnswer]:
        """The latest answer of each (annotator, item, kind, model), oldest first."""
        sql, args = "SELECT * FROM answers WHERE 1=1", list[str]()
        if annotator is not None:
            sql, args = sql + " AND annotator = ?", [*args, annotator.strip()]
        if kind is not None:
            sql, args = sql + " AND kind = ?", [*args, kind]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, rowid", args).fetchall()
        return [_answer(r) for r in rows]

    def history(self, annotator: str | None = None) -> list[tuple[str, str, str, str, dict[str, Any], float]]:
        """Every answer ever given, in order: (annotator, item id, kind, model, payload, time)."""
        sql, args = "SELECT annotator, item_id, kind, model, payload, at FROM history", list[str]()
        if annotator is not None:
            sql, args = sql + " WHERE annotator = ?", [annotator.strip()]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [(a, i, k, m, json.loads(p), t) for a, i, k, m, p, t in rows]

    def annotators(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT annotator FROM answers GROUP BY annotator ORDER BY MIN(created_at)")]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AnswerStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _answer(row: tuple[Any, ...]) -> StoredAnswer:
    annotator, item_id, kind, model, payload, created, updated, revisions = row
    return StoredAnswer(annotator, item_id, kind, model, json.loads(payload), created, updated, revisions)
