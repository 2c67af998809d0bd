"""Statistics of pairwise judging: both orders combined, the win rate, its length-controlled
form, and Bradley-Terry scores for several models.

Orientation everywhere: an outcome is "B (the tuned model) vs A (the baseline)": +1 B better,
0 tie, -1 A better. A tie counts as half a win (y = 0.5), in the win rate and in every logistic
fit: a weighted log-likelihood with y = 0.5 is the same as duplicating the row into a win and a
loss of weight 1/2 each (the tests check that against scikit-learn on duplicated rows).

Logistic fits are Newton-Raphson, vectorised over bootstrap resamples: a resample is a vector
of row counts (`resample_counts`), used as sample weights, so all resamples share one design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunecheck.core import Estimate, Verdict
from tunecheck.stats._bootstrap import N_RESAMPLES, bootstrap_sums, percentile_ci, resample_counts

STRONG_WEIGHT = 3.0
"""Arena-Hard-Auto's weight of a strong verdict (A>>B, B>>A) on its 5-way scale: it counts as
three battles of a plain win (its `WEIGHT = 3`); a plain win or a tie counts once."""

_ALPHA = 0.05
_COLLAPSE_RATIO = 4  # fit distinct rows once when there are at most a quarter as many
_FIT_CHUNK = 2_000  # resamples fitted at once: bounds the (chunk, n, k, k) work of a Newton step


@dataclass(frozen=True)
class CombinedOrders:
    """Each pair judged twice (A shown first, then B shown first), combined per sample."""

    outcomes: tuple[int, ...]
    """Per sample: +1 B better in both orders, -1 A better in both, 0 otherwise (a tie in both,
    or verdicts that disagree in sign: position-inconsistent, counted as a tie)."""
    weights: tuple[float, ...]
    """Per sample: 1.0 on the 3-way scale; on the 5-way scale the mean of the two verdicts'
    weights (STRONG_WEIGHT for a strong verdict, 1 otherwise), as Arena-Hard weighs battles."""
    consistent: tuple[bool, ...]
    """Per sample: both verdicts have the same sign (both B, both A, or both tie)."""
    position_consistency: float
    """Share of pairs whose two verdicts agree in sign."""
    first_position_win_rate: float
    """Of the decisive verdicts (ties excluded) over both orders, the share won by the answer
    shown first: 0.5 is no position bias. Ties are excluded, not counted half, because a tie says
    nothing about position, and counting them half would pull a biased but tie-prone judge
    toward 0.5. NaN when no verdict is decisive."""


def _check_scale(values: np.ndarray, name: str, five_way: bool) -> None:
    allowed = (-2, -1, 0, 1, 2) if five_way else (-1, 0, 1)
    bad = ~np.isin(values, allowed)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {values[i]!r}: verdicts must be one of {allowed}")


def combine_orders(
    first: Sequence[int], swapped: Sequence[int], *, five_way: bool = False, strong_weight: float = STRONG_WEIGHT
) -> CombinedOrders:
    """Combine the verdicts of the two orders (MT-Bench's conservative rule: a win only when
    both orders agree). `first` is judged with A shown first, `swapped` with B shown first; both
    are already mapped back to "B vs A". With `five_way`, verdicts are on -2..+2 (A>>B .. B>>A)."""
    f, s = np.asarray(first), np.asarray(swapped)
    if f.shape != s.shape or f.ndim != 1 or f.size == 0:
        raise ValueError(f"both orders need the same non-empty list of verdicts, got {f.shape} and {s.shape}")
    _check_scale(f, "first", five_way)
    _check_scale(s, "swapped", five_way)
    sf, ss = np.sign(f), np.sign(s)
    consistent = sf == ss
    outcomes = np.where(consistent, sf, 0)
    if five_way:
        weights = (np.where(np.abs(f) == 2, strong_weight, 1.0) + np.where(np.abs(s) == 2, strong_weight, 1.0)) / 2
    else:
        weights = np.ones(f.size)
    # the first-shown answer is A in `first` (wins when < 0) and B in `swapped` (wins when > 0)
    first_wins = int(np.count_nonzero(f < 0) + np.count_nonzero(s > 0))
    decisive = int(np.count_nonzero(f != 0) + np.count_nonzero(s != 0))
    return CombinedOrders(
        outcomes=tuple(int(o) for o in outcomes),
        weights=tuple(float(w) for w in weights),
        consistent=tuple(bool(c) for c in consistent),
        position_consistency=float(consistent.mean()),
        first_position_win_rate=first_wins / decisive if decisive else math.nan,
    )


@dataclass(frozen=True)
class WinRate:
    """B against A over the judged pairs."""

    wins: int
    ties: int
    losses: int
    win_rate: Estimate
    """(wins + ties / 2) / n (weighted when weights are given), with a percentile bootstrap CI."""
    p_value: float
    """Two-sided exact sign test of wins vs losses (scipy.stats.binomtest, p = 1/2; ties dropped),
    on counts of pairs, unweighted: the test needs independent units, not weighted battles."""
    verdict: Verdict
    """improved / regressed only when the CI excludes 0.5 on that side AND p_value < 0.05."""


def _outcomes(outcomes: Sequence[int], weights: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
    o = np.asarray(outcomes)
    if o.ndim != 1 or o.size == 0:
        raise ValueError("no judged pairs")
    _check_scale(o, "outcomes", False)
    w = np.ones(o.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != o.shape or (w <= 0).any():
        raise ValueError(f"weights must be positive, one per outcome ({o.size})")
    return o.astype(np.float64), w


def win_rate(
    outcomes: Sequence[int],
    *,
    weights: Sequence[float] | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
) -> WinRate:
    """Win / tie / loss counts, the win rate (ties as half) with a bootstrap CI, the sign test and
    a verdict. The verdict asks for both the CI and the sign test, as `compare_metrics` asks for
    the CI and the Holm p-value: at small n the percentile bootstrap is too narrow (5 wins and no
    loss give a CI of [1, 1], while the exact sign test gives p = 0.0625), and the sign test
    ignores ties, which the win rate counts; a verdict needs both to agree."""
    from scipy.stats import binomtest

    o, w = _outcomes(outcomes, weights)
    y = (o + 1) / 2
    wins, losses = int(np.count_nonzero(o > 0)), int(np.count_nonzero(o < 0))
    ties = o.size - wins - losses
    sums = bootstrap_sums(np.stack([w * y, w], axis=1), n_resamples=n_resamples, seed=seed)
    ci = percentile_ci(sums[:, 0] / sums[:, 1])
    value = float(np.sum(w * y) / np.sum(w))
    p = 1.0 if wins + losses == 0 else float(binomtest(wins, wins + losses, 0.5).pvalue)
    word = Verdict.INCONCLUSIVE
    if p < _ALPHA and ci[0] > 0.5:
        word = Verdict.IMPROVED
    elif p < _ALPHA and ci[1] < 0.5:
        word = Verdict.REGRESSED
    return WinRate(wins, ties, losses, Estimate(value, ci, metric="win_rate", n=int(o.size)), p, word)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))))


def _newton(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray, *, ridge: float, iters: int = 60
) -> np.ndarray:
    """Weighted logistic regression for each row of `w`: x (n, k), y (n,) in [0, 1], w (r, n),
    beta (r, k) a start. Maximises sum w (y log p + (1-y) log(1-p)) - ridge/2 |beta|^2. A step
    is capped at 5 log-odds so separated resamples (an unbeaten model) drift instead of overflow."""
    k = x.shape[1]
    eye = ridge * np.eye(k)
    for _ in range(iters):
        p = _sigmoid(beta @ x.T)
        grad = (w * (y - p)) @ x - ridge * beta
        hess = np.einsum("rn,ni,nj->rij", w * p * (1 - p), x, x) + eye
        step = np.linalg.solve(hess + 1e-12 * np.eye(k), grad[:, :, None])[:, :, 0]
        step = np.clip(step, -5.0, 5.0)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return beta


def _bootstrap_fits(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, start: np.ndarray, *, ridge: float, n_resamples: int, seed: int | None
) -> np.ndarray:
    """(n_resamples, k) coefficients, one weighted fit per resample of the rows. Identical rows
    (Bradley-Terry's repeated battles) are fitted once, with their resampled counts summed: the
    log-likelihood is the same and the work scales with the distinct rows."""
    rows, inverse = np.unique(np.column_stack([x, y]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    collapse = rows.shape[0] * _COLLAPSE_RATIO <= x.shape[0]
    onehot = np.zeros((x.shape[0], rows.shape[0] if collapse else 0))
    if collapse:
        onehot[np.arange(x.shape[0]), inverse] = w
    fx, fy = (rows[:, :-1], rows[:, -1]) if collapse else (x, y)
    fits = []
    for counts in resample_counts(x.shape[0], n_resamples, seed):
        for lo in range(0, counts.shape[0], _FIT_CHUNK):
            c = counts[lo : lo + _FIT_CHUNK]
            weights = c @ onehot if collapse else c * w
            fits.append(_newton(fx, fy, weights, np.tile(start, (c.shape[0], 1)), ridge=ridge))
    return np.concatenate(fits)


@dataclass(frozen=True)
class LengthControlled:
    """AlpacaEval 2's length-controlled win rate (Dubois et al. 2024): the win rate a logistic
    model of the preference predicts when both answers have the same length."""

    win_rate: Estimate
    """sigmoid(intercept): P(B preferred) at zero length difference, with a bootstrap CI."""
    raw_win_rate: float
    """(wins + ties / 2) / n, for the note when the two disagree."""
    intercept: float
    length_slope: float
    """Log-odds of preferring B per unit of tanh(length difference / its sd): > 0 means the judge
    prefers the longer answer. 0 when every pair has the same length difference."""
    mean_length_a: float
    mean_length_b: float


def _length_feature(len_a: np.ndarray, len_b: np.ndarray) -> np.ndarray:
    """tanh((len_b - len_a) / sd): AlpacaEval 2's squashed, standardised length difference, so a
    few very long answers cannot dominate the slope. The sd is of the full data, and the feature
    stays fixed across bootstrap resamples (it is part of the design, not a fitted quantity)."""
    d = len_b - len_a
    sd = float(np.std(d, ddof=1)) if d.size > 1 else 0.0
    return np.tanh(d / sd) if sd > 0 else np.zeros_like(d)


def _fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The point fit by scipy.optimize (L-BFGS-B on the exact log-likelihood and gradient)."""
    from scipy.optimize import minimize

    def nll(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ beta
        value = float(np.sum(np.logaddexp(0.0, z) - y * z))
        return value, np.asarray((_sigmoid(z) - y) @ x)

    res = minimize(nll, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-15})
    return np.asarray(res.x, dtype=np.float64)


def length_controlled_win_rate(
    outcomes: Sequence[int],
    len_a: Sequence[float],
    len_b: Sequence[float],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
) -> LengthControlled:
    """Fit logit P(B preferred) = b0 + b1 * tanh((len_b - len_a) / sd) (ties as y = 1/2) and
    report sigmoid(b0), the win rate at equal length, with a percentile bootstrap CI over samples.
    Lengths are in any unit (characters, tokens), the same for both sides."""
    o, _ = _outcomes(outcomes, None)
    a, b = np.asarray(len_a, dtype=np.float64), np.asarray(len_b, dtype=np.float64)
    if a.shape != o.shape or b.shape != o.shape:
        raise ValueError(f"need one length per outcome for each side: {o.size} outcomes, {a.size} and {b.size} lengths")
    y = (o + 1) / 2
    feat = _length_feature(a, b)
    x = np.stack([np.ones(o.size), feat], axis=1) if feat.any() else np.ones((o.size, 1))
    beta = _fit_logistic(x, y)
    reps = _bootstrap_fits(x, y, np.ones(o.size), beta, ridge=1e-9, n_resamples=n_resamples, seed=seed)
    ci = percentile_ci(_sigmoid(reps[:, 0]))
    value = float(_sigmoid(np.asarray(beta[0])))
    return LengthControlled(
        win_rate=Estimate(value, ci, metric="length_controlled_win_rate", n=int(o.size)),
        raw_win_rate=float(y.mean()),
        intercept=float(beta[0]),
        length_slope=float(beta[1]) if x.shape[1] == 2 else 0.0,
        mean_length_a=float(a.mean()),
        mean_length_b=float(b.mean()),
    )


@dataclass(frozen=True)
class BradleyTerry:
    """A leaderboard: Bradley-Terry strengths, P(i beats j) = sigmoid(s_i - s_j)."""

    scores: tuple[Estimate, ...]
    """One per model (Estimate.model), best first: the log-strength centred to mean 0 over the
    models, with a percentile bootstrap CI over the judged pairs. Elo points are 400 / ln 10 = 173.7
    per unit."""
    n_pairs: int
    length_slope: float | None = None
    """With lengths given: log-odds of preferring b per unit of tanh(length difference / its sd),
    and the scores are then the strengths at equal length (AlpacaEval 2's control); else None."""

    def score(self, model: str) -> Estimate:
        return next(e for e in self.scores if e.model == model)


_BT_RIDGE = 1e-6
"""A tiny L2 penalty so a model that never loses (or never meets another, in a resample) gets a
large but finite score; on real data it moves scores by about ridge / (games per model)."""


def _check_connected(models: list[str], pairs: Sequence[tuple[str, str, int]]) -> None:
    """Scores of models that were never compared, even indirectly, are not on one scale."""
    group = {m: m for m in models}

    def root(m: str) -> str:
        while group[m] != m:
            m = group[m]
        return m

    for a, b, _ in pairs:
        group[root(a)] = root(b)
    roots = {root(m) for m in models}
    if len(roots) > 1:
        parts = sorted(sorted(m for m in models if root(m) == r) for r in roots)
        raise ValueError(f"the judged pairs split the models into unconnected groups {parts}: judge at least one pair across them")


def bradley_terry(
    pairs: Sequence[tuple[str, str, int]],
    *,
    len_a: Sequence[float] | None = None,
    len_b: Sequence[float] | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int | None = 0,
) -> BradleyTerry:
    """Fit Bradley-Terry scores to judged pairs (a, b, outcome), outcome in the same orientation
    as everywhere here: +1 b better, 0 tie (half a win each), -1 a better. The scores are
    centred (the model is identified only up to a shift); pairs are resampled for the CIs.
    With the two answers' lengths per pair (`len_a`, `len_b`), the length-controlled variant:
    one more column, tanh of the standardised length difference, as in
    `length_controlled_win_rate`, so the scores are the strengths at equal length."""
    if not pairs:
        raise ValueError("no judged pairs")
    models = sorted({m for a, b, _ in pairs for m in (a, b)})
    if len(models) < 2:
        raise ValueError("Bradley-Terry needs at least two models")
    index = {m: i for i, m in enumerate(models)}
    k, n = len(models), len(pairs)
    design = np.zeros((n, k))
    outcome = np.empty(n)
    for row, (a, b, o) in enumerate(pairs):
        if a == b:
            raise ValueError(f"pair {row}: a model compared with itself ({a!r})")
        design[row, index[b]] += 1.0
        design[row, index[a]] -= 1.0
        outcome[row] = o
    _check_scale(outcome, "outcome", False)
    _check_connected(models, pairs)
    y = (outcome + 1) / 2
    x = design[:, 1:]  # the first model's score is fixed at 0 while fitting, then all are centred
    controlled = len_a is not None or len_b is not None
    if controlled:
        la, lb = np.asarray(len_a, dtype=np.float64), np.asarray(len_b, dtype=np.float64)
        if la.shape != (n,) or lb.shape != (n,):
            raise ValueError(f"need one length per pair for each side: {n} pairs, {la.size} and {lb.size} lengths")
        x = np.column_stack([x, _length_feature(la, lb)])
    start = np.zeros((1, x.shape[1]))
    point = _newton(x, y, np.ones((1, n)), start, ridge=_BT_RIDGE, iters=200)[0]
    reps = _bootstrap_fits(x, y, np.ones(n), point, ridge=_BT_RIDGE, n_resamples=n_resamples, seed=seed)
    slope = float(point[-1]) if controlled else None
    if controlled:
        point, reps = point[:-1], reps[:, :-1]

    def centred(beta: np.ndarray) -> np.ndarray:
        full = np.concatenate([np.zeros((*beta.shape[:-1], 1)), beta], axis=-1)
        return np.asarray(full - full.mean(axis=-1, keepdims=True))

    values, rep_scores = centred(point), centred(reps)
    scores = [
        Estimate(float(values[i]), percentile_ci(rep_scores[:, i]), metric="bradley_terry", model=m, n=n)
        for i, m in enumerate(models)
    ]
    scores.sort(key=lambda e: -e.value)
    return BradleyTerry(tuple(scores), n, slope)
