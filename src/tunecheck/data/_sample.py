"""Samples and datasets: what every layer reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tunecheck._lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")  # loading data needs no numpy; only --limit's sample and pairing do

Shape = Literal["text", "prompt_completion", "alpaca", "chat"]
"""How a row is laid out: plain text, prompt/completion pair, Alpaca instruction/input/output,
or chat `messages`. Instruction-shaped data (everything but "text") has a prompt and a response."""


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class Sample:
    """One evaluation item, normalised from whatever row shape the file used."""

    id: str
    """Stable id: the row's id field, else its 0-based position. Layers join on it."""
    shape: Shape
    text: str | None = None
    """Plain text (shape "text")."""
    prompt: str | None = None
    """The user's turn: the prompt, or the Alpaca instruction plus its input."""
    response: str | None = None
    """The target answer (completion / output / the last assistant message)."""
    messages: tuple[Message, ...] | None = None
    """The conversation before the response (shape "chat"), system turns included."""
    instruction: str | None = None
    """Alpaca only: the instruction alone, for the Alpaca template."""
    input: str | None = None
    """Alpaca only: the optional input alone ("" when absent)."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """The raw row, for later layers (reference answers, labels, categories)."""
    location: str = ""
    """Where the row is in its file ("line 17", "row 3"), for error messages of later layers."""


def check_limit(n: int | None) -> None:
    """--limit N: None (all rows) or a whole number >= 1; checked before anything loads."""
    from tunecheck.errors import ConfigError

    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ConfigError(f"--limit must be a whole number of rows, at least 1, got {n!r} (leave it out for all rows)")


@dataclass(frozen=True)
class Dataset:
    """A loaded eval or train set; `sha256` identifies its content for result comparability."""

    samples: tuple[Sample, ...]
    source: str
    """Where it came from: a file path or hf:NAME[:CONFIG][:SPLIT]."""
    shape: Shape
    sha256: str
    """Hash of the rows' canonical JSON: equal hashes mean the same data, whatever the file format."""
    sampled: dict[str, int] | None = None
    """Set by `sample()`: {"n": rows kept, "of": rows in the source, "seed": seed}; None for all rows."""

    def sample(self, n: int | None, seed: int = 0) -> Dataset:
        """A seeded random sample of `n` rows in their original order, for a quick look (every
        command's --limit comes here, so they all draw the same rows for the same seed). All rows
        when `n` is None or not below their count. Its hash is the sampled rows' own."""
        from tunecheck.data._load import content_hash

        if n is None:
            return self
        check_limit(n)
        if n >= len(self.samples):
            return self
        keep = np.sort(np.random.default_rng(seed).choice(len(self.samples), size=n, replace=False))
        chosen = tuple(self.samples[int(i)] for i in keep)
        return Dataset(chosen, self.source, self.shape, content_hash(s.fields for s in chosen),
                       {"n": n, "of": len(self.samples), "seed": seed})

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def identity(self) -> dict[str, Any]:
        """What results record about the data they measured."""
        out: dict[str, Any] = {"source": self.source, "sha256": self.sha256, "n": len(self.samples), "shape": self.shape}
        if self.sampled is not None:
            out["sampled"] = dict(self.sampled)
        return out


def align_ids(a: Sequence[str], b: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The ids both sequences hold, in `a`'s order, and their row positions in each: how two
    models' per-sample results are paired."""
    pos_a = {i: k for k, i in enumerate(a)}
    pos_b = {i: k for k, i in enumerate(b)}
    shared = [i for i in a if i in pos_b]
    return shared, np.array([pos_a[i] for i in shared], dtype=np.int64), np.array([pos_b[i] for i in shared], dtype=np.int64)
