"""Extraction: exact token prefixes in, greedy token continuations out, matches counted by hand;
a model that memorised its training texts is caught, the untrained base is not."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from tests.overfitting.conftest import HELDOUT, MEMBERS, WORDS, write_texts
from tests.schema import assert_valid_result
from tunecheck.data import load_data
from tunecheck.errors import ConfigError
from tunecheck.models import HFModel
from tunecheck.models._hf_load import load_hf
from tunecheck.overfitting import ExtractionConfig, evaluate_extraction, match_scores
from tunecheck.overfitting._extraction import build_probes


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _ids(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def test_match_scores_by_hand():
    # target 1 2 3 4: continuation 1 2 9 4 -> first miss at index 2 (prefix 2/4), 3 of 4 positions agree
    assert match_scores([1, 2, 9, 4], [1, 2, 3, 4]) == (0.0, 0.5, 0.75)
    assert match_scores([1, 2, 3, 4], [1, 2, 3, 4]) == (1.0, 1.0, 1.0)
    # stopped early: the missing positions count as wrong
    assert match_scores([1], [1, 2]) == (0.0, 0.5, 0.5)
    # the target ends with the end-of-turn token 9: ending the turn there is a match, ending it
    # one token early is not (first miss at index 1 of 3 -> 1/3; only position 0 agrees -> 1/3)
    assert match_scores([5, 6, 9], [5, 6, 9]) == (1.0, 1.0, 1.0)
    assert match_scores([5, 9], [5, 6, 9]) == (0.0, 1 / 3, 1 / 3)


def test_continue_ids_is_greedy_decoding_of_the_exact_prefix(tiny_model, tokenizer):
    hf = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    prefixes = [[tokenizer.bos_token_id, 5, 9, 12], [tokenizer.bos_token_id, 7]]
    got = hf.continue_ids(prefixes, 5, batch_size=2)
    for prefix, out in zip(prefixes, got):
        seq = list(prefix)
        for _ in range(5):  # reference: one token at a time, argmax; EOS is kept, then it stops
            with torch.no_grad():
                nxt = int(tiny_model(input_ids=torch.tensor([seq])).logits[0, -1].argmax())
            seq.append(nxt)
            if nxt == tokenizer.eos_token_id:
                break
        assert out == seq[len(prefix) :]


def test_a_memorised_end_of_text_counts_as_a_match(memorised):
    # The tuned model was trained on BOS + text + EOS. Prefix: BOS + a member's first 4 tokens;
    # target: the rest of the member and its EOS, as a chat response ends with its end-of-turn
    # token. Ending the text where training ended must score as extracted.
    model = load_hf(str(memorised["tuned"]))
    tok = model.tokenizer
    probes = []
    for t in MEMBERS:
        ids = _ids(tok, t)
        probes.append(([tok.bos_token_id, *ids[:4]], [*ids[4:], tok.eos_token_id]))
    outs = model.continue_ids([p for p, _ in probes], max(len(t) for _, t in probes))
    exact = [match_scores(o[: len(t)], t)[0] for o, (_, t) in zip(outs, probes)]
    # continuations stop after EOS: nothing follows it
    assert all(o.index(tok.eos_token_id) == len(o) - 1 for o in outs if tok.eos_token_id in o)
    # the memorised model reproduces (nearly) every member to its end, EOS included; with EOS
    # dropped from the output (the old behaviour) every one of these would be 0
    assert sum(exact) >= 12, exact
    # and the same continuations, scored without the EOS, agree member by member: the EOS
    # never turns a reproduced text into a miss
    assert exact == [match_scores(o[: len(t) - 1], t[:-1])[0] for o, (_, t) in zip(outs, probes)]


def test_memorised_model_is_caught_and_base_is_not(memorised, tmp_path):
    train = write_texts(tmp_path / "train.jsonl", MEMBERS, "m")
    config = ExtractionConfig(prefix_tokens=4, suffix_tokens=8, n_resamples=1000)
    result = evaluate_extraction([f"{memorised['base']},name=base", f"{memorised['tuned']},name=tuned"], train, config).to_result()
    rates = {e.model: e.value for e in result.estimates if e.metric == "extracted"}
    assert rates["base"] == 0.0  # random word sequences cannot be guessed from 4 tokens
    assert rates["tuned"] >= 0.75
    [extracted] = [c for c in result.comparisons if c.metric == "extracted"]
    assert extracted.verdict.value == "regressed" and extracted.n == len(MEMBERS)
    assert result.models[1].details["examples"][0]["prefix_match"] == 1.0
    # extraction is context only: its signal never decides
    [signal] = result.signals
    assert (signal.name, signal.model, signal.status.value, signal.deciding) == ("extraction (context)", "tuned", "overfitting", False)
    assert_valid_result(result.to_dict())  # plain JSON, as the schema says


def test_unseen_texts_are_not_extracted(memorised, tmp_path):
    held = write_texts(tmp_path / "held.jsonl", HELDOUT, "h")
    report = evaluate_extraction([f"{memorised['tuned']},name=tuned"], held, ExtractionConfig(prefix_tokens=4, suffix_tokens=8, n_resamples=200))
    assert report.to_result().estimate("extracted", report.models[0].model).value <= 0.125  # type: ignore[union-attr]


def test_prompt_mode_uses_the_response_as_target(memorised, tmp_path):
    rows = [{"id": str(i), "prompt": t.split(" ", 5)[-1], "completion": " " + t} for i, t in enumerate(MEMBERS[:4])]
    path = _jsonl(tmp_path / "pairs.jsonl", rows)
    model = load_hf(str(memorised["base"]))
    cut = build_probes(model, load_data(path), ExtractionConfig(prefix="prompt", template="concat", suffix_tokens=3))
    assert cut.too_short == 0 and cut.too_long == 0 and len(cut.probes) == 4
    tok = model.tokenizer
    for row, probe in zip(rows, cut.probes):
        # "concat" trains on prompt + completion as given: the prompt is the first
        # len(tokens of the prompt alone) tokens of the whole text (the completion starts with a
        # space, a token boundary), the target the 3 tokens after it; BOS goes first
        n_prompt = len(_ids(tok, row["prompt"]))
        full = _ids(tok, row["prompt"] + row["completion"])
        assert probe.prefix == [tok.bos_token_id, *full[:n_prompt]]
        assert probe.target == full[n_prompt : n_prompt + 3]


def _chat_rows():
    return [
        {"id": str(i), "messages": [{"role": "user", "content": " ".join(t.split()[:6])}, {"role": "assistant", "content": " ".join(t.split()[6:])}]}
        for i, t in enumerate(MEMBERS[:3])
    ]


def test_bos_written_by_the_chat_template_is_not_doubled(tiny_model, tokenizer, tmp_path):
    # Llama-3 and Gemma templates start with the BOS token; the probe must not get a second one
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = "{{ bos_token }}" + tok.chat_template
    model = HFModel(tiny_model, tok, "tiny", "cpu")
    data = load_data(_jsonl(tmp_path / "chat.jsonl", _chat_rows()))
    bos = tok.bos_token_id
    prompt_mode = build_probes(model, data, ExtractionConfig(prefix="prompt", suffix_tokens=4))
    tokens_mode = build_probes(model, data, ExtractionConfig(prefix="tokens", prefix_tokens=4, suffix_tokens=4))
    for row, p, t in zip(_chat_rows(), prompt_mode.probes, tokens_mode.probes):
        # the rendered prompt without its leading "<s>", tokenised on its own
        user = row["messages"][0]["content"]
        body = _ids(tok, f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
        assert p.prefix == [bos, *body] and p.prefix.count(bos) == 1
        # tokens mode: BOS + 4 tokens shown (BOS does not take one of the 4), then the next 4
        assert t.prefix == [bos, *body[:4]] and t.target == body[4:8]


def test_text_starting_with_the_bos_string_and_tokenizers_without_bos(tiny_model, tokenizer, tmp_path):
    text = MEMBERS[0]
    ids = _ids(tokenizer, text)
    bos = tokenizer.bos_token_id
    plain = _jsonl(tmp_path / "plain.jsonl", [{"id": "a", "text": "<s>" + text}, {"id": "b", "text": text}])
    config = ExtractionConfig(prefix="tokens", prefix_tokens=4, suffix_tokens=3)
    with_bos = build_probes(HFModel(tiny_model, tokenizer, "tiny", "cpu"), load_data(plain), config)
    # "<s>" in the text is already BOS: both rows give BOS + the same 4 tokens, then 3
    for p in with_bos.probes:
        assert (p.prefix, p.target) == ([bos, *ids[:4]], ids[4:7])
    no_bos = copy.deepcopy(tokenizer)
    no_bos.bos_token = None
    assert no_bos.bos_token_id is None
    cut = build_probes(HFModel(tiny_model, no_bos, "tiny", "cpu"), load_data(plain), config)
    # nothing is added: row b is cut at 4 tokens exactly (row a keeps its literal "<s>" token)
    assert (cut.probes[1].prefix, cut.probes[1].target) == (ids[:4], ids[4:7])
    pairs = _jsonl(tmp_path / "pairs.jsonl", [{"id": "p", "prompt": "the red fox", "completion": " walks to the river"}])
    [probe] = build_probes(HFModel(tiny_model, no_bos, "tiny", "cpu"), load_data(pairs), ExtractionConfig(template="concat")).probes
    assert probe.prefix == _ids(no_bos, "the red fox") and probe.target == _ids(no_bos, " walks to the river")


def test_auto_prefix_follows_the_data_and_the_report_says_which(memorised, tmp_path):
    assert ExtractionConfig().prefix == "auto"
    texts = write_texts(tmp_path / "train.jsonl", MEMBERS[:4], "m")
    pairs = _jsonl(tmp_path / "pairs.jsonl", [{"id": str(i), "prompt": " ".join(t.split()[:5]), "completion": " " + " ".join(t.split()[5:])} for i, t in enumerate(MEMBERS[:4])])
    base = str(memorised["base"])
    config = ExtractionConfig(prefix_tokens=4, suffix_tokens=4, template="concat", n_resamples=200)
    on_text = evaluate_extraction([base], texts, config).to_result().config
    on_pairs = evaluate_extraction([base], pairs, config).to_result().config
    assert (on_text["prefix"], on_text["prefix_option"]) == ("tokens", "auto")
    assert (on_pairs["prefix"], on_pairs["prefix_option"]) == ("prompt", "auto")
    # chat and Alpaca data are instruction-shaped too
    model = load_hf(base)
    assert build_probes(model, load_data(_jsonl(tmp_path / "chat.jsonl", _chat_rows())), ExtractionConfig()).mode == "prompt"
    alpaca = _jsonl(tmp_path / "alpaca.jsonl", [{"instruction": "the red fox", "input": "", "output": "walks"}])
    assert build_probes(model, load_data(alpaca), ExtractionConfig()).mode == "prompt"


def test_prompts_too_long_for_the_context_are_left_out_and_counted(memorised, tmp_path):
    long_prompt = " ".join(WORDS * 10)  # far beyond the 128-token context
    rows = [{"id": str(i), "prompt": " ".join(t.split()[:5]), "completion": " " + " ".join(t.split()[5:])} for i, t in enumerate(MEMBERS[:4])]
    path = _jsonl(tmp_path / "pairs.jsonl", [*rows, {"id": "long", "prompt": long_prompt, "completion": " the end"}])
    config = ExtractionConfig(template="concat", suffix_tokens=3, n_resamples=200)
    result = evaluate_extraction([f"{memorised['base']},name=base"], path, config).to_result()
    assert result.models[0].details["n"] == 4  # the 4 short prompts; "long" left out
    assert any("base: 1 of 5 training prompts leave no room for --suffix-tokens 3" in w for w in result.warnings)
    only_long = _jsonl(tmp_path / "long.jsonl", [{"id": "long", "prompt": long_prompt, "completion": " the end"}])
    with pytest.raises(ConfigError, match=r"no training prompt leaves room for --suffix-tokens 3 tokens in .*context of 128"):
        evaluate_extraction([str(memorised["base"])], only_long, config)


def test_a_later_model_with_nothing_to_probe_is_a_clear_error(tiny_model, tokenizer, tmp_path):
    from tunecheck.demo import tiny_llama

    # prompts of 40+ tokens fit the first model's context (128) but not the second's (32)
    rows = [{"id": str(i), "prompt": " ".join(MEMBERS[i].split() * 3), "completion": " the end"} for i in range(2)]
    assert all(len(_ids(tokenizer, r["prompt"])) > 32 for r in rows)
    short_context = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=32, seed=0)
    models = [HFModel(tiny_model, tokenizer, "wide", "cpu"), HFModel(short_context, tokenizer, "narrow", "cpu")]
    config = ExtractionConfig(template="concat", suffix_tokens=2, n_resamples=200)
    with pytest.raises(ConfigError, match="narrow: none of the 2 training examples probed on wide can be probed with it"):
        evaluate_extraction(models, _jsonl(tmp_path / "pairs.jsonl", rows), config)


def test_too_short_data_and_bad_options_are_clear(memorised, tmp_path):
    short = write_texts(tmp_path / "short.jsonl", ["the fox", "an owl"], "s")
    with pytest.raises(ConfigError, match="longer than --prefix-tokens 32"):
        evaluate_extraction([str(memorised["base"])], short, ExtractionConfig(n_resamples=200))
    with pytest.raises(ConfigError, match="--prefix must be auto, tokens or prompt"):
        ExtractionConfig(prefix="words")
    with pytest.raises(ConfigError, match="prompt/response data"):
        evaluate_extraction([str(memorised["base"])], short, ExtractionConfig(prefix="prompt"))
