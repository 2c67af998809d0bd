"""The built-in rubrics: the two that fine-tune evaluations use most, and a reference-guided one.

Each criterion's description says what it asks and anchors the low, middle and high scores;
the instructions name the biases judges are known to have (length, confidence, style) so the
judge is told not to reward them (Zheng et al. 2023, "Judging LLM-as-a-Judge"). Each ships three
rewordings (`_builtin_variants.py`) for `--rubric-variants`.
"""

from __future__ import annotations

from tunecheck.judge._builtin_variants import (
    QUALITY_5_VARIANTS,
    QUALITY_10_VARIANTS,
    REFERENCE_CORRECTNESS_VARIANTS,
)
from tunecheck.judge._rubric import OVERALL, Criterion, Rubric

_INDEPENDENT = (
    "Score each criterion on its own: a flaw in one criterion must not lower the score of "
    "another. Do not reward length: a short answer that fully does what was asked deserves "
    "the top score, and padding, repetition or unrequested detail is no merit. Do not let a "
    "confident or polished tone stand in for correctness, and do not prefer an answer because "
    "its style resembles your own."
)

QUALITY_5 = Rubric(
    name="quality-5",
    criteria=(
        Criterion(
            "accuracy",
            "Is what the answer states true, and is its reasoning sound? "
            "5: every claim and step is correct. "
            "3: mostly correct, but with an error or an unsupported claim that does not change the main point. "
            "1: the main content is wrong, made up, or contradicts itself.",
            1, 5,
        ),
        Criterion(
            "relevance",
            "Does the answer do what the user asked: all parts of the request and its constraints, and nothing off-topic? "
            "5: addresses exactly the request, every part of it. "
            "3: addresses the main request but misses a part, or spends much of its length on what was not asked. "
            "1: does not answer the request (off-topic, answers a different question, or refuses a reasonable request).",
            1, 5,
        ),
        Criterion(
            "fluency",
            "Is the language clear, grammatical and natural, in the language of the request? "
            "5: reads as if written by a careful native writer. "
            "3: understandable, but with awkward phrasing, grammar errors or repetition. "
            "1: hard to read: broken or garbled sentences, heavy repetition, or the wrong language.",
            1, 5,
        ),
        Criterion(
            "format",
            "Does the form fit the request: structure, length and any format the user asked for (a list, JSON, code, a word limit)? "
            "5: follows every explicit format instruction, and the layout helps the reader. "
            "3: a minor deviation (slightly over a length limit, an inconsistent list, a missing code block). "
            "1: ignores an explicit format instruction, or the layout makes the answer hard to use "
            "(broken code or JSON, a wall of text where a list was asked, cut off mid-sentence).",
            1, 5,
        ),
    ),
    overall=None,
    reference_guided=False,
    instructions="You grade one answer written by an AI assistant to a user's request, on four criteria from 1 (worst) to 5 (best). " + _INDEPENDENT,
    variants=QUALITY_5_VARIANTS,
)

QUALITY_10 = Rubric(
    name="quality-10",
    criteria=(
        Criterion(
            "accuracy",
            "Are the facts, figures, code and reasoning in the answer correct? "
            "9-10: no errors. 7-8: one minor slip that does not mislead. "
            "5-6: an error a reader would notice, while the main point stands. "
            "3-4: several errors, or one that undermines the main point. "
            "1-2: mostly wrong or made up.",
            1, 10,
        ),
        Criterion(
            "completeness",
            "Does the answer cover everything the request needs, at the depth it needs? "
            "9-10: every part of the request answered, with the detail a knowledgeable person would give. "
            "7-8: all parts answered, one thinly. "
            "5-6: a part of the request missing, or the main part answered superficially. "
            "3-4: only a small part of the request answered. "
            "1-2: essentially nothing the request needs.",
            1, 10,
        ),
        Criterion(
            "format",
            "Does the structure and presentation fit the request and follow any format it asked for (list, table, JSON, code, length)? "
            "9-10: every explicit instruction followed, the layout makes it easy to use. "
            "7-8: followed, with a small inconsistency. "
            "5-6: one instruction partly ignored, or a layout that makes it harder to use. "
            "3-4: an explicit format instruction ignored. "
            "1-2: unusable as delivered (broken code or JSON, cut off, garbled).",
            1, 10,
        ),
        Criterion(
            "clarity",
            "Is the answer easy to understand: well organised, precise, and free of padding and repetition? "
            "9-10: clear on first reading, every sentence earns its place. "
            "7-8: clear, with some wordiness or a vague passage. "
            "5-6: understandable with effort (disorganised, repetitive or ambiguous in places). "
            "3-4: confusing; the reader must guess what is meant. "
            "1-2: incomprehensible.",
            1, 10,
        ),
    ),
    overall=Criterion(
        OVERALL,
        "How good is the answer as a whole, for the user who asked? Weigh accuracy most: a "
        "well-written answer that is wrong is a poor answer. "
        "9-10: excellent, nothing important to improve. 7-8: good, minor issues. "
        "5-6: acceptable but with a clear weakness. 3-4: poor, of little use. "
        "1-2: useless or harmful.",
        1, 10,
    ),
    reference_guided=False,
    instructions=(
        "You grade one answer written by an AI assistant to a user's request, on four criteria "
        "from 1 (worst) to 10 (best), then give an overall score from 1 to 10. " + _INDEPENDENT
    ),
    variants=QUALITY_10_VARIANTS,
)

REFERENCE_CORRECTNESS = Rubric(
    name="reference-correctness",
    criteria=(
        Criterion(
            "correctness",
            "Does the answer reach the same result as the reference answer? "
            "5: the same final answer as the reference, and nothing incorrect in what supports it. "
            "4: the same final answer, with a minor inaccuracy or omission in the supporting detail. "
            "3: partly correct: some of the reference's key points are right, others missing or wrong. "
            "2: mostly wrong, with only a minor element matching the reference. "
            "1: wrong, contradicts the reference, or gives no answer.",
            1, 5,
        ),
    ),
    overall=None,
    reference_guided=True,
    instructions=(
        "You check one answer written by an AI assistant against a reference answer that is known "
        "to be correct. Judge substance, not wording: a paraphrase, an equivalent form (3/4 and "
        "0.75, a differently worded name) or extra detail that is itself correct is no fault. An "
        "answer that hedges between several final answers, or gives the right one and then a "
        "different one, is not correct. Do not use your own knowledge to overrule the reference. "
        "Do not reward length, confidence or style."
    ),
    variants=REFERENCE_CORRECTNESS_VARIANTS,
)

BUILTIN_RUBRICS: dict[str, Rubric] = {r.name: r for r in (QUALITY_5, QUALITY_10, REFERENCE_CORRECTNESS)}
"""The built-in rubrics by name, as `--rubric NAME` takes them."""
