"""Mutation-testing cases for overfitting/_ucurve.py (tests/MUTANTS.md; the survivors that stay
are explained there, section overfitting/_ucurve.py): the recommendation's exact text for
every branch, each checkpoint's estimates, the sweep's Result and signal, and the paired
comparison with the best checkpoint (its direction, seed, resamples and Holm adjustment).

The recommendation is what users act on, so its text is asserted whole, with the numbers worked
out by hand. `recommend` reads the phases it is given, so most cases pass them directly; losses
are the same on every document (a checkpoint's loss is then exactly that number)."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from tests.overfitting.test_sweep import _fake
from tunecheck.core import Estimate, Status, Verdict
from tunecheck.overfitting import SweepConfig, SweepReport, place_on_curve, sweep_signal
from tunecheck.overfitting._checkpoints import Checkpoint
from tunecheck.overfitting._ucurve import CheckpointResult, recommend
from tunecheck.overfitting._verdict import RUN
from tunecheck.perplexity import PerplexityConfig
from tunecheck.stats import SampleStats, adjust_holm, paired


def _flat(name: str, step: int | None, loss: float, n: int = 2) -> CheckpointResult:
    # 8 tokens a document and two documents: nll = 8 * loss each, 16 * loss / 16 = loss exactly
    return _fake(name, step, np.full(n, loss), tokens=8)


def _run(*losses: float, steps: bool = True) -> list[CheckpointResult]:
    return [_flat(f"checkpoint-{i}", i if steps else None, x) for i, x in enumerate(losses, start=1)]


# --- recommend: which checkpoint, which later ones over-fit -------------------------------------


def test_the_best_checkpoint_is_named_with_its_step_and_the_later_ones_that_overfit():
    results = [_flat("checkpoint-100", 100, 2.0), _flat("checkpoint-200", 200, 1.25), _flat("checkpoint-300", 300, 1.5),
               _flat("checkpoint-400", 400, 1.75)]
    text = recommend(results, 1, ["under-fitting", "best", "over-fitting", "over-fitting"])
    assert text == ("use checkpoint-200 (step 200): lowest validation loss 1.2500; 2 later checkpoint(s) overfit "
                    "(validation loss significantly higher: checkpoint-300, checkpoint-400)")


def test_only_over_fitting_checkpoints_after_the_best_are_listed():
    # best first: a near-best checkpoint right after it is not listed, the two over-fitting ones are
    results = _run(1.25, 1.26, 1.5, 1.75)
    text = recommend(results, 0, ["best", "near best", "over-fitting", "over-fitting"])
    assert text == ("use checkpoint-1 (step 1): lowest validation loss 1.2500; 2 later checkpoint(s) overfit "
                    "(validation loss significantly higher: checkpoint-3, checkpoint-4)")


def test_three_later_checkpoints_are_all_named_four_are_cut_to_three_and_an_ellipsis():
    three = recommend(_run(1.25, 1.5, 1.5, 1.5), 0, ["best", *["over-fitting"] * 3])
    assert three == ("use checkpoint-1 (step 1): lowest validation loss 1.2500; 3 later checkpoint(s) overfit "
                     "(validation loss significantly higher: checkpoint-2, checkpoint-3, checkpoint-4)")
    four = recommend(_run(1.25, 1.5, 1.5, 1.5, 1.5), 0, ["best", *["over-fitting"] * 4])
    assert four == ("use checkpoint-1 (step 1): lowest validation loss 1.2500; 4 later checkpoint(s) overfit "
                    "(validation loss significantly higher: checkpoint-2, checkpoint-3, checkpoint-4...)")


# --- recommend: not significantly worse, diverged, no step --------------------------------------


def test_later_checkpoints_not_told_apart_from_the_best():
    inside = recommend(_run(2.0, 1.25, 1.26), 1, ["under-fitting", "best", "near best"])
    assert inside == "use checkpoint-2 (step 2): lowest validation loss 1.2500; later checkpoints are not significantly worse"
    first = recommend(_run(1.25, 1.26), 0, ["best", "near best"])
    assert first == "use checkpoint-1 (step 1): lowest validation loss 1.2500; later checkpoints are not significantly worse"


def test_a_diverged_checkpoint_is_named_and_is_not_read_as_not_significantly_worse():
    # the near-best checkpoint is BEFORE the best, the one after it diverged: nothing "later" to say
    results = [*_run(1.26, 1.25), _flat("checkpoint-3", 3, math.nan)]
    text = recommend(results, 1, ["near best", "best", "diverged"])
    assert text == "use checkpoint-2 (step 2): lowest validation loss 1.2500; checkpoint-3: loss is NaN/inf (training diverged numerically)"


def test_diverged_checkpoints_three_named_four_cut_with_an_ellipsis():
    nan = math.nan
    three = recommend(_run(1.25, nan, nan, nan), 0, ["best", *["diverged"] * 3])
    assert three == ("use checkpoint-1 (step 1): lowest validation loss 1.2500; "
                     "checkpoint-2, checkpoint-3, checkpoint-4: loss is NaN/inf (training diverged numerically)")
    four = recommend(_run(1.25, nan, nan, nan, nan), 0, ["best", *["diverged"] * 4])
    assert four == ("use checkpoint-1 (step 1): lowest validation loss 1.2500; "
                    "checkpoint-2, checkpoint-3, checkpoint-4...: loss is NaN/inf (training diverged numerically)")


def test_a_lone_checkpoint_without_a_step_is_named_alone():
    # one checkpoint (the final save, step unknown): no step, no curve, nothing more to say
    assert recommend([_flat("final", None, 1.25)], 0, ["best"]) == "use final: lowest validation loss 1.2500"


# --- recommend when the last checkpoint is the best ---------------------------------------------


def test_the_last_checkpoint_best_but_not_told_apart_from_the_one_before():
    text = recommend(_run(1.26, 1.25), 1, ["near best", "best"])
    assert text == ("use checkpoint-2 (step 2): lowest validation loss 1.2500; "
                    "checkpoint-1 is not told apart from it: the loss has levelled off")


def test_task_metrics_at_their_maximum_are_all_named():
    # 2.0 -> 1.25: fell by 0.75. exact_match sits exactly at the tolerance (1 - 1e-9), which counts
    results = _run(2.0, 1.25)
    results[1].task.update({"accuracy": Estimate(1.0, None), "exact_match": Estimate(1.0 - 1e-9, None), "f1": Estimate(0.9, None)})
    text = recommend(results, 1, ["under-fitting", "best"])
    assert text == ("use checkpoint-2 (step 2): lowest validation loss 1.2500; loss still fell at the last checkpoint "
                    "(by 0.7500 from checkpoint-1), but accuracy, exact_match is already at its maximum: "
                    "more training cannot improve the task, only memorise")


def test_little_left_to_gain_below_0_05_nats_and_not_at_it():
    # 0.125 -> 0.02: fell by 0.105; exp(0.02) = 1.0202
    low = recommend(_run(0.125, 0.02), 1, ["under-fitting", "best"])
    assert low == ("use checkpoint-2 (step 2): lowest validation loss 0.0200; loss still fell at the last checkpoint "
                   "(by 0.1050 from checkpoint-1), but at 0.0200 nats/token (perplexity 1.020) little is left to gain: "
                   "more training would mostly memorise")
    # exactly 0.05 is not below LITTLE_LEFT: 0.1 -> 0.05 fell by 0.05, 100% of the loss: may help
    at = _run(0.1, 0.05)
    assert at[1].eval_loss == 0.05
    assert recommend(at, 1, ["under-fitting", "best"]) == ("use checkpoint-2 (step 2): lowest validation loss 0.0500; "
                                                           "loss still fell at the last checkpoint (by 0.0500 from checkpoint-1): more training may help")


def test_a_last_gain_under_1_percent_of_the_loss_has_nearly_levelled_off():
    # 2.01 -> 2.0: fell by 0.01, under 1% of 2.0 (0.02); the mutant RELATIVE_FLOOR / loss (0.005) would not see it
    nearly = recommend(_run(2.01, 2.0), 1, ["under-fitting", "best"])
    assert nearly == ("use checkpoint-2 (step 2): lowest validation loss 2.0000; loss still fell at the last checkpoint "
                      "(by 0.0100 from checkpoint-1), under 1% of the loss: it has nearly levelled off")
    # exactly 1%: 1.578125 -> 1.5625 fell by 0.015625 = 0.01 * 1.5625 (both exact in binary): not under it
    edge = _run(1.578125, 1.5625)
    assert edge[0].eval_loss - edge[1].eval_loss == 0.01 * edge[1].eval_loss
    assert recommend(edge, 1, ["under-fitting", "best"]) == ("use checkpoint-2 (step 2): lowest validation loss 1.5625; "
                                                             "loss still fell at the last checkpoint (by 0.0156 from checkpoint-1): more training may help")


def test_a_diverged_checkpoint_before_the_last_is_skipped_when_saying_whether_the_loss_still_fell():
    # checkpoint-2 diverged (NaN), checkpoint-3 recovered and is the best: the loss fell from
    # checkpoint-1 (2.0 -> 1.25, by 0.75), not "checkpoint-2 is not told apart from it"
    results = [_flat("checkpoint-1", 1, 2.0), _flat("checkpoint-2", 2, math.nan), _flat("checkpoint-3", 3, 1.25)]
    text = recommend(results, 2, ["under-fitting", "diverged", "best"])
    assert text == ("use checkpoint-3 (step 3): lowest validation loss 1.2500; loss still fell at the last checkpoint "
                    "(by 0.7500 from checkpoint-1): more training may help; checkpoint-2: loss is NaN/inf (training diverged numerically)")
    # every earlier checkpoint diverged: nothing to compare the last with
    alone = recommend([_flat("checkpoint-1", 1, math.nan), _flat("checkpoint-2", 2, 1.25)], 1, ["diverged", "best"])
    assert alone == "use checkpoint-2 (step 2): lowest validation loss 1.2500; checkpoint-1: loss is NaN/inf (training diverged numerically)"


# --- each checkpoint's estimates -------------------------------------------------------------------


def test_a_checkpoint_s_estimates_are_named_counted_and_the_gap_has_no_ci():
    cr = _fake("checkpoint-3", 3, [1.0, 1.5, 2.0], tokens=8)  # mean 1.5 over 3 documents
    cr.train = _fake("checkpoint-3", 3, np.full(5, 0.5), tokens=8).eval  # 0.5 over 5 documents
    cr.task.update({"accuracy": Estimate(0.75, (0.5, 1.0)), "bleu": Estimate(30.0, (20.0, 40.0), n=2)})
    got = [(e.metric, e.model, e.n) for e in cr.estimates()]
    # the task metric without its own n gets the validation set's; bleu (scored on 2) keeps its 2
    assert got == [("eval_loss", "checkpoint-3", 3), ("eval_perplexity", "checkpoint-3", 3), ("train_loss", "checkpoint-3", 5),
                   ("gap", "checkpoint-3", None), ("accuracy", "checkpoint-3", 3), ("bleu", "checkpoint-3", 2)]
    values = [e.value for e in cr.estimates()]
    assert values == pytest.approx([1.5, math.exp(1.5), 0.5, 1.0, 0.75, 30.0])
    eval_loss, ppl, _, gap, acc, _ = cr.estimates()
    assert eval_loss.ci95 == cr.eval.metrics["nll_per_token"].ci95 and ppl.ci95 == cr.eval.metrics["perplexity"].ci95
    assert gap.ci95 is None and acc.ci95 == (0.5, 1.0)
    # without a training set: no train_loss, no gap
    alone = _fake("checkpoint-3", 3, [1.0, 1.5, 2.0], tokens=8)
    assert [e.metric for e in alone.estimates()] == ["eval_loss", "eval_perplexity"]


# --- the sweep's Result and signal -----------------------------------------------------------------


def _report(tmp_path: Path, phases: list[str], losses: list[float], best: int) -> SweepReport:
    results = []
    for i, x in enumerate(losses, start=1):
        cr = _flat(f"checkpoint-{i}", 10 * i, x)
        cr.checkpoint = Checkpoint(cr.checkpoint.name, 10 * i, tmp_path / cr.checkpoint.name)
        cr.eval.identity = {"path": str(tmp_path / cr.checkpoint.name)}
        results.append(cr)
    results[best].task["accuracy"] = Estimate(0.5, None)
    ident = {"source": "val.jsonl", "sha256": "sha256:v", "n": 2, "shape": "text"}
    config = SweepConfig(perplexity=PerplexityConfig(n_resamples=321, seed=9))
    return SweepReport(results, best, [None] * len(results), phases, "use it", {"eval": ident}, config)


def test_the_result_keeps_each_checkpoint_s_step_path_phase_documents_and_tokenization(tmp_path):
    report = _report(tmp_path, ["under-fitting", "best", "over-fitting"], [2.0, 1.25, 1.5], 1)
    result = report.to_result()
    assert [(m.name, m.identity, m.details) for m in result.models] == [
        (f"checkpoint-{i}", {"path": str(tmp_path / f"checkpoint-{i}")},
         {"step": 10 * i, "path": str(tmp_path / f"checkpoint-{i}"), "phase": phase, "documents": 2, "tokenization_sha256": "t"})
        for i, phase in zip((1, 2, 3), ("under-fitting", "best", "over-fitting"))
    ]
    assert result.config == asdict(report.config) and result.config["perplexity"]["n_resamples"] == 321
    assert result.details == {"best_checkpoint": "checkpoint-2", "best_step": 20, "best_eval_loss": 1.25, "u_curve": True,
                              "recommendation": "use it", "task_metrics": ["accuracy"]}
    assert [(d.source, d.role) for d in result.data] == [("val.jsonl", "validation")]


def test_a_u_curve_needs_both_sides():
    # under-fitting only (still falling) or over-fitting only (best first): not a U
    assert _report(Path("/x"), ["under-fitting", "best"], [2.0, 1.25], 1).to_result().details["u_curve"] is False
    assert _report(Path("/x"), ["best", "over-fitting"], [1.25, 1.5], 0).to_result().details["u_curve"] is False


def test_one_checkpoint_s_signal_names_the_check_the_run_and_keeps_the_recommendation():
    s = sweep_signal(["best"], "use final: lowest validation loss 1.2500")
    assert (s.name, s.status, s.evidence, s.reason, s.model) == (
        "checkpoint sweep", Status.NOT_APPLICABLE, "use final: lowest validation loss 1.2500",
        "only 1 checkpoint(s): no curve to place them on", RUN)


# --- the paired comparison with the best checkpoint -----------------------------------------------


def _ratio(sums: np.ndarray) -> np.ndarray:
    return np.asarray(sums[:, 0] / sums[:, 1])


def test_each_checkpoint_is_compared_with_the_best_by_the_configured_bootstrap_holm_adjusted():
    # 40 documents; the best's losses 1.0 +- 0.1, the others' differences from it vary by document,
    # so the bootstrap CI depends on the seed and the number of resamples
    n = 40
    wave = np.where(np.arange(n) % 2 == 0, 0.1, -0.1)
    bumps = np.linspace(-0.2, 0.2, n)
    per_doc = [2.0 + wave + bumps, 1.0 + wave, 1.02 + wave + bumps, 1.5 + wave - bumps]
    results = [_fake(f"checkpoint-{i}", i, x, tokens=8) for i, x in enumerate(per_doc, start=1)]
    config = PerplexityConfig(n_resamples=300, seed=5)
    best, versus, _ = place_on_curve(results, config)
    assert best == 1 and versus[1] is None

    # reference: stats.paired on (nll, tokens) sums, best first (difference = checkpoint - best,
    # lower is better), seed 5 and 300 resamples, then Holm over the three
    def stats(cr: CheckpointResult) -> SampleStats:
        cols = np.array([[r.values["nll"], r.values["tokens"]] for r in cr.eval.records])
        return SampleStats("eval_loss", cols, _ratio, higher_is_better=False)

    raw = [paired(stats(results[1]), stats(results[i]), n_resamples=300, seed=5, baseline="checkpoint-2", model=f"checkpoint-{i + 1}")
           for i in (0, 2, 3)]
    want = adjust_holm(raw)
    got = [versus[0], versus[2], versus[3]]
    for g, w in zip(got, want):
        assert g is not None
        assert (g.metric, g.baseline, g.model, g.n) == ("eval_loss", w.baseline, w.model, 40)
        assert g.ci95 == pytest.approx(w.ci95) and g.p_value == pytest.approx(w.p_value)
        assert g.p_value_holm == pytest.approx(w.p_value_holm) and g.verdict == w.verdict
    # the direction, by hand: means 2.0, 1.0, 1.02, 1.5 (wave and bumps average 0)
    assert [x for g in got for x in (g.baseline_value, g.value, g.difference)] == pytest.approx([1.0, 2.0, 1.0, 1.0, 1.02, 0.02, 1.0, 1.5, 0.5])
    assert [g.verdict for g in got if g.difference > 0.1] == [Verdict.REGRESSED, Verdict.REGRESSED]
    # Holm over three p-values: the smallest times 3, the next times 2 (monotone), the largest times 1
    order = np.argsort([g.p_value for g in got])
    holm = np.minimum(1, np.maximum.accumulate([got[order[k]].p_value * (3 - k) for k in range(3)]))
    assert [got[order[k]].p_value_holm for k in range(3)] == pytest.approx(list(holm))
    # another seed is another draw: the seed is the config's, not a default
    _, other, _ = place_on_curve(results, PerplexityConfig(n_resamples=300, seed=6))
    assert other[2] is not None and versus[2] is not None and other[2].ci95 != versus[2].ci95


# --- a checkpoint worse on the validation set and no better on the training set ----------------


def _with_train(results: list[CheckpointResult], *train_losses: float) -> list[CheckpointResult]:
    for r, t in zip(results, train_losses):
        r.train = _flat(r.checkpoint.name, r.checkpoint.step, t, n=4).eval
    return results


def _noisy(name: str, step: int, loss: float) -> CheckpointResult:
    rng = np.random.default_rng(step)
    return _fake(name, step, loss + rng.normal(0, 0.02, 60))


def test_worse_on_validation_with_the_training_loss_up_too_is_not_overfitting():
    # validation 2.0 -> 1.0 (best) -> 1.5 and 1.6; training 1.9 -> 0.8 -> 0.9 (rose) and 0.8 (equal):
    # overfitting keeps lowering the training loss, so neither later checkpoint is "over-fitting"
    results = _with_train([_noisy("checkpoint-1", 1, 2.0), _noisy("checkpoint-2", 2, 1.0), _noisy("checkpoint-3", 3, 1.5),
                           _noisy("checkpoint-4", 4, 1.6)], 1.9, 0.8, 0.9, 0.8)
    best, _, phases = place_on_curve(results, PerplexityConfig(n_resamples=1000))
    assert (best, phases) == (1, ["under-fitting", "best", "worse on both", "worse on both"])
    text = recommend(results, best, phases)
    assert text == (f"use checkpoint-2 (step 2): lowest validation loss {results[1].eval_loss:.4f}; 2 later checkpoint(s) got "
                    "worse on the training data too (checkpoint-3, checkpoint-4): not overfitting, but unstable training, or "
                    "the sweep scores tokens the training did not (add --completion-only if it trained on the responses only)")
    signal = sweep_signal(phases, text)
    assert (signal.status, signal.reason, signal.evidence) == (
        Status.INCONCLUSIVE,
        "the validation loss rose after the best checkpoint, but the training loss rose too: the model got worse, it did not overfit",
        text,
    )
    # the training loss still falling (0.7 < 0.8) is overfitting, beside a checkpoint worse on both
    mixed = _with_train([_noisy("checkpoint-1", 1, 2.0), _noisy("checkpoint-2", 2, 1.0), _noisy("checkpoint-3", 3, 1.5),
                         _noisy("checkpoint-4", 4, 1.6)], 1.9, 0.8, 0.7, 0.9)
    best, _, phases = place_on_curve(mixed, PerplexityConfig(n_resamples=1000))
    assert phases == ["under-fitting", "best", "over-fitting", "worse on both"]
    both = recommend(mixed, best, phases)
    assert "; 1 later checkpoint(s) overfit (validation loss significantly higher: checkpoint-3); 1 later checkpoint(s) got worse" in both
    assert sweep_signal(phases, both).status == Status.OVERFITTING


def test_without_a_training_loss_the_validation_loss_alone_decides():
    # no training set, or a NaN training loss: a later significantly worse checkpoint is over-fitting
    results = [_noisy("checkpoint-1", 1, 1.0), _noisy("checkpoint-2", 2, 1.5)]
    assert place_on_curve(results, PerplexityConfig(n_resamples=1000))[2] == ["best", "over-fitting"]
    _with_train(results, 0.8, math.nan)
    assert place_on_curve(results, PerplexityConfig(n_resamples=1000))[2] == ["best", "over-fitting"]


def test_the_worse_on_both_signal_and_list():
    phases = ["best", *["worse on both"] * 4]
    signal = sweep_signal(phases, "text")
    assert (signal.name, signal.model) == ("checkpoint sweep", RUN)
    # three are all named, four are cut to three and "..."
    three = recommend(_run(1.25, 1.5, 1.5, 1.5), 0, ["best", *["worse on both"] * 3])
    assert "got worse on the training data too (checkpoint-2, checkpoint-3, checkpoint-4): not overfitting" in three
    four = recommend(_run(1.25, 1.5, 1.5, 1.5, 1.5), 0, phases)
    assert "; 4 later checkpoint(s) got worse on the training data too (checkpoint-2, checkpoint-3, checkpoint-4...): not" in four


def test_the_training_loss_counts_only_when_both_checkpoints_have_one():
    from tunecheck.overfitting._ucurve import _train_fell

    with_train = _with_train(_run(1.0, 1.5), 0.8, 0.9)
    assert _train_fell(with_train[1], with_train[0]) is False
    no_train = _run(1.0, 1.5)
    assert _train_fell(no_train[1], with_train[0]) is True and _train_fell(with_train[1], no_train[0]) is True
