"""Near duplicates on short texts (benchmarks/overlap.py): recall by text length and edit, and
false positives on unrelated questions about the same entity built from templates.

Eval rows are edited copies of training rows: 1-3 word substitutions, insertions or deletions,
or a small rewording (two neighbouring words swapped and one word substituted). Lengths: 8-12
and 13-20-word questions, 40-word and 100-140-word paragraphs, from 187 common English words
(seeded, offline). Recall counts an edited row found as near (or exact) with its source row, by
`find_overlap` at its defaults; beside it the rule before (word 5-gram Jaccard >= 0.8, computed
on the same pairs without LSH). False positives: 20 question templates x 15 countries; training
holds templates 1-10, eval templates 11-20, for every country, so eval and training share the
entity and many words but no question.
"""

from __future__ import annotations

import itertools

import numpy as np
from rapidfuzz.distance import Indel

from tunecheck.hygiene import find_overlap

_COMMON_TEXT = """the of and to in is was for on that with as by at from his her an are which this be it or had
not but were they first one their also its has two after new who been have more when other she into all
during time only over most world city year later can would between some made up used about him under many
three these then such while where known years well people like out school national state through part
because both before could since war team music life may any law water power order series game house public
early found local form great number death within area late major named small long high south support group
include family called north another common good each around against based river mountain country language
king queen army church book film song station road island lake bridge village market garden forest valley
history science art money price value energy light sound paper stone metal glass gold silver iron coal oil
farm horse bird fish tree flower winter summer spring autumn morning evening night week month century
"""
COMMON = _COMMON_TEXT.split()
COUNTRIES = ["france", "japan", "brazil", "kenya", "canada", "egypt", "norway", "india", "mexico", "peru",
             "chile", "spain", "ghana", "nepal", "italy"]
TEMPLATES = [
    "what is the capital city of {e} and how many people live there",
    "which river flows through the largest city of {e}",
    "in which year did {e} first take part in the olympic games",
    "what language do most people in {e} speak at home",
    "who was the first president or leader of {e} after independence",
    "what is the highest mountain in {e} and how tall is it",
    "how many national parks are there in {e} today",
    "what is the main religion practised by people in {e}",
    "which sport is the most popular among young people in {e}",
    "what currency is used in {e} and when was it introduced",
    "what are the main exports of {e} to the rest of the world",
    "how long is the coastline of {e} in kilometres",
    "which famous writers were born in {e} during the last century",
    "what is the traditional national dish of {e} made from",
    "when did women in {e} first get the right to vote",
    "what is the population of the capital of {e}",
    "which countries share a land border with {e}",
    "what is the climate like in the north of {e} during winter",
    "how is the government of {e} organised and who holds power",
    "what was the most important event in the history of {e}",
]
LENGTHS = {"8-12": (8, 12), "13-20": (13, 20), "40": (40, 40), "100-140": (100, 140)}
EDITS = [("substitute", 1), ("substitute", 2), ("substitute", 3), ("insert", 1), ("insert", 2), ("insert", 3),
         ("delete", 1), ("delete", 2), ("delete", 3), ("reword", 1)]


def _word(rng: np.random.Generator, avoid: str = "") -> str:
    while (w := COMMON[int(rng.integers(len(COMMON)))]) == avoid:
        pass
    return w


def edit(ws: list[str], kind: str, k: int, rng: np.random.Generator) -> list[str]:
    ws = list(ws)
    if kind == "reword":
        i = int(rng.integers(len(ws) - 1))
        ws[i], ws[i + 1] = ws[i + 1], ws[i]
        kind = "substitute"
    for _ in range(k):
        at = int(rng.integers(len(ws)))
        if kind == "substitute":
            ws[at] = _word(rng, ws[at])
        elif kind == "insert":
            ws.insert(at, _word(rng))
        else:
            del ws[at]
    return ws


def _text(rng: np.random.Generator, lo: int, hi: int) -> list[str]:
    n = int(rng.integers(lo, hi + 1))
    head = [["what", "is"], ["which"], ["how", "many"], ["who"], ["when", "did"]][int(rng.integers(5))] if hi <= 20 else []
    return head + [_word(rng) for _ in range(n - len(head))]


def _shingles(ws: list[str]) -> set[tuple[str, ...]]:
    return {tuple(ws[i : i + 5]) for i in range(max(1, len(ws) - 4))}


def study(per_cell: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    train: list[str] = []
    evals: list[str] = []
    cells: list[tuple[str, str, int]] = []
    old: list[bool] = []
    for (name, (lo, hi)), (kind, k) in itertools.product(LENGTHS.items(), EDITS):
        for _ in range(per_cell):
            src = _text(rng, lo, hi)
            new = edit(src, kind, k, rng)
            train.append(" ".join(src) + ("?" if hi <= 20 else "."))
            evals.append(" ".join(new) + ("?" if hi <= 20 else "."))
            cells.append((name, kind, k))
            a, b = _shingles(src), _shingles(new)
            old.append(len(a & b) / len(a | b) >= 0.8)
    r = find_overlap(train, evals)
    found = {p.eval_index for p in r.pairs if "near" in p.kinds and p.train_index == p.eval_index}
    print(f"\nnear duplicates by length and edit ({per_cell} pairs per cell, {len(train):,} x {len(evals):,}; "
          f"recall now / before (word 5-gram Jaccard >= 0.8)):")
    print(f"  {'edit':14s}" + "".join(f"{n + ' words':>18s}" for n in LENGTHS))
    for kind, k in EDITS:
        row = []
        for name in LENGTHS:
            idx = [i for i, c in enumerate(cells) if c == (name, kind, k)]
            now = sum(i in found for i in idx) / len(idx)
            before = sum(old[i] for i in idx) / len(idx)
            row.append(f"{now:8.2f} / {before:4.2f}   ")
        label = "rewording" if kind == "reword" else f"{k} {kind[:3]}."
        print(f"  {label:14s}" + "".join(f"{x:>18s}" for x in row))
    wrong = [p for p in r.pairs if p.train_index != p.eval_index]
    print(f"  pairs matched to another row than their source: {len(wrong)}")

    # unrelated same-topic questions: the same country, different templates
    tr = [t.format(e=c) for c, t in itertools.product(COUNTRIES, TEMPLATES[:10])]
    ev = [t.format(e=c) for c, t in itertools.product(COUNTRIES, TEMPLATES[10:])]
    fp = find_overlap(tr, ev)
    same = [Indel.normalized_similarity(a, b) for a, b in itertools.product(tr, ev) if a.split()[-1] == b.split()[-1]]
    print(f"\nunrelated same-topic questions: {len(tr)} train x {len(ev)} eval (same country, other template): "
          f"flagged near {fp.near.count} / {len(ev)} = {fp.near.rate:.3f}, ngram {fp.ngram.count}; "
          f"highest similarity of a same-country pair {max(same):.3f} (threshold {fp.config.near_threshold})")
