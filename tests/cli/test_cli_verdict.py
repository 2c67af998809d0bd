"""`tunecheck verdict` as a user runs it: every command's --out file in, three answers out, and
the inputs it refuses (an unknown --model, the same result twice) as one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli_errors import one_error_line, tunecheck
from tests.conftest import CORPUS, write_texts
from tests.overfitting.sentiment import write_predictions


@pytest.mark.xfail(strict=True, reason="issue 10 in flight: score/diversity/copying --out files are Results now; verdict/ reads them once helper C's conversion lands (then remove this marker)")
def test_score_perplexity_and_label_answers(tmp_path: Path, model_dirs: dict[str, Path]) -> None:
    f = write_predictions(tmp_path)
    preds = ["--preds", f["base"], "--preds", f["tuned"], "--n-resamples", "1000"]
    for args in (["score", "--task", "classification", *preds, "--out", "score.json"],
                 ["diversity", *preds, "--out", "div.json"],
                 ["memorisation", "copying", *preds, "--train", f["train"], "--out", "copy.json"],
                 ["perplexity", "-m", f"{model_dirs['base']},name=base", "-m", f"{model_dirs['other']},name=tuned",
                  "--data", str(write_texts(tmp_path / "wiki.jsonl", CORPUS[:12], "w")), "--n-resamples", "1000", "--out", "ppl.json"]):
        run = tunecheck(tmp_path, *args, "--format", "json")
        assert run.returncode == 0, run.stderr
    run = tunecheck(tmp_path, "verdict", "score.json", "div.json", "copy.json", "--general", "ppl.json", "--format", "json", "--out", "v.json")
    assert run.returncode == 0, run.stderr
    v = json.loads(run.stdout)
    assert json.loads((tmp_path / "v.json").read_text()) == v
    # the task: accuracy 0 -> 1 (the base never names a label, the tuned model always the right one)
    assert v["task"]["verdict"] == "improved"
    assert any(e["metric"] == "accuracy" and (e["baseline_value"], e["value"]) == (0.0, 1.0) for e in v["task"]["evidence"])
    # general ability: the perplexity file given with --general is used, with its own comparison's verdict
    ppl = json.loads((tmp_path / "ppl.json").read_text())
    assert v["general"]["measured"] and v["general"]["verdict"] == ppl["comparison"][0]["verdict"]
    # one-word label answers: neither diversity nor copying applies, so the verdict is not "overfitting"
    assert [(s["signal"], s["status"]) for s in v["overfitting"]["signals"]] == [("output diversity", "not applicable"), ("verbatim copying", "not applicable")]
    assert v["overfitting"]["status"] == "inconclusive" and v["notes"] == []
    assert [i["role"] for i in v["inputs"]] == ["task", "task", "task", "general"]
    table = tunecheck(tmp_path, "verdict", "score.json", "div.json", "copy.json", "--general", "ppl.json")
    assert table.returncode == 0, table.stderr
    assert "Did the fine-tune work? tuned against base" in table.stdout
    lines = [" ".join(line.split()) for line in table.stdout.splitlines()]
    assert any(line.startswith("task improved task metrics:") for line in lines)
    assert any(line.startswith("overfitting inconclusive none of the 2 signals applies") for line in lines)
    assert "closed label set" in table.stdout


@pytest.mark.xfail(strict=True, reason="issue 10 in flight: score/diversity/copying --out files are Results now; verdict/ reads them once helper C's conversion lands (then remove this marker)")
def test_unknown_model_duplicates_and_no_files_are_one_line(tmp_path: Path) -> None:
    f = write_predictions(tmp_path)
    score = tunecheck(tmp_path, "score", "--task", "classification", "--preds", f["base"], "--preds", f["tuned"],
                      "--n-resamples", "1000", "--out", "score.json", "--format", "json")
    assert score.returncode == 0, score.stderr
    assert one_error_line(tunecheck(tmp_path, "verdict", "score.json", "--model", "tunned")) == (
        "error: --model 'tunned' is in no result; the results judge: tuned"
    )
    assert one_error_line(tunecheck(tmp_path, "verdict", "score.json", "./score.json")) == (
        "error: ./score.json holds the same result as score.json; each result counts once, so pass it once"
    )
    assert "give result files" in one_error_line(tunecheck(tmp_path, "verdict"))
