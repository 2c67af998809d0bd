"""Data hygiene: train/validation splits, train/eval leakage and benchmark contamination.

`split_dataset` makes random, temporal or category-stratified splits. `check_overlap` (on data
sets) and `find_overlap` (on lists of texts) find eval rows, or benchmark items, that also appear
in training: exactly, as near duplicates (a character-level similarity, candidates from
MinHash-LSH over character 5-grams) or through a shared word 13-gram, with boilerplate (shared
instructions) left out. `NgramIndex` is the reusable n-gram index behind the last one,
also for finding model generations that copy long spans of training data (regurgitation).
"""

from tunecheck.hygiene._boilerplate import Boilerplate
from tunecheck.hygiene._check import OverlapReport, check_on, check_overlap, compared, sample_text
from tunecheck.hygiene._near import jaccard, shingles, similarity
from tunecheck.hygiene._ngrams import NgramHit, NgramIndex, normalize, words
from tunecheck.hygiene._overlap import (
    KINDS,
    MatchCount,
    On,
    OverlapConfig,
    OverlapPair,
    OverlapResult,
    find_overlap,
)
from tunecheck.hygiene._split import SPLIT_FILES, STRATEGIES, Split, split_dataset, write_split

__all__ = [
    "KINDS",
    "SPLIT_FILES",
    "STRATEGIES",
    "Boilerplate",
    "MatchCount",
    "NgramHit",
    "NgramIndex",
    "On",
    "OverlapConfig",
    "OverlapPair",
    "OverlapReport",
    "OverlapResult",
    "Split",
    "check_on",
    "check_overlap",
    "compared",
    "find_overlap",
    "jaccard",
    "normalize",
    "sample_text",
    "shingles",
    "similarity",
    "split_dataset",
    "words",
    "write_split",
]
