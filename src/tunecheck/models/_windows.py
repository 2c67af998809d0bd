"""Window planning for texts longer than the model's context (pure, token positions only).

A token sequence x_0..x_{T-1} starts with the conditioning token (BOS); targets are
x_f..x_{T-1}. A window feeds inputs x_a..x_{b-1} and yields predictions for x_{a+1}..x_b, of
which x_s..x_b are scored. The first window scores up to `max_length` targets (for a plain
text: x_1..x_max_length from BOS). Every later window scores the next `stride` targets and
keeps the `max_length - stride` tokens before them as context, so the forward passes cost
tokens x max_length / stride in all. Every target is scored exactly once; with
stride == max_length windows do not overlap and each window's first target is conditioned on
one token (the previous window's last), as in lm-evaluation-harness's rolling log-likelihood.
One difference from lm-evaluation-harness: it refills the last window of a long text with
already-scored tokens up to max_length; here the last window gets the same context as the
others, so texts longer than max_length can score slightly differently (the cost of scoring
stays one forward position per token: refilling cost up to 20% more on the benchmark's texts).
(A first window that starts inside a long prompt, in completion-only scoring, is filled with
as much of the prompt as fits.)
"""

from __future__ import annotations

from typing import NamedTuple

from tunecheck.errors import ConfigError


class Window(NamedTuple):
    start: int
    """a: first input position."""
    end: int
    """b: last target position; inputs are a..b-1, targets a+1..b."""
    score_from: int
    """s: first scored target position (s > a)."""


def plan_windows(length: int, first_target: int, max_length: int, stride: int) -> list[Window]:
    """Windows covering targets first_target..length-1 exactly once."""
    if max_length < 1:
        raise ConfigError(f"--max-length must be at least 1, got {max_length}")
    if not 1 <= stride <= max_length:
        raise ConfigError(f"--stride must be between 1 and --max-length ({max_length}), got {stride}")
    if first_target < 1:
        raise ValueError("the first target needs at least one token before it")
    last = length - 1
    windows: list[Window] = []
    start = first_target
    end = min(last, max(first_target + stride - 1, max_length))
    context = max_length - stride
    first = True
    while start <= last:
        begin = max(0, end - max_length) if first else max(0, start - 1 - context)
        windows.append(Window(begin, end, start))
        first = False
        start = end + 1
        end = min(last, end + stride)
    return windows
