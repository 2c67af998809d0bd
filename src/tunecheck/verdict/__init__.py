"""Did the fine-tune work? One verdict over every layer's stored results: the task, general
ability, and overfitting, each with its evidence."""

from tunecheck.verdict._verdict import (
    GENERAL,
    TASK,
    Answer,
    Evidence,
    FineTuneVerdict,
    Given,
    did_it_work,
    verdict_from,
)

__all__ = ["GENERAL", "TASK", "Answer", "Evidence", "FineTuneVerdict", "Given", "did_it_work", "verdict_from"]
