"""Rephrase sensitivity: each model's change from original to paraphrased prompts, and the
tuned model's change against the base's (difference in differences), by hand."""

from __future__ import annotations

import json

import pytest

from tunecheck.errors import DataError
from tunecheck.overfitting import rephrase_sensitivity
from tunecheck.scoring import ScoreConfig


def _preds(path, outputs, answers, *, key="id"):
    path.write_text("".join(json.dumps({key: str(i), "output": o, "answers": [a]}) + "\n" for i, (o, a) in enumerate(zip(outputs, answers))))
    return str(path)


def test_memorised_wording_drops_on_paraphrases(tmp_path):
    n = 120
    answers = [f"answer {i}" for i in range(n)]
    right, wrong = answers, ["no idea"] * n
    half = answers[: n // 2] + ["no idea"] * (n - n // 2)
    base_o = _preds(tmp_path / "bo.jsonl", half, answers)
    base_p = _preds(tmp_path / "bp.jsonl", half, answers)  # base: same on both wordings
    tuned_o = _preds(tmp_path / "to.jsonl", right, answers)
    tuned_p = _preds(tmp_path / "tp.jsonl", wrong, answers)  # tuned: perfect on originals, lost on paraphrases
    report = rephrase_sensitivity([(base_o, base_p), (tuned_o, tuned_p)], ScoreConfig("qa", n_resamples=1000), names=["base", "tuned"])
    result = report.to_result()
    em = next(c for c in result.comparisons if c.metric == "exact_match" and c.extra.get("within") == "tuned")
    assert em.difference == pytest.approx(-1.0) and em.verdict.value == "regressed"
    base_em = next(c for c in result.comparisons if c.metric == "exact_match" and c.extra.get("within") == "base")
    assert base_em.difference == 0.0 and base_em.verdict.value == "inconclusive"
    # difference in differences: tuned's change (-1) minus base's (0)
    did = next(c for c in result.comparisons if c.metric == "exact_match_change")
    assert did.difference == pytest.approx(-1.0) and did.verdict.value == "regressed" and (did.baseline, did.model) == ("base", "tuned")
    assert [(s.name, s.model, s.status.value) for s in result.signals] == [("paraphrase sensitivity", "tuned", "overfitting")]


def test_paraphrases_pair_by_original_id(tmp_path):
    orig = _preds(tmp_path / "o.jsonl", ["a", "b"], ["a", "b"])
    para = tmp_path / "p.jsonl"
    para.write_text("".join(json.dumps({"id": f"p{i}", "original_id": str(i), "output": o, "answers": [o]}) + "\n" for i, o in enumerate(["a", "x"])))
    result = rephrase_sensitivity([(orig, str(para))], ScoreConfig("qa", n_resamples=1000)).to_result()
    em = next(c for c in result.comparisons if c.metric == "exact_match")
    assert em.n == 2 and em.difference == 0.0  # "x" is right against its own answers field
    para.write_text(para.read_text() + json.dumps({"id": "p9", "original_id": "0", "output": "a"}) + "\n")
    with pytest.raises(DataError, match="second paraphrase of '0'"):
        rephrase_sensitivity([(orig, str(para))], ScoreConfig("qa", n_resamples=1000))


def test_a_lower_is_better_metrics_change_is_lower_is_better(tmp_path):
    # a custom word count marked lower-is-better: the tuned model's paraphrase outputs grow by
    # 5 + i % 3 words (mean 6 over 30 ids), the base's not at all; tuned's change minus base's = +6: worse
    (tmp_path / "m.py").write_text("def length(prediction, sample):\n    return float(len(prediction.split()))\nlength.higher_is_better = False\n")
    short, long = ["a"] * 30, ["a " + "blah " * (5 + i % 3) for i in range(30)]
    sets = [_preds(tmp_path / f"{name}.jsonl", outs, ["a"] * 30) for name, outs in (("bo", short), ("bp", short), ("to", short), ("tp", long))]
    config = ScoreConfig("qa", custom=(f"{tmp_path / 'm.py'}:length",), n_resamples=1000)
    result = rephrase_sensitivity([(sets[0], sets[1]), (sets[2], sets[3])], config, names=["base", "tuned"]).to_result()
    did = next(c for c in result.comparisons if c.metric == "length_change")
    assert did.difference == pytest.approx(6.0) and did.higher_is_better is False and did.verdict.value == "regressed"
