"""How a command's results leave it: JSON for machines, the --out file, diagnostics on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from tunecheck._io import clean, to_jsonable, write_json
from tunecheck.core import Result, ResultSet
from tunecheck.errors import ConfigError


def to_stderr(text: str) -> None:
    """Diagnostics (--show-tokens) go to stderr, so --format json on stdout stays parseable."""
    print(text, file=sys.stderr, flush=True)


def emit(
    result: Result | ResultSet,
    out: str | None,
    fmt: str,
    table: Callable[[Any], None],
    *,
    full: Result | ResultSet | None = None,
) -> None:
    """The usual ending of a command: the results to --out (atomically; `full`, when the file
    holds more than the terminal shows, e.g. per-document records), then JSON or a table (the
    renderer gets the typed result). Should --out fail to be written after all (checked up
    front, but a disk can fill), the results are not lost: the file's JSON is printed too, and
    the error says where it could not be written."""
    payload = clean(result.to_dict())
    saved = clean(full.to_dict()) if full is not None else payload
    failure = save_json(out, saved) if out else None
    print_json(payload) if fmt == "json" else table(result)
    if failure:
        if fmt != "json" or saved is not payload:
            print_json(saved)
        raise ConfigError(f"--out {out}: could not write the results ({failure}); they are printed above instead")


def save_json(path: str, payload: dict[str, Any]) -> str | None:
    """Write `payload` to `path`; the reason it could not be written, or None."""
    try:
        write_json(path, payload)
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


def print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False, default=to_jsonable))
