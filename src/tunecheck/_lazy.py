"""Heavy libraries imported on first use, so `tunecheck --help` and the errors that need no
model answer at once (scipy.stats alone takes about half a second to import)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands for a module until an attribute is read; then imports it (once: later reads are
    a `sys.modules` lookup) and reads the attribute from the real module."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


def lazy_module(name: str) -> ModuleType:
    """`name` (e.g. "scipy.stats"), imported when first used. Annotate through the real import
    under `TYPE_CHECKING` where its types are needed."""
    return _LazyModule(name)
