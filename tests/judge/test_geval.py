"""The G-Eval probability-weighted score, on hand-built log-probabilities worked out in comments,
and end to end on a local HF judge whose next-token distributions the test scripts."""

import math

import pytest
import torch

from tunecheck.judge._geval import NO_LOGPROBS, WeightedScore, weighted_scores
from tunecheck.judge._parse import parse_rubric_answer
from tunecheck.judge._rubric import Criterion, Rubric
from tunecheck.models._hf import HFModel


def rubric(*names, low=1, high=5):
    return Rubric("r", tuple(Criterion(n, "d", low, high) for n in names), None, False, "")


def entries(*tokens):
    """Plain logprobs: a token is a text (probability 1, no alternatives), or (text, {alt: p})
    where the chosen token's own probability is its alternative's, or (text, {alt: p}, p_chosen)."""
    out = []
    for t in tokens:
        if isinstance(t, str):
            out.append({"token": t, "logprob": 0.0, "top": [{"token": t, "logprob": 0.0}]})
            continue
        text, alts, *own = t
        p = own[0] if own else alts[text]
        out.append({"token": text, "logprob": math.log(p), "top": [{"token": a, "logprob": math.log(q)} for a, q in alts.items()]})
    return out


def run(tokens, r):
    lp = entries(*tokens)
    return weighted_scores("".join(e["token"] for e in lp), lp, r)


HEAD = '{"accuracy": {"justification": "fine", "score": '


def test_the_mean_over_the_scale_values_among_the_alternatives():
    # 4 * .6 + 5 * .3 + 3 * .1 = 2.4 + 1.5 + 0.3 = 4.2; all the mass is on the scale
    got = run([HEAD, ("4", {"4": 0.6, "5": 0.3, "3": 0.1}), "}}"], rubric("accuracy"))
    assert got["accuracy"].value == pytest.approx(4.2)
    assert got["accuracy"].mass == pytest.approx(1.0) and got["accuracy"].reason is None


def test_alternatives_off_the_scale_are_left_out_and_the_mass_says_so():
    # on the scale: 4 (.5) and 5 (.2); "6" is off the 1-5 scale, '"' and "four" are no values
    # (2.0 + 1.0) / 0.7 = 4.285714...; mass .7
    alts = {"4": 0.5, "5": 0.2, "6": 0.1, '"': 0.1, "four": 0.05}
    got = run([HEAD, ("4", alts), "}}"], rubric("accuracy"))["accuracy"]
    assert got.value == pytest.approx(3.0 / 0.7) and got.mass == pytest.approx(0.7)


def test_two_criteria_each_read_at_its_own_position_in_any_key_order():
    # fluency: (2 * .5 + 1 * .5) / 1 = 1.5; accuracy: 5 * .8 + 4 * .2 = 4.8
    tokens = [
        '{"fluency": {"score": ', ("2", {"2": 0.5, "1": 0.5}), ', "justification": "x"}, ',
        '"accuracy": {"justification": "y", "score": ', ("5", {"5": 0.8, "4": 0.2}), "}}",
    ]
    got = run(tokens, rubric("accuracy", "fluency"))
    assert got["fluency"].value == pytest.approx(1.5)
    assert got["accuracy"].value == pytest.approx(4.8)


def test_quoted_score_in_a_code_fence_with_the_quote_in_the_token():
    # the chosen token ' "4' carries a space and the opening quote: alternatives read without
    # them; ' 5' (no quote) is still 5: (4 * .7 + 5 * .2 + 5 * .1) / 1 = 2.8 + 1.0 + 0.5 = 4.3
    tokens = [
        'Here is my grade.\n```json\n{"accuracy": {"justification": "ok", "score":',
        (' "4', {' "4': 0.7, ' "5': 0.2, " 5": 0.1}), '"}}\n```',
    ]
    got = run(tokens, rubric("accuracy"))["accuracy"]
    assert got.value == pytest.approx(4.3) and got.mass == pytest.approx(1.0)


def test_the_answer_object_not_an_earlier_example():
    # the example's "1" is certain; the answer's score is 4 or 5 at .5 each: 4.5
    tokens = [
        'For example {"accuracy": {"score": ', ("1", {"1": 1.0}), "}}. My answer: ",
        HEAD, ("4", {"4": 0.5, "5": 0.5}), "}}",
    ]
    assert run(tokens, rubric("accuracy"))["accuracy"].value == pytest.approx(4.5)


def test_a_sampled_token_outside_the_top_alternatives_counts_too():
    # the judge sampled "3" (p .05) while the top two were 4 (.6) and 5 (.3):
    # (2.4 + 1.5 + 0.15) / 0.95 = 4.05 / 0.95 = 4.263157...
    got = run([HEAD, ("3", {"4": 0.6, "5": 0.3}, 0.05), "}}"], rubric("accuracy"))["accuracy"]
    assert got.value == pytest.approx(4.05 / 0.95) and got.mass == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"accuracy": {"justification": "ok"}}', "no score given"),
        ('{"relevance": {"score": 3}}', "missing"),
        ("I think it is a four.", "no JSON object in the answer"),
        ('{"accuracy": {"score": "good"}}', "score 'good' is not a number"),
        ('{"accuracy": {"score": 4.5}}', "score 4.5 is not written as a whole number (no weighted score)"),
    ],
)
def test_no_score_to_weigh_is_none_with_the_reason(answer, reason):
    got = run([answer], rubric("accuracy"))["accuracy"]
    assert got == WeightedScore(None, 0.0, reason)


def test_no_value_of_the_scale_among_the_alternatives():
    got = run([HEAD, ("4", {"x": 0.9}, 0.1), "}}"], rubric("accuracy", low=6, high=9))["accuracy"]
    assert got.value is None and got.reason.startswith("no value of the 6-9 scale")


@pytest.mark.parametrize("logprobs", [None, []])
def test_no_logprobs(logprobs):
    assert weighted_scores(HEAD + "4}}", logprobs, rubric("accuracy")) == {"accuracy": WeightedScore(None, 0.0, NO_LOGPROBS)}


def test_ten_written_as_two_tokens_is_followed_into_the_second():
    # position "1": 1 (.5) 9 (.3) 8 (.2); given "1": "0" (.6) "}" (.3, the number ends) "5" (.1, 15)
    # P(10) = .5 * .6 = .30, P(1) = .5 * .3 = .15, 15 is off the scale; mass .30 + .15 + .3 + .2 = .95
    # mean = (10 * .30 + 1 * .15 + 9 * .3 + 8 * .2) / .95 = (3 + .15 + 2.7 + 1.6) / .95 = 7.45 / .95
    tokens = [HEAD, ("1", {"1": 0.5, "9": 0.3, "8": 0.2}), ("0", {"0": 0.6, "}": 0.3, "5": 0.1}), "}}"]
    got = run(tokens, rubric("accuracy", high=10))["accuracy"]
    assert got.value == pytest.approx(7.45 / 0.95) and got.mass == pytest.approx(0.95)


def test_a_chosen_one_that_could_begin_ten_is_followed_into_the_next_token():
    # "1" (.7) or "2" (.3); after "1": "}" (.9, the value is 1) or "0" (.1, the value is 10)
    # P(1) = .63, P(10) = .07, P(2) = .3: mean = .63 + .7 + .6 = 1.93
    tokens = [HEAD, ("1", {"1": 0.7, "2": 0.3}), ("}", {"}": 0.9, "0": 0.1}), "}"]
    got = run(tokens, rubric("accuracy", high=10))["accuracy"]
    assert got.value == pytest.approx(1.93) and got.mass == pytest.approx(1.0)


def test_an_alternative_one_that_may_begin_ten_is_never_guessed():
    # the judge chose "7"; its alternative "1" may be 1 or the start of 10 (never computed):
    # read as 1: 7 * .6 + 1 * .3 + 8 * .1 = 5.3; read as 10: 4.2 + 3 + .8 = 8.0 -> no value
    got = run([HEAD, ("7", {"7": 0.6, "1": 0.3, "8": 0.1}), "}}"], rubric("accuracy", high=10))["accuracy"]
    assert got.value is None and got.mass == pytest.approx(1.0)
    assert "'1'" in got.reason and "5.30 to 8.00" in got.reason


def test_ten_among_the_alternatives_means_one_is_one():
    # "10" is a token of this judge's tokenizer, so "1" is the value 1:
    # 7 * .6 + 10 * .2 + 1 * .1 + 8 * .1 = 4.2 + 2 + .1 + .8 = 7.1
    got = run([HEAD, ("7", {"7": 0.6, "10": 0.2, "1": 0.1, "8": 0.1}), "}}"], rubric("accuracy", high=10))["accuracy"]
    assert got.value == pytest.approx(7.1) and got.mass == pytest.approx(1.0)


def test_a_negligible_ambiguity_gives_the_midpoint():
    # "1" at p .0001: read as 1, 6.3 + .7992 + .0001 = 7.0993; as 10, 7.1002; they differ by
    # .0009, under AMBIGUITY (.01): the midpoint 7.09975
    alts = {"7": 0.9, "8": 0.0999, "1": 0.0001}
    got = run([HEAD, ("7", alts), "}}"], rubric("accuracy", high=10))["accuracy"]
    assert got.value == pytest.approx(7.09975)


# ---- end to end: a local HF judge --------------------------------------------------------------


def scripted(model, tokenizer, reply, at):
    """Make `model` write `reply` (then EOS) token by token: probability 1 on the next token,
    except at the tokens in `at` (index -> {token text: p}), where the distribution is given.
    A forward hook sets the last position's logits; the weights are not touched."""
    ids = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    vocab = model.config.vocab_size
    script = []
    for i, t in enumerate(ids):
        row = torch.full((vocab,), -1e4)
        for text, p in (at.get(i) or {tokenizer.decode([t]): 1.0}).items():
            [tid] = tokenizer(text, add_special_tokens=False)["input_ids"] if text else [t]
            row[tid] = math.log(p)
        script.append(row)
    step = [0]  # forward passes so far: the first one (the prompt) gives the first reply token

    def hook(_module, _args, _kwargs, output):
        output.logits[:, -1, :] = script[min(step[0], len(script) - 1)]
        step[0] += 1
        return output

    return model.register_forward_hook(hook, with_kwargs=True)


def test_hf_judge_reply_to_weighted_score(tiny_model, tokenizer):
    judge = HFModel(tiny_model, tokenizer, "scripted", "cpu")
    reply_text = '{"accuracy": {"justification": "ok", "score": 4}, "overall": {"score": 10}}'
    ids = tokenizer(reply_text, add_special_tokens=False)["input_ids"]
    pieces = [tokenizer.decode([t]) for t in ids]
    four = pieces.index("4")
    one = len(pieces) - 1 - pieces[::-1].index("1")  # "10" is two tokens here: "1", "0"
    assert pieces[one + 1] == "0"
    at = {four: {"4": 0.6, "5": 0.3, "3": 0.1}, one: {"1": 0.5, "9": 0.3, "8": 0.2}, one + 1: {"0": 0.6, "}": 0.4}}
    handle = scripted(tiny_model, tokenizer, reply_text, at)
    try:
        reply = judge.chat([{"role": "user", "content": "grade"}], {"max_tokens": 100, "top_logprobs": 3})
    finally:
        handle.remove()
    assert reply.text == reply_text and reply.extras["finish_reason"] == "stop"
    r = Rubric("r", (Criterion("accuracy", "d", 1, 5),), Criterion("overall", "d", 1, 10), False, "")
    assert parse_rubric_answer(reply.text, r).scores == {"accuracy": 4, "overall": 10}
    got = weighted_scores(reply.text, reply.extras["logprobs"], r)
    # accuracy: 4 * .6 + 5 * .3 + 3 * .1 = 4.2
    assert got["accuracy"].value == pytest.approx(4.2, abs=1e-6)
    # overall: P(10) = .5 * .6 = .3, P(1) = .5 * .4 = .2, P(9) = .3, P(8) = .2, mass 1:
    # 3 + .2 + 2.7 + 1.6 = 7.5
    assert got["overall"].value == pytest.approx(7.5, abs=1e-6)
    assert got["overall"].mass == pytest.approx(1.0, abs=1e-6)


def test_hf_judge_gibberish_has_no_weighted_score(tiny_model, tokenizer):
    # the untrained tiny model writes no JSON: every criterion unscored, with the reason
    judge = HFModel(tiny_model, tokenizer, "tiny", "cpu")
    reply = judge.chat([{"role": "user", "content": "grade"}], {"max_tokens": 8, "top_logprobs": 2})
    assert "{" not in reply.text
    got = weighted_scores(reply.text, reply.extras["logprobs"], rubric("accuracy"))
    assert got == {"accuracy": WeightedScore(None, 0.0, "no JSON object in the answer")}


SHAPES = [
    # (answer with the score digit marked by §, as parse_rubric_answer reads it)
    '{"accuracy": {"justification": "a {brace} and a \\"quote\\"", "score": §}}',
    "```json\n{\"accuracy\": {\"score\": §, \"justification\": \"ok\"},}\n```",
    "Sure! {'accuracy': {'justification': 'ok', 'score': '§'}} Hope that helps.",
    '{"scores": {"accuracy": {"justification": "ok", "score": "§/5"}}}',
    '{"Accuracy": §}',
    '{"accuracy": {"rating": §, "justification": "the score: 1"}}',
]


@pytest.mark.parametrize("shape", SHAPES)
def test_the_score_is_found_where_parse_rubric_answer_reads_it(shape):
    # the digit gets its own token with alternatives 3 (.5) and 4 (.5): 3.5 wherever it is
    head, tail = shape.split("§")
    r = rubric("accuracy")
    assert parse_rubric_answer(head + "3" + tail, r).scores == {"accuracy": 3}  # the reference reading
    got = run([head, ("3", {"3": 0.5, "4": 0.5}), tail], r)["accuracy"]
    assert got.value == pytest.approx(3.5) and got.mass == pytest.approx(1.0)


def test_tokens_that_spell_the_answer_differently_elsewhere_still_count():
    # a server spelled the curly quote's bytes as escapes: offsets move, the score is still 4.2
    lp = entries('{"accuracy": {"justification": "it\\xe2\\x80\\x99s fine", "score": ', ("4", {"4": 0.6, "5": 0.3, "3": 0.1}), "}}")
    answer = '{"accuracy": {"justification": "it\u2019s fine", "score": 4}}'
    assert weighted_scores(answer, lp, rubric("accuracy"))["accuracy"].value == pytest.approx(4.2)
    # but tokens of another answer are not read as this one's
    other = '{"accuracy": {"justification": "ok", "score": 2}}'
    got = weighted_scores(other, lp, rubric("accuracy"))["accuracy"]
    assert got.value is None and got.reason == "the log-probabilities' tokens do not spell the answer where it gives this score"
