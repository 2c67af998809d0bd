"""Evaluation sheets: a sample of items people rate in a spreadsheet or any JSON tool, and the
completed sheets read back as people's ratings (`judge._human.HumanRatings`, the interchange
format every human-evaluation part shares).

A sheet is JSON (for tools) or CSV (for spreadsheets), for one of two tasks:

- rubric: every model's output of every item scored on each criterion (one empty score each);
  CSV: one row per (item, model), one column per criterion.
- ab: which of two outputs is better, A, B or tie (one empty choice per item); CSV: one row per
  item with output_a and output_b.

Blind mode shows letters instead of model names (A, B in a random order per item); which model
each letter is lives only in the key file beside the sheet (OUT.key.json, see `_sheetkey`), and
import needs it. Every sheet carries its hash (field/column `sheet`: "blind:HASH" or "open:HASH").

Who rated: the `annotator` field (JSON, top level) or column (CSV, per row) when filled in,
else the sheet file's name without its extension (ana.csv -> "ana"), so that one person per
file needs to type nothing. Import validates every row (a score outside the scale, an empty
score, which is missing and never 0, an unknown or a duplicated id, an unknown choice, a sheet
whose key does not match) and stops at the first problem with one line naming the file, the row
and the column; nothing is dropped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tunecheck._io import write_text
from tunecheck.errors import ConfigError, DataError
from tunecheck.human._items import AnnotationItem
from tunecheck.human._sheetkey import (
    KeyCheck,
    SheetInfo,
    Task,
    key_path_for,
    make_key,
    read_key,
    rubric_from_json,
    rubric_json,
    sample_items,
    slots,
    write_key,
)
from tunecheck.judge._human import (
    HumanChoice,
    HumanRatings,
    HumanScore,
    _choices,
    _json,
    _rows,
    _scores,
)
from tunecheck.judge._rubric import Rubric

SHEET_VERSION = 1
FORMATS = ("json", "csv")
_INSTRUCTIONS = {
    "rubric": "Score every output on every criterion: a whole number on its scale (low-high). Leave nothing empty. Write your name in 'annotator'.",
    "ab": "For every item choose the better output: A, B or tie. Write your name in 'annotator'.",
}


def _check_task(task: str, rubric: Rubric | None) -> Rubric | None:
    if task not in ("rubric", "ab"):
        raise ConfigError(f"--task {task!r}: use rubric or ab")
    if task == "rubric":
        from tunecheck.judge._builtin import BUILTIN_RUBRICS

        return rubric or BUILTIN_RUBRICS["quality-5"]
    return None


def prepare(items: Sequence[AnnotationItem], *, n: int | None, seed: int, stratify: str | None, task: str, rubric: Rubric | None, blind: bool) -> tuple[list[AnnotationItem], dict[str, int], dict[str, Any], Rubric | None]:
    """The sample, its categories, its key and the rubric (quality-5 unless given) of a sheet."""
    rub = _check_task(task, rubric)
    chosen, categories = sample_items(items, n, seed, stratify)
    t: Task = "rubric" if task == "rubric" else "ab"
    return chosen, categories, make_key(chosen, t, blind, seed, rub), rub


def sheet_tag(key: dict[str, Any]) -> str:
    return f"{'blind' if key['blind'] else 'open'}:{key['sheet_hash']}"


def export_sheet(items: Sequence[AnnotationItem], out_path: str | Path, *, n: int | None = None, seed: int = 0, stratify: str | None = None,
                 task: str = "rubric", rubric: Rubric | None = None, blind: bool = False, fmt: str = "json") -> SheetInfo:
    """Write a sheet of a seeded sample of `n` items (stratified by category when `stratify`
    names the field) and its key beside it (OUT.key.json); both written atomically."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use json or csv (or labelstudio)")
    chosen, categories, key, rub = prepare(items, n=n, seed=seed, stratify=stratify, task=task, rubric=rubric, blind=blind)
    text = (_json_sheet if fmt == "json" else _csv_sheet)(chosen, key, rub, seed)
    key_path = key_path_for(out_path)
    write_key(key_path, key)
    write_text(out_path, text)
    rows = len(chosen) * (len(chosen[0].outputs) if task == "rubric" else 1)
    return SheetInfo(str(out_path), str(key_path), key["task"], blind, len(chosen), rows, categories, key["sheet_hash"])


def _shown(it: AnnotationItem, key: dict[str, Any], seed: int) -> list[tuple[str, str]]:
    """(slot, output) pairs as the sheet shows them."""
    return [(slot, it.outputs[m]) for slot, m in slots(it, key["task"], key["blind"], seed)]


def _json_sheet(chosen: list[AnnotationItem], key: dict[str, Any], rubric: Rubric | None, seed: int) -> str:
    names = [c.name for c in rubric.scored] if rubric else []
    out: list[dict[str, Any]] = []
    for it in chosen:
        row: dict[str, Any] = {"id": it.id, "prompt": it.prompt, "reference": it.reference}
        shown = _shown(it, key, seed)
        if key["task"] == "rubric":
            row["outputs"] = [{"model": slot, "output": text, "scores": dict.fromkeys(names), "note": ""} for slot, text in shown]
        else:
            if not key["blind"]:
                row["model_a"], row["model_b"] = (key["items"][it.id][s]["model"] for s in ("A", "B"))
            row["output_a"], row["output_b"] = shown[0][1], shown[1][1]
            row["choice"] = None
            row["note"] = ""
        out.append(row)
    sheet: dict[str, Any] = {"tunecheck_sheet": SHEET_VERSION, "task": key["task"], "sheet": sheet_tag(key), "instructions": _INSTRUCTIONS[key["task"]], "annotator": ""}
    if rubric is not None:
        sheet["rubric"] = rubric_json(rubric)
    sheet["items"] = out
    return json.dumps(sheet, indent=1, ensure_ascii=False) + "\n"


def _csv_sheet(chosen: list[AnnotationItem], key: dict[str, Any], rubric: Rubric | None, seed: int) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    tag = sheet_tag(key)
    if key["task"] == "rubric":
        names = [c.name for c in rubric.scored] if rubric else []
        w.writerow(["sheet", "id", "model", "prompt", "reference", "output", *names, "note", "annotator"])
        for it in chosen:
            for slot, text in _shown(it, key, seed):
                w.writerow([tag, it.id, slot, it.prompt, it.reference or "", text, *[""] * len(names), "", ""])
    else:
        models = [] if key["blind"] else ["model_a", "model_b"]
        w.writerow(["sheet", "id", *models, "prompt", "reference", "output_a", "output_b", "choice", "note", "annotator"])
        for it in chosen:
            (_, a), (_, b) = _shown(it, key, seed)
            ms = [] if key["blind"] else [key["items"][it.id][s]["model"] for s in ("A", "B")]
            w.writerow([tag, it.id, *ms, it.prompt, it.reference or "", a, b, "", "", ""])
    return buf.getvalue()


# ---- import ----


def import_sheets(paths: Sequence[str | Path], *, key: str | Path | None = None, rubric: Rubric | None = None) -> HumanRatings:
    """People's ratings from completed sheets (JSON or CSV, one or several annotators), every
    row validated; blind sheets mapped back to model names through `key`."""
    if not paths:
        raise ConfigError("give at least one completed sheet")
    key_data = read_key(key) if key is not None else None
    check = KeyCheck(key_data, str(key))
    rub = rubric or (rubric_from_json(str(key), key_data["rubric"]) if key_data and "rubric" in key_data else None)
    per_file = [_read_sheet(Path(p), check, rub) for p in paths]
    return combine(per_file, ", ".join(str(p) for p in paths))


def combine(parts: Sequence[HumanRatings], source: str) -> HumanRatings:
    """One HumanRatings from several files' (one kind, no rating twice by the same person)."""
    kinds = {p.kind for p in parts}
    if len(kinds) > 1:
        first = next(p for p in parts if p.kind == "scores")
        other = next(p for p in parts if p.kind == "choices")
        raise DataError(f"{other.source}: A/B choices, but {first.source} holds rubric scores; import each task's sheets separately")
    seen: dict[tuple[Any, ...], str] = {}
    scores: list[HumanScore] = []
    choices: list[HumanChoice] = []
    for p in parts:
        for s in p.scores:
            k: tuple[Any, ...] = (s.id, s.model, s.criterion, s.annotator)
            _dup(seen, k, p.source, s.where, f"a second score for id {s.id!r}, model {s.model!r}, criterion {s.criterion!r} by annotator {s.annotator!r}")
            scores.append(s)
        for c in p.choices:
            k = (c.id, frozenset((c.model_a, c.model_b)), c.annotator)
            _dup(seen, k, p.source, c.where, f"a second choice for id {c.id!r} by annotator {c.annotator!r}")
            choices.append(c)
    scales = next((p.scales for p in parts if p.scales), None)
    return HumanRatings(source, parts[0].kind, scores=tuple(scores), choices=tuple(choices), scales=scales)


def _dup(seen: dict[tuple[Any, ...], str], k: tuple[Any, ...], source: str, where: str, what: str) -> None:
    if k in seen:
        raise DataError(f"{source} {where}, column 'id': {what} (the first is in {seen[k]}); keep one, or give each person their own annotator name")
    seen[k] = f"{source} {where}"


def _read_sheet(path: Path, check: KeyCheck, rubric: Rubric | None) -> HumanRatings:
    if path.suffix.lower() == ".json":
        rows, tag, task, rubric = _json_rows(path, rubric)
        header = False
    else:
        rows, header = _rows(path)
        if not rows:
            raise DataError(f"{path}: no rows (the sheet is empty)")
        tag = _csv_tag(path, rows)
        task = "ab" if "choice" in rows[0][1] else "rubric"
    blind, declared = _parse_tag(path, tag)
    check.sheet(str(path), declared, blind)
    if task == "rubric" and rubric is None:
        raise DataError(f"{path}: a rubric sheet; pass the rubric it was made with (--rubric), or its key (--key), to read its criteria")
    if task == "rubric" and header:
        missing = [c.name for c in rubric.scored if c.name not in rows[0][1]] if rubric else []
        if missing:
            raise DataError(f"{path} row 1 (the header): no column {missing[0]!r}; restore the criterion's column (rubric {rubric.name if rubric else ''})")
    flat = [(where, _map_row(f"{path} {where}", row, task, check, path.stem)) for where, row in rows]
    return validated(str(path), task == "ab", flat, header, rubric, check)


def validated(path: str, ab: bool, rows: list[tuple[str, dict[str, Any]]], header: bool, rubric: Rubric | None, check: KeyCheck) -> HumanRatings:
    """Rows checked by the ratings loader, then a blind sheet's A/B mapped to model names."""
    scales = {c.name: (c.low, c.high) for c in rubric.scored} if rubric else None
    if ab:
        choices = [replace(c, model_a=check.unblind(c.id, c.model_a), model_b=check.unblind(c.id, c.model_b),
                           winner=None if c.winner is None else check.unblind(c.id, c.winner)) for c in _choices(path, rows, header)]
        return HumanRatings(path, "choices", choices=tuple(choices), scales=scales)
    scores = [replace(s, model=check.unblind(s.id, s.model)) for s in _scores(path, rows, header, rubric, scales)]
    return HumanRatings(path, "scores", scores=tuple(scores), scales=scales)


def _csv_tag(path: Path, rows: list[tuple[str, dict[str, Any]]]) -> str | None:
    if "sheet" not in rows[0][1]:
        return None
    tags = {str(r.get("sheet") or "").strip() for _, r in rows}
    if len(tags) > 1:
        where = next(w for w, r in rows if str(r.get("sheet") or "").strip() != str(rows[0][1].get("sheet") or "").strip())
        raise DataError(f"{path} {where}, column 'sheet': a different sheet hash from row 2's (rows from two sheets); keep one sheet a file")
    return tags.pop() or None


def _parse_tag(path: Path, tag: str | None) -> tuple[bool, str | None]:
    if tag is None:
        return False, None
    kind, _, digest = tag.partition(":")
    if kind not in ("blind", "open") or not digest:
        raise DataError(f"{path}: the field 'sheet' is {tag!r}, not 'blind:HASH' or 'open:HASH' as exported; restore it")
    return kind == "blind", digest


def _json_rows(path: Path, rubric: Rubric | None) -> tuple[list[tuple[str, dict[str, Any]]], str | None, str, Rubric | None]:
    from tunecheck._files import read_text

    sheet = _json(path, "", read_text(path, "sheet"), whole=True)
    if not isinstance(sheet, dict) or sheet.get("tunecheck_sheet") != SHEET_VERSION or not isinstance(sheet.get("items"), list):
        raise DataError(f"{path}: not a tunecheck sheet (no 'tunecheck_sheet': {SHEET_VERSION} with 'items'); import ratings files with tunecheck judge --human, or export a sheet with tunecheck sheet export")
    task = sheet.get("task")
    if task not in ("rubric", "ab"):
        raise DataError(f"{path}: the field 'task' is {task!r}; use rubric or ab, as exported")
    if rubric is None and task == "rubric" and "rubric" in sheet:
        rubric = rubric_from_json(str(path), sheet["rubric"])
    annotator = sheet.get("annotator")
    rows: list[tuple[str, dict[str, Any]]] = []
    names = [c.name for c in rubric.scored] if rubric else []
    for i, item in enumerate(sheet["items"], start=1):
        if not isinstance(item, dict):
            raise DataError(f"{path} item {i}: expected an object (one item), got {type(item).__name__}")
        base = {k: v for k, v in item.items() if k != "outputs"}
        if annotator is not None and "annotator" not in base:
            base["annotator"] = annotator
        if task == "ab":
            rows.append((f"item {i}", base))
            continue
        outputs = item.get("outputs")
        if not isinstance(outputs, list) or not outputs:
            raise DataError(f"{path} item {i}, column 'outputs': missing or not a list; restore the exported outputs")
        for j, o in enumerate(outputs, start=1):
            if not isinstance(o, dict):
                raise DataError(f"{path} item {i} output {j}: expected an object, got {type(o).__name__}")
            scores = o.get("scores")
            row = {**base, **o, "id": item.get("id")}
            if isinstance(scores, dict):
                row["scores"] = {**dict.fromkeys(n for n in names if n not in scores), **scores}  # a criterion left out is missing
            rows.append((f"item {i} output {j}", row))
    return rows, sheet.get("sheet"), task, rubric


def _map_row(where: str, row: dict[str, Any], task: str, check: KeyCheck, stem: str) -> dict[str, Any]:
    """A sheet row as a ratings row: slots mapped to models, the annotator filled in."""
    out = {k: v for k, v in row.items() if k not in ("sheet", "tunecheck_sheet")}
    annotator = out.get("annotator")
    if annotator is None or not str(annotator).strip():
        out["annotator"] = stem
    sid = row.get("id")
    if sid is None or isinstance(sid, (dict, list)) or not str(sid).strip():
        return out  # the ratings loader names the empty id
    sid = str(sid).strip()
    if task == "rubric":
        slot = row.get("model")
        if isinstance(slot, str) and slot.strip():
            out["model"] = check.shown(where, "model", sid, slot.strip(), _text(row.get("output")))
    else:
        for s in ("A", "B"):
            if check.key is not None:
                out[f"model_{s.lower()}"] = check.shown(where, f"output_{s.lower()}", sid, s, _text(row.get(f"output_{s.lower()}")))
            elif check.key is None and f"model_{s.lower()}" not in row:
                raise DataError(f"{where}, column 'model_{s.lower()}': missing, so which model is {s} is unknown; pass the sheet's key (--key)")
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None




def items_from_sheet(path: str | Path, *, key: str | Path | None = None) -> tuple[list[AnnotationItem], str]:
    """The items of an exported JSON sheet, to annotate in the app instead of on paper, and its
    task (rubric or ab). Model names come from the sheet (open) or its key (blind: needed); the
    app keeps them from the page either way."""
    from tunecheck._files import read_text
    from tunecheck.human._sheetkey import read_key

    sheet = _json(Path(path), "", read_text(path, "sheet"), whole=True)
    if not isinstance(sheet, dict) or sheet.get("tunecheck_sheet") != SHEET_VERSION or not isinstance(sheet.get("items"), list):
        raise DataError(f"{path}: not a tunecheck JSON sheet; pass a sheet written by `tunecheck sheet export --out NAME.json`, or predictions files")
    task = str(sheet.get("task"))
    blind = str(sheet.get("sheet", "")).startswith("blind:")
    mapping = read_key(key)["items"] if key is not None else None
    if blind and mapping is None:
        raise DataError(f"{path}: a blind sheet; pass its key (--key {Path(path).stem}.key.json) so answers are stored by model")
    items = []
    for i, row in enumerate(sheet["items"], start=1):
        sid = str(row.get("id"))
        slots_of = mapping.get(sid) if mapping is not None else None
        if mapping is not None and slots_of is None:
            raise DataError(f"{path} item {i}: id {sid!r} is not in the key {key}; pass the key written with this sheet")

        def model(slot: str, named: Any, _slots: Any = slots_of, _i: int = i) -> str:
            if _slots is not None:
                if slot not in _slots:
                    raise DataError(f"{path} item {_i}: output {slot!r} is not in the key {key}")
                return str(_slots[slot]["model"])
            return str(named)

        if task == "rubric":
            outputs = {model(str(o.get("model")), o.get("model")): str(o.get("output", "")) for o in row.get("outputs") or []}
        else:
            outputs = {model(s, row.get(f"model_{s.lower()}")): str(row.get(f"output_{s.lower()}", "")) for s in ("A", "B")}
        items.append(AnnotationItem(sid, str(row.get("prompt") or ""), row.get("reference"), outputs))
    return items, task
