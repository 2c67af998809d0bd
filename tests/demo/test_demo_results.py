"""How the demos build and read results: typed Results in, a ResultSet written to results.json
(valid against the schema, read back by `load_results`), the headline rows and the verdict read
from typed fields. The layers' Results are built by hand here; the whole demo runs in
test_real_demo."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from tests.schema import assert_valid_result
from tunecheck.core import (
    Comparison,
    DataInfo,
    ModelInfo,
    Result,
    Signal,
    Status,
    Verdict,
    load_results,
)
from tunecheck.demo._run import did_it_work, finish, verdict_rows
from tunecheck.overfitting import RUN, combine


def _ppl(verdict: Verdict, base: float, value: float, shape: str) -> Result:
    c = Comparison("perplexity", "base", "tuned", 80, base, value, value - base, (-1.0, -0.5), 0.0002, verdict,
                   higher_is_better=False, p_value_holm=0.0002, extra={"improvement_pct": (1 - value / base) * 100})
    return Result(layer="perplexity", data=[DataInfo("d.jsonl", "ab" * 32, 80, "eval", {"shape": shape})],
                  models=[ModelInfo("base"), ModelInfo("tuned")], config={"completion_only": shape != "text"}, comparisons=[c])


def _results() -> dict[str, Result]:
    em = Comparison("exact_match", "base", "tuned", 80, 0.0, 0.39, 0.39, (0.24, 0.54), 0.0001, Verdict.IMPROVED, p_value_holm=0.0002)
    gap = Signal("loss gap", Status.HEALTHY, "validation - train loss = 0.110 nats/token (CI [+0.05, +0.17])", None, True, "tuned")
    copy = Signal("verbatim copying", Status.INCONCLUSIVE, "copy_rate 0.89 -> 0.30", "the CIs do not rule out a harm beyond the margin", True, "tuned")
    curves = Signal("training curves", Status.HEALTHY, "use the final checkpoint", None, True, RUN)
    results = {
        "perplexity_responses": _ppl(Verdict.IMPROVED, 10.9, 1.5, "alpaca"),
        "perplexity_heldout_text": _ppl(Verdict.REGRESSED, 1.83, 2.11, "text"),
        "task_qa": Result(layer="score", models=[ModelInfo("base"), ModelInfo("tuned")], comparisons=[em]),
        "overfit": Result(layer="overfit", models=[ModelInfo("tuned", details={"level": "none"})], signals=[gap]),
        "curves": Result(layer="curves", signals=[curves]),
        "copying": Result(layer="copying", signals=[copy]),
    }
    results["overfitting"] = combine("tuned", [gap, curves, copy]).to_result()
    return results


def test_headline_rows_and_verdict_read_typed_results(tmp_path: Path) -> None:
    results = _results()
    rows = verdict_rows(results)
    # 1 - 1.5 / 10.9 = 86.2% lower; 1 - 2.11 / 1.83 = -15.3%: 15.3% higher
    assert rows[0] == {"check": "response perplexity (task data)", "model": "tuned", "verdict": "improved",
                       "evidence": "perplexity 10.900 -> 1.500 (86.2% lower), p=0.0002"}
    assert rows[1]["verdict"] == "regressed" and rows[1]["evidence"] == "perplexity 1.830 -> 2.110 (15.3% higher), p=0.0002"
    assert rows[2] == {"check": "task: answer exact match", "model": "tuned", "verdict": "improved",
                       "evidence": "0.000 -> 0.390 (CI of the change [+0.240, +0.540]), p(Holm)=0.0002"}
    # the loss gap in its signal's words, not a comparison's
    assert rows[3] == {"check": "train/eval loss gap", "model": "tuned", "verdict": "healthy",
                       "evidence": "validation - train loss = 0.110 nats/token (CI [+0.05, +0.17])"}
    assert rows[4] == {"check": "overfitting (all signals)", "model": "tuned", "verdict": "inconclusive",
                       "evidence": "no signal shows overfitting, but verbatim copying cannot rule it out"}
    results["verdict"] = did_it_work(results, {"workdir": str(tmp_path)}, rows)
    v = results["verdict"]
    # the held-out prose is the general text; the overfitting result itself is not an input
    assert [(i["source"], i["role"]) for i in v.details["inputs"]] == [
        ("perplexity_responses", "task"), ("perplexity_heldout_text", "general"), ("task_qa", "task"), ("overfit", "task"),
        ("curves", "task"), ("copying", "task")]
    assert (v.details["task"]["verdict"], v.details["general"]["verdict"], v.details["overfitting"]["status"]) == ("improved", "regressed", "inconclusive")
    assert v.details["headline"] == rows and v.details["demo"] == {"workdir": str(tmp_path)}

    console = Console(file=io.StringIO(), width=120)
    written = finish(results, tmp_path, console, True, [])
    payload = json.loads((tmp_path / "results.json").read_text())
    assert_valid_result(payload)
    back = load_results(tmp_path / "results.json")
    assert list(back) == list(written) == [*_results(), "verdict"]
    assert back["verdict"].details == v.details and back["overfitting"].signals == results["overfitting"].signals
