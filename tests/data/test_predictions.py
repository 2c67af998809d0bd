"""Predictions-file resume with non-ASCII rows and a BOM: the cut is found in bytes, not characters.

A kill can stop a write anywhere, also inside a multi-byte character. Resume must keep exactly
the complete rows' bytes (so the file stays valid UTF-8), and lose or duplicate nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tunecheck.data import PredictionWriter, read_predictions

BOM = b"\xef\xbb\xbf"
TEXTS = ["café", "日本語", "emoji 🎉 done", "naïve – “quoted”"]


def _row(i: int, text: str) -> bytes:
    # written as tunecheck writes them: ensure_ascii=False, so the bytes are UTF-8 multi-byte
    return (json.dumps({"id": f"r{i}", "output": text}, ensure_ascii=False) + "\n").encode("utf-8")


def _resume_and_finish(path: Path, all_texts: list[str]) -> tuple[set[tuple[str, int]], bytes]:
    """Resume, write every row not done yet, return what resume found done and the bytes it kept."""
    writer, done, _ = PredictionWriter.resume(path)
    kept = path.read_bytes()
    with writer:
        for i, text in enumerate(all_texts):
            if (f"r{i}", 0) not in done:
                writer.write({"id": f"r{i}", "output": text})
    return done, kept


def _cases() -> list[tuple[str, bytes]]:
    last = _row(len(TEXTS), "日本語 🎉").rstrip(b"\n")
    cuts = {
        "mid-json": last[: last.index(b"output")],
        # '{"id": "r4", "output": "日' minus its last byte: the cut is inside a 3-byte character
        "inside 3-byte char": last[: last.index("日".encode()) + 2],
        "inside 4-byte emoji": last[: last.index("🎉".encode()) + 1],
        "after whole char": last[: last.index("本".encode())],
        "newline then partial char": b"\xe6\x97",
    }
    return list(cuts.items())


@pytest.mark.parametrize("bom", [b"", BOM], ids=["no-bom", "bom"])
@pytest.mark.parametrize(("name", "cut"), _cases(), ids=[n for n, _ in _cases()])
def test_resume_keeps_exactly_the_complete_non_ascii_rows(tmp_path, bom, name, cut):
    path = tmp_path / "preds.jsonl"
    complete = bom + b"".join(_row(i, t) for i, t in enumerate(TEXTS))
    path.write_bytes(complete + cut)
    texts = [*TEXTS, "日本語 🎉"]

    done, kept = _resume_and_finish(path, texts)

    assert kept == complete  # byte for byte: the BOM once, every complete row, nothing of the cut line
    assert done == {(f"r{i}", 0) for i in range(len(TEXTS))}
    data = path.read_bytes()
    data.decode("utf-8")  # valid UTF-8 throughout (raises otherwise)
    assert data.count(BOM) == (1 if bom else 0)  # a BOM another tool wrote stays, once, at the start
    rows = read_predictions(path)  # duplicates would be an error here
    assert [(p.id, p.output) for p in rows] == [(f"r{i}", t) for i, t in enumerate(texts)]


@pytest.mark.parametrize("bom", [b"", BOM], ids=["no-bom", "bom"])
def test_reader_ignores_a_last_line_cut_inside_a_character(tmp_path, bom):
    path = tmp_path / "preds.jsonl"
    path.write_bytes(bom + _row(0, "café") + '{"id": "r1", "output": "日'.encode()[:-1])
    assert [(p.id, p.output) for p in read_predictions(path)] == [("r0", "café")]


def test_bad_utf8_before_the_last_line_is_still_reported(tmp_path):
    # only an incomplete character at the very end is a cut-off write; damage elsewhere is an error
    path = tmp_path / "preds.jsonl"
    path.write_bytes(b'{"id": "r0", "output": "caf\xe9"}\n' + _row(1, "ok"))
    with pytest.raises(Exception, match=r"line 1: not UTF-8"):
        PredictionWriter.resume(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12), min_size=1, max_size=6),
    bom=st.booleans(),
    data=st.data(),
)
def test_resume_of_any_cut_off_file_loses_and_duplicates_nothing(tmp_path, texts, bom, data):
    path = tmp_path / "preds.jsonl"
    n_done = data.draw(st.integers(0, len(texts) - 1), label="complete rows")
    head = (BOM if bom else b"") + b"".join(_row(i, t) for i, t in enumerate(texts[:n_done]))
    last = _row(n_done, texts[n_done])
    # any cut before the last line's closing brace (with it, the line is a whole row, kept as one)
    cut = data.draw(st.integers(0, len(last) - 2), label="cut")
    path.write_bytes(head + last[:cut])

    done, kept = _resume_and_finish(path, texts)

    assert kept == head
    assert done == {(f"r{i}", 0) for i in range(n_done)}
    path.read_bytes().decode("utf-8")
    rows = read_predictions(path)
    assert [(p.id, p.output) for p in rows] == [(f"r{i}", t) for i, t in enumerate(texts)]


@pytest.mark.parametrize("bom", [b"", BOM], ids=["no-bom", "bom"])
def test_whole_non_ascii_last_row_without_newline_is_kept_once(tmp_path, bom):
    # another tool's file: a BOM, and a last row that is whole but lacks its newline
    path = tmp_path / "preds.jsonl"
    whole = bom + _row(0, "café") + _row(1, "日本語 🎉").rstrip(b"\n")
    path.write_bytes(whole)

    done, kept = _resume_and_finish(path, ["café", "日本語 🎉", "naïve"])

    assert kept == whole and done == {("r0", 0), ("r1", 0)}
    assert path.read_bytes() == whole + b"\n" + _row(2, "naïve")  # the missing newline first, then the new row
    assert [p.id for p in read_predictions(path)] == ["r0", "r1", "r2"]


# --- mutation-testing follow-ups (tests/MUTANTS.md): each bad row names its line and field ---


def _read(tmp_path: Path, text: str):
    p = tmp_path / "p.jsonl"
    p.write_text(text, encoding="utf-8")
    return p, read_predictions(p)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"output": "x"}', "field 'id' is missing"),
        ('{"id": null, "output": "x"}', "field 'id' is missing"),
        ('{"id": true, "output": "x"}', "field 'id' is a bool (True); an id must be a string or a whole number"),
        ('{"id": 1.5, "output": "x"}', "field 'id' is a float (1.5)"),
        ('{"id": "a"}', "field 'output' is missing; it must be the model's output text"),
        ('{"id": "a", "output": 3}', "field 'output' is a int; it must be"),
        ('{"id": "a", "output": "x", "sample": -1}', "field 'sample' must be a generation index 0, 1, ...; got -1"),
        ('{"id": "a", "output": "x", "sample": true}', "got True"),
        ('{"id": "a", "output": "x", "sample": "0"}', "got '0'"),
        ('["id", "output"]', "expected a JSON object with 'id' and 'output', got list"),
        ('{"id": "a", "output": ', "not valid JSON"),
    ],
)
def test_a_bad_row_is_one_line_naming_file_line_and_field(tmp_path, line, message):
    from tunecheck.errors import DataError

    p = tmp_path / "p.jsonl"
    # the bad row is line 2 of 3 (complete lines: a bad line is never taken for a cut-off write)
    p.write_text('{"id": "ok", "output": "y"}\n' + line + '\n{"id": "z", "output": "w"}\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_predictions(p)
    assert str(err.value).startswith(f"{p} line 2: ")
    assert message in str(err.value)


def test_rows_keep_their_fields_location_model_and_sample(tmp_path):
    p, rows = _read(
        tmp_path,
        '{"id": 7, "output": "a", "sample": 2, "model": "m1", "reference": "r"}\n\n{"id": "b", "output": "c"}\n',
    )
    # the blank line 2 is skipped, not the end of the file
    assert [(r.id, r.output, r.sample, r.model) for r in rows] == [("7", "a", 2, "m1"), ("b", "c", 0, None)]
    assert rows[0].fields == {"id": 7, "output": "a", "sample": 2, "model": "m1", "reference": "r"}
    assert (rows[0].location, rows[1].location) == (f"{p} line 1", f"{p} line 3")


def test_writer_makes_folders_writes_utf8_unescaped_and_nan_as_null(tmp_path):
    p = tmp_path / "a" / "b" / "p.jsonl"
    with PredictionWriter(p) as w:
        w.write({"id": "1", "output": "café", "score": float("nan")})
    assert p.read_bytes() == '{"id": "1", "output": "café", "score": null}\n'.encode()


def test_writer_ends_a_whole_last_row_before_appending(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_bytes(b'{"id": "1", "output": "a"}')  # a whole row without its newline
    writer, done, _ = PredictionWriter.resume(p)
    with writer:
        writer.write({"id": "2", "output": "b"})
        writer.write({"id": "3", "output": "c"})
    assert done == {("1", 0)}
    assert p.read_bytes() == b'{"id": "1", "output": "a"}\n{"id": "2", "output": "b"}\n{"id": "3", "output": "c"}\n'
    # a new writer on a file that ends in a newline adds none
    with PredictionWriter(p) as w:
        w.write({"id": "4", "output": "d"})
    assert p.read_bytes().count(b"\n") == 4 and b"\n\n" not in p.read_bytes()


@pytest.mark.parametrize("keep", [1, 2])
def test_cut_inside_a_character_with_lead_byte_e0(tmp_path, keep):
    # Devanagari "न" is E0 A4 A8: E0 is the lowest 3-byte lead byte (a boundary of the lead-byte
    # ranges). A write cut after 1 or 2 of its bytes is a cut-off line, not bad UTF-8.
    p = tmp_path / "p.jsonl"
    whole = _row(0, "नमस्ते")
    part = b'{"id": "r1", "output": "' + "न".encode()[:keep]
    p.write_bytes(whole + part)
    assert [r.id for r in read_predictions(p)] == ["r0"]
    _, done, _ = PredictionWriter.resume(p)
    assert done == {("r0", 0)} and p.read_bytes() == whole


def test_duplicate_rows_name_both_lines(tmp_path):
    from tunecheck.errors import DataError

    p = tmp_path / "p.jsonl"
    p.write_text('{"id": "a", "output": "x"}\n{"id": "b", "output": "y"}\n{"id": "a", "output": "z"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3: id 'a' \(sample 0\) already appears on line 1; remove the duplicate"):
        read_predictions(p)


def test_resume_of_a_new_file_starts_without_a_blank_line(tmp_path):
    p = tmp_path / "new.jsonl"
    writer, done, rows = PredictionWriter.resume(p)
    with writer:
        writer.write({"id": "1", "output": "a"})
    assert (done, rows) == (set(), [])
    assert p.read_bytes() == b'{"id": "1", "output": "a"}\n'


def test_writer_fsyncs_every_64_rows_and_on_close(tmp_path, monkeypatch):
    # a killed run loses at most what the OS had not written: fsync after every 64th row
    import tunecheck.data._predictions as mod

    calls = []
    monkeypatch.setattr(mod.os, "fsync", lambda fd: calls.append(fd))
    w = PredictionWriter(tmp_path / "p.jsonl")
    for i in range(63):
        w.write({"id": str(i), "output": "x"})
    assert calls == []
    w.write({"id": "63", "output": "x"})
    assert len(calls) == 1
    for i in range(64, 128):
        w.write({"id": str(i), "output": "x"})
    assert len(calls) == 2
    w.close()
    assert len(calls) == 3
