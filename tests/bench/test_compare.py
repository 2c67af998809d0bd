"""The benchmark regression check on hand-made per-question results: McNemar's exact p, Holm
across tasks, refusals of mismatched runs, the micro-averaged group, what moved most, the MDD
warning, the file format and the table."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console
from scipy.stats import binomtest, norm

from tests.schema import assert_valid_result
from tunecheck.bench._compare import compare_bench
from tunecheck.bench._samples import BenchRun, TaskSamples, from_lm_eval_samples
from tunecheck.errors import ConfigError, DataError
from tunecheck.render import _bench as rb
from tunecheck.render import _tables as rt

R = 2000  # resamples: enough for the CIs these tests read


def pair(task: str, n: int, b10: int, b01: int, both_right: int | None = None, **kw: object) -> tuple[TaskSamples, TaskSamples]:
    """Base and tuned 0/1 `acc` on n docs: b10 docs base right & tuned wrong, b01 the reverse,
    then `both_right` docs (default: half the rest) right for both, the others wrong for both."""
    rest = n - b10 - b01
    right = rest // 2 if both_right is None else both_right
    base = [1.0] * b10 + [0.0] * b01 + [1.0] * right + [0.0] * (rest - right)
    tuned = [0.0] * b10 + [1.0] * b01 + [1.0] * right + [0.0] * (rest - right)
    mk = lambda vals: TaskSamples(task, {str(i): {"acc": v} for i, v in enumerate(vals)}, **kw)  # type: ignore[arg-type]  # noqa: E731
    return mk(base), mk(tuned)


def runs(*pairs: tuple[TaskSamples, TaskSamples], groups: dict[str, list[str]] | None = None) -> list[BenchRun]:
    return [BenchRun("base", {p[0].task: p[0] for p in pairs}, groups or {}), BenchRun("tuned", {p[1].task: p[1] for p in pairs}, groups or {})]


def by_unit(report) -> dict:  # type: ignore[no-untyped-def]
    return {c.extra["unit"]: c for c in report.comparisons}


def test_mcnemar_exact_on_a_hand_made_two_by_two() -> None:
    # b10 = 7 (base right, tuned wrong), b01 = 1: two-sided exact binomial on 8 discordant pairs,
    # p = 2 * P(X <= 1 | 8, 1/2) = 2 * (1 + 8) / 256 = 0.0703125; change = (1 - 7) / 20 = -0.3.
    c = by_unit(compare_bench(runs(pair("arc", 20, 7, 1)), n_resamples=R))["arc"]
    assert c.tests["mcnemar_p"] == pytest.approx(18 / 256)
    assert c.tests["mcnemar_p"] == pytest.approx(binomtest(1, 8, 0.5).pvalue)
    assert c.difference == pytest.approx(-0.3)
    assert c.n == 20 and c.extra["test"] == "mcnemar" and c.extra["test_p"] == pytest.approx(18 / 256)


def test_holm_across_three_tasks_by_hand() -> None:
    # McNemar p: t1 b10=8,b01=0: 2/256 = 0.0078125; t2 b10=7,b01=1: 18/256 = 0.0703125;
    # t3 b10=6,b01=0: 2/64 = 0.03125. Holm, sorted: 3 * 0.0078125 = 0.0234375;
    # 2 * 0.03125 = 0.0625; 1 * 0.0703125 = 0.0703125 (monotone already).
    rep = compare_bench(runs(pair("t1", 20, 8, 0), pair("t2", 20, 7, 1), pair("t3", 20, 6, 0)), n_resamples=R)
    c = by_unit(rep)
    assert c["t1"].p_value_holm == pytest.approx(0.0234375)
    assert c["t3"].p_value_holm == pytest.approx(0.0625)
    assert c["t2"].p_value_holm == pytest.approx(0.0703125)
    assert c["t1"].verdict.value == "regressed"
    # t3's CI excludes 0 and its raw McNemar p is 0.031, but Holm's 0.0625 keeps it inconclusive.
    assert c["t3"].ci95[1] < 0 and c["t3"].tests["mcnemar_p"] < 0.05
    assert c["t3"].verdict.value == "inconclusive"


def _refusal_cases() -> list[tuple[str, list[BenchRun], str]]:
    v1, v2 = pair("hellaswag", 10, 1, 1, version="1.0"), pair("hellaswag", 10, 1, 1, version="2.0")
    f0, f5 = pair("mmlu_x", 10, 1, 1, num_fewshot=0), pair("mmlu_x", 10, 1, 1, num_fewshot=5)
    short = TaskSamples("arc", {str(i): {"acc": 1.0} for i in range(8)})
    full = TaskSamples("arc", {str(i): {"acc": 1.0} for i in range(10)})
    text = TaskSamples("arc", {"0": {"acc": "yes"}})  # type: ignore[dict-item]
    ragged = TaskSamples("arc", {"0": {"acc": 1.0}, "1": {"f1": 0.5}})
    return [
        ("version", [BenchRun("base", {"hellaswag": v1[0]}), BenchRun("tuned", {"hellaswag": v2[1]})],
         r"^task hellaswag: task version differs \(base: 1\.0, tuned: 2\.0\)"),
        ("few-shot", [BenchRun("base", {"mmlu_x": f0[0]}), BenchRun("tuned", {"mmlu_x": f5[1]})],
         r"^task mmlu_x: num_fewshot differs \(base: 0, tuned: 5\)"),
        ("documents", [BenchRun("base", {"arc": full}), BenchRun("tuned", {"arc": short})],
         r"^task arc: document sets differ \(base: 10 docs, tuned: 8; 2 only in base \(e\.g\. 8, 9\), 0 only in tuned\)"),
        ("not a number", [BenchRun("base", {"arc": text}), BenchRun("tuned", {"arc": text})],
         r"^base: task arc, doc 0: metric 'acc' is 'yes', not a number"),
        ("missing metric", [BenchRun("base", {"arc": ragged}), BenchRun("tuned", {"arc": ragged})],
         r"^base: task arc, doc 1: no value for metric 'acc' \(has f1\)"),
    ]


@pytest.mark.parametrize(("case", "given", "message"), _refusal_cases(), ids=[c[0] for c in _refusal_cases()])
def test_mismatched_runs_are_refused_in_one_line(case: str, given: list[BenchRun], message: str) -> None:
    with pytest.raises(DataError, match=message) as err:
        compare_bench(given, n_resamples=R)
    assert "\n" not in str(err.value)


def test_refusals_of_the_call() -> None:
    a, b = pair("arc", 10, 1, 1)
    with pytest.raises(ConfigError, match="two or more models"):
        compare_bench([BenchRun("base", {"arc": a})])
    with pytest.raises(ConfigError, match="distinct"):
        compare_bench([BenchRun("m", {"arc": a}), BenchRun("m", {"arc": b})])
    with pytest.raises(DataError, match=r"task arc has no metric 'f1' \(has acc\)"):
        compare_bench(runs((a, b)), metric="f1")


def test_group_is_the_micro_average_over_its_documents() -> None:
    # s1 (2 docs): base [1, 0], tuned [1, 1]; s2 (8 docs): base all 1, tuned 4 of 8.
    # Micro (lm-eval's weight_by_size): base 9/10 = 0.9, tuned 6/10 = 0.6, change -0.3
    # (the macro mean of subject means would be 0.75 for both: no change).
    # Pooled McNemar: b01 = 1, b10 = 4: p = 2 * P(X <= 1 | 5) = 2 * 6 / 32 = 0.375.
    s1 = (TaskSamples("s1", {"0": {"acc": 1.0}, "1": {"acc": 0.0}}), TaskSamples("s1", {"0": {"acc": 1.0}, "1": {"acc": 1.0}}))
    s2 = pair("s2", 8, 4, 0, both_right=4)
    rep = compare_bench(runs(s1, s2, groups={"g": ["s1", "s2"]}), n_resamples=R)
    r = rep.to_result()
    assert r.value("g/acc", "base") == pytest.approx(0.9)
    assert r.value("g/acc", "tuned") == pytest.approx(0.6)
    g = by_unit(rep)["g"]
    assert (g.n, g.extra["level"]) == (10, "task")
    assert g.difference == pytest.approx(-0.3)
    assert g.tests["mcnemar_p"] == pytest.approx(0.375)
    assert by_unit(rep)["s1"].extra["level"] == "subject"
    assert r.details["groups"]["g"]["n"] == 10


def test_nested_groups_give_group_level_rows() -> None:
    a, b = pair("sa", 10, 2, 0), pair("sb", 10, 0, 0)
    rep = compare_bench(runs(a, b, groups={"mmlu": ["stem"], "stem": ["sa", "sb"]}), n_resamples=R)
    c = by_unit(rep)
    assert (c["mmlu"].extra["level"], c["stem"].extra["level"], c["sa"].extra["level"]) == ("task", "group", "subject")
    assert c["mmlu"].difference == pytest.approx(-0.1)  # 2 of 20 documents lost


def test_the_subjects_that_moved_most_in_order() -> None:
    # changes: s_small -1/10 = -0.1, s_up +5/10 = +0.5, s_down -3/10 = -0.3; by |change|: up, down, small.
    tasks = (pair("s_small", 10, 1, 0), pair("s_up", 10, 0, 5), pair("s_down", 10, 3, 0))
    rep = compare_bench(runs(*tasks, groups={"g": ["s_small", "s_up", "s_down"]}), n_resamples=R, moved_most=2)
    moved = rep.details["moved_most"]["tuned"]
    assert [m["task"] for m in moved] == ["s_up", "s_down"]
    assert moved[0]["difference"] == pytest.approx(0.5) and moved[0]["n"] == 10
    assert moved[0]["p"] == pytest.approx(binomtest(5, 5, 0.5).pvalue)  # 2 / 32 = 0.0625


def test_default_metric_is_acc_else_the_first_and_non_binary_gets_the_bootstrap() -> None:
    both = {str(i): {"acc_norm": float(i % 2), "acc": float(i % 3 == 0)} for i in range(12)}
    f1a = {str(i): {"f1": 0.5, "em": 0.0} for i in range(12)}
    f1b = {str(i): {"f1": 0.7, "em": 0.0} for i in range(12)}
    rep = compare_bench([BenchRun("base", {"mc": TaskSamples("mc", both), "qa": TaskSamples("qa", f1a)}),
                         BenchRun("tuned", {"mc": TaskSamples("mc", both), "qa": TaskSamples("qa", f1b)})], n_resamples=R)
    c = by_unit(rep)
    assert c["mc"].extra["metric"] == "acc" and c["qa"].extra["metric"] == "f1"
    assert c["qa"].extra["test"] == "paired bootstrap" and "mcnemar_p" not in c["qa"].tests
    assert c["qa"].difference == pytest.approx(0.2)
    # every metric of every task has an estimate with a CI, not only the compared one
    est = rep.to_result().estimate("mc/acc_norm", "tuned")
    assert est is not None and est.ci95 is not None and est.value == pytest.approx(0.5) and est.n == 12


def test_minimum_detectable_change_and_the_two_point_warning() -> None:
    # small: d = 8 x -1, 12 x 0 on 20 docs: MDD = (z.975 + z.80) * sd(d, ddof=1) / sqrt(20);
    # questions for 2 points: ceil(20 * (MDD / 0.02)^2).
    import numpy as np

    d = np.array([-1.0] * 8 + [0.0] * 12)
    mdd = (norm.ppf(0.975) + norm.ppf(0.8)) * d.std(ddof=1) / math.sqrt(20)
    # big: 10,000 docs, 1 discordant: MDD = 2.80 * sqrt(1/9999) / 100 = 0.00028, under 2 points.
    rep = compare_bench(runs(pair("small", 20, 8, 0), pair("big", 10_000, 1, 0)), n_resamples=200)
    assert by_unit(rep)["small"].mdd == pytest.approx(mdd)
    power = rep.details["power"]["tuned"]
    assert power["small"]["n_for_2_points"] == math.ceil(20 * (mdd / 0.02) ** 2)
    assert [w for w in rep.warnings if "2 points" in w] == [
        f"tuned vs base on small: 20 questions detect a change of {100 * mdd:.1f} points at best (5% test, 80% power); "
        f"about {math.ceil(20 * (mdd / 0.02) ** 2)} are needed to detect 2 points"
    ]


def test_result_is_valid_against_the_schema() -> None:
    rep = compare_bench(runs(pair("sa", 10, 2, 0), pair("sb", 10, 0, 1), pair("arc", 10, 1, 1), groups={"g": ["sa", "sb"]}), n_resamples=R)
    r = rep.to_result()
    assert r.layer == "bench"
    assert_valid_result(r.to_dict())


def test_the_table_shows_which_tasks_regressed_and_which_wobbled(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    monkeypatch.setattr(rt, "console", console)
    monkeypatch.setattr(rb, "console", console)
    rep = compare_bench(runs(pair("t1", 20, 8, 0), pair("t2", 20, 7, 1), pair("t3", 20, 6, 0), pair("sa", 10, 3, 0),
                             groups={"g": ["sa"]}), n_resamples=R)
    rb.bench_tables(rep.to_result())
    lines = [line.replace("│", " ").replace("┃", " ") for line in console.export_text().splitlines()]
    row = {name: next(line for line in lines if f" {name} " in line) for name in ("t1", "t2", "t3")}
    assert row["t1"].split()[-1] == "regressed"
    assert row["t3"].split()[-1] == "inconclusive" and row["t2"].split()[-1] == "inconclusive"
    assert "-40.0 [" in row["t1"]  # the change in points with its CI
    # Holm over the 4 headline units (t1, t2, t3 and the group g, whose McNemar p is 2/8 = 0.25):
    # t1's 4 * 2/256 = 0.03125
    assert " 0.031 " in row["t1"]
    text = "\n".join(lines)
    assert "Per group and subject" in text and "The subjects that moved most" in text


def test_lm_eval_logged_samples_become_task_samples() -> None:
    # Two of lm-eval's logged samples per document for gsm8k's two filters, plus a corpus-level
    # bleu value (a pair, not a number) that cannot be paired per document.
    logged = [
        {"doc_id": 0, "filter": "strict-match", "metrics": ["exact_match"], "exact_match": 1.0, "doc_hash": "h0"},
        {"doc_id": 0, "filter": "flexible-extract", "metrics": ["exact_match"], "exact_match": 0.0, "doc_hash": "h0"},
        {"doc_id": 1, "filter": "none", "metrics": ["acc", "bleu", "strict"], "acc": 1, "bleu": ["ref", "pred"], "strict": True, "doc_hash": "h1"},
    ]
    t = from_lm_eval_samples("gsm8k", logged, version="3.0", num_fewshot=5, higher_is_better={"exact_match": True, "acc": False})
    assert t.docs == {"0": {"exact_match,strict-match": 1.0, "exact_match,flexible-extract": 0.0}, "1": {"acc": 1.0, "strict": 1.0}}
    assert t.higher_is_better == {"exact_match,strict-match": True, "exact_match,flexible-extract": True, "acc": False}
    assert (t.version, t.num_fewshot, dict(t.doc_hashes)) == ("3.0", 5, {"0": "h0", "1": "h1"})


def test_same_doc_ids_over_different_documents_are_refused() -> None:
    a = TaskSamples("arc", {"0": {"acc": 1.0}, "1": {"acc": 0.0}}, doc_hashes={"0": "x", "1": "y"})
    b = TaskSamples("arc", {"0": {"acc": 1.0}, "1": {"acc": 0.0}}, doc_hashes={"0": "x", "1": "z"})
    with pytest.raises(DataError, match=r"^task arc: 1 documents differ in content under the same ids \(e\.g\. 1\), by their doc_hash; "):
        compare_bench([BenchRun("base", {"arc": a}), BenchRun("tuned", {"arc": b})], n_resamples=R)


def test_estimates_match_the_statistics_engine_metric_by_metric() -> None:
    # All of a task's metrics share one bootstrap pass; each must equal stats.estimate of it alone.
    import numpy as np

    from tunecheck.stats._metric import SampleStats, estimate

    rng = np.random.default_rng(3)
    acc, f1 = (rng.random(30) < 0.6).astype(float), rng.random(30)
    t = TaskSamples("qa", {str(i): {"acc": acc[i], "f1": f1[i]} for i in range(30)})
    r = compare_bench([BenchRun("base", {"qa": t}), BenchRun("tuned", {"qa": t})], n_resamples=R, seed=7).to_result()
    for name, x in (("acc", acc), ("f1", f1)):
        want = estimate(SampleStats.mean(name, x), n_resamples=R, seed=7)
        got = r.estimate(f"qa/{name}", "base")
        assert got is not None and got.value == pytest.approx(want.value) and got.ci95 == pytest.approx(want.ci95)


def test_the_table_gives_non_unit_metrics_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    # A metric beyond 0-1 (a score out of 10): change 7 - 5 = +2.000, not "+200.0" points.
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    monkeypatch.setattr(rt, "console", console)
    monkeypatch.setattr(rb, "console", console)
    a = TaskSamples("essay", {str(i): {"score": 5.0 + (i % 2)} for i in range(10)})
    b = TaskSamples("essay", {str(i): {"score": 7.0 + (i % 2)} for i in range(10)})
    rb.bench_tables(compare_bench([BenchRun("base", {"essay": a}), BenchRun("tuned", {"essay": b})], n_resamples=R).to_result())
    row = next(line for line in console.export_text().splitlines() if " essay " in line)
    assert "+2.000 [+2.000, +2.000]" in row and "+200" not in row


def test_a_task_only_one_side_ran_is_named_and_the_file_reads_back() -> None:
    a, b = pair("arc", 10, 2, 0)
    extra = TaskSamples("piqa", {"0": {"acc": 1.0}})
    rep = compare_bench([BenchRun("base", {"arc": a, "piqa": extra}), BenchRun("tuned", {"arc": b})], n_resamples=R)
    assert "task piqa: base ran it, tuned did not; not compared" in rep.warnings
    assert [c.extra["unit"] for c in rep.comparisons] == ["arc"]
    from tunecheck.core import Result

    back = Result.from_dict(rep.to_result().to_dict())
    assert back.comparisons[0].tests["mcnemar_p"] == pytest.approx(0.5)  # b10 = 2, b01 = 0: 2 * (1/4)
    assert back.details["tasks"]["arc"]["metric"] == "acc"
