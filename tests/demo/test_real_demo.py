import json

import pytest

from tests.schema import assert_valid_result
from tunecheck.core import load_results
from tunecheck.demo._build import train_tokenizer
from tunecheck.demo._real import resolve_real_model
from tunecheck.demo._real_run import encode_chat
from tunecheck.errors import ModelError


def test_training_labels_are_the_assistant_turn_as_the_template_renders_it():
    # ChatML: the conversation ends "<|im_start|>assistant\npositive<|im_end|>\n"; the prompt
    # (with the generation prompt) ends at "assistant\n", so the labelled tokens are exactly
    # "positive<|im_end|>\n": the end of turn and its newline, no extra EOS
    tok = train_tokenizer(["the review is positive", "negative and neutral"], vocab_size=300)
    ex = encode_chat(tok, [{"role": "user", "content": "Classify: great"}, {"role": "assistant", "content": "positive"}])
    scored = [i for i, lab in zip(ex["input_ids"], ex["labels"]) if lab != -100]
    assert tok.decode(scored) == "positive<|im_end|>\n"
    assert ex["labels"][-len(scored):] == scored
    assert tok.eos_token_id not in scored  # </s>: the tiny tokenizer's EOS is not the end of turn


def test_a_model_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelError, match=r"no config\.json"):
        resolve_real_model(str(tmp_path), tmp_path / "work")


def test_a_folder_is_used_as_it_is(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_real_model(str(tmp_path), tmp_path / "work") == tmp_path


@pytest.mark.real
@pytest.mark.timeout(900)  # trains SmolLM2 for 2 steps: about 2 minutes idle, far longer on a shared 2-core machine
def test_real_demo_runs_end_to_end_on_a_tiny_budget(smollm2, tmp_path, capsys):
    from tunecheck.demo._real_run import Sizes, run_real_demo

    # 8 training rows, batch 8, 2 epochs: 2 steps, checkpoint-1 and checkpoint-2
    sizes = Sizes(train=8, validation=4, test=4, prose=2, epochs=2)
    results = run_real_demo(tmp_path, model=str(smollm2), json_output=True, sizes=sizes)
    assert_valid_result(json.loads((tmp_path / "results.json").read_text()))
    written = load_results(tmp_path / "results.json")
    assert written["verdict"].details == results["verdict"].details
    task = written["task_classification"]
    assert task.layer == "score" and task.model_names() == ["base", "tuned"]
    assert {c.n for c in task.comparisons} == {4}
    state = json.loads((tmp_path / "tuned" / "trainer_state.json").read_text())
    assert [row["epoch"] for row in state["log_history"] if "eval_loss" in row] == [1.0, 2.0]
    assert sorted(p.name for p in (tmp_path / "tuned" / "trainer").glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    names = ("perplexity_responses", "perplexity_heldout_text", "overfit", "task_classification", "curves", "sweep", "overlap", "copying",
             "diversity", "overfitting", "verdict")
    assert set(written) == set(names)
    assert [written[k].layer for k in names] == ["perplexity", "perplexity", "overfit", "score", "curves", "sweep", "overlap", "copying",
                                                 "diversity", "overfitting", "verdict"]
    assert {r["check"] for r in written["verdict"].details["headline"]} >= {"general text perplexity", "task: sentiment accuracy"}
    assert written["verdict"].details["demo"]["sizes"]["train"] == 8
    assert (tmp_path / "preds" / "tuned.jsonl").is_file() and (tmp_path / "sweep.png").is_file()
