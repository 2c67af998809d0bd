"""Diversity, base vs tuned: a fine-tune that answers every prompt alike is flagged, identical
outputs are exactly no difference, and models are compared only on the prompts they share."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from tunecheck.errors import ConfigError, DataError
from tunecheck.metrics import distinct_n, self_bleu
from tunecheck.overfitting import compare_diversity

VOCAB = [f"word{k}" for k in range(300)] + ["the", "a", "of", "to", "and", "in", "is", "it"]
METRICS = ["distinct_1", "distinct_2", "distinct_3", "self_bleu"]


def write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def varied(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCAB) for _ in range(rng.randint(8, 15))) + "." for _ in range(n)]


def samey(n: int, seed: int = 1) -> list[str]:
    """The overfit fine-tune: one sentence for every prompt, a word or two changed."""
    rng = random.Random(seed)
    return [f"Thank you for your question, the answer is {rng.choice(['yes', 'no', 'maybe'])}." for _ in range(n)]


def rows(outputs: list[str], model: str, ids: list[int] | None = None) -> list[dict]:
    ids = ids if ids is not None else list(range(len(outputs)))
    return [{"id": f"q{i}", "model": model, "sample": 0, "output": o} for i, o in zip(ids, outputs)]


def test_identical_files_differ_by_exactly_zero(tmp_path):
    outs = varied(40)
    a = write(tmp_path / "a.jsonl", rows(outs, "base"))
    b = write(tmp_path / "b.jsonl", rows(outs, "tuned"))
    report = compare_diversity([a, b], n_resamples=1000)
    assert [m.model for m in report.models] == ["base", "tuned"]
    assert [r.metric for r in report.comparison] == METRICS
    for r in report.comparison:
        assert (r.baseline, r.model) == ("base", "tuned")
        assert r.n == 40
        assert r.difference == 0.0
        assert r.ci95 == (0.0, 0.0)  # every shared resample gives both models the same value
        assert r.p_value == 1.0
        assert r.verdict.value == "inconclusive"
    # inconclusive, but a difference of exactly 0 is no reason to ask for more samples
    assert not any("too few" in w for w in report.warnings)


def test_samey_fine_tune_regresses_on_every_metric(tmp_path):
    n = 160
    a = write(tmp_path / "base.jsonl", rows(varied(n), "base"))
    b = write(tmp_path / "tuned.jsonl", rows(samey(n), "tuned"))
    report = compare_diversity([a, b], n_resamples=2000)
    base, tuned = report.models
    for name in METRICS[:3]:
        assert tuned.metrics[name].value < base.metrics[name].value
    assert tuned.metrics["self_bleu"].value > 80 > 20 > base.metrics["self_bleu"].value
    for m in report.models:
        for est in m.metrics.values():
            lo, hi = est.ci95 or (np.nan, np.nan)
            assert lo - 1e-12 <= est.value <= hi + 1e-12  # the tuned distinct-1 CI is a point
    comp = {r.metric: r for r in report.comparison}
    for name in METRICS:
        assert comp[name].verdict.value == "regressed", name  # distinct down, self-BLEU up
        assert comp[name].p_value_holm is not None and comp[name].p_value_holm < 0.05
        assert comp[name].p_value_holm >= comp[name].p_value
    assert comp["distinct_2"].difference < 0 < comp["self_bleu"].difference
    assert not report.warnings  # 160 shared outputs, full overlap, one generation each


def test_report_json_shape(tmp_path):
    from tests.schema import assert_valid_result
    from tunecheck.core import Result

    a = write(tmp_path / "a.jsonl", rows(varied(30), "base"))
    b = write(tmp_path / "b.jsonl", rows(samey(30), "tuned"))
    result = compare_diversity([a, f"{b},name=mine"], n_resamples=1000).to_result()
    payload = result.to_dict()
    assert_valid_result(payload)
    assert payload["layer"] == "diversity"
    assert payload["config"]["ns"] == [1, 2, 3] and payload["config"]["n_resamples"] == 1000
    assert [m["name"] for m in payload["models"]] == ["base", "mine"]
    assert [m["identity"] for m in payload["models"]] == [{"model": "base"}, {"model": "tuned"}]  # as the files say
    assert [(d["source"], d["role"], d["n"]) for d in payload["data"]] == [(a, "predictions", 30), (b, "predictions", 30)]
    for m in payload["models"]:
        assert set(m["details"]) == {"file", "n", "applies", "reason"}
        assert sorted((e["metric"], e["n"]) for e in payload["estimates"] if e["model"] == m["name"]) == [(k, 30) for k in sorted(METRICS)]
    for c in result.comparisons:
        assert c.baseline == "base" and c.model == "mine" and c.p_value_holm is not None
        assert c.difference == pytest.approx(c.value - c.baseline_value)
    assert [(s.name, s.model) for s in result.signals] == [("output diversity", "mine")]
    assert Result.from_dict(json.loads(json.dumps(payload))).signals == result.signals


def test_pairs_only_shared_ids_and_warns(tmp_path):
    base_out, tuned_out = varied(160), samey(160)
    a = write(tmp_path / "a.jsonl", rows(base_out, "base", list(range(160))))  # q0..q159
    extra = [{"id": "q30", "model": "tuned", "sample": 1, "output": "a second generation"}]
    b = write(tmp_path / "b.jsonl", rows(tuned_out, "tuned", list(range(20, 180))) + extra)  # q20..q179
    report = compare_diversity([a, b], n_resamples=1000)
    assert [m.n for m in report.models] == [160, 160]  # each model on its whole file
    shared_base = base_out[20:]  # q20..q159
    shared_tuned = tuned_out[:140]  # the tuned file's q20..q159
    comp = {r.metric: r for r in report.comparison}
    assert all(r.n == 140 for r in comp.values())
    assert comp["distinct_2"].baseline_value == pytest.approx(distinct_n(shared_base, 2))
    assert comp["distinct_2"].value == pytest.approx(distinct_n(shared_tuned, 2))
    # self-BLEU recomputed within the shared outputs (the references are the other shared ones)
    assert comp["self_bleu"].baseline_value == pytest.approx(float(np.mean(self_bleu(shared_base))))
    assert report.models[0].metrics["distinct_2"].value == pytest.approx(distinct_n(base_out, 2))
    text = "\n".join(report.warnings)
    assert "compared on the 140 samples both have (160 and 160 in the files)" in text
    assert "tuned: 1 extra generations" in text
    assert "too few" not in text  # 140 >= 100


def test_no_shared_ids_is_an_error(tmp_path):
    # was a warning with exit 0: files with no id in common answer different data sets
    a = write(tmp_path / "a.jsonl", rows(varied(5), "base", [0, 1, 2, 3, 4]))
    b = write(tmp_path / "b.jsonl", rows(varied(5, seed=3), "tuned", [5, 6, 7, 8, 9]))
    with pytest.raises(DataError, match="no sample id in common"):
        compare_diversity([a, b], n_resamples=1000)


def test_progress_and_bad_options(tmp_path):
    a = write(tmp_path / "a.jsonl", rows(varied(10), "base"))

    class Counter:
        total = done = 0

        def task(self, description: str, total: int, unit: str | None = None) -> Counter:
            self.total = total
            return self

        def advance(self, n: int = 1) -> None:
            self.done += n

    progress = Counter()
    report = compare_diversity([a, a], n_resamples=1000, progress=progress)
    assert progress.done == progress.total == 3  # two models, one comparison
    assert [m.model for m in report.models] == ["base (a.jsonl)"] * 2  # as in `score`: a repeated name gets its file name
    with pytest.raises(ConfigError, match="at least 1,000"):
        compare_diversity([a], n_resamples=100)
    with pytest.raises(ConfigError, match="positive integers"):
        compare_diversity([a], ns=(0, 2))
    with pytest.raises(ConfigError, match="at least one"):
        compare_diversity([])
