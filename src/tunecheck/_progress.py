"""Progress reporting that the library can call without knowing who is watching.

The CLI passes a Rich progress bar (on stderr, so JSON on stdout stays clean); when stderr is
not a terminal (a log file, CI, nohup) the bar would draw nothing, so plain lines go there
instead. Notebooks get one by default; tests and batch jobs pass None.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO


class Progress(Protocol):
    def task(self, description: str, total: int, unit: str | None = None) -> _Task: ...


class _Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass


def _rate_column_class() -> type:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def __init__(self, unit: str) -> None:
            super().__init__()
            self.unit = unit

        def render(self, task: object) -> Text:
            speed = getattr(task, "speed", None)
            unit = getattr(task, "fields", {}).get("unit", self.unit)
            return Text(f"{speed:,.1f} {unit}/s" if speed else "", style="progress.data.speed")

    return RateColumn


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


QUIET_S = 1.0
"""Seconds into a task before its intermediate lines start."""


class LineProgress:
    """Progress as plain lines, for logs: one every `every_pct` percent or `every_s` seconds
    (whichever comes first) and one when a task is done, each with done/total, rate and ETA."""

    def __init__(self, stream: TextIO | None = None, unit: str = "tok", *, every_pct: float = 10.0, every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.unit, self.every_pct, self.every_s, self.clock = unit, every_pct, every_s, clock

    @contextmanager
    def running(self) -> Iterator[LineProgress]:
        yield self

    def task(self, description: str, total: int, unit: str | None = None) -> _LineTask:
        return _LineTask(self, description, total, unit or self.unit)

    def write(self, line: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()


class _LineTask:
    def __init__(self, owner: LineProgress, description: str, total: int, unit: str) -> None:
        self.owner, self.description, self.total, self.unit = owner, description, total, unit
        self.done = 0
        self.start = self.last_time = owner.clock()
        self.last_step = 0

    def describe(self, description: str) -> None:
        self.description = description

    def advance(self, n: int = 1) -> None:
        o = self.owner
        self.done += n
        now = o.clock()
        step = int(100 * self.done / self.total // o.every_pct) if self.total > 0 else 0
        finished = self.total > 0 and self.done >= self.total
        # a job that is over within a second gets its final line only: ten lines for a pass
        # that took 0.1 s are noise in a log
        early = now - self.start < QUIET_S
        if not (finished or (not early and (step > self.last_step or now - self.last_time >= o.every_s))):
            return
        self.last_step, self.last_time = step, now
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total > 0 else ""
        line = f"{self.description}: {self.done:,}/{self.total:,} {self.unit}{pct}"
        if rate:
            line += f", {rate:,.1f} {self.unit}/s"
        if finished:
            line += f", done in {_clock(elapsed)}"
        elif rate:
            line += f", ETA {_clock((self.total - self.done) / rate)}"
        o.write(line)


class RichProgress:
    """A Rich progress bar with rate and ETA, drawn on stderr; plain lines (`LineProgress`)
    when stderr is not a terminal."""

    def __init__(self, unit: str = "tok") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import (
            Progress as _RP,
        )

        _RateColumn = _rate_column_class()
        console = Console(stderr=True)
        self._rich = _RP(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(unit),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self._lines = None if console.is_terminal else LineProgress(unit=unit)

    @contextmanager
    def running(self) -> Iterator[RichProgress]:
        with self._rich:
            yield self

    def task(self, description: str, total: int, unit: str | None = None) -> _RichTask | _LineTask:
        if self._lines is not None:
            return self._lines.task(description, total, unit)
        task_id = self._rich.add_task(description, total=total, unit=unit) if unit else self._rich.add_task(description, total=total)
        return _RichTask(self._rich, task_id)


class _RichTask:
    def __init__(self, rich: object, task_id: object) -> None:
        self._rich = rich
        self._id = task_id

    def advance(self, n: int = 1) -> None:
        self._rich.advance(self._id, n)  # type: ignore[attr-defined]

    def describe(self, description: str) -> None:
        """New text for the task (counts that change as it runs: calls cached, failed)."""
        self._rich.update(self._id, description=description)  # type: ignore[attr-defined]


def start(progress: Progress | None, description: str, total: int, unit: str | None = None) -> _Task:
    """A task on `progress` (none: a no-op); `unit` names what `total` counts (default: the
    progress display's own, tokens), shown in the rate and in log lines."""
    if progress is None:
        return _NullTask()
    return progress.task(description, total, unit) if unit else progress.task(description, total)
