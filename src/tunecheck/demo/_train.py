"""Train the demo's models on the CPU: pre-train a tiny base model, then LoRA fine-tune it.

The fine-tune goes through transformers' Trainer and peft, as users' own fine-tunes do, so its
output (an adapter directory and trainer_state.json) is what tunecheck meets in the wild.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from tunecheck.data import Sample
from tunecheck.demo._build import tiny_llama, train_tokenizer
from tunecheck.models import format_pair


def pretrain(docs: list[str], out: Path, *, steps: int = 400, block: int = 128, batch: int = 16, seed: int = 0) -> None:
    """Tokenizer + base model from scratch on `docs`, saved with save_pretrained to `out`."""
    import torch

    tok = train_tokenizer(docs, vocab_size=768)
    model = tiny_llama(tok, hidden=96, layers=3, heads=4, context=256, seed=seed)
    ids: list[int] = []
    for d in docs:
        ids += [tok.bos_token_id, *tok(d, add_special_tokens=False)["input_ids"], tok.eos_token_id]
    data = torch.tensor(ids[: len(ids) // block * block]).view(-1, block)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    model.train()
    for step in range(steps):
        lr = 3e-3 * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for g in opt.param_groups:
            g["lr"] = lr
        rows = data[torch.randint(0, data.shape[0], (batch,), generator=gen)]
        loss = model(input_ids=rows, labels=rows).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)


def _encode(tok: Any, row: dict[str, str]) -> dict[str, list[int]]:
    """Completion-only SFT example, tokenised as TRL's SFT tokenises prompt-completion data (and
    so as tunecheck scores it): the tokenizer's own special tokens (this one adds no BOS), prompt
    + response, EOS appended; loss on the response and EOS."""
    sample = Sample(row["id"], "alpaca", prompt=row["instruction"], response=row["output"], instruction=row["instruction"], input="")
    prompt, response = format_pair(sample, "alpaca", None)
    p = tok(prompt)["input_ids"]
    ids = [*tok(prompt + response)["input_ids"], tok.eos_token_id]
    labels = [-100] * len(p) + ids[len(p) :]
    return {"input_ids": ids, "labels": labels}


def finetune(base: Path, train_rows: list[dict[str, str]], eval_rows: list[dict[str, str]], out: Path, *, epochs: int = 5, lr: float = 1e-3, eval_steps: int = 15, seed: int = 0) -> None:
    """LoRA fine-tune of `base` with transformers' Trainer; the adapter is saved to `out`."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    train = [_encode(tok, r) for r in train_rows]
    evals = [_encode(tok, r) for r in random.Random(seed).sample(eval_rows, min(40, len(eval_rows)))]
    lora = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    args = {
        "num_train_epochs": epochs,
        "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 40,
        "learning_rate": lr,
        "warmup_steps": 5,
        "logging_steps": 5,
        "eval_strategy": "steps",
        "eval_steps": eval_steps,
        "seed": seed,
    }  # save_strategy="epoch": checkpoint-15 ... checkpoint-75, what `tunecheck sweep` evaluates
    train_lora(base, tok, train, evals, out, lora=lora, args=args)


def train_lora(base: Path, tok: Any, train: list[dict[str, list[int]]], evals: list[dict[str, list[int]]], out: Path, *,
               lora: dict[str, Any], args: dict[str, Any], log: Any = None) -> None:
    """LoRA on `base` with transformers' Trainer over pre-tokenised examples (input_ids and
    labels, -100 where no loss): a checkpoint per epoch, the adapter and trainer_state.json in
    `out`. `log`, if given, gets a line after each evaluation (a run of minutes is not silent)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    class EvalLines(TrainerCallback):
        def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **_: Any) -> None:
            train = [r["loss"] for r in state.log_history if "loss" in r]
            last = f", training loss {train[-1]:.4f}" if train else ""
            log(f"  epoch {state.epoch:.0f} (step {state.global_step}/{state.max_steps}): eval_loss {(metrics or {}).get('eval_loss', float('nan')):.4f}{last}")

    model = AutoModelForCausalLM.from_pretrained(str(base.resolve()), dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **lora))  # type: ignore[assignment]
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def collate(batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[i, :n] = torch.tensor(b["input_ids"])
            labels[i, :n] = torch.tensor(b["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    settings = {
        "output_dir": str(out / "trainer"),
        "lr_scheduler_type": "cosine",
        "save_strategy": "epoch",
        "save_only_model": True,
        "report_to": [],
        "use_cpu": True,
        "disable_tqdm": True,
        "remove_unused_columns": False,
        **args,
    }
    trainer = Trainer(model=model, args=TrainingArguments(**settings), train_dataset=train, eval_dataset=evals, data_collator=collate)
    trainer.remove_callback(PrinterCallback)  # the demo prints its own summary
    if log is not None:
        trainer.add_callback(EvalLines())
    trainer.train()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    trainer.state.save_to_json(str(out / "trainer_state.json"))


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
