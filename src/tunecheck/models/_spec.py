"""Model specs: one string names a model everywhere, CLI and API alike.

    ./out/checkpoint-500                 a local Hugging Face model directory
    meta-llama/Llama-3.2-1B              a hub id
    ./out/adapter                        a PEFT/LoRA adapter dir (has adapter_config.json): loaded on its base
    ./out/adapter,base=./base,name=ft    options after commas, as lm-evaluation-harness's model_args
    openai:MODEL                         a model on an OpenAI-compatible server (generation)
    vllm:./out/merged                    vLLM's offline engine, where installed (generation)

Options: name (display name), base (an adapter's base model), revision (hub revision),
dtype (per-model override of --dtype).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tunecheck.errors import ModelError

_OPTIONS = {"name", "base", "revision", "dtype"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")

Kind = Literal["hf", "openai", "vllm"]


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model reference; `resolve()` checks it against the disk."""

    location: str
    """Local directory, hub id, or the model name after `openai:`."""
    kind: Kind = "hf"
    name: str | None = None
    """Display name in tables and JSON; defaults to the location."""
    base: str | None = None
    """For adapters: the base model, overriding adapter_config.json."""
    revision: str | None = None
    dtype: str | None = None

    @classmethod
    def parse(cls, text: str | ModelSpec) -> ModelSpec:
        if isinstance(text, ModelSpec):
            return text
        raw = text.strip()
        if not raw:
            raise ModelError("empty model spec; pass a model directory, hub id or adapter directory")
        location, *opts = raw.split(",")
        values: dict[str, str] = {}
        for opt in opts:
            key, eq, value = opt.partition("=")
            key = key.strip()
            if not eq or key not in _OPTIONS or not value.strip():
                raise ModelError(
                    f"model spec {raw!r}: bad option {opt!r}; options are "
                    + ", ".join(f"{k}=..." for k in sorted(_OPTIONS))
                )
            values[key] = value.strip()
        kind: Kind = "hf"
        if location.startswith("openai:"):
            kind, location = "openai", location[len("openai:") :]
            if not location:
                raise ModelError(f"model spec {raw!r}: name the served model after openai:, e.g. openai:my-model")
        elif location.startswith("vllm:"):
            kind, location = "vllm", location[len("vllm:") :]
            if not location:
                raise ModelError(f"model spec {raw!r}: name a model directory or hub id after vllm:")
        return cls(location.strip(), kind, values.get("name"), values.get("base"), values.get("revision"), values.get("dtype"))

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return f"openai:{self.location}" if self.kind == "openai" else self.location.rstrip("/")


@dataclass(frozen=True)
class Resolved:
    """Where the weights come from, after looking at the disk."""

    model: str
    """Full-model location (directory or hub id): the base when `adapter` is set."""
    adapter: str | None
    """PEFT adapter directory, or None for a full model."""
    tokenizer: str
    """Where to load the tokenizer from (the adapter dir if it ships one)."""


def _looks_local(location: str) -> bool:
    return location.startswith((".", "/", "~")) or location.endswith("/") or "\\" in location


def resolve(spec: ModelSpec) -> Resolved:
    """Check a spec against the disk; raise ModelError saying what is wrong and how to fix it."""
    if spec.kind != "hf":
        raise ModelError(f"{spec.display_name}: not a local/hub model")
    path = Path(spec.location).expanduser()
    if path.is_dir():
        if (path / "adapter_config.json").is_file():
            base = spec.base or _adapter_base(path)
            if spec.base is None and not Path(base).expanduser().exists() and (path / base).is_dir():
                # a relative base in adapter_config.json written next to the run (e.g. "../base"):
                # the checkpoint folder is what it was relative to, not today's working directory
                base = str((path / base).resolve())
            _check_base(path, base, explicit=spec.base is not None)
            has_tok = (path / "tokenizer_config.json").is_file() or (path / "tokenizer.json").is_file()
            return Resolved(base, str(path), str(path) if has_tok else base)
        if (path / "config.json").is_file():
            return Resolved(str(path), None, str(path))
        ckpts = sorted((p.name for p in path.glob("checkpoint-*") if p.is_dir()), key=_step)
        hint = f" (it holds {', '.join(ckpts[:3])}{'...' if len(ckpts) > 3 else ''}: pass one of those)" if ckpts else (
            " (point --model at the folder that holds config.json or adapter_config.json)"
        )
        raise ModelError(f"{spec.location}: directory is not a model: no config.json or adapter_config.json{hint}")
    if path.exists():
        raise ModelError(f"{spec.location}: is a file; pass the model's directory or a hub id")
    if _looks_local(spec.location) or not _HUB_ID.match(spec.location):
        raise ModelError(f"{spec.location}: no such directory (check the path)")
    return Resolved(spec.location, None, spec.location)


def _step(name: str) -> tuple[int, str]:
    tail = name.rsplit("-", 1)[-1]
    return (int(tail), name) if tail.isdigit() else (2**62, name)


def _adapter_base(path: Path) -> str:
    try:
        config = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ModelError(f"{path}/adapter_config.json: unreadable ({err})") from None
    base = config.get("base_model_name_or_path") if isinstance(config, dict) else None
    if not isinstance(base, str) or not base:
        raise ModelError(
            f"{path}/adapter_config.json: no base_model_name_or_path; "
            f"name the base model with --model '{path},base=BASE'"
        )
    return base


def _check_base(adapter: Path, base: str, *, explicit: bool) -> None:
    base_path = Path(base).expanduser()
    if base_path.is_dir():
        if not (base_path / "config.json").is_file():
            raise ModelError(f"adapter {adapter}: base model {base} has no config.json; pass the base with --model '{adapter},base=PATH'")
        return
    if _looks_local(base) or not _HUB_ID.match(base):
        source = "given with base=" if explicit else "named in adapter_config.json (base_model_name_or_path)"
        raise ModelError(
            f"adapter {adapter}: base model {base} {source} was not found; "
            f"pass the base with --model '{adapter},base=PATH_OR_HUB_ID'"
        )


def weights_stamp(location: str) -> list[tuple[str, int, int]]:
    """Name, size and modification time of a local model's weight files (cheap, unlike hashing
    gigabytes); empty for hub ids."""
    folder = Path(location).expanduser()
    if not folder.is_dir():
        return []
    files = [f for pattern in ("*.safetensors", "*.bin", "*.pt") for f in folder.glob(pattern)]
    return sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)
