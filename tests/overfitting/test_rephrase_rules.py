"""The mutation-testing cases of `overfitting/_rephrase.py` (its survivors, /work/mutnotes):
the exact Result of a small hand-made case (models, data, config, estimates with their n,
comparisons and their names, warnings, the signal's evidence), pairing through `original_id`,
predictions given as loaded sets, --data references, which per-sample metrics get a change
(not `unparsed`; custom metrics after it; one only the baseline has), the 2-sample boundary,
three models, and the seed and resample count handed to the difference in differences."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from tunecheck.core import ModelInfo
from tunecheck.errors import ConfigError
from tunecheck.overfitting import RephraseReport, rephrase_sensitivity
from tunecheck.overfitting._rephrase import _keyed_by_original
from tunecheck.scoring import PredictionSet, ScoreConfig
from tunecheck.stats import SampleStats, adjust_holm, paired

CONFIG = ScoreConfig("qa", n_resamples=1000, seed=3)
ANSWERS = ["a", "b", "c", "d"]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _orig(path, outputs, answers=ANSWERS, **extra):
    return _write(path, [{"id": str(i), "output": o, "answers": [a], **extra} for i, (o, a) in enumerate(zip(outputs, answers))])


def _para(path, outputs, answers=ANSWERS):
    # paraphrase rows have their own ids and name their original in `original_id`
    return _write(path, [{"id": f"p{i}", "original_id": str(i), "output": o, "answers": [a]} for i, (o, a) in enumerate(zip(outputs, answers))])


def _small_case(tmp_path):
    """base: originals a b c x (EM 1 1 1 0 = 0.75), paraphrases a b x x (1 1 0 0 = 0.5): change 0 0 -1 0.
    tuned: originals a b c d (1.0), paraphrases x x x d (0 0 0 1 = 0.25): change -1 -1 -1 0.
    The base's originals name their model and carry one extra generation; so do the tuned's paraphrases."""
    bo = tmp_path / "bo.jsonl"
    _orig(bo, ["a", "b", "c", "x"], model="base-m")
    bo.write_text(bo.read_text() + json.dumps({"id": "0", "sample": 1, "output": "q"}) + "\n")
    bp = _para(tmp_path / "bp.jsonl", ["a", "b", "x", "x"])
    to = _orig(tmp_path / "to.jsonl", ["a", "b", "c", "d"])
    tp = tmp_path / "tp.jsonl"
    _para(tp, ["x", "x", "x", "d"])
    tp.write_text(tp.read_text() + json.dumps({"id": "p1", "original_id": "1", "sample": 1, "output": "q"}) + "\n")
    return str(bo), bp, to, str(tp)


def test_the_result_of_a_small_case_field_by_field(tmp_path):
    bo, bp, to, tp = _small_case(tmp_path)
    result = rephrase_sensitivity([(bo, bp), (to, tp)], CONFIG, names=["base", "tuned"]).to_result()
    assert result.layer == "rephrase" and result.details == {"task": "qa"}
    assert result.config == {**asdict(CONFIG), "labels": None, "rules": None, "custom": []}
    assert result.models == [
        ModelInfo("base", {"model": "base-m"}, {"original": bo, "paraphrased": bp, "n": 4}),
        ModelInfo("tuned", {}, {"original": to, "paraphrased": tp, "n": 4}),
    ]
    assert [(d.source, d.n, d.role, d.details) for d in result.data] == [
        (bo, 4, "predictions", {"extra_generations": 1}),
        (bp, 4, "paraphrases", {}),
        (to, 4, "predictions", {}),
        (tp, 4, "paraphrases", {"extra_generations": 1}),
    ]
    assert [d.sha256 for d in result.data] == [PredictionSet.load(f).sha256 for f in (bo, bp, to, tp)]
    # exact match and F1 agree here (one-word answers, wrong words share no token)
    assert [(e.metric, e.model, e.value, e.n) for e in result.estimates] == [
        ("exact_match_original", "base", 0.75, 4), ("f1_original", "base", 0.75, 4),
        ("exact_match_paraphrased", "base", 0.5, 4), ("f1_paraphrased", "base", 0.5, 4),
        ("exact_match_original", "tuned", 1.0, 4), ("f1_original", "tuned", 1.0, 4),
        ("exact_match_paraphrased", "tuned", 0.25, 4), ("f1_paraphrased", "tuned", 0.25, 4),
    ]
    # each model's own change (paraphrased - original), then tuned's change minus base's:
    # per id (-1 -1 -1 0) - (0 0 -1 0) = (-1 -1 0 0), mean -0.5
    assert [(c.metric, c.baseline, c.model, c.n, c.difference, c.extra) for c in result.comparisons] == [
        ("exact_match", "base original", "base paraphrased", 4, pytest.approx(-0.25), {"within": "base"}),
        ("f1", "base original", "base paraphrased", 4, pytest.approx(-0.25), {"within": "base"}),
        ("exact_match", "tuned original", "tuned paraphrased", 4, pytest.approx(-0.75), {"within": "tuned"}),
        ("f1", "tuned original", "tuned paraphrased", 4, pytest.approx(-0.75), {"within": "tuned"}),
        ("exact_match_change", "base", "tuned", 4, pytest.approx(-0.5), {}),
        ("f1_change", "base", "tuned", 4, pytest.approx(-0.5), {}),
    ]
    # every model's warnings are kept, each naming its set once
    extra = [w for w in result.warnings if "extra generations" in w]
    assert len(extra) == 2
    assert extra[0].startswith("base original: 1 extra generations")
    assert extra[1].startswith("tuned paraphrased: 1 extra generations")
    # 4 paired samples are too few to judge; the evidence says what was compared
    [signal] = result.signals
    assert (signal.name, signal.model, signal.status.value) == ("paraphrase sensitivity", "tuned", "not applicable")
    assert signal.evidence.startswith("change on paraphrased prompts vs the base's change: exact_match_change -0.25 -> -0.75 (")


def test_loaded_prediction_sets_are_taken_as_they_are(tmp_path):
    bo, bp, to, tp = _small_case(tmp_path)
    from_files = rephrase_sensitivity([(bo, bp), (to, tp)], CONFIG, names=["base", "tuned"]).to_result()
    sets = [(PredictionSet.load(o), PredictionSet.load(p)) for o, p in ((bo, bp), (to, tp))]
    from_sets = rephrase_sensitivity(sets, CONFIG, names=["base", "tuned"]).to_result()
    assert from_sets.estimates == from_files.estimates and from_sets.data == from_files.data
    assert [(c.metric, c.model, c.difference) for c in from_sets.comparisons] == [(c.metric, c.model, c.difference) for c in from_files.comparisons]


def test_keying_by_original_id_changes_only_the_ids(tmp_path):
    tp = _small_case(tmp_path)[3]
    loaded = PredictionSet.load(tp + ",name=t")
    keyed = _keyed_by_original(loaded)
    assert (keyed.name, keyed.path, keyed.extra_generations) == ("t", tp, 1)
    assert [p.id for p in keyed.rows] == ["0", "1", "2", "3"]
    assert [p.output for p in keyed.rows] == [p.output for p in loaded.rows]


def test_references_come_from_data_and_are_recorded_once(tmp_path):
    # prediction rows carry no answers: only --data has them (answers a b c d by id)
    data = _write(tmp_path / "data.jsonl", [{"id": str(i), "answers": [a]} for i, a in enumerate(ANSWERS)])

    def bare(path, outputs, para=False):
        return _write(path, [{"id": f"p{i}" if para else str(i), **({"original_id": str(i)} if para else {}), "output": o}
                             for i, o in enumerate(outputs)])

    bo, bp = bare(tmp_path / "bo.jsonl", ["a", "b", "c", "d"]), bare(tmp_path / "bp.jsonl", ["a", "b", "c", "x"], para=True)
    to, tp = bare(tmp_path / "to.jsonl", ["a", "b", "c", "d"]), bare(tmp_path / "tp.jsonl", ["x", "x", "c", "d"], para=True)
    result = rephrase_sensitivity([(bo, bp), (to, tp)], CONFIG, data=data, names=["base", "tuned"]).to_result()
    assert [(d.source, d.role) for d in result.data] == [
        (bo, "predictions"), (bp, "paraphrases"), (data, "references"), (to, "predictions"), (tp, "paraphrases")]
    # base paraphrases: 1 1 1 0 = 0.75; tuned: 0 0 1 1 = 0.5
    assert result.value("exact_match_paraphrased", "base") == 0.75 and result.value("exact_match_paraphrased", "tuned") == 0.5


def _labels(path, outputs, gold, para=False):
    return _write(path, [{"id": f"p{i}" if para else str(i), **({"original_id": str(i)} if para else {}), "output": o, "label": g}
                         for i, (o, g) in enumerate(zip(outputs, gold))])


def test_the_unparsed_count_gets_no_change_but_a_custom_metric_after_it_does(tmp_path):
    # classification's per-sample columns are accuracy, unparsed, then the custom metric's
    (tmp_path / "m.py").write_text("def length(prediction, sample):\n    return float(len(prediction))\n")
    config = ScoreConfig("classification", custom=(f"{tmp_path / 'm.py'}:length",), n_resamples=1000)
    gold = ["yes", "no", "yes", "no"]
    pairs = [(_labels(tmp_path / "bo.jsonl", ["yes", "no", "yes", "no"], gold), _labels(tmp_path / "bp.jsonl", ["yes", "no", "maybe", "no"], gold, True)),
             (_labels(tmp_path / "to.jsonl", ["yes", "no", "yes", "no"], gold), _labels(tmp_path / "tp.jsonl", ["??", "no", "maybe", "no"], gold, True))]
    result = rephrase_sensitivity(pairs, config, names=["base", "tuned"]).to_result()
    versus = [c for c in result.comparisons if c.baseline == "base"]
    # accuracy change: base 0 0 -1 0, tuned -1 0 -1 0; length change: base 0 0 +2 0, tuned -1 0 +2 0
    assert [(c.metric, c.difference) for c in versus] == [("accuracy_change", pytest.approx(-0.25)), ("length_change", pytest.approx(-0.25))]


def test_a_metric_only_the_baseline_has_is_skipped_and_the_next_one_compared(tmp_path):
    # a custom metric whose key follows the row's `kind` field: "k_a" for the base's rows, "k_b" for the tuned's
    (tmp_path / "m.py").write_text("def m(prediction, sample):\n    return {'k_' + sample['kind']: 1.0, 'z': float(len(prediction))}\n")
    config = ScoreConfig("qa", custom=(f"{tmp_path / 'm.py'}:m",), n_resamples=1000)

    def rows(path, outputs, kind, para=False):
        return _write(path, [{"id": f"p{i}" if para else str(i), **({"original_id": str(i)} if para else {}), "output": o,
                              "answers": [a], "kind": kind} for i, (o, a) in enumerate(zip(outputs, ANSWERS))])

    pairs = [(rows(tmp_path / "bo.jsonl", ANSWERS, "a"), rows(tmp_path / "bp.jsonl", ANSWERS, "a", True)),
             (rows(tmp_path / "to.jsonl", ANSWERS, "b"), rows(tmp_path / "tp.jsonl", ["aa", "b", "c", "d"], "b", True))]
    result = rephrase_sensitivity(pairs, config, names=["base", "tuned"]).to_result()
    versus = [c for c in result.comparisons if c.baseline == "base"]
    # z (output length) change: base 0 0 0 0, tuned +1 0 0 0: mean +0.25; EM/F1 change: tuned -1 0 0 0
    assert [(c.metric, c.difference) for c in versus] == [
        ("exact_match_change", pytest.approx(-0.25)), ("f1_change", pytest.approx(-0.25)), ("z_change", pytest.approx(0.25))]


def test_two_shared_samples_are_enough_to_compare(tmp_path):
    two = ["a", "b"]
    pairs = [(_orig(tmp_path / "bo.jsonl", ["a", "b"], two), _para(tmp_path / "bp.jsonl", ["a", "b"], two)),
             (_orig(tmp_path / "to.jsonl", ["a", "b"], two), _para(tmp_path / "tp.jsonl", ["x", "b"], two))]
    result = rephrase_sensitivity(pairs, CONFIG, names=["base", "tuned"]).to_result()
    versus = [c for c in result.comparisons if c.baseline == "base"]
    assert [(c.metric, c.n, c.difference) for c in versus] == [("exact_match_change", 2, -0.5), ("f1_change", 2, -0.5)]
    assert [s.status.value for s in result.signals] == ["not applicable"]


def test_one_shared_sample_is_not_compared_and_says_so(tmp_path):
    two = ["a", "b"]
    pairs = [(_orig(tmp_path / "bo.jsonl", ["a", "b"], two), _para(tmp_path / "bp.jsonl", ["a", "b"], two)),
             (_orig(tmp_path / "to.jsonl", ["a"], ["a"]), _para(tmp_path / "tp.jsonl", ["a"], ["a"]))]
    report = rephrase_sensitivity(pairs, CONFIG, names=["base", "tuned"])
    assert report.versus_baseline == []
    told = [w for w in report.warnings if "not compared" in w]
    assert told == [f"tuned: only 1 sample(s) with both predictions shared with base: {m}_change not compared (at least 2 needed)"
                    for m in ("exact_match", "f1")]


def test_every_later_model_is_compared_with_the_first(tmp_path):
    pairs = [(_orig(tmp_path / f"{m}o.jsonl", ANSWERS), _para(tmp_path / f"{m}p.jsonl", outs))
             for m, outs in (("b", ANSWERS), ("t", ["x", "b", "c", "d"]), ("u", ["x", "x", "c", "d"]))]
    result = rephrase_sensitivity(pairs, CONFIG, names=["base", "t1", "t2"]).to_result()
    versus = [(c.metric, c.model, c.difference) for c in result.comparisons if c.baseline == "base"]
    assert versus == [("exact_match_change", "t1", -0.25), ("f1_change", "t1", -0.25),
                      ("exact_match_change", "t2", -0.5), ("f1_change", "t2", -0.5)]
    assert [s.model for s in result.signals] == ["t1", "t2"]


def test_the_difference_in_differences_uses_the_configs_seed_and_resample_count(tmp_path):
    # 20 ten-word answers; an output of the first k words has token F1 2k / (10 + k) (precision 1, recall k/10)
    words = " ".join(f"w{j}" for j in range(10))
    ks_bo, ks_bp = [10] * 20, [(i * 3) % 11 for i in range(20)]
    ks_to, ks_tp = [10] * 20, [(i * 7) % 11 for i in range(20)]

    def f1(k):
        return 2 * k / (10 + k)

    def rows(path, ks, para=False):
        return _write(path, [{"id": f"p{i}" if para else str(i), **({"original_id": str(i)} if para else {}),
                              "output": " ".join(words.split()[:k]), "answers": [words]} for i, k in enumerate(ks)])

    config = ScoreConfig("qa", n_resamples=1000, seed=3)
    pairs = [(rows(tmp_path / "bo.jsonl", ks_bo), rows(tmp_path / "bp.jsonl", ks_bp, True)),
             (rows(tmp_path / "to.jsonl", ks_to), rows(tmp_path / "tp.jsonl", ks_tp, True))]
    result = rephrase_sensitivity(pairs, config, names=["base", "tuned"]).to_result()
    got = {c.metric: c for c in result.comparisons if c.baseline == "base"}

    def reference(seed, n_resamples):
        def change(after, before, score):
            return np.array([score(a) - score(b) for a, b in zip(after, before)])

        em = [paired(SampleStats.mean("exact_match_change", change(ks_bp, ks_bo, lambda k: float(k == 10))),
                     SampleStats.mean("exact_match_change", change(ks_tp, ks_to, lambda k: float(k == 10))),
                     n_resamples=n_resamples, seed=seed, baseline="base", model="tuned")]
        f = [paired(SampleStats.mean("f1_change", change(ks_bp, ks_bo, f1)), SampleStats.mean("f1_change", change(ks_tp, ks_to, f1)),
                    n_resamples=n_resamples, seed=seed, baseline="base", model="tuned")]
        return {c.metric: c for c in adjust_holm(em + f)}

    want = reference(3, 1000)
    assert got["f1_change"].difference == pytest.approx(want["f1_change"].difference)
    assert got["f1_change"].ci95 == pytest.approx(want["f1_change"].ci95)
    assert got["f1_change"].p_value == pytest.approx(want["f1_change"].p_value)
    # the check can tell: another seed, or the default 10,000 resamples, gives another CI
    assert reference(0, 1000)["f1_change"].ci95 != pytest.approx(want["f1_change"].ci95)
    assert reference(3, 10_000)["f1_change"].ci95 != pytest.approx(want["f1_change"].ci95)


def test_no_pairs_names_the_options_and_an_empty_report_has_an_empty_config():
    with pytest.raises(ConfigError, match="--original and --paraphrased"):
        rephrase_sensitivity([], CONFIG)
    empty = RephraseReport("qa", []).to_result()
    assert (empty.config, empty.models, empty.comparisons, empty.signals) == ({}, [], [], [])
