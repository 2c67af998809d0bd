"""Mutation-testing cases for overfitting/_sweep.py and _checkpoints.py (tests/MUTANTS.md): what
is handed on to scoring and generation, what a resumed sweep reads back, the checkpoint order,
steps and final-save rules, the notes. The sweeps here run recording stand-ins for the model
loader, `score_model`, generation and scoring: no model is loaded, each call is checked exactly."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tunecheck.generation as generation
import tunecheck.models as models
import tunecheck.scoring as scoring
from tunecheck.core import Estimate, Record
from tunecheck.data import FieldMap, load_data
from tunecheck.errors import ConfigError, DataError, ModelError
from tunecheck.overfitting import _sweep
from tunecheck.overfitting._checkpoints import (
    Checkpoint,
    default_cache_dir,
    final_note,
    find_checkpoints,
)
from tunecheck.overfitting._sweep import SweepConfig, _files_stamp, _resolve, sweep_checkpoints
from tunecheck.perplexity import PerplexityConfig, summarise_records

# ---- finding checkpoints ----------------------------------------------------------------------


def _model_dir(path: Path, config: str = "config.json") -> Path:
    path.mkdir(parents=True)
    (path / config).write_text("{}")
    (path / "model.safetensors").write_bytes(path.name.encode())
    return path


def test_checkpoint_folders_steps_and_the_final_save(tmp_path, monkeypatch):
    gone = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as err:
        find_checkpoints(gone)
    assert str(err.value) == f"{gone}: no such directory (pass the training run's output_dir)"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError) as err:
        find_checkpoints(empty)
    assert str(err.value) == (f"{empty}: no checkpoint-* directories with a model or adapter (the Trainer writes them "
                              "with save_strategy='steps' or 'epoch'); pass the training run's output_dir")

    run = tmp_path / "run"
    _model_dir(run / "checkpoint-0")
    _model_dir(run / "checkpoint-1")
    _model_dir(run / "checkpoint-best-5")  # the step is the number after the LAST dash
    _model_dir(run / "checkpoint-3", config="adapter_config.json")  # an adapter alone is a checkpoint
    # the file system lists checkpoint-1 before checkpoint-0: the order is by step, 0 included
    real_glob = type(run).glob
    monkeypatch.setattr(type(run), "glob", lambda self, pattern: sorted(real_glob(self, pattern), reverse=True))
    found = find_checkpoints(run)
    assert found == [Checkpoint("checkpoint-0", 0, run / "checkpoint-0"), Checkpoint("checkpoint-1", 1, run / "checkpoint-1"),
                     Checkpoint("checkpoint-3", 3, run / "checkpoint-3"), Checkpoint("checkpoint-best-5", 5, run / "checkpoint-best-5")]
    # the final save: the run folder itself, at trainer_state's global_step
    (run / "config.json").write_text("{}")
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 12}))
    assert find_checkpoints(run)[-1] == Checkpoint("final", 12, run)
    # a global_step that is not an int (a string, a bool) is no step: "final" goes last, unplaced
    for bad in ("5", True):
        (run / "trainer_state.json").write_text(json.dumps({"global_step": bad}))
        assert find_checkpoints(run)[-1] == Checkpoint("final", None, run)


def test_the_final_note_and_the_cache_folder_in_full(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _model_dir(run / "checkpoint-10")
    (run / "config.json").write_text("{}")
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 10}))
    assert final_note(run, find_checkpoints(run)) == (
        f"final model in {run} = checkpoint-10 (both saved at step 10), not scored twice; "
        "if training used load_best_model_at_end it holds the best checkpoint's weights instead")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # the folder's name plus the first 12 hex digits of the sha256 of its absolute path
    digest = hashlib.sha256(str(run.resolve()).encode()).hexdigest()
    assert default_cache_dir(run) == tmp_path / "xdg" / "tunecheck" / "sweep" / f"run-{digest[:12]}"


def test_the_custom_task_refusal_in_full():
    with pytest.raises(ConfigError) as err:
        SweepConfig(task="custom")
    assert str(err.value) == "sweep --task custom is not supported: score the saved predictions with tunecheck score --metric"


def test_a_gguf_base_is_stamped_by_its_hash_and_a_hub_id_by_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNECHECK_CACHE_DIR", str(tmp_path / "cache"))
    gguf = tmp_path / "base.gguf"
    gguf.write_bytes(b"GGUF fake weights")
    assert _files_stamp(gguf) == [("base.gguf", 17, hashlib.sha256(b"GGUF fake weights").hexdigest())]
    assert _files_stamp(Path("HuggingFaceTB/SmolLM2-135M")) == []


def test_resolve_keeps_the_problem_and_names_the_sweep_s_fix(monkeypatch):
    messages = iter(["adapter /run/checkpoint-5: base model /m/a: b was not found; pass --model 'x,base=y'", "no colon here"])

    def failing(spec):
        raise ModelError(next(messages))

    monkeypatch.setattr(models, "resolve", failing)
    spec = models.ModelSpec("/run/checkpoint-5")
    with pytest.raises(ModelError) as err:
        _resolve(spec)
    # everything after the FIRST ": " (a path may hold ": " too), up to the first "; "
    assert str(err.value) == "/run/checkpoint-5: base model /m/a: b was not found; pass the base model with --base PATH"
    with pytest.raises(ModelError) as err:
        _resolve(spec)
    assert str(err.value) == "/run/checkpoint-5: no colon here; pass the base model with --base PATH"


# ---- a sweep with recording stand-ins -----------------------------------------------------------

EVAL_LOSS = {"checkpoint-9": 2.0, "checkpoint-10": 1.0, "final": 1.5}
TRAIN_LOSS = {"checkpoint-9": 1.9, "checkpoint-10": 0.8, "final": 0.3}
TASK = {  # per checkpoint: exact_match with a CI, f1 without one
    "checkpoint-9": {"exact_match": Estimate(0.25, (0.125, 0.5)), "f1": Estimate(0.4, None)},
    "checkpoint-10": {"exact_match": Estimate(0.75, (0.5, 0.875)), "f1": Estimate(0.8, None)},
    "final": {"exact_match": Estimate(0.5, (0.25, 0.75)), "f1": Estimate(0.6, None)},
}


class _Progress:
    def __init__(self):
        self.tasks: list[tuple] = []
        self.advanced: list[int] = []

    def task(self, description, total, unit=None):
        self.tasks.append((description, total, unit))
        return SimpleNamespace(advance=lambda n=1: self.advanced.append(n))


def _stand_ins(monkeypatch, train_source: list[str]):
    """Record every call the sweep makes to load, score, generate and score a task."""
    calls: dict[str, list] = {"loaded": [], "score": [], "of": [], "generate": [], "score_preds": []}

    @contextmanager
    def loaded(spec, need, *, layer, dtype="auto", device="auto", server=None):  # loaded()'s own defaults
        calls["loaded"].append((spec.location, spec.name, spec.base, layer, dtype, device))
        yield SimpleNamespace(name=spec.name)

    def score_model(model, data, config=None, *, progress=None):
        calls["score"].append((model.name, data, config, progress))
        loss = (TRAIN_LOSS if data.source in train_source else EVAL_LOSS)[model.name]
        noise = np.random.default_rng(len(calls["score"])).normal(0, 0.05, len(data))
        records = [Record(s.id, model.name, {"nll": 10 * (loss + e), "tokens": 10.0, "bytes": 40.0, "words": 8.0})
                   for s, e in zip(data.samples, noise)]
        return summarise_records(model.name, records, config, tokenization="sha256:t", identity={"path": model.name})

    def of(model, layer):
        calls["of"].append((model.name, layer))
        return model

    def generate_predictions(model, data, out, config=None, *, fields=None, limit=None, overwrite=False, progress=None):
        calls["generate"].append((model.name, data, Path(out), config, overwrite, progress))

    def score_predictions(preds, config, *, data=None):
        calls["score_preds"].append((list(preds), config))
        name = preds[0].rsplit("name=", 1)[-1]
        return SimpleNamespace(models=[SimpleNamespace(metrics=TASK[name])])

    monkeypatch.setattr(_sweep, "loaded", loaded)
    monkeypatch.setattr(_sweep, "score_model", score_model)
    monkeypatch.setattr(_sweep, "GENERATION", SimpleNamespace(of=of))
    monkeypatch.setattr(generation, "generate_predictions", generate_predictions)
    monkeypatch.setattr(scoring, "score_predictions", score_predictions)
    return calls


def _rows(path: Path, n: int, word: str) -> Path:
    # custom field names: only the sweep's FieldMap makes them prompt/completion rows
    path.write_text("".join(json.dumps({"key": f"{word}{i}", "q": f"{word} question {i}", "a": f" answer {i}"}) + "\n" for i in range(n)))
    return path


FIELDS = FieldMap(prompt="q", response="a", id="key")


def test_a_sweep_hands_on_every_setting_and_reads_back_what_it_saved(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _model_dir(run / "checkpoint-9")
    _model_dir(run / "checkpoint-10")
    (run / "config.json").write_text("{}")  # the final save, after the last checkpoint
    (run / "model.safetensors").write_bytes(b"final")
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 12}))
    base = _model_dir(tmp_path / "base")
    val, train = _rows(tmp_path / "val.jsonl", 30, "v"), _rows(tmp_path / "train.jsonl", 20, "t")
    other_train = _rows(tmp_path / "train2.jsonl", 25, "u")
    calls = _stand_ins(monkeypatch, [str(train), str(other_train)])
    p = PerplexityConfig(n_resamples=1000, seed=3, template="concat", dtype="float32", device="cpu")
    config = SweepConfig(perplexity=p, base=str(base), task="qa", max_new_tokens=7, stop=("\n\n",))
    out = tmp_path / "sweep"
    progress = _Progress()
    report = sweep_checkpoints(run, val, out, config, train_data=train, fields=FIELDS, progress=progress)

    names = ["checkpoint-9", "checkpoint-10", "final"]
    assert [r.checkpoint for r in report.checkpoints] == [Checkpoint("checkpoint-9", 9, run / "checkpoint-9"),
                                                      Checkpoint("checkpoint-10", 10, run / "checkpoint-10"),
                                                      Checkpoint("final", 12, run)]
    # each checkpoint loaded once, for the sweep layer, with --base, the dtype and device asked for
    assert calls["loaded"] == [(str(c.path), c.name, str(base), "sweep", "float32", "cpu") for c in find_checkpoints(run)]
    # validation then train set, each with the sweep's perplexity config and progress
    eval_set, train_set = load_data(val, FIELDS), load_data(train, FIELDS)
    assert [(m, d.source, d.sha256, c, g) for m, d, c, g in calls["score"]] == [
        (n, str(s.source), s.sha256, p, progress) for n in names for s in (eval_set, train_set)]
    # generation: the validation set into <out>/preds/<name>.jsonl, overwritten, with the template,
    # max_new_tokens and stop; then that file scored under the checkpoint's name
    assert calls["of"] == [(n, "sweep --task") for n in names]
    assert [(m, d.sha256, o, overwrite, g) for m, d, o, _, overwrite, g in calls["generate"]] == [
        (n, eval_set.sha256, out / "preds" / f"{n}.jsonl", True, progress) for n in names]
    for _, _, _, gen, _, _ in calls["generate"]:
        assert (gen.template, gen.params.max_new_tokens, gen.params.stop) == ("concat", 7, ("\n\n",))
    assert calls["score_preds"] == [([f"{out / 'preds' / n}.jsonl,name={n}"], config.score_config()) for n in names]
    assert progress.tasks == [("checkpoints", 3, "checkpoints")] and progress.advanced == [1, 1, 1]

    def readings(rep):
        return [(r.eval.model, r.eval.totals, r.eval.metrics, r.train.model, r.train.totals, r.train.metrics, r.task) for r in rep.checkpoints]

    first = readings(report)
    # the train losses given, named by checkpoint; the task's estimates with their CIs (or none)
    assert [(m, tm, task) for m, _, _, tm, _, _, task in first] == [(n, n, TASK[n]) for n in names]
    assert [t["nll"] / t["tokens"] for _, _, _, _, t, _, _ in first] == pytest.approx([TRAIN_LOSS[n] for n in names], abs=0.05)
    assert report.data == {"eval": eval_set.identity(), "train": train_set.identity()}
    assert report.notes == [f"per-checkpoint results are kept in {out}: a rerun continues from them (--cache-dir to choose the place)"]
    saved = json.loads((out / "checkpoints" / "checkpoint-10.json").read_text())
    assert saved["task"] == {"exact_match": {"value": 0.75, "ci95": [0.5, 0.875]}, "f1": {"value": 0.8, "ci95": None}}
    assert [d["id"] for d in saved["train"]["per_document"]] == [f"t{i}" for i in range(20)]

    # resumed: nothing loaded, the same readings from the saved files
    for c in calls.values():
        c.clear()
    again = sweep_checkpoints(run, val, out, config, train_data=train, fields=FIELDS)
    assert calls["loaded"] == [] and readings(again) == first
    # another train set (given as a loaded Dataset, taken as it is) re-evaluates every checkpoint
    other = load_data(other_train, FIELDS)
    sweep_checkpoints(run, val, out, config, train_data=other, fields=FIELDS)
    assert [c[1] for c in calls["loaded"]] == names
    assert [d for _, d, _, _ in calls["score"]][1::2] == [other] * 3 and all(d is other for _, d, _, _ in calls["score"][1::2])

    # a broken saved file names itself and the fix
    bad = out / "checkpoints" / "checkpoint-9.json"
    bad.write_text("{not json")
    with pytest.raises(DataError) as err:
        sweep_checkpoints(run, val, out, config, train_data=other, fields=FIELDS)
    assert str(err.value).startswith(f"{bad} line 1: invalid JSON")
    assert str(err.value).endswith("; delete it to evaluate that checkpoint again")


def test_a_sweep_without_the_final_save_leaves_it_out_of_the_checkpoints_and_the_notes(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _model_dir(run / "checkpoint-9")
    _model_dir(run / "checkpoint-10")
    (run / "config.json").write_text("{}")
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 12}))
    val = tmp_path / "val.jsonl"
    val.write_text("".join(json.dumps({"text": f"text {i}"}) + "\n" for i in range(20)))
    calls = _stand_ins(monkeypatch, [])
    config = SweepConfig(perplexity=PerplexityConfig(n_resamples=100), include_final=False)
    report = sweep_checkpoints(run, val, tmp_path / "sweep", config)
    assert [r.checkpoint.name for r in report.checkpoints] == ["checkpoint-9", "checkpoint-10"]
    assert [c[1] for c in calls["loaded"]] == ["checkpoint-9", "checkpoint-10"]
    # no train set: no train reading and no train data; the user left the final save out: no note on it
    assert [r.train for r in report.checkpoints] == [None, None] and list(report.data) == ["eval"]
    assert len(report.notes) == 1 and report.notes[0].startswith("per-checkpoint results are kept in")

