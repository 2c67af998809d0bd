"""Turn a sample into the text a model saw in training: the prompt part and the response part.

Completion-only scoring needs the boundary between the two, so every template returns
(prompt_text, response_text) whose concatenation is exactly the training text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tunecheck.data import Message, Sample
from tunecheck.errors import ConfigError, ModelError

# The Stanford Alpaca training prompt, used by most Alpaca-style SFT recipes.
ALPACA_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
ALPACA_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)

TEMPLATES = ("auto", "chat", "alpaca", "concat")
"""auto: chat data -> chat, Alpaca data -> alpaca, prompt/completion -> concat (as TRL does).
Anything else containing "{prompt}" is a custom template for the prompt part."""

ChatRenderer = Callable[[Sequence[Message], bool], str]
"""(messages, add_generation_prompt) -> text; the tokenizer's chat template."""


def tokenizer_chat_renderer(tokenizer: Any) -> ChatRenderer | None:
    """A Hugging Face tokenizer's chat template as a ChatRenderer; None if it has none."""
    if not getattr(tokenizer, "chat_template", None):
        return None

    def render(messages: Sequence[Message], add_generation_prompt: bool) -> str:
        conv = [{"role": m.role, "content": m.content} for m in messages]
        return str(tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=add_generation_prompt))

    return render


def check_template(template: str) -> str:
    if template in TEMPLATES or "{prompt}" in template:
        return template
    raise ConfigError(
        f"--template {template!r}: use one of {', '.join(TEMPLATES)}, "
        "or a format string containing {prompt}, e.g. '### Question: {prompt}\\n### Answer: '"
    )


def format_prompt(sample: Sample, template: str, chat: ChatRenderer | None, *, system: str | None = None) -> str:
    """The prompt text a model sees before its response: what generation continues from.
    `system` adds a system turn to chat prompts that have none."""
    if sample.prompt is None:
        if sample.text is not None:  # plain text: the model continues it
            return sample.text
        raise ConfigError(f"sample {sample.id}: has no prompt")
    kind = prompt_kind(sample, template)
    if kind == "chat":
        return _require_chat(chat)(_history(sample, system), True)
    if kind == "alpaca":
        instruction = sample.instruction if sample.instruction is not None else sample.prompt
        if sample.input:
            return ALPACA_WITH_INPUT.format(instruction=instruction, input=sample.input)
        return ALPACA_NO_INPUT.format(instruction=instruction)
    if kind == "concat":
        return sample.prompt
    return template.replace("{prompt}", sample.prompt)


def format_pair(sample: Sample, template: str, chat: ChatRenderer | None) -> tuple[str, str]:
    """(prompt_text, response_text) for an instruction-shaped sample."""
    if sample.prompt is None:
        raise ConfigError(f"sample {sample.id}: completion-only scoring needs prompt/response data, not plain text")
    if sample.response is None:
        where = f" ({sample.location})" if sample.location else ""
        raise ConfigError(
            f"sample {sample.id}{where}: has no response (a prompt-only row); scoring needs the reference response"
        )
    if prompt_kind(sample, template) == "chat":
        render = _require_chat(chat)
        history = _history(sample, None)
        prompt = render(history, True)
        full = render((*history, Message("assistant", sample.response)), False)
        if not full.startswith(prompt):
            # Some templates render the last turn differently; fall back to the shared prefix.
            cut = _common_prefix(prompt, full)
            return full[:cut], full[cut:]
        return prompt, full[len(prompt) :]
    return format_prompt(sample, template, chat), sample.response


def prompt_kind(sample: Sample, template: str) -> str:
    """Which template a sample gets: chat, alpaca, concat, or the custom format string."""
    if template == "auto":
        return {"chat": "chat", "alpaca": "alpaca"}.get(sample.shape, "concat")
    return template


def _require_chat(chat: ChatRenderer | None) -> ChatRenderer:
    if chat is None:
        raise ModelError("the tokenizer has no chat template; pass --template alpaca, concat or a format string")
    return chat


def _history(sample: Sample, system: str | None) -> tuple[Message, ...]:
    history = sample.messages or (Message("user", sample.prompt or ""),)
    if system and not any(m.role == "system" for m in history):
        history = (Message("system", system), *history)
    return history


def format_text(sample: Sample, template: str, chat: ChatRenderer | None) -> str:
    """The whole training text of a sample (for full-sequence perplexity)."""
    if sample.text is not None:
        return sample.text
    prompt, response = format_pair(sample, template, chat)
    return prompt + response


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
