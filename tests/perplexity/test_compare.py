"""Comparing models: paired bootstrap, verdicts, the tokenizer-mismatch rule, the CLI's JSON."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import CORPUS, TableLM
from tests.perplexity.test_definitions import BIGRAM
from tunecheck.cli import app
from tunecheck.data import Dataset, Sample
from tunecheck.errors import ConfigError
from tunecheck.models import HFModel
from tunecheck.perplexity import PerplexityConfig, evaluate_perplexity

CONFIG = PerplexityConfig(n_resamples=1000)


def _words(n: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(["a", "b", "c"], size=rng.integers(3, 12))) for _ in range(n)]
    return Dataset(tuple(Sample(str(i), "text", text=t) for i, t in enumerate(texts)), "mem", "text", "h")


def test_identical_models_are_inconclusive(word_tokenizer):
    a = HFModel(TableLM(BIGRAM), word_tokenizer, "a", "cpu")
    b = HFModel(TableLM(BIGRAM), word_tokenizer, "b", "cpu")
    report = evaluate_perplexity([a, b], _words(50, 0), CONFIG)
    [c] = report.comparison
    assert c.metric == "perplexity" and c.difference == 0
    assert c.verdict.value == "inconclusive" and c.extra["improvement_pct"] == 0


def test_better_model_is_improved_and_worse_is_regressed(word_tokenizer):
    # "sharp" puts more mass on a->b->c->a cycles; data drawn from that cycle favours it
    sharp = BIGRAM.copy()
    sharp[2] = [0.02, 0.02, 0.02, 0.9, 0.04]
    sharp[3] = [0.02, 0.02, 0.02, 0.04, 0.9]
    sharp[4] = [0.02, 0.02, 0.9, 0.04, 0.02]
    texts = [" ".join(["a", "b", "c"] * k) for k in range(1, 30)]
    ds = Dataset(tuple(Sample(str(i), "text", text=t) for i, t in enumerate(texts)), "mem", "text", "h")
    base = HFModel(TableLM(BIGRAM), word_tokenizer, "base", "cpu")
    tuned = HFModel(TableLM(sharp), word_tokenizer, "tuned", "cpu")
    up = evaluate_perplexity([base, tuned], ds, CONFIG).comparison[0]
    assert up.verdict.value == "improved" and up.difference < 0 and up.ci95[1] < 0
    assert up.extra["improvement_pct"] == pytest.approx((1 - up.value / up.baseline_value) * 100)
    assert up.p_value < 0.01
    down = evaluate_perplexity([tuned, base], ds, CONFIG).comparison[0]
    assert down.verdict.value == "regressed" and down.ci95[0] > 0


def test_different_tokenizers_compare_on_bits_per_byte(model_dirs):
    ds = Dataset(tuple(Sample(str(i), "text", text=t) for i, t in enumerate(CORPUS[:20])), "mem", "text", "h")
    report = evaluate_perplexity([str(model_dirs["base"]), str(model_dirs["difftok"])], ds, CONFIG)
    [c] = report.comparison
    assert c.metric == "bits_per_byte"
    assert c.extra["tokenizers_match"] is False and "not comparable" in c.extra["note"]
    assert report.models[0].totals["tokens"] != report.models[1].totals["tokens"]
    same = evaluate_perplexity([str(model_dirs["base"]), str(model_dirs["other"])], ds, CONFIG).comparison[0]
    assert same.metric == "perplexity" and same.extra["tokenizers_match"] is True


def test_duplicate_names_rejected(word_tokenizer):
    a = HFModel(TableLM(BIGRAM), word_tokenizer, "same", "cpu")
    with pytest.raises(ConfigError, match="share the name"):
        evaluate_perplexity([a, a], _words(5, 1), CONFIG)


def test_cli_json_shape(model_dirs, tmp_path):
    data = tmp_path / "eval.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in CORPUS[:12]))
    out = tmp_path / "full.json"
    result = CliRunner().invoke(
        app,
        ["perplexity", "--model", f"{model_dirs['adapter']},name=tuned", "--model", str(model_dirs["base"]),
         "--data", str(data), "--format", "json", "--n-resamples", "500", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [m["model"] for m in payload["models"]] == ["tuned", str(model_dirs["base"])]
    for m in payload["models"]:
        for key in ("perplexity", "bits_per_byte", "byte_perplexity", "word_perplexity", "tokens", "ci95"):
            assert key in m
        lo, hi = m["ci95"]["perplexity"]
        assert lo <= m["perplexity"] <= hi
        assert m["bits_per_byte"] == pytest.approx(math.log2(m["byte_perplexity"]))
    [c] = payload["comparison"]
    assert c["baseline"] == "tuned" and c["verdict"] in ("improved", "regressed", "inconclusive")
    assert payload["data"]["sha256"].startswith("sha256:") and payload["data"]["n"] == 12
    full = json.loads(out.read_text())
    assert len(full["models"][0]["per_document"]) == 12


def test_chat_data_is_scored_through_the_chat_template(tiny_model, tokenizer):
    # completion-only on chat rows scores what follows the rendered prompt: the assistant's
    # content plus the template's closing "<|im_end|>\n", and no EOS after it (TRL adds none to
    # conversational data: the turn already ends with the end-of-turn token)
    from tunecheck.data import Message
    from tunecheck.perplexity import build_requests

    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    sample = Sample("0", "chat", prompt="hi", response="the red fox", messages=(Message("user", "hi"),))
    ds = Dataset((sample,), "mem", "chat", "h")
    [req], [scored] = build_requests(ds, model, PerplexityConfig(completion_only=True))
    assert req.context == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert req.continuation == "the red fox<|im_end|>\n" and not req.add_eos
    assert scored == "the red fox<|im_end|>\n"
    [full], _ = build_requests(ds, model, PerplexityConfig())
    assert full.context == "" and full.continuation == req.context + req.continuation


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"stride": 8, "max_length": 4}, "--stride"),
        ({"max_length": 1}, "--max-length"),
        ({"batch_size": 0}, "--batch-size"),
        ({"n_resamples": 10}, "--n-resamples"),
        ({"template": "bogus"}, "--template"),
    ],
)
def test_bad_options_fail_before_any_model_loads(kwargs, flag):
    with pytest.raises(ConfigError, match=flag):
        PerplexityConfig(**kwargs)
