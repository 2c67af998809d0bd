"""`import tunecheck`, the command line and every layer load no heavy library until a command
needs it, so `--help` and the errors that need no model answer at once (the timings are in
benchmarks/startup.py, not here). Each check runs in a fresh interpreter: this test process has
long since imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "transformers", "datasets", "peft", "trl", "scipy", "sklearn", "matplotlib", "plotly",
         "sacrebleu", "datasketch", "pandas", "pyarrow", "openai", "vllm")

_REPORT = f"import json, sys; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"


def _heavy_loaded(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", f"{code}\n{_REPORT}"], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_import_tunecheck_and_its_cli_load_no_heavy_library() -> None:
    assert _heavy_loaded("import tunecheck") == []
    assert _heavy_loaded("import tunecheck.cli") == []


def test_every_layer_package_imports_without_a_heavy_library() -> None:
    # a command imports its layer before it checks its inputs
    layers = ("data", "models", "stats", "metrics", "perplexity", "generation", "scoring", "hygiene",
              "overfitting", "verdict", "render", "demo")
    assert _heavy_loaded("\n".join(f"import tunecheck.{m}" for m in layers)) == []


def test_errors_that_need_no_model_load_no_heavy_library(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "cut off\n', encoding="utf-8")
    missing = str(tmp_path / "missing.jsonl")
    calls = [
        ["perplexity", "-m", "x", "-d", missing],
        ["perplexity", "-m", "x", "-d", str(bad)],
        ["perplexity", "-m", "x", "-d", str(bad), "--no-such-option"],
        ["overfit", "-m", "x", "--train", str(bad), "--eval", str(bad)],
        ["generate", "-m", "x", "-d", missing, "-o", str(tmp_path / "p.jsonl")],
        ["score", "-t", "qa", "-p", str(bad)],
        ["curves", missing],
        ["sweep", str(tmp_path), "--eval", missing],
        ["overlap", "--train", str(bad), "--eval", str(bad)],
        ["diversity", "-p", str(bad)],
        ["memorisation", "copying", "-p", str(bad), "--train", str(bad)],
        ["memorisation", "extraction", "-m", "x", "--train", str(bad)],
        ["memorisation", "membership", "-m", "x", "--train", str(bad), "--eval", str(bad)],
        ["verdict", missing],
    ]
    code = "\n".join([
        "import contextlib, io, sys",
        "from tunecheck.cli import main",
        "codes = []",
        f"for argv in {calls!r}:",
        "    sys.argv = ['tunecheck', *argv]",
        "    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):",
        "        try:",
        "            main()",
        "        except SystemExit as stop:",
        "            codes.append(stop.code)",
        f"assert codes == [2] * {len(calls)}, codes",
    ])
    assert _heavy_loaded(code) == []
