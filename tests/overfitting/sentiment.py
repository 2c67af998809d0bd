"""A 3-way sentiment fine-tune as the issue found it on a real model: every training row shares
its instruction, the tuned model answers with one label word, the base model rambles."""

from __future__ import annotations

import json
import random
from pathlib import Path

LABELS = ("positive", "negative", "neutral")
INSTRUCTION = "Classify the sentiment of this review as positive, negative or neutral."
_NOUNS = ("film", "phone", "hotel", "meal", "book", "laptop", "concert", "chair", "game", "jacket")
_WORDS = ("really", "quite", "somewhat", "rather", "truly", "barely", "mostly", "oddly", "fairly", "deeply",
          "bright", "slow", "loud", "cheap", "warm", "heavy", "crisp", "plain", "bold", "soft")

_VOCAB = [w + n for w in _WORDS for n in _NOUNS]
"""200 made-up words for the base model's rambling answers."""


def rows(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = LABELS[i % 3]
        review = f"the {rng.choice(_NOUNS)} was {rng.choice(_WORDS)} {rng.choice(_WORDS)} and {rng.choice(_WORDS)}"
        out.append({"id": f"r{i}", "prompt": f"{INSTRUCTION}\nReview: {review}\nAnswer:", "response": label, "label": label})
    return out


def write_jsonl(path: Path, items: list[dict[str, str]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in items))
    return str(path)


def write_predictions(folder: Path, n: int = 30) -> dict[str, str]:
    """train.jsonl (n rows), and predictions on n held-out rows: base.jsonl (long, varied, no
    label word: every answer unparsed, so wrong) and tuned.jsonl (the right label word, always)."""
    rng = random.Random(1)
    held = rows(n, seed=2)
    base = [{"id": r["id"], "model": "base", "label": r["label"],
             "output": " ".join(rng.choice(_VOCAB) for _ in range(rng.randint(15, 25)))} for r in held]
    tuned = [{"id": r["id"], "model": "tuned", "label": r["label"], "output": r["label"]} for r in held]
    return {"train": write_jsonl(folder / "train.jsonl", rows(n)), "base": write_jsonl(folder / "base.jsonl", base),
            "tuned": write_jsonl(folder / "tuned.jsonl", tuned)}
