"""`tunecheck demo`: build a base model, fine-tune it, and run every layer on base vs tuned.

Offline and CPU-sized. Trained models are cached in the work directory (keyed by a hash of the
recipe), so a second run only evaluates. Later layers add their step here.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Any

from tunecheck.demo import _corpus as world_mod
from tunecheck.demo._train import finetune, pretrain, write_jsonl

# Bump when the recipe changes so cached models are rebuilt.
RECIPE = {"version": 2, "seed": world_mod.SEED, "countries": world_mod.N_COUNTRIES, "pretrain_steps": 300, "epochs": 5, "lr": 1e-3}


def _recipe_hash() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:12]


def prepare(workdir: Path, *, retrain: bool = False, log: Any = print) -> dict[str, Path]:
    """Data files and trained models, reusing the cache when the recipe is unchanged."""
    paths = {
        "base": workdir / "base",
        "tuned": workdir / "tuned",
        "train": workdir / "data" / "train.jsonl",
        "eval": workdir / "data" / "eval.jsonl",
        "prose": workdir / "data" / "heldout_prose.jsonl",
    }
    stamp = workdir / "recipe.json"
    cached = not retrain and stamp.is_file() and json.loads(stamp.read_text()).get("hash") == _recipe_hash()
    cached = cached and (paths["base"] / "config.json").is_file() and (paths["tuned"] / "adapter_config.json").is_file()
    cached = cached and any((paths["tuned"] / "trainer").glob("checkpoint-*"))
    train_rows, eval_rows = world_mod.shipped_instructions()
    write_jsonl(paths["train"], train_rows)
    write_jsonl(paths["eval"], eval_rows)
    write_jsonl(paths["prose"], [{"id": f"prose-{i}", "text": t} for i, t in enumerate(world_mod.heldout_prose())])
    if cached:
        log("[dim]cached models found: skipping training (use --retrain to train again)[/]")
        return paths
    from tunecheck.models._hf import _quiet_transformers

    _quiet_transformers()  # no per-shard progress bars between the demo's own lines
    t0 = time.perf_counter()
    log("pre-training a small base model on the synthetic world ...")
    pretrain(world_mod.corpus(world_mod.world()), paths["base"], steps=int(RECIPE["pretrain_steps"]))
    log(f"  done in {time.perf_counter() - t0:.0f}s -> {paths['base']}")
    t1 = time.perf_counter()
    log("LoRA fine-tuning it on the instruction set (transformers Trainer + peft) ...")
    with warnings.catch_warnings():  # deprecation notices from inside transformers' Trainer
        warnings.simplefilter("ignore", FutureWarning)
        finetune(paths["base"], train_rows, eval_rows, paths["tuned"], epochs=int(RECIPE["epochs"]), lr=float(RECIPE["lr"]))
    log(f"  done in {time.perf_counter() - t1:.0f}s -> {paths['tuned']}")
    stamp.write_text(json.dumps({"hash": _recipe_hash(), "recipe": RECIPE}))
    return paths


def run_demo(workdir: str | Path = "runs/demo", *, retrain: bool = False, json_output: bool = False) -> dict[str, Any]:
    """Train (or reuse) the demo models, evaluate every layer, print a verdict, write results.json."""
    from rich.console import Console

    from tunecheck import _io
    from tunecheck._progress import RichProgress
    from tunecheck.cli import _render as render
    from tunecheck.cli import _render_overfitting as render_of
    from tunecheck.data import load_data
    from tunecheck.generation import GenerateConfig, generate_predictions
    from tunecheck.hygiene import check_overlap
    from tunecheck.models import GenerationParams
    from tunecheck.overfitting import (
        CopyConfig,
        ExtractionConfig,
        SweepConfig,
        analyse_curves,
        compare_diversity,
        evaluate_copying,
        evaluate_extraction,
        evaluate_overfit,
        overfitting_verdict,
        plot_curves,
        plot_sweep,
        read_curves,
        sweep_checkpoints,
    )
    from tunecheck.perplexity import PerplexityConfig, evaluate_perplexity
    from tunecheck.scoring import ScoreConfig, score_predictions

    out = Path(workdir)
    console = Console(stderr=json_output)
    paths = prepare(out, retrain=retrain, log=console.print)
    base = f"{paths['base']},name=base"
    tuned = f"{paths['tuned']},name=tuned"
    progress = RichProgress()
    results: dict[str, Any] = {"demo": {"workdir": str(out), "recipe": RECIPE}}
    with progress.running():
        sft = evaluate_perplexity([base, tuned], paths["eval"], PerplexityConfig(completion_only=True), progress=progress)
        prose = evaluate_perplexity([base, tuned], paths["prose"], PerplexityConfig(), progress=progress)
        gap = evaluate_overfit([tuned], paths["train"], paths["eval"], PerplexityConfig(completion_only=True), progress=progress)
        # the task itself: answer the held-out questions, then exact match / token F1 against the
        # reference answers, clustered by country (four questions share one country's facts)
        gen = GenerateConfig(params=GenerationParams(max_new_tokens=24, stop=("\n",)), carry=("country_index",))
        preds = {}
        for spec, name in ((base, "base"), (tuned, "tuned")):
            preds[name] = out / "preds" / f"{name}.jsonl"
            generate_predictions(spec, paths["eval"], preds[name], gen, overwrite=True, progress=progress)
        # the checkpoint sweep: every epoch's adapter on the validation questions (and training ones)
        sweep = sweep_checkpoints(paths["tuned"] / "trainer", paths["eval"], out / "sweep", SweepConfig(perplexity=PerplexityConfig(completion_only=True)),
                                  train_data=paths["train"], progress=progress)
        # memorisation: does the tuned model answer its training prompts word for word?
        extraction = evaluate_extraction([base, tuned], paths["train"], ExtractionConfig(prefix="prompt", n_samples=120), progress=progress)
    task = score_predictions([str(preds["base"]), str(preds["tuned"])], ScoreConfig("qa", cluster_field="country_index"))
    results["task_qa"] = _io.clean(task.to_dict())
    results["perplexity_responses"] = _io.clean(sft.to_dict())
    results["perplexity_heldout_text"] = _io.clean(prose.to_dict())
    results["overfit"] = _io.clean(gap.to_dict())
    # the fine-tune's own training log: the curves, as `tunecheck curves` reads them
    curves = analyse_curves(read_curves(paths["tuned"] / "trainer_state.json"))
    plot_curves(curves, png=out / "curves.png", html=out / "curves.html")
    results["curves"] = _io.clean(curves.to_dict())
    plot_sweep(sweep, png=out / "sweep.png", html=out / "sweep.html")
    results["sweep"] = _io.clean(sweep.to_dict())
    results["overlap"] = _io.clean(check_overlap(load_data(paths["train"]), load_data(paths["eval"])).to_dict())
    # the demo's answers are one sentence (6-9 words), too short to hold a 13-gram: count 6-word spans
    copy_preds = [f"{preds['base']},name=base", f"{preds['tuned']},name=tuned"]
    results["copying"] = _io.clean(evaluate_copying(copy_preds, paths["train"], CopyConfig(n=6)).to_dict())
    results["extraction"] = _io.clean(extraction.to_dict())
    results["diversity"] = _io.clean(compare_diversity(copy_preds).to_dict())
    verdict_of = overfitting_verdict(
        [results[k] for k in ("overfit", "curves", "sweep", "copying", "diversity", "extraction")], model="tuned"
    )
    results["overfitting"] = _io.clean(verdict_of.to_dict())
    results["verdict"] = verdict_rows(results)
    _io.write_json(out / "results.json", results)
    if json_output:
        render.print_json(results)
    else:
        console.rule("Response perplexity on held-out questions (completion-only)")
        render.perplexity_tables(results["perplexity_responses"])
        console.rule("General text perplexity (sanity check: did fine-tuning break the LM?)")
        render.perplexity_tables(results["perplexity_heldout_text"])
        console.rule("Task: answers to held-out questions (exact match, token F1)")
        render.score_tables(results["task_qa"])
        console.rule("Overfitting: train/validation loss gap")
        render.overfit_tables(results["overfit"])
        console.rule("Overfitting: the fine-tune's training curves (trainer_state.json)")
        render_of.curves_table(results["curves"])
        console.print(f"plots: [bold]{out / 'curves.png'}[/], [bold]{out / 'curves.html'}[/]")
        console.rule("Overfitting: every epoch's checkpoint on the validation set (tunecheck sweep)")
        render_of.sweep_table(results["sweep"])
        console.print(f"plots: [bold]{out / 'sweep.png'}[/], [bold]{out / 'sweep.html'}[/]")
        console.rule("Leakage: held-out questions vs training data")
        render_of.overlap_tables(results["overlap"])
        console.rule("Memorisation: answers copying training text, training answers reproduced")
        render_of.copying_tables(results["copying"])
        render_of.extraction_tables(results["extraction"])
        console.rule("Diversity of the answers")
        render_of.diversity_tables(results["diversity"])
        render_of.verdict_table(results["overfitting"])
        verdict_table(results["verdict"], console)
        console.print(f"results written to [bold]{out / 'results.json'}[/]")
    return results


def verdict_rows(results: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for key, check in (("perplexity_responses", "response perplexity (task data)"), ("perplexity_heldout_text", "general text perplexity")):
        for c in results[key]["comparison"]:
            rows.append({"check": check, "model": c["model"], "verdict": c["verdict"], "evidence": f"{c['metric']} {c['baseline_value']:.3f} -> {c['value']:.3f} ({_change(c['improvement_pct'])}), p={c['p_value']:.4f}"})
    for c in results["task_qa"]["comparison"]:
        rows.append({"check": f"task: answer {c['metric'].replace('_', ' ')}", "model": c["model"], "verdict": c["verdict"],
                     "evidence": f"{c['baseline_value']:.3f} -> {c['value']:.3f} (CI of the change [{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]), p={c['p_value']:.4f}"})
    for m in results["overfit"]["models"]:
        word = {"none": "ok", "some": "warning", "high": "overfit"}[m["level"]]
        rows.append({"check": "train/eval loss gap", "model": m["model"], "verdict": word, "evidence": f"gap {m['gap']:.3f} nats/token: {m['message']}"})
    if "overfitting" in results:
        o = results["overfitting"]
        rows.append({"check": "overfitting (all signals)", "model": o["model"], "verdict": o["status"], "evidence": o["summary"]})
    return rows


def _change(improvement_pct: float) -> str:
    return f"{improvement_pct:.1f}% lower" if improvement_pct >= 0 else f"{-improvement_pct:.1f}% higher"


def verdict_table(rows: list[dict[str, str]], console: Any) -> None:
    from rich.table import Table

    style = {"improved": "bold green", "ok": "green", "regressed": "bold red", "overfit": "bold red", "inconclusive": "yellow", "warning": "yellow", "healthy": "bold green", "overfitting": "bold red"}
    table = Table(title="Verdict: did the fine-tune work?")
    for col in ("check", "model", "verdict", "evidence"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["check"], r["model"], f"[{style.get(r['verdict'], '')}]{r['verdict']}[/]", r["evidence"])
    console.print(table)
