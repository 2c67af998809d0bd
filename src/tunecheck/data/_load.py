"""Load eval/train sets from JSONL, JSON, CSV, Parquet or the Hugging Face hub.

Every problem is reported as a DataError naming the file, the line or row, and the field,
because a user with 10,000 rows needs to know which one to fix.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tunecheck._files import check_input_file, jsonl_lines, read_text
from tunecheck._io import read_json
from tunecheck.data._fields import FieldMap, Resolved, RowError, resolve, to_sample
from tunecheck.data._sample import Dataset, Sample
from tunecheck.errors import ConfigError, DataError

_SPLITS = {"train", "test", "validation", "valid", "dev", "eval"}

Located = tuple[str, Any]
"""(where, row): "line 17" or "row 3", and the row as parsed."""


def load_data(
    source: str | Path | Sequence[Mapping[str, Any]], fields: FieldMap | None = None, *, limit: int | None = None
) -> Dataset:
    """Load a dataset and normalise its rows into samples.

    `source` is a path (.jsonl, .json, .csv, .parquet), `hf:NAME[:CONFIG][:SPLIT]`, or the rows
    themselves as a list of dicts (a notebook's data; named "<N rows>", each "row K").
    `limit` keeps the first N rows (the hash covers only those).
    """
    fields = fields or FieldMap()
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be at least 1 (or leave it out for every row)")
    rows: Iterable[Located]
    if not isinstance(source, (str, Path)):
        if not isinstance(source, Sequence):
            raise DataError(f"data must be a path, an hf: id or a list of dicts, got {type(source).__name__}")
        src = f"<{len(source)} rows>"
        rows = ((f"row {k}", row) for k, row in enumerate(source))
    elif (src := str(source)).startswith("hf:"):
        rows = _hf_rows(src)
    else:
        rows = _file_rows(check_input_file(src, "file", "pass a .jsonl, .json, .csv or .parquet file"))

    samples: list[Sample] = []
    seen: dict[str, str] = {}
    digest = hashlib.sha256()
    spec: Resolved | None = None
    for index, (where, row) in enumerate(itertools.islice(rows, limit)):
        try:
            if spec is None:
                if not isinstance(row, Mapping):
                    raise RowError(f"expected a JSON object, got {type(row).__name__}")
                spec = resolve(fields, row)
            sample = dataclasses.replace(to_sample(row, index, spec), location=where)
        except RowError as err:
            raise DataError(f"{src} {where}: {err}") from None
        if sample.id in seen:
            raise DataError(
                f'{src} {where}: duplicate id "{sample.id}" (first at {seen[sample.id]}); ids must be unique'
            )
        seen[sample.id] = where
        digest.update(_canonical(row).encode())
        digest.update(b"\n")
        samples.append(sample)
    if not samples or spec is None:
        raise DataError(f"{src}: no rows (the data set is empty)")
    _check_not_all_empty(src, samples, spec)
    return Dataset(tuple(samples), src, spec.shape, "sha256:" + digest.hexdigest())


def _check_not_all_empty(src: str, samples: list[Sample], spec: Resolved) -> None:
    """Every row blank: nothing to score or prompt with, which would end in "n/a" everywhere."""
    role = "text" if spec.shape == "text" else "messages" if spec.shape == "chat" else "prompt"
    parts = [s.text if spec.shape == "text" else (s.prompt or "") + (s.response or "") for s in samples]
    if any(p and p.strip() for p in parts):
        return
    name = spec.names.get(role, role)
    where = ", ".join(s.location for s in samples[:3]) + (", ..." if len(samples) > 3 else "")
    raise DataError(
        f'{src}: field "{name}" is empty in all {len(samples)} rows ({where}); '
        f"name the field that holds the text with {spec.flag(role)}"
    )


def load_rows(source: str | Path, id_field: str = "id") -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Raw rows keyed by id (their 0-based position when the field is absent), whatever their
    shape: for joining references, labels and clusters onto predictions."""
    src = str(source)
    if src.startswith("hf:"):
        rows: Iterable[Located] = _hf_rows(src)
    else:
        rows = _file_rows(check_input_file(src, "file", "pass a .jsonl, .json, .csv or .parquet file"))
    out: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for index, (where, row) in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DataError(f"{src} {where}: expected a JSON object, got {type(row).__name__}")
        key = str(row[id_field]) if row.get(id_field) is not None else str(index)
        if key in out:
            raise DataError(f'{src} {where}: duplicate id "{key}" (first at {out[key][0]}); ids must be unique')
        out[key] = (where, row)
    if not out:
        raise DataError(f"{src}: no rows (the data set is empty)")
    return out


def content_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """The hash `load_data` gives a set of rows: sha256 over each row's canonical JSON line."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(_canonical(row).encode())
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


def _canonical(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _file_rows(path: Path) -> Iterator[Located]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from _jsonl_rows(path)
    elif suffix == ".json":
        yield from _json_rows(path)
    elif suffix in (".csv", ".tsv"):
        yield from _csv_rows(path, "\t" if suffix == ".tsv" else ",")
    elif suffix in (".parquet", ".pq"):
        yield from _parquet_rows(path)
    else:
        raise DataError(f"{path}: unknown format {suffix or '(no extension)'}; use .jsonl, .json, .csv or .parquet")


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def non_finite_field(value: Any, where: str = "") -> str | None:
    """The path of the first NaN or infinite number in a parsed row ("label", "scores[2]"), or
    None: they are not JSON, and a predictions file carrying one could not be written."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(the row)"
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = non_finite_field(v, f"{where}.{k}" if where else str(k))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = non_finite_field(v, f"{where}[{i}]")
            if found:
                return found
    return None


def _jsonl_rows(path: Path) -> Iterator[Located]:
    for number, line in enumerate(jsonl_lines(read_text(path)), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_constant=_reject_constant)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path} line {number}: invalid JSON ({err.msg} at column {err.colno}); "
                "each line must be one JSON object"
            ) from None
        except ValueError as err:  # NaN, Infinity, -Infinity: Python reads them, JSON has no such values
            row = json.loads(line)
            raise DataError(
                f'{path} line {number}: field "{non_finite_field(row)}" is {err}, which is not JSON; '
                "write null or a number"
            ) from None
        yield f"line {number}", row


def _json_rows(path: Path) -> Iterator[Located]:
    data = read_json(path, fix="re-save the file as UTF-8 JSON")
    if isinstance(data, Mapping):
        lists = [k for k, v in data.items() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataError(f"{path}: expected a JSON list of objects (or an object holding one list)")
        data = data[lists[0]]
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of objects, got {type(data).__name__}")
    for i, row in enumerate(data):
        bad = non_finite_field(row)
        if bad:
            raise DataError(f'{path} item {i}: field "{bad}" is not a finite number (NaN or Infinity are not JSON); write null or a number')
        yield f"item {i}", row


def _csv_rows(path: Path, delimiter: str) -> Iterator[Located]:
    text = read_text(path)
    # newline="": only the csv module decides where a row ends (a quoted cell may hold U+2028 or "\n")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames is None:
        return
    for row in reader:
        if None in row:
            raise DataError(f"{path} line {reader.line_num}: more cells than header columns (quote cells that contain '{delimiter}')")
        yield f"line {reader.line_num}", dict(row)


def _parquet_rows(path: Path) -> Iterator[Located]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path}: not a readable Parquet file ({err})") from None
    for i, row in enumerate(table.to_pylist()):
        yield f"row {i}", row


def parse_hf_source(src: str) -> tuple[str, str | None, str]:
    """hf:NAME[:CONFIG][:SPLIT] -> (name, config, split); a lone second part that looks like a
    split name (train/test/validation/...) is the split."""
    body, bracket = src[3:], ""
    if body.endswith("]") and "[" in body:  # a slice such as train[:100] may contain ':'
        cut = body.rindex("[")
        body, bracket = body[:cut], body[cut:]
    parts = body.split(":")
    if bracket and parts:
        parts[-1] += bracket
    if not parts[0] or len(parts) > 3 or not all(parts):
        raise DataError(f"{src}: expected hf:NAME[:CONFIG][:SPLIT], e.g. hf:openai/gsm8k:main:test")
    if len(parts) == 1:
        return parts[0], None, "train"
    if len(parts) == 2:
        base = parts[1].split("[")[0]
        return (parts[0], None, parts[1]) if base in _SPLITS else (parts[0], parts[1], "train")
    return parts[0], parts[1], parts[2]


def _hf_rows(src: str) -> Iterator[Located]:
    name, config, split = parse_hf_source(src)
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise DataError(f"{src}: loading hub datasets needs `pip install datasets`") from None
    try:
        ds = datasets.load_dataset(name, config, split=split)
    except Exception as err:  # the hub client raises many types; all mean "cannot load"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            f"{src}: could not load from the Hugging Face hub ({first}); check the name, config and split, "
            "and that you are online (or download it first and pass a local file)"
        ) from None
    for i, row in enumerate(ds):
        yield f"row {i}", row
