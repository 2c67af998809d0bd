"""Checkpoint sweep: checkpoints found in step order, the U-curve phases from paired tests
against the best checkpoint, and a resumed sweep that reuses saved results."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tests.overfitting.conftest import MEMBERS, write_texts
from tunecheck.core import Record
from tunecheck.errors import ConfigError
from tunecheck.overfitting import SweepConfig, find_checkpoints, place_on_curve, sweep_checkpoints
from tunecheck.overfitting._sweep import Checkpoint, CheckpointResult
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


def test_sweep_evaluates_saves_and_resumes(tmp_path, memorised, monkeypatch):
    run = _run_dir(tmp_path, memorised)
    data = write_texts(tmp_path / "eval.jsonl", MEMBERS, "m")
    out = tmp_path / "sweep"
    config = SweepConfig(perplexity=PerplexityConfig(n_resamples=300))
    first = sweep_checkpoints(run, data, out, config).to_dict()
    assert [c["checkpoint"] for c in first["checkpoints"]] == ["checkpoint-9", "checkpoint-10"]
    # the memorised model has the lowest loss on its own training texts; the untrained one is far worse
    assert first["best_checkpoint"] == "checkpoint-10"
    assert first["checkpoints"][0]["phase"] == "under-fitting"
    assert "still falling" in first["recommendation"]
    assert (out / "checkpoints" / "checkpoint-9.json").is_file()

    import tunecheck.overfitting._sweep as sweep_mod

    def no_loading(*_a, **_k):
        raise AssertionError("a saved checkpoint was evaluated again")

    monkeypatch.setattr(sweep_mod, "load_model", no_loading)
    again = sweep_checkpoints(run, data, out, config).to_dict()
    assert again["checkpoints"][1]["eval_loss"] == first["checkpoints"][1]["eval_loss"]
    # new weights in a checkpoint (same folder) invalidate its saved result, and only its
    weights = next((run / "checkpoint-10").glob("*.safetensors"))
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="evaluated again"):
        sweep_checkpoints(run, data, out, config)
