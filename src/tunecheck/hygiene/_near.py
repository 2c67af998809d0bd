"""Near duplicates: a character-level similarity of the normalised texts, candidates from MinHash-LSH.

The similarity is the Indel ratio of the two normalised texts (rapidfuzz's
`Indel.normalized_similarity`): 1 - (characters deleted + inserted to turn one into the other) /
(both lengths), which is 2 x (longest common subsequence) / (both lengths). Two texts are near
duplicates when it is at least the threshold (0.8). Characters, not word shingles, because eval
items are often one short question: a one-word edit in a 12-word question leaves a word 5-gram
Jaccard of 0.1-0.4 and a character 5-gram Jaccard of 0.6-0.7, but an Indel ratio of about 0.9,
while unrelated questions about the same entity built from different templates stay at 0.62 or
less (benchmarks/overlap.py measures both, by text length and edit).

Candidates come from datasketch's MinHashLSH in two tiers: texts up to 300 characters by their
character 5-grams (a text shorter than 5 characters is one shingle), tuned for a Jaccard of half
the threshold, because a one-word edit of a short text lowers the Jaccard far more than the
ratio; texts from 200 characters by their word 3-grams, tuned for 5/8 of it (character shingles
of long texts would cost 6 times the signatures and gain nothing). Candidates are ranked by their
MinHash estimate and the exact ratio decides, so every reported pair is a true near duplicate;
LSH can still miss one (the benchmark gives the recall).

Measured by benchmarks/overlap.py (recall of edited copies at the defaults): one- and two-word
substitutions, insertions and deletions 0.96-1.00 for 8-12-word questions, 1.00 for 13-20-word
questions and 40- and 100-140-word paragraphs; three edits of an 8-12-word question 0.72-0.98
(a third of its words changed is no longer a near copy); unrelated same-country questions from
other templates: none flagged, the most similar at 0.62.

With boilerplate (`tunecheck.hygiene._boilerplate`) the ratio must reach the threshold both on
the whole texts and on the texts without it: a shared instruction alone cannot make two rows
near duplicates, nor can a shared remainder under different instructions.

Signatures are datasketch's MinHash (scheme "affine32", its permutations for `seed`), computed for
many texts at once in numpy rather than one `MinHash.update_batch` per text: about 5 times faster
for the word 3-grams of 110,000 texts (benchmarks/overlap.py); the tests check that both give the same signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz.distance import Indel

from tunecheck._lazy import lazy_module
from tunecheck._progress import Progress, start
from tunecheck.hygiene._ngrams import _WordHasher, normalize, window_hashes

if TYPE_CHECKING:
    import datasketch
else:
    datasketch = lazy_module("datasketch")  # it imports scipy: a second to load

_LSH_WEIGHTS = (0.05, 0.95)
"""(false-positive, false-negative) weights for datasketch's choice of bands: favour recall,
since the exact ratio removes every false candidate afterwards."""
_CHUNK = 2048  # texts per batch
_U32 = np.uint32
_SIGMAS = 4.5
"""Candidates whose MinHash estimate is more than this many standard deviations below the LSH
threshold are not verified; the estimate's deviation is at most 0.5 / sqrt(num_perm) (0.044 for
128), so a true candidate is dropped with probability below 1e-5."""
_VERIFY = 50  # candidates verified per query, best estimates first
_SLOTS = 16_384  # shingles per block: x 128 permutations x 4 bytes = 8 MB, cache-sized


def shingles(text: str, k: int = 5) -> set[str]:
    """The character k-grams of a (normalised) text; the whole text as one shingle when shorter
    than k characters (none for an empty text)."""
    if not text:
        return set()
    if len(text) < k:
        return {text}
    return {text[i : i + k] for i in range(len(text) - k + 1)}


def jaccard(a: str, b: str, *, shingle: int = 5) -> float:
    """Jaccard similarity of the character-shingle sets of two texts (normalised first): what the
    MinHash-LSH candidate search estimates. 0.0 when both are empty."""
    x, y = shingles(normalize(a), shingle), shingles(normalize(b), shingle)
    union = len(x | y)
    return len(x & y) / union if union else 0.0


def ratio(a: str, b: str) -> float:
    """Indel ratio of two texts as they are: 2 x LCS / (len a + len b); 0.0 when both are empty."""
    return float(Indel.normalized_similarity(a, b)) if a or b else 0.0


def similarity(a: str, b: str) -> float:
    """The near-duplicate similarity of two texts: the Indel ratio of their normalised forms."""
    return ratio(normalize(a), normalize(b))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, as datasketch applies it before its affine permutations."""
    h ^= h >> _U32(16)
    h *= _U32(0x85EBCA6B)
    h ^= h >> _U32(13)
    h *= _U32(0xC2B2AE35)
    h ^= h >> _U32(16)
    return h


def shingle_hashes(texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every text's character shingles (the MinHash input), and the text of each,
    in order. Characters are hashed by code point (stable across processes and machines)."""
    joined = "".join(texts)
    flat = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    flat += np.uint64(0x51ED27)  # no zero code point: a window of zeros would hash like padding
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    h, doc = window_hashes(flat, lengths, k)
    parts, docs = [h], [doc]
    ends = np.cumsum(lengths)
    for i in np.flatnonzero((lengths > 0) & (lengths < k)).tolist():
        # a short text is one shingle: its single window of its own length
        hs, _ = window_hashes(flat[ends[i] - lengths[i] : ends[i]], lengths[i : i + 1], int(lengths[i]))
        parts.append(hs)
        docs.append(np.array([i]))
    h, doc = np.concatenate(parts), np.concatenate(docs)
    order = np.argsort(doc, kind="stable")
    return (h[order] >> np.uint64(32)).astype(_U32), doc[order]


class Signer:
    """datasketch MinHash signatures for batches of texts, with its permutations for `seed`."""

    def __init__(self, num_perm: int, seed: int) -> None:
        self.seed = seed
        self.a, self.b = datasketch.MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations

    def sign(self, h32: np.ndarray, doc: np.ndarray, n_docs: int) -> np.ndarray:
        """(n_docs, num_perm) signatures of texts given their shingle hashes in text order; a text
        without shingles keeps the empty value 2^32-1."""
        perms = self.a.size
        sig = np.full((n_docs, perms), np.iinfo(_U32).max, dtype=_U32)
        if not h32.size:
            return sig
        hv = _fmix32(h32.copy())
        counts = np.bincount(doc, minlength=n_docs)
        starts = np.cumsum(counts) - counts
        # one reused buffer: fresh 100 MB arrays per batch cost more in page faults than the maths
        buf = np.empty(_SLOTS * perms, dtype=_U32)
        # texts of similar length together, padded to the longest of their group by repeating
        # their last shingle (which leaves the minimum unchanged): a 3-D min is ~10x faster
        # than np.minimum.reduceat over ragged segments
        order = np.argsort(counts, kind="stable")
        order = order[counts[order] > 0].tolist()
        i = 0
        while i < len(order):
            width = int(counts[order[i]])
            if width > _SLOTS:  # one very long text, in slices
                d, s = order[i], int(starts[order[i]])
                for lo in range(0, width, _SLOTS):
                    part = hv[s + lo : s + min(width, lo + _SLOTS)]
                    sig[d] = np.minimum(sig[d], self._permuted(part[None, :], buf).min(axis=1)[0])
                i += 1
                continue
            j = i + 1
            while j < len(order) and (j + 1 - i) * int(counts[order[j]]) <= _SLOTS:
                j += 1
            group = np.array(order[i:j])
            width = int(counts[group[-1]])
            idx = starts[group][:, None] + np.minimum(np.arange(width), counts[group][:, None] - 1)
            sig[group] = self._permuted(hv[idx], buf).min(axis=1)
            i = j
        return sig

    def _permuted(self, block: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """a * h + b for every hash of a (texts, width) block and every permutation, in uint32
        (wrapping mod 2^32 exactly as datasketch's "affine32" scheme)."""
        g, w = block.shape
        out = buf[: g * w * self.a.size].reshape(g, w, self.a.size)
        np.multiply(block[:, :, None], self.a, out=out)
        np.add(out, self.b, out=out)
        return out

    def lean(self, signature: np.ndarray) -> datasketch.LeanMinHash:
        return datasketch.LeanMinHash(seed=self.seed, hashvalues=signature, scheme="affine32")


SHORT_CHARS = 300
"""Texts of at most this many characters (normalised, about 50 words) are searched by character
shingles; texts of at least 2/3 of it by word 3-grams. Both, in between: a pair with Indel ratio
r has a length ratio of at least r / (2 - r) (2/3 at 0.8), so every near pair shares a tier."""
_WORD_SHINGLE = 3


def lsh_params(threshold: float, num_perm: int) -> dict[str, tuple[int, int]]:
    """(bands, rows per band) datasketch chooses for each tier: character shingles tuned for a
    Jaccard of half the near threshold (0.4 at 0.8: a one-word edit of an 8-word question can
    leave 0.5), word 3-grams of longer texts for 5/8 of it (0.5: three edits in 33 words leave
    22 of 40 3-grams)."""
    out = {}
    for tier, share in (("short", 0.5), ("long", 0.625)):
        lsh = datasketch.MinHashLSH(threshold=threshold * share, num_perm=num_perm, weights=_LSH_WEIGHTS)
        out[tier] = (int(lsh.b), int(lsh.r))
    return out


def word_shingle_hashes(hasher: _WordHasher, word_lists: Sequence[Sequence[str]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every text's word k-grams (a text of fewer words is one shingle), and the
    text of each, in order."""
    flat, lengths = hasher.flat(word_lists)
    h, doc = window_hashes(flat, lengths, k)
    parts, docs = [h], [doc]
    for size in np.unique(lengths[(lengths > 0) & (lengths < k)]).tolist():
        which = np.flatnonzero(lengths == size)
        hs, _ = window_hashes(*hasher.flat([word_lists[i] for i in which.tolist()]), size)
        parts.append(hs)
        docs.append(which)
    h, doc = np.concatenate(parts), np.concatenate(docs)
    order = np.argsort(doc, kind="stable")
    return (h[order] >> np.uint64(32)).astype(_U32), doc[order]


class _Tier:
    """One MinHash-LSH index over the training texts of one length range."""

    def __init__(self, name: str, params: tuple[int, int], signer: Signer, shingle: int, floor: float) -> None:
        self.name, self.signer, self.shingle, self.floor = name, signer, shingle, floor
        self.lsh = datasketch.MinHashLSH(num_perm=signer.a.size, params=params)
        self.hasher = _WordHasher()
        self.sigs: dict[int, np.ndarray] = {}

    def holds(self, text: str) -> bool:
        n = len(text)
        return 0 < n <= SHORT_CHARS if self.name == "short" else n >= SHORT_CHARS * 2 // 3

    def sign(self, texts: Sequence[str]) -> np.ndarray:
        if self.name == "short":
            return self.signer.sign(*shingle_hashes(texts, self.shingle), len(texts))
        word_lists = [t.split() for t in texts]
        return self.signer.sign(*word_shingle_hashes(self.hasher, word_lists, _WORD_SHINGLE), len(texts))

    def index(self, train: Sequence[str], task: Any) -> None:
        rows = [i for i, t in enumerate(train) if self.holds(t)]
        with self.lsh.insertion_session() as session:
            for lo in range(0, len(rows), _CHUNK):
                part = rows[lo : lo + _CHUNK]
                sig = self.sign([train[i] for i in part])
                for i, row in enumerate(part):
                    session.insert(row, self.signer.lean(sig[i]), check_duplication=False)
                    self.sigs[row] = sig[i]
                task.advance(len(part))
        self.matrix = np.stack([self.sigs[r] for r in sorted(self.sigs)]) if self.sigs else np.empty((0, self.signer.a.size), _U32)
        self.order = np.array(sorted(self.sigs), dtype=np.int64)

    def candidates(self, sig: np.ndarray) -> list[tuple[float, int]]:
        """(MinHash estimate, training row) of the LSH candidates above the floor."""
        found = self.lsh.query(self.signer.lean(sig))
        if not found:
            return []
        rows = np.sort(np.fromiter(found, dtype=np.int64, count=len(found)))
        estimate = (self.matrix[np.searchsorted(self.order, rows)] == sig).mean(axis=1)
        keep = estimate >= self.floor
        return list(zip(estimate[keep].tolist(), rows[keep].tolist()))


def near_matches(
    train: Sequence[str],
    evals: Sequence[str],
    *,
    threshold: float,
    shingle: int,
    num_perm: int,
    seed: int,
    skip: set[int],
    train_full: Sequence[str] | None = None,
    evals_full: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> tuple[dict[int, tuple[int, float]], dict[str, tuple[int, int]]]:
    """For each eval row (normalised texts, boilerplate removed) not in `skip`, its most similar
    training row with ratio >= threshold (ties: the earliest), as {eval row: (train row, ratio)};
    and each tier's LSH (bands, rows per band). With `train_full`/`evals_full` (the texts before
    boilerplate was removed) the ratio must also hold on those, and the lower one is returned."""
    signer = Signer(num_perm, seed)
    params = lsh_params(threshold, num_perm)
    sigma = _SIGMAS * 0.5 / np.sqrt(num_perm)
    tiers = [_Tier("short", params["short"], signer, shingle, threshold * 0.5 - sigma),
             _Tier("long", params["long"], signer, shingle, threshold * 0.625 - sigma)]
    task = start(progress, "MinHash-LSH index", sum(1 for t in train for tier in tiers if tier.holds(t)), "texts")
    for tier in tiers:
        tier.index(train, task)

    found: dict[int, tuple[int, float]] = {}
    task = start(progress, "near-duplicate search", len(evals), "texts")
    for lo in range(0, len(evals), _CHUNK):
        chunk = range(lo, min(lo + _CHUNK, len(evals)))
        cands: dict[int, list[tuple[float, int]]] = {}
        for tier in tiers:
            mine = [e for e in chunk if e not in skip and tier.holds(evals[e])]
            if not mine:
                continue
            sig = tier.sign([evals[e] for e in mine])
            for i, e in enumerate(mine):
                cands.setdefault(e, []).extend(tier.candidates(sig[i]))
        for e, cand in cands.items():
            best: tuple[int, float] | None = None
            seen: set[int] = set()
            for _, row in sorted(cand, key=lambda c: (-c[0], c[1])):
                if row in seen:
                    continue
                seen.add(row)
                if len(seen) > _VERIFY:
                    break
                r = ratio(evals[e], train[row])
                if r >= threshold and train_full is not None and evals_full is not None:
                    r = min(r, ratio(evals_full[e], train_full[row]))
                if r >= threshold and (best is None or r > best[1] or (r == best[1] and row < best[0])):
                    best = (row, r)
            if best is not None:
                found[e] = best
        task.advance(len(chunk))
    return found, params
