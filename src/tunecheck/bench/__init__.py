"""Benchmarks: lm-evaluation-harness tasks run through tunecheck's models (`_lm`, `_run`), compared
per question with the baseline (`_samples`, `_compare`). Importing this package loads no
lm-evaluation-harness: the modules that need it import it when called."""

from tunecheck.bench._compare import BenchReport, compare_bench
from tunecheck.bench._samples import BenchRun, TaskSamples, from_lm_eval_samples

__all__ = ["BenchReport", "BenchRun", "TaskSamples", "compare_bench", "from_lm_eval_samples"]
