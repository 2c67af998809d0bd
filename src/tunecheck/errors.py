"""tunecheck's exceptions, one tree so the CLI can catch them once.

    TunecheckError            anything the user can fix; the CLI prints one line and exits 2
    ├── DataError             an eval/train file or dataset is unreadable or malformed
    ├── ModelError            a model spec cannot be resolved or loaded
    └── ConfigError           an option or option combination is invalid

Messages say what went wrong, where (file, line, field) and how to fix it.
"""

from __future__ import annotations


class TunecheckError(Exception):
    """Base class: an error in the user's input, reported without a traceback."""


class DataError(TunecheckError):
    """A data file or dataset cannot be used as given."""


class ModelError(TunecheckError):
    """A model spec cannot be resolved or the model cannot be loaded."""


class ConfigError(TunecheckError):
    """An option value is invalid."""
