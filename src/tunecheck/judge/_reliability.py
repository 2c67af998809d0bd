"""The judge's reliability, measured on the run's own judgments (filled in below)."""

from __future__ import annotations

from typing import Any


def rubric_reliability(report: Any, table: Any) -> None:
    return None


def pairwise_reliability(report: Any) -> None:
    return None
