"""How fast tunecheck answers before any model work (target: under 1 s each).

    .venv/bin/python benchmarks/startup.py [--repeats 5]

Wall time of a fresh process (`python -m tunecheck ...`, what the console script runs) for
`--help`, every subcommand's `--help`, errors that need no model (a missing file, a bad option,
malformed data) and `import tunecheck`; `python -c pass` in the same run is the interpreter's
own start, the floor. Median of --repeats runs per case, the cases interleaved round by round
(so a slow phase of a shared machine hits them alike), with bytecode compiled once as an installed
package has it (`--no-bytecode`: compile every module at each start). Not a test: the numbers depend on the
machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def commands() -> list[list[str]]:
    """Every command of the app, sub-apps' commands under their group (`memorisation copying`)."""
    import typer.main

    from tunecheck.cli import app

    group = typer.main.get_command(app)
    out: list[list[str]] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        if getattr(cmd, "hidden", False):
            continue
        subs = getattr(cmd, "commands", None)
        out.extend([[name, sub] for sub in subs] if subs else [[name]])
    return out


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    py, tc = [sys.executable], [sys.executable, "-m", "tunecheck"]
    bad = tmp / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "cut off\n', encoding="utf-8")
    return [
        ("python -c pass (floor)", [*py, "-c", "pass"]),
        ("import tunecheck", [*py, "-c", "import tunecheck"]),
        ("import tunecheck.cli", [*py, "-c", "import tunecheck.cli"]),
        ("tunecheck --help", [*tc, "--help"]),
        *[(f"tunecheck {' '.join(c)} --help", [*tc, *c, "--help"]) for c in commands()],
        ("missing file: perplexity --data /nonexistent.jsonl", [*tc, "perplexity", "-m", "x", "-d", "/nonexistent.jsonl"]),
        ("bad option: perplexity --no-such-option", [*tc, "perplexity", "-m", "x", "-d", str(bad), "--no-such-option"]),
        ("bad value: perplexity --stride -1", [*tc, "perplexity", "-m", "x", "-d", str(bad), "--stride", "-1"]),
        ("malformed data: perplexity --data bad.jsonl", [*tc, "perplexity", "-m", "x", "-d", str(bad)]),
        ("malformed data: score --preds bad.jsonl", [*tc, "score", "-t", "qa", "-p", str(bad)]),
    ]


def wall(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run; CPU time is what a busy machine
    inflates least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-bytecode", action="store_true", help="compile every module on every start (PYTHONDONTWRITEBYTECODE)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        todo = cases(Path(tmp))
        # bytecode compiled once, as an installed package has it (kept in the temporary folder,
        # also where PYTHONDONTWRITEBYTECODE is set: compiling every module each time is slower)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if not args.no_bytecode:
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in todo}
        for _name, argv in todo:  # warm-up: the file system cache, the bytecode
            wall(argv, env)
        for _ in range(args.repeats):
            for name, argv in todo:
                times[name].append(wall(argv, env))
    def med(name: str, k: int) -> float:
        return statistics.median(t[k] for t in times[name])

    floor = med(todo[0][0], 0)
    width = max(len(name) for name, _ in todo)
    print(f"{'case':<{width}}  wall s (median)  above floor  slowest  CPU s (median)")
    for name, _ in todo:
        print(f"{name:<{width}}  {med(name, 0):15.3f}  {med(name, 0) - floor:11.3f}  {max(t[0] for t in times[name]):7.3f}  {med(name, 1):14.3f}")
    how = "no bytecode: every module compiled at each start" if args.no_bytecode else "bytecode compiled once"
    print(f"\n{args.repeats} runs per case ({how}), {sys.executable}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
