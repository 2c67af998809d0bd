"""Which tokens completion-only scoring covers, per data shape (the TRL recipe, tiny models).

Expected token ids come from the tokenizer itself: the scored part must be exactly the
response's tokens, then the template's end-of-turn for chat rows (and no EOS after it), or an
EOS for Alpaca and prompt/completion rows.
"""

import json

import pytest
from typer.testing import CliRunner

from tests.schema import assert_valid_result
from tunecheck.cli import app
from tunecheck.data import Dataset, Message, Sample
from tunecheck.errors import ConfigError
from tunecheck.models import HFModel
from tunecheck.perplexity import PerplexityConfig, build_requests, score_model

CHAT = Sample("c", "chat", prompt="hi", response="the red fox", messages=(Message("user", "hi"),))
ALPACA = Sample("a", "alpaca", prompt="name an animal", response="the red fox", instruction="name an animal", input="")
PAIR = Sample("p", "prompt_completion", prompt="the old", response=" owl walks")


def _scored_ids(model: HFModel, sample: Sample, **kw) -> list[int]:
    ds = Dataset((sample,), "mem", sample.shape, "h")
    [req], _ = build_requests(ds, model, PerplexityConfig(completion_only=True, n_resamples=100, **kw))
    [scores] = model.loglikelihood([req])
    return scores.token_ids.tolist()


@pytest.fixture
def model(tiny_model, tokenizer):
    return HFModel(tiny_model, tokenizer, "tiny", "cpu")


def _ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_chat_response_is_the_rendered_turn_without_a_second_eos(model, tokenizer):
    # "the red fox<|im_end|>\n" as the template renders it; before the fix an EOS followed
    got = _scored_ids(model, CHAT)
    assert got == _ids(tokenizer, "the red fox<|im_end|>\n")
    assert got[-1] != tokenizer.eos_token_id


def test_alpaca_and_prompt_completion_responses_end_with_eos(model, tokenizer):
    assert _scored_ids(model, ALPACA) == [*_ids(tokenizer, "the red fox"), tokenizer.eos_token_id]
    assert _scored_ids(model, PAIR) == [*_ids(tokenizer, " owl walks"), tokenizer.eos_token_id]


def test_eos_yes_and_no_override_the_recipe(model, tokenizer):
    assert _scored_ids(model, CHAT, eos="yes") == [*_ids(tokenizer, "the red fox<|im_end|>\n"), tokenizer.eos_token_id]
    assert _scored_ids(model, ALPACA, eos="no") == _ids(tokenizer, "the red fox")


def test_a_response_that_already_ends_with_eos_gets_no_second_one(model, tokenizer):
    # TRL appends eos_token only to completions that do not end with it
    sample = Sample("p", "prompt_completion", prompt="the old", response=" owl walks</s>")
    assert _scored_ids(model, sample) == [*_ids(tokenizer, " owl walks"), tokenizer.eos_token_id]


def test_plain_text_prompts_get_no_bos_the_tokenizer_does_not_add(model, tokenizer):
    # the test tokenizer adds no BOS itself (like SmolLM2's): training saw "the old owl ..." from
    # its first token, so the prompt is not preceded by <s>; plain text still is (lm-eval)
    assert tokenizer("the old")["input_ids"][0] != tokenizer.bos_token_id
    ds = Dataset((PAIR,), "mem", PAIR.shape, "h")
    [req], _ = build_requests(ds, model, PerplexityConfig(completion_only=True))
    view = model.token_view(req)
    assert "".join(t for t, _ in view) == "the old owl walks</s>"
    text = Dataset((Sample("t", "text", text="the old owl"),), "mem", "text", "h")
    [req], _ = build_requests(text, model, PerplexityConfig())
    assert model.token_view(req)[0] == ("<s>", False) and not req.add_eos


def test_eos_choice_is_validated():
    with pytest.raises(ConfigError, match="--eos 'maybe': use one of auto, yes, no"):
        PerplexityConfig(eos="maybe")
    with pytest.raises(ConfigError, match="--windows 'sliding': use one of lm-eval, fixed"):
        PerplexityConfig(windows="sliding")


def test_show_tokens_describes_the_first_sample(model, tokenizer):
    shown = []
    ds = Dataset((ALPACA, PAIR), "mem", "alpaca", "h")
    score_model(model, ds, PerplexityConfig(completion_only=True, n_resamples=100), show_tokens=shown.append)
    [text] = shown
    head, body = text.split("\n")
    n = len(_ids(tokenizer, "the red fox")) + 1
    assert head.startswith(f"tokens of sample 'a' for tiny: {n} of ") and "an EOS token appended" in head
    # the prompt unmarked (its newlines shown as \n), the response and EOS in brackets
    assert body.endswith(":|\\n|" + "|".join(f"[{t}]" for t in (tokenizer.decode([i]) for i in _ids(tokenizer, "the red fox"))) + "|[</s>]")


def test_cli_show_tokens_goes_to_stderr(model_dirs, tmp_path):
    data = tmp_path / "chat.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "the fox"}]}) + "\n")
    for command in (["perplexity", "--data", str(data)], ["overfit", "--train", str(data), "--eval", str(tmp_path / "e.jsonl")]):
        (tmp_path / "e.jsonl").write_text(data.read_text().replace("fox", "owl"))
        result = CliRunner().invoke(app, [*command, "--model", str(model_dirs["base"]), "--completion-only",
                                          "--show-tokens", "--format", "json", "--n-resamples", "100"])
        assert result.exit_code == 0, result.output
        assert_valid_result(json.loads(result.stdout))  # stdout stays one JSON document, a valid result
        assert "tokens of sample '0' for" in result.stderr and "no EOS token appended" in result.stderr


def test_full_sequence_of_instruction_data_is_the_training_text(model, tokenizer):
    # without --completion-only, an Alpaca row is scored as TRL's language-modelling loss on
    # the formatted text: prompt + response + EOS, no BOS the tokenizer does not add; the first
    # token has nothing before it and is not scored, as in training
    ds = Dataset((ALPACA,), "mem", "alpaca", "h")
    [req], [text] = build_requests(ds, model, PerplexityConfig())
    assert req.context == "" and req.continuation == text and text.endswith("### Response:\nthe red fox")
    [scores] = model.loglikelihood([req])
    assert scores.token_ids.tolist() == [*_ids(tokenizer, text)[1:], tokenizer.eos_token_id]
