"""Train/eval leakage and benchmark contamination: which eval rows already appear in training.

Every eval text is compared, after normalisation (NFKC, lowercase, punctuation removed,
whitespace collapsed: see `tunecheck.hygiene._ngrams`), with the whole training set in three ways:

- exact: the same normalised text (a dict of the training texts);
- near: a character-level similarity (Indel ratio) >= 0.8, candidates found with MinHash-LSH
  (character 5-grams of short texts, word 3-grams of long ones) and verified exactly (`tunecheck.hygiene._near`): no false positives,
  a few misses possible near the threshold;
- ngram: at least one shared word 13-gram, the contamination test of GPT-3 (Brown et al. 2020,
  appendix C), through an `NgramIndex`; it catches a benchmark item pasted inside a longer
  training document, which neither of the others can.

Boilerplate, word 8-grams found in at least 5% of the training rows (a shared instruction, a
system prompt, a header), is removed from both sides before the near and n-gram checks
(`tunecheck.hygiene._boilerplate`); exact matches compare whole texts. When the compared texts
are too short or repeat a few values (one-word labels), exact matches are expected and the result
says so (`caveat`) instead of letting a 100% rate pass for leakage.

The kinds are nested: an exact match also counts as near and as n-gram, a near match also as
n-gram (even when the texts are shorter than 13 words and have no 13-gram), so
ngram.count >= near.count >= exact.count. The same check serves contamination: pass a benchmark's
items as the eval side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from tunecheck._progress import Progress, start
from tunecheck.errors import ConfigError
from tunecheck.hygiene._boilerplate import (
    BOILERPLATE_N,
    Boilerplate,
    check_share,
    strip_boilerplate,
)
from tunecheck.hygiene._near import near_matches, ratio
from tunecheck.hygiene._ngrams import NgramHit, NgramIndex, longest_span, normalize

Kind = Literal["exact", "near", "ngram"]
On = Literal["full", "prompt", "response"]
KINDS: tuple[Kind, ...] = ("exact", "near", "ngram")


@dataclass(frozen=True)
class OverlapConfig:
    """How texts are compared; recorded in every result so figures stay comparable."""

    n: int = 13
    """Word n-gram length of the "ngram" check: 13, as GPT-3's and later contamination studies."""
    near_threshold: float = 0.8
    """Minimum similarity (Indel ratio of the normalised texts) for "near": finds one- and two-word
    edits of 8-20-word questions and one- to three-word edits of paragraphs, not unrelated
    same-topic questions (at most 0.62 in benchmarks/overlap.py)."""
    shingle: int = 5
    """Characters per shingle of the MinHash-LSH candidate search; texts shorter are one shingle."""
    num_perm: int = 128
    """MinHash permutations: more makes LSH recall sharper around the threshold, and slower."""
    seed: int = 1
    """Seed of the MinHash permutations (results are deterministic for a given seed)."""
    boilerplate_share: float | None = 0.05
    """A word 8-gram in at least this share of the training rows (and in 10 or more) is
    boilerplate, left out of the near and n-gram checks; None keeps everything."""

    def __post_init__(self) -> None:
        # named as the CLI flag and the API argument: either may have set it
        if self.n < 1:
            raise ConfigError(f"--ngram (n) must be at least 1 word, got {self.n}; 13 is the usual contamination n-gram")
        if not 0 < self.near_threshold <= 1:
            raise ConfigError(f"--near-threshold (near_threshold) must be in (0, 1], got {self.near_threshold}; 0.8 is the default")
        if self.shingle < 1:
            raise ConfigError(f"shingle must be at least 1 character, got {self.shingle}; 5 is the default")
        if self.num_perm < 16:
            raise ConfigError(f"num_perm must be at least 16, got {self.num_perm}; 128 is the default")
        check_share(self.boilerplate_share)


@dataclass(frozen=True)
class MatchCount:
    count: int
    """Eval rows with at least this kind of match (nested: exact ⊆ near ⊆ ngram)."""
    rate: float
    """count / number of eval rows (0.0 for no eval rows)."""


@dataclass(frozen=True)
class OverlapPair:
    """One eval row that matches the training set, with its strongest training match."""

    eval_index: int
    """0-based eval row."""
    train_index: int
    """0-based training row: the exact match, else the most similar near duplicate, else the row
    sharing the most n-grams."""
    eval_id: str
    train_id: str
    kinds: tuple[Kind, ...]
    """The kinds of match, nested: ("exact", "near", "ngram"), ("near", "ngram") or ("ngram",)."""
    similarity: float
    """Indel ratio of the two compared texts (boilerplate removed; for a near match the lower of
    the ratios with and without boilerplate): 1.0 for an exact match."""
    shared_ngrams: int
    """How many of the eval text's n-grams occur in the training row (0 when it is shorter than n)."""
    ngram_total: int
    """How many n-grams the eval text has."""
    longest_span_words: int
    """Length of the longest verbatim word span shared by the two texts."""
    span: str
    """That span, as it appears in the normalised training text."""


@dataclass(frozen=True)
class OverlapResult:
    """What `find_overlap` found: nested counts and one pair per matching eval row."""

    config: OverlapConfig
    train_rows: int
    eval_rows: int
    exact: MatchCount
    near: MatchCount
    ngram: MatchCount
    pairs: tuple[OverlapPair, ...]
    """Strongest first: by kind (exact, near, ngram), then similarity, then span length."""
    lsh: dict[str, tuple[int, int]]
    """MinHash-LSH (bands, rows per band) of each tier ("short": character 5-grams of texts up to
    300 characters, "long": word 3-grams of texts from 200), as datasketch chose them."""
    boilerplate: Boilerplate
    """What was left out as boilerplate."""
    caveat: str | None = None
    """Why matches say nothing about leakage here (texts too short, a few repeated values), or None."""
    notes: tuple[str, ...] = ()

    def config_dict(self) -> dict[str, Any]:
        return {**asdict(self.config), "boilerplate_n": BOILERPLATE_N,
                "lsh": {tier: {"bands": b, "rows": r} for tier, (b, r) in self.lsh.items()}}


def find_overlap(
    train_texts: Sequence[str],
    eval_texts: Sequence[str],
    *,
    n: int = 13,
    near_threshold: float = 0.8,
    shingle: int = 5,
    num_perm: int = 128,
    seed: int = 1,
    boilerplate_share: float | None = 0.05,
    train_ids: Sequence[str] | None = None,
    eval_ids: Sequence[str] | None = None,
    label: str = "texts",
    progress: Progress | None = None,
) -> OverlapResult:
    """Which eval texts match training texts exactly, nearly, or by a shared n-gram.

    Pass training texts and eval texts (for leakage) or benchmark items (for contamination).
    Ids default to the 0-based row number; `label` names the texts in the caveat ("responses").
    Deterministic for given inputs and `seed`.
    """
    config = OverlapConfig(n, near_threshold, shingle, num_perm, seed, boilerplate_share)
    tids = list(train_ids) if train_ids is not None else [str(i) for i in range(len(train_texts))]
    eids = list(eval_ids) if eval_ids is not None else [str(i) for i in range(len(eval_texts))]
    if len(tids) != len(train_texts) or len(eids) != len(eval_texts):
        raise ConfigError("train_ids/eval_ids must have one id per text")
    task = start(progress, "normalising", len(train_texts) + len(eval_texts), "texts")
    train_full: list[str] = []
    evals_full: list[str] = []
    for texts, out in ((train_texts, train_full), (eval_texts, evals_full)):
        for t in texts:
            out.append(normalize(t))
            task.advance()

    first: dict[str, int] = {}
    for i, t in enumerate(train_full):
        if t:
            first.setdefault(t, i)
    exact = {i: first[t] for i, t in enumerate(evals_full) if t in first}
    # near and n-gram checks on the texts without boilerplate; exact ones on the whole texts
    train, evals, boilerplate = strip_boilerplate(train_full, evals_full, boilerplate_share, progress)
    stripped = boilerplate.ngrams > 0
    index = NgramIndex.from_normalized(train, n=n, progress=progress)
    hits = index.query_normalized(evals, progress)
    near, lsh = near_matches(
        train, evals, threshold=near_threshold, shingle=shingle, num_perm=num_perm, seed=seed, skip=set(exact),
        train_full=train_full if stripped else None, evals_full=evals_full if stripped else None, progress=progress,
    )

    pairs = []
    task = start(progress, "match details", len(hits), "rows")
    for i, hit in enumerate(hits):
        task.advance()
        if i in exact:
            row, kinds, sim = exact[i], KINDS, 1.0
        elif i in near:
            (row, sim), kinds = near[i], KINDS[1:]
        elif hit is not None:
            row, kinds = hit.train_index, KINDS[2:]
            sim = ratio(evals[i], train[row])
        else:
            continue
        pairs.append(_pair(i, row, kinds, sim, evals[i], train[row], hit, index, config, eids[i], tids[row]))
    pairs.sort(key=lambda p: (-len(p.kinds), -p.similarity, -p.longest_span_words, p.eval_index))

    total = len(evals)
    near_rows = set(exact) | set(near)
    ngram_rows = near_rows | {i for i, h in enumerate(hits) if h is not None}
    return OverlapResult(
        config=config,
        train_rows=len(train),
        eval_rows=total,
        exact=_count(len(exact), total),
        near=_count(len(near_rows), total),
        ngram=_count(len(ngram_rows), total),
        pairs=tuple(pairs),
        lsh=lsh,
        boilerplate=boilerplate,
        caveat=_caveat(train_full, evals_full, label),
        notes=tuple(_notes(train, evals, config, lsh, boilerplate)),
    )


def _pair(
    i: int, row: int, kinds: tuple[Kind, ...], sim: float, eval_text: str, train_text: str, hit: NgramHit | None,
    index: NgramIndex, config: OverlapConfig, eval_id: str, train_id: str,
) -> OverlapPair:
    ew, tw = eval_text.split(), train_text.split()
    shared = hit.shared_ngrams if hit is not None and hit.train_index == row else index.shared_with(ew, row)
    size, span = longest_span(ew, tw)
    return OverlapPair(
        eval_index=i,
        train_index=row,
        eval_id=eval_id,
        train_id=train_id,
        kinds=kinds,
        similarity=sim,
        shared_ngrams=shared,
        ngram_total=max(0, len(ew) - config.n + 1),
        longest_span_words=size,
        span=span,
    )


def _count(count: int, total: int) -> MatchCount:
    return MatchCount(count, count / total if total else 0.0)


SHORT_WORDS = 3
"""Compared texts whose median length is at most this many words are too short to tell a leak
from a common answer ("positive", "Paris", "42")."""
REPEATED_SHARE = 0.5
"""Training texts of which at most this share are distinct repeat a small set of values (labels)."""


def _caveat(train: list[str], evals: list[str], label: str) -> str | None:
    """Why exact and near matches say nothing here, or None: one-word labels from a closed set
    match by construction, whoever saw what."""
    if not train or not evals:
        return None
    median = float(np.median([len(e.split()) for e in evals]))
    distinct = len(set(train))
    reasons = []
    if median <= SHORT_WORDS:
        reasons.append(f"are too short (median {median:g} word{'' if median == 1 else 's'})")
    if len(train) >= 10 and distinct <= REPEATED_SHARE * len(train):
        reasons.append(f"repeat a small set of values ({distinct:,} distinct in {len(train):,} training rows)")
    if not reasons:
        return None
    return f"{label} {' and '.join(reasons)}: exact matches are expected and say nothing about leakage"


def _notes(
    train: list[str], evals: list[str], config: OverlapConfig, lsh: dict[str, tuple[int, int]], bp: Boilerplate,
) -> list[str]:
    t = config.near_threshold
    (b1, r1), (b2, r2) = lsh["short"], lsh["long"]
    j1, j2 = t * 0.5, t * 0.625
    notes = [
        "kinds are nested: an exact match also counts as near and ngram, a near match also as ngram",
        f"near pairs are MinHash-LSH candidates verified with the exact Indel ratio >= {t}: none is a false "
        f"positive; candidates come from character {config.shingle}-grams for texts up to 300 characters "
        f"({b1} bands x {r1} rows: a pair at Jaccard {j1:g} is a candidate with probability "
        f"{1 - (1 - j1**r1) ** b1:.3f}) and from word 3-grams for texts from 200 ({b2} x {r2}: at "
        f"{j2:g}, {1 - (1 - j2**r2) ** b2:.3f}), more above",
    ]
    if bp.share is None:
        notes.append("boilerplate left in (boilerplate_share None)")
    elif bp.ngrams:
        notes.append(
            f"ignored {bp.ngrams:,} word {BOILERPLATE_N}-grams found in at least {bp.min_rows:,} training rows "
            f"({100 * bp.share:g}% or more: boilerplate, e.g. \"{bp.example[:80]}\"): their words were removed "
            f"from {bp.train_rows:,} train and {bp.eval_rows:,} eval rows before the near and n-gram checks"
        )
    else:
        notes.append(f"no boilerplate: no word {BOILERPLATE_N}-gram is in {bp.min_rows:,} or more training rows")
    short = sum(1 for e in evals if 0 < len(e.split()) < config.n)
    if short:
        notes.append(
            f"{short} eval row(s) have fewer than {config.n} words{' once boilerplate is removed' if bp.ngrams else ''}, "
            f"hence no {config.n}-gram: only an exact or near match can flag them"
        )
    empty_t, empty_e = sum(1 for x in train if not x), sum(1 for x in evals if not x)
    if empty_t or empty_e:
        notes.append(
            f"{empty_t} train and {empty_e} eval row(s) are empty after normalisation"
            f"{' and boilerplate removal' if bp.ngrams else ''} and can only match exactly"
        )
    return notes
