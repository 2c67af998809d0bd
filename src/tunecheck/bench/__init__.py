"""Benchmarks: lm-evaluation-harness tasks run through tunecheck's models (`_lm`, `_run`) or imported,
compared per question with the baseline (`_samples`, `_compare`)."""
