"""Models: one spec syntax, one dispatch (`open_model`, `loaded`) and one protocol per operation
for every backend.

`HFModel` is exported to wrap a transformers model already in memory (a notebook's, a test's);
other backends are reached through their specs (`openai:NAME`, `vllm:PATH`). `open_model` keeps a
model open across several layers' calls (pass the object; close it yourself); `loaded` is the loop
the layers use. `Capability`, `Model` and `OnResult` are here because public signatures name them.
"""

from tunecheck.models._hf import HFModel
from tunecheck.models._hf_load import pick_device, pick_dtype
from tunecheck.models._open import loaded, open_model
from tunecheck.models._openai import ServerOptions
from tunecheck.models._prompt import (
    ChatRenderer,
    check_template,
    format_pair,
    format_prompt,
    format_text,
    prompt_kind,
)
from tunecheck.models._protocol import (
    CHAT,
    GENERATION,
    SCORING,
    TOKENS,
    Capability,
    ChatModel,
    ChatReply,
    Generation,
    GenerationModel,
    GenerationParams,
    GenerationRequest,
    LogLikelihoodModel,
    LoglikelihoodRequest,
    Model,
    OnResult,
    TokenModel,
    TokenScores,
)
from tunecheck.models._spec import ModelSpec, resolve, weights_stamp
from tunecheck.models._windows import check_windows

__all__ = [
    "CHAT",
    "GENERATION",
    "SCORING",
    "TOKENS",
    "Capability",
    "ChatModel",
    "ChatRenderer",
    "ChatReply",
    "Generation",
    "GenerationModel",
    "GenerationParams",
    "GenerationRequest",
    "HFModel",
    "LogLikelihoodModel",
    "LoglikelihoodRequest",
    "Model",
    "ModelSpec",
    "OnResult",
    "ServerOptions",
    "TokenModel",
    "TokenScores",
    "check_template",
    "check_windows",
    "format_pair",
    "format_prompt",
    "format_text",
    "loaded",
    "open_model",
    "pick_device",
    "pick_dtype",
    "prompt_kind",
    "resolve",
    "weights_stamp",
]
