"""The real `tunecheck` command, run as a subprocess: user errors are one line and exit 2.

evaluate_perplexity validates the config, then loads the data, then each model; so a bad
data file is reported before the (also bad) model string is looked at. No model is loaded:
every case fails before any weights are read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _executable() -> str:
    beside = Path(sys.executable).parent / "tunecheck"
    if beside.exists():
        return str(beside)
    found = shutil.which("tunecheck")
    if found is None:  # pragma: no cover - the package is installed with its console script
        pytest.fail("the tunecheck console script is not installed (pip install -e .)")
    return found


def tunecheck(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        COLUMNS="200",  # wide enough that Rich does not wrap help text or error lines
        NO_COLOR="1",
    )
    return subprocess.run(
        [_executable(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the run was a clean user error; return its one stderr line."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_text('{"text": "hello"}\n{"text": "world"}\n', encoding="utf-8")
    return path


def test_missing_model_is_one_line_exit_2(tmp_path: Path, data_file: Path) -> None:
    result = tunecheck(tmp_path, "perplexity", "--model", "./does-not-exist", "--data", data_file.name)
    line = one_error_line(result)
    assert line == "error: ./does-not-exist: no such directory (check the path)"
    assert result.stdout.strip() == ""


# Regression test (was a bug found in review).
def test_error_is_exactly_one_line_on_stderr(tmp_path: Path, data_file: Path) -> None:
    result = tunecheck(tmp_path, "perplexity", "--model", "./does-not-exist", "--data", data_file.name)
    assert result.stderr == "error: ./does-not-exist: no such directory (check the path)\n"


def test_malformed_data_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{"text": "b"}\n{"text": oops}\n', encoding="utf-8")
    # The model is bad too, but the data is loaded first.
    result = tunecheck(tmp_path, "perplexity", "--model", "./does-not-exist", "--data", "bad.jsonl")
    line = one_error_line(result)
    assert line.startswith("error: bad.jsonl line 3: invalid JSON")


def test_bad_format(tmp_path: Path, data_file: Path) -> None:
    result = tunecheck(tmp_path, "perplexity", "--model", "m", "--data", data_file.name, "--format", "xml")
    line = one_error_line(result)
    assert line == "error: --format 'xml': use table or json"


def test_debug_shows_traceback(tmp_path: Path, data_file: Path) -> None:
    result = tunecheck(
        tmp_path, "--debug", "perplexity", "--model", "./does-not-exist", "--data", data_file.name
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "ModelError: ./does-not-exist: no such directory" in result.stderr


def test_help_lists_commands(tmp_path: Path) -> None:
    result = tunecheck(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("perplexity", "overfit", "demo"):
        assert command in result.stdout
    assert "--debug" in result.stdout


def test_directory_that_is_not_a_model(tmp_path: Path, data_file: Path) -> None:
    (tmp_path / "out").mkdir()
    result = tunecheck(tmp_path, "perplexity", "--model", "./out", "--data", data_file.name)
    line = one_error_line(result)
    assert line.startswith("error: ./out: directory is not a model")
    assert "not a model" in line


def test_debug_after_the_command_also_shows_traceback(tmp_path: Path, data_file: Path) -> None:
    result = tunecheck(tmp_path, "perplexity", "--model", "./does-not-exist", "--data", data_file.name, "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr
