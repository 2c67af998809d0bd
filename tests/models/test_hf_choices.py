"""Multiple-choice scoring with a shared context (HFModel.loglikelihood_choices): the same
tokens and numbers as scoring each (context, choice) on its own with `loglikelihood`, which
tests/models/test_hf.py checks against plain forward passes."""

import numpy as np
import pytest
import torch

from tests.conftest import CORPUS
from tunecheck.errors import ConfigError, ModelError
from tunecheck.models import HFModel, LoglikelihoodRequest, _hf_choices
from tunecheck.models._hf_load import load_hf

CHOICES = [" the red fox", " hill", " walks to the river near town number 4", " sea"]


def _items() -> list[list[LoglikelihoodRequest]]:
    """4-choice items whose contexts and choices differ in length, so prefixes and choices are
    both padded when groups share a batch; plus the boundary cases of `_sequence`."""
    groups = []
    for i in range(7):
        context = "Question: " + " ".join(CORPUS[i : i + 1 + i % 3]) + "\nAnswer:"
        groups.append([LoglikelihoodRequest(context, c) for c in CHOICES])
    # a context ending in a space (it moves to the continuation), a word cut at the boundary
    # ("fo" + "x" merge into one token), add_eos, and the tokenizer's own prefix
    groups.append([LoglikelihoodRequest(CORPUS[3] + " the ", c.strip()) for c in CHOICES])
    groups.append([LoglikelihoodRequest(CORPUS[5] + " the red fo", c) for c in ("x", "x walks", "wl", " cat")])
    groups.append([LoglikelihoodRequest(CORPUS[8], c, add_eos=True) for c in CHOICES])
    groups.append([LoglikelihoodRequest(CORPUS[9], c, prefix="tokenizer") for c in CHOICES])
    groups.append([LoglikelihoodRequest(CORPUS[10], c, prefix="none") for c in CHOICES])
    return groups


def _separate(model: HFModel, groups, **kw):
    flat = model.loglikelihood([r for g in groups for r in g], batch_size=1, **kw)
    it = iter(flat)
    return [[next(it) for _ in g] for g in groups]


def _assert_same(got, ref):
    assert [len(g) for g in got] == [len(g) for g in ref]
    for g_got, g_ref in zip(got, ref):
        for a, b in zip(g_got, g_ref):
            np.testing.assert_array_equal(a.token_ids, b.token_ids)
            np.testing.assert_allclose(a.logprobs, b.logprobs, rtol=1e-5, atol=1e-5)
            assert a.nll == pytest.approx(b.nll, rel=1e-5, abs=1e-5)


def test_choices_equal_separate_scoring(tiny_model, tokenizer):
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    groups = _items()
    _assert_same(model.loglikelihood_choices(groups), _separate(model, groups))


def test_boundary_token_is_the_one_scored_separately(tiny_model, tokenizer):
    # "the red fo" + "x": BPE merges the boundary into " fox"; the merged token is scored (it
    # is the first one where context and whole text diverge), so it must come with the choice
    # and not from the cache
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    context = CORPUS[5] + " the red fo"
    whole = tokenizer(context + "x", add_special_tokens=False)["input_ids"]
    alone = tokenizer(context, add_special_tokens=False)["input_ids"]
    assert whole[: len(alone) - 1] == alone[:-1] and whole[len(alone) - 1] != alone[-1]  # the merge happens
    [[got]] = model.loglikelihood_choices([[LoglikelihoodRequest(context, "x")]])
    assert got.token_ids.tolist() == whole[len(alone) - 1 :]


@pytest.mark.parametrize("batch_size", [1, 4, 5, 9, None])
def test_batch_size_never_changes_the_numbers(tiny_model, tokenizer, batch_size):
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    groups = _items()
    _assert_same(model.loglikelihood_choices(groups, batch_size=batch_size), _separate(model, groups))


def test_context_is_computed_once_per_group(tiny_model, tokenizer):
    # one item, 4 choices, one batch: the forward passes see the shared tokens once (BOS +
    # context, less the last context token, which comes with each choice) and then 4 rows of
    # the longest choice's tokens after them
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    context = "Question: " + CORPUS[2] + "\nAnswer:"
    seen: list[int] = []
    handle = tiny_model.register_forward_pre_hook(lambda m, a, kw: seen.append(kw["input_ids"].numel()), with_kwargs=True)
    try:
        model.loglikelihood_choices([[LoglikelihoodRequest(context, c) for c in CHOICES]])
    finally:
        handle.remove()
    n_ctx = len(tokenizer(context, add_special_tokens=False)["input_ids"])
    longest = max(len(tokenizer(context + c, add_special_tokens=False)["input_ids"]) for c in CHOICES) - n_ctx
    shared = 1 + n_ctx - 1  # BOS + context, less its last token
    assert seen == [shared, 4 * (longest + 1 - 1)]  # choice inputs: last context token + choice, less its last


def test_context_at_the_window_limit(tiny_model, tokenizer):
    # max_length 32: a sequence of BOS + 32 tokens needs exactly 32 inputs (its last token is
    # only a target) and goes through the cache; one of 34 tokens falls back to windows; both
    # equal separate scoring with the same limit
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    context = " ".join(CORPUS[0].split()[:8])
    words = CORPUS[1].split() + CORPUS[2].split()

    def length(choice: str) -> int:
        return 1 + len(tokenizer(context + choice, add_special_tokens=False)["input_ids"])  # BOS first

    tails = [" " + " ".join(words[:k]) for k in range(1, len(words) + 1)]
    at_limit = next(c for c in tails if length(c) == 33)
    over = next(c for c in tails if length(c) > 33)
    choices = [" sea", at_limit, over, " hill near town"]
    groups = [[LoglikelihoodRequest(context, c) for c in choices]]
    _assert_same(model.loglikelihood_choices(groups, max_length=32), _separate(model, groups, max_length=32))
    # the one at the limit goes through the cache: two forward passes (prefix, choices), no windows
    calls: list[int] = []
    handle = tiny_model.register_forward_pre_hook(lambda m, a, kw: calls.append(1), with_kwargs=True)
    try:
        model.loglikelihood_choices([[LoglikelihoodRequest(context, c) for c in (" sea", at_limit)]], max_length=32)
    finally:
        handle.remove()
    assert len(calls) == 2
    with pytest.raises(ConfigError, match="exceeds"):
        model.loglikelihood_choices(groups, max_length=129)


def test_saved_model_and_merged_adapter(model_dirs):
    groups = _items()[:3]
    for name in ("base", "adapter"):
        model = load_hf(str(model_dirs[name]), device="cpu")
        _assert_same(model.loglikelihood_choices(groups), _separate(model, groups))


def test_empty_and_unshared_groups(tiny_model, tokenizer):
    # no group, an empty group, and context "" (nothing to share before the first scored token)
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    assert model.loglikelihood_choices([]) == []
    groups = [[], [LoglikelihoodRequest("", c) for c in CHOICES]]
    got = model.loglikelihood_choices(groups)
    assert got[0] == []
    _assert_same(got, _separate(model, groups))


class _OOMAboveFourRows(torch.nn.Module):
    """Wraps a model and runs out of memory on batches of more than four rows, as a GPU would."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.config = inner.config
        self.batches = []

    @property
    def device(self):
        return self.inner.device

    def forward(self, input_ids, attention_mask=None, cache=None, **kw):
        self.batches.append(input_ids.shape[0])
        if input_ids.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner(input_ids=input_ids, attention_mask=attention_mask, cache=cache, **kw)

    limit = 4


def test_out_of_memory_halves_the_batch_and_keeps_the_numbers(tiny_model, tokenizer):
    groups = _items()[:3]
    ref = _separate(HFModel(tiny_model, tokenizer, "tiny", "cpu"), groups)
    flaky = _OOMAboveFourRows(tiny_model)
    got = HFModel(flaky, tokenizer, "tiny", "cpu").loglikelihood_choices(groups, batch_size=12)
    # 3 groups of 4 in one batch: prefixes (3 rows) pass, 12 choice rows do not; batch size 6
    # takes one group (two would be 8 rows): prefix and 4 choice rows, three times
    assert flaky.batches == [3, 12, 1, 4, 1, 4, 1, 4]
    _assert_same(got, ref)
    flaky.limit = 0
    with pytest.raises(ModelError, match="out of memory on one multiple-choice item"):
        HFModel(flaky, tokenizer, "tiny", "cpu").loglikelihood_choices(groups[:1])


def test_cache_copies_bound_the_batch(tiny_model, tokenizer, monkeypatch):
    # with room for one group's cache copies only, every group is a batch of its own (prefix +
    # choices: two forward passes each), and the numbers stay
    model = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    groups = _items()
    monkeypatch.setattr(_hf_choices, "_kv_cap", lambda m: 1)
    calls: list[int] = []
    handle = tiny_model.register_forward_pre_hook(lambda m, a, kw: calls.append(1), with_kwargs=True)
    try:
        got = model.loglikelihood_choices(groups)
    finally:
        handle.remove()
    assert len(calls) == 2 * len(groups)
    _assert_same(got, _separate(model, groups))
