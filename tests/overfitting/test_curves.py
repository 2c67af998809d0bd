"""analyse_curves on hand-built curves; expected values worked out in the comments.

Epochs are step / 10 throughout (10 steps per epoch)."""

from __future__ import annotations

import json
import math

import pytest

from tests.schema import assert_valid_result
from tunecheck._io import clean
from tunecheck.core import Status
from tunecheck.errors import ConfigError
from tunecheck.overfitting import RUN, CurvePoint, TrainingCurves, analyse_curves, curve_signal


def make_curves(
    train: dict[int, float], evals: dict[int, float], *, checkpoints: tuple[int, ...] | None = None
) -> TrainingCurves:
    def points(d: dict[int, float]) -> tuple[CurvePoint, ...]:
        return tuple(CurvePoint(s, v, s / 10) for s, v in sorted(d.items()))

    return TrainingCurves("run/trainer_state.json", "trainer_state", points(train), points(evals), checkpoint_steps=checkpoints)


# Training loss falling steadily: 2.0 - 0.015 * step, logged every 5 steps (1.925 ... 0.5).
FALLING = {s: 2.0 - 0.015 * s for s in range(5, 105, 5)}


def test_clean_convergence_uses_the_final_checkpoint():
    train = dict(zip(range(10, 110, 10), [2.0, 1.6, 1.3, 1.1, 0.95, 0.85, 0.78, 0.72, 0.68, 0.65]))
    evals = {20: 1.7, 40: 1.2, 60: 0.95, 80: 0.85, 100: 0.845}
    r = analyse_curves(make_curves(train, evals))
    # best = the last evaluation; nothing after it, so no divergence
    assert (r.best_step, r.best_epoch, r.best_eval_loss) == (100, 10.0, 0.845)
    assert r.diverges_at is None and r.diverges_at_epoch is None
    # 10 train points -> window 1: first 2.0, last 0.65, drop 1.35 = 67.5%
    assert r.train is not None and r.train.window == 1
    assert (r.train.first, r.train.last, r.train.min) == (2.0, 0.65, 0.65)
    assert r.train.drop == pytest.approx(1.35) and r.train.drop_pct == pytest.approx(67.5)
    assert r.train_loss_decreased
    # The eval curve is monotone (noise 0), so min_delta is the 1% floor: 0.00845. The last step
    # improved by 0.005 < max(0.00845, 2% of 0.845 = 0.0169): converged, not "still falling".
    assert r.min_delta == pytest.approx(0.00845) and r.min_delta_auto
    assert r.recommendation == "training converged: use the final checkpoint (epoch 10 / step 100, eval loss 0.845 is the best)"
    # gap at step 20: train near it = mean of train in (15, 20] = 1.6 -> 1.7 - 1.6 = 0.1
    assert r.gap[0].train_loss == 1.6 and r.gap[0].gap == pytest.approx(0.1)
    # at step 100: (95, 100] -> 0.65; 0.845 - 0.65 = 0.195
    assert r.gap[-1].gap == pytest.approx(0.195)
    assert "eval - train gap grew from 0.100 (step 20) to 0.195 (step 100)" in r.findings  # <= 0.2: no level


def test_eval_still_falling_at_the_end():
    train = dict(zip(range(10, 110, 10), [2.0, 1.6, 1.3, 1.1, 0.95, 0.85, 0.78, 0.72, 0.68, 0.65]))
    # last improvement 0.85 -> 0.78 = 0.07 > 2% of 0.78
    r = analyse_curves(make_curves(train, {20: 1.7, 40: 1.2, 60: 0.95, 80: 0.85, 100: 0.78}))
    assert r.best_step == 100 and r.diverges_at is None
    assert r.recommendation.startswith("eval loss was still falling at the end: use the final checkpoint")


def test_still_falling_near_zero_loss_is_not_advice_to_train_longer():
    # the real run: eval loss 0.05 -> 0.0105 at the end (perplexity 1.011). It still fell, by far
    # more than the 1% floor, but at most 0.0105 nats/token is left to gain: no "training longer"
    train = dict(zip(range(10, 110, 10), [2.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.008]))
    r = analyse_curves(make_curves(train, {20: 1.0, 40: 0.3, 60: 0.1, 80: 0.05, 100: 0.0105}))
    assert r.best_step == 100
    assert "training longer may help" not in r.recommendation
    assert r.recommendation.startswith("eval loss still fell at the end, but at 0.0105 nats/token (perplexity 1.011) little is left to gain")


def test_high_final_gap_is_added_to_the_recommendation():
    # eval plateaus while train keeps falling to 0.2: at step 100 the gap is 0.845 - 0.2 = 0.645 > 0.5
    train = dict(zip(range(10, 110, 10), [2.0, 1.6, 1.3, 1.0, 0.8, 0.6, 0.45, 0.35, 0.25, 0.2]))
    r = analyse_curves(make_curves(train, {20: 1.7, 40: 1.2, 60: 0.95, 80: 0.85, 100: 0.845}))
    assert r.best_step == 100 and r.diverges_at is None
    assert r.recommendation.startswith("training converged: use the final checkpoint")
    assert r.recommendation.endswith("; but the train-eval gap is high (0.645): the model fits its training data far "
                                     "better than held-out data (more data, fewer epochs or more regularisation may generalise better)")


DIVERGING = dict(zip(range(10, 110, 10), [2.0, 1.6, 1.3, 1.1, 1.0, 1.02, 1.08, 1.15, 1.25, 1.4]))


def test_divergence_is_found_at_the_first_step_of_the_rise():
    r = analyse_curves(make_curves(FALLING, DIVERGING))
    # best: 1.0 at step 50. Noise from the evals from the one before the best (7 points:
    # 1.1 1.0 1.02 1.08 1.15 1.25 1.4): residuals from the median of 3 are 0.02 (at 1.0, median
    # 1.02) and 0 elsewhere (monotone) -> mean 0.02/5 = 0.004 -> sigma = sqrt(pi) * 0.004 = 0.00709;
    # min_delta = max(2 * 0.00709, 1% of 1.0) = 0.01418. Threshold 1.01418: 1.02 (step 60) is above,
    # and so are all later ones -> a run of 5 >= patience 3. Train near step 80 (the 3rd of the run)
    # = train in (77.5, 80] = 2 - 1.2 = 0.8 < train near step 50 = 2 - 0.75 = 1.25: still falling.
    assert r.min_delta == pytest.approx(2 * math.sqrt(math.pi) * 0.004)
    assert (r.best_step, r.best_epoch, r.best_eval_loss) == (50, 5.0, 1.0)
    assert (r.diverges_at, r.diverges_at_epoch) == (60, 6.0)
    assert r.recommendation == (
        "stop at epoch 5 / step 50 (best eval loss 1.000); later checkpoints overfit: "
        "eval loss rose for 5 evaluations while train loss kept falling"
    )
    assert any(f.startswith("eval loss diverges at step 60") for f in r.findings)
    # gap grows: step 10: 2.0 - (train in (7.5, 10] = 1.85) = 0.15; step 100: 1.4 - 0.5 = 0.9
    assert r.gap[0].gap == pytest.approx(0.15) and r.gap[-1].gap == pytest.approx(0.9)
    # 0.9 > 0.5: the seed gap rule's "high" level
    assert (
        "eval - train gap grew from 0.150 (step 10) to 0.900 (step 100): high probability of overfitting "
        "by the gap rule (> 0.2 some, > 0.5 high)"
    ) in " ".join(r.findings)


def test_divergence_settings():
    # min_delta 0.05 -> threshold 1.05: 1.02 no longer counts; the run starts at 1.08 (step 70)
    assert analyse_curves(make_curves(FALLING, DIVERGING), min_delta=0.05).diverges_at == 70
    # patience 6 > the 5 evaluations after the best: too few to call it
    r = analyse_curves(make_curves(FALLING, DIVERGING), patience=6)
    assert r.diverges_at is None and r.best_step == 50
    assert "the last 5 evaluation(s) were higher, too few to call it overfitting" in r.recommendation
    with pytest.raises(ConfigError, match="patience"):
        analyse_curves(make_curves(FALLING, DIVERGING), patience=0)
    with pytest.raises(ConfigError, match="min_delta"):
        analyse_curves(make_curves(FALLING, DIVERGING), min_delta=-0.1)


# Falling with single-point bumps (1.55, 1.33), then a noisy plateau around 1.19.
NOISY = dict(zip(range(10, 160, 10), [2.0, 1.7, 1.5, 1.55, 1.35, 1.3, 1.33, 1.22, 1.2, 1.17, 1.19, 1.21, 1.18, 1.20, 1.19]))
FALLING_LONG = {s: 2.0 - 0.01 * s for s in range(5, 155, 5)}


def test_noisy_but_fine_is_not_divergence():
    r = analyse_curves(make_curves(FALLING_LONG, NOISY))
    # best: 1.17 at step 100. Evals from the one before: 1.20 1.17 1.19 1.21 1.18 1.20 1.19;
    # |x - median of 3| = 0.02, 0, 0.02, 0.02, 0.01 -> mean 0.014 -> sigma = 0.02481,
    # min_delta = 0.04963 -> threshold 1.2196: no later evaluation is above it.
    assert r.min_delta == pytest.approx(2 * math.sqrt(math.pi) * 0.014)
    assert r.best_step == 100 and r.diverges_at is None
    assert r.recommendation.startswith("use the checkpoint at epoch 10 / step 100 (best eval loss 1.170) or the final one")
    # The classic rule (any rise counts) would have called the plateau a divergence at step 110:
    # every evaluation after the best is above 1.17 and the training loss keeps falling.
    assert analyse_curves(make_curves(FALLING_LONG, NOISY), min_delta=0.0).diverges_at == 110


def test_a_single_bump_after_the_best_is_not_divergence():
    evals = {10: 2.0, 20: 1.5, 30: 1.2, 40: 1.1, 50: 1.5, 60: 1.102, 70: 1.101, 80: 1.103}
    # best 1.1 at step 40. Even with a min_delta as small as 0.01 only the bump (step 50) is
    # above 1.11: a run of 1 < patience 3.
    r = analyse_curves(make_curves(FALLING, evals), min_delta=0.01)
    assert r.best_step == 40 and r.diverges_at is None
    assert "never stayed above the best by more than 0.01 for 3 in a row" in r.recommendation
    # With the default the bump also raises the noise estimate, so nothing counts as a rise.
    assert analyse_curves(make_curves(FALLING, evals)).diverges_at is None


def test_no_eval_loss():
    r = analyse_curves(make_curves(FALLING, {}))
    assert (r.best_step, r.best_epoch, r.best_eval_loss, r.diverges_at, r.diverges_at_epoch) == (None,) * 5
    assert r.recommendation == (
        "no eval loss in the log: cannot pick the best checkpoint or detect overfitting; evaluate during "
        "training (eval_strategy='steps') or run `tunecheck sweep`"
    )
    assert r.train_loss_decreased and r.gap == ()
    d = r.to_result().details
    assert d["settings"] == {"patience": 3, "min_delta": None, "min_delta_auto": False}
    assert d["points"]["eval"] == [] and d["best_step"] is None


def test_flat_training_loss_is_flagged():
    train = {s: 1.0 + 0.001 * (s % 3) for s in range(10, 210, 10)}  # 1.000-1.002, no trend
    r = analyse_curves(make_curves(train, {100: 1.1, 200: 1.1}))
    assert not r.train_loss_decreased
    assert r.recommendation.startswith("training loss did not decrease")
    assert r.findings[0].startswith("training loss never moved")


def test_rising_training_loss_is_flagged():
    train = {s: 1.0 + 0.01 * s for s in range(10, 110, 10)}  # 1.1 -> 2.0
    r = analyse_curves(make_curves(train, {50: 1.5, 100: 2.1}))
    assert not r.train_loss_decreased and r.train is not None and r.train.drop < 0
    assert r.recommendation.startswith("training loss did not decrease: it rose from 1.100 to 2.000")


def test_nan_losses_are_flagged_and_json_stays_valid():
    train = dict(FALLING)
    train[60] = math.nan
    train[65] = math.inf
    evals = {50: 1.3, 100: math.nan}
    r = analyse_curves(make_curves(train, evals))
    assert not r.train_loss_decreased
    assert r.recommendation.startswith("training loss became NaN/inf at step 60 (2 logged point(s))")
    assert any("eval loss is NaN/inf at 1 evaluation(s), first at step 100" in f for f in r.findings)
    assert r.best_step == 50  # the NaN evaluation is left out
    payload = json.loads(json.dumps(clean(r.to_result().to_dict()), allow_nan=False))  # NaN/inf became null
    assert_valid_result(payload)
    d = payload["details"]
    assert [60, None] in d["points"]["train"] and [100, None] in d["points"]["eval"]


def test_rise_while_train_also_rises_is_instability_not_overfitting():
    # train falls 2.0 -> 0.5 by step 50, then climbs back to 1.0 by step 100 (still 45% below its start)
    train = {s: 2.0 - 0.03 * s if s <= 50 else 0.5 + 0.01 * (s - 50) for s in range(5, 105, 5)}
    r = analyse_curves(make_curves(train, DIVERGING))
    # eval rises from step 60 as before, but train near step 80 (0.8) is above train near 50 (0.5)
    assert r.train_loss_decreased
    assert r.best_step == 50 and r.diverges_at is None
    assert r.recommendation == (
        "stop at epoch 5 / step 50 (best eval loss 1.000); eval loss rose afterwards while the training loss "
        "did not fall: unstable training (try a lower learning rate), not overfitting"
    )


def test_training_spike_is_reported():
    train = dict(FALLING)
    train[50] = 3.0  # the 5 points before are about 1.3
    r = analyse_curves(make_curves(train, {}))
    assert any(f.startswith("training loss spiked 1 time(s) (step 50: 3.000 vs about") for f in r.findings)
    assert r.train_loss_decreased  # a lone spike does not undo the descent


def test_noisy_per_step_loss_is_not_a_spike():
    # alternating +-30% around a falling trend: large swings, but every one is ordinary noise here
    train = {s: (2.0 - 0.01 * s) * (1.3 if s % 2 else 0.7) for s in range(1, 101)}
    r = analyse_curves(make_curves(train, {}))
    assert not any("spiked" in f for f in r.findings)


def test_best_step_without_a_saved_checkpoint():
    r = analyse_curves(make_curves(FALLING, DIVERGING, checkpoints=(40, 100)))
    assert r.recommendation.endswith("; no checkpoint was saved there (nearest: checkpoint-40)")
    assert any(f.startswith("no checkpoint was saved at step 50 (saved: 40, 100)") for f in r.findings)


def test_result_shape():
    result = analyse_curves(make_curves(FALLING, DIVERGING)).to_result()
    assert_valid_result(result.to_dict())
    d = result.details
    assert set(d) == {
        "best_step", "best_epoch", "best_eval_loss", "diverges_at", "diverges_at_epoch", "train_loss_decreased",
        "train", "gap", "findings", "recommendation", "settings", "points",
    }
    assert (result.layer, result.models, result.estimates) == ("curves", [], [])
    [log] = result.data
    # 20 train points (every 5 steps to 100) and 10 evaluations
    assert (log.source, log.role, log.n, log.details["format"]) == ("run/trainer_state.json", "log", 30, "trainer_state")
    assert (d["best_step"], d["diverges_at"]) == (50, 60)
    assert set(d["train"]) == {"first", "last", "min", "drop", "drop_pct", "window"}
    # 20 train points -> window 2: first = mean(1.925, 1.85) = 1.8875, last = mean(0.575, 0.5)
    assert d["train"]["first"] == pytest.approx(1.8875) and d["train"]["last"] == pytest.approx(0.5375)
    assert d["gap"][4] == {"step": 50, "epoch": 5.0, "train_loss": 1.25, "eval_loss": 1.0, "gap": pytest.approx(-0.25)}
    assert d["points"]["eval"][:2] == [[10, 2.0], [20, 1.6]]
    assert [(s.name, s.status, s.model) for s in result.signals] == [("training curves", Status.OVERFITTING, RUN)]
    assert result.signals[0].evidence == d["recommendation"]


def _signal(train_evals, **kw):
    """Real curves: train loss logged with each evaluation, from {step: (train, eval)}."""
    train = tuple(CurvePoint(s, t) for s, (t, _) in sorted(train_evals.items()))
    evals = tuple(CurvePoint(s, e) for s, (_, e) in sorted(train_evals.items()) if e is not None)
    return curve_signal(analyse_curves(TrainingCurves("trainer_state.json", "trainer_state", train, evals), **kw))


def test_curve_signal_rule():
    # the rule moved from overfitting/_verdict.py (`_curve_signals`), with its cases
    converged = {10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.2, 1.3), 40: (1.0, 1.15), 50: (0.9, 1.1)}
    assert _signal(converged).status == Status.HEALTHY
    diverged = {10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.2, 1.3), 40: (1.0, 1.5), 50: (0.8, 1.7), 60: (0.6, 1.9), 70: (0.4, 2.1)}
    assert _signal(diverged).status == Status.OVERFITTING
    rising = {10: (1.0, 2.1), 20: (1.5, 1.6), 30: (2.0, 1.3), 40: (2.5, 1.15), 50: (3.0, 1.1)}
    s = _signal(rising)
    assert (s.status, s.reason) == (Status.INCONCLUSIVE, "the training loss did not decrease properly")
    s = _signal({10: (2.0, 2.1), 20: (1.0, 1.6)})
    assert (s.status, s.reason) == (Status.NOT_APPLICABLE, "only 2 evaluation(s) logged: too few to see a divergence")
    s = _signal({10: (2.0, None), 20: (1.0, None)})
    assert (s.status, s.reason) == (Status.NOT_APPLICABLE, "no validation loss in the log")
    # eval loss falls throughout but stays 0.9 above the training loss: not healthy
    s = _signal({10: (2.0, 2.6), 20: (1.5, 2.3), 30: (1.2, 2.0), 40: (1.0, 1.8), 50: (0.8, 1.7)})
    assert (s.status, s.reason) == (Status.INCONCLUSIVE, "no divergence, but the logged train-eval gap is 0.9")
    # a last gap of exactly 0.5 is not above the high threshold: healthy (1.0 - 0.5 is exactly 0.5)
    assert _signal({10: (2.0, 2.1), 20: (1.5, 1.8), 30: (1.0, 1.5), 40: (0.5, 1.0)}).status == Status.HEALTHY
    assert all(_signal(c).model == RUN for c in (converged, diverged, rising))


# Rules of the module docstring at their exact boundaries. The training loss is logged at every
# evaluation step (every 10 steps), so the train loss "near" an evaluation at step s is the one
# logged at s: the window (s - 10/4, s] holds only it.
STEADY = {s: 2.0 - 0.01 * s for s in range(10, 110, 10)}  # 1.9, 1.8, ... 1.0: always falling


@pytest.mark.parametrize(
    ("evals", "best"),
    [
        ({10: 1.0, 20: 1.3, 30: 1.0}, 10),  # the first and the last tie: the first
        ({10: 1.0, 20: 1.0, 30: 1.3}, 10),  # a tie at the first evaluation
        ({10: 2.0, 20: 1.3, 30: 1.0, 40: 1.0}, 30),  # a tie at the last: the earlier, not the final
    ],
)
def test_best_step_is_the_earliest_on_a_tie(evals, best):
    r = analyse_curves(make_curves(STEADY, evals), min_delta=0.0)
    assert (r.best_step, r.best_epoch, r.best_eval_loss) == (best, best / 10, 1.0)
    # the best is not the last evaluation, so this is not "use the final checkpoint"
    assert r.recommendation.startswith(f"use the checkpoint at epoch {best // 10} / step {best} (best eval loss 1.000)")


RISE3 = {10: 2.0, 20: 1.5, 30: 1.0, 40: 1.2, 50: 1.3, 60: 1.4}  # best 1.0 at 30, then 3 rises


def test_exactly_patience_rises_diverge():
    # min_delta 0: 1.2, 1.3, 1.4 are all above 1.0 -> a run of 3 = patience 3: enough. Train near
    # step 60 (the 3rd of the run) 1.4 < train near step 30 1.7 -> diverges at the run's first, 40
    r = analyse_curves(make_curves(STEADY, RISE3), patience=3, min_delta=0.0)
    assert (r.best_step, r.diverges_at, r.diverges_at_epoch) == (30, 40, 4.0)
    # patience 4: the same 3 rises are one too few
    r = analyse_curves(make_curves(STEADY, RISE3), patience=4, min_delta=0.0)
    assert (r.best_step, r.diverges_at) == (30, None)
    assert r.recommendation.startswith("use the checkpoint at epoch 3 / step 30 (best eval loss 1.000); the last 3 "
                                       "evaluation(s) were higher, too few to call it overfitting")


@pytest.mark.parametrize("at", [40, 60])
def test_a_loss_at_exactly_best_plus_min_delta_is_not_up(at):
    # min_delta 0.25 -> threshold 1.0 + 0.25 = 1.25 (exact in binary). A loss of exactly 1.25 is not
    # above it ("stays above best + min_delta"): at the start (40) or the end (60) of 40, 50, 60 it
    # leaves a run of 2 < patience 3, no divergence.
    evals = {10: 2.0, 20: 1.5, 30: 1.0, 40: 1.3, 50: 1.4, 60: 1.45}
    evals[at] = 1.25
    r = analyse_curves(make_curves(STEADY, evals), patience=3, min_delta=0.25)
    assert (r.best_step, r.diverges_at) == (30, None)
    # just above it (1.2500001) makes the run 40, 50, 60 -> diverges at 40 (train 1.4 < 1.7)
    evals[at] = 1.2500001
    assert analyse_curves(make_curves(STEADY, evals), patience=3, min_delta=0.25).diverges_at == 40


@pytest.mark.parametrize(("train_at_60", "diverges_at"), [(1.0, None), (0.999, 40)])
def test_equal_training_losses_are_not_a_fall(train_at_60, diverges_at):
    # eval: best 1.0 at step 30, then above it at 40-70: a run of 4, the patience-th (3rd) at 60.
    # Divergence needs the train loss near step 60 *below* the one near step 30 (1.0): equal
    # (1.0) is not below -> instability, not overfitting; 0.999 is -> diverges at 40. The train
    # loss at the run's end (step 70, 0.9) is lower still but is not what the rule reads.
    train = {10: 2.0, 20: 1.5, 30: 1.0, 40: 1.1, 50: 1.05, 60: train_at_60, 70: 0.9}
    evals = {10: 2.0, 20: 1.5, 30: 1.0, 40: 1.2, 50: 1.3, 60: 1.4, 70: 1.5}
    r = analyse_curves(make_curves(train, evals), patience=3, min_delta=0.0)
    assert r.train_loss_decreased  # 2.0 -> 0.9: no training-loss problem overrides the verdict
    assert (r.best_step, r.diverges_at) == (30, diverges_at)
    if diverges_at is None:
        # (then the gap clause: 1.5 - 0.9 = 0.6 at step 70 is "high")
        assert r.recommendation.startswith(
            "stop at epoch 3 / step 30 (best eval loss 1.000); eval loss rose afterwards while the training loss "
            "did not fall: unstable training (try a lower learning rate), not overfitting; but the train-eval gap is high"
        )
    else:
        assert r.recommendation.startswith("stop at epoch 3 / step 30 (best eval loss 1.000); later checkpoints overfit")


# Mutation-testing cases (tests/MUTANTS.md), worked out by hand.


def test_result_records_the_log_the_settings_and_the_notes():
    curves = make_curves(FALLING, DIVERGING)
    noted = TrainingCurves(curves.source, curves.format, curves.train, curves.eval, notes=("2 log entries repeat a step",))
    result = analyse_curves(noted, patience=2, min_delta=0.05).to_result()
    # 20 train points, 10 evaluations; a given min_delta is recorded, patience too
    assert result.data[0].details == {"format": "trainer_state", "train_points": 20, "eval_points": 10}
    assert result.config == {"patience": 2, "min_delta": 0.05}
    assert result.warnings == ["2 log entries repeat a step"]
    # a derived min_delta is not a setting the user chose: recorded as None
    assert analyse_curves(curves).to_result().config == {"patience": 3, "min_delta": None}


def test_one_training_loss_has_no_summary():
    r = analyse_curves(make_curves({10: 2.0}, {10: 2.1, 20: 2.0, 30: 1.9}))
    assert r.train is None and r.details()["train"] is None


def test_curve_signal_every_field_of_each_status():
    from tunecheck.core import Signal

    def check(train_evals, status, reason):
        train = tuple(CurvePoint(s, t) for s, (t, _) in sorted(train_evals.items()) if t is not None)
        evals = tuple(CurvePoint(s, e) for s, (_, e) in sorted(train_evals.items()) if e is not None)
        report = analyse_curves(TrainingCurves("trainer_state.json", "trainer_state", train, evals))
        assert curve_signal(report) == Signal("training curves", status, report.recommendation, reason, True, RUN)

    check({10: (2.0, None), 20: (1.0, None)}, Status.NOT_APPLICABLE, "no validation loss in the log")
    check({10: (2.0, 2.1), 20: (1.0, 1.6)}, Status.NOT_APPLICABLE, "only 2 evaluation(s) logged: too few to see a divergence")
    check({10: (1.0, 2.1), 20: (1.5, 1.6), 30: (2.0, 1.3), 40: (2.5, 1.15), 50: (3.0, 1.1)}, Status.INCONCLUSIVE,
          "the training loss did not decrease properly")
    check({10: (2.0, 2.6), 20: (1.5, 2.3), 30: (1.2, 2.0), 40: (1.0, 1.8), 50: (0.8, 1.7)}, Status.INCONCLUSIVE,
          "no divergence, but the logged train-eval gap is 0.9")
    check({10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.2, 1.3), 40: (1.0, 1.15), 50: (0.9, 1.1)}, Status.HEALTHY, None)
    # three evaluations are enough to judge: falling train and eval loss, gaps 0.1: healthy
    check({10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.0, 1.1)}, Status.HEALTHY, None)
    # an evaluation before any training loss (gap unknown) is skipped, not an error
    check({5: (None, 2.2), 10: (2.0, 2.1), 20: (1.5, 1.6), 30: (1.0, 1.1)}, Status.HEALTHY, None)


def test_only_the_last_gap_counts():
    # gaps 2.6 - 2.0 = 0.6, 2.1 - 1.5 = 0.6, 1.8 - 1.2 = 0.6, then 1.5 - 1.0 = 0.5 (exact in binary):
    # the last is not above 0.5, so healthy, however high the earlier ones were
    assert _signal({10: (2.0, 2.6), 20: (1.5, 2.1), 30: (1.2, 1.8), 40: (1.0, 1.5)}).status == Status.HEALTHY
