"""The demo's synthetic world: made-up countries with facts, told as prose and asked as questions.

The base model learns the facts from prose (pre-training). The instruction set asks about them
in an Alpaca format the base model has never seen, so fine-tuning measurably helps; the
evaluation questions are about countries the fine-tune never saw, so a gain there is
generalisation, not memorisation. Everything is generated from a seed: no download.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kl", "st", "tr", "sh"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou"]
_CODAS = ["", "", "n", "r", "s", "l", "th", "m"]
COLORS = ["red", "blue", "green", "yellow", "white", "black", "purple", "orange"]
EXPORTS = ["copper", "wool", "salt", "tea", "silver", "timber", "spices", "glass", "cotton", "honey"]
ANIMALS = ["fox", "owl", "bear", "horse", "eagle", "wolf", "deer", "lion", "crane", "otter"]

N_COUNTRIES = 80
N_TRAIN_COUNTRIES = 60
SEED = 1234


@dataclass(frozen=True)
class Country:
    name: str
    capital: str
    color: str
    export: str
    animal: str


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)).capitalize()


def world(seed: int = SEED, n: int = N_COUNTRIES) -> list[Country]:
    rng = random.Random(seed)
    names: set[str] = set()
    out: list[Country] = []
    while len(out) < n:
        name, capital = _word(rng, 2), _word(rng, 2)
        if name in names or capital in names or name == capital:
            continue
        names.update((name, capital))
        out.append(Country(name, capital, rng.choice(COLORS), rng.choice(EXPORTS), rng.choice(ANIMALS)))
    return out


_PROSE = [
    "The capital of {name} is {capital}.",
    "{capital} is the capital city of {name}.",
    "The flag of {name} is {color}.",
    "{name} is known for its {export}.",
    "The main export of {name} is {export}.",
    "The national animal of {name} is the {animal}.",
    "In {name}, people honour the {animal}.",
    "Traders from {capital} sell {export} across the sea.",
    "Visitors to {capital} see {color} flags everywhere.",
]
_FILLER = [
    "The river runs slowly through the valley in spring.",
    "Merchants travel between the cities by road and by boat.",
    "Winters are long in the north and short in the south.",
    "Many people work on farms, in mines or in workshops.",
    "Old stories are told in the markets every evening.",
]


def corpus(countries: list[Country], *, seed: int = SEED, repeats: int = 6) -> list[str]:
    """Pre-training documents: each a shuffled paragraph of facts about one country."""
    rng = random.Random(seed + 1)
    docs = []
    for _ in range(repeats):
        for c in countries:
            lines = [t.format(**c.__dict__) for t in rng.sample(_PROSE, 5)]
            lines.append(rng.choice(_FILLER))
            rng.shuffle(lines)
            docs.append(" ".join(lines))
    rng.shuffle(docs)
    return docs


_QUESTIONS = [
    ("What is the capital of {name}?", "The capital of {name} is {capital}."),
    ("What color is the flag of {name}?", "The flag of {name} is {color}."),
    ("What does {name} export?", "The main export of {name} is {export}."),
    ("What is the national animal of {name}?", "The national animal of {name} is the {animal}."),
]


def instructions(countries: list[Country]) -> list[dict[str, str]]:
    """Alpaca-style rows, one per (country, question)."""
    rows = []
    for i, c in enumerate(countries):
        for j, (q, a) in enumerate(_QUESTIONS):
            rows.append({"id": f"{c.name.lower()}-{j}", "instruction": q.format(**c.__dict__), "input": "", "output": a.format(**c.__dict__), "category": ["capital", "flag", "export", "animal"][j], "country_index": str(i)})
    return rows


def split_instructions(seed: int = SEED) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(train, eval): eval asks about countries the fine-tune never sees."""
    countries = world(seed)
    return instructions(countries[:N_TRAIN_COUNTRIES]), instructions(countries[N_TRAIN_COUNTRIES:])


def heldout_prose(seed: int = SEED) -> list[str]:
    """General text for the 'did fine-tuning break the language model' perplexity check."""
    return corpus(world(seed), seed=seed + 99, repeats=1)[:40]


ASSET = Path(__file__).parent / "assets" / "instructions.jsonl"
"""The instruction set shipped with the package (written by `split_instructions`, checked by a test)."""


def shipped_instructions() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(train, eval) rows from the shipped file; the `split` field says which."""
    rows = [json.loads(line) for line in ASSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    strip = [{k: v for k, v in r.items() if k != "split"} for r in rows]
    return [r for r, raw in zip(strip, rows) if raw["split"] == "train"], [r for r, raw in zip(strip, rows) if raw["split"] == "eval"]
