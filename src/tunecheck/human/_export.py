"""People's answers out of the store, in the interchange format `judge._human.load_human` reads
(so the app's export feeds `tunecheck judge --human`, the sheets' import and the results alike):

    rubric: id,model,criterion,score,annotator,note       one score a row (long form)
    ab:     id,model_a,model_b,choice,annotator,note      choice = the winner's name, or tie

model_a / model_b are the models in the order the person saw them (A, B). CSV or JSON (a list
of those rows), by the file's suffix or `fmt`. No server needed: `tunecheck annotate --export`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tunecheck.errors import ConfigError
from tunecheck.human._store import KINDS, AnswerStore

RUBRIC_COLUMNS = ("id", "model", "criterion", "score", "annotator", "note")
AB_COLUMNS = ("id", "model_a", "model_b", "choice", "annotator", "note")
FORMATS = ("csv", "json")


def store_task(store: AnswerStore, task: str | None = None) -> str:
    """The store's task (rubric or ab): what the app recorded in it, else `task`, else the one
    kind of answer it holds."""
    found = store.meta("task") or task
    if found is None:
        kinds = {a.kind for a in store.answers()}
        if len(kinds) == 1:
            found = kinds.pop()
    if found not in KINDS:
        raise ConfigError(f"{store.path}: no answers yet and no task recorded; pass --task rubric or --task ab")
    return found


def export_rows(store: AnswerStore, task: str, criteria: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """One row per score (rubric) or per choice (ab), annotator by annotator, in answer order.
    Rubric criteria come out in `criteria`'s order when given (the rubric's), else sorted."""
    rows: list[dict[str, Any]] = []
    for a in store.answers(kind=task):
        note = str(a.payload.get("note", ""))
        if task == "rubric":
            scores: dict[str, int] = a.payload.get("scores", {})
            order = [c for c in criteria if c in scores] if criteria else sorted(scores)
            rows += [{"id": a.item_id, "model": a.model, "criterion": c, "score": scores[c], "annotator": a.annotator, "note": note}
                     for c in order]
        else:
            model_a, model_b = a.payload["shown"]
            choice = a.payload["choice"]
            winner = "tie" if choice == "tie" else (model_a if choice == "A" else model_b)
            rows.append({"id": a.item_id, "model_a": model_a, "model_b": model_b, "choice": winner,
                         "annotator": a.annotator, "note": note})
    return rows


def export_text(store: AnswerStore, task: str, fmt: str, criteria: tuple[str, ...] | None = None) -> str:
    """The export as CSV or JSON text."""
    if fmt not in FORMATS:
        raise ConfigError(f"export format {fmt!r}: use csv or json")
    rows = export_rows(store, task, criteria)
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=RUBRIC_COLUMNS if task == "rubric" else AB_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def export_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ConfigError(f"--export {path}: unknown format .{suffix or '(none)'}; name the file .csv or .json")
    return suffix


def write_export(store: AnswerStore, path: str | Path, task: str | None = None, criteria: tuple[str, ...] | None = None) -> int:
    """Write the export to `path` (format by suffix, written whole then renamed into place);
    returns the number of rows."""
    kind = store_task(store, task)
    if criteria is None and store.meta("criteria"):
        criteria = tuple(json.loads(store.meta("criteria") or "[]")) or None
    text = export_text(store, kind, export_format(path), criteria)
    out = Path(path).expanduser()
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return len(export_rows(store, kind, criteria))
