"""Train/eval leakage and benchmark contamination: which eval rows already appear in training.

Every eval text is compared, after normalisation (NFKC, lowercase, punctuation removed,
whitespace collapsed: see `tunecheck.hygiene._ngrams`), with the whole training set in three ways:

- exact: the same normalised text (a dict of the training texts);
- near: Jaccard similarity of word 5-gram shingle sets >= 0.8, found with MinHash-LSH and
  verified exactly (`tunecheck.hygiene._near`): no false positives, a few misses possible
  near the threshold;
- ngram: at least one shared word 13-gram, the contamination test of GPT-3 (Brown et al. 2020,
  appendix C), through an `NgramIndex`; it catches a benchmark item pasted inside a longer
  training document, which neither of the others can.

The kinds are nested: an exact match also counts as near and as n-gram, a near match also as
n-gram (even when the texts are shorter than 13 words and have no 13-gram), so
ngram.count >= near.count >= exact.count. The same check serves contamination: pass a benchmark's
items as the eval side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tunecheck._progress import Progress, start
from tunecheck.data import Dataset, Sample
from tunecheck.errors import ConfigError
from tunecheck.hygiene._near import near_matches, shingle_jaccard, shingles
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
    """Minimum Jaccard similarity of shingle sets for "near" (the level Lee et al. 2022 dedup at)."""
    shingle: int = 5
    """Words per shingle for "near"; texts shorter than this are one shingle."""
    num_perm: int = 128
    """MinHash permutations: more makes LSH recall sharper around the threshold, and slower."""
    seed: int = 1
    """Seed of the MinHash permutations (results are deterministic for a given seed)."""

    def __post_init__(self) -> None:
        # named as the CLI flag and the API argument: either may have set it
        if self.n < 1:
            raise ConfigError(f"--ngram (n) must be at least 1 word, got {self.n}; 13 is the usual contamination n-gram")
        if not 0 < self.near_threshold <= 1:
            raise ConfigError(f"--near-threshold (near_threshold) must be in (0, 1], got {self.near_threshold}; 0.8 is the default")
        if self.shingle < 1:
            raise ConfigError(f"shingle must be at least 1 word, got {self.shingle}; 5 is the default")
        if self.num_perm < 16:
            raise ConfigError(f"num_perm must be at least 16, got {self.num_perm}; 128 is the default")


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
    jaccard: float
    """Exact Jaccard similarity of the two texts' shingle sets."""
    shared_ngrams: int
    """How many of the eval text's n-grams occur in the training row (0 when it is shorter than n)."""
    ngram_total: int
    """How many n-grams the eval text has."""
    longest_span_words: int
    """Length of the longest verbatim word span shared by the two texts."""
    span: str
    """That span, as it appears in the normalised training text."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "eval_id": self.eval_id,
            "train_id": self.train_id,
            "kinds": list(self.kinds),
            "jaccard": round(self.jaccard, 6),
            "shared_ngrams": self.shared_ngrams,
            "ngram_total": self.ngram_total,
            "longest_span_words": self.longest_span_words,
            "span": self.span,
        }


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
    """Strongest first: by kind (exact, near, ngram), then Jaccard, then span length."""
    lsh: tuple[int, int]
    """MinHash-LSH (bands, rows per band), as datasketch chose them for the threshold."""
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[str, dict[str, Any]]:
        return {k: asdict(getattr(self, k)) for k in KINDS}

    def config_dict(self) -> dict[str, Any]:
        return {**asdict(self.config), "lsh_bands": self.lsh[0], "lsh_rows": self.lsh[1]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config_dict(),
            "train_rows": self.train_rows,
            "eval_rows": self.eval_rows,
            **self.counts(),
            "pairs": [p.to_dict() for p in self.pairs],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class OverlapReport:
    """`check_overlap` on two data sets: the result plus what was compared."""

    data: dict[str, Any]
    """{"train": identity, "eval": identity} (`Dataset.identity()`)."""
    on: On
    """Which part of each sample was compared: "full", "prompt" or "response"."""
    result: OverlapResult
    notes: tuple[str, ...] = ()
    """The result's notes plus what `on` compared."""

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "layer": "overlap",
            "data": self.data,
            "config": {"on": self.on, **r.config_dict()},
            "train_rows": r.train_rows,
            "eval_rows": r.eval_rows,
            **r.counts(),
            "pairs": [p.to_dict() for p in r.pairs],
            "notes": list(self.notes),
        }


def find_overlap(
    train_texts: Sequence[str],
    eval_texts: Sequence[str],
    *,
    n: int = 13,
    near_threshold: float = 0.8,
    shingle: int = 5,
    num_perm: int = 128,
    seed: int = 1,
    train_ids: Sequence[str] | None = None,
    eval_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> OverlapResult:
    """Which eval texts match training texts exactly, nearly, or by a shared n-gram.

    Pass training texts and eval texts (for leakage) or benchmark items (for contamination).
    Ids default to the 0-based row number. Deterministic for given inputs and `seed`.
    """
    config = OverlapConfig(n, near_threshold, shingle, num_perm, seed)
    tids = list(train_ids) if train_ids is not None else [str(i) for i in range(len(train_texts))]
    eids = list(eval_ids) if eval_ids is not None else [str(i) for i in range(len(eval_texts))]
    if len(tids) != len(train_texts) or len(eids) != len(eval_texts):
        raise ConfigError("train_ids/eval_ids must have one id per text")
    task = start(progress, "normalising", len(train_texts) + len(eval_texts))
    train: list[str] = []
    evals: list[str] = []
    for texts, out in ((train_texts, train), (eval_texts, evals)):
        for t in texts:
            out.append(normalize(t))
            task.advance()

    first: dict[str, int] = {}
    for i, t in enumerate(train):
        if t:
            first.setdefault(t, i)
    exact = {i: first[t] for i, t in enumerate(evals) if t in first}
    index = NgramIndex.from_normalized(train, n=n, progress=progress)
    hits = index.query_normalized(evals, progress)
    near, lsh = near_matches(
        train, evals, threshold=near_threshold, shingle=shingle, num_perm=num_perm, seed=seed,
        skip=set(exact), progress=progress,
    )

    pairs = []
    task = start(progress, "match details", len(hits))
    for i, hit in enumerate(hits):
        task.advance()
        if i in exact:
            row, kinds = exact[i], KINDS
        elif i in near:
            row, kinds = near[i][0], KINDS[1:]
        elif hit is not None:
            row, kinds = hit.train_index, KINDS[2:]
        else:
            continue
        pairs.append(_pair(i, row, kinds, evals[i], train[row], hit, index, config, eids[i], tids[row]))
    pairs.sort(key=lambda p: (-len(p.kinds), -p.jaccard, -p.longest_span_words, p.eval_index))

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
        notes=tuple(_notes(train, evals, config, lsh)),
    )


def _pair(
    i: int, row: int, kinds: tuple[Kind, ...], eval_text: str, train_text: str, hit: NgramHit | None,
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
        jaccard=shingle_jaccard(shingles(ew, config.shingle), shingles(tw, config.shingle)),
        shared_ngrams=shared,
        ngram_total=max(0, len(ew) - config.n + 1),
        longest_span_words=size,
        span=span,
    )


def _count(count: int, total: int) -> MatchCount:
    return MatchCount(count, count / total if total else 0.0)


def _notes(train: list[str], evals: list[str], config: OverlapConfig, lsh: tuple[int, int]) -> list[str]:
    bands, rows = lsh
    t = config.near_threshold
    notes = [
        "kinds are nested: an exact match also counts as near and ngram, a near match also as ngram",
        f"near pairs are MinHash-LSH candidates ({bands} bands x {rows} rows) verified with the exact "
        f"Jaccard: none is a false positive, but a pair at Jaccard {t} is found with probability "
        f"{1 - (1 - t**rows) ** bands:.3f} (more above it)",
    ]
    short = sum(1 for e in evals if 0 < len(e.split()) < config.n)
    if short:
        notes.append(
            f"{short} eval row(s) have fewer than {config.n} words, hence no {config.n}-gram: "
            "only an exact or near match can flag them"
        )
    empty_t, empty_e = sum(1 for x in train if not x), sum(1 for x in evals if not x)
    if empty_t or empty_e:
        notes.append(
            f"{empty_t} train and {empty_e} eval row(s) are empty after normalisation (only "
            "punctuation or spaces) and match nothing"
        )
    return notes


def sample_text(sample: Sample, on: On) -> str | None:
    """The part of a sample that `check_overlap` compares; None when the sample lacks it.

    "full" is the text, or the prompt and response joined with a newline (for chat, every
    non-system turn and the response: a system prompt shared by all rows would otherwise make
    every row an n-gram match).
    """
    if on == "prompt":
        return sample.prompt
    if on == "response":
        return sample.response
    if sample.text is not None:
        return sample.text
    if sample.messages is not None:
        turns = [m.content for m in sample.messages if m.role != "system"]
        return "\n".join([*turns, sample.response or ""])
    return "\n".join(p for p in (sample.prompt, sample.response) if p is not None)


def _texts(dataset: Dataset, on: On, side: str) -> list[str]:
    texts = []
    for s in dataset:
        text = sample_text(s, on)
        if text is None:
            what = "plain text (no prompt/response split)" if dataset.shape == "text" else f"no {on}"
            raise ConfigError(
                f'on="{on}": {side} data {dataset.source} {s.location or "row " + s.id} has {what}; '
                'use on="full" to compare whole samples'
            )
        texts.append(text)
    return texts


def check_overlap(
    train: Dataset,
    eval: Dataset,
    *,
    on: On = "full",
    n: int = 13,
    near_threshold: float = 0.8,
    shingle: int = 5,
    num_perm: int = 128,
    seed: int = 1,
    progress: Progress | None = None,
) -> OverlapReport:
    """Leakage between a training set and an eval set, or contamination of a training set by a
    benchmark (pass the benchmark as `eval`): `find_overlap` on the chosen part of each sample,
    with sample ids in the pairs so matching rows can be removed."""
    if on not in ("full", "prompt", "response"):
        raise ConfigError(f'on={on!r}: use "full", "prompt" or "response"')
    result = find_overlap(
        _texts(train, on, "train"), _texts(eval, on, "eval"),
        n=n, near_threshold=near_threshold, shingle=shingle, num_perm=num_perm, seed=seed,
        train_ids=[s.id for s in train], eval_ids=[s.id for s in eval], progress=progress,
    )
    what = {
        "full": "whole samples (text, or prompt and response joined by a newline; chat system turns left out)",
        "prompt": "prompts only",
        "response": "responses only",
    }[on]
    return OverlapReport(
        data={"train": train.identity(), "eval": eval.identity()},
        on=on,
        result=result,
        notes=(f"compared {what}", *result.notes),
    )
