"""`did_it_work`: three answers (task, general ability, overfitting) from typed results. The
other layers' Results are built by hand as the results schema has them (each layer's own
`to_result` is tested beside it); overlap's comes from `check_overlap` itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_texts
from tests.schema import assert_valid_result
from tunecheck._io import write_json
from tunecheck.core import (
    Comparison,
    DataInfo,
    ModelInfo,
    Result,
    Signal,
    Status,
    Verdict,
    load_result,
)
from tunecheck.errors import ConfigError
from tunecheck.overfitting import RUN
from tunecheck.verdict import GENERAL, Given, did_it_work, verdict_from

UP, DOWN, FLAT = Verdict.IMPROVED, Verdict.REGRESSED, Verdict.INCONCLUSIVE


def _c(metric: str, verdict: Verdict, base: float = 1.0, value: float = 1.0, model: str = "tuned", ci: tuple[float, float] = (-0.1, 0.1)) -> Comparison:
    return Comparison(metric, "base", model, 30, base, value, value - base, ci, 0.5, verdict)


def _compared(layer: str, *rows: tuple[str, Verdict], model: str = "tuned", shape: str = "prompt_completion",
              completion_only: bool = True) -> Result:
    return Result(layer=layer, data=[DataInfo("d.jsonl", "ab" * 32, 30, "eval", {"shape": shape})],
                  models=[ModelInfo("base", {"spec": "org/base"}), ModelInfo(model, {"spec": "out/adapter"})],
                  config={"completion_only": completion_only}, comparisons=[_c(m, v, model=model) for m, v in rows])


def _score() -> Result:
    # the base never names a label (accuracy 0), the tuned model always the right one (1)
    return Result(layer="score", models=[ModelInfo("base", {"spec": "org/base"}), ModelInfo("tuned", {"spec": "out/adapter"})],
                  comparisons=[_c("accuracy", UP, 0.0, 1.0, ci=(0.8, 1.0)), _c("macro_f1", UP, 0.0, 1.0, ci=(0.7, 1.0))])


def _signal(layer: str, name: str, status: Status, model: str = "tuned", reason: str | None = None) -> Result:
    return Result(layer=layer, signals=[Signal(name, status, f"{name}: numbers", reason, True, model)])


def test_score_and_perplexity_results_are_used() -> None:
    task_ppl = _compared("perplexity", ("perplexity", UP), shape="text", completion_only=False)
    general = _compared("perplexity", ("perplexity", FLAT), shape="text", completion_only=False)
    v = did_it_work([Given(_score(), "score.json"), Given(task_ppl, "ppl_task.json"), Given(general, "ppl_general.json", GENERAL)])
    assert v.model == "tuned" and v.baseline == "base"
    acc = next(e for e in v.task.evidence if e.metric == "accuracy")
    assert (acc.baseline_value, acc.value, acc.verdict, acc.source, acc.layer) == (0.0, 1.0, UP, "score.json", "score")
    assert v.task.verdict == UP and v.task.measured
    assert v.task.summary == "task metrics: accuracy, macro_f1 improved (2 of 2 metrics), none regressed"
    # perplexity on the task's data is shown beside the score, not deciding while a score is there
    [ppl] = [e for e in v.task.evidence if e.source == "ppl_task.json"]
    assert not ppl.deciding and ppl.line() == "perplexity 1 -> 1 (improved, CI [-0.1, +0.1], context; ppl_task.json)"
    # general ability is read from the --general result, with its own comparison's verdict
    assert v.general.measured and [(e.metric, e.verdict) for e in v.general.evidence] == [("perplexity", FLAT)]
    assert v.general.verdict == FLAT
    # plain-text perplexity not marked general gets the hint
    assert v.notes == ["ppl_task.json: perplexity on plain text, read as the task's data; if it is general text, pass it with --general"]
    assert v.overfitting.summary == "no overfitting check was measured for this model"
    assert v.identities == {"tuned": {"spec": "out/adapter"}, "base": {"spec": "org/base"}}


def test_task_perplexity_decides_when_there_is_no_score_and_mixed_metrics_are_inconclusive() -> None:
    v = did_it_work([_compared("perplexity", ("perplexity", UP))])
    assert v.task.verdict == UP and v.notes == []  # completion-only: task data, no hint
    assert v.task.summary == "perplexity on the task data (no score result given): perplexity improved (1 of 1 metrics), none regressed"
    mixed = did_it_work([_compared("score", ("accuracy", UP), ("macro_f1", DOWN))])
    assert mixed.task.verdict == FLAT and mixed.task.summary == "mixed: accuracy improved but macro_f1 regressed"
    down = did_it_work([_compared("score", ("accuracy", DOWN), ("macro_f1", FLAT))])
    assert down.task.verdict == DOWN and down.task.summary == "task metrics: accuracy regressed (1 of 2 metrics), none improved"
    nothing = did_it_work([_compared("score", ("accuracy", FLAT))])
    assert nothing.task.verdict == FLAT and nothing.task.measured
    assert nothing.task.summary == "task metrics: no metric changed beyond its CI (1 compared)"
    assert nothing.general.summary == "not measured: give perplexity on general text with --general FILE" and not nothing.general.measured


def test_general_ability_regressed_and_only_perplexity_is_general() -> None:
    rose = _compared("perplexity", ("perplexity", DOWN), shape="text", completion_only=False)
    v = did_it_work([_compared("score", ("accuracy", UP)), Given(rose, "wiki.json", GENERAL)])
    assert (v.task.verdict, v.general.verdict) == (UP, DOWN)
    assert v.notes == []  # given as general: no hint
    with pytest.raises(ConfigError, match=r"^s.json: --general takes perplexity results on general text, not a score result$"):
        did_it_work([Given(_compared("score", ("accuracy", UP)), "s.json", GENERAL)])
    other = _compared("perplexity", ("perplexity", DOWN), model="other")
    assert did_it_work([_compared("score", ("accuracy", UP)), Given(other, "o.json", GENERAL)], "tuned").general.summary == (
        "not measured: no result compares this model"
    )


def test_overfitting_signals_and_the_verdict_as_a_result(tmp_path: Path) -> None:
    labels = "the references take only 3 values: a closed label set"
    div = _signal("diversity", "output diversity", Status.NOT_APPLICABLE, reason=labels)
    curves = _signal("curves", "training curves", Status.HEALTHY, RUN)
    v = did_it_work([Given(_score(), "score.json"), Given(div, "div.json"), Given(curves, "curves.json")])
    # a closed label set: diversity does not apply; the run's curves count for the tuned model
    assert [(s.name, s.status) for s in v.overfitting.signals] == [("output diversity", Status.NOT_APPLICABLE), ("training curves", Status.HEALTHY)]
    assert v.overfitting.status == Status.HEALTHY
    assert [line[:2] for line in v.lines()] == [("task", "improved"), ("general ability", "inconclusive"), ("overfitting", "healthy")]
    r = v.to_result()
    assert_valid_result(r.to_dict())
    assert r.layer == "verdict" and [(m.name, m.identity, m.details) for m in r.models] == [
        ("tuned", {"spec": "out/adapter"}, {"role": "tuned"}), ("base", {"spec": "org/base"}, {"role": "baseline"})]
    assert r.signals == v.overfitting.signals
    assert r.details["overfitting"] == {"status": "healthy", "summary": "no sign of overfitting in any of 1 applicable signals; not applicable: output diversity"}
    assert r.details["task"]["verdict"] == "improved" and r.details["task"]["evidence"][0]["text"] == (
        "accuracy 0 -> 1 (improved, CI [+0.8, +1]; score.json)")
    assert r.details["inputs"] == [{"source": "score.json", "layer": "score", "role": "task"}, {"source": "div.json", "layer": "diversity", "role": "task"},
                                   {"source": "curves.json", "layer": "curves", "role": "task"}]
    write_json(tmp_path / "v.json", r.to_dict())
    back = load_result(tmp_path / "v.json")
    assert back.details == r.details and back.signals == r.signals and back.models == r.models


def test_results_that_say_nothing_about_the_model_are_noted() -> None:
    gap = _signal("overfit", "loss gap", Status.OVERFITTING, model="other")
    split = Result(layer="split")
    v = did_it_work([Given(_score(), "score.json"), Given(gap, "gap.json"), Given(split, "split.json")], "tuned")
    assert v.overfitting.signals == []
    assert v.notes == ["gap.json: the overfit result gave no signal for tuned (it judges other)", "split.json: a split result is not read by the verdict"]
    assert v.to_result().warnings == v.notes


def test_unknown_model_and_the_baseline_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^--model 'nobody' is in no result; the results judge: tuned$"):
        did_it_work([_score()], model="nobody")
    with pytest.raises(ConfigError, match=r"^--model 'base' is only a baseline in these results; the results judge: tuned$"):
        did_it_work([_score()], model="base")
    with pytest.raises(ConfigError, match=r"several models \(other, tuned\); name one with --model"):
        did_it_work([_score(), _compared("score", ("accuracy", UP), model="other")])
    assert did_it_work([_score()], model="tuned").task.verdict == UP


def test_a_result_given_twice_is_refused() -> None:
    score = _score()
    with pytest.raises(ConfigError, match=r"^score.json is given twice; each result counts once, so pass it once$"):
        did_it_work([Given(score, "score.json"), Given(score, "score.json")])
    with pytest.raises(ConfigError, match=r"^copy.json holds the same result as score.json"):
        did_it_work([Given(score, "score.json"), Given(Result.from_dict(score.to_dict()), "copy.json")])


def test_overlap_adds_a_caveat_to_the_task(tmp_path: Path) -> None:
    from tunecheck.data import load_data
    from tunecheck.hygiene import check_overlap

    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho"
    write_texts(tmp_path / "train.jsonl", [text, "owls hunt at night in the quiet woods"], "t")
    write_texts(tmp_path / "eval.jsonl", [text, "nothing shared with the training data here at all"], "e")
    overlap = check_overlap(load_data(tmp_path / "train.jsonl"), load_data(tmp_path / "eval.jsonl")).to_result()
    v = did_it_work([Given(_compared("score", ("accuracy", UP)), "score.json"), Given(overlap, "overlap.json")])
    # e0 is t0: an exact duplicate, so also near and 13-gram overlap
    assert v.task.caveats == ["overlap.json: eval rows overlap the training data (exact 1, near 1, ngram 1 of 2 rows): the task score may be inflated"]
    assert v.notes == []
    write_texts(tmp_path / "fresh.jsonl", ["nothing shared with the training data here at all"], "f")
    fresh = check_overlap(load_data(tmp_path / "train.jsonl"), load_data(tmp_path / "fresh.jsonl")).to_result()
    assert did_it_work([_compared("score", ("accuracy", UP)), fresh]).task.caveats == []


def test_an_untyped_payload_is_refused_with_the_way_to_read_it() -> None:
    # the old JSON dicts are not read any more: a file goes through load_result first
    with pytest.raises(ConfigError, match=r"^result 1: not a tunecheck result; read the file with tunecheck.load_result$"):
        did_it_work([{"layer": "score", "comparison": []}])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match=r"^x.json: role 'generel': use task or general$"):
        did_it_work([Given(_score(), "x.json", "generel")])


def test_verdict_from_files_and_results(tmp_path: Path) -> None:
    from tunecheck.errors import DataError

    write_json(tmp_path / "score.json", _score().to_dict())
    rose = _compared("perplexity", ("perplexity", DOWN), shape="text", completion_only=False)
    r = verdict_from([tmp_path / "score.json"], [rose])
    assert r.layer == "verdict" and (r.details["task"]["verdict"], r.details["general"]["verdict"]) == ("improved", "regressed")
    assert r.details["inputs"] == [{"source": str(tmp_path / "score.json"), "layer": "score", "role": "task"},
                                   {"source": "result 2", "layer": "perplexity", "role": "general"}]
    (tmp_path / "old.json").write_text('{"layer": "score", "comparison": []}')
    with pytest.raises(DataError, match=r"old.json: a score result from an older tunecheck \(no schema_version\); run `tunecheck score` again"):
        verdict_from([tmp_path / "old.json"])
