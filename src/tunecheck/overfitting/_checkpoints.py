"""Finding a training run's checkpoints: `checkpoint-<step>` folders holding a model or an
adapter, in step order, and the final save in the run folder itself; and where a sweep keeps its
per-checkpoint results (tunecheck's cache, never the training folder)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tunecheck._files import read_text
from tunecheck.errors import ConfigError, DataError


@dataclass(frozen=True)
class Checkpoint:
    name: str
    """The directory name, e.g. "checkpoint-1200" (or "final")."""
    step: int | None
    path: Path


def find_checkpoints(run_dir: str | Path, *, include_final: bool = True) -> list[Checkpoint]:
    """`checkpoint-<step>` directories holding a model or an adapter, by step."""
    root = Path(run_dir)
    if not root.is_dir():
        raise ConfigError(f"{run_dir}: no such directory (pass the training run's output_dir)")
    is_model = _is_model
    found = []
    for p in root.glob("checkpoint-*"):
        tail = p.name.rsplit("-", 1)[-1]
        if p.is_dir() and tail.isdigit() and is_model(p):
            found.append(Checkpoint(p.name, int(tail), p))
    found.sort(key=lambda c: c.step or 0)
    if include_final and is_model(root):
        # the final save sits at the run's last step; when a checkpoint was saved at that step it
        # holds the same weights (unless load_best_model_at_end copied an earlier one back)
        step = _global_step(root)
        if step is None or step not in {c.step for c in found}:
            found.append(Checkpoint("final", step, root))
    if not found:
        raise ConfigError(
            f"{run_dir}: no checkpoint-* directories with a model or adapter (the Trainer writes them with "
            "save_strategy='steps' or 'epoch'); pass the training run's output_dir"
        )
    return found


def _is_model(p: Path) -> bool:
    return (p / "config.json").is_file() or (p / "adapter_config.json").is_file()


def final_note(run_dir: str | Path, checkpoints: Sequence[Checkpoint], *, include_final: bool = True) -> str | None:
    """Why the model saved in the run directory itself is not in the sweep, when it is not: it
    was saved at a checkpoint's step, so it holds that checkpoint's weights."""
    root = Path(run_dir)
    if not include_final or not _is_model(root) or any(c.name == "final" for c in checkpoints):
        return None
    step = _global_step(root)
    return (f"final model in {run_dir} = checkpoint-{step} (both saved at step {step}), not scored twice; "
            "if training used load_best_model_at_end it holds the best checkpoint's weights instead")


def default_cache_dir(run_dir: str | Path) -> Path:
    """Where a sweep keeps its per-checkpoint results unless told (--cache-dir): tunecheck's own
    cache, $XDG_CACHE_HOME/tunecheck/sweep (~/.cache/... without it), one folder per run
    directory (its name plus a hash of its absolute path), never inside the training folder."""
    import os

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tunecheck" / "sweep"
    root = Path(run_dir).resolve()
    return base / f"{root.name}-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"


def _global_step(root: Path) -> int | None:
    try:
        step = json.loads(read_text(root / "trainer_state.json")).get("global_step")  # read_text: never a FIFO
    except (DataError, json.JSONDecodeError, AttributeError):
        return None
    return step if isinstance(step, int) and not isinstance(step, bool) else None
