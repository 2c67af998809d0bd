"""Models: one spec syntax and one protocol for every backend."""

from tunecheck.models._hf import (
    DTYPES,
    HFModel,
    load_model,
    pick_device,
    pick_dtype,
    release_memory,
)
from tunecheck.models._openai import OpenAIModel
from tunecheck.models._prompt import (
    TEMPLATES,
    ChatRenderer,
    check_template,
    format_pair,
    format_prompt,
    format_text,
    prompt_kind,
)
from tunecheck.models._protocol import (
    Generation,
    GenerationModel,
    GenerationParams,
    GenerationRequest,
    LogLikelihoodModel,
    LoglikelihoodRequest,
    OnResult,
    TokenScores,
)
from tunecheck.models._spec import ModelSpec, resolve, weights_stamp
from tunecheck.models._vllm import VLLMModel, vllm_available
from tunecheck.models._windows import WINDOWS, Window, check_windows, plan_windows

__all__ = [
    "DTYPES",
    "TEMPLATES",
    "WINDOWS",
    "ChatRenderer",
    "Generation",
    "GenerationModel",
    "GenerationParams",
    "GenerationRequest",
    "HFModel",
    "LogLikelihoodModel",
    "LoglikelihoodRequest",
    "ModelSpec",
    "OnResult",
    "OpenAIModel",
    "TokenScores",
    "VLLMModel",
    "Window",
    "check_template",
    "check_windows",
    "format_pair",
    "format_prompt",
    "format_text",
    "load_model",
    "pick_device",
    "pick_dtype",
    "plan_windows",
    "prompt_kind",
    "release_memory",
    "resolve",
    "vllm_available",
    "weights_stamp",
]
