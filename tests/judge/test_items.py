"""What the judge sees of a sample: from --data, or from what the predictions files carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunecheck.data import load_data
from tunecheck.errors import DataError
from tunecheck.judge import conversation_text, items_for
from tunecheck.scoring._pairing import load_prediction_sets


def _preds(path: Path, rows: list[dict[str, object]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_conversation_text() -> None:
    assert conversation_text([{"role": "user", "content": "Hi?"}]) == "Hi?"
    assert conversation_text([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]) == "System: Be brief.\n\nUser: Hi?"


def test_items_from_the_predictions_files(tmp_path: Path) -> None:
    a = _preds(tmp_path / "a.jsonl", [
        {"id": 1, "output": "x", "prompt": [{"role": "user", "content": "Q1"}], "reference": "R1"},
        {"id": 2, "output": "y", "prompt": "Q2 as text"},
    ])
    b = _preds(tmp_path / "b.jsonl", [{"id": 3, "output": "z", "prompt": "Q3", "answers": ["first", "second"]}])
    items = items_for(load_prediction_sets([a, b]), None)
    assert [(i.id, i.question, i.reference) for i in items.values()] == [
        ("1", "Q1", "R1"), ("2", "Q2 as text", None), ("3", "Q3", "first"),
    ]


def test_a_prediction_without_a_prompt_needs_data(tmp_path: Path) -> None:
    a = _preds(tmp_path / "a.jsonl", [{"id": 1, "output": "x"}])
    with pytest.raises(DataError, match=r"a.jsonl line 1: no 'prompt' for sample '1'.*pass --data"):
        items_for(load_prediction_sets([a]), None)


def test_items_from_data_by_id(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "q", "prompt": "What?", "completion": "That."}) + "\n")
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"id": "c", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}) + "\n")
    a = _preds(tmp_path / "a.jsonl", [{"id": "q", "output": "x", "prompt": "ignored"}])
    items = items_for(load_prediction_sets([a]), load_data(str(data)))
    assert (items["q"].question, items["q"].reference) == ("What?", "That.")
    c = _preds(tmp_path / "c.jsonl", [{"id": "c", "output": "y"}])
    items = items_for(load_prediction_sets([c]), load_data(str(chat)))
    assert (items["c"].question, items["c"].reference) == ("Hi", "Hello")
    other = _preds(tmp_path / "o.jsonl", [{"id": "zz", "output": "x"}])
    with pytest.raises(DataError, match=r"o.jsonl line 1: id 'zz' is not in --data"):
        items_for(load_prediction_sets([other]), load_data(str(data)))


def test_the_question_as_asked_beats_the_prompt_as_sent(tmp_path: Path) -> None:
    sent = "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"  # a chat template, rendered
    a = _preds(tmp_path / "a.jsonl", [
        {"id": 1, "output": "x", "prompt": sent, "messages": [{"role": "user", "content": "Hi?"}]},
        {"id": 2, "output": "y", "prompt": "### Instruction:\nSum 2+2\n\n### Response:\n", "question": "Sum 2+2"},
    ])
    items = items_for(load_prediction_sets([a]), None)
    assert (items["1"].question, items["2"].question) == ("Hi?", "Sum 2+2")
