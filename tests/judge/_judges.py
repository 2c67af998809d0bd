"""Scripted judges for the test server (`serve(responder=...)` in tests/generation/_server.py).

Each factory returns a responder: a function from a request's JSON body to the server's
`Step`. It reads the prompt our code sends -- rubric grading (`judge._prompts.rubric_messages`)
or pairwise comparison (`<answer_a>`/`<answer_b>` blocks, a `[[A>B]]` verdict) -- and answers by
a fixed rule, so a test can predict every score and verdict. All are deterministic whatever
the order or concurrency of the requests (the one with state, `rate_limited`, keys it by the
request's messages).

Rubric judges: `rubric_judge` (score by a rule: `number_in_answer`, `by_length`, or any
function; optional token log-probabilities for the G-Eval weighted score), `invalid_then_valid`,
`always_invalid`, `out_of_scale`. Pairwise judges: `first_position`, `longer_answer`,
`flips_under_swap`, `prefers_marked`, `pairwise_invalid_then_valid`. Either kind: `route`
(one server for both modes), `rate_limited` (429s first), `failing` (always 500),
`hanging` (no answer in time).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from tests.generation._server import Responder, Step

# -- reading the prompt ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    name: str
    low: int
    high: int


@dataclass(frozen=True)
class RubricAsk:
    """What a rubric-grading request asks: the blocks of its first user message, the criteria
    listed in its system message, and whether it is the repair retry."""

    question: str
    answer: str
    reference: str | None
    criteria: tuple[Scale, ...]
    repair: bool
    previous: str | None
    """The judge's earlier reply the repair retry quotes (None on a first try)."""


@dataclass(frozen=True)
class PairAsk:
    """What a pairwise request asks: the two answers in the order shown (A first), the
    question and reference if shown, whether the 5-way verdicts are asked for, and whether it is
    the repair retry."""

    question: str | None
    a: str
    b: str
    reference: str | None
    five_way: bool
    repair: bool


def _block(tag: str, text: str) -> str | None:
    m = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", text, re.DOTALL)
    return m.group(1) if m else None


def _messages(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"role": str(m.get("role")), "content": str(m.get("content") or "")} for m in payload.get("messages") or []]


def _is_repair(messages: list[dict[str, str]]) -> bool:
    """A repair retry: the judge's earlier reply as an assistant turn, then a user turn saying it
    could not be used."""
    return (
        len(messages) >= 2 and messages[-1]["role"] == "user" and messages[-2]["role"] == "assistant"
        and "could not be used" in messages[-1]["content"].lower()
    )


_CRITERION = re.compile(r"^- ([A-Za-z][A-Za-z0-9_-]*) \((-?\d+)-(-?\d+)\): ", re.MULTILINE)


def read_rubric(payload: Mapping[str, Any]) -> RubricAsk | None:
    """The rubric request in `payload`, or None when it is not one."""
    messages = _messages(payload)
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = next((m["content"] for m in messages if m["role"] == "user" and "<answer>\n" in m["content"]), None)
    if user is None:
        return None
    criteria = tuple(Scale(n, int(lo), int(hi)) for n, lo, hi in _CRITERION.findall(system))
    repair = _is_repair(messages)
    return RubricAsk(
        _block("question", user) or "", _block("answer", user) or "", _block("reference", user), criteria,
        repair, messages[-2]["content"] if repair else None,
    )


def read_pairwise(payload: Mapping[str, Any]) -> PairAsk | None:
    """The pairwise request in `payload`, or None when it is not one."""
    messages = _messages(payload)
    user = next((m["content"] for m in messages if m["role"] == "user" and "<answer_a>\n" in m["content"]), None)
    if user is None:
        return None
    a, b = _block("answer_a", user), _block("answer_b", user)
    if a is None or b is None:
        return None
    five_way = any("[[A>>B]]" in m["content"] for m in messages if m["role"] != "assistant")
    return PairAsk(_block("question", user), a, b, _block("reference", user), five_way, _is_repair(messages))


# -- rubric judges --------------------------------------------------------------------------------

Rule = Callable[[RubricAsk, Scale], int]
"""The score a scripted rubric judge gives one criterion."""


def number_in_answer(ask: RubricAsk, c: Scale) -> int:
    """The first integer written in the answer ("4 apples" scores 4), whatever the scale; the
    scale's low end when the answer has none."""
    m = re.search(r"-?\d+", ask.answer)
    return int(m.group()) if m else c.low


def by_length(words_per_point: int = 5) -> Rule:
    """low + (words in the answer) // words_per_point, capped at the scale's high end: with the
    default, 0-4 words score 1, 5-9 words 2, ... on 1-5."""

    def rule(ask: RubricAsk, c: Scale) -> int:
        return min(c.high, c.low + len(ask.answer.split()) // words_per_point)

    return rule


def rubric_text(scores: Mapping[str, int | str], justification: str = "scripted") -> str:
    """The answer in the schema of `answer_schema`: {criterion: {justification, score}}."""
    return json.dumps({k: {"justification": justification, "score": v} for k, v in scores.items()})


SPREAD = {0: 0.6, 1: 0.3, -1: 0.1}
"""Log-probabilities for `rubric_judge`: the chosen score digit 0.6, the one above 0.3, the one
below 0.1. When both neighbours are digits on the scale, the probability-weighted (G-Eval)
score is 0.6 s + 0.3 (s+1) + 0.1 (s-1) = s + 0.2 (4 -> 4.2; 1-5: scores 2-4, 1-10: 3-8). At the
ends the off-scale neighbour is left out and the rest renormalised: 1 -> (0.6 + 0.3 x 2) / 0.9
= 1.333; 5 on 1-5 -> (0.6 x 5 + 0.1 x 4) / 0.7 = 4.857; 9 on 1-10 -> (5.4 + 0.8) / 0.7 = 8.857
("10" is no single digit); 10 is written "10", no alternatives: 10. On 1-10 avoid 2: its
alternative "1" may be 1 or the start of 10, and the G-Eval score is then None."""


def _score_tokens(text: str, spread: Mapping[int, float]) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """`text` as OpenAI tokens where each score's digit is its own token whose top alternatives
    are the digits `spread` names (offset from the score -> probability; alternatives that are
    not single digits 0-9 are left out); every other stretch of text is one sure token."""
    out: list[tuple[str, float, list[tuple[str, float]]]] = []
    pos = 0
    for m in re.finditer(r'"score": (\d)(?=[,}])', text):
        start = m.start(1)
        if start > pos:
            out.append((text[pos:start], 0.0, [(text[pos:start], 0.0)]))
        s = int(m.group(1))
        top = sorted(((str(s + d), math.log(p)) for d, p in spread.items() if 0 <= s + d <= 9), key=lambda t: -t[1])
        out.append((str(s), math.log(spread[0]), top))
        pos = start + 1
    if pos < len(text):
        out.append((text[pos:], 0.0, [(text[pos:], 0.0)]))
    return out


def rubric_judge(rule: Rule = number_in_answer, *, logprobs: Mapping[int, float] | None = None) -> Responder:
    """Grades every criterion by `rule`, in valid JSON (scores off the scale are sent as they
    are). `logprobs` (e.g. `SPREAD`): token log-probabilities when the request asks for them,
    each single-digit score its own token with those alternatives. Not a rubric request: 400."""

    def respond(payload: dict[str, Any]) -> Step:
        ask = read_rubric(payload)
        if ask is None:
            return _not_for_me("rubric")
        text = rubric_text({c.name: rule(ask, c) for c in ask.criteria})
        return Step(text=text, logprobs=_score_tokens(text, logprobs) if logprobs is not None else None)

    return respond


INVALID = 'Here is my grade: {"accuracy": {"justification": "fine", "score": 4'
"""A reply whose JSON object is never closed (as a judge cut off by max_tokens)."""

NO_JSON = "The answer is good; I would give it a high score."
"""A reply with no JSON object at all."""


def invalid_then_valid(inner: Responder | None = None) -> Responder:
    """Replies `INVALID` on the first try; the repair retry is answered by `inner` (default
    `rubric_judge()`), so every grading costs exactly two requests and is scored."""
    good = inner or rubric_judge()

    def respond(payload: dict[str, Any]) -> Step:
        ask = read_rubric(payload)
        if ask is None:
            return _not_for_me("rubric")
        return good(payload) if ask.repair else Step(text=INVALID)

    return respond


def always_invalid() -> Responder:
    """Replies `NO_JSON` to every try, the repair included: two requests per grading, unscored
    ("no JSON object in the answer")."""
    return lambda payload: Step(text=NO_JSON)


def out_of_scale(score: int = 7, *, fixed_on_repair: bool = False) -> Responder:
    """Valid JSON scoring every criterion `score` (off a 1-5 scale by default): unscored after
    the repair retry, unless `fixed_on_repair`, when the retry is answered by `rubric_judge()`."""
    good = rubric_judge()

    def respond(payload: dict[str, Any]) -> Step:
        ask = read_rubric(payload)
        if ask is None:
            return _not_for_me("rubric")
        if ask.repair and fixed_on_repair:
            return good(payload)
        return Step(text=rubric_text({c.name: score for c in ask.criteria}))

    return respond


# -- pairwise judges ------------------------------------------------------------------------------

Pick = Callable[[PairAsk], str]
"""Which position wins: "A", "B" or "=" (a tie)."""


def verdict_text(winner: str, *, five_way: bool = False, strong: bool = False) -> str:
    """A short reasoning and the final verdict tag: [[A>B]], [[A=B]], [[B>A]] ([[A>>B]],
    [[B>>A]] when `strong` on the 5-way scale)."""
    if winner == "=":
        return "Both answers are equally good.\n\n[[A=B]]"
    loser = "B" if winner == "A" else "A"
    sign = ">>" if strong and five_way else ">"
    return f"Answer {winner} is better.\n\n[[{winner}{sign}{loser}]]"


def pairwise_judge(pick: Pick, *, strong: bool = False) -> Responder:
    """Answers every pairwise request with the verdict `pick` gives; `strong`: the strong forms
    when the prompt offers the 5-way scale. Not a pairwise request: 400."""

    def respond(payload: dict[str, Any]) -> Step:
        ask = read_pairwise(payload)
        if ask is None:
            return _not_for_me("pairwise")
        return Step(text=verdict_text(pick(ask), five_way=ask.five_way, strong=strong))

    return respond


def first_position(*, strong: bool = False) -> Responder:
    """Always prefers the answer shown first ([[A>B]]): every pair's two orders disagree
    (position consistency 0, first-position win rate 1)."""
    return pairwise_judge(lambda ask: "A", strong=strong)


def longer_answer() -> Responder:
    """Prefers the answer with more characters; equal lengths tie. Position-consistent."""
    return pairwise_judge(lambda ask: "A" if len(ask.a) > len(ask.b) else "B" if len(ask.b) > len(ask.a) else "=")


def prefers_marked(mark: str = "GOOD") -> Responder:
    """Prefers the answer containing `mark`, in either order (position-consistent); both or
    neither marked: a tie."""

    def pick(ask: PairAsk) -> str:
        a, b = mark in ask.a, mark in ask.b
        return "A" if a and not b else "B" if b and not a else "="

    return pairwise_judge(pick)


def flips_under_swap(questions: Collection[str], otherwise: Responder | None = None) -> Responder:
    """For the `questions` named (the text of their <question> block), prefers the first
    position -- so its verdict flips when the answers are swapped; every other request is
    answered by `otherwise` (default `prefers_marked()`, position-consistent)."""
    rest = otherwise or prefers_marked()
    names = set(questions)

    def respond(payload: dict[str, Any]) -> Step:
        ask = read_pairwise(payload)
        if ask is None:
            return _not_for_me("pairwise")
        if ask.question in names:
            return Step(text=verdict_text("A"))
        return rest(payload)

    return respond


NO_VERDICT = "Both answers have merits and flaws; it is hard to say."
"""A pairwise reply with no [[...]] verdict."""


def pairwise_invalid_then_valid(inner: Responder | None = None) -> Responder:
    """Replies `NO_VERDICT` on the first try; the repair retry is answered by `inner` (default
    `prefers_marked()`): two requests per order, each with a verdict."""
    good = inner or prefers_marked()

    def respond(payload: dict[str, Any]) -> Step:
        ask = read_pairwise(payload)
        if ask is None:
            return _not_for_me("pairwise")
        return good(payload) if ask.repair else Step(text=NO_VERDICT)

    return respond


# -- either kind ----------------------------------------------------------------------------------


def route(*, rubric: Responder | None = None, pairwise: Responder | None = None) -> Responder:
    """One judge for both modes: pairwise requests (an <answer_a> block) to `pairwise`
    (default `prefers_marked()`), the rest to `rubric` (default `rubric_judge()`)."""
    pair = pairwise or prefers_marked()
    grade = rubric or rubric_judge()
    return lambda payload: pair(payload) if read_pairwise(payload) is not None else grade(payload)


def _key(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload.get("messages"), sort_keys=True)


def rate_limited(inner: Responder, times: int = 2) -> Responder:
    """Each distinct request (by its messages) is answered 429 (retry after 10 ms) `times` times,
    then by `inner`: with the client's retries >= `times` every call succeeds, and the server
    sees (times + 1) requests per distinct call."""
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def respond(payload: dict[str, Any]) -> Step:
        key = _key(payload)
        with lock:
            n = seen[key] = seen.get(key, 0) + 1
        if n <= times:
            return Step(429, {"Retry-After": "0", "retry-after-ms": "10"})  # the client waits 10 ms, not its backoff
        return inner(payload)

    return respond


def failing(status: int = 500) -> Responder:
    """Every request answered `status` (retry after 10 ms, so the client's retries are quick):
    with a 5xx each call costs 1 + retries requests and fails; the run's fail-fast rule stops it."""
    return lambda payload: Step(status, {"retry-after-ms": "10"})


def hanging(inner: Responder, when: Callable[[dict[str, Any]], bool], seconds: float = 3.0) -> Responder:
    """Requests for which `when(payload)` holds answer only after `seconds` (set the client's
    timeout below it: each try times out, the call fails after its retries); the rest `inner`."""

    def respond(payload: dict[str, Any]) -> Step:
        return Step(delay=seconds) if when(payload) else inner(payload)

    return respond


def mentions(text: str) -> Callable[[dict[str, Any]], bool]:
    """For `hanging`: the request's user messages contain `text` (e.g. a sample's question)."""
    return lambda payload: any(m["role"] == "user" and text in m["content"] for m in _messages(payload))


def _not_for_me(kind: str) -> Step:
    msg = {"error": {"message": f"scripted {kind} judge: not a {kind} prompt", "type": "test"}}
    return Step(400, body=json.dumps(msg).encode())
