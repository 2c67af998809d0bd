import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunecheck.errors import ConfigError
from tunecheck.models._windows import Window, plan_windows


def test_short_text_is_one_window():
    # BOS + 5 tokens: positions 0..5, targets 1..5, all in one window from BOS
    assert plan_windows(6, 1, max_length=8, stride=8) == [Window(0, 5, 1)]


def test_disjoint_windows_with_default_stride():
    # 10 tokens (positions 0..10), max_length 4, stride 4, fixed context:
    # targets 1-4 from inputs 0-3; 5-8 from inputs 4-7; 9-10 from inputs 8-9: no overlap, so
    # the forward passes cost exactly one position per scored token
    assert plan_windows(11, 1, 4, 4, "fixed") == [Window(0, 4, 1), Window(4, 8, 5), Window(8, 10, 9)]


def test_lm_eval_refills_the_last_window():
    # the same text with lm-evaluation-harness's windows (the default): the last window still
    # scores only 9-10 but is refilled to 4 inputs, 6-9 (positions 6-8 were scored before)
    assert plan_windows(11, 1, 4, 4) == [Window(0, 4, 1), Window(4, 8, 5), Window(6, 10, 9)]


def test_stride_keeps_context():
    # stride 2: after the first window, each window scores 2 new tokens with 4 - 2 = 2 tokens of
    # extra context (inputs a..b-1 with b - a = 4)
    assert plan_windows(11, 1, 4, 2, "fixed") == [Window(0, 4, 1), Window(2, 6, 5), Window(4, 8, 7), Window(6, 10, 9)]
    # 12 tokens: the last window scores only target 11; fixed keeps 2 tokens of context before
    # its input (inputs 8-10), lm-eval refills it to 4 inputs (7-10)
    assert plan_windows(12, 1, 4, 2, "fixed")[-1] == Window(8, 11, 11)
    assert plan_windows(12, 1, 4, 2)[-1] == Window(7, 11, 11)


def test_completion_window_keeps_prompt_context():
    # a 6-token prompt (positions 0..6 with BOS), response targets 7..9, max_length 4, stride 2:
    # the first window scores 7-8 with as much prompt as fits (inputs 4-7); the second scores 9
    # with 4 - 2 = 2 tokens of context before its own input (inputs 6-8), or refilled to 4
    # inputs (5-8) with lm-eval windows
    assert plan_windows(10, 7, 4, 2, "fixed") == [Window(4, 8, 7), Window(6, 9, 9)]
    assert plan_windows(10, 7, 4, 2) == [Window(4, 8, 7), Window(5, 9, 9)]


def _lm_eval_windows(length: int, max_length: int, stride: int) -> list[Window]:
    """lm-evaluation-harness's own windows for a text of positions 0..length-1 (0 = the prefix
    token), as HFLM.loglikelihood_rolling builds them (context_len = max_length - stride + 1;
    HFLM uses 1, i.e. stride == max_length) and _loglikelihood_tokens feeds them: inputs are
    (context + continuation)[-(max_length + 1):][:-1], the last len(continuation) are scored."""
    from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

    tokens = list(range(1, length))  # token t stands for position t: windows come back as positions
    out = []
    for context, pred in map(make_disjoint_window, get_rolling_token_windows(tokens, 0, max_length, max_length - stride + 1)):
        inputs = (context + pred)[-(max_length + 1) :][:-1]
        assert inputs == list(range(inputs[0], inputs[0] + len(inputs)))  # contiguous positions
        out.append(Window(inputs[0], pred[-1], pred[0]))
    return out


def test_windows_equal_lm_evaluation_harness():
    cases = [(length, m, s) for length in (2, 3, 5, 9, 17, 33, 64, 100, 257) for m in (1, 2, 4, 7, 16, 256) for s in {1, m // 2 or 1, m}]
    for length, max_length, stride in cases:
        assert plan_windows(length, 1, max_length, stride) == _lm_eval_windows(length, max_length, stride), (length, max_length, stride)


def test_fixed_and_lm_eval_differ_only_in_the_last_window():
    rng = random.Random(1)
    for _ in range(500):
        length, max_length = rng.randint(2, 80), rng.randint(1, 20)
        stride = rng.randint(1, max_length)
        a, b = plan_windows(length, 1, max_length, stride, "fixed"), plan_windows(length, 1, max_length, stride)
        assert a[:-1] == b[:-1] and a[-1].end == b[-1].end and a[-1].score_from == b[-1].score_from


def test_unknown_windows_is_a_config_error():
    with pytest.raises(ConfigError, match="--windows 'rolling': use one of lm-eval, fixed"):
        plan_windows(10, 1, 4, 4, "rolling")


@pytest.mark.parametrize("windows", ["lm-eval", "fixed"])
def test_every_target_scored_exactly_once_and_windows_fit(windows):
    rng = random.Random(0)
    for _ in range(2000):
        length = rng.randint(2, 60)
        first = rng.randint(1, length - 1)
        max_length = rng.randint(1, 20)
        stride = rng.randint(1, max_length)
        plan = plan_windows(length, first, max_length, stride, windows)
        scored = [t for w in plan for t in range(w.score_from, w.end + 1)]
        assert scored == list(range(first, length))
        for w in plan:
            assert 0 <= w.start < w.score_from <= w.end
            assert w.end - w.start <= max_length
        for w in plan[1:]:
            if windows == "fixed":  # exactly max_length - stride tokens of context (when available)
                assert w.score_from - 1 - w.start == min(max_length - stride, w.score_from - 1)
            else:  # filled to max_length inputs (when available)
                assert w.end - w.start == min(max_length, w.end)


def test_bad_stride():
    with pytest.raises(ConfigError, match="--stride"):
        plan_windows(10, 1, 4, 5)
    with pytest.raises(ConfigError, match="--stride"):
        plan_windows(10, 1, 4, 0)


def test_completion_first_window_is_filled_with_prompt_when_windows_do_not_overlap():
    # a 6-token prompt (positions 0..6), targets 7..9, max_length 4 = stride (no context kept
    # for later windows): the first window still takes as much prompt as fits, inputs 5-8
    # (4 inputs, predictions 6-9, 7-9 scored), not only the one token before its first target
    assert plan_windows(10, 7, 4, 4, "fixed") == [Window(5, 9, 7)]
    assert plan_windows(10, 7, 4, 4) == [Window(5, 9, 7)]


def test_bad_max_length_and_first_target():
    with pytest.raises(ConfigError, match="--max-length must be at least 1, got 0"):
        plan_windows(10, 1, 0, 1)
    with pytest.raises(ValueError, match="needs at least one token before it"):
        plan_windows(10, 0, 4, 4)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=2, max_value=400),
    st.integers(min_value=1, max_value=64),
    st.data(),
    st.sampled_from(["lm-eval", "fixed"]),
)
def test_property_every_token_scored_exactly_once(length, max_length, data, windows):
    # any length / max_length / stride / first target: the scored spans tile first..length-1
    # with no gap and no overlap, and no window is longer than max_length inputs
    stride = data.draw(st.integers(min_value=1, max_value=max_length))
    first = data.draw(st.integers(min_value=1, max_value=length - 1))
    plan = plan_windows(length, first, max_length, stride, windows)
    scored = [t for w in plan for t in range(w.score_from, w.end + 1)]
    assert scored == list(range(first, length))
    assert all(0 <= w.start < w.score_from <= w.end and w.end - w.start <= max_length for w in plan)
