"""Data: load eval/train sets from files or the hub, with field mapping and content hashes."""

from tunecheck.data._fields import FieldMap
from tunecheck.data._load import content_hash, load_data, load_rows
from tunecheck.data._predictions import (
    REFERENCE_FIELDS,
    Prediction,
    PredictionWriter,
    read_predictions,
)
from tunecheck.data._sample import Dataset, Message, Sample, align_ids, check_limit

__all__ = [
    "REFERENCE_FIELDS",
    "Dataset",
    "FieldMap",
    "Message",
    "Prediction",
    "PredictionWriter",
    "Sample",
    "align_ids",
    "check_limit",
    "content_hash",
    "load_data",
    "load_rows",
    "read_predictions",
]
