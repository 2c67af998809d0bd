"""LLM-as-judge: `tunecheck judge` as a library (`judge_predictions`).

Rubrics and the judge's prompts (`_rubric`, `_builtin`, `_prompts`, `_pairwise`), the robust
parsers of its answers (`_parse`, `_pairwise`), the on-disk cache of its calls (`_cache`) and the
bounded concurrent runner over it (`_run`), judges opened from model specs (`_judges`), the two
modes (`_grade`: rubric grading; `_versus`: blind pairwise comparison in both orders), the
judge's reliability (`_reliability`), and the run itself (`_judge`)."""

from tunecheck.judge._builtin import BUILTIN_RUBRICS
from tunecheck.judge._cache import (
    CACHE_FORMAT,
    CachedCall,
    CachedCalls,
    CacheStats,
    JudgeCache,
    JudgeUsage,
    call_key,
    default_cache_path,
)
from tunecheck.judge._calibration import (
    Calibration,
    ChoiceCalibration,
    CriterionCalibration,
    calibrate_choices,
    calibrate_scores,
)
from tunecheck.judge._geval import NO_LOGPROBS, WeightedScore, weighted_scores
from tunecheck.judge._human import (
    HumanChoice,
    HumanRatings,
    HumanScore,
    load_human,
)
from tunecheck.judge._items import Item, conversation_text, items_for
from tunecheck.judge._judge import (
    MODES,
    JudgeConfig,
    JudgeReport,
    Plan,
    judge_predictions,
    plan_judging,
)
from tunecheck.judge._judges import Judge, make_judge, open_judges, self_preference
from tunecheck.judge._judgment import Order, PairJudgment, RubricJudgment, write_judgments
from tunecheck.judge._pairwise import (
    PairwiseTemplate,
    ParsedVerdict,
    builtin_pairwise_template,
    load_pairwise_template,
    pairwise_messages,
    pairwise_repair_message,
    parse_verdict,
)
from tunecheck.judge._parse import MISSING, NOT_INTEGER, Parsed, parse_rubric_answer
from tunecheck.judge._prompts import repair_message, rubric_messages
from tunecheck.judge._rubric import (
    OVERALL,
    Criterion,
    Rubric,
    RubricVariant,
    load_rubric,
    rubric_from_dict,
    rubric_variants,
)
from tunecheck.judge._run import Meter, Price, run_parallel

__all__ = [
    "BUILTIN_RUBRICS",
    "CACHE_FORMAT",
    "MISSING",
    "MODES",
    "NOT_INTEGER",
    "NO_LOGPROBS",
    "OVERALL",
    "CacheStats",
    "CachedCall",
    "CachedCalls",
    "Calibration",
    "ChoiceCalibration",
    "Criterion",
    "CriterionCalibration",
    "HumanChoice",
    "HumanRatings",
    "HumanScore",
    "Item",
    "Judge",
    "JudgeCache",
    "JudgeConfig",
    "JudgeReport",
    "JudgeUsage",
    "Meter",
    "Order",
    "PairJudgment",
    "PairwiseTemplate",
    "Parsed",
    "ParsedVerdict",
    "Plan",
    "Price",
    "Rubric",
    "RubricJudgment",
    "RubricVariant",
    "WeightedScore",
    "builtin_pairwise_template",
    "calibrate_choices",
    "calibrate_scores",
    "call_key",
    "conversation_text",
    "default_cache_path",
    "items_for",
    "judge_predictions",
    "load_human",
    "load_pairwise_template",
    "load_rubric",
    "make_judge",
    "open_judges",
    "pairwise_messages",
    "pairwise_repair_message",
    "parse_rubric_answer",
    "parse_verdict",
    "plan_judging",
    "repair_message",
    "rubric_from_dict",
    "rubric_messages",
    "rubric_variants",
    "run_parallel",
    "self_preference",
    "weighted_scores",
    "write_judgments",
]
