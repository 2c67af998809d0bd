"""Checkpoint sweep: checkpoints found in step order, the U-curve phases from paired tests
against the best checkpoint, and a resumed sweep that reuses saved results."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tests.overfitting.conftest import MEMBERS, write_texts
from tests.schema import assert_valid_result
from tunecheck.core import Record, Status, load_result
from tunecheck.data import FieldMap
from tunecheck.errors import ConfigError, DataError
from tunecheck.overfitting import (
    SweepConfig,
    SweepReport,
    find_checkpoints,
    place_on_curve,
    plot_sweep,
    sweep_checkpoints,
    sweep_signal,
)
from tunecheck.overfitting._sweep import Checkpoint, CheckpointResult, recommend
from tunecheck.overfitting._verdict import RUN
from tunecheck.perplexity import PerplexityConfig
from tunecheck.perplexity._evaluate import summarise_records


def _run_dir(root, memorised):
    run = root / "run"
    shutil.copytree(memorised["base"], run / "checkpoint-9")
    shutil.copytree(memorised["tuned"], run / "checkpoint-10")
    (run / "checkpoint-11").mkdir()  # no model inside: not a checkpoint
    return run


def test_checkpoints_are_found_in_step_order(tmp_path, memorised):
    run = _run_dir(tmp_path, memorised)
    # "checkpoint-10" sorts before "checkpoint-9" as text; by step it comes after
    assert [c.name for c in find_checkpoints(run)] == ["checkpoint-9", "checkpoint-10"]
    with pytest.raises(ConfigError, match="no checkpoint-"):
        find_checkpoints(tmp_path / "run" / "checkpoint-11")


def _fake(name, step, nll_per_doc, tokens=10):
    records = [Record(str(i), name, {"nll": float(x) * tokens, "tokens": float(tokens), "bytes": 40.0, "words": 8.0}) for i, x in enumerate(nll_per_doc)]
    ppl = summarise_records(name, records, PerplexityConfig(n_resamples=500), tokenization="t")
    return CheckpointResult(Checkpoint(name, step, None), ppl)  # type: ignore[arg-type]


def test_u_curve_phases():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, 200)
    wobble = np.where(np.arange(200) % 2 == 0, 0.02, -0.02) + 0.001  # mean +0.001, se ~0.0014
    # per-document losses: 2.0 (early), 1.0 (best), 1.001 +- 0.02 (not told apart), 1.5 (late)
    results = [
        _fake("checkpoint-1", 1, 2.0 + noise),
        _fake("checkpoint-2", 2, 1.0 + noise),
        _fake("checkpoint-3", 3, 1.0 + noise + wobble),
        _fake("checkpoint-4", 4, 1.5 + noise),
    ]
    best, versus, phases = place_on_curve(results, PerplexityConfig(n_resamples=500))
    assert best == 1 and versus[1] is None
    assert phases == ["under-fitting", "best", "near best", "over-fitting"]
    assert versus[3].difference == pytest.approx(0.5, abs=1e-9)
    # each comparison names the best checkpoint as its baseline and the checkpoint as its model
    assert [(v.baseline, v.model) for v in versus if v] == [("checkpoint-2", "checkpoint-1"), ("checkpoint-2", "checkpoint-3"),
                                                           ("checkpoint-2", "checkpoint-4")]


def test_sweep_result_names_checkpoints_as_models():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.05, 100)
    results = [_fake("checkpoint-1", 1, 2.0 + noise), _fake("checkpoint-2", 2, 1.0 + noise), _fake("checkpoint-3", 3, 1.5 + noise)]
    for r, train_loss in zip(results, (1.9, 0.8, 0.4)):
        r.train = _fake(r.checkpoint.name, r.checkpoint.step, np.full(50, train_loss)).eval
    best, versus, phases = place_on_curve(results, PerplexityConfig(n_resamples=500))
    ident = {"source": "val.jsonl", "sha256": "sha256:v", "n": 100, "shape": "text"}
    report = SweepReport(results, best, versus, phases, recommend(results, best, phases),
                         {"eval": ident, "train": {**ident, "source": "train.jsonl", "n": 50}}, SweepConfig(), ["a note"])
    result = report.to_result()
    assert_valid_result(result.to_dict())
    assert result.model_names() == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    assert [m.details["phase"] for m in result.models] == ["under-fitting", "best", "over-fitting"]
    assert [(d.source, d.role, d.n) for d in result.data] == [("val.jsonl", "validation", 100), ("train.jsonl", "train", 50)]
    # gap = eval loss - train loss: checkpoint-3's is mean(1.5 + noise) - 0.4, without a CI
    gap = result.estimate("gap", "checkpoint-3")
    assert gap.value == pytest.approx(1.5 + noise.mean() - 0.4) and gap.ci95 is None
    assert result.estimate("train_loss", "checkpoint-3").value == pytest.approx(0.4) and result.estimate("train_loss", "checkpoint-3").n == 50
    assert [(c.baseline, c.model) for c in result.comparisons] == [("checkpoint-2", "checkpoint-1"), ("checkpoint-2", "checkpoint-3")]
    assert result.details["best_checkpoint"] == "checkpoint-2" and result.details["u_curve"] is True
    assert result.warnings == ["a note"] and result.signals[0].status == Status.OVERFITTING


def test_sweep_signal_is_the_training_runs():
    # the rule moved from overfitting/_verdict.py's sweep branch, same cases
    s = sweep_signal(["under-fitting", "best", "near best", "over-fitting"], "use checkpoint-2")
    assert (s.name, s.status, s.model, s.evidence, s.reason) == ("checkpoint sweep", Status.OVERFITTING, RUN, "use checkpoint-2", None)
    assert sweep_signal(["under-fitting", "best", "near best"], "use checkpoint-2").status == Status.HEALTHY
    # over-fitting is the only phase that shows it: a diverged (NaN) checkpoint is not overfitting
    assert sweep_signal(["best", "diverged"], "use checkpoint-1").status == Status.HEALTHY
    one = sweep_signal(["best"], "use checkpoint-10")
    assert (one.status, one.reason) == (Status.NOT_APPLICABLE, "only 1 checkpoint(s): no curve to place them on")


def test_non_finite_checkpoints_are_diverged_not_near_best():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.05, 100)
    results = [_fake("checkpoint-1", 1, 2.0 + noise), _fake("checkpoint-2", 2, 1.0 + noise), _fake("checkpoint-3", 3, np.full(100, np.nan))]
    best, versus, phases = place_on_curve(results, PerplexityConfig(n_resamples=500))
    assert best == 1 and phases == ["under-fitting", "best", "diverged"] and versus[2] is None
    from tunecheck.overfitting._sweep import recommend

    assert "checkpoint-3: loss is NaN/inf" in recommend(results, best, phases)
    with pytest.raises(DataError, match="non-finite"):
        place_on_curve([results[2]], PerplexityConfig(n_resamples=500))


def test_the_final_save_is_placed_at_its_step(tmp_path, memorised):
    run = _run_dir(tmp_path, memorised)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(memorised["tuned"] / name, run / name)
    # no trainer_state.json: the final save's step is unknown, it goes last
    assert [(c.name, c.step) for c in find_checkpoints(run)][-1] == ("final", None)
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 12}))
    assert [(c.name, c.step) for c in find_checkpoints(run)][-1] == ("final", 12)
    # saved at the last checkpoint's step: the same weights, evaluated once
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 10}))
    assert [c.name for c in find_checkpoints(run)] == ["checkpoint-9", "checkpoint-10"]
    assert [c.name for c in find_checkpoints(run, include_final=False)] == ["checkpoint-9", "checkpoint-10"]


def test_sweep_evaluates_saves_and_resumes(tmp_path, memorised, monkeypatch):
    import tunecheck.models._hf_load as hf_load

    loaded: list[str] = []
    real_load = hf_load.load_hf

    def recording_load(spec, **kw):
        loaded.append(spec.name)
        return real_load(spec, **kw)

    monkeypatch.setattr(hf_load, "load_hf", recording_load)
    run = _run_dir(tmp_path, memorised)
    data = write_texts(tmp_path / "eval.jsonl", MEMBERS, "m")
    out = tmp_path / "sweep"
    config = SweepConfig(perplexity=PerplexityConfig(n_resamples=300))
    report = sweep_checkpoints(run, data, out, config)
    first = report.to_result()
    assert loaded == ["checkpoint-9", "checkpoint-10"]
    assert first.model_names() == ["checkpoint-9", "checkpoint-10"]
    assert [m.details["step"] for m in first.models] == [9, 10]
    # the memorised model has the lowest loss on its own training texts; the untrained one is far worse
    assert first.details["best_checkpoint"] == "checkpoint-10" and first.details["best_step"] == 10
    assert [m.details["phase"] for m in first.models] == ["under-fitting", "best"]
    [vs] = first.comparisons
    assert (vs.metric, vs.baseline, vs.model) == ("eval_loss", "checkpoint-10", "checkpoint-9")
    assert vs.difference == pytest.approx(first.estimate("eval_loss", "checkpoint-9").value - first.estimate("eval_loss", "checkpoint-10").value)
    assert [(s.name, s.status, s.model) for s in first.signals] == [("checkpoint sweep", Status.HEALTHY, RUN)]
    assert "loss still fell at the last checkpoint" in first.details["recommendation"]
    assert first.details["recommendation"].endswith("more training may help")  # at 0.11 nats/token, 5.6 lower than before
    assert_valid_result(first.to_dict())
    assert (out / "checkpoints" / "checkpoint-9.json").is_file()
    plot_sweep(report, png=tmp_path / "u.png")
    assert (tmp_path / "u.png").read_bytes().startswith(b"\x89PNG")

    loaded.clear()
    again = sweep_checkpoints(run, data, out, config).to_result()
    assert loaded == [] and again.estimate("eval_loss", "checkpoint-10") == first.estimate("eval_loss", "checkpoint-10")
    # new weights in one checkpoint (same folder) invalidate its saved result, and only its
    weights = next((run / "checkpoint-10").glob("*.safetensors"))
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    sweep_checkpoints(run, data, out, config)
    assert loaded == ["checkpoint-10"]
    # so does another field mapping (the same rows, scored differently), for every checkpoint
    loaded.clear()
    sweep_checkpoints(run, data, out, config, fields=FieldMap(text="text", id="id"))
    assert loaded == ["checkpoint-9", "checkpoint-10"]
    # a saved file from an older tunecheck (no per-document sums) is evaluated again, not a crash
    saved = out / "checkpoints" / "checkpoint-9.json"
    saved.write_text(json.dumps({"fingerprint": "x"}))
    loaded.clear()
    sweep_checkpoints(run, data, out, config, fields=FieldMap(text="text", id="id"))
    assert loaded == ["checkpoint-9"]


def test_sweep_scores_a_task_per_checkpoint(tmp_path, memorised):
    run = _run_dir(tmp_path, memorised)
    data = tmp_path / "qa.jsonl"
    # prompt = the first 4 words of a member text, answer = the rest: the memorised checkpoint knows it
    rows = [{"id": str(i), "prompt": " ".join(t.split()[:4]), "completion": " " + " ".join(t.split()[4:7])} for i, t in enumerate(MEMBERS[:6])]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = SweepConfig(perplexity=PerplexityConfig(completion_only=True, template="concat", n_resamples=1000), task="qa", max_new_tokens=4)
    got = sweep_checkpoints(run, data, tmp_path / "sweep", config).to_result()
    assert got.details["task_metrics"] == ["exact_match", "f1"]
    for name in ("checkpoint-9", "checkpoint-10"):
        assert all(got.estimate(metric, name) is not None for metric in ("exact_match", "f1"))
    assert (tmp_path / "sweep" / "preds" / "checkpoint-10.jsonl").is_file()
    # the memorised checkpoint continues its training texts: better token F1 than the untrained one
    assert got.estimate("f1", "checkpoint-10").value > got.estimate("f1", "checkpoint-9").value
    with pytest.raises(ConfigError, match="--task"):
        SweepConfig(task="summarise")


def _falling(last_loss, previous_loss, task=None):
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.001, 200)
    results = [_fake("checkpoint-1", 1, previous_loss + noise), _fake("checkpoint-2", 2, last_loss + noise)]
    if task:
        results[1].task.update(task)
    best, _, phases = place_on_curve(results, PerplexityConfig(n_resamples=500))
    assert best == 1 and phases == ["under-fitting", "best"]
    return recommend(results, best, phases)


def test_more_training_is_advised_only_when_there_is_something_left_to_gain():
    from tunecheck.core import Estimate

    # 2.0 -> 1.0 nats/token, significantly lower at the last checkpoint: more training may help
    assert _falling(1.0, 2.0).endswith("loss still fell at the last checkpoint (by 1.0000 from checkpoint-1): more training may help")
    # 0.05 -> 0.01 (perplexity 1.010): at most 0.01 nats/token is left to gain (loss >= 0)
    low = _falling(0.01, 0.05)
    assert "more training may help" not in low
    assert "but at 0.0100 nats/token (perplexity 1.010) little is left to gain" in low
    # accuracy already 1.0 (the real run: validation loss 0.01, 100% accuracy): the task cannot improve
    at_max = _falling(1.0, 2.0, {"accuracy": Estimate(1.0, None), "macro_f1": Estimate(0.97, None)})
    assert "more training may help" not in at_max and "but accuracy is already at its maximum" in at_max
    # chrF is on a 0-100 scale: 99.0 is below its maximum, 100 is at it
    assert _falling(1.0, 2.0, {"chrf": Estimate(99.0, None)}).endswith("more training may help")
    assert "chrf is already at its maximum" in _falling(1.0, 2.0, {"chrf": Estimate(100.0, None)})


def test_a_final_save_at_a_checkpoints_step_is_named_in_a_note(tmp_path, memorised):
    from tunecheck.overfitting._sweep import final_note

    run = _run_dir(tmp_path, memorised)
    assert final_note(run, find_checkpoints(run)) is None  # no model in the run folder itself
    for name in ("config.json", "model.safetensors"):
        shutil.copy(memorised["tuned"] / name, run / name)
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 10}))
    note = final_note(run, find_checkpoints(run))
    assert note is not None and note.startswith(f"final model in {run} = checkpoint-10 (both saved at step 10), not scored twice")
    assert final_note(run, find_checkpoints(run, include_final=False), include_final=False) is None  # the user asked
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 12}))
    assert final_note(run, find_checkpoints(run)) is None  # scored as "final"


def test_the_default_cache_is_tunecheck_s_own_never_the_training_folder(tmp_path, monkeypatch):
    from tunecheck.overfitting import default_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run = tmp_path / "runs" / "lora"
    run.mkdir(parents=True)
    where = default_cache_dir(run)
    assert where.parent == tmp_path / "xdg" / "tunecheck" / "sweep" and where.name.startswith("lora-")
    assert run.resolve() not in where.parents
    # another run folder of the same name elsewhere gets its own cache
    other = tmp_path / "elsewhere" / "lora"
    other.mkdir(parents=True)
    assert default_cache_dir(other) != where
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir(run).parent == tmp_path / "home" / ".cache" / "tunecheck" / "sweep"


def test_cli_sweep_keeps_the_training_folder_clean_and_notes_the_final_save(tmp_path, memorised):
    from typer.testing import CliRunner

    from tunecheck.cli import app

    run = _run_dir(tmp_path, memorised)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(memorised["tuned"] / name, run / name)
    (run / "trainer_state.json").write_text(json.dumps({"global_step": 10}))
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    data = write_texts(tmp_path / "eval.jsonl", MEMBERS, "m")
    args = ["sweep", str(run), "--eval", str(data), "--limit", "3", "--n-resamples", "300", "--format", "json", "--out", str(tmp_path / "s.json")]
    result = CliRunner().invoke(app, args, env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert_valid_result(got)
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before  # nothing written into the run
    saved = list((tmp_path / "xdg" / "tunecheck" / "sweep").glob("run-*/checkpoints/*.json"))
    assert sorted(p.name for p in saved) == ["checkpoint-10.json", "checkpoint-9.json"]
    assert got["warnings"][1].startswith(f"per-checkpoint results are kept in {saved[0].parent.parent}")
    assert got["warnings"][0].startswith(f"final model in {run} = checkpoint-10 (both saved at step 10), not scored twice")
    [data_info] = got["data"]
    assert data_info["role"] == "validation" and data_info["details"]["sampled"] == {"n": 3, "of": len(MEMBERS), "seed": 0}
    back = load_result(tmp_path / "s.json")  # --out reads back as the typed result
    assert back.layer == "sweep" and back.model_names() == ["checkpoint-9", "checkpoint-10"]
    assert back.signals[0].model == RUN and back.comparisons[0].baseline == back.details["best_checkpoint"]
    # --cache-dir puts it where the user says
    result = CliRunner().invoke(app, [*args, "--cache-dir", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mine" / "checkpoints" / "checkpoint-9.json").is_file()


# Mutation-testing cases (tests/MUTANTS.md): what keys a checkpoint's cached result. A setting
# that changes the numbers must re-evaluate it; one that does not (batch size, device, the
# resampling of losses, which are re-bootstrapped on every load) must not.


def test_the_cache_key_follows_every_setting_that_changes_the_numbers(tmp_path):
    from tunecheck.data import Dataset, Sample
    from tunecheck.overfitting._sweep import _fingerprint

    ckpt_dir, base_dir = tmp_path / "checkpoint-10", tmp_path / "base"
    for d in (ckpt_dir, base_dir):
        d.mkdir()
        (d / "model.safetensors").write_bytes(b"weights")
    ckpt = Checkpoint("checkpoint-10", 10, ckpt_dir)

    def data(h: str) -> Dataset:
        return Dataset((Sample("0", "text", text="t"),), "mem", "text", h)

    def fp(config: SweepConfig | None = None, train: Dataset | None = None) -> str:
        return _fingerprint(ckpt, config or SweepConfig(), data("sha256:eval"), train, None)

    ref = fp()
    assert len(ref) == 16
    p = PerplexityConfig
    # no change: batch size, device spelled out (the CPU here), loss resampling without a task
    assert ref == fp(SweepConfig(perplexity=p(batch_size=4))) == fp(SweepConfig(perplexity=p(device="cpu")))
    assert ref == fp(SweepConfig(perplexity=p(n_resamples=500, seed=3))) == fp(SweepConfig(perplexity=p(dtype="float32")))
    # changes: another train set, what is scored, the dtype actually used, a task's resampling
    assert len({ref, fp(train=data("sha256:a")), fp(train=data("sha256:b"))}) == 3
    assert fp(SweepConfig(perplexity=p(completion_only=True))) != ref
    assert fp(SweepConfig(perplexity=p(dtype="bfloat16"))) != ref
    task = fp(SweepConfig(task="qa"))
    assert task != ref and fp(SweepConfig(task="qa", perplexity=p(n_resamples=2000))) != task
    # a base model given with --base: its files are part of the key
    with_base = fp(SweepConfig(base=str(base_dir)))
    assert with_base != ref
    (base_dir / "tokenizer.json").write_text("{}")
    assert fp(SweepConfig(base=str(base_dir))) != with_base


def _adapter(tmp_path, base_dir):
    ckpt_dir = tmp_path / "run" / "checkpoint-5"
    ckpt_dir.mkdir(parents=True)
    (ckpt_dir / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(base_dir), "peft_type": "LORA"}))
    (ckpt_dir / "adapter_model.safetensors").write_bytes(b"lora")
    return Checkpoint("checkpoint-5", 5, ckpt_dir)


def _keyed_adapter(tmp_path):
    """A base folder, an adapter checkpoint naming it, and the checkpoint's cache key per config."""
    from tunecheck.data import Dataset, Sample
    from tunecheck.overfitting._sweep import _fingerprint

    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "config.json").write_text("{}")
    (base_dir / "model.safetensors").write_bytes(b"base weights")
    ckpt = _adapter(tmp_path, base_dir)
    data = Dataset((Sample("0", "text", text="t"),), "mem", "text", "sha256:e")

    def fp(config: SweepConfig) -> str:
        return _fingerprint(ckpt, config, data, None, None)

    return base_dir, fp


def test_an_adapter_checkpoint_is_keyed_by_the_base_its_config_names(tmp_path):
    base_dir, fp = _keyed_adapter(tmp_path)

    own = fp(SweepConfig())
    # the base named in adapter_config.json is the one --base would name: the same key
    assert own == fp(SweepConfig(base=str(base_dir)))
    # new base weights (same adapter) re-evaluate the checkpoint
    (base_dir / "model.safetensors").write_bytes(b"other base weights")
    assert fp(SweepConfig()) != own


def test_a_missing_adapter_base_names_the_sweep_s_fix(tmp_path):
    from tunecheck.data import Dataset, Sample
    from tunecheck.errors import ModelError
    from tunecheck.overfitting._sweep import _fingerprint

    ckpt = _adapter(tmp_path, tmp_path / "gone")
    data = Dataset((Sample("0", "text", text="t"),), "mem", "text", "sha256:e")
    with pytest.raises(ModelError) as err:
        _fingerprint(ckpt, SweepConfig(), data, None, None)
    # the models layer's own fix (--model 'PATH,base=...') is replaced by the sweep's option
    assert str(err.value) == (f"{ckpt.path}: base model {tmp_path / 'gone'} named in adapter_config.json "
                              "(base_model_name_or_path) was not found; pass the base model with --base PATH")


def test_the_task_is_scored_with_the_sweep_s_labels_rules_and_resampling():
    config = SweepConfig(perplexity=PerplexityConfig(n_resamples=1234, seed=7), task="classification", labels=("pos", "neg"))
    sc = config.score_config()
    assert (sc.task, sc.labels, sc.rules, sc.n_resamples, sc.seed) == ("classification", ("pos", "neg"), None, 1234, 7)
    rules = {"max_words": 5}
    fmt = SweepConfig(task="format", rules=rules).score_config()
    assert (fmt.task, fmt.rules, fmt.labels) == ("format", rules, None)
    # an unknown task is found when the config is made, before any model loads
    with pytest.raises(ConfigError, match="--task 'summarise'"):
        SweepConfig(task="summarise")
    with pytest.raises(ConfigError, match="sweep --task custom is not supported"):
        SweepConfig(task="custom")


def test_a_checkpoint_s_cache_file_reads_back_to_the_same_scores():
    from tunecheck.overfitting._sweep import _perplexity_dict, _perplexity_from

    config = PerplexityConfig(n_resamples=200, seed=4)
    records = [Record(str(i), "checkpoint-3", {"nll": 2.0 + i, "tokens": 4.0 + i, "bytes": 17.0, "words": 3.0}) for i in range(5)]
    mp = summarise_records("checkpoint-3", records, config, tokenization="sha256:tok", identity={"path": "/x", "files": 2})
    saved = _perplexity_dict(mp)
    assert saved == {
        "model": "checkpoint-3", "tokenization_sha256": "sha256:tok", "identity": {"path": "/x", "files": 2},
        "per_document": [{"id": str(i), "nll": 2.0 + i, "tokens": 4.0 + i, "bytes": 17.0, "words": 3.0} for i in range(5)],
    }
    back = _perplexity_from(json.loads(json.dumps(saved)), "checkpoint-3", config)
    assert (back.model, back.tokenization, back.identity) == ("checkpoint-3", "sha256:tok", {"path": "/x", "files": 2})
    assert [(r.sample_id, r.model, r.values) for r in back.records] == [(r.sample_id, r.model, r.values) for r in records]
    assert back.metrics == mp.metrics and back.totals == mp.totals
    # a file from before identities were kept reads back with an empty one
    assert _perplexity_from({**saved, "identity": None}, "checkpoint-3", config).identity == {}


def test_a_base_under_the_home_folder_keys_the_cache_by_its_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    base_dir, fp = _keyed_adapter(tmp_path)
    before = fp(SweepConfig(base="~/base"))
    (base_dir / "model.safetensors").write_bytes(b"new base weights")
    assert fp(SweepConfig(base="~/base")) != before
