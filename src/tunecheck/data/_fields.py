"""Field mapping: which column holds what, with defaults for the common shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunecheck.data._sample import Message, Sample, Shape


class RowError(Exception):
    """A problem with one row; the loader adds the file and line before raising DataError."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldMap:
    """Column names, as given by --text-field, --prompt-field, ... (None: detect)."""

    text: str | None = None
    prompt: str | None = None
    response: str | None = None
    messages: str | None = None
    input: str | None = None
    id: str | None = None

    def is_default(self) -> bool:
        return all(v is None for v in (self.text, self.prompt, self.response, self.messages, self.input))


# Defaults, in detection order: the first shape whose fields are all in the first row wins.
_DEFAULT_SHAPES: tuple[tuple[Shape, dict[str, str]], ...] = (
    ("chat", {"messages": "messages"}),
    ("prompt_completion", {"prompt": "prompt", "response": "completion"}),
    ("alpaca", {"prompt": "instruction", "response": "output", "input": "input"}),
    ("text", {"text": "text"}),
)

_FLAG = {
    "text": "--text-field",
    "prompt": "--prompt-field",
    "response": "--response-field",
    "messages": "--messages-field",
    "input": "--input-field",
    "id": "--id-field",
}


@dataclass(frozen=True)
class Resolved:
    """A field map with the shape decided and every name filled in."""

    shape: Shape
    names: dict[str, str]
    id_field: str | None

    def flag(self, role: str) -> str:
        return _FLAG[role]


def resolve(fields: FieldMap, first_row: Mapping[str, Any]) -> Resolved:
    """Decide the shape from the user's flags, else from the first row's keys."""
    id_field = fields.id if fields.id is not None else ("id" if "id" in first_row else None)
    if not fields.is_default():
        if fields.messages:
            return Resolved("chat", {"messages": fields.messages}, id_field)
        if fields.text and not (fields.prompt or fields.response):
            return Resolved("text", {"text": fields.text}, id_field)
        names = {"prompt": fields.prompt, "response": fields.response}
        # Fill the other half of a pair from the defaults the row actually has.
        for shape, default in _DEFAULT_SHAPES[1:3]:
            if all(default[k] in first_row for k in names if names[k] is None):
                out = {k: v if v is not None else default[k] for k, v in names.items()}
                if shape == "alpaca" or fields.input:
                    out["input"] = fields.input or "input"
                    return Resolved("alpaca", out, id_field)
                return Resolved("prompt_completion", out, id_field)
        missing = [_FLAG[k] for k, v in names.items() if v is None]
        raise RowError(f"name the other field too ({' and '.join(missing)})")
    for shape, default in _DEFAULT_SHAPES:
        # the response is optional: prompt-only data is what `generate` runs on
        required = [v for k, v in default.items() if k not in ("input", "response")]
        if all(name in first_row for name in required):
            present = {k: v for k, v in default.items() if k != "response" or v in first_row}
            return Resolved(shape, present, id_field)
    keys = ", ".join(sorted(map(str, first_row))) or "none"
    raise RowError(
        f"cannot tell the data's shape from its fields ({keys}); expected `text`, "
        "`prompt`/`completion`, `instruction`/`output` or `messages` "
        "(or name yours with --text-field, --prompt-field/--response-field or --messages-field)"
    )


def _string(row: Mapping[str, Any], name: str, role: str, *, optional: bool = False) -> str:
    if name not in row or row[name] is None:
        if optional:
            return ""
        raise RowError(f'field "{name}" is missing (use {_FLAG[role]} to name another field)', name)
    value = row[name]
    if not isinstance(value, str):
        raise RowError(
            f'field "{name}" is {type(value).__name__} {_short(value)}, expected a string', name
        )
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message_list(row: Mapping[str, Any], name: str, flag: str = "--messages-field") -> tuple[Message, ...]:
    if name not in row or row[name] is None:
        raise RowError(f'field "{name}" is missing (use {flag} to name another field)', name)
    raw = row[name]
    if not isinstance(raw, list) or not raw:
        raise RowError(f'field "{name}" must be a non-empty list of {{"role", "content"}} objects', name)
    msgs: list[Message] = []
    for i, m in enumerate(raw):
        if not isinstance(m, Mapping) or not isinstance(m.get("role"), str) or not isinstance(
            m.get("content"), str
        ):
            raise RowError(
                f'field "{name}" message {i}: expected {{"role": str, "content": str}}, got {_short(m)}',
                name,
            )
        msgs.append(Message(m["role"], m["content"]))
    return tuple(msgs)


def _messages(row: Mapping[str, Any], name: str) -> tuple[tuple[Message, ...], str | None]:
    msgs = _message_list(row, name)
    if msgs[-1].role != "assistant":  # a conversation awaiting its answer: generation input
        return tuple(msgs), None
    return tuple(msgs[:-1]), msgs[-1].content


def to_sample(row: Mapping[str, Any], index: int, spec: Resolved) -> Sample:
    """Normalise one row, raising RowError that names the field at fault."""
    if not isinstance(row, Mapping):
        raise RowError(f"expected a JSON object, got {type(row).__name__} {_short(row)}")
    sid = str(index)
    if spec.id_field is not None:
        if spec.id_field not in row or row[spec.id_field] is None:
            raise RowError(f'field "{spec.id_field}" is missing (use --id-field to name another field)', spec.id_field)
        raw_id = row[spec.id_field]
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            raise RowError(f'field "{spec.id_field}" must be a string or integer, got {_short(raw_id)}', spec.id_field)
        sid = str(raw_id)
    n = spec.names
    if spec.shape == "text":
        return Sample(sid, "text", text=_string(row, n["text"], "text"), fields=row)
    if spec.shape == "chat":
        history, response = _messages(row, n["messages"])
        prompt = next((m.content for m in reversed(history) if m.role == "user"), "")
        return Sample(sid, "chat", prompt=prompt, response=response, messages=history, fields=row)
    if spec.shape == "prompt_completion" and isinstance(row.get(n["prompt"]), list):
        return _conversational(row, sid, n)
    prompt = _string(row, n["prompt"], "prompt")
    response = _string(row, n["response"], "response") if "response" in n else None
    if spec.shape == "alpaca":
        extra = _string(row, n["input"], "input", optional=True)
        full = f"{prompt}\n\n{extra}" if extra else prompt
        return Sample(sid, "alpaca", prompt=full, response=response, instruction=prompt, input=extra, fields=row)
    return Sample(sid, "prompt_completion", prompt=prompt, response=response, fields=row)


def _conversational(row: Mapping[str, Any], sid: str, n: Mapping[str, str]) -> Sample:
    """TRL's conversational prompt-completion row (`prompt` and `completion` are lists of
    messages): the same conversation as a `messages` row, so it is scored and generated as chat."""
    history = _message_list(row, n["prompt"], "--prompt-field")
    response = None
    if "response" in n and row.get(n["response"]) is not None:
        completion = _message_list(row, n["response"], "--response-field")
        if len(completion) != 1 or completion[0].role != "assistant":
            roles = [m.role for m in completion]
            raise RowError(
                f'field "{n["response"]}": a conversational completion must be one assistant message, got roles {roles}',
                n["response"],
            )
        response = completion[0].content
    prompt = next((m.content for m in reversed(history) if m.role == "user"), "")
    return Sample(sid, "chat", prompt=prompt, response=response, messages=history, fields=row)
