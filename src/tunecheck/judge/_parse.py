"""Reading a judge's rubric answer: scores and justifications, or the reason each is unscored.

Judges wrap their JSON in prose or code fences, leave trailing commas, quote keys with ', write
"4/5" or 4.0. All of that is read; what cannot be read as an integer on the criterion's scale is
*unscored with the reason* (inspect_ai's explicit unscored), never a 0 and never a guess.
Pure: text in, `Parsed` out.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from tunecheck.judge._rubric import Criterion, Rubric

MISSING = "missing"
NOT_INTEGER = "not an integer on the scale"


@dataclass(frozen=True)
class Parsed:
    """What one judge answer gives for each criterion of a rubric (the overall score as "overall")."""

    scores: dict[str, int] = field(default_factory=dict)
    """criterion -> its integer score, on the criterion's scale."""
    justifications: dict[str, str] = field(default_factory=dict)
    """criterion -> the judge's justification ("" if it gave none), for scored and unscored alike."""
    unscored: dict[str, str] = field(default_factory=dict)
    """criterion -> why it has no score; with `error` set, every criterion, with that reason."""
    error: str | None = None
    """Why the whole answer could not be read (no JSON object in it, ...), or None."""

    @property
    def problem(self) -> str | None:
        """What to tell the judge on the retry: the whole-answer error, or each unscored criterion."""
        if self.error is not None:
            return self.error
        if not self.unscored:
            return None
        return "; ".join(f"{k}: {v}" for k, v in self.unscored.items())


_TEMPLATE = re.compile(r'"score"\s*:\s*<integer\b')
"""The score placeholder of `_prompts.answer_schema`, left unfilled."""


def parse_rubric_answer(text: str, rubric: Rubric) -> Parsed:
    """The scores in a judge's answer to `rubric_messages`; see the module docstring."""
    obj, error = _find_object(text, rubric)
    if obj is None:
        reason = error or "no JSON object in the answer"
        if _TEMPLATE.search(text):  # small judges echo the answer shape they were shown
            reason = "the judge copied the answer template (<integer ...> placeholders) instead of scoring"
        return Parsed(unscored={c.name: reason for c in rubric.scored}, error=reason)
    obj = _unwrap(obj, rubric)
    keys = {_norm(k): v for k, v in obj.items() if isinstance(k, str)}
    scores: dict[str, int] = {}
    justs: dict[str, str] = {}
    unscored: dict[str, str] = {}
    for c in rubric.scored:
        if _norm(c.name) not in keys:
            unscored[c.name] = MISSING
            continue
        value = keys[_norm(c.name)]
        raw, just = _score_and_justification(value)
        justs[c.name] = just
        score, why = _to_score(raw, c)
        if score is None:
            unscored[c.name] = why
        else:
            scores[c.name] = score
    return Parsed(scores, justs, unscored)


def _norm(key: str) -> str:
    """Keys match whatever the case and separators: "Accuracy" is accuracy, "Over all" overall."""
    return re.sub(r"[\s_-]+", "", key).lower()


# --- finding the JSON object -------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|javascript|js)?[ \t]*\n(.*?)```", re.DOTALL)


def _find_object(text: str, rubric: Rubric) -> tuple[dict[Any, Any] | None, str | None]:
    """The JSON object that best answers the rubric: the one naming most criteria, the last one
    on ties (a judge that shows an example first and then answers is read by its answer)."""
    spans = [m.group(1) for m in _FENCE.finditer(text)]
    spans += _brace_spans(text)
    best: tuple[int, dict[Any, Any]] | None = None
    first_error: str | None = None
    wanted = {_norm(c.name) for c in rubric.scored}
    for span in spans:
        obj, err = _load(span)
        if obj is None:
            first_error = first_error or err
            continue
        named = len(wanted & {_norm(k) for k in _unwrap(obj, rubric) if isinstance(k, str)})
        if best is None or named >= best[0]:  # ">=": on a tie, the later object
            best = (named, obj)
    if best is None:
        if first_error is not None:
            return None, f"the JSON object in the answer cannot be parsed ({first_error})"
        if "{" in text:
            return None, "the JSON object in the answer is not closed (the answer may be cut off: allow the judge more tokens)"
        return None, None
    return best[1], None


def _brace_spans(text: str) -> list[str]:
    """Every outermost {...} in `text`, braces inside JSON strings not counted. A "{" that is
    never closed (a stray one in prose) is skipped and the scan goes on after it."""
    spans: list[str] = []
    pos, skipped = 0, 0
    while skipped <= 100:  # bounds the work on an answer full of unclosed braces
        start = text.find("{", pos)
        if start < 0:
            break
        end = _closing(text, start)
        if end < 0:
            pos, skipped = start + 1, skipped + 1
            continue
        spans.append(text[start : end + 1])
        pos = end + 1
    return spans


def _closing(text: str, start: int) -> int:
    """The index of the "}" that closes the "{" at `start`, or -1."""
    depth, quote, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_SINGLE_KEY = re.compile(r"([{,]\s*)'([A-Za-z_][\w \-]*)'(\s*:)")


def _load(span: str) -> tuple[dict[Any, Any] | None, str | None]:
    """`span` as a JSON object, after the common repairs, or (None, the first parse error)."""
    span = span.strip()
    try:
        obj = json.loads(span)
    except json.JSONDecodeError as err:
        first = f"line {err.lineno} column {err.colno}: {err.msg}"
    else:
        return (obj, None) if isinstance(obj, dict) else (None, "not a JSON object")
    fixed = _TRAILING_COMMA.sub(r"\1", _SINGLE_KEY.sub(r'\1"\2"\3', span))
    try:
        obj = json.loads(fixed)
    except json.JSONDecodeError:
        obj = _python_literal(fixed)
    return (obj, None) if isinstance(obj, dict) else (None, first)


def _python_literal(span: str) -> Any:
    """A Python-style dict ({'score': 4, 'justification': 'ok'}): single-quoted strings too."""
    if len(span) > 20_000:  # literal_eval's parser is not for arbitrarily long input
        return None
    # as written first, so a "null" inside a justification stays "null" where it can
    py = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", span)))
    for candidate in (span, py):
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def _unwrap(obj: dict[Any, Any], rubric: Rubric) -> dict[Any, Any]:
    """{"scores": {...criteria...}} -> the inner object, when the outer one names no criterion."""
    wanted = {_norm(c.name) for c in rubric.scored}
    if wanted & {_norm(k) for k in obj if isinstance(k, str)}:
        return obj
    inner = [v for v in obj.values() if isinstance(v, dict) and wanted & {_norm(k) for k in v if isinstance(k, str)}]
    return inner[0] if len(inner) == 1 else obj


# --- one criterion's value -----------------------------------------------------------------


def _score_and_justification(value: Any) -> tuple[Any, str]:
    """{"score": 4, "justification": "..."} or a bare score (4, "4", "4/5")."""
    if not isinstance(value, dict):
        return value, ""
    keys = {_norm(k): v for k, v in value.items() if isinstance(k, str)}
    raw = next((keys[k] for k in ("score", "rating", "value") if k in keys), None)
    just = next((keys[k] for k in ("justification", "reason", "reasoning", "explanation", "rationale") if k in keys), "")
    return raw, just if isinstance(just, str) else json.dumps(just)


_NUMBER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:/\s*(\d+)\s*)?$")


def _to_score(raw: Any, c: Criterion) -> tuple[int | None, str]:
    """The integer score, or (None, why it is unscored)."""
    if raw is None:
        return None, "no score given"
    if isinstance(raw, bool):
        return None, f"score {json.dumps(raw)} is not a number"
    out_of: int | None = None
    if isinstance(raw, str):
        m = _NUMBER.match(raw)
        if m is None:
            shown = raw if len(raw) <= 30 else raw[:27] + "..."
            return None, f"score {shown!r} is not a number"
        num: float = float(m.group(1))
        out_of = int(m.group(2)) if m.group(2) else None
    elif isinstance(raw, (int, float)):
        num = raw
    else:
        return None, f"score is {type(raw).__name__}, not a number"
    if isinstance(num, float) and not math.isfinite(num):
        return None, f"score {num} is not a number"
    if out_of is not None and out_of != c.high:
        return None, f"score {raw} is not on the {c.scale} scale"
    if isinstance(num, float) and not num.is_integer():
        return None, NOT_INTEGER
    score = int(num)
    if not c.low <= score <= c.high:
        return None, f"score {score} is outside the {c.scale} scale"
    return score, ""
