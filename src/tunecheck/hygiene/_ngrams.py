"""Text normalisation and a word n-gram index of a training set, for leakage and regurgitation.

Normalisation, applied to every text before any comparison:

1. Unicode NFKC (full-width letters, ligatures and compatibility forms become plain ones);
2. lowercase;
3. punctuation removed: every character of a Unicode "P*" category is deleted, not replaced by a
   space, so "don't" becomes "dont" and "well-known" becomes "wellknown" (symbols such as + = $
   are kept: "2+2=4" and "224" must stay different);
4. whitespace collapsed: runs of spaces, tabs and newlines become one space, none at the ends.

The words of a text are its normalised form split on whitespace. Two texts that differ only in
case, punctuation or spacing therefore normalise to the same string (an "exact" match).

`NgramIndex` holds every word n-gram (default n=13, the contamination unit of GPT-3, Brown et
al. 2020, appendix C) of the training texts as a sorted array of 64-bit hashes with the training
row beside each, so a query is one `np.searchsorted`. Hashes are stable across processes and
machines: each word is hashed with BLAKE2b (8 bytes), an n-gram with a polynomial over its word
hashes in uint64 arithmetic, then avalanched (MurmurHash3's 64-bit finaliser). Python's salted
`hash()` is never used. A hash collision could only ever add a candidate: every reported match is
confirmed by the verbatim shared span, which must be at least n words long.
"""

from __future__ import annotations

import hashlib
import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

import numpy as np

from tunecheck._progress import Progress, start
from tunecheck.errors import ConfigError

_P = np.uint64(0x9E3779B97F4A7C15)  # odd, so multiplying by it is a bijection mod 2^64
_MAX_ROWS_PER_NGRAM = 1000
"""An n-gram in more training rows than this (boilerplate) adds only the first ones as candidates,
so one shared header cannot make every query scan the whole training set."""
_MAX_TRAIN_ROWS = 100
_CHUNK = 4096  # texts per vectorised batch: bounds memory and paces the progress bar


@cache
def _punctuation_table() -> tuple[dict[int, None], bytes]:
    """Deletion tables for str.translate (all of Unicode) and bytes.translate (ASCII fast path)."""
    # punctuation lives in the first two planes only (planes 2-3 are ideographs, 14 tags, 15-16
    # private use), and scanning 128k code points instead of 1.1M takes 0.06 s instead of 0.5 s
    table = {cp: None for cp in range(0x20000) if unicodedata.category(chr(cp)).startswith("P")}
    ascii_punct = bytes(cp for cp in table if cp < 128)
    return table, ascii_punct


def normalize(text: str) -> str:
    """NFKC, lowercase, punctuation deleted, whitespace collapsed (see the module docstring)."""
    table, ascii_punct = _punctuation_table()
    if text.isascii():
        # NFKC is the identity on ASCII, and bytes.translate is far faster than str.translate
        text = text.lower().encode().translate(None, ascii_punct).decode()
    else:
        text = unicodedata.normalize("NFKC", text).lower().translate(table)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The words of a text: its normalised form split on whitespace."""
    return normalize(text).split()


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads every input bit over the output (in place)."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


class _WordHasher:
    """Word -> stable 64-bit hash, memoised (a corpus repeats its vocabulary millions of times)."""

    def __init__(self) -> None:
        self._cache: dict[str, int] = {}

    def flat(self, word_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """All words' hashes end to end, and each text's length in words."""
        tokens = list(itertools.chain.from_iterable(word_lists))
        known = self._cache
        for w in set(tokens).difference(known):
            known[w] = _word_hash(w)
        hashes = np.fromiter(map(known.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
        return hashes, np.fromiter(map(len, word_lists), dtype=np.int64, count=len(word_lists))


def window_hashes(flat: np.ndarray, lengths: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every k-word window of every text (texts laid end to end in `flat`, uint64 word
    hashes), in order, and the text each window belongs to. Windows never cross texts."""
    h, doc, _ = windows(flat, lengths, k)
    return h, doc


def windows(flat: np.ndarray, lengths: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As `window_hashes`, plus where each window starts in `flat`."""
    m = flat.size - k + 1
    if m <= 0 or k < 1:
        return np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64)
    h = np.zeros(m, dtype=np.uint64)
    for j in range(k):  # Horner's rule over the window, all windows at once; uint64 wraps mod 2^64
        h *= _P
        h += flat[j : j + m]
    ends = np.cumsum(lengths)
    doc = np.repeat(np.arange(lengths.size), lengths)[:m]
    valid = np.flatnonzero(np.arange(m) + k <= ends[doc])
    return _fmix64(h[valid]), doc[valid], valid


def longest_span(query: Sequence[str], train: Sequence[str]) -> tuple[int, str]:
    """The longest run of words appearing verbatim in both, as (length, the words joined)."""
    # autojunk=False: the heuristic would treat frequent words ("the") as junk and split spans
    m = SequenceMatcher(None, query, train, autojunk=False).find_longest_match(0, len(query), 0, len(train))
    return m.size, " ".join(train[m.b : m.b + m.size])


@dataclass(frozen=True)
class NgramHit:
    """What a query text shares with the training set, measured in word n-grams."""

    train_index: int
    """0-based training row sharing the most n-grams with the query (ties: the earliest row)."""
    shared_ngrams: int
    """How many of the query's n-grams (counted by position) occur in that row."""
    ngram_total: int
    """How many n-grams the query has (its word count - n + 1)."""
    covered_ngrams: int
    """How many of the query's n-grams occur anywhere in the training set: the fraction
    covered_ngrams / ngram_total is the share of a generation that is copied text."""
    longest_span_words: int
    """Length in words of the longest verbatim span shared with that row (always >= n)."""
    span_text: str
    """That span as it appears in the normalised training text."""
    train_rows: tuple[int, ...]
    """Every training row sharing at least one n-gram, most shared first (at most 100; an n-gram
    found in more than 1,000 rows, boilerplate, contributes only its first 1,000)."""


class NgramIndex:
    """Every word n-gram of a training set, for "does this text copy training data?" lookups.

    Build it once (`NgramIndex.build(train_texts)`), then query eval items (leakage,
    contamination: pass benchmark items) or model generations (regurgitation).
    """

    def __init__(self, n: int, texts: list[str], keys: np.ndarray, rows: np.ndarray, hasher: _WordHasher) -> None:
        self.n = n
        """The n-gram length in words."""
        self._texts = texts
        self._keys = keys
        self._rows = rows
        self._hasher = hasher

    @classmethod
    def build(cls, texts: Sequence[str], *, n: int = 13, progress: Progress | None = None) -> NgramIndex:
        """Index the word n-grams of `texts` (normalised first); row i of the index is texts[i]."""
        return cls.from_normalized([normalize(t) for t in texts], n=n, progress=progress)

    @classmethod
    def from_normalized(cls, texts: Sequence[str], *, n: int = 13, progress: Progress | None = None) -> NgramIndex:
        """As `build`, for texts already passed through `normalize`."""
        if n < 1:
            raise ConfigError(f"n-gram length must be at least 1 word, got {n}")
        hasher = _WordHasher()
        task = start(progress, f"{n}-gram index", len(texts), "texts")
        keys, rows = [], []
        for lo in range(0, len(texts), _CHUNK):
            chunk = texts[lo : lo + _CHUNK]
            h, doc = window_hashes(*hasher.flat([t.split() for t in chunk]), n)
            keys.append(h)
            rows.append(doc + lo)
            task.advance(len(chunk))
        key = np.concatenate(keys) if keys else np.empty(0, np.uint64)
        row = np.concatenate(rows) if rows else np.empty(0, np.int64)
        # stable: rows stay ascending within one hash, so the first rows of a run are the earliest
        order = np.argsort(key, kind="stable")
        key, row = key[order], row[order]
        # a row repeating an n-gram is stored once, so counts below are "query n-grams in the row"
        keep = np.ones(key.size, dtype=bool)
        keep[1:] = (key[1:] != key[:-1]) | (row[1:] != row[:-1])
        return cls(n, list(texts), key[keep], row[keep], hasher)

    def __len__(self) -> int:
        """Number of training rows."""
        return len(self._texts)

    @property
    def ngram_count(self) -> int:
        """Number of (n-gram, row) entries: distinct n-grams per row, summed over rows."""
        return int(self._keys.size)

    def train_text(self, index: int) -> str:
        """Training row `index` as it was indexed (normalised)."""
        return self._texts[index]

    def query(self, text: str) -> NgramHit | None:
        """The training row `text` shares most n-grams with, or None when it shares none (texts
        shorter than n words have no n-gram and always give None)."""
        return self.query_many([text])[0]

    def query_many(self, texts: Sequence[str], progress: Progress | None = None) -> list[NgramHit | None]:
        """`query` for each text, batched: one hashing pass and one searchsorted per chunk."""
        return self.query_normalized([normalize(t) for t in texts], progress)

    def query_normalized(self, texts: Sequence[str], progress: Progress | None = None) -> list[NgramHit | None]:
        """As `query_many`, for texts already passed through `normalize`."""
        task = start(progress, f"{self.n}-gram lookup", len(texts), "texts")
        hits: list[NgramHit | None] = []
        for lo in range(0, len(texts), _CHUNK):
            word_lists = [t.split() for t in texts[lo : lo + _CHUNK]]
            h, doc = window_hashes(*self._hasher.flat(word_lists), self.n)
            left = np.searchsorted(self._keys, h, side="left")
            right = np.searchsorted(self._keys, h, side="right")
            bounds = np.searchsorted(doc, np.arange(len(word_lists) + 1))
            for i, ws in enumerate(word_lists):
                a, b = bounds[i], bounds[i + 1]
                hits.append(self._hit(ws, left[a:b], right[a:b]))
            task.advance(len(word_lists))
        return hits

    def _hit(self, query: list[str], left: np.ndarray, right: np.ndarray) -> NgramHit | None:
        found = right > left
        covered = int(found.sum())
        if not covered:
            return None
        start_at = left[found]
        take = np.minimum(right[found] - start_at, _MAX_ROWS_PER_NGRAM)
        # the index of every (n-gram, row) entry matched, without a Python loop over n-grams
        offsets = np.repeat(start_at - (np.cumsum(take) - take), take) + np.arange(int(take.sum()))
        rows, counts = np.unique(self._rows[offsets], return_counts=True)
        order = np.lexsort((rows, -counts))
        for best in order[:3]:
            train = self._texts[int(rows[best])].split()
            size, span = longest_span(query, train)
            # a shared n-gram is a shared span of >= n words; shorter means a hash collision
            if size >= self.n:
                return NgramHit(
                    train_index=int(rows[best]),
                    shared_ngrams=int(counts[best]),
                    ngram_total=int(left.size),
                    covered_ngrams=covered,
                    longest_span_words=size,
                    span_text=span,
                    train_rows=tuple(int(r) for r in rows[order[:_MAX_TRAIN_ROWS]]),
                )
        return None

    def shared_with(self, query: Sequence[str], index: int) -> int:
        """How many of the query's n-grams (words, normalised) occur in training row `index`."""
        q, _ = window_hashes(*self._hasher.flat([query]), self.n)
        t, _ = window_hashes(*self._hasher.flat([self._texts[index].split()]), self.n)
        return int(np.isin(q, t).sum())
