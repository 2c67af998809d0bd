"""The mutation-testing cases of `overfitting/_membership.py` (the survivors in tests/MUTANTS.md):
the boundaries of the level and the signal, Min-K%'s k, the seeded subsample, the too-few
boundary, what is handed to the model and to the bootstrap, and the exact Result of a small case.

No model runs here but one: a fake scorer gives every text the log-probabilities the test wrote
for it, so each AUROC is worked out by hand (and its CI by `stats.auroc_test`, the reference)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from tests.overfitting.conftest import HELDOUT, MEMBERS
from tunecheck.core import DataInfo, Estimate, ModelInfo, Status
from tunecheck.data import Dataset, FieldMap, Sample
from tunecheck.errors import ConfigError, DataError, ModelError
from tunecheck.models import LoglikelihoodRequest, TokenScores
from tunecheck.overfitting import MembershipConfig, evaluate_membership, min_k_prob
from tunecheck.overfitting._membership import (
    MembershipResult,
    _level,
    membership_applies,
    membership_signal,
)
from tunecheck.perplexity import PerplexityConfig
from tunecheck.stats import AurocResult, auroc_test

# ---------------------------------------------------------------- pure rules, hand-made inputs


def test_min_k_takes_the_ceiling_of_k_percent_of_the_tokens():
    # 201 tokens at 1%: 2.01 -> ceil 3 tokens (k / 101 would give 1.99 -> 2); the lowest three of
    # 0, -1, ..., -200 are -200, -199, -198, mean -199
    assert min_k_prob(-np.arange(201.0), 1) == -199.0


def test_k_percent_and_samples_boundaries():
    # k in (0, 100]: 0.5 and 100 are fine, 100.5 is not; at least 2 samples
    assert MembershipConfig(k_percent=0.5).k_percent == 0.5
    assert MembershipConfig(k_percent=100).k_percent == 100
    with pytest.raises(ConfigError, match=r"--k-percent must be in \(0, 100\], got 100.5"):
        MembershipConfig(k_percent=100.5)
    assert MembershipConfig(n_samples=2).n_samples == 2
    with pytest.raises(ConfigError, match="--samples must be at least 2, got 1"):
        MembershipConfig(n_samples=1)


def _auroc(value: float, ci: tuple[float, float] | None, n_pos: int = 20, n_neg: int = 20) -> AurocResult:
    return AurocResult(Estimate(value, ci), 0.01, n_pos, n_neg)


def test_level_boundaries():
    # high: value >= 0.8 (0.8 itself counts) and the CI's low end strictly above 0.5
    assert _level(_auroc(0.8, (0.6, 0.9))) == ("high", "the tuned model singles out its training examples (AUROC 0.80): it has memorised them")
    assert _level(_auroc(0.9, (0.5, 1.0)))[0] == "unclear"  # CI touching 0.5 is not enough
    assert _level(_auroc(0.9, (0.4, 1.0)))[0] == "unclear"  # both conditions, not either
    assert _level(_auroc(0.7, (0.55, 0.85)))[0] == "unclear"
    # low: the whole CI strictly below 0.6 (a CI ending at 0.6 is unclear)
    assert _level(_auroc(0.5, (0.4, 0.59))) == ("low", "training examples are hardly told apart from held-out ones (AUROC 0.50, CI below 0.6)")
    assert _level(_auroc(0.5, (0.4, 0.6))) == ("unclear", "some membership signal (AUROC 0.50, CI [0.40, 0.60])")
    # no CI: read as unknown bounds, never high or low
    assert _level(_auroc(0.9, None)) == ("unclear", "some membership signal (AUROC 0.90, CI [nan, nan])")


def _result(level: str, n_pos: int = 20, n_neg: int = 20, signals: dict[str, AurocResult] | None = None) -> MembershipResult:
    if signals is None:
        signals = {"reference": _auroc(0.7, (0.6, 0.8), n_pos, n_neg), "loss": _auroc(0.7, (0.6, 0.8), n_pos + 5, n_neg + 5)}
    return MembershipResult("tuned", signals, level, f"message of {level}")


def _fields(signal: Any) -> tuple[Any, ...]:
    return (signal.name, signal.status, signal.evidence, signal.reason, signal.deciding, signal.model)


def test_signal_reads_the_level_and_says_why_it_cannot_decide():
    assert _fields(membership_signal(_result("high"))) == ("membership signal", Status.OVERFITTING, "message of high", None, True, "tuned")
    assert _fields(membership_signal(_result("low"))) == ("membership signal", Status.HEALTHY, "message of low", None, True, "tuned")
    assert _fields(membership_signal(_result("unclear"))) == (
        "membership signal", Status.INCONCLUSIVE, "message of unclear", "the AUROC is neither clearly high nor clearly low", True, "tuned")


def test_too_few_examples_in_the_smaller_set_is_not_applicable():
    # the smallest group over all scores decides: 9 held-out in "reference" (the "loss" one has 14)
    few = _result("high", n_pos=20, n_neg=9)
    reason = "only 9 examples in the smaller of the training and held-out sets: too few to judge (at least 10 needed)"
    assert membership_applies(few).as_details() == {"applies": False, "reason": reason}
    assert _fields(membership_signal(few)) == ("membership signal", Status.NOT_APPLICABLE, "message of high", reason, True, "tuned")
    # 10 is enough; no scores at all has nothing to count and applies
    assert membership_applies(_result("high", n_pos=10, n_neg=30)).applies is True
    assert membership_applies(_result("high", signals={})).as_details() == {"applies": True, "reason": None}


def _texts(prefix: str, n: int) -> Dataset:
    samples = tuple(Sample(f"{prefix}{i}", "text", text=f"{prefix} text {i}") for i in range(n))
    return Dataset(samples, f"{prefix}.jsonl", "text", f"sha-{prefix}")


# ---------------------------------------------------------------- the check, with a fake scorer


class FakeScorer:
    """Gives each text the log-probabilities in `table`; records the texts and options it got."""

    eos_token = None
    context_length = 64

    def __init__(self, name: str, table: dict[str, list[float]]) -> None:
        self.name, self.table = name, table
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def identity(self) -> dict[str, Any]:
        return {"path": f"/models/{self.name}"}

    def chat_renderer(self) -> None:
        return None

    def loglikelihood(self, requests: list[LoglikelihoodRequest], **options: Any) -> list[TokenScores]:
        self.calls.append(([r.continuation for r in requests], options))
        out = []
        for r in requests:
            lp = np.array(self.table[r.continuation], dtype=np.float64)
            out.append(TokenScores(lp, np.zeros(lp.size, dtype=np.int64)))
        return out

    def token_view(self, req: LoglikelihoodRequest) -> list[tuple[str, bool]]:
        return [(req.continuation, True)]

    def close(self) -> None:
        pass


TRAIN, HELD = _texts("t", 10), _texts("h", 10)


def _table(train: list[list[float]], held: list[list[float]]) -> dict[str, list[float]]:
    return {**{s.text: lp for s, lp in zip(TRAIN, train)}, **{s.text: lp for s, lp in zip(HELD, held)}}  # type: ignore[misc]


# base: every text two tokens of -2 (mean -2): it cannot tell the sets apart (all pairs tied)
FLAT = _table([[-2.0, -2.0]] * 10, [[-2.0, -2.0]] * 10)
# tuned "a": train row i [-1, -1 - i] (mean -1 - i/2, min -1 - i), held row j [-3, -3 - j]
MEMORISED = _table([[-1.0, -1.0 - i] for i in range(10)], [[-3.0, -3.0 - j] for j in range(10)])
A_TRAIN_MEAN, A_HELD_MEAN = np.array([-1 - i / 2 for i in range(10)]), np.array([-3 - j / 2 for j in range(10)])
A_TRAIN_MIN, A_HELD_MIN = np.array([-1.0 - i for i in range(10)]), np.array([-3.0 - j for j in range(10)])
CONFIG = MembershipConfig(perplexity=PerplexityConfig(max_length=64, stride=32, batch_size=3, windows="fixed", n_resamples=200, seed=3))
OPTIONS = {"max_length": 64, "stride": 32, "batch_size": 3, "windows": "fixed"}


def test_exact_result_of_a_base_and_two_tuned_models():
    base, a, b = FakeScorer("base", FLAT), FakeScorer("a", MEMORISED), FakeScorer("b", FLAT)
    progress = object()
    report = evaluate_membership([base, a, b], TRAIN, HELD, CONFIG, progress=progress)  # type: ignore[arg-type]
    # every model scores the training set, then the held-out set, with the scoring options and progress
    for m in (base, a, b):
        assert m.calls == [([s.text for s in TRAIN], {**OPTIONS, "progress": progress}),
                           ([s.text for s in HELD], {**OPTIONS, "progress": progress})]  # type: ignore[misc]
    # a's loss: train -1 - i/2 beats held -3 - j/2 unless i - j >= 4: 15 pairs lose (i - j >= 5),
    # 6 tie (i - j = 4), 79 win: AUROC (79 + 6/2) / 100 = 0.82. Minus the flat base (-2) shifts
    # every score alike: the reference AUROC is the same 0.82.
    # a's Min-K% (20% of 2 tokens: 1, the min): -1 - i vs -3 - j: 28 pairs lose (i - j >= 3),
    # 8 tie (i - j = 2): (64 + 4) / 100 = 0.68. b and the base: every pair tied, 0.5, CI [0.5, 0.5].
    ref = {"reference": auroc_test(A_TRAIN_MEAN + 2, A_HELD_MEAN + 2, n_resamples=200, seed=3),
           "loss": auroc_test(A_TRAIN_MEAN, A_HELD_MEAN, n_resamples=200, seed=3),
           "min_k": auroc_test(A_TRAIN_MIN, A_HELD_MIN, n_resamples=200, seed=3)}
    flat = auroc_test(np.full(10, -2.0), np.full(10, -2.0), n_resamples=200, seed=3)
    assert [ref["loss"].value.value, ref["min_k"].value.value, flat.value.value] == [pytest.approx(0.82), pytest.approx(0.68), 0.5]
    assert flat.value.ci95 == (0.5, 0.5) and ref["reference"].value.ci95[0] > 0.5  # type: ignore[index]
    [ra, rb] = report.models
    assert ra.signals == {**ref, "base_loss": flat} and rb.signals == {"reference": flat, "loss": flat, "min_k": flat, "base_loss": flat}
    high = "the tuned model singles out its training examples (AUROC 0.82): it has memorised them"
    low = "training examples are hardly told apart from held-out ones (AUROC 0.50, CI below 0.6)"
    assert (ra.model, ra.level, ra.message, ra.identity) == ("a", "high", high, {"path": "/models/a"})
    assert (rb.model, rb.level, rb.message, rb.identity) == ("b", "low", low, {"path": "/models/b"})
    # a flat base (CI [0.5, 0.5]) does not tell the sets apart: only the small-sample warning
    assert report.warnings == ["only 10 training and 10 held-out examples: the AUROC CIs are wide"]
    assert (report.baseline, report.baseline_identity, report.config) == ("base", {"path": "/models/base"}, CONFIG)
    inputs = [DataInfo("t.jsonl", "sha-t", 10, "train", {"shape": "text"}), DataInfo("h.jsonl", "sha-h", 10, "eval", {"shape": "text"})]
    assert report.inputs == inputs

    result = report.to_result()
    assert (result.layer, result.data, result.config, result.warnings) == ("membership", inputs, asdict(CONFIG), report.warnings)
    assert result.details == {"baseline": "base", "thresholds": {"high": 0.8, "low": 0.6}, "baseline_identity": {"path": "/models/base"}}

    def aurocs(signals: dict[str, AurocResult]) -> dict[str, Any]:
        return {k: {"p_value": v.p_value, "n_positive": 10, "n_negative": 10} for k, v in signals.items()}

    assert result.models == [
        ModelInfo("a", {"path": "/models/a"}, {"level": "high", "message": high, "applies": True, "reason": None, "auroc": aurocs(ra.signals)}),
        ModelInfo("b", {"path": "/models/b"}, {"level": "low", "message": low, "applies": True, "reason": None, "auroc": aurocs(rb.signals)}),
    ]
    assert result.estimates == [Estimate(v.value.value, v.value.ci95, f"auroc_{k}", m.model, 20) for m in (ra, rb) for k, v in m.signals.items()]
    assert [_fields(s) for s in result.signals] == [("membership signal", Status.OVERFITTING, high, None, True, "a"),
                                                   ("membership signal", Status.HEALTHY, low, None, True, "b")]


def test_a_single_model_gets_its_own_loss_and_min_k_and_no_baseline():
    a = FakeScorer("a", MEMORISED)
    report = evaluate_membership([a], TRAIN, HELD, CONFIG)  # type: ignore[list-item]
    [r] = report.models
    assert r.signals == {"loss": auroc_test(A_TRAIN_MEAN, A_HELD_MEAN, n_resamples=200, seed=3),
                         "min_k": auroc_test(A_TRAIN_MIN, A_HELD_MIN, n_resamples=200, seed=3)}
    message = "no base model to calibrate against: raw loss AUROCs mix memorisation with how the two sets differ"
    assert (r.model, r.level, r.message, r.identity) == ("a", "unclear", message, {"path": "/models/a"})
    assert (report.baseline, report.baseline_identity, report.config) == (None, {}, CONFIG)
    assert report.warnings == ["only 10 training and 10 held-out examples: the AUROC CIs are wide"]
    assert [d.role for d in report.inputs] == ["train", "eval"]
    result = report.to_result()
    assert result.details == {"baseline": None, "thresholds": {"high": 0.8, "low": 0.6}}
    assert [_fields(s) for s in result.signals] == [
        ("membership signal", Status.INCONCLUSIVE, message, "the AUROC is neither clearly high nor clearly low", True, "a")]


def test_a_base_that_separates_the_sets_warns_either_way():
    # the base ranks every training text above every held-out one (AUROC 1.00, CI [1, 1]) ...
    up = FakeScorer("base", _table([[-1.0]] * 10, [[-3.0]] * 10))
    report = evaluate_membership([up, FakeScorer("a", MEMORISED)], TRAIN, HELD, CONFIG)  # type: ignore[list-item]
    assert report.warnings[1:] == ["the base model already tells the two sets apart (AUROC 1.00): they differ in kind, "
                                   "so read the 'reference' signal, not 'loss' or 'min_k'"]
    # ... or below (AUROC 0.00, CI [0, 0])
    down = FakeScorer("base", _table([[-3.0]] * 10, [[-1.0]] * 10))
    report = evaluate_membership([down, FakeScorer("a", MEMORISED)], TRAIN, HELD, CONFIG)  # type: ignore[list-item]
    assert report.warnings[1:] == ["the base model already tells the two sets apart (AUROC 0.00): they differ in kind, "
                                   "so read the 'reference' signal, not 'loss' or 'min_k'"]


def test_the_sets_are_subsampled_with_the_seed_and_the_seed_plus_one():
    train, held = _texts("t", 12), _texts("h", 12)
    table = {s.text: [-1.0] for s in (*train, *held)}  # type: ignore[misc]
    model = FakeScorer("a", table)
    config = MembershipConfig(n_samples=10, perplexity=PerplexityConfig(n_resamples=100, seed=3))
    report = evaluate_membership([model], train, held, config)  # type: ignore[list-item]
    # the rows `Dataset.sample` (every --limit's sampler) keeps: numpy's generator seeded 3 and 4
    def kept(seed: int) -> list[int]:
        return sorted(int(i) for i in np.random.default_rng(seed).choice(12, size=10, replace=False))

    assert kept(3) != kept(4)
    assert model.calls[0][0] == [f"t text {i}" for i in kept(3)]
    assert model.calls[1][0] == [f"h text {i}" for i in kept(4)]
    # each set recorded as sampled: the kept rows' own hash, and how many of how many
    for d, full, seed in zip(report.inputs, (train, held), (3, 4)):
        assert (d.source, d.n, d.details["sampled"]) == (full.source, 10, {"n": 10, "of": 12, "seed": seed})
        assert d.sha256 == full.sample(10, seed).sha256 != full.sha256


@pytest.mark.parametrize(("n_train", "n_held", "warned"), [(100, 100, False), (99, 100, True), (100, 99, True)])
def test_fewer_than_100_examples_in_either_set_warns(n_train, n_held, warned):
    train, held = _texts("t", n_train), _texts("h", n_held)
    model = FakeScorer("a", {s.text: [-1.0 - int(s.id[1:]) % 7] for s in (*train, *held)})  # type: ignore[misc]
    report = evaluate_membership([model], train, held, MembershipConfig(perplexity=PerplexityConfig(n_resamples=100)))  # type: ignore[list-item]
    wide = f"only {n_train} training and {n_held} held-out examples: the AUROC CIs are wide"
    assert report.warnings == ([wide] if warned else [])


def test_two_scorable_examples_a_side_are_enough_and_empty_ones_are_named():
    train, held = _texts("t", 2), _texts("h", 2)
    model = FakeScorer("a", {"t text 0": [-1.0], "t text 1": [-2.0], "h text 0": [-3.0], "h text 1": [-4.0]})
    report = evaluate_membership([model], train, held, MembershipConfig(perplexity=PerplexityConfig(n_resamples=100)))  # type: ignore[list-item]
    assert report.models[0].signals["loss"].value.value == 1.0  # both training rows above both held-out ones
    # a row with no token to score (plain text, not --completion-only) leaves 1 of 2
    model.table["t text 1"] = []
    with pytest.raises(DataError, match=r"^t\.jsonl \(--train\): 1 of 2 examples can be scored \(the others have no tokens to score\); the AUROC"):
        evaluate_membership([model], train, held, MembershipConfig(perplexity=PerplexityConfig(n_resamples=100)))  # type: ignore[list-item]


def test_files_are_read_with_the_field_map():
    rows = [{"id": f"t{i}", "body": f"t text {i}"} for i in range(3)], [{"id": f"h{i}", "body": f"h text {i}"} for i in range(3)]
    model = FakeScorer("a", {**{f"t text {i}": [-1.0] for i in range(3)}, **{f"h text {i}": [-2.0] for i in range(3)}})
    report = evaluate_membership([model], rows[0], rows[1], MembershipConfig(perplexity=PerplexityConfig(n_resamples=100)),  # type: ignore[arg-type, list-item]
                                 fields=FieldMap(text="body"))
    assert report.models[0].signals["loss"].value.value == 1.0 and [d.n for d in report.inputs] == [3, 3]


def test_no_model_and_a_model_that_cannot_score_are_refused():
    with pytest.raises(ConfigError, match="name at least one model"):
        evaluate_membership([], TRAIN, HELD)

    class Generator:
        name = "gen"

        def identity(self) -> dict[str, Any]:
            return {}

    with pytest.raises(ModelError, match=r"^gen: memorisation membership needs log-likelihoods"):
        evaluate_membership([Generator()], TRAIN, HELD)  # type: ignore[list-item]


def test_the_dtype_reaches_the_loaded_model(memorised, tmp_path):
    # the one real model here: a tiny model loaded in bfloat16 says so in its identity
    train = [{"id": f"m{i}", "text": t} for i, t in enumerate(MEMBERS[:3])]
    held = [{"id": f"h{i}", "text": t} for i, t in enumerate(HELDOUT[:3])]
    config = MembershipConfig(perplexity=PerplexityConfig(dtype="bfloat16", n_resamples=100))
    report = evaluate_membership([str(memorised["base"])], train, held, config)  # type: ignore[arg-type]
    assert report.models[0].identity["dtype"] == "bfloat16"
