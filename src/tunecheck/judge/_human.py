"""People's ratings of the same answers, to calibrate a judge against (`tunecheck judge --human FILE`).

A file is CSV (.csv; .tsv tab-separated), JSON (.json: a list of objects, or an object holding
one list) or JSONL (.jsonl: one object a line); one rating a row. It holds either rubric scores
or pairwise choices, never both.

Rubric scores, long form (one score a row):

    id,model,criterion,score,annotator
    q1,tuned,accuracy,4,ana
    q1,tuned,fluency,5,ana

Rubric scores, wide form (one column per criterion of the rubric; needs the rubric):

    id,model,annotator,accuracy,fluency
    q1,tuned,ana,4,5

In JSON and JSONL the wide form may also nest them, as the human-evaluation sheets export them:
`{"id": "q1", "model": "tuned", "annotator": "ana", "scores": {"accuracy": 4, "fluency": 5}}`.

Pairwise choices (the order of model_a and model_b does not matter):

    id,model_a,model_b,choice,annotator
    q1,base,tuned,B,ana

`choice` is A, B or tie (any case), or the winning model's name. `annotator` is optional:
without it every row is one person's. A score is a whole number on the criterion's scale (the
rubric's, or the `scale` given). The sheets' text columns (prompt, question, reference, output,
outputs, output_a, output_b, response, notes, note, comment, justification, timestamp) are
allowed and not read; any other column is an error, so a misspelt criterion is not lost.

Each problem is one DataError naming the file, the place and the column. Places: in CSV the
row as a spreadsheet numbers it (the header is row 1, the first rating row 2); in JSONL the
line; in JSON the list item, counting from 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tunecheck._files import jsonl_lines, read_text
from tunecheck.errors import DataError
from tunecheck.judge._rubric import Rubric

TEXT_COLUMNS = frozenset(
    {"prompt", "question", "reference", "output", "outputs", "output_a", "output_b", "response"}
    | {"notes", "note", "comment", "justification", "timestamp"}
)
"""Columns a sheet may carry beside the ratings; read by people, not by the loader."""
_SCORE_KEYS = ("id", "model", "criterion", "score")
_CHOICE_KEYS = ("id", "model_a", "model_b", "choice")


@dataclass(frozen=True)
class HumanScore:
    """One person's score of one answer (id, model) on one criterion."""

    id: str
    model: str
    criterion: str
    annotator: str
    """"" when the file has no annotator column (one person)."""
    score: float
    where: str
    """The place in the file ("row 3", "line 3", "item 3"), for messages."""


@dataclass(frozen=True)
class HumanChoice:
    """One person's choice between two models' answers to sample `id`."""

    id: str
    model_a: str
    model_b: str
    annotator: str
    winner: str | None
    """The preferred model's name; None for a tie."""
    where: str


@dataclass(frozen=True)
class HumanRatings:
    """A file of people's ratings, validated."""

    source: str
    kind: Literal["scores", "choices"]
    scores: tuple[HumanScore, ...] = ()
    choices: tuple[HumanChoice, ...] = ()
    scales: dict[str, tuple[int, int]] | None = None
    """Criterion -> (low, high) when the rubric or a scale was given; None otherwise."""

    @property
    def annotators(self) -> tuple[str, ...]:
        rows: tuple[HumanScore | HumanChoice, ...] = self.scores or self.choices
        return tuple(dict.fromkeys(r.annotator for r in rows))


def _rows(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """(place, row) pairs and whether the format has a header (CSV), read from `path`."""
    text = read_text(path, "file of ratings")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if suffix == ".tsv" else ",")
        rows = []
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise DataError(f"{path} row {number}: more cells than header columns (quote cells that contain a comma)")
            rows.append((f"row {number}", {k.strip(): v for k, v in row.items() if k is not None}))
        return rows, True
    if suffix in (".jsonl", ".ndjson"):
        out = []
        for number, line in enumerate(jsonl_lines(text), start=1):
            if line.strip():
                out.append((f"line {number}", _json(path, f"line {number}", line)))
        return out, False
    if suffix == ".json":
        data = _json(path, "", text, whole=True)
        if isinstance(data, dict):
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise DataError(f"{path}: expected a JSON list of ratings (or an object holding one list)")
            data = lists[0]
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of ratings, got {type(data).__name__}")
        return [(f"item {i}", row) for i, row in enumerate(data, start=1)], False
    raise DataError(f"{path}: unknown format {suffix or '(no extension)'}; use .csv, .tsv, .json or .jsonl")


def _json(path: Path, where: str, text: str, *, whole: bool = False) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        place = f" line {err.lineno}" if whole else f" {where}"
        raise DataError(f"{path}{place}: invalid JSON ({err.msg} at column {err.colno})") from None
    if not whole and not isinstance(value, dict):
        raise DataError(f"{path} {where}: expected a JSON object (one rating), got {type(value).__name__}")
    return value


def load_human(path: str | Path, rubric: Rubric | None = None, *, scale: tuple[int, int] | None = None) -> HumanRatings:
    """People's ratings from `path` (see the module docstring for the formats), each checked
    against the rubric's criteria and scales (or `scale` for every criterion)."""
    p = Path(path).expanduser()
    rows, header = _rows(p)
    if not rows:
        raise DataError(f"{path}: no ratings (the file is empty)")
    for where, row in rows:
        if not isinstance(row, dict):
            raise DataError(f"{path} {where}: expected a JSON object (one rating), got {type(row).__name__}")
    keys: set[str] = set().union(*(r.keys() for _, r in rows))
    if "choice" in keys and ({"score", "scores"} & keys or (rubric and {c.name for c in rubric.scored} & keys)):
        raise DataError(f"{path}: holds both pairwise choices (column 'choice') and rubric scores; give them in two files")
    scales = _scales(rubric, scale)
    if "choice" in keys:
        return HumanRatings(str(path), "choices", choices=tuple(_choices(str(path), rows, header)), scales=scales)
    return HumanRatings(str(path), "scores", scores=tuple(_scores(str(path), rows, header, rubric, scales)), scales=scales)


def _scales(rubric: Rubric | None, scale: tuple[int, int] | None) -> dict[str, tuple[int, int]] | None:
    if rubric is not None:
        return {c.name: (c.low, c.high) for c in rubric.scored}
    return None if scale is None else {"": scale}


class _Where:
    """Formats the one-line messages of one row."""

    def __init__(self, path: str, where: str, header: bool) -> None:
        self.path, self.where, self.header = path, where, header

    def error(self, column: str, problem: str) -> DataError:
        return DataError(f"{self.path} {self.where}, column {column!r}: {problem}")

    def text(self, row: Mapping[str, Any], column: str, fix: str) -> str:
        if column not in row:
            if self.header:
                return _raise(DataError(f"{self.path} row 1 (the header): no column {column!r}; {fix}"))
            return _raise(self.error(column, f"missing; {fix}"))
        value = row[column]
        if isinstance(value, (dict, list, bool)):
            return _raise(self.error(column, f"must be a text or a number, got {type(value).__name__}; {fix}"))
        if value is None or not str(value).strip():
            return _raise(self.error(column, f"is empty; {fix}"))
        return str(value).strip()


def _raise(err: DataError) -> str:
    raise err


def _annotator(row: Mapping[str, Any]) -> str:
    value = row.get("annotator")
    return "" if value is None else str(value).strip()


def _check_columns(w: _Where, row: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for k in row:
        if k not in allowed and k not in TEXT_COLUMNS:
            where = "row 1 (the header)" if w.header else w.where
            raise DataError(f"{w.path} {where}, column {k!r}: unknown column ({what}); rename or remove it")


def _scores(path: str, rows: list[tuple[str, dict[str, Any]]], header: bool, rubric: Rubric | None, scales: dict[str, tuple[int, int]] | None) -> Iterator[HumanScore]:
    keys: set[str] = set().union(*(r.keys() for _, r in rows))
    names = [c.name for c in rubric.scored] if rubric else []
    wide = "score" not in keys and "criterion" not in keys
    if wide and rubric is None:
        raise DataError(f"{path}: no columns 'criterion' and 'score' (give one score a row: id, model, criterion, score[, annotator]; or give the rubric to read one column per criterion)")
    if wide and not ({"scores"} | set(names)) & keys:
        raise DataError(f"{path}: no column 'score', 'choice' or a criterion of the rubric {rubric.name if rubric else ''} ({', '.join(names)}); see the format of --human files")
    allowed = {"id", "model", "annotator"} | ({"scores", *names} if wide else {"criterion", "score"})
    what = f"the columns are id, model, annotator and the criteria {', '.join(names)}" if wide else "the columns are id, model, criterion, score, annotator"
    seen: dict[tuple[str, str, str, str], str] = {}
    for where, row in rows:
        w = _Where(path, where, header)
        _check_columns(w, row, allowed, what)
        sid = w.text(row, "id", "give the sample's id, as in the predictions files")
        model = w.text(row, "model", "give the model's name, as the judge results name it")
        annotator = _annotator(row)
        if wide:
            nested = row.get("scores")
            if nested is not None and not isinstance(nested, dict):
                raise w.error("scores", f"must map each criterion to a score, got {type(nested).__name__}")
            cells: list[tuple[str, str, Any]] = [(k, f"scores.{k}", v) for k, v in (nested or {}).items()]
            cells += [(n, n, row[n]) for n in names if n in row]
        else:
            criterion = w.text(row, "criterion", f"name the criterion{' (' + ', '.join(names) + ')' if names else ''}")
            if "score" not in row and header:
                raise DataError(f"{path} row 1 (the header): no column 'score'; give each rating's score")
            cells = [(criterion, "score", row.get("score"))]
        for criterion, column, raw in cells:
            if rubric is not None and criterion not in names:
                raise w.error("criterion" if column == "score" else column, f"unknown criterion {criterion!r} (the rubric {rubric.name} has {', '.join(names)})")
            bounds = None if scales is None else scales.get(criterion, scales.get(""))
            score = _score(w, column, raw, bounds)
            key = (sid, model, criterion, annotator)
            if key in seen:
                who = f"annotator {annotator!r}" if annotator else "the same person (add an 'annotator' column when several people rated)"
                raise w.error(column, f"a second score for id {sid!r}, model {model!r}, criterion {criterion!r} by {who} (the first is at {seen[key]}); keep one")
            seen[key] = where
            yield HumanScore(sid, model, criterion, annotator, score, where)


def _score(w: _Where, column: str, raw: Any, bounds: tuple[int, int] | None) -> float:
    scale = f" on the scale {bounds[0]}-{bounds[1]}" if bounds else ""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise w.error(column, f"the score is empty; give a whole number{scale}")
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise w.error(column, f"the score {raw!r} is not a number; give a whole number{scale}")
    try:
        value = float(raw)
    except ValueError:
        raise w.error(column, f"the score {raw!r} is not a number; give a whole number{scale}") from None
    if not math.isfinite(value) or value != round(value):
        raise w.error(column, f"the score {raw!r} is not a whole number; give a whole number{scale}")
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise w.error(column, f"the score {value:g} is outside the scale {bounds[0]}-{bounds[1]}")
    return value


def _choices(path: str, rows: list[tuple[str, dict[str, Any]]], header: bool) -> Iterator[HumanChoice]:
    seen: dict[tuple[str, frozenset[str], str], str] = {}
    for where, row in rows:
        w = _Where(path, where, header)
        _check_columns(w, row, {*_CHOICE_KEYS, "annotator"}, "the columns are id, model_a, model_b, choice, annotator")
        sid = w.text(row, "id", "give the sample's id, as in the predictions files")
        a = w.text(row, "model_a", "give the name of the model shown as A")
        b = w.text(row, "model_b", "give the name of the model shown as B")
        if a == b:
            raise w.error("model_b", f"the same model as model_a ({a!r}); a choice is between two models")
        raw = w.text(row, "choice", f"write A, B, tie or the winning model's name ({a} or {b})")
        low = raw.lower()
        if low in ("a", "b", "tie"):
            winner = None if low == "tie" else (a if low == "a" else b)
        elif raw in (a, b):
            winner = raw
        else:
            raise w.error("choice", f"unknown choice {raw!r}; write A, B, tie or the winning model's name ({a} or {b})")
        annotator = _annotator(row)
        key = (sid, frozenset((a, b)), annotator)
        if key in seen:
            who = f"annotator {annotator!r}" if annotator else "the same person (add an 'annotator' column when several people chose)"
            raise w.error("choice", f"a second choice for id {sid!r} between {a!r} and {b!r} by {who} (the first is at {seen[key]}); keep one")
        seen[key] = where
        yield HumanChoice(sid, a, b, annotator, winner, where)
