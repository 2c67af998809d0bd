"""Running a judge's calls: bounded concurrency over the cached call, one meter per judge
(calls sent, answered from the cache, failed) feeding the progress bar, and a stop when a
judge fails on every one of its first calls (a wrong URL or a server that is down should end
the run in one line, not after a thousand timeouts).

Retries of 429s, 5xx and timeouts are the backend's (the OpenAI client's exponential backoff);
a call that still fails is recorded on its judgment as unscored with the reason, and is not
cached, so the next run asks it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tunecheck._progress import Progress, start
from tunecheck.errors import ModelError
from tunecheck.judge._cache import CachedCalls, JudgeUsage
from tunecheck.models._protocol import ChatReply

U = TypeVar("U")
R = TypeVar("R")

FAIL_FAST = 5
"""A judge whose first this-many calls all fail is not working: stop with its error."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens, prompt and completion (`--price-per-mtok IN,OUT`)."""

    prompt: float
    completion: float

    def cost(self, usage: JudgeUsage) -> float:
        return (usage.prompt_tokens * self.prompt + usage.completion_tokens * self.completion) / 1e6

    def saved(self, usage: JudgeUsage) -> float:
        """What the cached answers would have cost again."""
        return (usage.cached_prompt_tokens * self.prompt + usage.cached_completion_tokens * self.completion) / 1e6


class CallFailed(Exception):
    """A judge call that failed after the backend's retries (its one-line reason)."""


class Meter:
    """One judge's calls as the run sees them: counts for the progress bar and the report,
    and the fail-fast rule."""

    def __init__(self, name: str, calls: CachedCalls, task: Any = None) -> None:
        self.name = name
        self.calls = calls
        self._task = task
        self._lock = threading.Lock()
        self.done = self.failed = self.repairs = 0
        self.first_error: str | None = None
        self.stopped = False
        """Set when the fail-fast rule fired: later calls are not sent (a unit already picked up
        by a worker when the run stopped must not cost another round of timeouts)."""

    def __call__(self, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any], *, repair: bool = False) -> ChatReply:
        """One call; `repair`: the retry after an unusable answer, counted apart (the bar's total
        is the planned calls, which repairs would overrun)."""
        if self.stopped:
            raise CallFailed(f"not sent: judge {self.name} stopped after its first {FAIL_FAST} calls failed")
        if repair:
            with self._lock:
                self.repairs += 1
        try:
            reply = self.calls(messages, params)
        except ModelError as err:
            with self._lock:
                self.done += 1
                self.failed += 1
                self.first_error = self.first_error or str(err)
                stop = self.failed == self.done == FAIL_FAST
                self.stopped = self.stopped or stop
            self._advance(repair)
            if stop:
                raise ModelError(f"judge {self.name}: its first {FAIL_FAST} calls all failed: {self.first_error}") from None
            raise CallFailed(str(err)) from None
        with self._lock:
            self.done += 1
        self._advance(repair)
        return reply

    def track(self, progress: Progress | None, total: int) -> None:
        """Show this judge's calls on `progress`: `total` planned (repair retries come on top)."""
        self._task = start(progress, f"judging with {self.name}", total, unit="calls")

    def _advance(self, repair: bool = False) -> None:
        if self._task is not None:
            self._task.advance(0 if repair else 1)
            describe = getattr(self._task, "describe", None)
            if callable(describe):
                describe(self.description())

    def description(self) -> str:
        u = self.calls.usage()
        failed = f", {self.failed} failed" if self.failed else ""
        repairs = f", {self.repairs} retried" if self.repairs else ""
        return f"judging with {self.name} ({u.cached} cached{repairs}{failed})"

    def usage(self) -> JudgeUsage:
        return self.calls.usage()


@dataclass(frozen=True)
class Done(Generic[U, R]):
    index: int
    unit: U
    result: R


def run_parallel(units: Sequence[U], work: Callable[[U], R], *, concurrency: int) -> Iterator[Done[U, R]]:
    """`work(unit)` for every unit, at most `concurrency` at once, yielded as they finish.

    Submission is bounded (no more than 2 x concurrency queued), so a Ctrl-C or an error stops
    the run promptly: queued units are cancelled and only the calls in flight finish."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tunecheck-judge")
    pending: dict[Future[R], int] = {}
    it = iter(enumerate(units))
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < 2 * concurrency:
                nxt = next(it, None)
                if nxt is None:
                    exhausted = True
                    break
                pending[pool.submit(work, nxt[1])] = nxt[0]
            if not pending:
                return
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for f in finished:
                i = pending.pop(f)
                yield Done(i, units[i], f.result())
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
