"""The store's answers out in the interchange format: rows by hand, and read back by load_human
(the loader the sheets, the results and `judge --human` share) for both kinds and every format."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunecheck.errors import ConfigError
from tunecheck.human._export import answer_rows, write_answers
from tunecheck.human._store import AnswerStore
from tunecheck.judge import load_rubric
from tunecheck.judge._human import load_human


def ab_store(path: Path) -> AnswerStore:
    s = AnswerStore(path)
    s.save("ana", "q1", "ab", {"choice": "A", "shown": ["tuned", "base"], "note": ""})
    s.save("ana", "q2", "ab", {"choice": "B", "shown": ["tuned", "base"], "note": "shorter, \"right\""})
    s.save("bob", "q1", "ab", {"choice": "tie", "shown": ["base", "tuned"], "note": ""})
    s.save("ana", "q1", "ab", {"choice": "B", "shown": ["tuned", "base"], "note": ""})  # changed: the latest counts
    return s


def test_ab_rows_name_the_winner_in_the_order_shown(tmp_path: Path) -> None:
    with ab_store(tmp_path / "a.sqlite") as s:
        assert answer_rows(s, "ab") == [
            # q1 by ana: shown tuned (A), base (B); last answer B -> base wins
            {"id": "q1", "model_a": "tuned", "model_b": "base", "choice": "base", "annotator": "ana", "note": ""},
            {"id": "q2", "model_a": "tuned", "model_b": "base", "choice": "base", "annotator": "ana", "note": "shorter, \"right\""},
            {"id": "q1", "model_a": "base", "model_b": "tuned", "choice": "tie", "annotator": "bob", "note": ""},
        ]
        assert [r["annotator"] for r in answer_rows(s, "ab", annotator="bob")] == ["bob"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl"])
def test_ab_export_reads_back(suffix: str, tmp_path: Path) -> None:
    with ab_store(tmp_path / "a.sqlite") as s:
        assert write_answers(s, tmp_path / f"out{suffix}") == 3
    got = load_human(tmp_path / f"out{suffix}")
    assert got.kind == "choices" and got.annotators == ("ana", "bob")
    assert [(c.id, c.model_a, c.model_b, c.winner, c.annotator) for c in got.choices] == [
        ("q1", "tuned", "base", "base", "ana"), ("q2", "tuned", "base", "base", "ana"), ("q1", "base", "tuned", None, "bob")]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_rubric_export_reads_back_against_the_rubric(suffix: str, tmp_path: Path) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as s:
        s.save("ana", "q1", "rubric", {"scores": {"accuracy": 4, "fluency": 5}, "note": "ok"}, model="tuned")
        s.save("ana", "q1", "rubric", {"scores": {"accuracy": 2, "fluency": 3}, "note": ""}, model="base")
        assert answer_rows(s, "rubric")[0] == {"id": "q1", "model": "tuned", "criterion": "accuracy", "score": 4,
                                               "annotator": "ana", "note": "ok"}
        assert write_answers(s, tmp_path / f"r{suffix}") == 4  # kind: the one the store holds
    got = load_human(tmp_path / f"r{suffix}", load_rubric("quality-5"))
    assert [(h.id, h.model, h.criterion, h.score, h.annotator) for h in got.scores] == [
        ("q1", "tuned", "accuracy", 4.0, "ana"), ("q1", "tuned", "fluency", 5.0, "ana"),
        ("q1", "base", "accuracy", 2.0, "ana"), ("q1", "base", "fluency", 3.0, "ana")]


def test_export_refusals(tmp_path: Path) -> None:
    with ab_store(tmp_path / "a.sqlite") as s:
        with pytest.raises(ConfigError, match=r"--export .*out.txt: unknown format \.txt; use \.csv, \.tsv, \.json, \.jsonl"):
            write_answers(s, tmp_path / "out.txt")
        with pytest.raises(ConfigError, match="answer kind 'grades'"):
            answer_rows(s, "grades")
        s.save("ana", "q1", "rubric", {"scores": {"accuracy": 4}, "note": ""}, model="tuned")
        with pytest.raises(ConfigError, match="holds both rubric and A/B answers"):
            write_answers(s, tmp_path / "out.csv")
        assert write_answers(s, tmp_path / "out.csv", kind="rubric") == 1
    assert not list(tmp_path.glob(".out*"))  # no temporary file left behind


def test_an_empty_store_exports_a_header_only(tmp_path: Path) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as s:
        assert write_answers(s, tmp_path / "out.csv") == 0
    assert (tmp_path / "out.csv").read_text() == "id,model_a,model_b,choice,annotator,note\n"
