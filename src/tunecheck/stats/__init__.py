"""Statistics: bootstrap confidence intervals, paired comparisons and verdicts, for every layer."""

from tunecheck.stats._auroc import AurocResult, auroc, auroc_test
from tunecheck.stats._bootstrap import (
    N_RESAMPLES,
    bca_ci,
    bootstrap_p_value,
    bootstrap_sums,
    mean_ci,
    percentile_ci,
    resample_counts,
    verdict,
)
from tunecheck.stats._metric import (
    SampleStats,
    adjust_holm,
    compare_metrics,
    estimate,
    paired,
)
from tunecheck.stats._paired import (
    WinLoss,
    clustered_se,
    correlation,
    holm,
    mcnemar_exact,
    minimum_detectable_difference,
    paired_permutation,
    sign_test,
    wilcoxon_signed_rank,
    win_loss,
)

__all__ = [
    "N_RESAMPLES",
    "AurocResult",
    "SampleStats",
    "WinLoss",
    "adjust_holm",
    "auroc",
    "auroc_test",
    "bca_ci",
    "bootstrap_p_value",
    "bootstrap_sums",
    "clustered_se",
    "compare_metrics",
    "correlation",
    "estimate",
    "holm",
    "mcnemar_exact",
    "mean_ci",
    "minimum_detectable_difference",
    "paired",
    "paired_permutation",
    "percentile_ci",
    "resample_counts",
    "sign_test",
    "verdict",
    "wilcoxon_signed_rank",
    "win_loss",
]
