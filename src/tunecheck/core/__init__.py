"""The core data model: what every layer produces and every reader (verdicts, demo, report,
notebooks) consumes. See `_types.py` for the per-sample and per-comparison types and
`_result.py` for the result every command writes."""

from tunecheck.core._load import load_result, load_results, parse_results
from tunecheck.core._result import SCHEMA_VERSION, DataInfo, ModelInfo, Result, ResultSet
from tunecheck.core._types import Comparison, Estimate, Record, Signal, Status, Verdict

__all__ = [
    "SCHEMA_VERSION",
    "Comparison",
    "DataInfo",
    "Estimate",
    "ModelInfo",
    "Record",
    "Result",
    "ResultSet",
    "Signal",
    "Status",
    "Verdict",
    "load_result",
    "load_results",
    "parse_results",
]
