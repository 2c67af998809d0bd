"""The judge cache across processes: a writer killed with SIGKILL leaves a sound file holding every
call it had committed, and two processes can write one file at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import tunecheck
from tunecheck.judge._cache import CachedCall, JudgeCache

# puts one call per loop and prints its index only after put() returned (= committed)
WRITER = """
import sys
from tunecheck.judge._cache import CachedCall, JudgeCache
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if sys.argv[4:] == ["wait"]:
    sys.stdin.readline()  # all started: open the file together
cache = JudgeCache(path)
i = 0
while n == 0 or i < n:
    cache.put(f"{prefix}{i}", CachedCall(f"réponse {i} " * 40, {"logprobs": [-0.5, -i]}, 100 + i, i))
    print(i, flush=True)
    i += 1
cache.close()
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _writer(path: Path, prefix: str, n: int, *, wait: bool = False) -> subprocess.Popen[str]:
    src = str(Path(tunecheck.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), prefix, str(n), *(["wait"] if wait else [])],
                            stdin=subprocess.PIPE if wait else None, stdout=subprocess.PIPE, text=True, env=env)


def test_a_writer_killed_with_sigkill_leaves_every_committed_call(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    proc = _writer(path, "k", 0)  # writes until killed
    assert proc.stdout is not None
    committed: list[int] = []
    try:
        for line in proc.stdout:
            committed.append(int(line))
            if len(committed) == 200:
                os.kill(proc.pid, signal.SIGKILL)
                break
        committed += [int(line) for line in proc.stdout]  # lines printed before the kill landed
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert committed == list(range(len(committed))) and len(committed) >= 200

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    with JudgeCache(path) as cache:
        for i in committed:
            got = cache.get(f"k{i}")
            assert got is not None, f"committed call k{i} lost"
            assert (got.text, dict(got.extras), got.prompt_tokens, got.completion_tokens) == (
                f"réponse {i} " * 40, {"logprobs": [-0.5, -i]}, 100 + i, i)
        # the call in flight at the kill may or may not have committed; nothing else is there
        assert cache.stats().entries in (len(committed), len(committed) + 1)
        cache.put("after", CachedCall("the file takes new calls"))
        assert cache.get("after") is not None


def test_two_processes_write_one_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    n = 300
    proc = _writer(path, "a", n)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "0"  # the other process is writing: start too
        with JudgeCache(path) as cache:
            for i in range(n):
                cache.put(f"b{i}", CachedCall(f"b {i}"))
                assert cache.get(f"b{i}") is not None
        rest = proc.stdout.read().split()
        assert proc.wait() == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert rest == [str(i) for i in range(1, n)]
    with JudgeCache(path) as cache:
        assert cache.stats().entries == 2 * n
        assert all(cache.get(f"{p}{i}") is not None for p in "ab" for i in range(n))


def test_processes_creating_one_new_file_at_once_share_it(tmp_path: Path) -> None:
    path = tmp_path / "new" / "cache.sqlite"  # none of them finds a file: all try to create it
    procs = [_writer(path, f"p{j}-", 50, wait=True) for j in range(4)]
    try:
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate()[0].split() for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert outs == [[str(i) for i in range(50)]] * 4
    with JudgeCache(path) as cache:
        assert cache.stats().entries == 200
        assert all(cache.get(f"p{j}-{i}") is not None for j in range(4) for i in range(50))
