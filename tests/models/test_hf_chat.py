"""HFModel.chat (a local model as a judge) against transformers itself: greedy replies equal
`generate` on the same rendered prompt, log-probabilities equal a direct forward pass."""

import threading

import pytest
import torch

from tests.conftest import CORPUS
from tunecheck.demo import tiny_llama, train_tokenizer
from tunecheck.errors import ConfigError
from tunecheck.models._chat import spell
from tunecheck.models._hf import HFModel
from tunecheck.models._hf_load import load_hf
from tunecheck.models._open import open_model
from tunecheck.models._protocol import CHAT, ChatModel

MESSAGES = [{"role": "system", "content": "grade it"}, {"role": "user", "content": "the old owl walks to the"}]


def _prompt_ids(tokenizer, messages):
    # the rendered prompt as HF generation sees it: the chat template's text, BOS first
    # (this template writes none), no other special tokens added
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]


def _reference(model, tokenizer, messages, n, temperature=0.0, seed=0):
    """transformers' own decoding of the rendered prompt: greedy, or plain sampling at
    `temperature` (no top-k, no top-p) after seeding torch with `seed`."""
    ids = _prompt_ids(tokenizer, messages)
    sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0} if temperature else {"do_sample": False}
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = model.generate(
            input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=n, eos_token_id=[tokenizer.eos_token_id], pad_token_id=tokenizer.pad_token_id, **sampling,
        )
    new = out[0, len(ids):].tolist()
    return ids, new


def _forward_logprobs(model, ids):
    with torch.inference_mode():
        return torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].double(), -1)


@pytest.fixture(scope="module")
def hf(tokenizer):
    # the tiny Llama at its small initial weights repeats one token; weights of std 0.3 give
    # replies of many different tokens (byte tokens too), so a wrong position or token shows
    model = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128, seed=0)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return HFModel(model, tokenizer, "judge-tiny", "cpu")


def test_greedy_reply_is_hf_greedy_decoding_of_the_rendered_prompt(hf):
    ids, new = _reference(hf.model, hf.tokenizer, MESSAGES, 16)
    reply = hf.chat(MESSAGES, {"max_tokens": 16})
    assert reply.text == hf.tokenizer.decode(new, skip_special_tokens=True)
    assert len(set(new)) > 3  # a reply worth comparing, not one token repeated
    assert reply.prompt_tokens == len(ids)
    assert reply.completion_tokens == len(new) == 16
    assert reply.extras == {"finish_reason": "length"}  # no stop token in 16: cut by max_tokens


@pytest.mark.parametrize("temperature", [0, 2.0])
def test_logprobs_are_the_model_distribution_of_a_direct_forward_pass(hf, temperature):
    k = 4
    reply = hf.chat(MESSAGES, {"max_tokens": 10, "top_logprobs": k, "temperature": temperature, "seed": 1})
    prompt, new = _reference(hf.model, hf.tokenizer, MESSAGES, 10, temperature, seed=1)
    assert reply.text == hf.tokenizer.decode(new, skip_special_tokens=True)  # seeded like transformers
    entries = reply.extras["logprobs"]
    assert "".join(e["token"] for e in entries) == reply.text
    assert len(entries) == len(new) == 10
    # reference: one forward pass over prompt + reply; row p-1 predicts token p; the raw
    # distribution (temperature 2 changes what is sampled, not the reported log-probabilities)
    lp = _forward_logprobs(hf.model, prompt + new)
    for i, (e, t) in enumerate(zip(entries, new)):
        row = lp[len(prompt) + i - 1]
        assert e["logprob"] == pytest.approx(float(row[t]), abs=1e-4)
        tops = [a["logprob"] for a in e["top"]]
        assert len(tops) == k and tops == sorted(tops, reverse=True)
        assert tops == pytest.approx(torch.topk(row, k).values.tolist(), abs=1e-4)
        # a byte token alone decodes to U+FFFD; the others read as themselves
        for a, j in zip(e["top"], torch.topk(row, k).indices.tolist()):
            if "\ufffd" not in hf.tokenizer.decode([j]):
                assert a["token"] == hf.tokenizer.decode([j])


def test_top_logprobs_zero_gives_the_chosen_tokens_alone(hf):
    reply = hf.chat(MESSAGES, {"max_tokens": 5, "top_logprobs": 0})
    assert [e["top"] for e in reply.extras["logprobs"]] == [[]] * 5
    assert "".join(e["token"] for e in reply.extras["logprobs"]) == reply.text


def test_stop_string_cuts_text_and_logprobs_alike(hf):
    _, new = _reference(hf.model, hf.tokenizer, MESSAGES, 16)
    full = hf.tokenizer.decode(new, skip_special_tokens=True)
    stop = "ear"  # inside the greedy reply, not at its start
    assert full.find(stop) > 0
    cut = full[: full.find(stop)]
    reply = hf.chat(MESSAGES, {"max_tokens": 16, "stop": [stop], "top_logprobs": 2})
    assert reply.text == cut and reply.extras["finish_reason"] == "stop"
    assert "".join(e["token"] for e in reply.extras["logprobs"]) == cut


def test_same_seed_same_sample_other_seed_other_sample(hf):
    params = {"max_tokens": 12, "temperature": 1.0, "seed": 7}
    a, b = hf.chat(MESSAGES, params).text, hf.chat(MESSAGES, params).text
    assert a == b
    assert hf.chat(MESSAGES, {**params, "seed": 8}).text != a
    assert hf.chat(MESSAGES, {**params, "repeat": 3}).text == a  # repeat keys the cache only


def test_chat_from_several_threads_gives_the_sequential_replies(hf):
    # sampling seeds torch's global generator: without the lock, threads reseed each other
    params = [{"max_tokens": 24, "temperature": 1.0, "seed": s} for s in range(4)]
    alone = [hf.chat(MESSAGES, p).text for p in params]
    got: dict[int, str] = {}

    def run(i):
        for _ in range(3):
            got[i] = hf.chat(MESSAGES, params[i]).text
            if got[i] != alone[i]:
                return

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(4)] == alone


def test_unknown_param_and_bad_values_are_one_line_config_errors(hf):
    with pytest.raises(ConfigError, match=r"chat params logprobs, n: not understood \(use max_tokens, repeat,"):
        hf.chat(MESSAGES, {"n": 2, "logprobs": True})
    with pytest.raises(ConfigError, match="top_logprobs 21: must be from 0 to 20"):
        hf.chat(MESSAGES, {"top_logprobs": 21})
    with pytest.raises(ConfigError, match="temperature -1: must be 0"):
        hf.chat(MESSAGES, {"temperature": -1})


def test_a_model_without_chat_template_is_no_judge(tiny_model):
    plain = train_tokenizer(CORPUS, vocab_size=300, chat_template=False)
    model = HFModel(tiny_model, plain, "plain-lm", "cpu")
    with pytest.raises(ConfigError) as err:
        model.chat(MESSAGES, {})
    assert str(err.value).startswith("plain-lm has no chat template; a judge must be a chat/instruct model")
    assert "\n" not in str(err.value)


def test_every_backend_is_a_judge(hf, monkeypatch):
    assert CHAT.of(hf, "judge") is hf and isinstance(hf, ChatModel)
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    server = open_model("openai:gpt-judge", CHAT, layer="judge")
    assert isinstance(server, ChatModel)
    from tunecheck.models import _open

    assert all("chat" in can for can in _open._CAN.values())


def test_spell_gives_a_split_character_to_the_token_that_completes_it(tokenizer):
    # "é" is two bytes; the byte-level tokenizer has no merge for it here, so two tokens whose
    # one-by-one decodings are both U+FFFD; the shares must still join to the text
    text = "the é owl"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    singles = [tokenizer.decode([i]) for i in ids]
    assert "".join(singles) != text  # decoding one by one would not spell the text
    shares = spell(tokenizer.decode, ids, text)
    assert "".join(shares) == text and len(shares) == len(ids)
    assert "é" in shares


@pytest.mark.real
def test_smollm2_scores_with_logprobs_whose_tokens_spell_the_reply(smollm2):
    judge = load_hf(str(smollm2), device="cpu")
    messages = [
        {"role": "system", "content": "You grade answers. Reply with one digit from 1 to 5."},
        {"role": "user", "content": "Question: What is 2 + 2?\nAnswer: 4\nScore (1-5):"},
    ]
    reply = judge.chat(messages, {"max_tokens": 6, "top_logprobs": 5})
    entries = reply.extras["logprobs"]
    assert reply.text and "".join(e["token"] for e in entries) == reply.text
    assert all(len(e["top"]) == 5 for e in entries)
    assert all(e["top"][0]["logprob"] >= e["logprob"] - 1e-6 for e in entries)  # greedy: the top token
    assert reply.prompt_tokens and reply.completion_tokens
