"""The G-Eval score: the judge's probability-weighted mean over the scale instead of the one
score it sampled (Liu et al. 2023, "G-Eval: NLG Evaluation using GPT-4 with Better Human
Alignment", eq. 1: score = sum_i p(s_i) * s_i). Where the judge wrote a criterion's score, its
top alternatives say how likely each other scale value was; their mean, renormalised over the
scale values among them, is less noisy than the sampled integer and separates answers the
integer ties.

How a value is read from the alternatives at the score's token (what the tests pin down):
- An alternative is a scale value when its text, less what the chosen token had before the
  digits (" ", '"', ": "), whitespace and quotes, is an integer in [low, high] written as the
  scale writes it ("4", not "04"). Other alternatives (a quote, a word, a value off the scale)
  are left out, and `mass` says how much probability the scale values had between them.
- A value written in several tokens ("10" as "1", "0": Llama-2, Mistral, Qwen, SmolLM2 split
  digits) is followed token by token: P(10) = P("1") * P("0" | "1") and P(1) = P("1") *
  P(the number ends | "1"), the second position's alternatives giving both. A chosen "1" that
  might have been the start of "10" is followed the same way into the next token.
- An alternative that might be a value or the first digits of a longer one ("1" on a 1-10
  scale where the judge chose "7") cannot be split: its continuation was never computed. Unless
  the longer value is itself an alternative at that position (then the tokenizer writes it as
  one token, and "1" is 1), the mean is computed with "1" read both ways; if the two means
  differ by more than `AMBIGUITY` the value is None with the reason, never a guessed number.
- Negative scales, decimal scores ("4.5") and answers whose score cannot be found give None
  with the reason; so does a judge that returned no log-probabilities.
Pure: the answer text, the backend's plain log-probabilities and the rubric in, scores out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunecheck.judge._locate import ScoreSpan, score_spans
from tunecheck.judge._rubric import Criterion, Rubric

NO_LOGPROBS = "the judge returned no log-probabilities"
AMBIGUITY = 0.01
"""Largest difference between the two readings of an ambiguous alternative that still gives a
value (their midpoint): below the precision anyone reports a 1-10 mean at."""

_QUOTES_WS = " \t\r\n\"'`"
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class WeightedScore:
    """One criterion's probability-weighted score."""

    value: float | None
    """sum(p_v * v) / sum(p_v) over the scale values v among the top alternatives; None when it
    cannot be computed (then `reason` says why)."""
    mass: float
    """sum(p_v): the probability the judge gave the scale's values there (1.0: nothing else was
    likely; low: the top alternatives were mostly not scores, so the mean rests on little)."""
    reason: str | None = None
    """Why `value` is None, else None."""


def weighted_scores(text: str, logprobs: Sequence[Mapping[str, Any]] | None, rubric: Rubric) -> dict[str, WeightedScore]:
    """Each scored criterion's G-Eval score from a judge's answer and its token log-probabilities
    (`extras["logprobs"]` of `ChatModel.chat`: one {token, logprob, top} per generated token)."""
    if not logprobs:
        return {c.name: WeightedScore(None, 0.0, NO_LOGPROBS) for c in rubric.scored}
    tokens = [str(e.get("token", "")) for e in logprobs]
    # Offsets are in the text the tokens spell: the answer itself for the local backends; a
    # server may spell a split multi-byte character as byte escapes, which moves the offsets
    # but not what is written at a score, checked against the answer below.
    spelled = "".join(tokens)
    starts, at = [], 0
    for t in tokens:
        starts.append(at)
        at += len(t)
    spans = score_spans(spelled, rubric)
    in_text = spans if spelled == text else score_spans(text, rubric)
    out: dict[str, WeightedScore] = {}
    for c in rubric.scored:
        where, there = spans[c.name], in_text[c.name]
        if isinstance(there, str):
            out[c.name] = WeightedScore(None, 0.0, there)
        elif isinstance(where, str) or spelled[where.start : where.end] != text[there.start : there.end]:
            out[c.name] = WeightedScore(None, 0.0, "the log-probabilities' tokens do not spell the answer where it gives this score")
        elif c.low < 0:
            out[c.name] = WeightedScore(None, 0.0, f"the scale {c.scale} has negative values (no weighted score)")
        else:
            out[c.name] = _weigh(where, tokens, starts, logprobs, c)
    return out


@dataclass
class _Tally:
    values: dict[int, float]
    """scale value -> probability."""
    ambiguous: list[tuple[float, int, int, str]]
    """(probability, smallest and largest value it may be, its digits)."""


def _weigh(span: ScoreSpan, tokens: list[str], starts: list[int], logprobs: Sequence[Mapping[str, Any]], c: Criterion) -> WeightedScore:
    scale = {str(v): v for v in range(c.low, c.high + 1)}
    k = next(i for i in range(len(tokens)) if starts[i] <= span.start < starts[i] + len(tokens[i]))
    before = tokens[k][: span.start - starts[k]]  # what the chosen token has before the digits
    tally = _Tally({}, [])
    path, emitted = 1.0, ""  # probability of the chosen tokens so far within the number, their digits
    while True:
        alternatives = _alternatives(logprobs[k])
        first = emitted == ""
        reads = [(_read(t, before if first else None), math.exp(lp)) for t, lp in alternatives]
        # values that are whole alternatives here: the tokenizer writes them in one token
        whole = {emitted + d for (d, _), _ in reads if d is not None}
        chosen_digits, chosen_rest = _read(tokens[k], before if first else None)
        continues = (
            chosen_digits is not None and chosen_rest == "" and _longer(emitted + chosen_digits, scale) and k + 1 < len(tokens)
        )
        for (digits, rest), p in reads:
            if digits is None:  # not a digit: the number ended before this token
                if not first and not (rest or "").startswith(".") and emitted in scale:
                    tally.values[scale[emitted]] = tally.values.get(scale[emitted], 0.0) + path * p
                continue
            cand = emitted + digits
            if rest.startswith("."):
                continue  # a decimal: not on the integer scale
            if continues and digits == chosen_digits and rest == "":
                continue  # the chosen path: weighed at the next position
            longer = _longer(cand, scale) if rest == "" else []
            if longer and not all(str(v) in whole for v in longer):
                reading = [*([scale[cand]] if cand in scale else []), *longer]
                tally.ambiguous.append((path * p, min(reading), max(reading), cand))
            elif cand in scale:
                tally.values[scale[cand]] = tally.values.get(scale[cand], 0.0) + path * p
        if not continues:
            break
        path *= math.exp(float(logprobs[k]["logprob"]))
        emitted += chosen_digits or ""
        k += 1
    return _mean(tally, c)


def _alternatives(entry: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The position's top alternatives, with the chosen token when it is not among them (a
    sampled token can be outside the top K)."""
    top = [(str(a.get("token", "")), float(a["logprob"])) for a in entry.get("top") or []]
    chosen = str(entry.get("token", ""))
    if all(t != chosen for t, _ in top):
        top.append((chosen, float(entry["logprob"])))
    return top


def _read(token: str, before: str | None) -> tuple[str | None, str]:
    """(leading digits or None, what follows them). At the number's first token (`before` set),
    what the chosen token had before the digits, whitespace and quotes are taken off first; at a
    later token, anything but a digit ends the number."""
    if before is not None:
        if before and token.startswith(before):
            token = token[len(before) :]
        token = token.lstrip(_QUOTES_WS)
    m = _DIGITS.match(token)
    if m is None:
        return None, token
    return m.group(), token[m.end() :]


def _longer(digits: str, scale: Mapping[str, int]) -> list[int]:
    """Scale values that start with `digits` and are longer: what these digits may begin."""
    return [v for s, v in scale.items() if len(s) > len(digits) and s.startswith(digits)]


def _mean(tally: _Tally, c: Criterion) -> WeightedScore:
    known = sum(tally.values.values())
    mass = known + sum(p for p, *_ in tally.ambiguous)
    if mass <= 0:
        return WeightedScore(None, 0.0, f"no value of the {c.scale} scale among the judge's top alternatives where it wrote the score")
    total = sum(v * p for v, p in tally.values.items())
    low = (total + sum(p * lo for p, lo, _, _ in tally.ambiguous)) / mass
    high = (total + sum(p * hi for p, _, hi, _ in tally.ambiguous)) / mass
    if high - low > AMBIGUITY:
        p, lo, hi, digits = max(tally.ambiguous)
        return WeightedScore(
            None, mass,
            f"the alternative {digits!r} (p={p:.3f}) may be {lo} or begin {hi}: this judge writes numbers in "
            f"pieces and the weighted score could be {low:.2f} to {high:.2f}",
        )
    return WeightedScore((low + high) / 2, mass)
