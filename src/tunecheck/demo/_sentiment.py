"""The real-model demo's task: 3-way sentiment of short product and movie reviews, as chat rows.

Reviews are put together from seeded templates (an opener, one to three sentences about named
aspects, a closing), so the shipped files can be regenerated exactly: `python -m
tunecheck.demo._sentiment` rewrites them, and a test checks they equal the generator's output.
Neutral reviews are flat ("it does the job") or mixed (praise and complaint in one review), so
the label is not a keyword lookup and a base instruct model gets the task only partly right.
Every review text appears in one split only.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

SEED = 2026
LABELS = ("positive", "negative", "neutral")
SIZES = {"train": 240, "validation": 99, "test": 99}
"""Rows per split; multiples of three, so every label has the same share."""
INSTRUCTION = "Classify the sentiment of this review as positive, negative or neutral. Answer with one word.\n\nReview: {review}"
ASSETS = Path(__file__).parent / "assets"

_PRODUCTS = {
    "headphones": ["sound", "battery life", "noise cancelling", "fit", "microphone"],
    "blender": ["motor", "jug", "noise level", "blade", "lid"],
    "backpack": ["main zip", "shoulder padding", "laptop sleeve", "fabric", "size"],
    "coffee maker": ["coffee", "water tank", "timer", "carafe", "cleaning"],
    "pair of running shoes": ["cushioning", "grip", "lacing", "sizing", "sole"],
    "desk lamp": ["brightness", "stand", "switch", "colour temperature", "cable"],
    "vacuum cleaner": ["suction", "battery", "dust bin", "filter", "hose"],
    "keyboard": ["typing feel", "backlight", "layout", "software", "wrist rest"],
    "tent": ["frame", "rain fly", "door zip", "setup", "floor"],
    "phone case": ["grip", "button cover", "fit", "camera cut-out", "colour"],
    "air fryer": ["basket", "timer", "temperature control", "capacity", "coating"],
    "smart watch": ["screen", "battery", "strap", "step counter", "app"],
}
_MOVIES = {
    "thriller": ["plot", "twist", "pacing", "villain", "ending"],
    "comedy": ["humour", "cast", "script", "comic timing", "ending"],
    "documentary": ["narration", "footage", "research", "music", "length"],
    "animated film": ["animation", "voice acting", "song choice", "story", "humour"],
    "drama": ["acting", "dialogue", "camera work", "story", "soundtrack"],
    "sci-fi film": ["visual design", "world building", "plot", "score", "lead actor"],
}
_TITLE_A = ["The Last", "Midnight", "Silent", "Broken", "Golden", "Paper", "Northern", "Hidden", "Second", "Electric"]
_TITLE_B = ["Harbor", "Letters", "Orchard", "Signal", "Garden", "Winter", "Machine", "Road", "Promise", "Tide"]

_OPEN = {
    "product": ["Bought the {thing} last month.", "I have used the {thing} for a few weeks now.", "Got the {thing} as a gift.",
                "Ordered the {thing} on sale.", "My second {thing} from this brand.", "", "", ""],
    "movie": ["Watched {title} last night.", "Saw {title} at the cinema.", "We streamed {title} on Friday.",
              "{title} is a {thing} I had heard a lot about.", "Finally got round to {title}.", "", "", ""],
}
_GOOD = ["The {a} is excellent.", "I love the {a}.", "The {a} is better than I expected.", "Really impressed by the {a}.",
         "The {a} is superb.", "Great {a}, no complaints at all.", "The {a} works perfectly.", "The {a} is a real highlight."]
_BAD = ["The {a} is terrible.", "Really disappointed with the {a}.",
        "The {a} is awful.", "The {a} is a joke.", "Poor {a}, I expected much more.", "The {a} let me down badly.",
        "The {a} is the worst I have seen."]
_DOMAIN_BAD = {"product": ["The {a} stopped working after two weeks.", "The {a} broke on the first day."],
               "movie": ["The {a} fell completely flat.", "The {a} made me check my phone."]}
_DOMAIN_GOOD = {"product": ["The {a} has held up well after daily use."], "movie": ["The {a} kept me hooked."]}
_FLAT = ["The {a} is fine.", "The {a} is about what you would expect.", "The {a} is average.", "Nothing special about the {a}.",
         "The {a} is okay, neither good nor bad.", "The {a} does what it says.", "The {a} is standard for the price."]
_CLOSE = {
    "positive": ["Highly recommended!", "Would buy again.", "Five stars from me.", "Worth every penny.", "Can't wait for more like it.", "", ""],
    "negative": ["Avoid.", "I want my money back.", "Not worth it.", "One star.", "Returned it the next day.", "Never again.", "", ""],
    "neutral": ["It's okay overall.", "Three stars.", "Fine, I suppose.", "Mixed feelings.", "Might suit someone else better.", "", ""],
}
_MOVIE_CLOSE = {
    "positive": ["I'd watch it again tomorrow.", "A must-see."],
    "negative": ["Two hours I won't get back.", "Skip this one."],
    "neutral": ["Watchable once.", "Decent for a quiet evening."],
}


def review(rng: random.Random, label: str) -> tuple[str, str]:
    """(review text, domain) for one label."""
    domain = "product" if rng.random() < 0.6 else "movie"
    kinds = _PRODUCTS if domain == "product" else _MOVIES
    thing = rng.choice(sorted(kinds))
    aspects = rng.sample(kinds[thing], 3)
    title = f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)}"
    if label == "neutral" and rng.random() < 0.5:  # mixed: one good and one bad point
        good, bad = _GOOD + _DOMAIN_GOOD[domain], _BAD + _DOMAIN_BAD[domain]
        body = [rng.choice(good).format(a=aspects[0]), "But " + _lower_first(rng.choice(bad).format(a=aspects[1]))]
    else:
        pool = {"positive": _GOOD + _DOMAIN_GOOD[domain], "negative": _BAD + _DOMAIN_BAD[domain], "neutral": _FLAT}[label]
        body = [s.format(a=a) for s, a in zip(rng.sample(pool, rng.choice((1, 2, 2, 3))), aspects)]
    closes = _CLOSE[label] + (_MOVIE_CLOSE[label] if domain == "movie" else [])
    parts = [rng.choice(_OPEN[domain]).format(thing=thing, title=title), *body, rng.choice(closes)]
    return " ".join(p for p in parts if p), domain


def _lower_first(s: str) -> str:
    return s[0].lower() + s[1:] if s.startswith(("The ", "Really ", "Poor ")) else s


def generate(seed: int = SEED, sizes: dict[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows per split: chat messages (user: the instruction and the review; assistant: the
    label), plus `label` and `domain` fields. Labels are balanced within each split, and no
    review text is repeated, within or across splits."""
    sizes = sizes or SIZES
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[dict[str, Any]]] = {}
    for split, n in sizes.items():
        rows = []
        for i in range(n):
            label = LABELS[i % len(LABELS)]
            text, domain = review(rng, label)
            while text in seen:
                text, domain = review(rng, label)
            seen.add(text)
            rows.append({
                "id": f"{split}-{i:03d}",
                "messages": [{"role": "user", "content": INSTRUCTION.format(review=text)}, {"role": "assistant", "content": label}],
                "label": label,
                "domain": domain,
            })
        rng.shuffle(rows)
        out[split] = rows
    return out


def asset(split: str) -> Path:
    """The shipped file of one split (train, validation, test)."""
    return ASSETS / f"sentiment_{split}.jsonl"


PROSE = ASSETS / "general_prose.jsonl"
"""Held-out general English paragraphs (hand-written, not generated): did general ability hold?"""


def shipped() -> dict[str, list[dict[str, Any]]]:
    """The shipped rows of every split."""
    return {s: [json.loads(line) for line in asset(s).read_text(encoding="utf-8").split("\n") if line.strip()] for s in SIZES}


def write_assets() -> None:
    from tunecheck.demo._train import write_jsonl

    for split, rows in generate().items():
        write_jsonl(asset(split), rows)


if __name__ == "__main__":
    write_assets()
