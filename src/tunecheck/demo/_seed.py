"""Make a demo run reproducible on a given machine: the same figures every time.

Everything random in the demo is seeded where it is drawn (the world, the batches, the Trainer,
the bootstraps); this adds what a seed at the draw cannot reach. Python's, NumPy's and torch's
global generators are seeded for any library code that draws from them; torch uses its
deterministic kernels where it has them; and torch runs on one thread, so that no sum depends
on how many threads a machine gives it (training turns a last-bit difference into another
model). Measured on a 2-core machine (issue 10): 1 and 2 threads trained byte-identical models,
and the demo's matrices are so small that one thread is also the faster: a whole run with
training took 1.4 minutes of CPU on one thread and 11 on two (the machine was loaded). Other
CPUs or torch versions can still give other figures (other kernels, other rounding).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def reproducible(seed: int = 0) -> Iterator[None]:
    """Seeded, deterministic, single-threaded torch inside the block; torch's thread count and
    deterministic setting are restored after it."""
    import numpy as np
    import torch

    threads, strict = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # warn_only: an op without a deterministic kernel warns instead of stopping the demo
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(strict, warn_only=warn_only)
