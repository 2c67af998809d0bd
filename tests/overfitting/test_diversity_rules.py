"""Mutation-testing cases for `overfitting/_diversity.py` (issue 10, point 0): each test kills
survivors of mutmut's run against tests/overfitting/test_diversity.py. What stays is explained in
tests/MUTANTS.md. Expected values are worked out by hand in comments, or come from sacrebleu and
from the statistics engine called directly (`stats.estimate`, `stats.paired`) on metrics built
from `metrics`, not through this module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from tests.overfitting.test_diversity import METRICS, rows, varied, write
from tunecheck.core import ModelInfo, Signal, Status
from tunecheck.errors import ConfigError
from tunecheck.metrics import distinct_n, distinct_stats, self_bleu
from tunecheck.overfitting import compare_diversity
from tunecheck.overfitting._applies import YES, Applies
from tunecheck.stats import SampleStats, estimate, paired

SELF_BLEU_CONFIG = "sacrebleu sentence BLEU against all other outputs (13a, 4-grams, exp smoothing, effective order)"


def ref_self_bleu(texts: list[str]) -> float:
    """Mean self-BLEU by sacrebleu itself: each output against all the others."""
    return float(np.mean([sacrebleu.sentence_bleu(t, texts[:i] + texts[i + 1 :]).score for i, t in enumerate(texts)]))


def small_case(tmp_path: Path) -> tuple[str, str]:
    """base: q0-q2; tuned: q0, q1 (the same sentence twice) and a second generation of q0."""
    a = write(tmp_path / "a.jsonl", rows(["the cat sat", "a dog ran", "the dog sat"], "base"))
    extra = [{"id": "q0", "model": "tuned", "sample": 1, "output": "x"}]
    b = write(tmp_path / "b.jsonl", rows(["the cat sat", "the cat sat"], "tuned") + extra)
    return a, b


def test_the_exact_result_of_a_small_case(tmp_path):
    a, b = small_case(tmp_path)
    report = compare_diversity([a, b], n_resamples=1000)  # the default seed: 0, as the CLI's
    result = report.to_result()
    assert result.layer == "diversity"
    assert [(d.source, d.n, d.role, d.details) for d in result.data] == [
        (a, 3, "predictions", {}),
        (b, 2, "predictions", {"extra_generations": 1}),
    ]
    assert result.models == [
        ModelInfo("base", {"model": "base"}, {"file": a, "n": 3, "applies": False, "reason": "only 3 outputs: too few to judge (at least 10 needed)"}),
        ModelInfo("tuned", {"model": "tuned"}, {"file": b, "n": 2, "applies": False, "reason": "only 2 outputs: too few to judge (at least 10 needed)"}),
    ]
    assert result.config == {
        "ns": [1, 2, 3],
        "n_resamples": 1000,
        "seed": 0,
        "ci_method": "percentile",
        "distinct_tokenize": "13a, lowercased",
        "self_bleu": SELF_BLEU_CONFIG,
    }
    # base, all 3 outputs: 9 words, 6 distinct (the cat sat a dog ran); 6 bigrams, all distinct;
    # 3 trigrams, all distinct. tuned: one sentence twice: 3 of 6 words, 2 of 4 bigrams, 1 of 2
    # trigrams; each output is its reference's copy: self-BLEU 100.
    got = [(e.metric, e.model, e.n, e.value) for e in result.estimates]
    expected = [
        ("distinct_1", "base", 3, 6 / 9),
        ("distinct_2", "base", 3, 1.0),
        ("distinct_3", "base", 3, 1.0),
        ("self_bleu", "base", 3, ref_self_bleu(["the cat sat", "a dog ran", "the dog sat"])),
        ("distinct_1", "tuned", 2, 0.5),
        ("distinct_2", "tuned", 2, 0.5),
        ("distinct_3", "tuned", 2, 0.5),
        ("self_bleu", "tuned", 2, 100.0),
    ]
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    assert [g[3] for g in got] == pytest.approx([e[3] for e in expected], rel=1e-12)
    # the tuned outputs are one sentence: every resample gives the same values, a point CI
    assert [e.ci95 for e in result.estimates[4:7]] == [(0.5, 0.5)] * 3
    # compared on q0, q1: base "the cat sat", "a dog ran" (6 of 6 words, 4 of 4 bigrams, 2 of 2
    # trigrams, no n-gram in common: self-BLEU 0) against the tuned sentence twice
    assert result.comparisons == report.comparison
    comp = [(c.metric, c.baseline, c.model, c.n, c.verdict.value) for c in result.comparisons]
    assert comp == [(m, "base", "tuned", 2, "regressed") for m in METRICS]  # every resample: the same difference
    assert [c.baseline_value for c in result.comparisons] == pytest.approx([1.0, 1.0, 1.0, ref_self_bleu(["the cat sat", "a dog ran"])])
    assert [c.value for c in result.comparisons] == pytest.approx([0.5, 0.5, 0.5, 100.0])
    [signal] = result.signals
    assert (signal.name, signal.status, signal.reason, signal.model) == (
        "output diversity", Status.NOT_APPLICABLE, "only 2 outputs: too few to judge (at least 10 needed)", "tuned"
    )
    assert signal.evidence.startswith("diversity vs the base: distinct_1 1 -> 0.5 (regressed")
    # 2 outputs: self-BLEU is defined; 2 shared: compared (2 is the least), on fewer than the files hold
    assert result.warnings == report.warnings == [
        "tuned: 1 extra generations (sample > 0) were not used; diversity is measured across prompts, on the first generation of each",
        "tuned vs base: compared on the 2 samples both have (3 and 2 in the files)",
    ]


def test_too_few_shared_is_not_compared_and_the_next_model_still_is(tmp_path):
    a = write(tmp_path / "a.jsonl", rows(varied(12), "base"))
    one = write(tmp_path / "one.jsonl", rows(["the cat sat on the mat"], "one"))  # q0 only
    full = write(tmp_path / "full.jsonl", rows(varied(12, seed=5), "full"))
    report = compare_diversity([a, one, full], n_resamples=1000)
    assert [(c.model, c.metric) for c in report.comparison] == [("full", m) for m in METRICS]
    assert report.warnings[:2] == [
        "one: only one output, so self-BLEU (each output against the others) is undefined",
        "one: 1 sample ids in common with base; not compared (need 2 or more)",
    ]
    # the third: inconclusive metrics on 12 shared samples, detectable with more
    assert len(report.warnings) == 3
    assert report.warnings[2].startswith("full vs base: only 12 samples in common: too few to tell models apart reliably")
    assert [s.model for s in report.signals()] == ["full"]


def _stats(texts: list[str], ns: tuple[int, ...] = (1, 2, 3)) -> dict[str, SampleStats]:
    out = {f"distinct_{n}": distinct_stats(texts, n) for n in ns}
    out["self_bleu"] = SampleStats.mean("self_bleu", self_bleu(texts), higher_is_better=False)
    return out


@pytest.mark.parametrize("seed", [3, 11])
def test_the_seed_and_resample_count_reach_every_bootstrap(tmp_path, seed):
    base_out, tuned_out = varied(24), varied(24, seed=4)
    a = write(tmp_path / "a.jsonl", rows(base_out, "base"))  # q0..q23
    b = write(tmp_path / "b.jsonl", rows(tuned_out, "tuned", list(range(4, 28))))  # q4..q27
    report = compare_diversity([a, b], n_resamples=1000, seed=seed)
    # each model's CIs: what `stats.estimate` draws for each metric alone, 1,000 resamples, this seed
    for m, texts in zip(report.models, (base_out, tuned_out)):
        for k, st in _stats(texts).items():
            want = estimate(st, n_resamples=1000, seed=seed)
            assert m.metrics[k].value == pytest.approx(want.value, rel=1e-12), (m.model, k)
            assert m.metrics[k].ci95 == pytest.approx(want.ci95, rel=1e-12), (m.model, k)
    # the comparisons: `stats.paired` on the 20 shared outputs (q4..q23), same count and seed
    ref_a, ref_b = _stats(base_out[4:]), _stats(tuned_out[:20])
    for c in report.comparison:
        want_c = paired(ref_a[c.metric], ref_b[c.metric], n_resamples=1000, seed=seed)
        assert c.n == 20
        assert c.ci95 == pytest.approx(want_c.ci95, rel=1e-12), c.metric
        assert c.p_value == pytest.approx(want_c.p_value, rel=1e-12), c.metric


def test_the_orders_asked_for_are_the_metrics_of_models_and_comparisons(tmp_path):
    base_out, tuned_out = varied(12), varied(12, seed=4)
    a = write(tmp_path / "a.jsonl", rows(base_out, "base"))  # q0..q11
    b = write(tmp_path / "b.jsonl", rows(tuned_out, "tuned", list(range(2, 14))))  # q2..q13: 10 shared
    report = compare_diversity([a, b], ns=(3, 1), n_resamples=1000)
    for m in report.models:
        assert list(m.metrics) == ["distinct_3", "distinct_1", "self_bleu"]
    assert [c.metric for c in report.comparison] == ["distinct_3", "distinct_1", "self_bleu"]  # recomputed on the shared ones
    assert report.comparison[0].baseline_value == pytest.approx(distinct_n(base_out[2:], 3))
    assert report.comparison[1].value == pytest.approx(distinct_n(tuned_out[:10], 1))
    assert report.config["ns"] == [3, 1]


@pytest.mark.parametrize("ns", [(True,), (2.0,), (1, 0)])
def test_orders_must_be_positive_integers(tmp_path, ns):
    a = write(tmp_path / "a.jsonl", rows(varied(10), "base"))
    with pytest.raises(ConfigError, match=r"n-gram orders .*: give one or more positive integers"):
        compare_diversity([a, a], ns=ns, n_resamples=1000)


def test_an_order_given_twice_is_refused(tmp_path):
    a = write(tmp_path / "a.jsonl", rows(varied(10), "base"))
    with pytest.raises(ConfigError, match=r"n-gram orders \[2, 2\]: each order only once"):
        compare_diversity([a, a], ns=(2, 2), n_resamples=1000)


def test_label_answers_make_the_check_not_apply(tmp_path):
    a = write(tmp_path / "a.jsonl", rows(varied(12), "base"))
    # no references: 12 outputs of 2 one-word values (at most 20 values, each at least twice, <= 3 words)
    b = write(tmp_path / "b.jsonl", rows(["yes", "no"] * 6, "tuned"))
    # references decide when every row has one: 2 labels over 12 rows, whatever the outputs say
    c_rows = [dict(r, label=["positive", "negative"][i % 2]) for i, r in enumerate(rows(varied(12, seed=2), "labelled"))]
    c = write(tmp_path / "c.jsonl", c_rows)
    report = compare_diversity([a, b, c], n_resamples=1000)
    why = ", where fewer distinct words is what a fine-tune should learn"
    assert [m.applies for m in report.models] == [
        YES,
        Applies(False, "the 12 outputs repeat 2 short values ('no', 'yes'): label-like answers" + why),
        Applies(False, "the references take only 2 values ('negative', 'positive'): a closed label set" + why),
    ]
    details = [m.details for m in report.to_result().models]
    assert [(d["applies"], d["reason"]) for d in details] == [(True, None)] + [(False, m.applies.reason) for m in report.models[1:]]
    assert all(type(d["applies"]) is bool for d in details)
    assert [(s.model, s.status, s.reason) for s in report.signals()] == [
        ("tuned", Status.NOT_APPLICABLE, report.models[1].applies.reason),
        ("labelled", Status.NOT_APPLICABLE, report.models[2].applies.reason),
    ]
    assert all(isinstance(s, Signal) for s in report.signals())


def test_progress_names_the_task_and_its_unit(tmp_path):
    a = write(tmp_path / "a.jsonl", rows(varied(10), "base"))
    calls: list[tuple[str, int, str | None]] = []

    class Recorder:
        def task(self, description: str, total: int, unit: str | None = None) -> Recorder:
            calls.append((description, total, unit))
            return self

        def advance(self, n: int = 1) -> None:
            pass

    compare_diversity([a, a, a], n_resamples=1000, progress=Recorder())
    assert calls == [("diversity", 5, "steps")]  # 3 models and 2 comparisons
