"""Boilerplate: word n-grams shared by a large share of the training rows, left out of the checks.

Every row of an instruction data set repeats its instruction ("Classify the sentiment of this
review as positive, negative or neutral."), and a chat set its system prompt or a header. Compared
as they are, every eval row then shares a 13-gram with every training row, and two rows with
different reviews look like near duplicates because of the instruction. So before the n-gram and
near-duplicate checks, the words covered by a boilerplate n-gram are removed from both sides.

A word 8-gram is boilerplate when it occurs in at least `share` of the training rows (default 5%)
and in at least 10 of them. 8 words, not 13, so that instructions of 8-12 words are caught too;
at least 10 rows, so that a text repeated a few times in a small training set stays a text, not
boilerplate. Why 5%: in text without templates no 8-gram comes near it (the largest share in
benchmarks/overlap.py's 100,000 training texts is 0.003%: 3 rows), a shared instruction is in
100% of the rows, and a mixture of up to 20 templates used equally still has each in 5% of its
rows. Exact matches are always on the whole text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunecheck._progress import Progress, start
from tunecheck.errors import ConfigError
from tunecheck.hygiene._ngrams import _WordHasher, windows

BOILERPLATE_N = 8
"""Words per boilerplate n-gram."""
MIN_ROWS = 10
"""An n-gram in fewer training rows than this is never boilerplate, whatever the share."""
_CHUNK = 4096


@dataclass(frozen=True)
class Boilerplate:
    """What was left out as boilerplate, for the report."""

    share: float | None
    """The share of training rows that makes an n-gram boilerplate (None: none is left out)."""
    min_rows: int
    """Training rows an n-gram had to occur in: max(10, ceil(share x rows))."""
    ngrams: int
    """Distinct word 8-grams found to be boilerplate."""
    train_rows: int
    """Training rows that had boilerplate words removed."""
    eval_rows: int
    """Eval rows that had boilerplate words removed."""
    example: str
    """The first boilerplate passage of the first training row that has one ("" when none)."""


def check_share(share: float | None) -> None:
    if share is not None and not 0 < share <= 1:
        raise ConfigError(f"--boilerplate-share (boilerplate_share) must be in (0, 1], got {share}; 0.05 is the default")


def strip_boilerplate(
    train: Sequence[str], evals: Sequence[str], share: float | None, progress: Progress | None = None,
) -> tuple[list[str], list[str], Boilerplate]:
    """Training and eval texts (normalised) without the words that boilerplate n-grams cover."""
    check_share(share)
    need = max(MIN_ROWS, math.ceil(share * len(train))) if share is not None else 0
    if share is None or len(train) < need:
        return list(train), list(evals), Boilerplate(share, need, 0, 0, 0, "")
    hasher = _WordHasher()
    found = _frequent(train, need, hasher, progress)
    if not found.size:
        return list(train), list(evals), Boilerplate(share, need, 0, 0, 0, "")
    new_train, changed_train, example = _strip(train, found, hasher)
    new_evals, changed_evals, _ = _strip(evals, found, hasher)
    return new_train, new_evals, Boilerplate(share, need, int(found.size), changed_train, changed_evals, example)


def _frequent(texts: Sequence[str], need: int, hasher: _WordHasher, progress: Progress | None) -> np.ndarray:
    """Sorted hashes of the word n-grams occurring in at least `need` of the texts."""
    task = start(progress, "boilerplate n-grams", len(texts), "texts")
    keys, rows = [], []
    for lo in range(0, len(texts), _CHUNK):
        chunk = [t.split() for t in texts[lo : lo + _CHUNK]]
        h, doc, _ = windows(*hasher.flat(chunk), BOILERPLATE_N)
        keys.append(h)
        rows.append(doc + lo)
        task.advance(len(chunk))
    if not keys:
        return np.empty(0, np.uint64)
    key, row = np.concatenate(keys), np.concatenate(rows)
    # counting uses first (a plain sort, no row gathered): an upper bound, as a row may repeat an
    # n-gram; rows are then counted exactly for the few n-grams that pass it
    ordered = np.sort(key)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if ordered.size else np.empty(0, np.int64)
    counts = np.diff(np.r_[starts, ordered.size])
    maybe: np.ndarray = ordered[starts[counts >= need]]
    if not maybe.size:
        return maybe
    sel = np.isin(key, maybe)
    pairs = np.unique(np.stack([key[sel], row[sel].astype(np.uint64)]), axis=1)
    found, per_row = np.unique(pairs[0], return_counts=True)
    out: np.ndarray = found[per_row >= need]
    return out


def _strip(texts: Sequence[str], found: np.ndarray, hasher: _WordHasher) -> tuple[list[str], int, str]:
    """The texts without covered words, how many changed, and the first removed passage."""
    out: list[str] = []
    changed, example = 0, ""
    for lo in range(0, len(texts), _CHUNK):
        chunk = [t.split() for t in texts[lo : lo + _CHUNK]]
        flat, lengths = hasher.flat(chunk)
        h, _, at = windows(flat, lengths, BOILERPLATE_N)
        pos = np.searchsorted(found, h)
        hit = at[(pos < found.size) & (found[np.minimum(pos, found.size - 1)] == h)]
        if not hit.size:
            out.extend(texts[lo : lo + _CHUNK])
            continue
        # a word is covered when some boilerplate window starting at most n-1 words before it
        # holds it: +1 where a window starts, -1 where it ends, running sum > 0
        edge = np.zeros(flat.size + 1, dtype=np.int64)
        np.add.at(edge, hit, 1)
        np.add.at(edge, hit + BOILERPLATE_N, -1)
        covered = np.cumsum(edge[:-1]) > 0
        ends = np.cumsum(lengths)
        for i, ws in enumerate(chunk):
            cov = covered[ends[i] - len(ws) : ends[i]]
            if not cov.any():
                out.append(texts[lo + i])
                continue
            changed += 1
            if not example:
                first = int(np.argmax(cov))
                run = cov[first:]
                stop = first + (int(np.argmin(run)) if not run.all() else run.size)
                example = " ".join(ws[first:stop])
            out.append(" ".join(w for w, c in zip(ws, cov.tolist()) if not c))
    return out, changed, example
