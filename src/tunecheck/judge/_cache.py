"""The judge-call cache on disk: one SQLite file, one row per judge call, so a killed run re-run
sends no request twice and a run with one more model or judge pays only for the new calls.

A call is keyed by `call_key` (the judge's identity, the full prompt, the decoding parameters).
Every `put` is its own transaction in WAL mode: a run killed with SIGKILL loses at most the
call in flight, never the file. Several threads of one process share one `JudgeCache` (a lock
guards the connection); several processes may open the same file at once (SQLite's file locks,
a busy timeout to wait for each other's short write transactions).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tunecheck.errors import DataError
from tunecheck.models._protocol import ChatReply

CACHE_FORMAT = 1
"""Part of every key: bump it when what a key means changes (a new canonical form, a change in
how prompts are built that the messages do not show), and every old entry becomes a miss."""

SCHEMA_VERSION = 1
"""The layout of the file's tables; a file with a higher one was written by a newer tunecheck."""

APPLICATION = "tunecheck-judge-cache"
"""The `meta` row that tells a tunecheck judge cache from any other SQLite file."""

BUSY_TIMEOUT_S = 30.0
"""How long a write waits for another process's write to finish; each is one short INSERT."""


def default_cache_path() -> Path:
    """Where judge calls are cached unless told: tunecheck's own cache,
    $XDG_CACHE_HOME/tunecheck/judge/cache.sqlite (~/.cache/... when unset)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tunecheck" / "judge" / "cache.sqlite"


def call_key(judge_identity: Mapping[str, Any], messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of everything that decides the judge's answer:

    - `judge_identity` (the backend's `identity()`: name, location, base URL, dtype, GGUF hash,
      ...): another judge model, or the same weights served elsewhere, gives other answers;
    - `messages`, in full (system prompt, rubric, question, the answers judged, a retry's parse
      error): any change in the prompt is another question;
    - `params`, whatever the caller passes (temperature, max tokens, top_p, seed, logprobs,
      top_logprobs, and a repeat index when `--repeats` samples one prompt several times):
      they change the answer or what comes back with it;
    - `CACHE_FORMAT`, so a change in what keys mean invalidates old entries instead of
      answering with them.

    Canonical: keys sorted, no whitespace, non-ASCII kept as is, tuples as lists, a dataclass
    (`tunecheck.data.Message`) as the dict of its fields, and a float
    with an integer value written as the integer (temperature 0 and 0.0 are one setting to
    every server). Secrets never enter: an API key is not part of any identity.
    """
    payload = {"format": CACHE_FORMAT, "judge": judge_identity, "messages": list(messages), "params": params}
    text = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # e.g. tunecheck.data.Message
        return _canonical(dataclasses.asdict(value))
    raise TypeError(f"call_key: {type(value).__name__} is not JSON (pass str, numbers, bools, None, lists, dicts)")


@dataclass(frozen=True)
class CachedCall(ChatReply):
    """One judge call's answer as stored: the backend's `ChatReply` (its raw text, parsed later so a
    parser fix needs no new calls; JSON extras such as log-probabilities; token counts as the
    backend reported them, None when it did not) and when it was stored."""

    created: float | None = None
"""Unix time the answer was stored (set by `JudgeCache.get`; ignored by `put`)."""


@dataclass(frozen=True)
class CacheStats:
    hits: int
    """`get`s answered from the file by this object."""
    misses: int
    stored: int
    """New rows this object wrote (a key already present is not written again)."""
    entries: int
    """Rows in the file now, from every run and process."""


class JudgeCache:
    """An open judge-call cache file. Thread-safe; close it (or use `with`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._hits = self._misses = self._stored = 0
        if self.path.is_dir():
            raise DataError(f"{self.path}: is a directory, not a judge cache file (give a file path, e.g. {self.path / 'cache.sqlite'})")
        cannot = f"{self.path}: cannot use the judge cache ({{}}); check the permissions of the file and its folder, or use another cache path"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit, so each statement is its own transaction
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as err:
            raise DataError(cannot.format(_first_line(err))) from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._open()
        except sqlite3.OperationalError as err:  # read-only, locked past the timeout, disk full, ...
            self._conn.close()
            raise DataError(cannot.format(_first_line(err))) from None
        except BaseException:
            self._conn.close()
            raise

    def _open(self) -> None:
        fix = "use another cache path, or delete the file to start a new cache"
        try:
            tables = self._tables()
            if not tables:
                # a new (or empty) file: make it ours; IMMEDIATE so two processes creating the same
                # file at once take turns, and the second sees the first's tables
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    if not self._tables():
                        self._conn.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
                        self._conn.execute(
                            "CREATE TABLE calls (key TEXT PRIMARY KEY, response TEXT NOT NULL, extras TEXT NOT NULL,"
                            " prompt_tokens INTEGER, completion_tokens INTEGER, created REAL NOT NULL)"
                        )
                        self._conn.executemany(
                            "INSERT INTO meta VALUES (?, ?)", [("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION))]
                        )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                tables = self._tables()
            meta = dict(self._conn.execute("SELECT name, value FROM meta").fetchall()) if "meta" in tables else {}
        except sqlite3.OperationalError:
            raise  # the file may be fine: we cannot use it (see __init__)
        except sqlite3.DatabaseError as err:  # SQLITE_NOTADB, SQLITE_CORRUPT
            raise DataError(f"{self.path}: not a tunecheck judge cache (not a readable SQLite database: {_first_line(err)}); {fix}") from None
        if meta.get("application") != APPLICATION or "calls" not in tables:
            # checked before WAL is switched on, so another program's database is left as it was
            raise DataError(f"{self.path}: not a tunecheck judge cache (an SQLite database of something else); {fix}")
        version = meta.get("schema_version", "")
        if not version.isdigit() or int(version) != SCHEMA_VERSION:
            newer = version.isdigit() and int(version) > SCHEMA_VERSION
            raise DataError(
                f"{self.path}: judge cache schema version {version or '?'} "
                + (f"was written by a newer tunecheck (this one reads {SCHEMA_VERSION}); upgrade tunecheck or "
                   if newer else f"is not one this tunecheck reads ({SCHEMA_VERSION}); ")
                + fix
            )
        self._conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a committed call survives the process being killed; only a power cut can
        # lose the last few, which costs a repeated request, never a corrupt file
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def _tables(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    # -- calls --------------------------------------------------------------------------------
    def get(self, key: str) -> CachedCall | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT response, extras, prompt_tokens, completion_tokens, created FROM calls WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self._misses += 1
                return None
            self._hits += 1
        text, extras, prompt_tokens, completion_tokens, created = row
        return CachedCall(text, json.loads(extras), prompt_tokens, completion_tokens, created)

    def put(self, key: str, call: ChatReply) -> bool:
        """Store `call` under `key`, committed before returning. A key already stored keeps its
        first answer (a sampled judge must not change its mind between reads); returns whether
        this call wrote the row."""
        extras = json.dumps(dict(call.extras), sort_keys=True, ensure_ascii=False)
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?, ?)",
                (key, call.text, extras, call.prompt_tokens, call.completion_tokens, time.time()),
            )
            wrote = cur.rowcount == 1
            self._stored += wrote
        return wrote

    def stats(self) -> CacheStats:
        with self._lock:
            (entries,) = self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()
            return CacheStats(self._hits, self._misses, self._stored, int(entries))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> JudgeCache:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# -- one judge's calls through the cache ---------------------------------------------------------
Call = Callable[[Sequence[Mapping[str, Any]], Mapping[str, Any]], ChatReply]
"""The real request: (messages, params) -> the judge's answer, e.g. `OpenAIModel.chat`. Retries
are its business."""


@dataclass(frozen=True)
class JudgeUsage:
    """What one judge's calls cost in this run."""

    requests: int
    """Calls sent to the judge (cache misses)."""
    cached: int
    """Calls answered from the cache (or by a request another thread had in flight)."""
    prompt_tokens: int
    """Summed over the requests sent, where the backend reported them."""
    completion_tokens: int
    cached_prompt_tokens: int
    """Summed over the cached answers: what a run without the cache would have paid again."""
    cached_completion_tokens: int
    without_usage: int
    """Requests whose backend reported no token counts (not in the sums above)."""


class CachedCalls:
    """One judge's calls, each answered from the cache or sent with `call` and stored. Safe to
    drive from a thread pool: two threads asking the same question at once send one request."""

    def __init__(self, cache: JudgeCache, judge_identity: Mapping[str, Any], call: Call) -> None:
        self.cache = cache
        self.judge_identity = dict(judge_identity)
        self._call = call
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future[ChatReply]] = {}
        self._requests = self._cached = self._without_usage = 0
        self._tokens = [0, 0, 0, 0]  # prompt, completion, cached prompt, cached completion

    def __call__(self, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> ChatReply:
        key = call_key(self.judge_identity, messages, params)
        with self._lock:
            waiting = self._in_flight.get(key)
            if waiting is None:
                found = self.cache.get(key)
                if found is not None:
                    self._count_cached(found)
                    return found
                mine: Future[ChatReply] = Future()
                self._in_flight[key] = mine
        if waiting is not None:
            answer = waiting.result()  # the other thread's error, if it failed, is raised here too
            with self._lock:
                self._count_cached(answer)
            return answer
        try:
            answer = self._call(messages, params)
            self.cache.put(key, answer)
        except BaseException as err:
            mine.set_exception(err)
            raise
        else:
            mine.set_result(answer)
        finally:
            with self._lock:
                del self._in_flight[key]
        with self._lock:
            self._requests += 1
            if answer.prompt_tokens is None and answer.completion_tokens is None:
                self._without_usage += 1
            self._tokens[0] += answer.prompt_tokens or 0
            self._tokens[1] += answer.completion_tokens or 0
        return answer

    def _count_cached(self, answer: ChatReply) -> None:
        self._cached += 1
        self._tokens[2] += answer.prompt_tokens or 0
        self._tokens[3] += answer.completion_tokens or 0

    def usage(self) -> JudgeUsage:
        with self._lock:
            prompt, completion, cached_prompt, cached_completion = self._tokens
            return JudgeUsage(self._requests, self._cached, prompt, completion, cached_prompt, cached_completion, self._without_usage)
