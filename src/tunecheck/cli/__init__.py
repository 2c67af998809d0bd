"""The `tunecheck` command: a thin layer over the library API."""

from tunecheck.cli._main import app, main

__all__ = ["app", "main"]
