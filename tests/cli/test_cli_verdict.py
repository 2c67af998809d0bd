"""`tunecheck verdict` as a user runs it: results files in (read with `load_result`), three
answers out as a `verdict` Result, and the inputs it refuses (an unknown --model, the same
result twice, a file that is no result, a newer schema) as one line, exit 2. The input files
are typed Results written by hand, as the results schema has them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli_errors import one_error_line, tunecheck
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

CLOSED = "the references take only 3 values ('negative', 'neutral', 'positive'): a closed label set"


def _models() -> list[ModelInfo]:
    return [ModelInfo("base", {"spec": "org/base"}), ModelInfo("tuned", {"spec": "out/adapter"})]


def _write(tmp_path: Path) -> None:
    score = Result(layer="score", models=_models(), comparisons=[
        Comparison("accuracy", "base", "tuned", 30, 0.0, 1.0, 1.0, (1.0, 1.0), 0.0001, Verdict.IMPROVED, p_value_holm=0.0002)])
    ppl = Result(layer="perplexity", data=[DataInfo("wiki.jsonl", "cd" * 32, 12, "eval", {"shape": "text"})], models=_models(),
                 comparisons=[Comparison("perplexity", "base", "tuned", 12, 30.0, 33.0, 3.0, (1.0, 5.0), 0.01, Verdict.REGRESSED,
                                         higher_is_better=False, extra={"improvement_pct": -10.0})])
    na = [Result(layer=layer, models=_models(), signals=[Signal(name, Status.NOT_APPLICABLE, f"{name}: numbers", CLOSED, True, "tuned")])
          for layer, name in (("diversity", "output diversity"), ("copying", "verbatim copying"))]
    for name, r in (("score.json", score), ("ppl.json", ppl), ("div.json", na[0]), ("copy.json", na[1])):
        write_json(tmp_path / name, r.to_dict())


def test_score_perplexity_and_label_answers(tmp_path: Path) -> None:
    _write(tmp_path)
    run = tunecheck(tmp_path, "verdict", "score.json", "div.json", "copy.json", "--general", "ppl.json", "--format", "json", "--out", "v.json")
    assert run.returncode == 0, run.stderr
    v = json.loads(run.stdout)
    assert_valid_result(v)
    assert json.loads((tmp_path / "v.json").read_text()) == v
    back = load_result(tmp_path / "v.json")
    assert back.layer == "verdict" and back.model_names() == ["tuned", "base"]
    d = back.details
    assert d["task"]["verdict"] == "improved"
    assert [(e["metric"], e["baseline_value"], e["value"]) for e in d["task"]["evidence"]] == [("accuracy", 0.0, 1.0)]
    # general ability: the perplexity file given with --general, with its own comparison's verdict
    assert d["general"]["measured"] and d["general"]["verdict"] == "regressed"
    # one-word label answers: neither diversity nor copying applies, so the verdict is not "overfitting"
    assert [(s.name, s.status) for s in back.signals] == [("output diversity", Status.NOT_APPLICABLE), ("verbatim copying", Status.NOT_APPLICABLE)]
    assert d["overfitting"]["status"] == "inconclusive" and back.warnings == []
    assert [i["role"] for i in d["inputs"]] == ["task", "task", "task", "general"]
    table = tunecheck(tmp_path, "verdict", "score.json", "div.json", "copy.json", "--general", "ppl.json")
    assert table.returncode == 0, table.stderr
    assert "Did the fine-tune work? tuned against base" in table.stdout
    lines = [" ".join(line.split()) for line in table.stdout.splitlines()]
    assert "task improved task metrics: accuracy improved (1 of 1 metrics), none regressed" in lines
    assert "general ability regressed perplexity on general text: perplexity regressed (1 of 1 metrics), none improved" in lines
    assert any(line.startswith("overfitting inconclusive none of the 2 signals applies") for line in lines)
    assert "closed label set" in table.stdout


def test_unknown_model_duplicates_and_no_files_are_one_line(tmp_path: Path) -> None:
    _write(tmp_path)
    assert one_error_line(tunecheck(tmp_path, "verdict", "score.json", "--model", "tunned")) == (
        "error: --model 'tunned' is in no result; the results judge: tuned"
    )
    assert one_error_line(tunecheck(tmp_path, "verdict", "score.json", "./score.json")) == (
        "error: ./score.json holds the same result as score.json; each result counts once, so pass it once"
    )
    assert "give result files" in one_error_line(tunecheck(tmp_path, "verdict"))


def test_files_that_are_no_result_or_from_a_newer_schema_are_one_line(tmp_path: Path) -> None:
    _write(tmp_path)
    (tmp_path / "old.json").write_text(json.dumps({"layer": "score", "comparison": []}))
    assert one_error_line(tunecheck(tmp_path, "verdict", "old.json")) == (
        "error: old.json: a score result from an older tunecheck (no schema_version); run `tunecheck score` again with --out "
        "to write it in the current format"
    )
    (tmp_path / "notes.json").write_text(json.dumps({"title": "my notes"}))
    assert one_error_line(tunecheck(tmp_path, "verdict", "notes.json")) == (
        "error: notes.json: not a tunecheck results file (no schema_version); give a results file that a tunecheck command wrote with --out or --json"
    )
    newer = {**json.loads((tmp_path / "score.json").read_text()), "schema_version": 99, "tunecheck_version": "9.0"}
    (tmp_path / "new.json").write_text(json.dumps(newer))
    assert one_error_line(tunecheck(tmp_path, "verdict", "new.json")) == (
        "error: new.json: written by tunecheck 9.0 with results schema 99, but this tunecheck reads schema 1 and older; "
        "upgrade it (pip install -U tunecheck)"
    )
