"""Hugging Face generation: batching never changes greedy outputs, only new tokens come back,
stop strings and finish reasons are right, and prompts are built as the model was trained."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from tests.conftest import CORPUS
from tests.schema import assert_valid_result
from tunecheck.data import Message, Sample, load_data, read_predictions
from tunecheck.errors import ConfigError
from tunecheck.generation import GenerateConfig, generate_predictions
from tunecheck.generation._run import build_request
from tunecheck.models import GenerationParams, GenerationRequest, HFModel
from tunecheck.models._hf_generate import generation_config


@pytest.fixture
def hf(tiny_model, tokenizer):
    return HFModel(tiny_model, tokenizer, "tiny", "cpu")


def _run(model, prompts, params, batch_size=None):
    got = {}
    reqs = [GenerationRequest(p, id=str(i)) for i, p in enumerate(prompts)]
    model.generate(reqs, params, lambda i, g: got.__setitem__(i, g), batch_size=batch_size)
    return [got[i] for i in range(len(prompts))]


PROMPTS = [CORPUS[0][:12], CORPUS[5], CORPUS[9][:30], "the", CORPUS[20][:25]]


def test_batched_greedy_equals_one_at_a_time(hf):
    params = GenerationParams(max_new_tokens=10)
    batched = _run(hf, PROMPTS, params, batch_size=5)
    single = _run(hf, PROMPTS, params, batch_size=1)
    assert [g[0].output for g in batched] == [g[0].output for g in single]
    assert [g[0].output_tokens for g in batched] == [g[0].output_tokens for g in single]


def test_only_new_tokens_are_decoded_and_counted(hf, tokenizer, tiny_model):
    import torch

    params = GenerationParams(max_new_tokens=6)
    [gen] = _run(hf, [PROMPTS[1]], params)[0:1]
    g = gen[0]
    ids = [tokenizer.bos_token_id, *tokenizer(PROMPTS[1], add_special_tokens=False)["input_ids"]]
    assert g.prompt_tokens == len(ids)
    # reference: plain greedy decoding by hand, one token at a time
    seq = list(ids)
    for _ in range(6):
        with torch.no_grad():
            logits = tiny_model(input_ids=torch.tensor([seq])).logits[0, -1]
        seq.append(int(logits.argmax()))
        if seq[-1] == tokenizer.eos_token_id:
            break
    new = seq[len(ids) :]
    assert g.output == tokenizer.decode(new, skip_special_tokens=True)
    assert g.output_tokens == len(new)
    assert g.finish_reason == ("stop" if new[-1] == tokenizer.eos_token_id else "length")


def test_stop_string_cuts_the_output_and_reports_stop(hf):
    params = GenerationParams(max_new_tokens=12)
    free = _run(hf, PROMPTS, params)
    # a stop string from inside the free-running outputs (ASCII letters: whole byte-level tokens)
    words = [m.group() for g in free for m in re.finditer(r"[a-z]{2}", g[0].output) if m.start() > 0]
    assert words, [g[0].output for g in free]
    stop = words[0]
    stopped = _run(hf, PROMPTS, GenerationParams(max_new_tokens=12, stop=(stop,)))
    shorter = 0
    for before, after in zip(free, stopped):
        b, a = before[0].output, after[0].output
        assert b.startswith(a) and stop not in a
        if stop in b:  # stops at its first occurrence, or earlier if it began in the prompt (HF)
            assert after[0].finish_reason == "stop"
            assert after[0].output_tokens < before[0].output_tokens
            shorter += 1
        else:
            assert a == b and after[0].finish_reason == before[0].finish_reason
    assert shorter >= 1


def test_sampling_n_and_seed(hf):
    params = GenerationParams(max_new_tokens=8, temperature=1.0, top_p=0.95, n=3, seed=7)
    first = _run(hf, PROMPTS[:2], params)
    again = _run(hf, PROMPTS[:2], params)
    assert all(len(g) == 3 for g in first)
    assert [[x.output for x in g] for g in first] == [[x.output for x in g] for g in again]
    assert len({x.output for x in first[0]}) > 1  # a random 300-token model does not repeat itself


def test_params_are_validated():
    with pytest.raises(ConfigError, match="identical outputs"):
        GenerationParams(n=2)
    with pytest.raises(ConfigError, match="--top-p"):
        GenerationParams(top_p=0)
    with pytest.raises(ConfigError, match="--max-new-tokens"):
        GenerationParams(max_new_tokens=0)


def test_prompt_longer_than_context_is_a_clear_error(hf):
    with pytest.raises(ConfigError, match=r"sample 0: the prompt is .* exceeds tiny's context of 128"):
        _run(hf, [CORPUS[0]], GenerationParams(max_new_tokens=120))


def test_prompts_follow_the_training_format(hf):
    chat = hf.chat_renderer()
    sample = Sample("a", "prompt_completion", prompt="Say hi", response="hi")
    plain = build_request(sample, GenerateConfig(), chat, server_chat=False)
    assert plain.prompt == "Say hi" and plain.messages is None
    forced = build_request(sample, GenerateConfig(chat_template=True, system_prompt="Be brief."), chat, server_chat=False)
    assert forced.prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nSay hi<|im_end|>\n<|im_start|>assistant\n"
    )
    sent = build_request(sample, GenerateConfig(chat_template=True, system_prompt="Be brief."), None, server_chat=True)
    assert sent.messages == (Message("system", "Be brief."), Message("user", "Say hi"))
    alpaca = Sample("b", "alpaca", prompt="Add\n\n1 2", response="3", instruction="Add", input="1 2")
    assert build_request(alpaca, GenerateConfig(), chat, server_chat=False).prompt.endswith(
        "### Instruction:\nAdd\n\n### Input:\n1 2\n\n### Response:\n"
    )
    conv = Sample("c", "chat", prompt="q2", messages=(Message("user", "q1"), Message("assistant", "a1"), Message("user", "q2")))
    assert build_request(conv, GenerateConfig(chat_template=False), chat, server_chat=False).prompt == "q2"
    with pytest.raises(ConfigError, match="--system-prompt needs chat prompts"):
        build_request(sample, GenerateConfig(system_prompt="x"), chat, server_chat=False)


def _data(tmp_path, n=6, extra=None):
    path = tmp_path / "data.jsonl"
    rows = [{"id": f"q{i}", "prompt": CORPUS[i][:15], "completion": CORPUS[i][15:], "label": "x", **(extra or {})} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_predictions_file_rows_and_resume_refusals(hf, tmp_path):
    data = _data(tmp_path, extra={"group": "g1"})
    out = tmp_path / "preds.jsonl"
    config = GenerateConfig(params=GenerationParams(max_new_tokens=5), carry=("group",))
    summary = generate_predictions(hf, data, out, config)
    assert summary.generated == 6 and summary.already_done == 0
    preds = read_predictions(out)
    assert sorted(p.id for p in preds) == [f"q{i}" for i in range(6)]
    row = next(p.fields for p in preds if p.id == "q2")
    assert row["reference"] == CORPUS[2][15:] and row["label"] == "x" and row["group"] == "g1"
    assert row["prompt"] == CORPUS[2][:15] and row["model"] == "tiny" and row["sample"] == 0
    assert row["question"] == CORPUS[2][:15] and "messages" not in row  # the user's turn, for judges and people
    # the test tokenizer adds no BOS itself; generation prepends it to the prompt's tokens
    assert row["prompt_tokens"] == 1 + len(hf.tokenizer(CORPUS[2][:15], add_special_tokens=False)["input_ids"])
    # no stop string is set: "stop" when an EOS came before the 5-token limit (the EOS counts as an
    # output token), "length" when 5 tokens came without one
    assert row["finish_reason"] == ("length" if row["output_tokens"] == 5 else "stop")
    # same command again: nothing to do
    again = generate_predictions(hf, data, out, config)
    assert again.generated == 0 and again.already_done == 6
    # as a stored result: the data, the predictions file, the model with this run's counts
    r = summary.to_result()
    assert_valid_result(r.to_dict())
    assert [(d.role, d.source, d.n) for d in r.data] == [("eval", str(data), 6), ("predictions", str(out), 6)]
    assert r.data[0].sha256 == load_data(data).sha256 and r.data[0].details == {"shape": "prompt_completion"}
    assert r.models[0].name == "tiny" and r.models[0].identity == hf.identity()
    assert r.models[0].details["generated"] == 6 and r.config["params"]["max_new_tokens"] == 5 and list(r.config["carry"]) == ["group"]
    # nothing generated: no model was opened, so no identity, and every row was done before
    assert again.to_result().models[0].identity == {} and again.to_result().models[0].details["already_done"] == 6
    # other decoding settings on the same file are refused, not mixed in
    with pytest.raises(ConfigError, match="other settings"):
        generate_predictions(hf, data, out, GenerateConfig(params=GenerationParams(max_new_tokens=6)))
    # another data set is refused
    other = tmp_path / "other.jsonl"
    other.write_text('{"id": "z", "prompt": "the"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="ids not in the data"):
        generate_predictions(hf, other, out, config)


def test_prompt_only_data_generates(hf, tmp_path):
    data = tmp_path / "p.jsonl"
    data.write_text('{"id": 1, "prompt": "the red"}\n{"id": 2, "prompt": "the old"}\n', encoding="utf-8")
    assert load_data(data).samples[0].response is None
    generate_predictions(hf, data, tmp_path / "o.jsonl", GenerateConfig(params=GenerationParams(max_new_tokens=3)))
    rows = read_predictions(tmp_path / "o.jsonl")
    assert {r.id for r in rows} == {"1", "2"} and all("reference" not in (r.fields or {}) for r in rows)


def test_the_models_own_sampling_defaults_do_not_leak_in(tokenizer):
    from tunecheck.demo import tiny_llama

    model = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128)
    model.generation_config.top_k = 50
    model.generation_config.temperature = 0.6
    config = generation_config(HFModel(model, tokenizer, "t", "cpu"), GenerationParams(temperature=0.9, top_p=0.8, n=2))
    assert (config.top_k, config.temperature, config.top_p, config.num_return_sequences) == (0, 0.9, 0.8, 2)
    greedy = generation_config(HFModel(model, tokenizer, "t", "cpu"), GenerationParams())
    assert greedy.do_sample is False and greedy.temperature is None


def test_the_models_own_beam_and_ngram_defaults_do_not_leak_into_greedy(tokenizer):
    from tunecheck.demo import tiny_llama

    plain = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128)
    odd = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128)  # same seed: same weights
    # `generate` fills every option tunecheck leaves at None from these, so each must be reset
    # explicitly: 4 beams is beam search, not greedy; n-gram blocking forbids the repetitions a
    # random tiny model makes at once ("to to to ..."); the penalties reweight the logits
    odd.generation_config.num_beams = 4
    odd.generation_config.no_repeat_ngram_size = 2
    odd.generation_config.repetition_penalty = 1.5
    odd.generation_config.penalty_alpha = 0.6  # with top_k > 1: contrastive search
    params = GenerationParams(max_new_tokens=12)
    want = _run(HFModel(plain, tokenizer, "plain", "cpu"), PROMPTS, params)
    got = _run(HFModel(odd, tokenizer, "odd", "cpu"), PROMPTS, params)
    assert [g[0].output for g in got] == [g[0].output for g in want]
    # the reference has repeated bigrams, which n-gram blocking would have removed
    assert any(len(set(itertools.pairwise(t))) < len(t) - 1 for t in (g[0].output.split() for g in want))
