"""Bring your own lm-evaluation-harness runs: an output folder of `lm_eval ... --output_path DIR
--log_samples` (its `results_DATE.json` and `samples_TASK_DATE.jsonl`) read as the regression
check's `BenchRun`, so two runs compare without running anything again. The comparison itself
refuses runs whose task versions, few-shot settings or documents differ (`_samples.check_pair`)."""

from __future__ import annotations

import json
from pathlib import Path

from tunecheck._files import jsonl_lines, read_text
from tunecheck.bench._samples import BenchRun, TaskSamples, from_lm_eval_samples
from tunecheck.errors import DataError


def _results_file(folder: Path) -> Path:
    if folder.is_file() and folder.name.startswith("results") and folder.suffix == ".json":
        return folder
    if not folder.is_dir():
        raise DataError(f"{folder}: no such lm-evaluation-harness output folder (check the path)")
    found = sorted(folder.rglob("results*.json"))
    if not found:
        raise DataError(f"{folder}: no results_*.json in it; pass the --output_path folder of an lm_eval run")
    parents = {p.parent for p in found}
    if len(parents) > 1:
        raise DataError(f"{folder}: holds runs of {len(parents)} models ({', '.join(sorted(p.name for p in parents))}); "
                        "pass each model's folder as its own --import")
    return found[-1]  # lm-eval's date ids sort in time order: the newest run


def import_run(path: str | Path, *, name: str | None = None) -> BenchRun:
    """The newest run in `path` (an lm_eval --output_path folder, a model's folder in it, or a
    results JSON); `name`: the model's display name (default: the run's model name)."""
    results_path = _results_file(Path(path).expanduser())
    try:
        results = json.loads(read_text(results_path, "lm-evaluation-harness results"))
    except json.JSONDecodeError as err:
        raise DataError(f"{results_path} line {err.lineno}: invalid JSON ({err.msg})") from None
    if not isinstance(results, dict) or not isinstance(results.get("configs"), dict):
        raise DataError(f"{results_path}: not an lm-evaluation-harness results file (no 'configs')")
    date = results_path.stem.removeprefix("results_")
    versions, nshot = results.get("versions") or {}, results.get("n-shot") or {}
    tasks: dict[str, TaskSamples] = {}
    for task in results["configs"]:
        samples = results_path.parent / f"samples_{task}_{date}.jsonl"
        if not samples.is_file():
            raise DataError(f"{results_path.parent}: no per-question samples for task {task!r} (samples_{task}_{date}.jsonl); "
                            "run lm_eval with --log_samples, so every question can be paired")
        rows = []
        for lineno, line in enumerate(jsonl_lines(read_text(samples, "lm-evaluation-harness samples")), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise DataError(f"{samples} line {lineno}: invalid JSON ({err.msg})") from None
        version = versions.get(task)
        tasks[task] = from_lm_eval_samples(task, rows, version=None if version is None else str(version),
                                           num_fewshot=nshot.get(task))
    model = name or str(results.get("model_name") or results_path.parent.name)
    groups = {g: list(v) for g, v in (results.get("group_subtasks") or {}).items() if v}
    return BenchRun(model, tasks, groups, {"source": str(results_path), "model_args": (results.get("config") or {}).get("model_args")})
