"""Read training logs into loss curves: Trainer/TRL trainer_state.json, CSV exports, TensorBoard.

Users already have these logs, so `tunecheck curves` reads them as they are rather than asking
for a re-run. Every series is kept as logged (NaN/inf included: the analysis flags them), sorted
by step, with the last value kept where a step was logged twice (a resumed run re-logs steps).
Problems are one DataError naming the file, the line or log entry, the field and the fix.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tunecheck._files import check_input_file, read_text
from tunecheck._io import read_json
from tunecheck.errors import ConfigError, DataError

LogFormat = Literal["trainer_state", "csv", "tensorboard"]

# CSV column / TensorBoard tag names, lower-cased, in order of preference. Hugging Face writes
# `train/loss`/`eval/loss` to TensorBoard and W&B; Lightning writes `train_loss[_step]`/`val_loss`.
# The Trainer's end-of-run summary (one mean over the whole run) is `train/train_loss` there, so it
# is not among these names; in trainer_state.json it is `train_loss`, and only `loss` is read.
# W&B's own `_step` counts log calls, not optimizer steps: the last resort.
_STEP_NAMES = ("global_step", "train/global_step", "trainer/global_step", "step", "iteration", "iter", "_step")
_TRAIN_NAMES = (
    "train/loss", "train_loss", "train_loss_step", "loss", "training_loss", "train", "loss/train",
    "train/loss_step",
)
_EVAL_NAMES = (
    "eval/loss", "eval_loss", "val_loss", "val/loss", "validation_loss", "validation/loss", "valid_loss",
    "valid/loss", "eval", "loss/eval", "loss/val", "loss/validation", "val_loss_epoch",
)
_LR_NAMES = ("train/learning_rate", "learning_rate", "lr", "train/lr", "learning-rate")
_EPOCH_NAMES = ("train/epoch", "epoch", "trainer/epoch")

_STATE_FILE = "trainer_state.json"
_LIGHTNING_CSV = "metrics.csv"
_EVENTS_PREFIX = "events.out.tfevents"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)$")
_EVAL_SET_LOSS = re.compile(r"eval_(.+)_loss$")  # Trainer with several eval sets: eval_<name>_loss


@dataclass(frozen=True)
class CurvePoint:
    """One logged value of a curve."""

    step: int
    """Optimizer step (the Trainer's global_step) it was logged at."""
    value: float
    """The value as logged; NaN/inf are kept (the analysis flags them rather than dropping them)."""
    epoch: float | None = None
    """Epoch at that step (fractional within an epoch), when the log records it."""


@dataclass(frozen=True)
class TrainingCurves:
    """A run's loss curves as read from its log."""

    source: str
    """The file or folder actually read (e.g. the chosen checkpoint's trainer_state.json)."""
    format: LogFormat
    """Which reader was used."""
    train: tuple[CurvePoint, ...]
    """Training loss, sorted by step (each point is usually a mean over the logging interval)."""
    eval: tuple[CurvePoint, ...]
    """Validation loss, sorted by step; empty when the run never evaluated."""
    learning_rate: tuple[CurvePoint, ...] = ()
    """Learning rate, sorted by step; empty when not logged."""
    checkpoint_steps: tuple[int, ...] | None = None
    """Steps of the checkpoint-N folders beside the log, when a folder was read; None if unknown."""
    notes: tuple[str, ...] = ()
    """What the reader chose or fixed up (e.g. which eval set's loss it used)."""


def read_curves(path: str | Path) -> TrainingCurves:
    """Read a training log.

    PATH is a trainer_state.json, a .csv/.tsv export (W&B, Lightning CSVLogger), a TensorBoard
    event file, or a folder, tried in this order: an output dir holding trainer_state.json; a dir
    of checkpoint-N folders (the highest N whose trainer_state.json exists: it holds the whole
    history); a Lightning log dir holding metrics.csv; a dir with event files anywhere below it
    (exactly one folder of them may hold a loss: one run).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: no such file or folder (check the path)")
    if p.is_dir():
        return _read_dir(p)
    check_input_file(p, "log file")
    if p.name.startswith(_EVENTS_PREFIX):
        return _read_tensorboard(p)
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _read_trainer_state(p)
    if suffix in (".csv", ".tsv"):
        return _read_csv(p, "\t" if suffix == ".tsv" else ",")
    raise DataError(
        f"{p}: unknown log format {suffix or '(no extension)'}; pass a trainer_state.json, "
        f"a .csv export, a TensorBoard {_EVENTS_PREFIX}.* file or the run's output folder"
    )


def _read_dir(folder: Path) -> TrainingCurves:
    checkpoints = sorted(
        (int(m.group(1)), d) for d in folder.iterdir() if d.is_dir() and (m := _CHECKPOINT.fullmatch(d.name))
    )
    steps = tuple(step for step, _ in checkpoints) if checkpoints else None
    state = folder / _STATE_FILE
    if not state.is_file():
        # A checkpoint's trainer_state.json holds the history up to that step, so the highest wins.
        state = next((d / _STATE_FILE for _, d in reversed(checkpoints) if (d / _STATE_FILE).is_file()), state)
    if state.is_file():
        return dataclasses.replace(_read_trainer_state(state), checkpoint_steps=steps)
    if (folder / _LIGHTNING_CSV).is_file():
        return _read_csv(folder / _LIGHTNING_CSV, ",")
    if any(folder.rglob(f"{_EVENTS_PREFIX}*")):
        return _read_tensorboard(folder)
    raise DataError(
        f"{folder}: found no {_STATE_FILE}, checkpoint-*/{_STATE_FILE}, {_LIGHTNING_CSV} or TensorBoard "
        f"{_EVENTS_PREFIX}.* file; pass the log itself (trainer_state.json, a .csv export or an event file)"
    )


# ---- trainer_state.json -------------------------------------------------------------------------


def _read_trainer_state(path: Path) -> TrainingCurves:
    state = read_json(path, fix="is this a trainer_state.json?")
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise DataError(
            f"{path}: no \"log_history\" list; expected a Hugging Face Trainer/TRL trainer_state.json "
            "(for other logs pass a .csv export or TensorBoard event files)"
        )
    n = len(history)
    for i, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise DataError(
                f"{path}: log_history entry {i + 1} of {n} is {_show(entry)}, not an object (fix or delete it)"
            )
    eval_key, notes = _eval_key(history)
    train: list[tuple[int, float, float | None]] = []
    evals: list[tuple[int, float, float | None]] = []
    lrs: list[tuple[int, float, float | None]] = []
    for i, entry in enumerate(history):
        # Entries without these keys (the end-of-run summary with `train_loss`, runtimes) carry no curve.
        keys = [k for k in ("loss", eval_key, "learning_rate") if k in entry]
        if not keys:
            continue
        where = f"{path}: log_history entry {i + 1} of {n}"
        step = _json_step(entry.get("step"), where)
        epoch = entry.get("epoch")
        if epoch is not None and not _is_number(epoch):
            raise DataError(
                f"{where} (step {step}): 'epoch' is {_show(epoch)}, not a number (fix or delete the entry)"
            )
        for key, out in (("loss", train), (eval_key, evals), ("learning_rate", lrs)):
            if key in entry:
                value = entry[key]
                if not _is_number(value):
                    raise DataError(
                        f"{where} (step {step}): {key!r} is {_show(value)}, not a number (fix or delete the entry)"
                    )
                out.append((step, float(value), None if epoch is None else float(epoch)))
    if not train and not evals:
        raise DataError(
            f"{path}: log_history has no 'loss' or 'eval_loss' entries; the run logged nothing yet "
            "(set logging_steps, and eval_strategy='steps' to log a validation loss)"
        )
    dups = _duplicates(train) + _duplicates(evals)
    if dups:
        notes.append(f"{dups} log entries repeat a step logged before (a resumed run?); the last of each was kept")
    return TrainingCurves(str(path), "trainer_state", _series(train), _series(evals), _series(lrs), notes=tuple(notes))


def _eval_key(history: Sequence[Mapping[str, Any]]) -> tuple[str, list[str]]:
    keys = {k for entry in history for k in entry}
    if "eval_loss" in keys:
        return "eval_loss", []
    named = sorted(k for k in keys if _EVAL_SET_LOSS.fullmatch(k))
    if not named:
        return "eval_loss", []
    others = f" (the log also has {', '.join(named[1:])})" if len(named) > 1 else ""
    return named[0], [f"eval loss read from {named[0]!r}{others}"]


def _json_step(value: Any, where: str) -> int:
    if value is None:
        raise DataError(f"{where}: 'step' is missing (every logged entry needs the global step it was logged at)")
    if not _is_number(value) or not float(value).is_integer() or value < 0:
        raise DataError(f"{where}: 'step' is {_show(value)}, not a whole number ≥ 0 (fix or delete the entry)")
    return int(value)


# ---- CSV ----------------------------------------------------------------------------------------


def _read_csv(path: Path, delimiter: str) -> TrainingCurves:
    text = read_text(path, "log file")  # a regular file (a FIFO would hang), errors by line
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h for h in (reader.fieldnames or []) if h is not None]
    if not header:
        raise DataError(f"{path}: empty file (expected a header row such as step,train_loss,eval_loss)")
    columns = {h.strip().lower(): h for h in header}
    found = ", ".join(header)
    step_col = _pick(columns, _STEP_NAMES)
    if step_col is None:
        raise DataError(f"{path}: no step column (columns: {found}); name it step, global_step or iteration")
    train_col, eval_col = _pick(columns, _TRAIN_NAMES), _pick(columns, _EVAL_NAMES)
    if train_col is None and eval_col is None:
        raise DataError(
            f"{path}: no loss column (columns: {found}); name the training loss train_loss or loss "
            "and the validation loss eval_loss or val_loss"
        )
    epoch_col = _pick(columns, _EPOCH_NAMES)
    lr_col = _pick(columns, _LR_NAMES) or next((h for k, h in columns.items() if k.startswith("lr-")), None)
    cols = {"train": train_col, "eval": eval_col, "lr": lr_col}
    rows: dict[str, list[tuple[int, float, float | None]]] = {"train": [], "eval": [], "lr": []}
    epochs: dict[int, float] = {}
    for row in reader:
        where = f"{path} line {reader.line_num}"
        if None in row:
            raise DataError(f"{where}: more cells than header columns (quote cells that contain {delimiter!r})")
        cell = (row.get(step_col) or "").strip()
        if not cell:
            raise DataError(f"{where}: column {step_col!r} is empty; every row needs the step it was logged at")
        step = _csv_step(cell, where, step_col)
        if epoch_col is not None and (e := _csv_number(row.get(epoch_col), where, epoch_col)) is not None:
            epochs[step] = e
        for name, col in cols.items():
            # An empty cell means "not logged at this step": W&B and Lightning write one row per log call.
            if col is not None and (value := _csv_number(row.get(col), where, col)) is not None:
                rows[name].append((step, value, None))
    if not rows["train"] and not rows["eval"]:
        named = ", ".join(c for c in (train_col, eval_col) if c)
        raise DataError(f"{path}: the loss columns ({named}) are empty in every row")
    dups = _duplicates(rows["train"]) + _duplicates(rows["eval"])
    notes = [f"{dups} rows repeat a step logged before; the last value of each was kept"] if dups else []
    train, evals, lrs = (_with_epochs(rows[k], epochs) for k in ("train", "eval", "lr"))
    return TrainingCurves(str(path), "csv", train, evals, lrs, notes=tuple(notes))


def _pick(columns: Mapping[str, str], names: Sequence[str]) -> str | None:
    return next((columns[n] for n in names if n in columns), None)


def _csv_step(cell: str, where: str, col: str) -> int:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not value.is_integer() or value < 0:
        raise DataError(f"{where}: column {col!r} is {cell!r}, not a whole number ≥ 0")
    return int(value)


def _csv_number(cell: str | None, where: str, col: str) -> float | None:
    text = (cell or "").strip()
    if not text:
        return None
    try:
        return float(text)  # accepts nan/inf: kept and flagged by the analysis
    except ValueError:
        raise DataError(
            f"{where}: column {col!r} is {text!r}, not a number (leave the cell empty where nothing was logged)"
        ) from None


# ---- TensorBoard --------------------------------------------------------------------------------


def _read_tensorboard(path: Path) -> TrainingCurves:
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise ConfigError(
            'reading TensorBoard event files needs the tensorboard package: pip install "tunecheck[tensorboard]"'
        ) from None
    folders = [path] if path.is_file() else sorted({f.parent for f in path.rglob(f"{_EVENTS_PREFIX}*") if f.is_file()})
    runs = [_EventRun(folder, event_accumulator) for folder in folders]
    # Folders without a loss are not runs: transformers' add_hparams, for one, writes its own
    # event file into a timestamped subfolder of the run.
    with_loss = [r for r in runs if r.has(_TRAIN_NAMES) or r.has(_EVAL_NAMES)]
    if not with_loss:
        shown = ", ".join(sorted({t for r in runs for t in r.tags})[:20]) or "none: empty, unfinished or corrupt?"
        raise DataError(
            f"{path}: no loss in the event files (tags: {shown}); tunecheck reads train/loss and eval/loss "
            "(Hugging Face) or loss, train_loss, val_loss, validation/loss"
        )
    if len(with_loss) > 1:
        listed = ", ".join(str(r.path.relative_to(path)) for r in with_loss[:5]) + (", ..." if len(with_loss) > 5 else "")
        raise DataError(
            f"{path}: holds event files of {len(with_loss)} runs ({listed}); pass the folder of the run to check"
        )
    run = with_loss[0]
    epochs = {step: value for step, value, _ in run.series(_EPOCH_NAMES)}
    train, evals, lrs = (_with_epochs(run.series(names), epochs) for names in (_TRAIN_NAMES, _EVAL_NAMES, _LR_NAMES))
    return TrainingCurves(str(run.path), "tensorboard", train, evals, lrs)


class _EventRun:
    """The scalars of one TensorBoard run: an event file, or a folder of them read as one."""

    def __init__(self, path: Path, event_accumulator: Any) -> None:
        self.path = path
        # size_guidance 0 keeps every point: the default keeps a 10,000-point reservoir sample per tag.
        self._acc = event_accumulator.EventAccumulator(
            str(path), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
        )
        try:
            self._acc.Reload()
        except Exception as err:  # corrupt records surface as several tensorboard/protobuf types
            raise DataError(f"{path}: not a readable TensorBoard event file ({err})") from None
        tags = self._acc.Tags()
        self._scalars: set[str] = set(tags.get("scalars", []))
        self.tags: set[str] = self._scalars | set(tags.get("tensors", []))
        self._by_name = {t.lower(): t for t in sorted(self.tags)}

    def has(self, names: Sequence[str]) -> bool:
        return _pick(self._by_name, names) is not None

    def series(self, names: Sequence[str]) -> list[tuple[int, float, float | None]]:
        tag = _pick(self._by_name, names)
        if tag is None:
            return []
        if tag in self._scalars:
            return [(int(e.step), float(e.value), None) for e in self._acc.Scalars(tag)]
        from tensorboard.util import tensor_util

        out: list[tuple[int, float, float | None]] = []
        for e in self._acc.Tensors(tag):  # tf.summary / tensorboard.summary write scalars as 0-d tensors
            arr = tensor_util.make_ndarray(e.tensor_proto)
            if arr.size != 1:
                raise DataError(f"{self.path}: tag {tag!r} at step {e.step} holds {arr.size} values, not one scalar")
            out.append((int(e.step), float(arr.reshape(())), None))
        return out


# ---- shared -------------------------------------------------------------------------------------


def _series(points: Iterable[tuple[int, float, float | None]]) -> tuple[CurvePoint, ...]:
    by_step = {step: CurvePoint(step, value, epoch) for step, value, epoch in points}  # last one wins
    return tuple(by_step[s] for s in sorted(by_step))


def _with_epochs(
    points: Iterable[tuple[int, float, float | None]], epochs: Mapping[int, float]
) -> tuple[CurvePoint, ...]:
    return _series((step, value, epochs.get(step, epoch)) for step, value, epoch in points)


def _duplicates(points: Sequence[tuple[int, float, float | None]]) -> int:
    return len(points) - len({p[0] for p in points})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, list, dict, type(None), bool)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
