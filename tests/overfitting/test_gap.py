import json
import math

import pytest
from typer.testing import CliRunner

from tests.conftest import CORPUS
from tests.schema import assert_valid_result
from tunecheck.cli import app
from tunecheck.core import Estimate, Status, load_result
from tunecheck.errors import ConfigError
from tunecheck.overfitting import (
    SUGGESTIONS,
    GapThresholds,
    classify_gap,
    evaluate_overfit,
    gap_signal,
)
from tunecheck.perplexity import PerplexityConfig


@pytest.mark.parametrize(
    ("train", "eval_", "level"),
    [
        (1.0, 1.6, "high"),  # gap 0.6 > 0.5
        (1.0, 1.5, "some"),  # gap exactly 0.5 is not > 0.5
        (1.0, 1.3, "some"),  # 0.3
        (1.0, 1.2, "none"),  # exactly 0.2 is not > 0.2
        (1.0, 0.8, "none"),  # eval below train
    ],
)
def test_seed_thresholds(train, eval_, level):
    v = classify_gap(train, eval_)
    assert v.level == level
    assert v.gap == pytest.approx(eval_ - train)
    assert (v.suggestions == SUGGESTIONS) is (level == "high")


# Exactly on each boundary, with floats chosen so eval - train is the threshold itself
# (1.2 - 1.0 is 0.19999..., which never reaches 0.2): the rule is strictly greater than.
@pytest.mark.parametrize(
    ("train", "eval_", "gap", "level"),
    [
        (0.25, 0.75, 0.5, "some"),  # gap == 0.5 exactly: not > 0.5
        (0.0, math.nextafter(0.5, 1.0), math.nextafter(0.5, 1.0), "high"),  # the next float above 0.5
        (0.25, 0.45, 0.2, "none"),  # gap == 0.2 exactly (0.45 - 0.25 rounds to the float 0.2): not > 0.2
        (0.0, math.nextafter(0.2, 1.0), math.nextafter(0.2, 1.0), "some"),  # the next float above 0.2
    ],
)
def test_exact_boundaries(train, eval_, gap, level):
    v = classify_gap(train, eval_)
    assert v.gap == gap  # exactly, not approximately: the boundary itself is reached
    assert v.level == level


def test_exact_boundaries_of_custom_thresholds():
    t = GapThresholds(high=0.75, some=0.25)
    assert classify_gap(0.25, 1.0, t).level == "some"  # 0.75 exactly
    assert classify_gap(0.0, math.nextafter(0.75, 1.0), t).level == "high"
    assert classify_gap(0.25, 0.5, t).level == "none"  # 0.25 exactly
    assert classify_gap(0.0, math.nextafter(0.25, 1.0), t).level == "some"


def test_custom_thresholds():
    assert classify_gap(1.0, 1.15, GapThresholds(high=0.3, some=0.1)).level == "some"
    with pytest.raises(ConfigError):
        GapThresholds(high=0.1, some=0.2)


def _write(path, texts):
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def _reference_loss(model_dir, texts):
    """Token-mean NLL by hand with transformers: each text as <s> + its tokens (plain text gets
    a BOS, no EOS), every token after the BOS scored once; (sum of NLL, number of tokens)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    total, count = 0.0, 0
    for t in texts:
        ids = torch.tensor([[tok.bos_token_id, *tok(t, add_special_tokens=False)["input_ids"]]])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits.double(), dim=-1)
        total -= float(logp[0, :-1].gather(1, ids[0, 1:, None]).sum())
        count += ids.shape[1] - 1
    return total, count


def test_overfit_uses_the_perplexity_machinery(model_dirs, tmp_path):
    train = _write(tmp_path / "train.jsonl", CORPUS[:30])
    eval_ = _write(tmp_path / "eval.jsonl", CORPUS[30:])
    report = evaluate_overfit([str(model_dirs["base"])], train, eval_, PerplexityConfig(n_resamples=300))
    [m] = report.models
    t_nll, t_tokens = _reference_loss(model_dirs["base"], CORPUS[:30])
    e_nll, e_tokens = _reference_loss(model_dirs["base"], CORPUS[30:])
    # token means from raw sums, not a mean of per-document means (documents differ in length)
    want = e_nll / e_tokens - t_nll / t_tokens
    assert m.gap.value == pytest.approx(want, abs=1e-5)
    result = report.to_result()
    [info] = result.models
    d = info.details
    assert (d["train_tokens"], d["eval_tokens"], d["train_documents"], d["eval_documents"]) == (t_tokens, e_tokens, 30, len(CORPUS) - 30)
    assert result.estimate("train_loss", info.name).value == pytest.approx(t_nll / t_tokens, abs=1e-5)
    assert result.estimate("eval_loss", info.name).value == pytest.approx(e_nll / e_tokens, abs=1e-5)
    assert result.estimate("eval_loss", info.name).n == len(CORPUS) - 30
    # the level is the point gap's by the thresholds (> 0.5 high, > 0.2 some), not the CI's
    assert d["level"] == classify_gap(t_nll / t_tokens, e_nll / e_tokens).level
    assert result.estimate("gap", info.name) == Estimate(m.gap.value, m.gap.ci95, "gap", info.name)
    [signal] = result.signals
    assert (signal.name, signal.model) == ("loss gap", info.name)
    # the CI is of the gap (a bootstrap over documents), around it and not a point
    lo, hi = m.gap.ci95
    assert lo < want < hi


def test_same_file_for_train_and_eval_is_rejected(model_dirs, tmp_path):
    data = _write(tmp_path / "a.jsonl", CORPUS[:5])
    with pytest.raises(ConfigError, match="same data"):
        evaluate_overfit([str(model_dirs["base"])], data, data)


def test_cli_overfit_json(model_dirs, tmp_path):
    train = _write(tmp_path / "train.jsonl", CORPUS[:30])
    eval_ = _write(tmp_path / "eval.jsonl", CORPUS[30:])
    result = CliRunner().invoke(app, ["overfit", "--model", str(model_dirs["base"]), "--train", str(train), "--eval", str(eval_), "--format", "json", "--n-resamples", "200", "--high-gap", "0.4"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert_valid_result(payload)
    assert payload["layer"] == "overfit" and payload["details"]["thresholds"] == {"high": 0.4, "some": 0.2}
    assert [(d["source"], d["role"]) for d in payload["data"]] == [(str(train), "train"), (str(eval_), "validation")]
    [m] = payload["models"]
    assert set(m["details"]) >= {"level", "message", "suggestions", "applies", "reason", "train_tokens", "eval_tokens"}
    assert {e["metric"] for e in payload["estimates"]} == {"train_loss", "eval_loss", "gap", "train_perplexity", "eval_perplexity"}
    [signal] = payload["signals"]
    assert signal["name"] == "loss gap" and signal["model"] == m["name"]


def test_cli_overfit_out_reads_back(model_dirs, tmp_path):
    train = _write(tmp_path / "train.jsonl", CORPUS[:30])
    eval_ = _write(tmp_path / "eval.jsonl", CORPUS[30:])
    out = tmp_path / "gap.json"
    result = CliRunner().invoke(app, ["overfit", "--model", f"{model_dirs['base']},name=tuned", "--train", str(train), "--eval", str(eval_),
                                      "--n-resamples", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Train vs validation loss" in result.stdout
    assert_valid_result(json.loads(out.read_text()))
    back = load_result(out)
    assert back.layer == "overfit" and back.model_names() == ["tuned"]
    assert back.signals_for("tuned")[0].name == "loss gap"
    gap = back.estimate("gap", "tuned")
    assert gap is not None and gap.value == pytest.approx(back.estimate("eval_loss", "tuned").value - back.estimate("train_loss", "tuned").value)


T = GapThresholds()


@pytest.mark.parametrize(
    ("ci", "status"),
    [
        ((0.01, 0.09), Status.HEALTHY),  # all below 0.2
        ((0.05, 0.2), Status.HEALTHY),  # the upper end exactly at 0.2 still is (<= some)
        ((0.05, 0.25), Status.INCONCLUSIVE),  # a point under 0.2 is not enough: the CI reaches 0.25
        ((0.1, 1.7), Status.INCONCLUSIVE),  # a "high" point gap whose CI reaches 0.1
        ((0.5, 1.2), Status.INCONCLUSIVE),  # the lower end exactly at 0.5 is not above it
        ((0.6, 1.2), Status.OVERFITTING),  # the whole CI above 0.5
        (None, Status.INCONCLUSIVE),  # no CI: cannot decide
    ],
)
def test_gap_signal_reads_the_whole_ci(ci, status):
    # the rule moved from overfitting/_verdict.py (`_gap_signals`), same cases
    s = gap_signal("tuned", Estimate(0.9, ci), "high probability of overfitting", T)
    assert (s.status, s.model, s.name) == (status, "tuned", "loss gap")
    assert s.reason == ("the CI is not wholly above 0.5 nor below 0.2" if status == Status.INCONCLUSIVE else None)


def test_gap_signal_evidence_and_not_applicable():
    s = gap_signal("tuned", Estimate(0.05, (0.01, 0.09)), "no overfitting detected", T)
    assert s.evidence == "validation - train loss = 0.050 nats/token (CI [+0.01, +0.09]): no overfitting detected"
    few = gap_signal("tuned", Estimate(0.05, (0.01, 0.09)), "no overfitting detected", T, reason="only 5 documents")
    assert (few.status, few.reason) == (Status.NOT_APPLICABLE, "only 5 documents")
    # custom thresholds move both ends
    assert gap_signal("m", Estimate(0.2, (0.15, 0.25)), "x", GapThresholds(high=0.4, some=0.3)).status == Status.HEALTHY
    assert gap_signal("m", Estimate(0.2, (0.15, 0.25)), "x", GapThresholds(high=0.1, some=0.05)).status == Status.OVERFITTING


# Mutation-testing cases (tests/MUTANTS.md), worked out by hand.


def test_equal_thresholds_are_refused():
    with pytest.raises(ConfigError, match=r"^--some-gap \(0.3\) must be below --high-gap \(0.3\)$"):
        GapThresholds(high=0.3, some=0.3)


def test_classify_gap_keeps_both_losses_and_the_message():
    from tunecheck.overfitting import GapVerdict

    # 1.75 - 1.0 = 0.75 exactly in binary; > 0.5: high, with the suggestions
    assert classify_gap(1.0, 1.75) == GapVerdict(1.0, 1.75, 0.75, "high", "high probability of overfitting", SUGGESTIONS)


def test_gap_signal_every_field_of_each_status():
    from tunecheck.core import Signal

    few = gap_signal("tuned", Estimate(0.75, (0.625, 0.875)), "msg", T, reason="only 5 documents")
    evidence = "validation - train loss = 0.750 nats/token (CI [+0.625, +0.875]): msg"
    assert few == Signal("loss gap", Status.NOT_APPLICABLE, evidence, "only 5 documents", True, "tuned")
    assert gap_signal("tuned", Estimate(0.75, (0.625, 0.875)), "msg", T) == Signal("loss gap", Status.OVERFITTING, evidence, None, True, "tuned")
    unsure = gap_signal("tuned", Estimate(0.25, None), "msg", T)
    assert unsure == Signal("loss gap", Status.INCONCLUSIVE, "validation - train loss = 0.250 nats/token (CI [n/a]): msg",
                            "the CI is not wholly above 0.5 nor below 0.2", True, "tuned")


def test_gap_signal_evidence_of_undefined_and_extreme_numbers():
    # NaN reads "n/a"; infinity and small numbers keep lower-case "inf" / "e-05" (".3f", "+.3g")
    s = gap_signal("tuned", Estimate(math.nan, (1.5e-05, math.inf)), "msg", T)
    assert s.evidence == "validation - train loss = n/a nats/token (CI [+1.5e-05, +inf]): msg"
    t = gap_signal("tuned", Estimate(math.inf, (-math.inf, 2e-05)), "msg", T)
    assert t.evidence == "validation - train loss = inf nats/token (CI [-inf, +2e-05]): msg"
