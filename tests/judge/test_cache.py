"""The judge-call cache file: keys, hits and misses, reopening, threads, bad files, location."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from tunecheck.data import Message
from tunecheck.errors import DataError
from tunecheck.judge._cache import CachedCall, JudgeCache, call_key, default_cache_path

JUDGE = {"name": "openai:gpt-j", "location": "gpt-j", "base_url": "http://127.0.0.1:8000/v1", "backend": "openai"}
MESSAGES = [{"role": "system", "content": "You grade answers."}, {"role": "user", "content": "Grade: « café »"}]
PARAMS = {"temperature": 0.0, "max_tokens": 256, "top_p": 1.0, "seed": 7, "logprobs": True}


# -- keys ------------------------------------------------------------------------------------------
def test_key_is_sha256_of_the_canonical_json_written_by_hand() -> None:
    # sorted keys at every level, no spaces, non-ASCII as is, 0.0 written as 0, format 1 included
    canonical = (
        '{"format":1,"judge":{"backend":"openai","name":"j"},'
        '"messages":[{"content":"née","role":"user"}],"params":{"max_tokens":8,"temperature":0,"top_p":0.5}}'
    )
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    got = call_key({"name": "j", "backend": "openai"}, [{"role": "user", "content": "née"}],
                   {"top_p": 0.5, "temperature": 0.0, "max_tokens": 8})
    assert got == expected


def test_dict_order_does_not_change_the_key() -> None:
    key = call_key(JUDGE, MESSAGES, PARAMS)
    judge = dict(reversed(list(JUDGE.items())))
    messages = [dict(reversed(list(m.items()))) for m in MESSAGES]
    params = dict(reversed(list(PARAMS.items())))
    assert call_key(judge, messages, params) == key
    # 0 and 0.0 are one temperature; a tuple of messages is the same prompt as a list
    assert call_key(JUDGE, tuple(MESSAGES), {**PARAMS, "temperature": 0}) == key
    # tunecheck's own Message (what GenerationRequest.messages holds) is the same message as its dict
    assert call_key(JUDGE, [Message(m["role"], m["content"]) for m in MESSAGES], PARAMS) == key


@pytest.mark.parametrize(
    "judge, messages, params",
    [
        ({**JUDGE, "location": "gpt-k"}, MESSAGES, PARAMS),  # another model
        ({**JUDGE, "base_url": "http://127.0.0.1:9000/v1"}, MESSAGES, PARAMS),  # served elsewhere
        ({**JUDGE, "dtype": "bfloat16"}, MESSAGES, PARAMS),  # one more identity field
        (JUDGE, [MESSAGES[0], {"role": "user", "content": "Grade: « cafe »"}], PARAMS),  # one character
        (JUDGE, MESSAGES[1:], PARAMS),  # the system prompt dropped
        (JUDGE, [{**MESSAGES[0], "role": "user"}, MESSAGES[1]], PARAMS),  # a role
        (JUDGE, list(reversed(MESSAGES)), PARAMS),  # message order matters
        (JUDGE, MESSAGES, {**PARAMS, "temperature": 0.7}),
        (JUDGE, MESSAGES, {**PARAMS, "max_tokens": 257}),
        (JUDGE, MESSAGES, {**PARAMS, "top_p": 0.9}),
        (JUDGE, MESSAGES, {**PARAMS, "seed": 8}),
        (JUDGE, MESSAGES, {**PARAMS, "logprobs": False}),
        (JUDGE, MESSAGES, {**PARAMS, "top_logprobs": 5}),  # a parameter added
        (JUDGE, MESSAGES, {**PARAMS, "repeat": 1}),  # the second of --repeats N samples
    ],
)
def test_each_part_changes_the_key(judge: dict[str, Any], messages: list[dict[str, str]], params: dict[str, Any]) -> None:
    assert call_key(judge, messages, params) != call_key(JUDGE, MESSAGES, PARAMS)


def test_the_format_version_is_in_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from tunecheck.judge import _cache

    key = call_key(JUDGE, MESSAGES, PARAMS)
    monkeypatch.setattr(_cache, "CACHE_FORMAT", 2)
    assert call_key(JUDGE, MESSAGES, PARAMS) != key


def test_a_value_that_is_not_json_is_refused() -> None:
    with pytest.raises(TypeError, match="set is not JSON"):
        call_key(JUDGE, MESSAGES, {"stop": {"\n"}})
    with pytest.raises(ValueError):
        call_key(JUDGE, MESSAGES, {"temperature": float("nan")})


# -- get / put -------------------------------------------------------------------------------------
def test_miss_then_hit_and_stats(tmp_path: Path) -> None:
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        assert cache.get("k1") is None
        assert cache.put("k1", CachedCall("4", {"finish_reason": "stop"}, 120, 1)) is True
        got = cache.get("k1")
        assert got is not None and (got.text, dict(got.extras), got.prompt_tokens, got.completion_tokens) == (
            "4", {"finish_reason": "stop"}, 120, 1)
        assert cache.get("k2") is None
        stats = cache.stats()
        assert (stats.hits, stats.misses, stats.stored, stats.entries) == (1, 2, 1, 1)


def test_a_stored_key_keeps_its_first_answer(tmp_path: Path) -> None:
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        assert cache.put("k", CachedCall("first")) is True
        assert cache.put("k", CachedCall("second")) is False
        got = cache.get("k")
        assert got is not None and got.text == "first"
        assert cache.stats().stored == 1


def test_calls_persist_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "cache.sqlite"  # folders are created
    logprobs = {"content": [{"token": "4", "logprob": -0.25, "top_logprobs": [{"token": "5", "logprob": -1.5}]}]}
    with JudgeCache(path) as cache:
        cache.put("k", CachedCall('{"score": 4, "why": "précis"}', {"logprobs": logprobs}, None, 9))
    with JudgeCache(path) as cache:
        got = cache.get("k")
        assert got is not None
        assert got.text == '{"score": 4, "why": "précis"}'
        assert dict(got.extras) == {"logprobs": logprobs}
        assert (got.prompt_tokens, got.completion_tokens) == (None, 9)
        assert isinstance(got.created, float)
        assert cache.stats().entries == 1 and cache.stats().stored == 0  # counters are per object


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    JudgeCache(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent: a new connection sees it
    finally:
        conn.close()


def test_two_threads_hammering_put_and_get(tmp_path: Path) -> None:
    threads_n, keys_n = 8, 50
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []
    with JudgeCache(tmp_path / "c.sqlite") as cache:

        def work(t: int) -> None:
            try:
                start.wait()
                for i in range(keys_n):
                    key = f"t{t}-{i}"
                    assert cache.get(key) is None
                    cache.put(key, CachedCall(f"answer {t} {i}", {"i": i}, i, t))
                    got = cache.get(key)
                    assert got is not None and got.text == f"answer {t} {i}" and got.extras == {"i": i}
                    cache.put("shared", CachedCall(f"from {t}"))  # all threads race on one key
            except BaseException as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        stats = cache.stats()
        # 8*50 = 400 misses and 400 hits; 400 rows plus the one "shared" row written once
        assert (stats.hits, stats.misses, stats.stored, stats.entries) == (400, 400, 401, 401)


# -- files that are not a judge cache --------------------------------------------------------------
def _one_line(err: pytest.ExceptionInfo[DataError], path: Path) -> str:
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_a_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes\n" * 100)
    with pytest.raises(DataError) as err:
        JudgeCache(path)
    msg = _one_line(err, path)
    assert "not a tunecheck judge cache" in msg and "use another cache path" in msg
    assert path.read_text() == "these are my notes\n" * 100


def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(DataError) as err:
        JudgeCache(path)
    assert "an SQLite database of something else" in _one_line(err, path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["users"]
    finally:
        conn.close()


def test_a_cache_from_a_newer_tunecheck_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    JudgeCache(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(DataError) as err:
        JudgeCache(path)
    msg = _one_line(err, path)
    assert "schema version 2 was written by a newer tunecheck (this one reads 1); upgrade tunecheck" in msg


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        JudgeCache(tmp_path)
    assert "is a directory" in _one_line(err, tmp_path)


def test_an_empty_file_becomes_a_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.touch()  # e.g. made by `touch` or a mktemp: an empty SQLite database
    with JudgeCache(path) as cache:
        cache.put("k", CachedCall("x"))
    with JudgeCache(path) as cache:
        assert cache.stats().entries == 1


# -- where ----------------------------------------------------------------------------------------
def test_default_location_under_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "tunecheck" / "judge" / "cache.sqlite"


@pytest.mark.parametrize("xdg", [None, ""])
def test_default_location_without_xdg_is_home_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdg: str | None) -> None:
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / ".cache" / "tunecheck" / "judge" / "cache.sqlite"


def test_a_path_whose_folder_cannot_be_made_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    path = blocker / "judge" / "cache.sqlite"
    with pytest.raises(DataError) as err:
        JudgeCache(path)
    assert "cannot use the judge cache" in _one_line(err, path)


def test_a_corrupt_cache_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with JudgeCache(path) as cache:
        cache.put("k", CachedCall("x"))
    data = bytearray(path.read_bytes())
    data[:16] = b"not sqlite at al"  # the header is gone
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        JudgeCache(path)
    assert "not a tunecheck judge cache (not a readable SQLite database" in _one_line(err, path)
