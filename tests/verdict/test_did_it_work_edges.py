"""`did_it_work` edges no other test reaches: bad inputs, several models, an overlap without
overlapping rows, a --general result that does not compare the model, and the notes on results
that gave nothing. The results are typed `core.Result`s built by hand (as in test_did_it_work.py);
overlap's comes from `check_overlap` itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_texts
from tunecheck.core import Comparison, ModelInfo, Result, Signal, Status, Verdict
from tunecheck.errors import ConfigError
from tunecheck.verdict import GENERAL, Given, did_it_work


def _compared(layer: str, verdict: Verdict = Verdict.IMPROVED, model: str = "tuned", metric: str = "accuracy") -> Result:
    # baseline 0.5 -> 0.7, difference 0.2 with CI [0.1, 0.3]
    c = Comparison(metric, "base", model, 30, 0.5, 0.7, 0.2, (0.1, 0.3), 0.01, verdict)
    return Result(layer=layer, models=[ModelInfo("base"), ModelInfo(model)], comparisons=[c])


def test_a_bad_role_and_a_file_that_is_no_result_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^s.json: role 'generic': use task or general$"):
        did_it_work([Given(_compared("score"), "s.json", "generic")])
    with pytest.raises(ConfigError, match=r"^x.json: not a tunecheck result; read the file with tunecheck.load_result$"):
        did_it_work([Given({"comparison": []}, "x.json")])  # type: ignore[arg-type]
    # a bare mapping is named by its position
    with pytest.raises(ConfigError, match=r"^result 2: not a tunecheck result"):
        did_it_work([_compared("score"), {"models": []}])  # type: ignore[list-item]


def test_several_tuned_models_need_a_name() -> None:
    results = [_compared("score", model="a"), _compared("perplexity", model="b", metric="perplexity")]
    with pytest.raises(ConfigError, match=r"^the results cover several models \(a, b\); name one with --model$"):
        did_it_work(results)
    v = did_it_work(results, model="b")
    # b has no score result: its task perplexity decides
    assert (v.model, v.task.verdict, [e.metric for e in v.task.evidence]) == ("b", Verdict.IMPROVED, ["perplexity"])


def test_an_overlap_without_overlapping_rows_adds_no_caveat(tmp_path: Path) -> None:
    from tunecheck.data import load_data
    from tunecheck.hygiene import check_overlap

    write_texts(tmp_path / "train.jsonl", ["owls hunt at night in the quiet woods", "rivers run to the sea"], "t")
    write_texts(tmp_path / "eval.jsonl", ["a completely different sentence about trains and stations"], "e")
    overlap = check_overlap(load_data(tmp_path / "train.jsonl"), load_data(tmp_path / "eval.jsonl")).to_result()
    rows = [overlap.estimate(f"{k}_rows") for k in ("exact", "near", "ngram")]
    assert [e.value if e else None for e in rows] == [0.0, 0.0, 0.0]
    v = did_it_work([Given(_compared("score"), "score.json"), Given(overlap, "overlap.json")])
    assert v.task.caveats == [] and v.notes == []


def test_a_general_result_about_another_model_is_not_measured() -> None:
    general = Given(_compared("perplexity", model="other", metric="perplexity"), "wiki.json", GENERAL)
    v = did_it_work([Given(_compared("score"), "score.json"), general], model="tuned")
    assert not v.general.measured and v.general.verdict == Verdict.INCONCLUSIVE
    assert v.general.summary == "not measured: no result compares this model"


def test_results_that_give_nothing_are_noted() -> None:
    other_gap = Result(layer="overfit", models=[ModelInfo("other", {}, {"level": "none", "message": "no overfitting detected"})],
                       signals=[Signal("loss gap", Status.HEALTHY, "no overfitting detected", None, True, "other")])
    v = did_it_work([Given(_compared("score"), "score.json"), Given(other_gap, "gap.json"), Given(Result(layer="generate"), "gen.json")],
                    model="tuned")
    assert v.notes == ["gap.json: the overfit result gave no signal for tuned (it judges other)",
                       "gen.json: a generate result is not read by the verdict"]
    assert v.overfitting.signals == []


def test_the_task_is_not_measured_without_score_or_task_perplexity() -> None:
    general = Given(_compared("perplexity", metric="perplexity"), "wiki.json", GENERAL)
    v = did_it_work([general])
    assert not v.task.measured and v.task.verdict == Verdict.INCONCLUSIVE
    assert v.task.summary == "not measured: give a `tunecheck score --out` result"
    assert v.general.measured and v.general.verdict == Verdict.IMPROVED
