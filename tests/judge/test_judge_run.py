"""`judge_predictions` as a notebook calls it: a local Hugging Face judge on the log-probability
path, several judges with repeats and rubric wordings, people's ratings, the leaderboard, and
the demo's judge step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.generation._server import serve
from tests.judge import _judges as J
from tests.judge.test_geval import scripted
from tunecheck.judge import JudgeCache, JudgeConfig, judge_predictions, make_judge
from tunecheck.models import ChatReply
from tunecheck.models._hf import HFModel
from tunecheck.models._openai import OpenAIModel, ServerOptions


def _preds(path: Path, outputs: list[str], name: str) -> str:
    rows = [{"id": f"q{i}", "output": o, "model": name, "prompt": f"Question {i}?", "reference": f"ref {i}"}
            for i, o in enumerate(outputs)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_a_local_hf_judge_gives_the_probability_weighted_score(tokenizer: Any, tmp_path: Path) -> None:
    from tunecheck.demo import tiny_llama

    tiny_model = tiny_llama(tokenizer, hidden=16, layers=1, heads=2, context=2048, seed=0)  # room for the rubric prompt
    hf = HFModel(tiny_model, tokenizer, "scripted", "cpu")
    reply_text = '{"accuracy": {"justification": "ok", "score": 4}}'
    pieces = [tokenizer.decode([t]) for t in tokenizer(reply_text, add_special_tokens=False)["input_ids"]]
    at = {pieces.index("4"): {"4": 0.6, "5": 0.3, "3": 0.1}}

    def chat(messages: Any, params: Any) -> ChatReply:  # the scripted reply, again for every call
        handle = scripted(tiny_model, tokenizer, reply_text, at)
        try:
            return hf.chat(messages, params)
        finally:
            handle.remove()

    rubric = tmp_path / "r.json"
    rubric.write_text(json.dumps({"name": "acc", "criteria": [{"name": "accuracy", "description": "right?", "low": 1, "high": 5}]}))
    a, b = _preds(tmp_path / "a.jsonl", ["x", "y", "z"], "a"), _preds(tmp_path / "b.jsonl", ["xx", "yy", "zz"], "b")
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        judge = make_judge("hf", hf.identity(), chat, cache)
        report = judge_predictions([a, b], [judge], JudgeConfig(rubric=str(rubric), max_tokens=60, n_resamples=1000,
                                                                 concurrency=1))  # one hook at a time on the shared model
    r = report.to_result()
    assert r.value("accuracy", "a") == 4.0 and r.value("accuracy", "b") == 4.0
    # 4 x .6 + 5 x .3 + 3 x .1 = 4.2, read from the HF backend's log-probabilities
    assert r.value("accuracy (weighted)", "a") == pytest.approx(4.2, abs=1e-5)
    assert r.details["judges"][0]["requests"] == 6


def _server_judge(url: str, name: str, cache: JudgeCache) -> Any:
    model = OpenAIModel(name, name=name, server=ServerOptions(base_url=url, retries=1, timeout=10))
    return make_judge(model.name, model.identity(), model.chat, cache)


def test_two_judges_repeats_wordings_and_people(tmp_path: Path) -> None:
    n = 10
    a = _preds(tmp_path / "a.jsonl", ["answer: 2"] * n, "base")
    b = _preds(tmp_path / "b.jsonl", ["answer: 4" if i % 2 else "answer: 3" for i in range(n)], "tuned")
    human = tmp_path / "h.csv"
    # two people who agree with the number-reading judge on accuracy
    human.write_text("id,model,criterion,score,annotator\n" + "".join(
        f"q{i},{m},accuracy,{s},{p}\n" for i in range(n) for m, s in (("base", 2), ("tuned", 4 if i % 2 else 3)) for p in ("ann", "bob")))
    with serve(responder=J.rubric_judge(J.number_in_answer), model="j1") as (u1, _), \
         serve(responder=J.rubric_judge(J.by_length(1)), model="j2") as (u2, _), JudgeCache(tmp_path / "c.sqlite") as cache:
        judges = [_server_judge(u1, "j1", cache), _server_judge(u2, "j2", cache)]
        config = JudgeConfig(repeats=2, rubric_variants=2, logprobs=False, n_resamples=1000)
        report = judge_predictions([a, b], judges, config, human=str(human))
    rel = report.to_result().details["reliability"]
    # scripted judges are deterministic: nothing changes between repeats
    assert rel["repeats"]["per_judge"]["j1"]["accuracy"]["changed"] == 0.0
    assert set(rel["judges"]) == {"accuracy", "relevance", "fluency", "format"}
    assert rel["rubric_variants"]["variants"] == ["quality-5", "quality-5~v2"]
    assert rel["human"]["j1"]["criteria"][0]["criterion"] == "accuracy"
    assert report.to_result().config["temperature"] == 0.7  # --repeats turns sampling on
    assert len(report.judgments) == 2 * 2 * 2 * 2 * n  # judges x wordings x repeats x models x samples


def test_three_models_all_pairs_give_a_leaderboard(tmp_path: Path) -> None:
    n = 10
    files = [_preds(tmp_path / f"{m}.jsonl", [f"{'GOOD ' * k}answer {i}" for i in range(n)], m)
             for m, k in (("base", 0), ("mid", 1), ("best", 2))]
    with serve(responder=J.longer_answer()) as (url, _), JudgeCache(tmp_path / "c.sqlite") as cache:
        report = judge_predictions(files, [_server_judge(url, "tiny", cache)],
                                   JudgeConfig(mode="pairwise", pairs="all", n_resamples=1000))
    d = report.to_result().details
    assert [r["model"] for r in d["leaderboard"]] == ["best", "mid", "base"]
    assert len(d["pairwise"]) == 3 and "leaderboard_length_controlled" in d


def test_the_demo_step_runs_with_a_judge_and_says_how_without(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from tunecheck._progress import LineProgress
    from tunecheck.demo._judge_step import ENV, HINT, judge_sections

    preds = {"base": Path(_preds(tmp_path / "b.jsonl", ["x"] * 4, "base")), "tuned": Path(_preds(tmp_path / "t.jsonl", ["GOOD"] * 4, "tuned"))}
    monkeypatch.delenv(ENV, raising=False)
    console = Console(record=True, width=300)
    [(_, show, key)] = judge_sections({}, preds, None, tmp_path, LineProgress(), console, json_output=False)
    show(None)
    assert HINT in console.export_text().replace("\n", " ") and key == "verdict"
    results: dict[str, Any] = {}
    with serve(responder=J.prefers_marked()) as (url, log):
        monkeypatch.setenv(ENV, f"openai:tiny,base_url={url}")
        [(_, _, key)] = judge_sections(results, preds, None, tmp_path, LineProgress(), console, json_output=False)
    assert key == "judge" and results["judge"].details["pairwise"][0]["wins"] == 4
    assert (tmp_path / "judge-cache.sqlite").is_file() and len(log.requests) == 8


def test_pairwise_two_judges_and_people(tmp_path: Path) -> None:
    n = 12
    a = _preds(tmp_path / "a.jsonl", [f"plain {i}" for i in range(n)], "base")
    b = _preds(tmp_path / "b.jsonl", [f"GOOD {i}" if i % 2 else f"plain {i}!" for i in range(n)], "tuned")
    human = tmp_path / "h.csv"
    # two people: tuned wins where marked, a tie elsewhere (as the marked-answer judge says)
    human.write_text("id,model_a,model_b,choice,annotator\n" + "".join(
        f"q{i},base,tuned,{'tuned' if i % 2 else 'tie'},{p}\n" for i in range(n) for p in ("ann", "bob")))
    with serve(responder=J.prefers_marked(), model="fair") as (u1, _), \
         serve(responder=J.first_position(), model="biased") as (u2, _), JudgeCache(tmp_path / "c.sqlite") as cache:
        judges = [_server_judge(u1, "fair", cache), _server_judge(u2, "biased", cache)]
        report = judge_predictions([a, b], judges, JudgeConfig(mode="pairwise", n_resamples=1000), human=str(human))
    d = report.to_result().details
    rel = d["reliability"]
    # the fair judge's 6 wins and 6 ties against the biased judge's 12 order flips (ties): they
    # agree on the 6 ties only
    [pair] = rel["judges"]["pairs"]
    assert pair["judges"] == ["fair", "biased"] and pair["n"] == n and pair["agreement"] == pytest.approx(0.5)
    assert rel["human"]["fair"]["judge_vs_people"]["rate"] == pytest.approx(1.0)
    assert rel["human"]["biased"]["judge_vs_people"]["rate"] == pytest.approx(0.5)
    by_judge = {r["judge"]: r for r in d["per_judge"]}
    assert by_judge["fair"]["wins"] == 6 and by_judge["biased"]["position_consistency"] == 0.0
    # pooled: the sign of the sum of the two judges' outcomes per sample: +1 + 0 on the marked
    assert d["pairwise"][0]["wins"] == 6
