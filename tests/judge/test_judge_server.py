"""The scripted judges (tests/judge/_judges.py) answer real HTTP requests from
`OpenAIModel.chat` as designed, reading the prompts our code builds; and the responder mode of
the test server."""

from __future__ import annotations

import json
import math

import pytest

from tests.generation._server import Step, serve
from tests.judge import _judges as J
from tunecheck.errors import ModelError
from tunecheck.judge._builtin import BUILTIN_RUBRICS
from tunecheck.judge._parse import parse_rubric_answer
from tunecheck.judge._prompts import repair_message, rubric_messages
from tunecheck.models._openai import OpenAIModel, ServerOptions

QUALITY = BUILTIN_RUBRICS["quality-5"]
CRITERIA = ["accuracy", "relevance", "fluency", "format"]


def judge(url: str, *, retries: int = 2, timeout: float = 5.0) -> OpenAIModel:
    return OpenAIModel("tiny", server=ServerOptions(base_url=url, retries=retries, timeout=timeout))


def grade_ask(answer: str, question: str = "How many legs has a cat?") -> list[dict[str, str]]:
    return rubric_messages(QUALITY, question, answer)


def repair_ask(answer: str, previous: str) -> list[dict[str, str]]:
    return [*grade_ask(answer), {"role": "assistant", "content": previous}, repair_message("no JSON object in the answer")]


def pair_ask(a: str, b: str, question: str = "Name a colour.", *, five_way: bool = False) -> list[dict[str, str]]:
    """A pairwise prompt in the fixed format (the real builder lands from another branch)."""
    verdicts = "[[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]]" if five_way else "[[A>B]], [[A=B]] or [[B>A]]"
    return [
        {"role": "system", "content": f"Compare the two answers. End your reply with one of {verdicts}."},
        {"role": "user", "content": f"<question>\n{question}\n</question>\n\n<answer_a>\n{a}\n</answer_a>\n\n<answer_b>\n{b}\n</answer_b>"},
    ]


def scores(text: str) -> dict[str, int]:
    return {k: v["score"] for k, v in json.loads(text).items()}


# -- the server's responder mode --------------------------------------------------------------------


def test_responder_answers_from_the_request_after_the_script() -> None:
    def shout(payload: dict) -> Step:
        return Step(text=payload["messages"][-1]["content"].upper())

    with serve([Step(text="scripted")], responder=shout) as (url, log):
        m = judge(url)
        first = m.chat([{"role": "user", "content": "hi"}], {})
        second = m.chat([{"role": "user", "content": "hello there"}], {})
    assert (first.text, second.text) == ("scripted", "HELLO THERE")
    assert len(log.requests) == 2


def test_a_responder_that_raises_is_a_500_naming_it() -> None:
    def broken(payload: dict) -> Step:
        raise KeyError("oops")

    with serve(responder=broken) as (url, log), pytest.raises(ModelError) as err:
        judge(url, retries=0).chat([{"role": "user", "content": "hi"}], {})
    assert "HTTP 500" in str(err.value) and "responder failed: KeyError" in str(err.value)
    assert len(log.requests) == 1


# -- reading our prompts --------------------------------------------------------------------------


def test_read_rubric_finds_the_blocks_criteria_and_repair() -> None:
    ref = BUILTIN_RUBRICS["reference-correctness"]
    msgs = rubric_messages(ref, "What is 2+2?", "It is 4.", "4")
    ask = J.read_rubric({"messages": msgs})
    assert ask is not None
    assert (ask.question, ask.answer, ask.reference, ask.repair) == ("What is 2+2?", "It is 4.", "4", False)
    assert [(c.name, c.low, c.high) for c in ask.criteria] == [(c.name, c.low, c.high) for c in ref.scored]
    again = J.read_rubric({"messages": repair_ask("It is 4.", "nope")})
    assert again is not None and again.repair and again.previous == "nope"
    assert J.read_pairwise({"messages": msgs}) is None


def test_read_pairwise_finds_both_answers_in_order() -> None:
    ask = J.read_pairwise({"messages": pair_ask("red", "blue", five_way=True)})
    assert ask is not None
    assert (ask.question, ask.a, ask.b, ask.reference, ask.five_way, ask.repair) == ("Name a colour.", "red", "blue", None, True, False)
    assert J.read_rubric({"messages": pair_ask("red", "blue")}) is None


# -- rubric judges --------------------------------------------------------------------------------


def test_rubric_judge_scores_the_number_in_the_answer() -> None:
    with serve(responder=J.rubric_judge()) as (url, log):
        reply = judge(url).chat(grade_ask("A cat has 4 legs."), {})
    assert scores(reply.text) == dict.fromkeys(CRITERIA, 4)
    assert parse_rubric_answer(reply.text, QUALITY).scores == dict.fromkeys(CRITERIA, 4)
    assert len(log.requests) == 1


def test_rubric_judge_by_length() -> None:
    # 12 words, 5 words a point: 1 + 12 // 5 = 3; 30 words: 1 + 6 = 7, capped at 5
    with serve(responder=J.rubric_judge(J.by_length(5))) as (url, _):
        m = judge(url)
        short = m.chat(grade_ask(" ".join(["word"] * 12)), {})
        long = m.chat(grade_ask(" ".join(["word"] * 30)), {})
    assert scores(short.text) == dict.fromkeys(CRITERIA, 3)
    assert scores(long.text) == dict.fromkeys(CRITERIA, 5)


def test_rubric_judge_logprobs_make_the_score_digit_a_token_with_alternatives() -> None:
    with serve(responder=J.rubric_judge(logprobs=J.SPREAD)) as (url, _):
        reply = judge(url).chat(grade_ask("4"), {"top_logprobs": 5})
    tokens = reply.extras["logprobs"]
    assert "".join(t["token"] for t in tokens) == reply.text  # the tokens spell the reply
    digits = [t for t in tokens if t["token"].isdigit()]
    assert len(digits) == 4  # one per criterion
    for t in digits:
        probs = {a["token"]: math.exp(a["logprob"]) for a in t["top"]}
        assert probs == pytest.approx({"4": 0.6, "5": 0.3, "3": 0.1})
        # G-Eval's weighted score: 0.6*4 + 0.3*5 + 0.1*3 = 4.2
        assert sum(int(k) * p for k, p in probs.items()) / sum(probs.values()) == pytest.approx(4.2)


def test_rubric_judge_sends_no_logprobs_unless_asked() -> None:
    with serve(responder=J.rubric_judge(logprobs=J.SPREAD)) as (url, _):
        reply = judge(url).chat(grade_ask("4"), {})
    assert "logprobs" not in reply.extras


def test_invalid_then_valid_is_fixed_by_the_repair() -> None:
    with serve(responder=J.invalid_then_valid()) as (url, log):
        m = judge(url)
        first = m.chat(grade_ask("2 legs"), {})
        second = m.chat(repair_ask("2 legs", first.text), {})
    assert first.text == J.INVALID
    assert parse_rubric_answer(first.text, QUALITY).error is not None
    assert scores(second.text) == dict.fromkeys(CRITERIA, 2)
    assert len(log.requests) == 2


def test_always_invalid_has_no_json_even_on_the_repair() -> None:
    with serve(responder=J.always_invalid()) as (url, _):
        m = judge(url)
        first = m.chat(grade_ask("4"), {})
        second = m.chat(repair_ask("4", first.text), {})
    assert first.text == second.text == J.NO_JSON
    assert parse_rubric_answer(second.text, QUALITY).error == "no JSON object in the answer"


def test_out_of_scale_scores_seven() -> None:
    with serve(responder=J.out_of_scale(7)) as (url, _):
        m = judge(url)
        first = m.chat(grade_ask("4"), {})
        second = m.chat(repair_ask("4", first.text), {})
    assert scores(first.text) == scores(second.text) == dict.fromkeys(CRITERIA, 7)
    assert parse_rubric_answer(first.text, QUALITY).unscored == dict.fromkeys(CRITERIA, "score 7 is outside the 1-5 scale")
    with serve(responder=J.out_of_scale(7, fixed_on_repair=True)) as (url, _):
        fixed = judge(url).chat(repair_ask("4", first.text), {})
    assert scores(fixed.text) == dict.fromkeys(CRITERIA, 4)


def test_a_rubric_judge_refuses_a_pairwise_prompt() -> None:
    with serve(responder=J.rubric_judge()) as (url, log), pytest.raises(ModelError) as err:
        judge(url).chat(pair_ask("red", "blue"), {})
    assert "HTTP 400" in str(err.value) and "not a rubric prompt" in str(err.value)
    assert len(log.requests) == 1  # a 400 is not retried


# -- pairwise judges ------------------------------------------------------------------------------


def verdicts(responder: J.Responder, pairs: list[tuple[str, str]], *, five_way: bool = False, question: str = "Name a colour.") -> list[str]:
    with serve(responder=responder) as (url, _):
        m = judge(url)
        return [m.chat(pair_ask(a, b, question, five_way=five_way), {}).text.rsplit("\n", 1)[-1] for a, b in pairs]


def test_first_position_always_picks_a() -> None:
    assert verdicts(J.first_position(), [("red", "blue"), ("blue", "red")]) == ["[[A>B]]", "[[A>B]]"]
    assert verdicts(J.first_position(strong=True), [("red", "blue")], five_way=True) == ["[[A>>B]]"]
    assert verdicts(J.first_position(strong=True), [("red", "blue")]) == ["[[A>B]]"]  # 3-way: no strong form


def test_longer_answer_wins_in_both_orders() -> None:
    pairs = [("red", "light blue"), ("light blue", "red"), ("red", "tan")]
    assert verdicts(J.longer_answer(), pairs) == ["[[B>A]]", "[[A>B]]", "[[A=B]]"]


def test_prefers_marked_in_both_orders() -> None:
    pairs = [("GOOD red", "blue"), ("blue", "GOOD red"), ("red", "blue"), ("GOOD", "GOOD")]
    assert verdicts(J.prefers_marked(), pairs) == ["[[A>B]]", "[[B>A]]", "[[A=B]]", "[[A=B]]"]


def test_flips_under_swap_only_for_the_chosen_questions() -> None:
    r = J.flips_under_swap({"Name a colour."})
    assert verdicts(r, [("GOOD red", "blue"), ("blue", "GOOD red")]) == ["[[A>B]]", "[[A>B]]"]
    # another question: prefers_marked, the same answer in both orders
    assert verdicts(r, [("GOOD red", "blue"), ("blue", "GOOD red")], question="Name a fruit.") == ["[[A>B]]", "[[B>A]]"]


def test_pairwise_invalid_then_valid() -> None:
    with serve(responder=J.pairwise_invalid_then_valid()) as (url, log):
        m = judge(url)
        ask = pair_ask("blue", "GOOD red")
        first = m.chat(ask, {})
        retry = [*ask, {"role": "assistant", "content": first.text},
                 {"role": "user", "content": "Your previous reply could not be used: no verdict. End with [[A>B]], [[A=B]] or [[B>A]]."}]
        second = m.chat(retry, {})
    assert first.text == J.NO_VERDICT and "[[" not in first.text
    assert second.text.endswith("[[B>A]]")
    assert len(log.requests) == 2


def test_route_sends_each_mode_to_its_judge() -> None:
    with serve(responder=J.route(pairwise=J.first_position())) as (url, _):
        m = judge(url)
        pair = m.chat(pair_ask("red", "GOOD blue"), {})
        grade = m.chat(grade_ask("3 things"), {})
    assert pair.text.endswith("[[A>B]]")
    assert scores(grade.text) == dict.fromkeys(CRITERIA, 3)


# -- failures -------------------------------------------------------------------------------------


def test_rate_limited_is_retried_by_the_client() -> None:
    with serve(responder=J.rate_limited(J.rubric_judge(), times=2)) as (url, log):
        m = judge(url, retries=2)
        one = m.chat(grade_ask("4"), {})
        two = m.chat(grade_ask("2"), {})
    assert scores(one.text) == dict.fromkeys(CRITERIA, 4) and scores(two.text) == dict.fromkeys(CRITERIA, 2)
    assert len(log.requests) == 6  # each distinct call: two 429s, then the answer


def test_rate_limited_beyond_the_retries_is_one_line() -> None:
    with serve(responder=J.rate_limited(J.rubric_judge(), times=3)) as (url, log), pytest.raises(ModelError) as err:
        judge(url, retries=1).chat(grade_ask("4"), {})
    assert str(err.value) == f"{url}: still rate-limited (429) after 1 retries; lower --concurrency or raise --retries"
    assert len(log.requests) == 2  # the first try and one retry


def test_hanging_requests_time_out_in_one_line_and_the_rest_answer() -> None:
    r = J.hanging(J.rubric_judge(), J.mentions("HANG"), seconds=3.0)
    with serve(responder=r) as (url, log):
        m = judge(url, retries=1, timeout=0.5)
        ok = m.chat(grade_ask("4"), {})
        with pytest.raises(ModelError) as err:
            m.chat(grade_ask("4", question="HANG here"), {})
    assert scores(ok.text) == dict.fromkeys(CRITERIA, 4)
    assert str(err.value) == (
        f"{url}: judge call: no answer within --timeout 0.5s after 1 retries; raise --timeout or lower --concurrency"
    )
    assert len(log.requests) == 3  # one answered, then the hang's first try and one retry
