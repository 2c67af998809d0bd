"""`did_it_work`: three answers (task, general ability, overfitting) from every layer's results,
fed real reports' `to_dict()` from the tiny fixtures, and hand-written payloads for the edges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HELDOUT, MEMBERS, write_texts
from tests.overfitting.sentiment import write_predictions
from tunecheck import _io
from tunecheck.core import Verdict
from tunecheck.errors import ConfigError
from tunecheck.overfitting import Status, compare_diversity
from tunecheck.scoring import ScoreConfig, score_predictions
from tunecheck.verdict import GENERAL, Result, did_it_work


def _score(tmp_path: Path) -> dict[str, Any]:
    f = write_predictions(tmp_path)
    return _io.clean(score_predictions([f["base"], f["tuned"]], ScoreConfig("classification", n_resamples=1000)).to_dict())


def _compared(layer: str, *rows: tuple[str, str], model: str = "tuned") -> dict[str, Any]:
    return {"layer": layer, "comparison": [{"baseline": "base", "model": model, "metric": m, "baseline_value": 1.0, "value": 1.0,
                                            "ci95": [-0.1, 0.1], "verdict": v} for m, v in rows]}


def test_score_and_perplexity_results_are_used(tmp_path: Path, memorised: dict[str, Path]) -> None:
    from tunecheck.perplexity import PerplexityConfig, evaluate_perplexity

    score = _score(tmp_path)
    models = [f"{memorised['base']},name=base", f"{memorised['tuned']},name=tuned"]
    task_ppl = _io.clean(evaluate_perplexity(models, write_texts(tmp_path / "members.jsonl", MEMBERS, "m"), PerplexityConfig(n_resamples=1000)).to_dict())
    general = _io.clean(evaluate_perplexity(models, write_texts(tmp_path / "held.jsonl", HELDOUT, "h"), PerplexityConfig(n_resamples=1000)).to_dict())
    v = did_it_work([Result(score, "score.json"), Result(task_ppl, "ppl_task.json"), Result(general, "ppl_general.json", GENERAL)])
    assert v.model == "tuned" and v.baseline == "base"
    # the base's answers hold no label word (all unparsed, so wrong); the tuned model answers each of
    # the 30 with its label: accuracy 0 -> 1
    acc = next(e for e in v.task.evidence if e.metric == "accuracy")
    assert (acc.baseline_value, acc.value, acc.verdict, acc.source) == (0.0, 1.0, "improved", "score.json")
    assert v.task.verdict == Verdict.IMPROVED and v.task.measured
    # perplexity on the task's data is shown beside the score, not deciding while a score is there
    [ppl] = [e for e in v.task.evidence if e.source == "ppl_task.json"]
    assert not ppl.deciding and ppl.verdict == "improved"  # the tuned model memorised these very texts
    # general ability is read from the --general result, with its own comparison's verdict
    [gen] = general["comparison"]
    assert v.general.measured and [(e.metric, e.verdict) for e in v.general.evidence] == [(gen["metric"], gen["verdict"])]
    assert v.general.verdict == Verdict(gen["verdict"])
    # nothing was dropped; plain-text perplexity not marked general gets the hint
    assert v.notes == ["ppl_task.json: perplexity on plain text, read as the task's data; if it is general text, pass it with --general"]
    assert v.overfitting.summary == "no overfitting check was measured for this model"


def test_task_perplexity_decides_when_there_is_no_score_and_mixed_metrics_are_inconclusive() -> None:
    ppl = {**_compared("perplexity", ("perplexity", "improved")), "data": {"shape": "prompt_response"}, "config": {"completion_only": True}}
    v = did_it_work([ppl])
    assert v.task.verdict == Verdict.IMPROVED
    assert v.task.summary == "perplexity on the task data (no score result given): perplexity improved (1 of 1 metrics), none regressed"
    mixed = did_it_work([_compared("score", ("accuracy", "improved"), ("macro_f1", "regressed"))])
    assert mixed.task.verdict == Verdict.INCONCLUSIVE and mixed.task.summary == "mixed: accuracy improved but macro_f1 regressed"
    nothing = did_it_work([_compared("score", ("accuracy", "inconclusive"))])
    assert nothing.task.verdict == Verdict.INCONCLUSIVE and nothing.task.measured
    assert nothing.general.summary == "not measured: give perplexity on general text with --general FILE" and not nothing.general.measured


def test_general_ability_regressed_and_plain_text_perplexity_gets_a_hint() -> None:
    rose = {**_compared("perplexity", ("perplexity", "regressed")), "data": {"shape": "text"}, "config": {"completion_only": False}}
    v = did_it_work([_compared("score", ("accuracy", "improved")), Result(rose, "wiki.json", GENERAL)])
    assert (v.task.verdict, v.general.verdict) == (Verdict.IMPROVED, Verdict.REGRESSED)
    # the same file without the role is task data, with a note saying how to mark it general
    hinted = did_it_work([Result(rose, "wiki.json")])
    assert hinted.notes == ["wiki.json: perplexity on plain text, read as the task's data; if it is general text, pass it with --general"]
    with pytest.raises(ConfigError, match=r"s.json: --general takes perplexity results on general text, not a score result"):
        did_it_work([Result(_compared("score", ("accuracy", "improved")), "s.json", GENERAL)])


def test_the_classification_case_end_to_end(tmp_path: Path) -> None:
    f = write_predictions(tmp_path)
    score = _score(tmp_path)
    div = _io.clean(compare_diversity([f["base"], f["tuned"]], n_resamples=1000).to_dict())
    v = did_it_work([Result(score, "score.json"), Result(div, "div.json")])
    assert v.task.verdict == Verdict.IMPROVED
    # distinct-1 fell, as a classifier's should: not applicable, so not "overfitting"
    assert [(s.name, s.status) for s in v.overfitting.signals] == [("output diversity", Status.NOT_APPLICABLE)]
    assert v.overfitting.status == Status.INCONCLUSIVE
    d = v.to_dict()
    assert d["layer"] == "verdict" and d["overfitting"]["signals"][0]["reason"].startswith("the references take only 3 values")
    assert [line[:2] for line in v.lines()] == [("task", "improved"), ("general ability", "inconclusive"), ("overfitting", "inconclusive")]


def test_unknown_model_and_the_baseline_are_refused(tmp_path: Path) -> None:
    score = _score(tmp_path)
    with pytest.raises(ConfigError, match=r"^--model 'nobody' is in no result; the results judge: tuned$"):
        did_it_work([score], model="nobody")
    with pytest.raises(ConfigError, match=r"^--model 'base' is only a baseline in these results; the results judge: tuned$"):
        did_it_work([score], model="base")
    assert did_it_work([score], model="tuned").task.verdict == Verdict.IMPROVED


def test_a_result_given_twice_is_refused(tmp_path: Path) -> None:
    score = _score(tmp_path)
    with pytest.raises(ConfigError, match=r"^score.json is given twice; each result counts once, so pass it once$"):
        did_it_work([Result(score, "score.json"), Result(score, "score.json")])
    with pytest.raises(ConfigError, match=r"^copy.json holds the same result as score.json"):
        did_it_work([Result(score, "score.json"), Result(dict(score), "copy.json")])


def test_overlap_adds_a_caveat_to_the_task(tmp_path: Path) -> None:
    from tunecheck.data import load_data
    from tunecheck.hygiene import check_overlap

    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho"
    write_texts(tmp_path / "train.jsonl", [text, "owls hunt at night in the quiet woods"], "t")
    write_texts(tmp_path / "eval.jsonl", [text, "nothing shared with the training data here at all"], "e")
    overlap = _io.clean(check_overlap(load_data(tmp_path / "train.jsonl"), load_data(tmp_path / "eval.jsonl")).to_dict())
    v = did_it_work([Result(_compared("score", ("accuracy", "improved")), "score.json"), Result(overlap, "overlap.json")])
    # e0 is t0: an exact duplicate, so also near and 13-gram overlap
    assert v.task.caveats == ["overlap.json: eval rows overlap the training data (exact 1, near 1, ngram 1 of 2 rows): the task score may be inflated"]
