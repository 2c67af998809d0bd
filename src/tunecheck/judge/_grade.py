"""Rubric grading: one judge grades one answer (with one repair retry when its answer cannot be
read), and the judgments become per-criterion estimates and paired comparisons.

A sample's score on a criterion is the mean over the judge's repeats, then over the judges,
of the scores it got; unscored judgments leave it out (never a 0). Base vs tuned is paired on
the samples both have a score for, per criterion, through the statistics engine (paired
bootstrap CI, Wilcoxon and sign test), Holm-adjusted across the criteria.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunecheck.core import Comparison, Estimate
from tunecheck.judge._items import Item
from tunecheck.judge._judges import Judge
from tunecheck.judge._judgment import RubricJudgment
from tunecheck.judge._parse import parse_rubric_answer
from tunecheck.judge._prompts import repair_message, rubric_messages
from tunecheck.judge._rubric import Rubric
from tunecheck.judge._run import CallFailed

WEIGHTED = " (weighted)"
"""Suffix of a criterion's probability-weighted (G-Eval) metric."""


def grade(
    judge: Judge, rubric: Rubric, item: Item, answer: str, model: str, repeat: int, params: Mapping[str, Any]
) -> RubricJudgment:
    """Ask, read, and once more if the answer could not be read; the better-read answer counts."""
    messages = rubric_messages(rubric, item.question, answer, item.reference, sample_id=item.id)
    base = (judge.name, model, item.id, rubric.name, repeat)
    try:
        reply = judge.ask(messages, params)
    except CallFailed as err:
        reason = f"judge call failed: {err}"
        return RubricJudgment(*base, unscored={c.name: reason for c in rubric.scored}, error=str(err))
    parsed = parse_rubric_answer(reply.text, rubric)
    replies = [reply.text]
    if parsed.problem is not None:
        retry = [*messages, {"role": "assistant", "content": reply.text}, repair_message(parsed.problem)]
        try:
            second = judge.ask(retry, params, repair=True)
        except CallFailed:
            second = None
        if second is not None:
            replies.append(second.text)
            again = parse_rubric_answer(second.text, rubric)
            if len(again.scores) > len(parsed.scores):
                parsed, reply = again, second
    weighted: dict[str, float] = {}
    got_logprobs = bool(reply.extras.get("logprobs"))
    if "top_logprobs" in params:
        from tunecheck.judge._geval import weighted_scores

        for name, w in weighted_scores(reply.text, reply.extras.get("logprobs"), rubric).items():
            if w.value is not None and name in parsed.scores:
                weighted[name] = float(w.value)
    return RubricJudgment(
        *base, scores=dict(parsed.scores), weighted=weighted, justifications=dict(parsed.justifications),
        unscored=dict(parsed.unscored), replies=tuple(replies), logprobs=got_logprobs,
    )


# -- aggregation ---------------------------------------------------------------------------------
Table = dict[str, dict[str, dict[str, float]]]
"""model -> criterion -> sample id -> score."""


def sample_scores(judgments: Sequence[RubricJudgment], rubric: str, *, weighted: bool = False,
                  judge: str | None = None, repeat: int | None = None) -> Table:
    """Per model, criterion and sample: the mean over repeats, then over judges, of one rubric
    wording's scores (`judge`, `repeat`: only that judge's, or that repeat's)."""
    per_judge: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for j in judgments:
        if j.rubric != rubric or (judge is not None and j.judge != judge) or (repeat is not None and j.repeat != repeat):
            continue
        for c, v in (j.weighted if weighted else j.scores).items():
            per_judge[(j.model, c, j.sample_id, j.judge)].append(float(v))
    pooled: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for (m, c, sid, _), vs in per_judge.items():
        pooled[(m, c, sid)].append(float(np.mean(vs)))
    out: Table = defaultdict(lambda: defaultdict(dict))
    for (m, c, sid), vs in pooled.items():
        out[m][c][sid] = float(np.mean(vs))
    return out


def estimates(table: Table, models: Sequence[str], criteria: Sequence[str], *, suffix: str = "",
              n_resamples: int, seed: int) -> list[Estimate]:
    from tunecheck.stats import SampleStats, estimate

    out = []
    for m in models:
        for c in criteria:
            values = list(table.get(m, {}).get(c, {}).values())
            if not values:
                continue
            e = estimate(SampleStats.mean(c + suffix, values), n_resamples=n_resamples, seed=seed)
            out.append(Estimate(e.value, e.ci95, metric=c + suffix, model=m, n=len(values)))
    return out


def comparisons(table: Table, baseline: str, models: Sequence[str], criteria: Sequence[str], *, suffix: str = "",
                n_resamples: int, seed: int) -> list[Comparison]:
    """Each model against the baseline on each criterion, paired on the samples both have a
    score for, Holm-adjusted across the criteria of that model."""
    from tunecheck.stats import SampleStats, adjust_holm, paired

    out: list[Comparison] = []
    for m in models:
        if m == baseline:
            continue
        family = []
        for c in criteria:
            a, b = table.get(baseline, {}).get(c, {}), table.get(m, {}).get(c, {})
            shared = sorted(set(a) & set(b))
            if len(shared) < 2:
                continue
            sa = SampleStats.mean(c + suffix, [a[i] for i in shared])
            sb = SampleStats.mean(c + suffix, [b[i] for i in shared])
            family.append(paired(sa, sb, n_resamples=n_resamples, seed=seed, baseline=baseline, model=m))
        out += [_rank_test_agrees(c) for c in adjust_holm(family)]
    return out


def _rank_test_agrees(c: Comparison) -> Comparison:
    """Scores on a few-point scale, at small n, give the bootstrap a collapsed CI (3 samples one
    point better each: [1, 1]) while the exact Wilcoxon test says p = 0.25: a verdict needs the
    rank test to agree too (as a win rate needs its sign test)."""
    from dataclasses import replace

    from tunecheck.core import Verdict

    p = c.tests.get("wilcoxon_p")
    if c.verdict != Verdict.INCONCLUSIVE and p is not None and not p < 0.05:
        return replace(c, verdict=Verdict.INCONCLUSIVE, extra={**c.extra, "note": f"the paired bootstrap excludes 0 but Wilcoxon's p = {p:.3g}"})
    return c


def unscored_counts(judgments: Sequence[RubricJudgment], rubric: Rubric) -> dict[str, Any]:
    """Per model and criterion: how many gradings gave no score, and why (most common first)."""
    counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    totals: Counter[str] = Counter()
    for j in judgments:
        if j.rubric != rubric.name:
            continue
        totals[j.model] += 1
        for c, why in j.unscored.items():
            counts[j.model][c][why] += 1
    return {
        m: {
            "gradings": totals[m],
            "unscored": {c.name: sum(counts[m][c.name].values()) for c in rubric.scored},
            "reasons": {c: dict(r.most_common()) for c, r in counts[m].items() if r},
        }
        for m in totals
    }
