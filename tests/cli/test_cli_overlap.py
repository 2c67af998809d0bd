"""`tunecheck overlap` on instruction data, as a user runs it: the shared instruction left out
as boilerplate (and counted), the planted leak found, one-word labels flagged as not applicable."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli_errors import one_error_line, tunecheck
from tests.schema import assert_valid_result
from tunecheck.core import load_result

INSTRUCTION = "Classify the sentiment of this product review as positive, negative or neutral. Answer with one word."
REVIEWS = [
    "The battery died after two days and support never answered my emails.",
    "Lovely kettle, boils fast and looks great on the kitchen counter.",
    "It does the job, nothing special, but the price was fair enough.",
    "Arrived broken in a crushed box and the refund took three weeks.",
    "My daughter uses these headphones every day on the bus to school.",
    "The lamp is bright enough for reading but the switch feels cheap.",
]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_overlap_on_instruction_data(tmp_path: Path) -> None:
    labels = ["negative", "positive", "neutral"]
    # 12 training rows: 6 reviews twice (once with "Really," in front), all with the instruction
    train = [{"id": f"t{i}", "prompt": f"{INSTRUCTION}\nReview: {('Really, ' if i >= 6 else '')}{REVIEWS[i % 6]}",
              "completion": labels[i % 3]} for i in range(12)]
    # eval: a new review, and training review 0 with one word changed ("two" -> "three")
    evals = [{"id": "e0", "prompt": f"{INSTRUCTION}\nReview: The blender is loud but crushes ice without trouble.", "completion": "neutral"},
             {"id": "e1", "prompt": f"{INSTRUCTION}\nReview: {REVIEWS[0].replace('two', 'three')}", "completion": "negative"}]
    _write(tmp_path / "train.jsonl", train)
    _write(tmp_path / "eval.jsonl", evals)
    run = tunecheck(tmp_path, "overlap", "--train", "train.jsonl", "--eval", "eval.jsonl", "--on", "prompt", "--format", "json")
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert_valid_result(got)
    d = got["details"]
    # the instruction + "review": 16 + 1 words, 10 8-grams, in all 12 rows (at least 10)
    assert d["boilerplate"]["ngrams"] == 10 and d["boilerplate"]["min_rows"] == 10
    rows = {e["metric"]: e["value"] for e in got["estimates"]}
    assert [rows[f"{k}_rows"] for k in ("exact", "near", "ngram")] == [0, 1, 1]
    assert [(p["eval_id"], p["train_id"]) for p in d["pairs"]] == [("e1", "t0")]
    assert d["compared"]["fields"] == "the prompt" and d["applies"] is True
    # kept in, the instruction's 13-grams match every row; --out reads back as a typed result
    kept = tunecheck(tmp_path, "overlap", "--train", "train.jsonl", "--eval", "eval.jsonl", "--on", "prompt",
                     "--boilerplate-share", "0", "--out", "kept.json", "--format", "json")
    assert kept.returncode == 0, kept.stderr
    back = load_result(tmp_path / "kept.json")
    assert back.layer == "overlap" and back.estimate("ngram_rows").value == 2 and back.details["boilerplate"]["ngrams"] == 0
    assert [(x.role, x.n) for x in back.data] == [("train", 12), ("eval", 2)]

    table = tunecheck(tmp_path, "overlap", "--train", "train.jsonl", "--eval", "eval.jsonl", "--on", "response")
    assert table.returncode == 0, table.stderr
    text = " ".join(table.stdout.split())
    assert "not applicable: responses are too short (median 1 word) and repeat a small set of values (3 distinct in 12 training rows)" in text
    assert "compared: the completion" in text
    assert "--boilerplate-share 1.5" in one_error_line(
        tunecheck(tmp_path, "overlap", "--train", "train.jsonl", "--eval", "eval.jsonl", "--boilerplate-share", "1.5"))
