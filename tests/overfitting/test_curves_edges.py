"""analyse_curves at the edges its rules draw (boundaries found by mutation testing, tests/MUTANTS.md).

Expected values are worked out in the comments; epochs are step / 10 (make_curves)."""

from __future__ import annotations

import math

import pytest

from tests.overfitting.test_curves import DIVERGING, FALLING, make_curves
from tunecheck.overfitting import analyse_curves

CONVERGING = {20: 1.7, 40: 1.2, 60: 0.95, 80: 0.85, 100: 0.845}  # best = the last evaluation


def test_patience_one_is_allowed():
    # patience must be at least 1: 1 itself is valid
    r = analyse_curves(make_curves(FALLING, DIVERGING), patience=1)
    assert r.patience == 1


def test_noise_from_three_evaluations_and_none_from_two():
    # two evaluations: noise 0 -> min_delta = 1% of the best 0.9 = 0.009
    r = analyse_curves(make_curves(FALLING, {10: 1.0, 20: 0.9}))
    assert r.min_delta == pytest.approx(0.009)
    # the best is the last and fell 0.1 > max(0.009, 2% of 0.9) from the one before it
    assert r.recommendation.startswith("eval loss was still falling at the end")
    # three: 1.0, 0.8, 0.9 (best at index 1, fewer than 5 from the one before it: the whole curve);
    # the one residual |0.8 - median(1.0, 0.8, 0.9)| = 0.1, noise = sqrt(pi) * 0.1,
    # min_delta = 2 * noise = 0.2 sqrt(pi) = 0.3545 (> the floor 0.008)
    r = analyse_curves(make_curves(FALLING, {10: 1.0, 20: 0.8, 30: 0.9}))
    assert r.min_delta == pytest.approx(0.2 * math.sqrt(math.pi))


def test_two_training_points_are_enough_one_is_not():
    # two points: window max(1, ceil(0.2)) = 1, first 2.0, last 1.0: fell 50%
    r = analyse_curves(make_curves({10: 2.0, 20: 1.0}, CONVERGING))
    assert r.train is not None and (r.train.first, r.train.last) == (2.0, 1.0) and r.train_loss_decreased
    r = analyse_curves(make_curves({10: 2.0}, CONVERGING))
    assert not r.train_loss_decreased
    assert "only 1 finite training loss point(s): cannot tell whether it decreased (log more often: logging_steps)" in r.findings
    r = analyse_curves(make_curves({}, CONVERGING))
    assert not r.train_loss_decreased


def _spiky(spike_at: tuple[int, ...]) -> dict[int, float]:
    # 60 points of 1.0 at steps 1..60, 2.0 at the given indices (6+ apart). The noise: a spike's
    # residual against the median of it and its neighbours is 1, every other residual 0, so
    # noise = sqrt(pi) * n / 58 (0.092 for 3, 0.122 for 4); a spike rises 1.0 over the median 1.0
    # of the 5 before it, above max(0.5 * 1.0, 6 * noise = 0.55 or 0.73).
    return {i + 1: 2.0 if i in spike_at else 1.0 for i in range(60)}


SPIKE = "{}: 2.000 vs about 1.000 before"


def test_four_spikes_list_three_and_the_first_can_be_the_fourth_point():
    # index 3 (step 4) is the first point checked: the 3 before it are its reference
    r = analyse_curves(make_curves(_spiky((3, 13, 23, 33)), {}))
    shown = "; ".join(SPIKE.format(f"step {s}") for s in (4, 14, 24))
    assert (
        f"training loss spiked 4 time(s) ({shown}; ...): a lone spike is usually harmless, "
        "repeated ones point to a learning rate that is too high or to bad batches"
    ) in r.findings


def test_three_spikes_are_all_listed():
    r = analyse_curves(make_curves(_spiky((10, 20, 30)), {}))
    shown = "; ".join(SPIKE.format(f"step {s}") for s in (11, 21, 31))
    assert any(f.startswith(f"training loss spiked 3 time(s) ({shown}):") for f in r.findings)


def test_checkpoint_list_is_cut_after_ten_and_the_nearest_is_the_earlier_on_a_tie():
    # best at step 50 (DIVERGING); 40 and 60 are both 10 away: the earlier, 40
    saved = (10, 20, 30, 40, 60, 70, 80, 90, 100, 110, 120)
    r = analyse_curves(make_curves(FALLING, DIVERGING, checkpoints=saved))
    assert r.recommendation.endswith("; no checkpoint was saved there (nearest: checkpoint-40)")
    assert any(f.startswith("no checkpoint was saved at step 50 (saved: 10, 20, 30, 40, 60, 70, 80, 90, 100, 110, ...);")
               for f in r.findings)
    r = analyse_curves(make_curves(FALLING, DIVERGING, checkpoints=saved[:10]))  # exactly ten: no "..."
    assert any(f.startswith("no checkpoint was saved at step 50 (saved: 10, 20, 30, 40, 60, 70, 80, 90, 100, 110);")
               for f in r.findings)


def test_a_best_final_evaluation_needs_no_saved_checkpoint():
    # the final model is the best one: no checkpoint is missing even though 100 is not in the list
    r = analyse_curves(make_curves(FALLING, CONVERGING, checkpoints=(40,)))
    assert "no checkpoint" not in r.recommendation
    assert not any(f.startswith("no checkpoint") for f in r.findings)


@pytest.mark.parametrize(
    ("train", "evals", "text"),
    [
        # gaps 1.5 - 1.0 = 0.5 at step 10 and 1.0 - 0.75 = 0.25 at step 20 (exact in binary)
        ({10: 1.0, 20: 0.75}, {10: 1.5, 20: 1.0}, "eval - train gap shrank from 0.500 (step 10) to 0.250 (step 20)"),
        ({10: 1.0, 20: 0.5}, {10: 1.5, 20: 1.0}, "eval - train gap stayed from 0.500 (step 10) to 0.500 (step 20)"),
        # one evaluation: 1.5 - 1.0 = 0.5
        ({10: 1.0, 20: 0.5}, {10: 1.5}, "eval - train gap at step 10: 0.500"),
    ],
)
def test_gap_trend_words(train, evals, text):
    r = analyse_curves(make_curves(train, evals))
    assert any(f.startswith(text) for f in r.findings), r.findings


def test_fractional_epoch_is_shown_to_two_decimals():
    # best eval at step 25 = epoch 2.5, followed by a later worse one
    r = analyse_curves(make_curves(FALLING, {15: 1.5, 25: 1.0, 35: 1.005}))
    assert "epoch 2.50 / step 25 (best eval loss 1.000)" in r.recommendation


def test_divergence_finding_gives_the_numbers():
    # as in test_divergence_is_found_at_the_first_step_of_the_rise: best 1.0 at step 50,
    # min_delta 2 sqrt(pi) 0.004 = 0.0142, the run 60..100 ends at 1.4; train near step 50 =
    # 2 - 0.015 * 50 = 1.25, near step 100 = 2 - 1.5 = 0.5
    r = analyse_curves(make_curves(FALLING, DIVERGING))
    assert (
        "eval loss diverges at step 60: it stayed above best + min_delta (1.000 + 0.0142) for 5 evaluations "
        "(to step 100, eval loss 1.400) while train loss fell from 1.250 to 0.500: overfitting"
    ) in r.findings


def test_a_rise_without_training_loss_cannot_be_called_overfitting():
    cause = "(no training loss logged around it, so overfitting cannot be told from unstable training)"
    r = analyse_curves(make_curves({}, DIVERGING))
    assert r.diverges_at is None
    assert r.recommendation == f"stop at epoch 5 / step 50 (best eval loss 1.000); eval loss rose afterwards {cause}"
    assert f"eval loss rose above best + min_delta for 5 evaluations from step 60 {cause}" in r.findings


@pytest.mark.parametrize(
    ("values", "min_delta"),
    [
        # best at index 2 with 4 points from the one before it (< 5): the whole curve. Residuals
        # from the median of 3: 1.0 -> 0, 0.8 (median 0.9) -> 0.1, 0.9 -> 0: mean 0.1 / 3
        ([1.2, 1.0, 0.8, 0.9, 0.95], 2 * math.sqrt(math.pi) * 0.1 / 3),
        # 3 points from the one before the best: the whole curve, residuals 0 and 0.1: mean 0.05
        ([1.2, 1.0, 0.8, 0.9], 2 * math.sqrt(math.pi) * 0.05),
        # best at index 4 with exactly 5 from the one before it: [1.0, 0.5, 0.6, 0.7, 0.8] only
        # (the noisy start is left out): residuals 0.1 (0.5 vs 0.6), 0, 0: mean 0.1 / 3
        ([2.0, 1.0, 2.0, 1.0, 0.5, 0.6, 0.7, 0.8], 2 * math.sqrt(math.pi) * 0.1 / 3),
    ],
)
def test_which_evaluations_the_noise_is_taken_from(values, min_delta):
    r = analyse_curves(make_curves(FALLING, {10 * (i + 1): v for i, v in enumerate(values)}))
    assert r.min_delta == pytest.approx(min_delta)


def test_noisy_eval_finding():
    # the last case above: noise sqrt(pi) 0.1 / 3 = 0.0591 > 5% of the best 0.5 = 0.025
    r = analyse_curves(make_curves(FALLING, {10 * (i + 1): v for i, v in enumerate([2.0, 1.0, 2.0, 1.0, 0.5, 0.6, 0.7, 0.8])}))
    assert "eval loss is noisy (about ±0.0591 between evaluations): a larger eval set would make the best checkpoint clearer" in r.findings


def test_train_loss_near_each_evaluation():
    # train 2 - 0.05 s logged at every step 1..16; evaluations at 5, 13 and 20
    train = {s: 2 - 0.05 * s for s in range(1, 17)}
    r = analyse_curves(make_curves(train, {5: 2.0, 13: 1.5, 20: 1.4}))
    # step 5 (previous 0): the last quarter (3.75, 5] holds steps 4 and 5: 2 - 0.05 * 4.5 = 1.775
    # step 13 (previous 5): (11, 13] holds 12 and 13 (11 is left out): 2 - 0.05 * 12.5 = 1.375
    # step 20 (previous 13): (18.25, 20] holds none: the last one logged before, step 16: 1.2
    assert [g.train_loss for g in r.gap] == pytest.approx([1.775, 1.375, 1.2])


def test_one_evaluation_is_flagged_two_are_not():
    one = "only one evaluation (step 10): no trend to judge; evaluate more often (eval_steps)"
    assert one in analyse_curves(make_curves(FALLING, {10: 1.0})).findings
    assert not any(f.startswith("only one") for f in analyse_curves(make_curves(FALLING, {10: 1.0, 20: 0.9})).findings)


@pytest.mark.parametrize(
    ("evals", "start"),
    [
        # fell 0.025 at the end: above 2% of the best 1.0 (0.02) and min_delta (1% floor, 0.01)
        ({10: 1.025, 20: 1.0}, "eval loss was still falling at the end: use the final checkpoint"),
        # best exactly 0.05 (not below LITTLE_LEFT), fell 0.05 > max(0.0005, 0.001): train longer
        ({10: 0.1, 20: 0.05}, "eval loss was still falling at the end: use the final checkpoint"),
        ({10: 0.1, 20: 0.04}, "eval loss still fell at the end, but at 0.04 nats/token"),
    ],
)
def test_still_falling_thresholds(evals, start):
    assert analyse_curves(make_curves(FALLING, evals)).recommendation.startswith(start)


def test_training_loss_from_zero():
    # first mean 0 and no change: relative drop 0 -> never moved; no percentage drop
    r = analyse_curves(make_curves({10: 0.0, 20: 0.0}, {}))
    assert r.train is not None and r.train.drop_pct is None
    # (shown as -0.0%: -100 * 0.0 is -0.0 in floating point, as for any loss that did not move)
    assert any(f.startswith("training loss never moved from 0.000 to 0.000 (-0.0%, means of the first and last 1") for f in r.findings)
    # from 0 up to 1: an infinite relative rise, -100 * (-inf) = +inf %
    r = analyse_curves(make_curves({10: 0.0, 20: 1.0}, {}))
    assert "training loss rose from 0.000 to 1.000 (+inf%, means of the first and last 1 point(s)): the run is not learning" in r.findings


def test_the_drop_is_shown_in_percent():
    # 2.0 -> 1.0: drop 1.0 = 50% of 2.0, shown as a change of -50.0%
    r = analyse_curves(make_curves({10: 2.0, 20: 1.0}, {}))
    assert "training loss fell from 2.000 to 1.000 (-50.0%, means of the first and last 1 point(s))" in r.findings


def test_fewer_high_evaluations_than_patience():
    # min_delta 0: the best is 1.0 at step 20 (the earliest of the tie); after it 1.0 (not above)
    # and 1.5 (above): only the last 1 evaluation is high, fewer than patience 3
    r = analyse_curves(make_curves(FALLING, {10: 2.0, 20: 1.0, 30: 1.0, 40: 1.5}), min_delta=0.0)
    assert r.recommendation == (
        "use the checkpoint at epoch 2 / step 20 (best eval loss 1.000); the last 1 evaluation(s) were higher, "
        "too few to call it overfitting"
    )
    assert "eval loss is above its best for the last 1 evaluation(s), fewer than patience (3) to call it overfitting" in r.findings
    # nothing above the best after it: noise
    r = analyse_curves(make_curves(FALLING, {10: 2.0, 20: 1.0, 30: 1.0}), min_delta=0.0)
    assert r.recommendation == (
        "use the checkpoint at epoch 2 / step 20 (best eval loss 1.000) or the final one (eval loss 1.000): later "
        "evaluations never stayed above the best by more than 0.000 for 3 in a row, which is noise, not overfitting"
    )


# The training-loss spike finding (tests/MUTANTS.md's open _curves items): the reference is the
# median of the 5 logs before, the threshold 50% of it (or 6 noise units), and a spike lasting
# several logs counts once.


def _spike_text(values):
    from tunecheck.overfitting._curves import _spikes
    from tunecheck.overfitting._logs import CurvePoint

    found = _spikes([CurvePoint(i + 1, float(v), None) for i, v in enumerate(values)])
    return found[0].split(" (", 1)[1].split("): ", 1)[0] if found else None


def test_a_spike_is_measured_against_the_median_of_the_five_logs_before():
    # at step 4 the window is all three logs before (1, 2, 4): median 2 (not 3, the median of 2 and 4)
    assert _spike_text([1, 2, 4, 20]) == "step 4: 20.000 vs about 2.000 before"
    # at step 8 the window is the 5 logs before (4, 4, 1, 2, 3): median 3 (6 logs would give 3.5)
    assert _spike_text([4, 4, 4, 4, 1, 2, 3, 40]) == "step 8: 40.000 vs about 3.000 before"


def test_a_spike_must_be_half_again_the_reference():
    # 2.5 against a median of 2 is 25% above it: not a spike (the noise floor here is about 0.3)
    assert _spike_text([2] * 10 + [2.5] + [2] * 9) is None
    assert _spike_text([2] * 10 + [3.1] + [2] * 9) == "step 11: 3.100 vs about 2.000 before"


def test_a_spike_lasting_two_logs_counts_once():
    from tunecheck.overfitting._curves import _spikes
    from tunecheck.overfitting._logs import CurvePoint

    [finding] = _spikes([CurvePoint(i + 1, float(v), None) for i, v in enumerate([1, 1, 1, 5, 5, 1, 1, 1, 6])])
    assert finding.startswith("training loss spiked 2 time(s) (step 4: 5.000 vs about 1.000 before; step 9: 6.000 vs about 1.000 before)")


def test_an_evaluation_above_the_line_before_the_best_is_no_rise_after_it():
    # patience 1, min_delta 0.1: step 10's 2.0 is far above best + 0.1, but it comes before the best
    # (step 20); afterwards 1.05 stays within 0.1 of it: noise, no rise, no instability
    r = analyse_curves(make_curves(FALLING, {10: 2.0, 20: 1.0, 30: 1.05}), patience=1, min_delta=0.1)
    assert (r.best_step, r.diverges_at) == (20, None)
    assert r.recommendation == (
        "use the checkpoint at epoch 2 / step 20 (best eval loss 1.000) or the final one (eval loss 1.050): later "
        "evaluations never stayed above the best by more than 0.100 for 1 in a row, which is noise, not overfitting"
    )
