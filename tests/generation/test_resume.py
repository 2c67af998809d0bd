"""Kill a real `tunecheck generate` mid-run, run the same command again: no row lost or doubled.
Also the predictions reader: a cut-off last line is tolerated, real damage is reported by line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.test_cli_errors import _executable, tunecheck
from tests.conftest import CORPUS
from tests.schema import assert_valid_result
from tunecheck.data import PredictionWriter, read_predictions
from tunecheck.errors import DataError


def _data(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "data.jsonl"
    rows = [{"id": f"p{i}", "prompt": CORPUS[i % len(CORPUS)][:18], "completion": "x"} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _start(cwd: Path, model: Path, data: Path, out: str) -> subprocess.Popen[str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    args = [_executable(), "generate", "-m", str(model), "-d", str(data), "-o", out, "--batch-size", "1", "--max-new-tokens", "24"]
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(proc: subprocess.Popen[str], path: Path, rows: int) -> None:
    deadline = time.monotonic() + 120
    while _lines(path) < rows:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "generation did not start"
        time.sleep(0.05)


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path, model_dirs):
    n = 40
    data = _data(tmp_path, n)
    out = tmp_path / "preds.jsonl"
    proc = _start(tmp_path, model_dirs["base"], data, str(out))
    _wait_for_rows(proc, out, 5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    before = out.read_bytes()
    kept = before[: before.rfind(b"\n") + 1]
    done = kept.count(b"\n")
    assert 5 <= done < n, "the run finished before it could be killed"
    # a write cut off mid-line, as a kill during write() leaves it
    with out.open("ab") as f:
        f.write(b'{"id": "p39", "sample": 0, "outp')

    result = tunecheck(tmp_path, "generate", "-m", str(model_dirs["base"]), "-d", str(data), "-o", str(out),
                       "--batch-size", "1", "--max-new-tokens", "24", "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert_valid_result(summary)
    [model] = summary["models"]
    assert model["details"]["already_done"] == done and model["details"]["generated"] == n - done
    # the predictions file holds every row now: the earlier run's and this one's
    assert [(d["role"], d["n"]) for d in summary["data"]] == [("eval", n), ("predictions", n)]
    after = out.read_bytes()
    assert after.startswith(kept)  # finished rows untouched
    rows = read_predictions(out)
    assert sorted(p.id for p in rows) == sorted(f"p{i}" for i in range(n))

    # the resumed file holds what one uninterrupted run writes
    fresh = tmp_path / "fresh.jsonl"
    result = tunecheck(tmp_path, "generate", "-m", str(model_dirs["base"]), "-d", str(data), "-o", str(fresh),
                       "--batch-size", "1", "--max-new-tokens", "24")
    assert result.returncode == 0, result.stderr
    assert {p.id: p.output for p in rows} == {p.id: p.output for p in read_predictions(fresh)}


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, model_dirs):
    data = _data(tmp_path, 40)
    out = tmp_path / "preds.jsonl"
    proc = _start(tmp_path, model_dirs["base"], data, str(out))
    _wait_for_rows(proc, out, 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "run the same command again to continue" in err and "Traceback" not in err
    read_predictions(out)  # every line it left is whole


def test_reader_tolerates_a_cut_off_last_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "output": "a"}\n{"id": 2, "output": "b"}\n{"id": 3, "out', encoding="utf-8")
    assert [p.id for p in read_predictions(path)] == ["1", "2"]
    writer, done, rows = PredictionWriter.resume(path)
    assert done == {("1", 0), ("2", 0)} and len(rows) == 2
    with writer:
        writer.write({"id": 3, "output": "c"})
    assert path.read_text(encoding="utf-8").splitlines()[-1] == '{"id": 3, "output": "c"}'
    assert [p.id for p in read_predictions(path)] == ["1", "2", "3"]


def test_a_whole_last_row_without_newline_counts(tmp_path):
    """Files from other tools often end without a newline: the last row is a row."""
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "output": "a"}\n{"id": 2, "output": "b"}', encoding="utf-8")
    assert [p.id for p in read_predictions(path)] == ["1", "2"]
    writer, done, _ = PredictionWriter.resume(path)
    assert done == {("1", 0), ("2", 0)}
    with writer:
        writer.write({"id": 3, "output": "c"})
    assert [p.id for p in read_predictions(path)] == ["1", "2", "3"]
    assert path.read_text(encoding="utf-8").endswith('"b"}\n{"id": 3, "output": "c"}\n')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": 1, "output": "a"}\nnot json\n{"id": 2, "output": "b"}\n', "line 2: not valid JSON"),
        ('{"id": 1, "output": "a"}\n{"output": "b"}\n', "line 2: field 'id' is missing"),
        ('{"id": 1}\n', "line 1: field 'output' is missing"),
        ('{"id": 1, "output": 5}\n', "line 1: field 'output' is a int"),
        ('{"id": 1, "output": "a"}\n{"id": 1, "output": "b"}\n', "line 2: id '1' (sample 0) already appears on line 1"),
        ('{"id": 1, "output": "a", "sample": -1}\n', "line 1: field 'sample' must be a generation index"),
        ("", "no predictions in the file"),
    ],
)
def test_reader_names_the_line_and_field(tmp_path, text, message):
    path = tmp_path / "p.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_predictions(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)
