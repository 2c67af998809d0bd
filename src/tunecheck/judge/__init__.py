"""LLM-as-judge (issue 11, in progress): rubrics and the judge's prompts (`_rubric`, `_builtin`,
`_prompts`), the robust parser of its answers (`_parse`), the on-disk cache of its calls
(`_cache`), which answers a backend's single chat request (`OpenAIModel.chat`) at most once.
Rubric grading, blind pairwise comparison and `tunecheck judge` build on these."""

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
from tunecheck.judge._parse import MISSING, NOT_INTEGER, Parsed, parse_rubric_answer
from tunecheck.judge._prompts import repair_message, rubric_messages
from tunecheck.judge._rubric import OVERALL, Criterion, Rubric, load_rubric, rubric_from_dict

__all__ = [
    "BUILTIN_RUBRICS",
    "CACHE_FORMAT",
    "MISSING",
    "NOT_INTEGER",
    "OVERALL",
    "CacheStats",
    "CachedCall",
    "CachedCalls",
    "Criterion",
    "JudgeCache",
    "JudgeUsage",
    "Parsed",
    "Rubric",
    "call_key",
    "default_cache_path",
    "load_rubric",
    "parse_rubric_answer",
    "repair_message",
    "rubric_from_dict",
    "rubric_messages",
]
