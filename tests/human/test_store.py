"""The answers store: every answer committed at once, the latest counts, every change kept,
several writers, a SIGKILLed writer loses nothing it committed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import tunecheck
from tunecheck.errors import DataError
from tunecheck.human import AnswerStore, blind_order, items_from_predictions


def test_save_latest_counts_and_history_keeps_every_change(tmp_path: Path) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as s:
        s.save("ana", "q1", "ab", {"choice": "A", "shown": ["base", "tuned"], "note": ""})
        s.save("ana", "q1", "ab", {"choice": "tie", "shown": ["base", "tuned"], "note": "on second thought"})
        s.save("bob", "q1", "rubric", {"scores": {"accuracy": 4}, "note": ""}, model="tuned")
        [a] = s.answers("ana")
        assert a.payload["choice"] == "tie" and a.revisions == 2
        assert [h[4]["choice"] for h in s.history("ana")] == ["A", "tie"]
        assert s.annotators() == ["ana", "bob"]
        assert s.get("bob", "q1", "rubric", model="tuned").payload["scores"] == {"accuracy": 4}  # type: ignore[union-attr]
    with AnswerStore(tmp_path / "a.sqlite") as again:  # reopened: all there
        assert len(again.answers()) == 2 and len(again.history()) == 3


@pytest.mark.parametrize(("kind", "payload", "message"), [
    ("ab", {"choice": "C", "shown": ["a", "b"]}, "field 'choice' is 'C'"),
    ("ab", {"choice": "A", "shown": ["a"]}, "field 'shown'"),
    ("rubric", {"scores": {"accuracy": 4.5}}, "whole-number score"),
    ("rubric", {"scores": {"accuracy": True}}, "whole-number score"),
    ("rubric", {"scores": {"a": 1}, "note": 3}, "field 'note'"),
    ("grade", {}, "answer kind 'grade'"),
])
def test_bad_answers_are_refused(tmp_path: Path, kind: str, payload: dict[str, object], message: str) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as s, pytest.raises(DataError, match=message):
        s.save("ana", "q1", kind, payload)


def test_annotator_names(tmp_path: Path) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as s:
        with pytest.raises(DataError, match="annotator name"):
            s.save("  ", "q1", "ab", {"choice": "A", "shown": ["a", "b"]})
        s.save("  ana ", "q1", "ab", {"choice": "A", "shown": ["a", "b"]})
        assert s.annotators() == ["ana"]


def test_not_an_answers_store(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(DataError, match="not a tunecheck answers store"):
        AnswerStore(other)
    (tmp_path / "junk.sqlite").write_text("not sqlite at all" * 100)
    with pytest.raises(DataError, match="not a readable answers store"):
        AnswerStore(tmp_path / "junk.sqlite")


def test_threads_write_at_once(tmp_path: Path) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as s:
        def work(who: str) -> None:
            for i in range(50):
                s.save(who, f"q{i}", "ab", {"choice": "B", "shown": ["a", "b"]})
        threads = [threading.Thread(target=work, args=(n,)) for n in ("ana", "bob", "cy")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(s.answers()) == 150


WRITER = """
import sys
from tunecheck.human import AnswerStore
s = AnswerStore(sys.argv[1])
i = 0
while True:
    s.save("ana", f"q{i}", "ab", {"choice": "A", "shown": ["a", "b"], "note": ""})
    print(i, flush=True)
    i += 1
"""


def test_a_killed_writer_loses_nothing_it_committed(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(tunecheck.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "a.sqlite")], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    done = [int(proc.stdout.readline()) for _ in range(30)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    with AnswerStore(tmp_path / "a.sqlite") as s:
        saved = {a.item_id for a in s.answers()}
    assert {f"q{i}" for i in done} <= saved  # every answer reported saved is there


def test_blind_order_is_random_per_item_and_stable() -> None:
    orders = [blind_order(f"q{i}", ["base", "tuned"]) for i in range(200)]
    firsts = sum(o[0] == "base" for o in orders)
    assert 70 < firsts < 130  # a fair coin: 100 +- 3 sd (sd = 7.1)
    assert orders == [blind_order(f"q{i}", ["base", "tuned"]) for i in range(200)]
    assert blind_order("q1", ["base", "tuned"], seed=1) in {("base", "tuned"), ("tuned", "base")}


def test_items_from_predictions(tmp_path: Path) -> None:
    def write(name: str, rows: list[dict[str, object]]) -> str:
        p = tmp_path / name
        p.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return str(p)

    a = write("base.jsonl", [{"id": i, "output": f"b{i}", "prompt": f"Q{i}", "reference": f"R{i}", "category": "x"} for i in range(3)])
    b = write("tuned.jsonl", [{"id": i, "output": f"t{i}", "prompt": f"Q{i}"} for i in (2, 1)])
    items = items_from_predictions([a, b])
    assert [(i.id, i.prompt, i.reference, i.outputs, i.category) for i in items] == [
        ("1", "Q1", "R1", {"base": "b1", "tuned": "t1"}, "x"), ("2", "Q2", "R2", {"base": "b2", "tuned": "t2"}, "x"),
    ]


def test_a_store_is_bound_to_one_task(tmp_path: Path) -> None:
    from tunecheck.errors import ConfigError

    with AnswerStore(tmp_path / "a.sqlite") as s:
        s.bind("ab", ["base", "tuned"])
        s.bind("ab", ["base", "tuned"])  # the same task again: fine (a resumed session)
        with pytest.raises(ConfigError, match=r"holds answers for another task \(ab: base, tuned, seed 0\); use another --store"):
            s.bind("ab", ["base", "tuned-v2"])
        with pytest.raises(ConfigError, match="another task"):
            s.bind("ab", ["base", "tuned"], seed=1)  # another blind order would mislabel the answers
