"""Statistics: bootstrap confidence intervals, paired comparisons and verdicts, for every layer."""

from tunecheck.stats._bootstrap import (
    N_RESAMPLES,
    bootstrap_p_value,
    bootstrap_sums,
    percentile_ci,
    resample_counts,
    verdict,
)

__all__ = ["N_RESAMPLES", "bootstrap_p_value", "bootstrap_sums", "percentile_ci", "resample_counts", "verdict"]
