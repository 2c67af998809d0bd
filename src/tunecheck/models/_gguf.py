"""GGUF model files (llama.cpp / Ollama exports) as model specs.

transformers reads a GGUF file with `from_pretrained(folder, gguf_file=name)`, tokenizer
included, and dequantises the weights (to --dtype), so a quantised export scores and generates
like any other model and can be compared with the unquantised fine-tune token for token.

What is here needs no model: which file a spec names, the file's architecture (read from the
header in microseconds; the `gguf` package's reader parses the whole vocabulary, ~5 s), and the
file's sha256 for the results' identity, cached by (path, size, mtime) because a 4 GB export takes
seconds to hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import BinaryIO

from tunecheck.errors import ModelError

SUFFIX = ".gguf"
INSTALL_HINT = 'pip install "tunecheck[gguf]"'


def gguf_in(path: Path) -> Path | None:
    """The GGUF file a location names: the file itself, or the one `.gguf` in a folder that has
    no config.json (a folder with config.json is a Hugging Face model, whatever else it holds)."""
    if path.is_file():
        return path if path.suffix.lower() == SUFFIX else None
    if not path.is_dir() or (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
        return None
    found = sorted(p for p in path.iterdir() if p.suffix.lower() == SUFFIX and p.is_file())
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:3]) + ("..." if len(found) > 3 else "")
        raise ModelError(f"{path}: holds {len(found)} GGUF files ({names}); pass one of them as --model {path / found[0].name}")
    return found[0] if found else None


def require_gguf(name: str) -> None:
    """transformers reads GGUF through the `gguf` package: say how to install it, in one line."""
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ModelError(f"{name}: reading GGUF files needs the gguf package: {INSTALL_HINT}") from None


# ---- the header: general.architecture, without parsing the vocabulary -----------------------------
# GGUF v2/v3: magic "GGUF", uint32 version, uint64 tensor count, uint64 key/value count, then
# key/value pairs (key: uint64 length + UTF-8; value: uint32 type + payload), little-endian.
_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # type -> bytes
_STRING, _ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated header")
    return int(struct.unpack(fmt, data)[0])


def _string(f: BinaryIO) -> str:
    n = _read(f, "<Q")
    if n > 1 << 20:
        raise ValueError("implausible string length")
    return f.read(n).decode("utf-8", errors="replace")


def _skip(f: BinaryIO, kind: int) -> None:
    if kind in _SCALARS:
        f.seek(_SCALARS[kind], os.SEEK_CUR)
    elif kind == _STRING:
        f.seek(_read(f, "<Q"), os.SEEK_CUR)
    elif kind == _ARRAY:
        item, count = _read(f, "<I"), _read(f, "<Q")
        if item in _SCALARS:
            f.seek(_SCALARS[item] * count, os.SEEK_CUR)
        else:
            for _ in range(count):
                _skip(f, item)
    else:
        raise ValueError(f"unknown value type {kind}")


def architecture(path: Path) -> str:
    """`general.architecture` of a GGUF file (e.g. "llama", "qwen2")."""
    try:
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelError(f"{path}: not a GGUF file (it does not start with the GGUF magic bytes)")
            version = _read(f, "<I")
            if version < 2:
                raise ModelError(f"{path}: GGUF version {version} is too old for transformers; re-export it with a current llama.cpp")
            _read(f, "<Q")
            for _ in range(_read(f, "<Q")):
                key, kind = _string(f), _read(f, "<I")
                if key == "general.architecture" and kind == _STRING:
                    return _string(f)
                _skip(f, kind)
    except (OSError, ValueError, struct.error) as err:
        raise ModelError(f"{path}: unreadable GGUF header ({err})") from None
    raise ModelError(f"{path}: the GGUF header names no general.architecture")


def unsupported(err: BaseException) -> bool:
    """Whether a loading error is transformers refusing the file's architecture (its list of GGUF
    architectures, with their aliases, is its own business: ask it by loading)."""
    text = str(err).lower()
    return "architecture" in text and "not supported" in text


def unsupported_message(name: str, path: Path) -> str:
    import transformers

    try:
        arch = architecture(path)
    except ModelError:
        arch = "?"
    who = name if name.rstrip("/") == str(path) else f"{name} ({path})"
    return (
        f"{who}: transformers {transformers.__version__} cannot read '{arch}' models from GGUF; "
        "use the model's Hugging Face folder (safetensors) instead, or a transformers release that supports it"
    )


@contextmanager
def quiet_dequantising() -> Iterator[None]:
    """transformers' GGUF loader draws its own tqdm bar ("Converting and de-quantizing GGUF
    tensors"), ignoring `disable_progress_bar()`; tunecheck draws its own progress."""
    try:
        import transformers.modeling_gguf_pytorch_utils as loader
    except ImportError:  # pragma: no cover - no GGUF support in this transformers
        yield
        return
    bar = getattr(loader, "tqdm", None)
    if bar is None:  # pragma: no cover - transformers changed its loader
        yield
        return
    loader.tqdm = partial(bar, disable=True)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        loader.tqdm = bar  # type: ignore[attr-defined]


# ---- the file's hash -------------------------------------------------------------------------------
def _cache_file() -> Path:
    root = os.environ.get("TUNECHECK_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "tunecheck"
    )
    return Path(root) / "gguf-sha256.json"


def sha256(path: Path) -> str:
    """sha256 of the file, remembered by (absolute path, size, mtime) in the user's cache
    (`$TUNECHECK_CACHE_DIR`, else `~/.cache/tunecheck`): hashing runs at ~500 MB/s, so a 98 MB
    file costs 0.2 s but a 7B export costs seconds on every run."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    cache = _cache_file()
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    value = known.get(key)
    if isinstance(value, str) and len(value) == 64:
        return value
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    known[key] = value
    try:  # written to a temporary file, then renamed: a concurrent run never reads half a file
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps(known, indent=0, sort_keys=True), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:  # a read-only home: the hash is still right, only not remembered
        pass
    return value
