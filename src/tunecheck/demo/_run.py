"""`tunecheck demo`: build a base model, fine-tune it, and run every layer on base vs tuned.

Offline and CPU-sized. Trained models are cached in the work directory (keyed by a hash of the
recipe), so a second run only evaluates. Later layers add their step here; the LLM-judge step runs
when a judge is configured (`_judge_step`).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecheck.demo import _corpus as world_mod
from tunecheck.demo._judge_step import judge_sections
from tunecheck.demo._train import finetune, pretrain, write_jsonl

if TYPE_CHECKING:
    from tunecheck.core import Comparison, Result, ResultSet

# Bump when the recipe changes so cached models are rebuilt.
RECIPE = {"version": 3, "seed": world_mod.SEED, "countries": world_mod.N_COUNTRIES, "pretrain_steps": 300, "epochs": 5, "lr": 1e-3}


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
    cached = not retrain and is_cached(stamp, _recipe_hash(), paths["tuned"]) and (paths["base"] / "config.json").is_file()
    train_rows, eval_rows = world_mod.shipped_instructions()
    write_jsonl(paths["train"], train_rows)
    write_jsonl(paths["eval"], eval_rows)
    write_jsonl(paths["prose"], [{"id": f"prose-{i}", "text": t} for i, t in enumerate(world_mod.heldout_prose())])
    if cached:
        log("[dim]cached models found: skipping training (use --retrain to train again)[/]")
        return paths
    from tunecheck.models._hf_load import quiet_transformers

    quiet_transformers()  # no per-shard progress bars between the demo's own lines
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


def as_result(report: Any) -> Result:
    """A layer's report as the Result it stores (every layer's report has `to_result()`)."""
    result: Result = report.to_result()
    return result


def model_layers(results: dict[str, Result], base: str, tuned: str, paths: dict[str, Path], test: str, out: Path, gen: Any, progress: Any) -> dict[str, Path]:
    """Perplexity of both models on the responses of `paths[test]` (completion-only) and on
    general prose, the tuned model's train/validation loss gap (validation: `paths["eval"]`),
    and both models' answers to `paths[test]`, into `results`; returns the predictions files."""
    from tunecheck.generation import generate_predictions
    from tunecheck.overfitting import evaluate_overfit
    from tunecheck.perplexity import PerplexityConfig, evaluate_perplexity

    sft = evaluate_perplexity([base, tuned], paths[test], PerplexityConfig(completion_only=True), progress=progress)
    results["perplexity_responses"] = as_result(sft)
    prose = evaluate_perplexity([base, tuned], paths["prose"], PerplexityConfig(), progress=progress)
    results["perplexity_heldout_text"] = as_result(prose)
    gap = evaluate_overfit([tuned], paths["train"], paths["eval"], PerplexityConfig(completion_only=True), progress=progress)
    results["overfit"] = as_result(gap)
    preds = {}
    for spec, name in ((base, "base"), (tuned, "tuned")):
        preds[name] = out / "preds" / f"{name}.jsonl"
        generate_predictions(spec, paths[test], preds[name], gen, overwrite=True, progress=progress)
    return preds


def shared_layers(results: dict[str, Result], out: Path, tuned: Path, sweep: Any, train: Path, eval_: Path, preds: dict[str, Path], copy: Any) -> list[str]:
    """The steps both demos take the same way, into `results`: the training curves (as `tunecheck
    curves` reads them), the sweep's plots, train/eval overlap, copying and diversity of the
    predictions. Returns the predictions as FILE,name=NAME specs."""
    from tunecheck.data import load_data
    from tunecheck.hygiene import check_overlap
    from tunecheck.overfitting import (
        analyse_curves,
        compare_diversity,
        evaluate_copying,
        plot_curves,
        plot_sweep,
        read_curves,
    )

    curves = analyse_curves(read_curves(tuned / "trainer_state.json"))
    plot_curves(curves, png=out / "curves.png", html=out / "curves.html")
    results["curves"] = as_result(curves)
    plot_sweep(sweep, png=out / "sweep.png", html=out / "sweep.html")
    results["sweep"] = as_result(sweep)
    results["overlap"] = check_overlap(load_data(train), load_data(eval_)).to_result()
    specs = [f"{path},name={name}" for name, path in preds.items()]
    results["copying"] = as_result(evaluate_copying(specs, train, copy))
    results["diversity"] = as_result(compare_diversity(specs))
    return specs


def is_cached(stamp: Path, recipe_hash: str, tuned: Path) -> bool:
    """A trained adapter with its checkpoints is in `tuned`, made by the recipe with this hash."""
    ok = stamp.is_file() and json.loads(stamp.read_text()).get("hash") == recipe_hash
    return ok and (tuned / "adapter_config.json").is_file() and any((tuned / "trainer").glob("checkpoint-*"))


def run_demo(workdir: str | Path = "runs/demo", *, retrain: bool = False, json_output: bool = False, judge: str | None = None) -> ResultSet:
    """Train (or reuse) the demo models, evaluate every layer, print a verdict, write results.json
    (a ResultSet: each layer's Result by name). Reproducible on a given machine: two runs print
    the same figures (see `_seed`)."""
    from tunecheck.demo._seed import reproducible

    with reproducible():
        return _run_demo(Path(workdir), retrain=retrain, json_output=json_output, judge=judge)


def _run_demo(out: Path, *, retrain: bool, json_output: bool, judge: str | None = None) -> ResultSet:
    from rich.console import Console

    from tunecheck import render
    from tunecheck._progress import RichProgress
    from tunecheck.generation import GenerateConfig
    from tunecheck.models import GenerationParams
    from tunecheck.overfitting import (
        CopyConfig,
        ExtractionConfig,
        SweepConfig,
        evaluate_extraction,
        overfitting_verdict,
        sweep_checkpoints,
    )
    from tunecheck.perplexity import PerplexityConfig
    from tunecheck.scoring import ScoreConfig, score_predictions

    console = Console(stderr=json_output)
    paths = prepare(out, retrain=retrain, log=console.print)
    base = f"{paths['base']},name=base"
    tuned = f"{paths['tuned']},name=tuned"
    progress = RichProgress()
    results: dict[str, Result] = {}
    with progress.running():
        # the task itself: answer the held-out questions, then exact match / token F1 against the
        # reference answers, clustered by country (four questions share one country's facts)
        gen = GenerateConfig(params=GenerationParams(max_new_tokens=24, stop=("\n",)), carry=("country_index",))
        preds = model_layers(results, base, tuned, paths, "eval", out, gen, progress)
        # the checkpoint sweep: every epoch's adapter on the validation questions (and training ones)
        sweep = sweep_checkpoints(paths["tuned"] / "trainer", paths["eval"], out / "sweep", SweepConfig(perplexity=PerplexityConfig(completion_only=True)),
                                  train_data=paths["train"], progress=progress)
        # memorisation: does the tuned model answer its training prompts word for word?
        extraction = evaluate_extraction([base, tuned], paths["train"], ExtractionConfig(prefix="prompt", n_samples=120), progress=progress)
    task = score_predictions([str(preds["base"]), str(preds["tuned"])], ScoreConfig("qa", cluster_field="country_index"))
    results["task_qa"] = as_result(task)
    # the demo's answers are one sentence (6-9 words), too short to hold a 13-gram: count 6-word spans
    shared_layers(results, out, paths["tuned"], sweep, paths["train"], paths["eval"], preds, CopyConfig(n=6))
    results["extraction"] = as_result(extraction)
    judged = judge_sections(results, preds, judge, out, progress, console, json_output)
    verdict_of = overfitting_verdict([results[k] for k in ("overfit", "curves", "sweep", "copying", "diversity", "extraction")], model="tuned")
    results["overfitting"] = verdict_of.to_result()
    results["verdict"] = did_it_work(results, {"workdir": str(out), "recipe": RECIPE}, verdict_rows(results))
    return finish(results, out, console, json_output, [
        ("Response perplexity on held-out questions (completion-only)", render.perplexity_tables, "perplexity_responses"),
        ("General text perplexity (sanity check: did fine-tuning break the LM?)", render.perplexity_tables, "perplexity_heldout_text"),
        ("Task: answers to held-out questions (exact match, token F1)", render.score_tables, "task_qa"),
        *overfitting_sections("Leakage: held-out questions vs training data"),
        ("Memorisation: answers copying training text, training answers reproduced", render.copying_tables, "copying"),
        (None, render.extraction_tables, "extraction"),
        ("Diversity of the answers", render.diversity_tables, "diversity"),
        *judged,
    ])


Section = tuple[str | None, Callable[[Any], None], str]
"""(rule title or None, renderer, results key): one part of the demo's terminal output."""


def overfitting_sections(leakage_title: str) -> list[Section]:
    """The gap, curves, sweep and leakage parts, the same in every demo."""
    from tunecheck import render

    return [
        ("Overfitting: train/validation loss gap", render.overfit_tables, "overfit"),
        ("Overfitting: the fine-tune's training curves (trainer_state.json)", render.curves_table, "curves"),
        (None, _no_table, "plots:curves"),
        ("Overfitting: every epoch's checkpoint on the validation set (tunecheck sweep)", render.sweep_table, "sweep"),
        (None, _no_table, "plots:sweep"),
        (leakage_title, render.overlap_tables, "overlap"),
    ]


def _no_table(_: Any) -> None:
    """A section that is only a line about plot files (printed by `finish`)."""


def finish(results: dict[str, Result], out: Path, console: Any, json_output: bool, sections: list[Section]) -> ResultSet:
    """Write results.json (the ResultSet), then print it as JSON or as the sections' tables and
    the verdict."""
    from tunecheck import _io, render
    from tunecheck.core import ResultSet

    written = ResultSet(dict(results))
    _io.write_json(out / "results.json", written.to_dict())
    if json_output:
        render.print_json(_io.clean(written.to_dict()))
        return written
    for title, show, key in sections:
        if title:
            console.rule(title)
        if key.startswith("plots:"):
            name = key.removeprefix("plots:")
            console.print(f"plots: [bold]{out / (name + '.png')}[/], [bold]{out / (name + '.html')}[/]")
        else:
            show(results[key])
    render.verdict_tables(results["verdict"])
    console.print(f"results written to [bold]{out / 'results.json'}[/]")
    return written


def did_it_work(results: Mapping[str, Result], demo: dict[str, Any], headline: list[dict[str, str]]) -> Result:
    """The one verdict (`tunecheck verdict`) over every layer's result the demo made (the
    held-out prose is the general text), with the demo's run and headline rows in its details."""
    from tunecheck.verdict import GENERAL, TASK, Given
    from tunecheck.verdict import did_it_work as verdict_of

    given = [Given(r, k, GENERAL if k == "perplexity_heldout_text" else TASK) for k, r in results.items()
             if r.layer not in ("overfitting", "verdict")]
    result = verdict_of(given, "tuned").to_result()
    result.details.update(demo=demo, headline=headline)
    return result


def verdict_rows(results: Mapping[str, Result], task: str = "task_qa", what: str = "answer") -> list[dict[str, str]]:
    """The headline rows: each comparison with the base, the loss gap's signal, the overfitting status."""
    rows = []
    for key, check in (("perplexity_responses", "response perplexity (task data)"), ("perplexity_heldout_text", "general text perplexity")):
        for c in results[key].comparisons:
            rows.append({"check": check, "model": c.model, "verdict": c.verdict.value,
                         "evidence": f"{c.metric} {c.baseline_value:.3f} -> {c.value:.3f} ({_change(c.extra['improvement_pct'])}), p={c.p_value:.4f}"})
    for c in results[task].comparisons:
        rows.append({"check": f"task: {what} {c.metric.replace('_', ' ')}", "model": c.model, "verdict": c.verdict.value,
                     "evidence": f"{c.baseline_value:.3f} -> {c.value:.3f} (CI of the change [{c.ci95[0]:+.3f}, {c.ci95[1]:+.3f}]), {_p(c)}"})
    for s in results["overfit"].signals:
        rows.append({"check": "train/eval loss gap", "model": s.model, "verdict": s.status.value, "evidence": s.evidence})
    if "overfitting" in results:
        o = results["overfitting"]
        rows.append({"check": "overfitting (all signals)", "model": o.model_names()[0], "verdict": str(o.details["status"]), "evidence": str(o.details["summary"])})
    return rows


def _p(c: Comparison) -> str:
    """The p-value the verdict was decided on: Holm-adjusted when several metrics were compared."""
    return f"p(Holm)={c.p_value_holm:.4f}" if c.p_value_holm is not None else f"p={c.p_value:.4f}"


def _change(improvement_pct: float) -> str:
    return f"{improvement_pct:.1f}% lower" if improvement_pct >= 0 else f"{-improvement_pct:.1f}% higher"
