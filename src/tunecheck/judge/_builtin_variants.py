"""Three rewordings of each built-in rubric, for the rubric-sensitivity check (`--rubric-variants`).

Each rewording says the same thing as the original in other words and, in some criteria, in the
other order (the anchors from the lowest score up instead of from the highest down): a judge
whose scores move between them is reacting to wording, not to the answer. Criterion names,
scales and the anchors' meaning are the originals' (`_builtin.py`); only the words change.
"""

from __future__ import annotations

from tunecheck.judge._rubric import OVERALL, RubricVariant

# the originals' warning against the known judge biases (`_builtin._INDEPENDENT`), reworded
_INDEPENDENT_2 = (
    "Treat the criteria separately: a weakness under one criterion must not pull down another "
    "criterion's score. Length earns nothing: a brief answer that completely does what was asked "
    "deserves the highest score, while padding, repetition or detail nobody asked for is not a "
    "merit. A confident or polished tone is no substitute for correctness, and an answer written "
    "in a style like your own gets no credit for that."
)
_INDEPENDENT_3 = (
    "Keep the criteria independent of each other: a problem that belongs to one criterion lowers "
    "only that criterion. Never reward an answer for being long: if a short answer fully meets the "
    "request it gets the top score, and filler, repeated content or unrequested extras are not "
    "strengths. Polish and confidence are not evidence of correctness, and resemblance to your own "
    "writing style is no reason to prefer an answer."
)
_INDEPENDENT_4 = (
    "Each criterion gets its own judgement, unaffected by the others. Do not be swayed by length: "
    "a concise answer that completely satisfies the request merits the best score, and padding, "
    "repetition or detail beyond the request counts for nothing. Do not mistake a confident, "
    "polished delivery for a correct one, and do not favour an answer whose style is similar to yours."
)

QUALITY_5_VARIANTS = (
    RubricVariant(
        "Below are a user's request and one answer an AI assistant wrote to it. Rate the answer on "
        "four criteria, each from 1 (worst) to 5 (best). " + _INDEPENDENT_2,
        (
            ("accuracy", "Are the answer's statements true and its reasoning valid? "
             "5: all claims and steps are correct. "
             "3: largely correct, with one error or unsupported claim that leaves the main point intact. "
             "1: the core content is false, invented, or self-contradictory."),
            ("relevance", "Does the answer respond to what was actually asked (every part of the request and its constraints) without wandering off-topic? "
             "5: responds to precisely the request, all of it. "
             "3: handles the main request but leaves out a part, or devotes much of its length to things not asked. "
             "1: fails to answer the request (off-topic, answers another question, or refuses a reasonable request)."),
            ("fluency", "Is the writing clear, grammatically correct and natural, and in the same language as the request? "
             "5: reads like the work of a careful native writer. "
             "3: can be understood, but has awkward wording, grammatical mistakes or repetition. "
             "1: difficult to read: broken or garbled sentences, much repetition, or the wrong language."),
            ("format", "Does the answer's form suit the request: its structure, its length, and any format the user specified (a list, JSON, code, a word limit)? "
             "5: every explicit format instruction is followed and the layout helps the reader. "
             "3: a small deviation (a little over a length limit, an inconsistent list, a missing code block). "
             "1: an explicit format instruction is ignored, or the layout makes the answer hard to use "
             "(broken code or JSON, a block of text where a list was requested, cut off mid-sentence)."),
        ),
    ),
    RubricVariant(
        "Your task: assess a single AI assistant's answer to a user's request. Give it a score from "
        "1 (worst) to 5 (best) on each of the four criteria. " + _INDEPENDENT_3,
        (
            ("accuracy", "Check the truth of what the answer says and the soundness of how it reasons. "
             "1: the main content is incorrect, fabricated, or inconsistent with itself. "
             "3: mostly right, though an error or unsupported claim appears that does not affect the main point. "
             "5: each claim and each step is correct."),
            ("relevance", "How well does the answer stick to the user's request, covering all its parts and constraints and nothing beside them? "
             "1: the request goes unanswered: the answer is off-topic, addresses a different question, or refuses a reasonable request. "
             "3: the main request is handled, but a part is missed or much of the answer is about what was not asked. "
             "5: exactly the request is addressed, every part of it."),
            ("fluency", "Rate the language itself: clarity, grammar, naturalness, and use of the request's language. "
             "1: hard to read, with broken or garbled sentences, heavy repetition, or a language other than the request's. "
             "3: comprehensible, though with clumsy phrasing, grammar errors or repetition. "
             "5: reads as if a careful native writer wrote it."),
            ("format", "Assess the form: structure, length, and any format the request called for (list, JSON, code, word limit). "
             "1: an explicit format instruction is disregarded, or the layout makes the answer hard to use "
             "(broken code or JSON, a wall of text instead of the requested list, cut off mid-sentence). "
             "3: a minor departure (slightly too long, a list formatted inconsistently, no code block where one belonged). "
             "5: all explicit format instructions are met and the layout aids the reader."),
        ),
    ),
    RubricVariant(
        "An AI assistant has answered a user's request. Evaluate that one answer on four criteria, "
        "scoring each on a scale where 1 is worst and 5 is best. " + _INDEPENDENT_4,
        (
            ("accuracy", "How correct is the answer, in its claims and in its reasoning? "
             "5: nothing stated or inferred is wrong. "
             "3: generally correct, but one mistake or unbacked claim that does not alter the main point. "
             "1: the substance is wrong, made up, or contradicts itself."),
            ("relevance", "Judge whether the answer does what the user requested, all parts and constraints included, with nothing off-topic. "
             "5: every part of the request, and only the request, is addressed. "
             "3: the central request is addressed, yet a part is missing or a large share of the answer concerns unasked matters. "
             "1: the request is not answered (off-topic, a different question answered, or a reasonable request refused)."),
            ("fluency", "How well written is the answer: clear, grammatical, natural, and in the language the user wrote in? "
             "5: the prose of a careful native writer. "
             "3: understandable despite awkward phrasing, grammatical errors or repetition. "
             "1: a struggle to read: garbled or broken sentences, much repetition, or the wrong language."),
            ("format", "Is the presentation right for the request: structure, length and any requested format such as a list, JSON, code or a word limit? "
             "5: complies with all explicit format instructions, with a layout that helps the reader. "
             "3: one minor deviation (just over a length limit, an uneven list, a missing code block). "
             "1: disregards an explicit format instruction, or is laid out so that it is hard to use "
             "(broken code or JSON, a wall of text instead of a list, stops mid-sentence)."),
        ),
    ),
)  # fmt: skip

QUALITY_10_VARIANTS = (
    RubricVariant(
        "Below are a user's request and one answer an AI assistant wrote to it. Rate the answer on "
        "four criteria, each from 1 (worst) to 10 (best), and then give it an overall score from 1 "
        "to 10. " + _INDEPENDENT_2,
        (
            ("accuracy", "Is the answer correct in its facts, numbers, code and reasoning? "
             "9-10: free of errors. 7-8: a single minor slip that would not mislead. "
             "5-6: a noticeable error, though the main point holds. "
             "3-4: several errors, or one that undermines the main point. "
             "1-2: largely wrong or invented."),
            ("completeness", "Does the answer cover all that the request calls for, in the depth it calls for? "
             "9-10: all parts of the request answered, with the detail an expert would provide. "
             "7-8: every part answered, but one only thinly. "
             "5-6: a part of the request left out, or the main part treated superficially. "
             "3-4: just a small part of the request answered. "
             "1-2: practically nothing the request needs."),
            ("format", "Do the structure and presentation suit the request and follow any format it specified (list, table, JSON, code, length)? "
             "9-10: all explicit instructions followed, with a layout that makes it easy to use. "
             "7-8: instructions followed, with a small inconsistency. "
             "5-6: an instruction partly ignored, or a layout that makes it harder to use. "
             "3-4: an explicit format instruction ignored. "
             "1-2: unusable as given (broken code or JSON, cut off, garbled)."),
            ("clarity", "Is the answer easy to follow: well organised, precise, and without padding or repetition? "
             "9-10: clear at first reading, with no sentence wasted. "
             "7-8: clear, though somewhat wordy or vague in one passage. "
             "5-6: understandable with effort (disorganised, repetitive or ambiguous in places). "
             "3-4: confusing; the reader has to guess the meaning. "
             "1-2: impossible to understand."),
            (OVERALL, "Taken as a whole, how good is the answer for the user who asked? Give accuracy the "
             "most weight: a well-written but wrong answer is a poor answer. "
             "9-10: excellent, nothing important left to improve. 7-8: good, with minor issues. "
             "5-6: acceptable, with a clear weakness. 3-4: poor, of little use. "
             "1-2: useless or harmful."),
        ),
    ),
    RubricVariant(
        "Your task: assess a single AI assistant's answer to a user's request. Score it from 1 "
        "(worst) to 10 (best) on each of four criteria, then score it overall, also from 1 to 10. "
        + _INDEPENDENT_3,
        (
            ("accuracy", "Check the correctness of everything the answer contains: facts, figures, code, reasoning. "
             "1-2: mostly incorrect or fabricated. "
             "3-4: multiple errors, or a single one that undermines the main point. "
             "5-6: an error a reader would spot, but the main point survives. "
             "7-8: one small slip that does not mislead. "
             "9-10: no errors at all."),
            ("completeness", "How fully does the answer meet the request, in both coverage and depth? "
             "1-2: almost nothing the request needs is there. "
             "3-4: only a small portion of the request is answered. "
             "5-6: some part of the request is missing, or its main part gets a superficial answer. "
             "7-8: every part is answered, one of them thinly. "
             "9-10: each part is answered with the detail a knowledgeable person would give."),
            ("format", "Judge structure and presentation against the request, including any format it required (list, table, JSON, code, length). "
             "1-2: cannot be used as delivered (broken code or JSON, cut off, or garbled). "
             "3-4: an explicit format instruction is not followed. "
             "5-6: one instruction is only partly followed, or the layout gets in the way. "
             "7-8: the instructions are followed, with one small inconsistency. "
             "9-10: all explicit instructions are followed and the layout makes the answer easy to use."),
            ("clarity", "How easily can a reader understand the answer? Consider organisation, precision, and the absence of padding and repetition. "
             "1-2: cannot be understood. "
             "3-4: confusing, leaving the reader to guess what is meant. "
             "5-6: understandable only with effort, being disorganised, repetitive or ambiguous in places. "
             "7-8: clear, with a little wordiness or one vague passage. "
             "9-10: clear on a first read, and every sentence is needed."),
            (OVERALL, "Rate the answer overall, from the point of view of the user who asked, counting "
             "accuracy above everything else (an answer that is wrong is poor however well it is written). "
             "1-2: useless or harmful. 3-4: poor and of little use. "
             "5-6: acceptable, but clearly weak in some respect. 7-8: good, with minor issues. "
             "9-10: excellent; nothing important could be improved."),
        ),
    ),
    RubricVariant(
        "An AI assistant has answered a user's request. Evaluate that one answer on four criteria, "
        "each on a scale where 1 is worst and 10 is best, and finish with an overall score on the "
        "same 1 to 10 scale. " + _INDEPENDENT_4,
        (
            ("accuracy", "How accurate are the answer's facts, figures, code and reasoning? "
             "9-10: nothing is wrong. 7-8: one minor slip that does not mislead. "
             "5-6: one error a reader would notice, with the main point still standing. "
             "3-4: several errors, or one that defeats the main point. "
             "1-2: mostly wrong or made up."),
            ("completeness", "Is everything the request needs present, at the needed depth? "
             "9-10: the whole request is answered, in the detail a knowledgeable person would offer. "
             "7-8: the whole request is answered, one part of it thinly. "
             "5-6: one part of the request is missing, or the main part gets only a superficial answer. "
             "3-4: little of the request is answered. "
             "1-2: essentially none of what the request needs."),
            ("format", "How well do the answer's structure and presentation match the request and any format it asked for, such as a list, table, JSON, code or a length? "
             "9-10: follows every explicit instruction, and its layout makes it easy to use. "
             "7-8: follows them, with a minor inconsistency. "
             "5-6: partly ignores one instruction, or is laid out so as to be harder to use. "
             "3-4: ignores an explicit format instruction. "
             "1-2: unusable in the form delivered (broken code or JSON, truncated, garbled)."),
            ("clarity", "Is the answer clear: logically organised, precise, with no filler or repetition? "
             "9-10: immediately clear; each sentence earns its place. "
             "7-8: clear, apart from some wordiness or a vague passage. "
             "5-6: takes effort to understand (disorganised, repetitive or ambiguous in places). "
             "3-4: confusing: what is meant has to be guessed. "
             "1-2: incomprehensible."),
            (OVERALL, "Overall, how good is this answer for the person who asked? Accuracy weighs most: "
             "polished writing does not rescue a wrong answer. "
             "9-10: excellent, with nothing important to fix. 7-8: good, minor problems only. "
             "5-6: acceptable, though with an evident weakness. 3-4: poor, of little use. "
             "1-2: useless or harmful."),
        ),
    ),
)  # fmt: skip

REFERENCE_CORRECTNESS_VARIANTS = (
    RubricVariant(
        "Compare one answer written by an AI assistant with a reference answer known to be correct. "
        "What counts is substance, not wording: paraphrases, equivalent forms (0.75 for 3/4, a name "
        "worded differently) and additional detail that is itself correct are not faults. An answer "
        "that hedges between several final answers, or states the right one and then a different "
        "one, is not correct. The reference stands: do not overrule it with your own knowledge. "
        "Length, confidence and style earn nothing.",
        (
            ("correctness", "Does the answer arrive at the same result as the reference? "
             "5: the reference's final answer, with nothing incorrect in its support. "
             "4: the reference's final answer, with a small inaccuracy or omission in the supporting detail. "
             "3: partly correct: some of the reference's key points right, others missing or wrong. "
             "2: mostly wrong; only a minor element matches the reference. "
             "1: wrong, in contradiction with the reference, or no answer at all."),
        ),
    ),
    RubricVariant(
        "You are given a reference answer, known to be correct, and one answer from an AI assistant; "
        "decide how well the assistant's answer agrees with the reference. Do not overrule the "
        "reference with your own knowledge. Look at the substance rather than the wording, so a "
        "paraphrase, an equivalent form (3/4 versus 0.75, a name put differently) or correct extra "
        "detail is not held against the answer. Hedging between several final answers, or giving "
        "the correct one followed by a different one, makes an answer incorrect. Do not reward "
        "length, confidence or style.",
        (
            ("correctness", "How closely does the answer's result match the reference answer? "
             "1: incorrect, contradicting the reference, or no answer given. "
             "2: largely incorrect, matching the reference only in a minor element. "
             "3: partly correct, with some of the reference's key points right and others missing or wrong. "
             "4: the final answer matches the reference, but the supporting detail has a minor inaccuracy or omission. "
             "5: the final answer matches the reference and everything supporting it is correct."),
        ),
    ),
    RubricVariant(
        "Your job is to verify one AI assistant's answer against a reference answer that is correct. "
        "Grade meaning, not phrasing: an equivalent form (3/4 or 0.75, a differently worded name), a "
        "paraphrase, or correct additional detail is no fault. If the answer hedges between final "
        "answers, or gives the right answer and then another one, it is not correct. Treat the "
        "reference as authoritative over your own knowledge, and give no credit for length, a "
        "confident tone or style.",
        (
            ("correctness", "Is the answer's result the reference answer's result? "
             "5: the same final answer, supported by nothing incorrect. "
             "4: the same final answer, but a minor inaccuracy or gap in the supporting detail. "
             "3: partially correct: some key points of the reference are right, the others missing or wrong. "
             "2: mostly incorrect, only a minor element in line with the reference. "
             "1: wrong, contradicting the reference, or no answer."),
        ),
    ),
)  # fmt: skip
