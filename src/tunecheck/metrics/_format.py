"""Format compliance: verifiable instructions in the spirit of IFEval (Zhou et al., 2023).

Rules are a small mapping, declared per sample or per set, e.g.
    {"json": true, "max_words": 50, "required_keywords": ["refund"], "bullet_points": 3}
Each rule is checked on its own; a sample passes when every rule does. Unknown rule names and
ill-typed values are configuration errors, raised before any output is scored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from tunecheck.errors import ConfigError

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s+|$)")


def _words(text: str) -> int:
    return len(text.split())


def _sentences(text: str) -> int:
    return len([s for s in _SENTENCE_END.split(text.strip()) if s.strip()])


def _paragraphs(text: str) -> int:
    return len([p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()])


def _json_value(text: str) -> Any:
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.DOTALL)  # a fenced block is still JSON
    return json.loads(fenced.group(1) if fenced else body)


def _is_json(text: str, want: bool) -> bool:
    try:
        _json_value(text)
        ok = True
    except ValueError:
        ok = False
    return ok == want


def _schema(text: str, schema: Mapping[str, Any]) -> bool:
    import jsonschema

    try:
        jsonschema.validate(_json_value(text), schema)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


def _keywords(text: str, words: list[str], present: bool) -> bool:
    low = text.lower()
    return all((w.lower() in low) == present for w in words)


_RULES: dict[str, tuple[type | tuple[type, ...], Callable[[str, Any], bool]]] = {
    "json": (bool, _is_json),
    "json_schema": (dict, _schema),
    "regex": (str, lambda t, v: re.search(v, t) is not None),
    "bullet_points": (int, lambda t, v: len(_BULLET.findall(t)) == v),
    "min_words": (int, lambda t, v: _words(t) >= v),
    "max_words": (int, lambda t, v: _words(t) <= v),
    "min_sentences": (int, lambda t, v: _sentences(t) >= v),
    "max_sentences": (int, lambda t, v: _sentences(t) <= v),
    "max_paragraphs": (int, lambda t, v: _paragraphs(t) <= v),
    "required_keywords": (list, lambda t, v: _keywords(t, v, True)),
    "forbidden_keywords": (list, lambda t, v: _keywords(t, v, False)),
    "starts_with": (str, lambda t, v: t.strip().startswith(v)),
    "ends_with": (str, lambda t, v: t.strip().endswith(v)),
}
FORMAT_RULES = tuple(_RULES)


def validate_rules(rules: Mapping[str, Any], where: str = "format rules") -> None:
    for name, value in rules.items():
        if name not in _RULES:
            raise ConfigError(f"{where}: unknown rule {name!r}; rules are {', '.join(FORMAT_RULES)}")
        kind = _RULES[name][0]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: rule {name!r} needs a {getattr(kind, '__name__', kind)}, got {value!r}")
        if name == "regex":
            try:
                re.compile(str(value))
            except re.error as err:
                raise ConfigError(f"{where}: rule 'regex' is not a valid regular expression ({err})") from None


def check_format(output: str, rules: Mapping[str, Any]) -> dict[str, bool]:
    """Each rule's pass/fail for one output."""
    validate_rules(rules)
    return {name: bool(_RULES[name][1](output, value)) for name, value in rules.items()}


def format_pass(output: str, rules: Mapping[str, Any]) -> float:
    """1.0 if the output passes every rule (the per-sample value behind format_pass_rate)."""
    return float(all(check_format(output, rules).values()))
