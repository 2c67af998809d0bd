"""Multiple-choice scoring for Hugging Face models: the choices of one question share its
context, so the context goes through the model once and its KV cache serves every choice.

Each request is tokenised exactly as `HFModel.loglikelihood` does (`HFModel._sequence`:
context + continuation tokenised together, the scored part where they diverge), so the tokens,
and the numbers to float rounding, are those of scoring each (context, choice) on its own. The
shared part of a group is the longest common token prefix of its requests, stopped one token
before the first scored one (that token's input has to come with the choice, so its logits
are computed). Groups are batched: their prefixes in one forward pass (right-padded), then
all their choices in a second one, right-padded, against the cache rows of their own group,
with the attention mask over cache + choice and each choice's positions continuing its
group's prefix. A request longer than the model's window, or a group with nothing to share,
goes to `HFModel.loglikelihood` (its windows).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecheck.errors import ConfigError, ModelError
from tunecheck.models._protocol import LoglikelihoodRequest, TokenScores

if TYPE_CHECKING:
    from tunecheck.models._hf import HFModel


@dataclass
class _Group:
    index: int
    """Position in the caller's list of groups."""
    members: list[int]
    """Indices (within the group) of the requests scored here, not by the fallback."""
    seqs: list[tuple[list[int], int]]
    """(token ids, first scored position) of those members."""
    shared: int
    """Length of the token prefix that all members share and that goes in the cache."""

    @property
    def width(self) -> int:
        """Longest choice input after the shared prefix."""
        return max(len(ids) - 1 - self.shared for ids, _ in self.seqs)

    @property
    def cost(self) -> int:
        """Forward positions of this group: its prefix once and each choice's own tokens."""
        return self.shared + sum(len(ids) - 1 - self.shared for ids, _ in self.seqs)


def _shared_prefix(seqs: Sequence[tuple[list[int], int]]) -> int:
    """Tokens all sequences start with, at most up to one before the first scored token of any."""
    limit = min(first for _, first in seqs) - 1
    head = seqs[0][0]
    n = 0
    while n < limit and all(len(ids) > n and ids[n] == head[n] for ids, _ in seqs):
        n += 1
    return n


def loglikelihood_choices(
    model: HFModel,
    groups: Sequence[Sequence[LoglikelihoodRequest]],
    *,
    max_length: int | None = None,
    batch_size: int | None = None,
) -> list[list[TokenScores]]:
    """Score every request of every group, as `model.loglikelihood` would, sharing each
    group's common token prefix. `batch_size`: choice rows per forward pass (whole groups are
    packed; a group with more choices goes alone); default: the model's token budget, with
    padding kept under ~10%."""
    import torch

    if max_length is not None and max_length > model.context_length:
        raise ConfigError(
            f"--max-length {max_length} exceeds {model.name}'s context of {model.context_length} tokens; "
            "leave it out to use the full context"
        )
    max_length = max_length or model.context_length
    out: list[list[TokenScores | None]] = [[None] * len(g) for g in groups]
    fallback: list[tuple[int, int]] = []
    planned: list[_Group] = []
    for gi, group in enumerate(groups):
        keep: list[int] = []
        seqs: list[tuple[list[int], int]] = []
        for k, req in enumerate(group):
            ids, first = model._sequence(req)
            # one forward pass takes inputs 0..len-2 (the last token is only a target)
            if len(ids) - 1 <= max_length and first < len(ids):
                keep.append(k)
                seqs.append((ids, first))
            else:
                fallback.append((gi, k))
        if not seqs:
            continue
        shared = _shared_prefix(seqs)
        if shared < 1:
            fallback.extend((gi, k) for k in keep)
            continue
        planned.append(_Group(gi, keep, seqs, shared))
    # longest first, as loglikelihood: similar lengths share a batch
    planned.sort(key=lambda g: (g.shared + g.width, g.shared), reverse=True)
    budget, kv_cap = model._token_budget(), _kv_cap(model)
    pos = 0
    with torch.inference_mode():
        while pos < len(planned):
            n = _take(planned, pos, batch_size, budget, kv_cap)
            batch = planned[pos : pos + n]
            try:
                scored = _score_groups(model, batch)
            except torch.OutOfMemoryError:
                if n == 1:
                    raise ModelError(
                        f"{model.name}: out of memory on one multiple-choice item of "
                        f"{batch[0].shared + batch[0].width} tokens; use a smaller --dtype"
                    ) from None
                if model.device.startswith("cuda"):
                    torch.cuda.empty_cache()
                if batch_size:
                    batch_size = max(1, batch_size // 2)
                else:
                    budget, kv_cap = max(1, budget // 2), max(1, kv_cap // 2)
                continue
            for g, scores in zip(batch, scored):
                for k, sc in zip(g.members, scores):
                    out[g.index][k] = sc
            pos += n
    if fallback:
        flat = model.loglikelihood([groups[gi][k] for gi, k in fallback], max_length=max_length, batch_size=batch_size)
        for (gi, k), s in zip(fallback, flat):
            out[gi][k] = s
    return [[s for s in g if s is not None] for g in out]


def _take(planned: Sequence[_Group], pos: int, batch_size: int | None, budget: int, kv_cap: int) -> int:
    """How many groups from `pos` go in one batch: whole groups, up to `batch_size` choice rows,
    else up to `budget` forward positions; either way the per-row copies of the cache (rows x
    padded length) stay under `kv_cap` tokens."""
    head = planned[pos]
    n, rows, cost = 1, len(head.seqs), head.cost
    alone = head.shared + len(head.seqs) * head.width  # positions of the groups on their own
    width_p, width_c = head.shared, head.width
    while pos + n < len(planned):
        nxt = planned[pos + n]
        more = rows + len(nxt.seqs)
        p, c = max(width_p, nxt.shared), max(width_c, nxt.width)
        if batch_size is not None and more > batch_size:
            break
        both = alone + nxt.shared + len(nxt.seqs) * nxt.width
        if batch_size is None and (cost + nxt.cost > budget or (n + 1) * p + more * c > 1.1 * both):
            break  # over the budget, or ~10% more padding than the groups have on their own
        if more * (p + c) > kv_cap:
            break
        n, rows, cost, width_p, width_c, alone = n + 1, more, cost + nxt.cost, p, c, both
    return n


def _kv_cap(model: HFModel) -> int:
    """Cache tokens (summed over the choice rows) one batch may hold: a quarter of free GPU
    memory, 1 GiB on the CPU, at the model's key/value bytes per token."""
    config = model.model.config
    config = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = int(getattr(config, "num_attention_heads", 1) or 1)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or int(getattr(config, "hidden_size", 64)) // heads)
    layers = int(getattr(config, "num_hidden_layers", 1) or 1)
    itemsize = int(next(iter(model.model.parameters())).element_size())
    per_token = max(1, 2 * layers * kv_heads * head_dim * itemsize)
    if model.device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info()
        return max(1, int(free * 0.25) // per_token)
    return max(1, 2**30 // per_token)


def _cache_arg(model: Any) -> str:
    """The forward keyword for the KV cache: `cache` in newer transformers, else `past_key_values`."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _score_groups(model: HFModel, groups: Sequence[_Group]) -> list[list[TokenScores]]:
    import torch
    from transformers import DynamicCache

    net = model.model
    device = net.device
    key = _cache_arg(net)
    # -- 1. the shared prefixes, right-padded, into the cache ----------------------------------
    width_p = max(g.shared for g in groups)
    prefix = np.zeros((len(groups), width_p), dtype=np.int64)
    prefix_mask = np.zeros((len(groups), width_p), dtype=np.int64)
    for r, g in enumerate(groups):
        prefix[r, : g.shared] = g.seqs[0][0][: g.shared]
        prefix_mask[r, : g.shared] = 1
    kwargs: dict[str, Any] = {key: DynamicCache(), "use_cache": True}
    if "logits_to_keep" in inspect.signature(net.forward).parameters:
        kwargs["logits_to_keep"] = 1  # the prefix's logits are not needed
    first = net(input_ids=torch.from_numpy(prefix).to(device), attention_mask=torch.from_numpy(prefix_mask).to(device), **kwargs)
    cache = first.cache if getattr(first, "cache", None) is not None else first.past_key_values
    layers = [(layer.keys, layer.values) for layer in cache.layers]
    # -- 2. every choice against its group's cache row -----------------------------------------
    owner = np.concatenate([np.full(len(g.seqs), r) for r, g in enumerate(groups)])
    width_c = max(g.width for g in groups)
    n_rows = len(owner)
    inputs = np.zeros((n_rows, width_c + 1), dtype=np.int64)
    choice_mask = np.zeros((n_rows, width_c), dtype=np.int64)
    positions = np.zeros((n_rows, width_c), dtype=np.int64)
    spans = []  # (row, first input column, last input column) of the scored targets
    row = 0
    for g in groups:
        for ids, first_target in g.seqs:
            tail = ids[g.shared :]
            inputs[row, : len(tail)] = tail
            choice_mask[row, : len(tail) - 1] = 1
            positions[row] = g.shared + np.arange(width_c)
            # target t is predicted by input t-1, i.e. column t-1-shared of the row
            spans.append((row, first_target - 1 - g.shared, len(ids) - 2 - g.shared))
            row += 1
    index = torch.from_numpy(owner).to(device)
    rows_cache = DynamicCache([(k.index_select(0, index), v.index_select(0, index)) for k, v in layers])
    mask = np.concatenate([prefix_mask[owner], choice_mask], axis=1)
    logits = net(
        input_ids=torch.from_numpy(inputs[:, :width_c]).to(device),
        attention_mask=torch.from_numpy(mask).to(device),
        position_ids=torch.from_numpy(positions).to(device),
        use_cache=True,
        **{key: rows_cache},
    ).logits
    rows = np.concatenate([np.full(b - a + 1, r) for r, a, b in spans])
    cols = np.concatenate([np.arange(a, b + 1) for _, a, b in spans])
    picked = logits[torch.from_numpy(rows).to(device), torch.from_numpy(cols).to(device)]
    target = torch.from_numpy(inputs[rows, cols + 1]).to(device)
    # log-softmax in float32, in chunks, as `HFModel._score_batch`
    chunks = [
        -torch.nn.functional.cross_entropy(picked[a : a + 8192].float(), target[a : a + 8192], reduction="none")
        for a in range(0, picked.shape[0], 8192)
    ]
    flat = torch.cat(chunks).double().cpu().numpy()
    out: list[list[TokenScores]] = []
    at = 0
    for g in groups:
        scores = []
        for ids, first_target in g.seqs:
            k = len(ids) - first_target
            scores.append(TokenScores(flat[at : at + k], np.asarray(ids[first_target:], dtype=np.int64)))
            at += k
        out.append(scores)
    return out
