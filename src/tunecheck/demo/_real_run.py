"""`tunecheck demo --real`: LoRA-fine-tune a real small instruct model and run every layer on it.

SmolLM2-135M-Instruct (or `--real-model`) learns 3-way sentiment of short reviews from the
shipped chat rows (`_sentiment.py`), with transformers' Trainer and peft, as users train: the
loss on the assistant turn as the chat template renders it (TRL's recipe for conversational
prompt-completion data), an evaluation and a checkpoint per epoch, trainer_state.json. Then
base and tuned go through the same layers as the tiny demo, with task accuracy / macro-F1 on
the test rows. The adapter is cached in the work directory, keyed by a hash of the recipe, the
data and the base model, so a second run only evaluates.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecheck.demo import _sentiment as task_mod
from tunecheck.demo._judge_step import judge_sections
from tunecheck.demo._real import resolve_real_model
from tunecheck.demo._run import (
    as_result,
    did_it_work,
    finish,
    is_cached,
    model_layers,
    overfitting_sections,
    shared_layers,
    verdict_rows,
)
from tunecheck.demo._train import train_lora, write_jsonl
from tunecheck.errors import ModelError

if TYPE_CHECKING:
    from tunecheck.core import Result, ResultSet

RECIPE: dict[str, Any] = {
    "version": 1,
    # 240 reviews x 2 epochs: the loss is near its floor after one epoch; the second gives the
    # sweep and the curves a second checkpoint, within a few minutes on 2 cores
    "epochs": 2,
    "lr": 5e-4,
    "batch": 8,
    # LoRA on the attention of the top 12 of 30 layers: backward stops there, so a step costs
    # about half of LoRA on every layer, and a one-word classification head needs no more
    "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"], "top_layers": 12},
    "seed": 0,
}


@dataclass(frozen=True)
class Sizes:
    """Rows used from each shipped file (None: all) and epochs: the smoke test's small budget."""

    train: int | None = None
    validation: int | None = None
    test: int | None = None
    prose: int | None = None
    epochs: int | None = None


FULL = Sizes()
LABELS = task_mod.LABELS
MAX_NEW_TOKENS = 16
"""Enough for a base model's "The sentiment of this review is negative."; the tuned model stops
after its label at the end-of-turn token."""


def encode_chat(tok: Any, messages: list[dict[str, str]]) -> dict[str, list[int]]:
    """One training example as TRL builds conversational prompt-completion data: the prompt is
    the chat template with the generation prompt, the completion (the only tokens with a loss)
    is the rest of the rendered conversation, end-of-turn tokens included, and no EOS added."""
    prompt = tok.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(messages, tokenize=False)
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    ids = tok(full, add_special_tokens=False)["input_ids"]
    if ids[: len(p)] != p:
        raise ModelError("the model's chat template does not render the prompt as a prefix of the whole conversation")
    return {"input_ids": ids, "labels": [-100] * len(p) + ids[len(p) :]}


def _lora(base: Path, recipe: dict[str, Any]) -> dict[str, Any]:
    cfg = json.loads((base / "config.json").read_text())
    lora = {k: v for k, v in recipe["lora"].items() if k != "top_layers"}
    n = int(cfg.get("num_hidden_layers", 0))
    if n > recipe["lora"]["top_layers"]:
        lora["layers_to_transform"] = list(range(n - recipe["lora"]["top_layers"], n))
    return lora


def _hash(recipe: dict[str, Any], base: Path, rows: dict[str, list[dict[str, Any]]]) -> str:
    stamp = sorted((f.name, f.stat().st_size) for f in base.glob("*.safetensors"))
    blob = json.dumps({"recipe": recipe, "base": str(base.resolve()), "weights": stamp, "rows": rows}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def prepare(workdir: Path, model: str | None, sizes: Sizes, *, retrain: bool = False, log: Any = print) -> dict[str, Path]:
    """The task's files in `workdir/data`, the base model folder, and the trained adapter."""
    from tunecheck.models._hf_load import quiet_transformers

    quiet_transformers()  # no per-tensor progress bars between the demo's own lines
    base = resolve_real_model(model, workdir, log=log)
    shipped = task_mod.shipped()
    rows = {split: shipped[split][: getattr(sizes, split)] for split in ("train", "validation", "test")}
    prose = [json.loads(line) for line in task_mod.PROSE.read_text(encoding="utf-8").split("\n") if line.strip()]
    paths = {"base": base, "tuned": workdir / "tuned", "train": workdir / "data" / "train.jsonl",
             "eval": workdir / "data" / "validation.jsonl", "test": workdir / "data" / "test.jsonl",
             "prose": workdir / "data" / "general_prose.jsonl"}
    for split, key in (("train", "train"), ("validation", "eval"), ("test", "test")):
        write_jsonl(paths[key], rows[split])
    write_jsonl(paths["prose"], prose[: sizes.prose])
    recipe = {**RECIPE, "epochs": sizes.epochs or RECIPE["epochs"]}
    digest = _hash(recipe, base, rows)
    stamp = workdir / "recipe.json"
    if not retrain and is_cached(stamp, digest, paths["tuned"]):
        log("[dim]cached adapter found: skipping training (use --retrain to train again)[/]")
        return paths
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    train = [encode_chat(tok, r["messages"]) for r in rows["train"]]
    evals = [encode_chat(tok, r["messages"]) for r in rows["validation"]]
    t0 = time.perf_counter()
    log(f"LoRA fine-tuning {base.name} on {len(train)} reviews for {recipe['epochs']} epochs (transformers Trainer + peft) ...")
    args = {"num_train_epochs": recipe["epochs"], "per_device_train_batch_size": recipe["batch"], "per_device_eval_batch_size": 16,
            "learning_rate": recipe["lr"], "warmup_steps": 3, "logging_steps": 5, "eval_strategy": "epoch", "seed": recipe["seed"]}
    with warnings.catch_warnings():  # deprecation notices from inside transformers' Trainer
        warnings.simplefilter("ignore", FutureWarning)
        train_lora(base, tok, train, evals, paths["tuned"], lora=_lora(base, recipe), args=args, log=log)
    log(f"  done in {time.perf_counter() - t0:.0f}s -> {paths['tuned']}")
    stamp.write_text(json.dumps({"hash": digest, "recipe": recipe, "base": str(base), "train_seconds": round(time.perf_counter() - t0, 1)}))
    return paths


def run_real_demo(workdir: str | Path = "runs/demo-real", *, model: str | None = None, retrain: bool = False,
                  json_output: bool = False, sizes: Sizes = FULL, judge: str | None = None) -> ResultSet:
    """Fine-tune (or reuse) the real model, run every layer on base vs tuned, print the verdicts,
    write results.json (a ResultSet: each layer's Result by name)."""
    from rich.console import Console

    from tunecheck import render
    from tunecheck._progress import RichProgress
    from tunecheck.generation import GenerateConfig
    from tunecheck.models import GenerationParams
    from tunecheck.overfitting import (
        CopyConfig,
        SweepConfig,
        overfitting_verdict,
        sweep_checkpoints,
    )
    from tunecheck.perplexity import PerplexityConfig
    from tunecheck.scoring import ScoreConfig, score_predictions

    out = Path(workdir)
    console = Console(stderr=json_output)
    started = time.perf_counter()
    paths = prepare(out, model, sizes, retrain=retrain, log=console.print)
    base, tuned = f"{paths['base']},name=base", f"{paths['tuned']},name=tuned"
    progress = RichProgress()
    results: dict[str, Result] = {}
    demo: dict[str, Any] = {"workdir": str(out), "base_model": str(paths["base"]), "recipe": RECIPE, "sizes": asdict(sizes)}
    with progress.running():
        # the task: greedy answers to the test reviews (chat template, stop at end of turn)
        gen = GenerateConfig(params=GenerationParams(max_new_tokens=MAX_NEW_TOKENS), carry=("label", "domain"))
        preds = model_layers(results, base, tuned, paths, "test", out, gen, progress)
        # every epoch's checkpoint on the validation reviews (loss only: generating for each
        # checkpoint would double the demo's time)
        sweep_cfg = SweepConfig(perplexity=PerplexityConfig(completion_only=True))
        sweep = sweep_checkpoints(paths["tuned"] / "trainer", paths["eval"], out / "sweep", sweep_cfg, progress=progress)
    task = score_predictions([str(preds["base"]), str(preds["tuned"])], ScoreConfig("classification", labels=LABELS))
    results["task_classification"] = as_result(task)
    # as a user would run it: the default 13-word spans, against whole training rows
    shared_layers(results, out, paths["tuned"], sweep, paths["train"], paths["test"], preds, CopyConfig())
    signals = [results[k] for k in ("overfit", "curves", "sweep", "copying", "diversity")]
    results["overfitting"] = overfitting_verdict(signals, model="tuned").to_result()
    judged = judge_sections(results, preds, judge, out, progress, console, json_output)
    demo["seconds"] = round(time.perf_counter() - started, 1)
    results["verdict"] = did_it_work(results, demo, verdict_rows(results, "task_classification", "sentiment"))
    return finish(results, out, console, json_output, [
        ("Response perplexity on the test reviews' labels (completion-only)", render.perplexity_tables, "perplexity_responses"),
        ("General text perplexity on held-out prose (did general ability hold?)", render.perplexity_tables, "perplexity_heldout_text"),
        ("Task: sentiment of the test reviews (accuracy, macro-F1)", render.score_tables, "task_classification"),
        *overfitting_sections("Leakage: test reviews vs training reviews"),
        ("Memorisation: answers copying training text", render.copying_tables, "copying"),
        ("Diversity of the answers", render.diversity_tables, "diversity"),
        *judged,
    ])
