"""The overfitting commands end to end, as a user runs them: JSON shapes the issue promises,
files written with --out combined by `tunecheck verdict`, and user errors as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli_errors import one_error_line, tunecheck
from tests.schema import assert_valid_result
from tunecheck.core import Status, load_result
from tunecheck.overfitting import RUN


def _estimate(payload: dict, metric: str, model: str) -> float:
    [value] = [e["value"] for e in payload["estimates"] if e["metric"] == metric and e["model"] == model]
    return float(value)


def _trainer_state(path: Path, evals: list[float]) -> Path:
    history = []
    for k, e in enumerate(evals, start=1):
        history.append({"step": 10 * k, "epoch": float(k), "loss": 2.0 / k, "learning_rate": 1e-4})
        history.append({"step": 10 * k, "epoch": float(k), "eval_loss": e})
    history.append({"step": 10 * len(evals), "train_loss": 1.0})
    path.write_text(json.dumps({"global_step": 10 * len(evals), "log_history": history}))
    return path


def test_curves_json_and_plot(tmp_path: Path) -> None:
    # eval falls to 1.0 at step 30, then rises for 4 evaluations while train loss keeps falling
    state = _trainer_state(tmp_path / "trainer_state.json", [1.6, 1.2, 1.0, 1.3, 1.5, 1.7, 1.9])
    run = tunecheck(tmp_path, "curves", str(state), "--format", "json", "--plot", "c.png", "--out", "curves.json")
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert_valid_result(got)
    d = got["details"]
    assert d["best_step"] == 30 and d["best_eval_loss"] == 1.0 and d["diverges_at"] == 40
    assert "step 30" in d["recommendation"]
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    assert_valid_result(json.loads((tmp_path / "curves.json").read_text()))
    back = load_result(tmp_path / "curves.json")
    assert back.layer == "curves" and back.details["diverges_at"] == 40
    assert [(s.name, s.status, s.model) for s in back.signals] == [("training curves", Status.OVERFITTING, RUN)]
    table = tunecheck(tmp_path, "curves", str(state))
    assert table.returncode == 0 and "Recommendation: stop at epoch 3 / step 30" in " ".join(table.stdout.split())


def test_curves_out_combined_by_verdict(tmp_path: Path) -> None:
    state = _trainer_state(tmp_path / "trainer_state.json", [1.6, 1.2, 1.0, 1.3, 1.5, 1.7, 1.9])
    assert tunecheck(tmp_path, "curves", str(state), "--out", "curves.json").returncode == 0
    verdict = tunecheck(tmp_path, "verdict", "curves.json", "--format", "json")
    assert verdict.returncode == 0, verdict.stderr
    v = json.loads(verdict.stdout)  # the verdict Result: the signals it read, the answers in details
    assert v["details"]["overfitting"]["status"] == "overfitting"
    assert [(s["name"], s["model"]) for s in v["signals"]] == [("training curves", "training run")]


def test_overlap_json_counts_and_pairs(tmp_path: Path) -> None:
    base = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho"
    train = [{"id": "t0", "text": base}, {"id": "t1", "text": "a completely different sentence about owls"}]
    evals = [{"id": "e0", "text": base.upper() + "!"}, {"id": "e1", "text": "nothing shared with training at all here"}]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    run = tunecheck(tmp_path, "overlap", "--train", "train.jsonl", "--eval", "eval.jsonl", "--format", "json")
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert_valid_result(got)
    est = {e["metric"]: e["value"] for e in got["estimates"]}
    # e0 is t0 after normalisation (case, punctuation): exact, hence near and n-gram too; 1 of 2 rows
    assert [est[f"{k}_rows"] for k in ("exact", "near", "ngram")] == [1, 1, 1]
    assert est["exact_rate"] == 0.5
    pair = got["details"]["pairs"][0]
    assert pair["eval_id"] == "e0" and pair["train_id"] == "t0"
    table = tunecheck(tmp_path, "overlap", "--train", "train.jsonl", "--eval", "eval.jsonl")
    assert table.returncode == 0 and "e0" in table.stdout


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    assert "no such" in one_error_line(tunecheck(tmp_path, "curves", "missing.json")).lower()
    (tmp_path / "junk.json").write_text("[1, 2]")
    assert "not a tunecheck results file" in one_error_line(tunecheck(tmp_path, "verdict", "junk.json"))
    assert "--on 'words'" in one_error_line(tunecheck(tmp_path, "overlap", "--train", "a", "--eval", "b", "--on", "words"))
    assert "no checkpoint-" in one_error_line(tunecheck(tmp_path, "sweep", str(tmp_path), "--eval", "x.jsonl"))
    assert "--paraphrased per --original" in one_error_line(
        tunecheck(tmp_path, "memorisation", "rephrase", "--task", "qa", "--original", "a.jsonl", "--original", "b.jsonl", "--paraphrased", "c.jsonl")
    )
    # a usage error from Typer (whichever click it vendors) is exit 2 with no traceback
    usage = tunecheck(tmp_path, "memorisation", "rephrase", "--task", "qa", "--original", "a.jsonl")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr and "Missing option '--paraphrased'" in usage.stderr


def test_curves_json_on_converged_noisy_and_eval_missing_logs(tmp_path: Path) -> None:
    converged = _trainer_state(tmp_path / "a.json", [1.6, 1.2, 1.0, 0.9, 0.85])
    # noisy but fine: one bump (1.02 after 0.95) inside a falling trend is not divergence
    noisy = _trainer_state(tmp_path / "b.json", [1.6, 1.2, 0.95, 1.02, 0.9, 0.93, 0.85, 0.84])
    history = [{"step": 10 * k, "epoch": float(k), "loss": 2.0 / k} for k in range(1, 6)]
    missing = tmp_path / "c.json"
    missing.write_text(json.dumps({"global_step": 50, "log_history": history}))
    got = {}
    for name in ("a.json", "b.json", "c.json"):
        run = tunecheck(tmp_path, "curves", name, "--format", "json")
        assert run.returncode == 0, run.stderr
        assert_valid_result(json.loads(run.stdout))
        got[name] = json.loads(run.stdout)["details"]
    assert (got["a.json"]["best_step"], got["a.json"]["diverges_at"]) == (50, None)
    assert "final checkpoint" in got["a.json"]["recommendation"]
    assert (got["b.json"]["best_step"], got["b.json"]["best_eval_loss"], got["b.json"]["diverges_at"]) == (80, 0.84, None)
    assert got["c.json"]["best_step"] is None and got["c.json"]["diverges_at"] is None
    assert "no eval loss" in got["c.json"]["recommendation"].lower()
    assert converged.exists() and noisy.exists()


def test_diversity_of_one_word_answers_renders_and_combines(tmp_path: Path) -> None:
    # distinct-2/3 are undefined for one-word outputs: null in JSON, "n/a" in tables, no crash
    for name in ("base", "tuned"):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"id": str(i), "model": name, "output": "yes" if i % 3 else "no"}) + "\n" for i in range(20)))
    table = tunecheck(tmp_path, "diversity", "--preds", "base.jsonl", "--preds", "tuned.jsonl", "--out", "div.json")
    assert table.returncode == 0, table.stderr
    assert "n/a" in table.stdout
    # "no" / "yes" answers are a closed label set: not applicable, and the table says why
    assert "not applicable to tuned: the 20 outputs repeat 2 short values" in " ".join(table.stdout.split())
    saved = json.loads((tmp_path / "div.json").read_text())
    assert_valid_result(saved)
    assert saved["layer"] == "diversity" and [d["role"] for d in saved["data"]] == ["predictions", "predictions"]
    assert _estimate(saved, "distinct_1", "tuned") == pytest.approx(2 / 20)  # 2 distinct words in 20
    assert [e["value"] for e in saved["estimates"] if e["metric"] == "distinct_2"] == [None, None]  # undefined: null
    result = load_result(tmp_path / "div.json")
    assert [(s.name, s.model, s.status) for s in result.signals] == [("output diversity", "tuned", Status.NOT_APPLICABLE)]
    assert result.model("tuned").details["applies"] is False  # type: ignore[union-attr]


def test_copying_and_rephrase_from_the_command_line(tmp_path: Path) -> None:
    span = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu"  # 13 words
    (tmp_path / "train.jsonl").write_text(json.dumps({"id": "t0", "text": span + " xi omicron"}) + "\n")
    for name, outputs in (("base", ["my own words here", "short"]), ("tuned", [span + " and more", "short"])):
        rows = [{"id": str(i), "model": name, "output": o, "answers": ["short"]} for i, o in enumerate(outputs)]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tunecheck(tmp_path, "memorisation", "copying", "--preds", "base.jsonl", "--preds", "tuned.jsonl", "--train", "train.jsonl", "--format", "json",
                    "--out", "copy.json")
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert_valid_result(got)
    assert got["layer"] == "copying"
    assert load_result(tmp_path / "copy.json").estimate("copy_rate", "tuned").value == 0.5  # type: ignore[union-attr]
    assert [m["details"]["copied"] for m in got["models"]] == [0, 1]
    assert got["models"][1]["details"]["examples"][0]["train_id"] == "t0"
    assert [d["role"] for d in got["data"]] == ["predictions", "predictions", "train"]
    assert (_estimate(got, "copy_rate", "base"), _estimate(got, "copy_rate", "tuned")) == (0.0, 0.5)
    # 2 outputs: too few for a signal (and too short for the span)
    assert [(s["name"], s["model"], s["status"]) for s in got["signals"]] == [("verbatim copying", "tuned", "not applicable")]
    # the table names the training example each copy comes from (the hidden US spelling works too)
    table = tunecheck(tmp_path, "memorization", "copying", "--preds", "base.jsonl", "--preds", "tuned.jsonl", "--train", "train.jsonl")
    assert table.returncode == 0, table.stderr
    assert "copies t0 (13 words)" in table.stdout
    rephrase = tunecheck(tmp_path, "memorisation", "rephrase", "--task", "qa", "--original", "base.jsonl", "--paraphrased", "tuned.jsonl",
                         "--format", "json", "--out", "re.json")
    assert rephrase.returncode == 0, rephrase.stderr
    got = json.loads(rephrase.stdout)
    assert_valid_result(got)
    change = {c["metric"]: c["difference"] for c in got["comparisons"] if c["extra"].get("within") == "base"}
    assert change["exact_match"] == 0.0  # "short" right in both files, the other output wrong in both
    assert _estimate(got, "exact_match_original", "base") == 0.5 == _estimate(got, "exact_match_paraphrased", "base")
    assert [d["role"] for d in got["data"]] == ["predictions", "paraphrases"]
    assert load_result(tmp_path / "re.json").details == {"task": "qa"}
    bad = tunecheck(tmp_path, "memorisation", "rephrase", "--task", "format", "--original", "a", "--paraphrased", "b")
    assert "rephrase takes classification, qa" in one_error_line(bad)


def test_extraction_and_membership_from_the_command_line(tmp_path: Path, memorised: dict[str, Path]) -> None:
    from tests.conftest import HELDOUT, MEMBERS, write_texts

    write_texts(tmp_path / "train.jsonl", MEMBERS, "m")
    write_texts(tmp_path / "held.jsonl", HELDOUT, "h")
    models = ["-m", f"{memorised['base']},name=base", "-m", f"{memorised['tuned']},name=tuned"]
    ext = tunecheck(tmp_path, "memorisation", "extraction", *models, "--train", "train.jsonl", "--prefix-tokens", "4",
                    "--suffix-tokens", "8", "--n-resamples", "1000", "--out", "ext.json", "--format", "json")
    assert ext.returncode == 0, ext.stderr
    got = json.loads(ext.stdout)
    assert_valid_result(got)
    # plain text data: "auto" probes with token prefixes; the memorised model gives its texts back
    assert got["layer"] == "extraction" and got["config"]["prefix"] == "tokens"
    assert _estimate(got, "extracted", "base") == 0.0 and _estimate(got, "extracted", "tuned") >= 0.75
    assert got["models"][1]["identity"]["name"] == "tuned" and got["data"][0]["role"] == "train"
    mem = tunecheck(tmp_path, "memorisation", "membership", *models, "--train", "train.jsonl", "--eval", "held.jsonl",
                    "--n-resamples", "500", "--out", "mem.json")
    assert mem.returncode == 0, mem.stderr
    assert "reference" in mem.stdout and "memorised" in mem.stdout  # the table and the level's message
    assert_valid_result(json.loads((tmp_path / "mem.json").read_text()))
    ext_r, mem_r = load_result(tmp_path / "ext.json"), load_result(tmp_path / "mem.json")
    assert [d.role for d in mem_r.data] == ["train", "eval"] and mem_r.details["baseline"] == "base"
    assert mem_r.estimate("auroc_reference", "tuned").value > 0.95  # type: ignore[union-attr]
    # a high membership AUROC decides; extraction is only context
    assert [(s.name, s.model, s.deciding) for s in ext_r.signals + mem_r.signals] == [
        ("extraction (context)", "tuned", False), ("membership signal", "tuned", True)]
    assert mem_r.signals[0].status == Status.OVERFITTING
