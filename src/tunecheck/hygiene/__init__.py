"""Data hygiene: train/validation splits, train/eval leakage and benchmark contamination.

`split_dataset` makes random, temporal or category-stratified splits. `check_overlap` (on data
sets) and `find_overlap` (on lists of texts) find eval rows, or benchmark items, that also appear
in training: exactly, as near duplicates (MinHash-LSH, verified Jaccard of word 5-gram shingles)
or through a shared word 13-gram. `NgramIndex` is the reusable n-gram index behind the last one,
also for finding model generations that copy long spans of training data (regurgitation).
"""

from tunecheck.hygiene._near import jaccard, shingles
from tunecheck.hygiene._ngrams import NgramHit, NgramIndex, normalize, words
from tunecheck.hygiene._overlap import (
    KINDS,
    MatchCount,
    On,
    OverlapConfig,
    OverlapPair,
    OverlapReport,
    OverlapResult,
    check_overlap,
    find_overlap,
    sample_text,
)
from tunecheck.hygiene._split import SPLIT_FILES, STRATEGIES, Split, split_dataset, write_split

__all__ = [
    "KINDS",
    "SPLIT_FILES",
    "STRATEGIES",
    "MatchCount",
    "NgramHit",
    "NgramIndex",
    "On",
    "OverlapConfig",
    "OverlapPair",
    "OverlapReport",
    "OverlapResult",
    "Split",
    "check_overlap",
    "find_overlap",
    "jaccard",
    "normalize",
    "sample_text",
    "shingles",
    "split_dataset",
    "words",
    "write_split",
]
