"""Rubrics for LLM-as-judge grading: criteria on integer scales, built in or read from YAML/JSON.

A rubric file (YAML or JSON; YAML is read with `yaml.safe_load`):

    name: support-answers            # optional, defaults to the file's stem
    instructions: Grade ...          # optional, told to the judge before the criteria
    reference_guided: false          # optional: the judge also sees the sample's reference
    criteria:                        # required, at least one
      - name: accuracy               # letters, digits, "_" or "-"; unique; not "overall"
        description: Is it true? 5 = ..., 3 = ..., 1 = ...
        low: 1                       # integers, low < high
        high: 5
    overall:                         # optional: one overall score besides the criteria
      description: ...
      low: 1
      high: 10
    variants:                        # optional: rewordings, for --rubric-variants
      - instructions: Assess ...     # optional: replaces the instructions
        criteria:                    # optional: criterion (or "overall") -> new description
          accuracy: Are the claims correct? 5 = ..., 1 = ...

A variant rewords the rubric and nothing else: the same criteria, scales and reference use, only
the instructions and/or descriptions change (rubric sensitivity: do the scores move when the
words do?). `rubric_variants(rubric, k)` gives the rubric and its first k-1 rewordings.

Anchors (what the low, middle and high scores mean) belong in the description: judges score
more consistently with them (G-Eval, Liu et al. 2023; Prometheus, Kim et al. 2024).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tunecheck._files import read_text
from tunecheck.errors import ConfigError, DataError

OVERALL = "overall"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_TOP_KEYS = ("name", "instructions", "reference_guided", "criteria", "overall", "variants")
_VARIANT_KEYS = ("instructions", "criteria")
_CRITERION_KEYS = ("name", "description", "low", "high")
_OVERALL_KEYS = ("description", "low", "high")


@dataclass(frozen=True)
class Criterion:
    """One thing the judge scores, as an integer from `low` to `high` (both included)."""

    name: str
    """The key the judge answers under (JSON), and the metric's name in the results."""
    description: str
    """What the criterion asks and what the low, middle and high scores mean (anchors)."""
    low: int
    high: int

    @property
    def scale(self) -> str:
        """The scale as written in prompts and messages: "1-5"."""
        return f"{self.low}-{self.high}"


@dataclass(frozen=True)
class RubricVariant:
    """A rewording of a rubric: new words for the same criteria on the same scales."""

    instructions: str | None = None
    """Replaces the rubric's instructions; None keeps them."""
    descriptions: tuple[tuple[str, str], ...] = ()
    """(criterion name, new description) pairs, "overall" included; a criterion not named keeps
    its description."""


@dataclass(frozen=True)
class Rubric:
    """What a judge grades an answer on."""

    name: str
    criteria: tuple[Criterion, ...]
    overall: Criterion | None
    """An overall score besides the criteria (named "overall"), or None."""
    reference_guided: bool
    """The judge also sees the sample's reference answer (for tasks with a right answer)."""
    instructions: str
    """Told to the judge before the criteria: the task and what not to reward."""
    variants: tuple[RubricVariant, ...] = ()
    """Rewordings of this rubric for the rubric-sensitivity check (`rubric_variants`)."""

    @property
    def scored(self) -> tuple[Criterion, ...]:
        """Every score the judge gives: the criteria, then the overall score if any."""
        return (*self.criteria, self.overall) if self.overall is not None else self.criteria


def load_rubric(spec: str) -> Rubric:
    """A built-in rubric by name (`BUILTIN_RUBRICS`), or the rubric in a YAML or JSON file."""
    from tunecheck.judge._builtin import BUILTIN_RUBRICS  # the built-ins are Rubric values

    if spec in BUILTIN_RUBRICS:
        return BUILTIN_RUBRICS[spec]
    path = Path(spec).expanduser()
    builtins = ", ".join(BUILTIN_RUBRICS)
    if not path.exists():
        if path.suffix.lower() in (".yaml", ".yml", ".json") or "/" in spec or "\\" in spec:
            raise ConfigError(f"--rubric {spec}: no such file (check the path, or use a built-in rubric: {builtins})")
        raise ConfigError(f"--rubric {spec}: not a built-in rubric nor a file (use one of {builtins}, or a path to a YAML or JSON rubric file)")
    try:
        text = read_text(path, "rubric file")
    except DataError as err:
        raise ConfigError(str(err)) from None
    return rubric_from_dict(_parse_file(spec, path, text), spec, default_name=path.stem)


def _parse_file(where: str, path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{where}: not valid JSON (line {err.lineno}: {err.msg}); fix the syntax, or write the rubric in YAML") from None
    import yaml  # here, not at import time: importing tunecheck stays fast

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or "cannot be parsed"
        raise ConfigError(f"{where}: not valid YAML or JSON ({line}{problem}); fix the syntax (see the rubric format in the docs)") from None


def rubric_from_dict(data: Any, where: str, *, default_name: str = "rubric") -> Rubric:
    """A rubric from parsed YAML/JSON, each problem a one-line ConfigError naming `where` and the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a rubric is a mapping with a 'criteria' list, got {_kind(data)}; see the rubric format in the docs")
    _no_unknown(where, "", data, _TOP_KEYS)
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: field 'name' must be a non-empty text, got {_kind(name)}")
    instructions = data.get("instructions", "")
    if not isinstance(instructions, str):
        raise ConfigError(f"{where}: field 'instructions' must be a text, got {_kind(instructions)}")
    ref = data.get("reference_guided", False)
    if not isinstance(ref, bool):
        raise ConfigError(f"{where}: field 'reference_guided' must be true or false, got {ref!r}")
    raw = data.get("criteria")
    if not isinstance(raw, list) or not raw:
        got = "nothing" if raw is None else _kind(raw) if not isinstance(raw, list) else "an empty list"
        raise ConfigError(f"{where}: field 'criteria' must be a list of at least one criterion (name, description, low, high), got {got}")
    criteria: list[Criterion] = []
    for i, item in enumerate(raw):
        c = _criterion(where, f"criteria[{i}]", item, _CRITERION_KEYS, None)
        if c.name == OVERALL:
            raise ConfigError(f"{where}: field 'criteria[{i}].name': 'overall' is reserved (give the overall score under the top-level 'overall' key)")
        if any(c.name.lower() == prev.name.lower() for prev in criteria):
            raise ConfigError(f"{where}: field 'criteria[{i}].name': criterion {c.name!r} is given twice (give each criterion a different name)")
        criteria.append(c)
    overall = data.get("overall")
    over = None if overall is None else _criterion(where, "overall", overall, _OVERALL_KEYS, OVERALL)
    rubric = Rubric(name.strip(), tuple(criteria), over, ref, instructions.strip())
    raw_variants = data.get("variants")
    if raw_variants is None:
        return rubric
    if not isinstance(raw_variants, list):
        raise ConfigError(f"{where}: field 'variants' must be a list of rewordings (each with instructions and/or criteria), got {_kind(raw_variants)}")
    variants = tuple(_variant(where, f"variants[{i}]", item, rubric) for i, item in enumerate(raw_variants))
    return replace(rubric, variants=variants)


def _variant(where: str, field: str, item: Any, rubric: Rubric) -> RubricVariant:
    """One rewording, checked against the rubric: only names it has, its scales unchanged."""
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: field {field!r} must be a mapping with instructions and/or criteria, got {_kind(item)}")
    _no_unknown(where, field + ".", item, _VARIANT_KEYS)
    instructions = item.get("instructions")
    if instructions is not None and (not isinstance(instructions, str) or not instructions.strip()):
        raise ConfigError(f"{where}: field '{field}.instructions' must be a non-empty text (or leave it out to keep the rubric's instructions)")
    raw = item.get("criteria", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: field '{field}.criteria' must be a mapping of criterion name to its new description, got {_kind(raw)}")
    by_name = {c.name: c for c in rubric.scored}
    descriptions: list[tuple[str, str]] = []
    for key, value in raw.items():
        f = f"{field}.criteria.{key}"
        c = by_name.get(key) if isinstance(key, str) else None
        if c is None:
            raise ConfigError(f"{where}: field '{f}': the rubric has no criterion {key!r} (a rewording keeps the criteria: {', '.join(by_name)})")
        if isinstance(value, dict):
            _no_unknown(where, f + ".", value, _OVERALL_KEYS)
            for bound, old in (("low", c.low), ("high", c.high)):
                if bound in value and (isinstance(value[bound], bool) or value[bound] != old):
                    raise ConfigError(f"{where}: field '{f}.{bound}': a rewording keeps the scale {c.scale} (got {value[bound]!r}); change only the words, or write a new rubric")
            value = value.get("description")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: field '{f}' must be the criterion's new description, a non-empty text, got {_kind(value)}")
        descriptions.append((key, value.strip()))
    if instructions is None and not descriptions:
        raise ConfigError(f"{where}: field {field!r} rewords nothing (give new instructions and/or criteria descriptions)")
    return RubricVariant(None if instructions is None else instructions.strip(), tuple(descriptions))


def reworded(rubric: Rubric, variant: RubricVariant, name: str) -> Rubric:
    """`rubric` in the words of `variant`, named `name`, without variants of its own."""
    new = dict(variant.descriptions)

    def crit(c: Criterion) -> Criterion:
        return replace(c, description=new.get(c.name, c.description))

    return replace(
        rubric,
        name=name,
        criteria=tuple(crit(c) for c in rubric.criteria),
        overall=None if rubric.overall is None else crit(rubric.overall),
        instructions=rubric.instructions if variant.instructions is None else variant.instructions,
        variants=(),
    )


def rubric_variants(rubric: Rubric, k: int) -> list[Rubric]:
    """The K versions of `rubric` that `--rubric-variants K` grades with: K counts the rubric
    itself, so K = 3 is the rubric and its first two rewordings (3 gradings in all) and K = 1
    the rubric alone. Rewording i (counted from 1) is named NAME~v{i+1}, so the original is v1
    and every version has its own judge-cache keys and result names."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"--rubric-variants {k!r}: must be a whole number of at least 1 (1 grades with the rubric alone)")
    n = len(rubric.variants)
    if k > n + 1:
        from tunecheck.judge._builtin import BUILTIN_RUBRICS

        how = (
            "copy it into a rubric file and add rewordings under 'variants:'"
            if BUILTIN_RUBRICS.get(rubric.name) == rubric
            else "add rewordings under 'variants:' in the rubric file"
        )
        raise ConfigError(
            f"--rubric-variants {k}: rubric {rubric.name!r} has {n} rewording{'s' if n != 1 else ''}, "
            f"so at most {n + 1} version{'s' if n else ''} (the rubric and its rewordings); ask for fewer, or {how}"
        )
    return [rubric] + [reworded(rubric, v, f"{rubric.name}~v{i + 2}") for i, v in enumerate(rubric.variants[: k - 1])]


def _criterion(where: str, field: str, item: Any, keys: tuple[str, ...], name: str | None) -> Criterion:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: field {field!r} must be a mapping with {', '.join(keys)}, got {_kind(item)}")
    _no_unknown(where, field + ".", item, keys)
    if name is None:
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: field '{field}.name' must be a name of letters, digits, '_' or '-' starting with a letter, got {name!r}")
    desc = item.get("description")
    if not isinstance(desc, str) or not desc.strip():
        raise ConfigError(f"{where}: field '{field}.description' is missing or empty (say what the criterion asks and what low, middle and high scores mean)")
    bounds = []
    for key in ("low", "high"):
        v = item.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{where}: field '{field}.{key}' must be an integer, got {'nothing' if v is None else repr(v)} (a scale is two integers, e.g. low: 1, high: 5)")
        bounds.append(v)
    low, high = bounds
    if low >= high:
        raise ConfigError(f"{where}: field '{field}': the scale {low}-{high} is empty or reversed (low must be below high, e.g. low: 1, high: 5)")
    return Criterion(name, desc.strip(), low, high)


def _no_unknown(where: str, prefix: str, data: dict[Any, Any], keys: tuple[str, ...]) -> None:
    for k in data:
        if k not in keys:
            raise ConfigError(f"{where}: unknown field '{prefix}{k}' (the fields here are {', '.join(keys)})")


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return repr(v) if len(repr(v)) <= 40 else type(v).__name__

