"""Helpers the benchmark scripts share (each script runs on its own: `python benchmarks/X.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def best(fn: Callable[[], object], repeats: int) -> float:
    """Best of `repeats` timed calls after one warm-up: the least disturbed by a busy machine."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def prose(ws: list[str], rng: np.random.Generator) -> str:
    """Sentence case, a comma now and then, a full stop every 8-20 words."""
    out, since = [], 0
    for i, w in enumerate(ws):
        if since == 0:
            w = w.capitalize()
        since += 1
        if i == len(ws) - 1 or (since >= 8 and rng.random() < 0.15):
            w, since = w + ".", 0
        elif rng.random() < 0.05:
            w += ","
        out.append(w)
    return " ".join(out)
