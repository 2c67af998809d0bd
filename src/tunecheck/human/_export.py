"""People's answers out of the store, in the interchange format `judge._human.load_human` reads
(so the sheets' import, the results, and `tunecheck judge --human` all take what the terminal
A/B and the annotation app export).

    ab:     id,model_a,model_b,choice,annotator,note      choice = the winner's model name, or tie
    rubric: id,model,criterion,score,annotator,note       one row per criterion score

model_a / model_b are the models in the order the person saw them (A, B). The latest answer of
each (annotator, item, kind, model) is exported, in the order they were first given.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from tunecheck.errors import ConfigError
from tunecheck.human._store import KINDS, AnswerStore

AB_COLUMNS = ("id", "model_a", "model_b", "choice", "annotator", "note")
RUBRIC_COLUMNS = ("id", "model", "criterion", "score", "annotator", "note")
FORMATS = (".csv", ".tsv", ".json", ".jsonl")

Row = dict[str, str | int]


def answer_rows(store: AnswerStore, kind: str, *, annotator: str | None = None, criteria: tuple[str, ...] | None = None) -> list[Row]:
    """The store's latest answers of `kind` ("ab" or "rubric") as interchange rows (AB_COLUMNS
    or RUBRIC_COLUMNS), optionally one annotator's only; rubric scores in `criteria`'s order
    when given (the rubric's), else as given. A partly scored answer exports what it has."""
    if kind not in KINDS:
        raise ConfigError(f"answer kind {kind!r}: use {' or '.join(KINDS)}")
    rows: list[Row] = []
    for a in store.answers(annotator, kind):
        note = str(a.payload.get("note", ""))
        if kind == "ab":
            shown_a, shown_b = a.payload["shown"]
            choice = a.payload["choice"]
            winner = "tie" if choice == "tie" else (shown_a if choice == "A" else shown_b)
            rows.append({"id": a.item_id, "model_a": shown_a, "model_b": shown_b, "choice": winner,
                         "annotator": a.annotator, "note": note})
        else:
            scores = a.payload["scores"]
            order = [c for c in criteria if c in scores] if criteria else list(scores)
            for criterion in order:
                score = scores[criterion]
                rows.append({"id": a.item_id, "model": a.model, "criterion": criterion, "score": int(score),
                             "annotator": a.annotator, "note": note})
    return rows


def check_export_path(path: str | Path, flag: str = "--export") -> Path:
    """The format comes from the extension; refuse an unknown one before any work."""
    p = Path(path).expanduser()
    if p.suffix.lower() not in FORMATS:
        raise ConfigError(f"{flag} {path}: unknown format {p.suffix or '(no extension)'}; use {', '.join(FORMATS)}")
    return p


def export_kind(store: AnswerStore) -> str:
    """The one kind of answer the store holds (ab when it holds none yet)."""
    kinds = sorted({a.kind for a in store.answers()})
    if len(kinds) > 1:
        raise ConfigError(f"{store.path}: holds both rubric and A/B answers; export them in two files (give the kind)")
    return kinds[0] if kinds else "ab"


def format_rows(rows: list[Row], kind: str, suffix: str) -> str:
    """Rows as the text of a .csv/.tsv (header first), .json (a list) or .jsonl file."""
    suffix = suffix.lower()
    if suffix in (".csv", ".tsv"):
        buf = io.StringIO(newline="")
        writer = csv.DictWriter(buf, fieldnames=AB_COLUMNS if kind == "ab" else RUBRIC_COLUMNS,
                                delimiter="\t" if suffix == ".tsv" else ",", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    if suffix == ".jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"


def _write(p: Path, text: str) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an export is for sharing
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_answers(store: AnswerStore, path: str | Path, *, kind: str | None = None, annotator: str | None = None) -> int:
    """Write the answers of `kind` (default: the one kind the store holds) to `path`, format by
    extension (FORMATS), atomically (a reader never sees half a file). Returns the rows written."""
    p = check_export_path(path)
    kind = kind or export_kind(store)
    rows = answer_rows(store, kind, annotator=annotator)
    _write(p, format_rows(rows, kind, p.suffix))
    return len(rows)


# -- the annotation app's export: its task and rubric recorded in the store ------------------------
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


def export_text(store: AnswerStore, task: str, fmt: str, criteria: tuple[str, ...] | None = None) -> str:
    """The export as CSV or JSON text (the app's download buttons)."""
    if fmt not in ("csv", "json"):
        raise ConfigError(f"export format {fmt!r}: use csv or json")
    return format_rows(answer_rows(store, task, criteria=criteria), task, "." + fmt)


def export_format(path: str | Path) -> str:
    """`tunecheck annotate --export`'s format by the file's suffix: csv or json."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in ("csv", "json"):
        raise ConfigError(f"--export {path}: unknown format .{suffix or '(none)'}; name the file .csv or .json")
    return suffix


def write_export(store: AnswerStore, path: str | Path, task: str | None = None, criteria: tuple[str, ...] | None = None) -> int:
    """The app's store to `path` (its task and the rubric's criteria order as recorded),
    atomically; returns the rows written."""
    kind = store_task(store, task)
    if criteria is None and store.meta("criteria"):
        criteria = tuple(json.loads(store.meta("criteria") or "[]")) or None
    export_format(path)
    rows = answer_rows(store, kind, criteria=criteria)
    p = Path(path).expanduser()
    _write(p, format_rows(rows, kind, p.suffix))
    return len(rows)
