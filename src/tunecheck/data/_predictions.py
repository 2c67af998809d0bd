"""Predictions JSONL: tunecheck's interchange format between generation and scoring.

One row per (sample, generation): at least ``id`` and ``output``. ``tunecheck generate`` adds
``model``, ``sample`` (0..n-1 when several generations per prompt), the ``prompt`` as sent, the
question as asked (``messages`` for chat data, else ``question``: what judges and people read), ``prompt_tokens``, ``output_tokens``, ``finish_reason``, ``latency_s``, and carries the sample's
reference fields so a file can be scored on its own. Files written elsewhere need only
``id`` and ``output``; ``--data`` supplies references by id.

Writing is append-only, one flushed line per finished generation, so a killed run loses at most
the line being written; `PredictionWriter.resume` drops such a half-written last line. A last line
without its newline that is a whole JSON object (files written by other tools often end so) is
a row like any other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tunecheck._files import check_input_file, decode_utf8
from tunecheck._io import clean
from tunecheck.errors import DataError

REFERENCE_FIELDS = ("reference", "references", "answers", "label", "category", "format")
"""Fields of a sample copied into its prediction rows, so predictions can be scored alone."""


@dataclass(frozen=True)
class Prediction:
    """One model output for one sample, as read back from a predictions file."""

    id: str
    output: str
    sample: int = 0
    """Which of the n generations for this prompt (0 unless sampling n > 1)."""
    model: str | None = None
    fields: Mapping[str, Any] | None = None
    """The whole row, for references and custom metrics."""
    location: str = ""
    """"preds.jsonl line 7": where the row is, for error messages."""


def _parse_line(path: Path, lineno: int, line: str) -> Prediction:
    where = f"{path} line {lineno}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: not valid JSON ({err.msg} at column {err.colno}); fix or delete that line") from None
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object with 'id' and 'output', got {type(row).__name__}")
    if "id" not in row or row["id"] is None:
        raise DataError(f"{where}: field 'id' is missing; every prediction needs the id of its sample")
    if not isinstance(row["id"], (str, int)) or isinstance(row["id"], bool):
        raise DataError(f"{where}: field 'id' is a {type(row['id']).__name__} ({row['id']!r}); an id must be a string or a whole number")
    output = row.get("output")
    if not isinstance(output, str):
        got = "missing" if "output" not in row else f"a {type(output).__name__}"
        raise DataError(f"{where}: field 'output' is {got}; it must be the model's output text")
    sample = row.get("sample", 0)
    if not isinstance(sample, int) or isinstance(sample, bool) or sample < 0:
        raise DataError(f"{where}: field 'sample' must be a generation index 0, 1, ...; got {sample!r}")
    model = row.get("model")
    return Prediction(str(row["id"]), output, sample, str(model) if model is not None else None, row, where)


def read_predictions(path: str | Path) -> list[Prediction]:
    """Every row of a predictions file. A last line that is cut off (no newline, not a whole JSON
    object) is a write a kill interrupted: it is ignored here (the generator redoes it on resume).
    Duplicate (id, sample) pairs are an error, since they would be scored twice."""
    p = check_input_file(path, "predictions file", "pass a predictions JSONL file (make one with `tunecheck generate`)")
    rows: list[Prediction] = []
    seen: dict[tuple[str, int], int] = {}
    for lineno, line, complete in _lines(p):
        if not line.strip():
            continue
        if not complete and _cut_off(line):
            break
        pred = _parse_line(p, lineno, line)
        key = (pred.id, pred.sample)
        if key in seen:
            raise DataError(
                f"{p} line {lineno}: id {pred.id!r} (sample {pred.sample}) already appears on line {seen[key]}; "
                "remove the duplicate"
            )
        seen[key] = lineno
        rows.append(pred)
    if not rows:
        raise DataError(f"{p}: no predictions in the file")
    return rows


def _cut_off(last_line: str) -> bool:
    """A last line without its newline is a cut-off write unless it is a whole JSON object."""
    try:
        return not isinstance(json.loads(last_line), dict)
    except json.JSONDecodeError:
        return True


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    # a kill can cut a write inside a multi-byte character: those last bytes are the cut-off line's,
    # not damage; they are decoded as U+FFFD so that line never reads as a whole row (and is dropped)
    cut = _incomplete_tail(data)
    text = decode_utf8(path, data[: len(data) - cut], "save the file as UTF-8") + ("\ufffd" if cut else "")
    parts = text.split("\n")  # "\n" only: U+2028 is no line end
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and part == "":
            break
        yield i + 1, part, not last


def _incomplete_tail(data: bytes) -> int:
    """How many bytes at the end of `data` start a UTF-8 character that they do not finish (0-3)."""
    for back in range(1, min(3, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # not a continuation byte: the lead byte of the last character
            need = 2 if 0xC0 <= byte < 0xE0 else 3 if 0xE0 <= byte < 0xF0 else 4 if 0xF0 <= byte < 0xF8 else 1
            return back if back < need else 0
    return 0


class PredictionWriter:
    """Appends rows to a predictions file; what is done survives a kill or Ctrl-C."""

    def __init__(self, path: str | Path, *, terminate_last_line: bool = False) -> None:
        self.path = Path(path)
        self._f: IO[str] | None = None
        self._since_sync = 0
        self._pending_newline = terminate_last_line
        """The file ends in a whole row without its newline: write one before the next row."""

    @staticmethod
    def resume(path: str | Path) -> tuple[PredictionWriter, set[tuple[str, int]], list[dict[str, Any]]]:
        """Open `path` to continue a run: cut off a half-written last line, and return the writer,
        the (id, sample) pairs already done, and their rows."""
        p = Path(path)
        done: set[tuple[str, int]] = set()
        rows: list[dict[str, Any]] = []
        terminate = False
        if p.exists():
            check_input_file(p, "predictions file", "--out must be a predictions JSONL file")
        if p.is_file() and p.stat().st_size:
            keep = 0
            for lineno, line, complete in _lines(p):
                if not complete and _cut_off(line):
                    break
                keep += len(line.encode("utf-8")) + int(complete)
                terminate = not complete  # a whole last row without its newline: add it before appending
                if not line.strip():
                    continue
                pred = _parse_line(p, lineno, line)
                if (pred.id, pred.sample) not in done:
                    done.add((pred.id, pred.sample))
                    rows.append(dict(pred.fields or {}))
            bom = 3 if p.read_bytes()[:3] == b"\xef\xbb\xbf" else 0
            if keep + bom < p.stat().st_size:
                with p.open("r+b") as f:  # drop the cut-off line so the next row starts cleanly
                    f.truncate(keep + bom)
        return PredictionWriter(p, terminate_last_line=terminate), done, rows

    def write(self, row: Mapping[str, Any]) -> None:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = self.path.open("a", encoding="utf-8")
            if self._pending_newline:
                self._f.write("\n")
                self._pending_newline = False
        # clean: a NaN carried from a data row (Parquet holds them) is written as null, never a crash mid-run
        self._f.write(json.dumps(clean(row), ensure_ascii=False, allow_nan=False) + "\n")
        self._f.flush()
        self._since_sync += 1
        if self._since_sync >= 64:
            self.sync()

    def sync(self) -> None:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._since_sync = 0

    def close(self) -> None:
        if self._f is not None:
            self.sync()
            self._f.close()
            self._f = None

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
