"""Pairwise statistics from judgments: orientation, position bias, ties, lengths, leaderboard."""

from __future__ import annotations

import pytest

from tunecheck.core import Verdict
from tunecheck.judge import Order, PairJudgment
from tunecheck.judge._versus import leaderboard, pair_stats, pooled_outcomes
from tunecheck.stats import length_controlled_win_rate


def _pair(sid: str, first: int | None, swapped: int | None, la: int = 100, lb: int = 100, judge: str = "j",
          a: str = "base", b: str = "tuned") -> PairJudgment:
    return PairJudgment(judge, a, b, sid, 0, Order(a, first, error=None if first is not None else "no verdict"),
                        Order(b, swapped, error=None if swapped is not None else "no verdict"), la, lb)


def _ten() -> list[PairJudgment]:
    return (
        [_pair(f"w{i}", 1, 1, 100, 120 + i) for i in range(6)]   # the model better in both orders
        + [_pair("l0", -1, -1, 90, 80)]                          # the baseline better in both
        + [_pair(f"f{i}", -1, 1) for i in range(2)]              # the first shown wins, whichever it is
        + [_pair("t0", 0, 0)]                                    # a tie in both
        + [_pair("u0", 1, None)]                                 # one order unusable: left out
    )


def test_pair_stats_by_hand() -> None:
    st = pair_stats(_ten(), five_way=False, n_resamples=2000, seed=0)
    assert (st.wins, st.ties, st.losses, st.judged, st.unscored) == (6, 3, 1, 10, 1)
    assert st.win_rate.value == pytest.approx((6 + 3 / 2) / 10)
    assert st.p_value == pytest.approx(16 / 128)  # exact sign test, 6 wins of 7: 2 x (1 + 7) / 2^7
    assert st.verdict == Verdict.INCONCLUSIVE
    assert st.position_consistency == pytest.approx(8 / 10)  # the two flips are inconsistent
    assert st.position_inconsistent == 2
    # decisive verdicts: 2 per win, loss and flip sample = 18; won by the first shown: 6 + 1 + 4
    assert st.first_position_win_rate == pytest.approx(11 / 18)
    ids = sorted(p.sample_id for p in _ten() if p.usable)
    outcome = {f"w{i}": 1 for i in range(6)} | {"l0": -1, "f0": 0, "f1": 0, "t0": 0}
    lens = {p.sample_id: (p.length_baseline, p.length_model) for p in _ten()}
    lc = length_controlled_win_rate([outcome[i] for i in ids], [lens[i][0] for i in ids], [lens[i][1] for i in ids],
                                    n_resamples=2000, seed=0)
    assert st.length_controlled_win_rate.value == pytest.approx(lc.win_rate.value)
    assert st.mean_length_model == pytest.approx(sum(lens[i][1] for i in ids) / 10)
    s = st.summary()
    for key in ("wins", "ties", "losses", "win_rate", "win_rate_ci95", "p_value", "position_consistency",
                "first_position_win_rate", "length_controlled_win_rate", "length_controlled_win_rate_ci95", "verdict"):
        assert key in s
    [raw, lcc] = st.comparisons()
    assert raw.metric == "win_rate" and raw.difference == pytest.approx(0.25) and raw.tests["wins"] == 6
    assert lcc.metric == "length_controlled_win_rate" and lcc.baseline_value == 0.5


def test_a_clear_win_is_improved_and_the_note_flags_length() -> None:
    # 20 wins, all with longer answers, 10 ties at equal length: raw improved; at equal length the
    # fit (ties at zero length difference, y = 1/2) puts the win rate at exactly 0.5, with a CI
    # collapsed onto it (separation): inconclusive, and the note says length may drive it
    pairs = [_pair(str(i), 1, 1, 100, 300) for i in range(20)] + [_pair(f"t{i}", 0, 0, 100, 100) for i in range(10)]
    st = pair_stats(pairs, five_way=False, n_resamples=2000, seed=0)
    assert st.verdict == Verdict.IMPROVED
    assert st.length_slope > 0
    assert st.length_controlled_win_rate.value == pytest.approx(0.5, abs=1e-6)
    assert st.length_controlled_verdict == Verdict.INCONCLUSIVE
    assert st.note is not None and "at equal length it is inconclusive" in st.note and "233 vs 100 characters" in st.note  # (20 x 300 + 10 x 100) / 30 vs 100


def test_pooled_outcomes_several_judges_majority() -> None:
    ps = [_pair("1", 1, 1, judge="a"), _pair("1", 1, 1, judge="b"), _pair("1", -1, -1, judge="c"),
          _pair("2", 1, 1, judge="a"), _pair("2", -1, -1, judge="b")]
    got = pooled_outcomes(ps)
    assert got["1"][0] == 1 and got["2"][0] == 0  # 2 of 3 for the model; a split panel is a tie


def test_five_way_weights() -> None:
    ps = [_pair("1", 2, 2), _pair("2", 2, 1), _pair("3", -1, -1)]
    got = pooled_outcomes(ps)
    assert got["1"][1] == pytest.approx(3.0) and got["2"][1] == pytest.approx(2.0) and got["3"][1] == pytest.approx(1.0)


def test_leaderboard_orders_models() -> None:
    ps = ([_pair(str(i), 1, 1, a="base", b="good") for i in range(8)] + [_pair("x", -1, -1, a="base", b="good")]
          + [_pair(str(i), -1, -1, a="base", b="bad") for i in range(8)] + [_pair("y", 1, 1, a="base", b="bad")])
    board = leaderboard(ps, length_controlled=False, n_resamples=500, seed=0)
    assert [r["model"] for r in board] == ["good", "base", "bad"]
    assert board[0]["score"] > 0 > board[2]["score"]
