"""The `tunecheck` command: a thin layer over the library API."""

from tunecheck.cli._app import app
from tunecheck.cli._main import main

__all__ = ["app", "main"]
