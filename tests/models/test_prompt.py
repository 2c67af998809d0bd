"""Templates: the (prompt, response) split a model saw in training, and the full text.

The invariant everywhere: prompt_text + response_text == format_text(...), the training text.
The chat renderer is a fake ChatML-like function, so no tokenizer is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tunecheck.data import Message, Sample, load_data
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models import (
    ChatRenderer,
    check_template,
    format_pair,
    format_prompt,
    format_text,
)
from tunecheck.models._prompt import ALPACA_NO_INPUT, ALPACA_WITH_INPUT, TEMPLATES


def chatml(messages: Sequence[Message], add_generation_prompt: bool) -> str:
    out = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return out + ("<|im_start|>assistant\n" if add_generation_prompt else "")


PAIR = Sample("p1", "prompt_completion", prompt="What is 2+2?", response=" 4")
ALPACA_IN = Sample(
    "a1", "alpaca", prompt="Translate.\n\ncat", response="chat", instruction="Translate.", input="cat"
)
ALPACA_NO_IN = Sample("a2", "alpaca", prompt="Say hi.", response="hi", instruction="Say hi.", input="")
CHAT = Sample(
    "c1",
    "chat",
    prompt="How are you?",
    response="Fine.",
    messages=(Message("system", "Be brief."), Message("user", "How are you?")),
)
TEXT = Sample("t1", "text", text="just some text")


def pair_and_full(
    sample: Sample, template: str, chat: ChatRenderer | None = chatml
) -> tuple[str, str]:
    prompt, response = format_pair(sample, template, chat)
    assert prompt + response == format_text(sample, template, chat)
    return prompt, response


# ---------------------------------------------------------------------------- auto


def test_auto_prompt_completion_is_concat() -> None:
    # As TRL does for prompt/completion data: plain concatenation, no separator added.
    assert pair_and_full(PAIR, "auto") == ("What is 2+2?", " 4")
    assert format_text(PAIR, "auto", None) == "What is 2+2? 4"


def test_auto_alpaca_with_input() -> None:
    prompt, response = pair_and_full(ALPACA_IN, "auto")
    assert prompt == ALPACA_WITH_INPUT.format(instruction="Translate.", input="cat")
    assert prompt.endswith("### Instruction:\nTranslate.\n\n### Input:\ncat\n\n### Response:\n")
    assert response == "chat"


def test_auto_alpaca_without_input() -> None:
    prompt, response = pair_and_full(ALPACA_NO_IN, "auto")
    assert prompt == ALPACA_NO_INPUT.format(instruction="Say hi.")
    assert "### Input:" not in prompt
    assert prompt.endswith("### Instruction:\nSay hi.\n\n### Response:\n")
    assert response == "hi"


def test_auto_chat_uses_the_renderer() -> None:
    prompt, response = pair_and_full(CHAT, "auto")
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHow are you?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # The response part includes the template's end-of-turn marker.
    assert response == "Fine.<|im_end|>\n"


# ---------------------------------------------------------------------------- explicit templates


def test_concat() -> None:
    assert pair_and_full(PAIR, "concat") == ("What is 2+2?", " 4")
    # On Alpaca data, concat joins the combined prompt (instruction + "\n\n" + input).
    assert pair_and_full(ALPACA_IN, "concat") == ("Translate.\n\ncat", "chat")


def test_alpaca_on_prompt_completion_uses_prompt_as_instruction() -> None:
    prompt, response = pair_and_full(PAIR, "alpaca")
    assert prompt == ALPACA_NO_INPUT.format(instruction="What is 2+2?")
    assert response == " 4"


def test_custom_template() -> None:
    template = "### Question: {prompt}\n### Answer:"
    assert pair_and_full(PAIR, template) == ("### Question: What is 2+2?\n### Answer:", " 4")


def test_custom_template_keeps_other_braces() -> None:
    # Only {prompt} is substituted; other braces are literal (no str.format KeyError).
    template = '{"q": "{prompt}", "n": {0}} -> '
    prompt, _ = pair_and_full(PAIR, template)
    assert prompt == '{"q": "What is 2+2?", "n": {0}} -> '


def test_custom_template_on_alpaca_uses_combined_prompt() -> None:
    prompt, response = pair_and_full(ALPACA_IN, "Q: {prompt}\nA: ")
    assert (prompt, response) == ("Q: Translate.\n\ncat\nA: ", "chat")


def test_chat_on_prompt_completion_wraps_the_prompt_as_a_user_turn() -> None:
    prompt, response = pair_and_full(PAIR, "chat")
    assert prompt == "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    assert response == " 4<|im_end|>\n"


def test_chat_renderer_receives_history_then_full_conversation() -> None:
    calls: list[tuple[tuple[Message, ...], bool]] = []

    def recording(messages: Sequence[Message], gen: bool) -> str:
        calls.append((tuple(messages), gen))
        return chatml(messages, gen)

    format_pair(CHAT, "chat", recording)
    history = CHAT.messages
    assert history is not None
    assert calls == [
        (history, True),
        ((*history, Message("assistant", "Fine.")), False),
    ]


def test_chat_prompt_not_a_prefix_falls_back_to_the_shared_prefix() -> None:
    # A template whose generation prompt opens a <think> block the rendered answer lacks.
    def thinking(messages: Sequence[Message], gen: bool) -> str:
        out = "".join(f"<{m.role}>{m.content}</{m.role}>" for m in messages)
        return out + ("<assistant><think>" if gen else "")

    prompt, response = format_pair(CHAT, "chat", thinking)
    full = "<system>Be brief.</system><user>How are you?</user><assistant>Fine.</assistant>"
    # Shared prefix of "...<assistant><think>" and "...<assistant>Fine...": up to "<assistant>".
    assert prompt == "<system>Be brief.</system><user>How are you?</user><assistant>"
    assert response == "Fine.</assistant>"
    assert prompt + response == full == format_text(CHAT, "chat", thinking)


# ---------------------------------------------------------------------------- from loaded data


def test_loaded_alpaca_row_formats_to_the_training_text(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"instruction": "Add.", "input": "1 2", "output": "3"}\n'
        '{"instruction": "Greet.", "output": "hello"}\n',
        encoding="utf-8",
    )
    with_input, without_input = load_data(path)
    assert format_text(with_input, "auto", None) == (
        ALPACA_WITH_INPUT.format(instruction="Add.", input="1 2") + "3"
    )
    assert format_text(without_input, "auto", None) == ALPACA_NO_INPUT.format(instruction="Greet.") + "hello"


# ---------------------------------------------------------------------------- text and errors


def test_format_text_of_plain_text_ignores_the_template() -> None:
    for template in (*TEMPLATES, "X {prompt} Y"):
        assert format_text(TEXT, template, None) == "just some text"


def test_format_pair_of_plain_text_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sample t1: completion-only scoring needs prompt/response"):
        format_pair(TEXT, "auto", chatml)


def test_format_pair_of_a_prompt_only_row_names_it() -> None:
    row = Sample("p1", "prompt_completion", prompt="q", location="line 4")
    with pytest.raises(ConfigError, match=r"sample p1 \(line 4\): has no response"):
        format_pair(row, "auto", chatml)
    assert format_prompt(row, "auto", chatml) == "q"
    assert format_prompt(row, "chat", chatml, system="s").startswith("<|im_start|>system\ns<|im_end|>")


@pytest.mark.parametrize("sample", [CHAT, PAIR])
def test_chat_without_chat_template_is_a_model_error(sample: Sample) -> None:
    with pytest.raises(ModelError, match="the tokenizer has no chat template"):
        format_pair(sample, "chat", None)
    with pytest.raises(ModelError, match="--template alpaca, concat or a format string"):
        format_text(sample, "chat", None)


def test_auto_on_chat_data_without_chat_template_is_a_model_error() -> None:
    with pytest.raises(ModelError):
        format_pair(CHAT, "auto", None)


def test_non_chat_templates_do_not_need_a_renderer() -> None:
    for template in ("auto", "alpaca", "concat", "{prompt}"):
        format_pair(PAIR, template, None)


@pytest.mark.parametrize("template", [*TEMPLATES, "{prompt}", "Q: {prompt}\nA:"])
def test_check_template_accepts(template: str) -> None:
    assert check_template(template) == template


@pytest.mark.parametrize("template", ["bogus", "", "Chat", "{Prompt}", "{ prompt }"])
def test_check_template_rejects(template: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_template(template)
    msg = str(info.value)
    assert msg.startswith(f"--template {template!r}: use one of auto, chat, alpaca, concat")
    assert "{prompt}" in msg
