"""Mutation-testing cases for overfitting/_evaluate.py (`tunecheck overfit`): the gap's CI from
two independent bootstraps, the thresholds and settings handed on, and what the result keeps
(tests/MUTANTS.md)."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from tests.conftest import CORPUS, HELDOUT, MEMBERS
from tunecheck.core import Record, Status
from tunecheck.data import FieldMap, load_data
from tunecheck.errors import ConfigError, ModelError
from tunecheck.overfitting import GapThresholds, classify_gap, evaluate_overfit
from tunecheck.overfitting._evaluate import loss_gap
from tunecheck.perplexity import PerplexityConfig, score_model
from tunecheck.perplexity._evaluate import summarise_records
from tunecheck.stats import bootstrap_sums, percentile_ci


def _mp(name, nll_tokens, config):
    records = [Record(str(i), name, {"nll": nll, "tokens": tok, "bytes": 4.0 * tok, "words": tok}) for i, (nll, tok) in enumerate(nll_tokens)]
    return summarise_records(name, records, config, tokenization="t")


def test_the_gap_s_ci_resamples_each_set_with_its_own_seed():
    config = PerplexityConfig(n_resamples=1234, seed=5)
    rng = np.random.default_rng(0)
    train = _mp("m", [(float(x), 10.0) for x in rng.uniform(5, 15, 40)], config)
    eval_ = _mp("m", [(float(x), float(t)) for x, t in zip(rng.uniform(10, 30, 30), rng.integers(5, 15, 30))], config)
    gap = loss_gap(train, eval_, config, GapThresholds())
    # by hand: token-mean loss of each resample (sum nll / sum tokens), eval with seed 6, train with seed 5
    def reps(mp, seed):
        cols = np.array([[r.values["nll"], r.values["tokens"]] for r in mp.records])
        sums = bootstrap_sums(cols, n_resamples=1234, seed=seed)
        return sums[:, 0] / sums[:, 1]

    assert gap.gap.ci95 == percentile_ci(reps(eval_, 6) - reps(train, 5))
    want = eval_.metrics["nll_per_token"].value - train.metrics["nll_per_token"].value
    assert gap.gap.value == pytest.approx(want)


def test_the_gap_s_level_follows_the_thresholds_given():
    config = PerplexityConfig(n_resamples=1000)
    train = _mp("m", [(10.0, 10.0)] * 12, config)  # loss 1.0
    eval_ = _mp("m", [(13.0, 10.0)] * 12, config)  # loss 1.3: "some" by the defaults (0.2 < 0.3 <= 0.5)
    assert loss_gap(train, eval_, config, GapThresholds()).verdict.level == "some"
    strict = loss_gap(train, eval_, config, GapThresholds(some=0.05, high=0.25))
    assert strict.verdict.level == "high"
    # the signal reads the same thresholds and carries the level's message
    signal = strict.signal(GapThresholds(some=0.05, high=0.25))
    assert signal.status == Status.OVERFITTING and signal.evidence.endswith(f": {strict.verdict.message}")


def _write(path, texts, field="text"):
    path.write_text("".join(json.dumps({field: t}) + "\n" for t in texts))
    return path


class _Recorder:
    def __init__(self):
        self.tasks = []

    def task(self, description, total, unit=None):
        self.tasks.append((description, total, unit))
        return self

    def advance(self, n=1):
        pass


def test_overfit_hands_its_settings_on_and_keeps_them(memorised, tmp_path):
    train = _write(tmp_path / "train.jsonl", MEMBERS[:12], "body")
    eval_ = _write(tmp_path / "eval.jsonl", HELDOUT[:12], "body")
    config = PerplexityConfig(n_resamples=1000, seed=3, dtype="bfloat16")
    # the memorised model's gap is far above the default 0.5: "none" only by these thresholds
    thresholds = GapThresholds(some=50.0, high=100.0)
    shown, progress = [], _Recorder()
    fields = FieldMap(text="body")
    where = str(memorised["tuned"])
    report = evaluate_overfit([where], train, eval_, config, thresholds, fields=fields, progress=progress, show_tokens=shown.append)
    result = report.to_result()
    assert result.config == asdict(config) and result.details == {"thresholds": {"high": 100.0, "some": 50.0}}
    [gap] = report.models
    assert gap.verdict.level == "none" and classify_gap(gap.verdict.train_loss, gap.verdict.eval_loss).level == "high"
    assert result.models[0].details["level"] == "none" and result.signals[0].status == Status.HEALTHY
    # the model was loaded in the dtype asked for, and each set scored with the config (its seed and resamples)
    assert result.models[0].identity["dtype"] == "bfloat16"
    from tunecheck.models import SCORING, loaded

    with loaded(where, SCORING, layer="test", dtype="bfloat16") as model:
        want_train = score_model(model, load_data(train, fields), config)
        want_eval = score_model(model, load_data(eval_, fields), config)
    name = result.models[0].name
    assert result.estimate("train_loss", name).ci95 == want_train.metrics["nll_per_token"].ci95
    assert result.estimate("eval_loss", name).ci95 == want_eval.metrics["nll_per_token"].ci95
    # both sets' progress (in tokens scored), and the first training sample's tokens shown once
    d = result.models[0].details
    assert progress.tasks == [(f"scoring {where}", d["train_tokens"], None), (f"scoring {where}", d["eval_tokens"], None)]
    assert len(shown) == 1 and shown[0].startswith(f"tokens of sample '0' for {where}: ")


def test_datasets_are_taken_as_they_are(model_dirs, tmp_path):
    train = load_data(_write(tmp_path / "train.jsonl", CORPUS[:6]))
    eval_ = load_data(_write(tmp_path / "eval.jsonl", CORPUS[6:12]))
    report = evaluate_overfit([str(model_dirs["base"])], train, eval_, PerplexityConfig(n_resamples=1000))
    assert [d.source for d in report.to_result().data] == [str(tmp_path / "train.jsonl"), str(tmp_path / "eval.jsonl")]


def test_no_model_and_a_backend_that_cannot_score_are_refused(tmp_path):
    train = _write(tmp_path / "train.jsonl", CORPUS[:6])
    eval_ = _write(tmp_path / "eval.jsonl", CORPUS[6:12])
    with pytest.raises(ConfigError) as err:
        evaluate_overfit([], train, eval_)
    assert str(err.value) == "name at least one model (--model)"
    # the refusal names the command (a model object that only generates)
    with pytest.raises(ModelError, match=r"^gen-only: overfit needs log-likelihoods of given text, which GenOnly cannot do"):
        evaluate_overfit([GenOnly()], train, eval_)


class GenOnly:
    """A Model that is no LogLikelihoodModel."""

    name = "gen-only"

    def identity(self) -> dict[str, str]:
        return {"name": self.name}

    def chat_renderer(self) -> None:
        return None

    def close(self) -> None:
        pass
