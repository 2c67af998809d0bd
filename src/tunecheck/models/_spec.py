"""Model specs: one string names a model everywhere, CLI and API alike.

    ./out/checkpoint-500                 a local Hugging Face model directory
    meta-llama/Llama-3.2-1B              a hub id
    ./out/adapter                        a PEFT/LoRA adapter dir (has adapter_config.json): loaded on its base
    ./ft.Q4_K_M.gguf                     a GGUF file (llama.cpp / Ollama export), tokenizer included;
                                         also a folder holding exactly one .gguf and no config.json
    ./out/adapter,base=./base,name=ft    options after commas, as lm-evaluation-harness's model_args
    openai:MODEL                         a model on an OpenAI-compatible server (generation)
    vllm:./out/merged                    vLLM's offline engine, where installed (generation)

Options: name (display name), base (an adapter's base model), revision (hub revision),
dtype (per-model override of --dtype), base_url (an openai: model's own server).

GGUF files are dequantised to --dtype (float32 on the CPU) by transformers, so a quantised export
compares token for token with the unquantised model it came from; an adapter may name a GGUF file
as its base (`./adapter,base=./base.gguf`). Needs `pip install "tunecheck[gguf]"`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tunecheck.errors import ModelError
from tunecheck.models import _gguf

_OPTIONS = {"name", "base", "revision", "dtype", "base_url"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")

Kind = Literal["hf", "openai", "vllm"]


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model reference; `resolve()` checks it against the disk."""

    location: str
    """Local directory, GGUF file, hub id, or the model name after `openai:`."""
    kind: Kind = "hf"
    name: str | None = None
    """Display name in tables and JSON; defaults to the location."""
    base: str | None = None
    """For adapters: the base model, overriding adapter_config.json."""
    revision: str | None = None
    dtype: str | None = None
    base_url: str | None = None
    """For openai: specs, this model's server (overrides --base-url), so two judges can live on two servers."""

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
        if "base_url" in values and kind != "openai":
            raise ModelError(f"model spec {raw!r}: base_url=... is for openai: models on a server")
        return cls(location.strip(), kind, values.get("name"), values.get("base"), values.get("revision"), values.get("dtype"),
                   values.get("base_url"))

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
    gguf: str | None = None
    """The GGUF file the weights come from (then `model` is its folder), or None."""

    @property
    def tokenizer_gguf(self) -> str | None:
        """The GGUF file name to read the tokenizer from, when it comes from the GGUF file."""
        return Path(self.gguf).name if self.gguf and self.tokenizer == self.model else None


def _looks_local(location: str) -> bool:
    return location.startswith((".", "/", "~")) or location.endswith("/") or "\\" in location


def resolve(spec: ModelSpec) -> Resolved:
    """Check a spec against the disk; raise ModelError saying what is wrong and how to fix it."""
    if spec.kind != "hf":
        raise ModelError(f"{spec.display_name}: not a local/hub model")
    path = Path(spec.location).expanduser()
    gguf = _gguf.gguf_in(path)
    if gguf is not None:
        return Resolved(str(gguf.parent), None, str(gguf.parent), str(gguf))
    if path.is_dir():
        if (path / "adapter_config.json").is_file():
            base = spec.base or _adapter_base(path)
            if spec.base is None and not Path(base).expanduser().exists() and (path / base).exists():
                # a relative base in adapter_config.json written next to the run (e.g. "../base"):
                # the checkpoint folder is what it was relative to, not today's working directory
                base = str((path / base).resolve())
            _check_base(path, base, explicit=spec.base is not None)
            if Path(base).expanduser().exists():
                base = str(Path(base).expanduser())  # "~/base": transformers would read it as a hub id
            has_tok = (path / "tokenizer_config.json").is_file() or (path / "tokenizer.json").is_file()
            base_gguf = _gguf.gguf_in(Path(base).expanduser())
            if base_gguf is not None:
                folder = str(base_gguf.parent)
                return Resolved(folder, str(path), str(path) if has_tok else folder, str(base_gguf))
            return Resolved(base, str(path), str(path) if has_tok else base)
        if (path / "config.json").is_file():
            return Resolved(str(path), None, str(path))
        ckpts = sorted((p.name for p in path.glob("checkpoint-*") if p.is_dir()), key=_step)
        hint = f" (it holds {', '.join(ckpts[:3])}{'...' if len(ckpts) > 3 else ''}: pass one of those)" if ckpts else (
            " (point --model at the folder that holds config.json or adapter_config.json)"
        )
        raise ModelError(f"{spec.location}: directory is not a model: no config.json or adapter_config.json{hint}")
    if path.exists():
        raise ModelError(f"{spec.location}: is a file, not a model; pass the model's directory, a .gguf file or a hub id")
    if spec.location.lower().endswith(".gguf"):  # a file name, never a hub id
        raise ModelError(f"{spec.location}: no such GGUF file (check the path)")
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
    if _gguf.gguf_in(base_path) is not None:
        return
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


def weights_stamp(location: str) -> list[tuple[str, int, int | str]]:
    """Name, size and modification time of a local model's weight files (cheap, unlike hashing
    gigabytes); for a GGUF file, name, size and sha256 (hashed once, see `_gguf.sha256`); empty for
    hub ids."""
    path = Path(location).expanduser()
    try:
        gguf = _gguf.gguf_in(path)
    except ModelError:  # several GGUF files: not a model spec, resolve() says so
        gguf = None
    if gguf is not None:
        return [(gguf.name, gguf.stat().st_size, _gguf.sha256(gguf))]
    if not path.is_dir():
        return []
    files = [f for pattern in ("*.safetensors", "*.bin", "*.pt") for f in path.glob(pattern)]
    return sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)


# ---- before loading: what from_pretrained would report badly ---------------------------------------
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "spiece.model", "vocab.txt")
_ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def check_files(where: Resolved) -> None:
    """Files a local model needs, named with the fix, before transformers reports their absence
    as "Couldn't instantiate the backend tokenizer" or a network error."""
    if where.adapter and not any((Path(where.adapter) / f).is_file() for f in _ADAPTER_WEIGHTS):
        raise ModelError(
            f"adapter {where.adapter}: has adapter_config.json but no adapter weights ({' or '.join(_ADAPTER_WEIGHTS)}); "
            f"the save is incomplete: save the adapter again with model.save_pretrained('{where.adapter}')"
        )
    tok = Path(where.tokenizer)
    if where.tokenizer_gguf is None and tok.is_dir() and not any((tok / f).is_file() for f in _TOKENIZER_FILES):
        raise ModelError(
            f"{where.tokenizer}: no tokenizer files (tokenizer.json or tokenizer_config.json); save the tokenizer "
            f"there with tokenizer.save_pretrained('{where.tokenizer}') (the Trainer does it when given processing_class=tokenizer)"
        )


def check_hub(repo: str, revision: str | None) -> None:
    """Fail fast, in one line, when a hub id can be neither found in the local cache nor fetched.

    Without this, huggingface_hub retries an unreachable hub for ~50 s, printing each retry,
    before transformers says what is wrong. The cache lookup and one short request decide."""
    if _looks_local(repo) or Path(repo).expanduser().exists():
        return
    import huggingface_hub
    from huggingface_hub.errors import (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(huggingface_hub.try_to_load_from_cache(repo, "config.json", revision=revision), str):
        return  # in the local cache: transformers loads it without the network
    if huggingface_hub.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise ModelError(
            f"{repo}: not a local folder and the hub cannot be reached: HF_HUB_OFFLINE is set and it is not in the "
            "local cache; pass a local model folder, or unset HF_HUB_OFFLINE to download it"
        )
    try:
        huggingface_hub.model_info(repo, revision=revision, timeout=10)
    except GatedRepoError:
        return  # transformers says how to get access
    except RevisionNotFoundError:
        raise ModelError(f"{repo}: the hub has no revision {revision!r} of this model; check revision=") from None
    except RepositoryNotFoundError:
        raise ModelError(
            f"{repo}: not a local folder and no such model on the hub (check the id and the path; "
            "for a private model, log in with `hf auth login`)"
        ) from None
    except Exception as err:  # connection refused, DNS, timeout, proxy: httpx and OSError alike
        text = str(err).strip().splitlines()
        raise ModelError(
            f"{repo}: not a local folder and the hub cannot be reached: {text[0] if text else type(err).__name__} "
            "(pass a local model folder, or check the network)"
        ) from None
