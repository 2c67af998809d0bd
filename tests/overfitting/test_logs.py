"""read_curves on logs the tests write: trainer_state.json, CSV exports, TensorBoard events."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from tunecheck.errors import ConfigError, DataError
from tunecheck.overfitting import CurvePoint, analyse_curves, read_curves


def trainer_state(last_step: int, *, every: int = 10, eval_every: int = 20) -> dict[str, Any]:
    """A Trainer log as transformers writes it: train entries, eval entries, the final summary.
    Train loss = 2 - step/100, eval loss = 2.1 - step/100, lr = step/1e5, epoch = step/40."""
    history: list[dict[str, Any]] = []
    for step in range(every, last_step + 1, every):
        epoch = step / 40
        history.append({"epoch": epoch, "grad_norm": 1.5, "learning_rate": step / 1e5, "loss": 2 - step / 100, "step": step})
        if step % eval_every == 0:
            history.append({"epoch": epoch, "eval_loss": 2.1 - step / 100, "eval_runtime": 0.2, "step": step})
    history.append({"epoch": last_step / 40, "step": last_step, "total_flos": 1.0, "train_loss": 1.5, "train_runtime": 9.0})
    return {"best_metric": None, "epoch": last_step / 40, "global_step": last_step, "log_history": history}


def write_state(path: Path, state: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    return path


# ---- trainer_state.json -------------------------------------------------------------------------


def test_trainer_state_file(tmp_path):
    path = write_state(tmp_path / "trainer_state.json", trainer_state(60))
    c = read_curves(path)
    assert (c.format, c.source, c.checkpoint_steps) == ("trainer_state", str(path), None)
    # train every 10 steps: 1.9, 1.8, ... 1.4; the summary entry (train_loss 1.5) is not a point
    assert [(p.step, p.value) for p in c.train] == [(s, 2 - s / 100) for s in range(10, 70, 10)]
    assert c.eval == (CurvePoint(20, 2.1 - 0.2, 0.5), CurvePoint(40, 2.1 - 0.4, 1.0), CurvePoint(60, 2.1 - 0.6, 1.5))
    assert c.learning_rate[-1] == CurvePoint(60, 60 / 1e5, 1.5)


def test_trainer_state_in_an_output_dir(tmp_path):
    write_state(tmp_path / "out" / "trainer_state.json", trainer_state(40))
    c = read_curves(tmp_path / "out")
    assert c.source == str(tmp_path / "out" / "trainer_state.json") and len(c.train) == 4


def test_highest_checkpoint_is_used(tmp_path):
    # checkpoint-100 sorts before checkpoint-50 as text: the step must be compared as a number.
    write_state(tmp_path / "checkpoint-50" / "trainer_state.json", trainer_state(50))
    write_state(tmp_path / "checkpoint-100" / "trainer_state.json", trainer_state(100))
    (tmp_path / "checkpoint-150").mkdir()  # an interrupted save: no trainer_state.json yet
    (tmp_path / "runs").mkdir()
    c = read_curves(tmp_path)
    assert c.source == str(tmp_path / "checkpoint-100" / "trainer_state.json")
    assert c.train[-1].step == 100 and c.eval[-1].step == 100
    assert c.checkpoint_steps == (50, 100, 150)


def test_named_eval_sets(tmp_path):
    state = {"log_history": [{"loss": 1.0, "step": 5}, {"eval_b_loss": 2.0, "eval_a_loss": 1.5, "step": 5}]}
    c = read_curves(write_state(tmp_path / "trainer_state.json", state))
    assert c.eval == (CurvePoint(5, 1.5),)
    assert c.notes == ("eval loss read from 'eval_a_loss' (the log also has eval_b_loss)",)


def test_nan_loss_is_kept(tmp_path):
    path = tmp_path / "trainer_state.json"
    path.write_text('{"log_history": [{"loss": 1.0, "step": 1}, {"loss": NaN, "step": 2}, {"loss": Infinity, "step": 3}]}')
    values = [p.value for p in read_curves(path).train]
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == math.inf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"log_history": [\n{"loss": 1.0, "step": 1},\n{"loss": 1.0 "step": 2}]}', r"trainer_state\.json line 3: invalid JSON"),
        (
            '{"log_history": [{"loss": 1.0, "step": 1}, {"epoch": 1}, {"loss": "abc", "step": 3}]}',
            r"trainer_state\.json: log_history entry 3 of 3 \(step 3\): 'loss' is \"abc\", not a number \(fix or delete the entry\)",
        ),
        ('{"log_history": [{"eval_loss": 1.0}]}', r"log_history entry 1 of 1: 'step' is missing"),
        ('{"log_history": [{"loss": 1.0, "step": 2.5}]}', r"entry 1 of 1: 'step' is 2.5, not a whole number"),
        ('{"log_history": [{"loss": 1.0, "step": 1, "epoch": "one"}]}', r"entry 1 of 1 \(step 1\): 'epoch' is \"one\""),
        ('{"log_history": [[1, 2]]}', r"entry 1 of 1 is \[1, 2\], not an object"),
        ('{"global_step": 3}', r'no "log_history" list'),
        ('{"log_history": [{"step": 1, "train_loss": 1.0}]}', r"no 'loss' or 'eval_loss' entries"),
    ],
)
def test_bad_trainer_state(tmp_path, text, message):
    path = tmp_path / "trainer_state.json"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        read_curves(path)
    assert str(path) in str(err.value)


# ---- CSV ----------------------------------------------------------------------------------------


def test_csv_with_empty_cells(tmp_path):
    # Lightning's CSVLogger: one row per log call, so train and validation rows leave each other's cells empty.
    path = tmp_path / "metrics.csv"
    path.write_text(
        "epoch,step,train_loss,val_loss,lr\n"
        "0,10,2.0,,0.001\n"
        "0,20,1.5,,0.001\n"
        "0,20,,1.6,\n"
        "1,30,1.2,,0.0005\n"
        "1,40,nan,,0.0005\n"
        "1,40,,1.3,\n"
    )
    c = read_curves(tmp_path)  # Lightning's log folder holds metrics.csv
    assert (c.format, c.source) == ("csv", str(path))
    assert [(p.step, p.value, p.epoch) for p in c.train[:3]] == [(10, 2.0, 0.0), (20, 1.5, 0.0), (30, 1.2, 1.0)]
    assert math.isnan(c.train[3].value)
    assert c.eval == (CurvePoint(20, 1.6, 0.0), CurvePoint(40, 1.3, 1.0))
    assert [p.value for p in c.learning_rate] == [0.001, 0.001, 0.0005, 0.0005]


def test_csv_wandb_export_prefers_the_global_step(tmp_path):
    # W&B's own _step counts log calls; train/global_step is the optimizer step.
    path = tmp_path / "export.csv"
    path.write_text(
        "_step,train/global_step,train/epoch,train/loss,eval/loss,train/learning_rate\n"
        "0,50,0.5,1.9,,0.0002\n"
        "1,100,1.0,1.4,,0.0001\n"
        "2,100,1.0,,1.45,\n"
    )
    c = read_curves(path)
    assert [p.step for p in c.train] == [50, 100] and c.eval == (CurvePoint(100, 1.45, 1.0),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("step,train_loss,val_loss\n1,1.0,\n2,oops,\n", r"metrics\.csv line 3: column 'train_loss' is 'oops', not a number \(leave the cell empty"),
        ("step,train_loss\n1,1.0\n,0.5\n", r"line 3: column 'step' is empty"),
        ("step,train_loss\n1.5,1.0\n", r"line 2: column 'step' is '1.5', not a whole number"),
        ("time,train_loss\n1,1.0\n", r"no step column \(columns: time, train_loss\); name it step, global_step or iteration"),
        ("step,accuracy\n1,0.5\n", r"no loss column \(columns: step, accuracy\)"),
        ("step,loss\n1,\n", r"the loss columns \(loss\) are empty in every row"),
        ("", r"empty file"),
    ],
)
def test_bad_csv(tmp_path, text, message):
    path = tmp_path / "metrics.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_curves(path)


# ---- TensorBoard --------------------------------------------------------------------------------


def test_tensorboard_hf_tags(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    # What transformers' TensorBoardCallback writes. Values are exact in float32 (TensorBoard
    # stores float32), so they read back equal.
    writer = SummaryWriter(str(tmp_path / "runs" / "Nov23_run"))
    for step in range(10, 70, 10):
        writer.add_scalar("train/loss", 2 - step / 64, step)
        writer.add_scalar("train/learning_rate", step / 1024, step)
        writer.add_scalar("train/epoch", step / 40, step)
        if step % 20 == 0:
            writer.add_scalar("eval/loss", 2.25 - step / 64, step)
    writer.add_scalar("train/train_loss", 1.5, 60)  # the end-of-run summary: not a curve
    # transformers also logs its arguments, which torch writes to a subfolder of the run
    writer.add_hparams({"learning_rate": 1e-4}, metric_dict={})
    writer.close()
    assert len({f.parent for f in tmp_path.rglob("events.out.tfevents.*")}) == 2
    c = read_curves(tmp_path)  # found recursively; the hparams folder holds no loss
    assert (c.format, c.source) == ("tensorboard", str(tmp_path / "runs" / "Nov23_run"))
    assert [(p.step, p.value, p.epoch) for p in c.train] == [(s, 2 - s / 64, s / 40) for s in range(10, 70, 10)]
    assert [(p.step, p.value, p.epoch) for p in c.eval] == [(s, 2.25 - s / 64, s / 40) for s in (20, 40, 60)]
    assert [p.value for p in c.learning_rate] == [s / 1024 for s in range(10, 70, 10)]
    # the same numbers through the analysis as through a trainer_state.json
    assert analyse_curves(c).best_step == 60


def test_tensorboard_tensor_summaries_and_single_file(tmp_path):
    from tensorboard.summary import Writer

    # tf.summary and tensorboard.summary store scalars as tensors, under Lightning-style names here.
    writer = Writer(str(tmp_path))
    for step, (loss, val) in enumerate([(2.0, 2.5), (1.5, 2.0), (1.0, 1.75)], start=1):
        writer.add_scalar("train_loss", loss, step=step)
        writer.add_scalar("val_loss", val, step=step)
    writer.close()
    [events] = tmp_path.glob("events.out.tfevents.*")
    c = read_curves(events)
    assert [(p.step, p.value) for p in c.train] == [(1, 2.0), (2, 1.5), (3, 1.0)]
    assert [p.value for p in c.eval] == [2.5, 2.0, 1.75]


def test_tensorboard_errors(tmp_path, monkeypatch):
    from tensorboard.summary import Writer

    for run in ("a", "b"):
        w = Writer(str(tmp_path / "runs" / run))
        w.add_scalar("loss", 1.0, step=1)
        w.close()
    with pytest.raises(DataError, match=r"holds event files of 2 runs \(runs/a, runs/b\); pass the folder"):
        read_curves(tmp_path)
    w = Writer(str(tmp_path / "acc"))
    w.add_scalar("accuracy", 0.5, step=1)
    w.close()
    with pytest.raises(DataError, match=r"no loss in the event files \(tags: accuracy\)"):
        read_curves(tmp_path / "acc")
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing", None)  # as if not installed
    with pytest.raises(ConfigError, match=r'pip install "tunecheck\[tensorboard\]"'):
        read_curves(tmp_path / "runs" / "a")


# ---- paths --------------------------------------------------------------------------------------


def test_path_errors(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        read_curves(tmp_path / "missing")
    with pytest.raises(DataError, match=r"found no trainer_state\.json, checkpoint-\*/trainer_state\.json, metrics\.csv"):
        read_curves(tmp_path)
    (tmp_path / "log.txt").write_text("loss 1.0")
    with pytest.raises(DataError, match=r"unknown log format \.txt"):
        read_curves(tmp_path / "log.txt")
