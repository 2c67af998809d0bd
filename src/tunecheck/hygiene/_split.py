"""Train/validation splits as the seeds describe them: random, temporal, category-stratified.

Rows are kept whole (every field, in their original order within each side) so the output files
are drop-in training and validation sets; each side gets the content hash `load_data` would give.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tunecheck._io import write_text
from tunecheck.data import Dataset, Sample, content_hash
from tunecheck.errors import ConfigError, DataError

Strategy = Literal["random", "temporal", "category"]
STRATEGIES = ("random", "temporal", "category")
SPLIT_FILES = ("train.jsonl", "validation.jsonl")
"""The files `write_split` writes in its folder (the CLI checks none of them is an input)."""


@dataclass
class Split:
    train: list[Sample]
    validation: list[Sample]
    strategy: str
    too_small: list[str] = field(default_factory=list)
    """Categories with too few rows to appear on both sides; kept whole in train."""

    def rows(self, side: str) -> list[dict[str, Any]]:
        return [dict(s.fields) for s in (self.train if side == "train" else self.validation)]

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "train": {"n": len(self.train), "sha256": content_hash(self.rows("train"))},
            "validation": {"n": len(self.validation), "sha256": content_hash(self.rows("validation"))},
            "categories_too_small": self.too_small,
        }


def _n_validation(n: int, test_size: float) -> int:
    """round(n * test_size), but at least 1 and leaving at least 1 for training (n >= 2)."""
    return min(n - 1, max(1, round(n * test_size)))


def _check(test_size: float, n: int, source: str) -> None:
    if not 0 < test_size < 1:
        raise ConfigError(f"--test-size must be between 0 and 1 (a fraction), got {test_size}")
    if n < 2:
        raise DataError(f"{source}: {n} row(s); a split needs at least 2")


def split_random(dataset: Dataset, test_size: float = 0.1, seed: int = 42) -> Split:
    samples = list(dataset)
    _check(test_size, len(samples), dataset.source)
    perm = np.random.default_rng(seed).permutation(len(samples))
    val = set(perm[: _n_validation(len(samples), test_size)].tolist())
    return Split([s for i, s in enumerate(samples) if i not in val], [s for i, s in enumerate(samples) if i in val], "random")


def _parse_time(value: Any, sample: Sample, source: str, name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise DataError(f'{source} {sample.location}: field "{name}" is {value!r}; expected a date or a number')
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).timestamp()
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DataError(
            f'{source} {sample.location}: field "{name}" is {value!r}, not an ISO date '
            "(use e.g. 2024-05-01 or 2024-05-01T12:00:00)"
        ) from None
    return parsed.timestamp()


def split_temporal(dataset: Dataset, test_size: float = 0.1, date_field: str | None = None) -> Split:
    """The latest rows become validation: by `date_field` if given, else by file order."""
    samples = list(dataset)
    _check(test_size, len(samples), dataset.source)
    if date_field is not None:
        for s in samples:
            if date_field not in s.fields:
                raise DataError(f'{dataset.source} {s.location}: field "{date_field}" is missing (use --date-field to name another)')
        keys = [_parse_time(s.fields[date_field], s, dataset.source, date_field) for s in samples]
        order = sorted(range(len(samples)), key=lambda i: (keys[i], i))  # stable for equal dates
    else:
        order = list(range(len(samples)))
    cut = len(samples) - _n_validation(len(samples), test_size)
    val = set(order[cut:])
    return Split([s for i, s in enumerate(samples) if i not in val], [s for i, s in enumerate(samples) if i in val], "temporal")


def split_category(dataset: Dataset, test_size: float = 0.1, seed: int = 42, category_field: str = "category") -> Split:
    """Stratified: each category split on its own, so every category is on both sides; one too
    small for that (a single row) is reported by name and kept in train."""
    samples = list(dataset)
    _check(test_size, len(samples), dataset.source)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if category_field not in s.fields or s.fields[category_field] is None:
            raise DataError(f'{dataset.source} {s.location}: field "{category_field}" is missing (use --category-field to name another)')
        groups[str(s.fields[category_field])].append(i)
    rng = np.random.default_rng(seed)
    val: set[int] = set()
    too_small = []
    for name in sorted(groups):
        idx = groups[name]
        if len(idx) < 2:
            too_small.append(name)
            continue
        chosen = rng.permutation(len(idx))[: _n_validation(len(idx), test_size)]
        val.update(idx[j] for j in chosen.tolist())
    return Split([s for i, s in enumerate(samples) if i not in val], [s for i, s in enumerate(samples) if i in val], "category", too_small)


def split_dataset(
    dataset: Dataset,
    strategy: str = "random",
    *,
    test_size: float = 0.1,
    seed: int = 42,
    date_field: str | None = None,
    category_field: str = "category",
) -> Split:
    if strategy == "random":
        return split_random(dataset, test_size, seed)
    if strategy == "temporal":
        return split_temporal(dataset, test_size, date_field)
    if strategy == "category":
        return split_category(dataset, test_size, seed, category_field)
    raise ConfigError(f"--strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")


def write_split(split: Split, out: str | Path) -> dict[str, Any]:
    """Write train.jsonl and validation.jsonl (atomically) and return the summary with paths."""
    folder = Path(out)
    summary = split.summary()
    for name in SPLIT_FILES:
        side = name.removesuffix(".jsonl")
        path = folder / name
        text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in split.rows(side))
        write_text(path, text)
        summary[side]["path"] = str(path)
    return summary
