"""Progress reporting that the library can call without knowing who is watching.

The CLI passes a Rich progress bar (on stderr, so JSON on stdout stays clean); notebooks get
one by default; tests and batch jobs pass None.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def task(self, description: str, total: int) -> _Task: ...


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
            return Text(f"{speed:,.0f} {self.unit}/s" if speed else "", style="progress.data.speed")

    return RateColumn


class RichProgress:
    """A Rich progress bar with rate and ETA, drawn on stderr."""

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

    @contextmanager
    def running(self) -> Iterator[RichProgress]:
        with self._rich:
            yield self

    def task(self, description: str, total: int) -> _RichTask:
        return _RichTask(self._rich, self._rich.add_task(description, total=total))


class _RichTask:
    def __init__(self, rich: object, task_id: object) -> None:
        self._rich = rich
        self._id = task_id

    def advance(self, n: int = 1) -> None:
        self._rich.advance(self._id, n)  # type: ignore[attr-defined]


def start(progress: Progress | None, description: str, total: int) -> _Task:
    return progress.task(description, total) if progress is not None else _NullTask()
