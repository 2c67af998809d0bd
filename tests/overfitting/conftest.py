"""A model that has memorised its training texts, built offline in seconds.

Members and held-out texts are random word sequences over the test tokenizer's vocabulary, so
no model can predict them from the pattern of the language: a model that reproduces a member
continuation has memorised it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS

WORDS = sorted({w for line in CORPUS for w in line.split() if not w.isdigit()})


def random_texts(n: int, seed: int, length: int = 14) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(length)) for _ in range(n)]


MEMBERS = random_texts(16, seed=1)
HELDOUT = random_texts(16, seed=2)


@pytest.fixture(scope="session")
def memorised(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any) -> dict[str, Path]:
    """base: untrained; tuned: the same weights trained to memorise MEMBERS."""
    import torch

    from tunecheck.demo import tiny_llama

    root = tmp_path_factory.mktemp("memorised")
    base = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128, seed=0)
    base.save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    ids = [[tokenizer.bos_token_id, *tokenizer(t, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id] for t in MEMBERS]
    width = max(map(len, ids))
    x = torch.full((len(ids), width), tokenizer.pad_token_id)
    labels = torch.full((len(ids), width), -100)
    for i, s in enumerate(ids):
        x[i, : len(s)] = torch.tensor(s)
        labels[i, : len(s)] = torch.tensor(s)
    torch.manual_seed(0)
    opt = torch.optim.AdamW(base.parameters(), lr=1e-2)
    base.train()
    for _ in range(150):
        base(input_ids=x, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
    base.eval()
    base.save_pretrained(root / "tuned")
    tokenizer.save_pretrained(root / "tuned")
    return {"base": root / "base", "tuned": root / "tuned"}


def write_texts(path: Path, texts: list[str], prefix: str) -> Path:
    import json

    path.write_text("".join(json.dumps({"id": f"{prefix}{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return path
