"""`check_overlap`: the leakage check on two data sets, on the part of each sample the user chose."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tunecheck._progress import Progress
from tunecheck.core import DataInfo, Estimate, Result
from tunecheck.data import Dataset, Sample
from tunecheck.errors import ConfigError
from tunecheck.hygiene._boilerplate import BOILERPLATE_N
from tunecheck.hygiene._overlap import (
    KINDS,
    MatchCount,
    On,
    OverlapConfig,
    OverlapPair,
    OverlapResult,
    find_overlap,
)


def check_on(on: str) -> On:
    """--on / `on`: the part of each sample compared (or indexed): full, prompt or response."""
    if on not in ("full", "prompt", "response"):
        raise ConfigError(f"--on {on!r} (on={on!r}): use full, prompt or response")
    return on  # type: ignore[return-value]


@dataclass(frozen=True)
class OverlapReport:
    """`check_overlap` on two data sets: the result plus what was compared."""

    data: dict[str, Any]
    """{"train": identity, "eval": identity} (`Dataset.identity()`)."""
    on: On
    """Which part of each sample was compared: "full", "prompt" or "response"."""
    result: OverlapResult
    compared: dict[str, str]
    """What was compared: the parts of each sample, the normalisation, each kind's rule."""
    notes: tuple[str, ...] = ()
    """The result's notes."""

    def to_result(self) -> Result:
        """As a stored result (layer "overlap"): both data sets, each kind's eval rows as
        data-level estimates (`exact_rows`, `exact_rate`, ... over the eval rows), and the pairs,
        what was compared, the boilerplate and the caveat in details."""
        r = self.result
        estimates = []
        for kind in KINDS:
            count: MatchCount = getattr(r, kind)
            estimates += [Estimate(float(count.count), None, f"{kind}_rows", "", r.eval_rows),
                          Estimate(count.rate, None, f"{kind}_rate", "", r.eval_rows)]
        return Result(
            layer="overlap",
            data=[_data_info(self.data["train"], "train"), _data_info(self.data["eval"], "eval")],
            config={"on": self.on, **r.config_dict()},
            estimates=estimates,
            warnings=list(self.notes),
            details={"applies": r.caveat is None, "caveat": r.caveat, "compared": dict(self.compared),
                     "boilerplate": asdict(r.boilerplate), "pairs": [_pair(p) for p in r.pairs]},
        )


def _data_info(identity: dict[str, Any], role: str) -> DataInfo:
    rest = {k: v for k, v in identity.items() if k not in ("source", "sha256", "n")}
    return DataInfo(str(identity["source"]), identity.get("sha256"), int(identity["n"]), role, rest)


def _pair(p: OverlapPair) -> dict[str, Any]:
    return {"eval_id": p.eval_id, "train_id": p.train_id, "kinds": list(p.kinds), "similarity": round(p.similarity, 6),
            "shared_ngrams": p.shared_ngrams, "ngram_total": p.ngram_total, "longest_span_words": p.longest_span_words, "span": p.span}


def sample_text(sample: Sample, on: On) -> str | None:
    """The part of a sample that `check_overlap` compares; None when the sample lacks it.

    "full" is the text, or the prompt and response joined with a newline (for chat, every
    non-system turn and the response: a system prompt shared by all rows would otherwise make
    every row an n-gram match).
    """
    if on == "prompt":
        return sample.prompt
    if on == "response":
        return sample.response
    if sample.text is not None:
        return sample.text
    if sample.messages is not None:
        turns = [m.content for m in sample.messages if m.role != "system"]
        return "\n".join([*turns, sample.response or ""])
    return "\n".join(p for p in (sample.prompt, sample.response) if p is not None)


def _texts(dataset: Dataset, on: On, side: str) -> list[str]:
    texts = []
    for s in dataset:
        text = sample_text(s, on)
        if text is None:
            what = "plain text (no prompt/response split)" if dataset.shape == "text" else f"no {on}"
            raise ConfigError(
                f'on="{on}": {side} data {dataset.source} {s.location or "row " + s.id} has {what}; '
                'use on="full" to compare whole samples'
            )
        texts.append(text)
    return texts


def check_overlap(
    train: Dataset,
    eval: Dataset,
    *,
    on: On = "full",
    n: int = 13,
    near_threshold: float = 0.8,
    shingle: int = 5,
    num_perm: int = 128,
    seed: int = 1,
    boilerplate_share: float | None = 0.05,
    progress: Progress | None = None,
) -> OverlapReport:
    """Leakage between a training set and an eval set, or contamination of a training set by a
    benchmark (pass the benchmark as `eval`): `find_overlap` on the chosen part of each sample,
    with sample ids in the pairs so matching rows can be removed."""
    check_on(on)
    result = find_overlap(
        _texts(train, on, "train"), _texts(eval, on, "eval"),
        n=n, near_threshold=near_threshold, shingle=shingle, num_perm=num_perm, seed=seed,
        boilerplate_share=boilerplate_share, train_ids=[s.id for s in train], eval_ids=[s.id for s in eval],
        label={"full": "samples", "prompt": "prompts", "response": "responses"}[on], progress=progress,
    )
    return OverlapReport(
        data={"train": train.identity(), "eval": eval.identity()},
        on=on,
        result=result,
        compared=compared(on, train.shape, eval.shape, result.config),
        notes=result.notes,
    )


_PARTS = {
    "text": {"full": "the text field"},
    "prompt_completion": {"full": "prompt and completion joined by a newline", "prompt": "the prompt", "response": "the completion"},
    "alpaca": {"full": "instruction, input and output joined by newlines", "prompt": "instruction and input",
               "response": "the output"},
    "chat": {"full": "every non-system turn and the final assistant reply, joined by newlines (system turns left out)",
             "prompt": "the conversation before the reply", "response": "the final assistant reply"},
}


def compared(on: On, train_shape: str, eval_shape: str, config: OverlapConfig) -> dict[str, str]:
    """What `check_overlap` compared, in words, for the report."""
    def part(shape: str) -> str:
        return _PARTS.get(shape, {}).get(on, on)

    a, b = part(train_shape), part(eval_shape)
    share = "off" if config.boilerplate_share is None else f"word {BOILERPLATE_N}-grams in >= {100 * config.boilerplate_share:g}% of training rows"
    return {
        "fields": a if a == b else f"train: {a}; eval: {b}",
        "normalisation": "Unicode NFKC, lower case, punctuation deleted, whitespace collapsed",
        "exact": "the whole normalised texts are equal",
        "near": f"Indel ratio >= {config.near_threshold} of the normalised texts, with and without boilerplate "
                f"(MinHash-LSH candidates: character {config.shingle}-grams up to 300 characters, word 3-grams from 200)",
        "ngram": f"a shared word {config.n}-gram once boilerplate is removed",
        "boilerplate": share,
    }
