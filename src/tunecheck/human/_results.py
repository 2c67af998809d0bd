"""People's ratings (`judge.load_human`'s `HumanRatings`) turned into the human layer's `Result`:
what the sheets' import, the app's export and the terminal A/B all end in.

Scores (rubric):
  - A sample's score on a criterion is the mean over the annotators who scored that answer;
    the unit of resampling is the sample (its id), so several people rating one answer never
    count as several samples.
  - Per criterion and model: the mean of those sample scores with a 95% bootstrap CI
    (`stats.estimate`); each model against the baseline paired by id on the samples both have
    (`stats.paired`: paired bootstrap CI, Wilcoxon signed-rank and sign test), Holm-adjusted over
    the criteria of that model, and the verdict.
  - The baseline is `baseline`, or else the first model the ratings name.

Choices (blind A/B):
  - Each pair of models is oriented "model vs baseline" (the baseline as A when it is in the
    pair; otherwise the model named first is A). A sample's outcome is the choice most of its
    annotators made; when two choices share the most votes (one says A, one says B) it is a tie.
  - Per pair: wins / ties / losses, the win rate (a tie half a win) with its bootstrap CI, the
    exact sign test and the verdict (`stats.win_rate`: the CI and the test must both exclude no
    preference). Only pairs with the baseline get a verdict; the others are reported as a
    preference of B over A without one (improved / regressed mean "against the baseline").

Agreement between annotators (`human/_agreement.py`): Krippendorff's alpha (ordinal for scores,
per criterion; nominal for choices), Cohen's kappa for two annotators, Fleiss' for more, and each
annotator's bias. A warning when alpha is below `min_alpha`: 0.667 is Krippendorff's lowest value
for tentative conclusions (Krippendorff, "Content Analysis: An Introduction to Its Methodology",
2nd ed., 2004: "Rely only on variables with reliabilities above alpha = .800. Consider variables
with reliabilities between alpha = .667 and alpha = .800 only for drawing tentative conclusions").
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Result
from tunecheck.errors import ConfigError, DataError
from tunecheck.human._agreement import (
    alpha_dict,
    bias,
    choice_kappa,
    kappa_dict,
    matrix,
    score_kappa,
)
from tunecheck.judge._human import HumanChoice, HumanRatings, HumanScore
from tunecheck.stats._agreement import krippendorff_alpha

LAYER = "human"
MIN_ALPHA = 0.667
"""Krippendorff (2004): below 0.667 the data are not reliable enough even for tentative conclusions."""

_A, _TIE, _B = 0.0, 1.0, 2.0  # a choice's nominal code: A (the baseline) chosen, a tie, B chosen


def summarise(
    ratings: HumanRatings,
    *,
    baseline: str | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    min_alpha: float = MIN_ALPHA,
) -> Result:
    """The human layer's Result from people's scores or choices (see the module docstring)."""
    annotators = list(ratings.annotators)
    rows = ratings.scores or ratings.choices
    if not rows:
        raise ConfigError(f"{ratings.source}: no ratings to summarise")
    models = _models(ratings)
    base = baseline if baseline is not None else models[0]
    if base not in models:
        raise ConfigError(f"--baseline {base!r}: no rating names that model (the ratings name {', '.join(models)}); give one of them")
    config = {"baseline": base, "n_resamples": n_resamples, "seed": seed, "min_alpha": min_alpha}
    result = Result(
        layer=LAYER,
        data=[DataInfo(ratings.source, ratings_sha256(ratings), len(rows), role="ratings", details={"kind": ratings.kind})],
        config=config,
    )
    details: dict[str, Any] = {"kind": ratings.kind, "baseline": base, "annotators": annotators}
    if ratings.kind == "scores":
        _scores(ratings.scores, ratings.scales, models, base, annotators, result, details, n_resamples, seed, min_alpha)
    else:
        _choices(ratings.choices, models, base, annotators, result, details, n_resamples, seed, min_alpha)
    if len(annotators) == 1:
        who = f"one annotator ({annotators[0]})" if annotators[0] else "one annotator (the file has no 'annotator' column)"
        result.warnings.insert(0, f"{who} rated: agreement between people cannot be measured, so nothing shows another person would rate these answers the same")
    result.details = details
    return result


def _models(ratings: HumanRatings) -> list[str]:
    if ratings.kind == "scores":
        return list(dict.fromkeys(s.model for s in ratings.scores))
    return list(dict.fromkeys(m for c in ratings.choices for m in (c.model_a, c.model_b)))


def _alpha_warning(subject: str, value: float, reason: str | None, annotators: int, min_alpha: float, what: str) -> str | None:
    if annotators < 2:
        return None
    if not math.isfinite(value):
        return f"{subject}: Krippendorff's alpha is undefined ({reason}); agreement between people is not measured"
    if value < min_alpha:
        why = " (Krippendorff's lowest for tentative conclusions)" if min_alpha == MIN_ALPHA else ""
        return f"{subject}: Krippendorff's alpha {value:.3f} is below {min_alpha:g}{why}: agreement between annotators is too low to trust the {what}"
    return None


# -- scores --------------------------------------------------------------------------------------
def _scores(
    scores: Sequence[HumanScore], scales: dict[str, tuple[int, int]] | None, models: list[str], base: str,
    annotators: list[str], result: Result, details: dict[str, Any], n_resamples: int, seed: int, min_alpha: float,
) -> None:
    from tunecheck.judge._grade import comparisons, estimates

    criteria = list(dict.fromkeys(s.criterion for s in scores))
    per_answer: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for s in scores:
        per_answer[(s.model, s.criterion, s.id)].append(s.score)
    table: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for (m, c, sid), vs in per_answer.items():
        table[m][c][sid] = sum(vs) / len(vs)
    result.estimates = estimates(table, models, criteria, n_resamples=n_resamples, seed=seed)
    result.comparisons = comparisons(table, base, models, criteria, n_resamples=n_resamples, seed=seed)
    for m in models:
        for c in criteria:
            shared = set(table[base].get(c, {})) & set(table[m].get(c, {}))
            if m != base and len(shared) < 2:
                result.warnings.append(f"{m} vs {base} on {c}: {len(shared)} sample{'' if len(shared) == 1 else 's'} scored for both; a paired comparison needs at least 2")
    result.models = [
        ModelInfo(m, {}, {"n": len({sid for c in criteria for sid in table[m].get(c, {})}),
                          "ratings": sum(1 for s in scores if s.model == m)}) for m in models
    ]
    alphas: dict[str, float] = {}
    agreement: dict[str, Any] = {}
    for c in criteria:
        m_c, _ = matrix({(s.annotator, (s.id, s.model)): s.score for s in scores if s.criterion == c}, annotators)
        a = krippendorff_alpha(m_c, "ordinal")
        bounds = None if scales is None else scales.get(c, scales.get(""))
        labels = [float(v) for v in range(bounds[0], bounds[1] + 1)] if bounds else None
        k = score_kappa(m_c, labels)
        alphas[c] = a.value
        agreement[c] = {"alpha": alpha_dict(a), "kappa": kappa_dict(k)}
        line = _alpha_warning(f"criterion {c}", a.value, a.reason, len(annotators), min_alpha, "means")
        if line:
            result.warnings.append(line)
    found = bias({(s.annotator, s.criterion, (s.id, s.model)): s.score for s in scores}, annotators)
    details["criteria"] = {c: {"scale": list(b) if (b := None if scales is None else scales.get(c, scales.get(""))) else None} for c in criteria}
    details["krippendorff_alpha"] = alphas
    details["agreement"] = agreement
    details["annotator_bias"] = {
        b.annotator: {"bias": b.bias, "n": b.n, "per_criterion": {c: {"bias": v, "n": n} for c, (v, n) in b.per_criterion.items()}}
        for b in found
    }


# -- choices -------------------------------------------------------------------------------------
def _orient(a: str, b: str, base: str, models: list[str]) -> tuple[str, str]:
    """(A, B) of a pair: the baseline as A when it is in the pair, else the model seen first."""
    if b == base or (a != base and models.index(b) < models.index(a)):
        return b, a
    return a, b


def _code(c: HumanChoice, pair: tuple[str, str]) -> float:
    return _TIE if c.winner is None else _A if c.winner == pair[0] else _B


def majority(codes: Sequence[float]) -> int:
    """A sample's outcome from its annotators' codes: +1 B, -1 A, 0 tie; the most frequent
    choice, a tie when two choices share the most votes."""
    counts = Counter(codes).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return 0
    return int(counts[0][0] - _TIE)


def _choices(
    choices: Sequence[HumanChoice], models: list[str], base: str, annotators: list[str], result: Result,
    details: dict[str, Any], n_resamples: int, seed: int, min_alpha: float,
) -> None:
    from tunecheck.stats import win_rate

    by_pair: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    coded: dict[tuple[str, Hashable], float] = {}
    for c in choices:
        pair = _orient(c.model_a, c.model_b, base, models)
        code = _code(c, pair)
        by_pair[pair][c.id].append(code)
        coded[(c.annotator, (c.id, pair))] = code
    rows: list[dict[str, Any]] = []
    for (a, b), items in by_pair.items():
        ids = list(items)
        outcomes = [majority(items[i]) for i in ids]
        wr = win_rate(outcomes, n_resamples=n_resamples, seed=seed)
        lo, hi = wr.win_rate.ci95 or (math.nan, math.nan)
        with_base = a == base
        split = sum(1 for i in ids if len(items[i]) > 1 and len(set(items[i])) > 1)
        rows.append({
            "baseline": a, "model": b, "n": len(ids), "wins": wr.wins, "ties": wr.ties, "losses": wr.losses,
            "win_rate": wr.win_rate.value, "win_rate_ci95": [lo, hi], "p_value": wr.p_value,
            "verdict": wr.verdict.value if with_base else None, "disagreed": split,
        })
        result.estimates.append(Estimate(wr.win_rate.value, wr.win_rate.ci95, "win_rate", b, len(ids)))
        if with_base:
            result.comparisons.append(Comparison(
                metric="win_rate", baseline=a, model=b, n=len(ids), baseline_value=0.5, value=wr.win_rate.value,
                difference=wr.win_rate.value - 0.5, ci95=(lo - 0.5, hi - 0.5), p_value=wr.p_value, verdict=wr.verdict,
                tests={"wins": wr.wins, "ties": wr.ties, "losses": wr.losses, "sign_test_p": wr.p_value},
            ))
    counts = Counter(m for c in choices for m in (c.model_a, c.model_b))
    result.models = [ModelInfo(m, {}, {"choices": counts[m]}) for m in models]
    m_all, _ = matrix(coded, annotators)
    alpha = krippendorff_alpha(m_all, "nominal")
    details["pairwise"] = rows
    details["krippendorff_alpha"] = alpha.value
    details["agreement"] = {"alpha": alpha_dict(alpha), "kappa": kappa_dict(choice_kappa(m_all))}
    line = _alpha_warning("choices", alpha.value, alpha.reason, len(annotators), min_alpha, "win rates")
    if line:
        result.warnings.append(line)


# -- the interchange format ----------------------------------------------------------------------
_SCORE_COLUMNS = ("id", "model", "criterion", "score", "annotator")
_CHOICE_COLUMNS = ("id", "model_a", "model_b", "choice", "annotator")


def _rows(ratings: HumanRatings) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    if ratings.kind == "scores":
        score_rows = [{"id": s.id, "model": s.model, "criterion": s.criterion, "score": int(s.score) if s.score == round(s.score) else s.score,
                       "annotator": s.annotator} for s in ratings.scores]
        return _SCORE_COLUMNS, score_rows
    choice_rows = [{"id": c.id, "model_a": c.model_a, "model_b": c.model_b,
                    "choice": "tie" if c.winner is None else "A" if c.winner == c.model_a else "B", "annotator": c.annotator}
                   for c in ratings.choices]
    return _CHOICE_COLUMNS, choice_rows


def write_ratings(ratings: HumanRatings, path: str | Path) -> Path:
    """Write `ratings` in the format `judge.load_human` (and `tunecheck judge --human`) reads:
    long-form rows, CSV for .csv, a JSON list for .json, one object a line for .jsonl.
    Written atomically; returns the path."""
    from tunecheck._io import write_text

    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    columns, rows = _rows(ratings)
    if suffix == ".csv":
        buf = io.StringIO(newline="")
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    elif suffix == ".json":
        text = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    elif suffix == ".jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        raise ConfigError(f"{path}: unknown format {suffix or '(no extension)'} for people's ratings; name it .csv, .json or .jsonl")
    write_text(p, text)
    return p


def ratings_sha256(ratings: HumanRatings) -> str:
    """sha256 over each rating's canonical JSON line (as written by `write_ratings`): the same
    ratings give the same hash whatever file format they came in."""
    digest = hashlib.sha256()
    for row in _rows(ratings)[1]:
        digest.update((json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def merge_ratings(parts: Sequence[HumanRatings]) -> HumanRatings:
    """Several files' ratings (one per annotator, or several people each) as one set.

    A file without an annotator column is one person: named after the file's stem, so two such
    files count as two people. The same rating twice (same id, model and criterion, or the same
    pair, by the same person) in two files is a DataError naming both places; so is a mix of
    scores and choices, or two rubrics whose scales differ."""
    if not parts:
        raise ConfigError("no files of ratings to merge")
    kinds = {p.kind for p in parts}
    if len(kinds) > 1:
        first = {k: next(p.source for p in parts if p.kind == k) for k in ("scores", "choices")}
        raise DataError(f"{first['scores']} holds rubric scores but {first['choices']} holds pairwise choices; summarise them separately")
    scales = None
    for p in parts:
        if p.scales is not None:
            if scales is not None and p.scales != scales:
                raise DataError(f"{p.source}: its scales {p.scales} differ from those of the files before it ({scales}); use one rubric")
            scales = p.scales
    seen: dict[tuple[Any, ...], str] = {}
    scores: list[HumanScore] = []
    choices: list[HumanChoice] = []
    for p in parts:
        name = Path(p.source).stem
        for s in p.scores:
            s = s if s.annotator else replace(s, annotator=name)
            _once(seen, (s.id, s.model, s.criterion, s.annotator), p.source, s.where, f"a second score for id {s.id!r}, model {s.model!r}, criterion {s.criterion!r} by {s.annotator!r}")
            scores.append(s)
        for c in p.choices:
            c = c if c.annotator else replace(c, annotator=name)
            _once(seen, (c.id, frozenset((c.model_a, c.model_b)), c.annotator), p.source, c.where, f"a second choice for id {c.id!r} between {c.model_a!r} and {c.model_b!r} by {c.annotator!r}")
            choices.append(c)
    source = parts[0].source if len(parts) == 1 else ", ".join(p.source for p in parts)
    return HumanRatings(source, parts[0].kind, tuple(scores), tuple(choices), scales)


def _once(seen: dict[tuple[Any, ...], str], key: tuple[Any, ...], source: str, where: str, what: str) -> None:
    place = f"{source} {where}"
    if key in seen:
        raise DataError(f"{place}: {what} (the first is at {seen[key]}); keep one, or give each person's file its own annotator name")
    seen[key] = place
