"""What the judge sees of each sample: the question as the user asked it and, where the data
has one, the reference answer. Taken from the data set (`--data`) when given, else from what
`tunecheck generate` carried into the predictions files (`prompt`, `reference`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunecheck.data import Dataset, Sample
from tunecheck.errors import DataError
from tunecheck.scoring._pairing import PredictionSet


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    reference: str | None = None


def conversation_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """A chat prompt as the judge reads it: a lone user turn as itself, a longer conversation
    with each turn's role ("User:", "Assistant:", "System:") so the judge sees the context."""
    turns = [(str(m.get("role", "user")), str(m.get("content", ""))) for m in messages]
    if len(turns) == 1 and turns[0][0] == "user":
        return turns[0][1]
    return "\n\n".join(f"{role.capitalize()}: {content}" for role, content in turns)


def _reference(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]  # several acceptable answers: the judge is shown the first
    return None


def _from_sample(s: Sample) -> Item:
    if s.messages:
        question = conversation_text([{"role": m.role, "content": m.content} for m in s.messages])
    else:
        question = s.prompt if s.prompt is not None else (s.text or "")
    ref = _reference(s.fields.get("reference")) or _reference(s.fields.get("references")) or _reference(s.fields.get("answers"))
    return Item(s.id, question, ref or (s.response if s.response and s.response.strip() else None))


def items_for(sets: Sequence[PredictionSet], data: Dataset | None) -> dict[str, Item]:
    """One item per sample id of any predictions file. With `data`, its rows (an id the data
    lacks is a DataError: the files were made for another data set); without, what each file
    carries, the baseline's first: the conversation (`messages`) or the user's turn (`question`)
    that `tunecheck generate` writes, else the `prompt` as sent, and `reference`."""
    if data is not None:
        by_id = {s.id: s for s in data.samples}
        out: dict[str, Item] = {}
        for pset in sets:
            for p in pset.rows:
                if p.id not in out:
                    if p.id not in by_id:
                        raise DataError(f"{p.location}: id {p.id!r} is not in --data {data.source}; pass the data set these predictions were made for")
                    out[p.id] = _from_sample(by_id[p.id])
        return out
    out = {}
    for pset in sets:
        for p in pset.rows:
            if p.id in out:
                continue
            row = p.fields or {}
            messages, prompt = row.get("messages"), row.get("prompt")
            if isinstance(messages, list) and messages and all(isinstance(m, Mapping) for m in messages):
                question = conversation_text(messages)  # the conversation as asked (tunecheck generate carries it)
            elif isinstance(row.get("question"), str):
                question = row["question"]
            elif isinstance(prompt, list) and all(isinstance(m, Mapping) for m in prompt):
                question = conversation_text(prompt)
            elif isinstance(prompt, str):
                question = prompt  # what the model was sent: a chat template's special tokens included
            else:
                raise DataError(
                    f"{p.location}: no 'prompt' for sample {p.id!r}, so the question cannot be shown; "
                    "pass --data with the data set the predictions were generated from"
                )
            out[p.id] = Item(p.id, question, _reference(row.get("reference")) or _reference(row.get("references")) or _reference(row.get("answers")))
    return out
