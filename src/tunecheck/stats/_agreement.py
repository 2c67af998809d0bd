"""How far a judge can be trusted: agreement between raters (judges or people), the judge's own
noise across repeats, and how much a rubric's wording moves the scores.

Agreement statistics come from the field's implementations: Krippendorff's alpha from the
`krippendorff` package (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"), Cohen's
(weighted) kappa from scikit-learn, Spearman's rho from scipy. What they do not define (a single
rater, no item rated twice, one value everywhere) is returned as NaN with the reason, never as an
exception or a warning from the package.

Kappa on scores: the categories are the integer points between the lowest and highest score seen
(or `labels`), so the quadratic weights use the distance between scores, not the rank among the
values that happen to occur (scikit-learn weighs by label index). Scores that are not whole
numbers (a probability-weighted score, a mean of people) have no kappa: NaN with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np

from tunecheck._lazy import lazy_module

sps = lazy_module("scipy.stats")

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["quadratic", "linear"]
ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha over raters x items: 1 perfect, 0 chance, below 0 systematic
    disagreement. Krippendorff's rule of thumb: >= 0.8 reliable, 0.667-0.8 tentative."""

    value: float
    """NaN when undefined (see `reason`)."""
    level: str
    """The level of measurement of the distances: nominal, ordinal, interval or ratio."""
    raters: int
    """Raters who rated at least one item."""
    items: int
    """Items rated by at least two raters: the only ones alpha uses."""
    reason: str | None = None
    """Why `value` is NaN; None when it is defined."""


def krippendorff_alpha(ratings: np.ndarray | Sequence[Sequence[float]], level: Level = "ordinal") -> Alpha:
    """Krippendorff's alpha of `ratings` (raters x items, NaN where a rater did not rate)."""
    r = np.asarray(ratings, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"ratings must be raters x items (2-D), got shape {r.shape}")
    rated = ~np.isnan(r)
    raters = int(rated.any(axis=1).sum())
    pairable = rated.sum(axis=0) >= 2  # a unit with one value is not pairable: alpha ignores it
    items = int(pairable.sum())
    kept = r[:, pairable]
    values = np.unique(kept[~np.isnan(kept)])
    reason = None
    if raters < 2:
        reason = f"{raters} rater{'' if raters == 1 else 's'}: agreement needs at least two"
    elif items == 0:
        reason = "no item was rated by two raters"
    elif values.size < 2:
        reason = f"every rating of the items rated twice is {values[0]:g}: with no variation there is no agreement to measure"
    if reason is not None:
        return Alpha(math.nan, level, raters, items, reason)
    import krippendorff

    value = float(krippendorff.alpha(reliability_data=kept, level_of_measurement=level))
    if not math.isfinite(value):  # pragma: no cover - only when the expected disagreement is 0
        return Alpha(math.nan, level, raters, items, "no expected disagreement (one value in the pairable ratings)")
    return Alpha(value, level, raters, items)


def _shared(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"two raters' scores need equal 1-D shapes, got {x.shape} and {y.shape}")
    both = ~np.isnan(x) & ~np.isnan(y)
    return x[both], y[both]


def _kappa(x: np.ndarray, y: np.ndarray, weights: Weights | None, labels: Sequence[float] | None) -> tuple[float, str | None]:
    if x.size == 0:
        return math.nan, "no item rated by both"
    seen = np.concatenate([x, y])
    odd = seen[seen != np.round(seen)]
    if odd.size:
        # scikit-learn would treat 3.5 as a continuous target; a probability-weighted score has no category
        return math.nan, f"kappa needs whole-number scores (categories), got {odd[0]:g}"
    lo, hi = int(seen.min()), int(seen.max())
    cats = [float(v) for v in labels] if labels is not None else [float(v) for v in range(lo, hi + 1)]
    if len(cats) < 2 or (np.unique(x).size == 1 and np.unique(y).size == 1 and x[0] == y[0]):
        return math.nan, f"both gave {x[0]:g} to every item: kappa is undefined (chance agreement is 1)"
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(x, y, labels=cats, weights=weights)), None


def weighted_kappa(a: ArrayLike, b: ArrayLike, weights: Weights = "quadratic", labels: Sequence[float] | None = None) -> float:
    """Cohen's weighted kappa (scikit-learn) over the items both rated (NaN = not rated); NaN
    when undefined. `labels`: the scale's points (default: integers from the lowest to the
    highest score seen)."""
    return _kappa(*_shared(a, b), weights, labels)[0]


@dataclass(frozen=True)
class ScoreAgreement:
    """Two raters' scores on the items both rated."""

    n: int
    exact: float
    """Share of items given the same score."""
    within_one: float
    """Share of items whose scores differ by at most 1 point."""
    kappa: float
    """Cohen's quadratic weighted kappa (scikit-learn); NaN when undefined."""
    spearman: float
    """Spearman's rank correlation (scipy); NaN when either side is constant or n < 3."""
    spearman_p: float
    """Two-sided p-value of Spearman's rho (scipy's t approximation); NaN with rho."""
    reason: str | None = None
    """Why kappa or rho is NaN; None when both are defined."""


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float, str | None]:
    if x.size < 3:
        return math.nan, math.nan, f"{x.size} shared item{'' if x.size == 1 else 's'}: Spearman's rho needs at least 3"
    if np.unique(x).size == 1 or np.unique(y).size == 1:
        return math.nan, math.nan, "one side gave the same score to every item: Spearman's rho is undefined"
    res = sps.spearmanr(x, y)
    return float(res.statistic), float(res.pvalue), None


def spearman(a: ArrayLike, b: ArrayLike) -> tuple[float, float]:
    """Spearman's rho and its two-sided p-value (scipy) over the items both rated; (NaN, NaN)
    with fewer than 3 items or a constant side, where scipy would warn."""
    rho, p, _ = _spearman(*_shared(a, b))
    return rho, p


def agreement(a: ArrayLike, b: ArrayLike, labels: Sequence[float] | None = None) -> ScoreAgreement:
    """Exact and within-one agreement, quadratic weighted kappa and Spearman's rho of two raters'
    scores (NaN = not rated; only items both rated count)."""
    x, y = _shared(a, b)
    if x.size == 0:
        nan = math.nan
        return ScoreAgreement(0, nan, nan, nan, nan, nan, "no item rated by both")
    d = np.abs(x - y)
    kappa, why_k = _kappa(x, y, "quadratic", labels)
    rho, p, why_r = _spearman(x, y)
    reason = "; ".join(w for w in (why_k, why_r) if w) or None
    return ScoreAgreement(int(x.size), float(np.mean(d == 0)), float(np.mean(d <= 1)), kappa, rho, p, reason)


@dataclass(frozen=True)
class ChoiceAgreement:
    """Two raters' categorical choices (pairwise A / B / tie) on the items both chose for."""

    n: int
    rate: float
    """Share of items with the same choice."""
    kappa: float
    """Cohen's (unweighted) kappa; NaN when undefined."""
    reason: str | None = None


def choice_agreement(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> ChoiceAgreement:
    """Agreement rate and Cohen's kappa of two raters' choices (None = no choice)."""
    if len(a) != len(b):
        raise ValueError(f"two raters' choices need equal lengths, got {len(a)} and {len(b)}")
    pairs = [(str(u), str(v)) for u, v in zip(a, b, strict=True) if u is not None and v is not None]
    if not pairs:
        return ChoiceAgreement(0, math.nan, math.nan, "no item chosen for by both")
    x, y = [p[0] for p in pairs], [p[1] for p in pairs]
    rate = sum(u == v for u, v in pairs) / len(pairs)
    cats = sorted(set(x) | set(y))
    if len(cats) == 1:
        return ChoiceAgreement(len(pairs), rate, math.nan, f"both chose {cats[0]!r} every time: kappa is undefined")
    from sklearn.metrics import cohen_kappa_score

    return ChoiceAgreement(len(pairs), rate, float(cohen_kappa_score(x, y, labels=cats)))


@dataclass(frozen=True)
class Disagreement:
    """One item the judges scored far apart."""

    item: Hashable
    scores: dict[str, float]
    """Judge name -> its score on the item."""
    range: float
    """Highest minus lowest score."""
    sd: float
    """Standard deviation across the judges (ddof=1)."""


@dataclass(frozen=True)
class JudgesAgreement:
    """Several judges' scores on the same items."""

    judges: tuple[str, ...]
    kappas: dict[tuple[str, str], ScoreAgreement]
    """Each pair of judges (in the given order) -> their agreement; `.kappa` is the quadratic
    weighted kappa."""
    alpha: Alpha
    """Krippendorff's alpha (ordinal) over all judges."""
    mean_scores: dict[Hashable, float]
    """Item -> the mean of the judges that scored it (the averaged score)."""
    disagreements: tuple[Disagreement, ...]
    """The items scored by two or more judges with the largest range (then SD), at most `top`;
    items with range 0 are left out."""


def judges_agreement(
    scores: Mapping[str, Mapping[Hashable, float]],
    *,
    top: int = 10,
    labels: Sequence[float] | None = None,
    level: Level = "ordinal",
) -> JudgesAgreement:
    """Agreement between judges: `scores` is judge name -> item -> score (an unscored item left
    out or NaN)."""
    judges = tuple(scores)
    items: list[Hashable] = list(dict.fromkeys(i for j in judges for i in scores[j]))
    m = np.array([[float(scores[j].get(i, math.nan)) for i in items] for j in judges], dtype=np.float64).reshape(len(judges), len(items))
    kappas = {(judges[p], judges[q]): agreement(m[p], m[q], labels) for p, q in combinations(range(len(judges)), 2)}
    rated = ~np.isnan(m)
    means: dict[Hashable, float] = {}
    found: list[Disagreement] = []
    for k, item in enumerate(items):
        col = m[rated[:, k], k]
        if col.size == 0:
            continue
        means[item] = float(col.mean())
        if col.size >= 2 and col.max() > col.min():
            found.append(
                Disagreement(item, {judges[j]: float(m[j, k]) for j in range(len(judges)) if rated[j, k]}, float(col.max() - col.min()), float(col.std(ddof=1)))
            )
    found.sort(key=lambda d: (-d.range, -d.sd))
    return JudgesAgreement(judges, kappas, krippendorff_alpha(m, level), means, tuple(found[:top]))


@dataclass(frozen=True)
class RepeatNoise:
    """The judge's own noise: the same question asked several times with sampling on."""

    items: int
    """Items scored in at least two repeats (the only ones that show noise)."""
    repeats: int
    mean_sd: float
    """Mean over those items of the SD of their scores across repeats (ddof=1); NaN if none."""
    changed: float
    """Share of those items whose score was not the same in every repeat. For pairwise
    verdicts (-1 / 0 / +1 per repeat): the share of items whose verdict changed."""


def repeat_noise(scores: np.ndarray | Sequence[Sequence[float]]) -> RepeatNoise:
    """Noise across repeats of `scores` (items x repeats, NaN where a repeat was unscored)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be items x repeats (2-D), got shape {s.shape}")
    keep = (~np.isnan(s)).sum(axis=1) >= 2
    rows = s[keep]
    if rows.shape[0] == 0:
        return RepeatNoise(0, s.shape[1], math.nan, math.nan)
    sds = np.array([np.std(r[~np.isnan(r)], ddof=1) for r in rows])
    return RepeatNoise(int(rows.shape[0]), int(s.shape[1]), float(sds.mean()), float(np.mean(sds > 0)))


def verdict_noise(verdicts: np.ndarray | Sequence[Sequence[float]]) -> RepeatNoise:
    """`repeat_noise` for pairwise verdicts (items x repeats of -1 A better / 0 tie / +1 B
    better, NaN unjudged), checked to be on that scale."""
    v = np.asarray(verdicts, dtype=np.float64)
    bad = ~np.isnan(v) & ~np.isin(v, (-1.0, 0.0, 1.0))
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"verdicts[{i}][{j}] = {v[i, j]:g}: verdicts must be -1, 0 or +1 (NaN for unjudged)")
    return repeat_noise(v)


@dataclass(frozen=True)
class NoiseVsDifference:
    """The base-vs-tuned difference computed on each repeat alone, against the difference."""

    difference: float
    """The difference reported (on all repeats together)."""
    per_repeat: tuple[float, ...]
    sd: float
    """SD of the per-repeat differences (ddof=1)."""
    range: float
    """Largest minus smallest per-repeat difference."""
    sign_changes: bool
    """Some repeat's difference is above 0 and another's below 0."""
    warn: bool
    """The judge's noise is as large as the difference: sd > 0 and sd >= |difference|, or the
    per-repeat differences disagree in sign. A noiseless judge (sd = 0) never warns."""
    message: str
    """One line for the report."""


def noise_vs_difference(per_repeat_differences: ArrayLike, difference: float) -> NoiseVsDifference:
    """Is the base-vs-tuned `difference` larger than the judge's noise? The spread of the same
    difference computed on each repeat separately measures that noise in the difference's units."""
    d = np.asarray(per_repeat_differences, dtype=np.float64)
    if d.ndim != 1 or d.size < 2 or np.isnan(d).any():
        raise ValueError(f"need the difference of at least two repeats, without NaN, got {d.tolist()}")
    sd, spread = float(np.std(d, ddof=1)), float(d.max() - d.min())
    flips = bool((d > 0).any() and (d < 0).any())
    warn = flips or (sd > 0 and sd >= abs(difference))
    figures = f"difference {difference:+.3g}; across {d.size} repeats SD {sd:.3g}, range {d.min():+.3g} to {d.max():+.3g}"
    if flips:
        message = f"the judge's noise is as large as the difference: the difference changes sign between repeats ({figures})"
    elif warn:
        message = f"the judge's noise is as large as the difference ({figures})"
    else:
        message = f"the difference is larger than the judge's noise ({figures})"
    return NoiseVsDifference(float(difference), tuple(float(x) for x in d), sd, spread, flips, warn, message)


@dataclass(frozen=True)
class VariantSpread:
    """How much a score (or a difference) and its verdict move across rewordings of the rubric."""

    values: dict[str, float]
    """Variant name -> the value under that wording."""
    range: float
    sd: float
    """SD across variants (ddof=1); 0 with one variant."""
    verdicts: dict[str, str]
    verdict_changed: bool
    """The verdicts are not all the same."""
    message: str


def variant_spread(per_variant_means: Mapping[str, float], per_variant_verdicts: Mapping[str, str] | None = None) -> VariantSpread:
    """Rubric sensitivity: the spread of `per_variant_means` (variant -> a model's mean score or
    the base-vs-tuned difference) and whether the verdict differs between variants."""
    if not per_variant_means:
        raise ValueError("no rubric variants")
    verdicts = dict(per_variant_verdicts or {})
    if verdicts and set(verdicts) != set(per_variant_means):
        raise ValueError(f"verdicts for {sorted(verdicts)} but values for {sorted(per_variant_means)}")
    v = np.array([float(x) for x in per_variant_means.values()])
    sd = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
    spread = float(v.max() - v.min())
    changed = len(set(verdicts.values())) > 1
    figures = f"range {spread:.3g}, SD {sd:.3g} over {v.size} wordings of the rubric"
    if changed:
        listed = ", ".join(f"{k}: {w}" for k, w in verdicts.items())
        message = f"the verdict depends on the rubric's wording ({listed}; {figures})"
    else:
        message = f"the verdict is the same under every wording ({figures})" if verdicts else f"scores move by {figures}"
    return VariantSpread(dict(per_variant_means), spread, sd, verdicts, changed, message)
