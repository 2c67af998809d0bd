"""--device, checked when the config is built: a device this machine lacks is one line naming
the flag and what it takes, not a traceback from deep inside torch after the data is read."""

from __future__ import annotations

import re

from tunecheck.errors import ConfigError

_VALID = "auto, cpu, cuda, cuda:N or mps"


def check_device(device: str) -> str:
    """`device` if this machine has it; a ConfigError naming --device and the valid values otherwise."""
    if device in ("auto", "cpu"):
        return device
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match is None and device != "mps":
        raise ConfigError(f"--device {device!r}: unknown device; use {_VALID}")
    import torch

    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("--device mps: Apple's MPS is not available on this machine; use auto or cpu")
        return device
    if not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: CUDA is not available on this machine; use auto or cpu")
    if match is not None and match.group(1) is not None and int(match.group(1)) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ConfigError(f"--device {device}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    return device
