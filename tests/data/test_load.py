"""load_data: file formats, shape detection, field mapping, ids, content hashes and errors.

Every error test checks both the exception type and what the message tells the user:
the file, where in it (line N / item N / row N), the field, and how to fix it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunecheck.data import Dataset, FieldMap, Message, load_data
from tunecheck.data._load import parse_hf_source
from tunecheck.errors import DataError, TunecheckError

# ---------------------------------------------------------------------------- helpers


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def data_error(source: str | Path, fields: FieldMap | None = None, **kwargs: Any) -> str:
    """Load `source`, expecting a DataError; return its message."""
    with pytest.raises(DataError) as info:
        load_data(source, fields, **kwargs)
    return str(info.value)


TEXT_ROWS = [{"text": "alpha"}, {"text": "beta"}, {"text": "gamma"}]
PAIR_ROWS = [
    {"prompt": "What is 2+2?", "completion": "4"},
    {"prompt": "Capital of France?", "completion": "Paris"},
]


# ---------------------------------------------------------------------------- formats


def test_jsonl_text(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", TEXT_ROWS)
    ds = load_data(path)
    assert isinstance(ds, Dataset)
    assert len(ds) == 3
    assert ds.shape == "text"
    assert [s.text for s in ds] == ["alpha", "beta", "gamma"]
    assert [s.shape for s in ds] == ["text"] * 3
    assert ds.source == str(path)
    assert ds.sha256.startswith("sha256:") and len(ds.sha256) == len("sha256:") + 64
    assert ds.identity() == {"source": str(path), "sha256": ds.sha256, "n": 3, "shape": "text"}
    # The raw row is kept for later layers.
    assert ds.samples[1].fields == {"text": "beta"}


def test_ndjson_and_uppercase_suffix(tmp_path: Path) -> None:
    for name in ("d.ndjson", "D.JSONL"):
        ds = load_data(write_jsonl(tmp_path / name, TEXT_ROWS))
        assert [s.text for s in ds] == ["alpha", "beta", "gamma"]


def test_accepts_str_source(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", TEXT_ROWS)
    assert load_data(str(path)).sha256 == load_data(path).sha256


def test_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a"}\n\n   \n{"text": "b"}\n\n', encoding="utf-8")
    ds = load_data(path)
    assert [s.text for s in ds] == ["a", "b"]
    # Ids count rows, not physical lines: the blank lines do not shift them.
    assert [s.id for s in ds] == ["0", "1"]


def test_json_list(tmp_path: Path) -> None:
    ds = load_data(write_json(tmp_path / "d.json", PAIR_ROWS))
    assert ds.shape == "prompt_completion"
    assert [(s.prompt, s.response) for s in ds] == [
        ("What is 2+2?", "4"),
        ("Capital of France?", "Paris"),
    ]


def test_json_object_holding_one_list(tmp_path: Path) -> None:
    # Other non-list keys (metadata) are allowed next to the one list.
    ds = load_data(write_json(tmp_path / "d.json", {"version": 2, "data": PAIR_ROWS}))
    assert [s.response for s in ds] == ["4", "Paris"]


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    # The second row quotes a cell containing the delimiter and a quote.
    path.write_text(
        'prompt,completion\nWhat is 2+2?,4\n"Say ""hi"", please",hi\n', encoding="utf-8"
    )
    ds = load_data(path)
    assert ds.shape == "prompt_completion"
    assert [(s.prompt, s.response) for s in ds] == [("What is 2+2?", "4"), ('Say "hi", please', "hi")]
    assert [s.id for s in ds] == ["0", "1"]


def test_tsv(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text("id\ttext\nx1\thello, world\nx2\tbye\n", encoding="utf-8")
    ds = load_data(path)
    assert ds.shape == "text"
    # Commas are plain characters in a TSV.
    assert [(s.id, s.text) for s in ds] == [("x1", "hello, world"), ("x2", "bye")]


def test_parquet(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", PAIR_ROWS)
    ds = load_data(path)
    assert ds.shape == "prompt_completion"
    assert [(s.prompt, s.response) for s in ds] == [
        ("What is 2+2?", "4"),
        ("Capital of France?", "Paris"),
    ]


def test_parquet_pq_suffix_and_chat(tmp_path: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ]
        }
    ]
    ds = load_data(write_parquet(tmp_path / "d.pq", rows))
    assert ds.shape == "chat"
    assert ds.samples[0].response == "hello"
    assert ds.samples[0].messages == (Message("user", "hi"),)


# ---------------------------------------------------------------------------- shapes


def test_shape_prompt_completion(tmp_path: Path) -> None:
    ds = load_data(write_jsonl(tmp_path / "d.jsonl", PAIR_ROWS))
    s = ds.samples[0]
    assert (s.shape, s.prompt, s.response, s.text) == ("prompt_completion", "What is 2+2?", "4", None)
    assert s.instruction is None and s.input is None and s.messages is None


def test_shape_alpaca(tmp_path: Path) -> None:
    rows = [
        {"instruction": "Translate to French.", "input": "cat", "output": "chat"},
        {"instruction": "Say hi.", "input": "", "output": "hi"},
        {"instruction": "Count to 2.", "input": None, "output": "1 2"},
    ]
    ds = load_data(write_jsonl(tmp_path / "d.jsonl", rows))
    assert ds.shape == "alpaca"
    first, empty, null = ds.samples
    # prompt = instruction + "\n\n" + input when the input is non-empty ...
    assert first.prompt == "Translate to French.\n\ncat"
    assert (first.instruction, first.input, first.response) == ("Translate to French.", "cat", "chat")
    # ... else the instruction alone; a null input counts as empty.
    assert (empty.prompt, empty.input) == ("Say hi.", "")
    assert (null.prompt, null.input) == ("Count to 2.", "")


def test_shape_alpaca_without_input_column(tmp_path: Path) -> None:
    ds = load_data(write_jsonl(tmp_path / "d.jsonl", [{"instruction": "Do it.", "output": "done"}]))
    assert ds.shape == "alpaca"
    assert (ds.samples[0].prompt, ds.samples[0].input, ds.samples[0].response) == ("Do it.", "", "done")


def test_shape_chat(tmp_path: Path) -> None:
    conv = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "second answer"},
    ]
    ds = load_data(write_jsonl(tmp_path / "d.jsonl", [{"messages": conv}]))
    s = ds.samples[0]
    assert (ds.shape, s.shape) == ("chat", "chat")
    # The response is the last (assistant) message; the history is everything before it.
    assert s.response == "second answer"
    assert s.messages == (
        Message("system", "Be brief."),
        Message("user", "first question"),
        Message("assistant", "first answer"),
        Message("user", "second question"),
    )
    # The prompt is the last user turn.
    assert s.prompt == "second question"


def test_shape_detection_order(tmp_path: Path) -> None:
    # messages beats everything; prompt/completion beats text.
    chat_and_text = {"messages": [{"role": "assistant", "content": "x"}], "text": "t"}
    assert load_data(write_jsonl(tmp_path / "a.jsonl", [chat_and_text])).shape == "chat"
    pair_and_text = {"prompt": "p", "completion": "c", "text": "t"}
    assert load_data(write_jsonl(tmp_path / "b.jsonl", [pair_and_text])).shape == "prompt_completion"


def test_unknown_shape_lists_fields_and_flags(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "answer": "a"}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 1: cannot tell the data's shape")
    assert "(answer, question)" in msg
    assert "--text-field" in msg and "--prompt-field/--response-field" in msg


# ---------------------------------------------------------------------------- field mapping


def test_fieldmap_text(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"body": "b1", "text": "ignored"}])
    ds = load_data(path, FieldMap(text="body"))
    assert (ds.shape, ds.samples[0].text) == ("text", "b1")


def test_fieldmap_prompt_and_response(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": "q1", "answer": "a1"}])
    ds = load_data(path, FieldMap(prompt="question", response="answer"))
    assert ds.shape == "prompt_completion"
    assert (ds.samples[0].prompt, ds.samples[0].response) == ("q1", "a1")


def test_fieldmap_one_half_of_a_pair_fills_the_other_from_the_row(tmp_path: Path) -> None:
    # Only --response-field given; the row has `prompt`, so the pair is prompt/answer.
    path = write_jsonl(tmp_path / "a.jsonl", [{"prompt": "p", "answer": "a"}])
    ds = load_data(path, FieldMap(response="answer"))
    assert (ds.shape, ds.samples[0].prompt, ds.samples[0].response) == ("prompt_completion", "p", "a")
    # Only --response-field given; the row has `instruction`/`input`: Alpaca with that response.
    path = write_jsonl(
        tmp_path / "b.jsonl", [{"instruction": "i", "input": "x", "answer": "a"}]
    )
    ds = load_data(path, FieldMap(response="answer"))
    assert (ds.shape, ds.samples[0].prompt, ds.samples[0].response) == ("alpaca", "i\n\nx", "a")


def test_fieldmap_one_half_without_the_other_names_the_missing_flag(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "answer": "a"}])
    msg = data_error(path, FieldMap(prompt="question"))
    assert msg.startswith(f"{path} line 1:")
    assert "--response-field" in msg


def test_fieldmap_alpaca_input(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"q": "Sum these.", "ctx": "1 2", "a": "3"}])
    ds = load_data(path, FieldMap(prompt="q", response="a", input="ctx"))
    s = ds.samples[0]
    assert (ds.shape, s.instruction, s.input, s.prompt) == ("alpaca", "Sum these.", "1 2", "Sum these.\n\n1 2")


def test_fieldmap_messages(tmp_path: Path) -> None:
    conv = [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]
    path = write_jsonl(tmp_path / "d.jsonl", [{"conversation": conv}])
    ds = load_data(path, FieldMap(messages="conversation"))
    assert (ds.shape, ds.samples[0].prompt, ds.samples[0].response) == ("chat", "u", "a")


def test_fieldmap_id(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"uid": "u-1", "id": 99, "text": "a"}, {"uid": 7, "id": 99, "text": "b"}])
    ds = load_data(path, FieldMap(id="uid"))
    # `uid` wins over `id`; an integer id becomes its decimal string.
    assert [s.id for s in ds] == ["u-1", "7"]


def test_fieldmap_missing_mapped_field_names_field_and_flag(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [{"prompt": "p", "answer": "a"}, {"prompt": "p2", "reply": "a2"}],
    )
    msg = data_error(path, FieldMap(response="answer"))
    assert msg.startswith(f"{path} line 2:")
    assert 'field "answer" is missing' in msg
    assert "--response-field" in msg


# ---------------------------------------------------------------------------- ids


def test_ids_from_id_field(tmp_path: Path) -> None:
    ds = load_data(write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "text": "x"}, {"id": 2, "text": "y"}]))
    assert [s.id for s in ds] == ["a", "2"]


def test_ids_default_to_row_index(tmp_path: Path) -> None:
    ds = load_data(write_jsonl(tmp_path / "d.jsonl", TEXT_ROWS))
    assert [s.id for s in ds] == ["0", "1", "2"]


def test_id_missing_in_a_later_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "text": "x"}, {"text": "y"}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 2:")
    assert 'field "id" is missing' in msg and "--id-field" in msg


def test_id_of_wrong_type(tmp_path: Path) -> None:
    # bool is an int subclass but not a usable id.
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": True, "text": "x"}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 1:")
    assert 'field "id" must be a string or integer' in msg


def test_duplicate_ids(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "a", "text": "z"}],
    )
    msg = data_error(path)
    assert msg.startswith(f"{path} line 3:")
    assert 'duplicate id "a"' in msg
    assert "first at line 1" in msg


def test_duplicate_ids_int_and_str_collide(tmp_path: Path) -> None:
    # 1 and "1" are both the id "1".
    path = write_json(tmp_path / "d.json", [{"id": 1, "text": "x"}, {"id": "1", "text": "y"}])
    msg = data_error(path)
    assert msg.startswith(f"{path} item 1:")
    assert 'duplicate id "1" (first at item 0)' in msg


# ---------------------------------------------------------------------------- content hash


def test_hash_same_rows_same_hash_across_formats(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}]
    h_jsonl = load_data(write_jsonl(tmp_path / "d.jsonl", rows)).sha256
    h_json = load_data(write_json(tmp_path / "d.json", rows)).sha256
    h_wrapped = load_data(write_json(tmp_path / "w.json", {"data": rows})).sha256
    h_parquet = load_data(write_parquet(tmp_path / "d.parquet", rows)).sha256
    csv = tmp_path / "d.csv"
    csv.write_text("id,text\na,x\nb,y\n", encoding="utf-8")
    h_csv = load_data(csv).sha256
    # All values are strings, so every format parses to the same dicts.
    assert h_jsonl == h_json == h_wrapped == h_parquet == h_csv


def test_hash_changes_with_one_character(tmp_path: Path) -> None:
    a = load_data(write_jsonl(tmp_path / "a.jsonl", [{"text": "hello"}, {"text": "world"}])).sha256
    b = load_data(write_jsonl(tmp_path / "b.jsonl", [{"text": "hello"}, {"text": "World"}])).sha256
    assert a != b


def test_hash_ignores_key_order_and_whitespace(tmp_path: Path) -> None:
    a = tmp_path / "a.jsonl"
    a.write_text('{"id": "1", "text": "x"}\n', encoding="utf-8")
    b = tmp_path / "b.jsonl"
    b.write_text('{ "text":"x",   "id":"1" }\n\n', encoding="utf-8")
    assert load_data(a).sha256 == load_data(b).sha256


def test_hash_depends_on_row_order(tmp_path: Path) -> None:
    a = load_data(write_jsonl(tmp_path / "a.jsonl", TEXT_ROWS)).sha256
    b = load_data(write_jsonl(tmp_path / "b.jsonl", TEXT_ROWS[::-1])).sha256
    assert a != b


def test_hash_depends_on_value_types(tmp_path: Path) -> None:
    # id 1 and id "1" are the same sample id but different data.
    a = load_data(write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": "x"}])).sha256
    b = load_data(write_jsonl(tmp_path / "b.jsonl", [{"id": "1", "text": "x"}])).sha256
    assert a != b


def test_limit_keeps_first_rows_and_hash_covers_only_those(tmp_path: Path) -> None:
    rows = [{"text": f"row {i}"} for i in range(5)]
    ds = load_data(write_jsonl(tmp_path / "all.jsonl", rows), limit=2)
    assert [s.text for s in ds] == ["row 0", "row 1"]
    assert [s.id for s in ds] == ["0", "1"]
    first_two = load_data(write_jsonl(tmp_path / "two.jsonl", rows[:2]))
    assert ds.sha256 == first_two.sha256
    # A limit above the row count keeps everything.
    assert len(load_data(tmp_path / "all.jsonl", limit=50)) == 5


def test_limit_ignores_duplicates_past_the_limit(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "a", "text": "z"}]
    assert len(load_data(write_jsonl(tmp_path / "d.jsonl", rows), limit=2)) == 2


# Regression test (was a bug found in review).
def test_limit_does_not_parse_rows_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n{"text": oops}\n', encoding="utf-8")
    assert len(load_data(path, limit=2)) == 2


# ---------------------------------------------------------------------------- bad input


def test_malformed_json_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n{"text": oops}\n{"text": "d"}\n', encoding="utf-8")
    msg = data_error(path)
    assert msg.startswith(f"{path} line 3: invalid JSON")
    assert "column 10" in msg  # `{"text": o` - the value starts at column 10
    assert "each line must be one JSON object" in msg


def test_malformed_line_number_counts_blank_lines(tmp_path: Path) -> None:
    # Line numbers are physical lines, so the user can jump to them in an editor.
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"\n', encoding="utf-8")
    assert data_error(path).startswith(f"{path} line 3: invalid JSON")


def test_malformed_json_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('[\n  {"text": "a"},\n  {"text": b}\n]\n', encoding="utf-8")
    msg = data_error(path)
    assert msg.startswith(f"{path} line 3: invalid JSON")


def test_missing_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [PAIR_ROWS[0], {"prompt": "only a prompt"}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 2:")
    assert 'field "completion" is missing' in msg
    assert "--response-field" in msg


def test_missing_text_field_in_a_later_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "a"}, {"body": "b"}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 2:")
    assert 'field "text" is missing' in msg and "--text-field" in msg


def test_null_field_counts_as_missing(tmp_path: Path) -> None:
    path = write_json(tmp_path / "d.json", [{"text": "a"}, {"text": None}])
    msg = data_error(path)
    assert msg.startswith(f"{path} item 1:")
    assert 'field "text" is missing' in msg


def test_non_string_value(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "a"}, {"text": 42}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 2:")
    assert 'field "text" is int 42, expected a string' in msg


def test_non_string_value_is_shortened(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "p", "completion": ["x" * 100]}])
    msg = data_error(path)
    assert 'field "completion" is list' in msg
    assert "x" * 60 not in msg  # long values are cut to 40 characters
    assert "..." in msg


def test_row_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_json(tmp_path / "a.json", ["just a string"])
    assert "item 0: expected a JSON object, got str" in data_error(path)
    path = write_jsonl(tmp_path / "b.jsonl", [{"text": "ok"}, [1, 2]])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 2:") and "expected a JSON object, got list" in msg


def test_json_with_no_list_or_two_lists(tmp_path: Path) -> None:
    assert "expected a JSON list of objects" in data_error(write_json(tmp_path / "a.json", "text"))
    two = write_json(tmp_path / "b.json", {"train": [{"text": "a"}], "test": [{"text": "b"}]})
    assert "(or an object holding one list)" in data_error(two)


def test_messages_ending_with_a_user_turn_is_a_prompt_without_response(tmp_path: Path) -> None:
    conv = [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "bye"}]
    sample = load_data(write_jsonl(tmp_path / "d.jsonl", [{"messages": conv}])).samples[0]
    assert sample.response is None and sample.prompt == "bye" and len(sample.messages or ()) == 2


def test_prompt_only_rows_load_for_generation(tmp_path: Path) -> None:
    data = load_data(write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a"}, {"prompt": "b"}]))
    assert data.shape == "prompt_completion" and [s.response for s in data] == [None, None]
    alpaca = load_data(write_jsonl(tmp_path / "a.jsonl", [{"instruction": "do", "input": "x"}]))
    assert alpaca.shape == "alpaca" and alpaca.samples[0].response is None
    # when the first row has a response, every row needs one
    msg = data_error(write_jsonl(tmp_path / "m.jsonl", [{"prompt": "a", "completion": "b"}, {"prompt": "c"}]))
    assert 'line 2: field "completion" is missing' in msg


def test_messages_not_a_list(tmp_path: Path) -> None:
    good = {"messages": [{"role": "assistant", "content": "x"}]}
    path = write_jsonl(tmp_path / "d.jsonl", [good, {"messages": "hello"}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 2:")
    assert 'field "messages" must be a non-empty list' in msg


def test_messages_empty_list(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"messages": []}])
    assert 'field "messages" must be a non-empty list' in data_error(path)


def test_message_without_content(tmp_path: Path) -> None:
    conv = [{"role": "user"}, {"role": "assistant", "content": "x"}]
    path = write_jsonl(tmp_path / "d.jsonl", [{"messages": conv}])
    msg = data_error(path)
    assert msg.startswith(f"{path} line 1:")
    assert 'field "messages" message 0: expected {"role": str, "content": str}' in msg


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("", encoding="utf-8")
    msg = data_error(path)
    assert msg == f"{path}: no rows (the data set is empty)"


def test_only_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("\n   \n\t\n\n", encoding="utf-8")
    assert data_error(path) == f"{path}: no rows (the data set is empty)"


def test_empty_json_list_csv_and_header_only_csv(tmp_path: Path) -> None:
    assert "no rows" in data_error(write_json(tmp_path / "d.json", []))
    empty_csv = tmp_path / "e.csv"
    empty_csv.write_text("", encoding="utf-8")
    assert "no rows" in data_error(empty_csv)
    header_only = tmp_path / "h.csv"
    header_only.write_text("text\n", encoding="utf-8")
    assert "no rows" in data_error(header_only)


def test_limit_below_one_names_the_flag(tmp_path: Path) -> None:
    # islice(rows, -1) raised a bare ValueError; 0 read as "the data set is empty"
    path = write_jsonl(tmp_path / "d.jsonl", TEXT_ROWS)
    for limit in (0, -1):
        with pytest.raises(TunecheckError, match=f"--limit {limit}: must be at least 1"):
            load_data(path, limit=limit)


def test_nonexistent_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    assert data_error(path) == f"{path}: no such file (check the path)"


def test_directory(tmp_path: Path) -> None:
    msg = data_error(tmp_path)
    assert msg.startswith(f"{tmp_path}: is a directory")
    assert ".jsonl" in msg


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_text("hello\n", encoding="utf-8")
    msg = data_error(path)
    assert msg.startswith(f"{path}: unknown format .txt")
    assert ".jsonl, .json, .csv or .parquet" in msg
    bare = tmp_path / "data"
    bare.write_text("hello\n", encoding="utf-8")
    assert "unknown format (no extension)" in data_error(bare)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    # Latin-1 "é" (0xE9) at byte 13 of line 2: `{"text": "caf` is 13 bytes, so column 14.
    # (was "byte 13" counted from the start of the file, useless in a large file)
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    msg = data_error(path)
    assert msg == f"{path} line 2: not UTF-8 text (byte 0xe9 at column 14); re-save the file as UTF-8"


def test_non_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"text\ncaf\xe9\n")
    assert "not UTF-8 text" in data_error(path)


def test_csv_row_with_more_cells_than_header(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("prompt,completion\nhi,there\nWhat is 1,2?,3\n", encoding="utf-8")
    msg = data_error(path)
    assert msg.startswith(f"{path} line 3: more cells than header columns")
    assert "quote cells that contain ','" in msg


def test_tsv_row_with_more_cells_than_header(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_text("text\na\tb\n", encoding="utf-8")
    msg = data_error(path)
    assert msg.startswith(f"{path} line 2: more cells than header columns")
    assert "quote cells that contain '\t'" in msg


def test_csv_row_with_fewer_cells_is_a_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("prompt,completion\nhi,there\nlonely\n", encoding="utf-8")
    msg = data_error(path)
    assert msg.startswith(f"{path} line 3:")
    assert 'field "completion" is missing' in msg and "--response-field" in msg


def test_parquet_null_names_the_row(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", [{"text": "a"}, {"text": None}])
    msg = data_error(path)
    assert msg.startswith(f"{path} row 1:")
    assert 'field "text" is missing' in msg


def test_parquet_non_string_column(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", [{"text": 1}, {"text": 2}])
    msg = data_error(path)
    assert msg.startswith(f"{path} row 0:")
    assert 'field "text" is int 1, expected a string' in msg


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    path.write_bytes(b"this is not parquet")
    assert data_error(path).startswith(f"{path}: not a readable Parquet file")


def test_data_error_is_a_tunecheck_error(tmp_path: Path) -> None:
    with pytest.raises(TunecheckError):
        load_data(tmp_path / "missing.jsonl")


# Regression test (was a bug found in review).
def test_csv_with_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("text\nhello\n".encode("utf-8-sig"))
    assert [s.text for s in load_data(path)] == ["hello"]


# ---------------------------------------------------------------------------- hub sources


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("hf:name", ("name", None, "train")),
        ("hf:name:test", ("name", None, "test")),
        ("hf:name:validation", ("name", None, "validation")),
        ("hf:name:cfg", ("name", "cfg", "train")),
        ("hf:a/b:cfg:validation", ("a/b", "cfg", "validation")),
        ("hf:openai/gsm8k:main:test", ("openai/gsm8k", "main", "test")),
        # A sliced split is still recognised as a split.
        ("hf:name:train[10%]", ("name", None, "train[10%]")),
    ],
)
def test_parse_hf_source(source: str, expected: tuple[str, str | None, str]) -> None:
    assert parse_hf_source(source) == expected


@pytest.mark.parametrize("source", ["hf:", "hf:a::b", "hf::x", "hf:a:", "hf:a:b:c:d"])
def test_parse_hf_source_rejects(source: str) -> None:
    with pytest.raises(DataError) as info:
        parse_hf_source(source)
    assert str(info.value).startswith(f"{source}: expected hf:NAME[:CONFIG][:SPLIT]")


# Regression test (was a bug found in review).
def test_parse_hf_source_slice_with_colon() -> None:
    assert parse_hf_source("hf:name:train[:100]") == ("name", None, "train[:100]")


def test_hf_nonexistent_dataset_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # The hub libraries read these variables once, at import; if another test imported them
    # first, switch their module-level flags too so nothing reaches for the network.
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)

    source = "hf:tunecheck-tests-nonexistent/no-such-dataset-4f1c"
    msg = data_error(source)
    assert msg.startswith(f"{source}: could not load from the Hugging Face hub")
    assert "check the name, config and split" in msg


def test_conversational_prompt_completion_rows_load_as_chat(tmp_path):
    # TRL's conversational prompt-completion format: prompt and completion are message lists
    path = tmp_path / "pc.jsonl"
    rows = [{"id": "a", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}],
             "completion": [{"role": "assistant", "content": "Hello."}]},
            {"id": "b", "prompt": [{"role": "user", "content": "Bye?"}], "completion": [{"role": "assistant", "content": "Bye."}]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = list(load_data(path))
    assert (a.shape, a.prompt, a.response) == ("chat", "Hi?", "Hello.")
    assert [(m.role, m.content) for m in a.messages] == [("system", "Be brief."), ("user", "Hi?")]
    assert (b.shape, b.response) == ("chat", "Bye.")


def test_a_conversational_completion_must_be_one_assistant_message(tmp_path):
    path = tmp_path / "pc.jsonl"
    path.write_text(json.dumps({"prompt": [{"role": "user", "content": "Hi?"}],
                                "completion": [{"role": "user", "content": "x"}]}) + "\n")
    with pytest.raises(DataError, match=r'pc.jsonl line 1: field "completion": a conversational completion must be one assistant message'):
        load_data(path)
