"""Where in a judge's answer each criterion's score is written: character offsets, for the
G-Eval weighted score (`_geval`), which reads the judge's token probabilities at that place.

The answer is read as `parse_rubric_answer` reads it (JSON in prose or code fences, any key
order, "score": 4 or "score": "4" or "4/5", a {"scores": {...}} wrapper, trailing commas,
single quotes), by a small JSON reader that keeps positions. The object chosen is the one
naming most criteria, the later one on ties, as `_parse` chooses. Pure: text in, offsets out.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass

from tunecheck.judge._parse import MISSING, _norm
from tunecheck.judge._rubric import Rubric


@dataclass(frozen=True)
class ScoreSpan:
    """The digits of one criterion's score: `text[start:end]`."""

    start: int
    end: int


@dataclass
class _Node:
    start: int
    """Where the value starts (for a quoted text: its first character inside the quotes)."""
    end: int
    members: list[tuple[str, _Node]] | None = None
    """An object's keys and values in order; None for anything else."""
    raw: str | None = None
    """A scalar's text (a quoted text without its quotes); None for objects and lists."""


class _Bad(Exception):
    """The text at this place is not an object this reader takes."""


_WS = re.compile(r"\s*")
_BARE = re.compile(r"[^\s,:{}\[\]\"']+")
_KEY = re.compile(r"[A-Za-z_][\w-]*")


def _value(text: str, i: int, depth: int) -> tuple[_Node, int]:
    if depth > 20 or i >= len(text):
        raise _Bad
    ch = text[i]
    if ch == "{":
        return _object(text, i, depth)
    if ch == "[":
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        start = i - 1
        while i < len(text) and text[i] != "]":
            _, i = _value(text, i, depth + 1)
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            if i < len(text) and text[i] == ",":
                i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
            elif i < len(text) and text[i] != "]":
                raise _Bad
        if i >= len(text):
            raise _Bad
        return _Node(start, i + 1), i + 1
    if ch in "\"'":
        return _string(text, i)
    m = _BARE.match(text, i)
    if m is None:
        raise _Bad
    return _Node(i, m.end(), raw=m.group()), m.end()


def _string(text: str, i: int) -> tuple[_Node, int]:
    quote, j = text[i], i + 1
    while j < len(text) and text[j] != quote:
        j += 2 if text[j] == "\\" else 1
    if j >= len(text):
        raise _Bad
    inner = text[i + 1 : j]
    if quote == '"':
        with contextlib.suppress(json.JSONDecodeError):  # a bad escape: the text as written
            inner = json.loads(text[i : j + 1])
    return _Node(i + 1, j, raw=inner), j + 1


def _object(text: str, i: int, depth: int) -> tuple[_Node, int]:
    start, members = i, []
    i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
    while i < len(text) and text[i] != "}":
        if text[i] in "\"'":
            key_node, i = _string(text, i)
            key = key_node.raw or ""
        else:
            m = _KEY.match(text, i)
            if m is None:
                raise _Bad
            key, i = m.group(), m.end()
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if i >= len(text) or text[i] != ":":
            raise _Bad
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        node, i = _value(text, i, depth + 1)
        members.append((key, node))
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if i < len(text) and text[i] == ",":
            i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        elif i < len(text) and text[i] != "}":
            raise _Bad
    if i >= len(text):
        raise _Bad
    return _Node(start, i + 1, members=members), i + 1


def _objects(text: str) -> list[_Node]:
    """Every outermost object in `text`; a "{" that starts none is skipped."""
    found: list[_Node] = []
    pos = tries = 0
    while tries < 200:
        start = text.find("{", pos)
        if start < 0:
            break
        tries += 1
        try:
            node, end = _object(text, start, 0)
        except _Bad:
            pos = start + 1
            continue
        found.append(node)
        pos = end
    return found


def _named(node: _Node, wanted: set[str]) -> int:
    return len(wanted & {_norm(k) for k, _ in node.members or []})


def _unwrap(node: _Node, wanted: set[str]) -> _Node:
    """{"scores": {...criteria...}} -> the inner object, when the outer one names no criterion."""
    if _named(node, wanted):
        return node
    inner = [v for _, v in node.members or [] if v.members is not None and _named(v, wanted)]
    return inner[0] if len(inner) == 1 else node


def _member(node: _Node, names: tuple[str, ...]) -> _Node | None:
    """The value under the first of `names` the object has (the last such key, as JSON reads)."""
    for name in names:
        hits = [v for k, v in node.members or [] if _norm(k) == name]
        if hits:
            return hits[-1]
    return None


_INTEGER = re.compile(r"^\s*(\d+)\s*(?:/\s*\d+\s*)?$")
_NUMBER = re.compile(r"^\s*[+-]?\d+(?:\.\d+)?\s*(?:/\s*\d+\s*)?$")


def score_spans(text: str, rubric: Rubric) -> dict[str, ScoreSpan | str]:
    """Each scored criterion's score digits in `text`, or why there are none."""
    wanted = {_norm(c.name) for c in rubric.scored}
    best: tuple[int, _Node] | None = None
    for node in _objects(text):
        named = _named(_unwrap(node, wanted), wanted)
        if best is None or named >= best[0]:
            best = (named, node)
    if best is None:
        return {c.name: "no JSON object in the answer" for c in rubric.scored}
    obj = _unwrap(best[1], wanted)
    out: dict[str, ScoreSpan | str] = {}
    for c in rubric.scored:
        value = _member(obj, (_norm(c.name),))
        if value is None:
            out[c.name] = MISSING
            continue
        if value.members is not None:
            value = _member(value, ("score", "rating", "value"))
        if value is None or value.raw is None:
            out[c.name] = "no score given"
            continue
        m = _INTEGER.match(value.raw)
        if m is not None:
            out[c.name] = ScoreSpan(value.start + m.start(1), value.start + m.end(1))
        elif _NUMBER.match(value.raw):
            out[c.name] = f"score {value.raw.strip()} is not written as a whole number (no weighted score)"
        else:
            shown = value.raw if len(value.raw) <= 30 else value.raw[:27] + "..."
            out[c.name] = f"score {shown!r} is not a number"
    return out
