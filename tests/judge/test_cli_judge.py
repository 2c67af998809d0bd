"""`tunecheck judge` end to end: the CLI against a real OpenAI-compatible server on 127.0.0.1
whose scripted judges read our prompts; JSON output, the judgments file, a SIGKILLed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import tunecheck
from tests.cli.test_bad_inputs import run_cli
from tests.generation._server import Step, serve
from tests.judge import _judges as J
from tests.schema import assert_valid_result
from tunecheck.core import Result
from tunecheck.judge import JudgeCache

N = 30
DISTINCT = 2 * N - 10
"""Rubric calls of a run over base and tuned: on 10 questions their answers are the same text,
so the same prompt, asked once."""


def _preds(path: Path, outputs: list[str], name: str) -> str:
    rows = [{"id": f"q{i}", "output": o, "model": name, "prompt": [{"role": "user", "content": f"Question {i}?"}]}
            for i, o in enumerate(outputs)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "200")
    # the tuned model's answer is better (marked GOOD, and says 4) on 2 of 3 questions
    base = _preds(tmp_path / "base.jsonl", ["answer: 2"] * N, "base")
    tuned = _preds(tmp_path / "tuned.jsonl", ["GOOD answer: 4" if i % 3 else "answer: 2" for i in range(N)], "tuned")
    return base, tuned


def _json(out: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(out)
    return payload


def test_pairwise_json_has_every_promised_field(files: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = files
    with serve(responder=J.prefers_marked()) as (url, log):
        code, out, err = run_cli(["judge", "--mode", "pairwise", "-p", base, "-p", tuned, "-j", f"openai:tiny,base_url={url}",
                                  "--format", "json", "--out", str(tmp_path / "r.json"), "--n-resamples", "2000"], monkeypatch, capsys)
        sent = len(log.requests)
    assert code == 0, err
    r = _json(out)
    assert_valid_result(r)
    back = Result.from_dict(r)  # a judge result reads back like every layer's
    assert back.layer == "judge" and [c.metric for c in back.comparisons] == ["win_rate", "length_controlled_win_rate"]
    assert r["layer"] == "judge" and r["config"]["mode"] == "pairwise"
    [s] = r["details"]["pairwise"]
    # 20 questions where tuned is marked: a win in both orders; 10 unmarked: a tie in both
    assert (s["wins"], s["ties"], s["losses"]) == (20, 10, 0)
    assert s["win_rate"] == pytest.approx((20 + 10 / 2) / 30)
    assert s["p_value"] == pytest.approx(2 * 0.5**20)  # exact sign test: 20 wins, no loss
    assert s["position_consistency"] == 1.0 and s["first_position_win_rate"] == 0.5
    assert s["verdict"] == "improved"
    assert len(s["win_rate_ci95"]) == 2 and len(s["length_controlled_win_rate_ci95"]) == 2
    assert "length_controlled_win_rate" in s and "length_controlled_verdict" in s
    # both orders, nothing retried; where the two answers are the same text (10 questions) both
    # orders are one prompt, asked once
    assert sent == 2 * 20 + 10
    assert {c["metric"] for c in r["comparisons"]} == {"win_rate", "length_controlled_win_rate"}
    lines = (tmp_path / "r.judgments.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == N and first["mode"] == "pairwise" and first["baseline_first"]["replies"]
    assert r["details"]["judgments_file"] == str(tmp_path / "r.judgments.jsonl")


def test_a_first_position_judge_is_caught(files: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = files
    with serve(responder=J.first_position()) as (url, _):
        code, out, err = run_cli(["judge", "--mode", "pairwise", "-p", base, "-p", tuned, "-j", f"openai:tiny,base_url={url}",
                                  "--format", "json", "--n-resamples", "2000"], monkeypatch, capsys)
    assert code == 0, err
    r = _json(out)
    [s] = r["details"]["pairwise"]
    # every pair flips with the order: all ties, no verdict, and the bias named
    assert (s["wins"], s["ties"], s["losses"]) == (0, N, 0)
    assert s["position_consistency"] == 0.0 and s["first_position_win_rate"] == 1.0
    assert s["verdict"] == "inconclusive"
    assert any("position bias: the answer shown first won 100%" in w for w in r["warnings"])


def test_a_longer_answer_judge_is_flagged_by_length_control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # the tuned model is simply longer on 20 of 30 questions, equal on 10
    base = _preds(tmp_path / "b.jsonl", ["short."] * N, "base")
    tuned = _preds(tmp_path / "t.jsonl", ["a much longer answer." if i % 3 else "short!" for i in range(N)], "tuned")
    with serve(responder=J.longer_answer()) as (url, _):
        code, out, err = run_cli(["judge", "--mode", "pairwise", "-p", base, "-p", tuned, "-j", f"openai:tiny,base_url={url}",
                                  "--format", "json", "--n-resamples", "2000"], monkeypatch, capsys)
    assert code == 0, err
    r = _json(out)
    [s] = r["details"]["pairwise"]
    assert s["verdict"] == "improved" and s["length_controlled_verdict"] == "inconclusive"
    assert any("at equal length it is inconclusive" in w for w in r["warnings"])


def test_rubric_json_per_criterion_with_unscored_and_weighted(files: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = files
    # scores the number written in the answer, with G-Eval log-probabilities around it
    with serve(responder=J.rubric_judge(J.number_in_answer, logprobs=J.SPREAD)) as (url, log):
        code, out, err = run_cli(["judge", "-p", base, "-p", tuned, "-j", f"openai:tiny,base_url={url}", "--format", "json",
                                  "--n-resamples", "2000"], monkeypatch, capsys)
    assert code == 0, err
    r = _json(out)
    assert_valid_result(r)
    est = {(e["metric"], e["model"]): e for e in r["estimates"]}
    assert est[("accuracy", "base")]["value"] == 2.0
    assert est[("accuracy", "tuned")]["value"] == pytest.approx((20 * 4 + 10 * 2) / 30)
    # SPREAD: the chosen score s has 0.6, s+1 0.3, s-1 0.1: weighted s + 0.2
    assert est[("accuracy (weighted)", "base")]["value"] == pytest.approx(2.2)
    comps = {(c["metric"], c["model"]): c for c in r["comparisons"]}
    c = comps[("accuracy", "tuned")]
    assert c["difference"] == pytest.approx(40 / 30) and c["verdict"] == "improved"
    assert "wilcoxon_p" in c["tests"] and c["p_value_holm"] is not None
    assert {m: sum(u["unscored"].values()) for m, u in r["details"]["unscored"].items()} == {"base": 0, "tuned": 0}
    assert len(log.requests) == DISTINCT


def test_rubric_unscored_are_counted_with_reasons(files: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = files
    # 7 is off the 1-5 scale: the tuned answers that say 4 are fine, an answer saying 7 is not
    tuned_path = Path(tuned)
    rows = [json.loads(x) for x in tuned_path.read_text().splitlines()]
    rows[0]["output"] = "answer: 7"
    tuned_path.write_text("".join(json.dumps(x) + "\n" for x in rows))
    with serve(responder=J.rubric_judge(J.number_in_answer)) as (url, log):
        code, out, err = run_cli(["judge", "-p", base, "-p", tuned, "-j", f"openai:tiny,base_url={url}", "--format", "json",
                                  "--no-logprobs", "--n-resamples", "2000"], monkeypatch, capsys)
    assert code == 0, err
    r = _json(out)
    u = r["details"]["unscored"]["tuned"]
    assert u["gradings"] == N and set(u["unscored"].values()) == {1}  # each criterion once, for q0
    assert any("outside" in why for why in u["reasons"]["accuracy"])
    assert len(log.requests) == DISTINCT + 2  # q0 now differs from base's (one more prompt) and has one repair retry
    assert next(e for e in r["estimates"] if e["metric"] == "accuracy" and e["model"] == "tuned")["n"] == N - 1


def test_a_second_run_sends_nothing_and_one_more_model_pays_only_for_itself(files: tuple[str, str], tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = files
    third = _preds(tmp_path / "third.jsonl", ["answer: 3"] * N, "third")
    with serve(responder=J.rubric_judge(J.number_in_answer)) as (url, log):
        args = ["judge", "-p", base, "-p", tuned, "-j", f"openai:tiny,base_url={url}", "--format", "json", "--no-logprobs",
                "--n-resamples", "2000"]
        assert run_cli(args, monkeypatch, capsys)[0] == 0
        first = len(log.requests)
        code, out, _ = run_cli(args, monkeypatch, capsys)
        assert code == 0 and len(log.requests) == first
        assert first == DISTINCT and _json(out)["details"]["judges"][0]["cached"] == 2 * N
        assert run_cli([*args, "-p", third], monkeypatch, capsys)[0] == 0
        assert len(log.requests) == first + N


def test_every_call_failing_is_one_line(files: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    base, _ = files
    with serve(responder=J.failing(500)) as (url, _):
        code, _, err = run_cli(["judge", "-p", base, "-j", f"openai:tiny,base_url={url}", "--retries", "0", "--concurrency", "1"],
                                 monkeypatch, capsys)
    assert code == 2
    lines = [x for x in err.splitlines() if x.startswith("error: ")]
    assert len(lines) == 1 and "its first 5 calls all failed" in lines[0] and "Traceback" not in err


SLOW = 0.05


def test_a_killed_run_rerun_sends_no_answered_call_twice(files: tuple[str, str], tmp_path: Path) -> None:
    """SIGKILL mid-run, then the same command: every answer the first run saved is read from the
    cache; only the calls in flight at the kill (at most --concurrency) are asked again."""
    base, tuned = files
    inner = J.rubric_judge(J.number_in_answer)

    def slow(payload: dict[str, Any]) -> Step:
        step = inner(payload)
        step.delay = SLOW
        return step

    cache = tmp_path / "cache.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(tunecheck.__file__).parents[1]), "COLUMNS": "200"}
    with serve(responder=slow) as (url, log):
        args = [sys.executable, "-m", "tunecheck", "judge", "-p", base, "-p", tuned, "-j", f"openai:tiny,base_url={url}",
                "--no-logprobs", "--concurrency", "2", "--cache", str(cache), "--format", "json", "--n-resamples", "1000"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(log.requests) < 12 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        sent_first = len(log.requests)
        with JudgeCache(cache) as c:
            saved = c.stats().entries
        assert 12 <= sent_first < DISTINCT and sent_first - saved <= 2  # lost: only what was in flight
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        sent_again = len(log.requests) - sent_first
    assert sent_again == DISTINCT - saved  # every saved answer read back, none asked again
    keys = Counter(json.dumps(r["messages"], sort_keys=True) for r in log.requests)
    assert len(keys) == DISTINCT
    assert sum(n - 1 for n in keys.values()) == sent_first - saved <= 2
    # cached: the saved answers, plus the 10 prompts the two models share, asked once
    assert _json(done.stdout)["details"]["judges"][0]["cached"] == saved + 10
