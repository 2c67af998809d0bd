"""The judge's reliability, measured on the run's own judgments, not assumed.

- Repeats (`--repeats N`, sampling on): how much a judge's answer to the same question moves,
  and whether that noise is as large as the base-vs-tuned difference it is asked to measure.
- Several judges: their agreement (Krippendorff's alpha, pairwise weighted kappa) and the items
  they disagree on most.
- Rubric rewordings (`--rubric-variants K`): how much the scores and verdicts move.
- People (`--human`): agreement with them beside their agreement with each other.

Everything lands in `details["reliability"]`: numbers, and `lines`, the sentences the table
prints; the warnings a reader must see go to the report's warnings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from tunecheck.judge import _grade
from tunecheck.judge._judgment import PairJudgment, RubricJudgment

TOP = 5
"""Most-disagreed items listed."""


def _mean_diff(table: _grade.Table, baseline: str, model: str, criterion: str) -> float | None:
    a, b = table.get(baseline, {}).get(criterion, {}), table.get(model, {}).get(criterion, {})
    shared = sorted(set(a) & set(b))
    return float(np.mean([b[i] - a[i] for i in shared])) if shared else None


# -- rubric mode ---------------------------------------------------------------------------------
def rubric_reliability(report: Any, table: _grade.Table) -> None:
    rel: dict[str, Any] = {"lines": []}
    rubric = report.rubrics[0]
    criteria = [c.name for c in rubric.scored]
    models = [s.name for s in report.sets]
    judgments: list[RubricJudgment] = report.judgments
    if report.config.repeats > 1:
        rel["repeats"] = _rubric_repeats(report, judgments, table, rubric.name, criteria, models, rel["lines"])
    if len(report.judges) > 1:
        rel["judges"] = _rubric_judges(report, judgments, rubric, criteria, rel["lines"])
    if len(report.rubrics) > 1:
        rel["rubric_variants"] = _rubric_variants(report, judgments, criteria, models, rel["lines"])
    if report.human is not None:
        rel["human"] = _rubric_human(report, judgments, rubric.name, rel["lines"])
    if len(rel) > 1 or rel["lines"]:
        report.details["reliability"] = rel


def _rubric_repeats(report: Any, judgments: Sequence[RubricJudgment], table: _grade.Table, rubric: str,
                    criteria: Sequence[str], models: Sequence[str], lines: list[str]) -> dict[str, Any]:
    from tunecheck.stats import noise_vs_difference, repeat_noise

    repeats = report.config.repeats
    out: dict[str, Any] = {"per_judge": {}, "noise_vs_difference": []}
    for j in report.judges:
        grid: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(lambda: [np.nan] * repeats))
        for x in judgments:
            if x.judge == j.name and x.rubric == rubric:
                for c, v in x.scores.items():
                    grid[c][(x.model, x.sample_id)][x.repeat] = float(v)
        mine = {}
        for c in criteria:
            if grid[c]:
                n = repeat_noise(np.array(list(grid[c].values())))
                mine[c] = {"mean_sd": n.mean_sd, "changed": n.changed, "items": n.items}
        out["per_judge"][j.name] = mine
        if mine:
            worst = max(mine, key=lambda c: mine[c]["changed"])
            lines.append(f"{j.name}: over {repeats} repeats the {worst} score changed on {mine[worst]['changed']:.0%} of answers "
                         f"(mean SD {mine[worst]['mean_sd']:.2f})")
    per_repeat = [_grade.sample_scores(judgments, rubric, repeat=r) for r in range(repeats)]
    for m in models[1:]:
        for c in criteria:
            diff = _mean_diff(table, models[0], m, c)
            diffs = [_mean_diff(t, models[0], m, c) for t in per_repeat]
            if diff is None or any(d is None for d in diffs):
                continue
            nv = noise_vs_difference([float(d) for d in diffs if d is not None], diff)
            out["noise_vs_difference"].append({"model": m, "criterion": c, "difference": diff, "per_repeat": list(nv.per_repeat),
                                               "sd": nv.sd, "warn": nv.warn})
            if nv.warn:
                report.warnings.append(f"{m} vs {models[0]} on {c}: {nv.message}")
    return out


def _item_scores(judgments: Sequence[RubricJudgment], rubric: str, judge: str, criterion: str) -> dict[Hashable, float]:
    t = _grade.sample_scores(judgments, rubric, judge=judge)
    return {f"{m}/{sid}": v for m, by_c in t.items() for sid, v in by_c.get(criterion, {}).items()}


def _rubric_judges(report: Any, judgments: Sequence[RubricJudgment], rubric: Any, criteria: Sequence[str],
                   lines: list[str]) -> dict[str, Any]:
    from tunecheck.stats import judges_agreement

    out: dict[str, Any] = {}
    for crit in rubric.scored:
        scores: dict[str, Mapping[Hashable, float]] = {j.name: _item_scores(judgments, rubric.name, j.name, crit.name) for j in report.judges}
        ag = judges_agreement(scores, top=TOP, labels=list(range(crit.low, crit.high + 1)))
        out[crit.name] = {
            "alpha": ag.alpha.value, "alpha_reason": ag.alpha.reason,
            "kappas": [{"judges": list(k), "kappa": v.kappa, "exact": v.exact, "within_one": v.within_one, "n": v.n}
                       for k, v in ag.kappas.items()],
            "disagreements": [{"item": str(d.item), "scores": d.scores, "range": d.range} for d in ag.disagreements],
        }
        lines.append(f"judges on {crit.name}: Krippendorff's alpha {ag.alpha.value:.2f}"
                     + (f" ({ag.alpha.reason})" if ag.alpha.reason else "")
                     + (f"; most disagreed: {ag.disagreements[0].item} {ag.disagreements[0].scores}" if ag.disagreements else ""))
    return out


def _rubric_variants(report: Any, judgments: Sequence[RubricJudgment], criteria: Sequence[str], models: Sequence[str],
                     lines: list[str]) -> dict[str, Any]:
    from tunecheck.stats import variant_spread

    cfg = report.config
    tables = {v.name: _grade.sample_scores(judgments, v.name) for v in report.rubrics}
    comps = {name: _grade.comparisons(t, models[0], models, criteria, n_resamples=cfg.n_resamples, seed=cfg.seed)
             for name, t in tables.items()}
    out: dict[str, Any] = {"variants": list(tables), "scores": [], "differences": []}
    for m in models:
        for c in criteria:
            means = {name: float(np.mean(list(t[m][c].values()))) for name, t in tables.items() if t.get(m, {}).get(c)}
            if len(means) > 1:
                sp = variant_spread(means)
                out["scores"].append({"model": m, "criterion": c, "values": sp.values, "range": sp.range, "sd": sp.sd})
    for m in models[1:]:
        for c in criteria:
            found = {name: next((x for x in cs if x.model == m and x.metric == c), None) for name, cs in comps.items()}
            diffs = {k: v.difference for k, v in found.items() if v is not None}
            words = {k: v.verdict.value for k, v in found.items() if v is not None}
            if len(diffs) > 1:
                sp = variant_spread(diffs, words)
                out["differences"].append({"model": m, "criterion": c, "values": sp.values, "range": sp.range,
                                           "verdicts": sp.verdicts, "verdict_changed": sp.verdict_changed})
                if sp.verdict_changed:
                    report.warnings.append(f"rubric sensitivity: {m} vs {models[0]} on {c}: {sp.message}")
    moved = [d["range"] for d in out["differences"]]
    if moved:
        lines.append(f"{len(tables)} wordings of the rubric: the base-vs-tuned difference moved by up to {max(moved):.2f} points")
    return out


def _rubric_human(report: Any, judgments: Sequence[RubricJudgment], rubric: str, lines: list[str]) -> dict[str, Any]:
    from tunecheck.judge._calibration import calibrate_scores

    out: dict[str, Any] = {}
    if report.human.kind != "scores":
        report.warnings.append(f"--human {report.human.source}: holds A/B choices, but a rubric run needs scores; not compared")
        return out
    for j in report.judges:
        mine = {(x.sample_id, x.model, c): float(v) for x in judgments
                if x.judge == j.name and x.rubric == rubric and x.repeat == 0 for c, v in x.scores.items()}
        cal = calibrate_scores(mine, report.human)
        out[j.name] = _plain(cal)
        lines.append(f"{j.name} against people: {cal.sentence}")
    return out


def _plain(obj: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        return _plain(asdict(obj))
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


# -- pairwise mode -------------------------------------------------------------------------------
def _outcome(p: PairJudgment) -> int | None:
    if not p.usable:
        return None
    a, b = p.baseline_first.verdict or 0, p.model_first.verdict or 0
    return int(np.sign(a)) if np.sign(a) == np.sign(b) else 0


def pairwise_reliability(report: Any) -> None:
    from tunecheck.stats import (
        choice_agreement,
        krippendorff_alpha,
        noise_vs_difference,
        verdict_noise,
    )

    rel: dict[str, Any] = {"lines": []}
    pairs: list[PairJudgment] = report.judgments
    repeats = report.config.repeats
    if repeats > 1:
        per_judge = {}
        for j in report.judges:
            grid: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [np.nan] * repeats)
            for p in pairs:
                o = _outcome(p)
                if p.judge == j.name and o is not None:
                    grid[(p.baseline, p.model, p.sample_id)][p.repeat] = float(o)
            if grid:
                n = verdict_noise(np.array(list(grid.values())))
                per_judge[j.name] = {"changed": n.changed, "items": n.items}
                rel["lines"].append(f"{j.name}: over {repeats} repeats the verdict changed on {n.changed:.0%} of pairs")
        rel["repeats"] = {"per_judge": per_judge}
        for st in report.details.get("pairwise", []):
            rates = []
            for r in range(repeats):
                got = [_outcome(p) for p in pairs if p.repeat == r and p.model == st["model"] and p.baseline == st["baseline"]]
                os_ = [o for o in got if o is not None]
                if os_:
                    rates.append(float(np.mean([(o + 1) / 2 for o in os_])) - 0.5)
            if len(rates) == repeats:
                nv = noise_vs_difference(rates, st["win_rate"] - 0.5)
                if nv.warn:
                    report.warnings.append(f"{st['model']} vs {st['baseline']}: {nv.message}")
    if len(report.judges) > 1:
        keyed: dict[str, dict[tuple[str, str, str], int]] = {j.name: {} for j in report.judges}
        for p in pairs:
            o = _outcome(p)
            if o is not None and p.repeat == 0:
                keyed[p.judge][(p.baseline, p.model, p.sample_id)] = o
        items = sorted({k for d in keyed.values() for k in d})
        names = [j.name for j in report.judges]
        matrix = np.array([[keyed[n].get(i, np.nan) for i in items] for n in names], dtype=float)
        alpha = krippendorff_alpha(matrix, level="ordinal")
        kappas: list[dict[str, Any]] = []
        for x in range(len(names)):
            for y in range(x + 1, len(names)):
                ca = choice_agreement([keyed[names[x]].get(i) for i in items], [keyed[names[y]].get(i) for i in items])
                kappas.append({"judges": [names[x], names[y]], "agreement": ca.rate, "kappa": ca.kappa, "n": ca.n})
        split = [{"item": "/".join(i), "verdicts": {n: keyed[n].get(i) for n in names}} for i in items
                 if len({keyed[n].get(i) for n in names if keyed[n].get(i) is not None}) > 1][:TOP]
        rel["judges"] = {"alpha": alpha.value, "alpha_reason": alpha.reason, "pairs": kappas, "disagreements": split}
        rel["lines"].append(f"judges' verdicts: Krippendorff's alpha {alpha.value:.2f}"
                            + "".join(f"; {k['judges'][0]} and {k['judges'][1]} agree on {k['agreement']:.0%}" for k in kappas))
    if report.human is not None:
        from tunecheck.judge._calibration import calibrate_choices

        if report.human.kind != "choices":
            report.warnings.append(f"--human {report.human.source}: holds scores, but a pairwise run needs A/B choices; not compared")
        else:
            out = {}
            for j in report.judges:
                mine = {}
                for p in pairs:
                    o = _outcome(p)
                    if p.judge == j.name and p.repeat == 0 and o is not None:
                        mine[(p.sample_id, p.baseline, p.model)] = {1: "B", -1: "A", 0: "tie"}[o]
                cal = calibrate_choices(mine, report.human)
                out[j.name] = _plain(cal)
                rel["lines"].append(f"{j.name} against people: {cal.sentence}")
            rel["human"] = out
    if len(rel) > 1 or rel["lines"]:
        report.details["reliability"] = rel
