"""Backend dispatch: the one place a model spec becomes a backend, and the one loop that loads a
model, lets a layer use it, and frees it.

    hf (a local dir, hub id, adapter dir or GGUF file)   scoring, generation, token ids, chat
    openai:MODEL (an OpenAI-compatible server)           generation, chat, scoring (servers that
                                                         echo prompt log-probabilities: vLLM's)
    vllm:PATH (vLLM's offline engine)                    generation, chat, scoring (prompt_logprobs)

A spec whose backend cannot do what the layer needs is refused before anything loads, with one
line naming the backend and what to pass instead. This module imports no heavy library: each
backend imports its own where it loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tunecheck.errors import ModelError
from tunecheck.models._openai import ServerOptions
from tunecheck.models._protocol import Capability, M, Model
from tunecheck.models._spec import Kind, ModelSpec

# What each backend can do (Capability.name), and what to use instead where it cannot.
_CAN: dict[Kind, frozenset[str]] = {
    "hf": frozenset({"scoring", "generation", "tokens", "chat"}),
    # scoring: only servers whose /v1/completions echoes the prompt's log-probabilities (vLLM's
    # `vllm serve`); the others are refused at the first request, with one line
    "openai": frozenset({"scoring", "generation", "chat"}),
    "vllm": frozenset({"scoring", "generation", "chat"}),
}
_INSTEAD: dict[Kind, str] = {
    "openai": "a server gives no exact token ids; pass the model's weights instead "
    "(its local directory, hub id, adapter directory or GGUF file)",
    "vllm": "drop the vllm: prefix to load it with the Hugging Face backend",
}


def open_model(
    spec: str | ModelSpec,
    need: Capability[M],
    *,
    layer: str,
    dtype: str = "auto",
    device: str = "auto",
    server: ServerOptions | None = None,
) -> M:
    """The backend `spec` names, as the protocol `need` asks for (`layer` names the command in
    the refusal). Loading the weights is the caller's cost to release: see `loaded`."""
    parsed = ModelSpec.parse(spec)
    if need.name not in _CAN[parsed.kind]:
        raise ModelError(
            f"{parsed.display_name}: {layer} needs {need.does}, which the {parsed.kind} backend cannot do; "
            f"{_INSTEAD[parsed.kind]}"
        )
    model: Model
    if parsed.kind == "openai":
        from tunecheck.models._openai import OpenAIModel

        if parsed.base_url:
            from dataclasses import replace

            server = replace(server or ServerOptions(), base_url=parsed.base_url)
        model = OpenAIModel(parsed.location, name=parsed.name, server=server)
    elif parsed.kind == "vllm":
        from tunecheck.models._vllm import VLLMModel

        model = VLLMModel(parsed, dtype=dtype)
    else:
        from tunecheck.models._hf_load import load_hf

        model = load_hf(parsed, dtype=dtype, device=device)
    return need.of(model, layer)


@contextmanager
def loaded(
    item: str | ModelSpec | M,
    need: Capability[M],
    *,
    layer: str,
    dtype: str = "auto",
    device: str = "auto",
    server: ServerOptions | None = None,
) -> Iterator[M]:
    """A model for the length of a `with` block: a spec is opened (`open_model`) and closed and
    its memory freed afterwards, on error too, so comparing a base and a tuned 8B model needs
    the memory of one; a model object is checked against `need` and left open (its owner
    closes it)."""
    if isinstance(item, (str, ModelSpec)):
        model = open_model(item, need, layer=layer, dtype=dtype, device=device, server=server)
        try:
            yield model
        finally:
            model.close()
            del model
            release_memory()
    else:
        yield need.of(item, layer)


def release_memory() -> None:
    """Free a closed model's memory now, so the next model of a comparison fits."""
    import gc
    import sys

    gc.collect()
    torch = sys.modules.get("torch")  # nothing to empty if torch never loaded
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
