"""Train/validation(/test) splits: random, temporal (the latest rows held out), category-stratified.

A test split is optional (`test_size` > 0): held out from both training and the validation set
that picks checkpoints and settings, so the final number is not tuned on. Rows are kept whole (every field, in their original order within each side) so the output files
are drop-in training and validation sets; each side gets the content hash `load_data` would give.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tunecheck._io import write_text
from tunecheck.core import DataInfo, Result
from tunecheck.data import Dataset, Sample, content_hash
from tunecheck.errors import ConfigError, DataError

Strategy = Literal["random", "temporal", "category"]
STRATEGIES = ("random", "temporal", "category")
SPLIT_FILES = ("train.jsonl", "validation.jsonl", "test.jsonl")
"""The files `write_split` writes in its folder (the CLI checks none of them is an input)."""


SIDES = ("train", "validation", "test")


@dataclass
class Split:
    train: list[Sample]
    validation: list[Sample]
    strategy: str
    too_small: list[str] = field(default_factory=list)
    """Categories with too few rows to appear on every side; kept whole in train."""
    test: list[Sample] | None = None
    """The test side, when one was asked for (test_size > 0)."""

    def sides(self) -> tuple[str, ...]:
        return SIDES if self.test is not None else SIDES[:2]

    def rows(self, side: str) -> list[dict[str, Any]]:
        samples = {"train": self.train, "validation": self.validation, "test": self.test or []}[side]
        return [dict(s.fields) for s in samples]

    def to_result(self, source: Dataset, written: Mapping[str, Any], config: Mapping[str, Any]) -> Result:
        """As a stored result (layer "split"): the data split (role "source") and each side as
        written (`write_split`'s summary: its path, rows and content hash), the strategy and the
        categories kept whole in train in details."""
        data = [DataInfo(source.source, source.sha256, len(source), "source", {"shape": source.shape})]
        data += [DataInfo(str(written[side]["path"]), str(written[side]["sha256"]), int(written[side]["n"]), side) for side in self.sides()]
        return Result(layer="split", data=data, config=dict(config),
                      details={"strategy": self.strategy, "categories_too_small": list(self.too_small)})

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.strategy}
        for side in self.sides():
            rows = self.rows(side)
            out[side] = {"n": len(rows), "sha256": content_hash(rows)}
        out["categories_too_small"] = self.too_small
        return out


def _sizes(n: int, validation_size: float, test_size: float) -> tuple[int, int]:
    """(validation rows, test rows): round(n * share), at least 1 of each asked for, leaving at
    least 1 row for training."""
    n_test = max(1, round(n * test_size)) if test_size > 0 else 0
    n_val = max(1, round(n * validation_size))
    while n_val + n_test > n - 1:  # too few rows for the shares: the larger side gives one up
        if n_test > 1 and n_test >= n_val:
            n_test -= 1
        else:
            n_val -= 1
    return n_val, n_test


def _check(validation_size: float, test_size: float, n: int, source: str) -> None:
    if not 0 < validation_size < 1:
        raise ConfigError(f"--validation-size must be between 0 and 1 (a fraction), got {validation_size}")
    if not 0 <= test_size < 1:
        raise ConfigError(f"--test-size must be between 0 and 1 (a fraction; 0 = no test split), got {test_size}")
    if validation_size + test_size >= 1:
        raise ConfigError(f"--validation-size {validation_size} + --test-size {test_size} leave nothing to train on; make them add up to less than 1")
    need = 3 if test_size > 0 else 2
    if n < need:
        raise DataError(f"{source}: {n} row(s); a split into {need} sides needs at least {need}")


def _assemble(samples: list[Sample], val: set[int], test: set[int] | None, strategy: str, too_small: list[str] | None = None) -> Split:
    """The sides in file order; `test` None when no test split was asked for."""
    held = val | (test or set())
    return Split([s for i, s in enumerate(samples) if i not in held], [s for i, s in enumerate(samples) if i in val], strategy,
                 too_small or [], None if test is None else [s for i, s in enumerate(samples) if i in test])


def split_random(dataset: Dataset, validation_size: float = 0.1, seed: int = 42, test_size: float = 0.0) -> Split:
    samples = list(dataset)
    _check(validation_size, test_size, len(samples), dataset.source)
    perm = np.random.default_rng(seed).permutation(len(samples)).tolist()
    n_val, n_test = _sizes(len(samples), validation_size, test_size)
    val = set(perm[:n_val])
    return _assemble(samples, val, set(perm[n_val : n_val + n_test]) if test_size > 0 else None, "random")


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


def split_temporal(dataset: Dataset, validation_size: float = 0.1, date_field: str | None = None, test_size: float = 0.0) -> Split:
    """The latest rows are held out: by `date_field` if given, else by file order; with a test
    split, the very latest are the test set and the ones just before them validation."""
    samples = list(dataset)
    _check(validation_size, test_size, len(samples), dataset.source)
    if date_field is not None:
        for s in samples:
            if date_field not in s.fields:
                raise DataError(f'{dataset.source} {s.location}: field "{date_field}" is missing (use --date-field to name another)')
        keys = [_parse_time(s.fields[date_field], s, dataset.source, date_field) for s in samples]
        order = sorted(range(len(samples)), key=lambda i: (keys[i], i))  # stable for equal dates
    else:
        order = list(range(len(samples)))
    n_val, n_test = _sizes(len(samples), validation_size, test_size)
    cut = len(samples) - n_val - n_test
    val = set(order[cut : cut + n_val])
    return _assemble(samples, val, set(order[cut + n_val :]) if test_size > 0 else None, "temporal")


def split_category(
    dataset: Dataset, validation_size: float = 0.1, seed: int = 42, category_field: str = "category", test_size: float = 0.0
) -> Split:
    """Stratified: each category split on its own, so every category is on every side; one too
    small for that (fewer rows than sides) is reported by name and kept in train."""
    samples = list(dataset)
    _check(validation_size, test_size, len(samples), dataset.source)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if category_field not in s.fields or s.fields[category_field] is None:
            raise DataError(f'{dataset.source} {s.location}: field "{category_field}" is missing (use --category-field to name another)')
        groups[str(s.fields[category_field])].append(i)
    rng = np.random.default_rng(seed)
    val: set[int] = set()
    test: set[int] = set()
    too_small = []
    sides = 3 if test_size > 0 else 2
    for name in sorted(groups):
        idx = groups[name]
        if len(idx) < sides:
            too_small.append(name)
            continue
        perm = rng.permutation(len(idx)).tolist()
        n_val, n_test = _sizes(len(idx), validation_size, test_size)
        val.update(idx[j] for j in perm[:n_val])
        test.update(idx[j] for j in perm[n_val : n_val + n_test])
    return _assemble(samples, val, test if test_size > 0 else None, "category", too_small)


def split_dataset(
    dataset: Dataset,
    strategy: str = "random",
    *,
    validation_size: float = 0.1,
    test_size: float = 0.0,
    seed: int = 42,
    date_field: str | None = None,
    category_field: str = "category",
) -> Split:
    """Train / validation, and a test split too when `test_size` > 0 (shares of all rows)."""
    if strategy == "random":
        return split_random(dataset, validation_size, seed, test_size)
    if strategy == "temporal":
        return split_temporal(dataset, validation_size, date_field, test_size)
    if strategy == "category":
        return split_category(dataset, validation_size, seed, category_field, test_size)
    raise ConfigError(f"--strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")


def write_split(split: Split, out: str | Path) -> dict[str, Any]:
    """Write train.jsonl, validation.jsonl (and test.jsonl) atomically; the summary with paths."""
    folder = Path(out)
    summary = split.summary()
    for side in split.sides():
        path = folder / f"{side}.jsonl"
        text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in split.rows(side))
        write_text(path, text)
        summary[side]["path"] = str(path)
    return summary
