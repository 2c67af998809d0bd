"""Generation: predictions files from any backend, resumable, for the task metrics to score."""

from tunecheck.data import REFERENCE_FIELDS, Prediction, PredictionWriter, read_predictions
from tunecheck.generation._run import (
    GenerateConfig,
    GenerateSummary,
    build_request,
    generate_predictions,
    open_generator,
    reference_fields,
)

__all__ = [
    "REFERENCE_FIELDS",
    "GenerateConfig",
    "GenerateSummary",
    "Prediction",
    "PredictionWriter",
    "build_request",
    "generate_predictions",
    "open_generator",
    "read_predictions",
    "reference_fields",
]
