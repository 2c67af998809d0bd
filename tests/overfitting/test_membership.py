"""Membership signal: Min-K% by hand, and the AUROCs of a model that memorised its training
texts against the untrained base (the control)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.overfitting.conftest import HELDOUT, MEMBERS, write_texts
from tunecheck.errors import ConfigError, DataError
from tunecheck.overfitting import MembershipConfig, evaluate_membership, min_k_prob
from tunecheck.perplexity import PerplexityConfig


def test_min_k_prob_by_hand():
    lp = np.array([-0.1, -3.0, -0.5, -2.0, -0.2])
    # 20% of 5 tokens = 1 token: the lowest, -3.0
    assert min_k_prob(lp, 20) == -3.0
    # 50% of 5 = 2.5 -> ceil 3 tokens: (-3.0 - 2.0 - 0.5) / 3
    assert min_k_prob(lp, 50) == pytest.approx(-5.5 / 3)
    assert min_k_prob(lp, 100) == pytest.approx(lp.mean())
    assert np.isnan(min_k_prob(np.array([]), 20))


def test_memorised_training_texts_are_singled_out(memorised, tmp_path):
    train = write_texts(tmp_path / "train.jsonl", MEMBERS, "m")
    held = write_texts(tmp_path / "held.jsonl", HELDOUT, "h")
    config = MembershipConfig(perplexity=PerplexityConfig(n_resamples=500))
    report = evaluate_membership([f"{memorised['base']},name=base", f"{memorised['tuned']},name=tuned"], train, held, config)
    [tuned] = report.models
    assert tuned.signals["reference"].value.value > 0.95
    assert tuned.signals["min_k"].value.value > 0.9
    assert tuned.level == "high"
    # the base never saw either set (random texts alike): its own loss does not separate them,
    # its CI spans 0.5 (about 0.64, CI [0.43, 0.81] here), so no "sets differ in kind" warning
    control = tuned.signals["base_loss"].value
    assert control.ci95[0] < 0.5 < control.ci95[1]
    assert not any("already tells the two sets apart" in w for w in report.warnings)
    # memorisation shows as the tuned reference score far above that control (1.0 vs ~0.64)
    assert tuned.signals["reference"].value.value - control.value > 0.3
    result = report.to_result()
    assert result.layer == "membership" and result.details["baseline"] == "base"
    assert [m.name for m in result.models] == ["tuned"] and result.models[0].details["level"] == "high"
    assert {e.metric for e in result.estimates} == {"auroc_reference", "auroc_loss", "auroc_min_k", "auroc_base_loss"}
    assert result.estimate("auroc_reference", "tuned").value == tuned.signals["reference"].value.value  # type: ignore[union-attr]
    assert [(s.name, s.model, s.status.value) for s in result.signals] == [("membership signal", "tuned", "overfitting")]


def test_a_model_that_saw_neither_set_gives_no_signal(memorised, tmp_path):
    train = write_texts(tmp_path / "train.jsonl", MEMBERS, "m")
    held = write_texts(tmp_path / "held.jsonl", HELDOUT, "h")
    config = MembershipConfig(perplexity=PerplexityConfig(n_resamples=500))
    base = f"{memorised['base']},name=base"
    report = evaluate_membership([base, base.replace("name=base", "name=same")], train, held, config)
    # same weights: tuned - base is exactly 0 everywhere, every pair tied -> AUROC 0.5
    assert report.models[0].signals["reference"].value.value == 0.5
    assert report.models[0].level != "high"


def test_same_data_twice_and_bad_k_are_refused(memorised, tmp_path):
    train = write_texts(tmp_path / "train.jsonl", MEMBERS, "m")
    with pytest.raises(ConfigError, match="same data"):
        evaluate_membership([str(memorised["base"])], train, train)
    with pytest.raises(ConfigError, match="--k-percent"):
        MembershipConfig(k_percent=0)


def test_too_few_scorable_examples_name_the_file(memorised, tmp_path):
    train = write_texts(tmp_path / "train.jsonl", MEMBERS, "m")
    one = write_texts(tmp_path / "one.jsonl", HELDOUT[:1], "h")
    base = str(memorised["base"])
    config = MembershipConfig(perplexity=PerplexityConfig(n_resamples=200))
    # a single held-out example: no AUROC (it needs 2 per side), and the message names the file
    with pytest.raises(DataError, match=r"one\.jsonl \(--eval\): 1 of 1 examples can be scored; .*at least 2"):
        evaluate_membership([base], train, one, config)
    # completion-only scoring of empty responses scores no token: 3 rows, 1 scorable
    import json

    rows = [{"id": "a", "prompt": "the red fox", "completion": " walks"}, {"id": "b", "prompt": "the owl", "completion": ""},
            {"id": "c", "prompt": "the cat", "completion": ""}]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("".join(json.dumps(r) + "\n" for r in rows))
    held = tmp_path / "held.jsonl"
    held.write_text("".join(json.dumps({"id": f"h{i}", "prompt": t[:10], "completion": t[10:]}) + "\n" for i, t in enumerate(HELDOUT[:4])))
    completion_only = MembershipConfig(perplexity=PerplexityConfig(completion_only=True, eos="no", n_resamples=200))
    with pytest.raises(DataError, match=r"empty\.jsonl \(--train\): 1 of 3 examples can be scored \(.*empty response under --completion-only"):
        evaluate_membership([base], empty, held, completion_only)
