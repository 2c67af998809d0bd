"""Window planning for texts longer than the model's context (pure, token positions only).

A token sequence x_0..x_{T-1} starts with the conditioning token (BOS); targets are
x_f..x_{T-1}. A window feeds inputs x_a..x_{b-1} and yields predictions for x_{a+1}..x_b, of
which x_s..x_b are scored. The first window scores up to `max_length` targets (for a plain
text: x_1..x_max_length from BOS); every later window scores the next `stride` targets (the
last one what is left). Every target is scored exactly once. What differs is the context of
the windows after the first:

- "lm-eval" (the default): lm-evaluation-harness's rolling log-likelihood
  (`get_rolling_token_windows` + `make_disjoint_window` in lm_eval/utils.py, with
  `context_len = max_length - stride + 1`): every window is filled to `max_length` inputs with
  the tokens before its targets, the last window included, which is refilled with
  already-scored context. Numbers then equal lm-evaluation-harness's (and its published ones)
  on texts longer than `max_length`; the refilled last window costs up to `max_length - stride`
  extra forward positions per text (24% more positions in all on benchmarks/perplexity.py's
  texts, 48 of 115 of them longer than 512 tokens).
- "fixed": every window after the first keeps exactly `max_length - stride` tokens of context,
  the last one too, so scoring costs one forward position per token when stride == max_length.
  A long text's last window then sees less context than lm-evaluation-harness gives it (word
  perplexity differed by 1.3e-3 relative at --max-length 256 on a real model).

With stride == max_length windows do not overlap. (A first window that starts inside a long
prompt, in completion-only scoring, is filled with as much of the prompt as fits.)
"""

from __future__ import annotations

from typing import NamedTuple

from tunecheck.errors import ConfigError

WINDOWS = ("lm-eval", "fixed")
"""How the windows after the first are filled with context (see the module docstring)."""


class Window(NamedTuple):
    start: int
    """a: first input position."""
    end: int
    """b: last target position; inputs are a..b-1, targets a+1..b."""
    score_from: int
    """s: first scored target position (s > a)."""


def check_windows(windows: str) -> str:
    if windows not in WINDOWS:
        raise ConfigError(f"--windows {windows!r}: use one of {', '.join(WINDOWS)}")
    return windows


def plan_windows(length: int, first_target: int, max_length: int, stride: int, windows: str = "lm-eval") -> list[Window]:
    """Windows covering targets first_target..length-1 exactly once."""
    if max_length < 1:
        raise ConfigError(f"--max-length must be at least 1, got {max_length}")
    if not 1 <= stride <= max_length:
        raise ConfigError(f"--stride must be between 1 and --max-length ({max_length}), got {stride}")
    check_windows(windows)
    if first_target < 1:
        raise ValueError("the first target needs at least one token before it")
    refill = windows == "lm-eval"
    last = length - 1
    plan: list[Window] = []
    start = first_target
    end = min(last, max(first_target + stride - 1, max_length))
    context = max_length - stride
    first = True
    while start <= last:
        begin = max(0, end - max_length) if first or refill else max(0, start - 1 - context)
        plan.append(Window(begin, end, start))
        first = False
        start = end + 1
        end = min(last, end + stride)
    return plan
