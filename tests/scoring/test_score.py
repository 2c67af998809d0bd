"""`tunecheck score`: metric values equal the reference implementations, the JSON has the
documented shape, references join from --data, and bad input is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.cli.test_cli_errors import one_error_line, tunecheck
from tests.schema import assert_valid_result
from tunecheck.cli import app
from tunecheck.errors import ConfigError, DataError
from tunecheck.metrics import normalize_answer
from tunecheck.scoring import ScoreConfig, score_predictions


def write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--format", "json", "--n-resamples", "2000"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert_valid_result(payload)
    assert payload["layer"] == "score"
    return payload


def models_of(payload: dict) -> list[dict]:
    """Each model of a score result: its name, its details, and its estimates by metric."""
    return [{"model": m["name"], **m["details"], "metrics": {e["metric"]: e for e in payload["estimates"] if e["model"] == m["name"]}}
            for m in payload["models"]]


SUMMARIES = [
    ("the cat sat on the mat today", "the cat sat on the mat", "a cat on a mat"),
    ("storms are expected in the north tonight", "storms expected in the north tonight", "it will rain"),
    ("prices rose by three percent in may", "prices rose three percent in may", "prices went up"),
    ("the team won the final after extra time", "the team won the final in extra time", "a team won"),
    ("new rules for cyclists start next week", "new cyclist rules start next week", "rules change"),
    ("the museum reopens on saturday morning", "the museum reopens saturday morning", "museum news"),
]


def test_summarization_metrics_equal_rouge_score_and_sacrebleu(tmp_path):
    import sacrebleu
    from rouge_score import rouge_scorer

    refs = [r for r, _, _ in SUMMARIES]
    tuned = [t for _, t, _ in SUMMARIES]
    base = [b for _, _, b in SUMMARIES]
    a = write(tmp_path / "base.jsonl", [{"id": i, "output": o, "reference": r, "model": "base"} for i, (o, r) in enumerate(zip(base, refs))])
    b = write(tmp_path / "tuned.jsonl", [{"id": i, "output": o, "reference": r, "model": "tuned"} for i, (o, r) in enumerate(zip(tuned, refs))])
    payload = cli_json("score", "--task", "summarization", "--preds", a, "--preds", b)
    assert [m["name"] for m in payload["models"]] == ["base", "tuned"]
    assert [m["identity"] for m in payload["models"]] == [{"model": "base"}, {"model": "tuned"}]  # the files' model field
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for m, outs in zip(models_of(payload), (base, tuned)):
        assert m["n"] == 6
        for k in ("rouge1", "rouge2", "rougeL"):
            want = np.mean([scorer.score(r, o)[k].fmeasure for r, o in zip(refs, outs)])
            assert m["metrics"][k]["value"] == pytest.approx(want)
            lo, hi = m["metrics"][k]["ci95"]
            assert 0 <= lo <= m["metrics"][k]["value"] <= hi <= 1
        assert m["metrics"]["bleu"]["value"] == pytest.approx(sacrebleu.corpus_bleu(outs, [refs]).score)
        assert m["metrics"]["chrf"]["value"] == pytest.approx(sacrebleu.corpus_chrf(outs, [refs]).score)
    comp = {c["metric"]: c for c in payload["comparisons"]}
    assert set(comp) == {"rouge1", "rouge2", "rougeL", "bleu", "chrf"}
    for c in comp.values():
        assert set(c) >= {"metric", "difference", "ci95", "p_value", "verdict", "p_value_holm", "mdd"}
        assert c["difference"] == pytest.approx(c["value"] - c["baseline_value"])
        assert c["ci95"][0] <= c["difference"] <= c["ci95"][1]
    # every metric improved (clearly, at n=6): the sample size is then no reason for doubt
    assert [c["verdict"] for c in comp.values()] == ["improved"] * 5
    assert not any("too few" in w for w in payload["warnings"])


def test_classification_equals_scikit_learn_with_unparsed_outputs(tmp_path):
    from sklearn.metrics import accuracy_score, f1_score

    gold = ["positive", "negative", "neutral", "positive", "negative", "positive", "neutral", "negative"]
    outs = ["Positive!", "I think it is negative.", "no idea", "neutral", "NEGATIVE", "positive", "It's neutral.", "positive"]
    a = write(tmp_path / "a.jsonl", [{"id": f"s{i}", "output": o, "label": g} for i, (o, g) in enumerate(zip(outs, gold))])
    payload = cli_json("score", "--task", "classification", "--preds", a)
    m = models_of(payload)[0]
    predicted = ["positive", "negative", "<unparsed>", "neutral", "negative", "positive", "neutral", "positive"]
    labels = ["negative", "neutral", "positive"]
    assert m["unparsed"] == 1 and m["labels"] == labels
    assert m["metrics"]["accuracy"]["value"] == pytest.approx(accuracy_score(gold, predicted))
    for avg in ("macro", "micro", "weighted"):
        want = f1_score(gold, predicted, labels=labels, average=avg, zero_division=0)
        assert m["metrics"][f"{avg}_f1"]["value"] == pytest.approx(want)
    assert m["model"] == "a"  # no model field: the file name
    assert any("1 of 8 outputs named no allowed label" in w for w in payload["warnings"])


def test_qa_uses_squad_normalisation_and_max_over_answers(tmp_path):
    rows = [
        {"id": "q1", "output": "The Eiffel Tower.", "answers": ["Eiffel Tower", "the tower"]},
        {"id": "q2", "output": "in Paris, France", "answers": {"text": ["Paris"], "answer_start": [0]}},
        {"id": "q3", "output": "1889", "answers": ["in 1889"]},
    ]
    payload = cli_json("score", "--task", "qa", "--preds", write(tmp_path / "p.jsonl", rows), "--per-sample")
    m = models_of(payload)[0]
    assert normalize_answer("The Eiffel Tower.") == "eiffel tower"
    assert m["metrics"]["exact_match"]["value"] == pytest.approx(1 / 3)
    # f1: q1 exact (1.0); q2 "in paris france" vs "paris": P=1/3 R=1 -> 0.5; q3 "1889" vs "in 1889": P=1 R=1/2 -> 2/3
    assert m["metrics"]["f1"]["value"] == pytest.approx((1 + 0.5 + 2 / 3) / 3)
    records = payload["records"]
    assert [(r["sample_id"], r["model"]) for r in records] == [("q1", "p"), ("q2", "p"), ("q3", "p")]
    assert [r["values"]["f1"] for r in records] == pytest.approx([1.0, 0.5, 2 / 3])
    assert [r["values"]["exact_match"] for r in records] == [1.0, 0.0, 0.0]


def test_format_rules_from_file_and_rows(tmp_path):
    rows = [
        {"id": 1, "output": '{"a": 1}'},
        {"id": 2, "output": "not json"},
        {"id": 3, "output": "- one\n- two", "format": {"json": False, "bullet_points": 2}},
        {"id": 4, "output": '{"b":2}', "format": {"max_words": 1}},
    ]
    rules = tmp_path / "rules.json"
    rules.write_text('{"json": true}', encoding="utf-8")
    payload = cli_json("score", "--task", "format", "--preds", write(tmp_path / "p.jsonl", rows), "--rules", str(rules))
    m = models_of(payload)[0]
    assert m["metrics"]["format_pass_rate"]["value"] == pytest.approx(3 / 4)
    assert m["rules"]["json"] == {"pass_rate": pytest.approx(3 / 4), "n": 4}
    assert m["rules"]["bullet_points"] == {"pass_rate": 1.0, "n": 1}


def test_references_join_from_data_by_id_and_data_wins(tmp_path):
    data = write(tmp_path / "data.jsonl", [{"id": "a", "prompt": "p", "completion": "yes"}, {"id": "b", "prompt": "p", "completion": "no"}])
    preds = write(tmp_path / "p.jsonl", [{"id": "b", "output": "no", "label": "yes"}, {"id": "a", "output": "yes"}])
    report = score_predictions([preds], ScoreConfig("classification", n_resamples=1000), data=data)
    assert report.models[0].metrics["accuracy"].value == 1.0  # "completion" from --data beats the stale row label
    missing = write(tmp_path / "m.jsonl", [{"id": "zz", "output": "no"}])
    with pytest.raises(DataError, match=r"m.jsonl line 1: id 'zz' is not in --data"):
        score_predictions([missing], ScoreConfig("classification", n_resamples=1000), data=data)


def test_missing_reference_names_file_line_and_fix(tmp_path):
    preds = write(tmp_path / "p.jsonl", [{"id": "a", "output": "x", "reference": "x"}, {"id": "b", "output": "y"}])
    with pytest.raises(DataError) as err:
        score_predictions([preds], ScoreConfig("summarization", n_resamples=1000))
    assert str(err.value).startswith(f"{preds} line 2 (id b): no 'reference' text for --task summarization")


def test_paired_on_shared_ids_in_any_order(tmp_path):
    rng = np.random.default_rng(0)
    gold = rng.choice(["x", "y"], 150)
    base_ok = rng.random(150) < 0.55
    tuned_ok = base_ok | (rng.random(150) < 0.5)  # tuned fixes about half of the base's errors
    flip = {"x": "y", "y": "x"}
    base = [{"id": i, "output": g if ok else flip[g], "label": g} for i, (g, ok) in enumerate(zip(gold, base_ok))]
    tuned = [{"id": i, "output": g if ok else flip[g], "label": g} for i, (g, ok) in enumerate(zip(gold, tuned_ok))]
    tuned = tuned[::-1][:140]  # other order, 10 samples missing
    payload = cli_json("score", "-t", "classification", "-p", write(tmp_path / "b.jsonl", base), "-p",
                       write(tmp_path / "t.jsonl", tuned) + ",name=tuned")
    comp = {c["metric"]: c for c in payload["comparisons"]}
    acc = comp["accuracy"]
    ids = {r["id"] for r in tuned}
    shared = [i for i in range(150) if i in ids]
    want = np.mean(tuned_ok[shared]) - np.mean(base_ok[shared])
    assert acc["n"] == 140 and acc["difference"] == pytest.approx(want)
    assert acc["verdict"] == "improved" and acc["tests"]["mcnemar_p"] < 0.001 and acc["tests"]["losses"] == 0
    assert acc["model"] == "tuned" and acc["baseline"] == "b"
    assert any("compared on the 140 samples both have" in w for w in payload["warnings"])


def test_cluster_field_resamples_passages(tmp_path):
    rows_a, rows_b = [], []
    for i in range(60):
        passage = i // 6
        rows_a.append({"id": i, "output": "a", "answers": ["a" if passage % 2 else "b"], "passage": passage})
        rows_b.append({"id": i, "output": "a", "answers": ["a" if passage % 3 else "b"], "passage": passage})
    a, b = write(tmp_path / "a.jsonl", rows_a), write(tmp_path / "b.jsonl", rows_b)
    plain = cli_json("score", "-t", "qa", "-p", a, "-p", b)
    clustered = cli_json("score", "-t", "qa", "-p", a, "-p", b, "--cluster-field", "passage")
    width = [c["ci95"][1] - c["ci95"][0] for p in (plain, clustered) for c in p["comparisons"] if c["metric"] == "exact_match"]
    assert width[1] > 1.5 * width[0]
    assert models_of(clustered)[0]["clusters"] == 10
    [few] = [w for w in clustered["warnings"] if "only 10 clusters in common" in w]
    assert "seeds" not in few


def test_custom_metric_from_a_file(tmp_path):
    module = tmp_path / "mymetrics.py"
    module.write_text(
        "def brevity(prediction, sample):\n"
        "    return {'words': len(prediction.split()), 'mentions_id': float(str(sample['id']) in prediction)}\n"
        "brevity.higher_is_better = False\n",
        encoding="utf-8",
    )
    preds = write(tmp_path / "p.jsonl", [{"id": 1, "output": "one two 1"}, {"id": 2, "output": "three"}])
    payload = cli_json("score", "-t", "custom", "-p", preds, "--metric", f"{module}:brevity")
    metrics = models_of(payload)[0]["metrics"]
    assert metrics["words"]["value"] == pytest.approx(2.0) and metrics["mentions_id"]["value"] == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="has no function nope"):
        score_predictions([preds], ScoreConfig("custom", custom=(f"{module}:nope",), n_resamples=1000))


def test_bca_intervals(tmp_path):
    rows = [{"id": i, "output": "a" if i % 3 else "b", "answers": ["a"]} for i in range(40)]
    payload = cli_json("score", "-t", "qa", "-p", write(tmp_path / "p.jsonl", rows), "--ci-method", "bca")
    em = models_of(payload)[0]["metrics"]["exact_match"]
    assert em["ci95"][0] < em["value"] < em["ci95"][1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "poetry"], "--task 'poetry': use one of classification, qa"),
        (["--task", "format"], "no format rules; give the row a 'format' field or pass --rules FILE"),
        (["--task", "classification", "--labels", "a"], "--labels: give at least two distinct labels"),
        (["--task", "custom"], "--task custom needs at least one --metric module:function"),
        (["--task", "qa", "--metric", "nocolon"], "--metric 'nocolon': write it as module:function"),
        (["--task", "qa", "--ci-method", "normal"], "--ci-method 'normal': use percentile or bca"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, args, message):
    preds = write(tmp_path / "p.jsonl", [{"id": 1, "output": "x", "answers": ["x"]}])
    assert message in one_error_line(tunecheck(tmp_path, "score", "--preds", preds, *args))


def test_bad_rules_file_and_bad_row_rules_are_clear(tmp_path):
    preds = write(tmp_path / "p.jsonl", [{"id": 1, "output": "x", "format": {"max_word": 3}}])
    rules = tmp_path / "r.json"
    rules.write_text('{"json": true,}', encoding="utf-8")
    line = one_error_line(tunecheck(tmp_path, "score", "-t", "format", "-p", preds, "--rules", str(rules)))
    assert f"{rules} line 1: invalid JSON" in line and "--rules takes a JSON object" in line
    line = one_error_line(tunecheck(tmp_path, "score", "-t", "format", "-p", preds))
    assert "p.jsonl line 1 (id 1) field 'format': unknown rule 'max_word'" in line


def test_table_output_names_models_metrics_and_verdicts(tmp_path):
    rows = [{"id": i, "output": "a", "answers": ["a" if i % 2 else "b"]} for i in range(30)]
    better = [{"id": i, "output": "a" if i % 2 else "b", "answers": ["a" if i % 2 else "b"]} for i in range(30)]
    result = CliRunner().invoke(app, ["score", "-t", "qa", "-p", write(tmp_path / "base.jsonl", rows),
                                      "-p", write(tmp_path / "tuned.jsonl", better), "--n-resamples", "1000"])
    assert result.exit_code == 0, result.output
    for word in ("base", "tuned", "exact_match", "improved"):
        assert word in " ".join(result.output.split())
    # a significant change at n=30 gets no "too few samples" warning next to it (it did)
    assert "too few" not in result.output


def _qa(tmp_path, name: str, right: list[bool]) -> str:
    return write(tmp_path / f"{name}.jsonl", [{"id": i, "model": name, "output": "yes" if ok else "no", "answers": ["yes"]}
                                              for i, ok in enumerate(right)])


def test_sample_size_warning_only_when_more_samples_could_decide(tmp_path):
    from scipy.stats import norm

    # 30 questions; the tuned model gets 2 right that the base got wrong and 1 wrong that it got
    # right: exact match +1/30, inconclusive. Per-sample differences: two +1, one -1, 27 zeros:
    # mean 1/30, sd = sqrt((3 - 30 * (1/30)^2) / 29) = 0.319842; MDD = (z_.975 + z_.8) * sd / sqrt(30)
    # = 2.80158 * 0.319842 / 5.47723 = 0.16360; the difference seen becomes detectable at
    # 30 * (0.16360 / (1/30))^2 = 722.7 -> 723 samples
    base = [k % 2 == 0 for k in range(30)]
    tuned = list(base)
    tuned[1] = tuned[3] = True
    tuned[0] = False
    sd = np.sqrt((3 - 30 * (1 / 30) ** 2) / 29)
    mdd = (norm.ppf(0.975) + norm.ppf(0.8)) * sd / np.sqrt(30)
    want = int(np.ceil(30 * (mdd * 30) ** 2))
    assert want == 723
    report = score_predictions([_qa(tmp_path, "base", base), _qa(tmp_path, "tuned", tuned)], ScoreConfig("qa", n_resamples=2000))
    em = next(r for r in report.comparison if r.metric == "exact_match")
    assert em.verdict.value == "inconclusive" and em.mdd == pytest.approx(mdd)
    too_few = [w for w in report.warnings if "too few" in w]
    assert len(too_few) == 1 and "only 30 samples in common" in too_few[0] and "exact_match (+0.0333: ~723 samples)" in too_few[0]
    # the same 30 questions with the tuned model right on all 15 the base got wrong: improved, no warning
    better = [True] * 30
    report = score_predictions([_qa(tmp_path, "base", base), _qa(tmp_path, "tuned", better)], ScoreConfig("qa", n_resamples=2000))
    assert {r.verdict.value for r in report.comparison} == {"improved"}
    assert not any("too few" in w for w in report.warnings)
    # identical answers: inconclusive, but a difference of exactly 0 stays 0 with more samples
    report = score_predictions([_qa(tmp_path, "base", base), _qa(tmp_path, "tuned", base)], ScoreConfig("qa", n_resamples=2000))
    assert {r.verdict.value for r in report.comparison} == {"inconclusive"}
    assert not any("too few" in w for w in report.warnings)


def test_out_file_is_a_result_that_load_result_reads_back_with_records(tmp_path):
    from tunecheck.core import Verdict, load_result

    base = [{"id": f"s{i}", "output": "no", "label": "yes" if i % 2 else "no"} for i in range(12)]
    tuned = [{"id": f"s{i}", "output": "yes" if i % 2 else "no", "label": "yes" if i % 2 else "no"} for i in range(12)]
    out = tmp_path / "score.json"
    payload = cli_json("score", "-t", "classification", "-p", write(tmp_path / "base.jsonl", base), "-p",
                       write(tmp_path / "tuned.jsonl", tuned), "--out", str(out))
    assert payload["records"] == []  # the terminal's JSON leaves per-sample records out; the file keeps them
    saved = json.loads(out.read_text())
    assert_valid_result(saved)
    result = load_result(out)
    assert result.layer == "score" and result.details == {"task": "classification"}
    assert [(d.role, d.n, d.source) for d in result.data] == [("predictions", 12, str(tmp_path / "base.jsonl")),
                                                            ("predictions", 12, str(tmp_path / "tuned.jsonl"))]
    assert all(d.sha256 and d.sha256.startswith("sha256:") for d in result.data)
    # base: right on the 6 "no" rows only -> 6/12; tuned: right on all 12
    assert result.estimate("accuracy", "base").value == 0.5 and result.estimate("accuracy", "tuned").value == 1.0
    assert result.estimate("accuracy", "tuned").n == 12
    acc = next(c for c in result.comparisons if c.metric == "accuracy")
    assert (acc.baseline, acc.model, acc.difference, acc.verdict) == ("base", "tuned", 0.5, Verdict.IMPROVED)
    # per-class table in the model's details: the base never says "yes", so its recall of "yes" is 0
    base_info = result.model("base")
    assert base_info is not None and base_info.details["per_class"]["yes"]["recall"] == 0.0
    assert base_info.details["confusion"] == [[6, 0, 0], [6, 0, 0]]  # gold no/yes x predicted no, yes, unparsed
    assert len(result.records) == 24 and result.records[1].values["accuracy"] == 0.0  # base on s1 (gold yes, said no)


def test_a_new_task_joins_the_table_without_touching_the_others(tmp_path):
    from tunecheck.scoring import TASKS, Scored, Task, TaskInput, register_task
    from tunecheck.stats import SampleStats

    def shouting(x: TaskInput) -> Scored:
        loud = [float(o.isupper()) for o in x.outputs]
        return Scored({"shouted": SampleStats.mean("shouted", loud)}, {}, {"shouted": loud})

    register_task(Task("shouting", ("shouted",), "nothing", shouting))
    try:
        with pytest.raises(ConfigError, match="task 'shouting' is already defined"):
            register_task(Task("shouting", ("shouted",), "nothing", shouting))
        preds = write(tmp_path / "p.jsonl", [{"id": 1, "output": "HEY"}, {"id": 2, "output": "hey"}, {"id": 3, "output": "YO"}])
        report = score_predictions([preds], ScoreConfig("shouting", n_resamples=1000))
        assert report.models[0].metrics["shouted"].value == pytest.approx(2 / 3)
        assert report.to_result().estimate("shouted", "p").value == pytest.approx(2 / 3)
    finally:
        del TASKS["shouting"]
    assert list(TASKS) == ["classification", "qa", "summarization", "generation", "format", "custom"]
