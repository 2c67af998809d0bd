"""What `perplexity/_evaluate.py` passes on and records, case by case (the mutation-testing
survivors of tests/MUTANTS.md): the data's identity, the result's config and records, each
model's identity, the seed, the note for different tokenizers, the requests' EOS and prefix,
and the scoring options handed to the model. No real model: records and a fake scorer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from tunecheck.core import DataInfo, Record
from tunecheck.data import Dataset, Message, Sample
from tunecheck.models import LoglikelihoodRequest, TokenScores
from tunecheck.perplexity import (
    PerplexityConfig,
    build_requests,
    compare,
    score_model,
    summarise_records,
)
from tunecheck.perplexity._evaluate import PerplexityReport, data_info
from tunecheck.stats import bootstrap_sums, percentile_ci

CONFIG = PerplexityConfig(n_resamples=1000)


def _scored(name: str, nlls: list[float], config: PerplexityConfig = CONFIG, tokenization: str = "sha256:same", identity: dict[str, Any] | None = None):
    # every document: 10 tokens, 30 bytes, 5 words; only the NLL differs
    records = [Record(str(i), name, {"nll": v, "tokens": 10.0, "bytes": 30.0, "words": 5.0}) for i, v in enumerate(nlls)]
    return summarise_records(name, records, config, tokenization=tokenization, identity=identity)


BASE = [10.0 + (i % 7) for i in range(20)]
TUNED = [9.0 + (i % 5) for i in range(20)]


def test_data_info_keeps_source_hash_and_size_and_the_rest_in_details():
    identity = {"source": "d.jsonl", "sha256": "sha256:ab", "n": 3, "shape": "text", "sampled": {"n": 3, "of": 9, "seed": 0}}
    assert data_info(identity) == DataInfo("d.jsonl", "sha256:ab", 3, "eval", {"shape": "text", "sampled": {"n": 3, "of": 9, "seed": 0}})


def test_result_records_the_config_and_per_document_sums_only_when_asked():
    base, tuned = _scored("base", BASE), _scored("tuned", TUNED)
    report = PerplexityReport([base, tuned], [compare(base, tuned, CONFIG)], {"source": "d", "sha256": "h", "n": 20}, CONFIG)
    result = report.to_result()
    assert result.records == [] and result.config == asdict(CONFIG)
    assert result.config["n_resamples"] == 1000
    assert len(report.to_result(per_document=True).records) == 40  # 20 documents x 2 models


def test_each_models_identity_is_kept():
    assert _scored("m", BASE, identity={"path": "/models/m"}).identity == {"path": "/models/m"}
    assert _scored("m", BASE).identity == {}


def test_the_seed_reaches_every_bootstrap():
    three = PerplexityConfig(n_resamples=1000, seed=3)
    # the model's own CI: percentile CI of exp(resampled NLL / resampled tokens), resampled with seed 3
    cols = np.column_stack([BASE, np.full(20, 10.0), np.full(20, 30.0), np.full(20, 5.0)])
    sums = bootstrap_sums(cols, n_resamples=1000, seed=3)
    ppl = np.exp(sums[:, 0] / sums[:, 1])
    assert _scored("m", BASE, three).metrics["perplexity"].ci95 == pytest.approx(percentile_ci(ppl))
    # the comparison: its improvement CI on seed 3's resamples of both models' documents
    both = np.column_stack([BASE, np.full(20, 10.0), TUNED, np.full(20, 10.0)])
    s = bootstrap_sums(both, n_resamples=1000, seed=3)
    a, b = np.exp(s[:, 0] / s[:, 1]), np.exp(s[:, 2] / s[:, 3])
    c3 = compare(_scored("base", BASE, three), _scored("tuned", TUNED, three), three)
    assert c3.extra["improvement_pct_ci95"] == pytest.approx(list(percentile_ci(100.0 * (1.0 - b / a))))
    # and the difference's CI (the statistics engine's bootstrap) moves with the seed too
    c0 = compare(_scored("base", BASE), _scored("tuned", TUNED), CONFIG)
    assert c3.ci95 != c0.ci95


def test_different_tokenizers_are_compared_on_bits_per_byte_with_a_note():
    c = compare(_scored("base", BASE, tokenization="sha256:a"), _scored("tuned", TUNED, tokenization="sha256:b"), CONFIG)
    assert c.metric == "bits_per_byte" and c.extra["tokenizers_match"] is False
    assert c.extra["note"] == ("the models tokenise the data differently, so token perplexities are not comparable; "
                               "compared on bits per byte")


class FakeScorer:
    """Scores every request's continuation as one token of log-probability -1; records the options."""

    name = "fake"
    eos_token = "</s>"

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def chat_renderer(self) -> Any:
        return lambda messages, add_generation_prompt: "".join(f"[{m.role}]{m.content}" for m in messages) + ("[assistant]" if add_generation_prompt else "")

    def identity(self) -> dict[str, Any]:
        return {"path": "fake"}

    def loglikelihood(self, requests: list[LoglikelihoodRequest], **options: Any) -> list[TokenScores]:
        self.options = options
        return [TokenScores(np.array([-1.0]), np.array([7], dtype=np.int64)) for _ in requests]

    # the rest of the LogLikelihoodModel protocol, for `evaluate_perplexity`
    @property
    def context_length(self) -> int:
        return 64

    def token_view(self, req: LoglikelihoodRequest) -> list[tuple[str, bool]]:
        return [(req.continuation, True)]

    def close(self) -> None:
        pass


def _data(*samples: Sample) -> Dataset:
    return Dataset(samples, "mem", samples[0].shape, "h")


def test_requests_eos_and_prefix_by_data_shape():
    model = FakeScorer()
    text = _data(Sample("0", "text", text="plain words"))
    # plain text: an EOS only with --eos yes; scored from the BOS ("bos", the request's default)
    [req], _ = build_requests(text, model, PerplexityConfig(eos="yes"))
    assert (req.context, req.continuation, req.add_eos, req.prefix) == ("", "plain words", True, "bos")
    [req], _ = build_requests(text, model, PerplexityConfig())
    assert req.add_eos is False
    # prompt/completion text: what tokenizer(text) adds ("tokenizer"), whole or completion only
    pair = _data(Sample("0", "prompt_completion", prompt="Q: ", response="A"))
    [req], _ = build_requests(pair, model, PerplexityConfig())
    assert (req.context, req.continuation, req.add_eos, req.prefix) == ("", "Q: A", True, "tokenizer")
    [req], _ = build_requests(pair, model, PerplexityConfig(completion_only=True))
    assert (req.context, req.continuation, req.add_eos, req.prefix) == ("Q: ", "A", True, "tokenizer")


def test_chat_requests_add_nothing_before_the_rendered_text():
    model = FakeScorer()
    chat = _data(Sample("0", "chat", prompt="hi", response="yo", messages=(Message("user", "hi"),)))
    # the fake template renders "[user]hi" + "[assistant]" as the prompt, "[user]hi[assistant]yo" whole;
    # the template writes its own BOS: prefix "none", and no EOS (the turn ends the text)
    [req], _ = build_requests(chat, model, PerplexityConfig(completion_only=True))
    assert (req.context, req.continuation, req.add_eos, req.prefix) == ("[user]hi[assistant]", "yo", False, "none")
    [req], _ = build_requests(chat, model, PerplexityConfig())
    assert (req.context, req.continuation, req.add_eos, req.prefix) == ("", "[user]hi[assistant]yo", False, "none")


def test_score_model_hands_the_options_to_the_model_and_keeps_its_identity():
    model = FakeScorer()
    config = PerplexityConfig(max_length=64, stride=32, batch_size=3, windows="fixed", n_resamples=100)
    progress = object()
    result = score_model(model, _data(Sample("0", "text", text="a b"), Sample("1", "text", text="c")), config, progress=progress)  # type: ignore[arg-type]
    assert model.options == {"max_length": 64, "stride": 32, "batch_size": 3, "progress": progress, "windows": "fixed"}
    assert result.identity == {"path": "fake"}
    # one token of NLL 1 per document: perplexity e^(2 / 2)
    assert result.metrics["perplexity"].value == pytest.approx(np.e)


def test_evaluate_perplexity_reads_the_data_with_the_field_map_and_passes_progress(tmp_path):
    import json

    from tunecheck.data import FieldMap
    from tunecheck.perplexity import evaluate_perplexity

    # the text sits in "body", which is not a field tunecheck detects by itself
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "body": f"words {i}"}) + "\n" for i in range(3)))
    model, progress = FakeScorer(), object()
    report = evaluate_perplexity([model], path, PerplexityConfig(n_resamples=100), fields=FieldMap(text="body"), progress=progress)  # type: ignore[arg-type]
    assert [r.sample_id for r in report.models[0].records] == ["0", "1", "2"]
    # "words 0": 7 bytes, 2 words in each scored text
    assert report.models[0].totals["bytes"] == 21.0 and report.models[0].totals["words"] == 6.0
    assert model.options["progress"] is progress
