"""TunecheckLM gives lm-evaluation-harness the same per-sample numbers as its own Hugging Face
model (HFLM, the reference) on fixture tasks in the benchmarks' own formats, written here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

lm_eval = pytest.importorskip("lm_eval")

from tunecheck.bench._lm import TunecheckLM, to_request  # noqa: E402
from tunecheck.bench._run import collect, run_benchmarks  # noqa: E402
from tunecheck.models._open import open_model  # noqa: E402
from tunecheck.models._protocol import SCORING, LoglikelihoodRequest  # noqa: E402

MMLU = [  # MMLU's columns: question, subject, choices, answer (an index)
    {"question": "the red fox walks to the", "subject": "toy", "choices": ["river", "hill", "town", "sea"], "answer": 0},
    {"question": "the blue cat near", "subject": "toy", "choices": ["farm", "owl", "the", "number"], "answer": 1},
    {"question": "the old owl walks", "subject": "toy", "choices": ["to", "near", "fox", "red"], "answer": 2},
    {"question": "number 7 near the", "subject": "toy", "choices": ["sea", "cat", "walks", "blue"], "answer": 3},
]
# lm-evaluation-harness's MMLU template (tasks/mmlu/default/_default_template_yaml + a subject's file)
MMLU_YAML = """task: toy_mmlu
dataset_path: json
dataset_kwargs:
  data_files:
    test: {root}/mmlu_test.jsonl
    dev: {root}/mmlu_dev.jsonl
test_split: test
fewshot_split: dev
fewshot_config:
  sampler: first_n
output_type: multiple_choice
description: "The following are multiple choice questions (with answers) about toy.\\n\\n"
doc_to_text: "{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""
# a LAMBADA-style task: acc is is_greedy, so the adapter's greedy check is what it measures
LAMBADA_YAML = """task: toy_lambada
dataset_path: json
dataset_kwargs:
  data_files:
    test: {root}/lambada.jsonl
test_split: test
output_type: loglikelihood
doc_to_text: "{{{{text.split(' ')[:-1]|join(' ')}}}}"
doc_to_target: "{{{{' '+text.split(' ')[-1]}}}}"
metric_list:
  - metric: perplexity
    aggregation: perplexity
    higher_is_better: false
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""
# a WikiText-style task: loglikelihood_rolling
ROLLING_YAML = """task: toy_wikitext
dataset_path: json
dataset_kwargs:
  data_files:
    test: {root}/wikitext.jsonl
test_split: test
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{{{page}}}}"
metric_list:
  - metric: word_perplexity
  - metric: byte_perplexity
metadata:
  version: 1.0
"""
# HellaSwag's task file with local data; its process_docs is lm-evaluation-harness's own utils.py
HELLASWAG_YAML = """task: toy_hellaswag
dataset_path: json
dataset_kwargs:
  data_files:
    validation: {root}/hellaswag.jsonl
validation_split: validation
test_split: null
output_type: multiple_choice
process_docs: !function utils.process_docs
doc_to_text: "{{{{query}}}}"
doc_to_target: "{{{{label}}}}"
doc_to_choice: "choices"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""
HELLASWAG = [  # HellaSwag's columns (label is a string, as on the hub)
    {"ind": 0, "activity_label": "Walking", "ctx_a": "The red fox walks to the river.", "ctx_b": "then it",
     "endings": ["walks to the hill [title] near town.", "sea", "walks near the farm number 3.", "owl"], "label": "2", "split": "val"},
    {"ind": 1, "activity_label": "Owls", "ctx_a": "The old owl near the sea.", "ctx_b": "the owl",
     "endings": ["walks to the town.", "cat", "fox fox", "walks near the river number 12 and the hill."], "label": "0", "split": "val"},
]
TASKS = ["toy_mmlu", "toy_hellaswag", "toy_lambada", "toy_wikitext"]


def _greedy_word(path: Path, text: str) -> str:
    """The word the model's argmax continues `text` with (transformers directly, one token)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([tok(text)["input_ids"]])).logits[0, -1]
    return str(tok.decode([int(logits.argmax())]))


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory, model_dirs: dict[str, Path]) -> Path:
    root = tmp_path_factory.mktemp("tasks")
    for split in ("test", "dev"):
        (root / f"mmlu_{split}.jsonl").write_text("".join(json.dumps(q) + "\n" for q in MMLU))
    # doc 0 ends with the model's own greedy next token (is_greedy True), doc 1 with another word
    head = "the red fox walks to the"
    word = _greedy_word(model_dirs["base"], head)
    lambada = [{"text": head + word}, {"text": "the blue cat walks to the hill"}]
    assert word.startswith(" ") and word.strip() and word != " hill", word
    (root / "lambada.jsonl").write_text("".join(json.dumps(d) + "\n" for d in lambada))
    pages = [{"page": "the red fox walks to the river near town number 3"}, {"page": "the old owl walks to the sea"}]
    (root / "wikitext.jsonl").write_text("".join(json.dumps(d) + "\n" for d in pages))
    (root / "toy_mmlu.yaml").write_text(MMLU_YAML.format(root=root))
    (root / "hellaswag.jsonl").write_text("".join(json.dumps(d) + "\n" for d in HELLASWAG))
    (root / "toy_hellaswag.yaml").write_text(HELLASWAG_YAML.format(root=root))
    shutil.copy(Path(lm_eval.__file__).parent / "tasks" / "hellaswag" / "utils.py", root / "utils.py")
    (root / "toy_lambada.yaml").write_text(LAMBADA_YAML.format(root=root))
    (root / "toy_wikitext.yaml").write_text(ROLLING_YAML.format(root=root))
    return root


def _evaluate(model: Any, tasks_dir: Path, num_fewshot: int | None = None) -> dict[str, Any]:
    from lm_eval.tasks import TaskManager

    return dict(
        lm_eval.simple_evaluate(
            model=model,
            tasks=TASKS,
            num_fewshot=num_fewshot,
            log_samples=True,
            task_manager=TaskManager(include_path=str(tasks_dir)),
            bootstrap_iters=0,
        )
    )


@pytest.fixture(scope="module")
def reference(tasks_dir: Path, model_dirs: dict[str, Path]) -> dict[str, Any]:
    from lm_eval.models.huggingface import HFLM

    return _evaluate(HFLM(pretrained=str(model_dirs["base"]), device="cpu", batch_size=1, dtype="float32"), tasks_dir)


@pytest.fixture(scope="module")
def ours(tasks_dir: Path, model_dirs: dict[str, Path]) -> dict[str, Any]:
    model = open_model(str(model_dirs["base"]), SCORING, layer="bench", dtype="float32", device="cpu")
    return _evaluate(TunecheckLM(model), tasks_dir)


def _resps(results: dict[str, Any], task: str) -> list[Any]:
    return [s["resps"] for s in sorted(results["samples"][task], key=lambda s: s["doc_id"])]


def _flatten(x: Any) -> list[float]:
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    return [float(x)]


@pytest.mark.parametrize("task", TASKS)
def test_per_sample_results_equal_lm_evaluation_harness_hf(reference: dict[str, Any], ours: dict[str, Any], task: str) -> None:
    ref, got = _resps(reference, task), _resps(ours, task)
    assert len(ref) == len(got) > 0
    np.testing.assert_allclose(_flatten(got), _flatten(ref), atol=1e-4, rtol=0)
    for a, b in zip(sorted(reference["samples"][task], key=lambda s: s["doc_id"]), sorted(ours["samples"][task], key=lambda s: s["doc_id"])):
        # per-document metric values: a number, or (log-likelihood, words/bytes) for perplexities
        np.testing.assert_allclose(_flatten([b[m] for m in a["metrics"]]), _flatten([a[m] for m in a["metrics"]]), atol=1e-4, rtol=0)
    ref_scores = {k: v for k, v in reference["results"][task].items() if isinstance(v, float)}
    assert ref_scores
    # perplexities are exp(-ll/words): HFLM's float32 sums against tunecheck's float64 differ in ~1e-7 relative
    assert {k: ours["results"][task][k] for k in ref_scores} == pytest.approx(ref_scores, rel=1e-5, abs=1e-4)


def test_the_fixture_tasks_measure_something(reference: dict[str, Any]) -> None:
    """Guards the comparison above: the greedy check and accuracy vary across documents."""
    lambada = sorted(reference["samples"]["toy_lambada"], key=lambda s: s["doc_id"])
    assert [s["acc"] for s in lambada] == [1.0, 0.0]  # doc 0 ends with the argmax token, by construction
    assert 0 < reference["results"]["toy_mmlu"]["acc,none"] < 1
    # HellaSwag's acc_norm divides by the endings' lengths: endings of very different lengths
    assert len({len(c) for s in reference["samples"]["toy_hellaswag"] for c in s["doc"]["choices"]}) > 1


def test_tunecheck_default_request_would_differ_from_hflm(reference: dict[str, Any], model_dirs: dict[str, Path]) -> None:
    """The finding behind `to_request`: tunecheck's own scoring default (a BOS before every text)
    gives other numbers than HFLM on a tokenizer that adds no BOS itself; the adapter's does not."""
    sample = min(reference["samples"]["toy_mmlu"], key=lambda s: s["doc_id"])
    context, continuation = sample["arguments"][0]
    want = float(sample["resps"][0][0][0])
    model = open_model(str(model_dirs["base"]), SCORING, layer="bench", dtype="float32", device="cpu")
    default, adapted = model.loglikelihood([LoglikelihoodRequest(context, continuation), to_request(context, continuation)])
    assert abs(default.logprobs.sum() - want) > 1e-3
    assert adapted.logprobs.sum() == pytest.approx(want, abs=1e-4)


def test_trailing_whitespace_moves_to_the_continuation() -> None:
    # HFLM's _encode_pair: context.rstrip() (newlines too), the rest starts the continuation
    assert to_request("Question:\n\n ", "Yes") == LoglikelihoodRequest("Question:", "\n\n Yes", prefix="tokenizer")
    assert to_request("", "Hello") == LoglikelihoodRequest("", "Hello", prefix="bos")


def test_run_benchmarks_keeps_every_document(tasks_dir: Path, model_dirs: dict[str, Path], reference: dict[str, Any]) -> None:
    run = run_benchmarks(str(model_dirs["base"]), ["toy_mmlu", "toy_lambada"], include_path=tasks_dir, dtype="float32", device="cpu")
    want = collect(reference, {})
    assert set(run.tasks) == {"toy_mmlu", "toy_lambada"}
    for name in run.tasks:
        got, ref = run.per_sample()[name], want.per_sample()[name]
        assert sorted(got) == sorted(ref)
        for doc in ref:
            assert got[doc] == pytest.approx(ref[doc], abs=1e-4)
        assert run.tasks[name].version == 1.0
        assert run.tasks[name].num_fewshot == 0
    assert run.per_sample()["toy_lambada"][0]["acc,none"] == 1.0
    assert sorted(run.per_sample()["toy_mmlu"]) == [0, 1, 2, 3]
    assert run.model["location"] == str(model_dirs["base"])


def test_generation_kwargs_become_tunecheck_params(model_dirs: dict[str, Path]) -> None:
    """generate_until's kwargs as HFLM reads them: `until` (a string or list) plus EOS as stop
    strings, max_gen_toks, greedy unless do_sample."""
    from tunecheck.models._protocol import GENERATION, GenerationParams

    lm = TunecheckLM(open_model(str(model_dirs["base"]), GENERATION, layer="bench", dtype="float32", device="cpu"), max_gen_toks=7)
    assert lm._params({"until": "\n\n", "do_sample": False, "temperature": 0.7}) == GenerationParams(max_new_tokens=7, stop=("\n\n", "</s>"))
    assert lm._params({"until": ["Q:", "</s>"], "max_gen_toks": 5}) == GenerationParams(max_new_tokens=5, stop=("Q:", "</s>"))
    assert lm._params({"do_sample": True, "temperature": 0.5, "top_p": 0.9}) == GenerationParams(
        max_new_tokens=7, temperature=0.5, top_p=0.9, stop=("</s>",)
    )


def test_unknown_task_is_refused_before_any_model_loads(tasks_dir: Path, tmp_path: Path) -> None:
    from tunecheck.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--task toy_nope: not an lm-evaluation-harness task or under --include-path"):
        run_benchmarks(str(tmp_path / "no-such-model"), ["toy_mmlu", "toy_nope"], include_path=tasks_dir)


def test_missing_lm_eval_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from tunecheck.bench._run import lm_eval_module
    from tunecheck.errors import ConfigError

    monkeypatch.setitem(sys.modules, "lm_eval", None)  # import lm_eval now raises ImportError
    with pytest.raises(ConfigError, match=r'^benchmarks need lm-evaluation-harness: pip install "tunecheck\[benchmarks\]"$'):
        lm_eval_module()


def test_two_models_run_then_compared_per_question(tasks_dir: Path, model_dirs: dict[str, Path]) -> None:
    from tests.schema import assert_valid_result
    from tunecheck.bench._compare import compare_bench

    runs = [run_benchmarks(str(model_dirs[m]), ["toy_mmlu"], include_path=tasks_dir, dtype="float32", device="cpu").to_bench_run(m)
            for m in ("base", "other")]
    assert runs[0].tasks["toy_mmlu"].version == "1.0" and runs[0].tasks["toy_mmlu"].num_fewshot == 0
    result = compare_bench(runs, n_resamples=1000).to_result()
    assert_valid_result(result.to_dict())
    [c] = [c for c in result.comparisons if c.extra.get("unit") == "toy_mmlu"]
    base = [runs[0].tasks["toy_mmlu"].docs[d]["acc"] for d in sorted(runs[0].tasks["toy_mmlu"].docs)]
    other = [runs[1].tasks["toy_mmlu"].docs[d]["acc"] for d in sorted(runs[1].tasks["toy_mmlu"].docs)]
    assert c.baseline_value == pytest.approx(sum(base) / 4) and c.value == pytest.approx(sum(other) / 4)
    assert "mcnemar_p" in c.tests and c.n == 4


def test_tunecheck_bench_cli_json(tasks_dir: Path, model_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli.test_bad_inputs import run_cli
    from tests.schema import assert_valid_result

    code, out, err = run_cli(["bench", "-m", f"{model_dirs['base']},name=base", "-m", f"{model_dirs['other']},name=tuned",
                              "--task", "toy_mmlu", "--include-path", str(tasks_dir), "--dtype", "float32", "--device", "cpu",
                              "--n-resamples", "1000", "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    result = json.loads(out)
    assert_valid_result(result)
    assert result["layer"] == "bench" and [m["name"] for m in result["models"]] == ["base", "tuned"]
    [c] = [c for c in result["comparisons"] if c["extra"]["unit"] == "toy_mmlu"]
    assert c["baseline"] == "base" and c["model"] == "tuned" and c["n"] == 4 and "mcnemar_p" in c["tests"]


def _save_run(results: dict[str, Any], folder: Path) -> None:
    """Write a run as `lm_eval --output_path FOLDER --log_samples` does (lm-eval's own tracker)."""
    from lm_eval.loggers import EvaluationTracker

    tracker = EvaluationTracker(output_path=str(folder))
    tracker.general_config_tracker.model_name_sanitized = "model"
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    results["samples"] = samples


def test_imported_lm_eval_runs_compare_as_runs_in_tunecheck(tasks_dir: Path, model_dirs: dict[str, Path], reference: dict[str, Any],
                                                          tmp_path: Path) -> None:
    from lm_eval.models.huggingface import HFLM

    from tunecheck.bench._compare import compare_bench
    from tunecheck.bench._import import import_run

    other = _evaluate(HFLM(pretrained=str(model_dirs["other"]), device="cpu", batch_size=1, dtype="float32"), tasks_dir)
    _save_run(dict(reference), tmp_path / "base")
    _save_run(other, tmp_path / "other")
    imported = [import_run(tmp_path / "base", name="base"), import_run(tmp_path / "other", name="other")]
    assert set(imported[0].tasks) == set(TASKS) and imported[0].tasks["toy_mmlu"].num_fewshot == 0
    ran = [run_benchmarks(str(model_dirs[m]), ["toy_mmlu"], include_path=tasks_dir, dtype="float32", device="cpu").to_bench_run(m)
           for m in ("base", "other")]
    mmlu = [one_task(r, "toy_mmlu") for r in imported]
    a = {c.extra["unit"]: c for c in compare_bench(mmlu, n_resamples=1000).to_result().comparisons}["toy_mmlu"]
    b = {c.extra["unit"]: c for c in compare_bench(ran, n_resamples=1000).to_result().comparisons}["toy_mmlu"]
    assert (a.n, a.baseline_value, a.value, a.difference) == (b.n, b.baseline_value, b.value, b.difference)
    assert a.tests["mcnemar_p"] == b.tests["mcnemar_p"] and a.ci95 == b.ci95 and a.verdict == b.verdict


def one_task(run: Any, task: str) -> Any:
    """One task of a run, as a run."""
    from dataclasses import replace

    return replace(run, tasks={task: run.tasks[task]}, groups={})


def test_import_refuses_a_folder_without_samples(tmp_path: Path) -> None:
    from tunecheck.bench._import import import_run
    from tunecheck.errors import DataError

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "results_2026-12-02T00-00-00.json").write_text(json.dumps({"configs": {"toy_mmlu": {}}}))
    with pytest.raises(DataError, match=r"no per-question samples for task 'toy_mmlu'.*--log_samples"):
        import_run(tmp_path)
    with pytest.raises(DataError, match="no such lm-evaluation-harness output folder"):
        import_run(tmp_path / "nope")
