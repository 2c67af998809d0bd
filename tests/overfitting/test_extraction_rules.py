"""Extraction: the mutation-testing cases (issue 10; the survivors of `scripts/mutate.py` on
overfitting/_extraction.py). Most run on `CharModel`, a hand-written TokenModel whose token ids
can be worked out by hand, so the cutting of probes, the counts of texts left out, the scores,
the kept examples and the Result's numbers are checked on exact values without training."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from tests.overfitting.test_extraction import _jsonl
from tunecheck.data import Dataset, FieldMap, Sample, load_data
from tunecheck.errors import ConfigError, ModelError
from tunecheck.overfitting import ExtractionConfig, evaluate_extraction
from tunecheck.overfitting._extraction import Probe, build_probes, extract_model
from tunecheck.stats import SampleStats, compare_metrics, estimate

BOS = 1
WRONG = 3
"""What `CharModel` generates after a prefix it did not memorise (no text holds it)."""


class CharModel:
    """A TokenModel stand-in. One token per character, its code point, except: the first
    character of a text (unless a space) gets code + 1000, as SentencePiece marks a text's start,
    and "ff" is one token, 500 (so a prompt's tokens need not start the whole text's). BOS is 1.
    `continue_ids` replays `memory`: after a prefix that starts a remembered sequence, its next
    tokens; after any other, WRONG tokens. Every call's arguments are kept in `calls`."""

    def __init__(self, name: str = "fake", *, context: int = 64, bos: int | None = BOS, memory: Sequence[Sequence[int]] = ()) -> None:
        self.name = name
        self._context = context
        self._bos = bos
        self.memory = [list(m) for m in memory]
        self.calls: list[dict[str, Any]] = []

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "chars"}

    def chat_renderer(self) -> None:
        return None

    def close(self) -> None:
        pass

    @property
    def context_length(self) -> int:
        return self._context

    @property
    def bos_token_id(self) -> int | None:
        return self._bos

    def encode(self, text: str, special: bool = False) -> list[int]:
        ids, i = [], 0
        while i < len(text):
            if text.startswith("ff", i):
                ids.append(500)
                i += 2
                continue
            ids.append(ord(text[i]) + (1000 if i == 0 and text[i] != " " else 0))
            i += 1
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return "".join("ff" if i == 500 else chr(i % 1000) for i in ids if i not in (BOS, WRONG))

    def with_bos(self, ids: list[int]) -> list[int]:
        if self._bos is None or (ids and ids[0] == self._bos):
            return ids
        return [self._bos, *ids]

    def continue_ids(self, prefixes: Sequence[list[int]], max_new_tokens: int, *, batch_size: int | None = None, progress: Any = None) -> list[list[int]]:
        self.calls.append({"n": len(prefixes), "max_new_tokens": max_new_tokens, "batch_size": batch_size, "progress": progress})
        out = []
        for p in prefixes:
            seq = next((m for m in self.memory if m[: len(p)] == p), None)
            out.append(seq[len(p) : len(p) + max_new_tokens] if seq is not None else [WRONG] * max_new_tokens)
        return out


def _c(text: str) -> list[int]:
    """A text's ids in CharModel, written out for texts without "ff": first char + 1000."""
    return [ord(text[0]) + 1000, *(ord(ch) for ch in text[1:])]


def _texts(texts: Sequence[str], ids: Sequence[str] | None = None) -> Dataset:
    return load_data([{"id": i, "text": t} for i, t in zip(ids or [str(k) for k in range(len(texts))], texts)])


def _pairs(pairs: Sequence[tuple[str, str, str]]) -> Dataset:
    return load_data([{"id": i, "prompt": p, "completion": c} for i, p, c in pairs])


# ---- the options --------------------------------------------------------------------------


def test_one_sample_and_one_token_are_allowed_and_zero_is_not():
    ExtractionConfig(n_samples=1, prefix_tokens=1, suffix_tokens=1)  # the smallest valid settings
    with pytest.raises(ConfigError, match="--samples must be at least 1, got 0"):
        ExtractionConfig(n_samples=0)
    # either length alone at 0 is refused
    for bad in ({"prefix_tokens": 0}, {"suffix_tokens": 0}):
        with pytest.raises(ConfigError, match=r"^--prefix-tokens and --suffix-tokens must be at least 1$"):
            ExtractionConfig(**bad)  # type: ignore[arg-type]


# ---- build_probes -------------------------------------------------------------------------


def test_tokens_mode_cuts_after_bos_and_the_prefix_and_counts_short_texts():
    # prefix 3 + suffix 4: a text needs BOS + 7 tokens = 8; "abcdefg" has exactly 7 and is probed,
    # "abc" and "abcdef" are too short, and the text after them is still probed
    data = _texts(["abcdefgh", "abc", "abcdefg", "abcdef", "uvwxyzab"], ["a", "s1", "b", "s2", "c"])
    config = ExtractionConfig(prefix="tokens", prefix_tokens=3, suffix_tokens=4)
    cut = build_probes(CharModel(context=8), data, config)  # 1 + 3 + 4 = 8 fits a context of 8
    assert cut.mode == "tokens" and cut.too_short == 2 and cut.too_long == 0
    assert [(p.sample_id, p.prefix, p.target) for p in cut.probes] == [
        ("a", [BOS, 1097, 98, 99], [100, 101, 102, 103]),
        ("b", [BOS, 1097, 98, 99], [100, 101, 102, 103]),
        ("c", [BOS, 1117, 118, 119], [120, 121, 122, 97]),
    ]
    with pytest.raises(ConfigError, match=r"--prefix-tokens 3 \+ --suffix-tokens 4 exceed fake's context of 7 tokens; lower them"):
        build_probes(CharModel(context=7), data, config)


def test_prompt_mode_cuts_at_the_prompts_tokens_and_counts_what_is_left_out():
    data = _pairs([
        ("p1", "ab", "cd"),  # "abcd" starts with the prompt's tokens: the target is the rest, [99, 100]
        ("e1", "xy", ""),  # empty response: too short
        ("p2", "af", "fb"),  # "affb" merges "ff": the prompt's tokens are not its start, so the
        # response is tokenised on its own: "fb" -> [1102, 98]
        ("e2", "zz", ""),
        ("long1", "ghijklm", "nop"),  # BOS + 7 + 3 = 11 > 10: too long
        ("fit", "ghijkl", "mnop"),  # BOS + 6 + 3 = 10: fits exactly; target the first 3 of 4
        ("long2", "qrstuvwx", "y"),
        ("p3", "q", "rs"),
    ])
    cut = build_probes(CharModel(context=10), data, ExtractionConfig(prefix="prompt", template="concat", suffix_tokens=3))
    assert cut.mode == "prompt" and cut.too_short == 2 and cut.too_long == 2
    assert [(p.sample_id, p.prefix, p.target) for p in cut.probes] == [
        ("p1", [BOS, 1097, 98], [99, 100]),
        ("p2", [BOS, 1097, 102], [1102, 98]),
        ("fit", [BOS, *_c("ghijkl")], [109, 110, 111]),
        ("p3", [BOS, 1113], [114, 115]),
    ]


def test_a_prompt_only_row_is_named_in_the_error():
    rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
            {"messages": [{"role": "user", "content": "hi"}]}]
    with pytest.raises(ConfigError, match=r"^<2 rows> row 1: has no response \(a prompt-only row\)"):
        build_probes(CharModel(), load_data(rows), ExtractionConfig(prefix="prompt", template="concat"))
    # a sample without a location is named by its id
    sample = Sample(id="b", shape="prompt_completion", prompt="x")
    data = Dataset((sample,), "mem", "prompt_completion", "0")
    with pytest.raises(ConfigError, match=r"^mem sample b: has no response"):
        build_probes(CharModel(), data, ExtractionConfig(prefix="prompt"))


# ---- extract_model ------------------------------------------------------------------------

T = [119, 120, 121, 122]  # "wxyz"
Q = 113  # "q", a wrong token
LONG = "".join(chr(97 + k % 26) for k in range(250))


def _scored_probes() -> tuple[list[Probe], list[list[int]]]:
    """20 probes with target "wxyz" and what the model generates after each:
    A wxqz (exact 0, prefix 2/4, positions 3/4), B the target (1, 1, 1), C qxyz (0, 0, 3/4),
    D wqqq (0, 1/4, 1/4), then 14 it did not memorise (0, 0, 0), p18 wxqq (0, 2/4, 2/4) and p19
    the target again. B's prefix is 250 characters long."""
    gen = {"A": [119, 120, Q, 122], "B": T, "C": [Q, 120, 121, 122], "D": [119, Q, Q, Q], "p18": [119, 120, Q, Q], "p19": T}
    names = ["A", "B", "C", "D", *(f"p{i:02d}" for i in range(4, 20))]
    probes = [Probe(n, [BOS, *_c(LONG if n == "B" else n)], list(T)) for n in names]
    return probes, [p.prefix + gen[p.sample_id] for p in probes if p.sample_id in gen]


def test_scores_and_the_best_reproduced_examples_kept():
    probes, memory = _scored_probes()
    model = CharModel(memory=memory)
    progress = object()
    out = extract_model(model, probes, ExtractionConfig(batch_size=3), progress=progress)  # type: ignore[arg-type]
    assert model.calls == [{"n": 20, "max_new_tokens": 4, "batch_size": 3, "progress": progress}]
    zeros = [0.0] * 14
    assert out.exact.tolist() == [0, 1, 0, 0, *zeros, 0, 1]
    assert out.prefix_match.tolist() == [0.5, 1, 0, 0.25, *zeros, 0.5, 1]
    assert out.token_match.tolist() == [0.75, 1, 0.75, 0.25, *zeros, 0.5, 1]
    # five kept, by prefix match, ties in probe order (B before p19, A before p18); by positional
    # match C (3/4) would come before p18
    assert [e["id"] for e in out.examples] == ["B", "p19", "A", "p18", "D"]
    assert out.examples[0] == {"id": "B", "prefix": LONG[-200:], "target": "wxyz", "generated": "wxyz", "prefix_match": 1.0}
    assert out.examples[2] == {"id": "A", "prefix": "A", "target": "wxyz", "generated": "wxqz", "prefix_match": 0.5}


def test_no_probes_is_an_error():
    with pytest.raises(ConfigError, match=r"^fake: no probes given"):
        extract_model(CharModel(), [], ExtractionConfig())


# ---- evaluate_extraction and its Result ---------------------------------------------------

def _rows30() -> tuple[Dataset, list[list[int]]]:
    """30 texts "000abcde" ... "029abcde"; with prefix 3 and suffix 4 each probe is BOS + "NNN",
    target "abcd". The tuned model reproduces row i fully when i % 3 == 0, as "abqd" (prefix 2/4,
    positions 3/4) when i % 3 == 1, as "aqqq" (1/4, 1/4) when i % 3 == 2."""
    texts = [f"{i:03d}abcde" for i in range(30)]
    gen = [[97, 98, 99, 100], [97, 98, Q, 100], [97, Q, Q, Q]]
    memory = [[BOS, *_c(t[:3]), *gen[i % 3]] for i, t in enumerate(texts)]
    return _texts(texts), memory


def _by_hand(i: int) -> tuple[float, float, float]:
    return [(1.0, 1.0, 1.0), (0.0, 0.5, 0.75), (0.0, 0.25, 0.25)][i % 3]


def test_the_seeded_draw_the_numbers_and_the_comparisons_with_the_base():
    data, memory = _rows30()
    models = [CharModel("base"), CharModel("tuned", memory=memory), CharModel("tuned2", memory=memory)]
    config = ExtractionConfig(prefix="tokens", prefix_tokens=3, suffix_tokens=4, n_samples=10, n_resamples=200, seed=3)
    progress = object()
    result = evaluate_extraction(models, data, config, progress=progress).to_result()  # type: ignore[arg-type]
    assert all(m.calls[0]["progress"] is progress for m in models)
    # the first model draws 10 of the 30 probes with Python's random.Random(seed)
    picked = sorted(random.Random(3).sample(range(30), 10))
    assert [m.details["n"] for m in result.models] == [10, 10, 10]
    assert [m.details["skipped"] for m in result.models] == [0, 0, 0]
    assert (result.data[0].source, result.data[0].role, result.data[0].n) == ("<30 rows>", "train", 30)
    # per model and metric: the mean with its CI by stats.estimate at the config's resamples and seed
    values = {"base": [(0.0, 0.0, 0.0)] * 10, "tuned": [_by_hand(i) for i in picked]}
    names = ("extracted", "prefix_match", "token_match")
    stats = {m: {k: SampleStats.mean(k, [v[j] for v in values[m]], higher_is_better=False) for j, k in enumerate(names)} for m in values}
    got = {(e.model, e.metric): e for e in result.estimates}
    assert sorted(got) == sorted((m, k) for m in ("base", "tuned", "tuned2") for k in names)
    for (model, metric), e in got.items():
        ref = estimate(stats["base" if model == "base" else "tuned"][metric], n_resamples=200, seed=3)
        assert (e.value, e.ci95, e.n) == (ref.value, ref.ci95, 10), (model, metric)
    # each later model against the base, on the same 10 rows, as stats.compare_metrics does it
    rows = np.arange(10)
    ref_cmp = {c.metric: c for c in compare_metrics(stats["base"], stats["tuned"], rows, rows, n_resamples=200, seed=3)}
    assert [(c.baseline, c.model, c.metric) for c in result.comparisons] == [("base", m, k) for m in ("tuned", "tuned2") for k in names]
    for c in result.comparisons:
        ref = ref_cmp[c.metric]
        assert (c.difference, c.ci95, c.p_value, c.p_value_holm) == (ref.difference, ref.ci95, ref.p_value, ref.p_value_holm)
        # reproducing more of the training data is the worse direction for every metric: the
        # tuned model's prefix and positional matches are above the base's 0 on every row
        assert c.higher_is_better is False, c.metric
        assert c.verdict.value == ("inconclusive" if c.metric == "extracted" else "regressed"), c.metric
    assert [(s.model, s.evidence.split(":")[0]) for s in result.signals] == [
        ("tuned", "training continuations reproduced"), ("tuned2", "training continuations reproduced")]
    assert "only 10 examples probed: rates below ~5 points apart cannot be told apart" in result.warnings


def test_a_later_model_with_a_shorter_context_skips_and_counts():
    # prompt mode, suffix 3: BOS + 4 + 3 = 8 fits both contexts, BOS + 10 + 3 = 14 only the base's 20
    pairs = [(f"s{i}", f"{i:04d}", "abc") for i in range(4)] + [(f"l{i}", f"{i:010d}", "abc") for i in range(2)] + [("e", "xyz", "")]
    config = ExtractionConfig(template="concat", suffix_tokens=3, n_resamples=200)
    report = evaluate_extraction([CharModel("base", context=20), CharModel("narrow", context=12)], _pairs(pairs), config)
    result = report.to_result()
    assert [(m.details["n"], m.details["skipped"]) for m in result.models] == [(6, 0), (4, 2)]
    assert report.models[1].ids == ["s0", "s1", "s2", "s3"]
    assert "narrow: 2 of 7 training prompts leave no room for --suffix-tokens 3 tokens in its context of 12 and were left out" in result.warnings
    assert "1 of 7 training examples have an empty response and were left out" in result.warnings
    short = [CharModel("base", context=20), CharModel("narrow", context=6)]  # BOS + 4 + 3 = 8 > 6
    with pytest.raises(ConfigError) as err:
        evaluate_extraction(short, _pairs(pairs[:2]), config)
    assert str(err.value).startswith("narrow: none of the 2 training examples probed on base can be probed with it (2 prompts too long")
    assert str(err.value).endswith("; lower --suffix-tokens, or compare models with similar contexts and tokenizers")
    with pytest.raises(ConfigError) as err:
        evaluate_extraction([CharModel("only", context=6)], _pairs(pairs[:2]), config)
    assert str(err.value).endswith("(2 too long, 0 with an empty response); lower --suffix-tokens, or use --prefix tokens to probe the start of each text instead")


def test_short_texts_are_counted_in_a_warning():
    data = _texts(["abcdefgh", "abc", "abcdefg", "abcdef", "uvwxyzab"])
    result = evaluate_extraction([CharModel()], data, ExtractionConfig(prefix="tokens", prefix_tokens=3, suffix_tokens=4, n_resamples=200)).to_result()
    assert "2 of 5 training examples are too short to probe and were left out" in result.warnings


def test_fewer_than_100_probed_examples_are_warned_of():
    config = ExtractionConfig(prefix="tokens", prefix_tokens=3, suffix_tokens=1, n_resamples=200)
    for n, warned in ((99, True), (100, False)):
        result = evaluate_extraction([CharModel()], _texts([f"{i:03d}a" for i in range(n)]), config).to_result()
        assert result.models[0].details["n"] == n
        assert any(w.startswith(f"only {n} examples probed") for w in result.warnings) is warned, n


def test_field_names_are_passed_to_the_loader(tmp_path):
    path = _jsonl(tmp_path / "body.jsonl", [{"body": "abcdefgh"}, {"body": "ijklmnop"}])
    config = ExtractionConfig(prefix="tokens", prefix_tokens=3, suffix_tokens=4, n_resamples=200)
    report = evaluate_extraction([CharModel()], path, config, fields=FieldMap(text="body"))
    assert report.models[0].ids == ["0", "1"]


def test_no_models_and_a_model_without_token_access_are_clear():
    with pytest.raises(ConfigError, match=r"^name at least one model"):
        evaluate_extraction([], _texts(["abcdefgh"]))

    @dataclass
    class Plain:  # a Model (a server, say) without TokenModel's token-level calls
        name: str = "plain"

        def identity(self) -> dict[str, Any]:
            return {"backend": "openai"}

        def chat_renderer(self) -> None:
            return None

        def close(self) -> None:
            pass

    with pytest.raises(ModelError, match=r"^plain: memorisation extraction needs greedy continuation of exact token ids"):
        evaluate_extraction([Plain()], _texts(["abcdefgh"]))  # type: ignore[list-item]


def test_dtype_and_device_reach_the_loader(tiny_model, tokenizer, tmp_path):
    # a model named by its folder is opened with the config's dtype and device
    tiny_model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    train = _jsonl(tmp_path / "train.jsonl", [{"text": "the red fox walks to the river and back again"}])
    config = ExtractionConfig(prefix_tokens=2, suffix_tokens=2, dtype="bfloat16", device="cpu", n_resamples=200)
    [model] = evaluate_extraction([str(tmp_path / "m")], train, config).to_result().models
    assert (model.identity["dtype"], model.identity["device"]) == ("bfloat16", "cpu")
