"""Agreement between the people who rated the same answers, and each person's bias.

Units: a score's unit is one answer on one criterion, (id, model); a choice's unit is one
sample's pair of models, (id, {model_a, model_b}). The ratings matrix is annotators x units
(NaN where a person did not rate the unit), in the order annotators and units first appear.

- Krippendorff's alpha (the `krippendorff` package, through `stats.krippendorff_alpha`):
  ordinal for scores (a 4 against a 5 is a smaller disagreement than a 1 against a 5), nominal
  for choices. Alpha allows missing ratings, so it uses every unit two people rated.
- Cohen's kappa with exactly two annotators (scikit-learn's `cohen_kappa_score`): quadratic
  weighted for scores, with the scale's points as the categories; unweighted for choices.
- Fleiss' kappa with three or more (statsmodels' `fleiss_kappa` on `aggregate_raters`'s
  counts): it treats scores as nominal categories and needs every unit rated by the same number
  of people, so only the units every annotator rated count (`n` says how many).
- Bias: per annotator, the mean over the units they share with others of (their score - the
  mean of the others' scores on that unit). +0.5 means they score half a point above the rest.

Undefined values are NaN with the reason, never an exception or a package's warning.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunecheck.stats._agreement import Alpha, agreement, choice_agreement

COHEN_QUADRATIC = "cohen_quadratic"
COHEN = "cohen"
FLEISS = "fleiss"


@dataclass(frozen=True)
class Kappa:
    """A kappa between annotators: Cohen's for two, Fleiss' for more."""

    method: str | None
    """cohen_quadratic (scores, two annotators), cohen (choices, two), fleiss (three or more);
    None with fewer than two annotators."""
    value: float
    """NaN when undefined (see `reason`)."""
    n: int
    """Units it was computed on: rated by both (Cohen) or by every annotator (Fleiss)."""
    reason: str | None = None
    exact: float = math.nan
    """Share of those units on which the annotators all gave the same rating."""


@dataclass(frozen=True)
class Bias:
    """One annotator's mean offset from the others on the units they share."""

    annotator: str
    bias: float
    """Mean of (this annotator's score - the others' mean score) over `n` units; NaN if n = 0."""
    n: int
    per_criterion: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Criterion -> (bias, n) on that criterion alone."""


def matrix(ratings: dict[tuple[str, Hashable], float], annotators: Sequence[str]) -> tuple[np.ndarray, list[Hashable]]:
    """Annotators x units (NaN = not rated) from (annotator, unit) -> value, units in first-seen order."""
    units: list[Hashable] = list(dict.fromkeys(u for _, u in ratings))
    col = {u: k for k, u in enumerate(units)}
    row = {a: k for k, a in enumerate(annotators)}
    m = np.full((len(annotators), len(units)), np.nan)
    for (a, u), v in ratings.items():
        m[row[a], col[u]] = v
    return m, units


def fleiss(m: np.ndarray) -> Kappa:
    """Fleiss' kappa (statsmodels) over the units every annotator rated."""
    complete = m[:, ~np.isnan(m).any(axis=0)]
    n = int(complete.shape[1])
    if n == 0:
        return Kappa(FLEISS, math.nan, 0, "no unit was rated by every annotator (Fleiss' kappa needs the same raters on each unit)")
    exact = float(np.mean(np.all(complete == complete[:1], axis=0)))
    if np.unique(complete).size < 2:
        return Kappa(FLEISS, math.nan, n, f"every rating of the units all rated is {complete[0, 0]:g}: kappa is undefined (chance agreement is 1)", exact)
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    table, _ = aggregate_raters(complete.T)  # subjects x raters -> subjects x category counts
    return Kappa(FLEISS, float(fleiss_kappa(table, method="fleiss")), n, None, exact)


def score_kappa(m: np.ndarray, labels: Sequence[float] | None) -> Kappa:
    """Cohen's quadratic weighted kappa for two annotators, Fleiss' for more."""
    if m.shape[0] < 2:
        return Kappa(None, math.nan, 0, "one annotator: no agreement to measure")
    if m.shape[0] > 2:
        return fleiss(m)
    a = agreement(m[0], m[1], labels)
    why = None
    if not math.isfinite(a.kappa):
        why = a.reason.split("; ")[0] if a.reason else "undefined"
    return Kappa(COHEN_QUADRATIC, a.kappa, a.n, why, a.exact)


def choice_kappa(m: np.ndarray) -> Kappa:
    """Cohen's kappa for two annotators' choices, Fleiss' for more (codes as categories)."""
    if m.shape[0] < 2:
        return Kappa(None, math.nan, 0, "one annotator: no agreement to measure")
    if m.shape[0] > 2:
        return fleiss(m)
    a = choice_agreement(*[[None if math.isnan(v) else int(v) for v in row] for row in m])
    return Kappa(COHEN, a.kappa, a.n, a.reason, a.rate)


def bias(scores: dict[tuple[str, str, Hashable], float], annotators: Sequence[str]) -> list[Bias]:
    """Each annotator's mean offset from the others, overall and per criterion; `scores` maps
    (annotator, criterion, unit) -> score."""
    by_unit: dict[tuple[str, Hashable], dict[str, float]] = defaultdict(dict)
    for (a, c, u), v in scores.items():
        by_unit[(c, u)][a] = v
    offsets: dict[str, list[float]] = defaultdict(list)
    per_c: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (c, _), got in by_unit.items():
        if len(got) < 2:
            continue
        for a, v in got.items():
            others = [w for b, w in got.items() if b != a]
            offset = v - sum(others) / len(others)
            offsets[a].append(offset)
            per_c[(a, c)].append(offset)
    criteria = list(dict.fromkeys(c for _, c, _ in scores))
    out = []
    for a in annotators:
        mine = offsets.get(a, [])
        per = {c: (float(np.mean(per_c[(a, c)])), len(per_c[(a, c)])) for c in criteria if per_c.get((a, c))}
        out.append(Bias(a, float(np.mean(mine)) if mine else math.nan, len(mine), per))
    return out


def alpha_dict(a: Alpha) -> dict[str, Any]:
    return {"value": a.value, "level": a.level, "raters": a.raters, "items": a.items, "reason": a.reason}


def kappa_dict(k: Kappa) -> dict[str, Any]:
    return {"method": k.method, "value": k.value, "n": k.n, "exact": k.exact, "reason": k.reason}
