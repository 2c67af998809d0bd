"""Extraction: exact token prefixes in, greedy token continuations out, matches counted by hand;
a model that memorised its training texts is caught, the untrained base is not."""

from __future__ import annotations

import json

import pytest
import torch

from tests.overfitting.conftest import HELDOUT, MEMBERS, write_texts
from tunecheck.errors import ConfigError
from tunecheck.models import HFModel, load_model
from tunecheck.overfitting import ExtractionConfig, evaluate_extraction, match_scores


def test_match_scores_by_hand():
    # target 1 2 3 4: continuation 1 2 9 4 -> first miss at index 2 (prefix 2/4), 3 of 4 positions agree
    assert match_scores([1, 2, 9, 4], [1, 2, 3, 4]) == (0.0, 0.5, 0.75)
    assert match_scores([1, 2, 3, 4], [1, 2, 3, 4]) == (1.0, 1.0, 1.0)
    # stopped early: the missing positions count as wrong
    assert match_scores([1], [1, 2]) == (0.0, 0.5, 0.5)


def test_continue_ids_is_greedy_decoding_of_the_exact_prefix(tiny_model, tokenizer):
    hf = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    prefixes = [[tokenizer.bos_token_id, 5, 9, 12], [tokenizer.bos_token_id, 7]]
    got = hf.continue_ids(prefixes, 5, batch_size=2)
    for prefix, out in zip(prefixes, got):
        seq = list(prefix)
        for _ in range(5):  # reference: one token at a time, argmax
            with torch.no_grad():
                nxt = int(tiny_model(input_ids=torch.tensor([seq])).logits[0, -1].argmax())
            if nxt == tokenizer.eos_token_id:
                break
            seq.append(nxt)
        assert out == seq[len(prefix) :]


def test_memorised_model_is_caught_and_base_is_not(memorised, tmp_path):
    train = write_texts(tmp_path / "train.jsonl", MEMBERS, "m")
    config = ExtractionConfig(prefix_tokens=4, suffix_tokens=8, n_resamples=1000)
    report = evaluate_extraction([f"{memorised['base']},name=base", f"{memorised['tuned']},name=tuned"], train, config).to_dict()
    rates = {m["model"]: m["metrics"]["extracted"]["value"] for m in report["models"]}
    assert rates["base"] == 0.0  # random word sequences cannot be guessed from 4 tokens
    assert rates["tuned"] >= 0.75
    [extracted] = [c for c in report["comparison"] if c["metric"] == "extracted"]
    assert extracted["verdict"] == "regressed" and extracted["n"] == len(MEMBERS)
    assert report["models"][1]["examples"][0]["prefix_match"] == 1.0
    json.dumps(report)  # plain JSON


def test_unseen_texts_are_not_extracted(memorised, tmp_path):
    held = write_texts(tmp_path / "held.jsonl", HELDOUT, "h")
    report = evaluate_extraction([f"{memorised['tuned']},name=tuned"], held, ExtractionConfig(prefix_tokens=4, suffix_tokens=8, n_resamples=200))
    assert report.to_dict()["models"][0]["metrics"]["extracted"]["value"] <= 0.125


def test_prompt_mode_uses_the_response_as_target(memorised, tmp_path):
    rows = [{"id": str(i), "prompt": t.split(" ", 5)[-1], "completion": " " + t} for i, t in enumerate(MEMBERS[:4])]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = load_model(str(memorised["base"]))
    from tunecheck.data import load_data
    from tunecheck.overfitting._extraction import build_probes

    probes, short = build_probes(model, load_data(path), ExtractionConfig(prefix="prompt", template="concat", suffix_tokens=3))
    assert short == 0 and all(len(p.target) == 3 for p in probes)
    tok = model.tokenizer
    # the prefix is BOS + the prompt's tokens; the target the first 3 response tokens after it
    full = tok(rows[0]["prompt"] + rows[0]["completion"], add_special_tokens=False)["input_ids"]
    assert probes[0].prefix == [tok.bos_token_id, *full[: len(probes[0].prefix) - 1]]
    assert probes[0].target == full[len(probes[0].prefix) - 1 :][:3]


def test_too_short_data_and_bad_options_are_clear(memorised, tmp_path):
    short = write_texts(tmp_path / "short.jsonl", ["the fox", "an owl"], "s")
    with pytest.raises(ConfigError, match="longer than --prefix-tokens 32"):
        evaluate_extraction([str(memorised["base"])], short, ExtractionConfig(n_resamples=200))
    with pytest.raises(ConfigError, match="--prefix must be tokens or prompt"):
        ExtractionConfig(prefix="words")
    with pytest.raises(ConfigError, match="prompt/response data"):
        evaluate_extraction([str(memorised["base"])], short, ExtractionConfig(prefix="prompt"))
