"""Did training go well, and where should it have stopped? Analysis of logged loss curves.

`analyse_curves` is a pure function of the curves (read by `read_curves`):

* **training loss**: the mean of the first 10% of the logged points against the mean of the last
  10% (single points are too noisy), flagging NaN/inf, a loss that never moved (< 1% drop), a
  loss that ended above its start, and spikes;
* **best checkpoint**: the evaluation with the lowest eval loss (the earliest on a tie);
* **divergence** (early stopping's rule, made robust to noise): after the best evaluation the
  eval loss stays above best + min_delta for `patience` evaluations in a row, *and* the training
  loss kept falling over that stretch (the train loss near the patience-th of those evaluations
  is below the train loss near the best one). `diverges_at` is the first evaluation of that run.
  A rise while the training loss does not fall is reported as instability, not overfitting;
* **train-eval gap** at each evaluation.

The report and its result (with the curves' overfitting signal) are in `_curve_report.py`.

The train loss "near" an evaluation at step s is the mean of the training losses logged in the
last quarter of the interval since the previous evaluation, (s - (s - prev)/4, s], or the last
one logged at or before s when none falls there: late enough that a steeply falling early loss
does not bias it upward, wide enough to average batch noise when every step is logged.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from tunecheck.errors import ConfigError
from tunecheck.overfitting._curve_report import (
    CurveReport,
    GapAtStep,
    TrainLossSummary,
    curve_signal,
)
from tunecheck.overfitting._gap import HIGH_GAP, SOME_GAP, classify_gap
from tunecheck.overfitting._logs import CurvePoint, TrainingCurves

EDGE_FRACTION = 0.1
"""Share of the training points averaged for the smoothed start and end of the training loss."""
FLAT_DROP = 0.01
"""A training loss that falls by less than this fraction of its start "never moved"."""
NOISE_MULTIPLE = 2.0
"""Automatic min_delta: this many times the eval loss's point-to-point noise ..."""
RELATIVE_FLOOR = 0.01
"""... and at least this fraction of the best eval loss: smaller rises are not worth acting on."""
LITTLE_LEFT = 0.05
"""An eval loss (nats/token) below which "train longer" is not worth saying: the loss cannot go
below 0, so at most this much is left to gain (perplexity under 1.05); the rest is memorising."""
_SPIKE_RATIO = 0.5  # a training point 50% above the median of the 5 before it is a spike ...
_SPIKE_NOISE = 6.0  # ... provided that is also 6 noise units: noisy per-step losses are not spikes
_NOISY_EVAL = 0.05  # eval noise above 5% of the best eval loss gets its own finding

NO_EVAL = (
    "no eval loss in the log: cannot pick the best checkpoint or detect overfitting; evaluate during "
    "training (eval_strategy='steps') or run `tunecheck sweep`"
)


@dataclass(frozen=True)
class _Rise:
    """A run of consecutive evaluations after the best one, all above best + min_delta."""

    points: Sequence[CurvePoint]
    train_at_best: float | None
    """Train loss near the best evaluation."""
    train_at_patience: float | None
    """Train loss near the patience-th evaluation of the run (the moment early stopping fires)."""
    train_at_end: float | None
    """Train loss near the last evaluation of the run."""

    @property
    def train_fell(self) -> bool | None:
        if self.train_at_best is None or self.train_at_patience is None:
            return None  # no training loss logged around these steps: cannot tell
        return self.train_at_patience < self.train_at_best


def analyse_curves(
    curves: TrainingCurves, *, patience: int = 3, min_delta: float | None = None
) -> CurveReport:
    """Analyse a run's loss curves (see the module docstring for every rule).

    `min_delta=None` (the default) derives it from the eval loss itself, because a fixed number
    cannot suit both a loss of 2.3 and one of 0.05, nor a smooth curve and a noisy one. The best
    eval loss of a noisy plateau is a lucky low point, so every later evaluation sits above it;
    min_delta must exceed that noise or a flat-but-noisy run reads as divergence. The noise is
    sigma = sqrt(pi) * mean |x_i - median(x_{i-1}, x_i, x_{i+1})| over the evaluations from the
    one before the best to the last (the whole curve when that leaves fewer than five): a
    monotone stretch, rising or falling, adds nothing, so a steady trend is never mistaken for
    noise; and for Gaussian noise the mean residual is sigma / sqrt(pi) (the middle of three
    draws has residual 0; the largest and smallest lie E[max - median] = 3 / (2 sqrt(pi)) sigma
    from it). min_delta = max(2 * sigma, 1% of the best eval loss). benchmarks/overfitting.py
    simulates runs of 12-20 evaluations that plateau with Gaussian noise while the train loss
    still falls: this flags 2.8-9.8% of them (noise 0.5-2% of the loss) where min_delta=0 flags
    31-47%, and catches 98-100% of rises of 3% of the loss per evaluation. Pass `min_delta=0.0` for the classic early-stopping rule (any rise counts).
    """
    if patience < 1:
        raise ConfigError(f"--patience (patience) must be at least 1 evaluation, got {patience}; 3 is the default")
    if min_delta is not None and not (math.isfinite(min_delta) and min_delta >= 0):
        raise ConfigError(f"--min-delta (min_delta) must be a number ≥ 0, got {min_delta} (leave it out to derive it from the eval loss's noise)")
    summary, decreased, train_problem, findings = _train_findings(curves.train)
    gap = _gaps(curves)

    def report(rec: str, best: CurvePoint | None, diverges: CurvePoint | None, md: float | None) -> CurveReport:
        return CurveReport(
            curves=curves,
            train_loss_decreased=decreased,
            train=summary,
            best_step=best.step if best else None,
            best_epoch=best.epoch if best else None,
            best_eval_loss=best.value if best else None,
            diverges_at=diverges.step if diverges else None,
            diverges_at_epoch=diverges.epoch if diverges else None,
            gap=gap,
            findings=tuple(findings),
            recommendation=train_problem or rec,
            patience=patience,
            min_delta=md,
            min_delta_auto=min_delta is None and md is not None,
        )

    bad = [p for p in curves.eval if not math.isfinite(p.value)]
    if bad:
        findings.append(
            f"eval loss is NaN/inf at {len(bad)} evaluation(s), first at step {bad[0].step}; those are left out"
        )
    evals = [p for p in curves.eval if math.isfinite(p.value)]
    if not evals:
        findings.append("no eval loss in the log: the run did not evaluate (or every eval loss is NaN)")
        return report(NO_EVAL, None, None, None)

    values = [p.value for p in evals]
    b = values.index(min(values))
    best = evals[b]
    noise = _noise(values[b - 1 :] if b >= 1 and len(values) - b + 1 >= 5 else values)
    md = min_delta if min_delta is not None else max(NOISE_MULTIPLE * noise, RELATIVE_FLOOR * abs(best.value))
    if len(evals) == 1:
        findings.append(f"only one evaluation (step {best.step}): no trend to judge; evaluate more often (eval_steps)")
    if noise > _NOISY_EVAL * abs(best.value):
        findings.append(
            f"eval loss is noisy (about ±{_num(noise)} between evaluations): "
            "a larger eval set would make the best checkpoint clearer"
        )
    gap_findings, gap_clause = _gap_findings(gap)
    findings.extend(gap_findings)

    near = {g.step: g.train_loss for g in gap}
    rises = _rises(evals[b + 1 :], best, md, patience, near)
    diverging = next((r for r in rises if r.train_fell), None)
    rec = _recommend(evals, b, md, patience, diverging, rises[0] if rises else None, findings)
    rec += "" if diverging else gap_clause  # a divergence already says "overfit"
    rec += _missing_checkpoint(curves, best, b == len(evals) - 1, findings)
    return report(rec, best, diverging.points[0] if diverging else None, md)


def _rises(
    after: Sequence[CurvePoint], best: CurvePoint, md: float, patience: int, near: dict[int, float | None]
) -> list[_Rise]:
    """The runs after the best evaluation that stay above best + md for at least `patience`."""
    runs: list[list[CurvePoint]] = []
    for i, p in enumerate(after):
        if p.value > best.value + md:
            if i and after[i - 1].value > best.value + md:
                runs[-1].append(p)
            else:
                runs.append([p])
    return [
        _Rise(run, near[best.step], near[run[patience - 1].step], near[run[-1].step])
        for run in runs
        if len(run) >= patience
    ]


def _recommend(
    evals: Sequence[CurvePoint],
    b: int,
    md: float,
    patience: int,
    diverging: _Rise | None,
    rise: _Rise | None,
    findings: list[str],
) -> str:
    """The recommendation from the eval curve, adding the findings that explain it."""
    best, last = evals[b], evals[-1]
    at_best = f"{_at(best)} (best eval loss {_num(best.value)})"
    if diverging is not None:
        run, n = diverging.points, len(diverging.points)
        findings.append(
            f"eval loss diverges at step {run[0].step}: it stayed above best + min_delta "
            f"({_num(best.value)} + {_num(md)}) for {n} evaluations (to step {run[-1].step}, "
            f"eval loss {_num(run[-1].value)}) while train loss fell from {_num(diverging.train_at_best)} "
            f"to {_num(diverging.train_at_end)}: overfitting"
        )
        return (
            f"stop at {at_best}; later checkpoints overfit: eval loss rose for {n} evaluations "
            "while train loss kept falling"
        )
    if b == len(evals) - 1:
        at = f"{_at(best)}, eval loss {_num(best.value)} is the best"
        previous = evals[-2].value if len(evals) > 1 else None
        if previous is not None and previous - best.value > max(md, 2 * RELATIVE_FLOOR * abs(best.value)):
            if best.value < LITTLE_LEFT:
                return (f"eval loss still fell at the end, but at {_num(best.value)} nats/token (perplexity "
                        f"{math.exp(best.value):.3f}) little is left to gain: use the final checkpoint ({at})")
            return f"eval loss was still falling at the end: use the final checkpoint ({at}); training longer may help"
        return f"training converged: use the final checkpoint ({at})"
    if rise is not None:
        cause = (
            "while the training loss did not fall: unstable training (try a lower learning rate), not overfitting"
            if rise.train_fell is False
            else "(no training loss logged around it, so overfitting cannot be told from unstable training)"
        )
        findings.append(
            f"eval loss rose above best + min_delta for {len(rise.points)} evaluations "
            f"from step {rise.points[0].step} {cause}"
        )
        return f"stop at {at_best}; eval loss rose afterwards {cause}"
    after = evals[b + 1 :]
    high = next((n for n in range(len(after), 0, -1) if all(p.value > best.value + md for p in after[-n:])), 0)
    if high:
        findings.append(
            f"eval loss is above its best for the last {high} evaluation(s), "
            f"fewer than patience ({patience}) to call it overfitting"
        )
        return (
            f"use the checkpoint at {at_best}; the last {high} evaluation(s) were higher, "
            "too few to call it overfitting"
        )
    return (
        f"use the checkpoint at {at_best} or the final one (eval loss {_num(last.value)}): later evaluations "
        f"never stayed above the best by more than {_num(md)} for {patience} in a row, which is noise, not overfitting"
    )


def _train_findings(
    points: Sequence[CurvePoint],
) -> tuple[TrainLossSummary | None, bool, str | None, list[str]]:
    """(summary, decreased, the problem to lead the recommendation with, findings)."""
    if not points:
        return None, False, None, ["no training loss in the log: cannot tell whether training worked"]
    findings: list[str] = []
    problem = None
    bad = [p for p in points if not math.isfinite(p.value)]
    if bad:
        problem = (
            f"training loss became NaN/inf at step {bad[0].step} ({len(bad)} logged point(s)): lower the "
            "learning rate, keep gradient clipping on (max_grad_norm) or train in bf16 rather than fp16, then re-train"
        )
        findings.append(problem)
    finite = [p for p in points if math.isfinite(p.value)]
    if len(finite) < 2:
        findings.append(
            f"only {len(finite)} finite training loss point(s): cannot tell whether it decreased "
            "(log more often: logging_steps)"
        )
        return None, False, problem, findings
    values = [p.value for p in finite]
    k = max(1, math.ceil(EDGE_FRACTION * len(values)))
    first, last = statistics.fmean(values[:k]), statistics.fmean(values[-k:])
    drop = first - last
    rel = drop / abs(first) if first else (0.0 if drop == 0 else math.copysign(math.inf, drop))
    summary = TrainLossSummary(first, last, min(values), drop, 100 * rel if first else None, k)
    span = f"from {_num(first)} to {_num(last)} ({-100 * rel:+.1f}%, means of the first and last {k} point(s))"
    if last > first:
        findings.insert(0, f"training loss rose {span}: the run is not learning")
        problem = problem or f"training loss did not decrease: it rose {span}; lower the learning rate and re-train"
    elif rel < FLAT_DROP:
        fix = (
            "check the learning rate, that the trainable (e.g. LoRA) parameters are set "
            "and that the labels are not all masked"
        )
        findings.insert(0, f"training loss never moved {span}: {fix}")
        problem = problem or f"training loss did not decrease: it went {span}; {fix}, then re-train"
    else:
        findings.append(f"training loss fell {span}")
    findings.extend(_spikes(finite))
    return summary, problem is None, problem, findings


def _spikes(points: Sequence[CurvePoint]) -> list[str]:
    values = [p.value for p in points]
    noise = _noise(values)
    spikes: list[str] = []
    previous_spike = False
    for i in range(3, len(values)):
        ref = statistics.median(values[max(0, i - 5) : i])
        is_spike = values[i] - ref > max(_SPIKE_RATIO * abs(ref), _SPIKE_NOISE * noise)
        if is_spike and not previous_spike:  # a spike lasting several logs counts once
            spikes.append(f"step {points[i].step}: {_num(values[i])} vs about {_num(ref)} before")
        previous_spike = is_spike
    if not spikes:
        return []
    shown = "; ".join(spikes[:3]) + ("; ..." if len(spikes) > 3 else "")
    return [
        f"training loss spiked {len(spikes)} time(s) ({shown}): a lone spike is usually harmless, "
        "repeated ones point to a learning rate that is too high or to bad batches"
    ]


def _gaps(curves: TrainingCurves) -> tuple[GapAtStep, ...]:
    train = [p for p in curves.train if math.isfinite(p.value)]
    out = []
    prev = 0
    for e in curves.eval:
        lo = e.step - (e.step - prev) / 4
        window = [p.value for p in train if lo < p.step <= e.step]
        before = [p.value for p in train if p.step <= e.step]
        t = statistics.fmean(window) if window else before[-1] if before else None
        out.append(GapAtStep(e.step, e.epoch, t, e.value, None if t is None else e.value - t))
        prev = e.step
    return tuple(out)


def _gap_findings(gap: Sequence[GapAtStep]) -> tuple[list[str], str]:
    """(findings, a clause for the recommendation when the final gap is high)."""
    known = [g for g in gap if g.train_loss is not None and g.gap is not None and math.isfinite(g.gap)]
    if not known:
        return [], ""
    first, last = known[0], known[-1]
    assert last.train_loss is not None and first.gap is not None and last.gap is not None
    text = f"eval - train gap at step {last.step}: {_num(last.gap)}"
    if len(known) > 1:
        trend = "grew" if last.gap > first.gap else "shrank" if last.gap < first.gap else "stayed"
        text = f"eval - train gap {trend} from {_num(first.gap)} (step {first.step}) to {_num(last.gap)} (step {last.step})"
    verdict = classify_gap(last.train_loss, last.eval_loss)
    if verdict.level != "none":
        # The logged train loss is a running mean taken with dropout on, not a clean evaluation.
        text += (
            f": {verdict.message} by the gap rule (> {SOME_GAP} some, > {HIGH_GAP} high); "
            "confirm on the final model with `tunecheck overfit`"
        )
    clause = ""
    if verdict.level == "high":
        clause = (
            f"; but the train-eval gap is high ({_num(last.gap)}): the model fits its training data far better "
            "than held-out data (more data, fewer epochs or more regularisation may generalise better)"
        )
    return [text], clause


def _missing_checkpoint(curves: TrainingCurves, best: CurvePoint, is_last: bool, findings: list[str]) -> str:
    saved = curves.checkpoint_steps
    if saved is None or is_last or best.step in saved:
        return ""
    nearest = min(saved, key=lambda s: (abs(s - best.step), s))
    listed = ", ".join(map(str, saved[:10])) + (", ..." if len(saved) > 10 else "")
    findings.append(
        f"no checkpoint was saved at step {best.step} (saved: {listed}); set save_steps equal to "
        "eval_steps, or load_best_model_at_end=True, to keep the best one"
    )
    return f"; no checkpoint was saved there (nearest: checkpoint-{nearest})"


def _noise(values: Sequence[float]) -> float:
    """Point-to-point noise: sqrt(pi) * mean |x_i - median of x_i and its neighbours| (0 below 3 points)."""
    if len(values) < 3:
        return 0.0
    residuals = [abs(values[i] - statistics.median(values[i - 1 : i + 2])) for i in range(1, len(values) - 1)]
    return math.sqrt(math.pi) * statistics.fmean(residuals)


def _at(p: CurvePoint) -> str:
    if p.epoch is None:
        return f"step {p.step}"
    epoch = f"{p.epoch:.0f}" if float(p.epoch).is_integer() else f"{p.epoch:.2f}"
    return f"epoch {epoch} / step {p.step}"


def _num(x: float | None) -> str:
    """Losses to 3 decimals, small numbers (gaps, deltas) to 3 significant digits."""
    if x is None:
        return "n/a"
    return f"{x:.3f}" if round(abs(x), 3) >= 0.1 or x == 0 else f"{x:.3g}"


__all__ = ["CurveReport", "GapAtStep", "TrainLossSummary", "analyse_curves", "curve_signal"]
