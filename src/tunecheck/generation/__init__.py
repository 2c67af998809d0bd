"""Generation: predictions files from any backend, resumable, for the task metrics to score."""

from tunecheck.generation._run import GenerateConfig, GenerateSummary, generate_predictions

__all__ = ["GenerateConfig", "GenerateSummary", "generate_predictions"]
