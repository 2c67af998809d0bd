"""Data hygiene: train/validation splits (leakage and contamination checks come next)."""

from tunecheck.hygiene._split import STRATEGIES, Split, split_dataset, write_split

__all__ = ["STRATEGIES", "Split", "split_dataset", "write_split"]
