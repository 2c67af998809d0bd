"""Results on disk: JSON without NaN, written atomically so a crash never leaves half a file."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from tunecheck._files import check_input_file, decode_utf8
from tunecheck.errors import DataError


def to_jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def clean(obj: Any) -> Any:
    """NaN/inf are not JSON: write them as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return obj


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once: os.umask can only be read by setting it, racing other threads


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomic write: a temporary file in the same folder, then a rename over the target."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # mkstemp makes the file private (0600); results and charts are meant to be shared
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Atomic write of UTF-8 text (see `write_bytes`)."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Atomic write: a crash mid-write never leaves a truncated results file."""
    write_text(path, json.dumps(clean(payload), indent=2, allow_nan=False, default=to_jsonable) + "\n")


def read_json(path: str | Path, *, fix: str = "") -> Any:
    """A whole JSON file, or a DataError naming the file and line, with `fix` appended: every
    layer that reads a JSON file by hand reports a bad one the same way."""
    p = Path(path)
    tail = f"; {fix}" if fix else ""
    check_input_file(p, "file", fix)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise DataError(f"{p}: cannot read ({err.strerror}){tail}") from None
    text = decode_utf8(p, data, fix or "re-save the file as UTF-8")  # a BOM (Windows tools) is dropped
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{p} line {err.lineno}: invalid JSON ({err.msg} at column {err.colno}){tail}") from None
