"""Blind pairwise comparison: every pair judged in both orders, model names never shown, and
the verdicts turned into win rates with the judge's position and length biases measured.

Orientation: a pair is (baseline, model); a verdict is +1 when the model's answer is better,
-1 when the baseline's is, 0 a tie (±2 strong, on the 5-way scale). The judge's answer is in
positions (A shown first); `compare_pair` maps it back. A pair with an unusable verdict in
either order is left out of the win rate and counted as unscored with the reason.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunecheck.core import Comparison, Estimate, Verdict
from tunecheck.judge._items import Item
from tunecheck.judge._judges import Judge
from tunecheck.judge._judgment import Order, PairJudgment
from tunecheck.judge._run import CallFailed


def _ask_order(judge: Judge, template: Any, item: Item, first: str, second: str, params: Mapping[str, Any],
               five_way: bool, flip: bool, shown_first: str) -> Order:
    from tunecheck.judge._pairwise import pairwise_messages, pairwise_repair_message, parse_verdict

    messages = pairwise_messages(template, item.question, first, second, item.reference, sample_id=item.id)
    try:
        reply = judge.ask(messages, params)
    except CallFailed as err:
        return Order(shown_first, None, error=f"judge call failed: {err}")
    parsed = parse_verdict(reply.text, five_way=five_way)
    replies = [reply.text]
    if parsed.verdict is None:
        retry = [*messages, {"role": "assistant", "content": reply.text}, pairwise_repair_message(parsed.error or "no verdict", five_way=five_way)]
        try:
            again = judge.ask(retry, params, repair=True)
        except CallFailed:
            again = None
        if again is not None:
            replies.append(again.text)
            second_try = parse_verdict(again.text, five_way=five_way)
            if second_try.verdict is not None:
                parsed = second_try
    if parsed.verdict is None:
        return Order(shown_first, None, None, tuple(replies), parsed.error or "no verdict")
    v = -parsed.verdict if flip else parsed.verdict
    return Order(shown_first, int(v), parsed.label, tuple(replies))


def compare_pair(judge: Judge, template: Any, item: Item, baseline_answer: str, model_answer: str, baseline: str,
                 model: str, repeat: int, params: Mapping[str, Any], *, five_way: bool = False) -> PairJudgment:
    """Both orders: the baseline shown first (B = the model: a position verdict is already in
    the pair's orientation), then the model shown first (B = the baseline: negated)."""
    one = _ask_order(judge, template, item, baseline_answer, model_answer, params, five_way, False, baseline)
    two = _ask_order(judge, template, item, model_answer, baseline_answer, params, five_way, True, model)
    return PairJudgment(judge.name, baseline, model, item.id, repeat, one, two, len(baseline_answer), len(model_answer))


# -- statistics ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairStats:
    """One model against the baseline, over the pairs every order of which gave a verdict."""

    baseline: str
    model: str
    judged: int
    unscored: int
    wins: int
    ties: int
    losses: int
    win_rate: Estimate
    p_value: float
    verdict: Verdict
    position_consistency: float
    first_position_win_rate: float
    position_inconsistent: int
    length_controlled_win_rate: Estimate
    length_controlled_verdict: Verdict
    mean_length_baseline: float
    mean_length_model: float
    length_slope: float
    note: str | None

    def summary(self) -> dict[str, Any]:
        """The keys `--format json` promises for a pairwise run."""
        return {
            "baseline": self.baseline, "model": self.model, "n": self.judged, "unscored": self.unscored,
            "wins": self.wins, "ties": self.ties, "losses": self.losses,
            "win_rate": self.win_rate.value, "win_rate_ci95": list(self.win_rate.ci95 or (math.nan, math.nan)),
            "p_value": self.p_value, "verdict": self.verdict.value,
            "position_consistency": self.position_consistency, "first_position_win_rate": self.first_position_win_rate,
            "position_inconsistent": self.position_inconsistent,
            "length_controlled_win_rate": self.length_controlled_win_rate.value,
            "length_controlled_win_rate_ci95": list(self.length_controlled_win_rate.ci95 or (math.nan, math.nan)),
            "length_controlled_verdict": self.length_controlled_verdict.value,
            "mean_length_baseline": self.mean_length_baseline, "mean_length_model": self.mean_length_model,
            "note": self.note,
        }

    def comparisons(self) -> list[Comparison]:
        """The raw and the length-controlled win rate as comparisons against 0.5 (no preference)."""
        out = []
        for metric, est, p, word in (
            ("win_rate", self.win_rate, self.p_value, self.verdict),
            ("length_controlled_win_rate", self.length_controlled_win_rate, math.nan, self.length_controlled_verdict),
        ):
            lo, hi = est.ci95 or (math.nan, math.nan)
            out.append(Comparison(
                metric=metric, baseline=self.baseline, model=self.model, n=self.judged, baseline_value=0.5, value=est.value,
                difference=est.value - 0.5, ci95=(lo - 0.5, hi - 0.5), p_value=p, verdict=word,
                tests={"wins": self.wins, "ties": self.ties, "losses": self.losses, "sign_test_p": self.p_value}
                if metric == "win_rate" else {},
                extra={"position_consistency": self.position_consistency, "first_position_win_rate": self.first_position_win_rate}
                if metric == "win_rate" else {"length_slope": self.length_slope},
            ))
        return out


_TOL = 1e-6


def _sign(x: float) -> int:
    return int(np.sign(x)) if abs(x) > 1e-12 else 0


def pooled_outcomes(pairs: Sequence[PairJudgment]) -> dict[str, tuple[int, float, int, int]]:
    """Per sample: (outcome, weight, length baseline, length model) over every judge and repeat
    that gave both verdicts. One judgment: both orders must agree (MT-Bench's rule), else a tie;
    several: the sign of the sum of those outcomes (a split panel is a tie). The weight is the
    mean of the verdicts' weights on the 5-way scale (see `stats.combine_orders`)."""
    from tunecheck.stats import combine_orders

    by_sample: dict[str, list[PairJudgment]] = defaultdict(list)
    for p in pairs:
        if p.usable:
            by_sample[p.sample_id].append(p)
    out = {}
    five = any(abs(o.verdict or 0) == 2 for p in pairs for o in (p.baseline_first, p.model_first))
    for sid, ps in by_sample.items():
        comb = combine_orders([p.baseline_first.verdict or 0 for p in ps], [p.model_first.verdict or 0 for p in ps], five_way=five)
        out[sid] = (_sign(sum(comb.outcomes)), float(np.mean(comb.weights)), ps[0].length_baseline, ps[0].length_model)
    return out


def pair_stats(pairs: Sequence[PairJudgment], *, five_way: bool, n_resamples: int, seed: int) -> PairStats:
    from tunecheck.stats import combine_orders, length_controlled_win_rate, win_rate

    usable = [p for p in pairs if p.usable]
    if not usable:
        raise ValueError("no usable pairs")
    both = combine_orders([p.baseline_first.verdict or 0 for p in usable], [p.model_first.verdict or 0 for p in usable], five_way=five_way)
    pooled = pooled_outcomes(usable)
    ids = sorted(pooled)
    outcomes = [pooled[i][0] for i in ids]
    weights = [pooled[i][1] for i in ids] if five_way else None
    wr = win_rate(outcomes, weights=weights, n_resamples=n_resamples, seed=seed)
    lc = length_controlled_win_rate(outcomes, [pooled[i][2] for i in ids], [pooled[i][3] for i in ids],
                                    n_resamples=n_resamples, seed=seed)
    lo, hi = lc.win_rate.ci95 or (math.nan, math.nan)
    # a tolerance: when length explains every preference the fit separates and its CI collapses
    # onto 0.5 +- 1e-9, which is no evidence either way
    lc_word = Verdict.IMPROVED if lo > 0.5 + _TOL else Verdict.REGRESSED if hi < 0.5 - _TOL else Verdict.INCONCLUSIVE
    note = None
    if lc_word != wr.verdict:
        note = (f"the raw win rate says {wr.verdict.value} but at equal length it is {lc_word.value}: "
                f"answers average {lc.mean_length_b:.0f} vs {lc.mean_length_a:.0f} characters, "
                "so length, not quality, may drive the preference")
    a, b = usable[0].baseline, usable[0].model
    return PairStats(
        baseline=a, model=b, judged=len(ids), unscored=len({p.sample_id for p in pairs}) - len(ids),
        wins=wr.wins, ties=wr.ties, losses=wr.losses, win_rate=Estimate(wr.win_rate.value, wr.win_rate.ci95, "win_rate", b, len(ids)),
        p_value=wr.p_value, verdict=wr.verdict, position_consistency=both.position_consistency,
        first_position_win_rate=both.first_position_win_rate, position_inconsistent=sum(not c for c in both.consistent),
        length_controlled_win_rate=Estimate(lc.win_rate.value, lc.win_rate.ci95, "length_controlled_win_rate", b, len(ids)),
        length_controlled_verdict=lc_word, mean_length_baseline=lc.mean_length_a, mean_length_model=lc.mean_length_b,
        length_slope=lc.length_slope, note=note,
    )


def leaderboard(pairs: Sequence[PairJudgment], *, length_controlled: bool, n_resamples: int, seed: int) -> list[dict[str, Any]]:
    """Bradley-Terry strengths of every model from all judged pairs (pooled per sample and pair
    of models), highest first; with `length_controlled`, the strengths at equal length."""
    from tunecheck.stats import bradley_terry

    groups: dict[tuple[str, str], list[PairJudgment]] = defaultdict(list)
    for p in pairs:
        groups[(p.baseline, p.model)].append(p)
    rows: list[tuple[str, str, int]] = []
    la: list[float] = []
    lb: list[float] = []
    for (a, b), ps in groups.items():
        for _, (o, _, x, y) in sorted(pooled_outcomes(ps).items()):
            rows.append((a, b, o))
            la.append(x)
            lb.append(y)
    bt = bradley_terry(rows, len_a=la if length_controlled else None, len_b=lb if length_controlled else None,
                       n_resamples=n_resamples, seed=seed)
    board = [{"model": e.model, "score": e.value, "ci95": list(e.ci95 or (math.nan, math.nan))} for e in bt.scores]
    return sorted(board, key=lambda r: -float(r["score"]))
