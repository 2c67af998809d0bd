"""Keys from the keyboard for the terminal A/B: one key per press when stdin is a terminal
(cbreak mode: no Enter needed, Ctrl-C still interrupts, output unchanged), one line per key
otherwise (a pipe, a file of keys: "a" then Enter; an empty line is Enter)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO


@contextmanager
def terminal_keys(stream: TextIO | None = None) -> Iterator[Callable[[], str]]:
    """A `read_key` for `run_ab`; the terminal's settings are restored on the way out, whatever
    happens (Ctrl-C included). Returns "" at the end of input."""
    stream = stream or sys.stdin
    if not stream.isatty():
        yield _line_keys(stream)
        return
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    pending = ""

    def read_key() -> str:
        nonlocal pending
        if not pending:
            data = os.read(fd, 64)
            if not data:
                return ""
            pending = data.decode("utf-8", errors="replace")
        if pending.startswith("\x1b"):  # an arrow or function key: one key, not several
            key, pending = pending, ""
            return key
        key, pending = pending[0], pending[1:]
        return key

    try:
        tty.setcbreak(fd)
        yield read_key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _line_keys(stream: TextIO) -> Callable[[], str]:
    def read_key() -> str:
        line = stream.readline()
        if not line:
            return ""
        return line.strip() or "\n"

    return read_key
