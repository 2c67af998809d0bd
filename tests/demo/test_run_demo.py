"""`run_demo` end to end on a shrunken recipe (5 pre-training steps, 2 epochs of LoRA): every
layer runs, results.json is what it returns, the verdict's two paths agree, and training twice
gives the same bytes (the demo is reproducible on a given machine; evaluation is seeded, and two
full `tunecheck demo --retrain` runs wrote identical results.json files, see README)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from tunecheck._io import clean
from tunecheck.core import Status, load_results
from tunecheck.demo import _run
from tunecheck.demo._seed import reproducible

SMALL = {**_run.RECIPE, "pretrain_steps": 5, "epochs": 2}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_run, "RECIPE", SMALL)


def test_run_demo_runs_every_layer(tmp_path: Path, small_recipe: None, capsys: pytest.CaptureFixture[str]) -> None:
    threads = torch.get_num_threads()
    results = _run.run_demo(tmp_path / "demo")
    assert torch.get_num_threads() == threads  # the single-threaded block is undone
    assert list(results) == ["perplexity_responses", "perplexity_heldout_text", "overfit", "task_qa", "curves", "sweep", "overlap",
                             "copying", "diversity", "extraction", "overfitting", "verdict"]
    # what was written reads back as the same results (NaN is written as null, so compare as JSON)
    assert clean(load_results(tmp_path / "demo" / "results.json").to_dict()) == clean(results.to_dict())
    # 240 training rows in batches of 16: 15 steps an epoch, a checkpoint each, evaluated every 15 steps
    assert results["sweep"].model_names() == ["checkpoint-15", "checkpoint-30"]
    # 80 held-out questions, 4 per country: 20 clusters
    task = results["task_qa"]
    assert [(m.name, m.details["n"], m.details["clusters"]) for m in task.models] == [("base", 80, 20), ("tuned", 80, 20)]
    signals = results["verdict"].signals
    assert [s.name for s in signals] == ["loss gap", "training curves", "checkpoint sweep", "verbatim copying", "output diversity", "extraction (context)"]
    # two evaluations (steps 15 and 30) are too few to see a divergence
    assert (signals[1].status, signals[1].reason) == (Status.NOT_APPLICABLE, "only 2 evaluation(s) logged: too few to see a divergence")
    # the demo's own overfitting verdict and `tunecheck verdict`'s agree
    assert results["overfitting"].details["status"] == results["verdict"].details["overfitting"]["status"]
    assert [r["check"] for r in results["verdict"].details["headline"]][:2] == ["response perplexity (task data)", "general text perplexity"]
    out = capsys.readouterr().out
    assert "pre-training a small base model" in out and f"resultswrittento{tmp_path / 'demo' / 'results.json'}" in "".join(out.split())  # Rich wraps long paths anywhere


def test_training_twice_gives_the_same_models(tmp_path: Path, small_recipe: None) -> None:
    for run in ("a", "b"):
        with reproducible():
            _run.prepare(tmp_path / run, log=lambda _: None)
    for f in ("base/model.safetensors", "base/tokenizer.json", "tuned/adapter_model.safetensors"):
        assert _sha(tmp_path / "a" / f) == _sha(tmp_path / "b" / f), f
