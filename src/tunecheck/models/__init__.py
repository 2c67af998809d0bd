"""Models: one spec syntax and one protocol for every backend."""

from tunecheck.models._hf import (
    DTYPES,
    HFModel,
    load_model,
    pick_device,
    pick_dtype,
    release_memory,
)
from tunecheck.models._prompt import (
    TEMPLATES,
    ChatRenderer,
    check_template,
    format_pair,
    format_text,
)
from tunecheck.models._protocol import LogLikelihoodModel, LoglikelihoodRequest, TokenScores
from tunecheck.models._spec import ModelSpec, resolve
from tunecheck.models._windows import Window, plan_windows

__all__ = [
    "DTYPES",
    "TEMPLATES",
    "ChatRenderer",
    "HFModel",
    "LogLikelihoodModel",
    "LoglikelihoodRequest",
    "ModelSpec",
    "TokenScores",
    "Window",
    "check_template",
    "format_pair",
    "format_text",
    "load_model",
    "pick_device",
    "pick_dtype",
    "plan_windows",
    "release_memory",
    "resolve",
]
