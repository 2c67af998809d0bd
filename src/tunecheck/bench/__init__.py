"""Benchmarks: lm-evaluation-harness tasks run through tunecheck's models."""
