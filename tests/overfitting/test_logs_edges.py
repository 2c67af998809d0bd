"""read_curves at the edges its rules draw (boundaries found by mutation testing, tests/MUTANTS.md)."""

from __future__ import annotations

import json
import re

import pytest

from tunecheck.errors import DataError
from tunecheck.overfitting import read_curves


def _state(history: list[dict[str, object]]) -> dict[str, object]:
    return {"log_history": history}


def test_step_zero_is_a_valid_step(tmp_path):
    # "a whole number >= 0": step 0 (an evaluation before training) is accepted in both formats
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps(_state([{"step": 0, "eval_loss": 2.0}, {"step": 10, "loss": 1.5}])))
    c = read_curves(p)
    assert [(e.step, e.value) for e in c.eval] == [(0, 2.0)]
    q = tmp_path / "log.csv"
    q.write_text("step,train_loss,val_loss\n0,,2.0\n10,1.5,\n")
    c = read_curves(q)
    assert [(e.step, e.value) for e in c.eval] == [(0, 2.0)] and [(t.step, t.value) for t in c.train] == [(10, 1.5)]


def test_repeated_steps_are_counted_over_train_and_eval(tmp_path):
    # train step 10 twice (1 repeat) and eval step 20 three times (2 repeats): 3 in all
    history = [{"step": 10, "loss": 1.0}, {"step": 10, "loss": 0.9},
               {"step": 20, "eval_loss": 2.0}, {"step": 20, "eval_loss": 1.9}, {"step": 20, "eval_loss": 1.8}]
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps(_state(history)))
    c = read_curves(p)
    assert "3 log entries repeat a step logged before (a resumed run?); the last of each was kept" in c.notes
    q = tmp_path / "log.csv"
    q.write_text("step,train_loss,val_loss\n10,1.0,\n10,0.9,\n20,,2.0\n20,,1.9\n20,,1.8\n")
    c = read_curves(q)
    assert c.notes == ("3 rows repeat a step logged before; the last value of each was kept",)
    assert [(t.step, t.value) for t in c.train] == [(10, 0.9)] and [(e.step, e.value) for e in c.eval] == [(20, 1.8)]


def test_csv_without_repeats_has_no_notes_and_train_only_is_read(tmp_path):
    q = tmp_path / "log.csv"
    q.write_text("step,train_loss\n10,1.0\n20,0.9\n")
    c = read_curves(q)
    assert c.notes == () and [t.value for t in c.train] == [1.0, 0.9] and c.eval == ()


def test_tsv_is_split_on_tabs(tmp_path):
    q = tmp_path / "log.tsv"
    q.write_text("step\ttrain_loss\tval_loss\n10\t1.5\t2.0\n")
    c = read_curves(q)
    assert [(t.step, t.value) for t in c.train] == [(10, 1.5)] and [(e.step, e.value) for e in c.eval] == [(10, 2.0)]


def test_several_eval_sets_name_the_others(tmp_path):
    # eval_a_loss and eval_b_loss, no eval_loss: the first by name is read, the other is named
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps(_state([{"step": 10, "loss": 1.0, "eval_a_loss": 2.0, "eval_b_loss": 3.0}])))
    assert "eval loss read from 'eval_a_loss' (the log also has eval_b_loss)" in read_curves(p).notes
    # one eval set: nothing else to name
    p.write_text(json.dumps(_state([{"step": 10, "loss": 1.0, "eval_a_loss": 2.0}])))
    assert "eval loss read from 'eval_a_loss'" in read_curves(p).notes


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a" * 38, '"' + "a" * 38 + '"'),  # 40 characters with the quotes: shown whole
        ("a" * 39, '"' + "a" * 36 + "..."),  # 41: the first 37 and "..."
    ],
)
def test_a_bad_value_is_shown_up_to_40_characters(tmp_path, value, shown):
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps(_state([{"step": 10, "loss": value}])))
    with pytest.raises(DataError) as e:
        read_curves(p)
    assert f"'loss' is {shown}, not a number" in str(e.value)


def test_a_run_folder_without_checkpoints_has_no_checkpoint_list(tmp_path):
    # None (not known), not () (none saved): () would make every best step a missing checkpoint
    (tmp_path / "trainer_state.json").write_text(json.dumps(_state([{"step": 10, "loss": 1.0}])))
    assert read_curves(tmp_path).checkpoint_steps is None


def test_a_state_that_is_not_an_object_is_bad_input(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text("[1, 2]")
    with pytest.raises(DataError, match='no "log_history" list'):
        read_curves(p)


def test_a_step_cell_that_is_not_a_number_is_bad_input(tmp_path):
    q = tmp_path / "log.csv"
    q.write_text("step,train_loss\nten,1.0\n")
    with pytest.raises(DataError, match=r"log\.csv line 2"):
        read_curves(q)


def test_eval_loss_wins_over_named_eval_sets(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps(_state([{"step": 10, "loss": 1.0, "eval_loss": 2.0, "eval_a_loss": 3.0}])))
    c = read_curves(p)
    assert [e.value for e in c.eval] == [2.0] and c.notes == ()


def test_learning_rate_alone_and_lightnings_lr_column(tmp_path):
    # an entry that logs only the learning rate still gives a learning-rate point
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps(_state([{"step": 5, "learning_rate": 0.001}, {"step": 10, "loss": 1.0}])))
    assert [(x.step, x.value) for x in read_curves(p).learning_rate] == [(5, 0.001)]
    # Lightning's LearningRateMonitor names the column lr-<optimiser>
    q = tmp_path / "metrics.csv"
    q.write_text("step,train_loss,lr-AdamW\n10,1.0,0.002\n")
    assert [(x.step, x.value) for x in read_curves(q).learning_rate] == [(10, 0.002)]


# TensorBoard's open items of tests/MUTANTS.md: every point of a long run, the epoch of a point
# logged without train/epoch, and the list of runs cut after five.


def test_every_point_of_a_long_tensorboard_run_is_read(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    # TensorBoard's default keeps a 10,000-point reservoir sample per tag: a long run would be thinned
    writer = SummaryWriter(str(tmp_path))
    for step in range(1, 10_051):
        writer.add_scalar("train/loss", 2.0, step)
    writer.add_scalar("eval/loss", 1.0, 10_050)
    writer.close()
    c = read_curves(tmp_path)
    assert [p.step for p in c.train] == list(range(1, 10_051))


def test_an_epoch_comes_from_train_epoch_at_that_step_and_else_from_the_point():
    from tunecheck.overfitting._logs import _with_epochs

    got = _with_epochs([(10, 2.0, 0.25), (20, 1.5, None)], {10: 0.5})
    assert [(p.step, p.value, p.epoch) for p in got] == [(10, 2.0, 0.5), (20, 1.5, None)]
    assert [p.epoch for p in _with_epochs([(10, 2.0, 0.25)], {})] == [0.25]


@pytest.mark.parametrize(
    ("runs", "listed"),
    [("abcde", "runs/a, runs/b, runs/c, runs/d, runs/e"), ("abcdef", "runs/a, runs/b, runs/c, runs/d, runs/e, ...")],
)
def test_runs_are_listed_up_to_five(tmp_path, runs, listed):
    from tensorboard.summary import Writer

    for run in runs:
        w = Writer(str(tmp_path / "runs" / run))
        w.add_scalar("loss", 1.0, step=1)
        w.close()
    with pytest.raises(DataError, match=rf"holds event files of {len(runs)} runs \({re.escape(listed)}\); pass"):
        read_curves(tmp_path)


def test_the_tags_of_a_log_without_loss_are_shown_up_to_twenty(tmp_path):
    from tensorboard.summary import Writer

    w = Writer(str(tmp_path))
    for i in range(25):
        w.add_scalar(f"metric_{i:02d}", 1.0, step=1)
    w.close()
    first_20 = ", ".join(f"metric_{i:02d}" for i in range(20))
    with pytest.raises(DataError, match=rf"no loss in the event files \(tags: {first_20}\); tunecheck reads"):
        read_curves(tmp_path)


def test_a_bad_epoch_cell_names_the_file_line_and_column(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("step,epoch,train_loss\n1,0.1,2.0\n2,half,1.5\n")
    with pytest.raises(DataError) as e:
        read_curves(p)
    assert str(e.value).startswith(f"{p} line 3: column 'epoch' is 'half', not a number")
