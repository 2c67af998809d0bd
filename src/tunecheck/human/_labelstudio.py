"""Label Studio interop, for teams that already run it: the sheet's sample as Label Studio tasks
with a matching labeling config, and Label Studio's JSON export read back as people's ratings.

Tasks (`[{"id": 1, "data": {...}}]`, Label Studio's import format): rubric, one task per (item,
model) with data item_id, slot, prompt, reference, output, sheet; ab, one task per item with
output_a and output_b. Blind slots are letters, mapped back through the key written beside the
tasks (OUT.key.json), as for sheets. The config (OUT.config.xml) has one control per criterion,
named after it: `Rating` (maxRating = high) when the scale starts at 1, else `Choices` of the
scale's numbers; for ab `Choices name="choice"` with A, B and tie; and a `TextArea` note.

Import reads the export Label Studio calls "JSON": the tasks, each with `annotations`, each
with `completed_by` (a user id, or an object with an email) and `result`, a list of
`{"from_name": NAME, "type": "rating"|"choices", "value": {"rating": 4}|{"choices": ["A"]}}`.
The annotator is the user's email, else "user ID". A cancelled annotation (skipped in Label
Studio) is not a rating and is left out. Every other problem is one DataError naming the file,
the task and the control, through the same validation as sheets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from tunecheck._files import read_text
from tunecheck._io import write_text
from tunecheck.errors import DataError
from tunecheck.human._items import AnnotationItem
from tunecheck.human._sheet import combine, prepare, sheet_tag, validated
from tunecheck.human._sheetkey import (
    KeyCheck,
    SheetInfo,
    key_path_for,
    read_key,
    rubric_from_json,
    slots,
    write_key,
)
from tunecheck.judge._human import HumanRatings, _json
from tunecheck.judge._rubric import Criterion, Rubric


def config_path_for(out: str | Path) -> Path:
    p = Path(out)
    return p.with_name(p.stem + ".config.xml")


def labeling_config(task: str, rubric: Rubric | None) -> str:
    """Label Studio's labeling config (XML) for the tasks `export_labelstudio` writes."""
    lines = ["<View>", '  <Header value="Prompt"/>', '  <Text name="prompt" value="$prompt"/>',
             '  <Header value="Reference"/>', '  <Text name="reference" value="$reference"/>']
    if task == "ab":
        lines += ['  <Header value="A"/>', '  <Text name="output_a" value="$output_a"/>',
                  '  <Header value="B"/>', '  <Text name="output_b" value="$output_b"/>',
                  '  <Header value="Which is better?"/>',
                  '  <Choices name="choice" toName="output_a" choice="single" required="true">',
                  '    <Choice value="A"/>', '    <Choice value="B"/>', '    <Choice value="tie"/>', "  </Choices>"]
    else:
        lines += ['  <Header value="Answer"/>', '  <Text name="output" value="$output"/>']
        for c in rubric.scored if rubric else ():
            lines.append(f"  <Header value={quoteattr(f'{c.name} ({c.scale}): {c.description}')}/>")
            lines += _control(c)
    lines += ['  <TextArea name="note" toName="prompt" placeholder="Note (optional)"/>', "</View>"]
    return "\n".join(lines) + "\n"


def _control(c: Criterion) -> list[str]:
    if c.low == 1:
        return [f'  <Rating name={quoteattr(c.name)} toName="output" maxRating="{c.high}" required="true"/>']
    return ([f'  <Choices name={quoteattr(c.name)} toName="output" choice="single" showInline="true" required="true">']
            + [f'    <Choice value="{v}"/>' for v in range(c.low, c.high + 1)] + ["  </Choices>"])


def export_labelstudio(items: Sequence[AnnotationItem], out_path: str | Path, *, n: int | None = None, seed: int = 0, stratify: str | None = None,
                       task: str = "rubric", rubric: Rubric | None = None, blind: bool = False) -> SheetInfo:
    """Write Label Studio tasks (OUT), their labeling config (OUT.config.xml) and the key
    (OUT.key.json) for a seeded sample of `n` items, as `export_sheet` samples them."""
    chosen, categories, key, rub = prepare(items, n=n, seed=seed, stratify=stratify, task=task, rubric=rubric, blind=blind)
    tag = sheet_tag(key)
    tasks: list[dict[str, Any]] = []
    for it in chosen:
        shown = [(slot, it.outputs[m]) for slot, m in slots(it, key["task"], blind, seed)]
        base = {"item_id": it.id, "prompt": it.prompt, "reference": it.reference or "", "sheet": tag}
        if key["task"] == "ab":
            names = {} if blind else {"model_a": it_models(key, it.id, "A"), "model_b": it_models(key, it.id, "B")}
            tasks.append({"id": len(tasks) + 1, "data": {**base, **names, "output_a": shown[0][1], "output_b": shown[1][1]}})
        else:
            tasks += [{"id": len(tasks) + 1, "data": {**base, "slot": slot, "output": text}} for slot, text in shown]
    key_path, config = key_path_for(out_path), config_path_for(out_path)
    write_key(key_path, key)
    write_text(config, labeling_config(key["task"], rub))
    write_text(out_path, json.dumps(tasks, indent=1, ensure_ascii=False) + "\n")
    return SheetInfo(str(out_path), str(key_path), key["task"], blind, len(chosen), len(tasks), categories, key["sheet_hash"], str(config))


def import_labelstudio(paths: Sequence[str | Path], *, key: str | Path | None = None, rubric: Rubric | None = None) -> HumanRatings:
    """People's ratings from Label Studio JSON exports of tasks `export_labelstudio` wrote."""
    key_data = read_key(key) if key is not None else None
    check = KeyCheck(key_data, str(key))
    rub = rubric or (rubric_from_json(str(key), key_data["rubric"]) if key_data and "rubric" in key_data else None)
    return combine([_read(Path(p), check, rub) for p in paths], ", ".join(str(p) for p in paths))


def cancelled(paths: Sequence[str | Path]) -> int:
    """Annotations skipped in Label Studio (was_cancelled) in these exports, so that what
    import leaves out can be said."""
    n = 0
    for p in paths:
        tasks = _json(Path(p), "", read_text(p, "Label Studio export"), whole=True)
        for t in tasks if isinstance(tasks, list) else []:
            anns = t.get("annotations") if isinstance(t, dict) else None
            n += sum(1 for a in anns if isinstance(a, dict) and a.get("was_cancelled")) if isinstance(anns, list) else 0
    return n


def _annotator(where: str, value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("email") or value.get("username") or value.get("id")
    if value is None or isinstance(value, (bool, list, dict)) or not str(value).strip():
        raise DataError(f"{where}, field 'completed_by': missing; export the project again as JSON (it names each annotation's user)")
    return str(value) if not isinstance(value, int) else f"user {value}"


def _value(where: str, r: dict[str, Any]) -> tuple[str, Any]:
    """(control name, the value it holds) of one result item."""
    name, kind, value = r.get("from_name"), r.get("type"), r.get("value")
    if not isinstance(name, str) or not isinstance(value, dict):
        raise DataError(f"{where}: a result without 'from_name' and 'value'; export the project again as JSON")
    if kind == "rating":
        return name, value.get("rating")
    if kind == "choices":
        got = value.get("choices")
        if not isinstance(got, list) or len(got) != 1:
            raise DataError(f"{where}, control {name!r}: expected one choice, got {got!r}; choose exactly one")
        return name, got[0]
    if kind == "textarea":
        text = value.get("text")
        return name, " ".join(text) if isinstance(text, list) else text
    raise DataError(f"{where}, control {name!r}: a result of type {kind!r}; the labeling config writes rating, choices and textarea only")


def _read(path: Path, check: KeyCheck, rubric: Rubric | None) -> HumanRatings:
    tasks = _json(path, "", read_text(path, "Label Studio export"), whole=True)
    if not isinstance(tasks, list) or not tasks:
        raise DataError(f"{path}: expected Label Studio's JSON export, a list of tasks; export the project as JSON")
    rows: list[tuple[str, dict[str, Any]]] = []
    ab = None
    for t, task in enumerate(tasks, start=1):
        where = f"task {t}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or "item_id" not in data:
            raise DataError(f"{path} {where}: no data.item_id; import tasks written by tunecheck sheet export --format labelstudio")
        is_ab = "output_a" in data
        if ab is not None and is_ab != ab:
            raise DataError(f"{path} {where}: A/B and rubric tasks in one export; export each project separately")
        ab = is_ab
        blind, _, declared = str(data.get("sheet", "")).partition(":")
        check.sheet(f"{path} {where}", declared or None, blind == "blind")
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            raise DataError(f"{path} {where}, field 'annotations': expected a list; export the project as JSON")
        for a, ann in enumerate(annotations, start=1):
            place = f"{where} annotation {a}"
            if not isinstance(ann, dict):
                raise DataError(f"{path} {place}: expected an object, got {type(ann).__name__}")
            if ann.get("was_cancelled"):
                continue
            values = dict(_value(f"{path} {place}", r) for r in ann.get("result") or [])
            row: dict[str, Any] = {"id": data["item_id"], "annotator": _annotator(f"{path} {place}", ann.get("completed_by")),
                                   "note": values.pop("note", None)}
            sid = str(data["item_id"])
            if is_ab:
                row["choice"] = values.pop("choice", None)
                for s in ("a", "b"):
                    given = data.get(f"model_{s}") if check.key is None else None  # an open export names the models
                    row[f"model_{s}"] = given if given is not None else check.shown(f"{path} {place}", f"output_{s}", sid, s.upper(), _str(data.get(f"output_{s}")))
            else:
                row["model"] = check.shown(f"{path} {place}", "model", sid, str(data.get("slot", "")), _str(data.get("output")))
                names = [c.name for c in rubric.scored] if rubric else []
                row["scores"] = {**dict.fromkeys(names), **values}  # a criterion not rated is missing
                values = {}
            if values:
                raise DataError(f"{path} {place}, control {next(iter(values))!r}: not in the labeling config tunecheck wrote; rename or remove it")
            rows.append((place, row))
    if not ab and rubric is None:
        raise DataError(f"{path}: rubric tasks; pass the rubric (--rubric) or the key (--key) to read their criteria")
    if not rows:
        raise DataError(f"{path}: no annotations (every task is unannotated or skipped); annotate in Label Studio, then export as JSON")
    return validated(str(path), bool(ab), rows, False, rubric, check)


def it_models(key: dict[str, Any], sid: str, slot: str) -> str:
    return str(key["items"][sid][slot]["model"])


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
