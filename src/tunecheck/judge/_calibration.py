"""Can this judge stand in for people on this task? Its agreement with people's ratings
(`judge/_human.py`) beside the agreement of the people with each other.

The comparison is like for like (as MT-Bench's judge-human vs human-human agreement, Zheng et
al. 2023): the judge is paired with each person on each item they both rated, and people with
each other on each item two of them rated. The judge-vs-people's-mean correlation is reported
too, but not used in the rule: a mean of several people is less noisy than one person.

The rule (`stands_in`), on the pooled Cohen's kappa (quadratic weighted for scores, unweighted
for choices):
  - fewer than MIN_ITEMS items rated by the judge and a person: not decided (None);
  - people agree with each other on at least MIN_ITEMS items: yes when the judge-person kappa is
    at least the person-person kappa minus MARGIN, else no;
  - otherwise: yes when the judge-person kappa is at least SUBSTANTIAL (0.6, "substantial" in
    Landis & Koch 1977) on at least MIN_ITEMS_ALONE items; no when it is below 0.6; not decided
    when it is at least 0.6 on fewer items.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from tunecheck.judge._human import HumanRatings
from tunecheck.stats._agreement import (
    Alpha,
    ChoiceAgreement,
    ScoreAgreement,
    agreement,
    choice_agreement,
    krippendorff_alpha,
    spearman,
)

MIN_ITEMS = 10
MIN_ITEMS_ALONE = 30
SUBSTANTIAL = 0.6
MARGIN = 0.1


@dataclass(frozen=True)
class CriterionCalibration:
    """The judge against people on one rubric criterion."""

    criterion: str
    items: int
    """(id, model) answers scored by the judge and by at least one person."""
    judge_vs_people: ScoreAgreement
    """One pair per item and person: the judge's score and that person's (n counts pairs)."""
    mean_spearman: float
    """Spearman's rho between the judge's score and the people's mean score, over `items`."""
    people: ScoreAgreement | None
    """One pair per item and pair of people who both rated it (in annotator-name order);
    None when no item was rated by two people."""
    people_items: int
    """Items rated by at least two people."""
    people_alpha: Alpha | None
    """Krippendorff's alpha (ordinal) among the people; None with fewer than two people."""
    stands_in: bool | None
    """The module's rule; None when it cannot say."""
    sentence: str


@dataclass(frozen=True)
class Calibration:
    """The judge against people over every criterion they rated."""

    criteria: tuple[CriterionCalibration, ...]
    unmatched: int
    """People's scores with no judge score for the same (id, model, criterion): not compared."""
    stands_in: bool | None
    """True when every criterion says yes, False when any says no, else None."""
    sentence: str


@dataclass(frozen=True)
class ChoiceCalibration:
    """The judge against people on pairwise choices (A / B / tie)."""

    items: int
    judge_vs_people: ChoiceAgreement
    people: ChoiceAgreement | None
    people_items: int
    unmatched: int
    """People's choices on pairs the judge has no verdict for."""
    stands_in: bool | None
    sentence: str


def _rule(kappa: float, reason: str | None, items: int, people_kappa: float | None, people_items: int, what: str) -> tuple[bool | None, str]:
    if items < MIN_ITEMS:
        return None, f"{what}: too few items rated by both the judge and people to say ({items}; rate at least {MIN_ITEMS})"
    if math.isnan(kappa):
        return None, f"{what}: cannot say ({reason or 'kappa is undefined'})"
    if people_kappa is not None and not math.isnan(people_kappa) and people_items >= MIN_ITEMS:
        if kappa >= people_kappa - MARGIN:
            how = "at least as well as" if kappa >= people_kappa else f"within {MARGIN} of how well"
            return True, f"{what}: the judge can stand in for people (it agrees with a person, kappa {kappa:.2f}, {how} people agree with each other, {people_kappa:.2f}; {items} items)"
        return False, f"{what}: the judge cannot stand in for people (it agrees with a person less, kappa {kappa:.2f}, than people agree with each other, {people_kappa:.2f}; {items} items)"
    alone = "no two people rated the same items to compare with" if people_items == 0 else f"people overlap on only {people_items} items"
    if kappa < SUBSTANTIAL:
        return False, f"{what}: the judge cannot stand in for people (kappa {kappa:.2f} with people, below {SUBSTANTIAL} 'substantial'; {items} items; {alone})"
    if items < MIN_ITEMS_ALONE:
        return None, f"{what}: kappa {kappa:.2f} with people on only {items} items; rate at least {MIN_ITEMS_ALONE}, or have two people rate the same items, to say"
    return True, f"{what}: the judge can stand in for people (kappa {kappa:.2f} with people, 'substantial'; {items} items; {alone})"


def _person_pairs(by_item: Mapping[Any, Mapping[str, Any]]) -> tuple[list[Any], list[Any], int]:
    """Pairs of two people's ratings of one item (each pair of people in name order), and the
    number of items rated by two or more."""
    xs: list[Any] = []
    ys: list[Any] = []
    items = 0
    for people in by_item.values():
        if len(people) >= 2:
            items += 1
            for p, q in combinations(sorted(people), 2):
                xs.append(people[p])
                ys.append(people[q])
    return xs, ys, items


def calibrate_scores(judge: Mapping[tuple[str, str, str], float], human: HumanRatings) -> Calibration:
    """The judge's scores (id, model, criterion) -> score (whole numbers; NaN or absent =
    unscored) against people's `human` scores, per criterion."""
    if human.kind != "scores":
        raise ValueError(f"{human.source} holds pairwise choices; use calibrate_choices")
    for key, v in judge.items():
        if not math.isnan(v) and v != round(v):
            raise ValueError(f"judge score {v} for {key} is not a whole number: calibrate the sampled scores")
    by: dict[str, dict[tuple[str, str], dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    unmatched = 0
    for s in human.scores:
        by[s.criterion][(s.id, s.model)][s.annotator] = s.score
        if math.isnan(judge.get((s.id, s.model, s.criterion), math.nan)):
            unmatched += 1
    out = []
    for criterion, items in by.items():
        bounds = (human.scales or {}).get(criterion, (human.scales or {}).get(""))
        labels = None if bounds is None else list(range(bounds[0], bounds[1] + 1))
        jx: list[float] = []
        hx: list[float] = []
        judged, means = [], []
        for (sid, model), people in items.items():
            j = judge.get((sid, model, criterion), math.nan)
            if math.isnan(j):
                continue
            judged.append(j)
            means.append(float(np.mean(list(people.values()))))
            for v in people.values():
                jx.append(j)
                hx.append(v)
        vs = agreement(jx, hx, labels)
        px, py, people_items = _person_pairs(items)
        among = agreement([float(v) for v in px], [float(v) for v in py], labels) if px else None
        alpha = _people_alpha(items, human.annotators)
        rho = spearman(judged, means)[0]
        stands, sentence = _rule(vs.kappa, vs.reason, len(judged), among.kappa if among else None, people_items, criterion)
        out.append(CriterionCalibration(criterion, len(judged), vs, rho, among, people_items, alpha, stands, sentence))
    verdicts = [c.stands_in for c in out]
    if out and all(v is True for v in verdicts):
        overall: bool | None = True
        sentence = "This judge can stand in for people on this task: " + "; ".join(c.sentence for c in out)
    elif any(v is False for v in verdicts):
        overall = False
        sentence = "This judge cannot stand in for people on this task: " + "; ".join(c.sentence for c in out if c.stands_in is False)
    else:
        overall = None
        sentence = "Cannot say yet whether this judge can stand in for people: " + "; ".join(c.sentence for c in out if c.stands_in is None)
    return Calibration(tuple(out), unmatched, overall, sentence)


def _people_alpha(items: Mapping[tuple[str, str], Mapping[str, float]], annotators: Sequence[str]) -> Alpha | None:
    people = [a for a in annotators if any(a in p for p in items.values())]
    if len(people) < 2:
        return None
    m = np.array([[items[k].get(a, math.nan) for k in items] for a in people], dtype=np.float64)
    return krippendorff_alpha(m, "ordinal")


def _canonical(choice: str, a: str, b: str) -> str:
    low = choice.lower()
    if low == "tie":
        return "tie"
    if low in ("a", "b"):
        return a if low == "a" else b
    if choice in (a, b):
        return choice
    raise ValueError(f"judge choice {choice!r} for {a} vs {b}: expected A, B, tie or one of the two names")


def calibrate_choices(judge: Mapping[tuple[str, str, str], str], human: HumanRatings) -> ChoiceCalibration:
    """The judge's verdicts (id, model_a, model_b) -> "A" / "B" / "tie" (relative to that order;
    or the winner's name) against people's choices; the order of the two models may differ."""
    if human.kind != "choices":
        raise ValueError(f"{human.source} holds rubric scores; use calibrate_scores")
    verdicts = {(sid, frozenset((a, b))): _canonical(c, a, b) for (sid, a, b), c in judge.items()}
    by: dict[tuple[str, frozenset[str]], dict[str, str]] = defaultdict(dict)
    for c in human.choices:
        by[(c.id, frozenset((c.model_a, c.model_b)))][c.annotator] = c.winner or "tie"
    jx: list[str] = []
    hx: list[str] = []
    items = unmatched = 0
    for key, people in by.items():
        if key not in verdicts:
            unmatched += len(people)
            continue
        items += 1
        for v in people.values():
            jx.append(verdicts[key])
            hx.append(v)
    vs = choice_agreement(jx, hx)
    px, py, people_items = _person_pairs(by)
    among = choice_agreement(px, py) if px else None
    stands, sentence = _rule(vs.kappa, vs.reason, items, among.kappa if among else None, people_items, "pairwise choices")
    return ChoiceCalibration(items, vs, among, people_items, unmatched, stands, sentence)
