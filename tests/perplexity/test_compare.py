"""Comparing models: paired bootstrap, verdicts, the tokenizer-mismatch rule, the CLI's JSON."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import CORPUS, TableLM
from tests.perplexity.test_definitions import BIGRAM
from tests.schema import assert_valid_result
from tunecheck.cli import app
from tunecheck.core import Estimate, load_result
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
    assert c.p_value == 1.0 and c.extra["improvement_pct_ci95"] == [0.0, 0.0]


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
    assert_valid_result(payload)
    assert payload["layer"] == "perplexity" and payload["records"] == []  # per-document sums only with --per-document
    assert [m["name"] for m in payload["models"]] == ["tuned", str(model_dirs["base"])]
    est = {(e["model"], e["metric"]): e for e in payload["estimates"]}
    for m in payload["models"]:
        for key in ("nll_per_token", "perplexity", "bits_per_byte", "byte_perplexity", "word_perplexity"):
            assert est[m["name"], key]["ci95"] is not None and est[m["name"], key]["n"] == 12
        assert est[m["name"], "bits_per_byte"]["value"] == pytest.approx(math.log2(est[m["name"], "byte_perplexity"]["value"]))
        assert m["details"]["documents"] == 12 and m["details"]["tokenization_sha256"].startswith("sha256:")
    [c] = payload["comparisons"]
    assert c["baseline"] == "tuned" and c["model"] == str(model_dirs["base"]) and c["metric"] == "perplexity"
    assert {"improvement_pct", "improvement_pct_ci95", "tokenizers_match"} <= set(c["extra"])
    [data_info] = payload["data"]
    assert data_info["sha256"].startswith("sha256:") and data_info["n"] == 12 and data_info["role"] == "eval"
    assert data_info["details"]["shape"] == "text"
    full = json.loads(out.read_text())
    assert_valid_result(full)
    back = load_result(out)  # the --out file reads back as the same typed result
    assert back.layer == "perplexity" and back.comparisons[0].verdict.value == c["verdict"]
    assert back.estimate("perplexity", "tuned") == Estimate(est["tuned", "perplexity"]["value"], tuple(est["tuned", "perplexity"]["ci95"]), "perplexity", "tuned", 12)
    names = [m["name"] for m in payload["models"]]
    assert [sum(r["model"] == n for r in full["records"]) for n in names] == [12, 12]
    # every figure again from the per-document sums in --out, by the paired bootstrap written out
    # (500 resamples, seed 0, documents resampled alike for both models)
    from tunecheck.stats import bootstrap_sums

    docs = [[[r["values"][k] for k in ("nll", "tokens")] for r in full["records"] if r["model"] == n] for n in names]
    cols = np.hstack([np.array(docs[0]), np.array(docs[1])])
    ppl = [math.exp(sum(d[0] for d in doc) / sum(d[1] for d in doc)) for doc in docs]
    sums = bootstrap_sums(cols, n_resamples=500, seed=0)
    rep_a, rep_b = np.exp(sums[:, 0] / sums[:, 1]), np.exp(sums[:, 2] / sums[:, 3])
    for n, p, doc in zip(names, ppl, docs):
        own = bootstrap_sums(np.array(doc), n_resamples=500, seed=0)
        assert est[n, "perplexity"]["value"] == pytest.approx(p)
        assert est[n, "perplexity"]["ci95"] == pytest.approx(list(np.quantile(np.exp(own[:, 0] / own[:, 1]), [0.025, 0.975])))
    diff = rep_b - rep_a
    lo, hi = np.quantile(diff, [0.025, 0.975])
    assert c["difference"] == pytest.approx(ppl[1] - ppl[0])
    assert c["ci95"] == pytest.approx([lo, hi])
    expected = "improved" if hi < 0 else "regressed" if lo > 0 else "inconclusive"  # lower is better
    assert c["verdict"] == expected
    below, above = (np.count_nonzero(diff <= 0) + 1) / 501, (np.count_nonzero(diff >= 0) + 1) / 501
    assert c["p_value"] == pytest.approx(min(1.0, 2 * min(below, above)))


def test_per_document_records_hold_each_documents_sums(model_dirs, tmp_path):
    # two documents of 3 and 4 words: "ab cd ef" is 8 bytes, "é b c d" 8 bytes too (é is two in UTF-8: 2 + 3 spaces + 3 letters)
    data = tmp_path / "two.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in (("x", "ab cd ef"), ("y", "é b c d"))))
    result = CliRunner().invoke(app, ["perplexity", "-m", f"{model_dirs['base']},name=base", "-d", str(data), "--per-document",
                                      "--format", "json", "--n-resamples", "100"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert_valid_result(payload)
    got = {r["sample_id"]: (r["model"], r["values"]["bytes"], r["values"]["words"]) for r in payload["records"]}
    assert got == {"x": ("base", 8, 3), "y": ("base", 8, 4)}
    assert payload["models"][0]["details"]["bytes"] == 16 and payload["models"][0]["details"]["words"] == 7


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


# ---- improvement_pct_ci95 and the paired p-value, on per-document sums we choose ----------------
def _scored(name: str, nlls: list[float]):
    from tunecheck.core import Record
    from tunecheck.perplexity import summarise_records

    # every document: 10 tokens, 30 bytes, 5 words; only the NLL differs
    records = [Record(str(i), name, {"nll": v, "tokens": 10.0, "bytes": 30.0, "words": 5.0}) for i, v in enumerate(nlls)]
    return summarise_records(name, records, CONFIG, tokenization="sha256:same")


def _by_hand(base_nll: list[float], tuned_nll: list[float]):
    """The paired bootstrap written out: one resampling of documents (same seed) for both models,
    token perplexity exp(resampled NLL / resampled tokens) for each, then the replicates of
    b - a and of the improvement 100 * (1 - b / a)."""
    from tunecheck.stats import bootstrap_sums

    cols = np.column_stack([base_nll, np.full(len(base_nll), 10.0), tuned_nll, np.full(len(tuned_nll), 10.0)])
    sums = bootstrap_sums(cols, n_resamples=CONFIG.n_resamples, seed=CONFIG.seed)
    a, b = np.exp(sums[:, 0] / sums[:, 1]), np.exp(sums[:, 2] / sums[:, 3])
    return b - a, 100.0 * (1.0 - b / a)


def test_improvement_ci_and_p_value_when_every_document_improves():
    from tunecheck.perplexity import compare

    base_nll = [10.0 + (i % 5) for i in range(20)]  # 1.0 to 1.4 nats per token
    tuned_nll = [v / 2 for v in base_nll]  # half the NLL on every document
    c = compare(_scored("base", base_nll), _scored("tuned", tuned_nll), CONFIG)
    diff, improvement = _by_hand(base_nll, tuned_nll)
    assert c.extra["improvement_pct_ci95"] == pytest.approx(list(np.quantile(improvement, [0.025, 0.975])))
    # improvement = 100 (1 - exp(-x / 2)) for x = the resample's NLL per token in [1.0, 1.4]:
    # between 100 (1 - e^-0.5) = 39.3% and 100 (1 - e^-0.7) = 50.3%, so strictly positive
    lo, hi = c.extra["improvement_pct_ci95"]
    assert 39.3 < lo < c.extra["improvement_pct"] < hi < 50.4
    # every replicate difference is below zero: p = 2 * (0 + 1) / (1000 + 1), the smallest possible
    assert (diff < 0).all()
    assert c.p_value == pytest.approx(2 / 1001)
    assert c.verdict.value == "improved"


def test_p_value_is_large_when_documents_trade_places():
    from tunecheck.perplexity import compare

    base_nll = [10.0, 20.0] * 10
    tuned_nll = [20.0, 10.0] * 10  # each document's NLL swapped with its neighbour's: equal totals
    c = compare(_scored("base", base_nll), _scored("tuned", tuned_nll), CONFIG)
    diff, improvement = _by_hand(base_nll, tuned_nll)
    assert c.difference == 0.0 and c.extra["improvement_pct"] == 0.0
    # the replicates fall on both sides of zero about equally: p near 1, by the same formula
    below, above = (np.count_nonzero(diff <= 0) + 1) / 1001, (np.count_nonzero(diff >= 0) + 1) / 1001
    assert c.p_value == pytest.approx(min(1.0, 2 * min(below, above)))
    assert c.p_value > 0.5
    lo, hi = c.extra["improvement_pct_ci95"]
    assert [lo, hi] == pytest.approx(list(np.quantile(improvement, [0.025, 0.975])))
    assert lo < 0 < hi
    assert c.verdict.value == "inconclusive"


def test_config_accepts_its_smallest_values_and_rejects_one_less():
    # mutation-testing follow-up: the boundaries of PerplexityConfig's checks, both sides
    from tunecheck.perplexity import PerplexityConfig

    PerplexityConfig(max_length=2, stride=2, batch_size=1)  # stride == max_length is allowed
    PerplexityConfig(max_length=4, stride=1)
    PerplexityConfig(stride=3)  # no --max-length: the model's own context bounds the stride later
    for kwargs, flag in [({"max_length": 1}, "--max-length"), ({"stride": 0}, "--stride"),
                         ({"max_length": 4, "stride": 5}, "cannot exceed"), ({"batch_size": 0}, "--batch-size")]:
        with pytest.raises(ConfigError, match=flag):
            PerplexityConfig(**kwargs)
