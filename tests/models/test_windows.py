import random

import pytest

from tunecheck.errors import ConfigError
from tunecheck.models import Window, plan_windows


def test_short_text_is_one_window():
    # BOS + 5 tokens: positions 0..5, targets 1..5, all in one window from BOS
    assert plan_windows(6, 1, max_length=8, stride=8) == [Window(0, 5, 1)]


def test_disjoint_windows_with_default_stride():
    # 10 tokens (positions 0..10), max_length 4, stride 4:
    # targets 1-4 from inputs 0-3; 5-8 from inputs 4-7; 9-10 from inputs 8-9: no overlap, so
    # the forward passes cost exactly one position per scored token
    assert plan_windows(11, 1, 4, 4) == [Window(0, 4, 1), Window(4, 8, 5), Window(8, 10, 9)]


def test_stride_keeps_context():
    # stride 2: after the first window, each window scores 2 new tokens with 4 - 2 = 2 tokens of
    # extra context (inputs a..b-1 with b - a = 4)
    assert plan_windows(11, 1, 4, 2) == [Window(0, 4, 1), Window(2, 6, 5), Window(4, 8, 7), Window(6, 10, 9)]


def test_completion_window_keeps_prompt_context():
    # a 6-token prompt (positions 0..6 with BOS), response targets 7..9, max_length 4, stride 2:
    # the first window scores 7-8 with as much prompt as fits (inputs 4-7); the second scores 9
    # with 4 - 2 = 2 tokens of context before its own input (inputs 6-8)
    assert plan_windows(10, 7, 4, 2) == [Window(4, 8, 7), Window(6, 9, 9)]


def test_every_target_scored_exactly_once_and_windows_fit():
    rng = random.Random(0)
    for _ in range(2000):
        length = rng.randint(2, 60)
        first = rng.randint(1, length - 1)
        max_length = rng.randint(1, 20)
        stride = rng.randint(1, max_length)
        windows = plan_windows(length, first, max_length, stride)
        scored = [t for w in windows for t in range(w.score_from, w.end + 1)]
        assert scored == list(range(first, length))
        for w in windows:
            assert 0 <= w.start < w.score_from <= w.end
            assert w.end - w.start <= max_length
        # after the first window, exactly max_length - stride tokens of context (when available)
        for w in windows[1:]:
            assert w.score_from - 1 - w.start == min(max_length - stride, w.score_from - 1)


def test_bad_stride():
    with pytest.raises(ConfigError, match="--stride"):
        plan_windows(10, 1, 4, 5)
    with pytest.raises(ConfigError, match="--stride"):
        plan_windows(10, 1, 4, 0)
