"""Completion-only loss equals the loss the Trainer reports, on a real chat model.

The reference is TRL's SFTTrainer, built as a user's training script builds it, and its
`evaluate()`: with one eval batch holding every row, `eval_loss` is the mean NLL over the
labelled tokens, i.e. tunecheck's completion-only nll/token on the same rows. The data sets
are written once in tunecheck's input format and once in TRL's.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from tunecheck.models import HFModel
from tunecheck.models._hf_load import load_hf
from tunecheck.perplexity import PerplexityConfig, score_model

pytestmark = pytest.mark.real

ROWS = [
    ("Classify the sentiment of this review.", "I loved every minute of it.", "positive"),
    ("Classify the sentiment of this review.", "The food was cold and the staff rude.", "negative"),
    ("Say hello in French.", "", "Bonjour !"),
]

# The Stanford Alpaca training prompts (github.com/tatsu-lab/stanford_alpaca, train.py), written
# out here rather than taken from tunecheck
ALPACA_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
ALPACA_PLAIN = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)


def _user(instruction: str, text: str) -> str:
    return f"{instruction}\n\n{text}" if text else instruction


@pytest.fixture(scope="module")
def real(smollm2: Path) -> HFModel:
    """Loaded once: tunecheck scores with it, and the Trainer evaluates its torch model."""
    return load_hf(str(smollm2))


def _trl_eval_loss(real: HFModel, rows: list[dict[str, Any]], tmp: Path) -> float:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    data = Dataset.from_list(rows)
    # one eval batch of every row: eval_loss is then the token mean over all rows. SFTConfig
    # defaults to bf16 autocast (on the CPU too), which moves the loss by ~1%: both sides in fp32
    args = SFTConfig(output_dir=str(tmp), per_device_eval_batch_size=len(rows), report_to=[], use_cpu=True,
                     bf16=False, disable_tqdm=True)
    with warnings.catch_warnings():  # TRL / accelerate notices about the CPU setup
        warnings.simplefilter("ignore")
        trainer = SFTTrainer(model=real.model, args=args, train_dataset=data, eval_dataset=data, processing_class=real.tokenizer)
        return float(trainer.evaluate()["eval_loss"])


def _tunecheck_loss(real: HFModel, rows: list[dict[str, Any]], tmp: Path) -> float:
    path = tmp / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    from tunecheck.data import load_data

    result = score_model(real, load_data(path), PerplexityConfig(completion_only=True, n_resamples=100))
    return result.totals["nll"] / result.totals["tokens"]


def test_chat_loss_equals_trl_eval_loss(real: HFModel, tmp_path: Path) -> None:
    # TRL's conversational prompt/completion: the labels are the assistant turn as ChatML renders
    # it, "positive<|im_end|>\n", and no EOS after it
    trl_rows = [{"prompt": [{"role": "user", "content": _user(i, x)}], "completion": [{"role": "assistant", "content": y}]}
                for i, x, y in ROWS]
    ours = [{"messages": [{"role": "user", "content": _user(i, x)}, {"role": "assistant", "content": y}]} for i, x, y in ROWS]
    expected = _trl_eval_loss(real, trl_rows, tmp_path / "trl")
    assert _tunecheck_loss(real, ours, tmp_path) == pytest.approx(expected, rel=1e-4)
    # and TRL's own conversational rows, read by tunecheck as they are
    (tmp_path / "pc").mkdir()
    assert _tunecheck_loss(real, trl_rows, tmp_path / "pc") == pytest.approx(expected, rel=1e-4)


def test_alpaca_loss_equals_trl_eval_loss(real: HFModel, tmp_path: Path) -> None:
    # Alpaca rows given to TRL as text prompt/completion: TRL appends the EOS to the completion
    # and tokenises prompt + completion with the tokenizer (SmolLM2's adds no BOS)
    trl_rows = [{"prompt": (ALPACA_INPUT if x else ALPACA_PLAIN).format(instruction=i, input=x), "completion": y}
                for i, x, y in ROWS]
    ours = [{"instruction": i, "input": x, "output": y} for i, x, y in ROWS]
    expected = _trl_eval_loss(real, trl_rows, tmp_path / "trl")
    assert _tunecheck_loss(real, ours, tmp_path) == pytest.approx(expected, rel=1e-4)


def test_prompt_completion_loss_equals_trl_eval_loss(real: HFModel, tmp_path: Path) -> None:
    # plain prompt/completion text, joined as they are (a completion that starts with a space)
    rows = [{"prompt": f"Review: {x or i}\nSentiment:", "completion": f" {y}"} for i, x, y in ROWS]
    expected = _trl_eval_loss(real, rows, tmp_path / "trl")
    assert _tunecheck_loss(real, rows, tmp_path) == pytest.approx(expected, rel=1e-4)
