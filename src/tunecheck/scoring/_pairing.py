"""Which predictions are compared with which: one model's predictions file (`PredictionSet`),
loading several with names that tell them apart, and what to say about pairing a model's
samples with the baseline's by id (too few in common, a partial overlap, too few to decide)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunecheck.core import Comparison, DataInfo, Verdict
from tunecheck.data import Prediction, content_hash, read_predictions
from tunecheck.errors import ConfigError, DataError

RECOMMENDED_N = 100
"""100-500 eval examples are recommended; fewer rarely separates two fine-tunes."""


@dataclass(frozen=True)
class PredictionSet:
    """One model's predictions file."""

    name: str
    path: str
    rows: tuple[Prediction, ...]
    """Generation 0 of each sample, in file order."""
    extra_generations: int = 0

    @property
    def sha256(self) -> str:
        """The rows' content hash, as `load_data` hashes a data set (generation 0 only)."""
        return content_hash(dict(p.fields) if p.fields else {"id": p.id, "output": p.output} for p in self.rows)

    @property
    def identity(self) -> dict[str, str]:
        """What the file says about the model that wrote it (its rows' `model` field)."""
        named = next((p.model for p in self.rows if p.model), None)
        return {"model": named} if named else {}

    def data_info(self, role: str = "predictions") -> DataInfo:
        """The file as a result records the data it read."""
        extra = {"extra_generations": self.extra_generations} if self.extra_generations else {}
        return DataInfo(self.path, self.sha256, len(self.rows), role, extra)

    @classmethod
    def load(cls, spec: str) -> PredictionSet:
        """`FILE` or `FILE,name=NAME`."""
        path, _, opt = spec.partition(",")
        name = None
        if opt:
            key, eq, value = opt.partition("=")
            if key.strip() != "name" or not eq or not value.strip():
                raise ConfigError(f"--preds {spec!r}: the only option is name=..., e.g. tuned.jsonl,name=tuned")
            name = value.strip()
        preds = read_predictions(path)
        first = [p for p in preds if p.sample == 0]
        if not first:
            raise DataError(f"{path}: no rows with sample 0")
        name = name or next((p.model for p in first if p.model), None) or Path(path).stem
        return cls(name, path, tuple(first), len(preds) - len(first))


def load_prediction_sets(preds: Sequence[str | PredictionSet]) -> list[PredictionSet]:
    """Load each `FILE[,name=NAME]`; two files with the same model name get their file names
    added, so tables and comparisons can tell them apart."""
    sets = [p if isinstance(p, PredictionSet) else PredictionSet.load(p) for p in preds]
    if not sets:
        raise ConfigError("pass at least one --preds file")
    names = [s.name for s in sets]
    for i, s in enumerate(sets):
        if names.count(s.name) > 1:
            sets[i] = PredictionSet(f"{s.name} ({Path(s.path).name})", s.path, s.rows, s.extra_generations)
    return sets


def pairing_warnings(
    a: PredictionSet, b: PredictionSet, n_shared: int, *, least: int = 1, results: Sequence[Comparison] = (),
    clusters: int | None = None,
) -> list[str]:
    """What to tell the user about pairing `b` with the baseline `a` by id: nothing (or too
    little) in common, a partial overlap, and too few shared samples (or `clusters`, when
    resampled by cluster: then the cluster is the unit that counts) - only when that matters: `results` holds an inconclusive metric whose
    observed difference more samples could make detectable (`samples_to_detect`). A clear
    result at n=90 needs no warning that 90 is few. Empty when the comparison is sound; fewer than
    `least` shared means "not compared". No id in common at all is a DataError: the files answer
    different data sets (or number their rows differently), and a report with no comparison
    would hide that."""
    n_a, n_b = len(a.rows), len(b.rows)
    if n_shared == 0:
        raise DataError(
            f"{b.path} and {a.path}: no sample id in common (e.g. {b.rows[0].id!r} and {a.rows[0].id!r}), so nothing can be "
            "compared; pass predictions for the same data set, with the ids of its samples"
        )
    if n_shared < least:
        return [f"{b.name}: {n_shared} sample ids in common with {a.name}; not compared (need {least} or more)"]
    out = []
    if n_shared < max(n_a, n_b):
        out.append(f"{b.name} vs {a.name}: compared on the {n_shared} samples both have ({n_a} and {n_b} in the files)")
    n, unit = (n_shared, "samples") if clusters is None else (clusters, "clusters")
    if n < RECOMMENDED_N:
        needs = [(r, samples_to_detect(r, n)) for r in results if r.verdict == Verdict.INCONCLUSIVE]
        needs = [(r, k) for r, k in needs if k is not None]
        if needs:
            named = ", ".join(f"{r.metric} ({r.difference:+.3g}: ~{k:,} {unit})" for r, k in needs)
            out.append(
                f"{b.name} vs {a.name}: only {n} {unit} in common: too few to tell models apart reliably "
                f"(100-500 are recommended); inconclusive, but detectable with more {unit} at the difference seen: {named}"
            )
    return out


def require_shared_ids(sets: Sequence[PredictionSet]) -> None:
    """Refuse, before any work, predictions files that share no sample id with the first (the
    baseline): the same DataError `pairing_warnings` raises, but before progress and computation."""
    base = {p.id for p in sets[0].rows} if sets else set()
    for s in sets[1:]:
        if not any(p.id in base for p in s.rows):
            pairing_warnings(sets[0], s, 0)


def samples_to_detect(r: Comparison, n: int) -> int | None:
    """How many samples would make a true difference of the size observed detectable (two-sided
    5%, 80% power): the MDD falls as 1/sqrt(n), so n * (MDD / |difference|)^2. None when more
    samples could not help: no difference seen, or an MDD that is 0 or undefined."""
    d = abs(r.difference)
    if not (np.isfinite(r.mdd) and r.mdd > 0 and np.isfinite(d) and d > 0):
        return None
    return int(np.ceil(n * (r.mdd / d) ** 2))
