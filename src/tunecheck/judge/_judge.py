"""`tunecheck judge` as a library call: plan every judge call of a run, run them concurrently
through the cache, and turn the judgments into the judge layer's `Result`.

Rubric mode grades every model's answer to every sample on a rubric; pairwise mode compares
the baseline's answer with each other model's, blind and in both orders. Both add what makes a
judge's numbers trustworthy or not: its repeat-to-repeat noise, the agreement of several
judges, how much a reworded rubric moves the scores, self-preference, and agreement with people.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunecheck._progress import Progress
from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Result
from tunecheck.data import Dataset
from tunecheck.errors import ConfigError, DataError
from tunecheck.judge import _grade, _versus
from tunecheck.judge._items import Item, items_for
from tunecheck.judge._judges import Judge, lineage, self_preference
from tunecheck.judge._judgment import PairJudgment, RubricJudgment
from tunecheck.judge._rubric import Rubric
from tunecheck.judge._run import Price, run_parallel
from tunecheck.scoring._pairing import PredictionSet, load_prediction_sets, pairing_warnings
from tunecheck.stats import N_RESAMPLES

MODES = ("rubric", "pairwise")
SAMPLED_TEMPERATURE = 0.7
"""--repeats without --temperature: sampling on, at the temperature MT-Bench samples judges with."""


@dataclass(frozen=True)
class JudgeConfig:
    mode: str = "rubric"
    rubric: str = "quality-5"
    """A built-in rubric's name or a rubric file (rubric mode)."""
    template: str | None = None
    """A custom pairwise prompt template file (pairwise mode); None: the built-in one."""
    five_way: bool = False
    """Pairwise: Arena-Hard's 5-way scale (A>>B ... B>>A), strong verdicts weighted 3."""
    repeats: int = 1
    temperature: float | None = None
    """None: 0 (greedy), or SAMPLED_TEMPERATURE with --repeats > 1."""
    max_tokens: int = 1024
    logprobs: bool = True
    """Ask for token log-probabilities (rubric mode): the G-Eval probability-weighted score."""
    top_logprobs: int = 20
    rubric_variants: int = 1
    """Grade with this many wordings of the rubric in all (the rubric itself first)."""
    pairs: str = "baseline"
    """Pairwise: "baseline" (each model against the first) or "all" (every pair of models)."""
    concurrency: int = 8
    n_resamples: int = N_RESAMPLES
    seed: int = 0
    price: tuple[float, float] | None = None
    """US dollars per million prompt and completion tokens, for the cost line."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"--mode {self.mode!r}: use rubric or pairwise")
        if self.repeats < 1:
            raise ConfigError(f"--repeats {self.repeats}: use 1 or more")
        if self.rubric_variants < 1:
            raise ConfigError(f"--rubric-variants {self.rubric_variants}: use 1 (the rubric alone) or more")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ConfigError(f"--judge-temperature {self.temperature}: use a value from 0 to 2")
        if self.repeats > 1 and self.temperature == 0:
            raise ConfigError(f"--repeats {self.repeats} with --judge-temperature 0 asks the same greedy question again; leave --judge-temperature out (sampling at 0.7) or set it above 0")
        if self.max_tokens < 16:
            raise ConfigError(f"--max-tokens {self.max_tokens}: give the judge at least 16 tokens (its reasoning needs hundreds)")
        if self.pairs not in ("baseline", "all"):
            raise ConfigError(f"--pairs {self.pairs!r}: use baseline or all")
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency {self.concurrency}: must be at least 1")
        if self.n_resamples < 1000:
            raise ConfigError(f"--n-resamples {self.n_resamples}: use at least 1,000 (10,000 is the default)")
        if self.price is not None and (len(self.price) != 2 or min(self.price) < 0):
            raise ConfigError("--price-per-mtok: give two prices of at least 0, dollars per million prompt and completion tokens, e.g. 2.5,10")

    @property
    def effective_temperature(self) -> float:
        if self.temperature is not None:
            return self.temperature
        return SAMPLED_TEMPERATURE if self.repeats > 1 else 0.0

    def params(self, repeat: int, *, logprobs: bool) -> dict[str, Any]:
        p: dict[str, Any] = {"temperature": self.effective_temperature, "max_tokens": self.max_tokens, "seed": self.seed + repeat}
        if self.repeats > 1:
            p["repeat"] = repeat
        if logprobs and self.logprobs:
            p["top_logprobs"] = self.top_logprobs
        return p


@dataclass
class JudgeReport:
    config: JudgeConfig
    sets: list[PredictionSet]
    judges: list[Judge]
    rubrics: list[Rubric]
    judgments: list[Any]
    inputs: list[DataInfo]
    estimates: list[Estimate] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    human: Any = None
    """People's ratings to calibrate the judge against (`load_human`), or None."""

    def to_result(self, *, per_sample: bool = False) -> Result:
        """The judge layer's `Result`; `per_sample` puts every judgment in details["judgments"]
        (the CLI writes them to a sibling JSONL instead)."""
        details = dict(self.details)
        if per_sample:
            details["judgments"] = [j.to_dict() for j in self.judgments]
        config = {k: v for k, v in asdict(self.config).items()}
        config["temperature"] = self.config.effective_temperature
        return Result(
            layer="judge", data=list(self.inputs),
            models=[ModelInfo(s.name, dict(s.identity), {"file": s.path, "n": len(s.rows), **self._model_details(s.name)}) for s in self.sets],
            config=config, estimates=list(self.estimates), comparisons=list(self.comparisons),
            warnings=list(self.warnings), details=details,
        )

    def _model_details(self, name: str) -> dict[str, Any]:
        un = self.details.get("unscored", {}).get(name)
        return {"unscored": un} if un is not None else {}


def _usage(judges: Sequence[Judge], price: Price | None) -> list[dict[str, Any]]:
    out = []
    for j in judges:
        u = j.ask.usage()
        row: dict[str, Any] = {"judge": j.name, "identity": j.identity, "requests": u.requests, "cached": u.cached,
                               "failed": j.ask.failed, "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
                               "without_usage": u.without_usage}
        if price is not None:
            row["cost_usd"] = price.cost(u)
            row["saved_by_cache_usd"] = price.saved(u)
        out.append(row)
    return out


def _answers(s: PredictionSet) -> dict[str, str]:
    return {p.id: p.output for p in s.rows}


@dataclass
class Plan:
    """Everything a judge run reads, loaded and checked before a judge is opened or a cache file
    made: a bad file or option fails here, before any work (and any cost)."""

    config: JudgeConfig
    sets: list[PredictionSet]
    items: dict[str, Item]
    rubrics: list[Rubric]
    template: Any
    human: Any
    inputs: list[DataInfo]


def plan_judging(
    preds: Sequence[str | PredictionSet],
    config: JudgeConfig,
    *,
    data: Dataset | None = None,
    limit: int | None = None,
    human: Any = None,
) -> Plan:
    """Load the predictions (the first is the baseline; `limit`: only its first N samples), the
    questions, the rubric and its wordings or the pairwise template, and people's ratings (a
    file for `load_human`, or its result)."""
    from tunecheck.judge._pairwise import builtin_pairwise_template, load_pairwise_template
    from tunecheck.judge._rubric import load_rubric, rubric_variants

    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: give a number of samples, at least 1")
    sets = load_prediction_sets(preds)
    if limit is not None:
        keep = {p.id for p in sets[0].rows[:limit]}
        sets = [PredictionSet(s.name, s.path, tuple(p for p in s.rows if p.id in keep), s.extra_generations) for s in sets]
    if config.mode == "pairwise" and len(sets) < 2:
        raise ConfigError("--mode pairwise compares answers: pass two or more --preds files (the first is the baseline)")
    for s in sets[1:]:
        if not {p.id for p in s.rows} & {p.id for p in sets[0].rows}:
            pairing_warnings(sets[0], s, 0)  # raises: no sample in common
    items = items_for(sets, data)
    inputs = [s.data_info() for s in sets] + ([DataInfo(data.source, data.sha256, len(data.samples), "questions")] if data else [])
    rubrics: list[Rubric] = []
    template = None
    if config.mode == "rubric":
        rubric = load_rubric(config.rubric)
        rubrics = list(rubric_variants(rubric, config.rubric_variants))
        if rubric.reference_guided:
            missing = next((i for i in items.values() if not i.reference), None)
            if missing is not None:
                raise DataError(
                    f"sample {missing.id}: rubric {rubric.name!r} is reference-guided but the sample has no reference "
                    "(pass --data with references, or a rubric without reference_guided)"
                )
    elif config.template is not None:
        template = load_pairwise_template(config.template, five_way=config.five_way)
        if template.uses_reference:
            missing = next((i for i in items.values() if not i.reference), None)
            if missing is not None:
                raise DataError(f"sample {missing.id}: --template {config.template} uses {{reference}} but the sample has no reference "
                                "(pass --data with references, or drop {reference} from the template)")
    else:
        template = builtin_pairwise_template(config.five_way)
    if isinstance(human, (str, Path)):
        from tunecheck.judge._human import load_human

        human = load_human(human, rubrics[0] if rubrics else None)
    return Plan(config, sets, items, rubrics, template, human, inputs)


def judge_predictions(
    preds: Sequence[str | PredictionSet] | Plan,
    judges: Sequence[Judge],
    config: JudgeConfig | None = None,
    *,
    data: Dataset | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
    human: Any = None,
) -> JudgeReport:
    """Judge every predictions file (the first is the baseline) with every judge: a `Plan`, or
    what `plan_judging` takes to make one."""
    if isinstance(preds, Plan):
        plan = preds
    else:
        if config is None:
            raise ConfigError("judge_predictions: pass a JudgeConfig")
        plan = plan_judging(preds, config, data=data, limit=limit, human=human)
    config = plan.config
    if not judges:
        raise ConfigError("pass at least one --judge")
    names = [j.name for j in judges]
    if len(set(names)) != len(names):
        raise ConfigError(f"two judges are both named {next(n for n in names if names.count(n) > 1)!r}; give one a name=... option")
    report = JudgeReport(config, plan.sets, list(judges), plan.rubrics, [], plan.inputs, human=plan.human)
    if config.mode == "pairwise" and config.template is not None and plan.template.verdict_appended:
        report.warnings.append(f"--template {config.template}: it never names the verdict format ([[A>B]] ...), "
                               "so the built-in verdict instruction was appended")
    models_lineage = {s.name: lineage(s.name, next((p.model for p in s.rows if p.model), None)) for s in plan.sets}
    for j in judges:
        report.warnings += self_preference(j, models_lineage)
    if config.mode == "rubric":
        _run_rubric(report, plan.items, progress)
    else:
        _run_pairwise(report, plan.items, plan.template, progress)
    price = Price(*config.price) if config.price else None
    report.details["judges"] = _usage(judges, price)
    if price is not None:
        report.details["cost_usd"] = sum(r["cost_usd"] for r in report.details["judges"])
    return report


def _check_any(report: JudgeReport) -> None:
    failed = sum(j.ask.failed for j in report.judges)
    done = sum(j.ask.done for j in report.judges)
    if done and failed == done:
        first = next((j.ask.first_error for j in report.judges if j.ask.first_error), "")
        raise DataError(f"every judge call failed, so nothing was judged: {first}")
    for j in report.judges:
        if j.ask.failed:
            report.warnings.append(f"judge {j.name}: {j.ask.failed} of {j.ask.done} calls failed after retries "
                                   f"(first: {j.ask.first_error}); run again to retry only those")


# -- rubric mode ---------------------------------------------------------------------------------
def _run_rubric(report: JudgeReport, items: Mapping[str, Item], progress: Progress | None) -> None:
    config = report.config
    units = [(j, v, r, s.name, p.id, p.output) for s in report.sets for p in s.rows
             for v in report.rubrics for r in range(config.repeats) for j in report.judges]
    for j in report.judges:
        j.ask.track(progress, sum(1 for u in units if u[0] is j))

    def work(u: tuple[Judge, Rubric, int, str, str, str]) -> RubricJudgment:
        j, v, r, model, sid, answer = u
        return _grade.grade(j, v, items[sid], answer, model, r, config.params(r, logprobs=True))

    report.judgments = [d.result for d in sorted(run_parallel(units, work, concurrency=config.concurrency), key=lambda d: d.index)]
    _check_any(report)
    _rubric_statistics(report)


def _rubric_statistics(report: JudgeReport) -> None:
    from tunecheck.judge import _reliability

    config, rubric = report.config, report.rubrics[0]
    models = [s.name for s in report.sets]
    criteria = [c.name for c in rubric.scored]
    nr, sd = config.n_resamples, config.seed
    table = _grade.sample_scores(report.judgments, rubric.name)
    report.estimates = _grade.estimates(table, models, criteria, n_resamples=nr, seed=sd)
    report.comparisons = _grade.comparisons(table, models[0], models, criteria, n_resamples=nr, seed=sd)
    weighted = _grade.sample_scores(report.judgments, rubric.name, weighted=True)
    if any(weighted.values()):
        report.estimates += _grade.estimates(weighted, models, criteria, suffix=_grade.WEIGHTED, n_resamples=nr, seed=sd)
        report.comparisons += _grade.comparisons(weighted, models[0], models, criteria, suffix=_grade.WEIGHTED, n_resamples=nr, seed=sd)
    elif config.logprobs and not any(j.logprobs for j in report.judgments):
        report.details["weighted_note"] = "no judge returned token log-probabilities, so there is no probability-weighted (G-Eval) score"
    elif config.logprobs:
        report.details["weighted_note"] = ("the judges returned token log-probabilities, but no score could be read from them "
                                           "(the scores were unscored: see the warnings)")
    report.details["rubric"] = {"name": rubric.name, "criteria": {c.name: c.scale for c in rubric.scored},
                                "reference_guided": rubric.reference_guided}
    report.details["unscored"] = _grade.unscored_counts(report.judgments, rubric)
    for m, u in report.details["unscored"].items():
        total = sum(u["unscored"].values())
        if total:
            report.warnings.append(f"{m}: {total} criterion scores unscored out of {u['gradings'] * len(criteria)} "
                                   f"(e.g. {_first_reason(u['reasons'])}); they are left out, never counted as 0")
    compared = {(c.model, c.metric) for c in report.comparisons}
    for m in models[1:]:
        missing = [c for c in criteria if (m, c) not in compared]
        if missing:
            report.warnings.append(f"{m} vs {models[0]}: not compared on {', '.join(missing)}: fewer than 2 samples scored for both")
    base = report.sets[0]
    for s in report.sets[1:]:
        shared = len({p.id for p in base.rows} & {p.id for p in s.rows})
        report.warnings += pairing_warnings(base, s, shared, results=[c for c in report.comparisons if c.model == s.name])
    _reliability.rubric_reliability(report, table)


def _first_reason(reasons: Mapping[str, Mapping[str, int]]) -> str:
    for c, r in reasons.items():
        for why in r:
            return f"{c}: {why}"
    return ""


# -- pairwise mode -------------------------------------------------------------------------------
def _model_pairs(report: JudgeReport) -> list[tuple[PredictionSet, PredictionSet]]:
    sets = report.sets
    if report.config.pairs == "all":
        return [(a, b) for i, a in enumerate(sets) for b in sets[i + 1:]]
    return [(sets[0], s) for s in sets[1:]]


def _run_pairwise(report: JudgeReport, items: Mapping[str, Item], template: Any, progress: Progress | None) -> None:
    config = report.config
    units = []
    for a, b in _model_pairs(report):
        answers_a, answers_b = _answers(a), _answers(b)
        shared = [p.id for p in a.rows if p.id in answers_b]
        units += [(j, r, a.name, b.name, sid, answers_a[sid], answers_b[sid]) for sid in shared
                  for j in report.judges for r in range(config.repeats)]
    for j in report.judges:
        j.ask.track(progress, 2 * sum(1 for u in units if u[0] is j))

    def work(u: tuple[Judge, int, str, str, str, str, str]) -> PairJudgment:
        j, r, a, b, sid, xa, xb = u
        return _versus.compare_pair(j, template, items[sid], xa, xb, a, b, r, config.params(r, logprobs=False), five_way=config.five_way)

    report.judgments = [d.result for d in sorted(run_parallel(units, work, concurrency=config.concurrency), key=lambda d: d.index)]
    _check_any(report)
    _pairwise_statistics(report)


def _pairwise_statistics(report: JudgeReport) -> None:
    from tunecheck.judge import _reliability

    config = report.config
    kw = {"n_resamples": config.n_resamples, "seed": config.seed}
    summaries, per_judge = [], []
    pairs: list[PairJudgment] = report.judgments
    for a, b in _model_pairs(report):
        mine = [p for p in pairs if p.baseline == a.name and p.model == b.name]
        if not any(p.usable for p in mine):
            reasons = sorted({p.unscored_reason or "" for p in mine})
            report.warnings.append(f"{b.name} vs {a.name}: no pair got a verdict in both orders, so nothing was compared "
                                   f"(e.g. {reasons[0] if reasons else 'no pairs'}); a judge that cannot follow the format needs replacing by a stronger one")
            continue
        st = _versus.pair_stats(mine, five_way=config.five_way, **kw)
        summaries.append(st.summary())
        report.comparisons += st.comparisons()
        report.estimates += [st.win_rate, st.length_controlled_win_rate]
        if st.note:
            report.warnings.append(f"{b.name} vs {a.name}: {st.note}")
        if st.unscored:
            reasons = sorted({p.unscored_reason or "" for p in mine if not p.usable})
            report.warnings.append(f"{b.name} vs {a.name}: {st.unscored} pairs unscored (e.g. {reasons[0]}); left out of the win rate")
        if len(report.judges) > 1:
            for j in report.judges:
                theirs = [p for p in mine if p.judge == j.name]
                if any(p.usable for p in theirs):
                    per_judge.append({"judge": j.name, **_versus.pair_stats(theirs, five_way=config.five_way, **kw).summary()})
        fp = st.first_position_win_rate
        if not math.isnan(fp) and abs(fp - 0.5) > 0.2:
            side = "first" if fp > 0.5 else "second"
            report.warnings.append(
                f"{b.name} vs {a.name}: position bias: the answer shown {side} won {max(fp, 1 - fp):.0%} of decisive verdicts; "
                f"{st.position_inconsistent} of {st.judged} pairs flipped with the order and count as ties"
            )
    report.details["pairwise"] = summaries
    if per_judge:
        report.details["per_judge"] = per_judge
    if len(report.sets) > 2 and summaries:
        try:
            report.details["leaderboard"] = _versus.leaderboard(pairs, length_controlled=False, **kw)
            report.details["leaderboard_length_controlled"] = _versus.leaderboard(pairs, length_controlled=True, **kw)
        except ValueError as err:
            report.warnings.append(f"no Bradley-Terry leaderboard: {err}")
    _reliability.pairwise_reliability(report)
