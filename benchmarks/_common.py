"""Helpers the benchmark scripts share (each script runs on its own: `python benchmarks/X.py`)."""

from __future__ import annotations

import argparse
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


def model_options(p: argparse.ArgumentParser) -> None:
    """The random Llama-style model's size and the timing flags the model benchmarks share."""
    p.add_argument("--hidden", type=int, default=256, help="model width (default 256)")
    p.add_argument("--layers", type=int, default=4, help="decoder layers (default 4)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    p.add_argument("--vocab", type=int, default=1024, help="BPE vocabulary size (default 1024)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per method, best kept (default 3)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
