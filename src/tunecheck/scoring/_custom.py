"""Custom metrics: a user's function `(prediction, sample) -> float | dict[str, float]`, named by
import path (`mypkg.metrics:brevity`) or file (`./metrics.py:brevity`).

A float result is one metric named after the function; a dict gives one metric per key. Set
`fn.higher_is_better = False` on the function for metrics where lower is better (e.g. length).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunecheck._files import check_input_file
from tunecheck.errors import ConfigError, DataError

MetricFn = Callable[[str, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class CustomMetric:
    path: str
    """As the user wrote it."""
    name: str
    fn: MetricFn
    higher_is_better: bool = True

    def __call__(self, prediction: str, sample: Mapping[str, Any], where: str) -> dict[str, float]:
        """The function's result as {metric name: value}; anything else is an error naming the row."""
        try:
            result = self.fn(prediction, sample)
        except Exception as err:
            raise DataError(f"{where}: custom metric {self.path} raised {type(err).__name__}: {err}") from None
        values = result if isinstance(result, Mapping) else {self.name: result}
        out: dict[str, float] = {}
        for key, value in values.items():
            if isinstance(value, bool):
                value = float(value)
            if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                raise DataError(
                    f"{where}: custom metric {self.path} returned {value!r} for {key!r}; it must return a finite number "
                    "or a dict of them"
                )
            out[str(key)] = float(value)
        return out


def load_custom(path: str) -> CustomMetric:
    """Import `module:function` or `file.py:function`."""
    target, sep, attr = path.rpartition(":")
    if not sep or not target or not attr:
        raise ConfigError(f"--metric {path!r}: write it as module:function or path/to/file.py:function")
    if target.endswith(".py") or "/" in target or "\\" in target:
        file = check_input_file(target, "Python file", f"--metric {path!r} needs file.py:function")  # never a FIFO
        name = f"tunecheck_custom_{abs(hash(str(file.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
            raise ConfigError(f"--metric {path!r}: cannot import {target}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            raise ConfigError(f"--metric {path!r}: importing {target} failed ({type(err).__name__}: {err})") from None
    else:
        try:
            module = importlib.import_module(target)
        except Exception as err:
            raise ConfigError(f"--metric {path!r}: cannot import module {target} ({type(err).__name__}: {err})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"--metric {path!r}: {target} has no function {attr}")
    return CustomMetric(path, attr, fn, bool(getattr(fn, "higher_is_better", True)))
