"""Benchmarks: lm-evaluation-harness tasks run or imported, compared per question with the baseline."""
