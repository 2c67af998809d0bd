"""`tunecheck sheet export` / `sheet import` end to end: predictions files in, a blind sheet out,
filled in, read back to the ratings file `tunecheck judge --human` reads."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cli.test_bad_inputs import run_cli
from tests.human.test_sheet import _write_csv
from tunecheck.judge._human import load_human


def _preds(tmp_path: Path) -> None:
    for m in ("base", "tuned"):
        rows = [{"id": f"q{i}", "prompt": f"question {i}", "reference": f"ref {i}", "output": f"{m} answer {i}", "category": "x" if i < 6 else "y"}
                for i in range(8)]
        (tmp_path / f"{m}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_export_fill_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _preds(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["sheet", "export", "-p", "base.jsonl", "-p", "tuned.jsonl", "--n", "4", "--stratify", "category",
                              "--task", "ab", "--blind", "--out", "ana.csv"], monkeypatch, capsys)
    assert (code, err) == (0, "")
    # 8 items, x:6 y:2, n=4: quotas 3 and 1
    assert out == "wrote ana.csv: 4 items, 4 to rate (A/B, blind, 2 category values); key ana.key.json (keep it from the annotators)\n"
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ana.csv").read_text())))
    assert "base" not in (tmp_path / "ana.csv").read_text().replace("base answer", "")  # only the outputs' own words
    for r in rows:  # ana prefers the tuned model's answer
        r["choice"] = "A" if r["output_a"].startswith("tuned") else "B"
    _write_csv(tmp_path / "ana.csv", rows)
    code, out, err = run_cli(["sheet", "import", "ana.csv", "--key", "ana.key.json", "--ratings", "ratings.csv"], monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "read 1 sheet: 4 A/B choices of 4 ids, by 1 annotator (ana); wrote ratings.csv"
    assert "W / T / L" in out and "4 / 0 / 0" in out  # then the results: ana picked tuned every time
    back = load_human(tmp_path / "ratings.csv")
    assert {(c.winner, c.annotator) for c in back.choices} == {("tuned", "ana")}
    assert len({c.id for c in back.choices}) == 4


def test_export_for_label_studio_writes_tasks_config_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _preds(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["sheet", "export", "-p", "base.jsonl", "-p", "tuned.jsonl", "--out", "tasks.json", "--format", "labelstudio"], monkeypatch, capsys)
    assert code == 0 and out.endswith("labeling config tasks.config.xml\n")
    assert len(json.loads((tmp_path / "tasks.json").read_text())) == 16  # 8 items x 2 models
    assert (tmp_path / "tasks.key.json").exists()


def test_import_a_label_studio_export_says_what_was_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.human.test_labelstudio import _annotation, _choice, _exported

    _preds(tmp_path)
    monkeypatch.chdir(tmp_path)
    run_cli(["sheet", "export", "-p", "base.jsonl", "-p", "tuned.jsonl", "--task", "ab", "--n", "3", "--out", "ab.json", "--format", "labelstudio"], monkeypatch, capsys)
    export = _exported(tmp_path / "ab.json", lambda d: [_annotation([_choice("choice", "B")], user=3), _annotation([], user=4, cancelled=True)])
    (tmp_path / "export.json").write_text(json.dumps(export))
    code, out, err = run_cli(["sheet", "import", "export.json", "--from", "labelstudio", "--ratings", "r.jsonl"], monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == ("read 1 sheet: 3 A/B choices of 3 ids, by 1 annotator (user 3); wrote r.jsonl; "
                                   "3 annotations skipped in Label Studio left out; ids not checked against a key (pass --key)")
    assert {c.winner for c in load_human(tmp_path / "r.jsonl").choices} == {"tuned"}  # open A/B: B is the second file's


def test_import_a_json_and_a_csv_sheet_gives_means_comparisons_and_alpha(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import krippendorff
    import numpy as np

    from tests.schema import assert_valid_result

    _preds(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run_cli(["sheet", "export", "-p", "base.jsonl", "-p", "tuned.jsonl", "--out", "s.json", "--rubric", "quality-5"],
                   monkeypatch, capsys)[0] == 0
    # the same sheet as CSV for bob (same items, seed and key): ana fills the JSON, bob the CSV
    key_json = (tmp_path / "s.key.json").read_text()
    assert run_cli(["sheet", "export", "-p", "base.jsonl", "-p", "tuned.jsonl", "--out", "s.csv", "--rubric", "quality-5"],
                   monkeypatch, capsys)[0] == 0
    assert (tmp_path / "s.key.json").read_text() == key_json
    sheet = json.loads((tmp_path / "s.json").read_text())
    order = [item["id"] for item in sheet["items"]]

    def score(who: str, sid: str, model: str) -> int:  # bob is one point more generous on the base answers
        k = order.index(sid)
        return min(5, 4 + k % 2) if model == "tuned" else 2 + (who == "bob")

    grid = {}
    sheet["annotator"] = "ana"
    for item in sheet["items"]:
        for o in item["outputs"]:
            for c in o["scores"]:
                o["scores"][c] = grid[("ana", item["id"], o["model"], c)] = score("ana", item["id"], o["model"])
    (tmp_path / "ana.json").write_text(json.dumps(sheet))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text())))
    criteria = ["accuracy", "relevance", "fluency", "format"]
    for r in rows:
        r["annotator"] = "bob"
        for c in criteria:
            r[c] = str(score("bob", r["id"], r["model"]))
            grid[("bob", r["id"], r["model"], c)] = int(r[c])
    _write_csv(tmp_path / "bob.csv", rows)
    code, out, err = run_cli(["sheet", "import", "ana.json", "bob.csv", "--key", "s.key.json", "--format", "json", "--n-resamples", "2000"],
                             monkeypatch, capsys)
    assert code == 0, err
    result = json.loads(out)
    assert_valid_result(result)
    means = {(e["metric"], e["model"]): e for e in result["estimates"]}
    assert means[("accuracy", "base")]["value"] == pytest.approx(2.5) and len(means[("accuracy", "base")]["ci95"]) == 2
    comp = next(c for c in result["comparisons"] if c["metric"] == "accuracy")
    assert comp["model"] == "tuned" and comp["verdict"] == "improved"
    # alpha as the krippendorff package computes it on the same ratings: raters x (item, model)
    units = sorted({(i, m) for (_, i, m, c) in grid if c == "accuracy"})
    matrix = np.array([[grid[(who, i, m, "accuracy")] for i, m in units] for who in ("ana", "bob")], dtype=float)
    want = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
    assert result["details"]["krippendorff_alpha"]["accuracy"] == pytest.approx(want)
    assert "read 2 sheets" in err  # the summary line goes to stderr with --format json
