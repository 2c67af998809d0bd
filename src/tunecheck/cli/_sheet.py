"""`tunecheck sheet export` / `tunecheck sheet import`: evaluation sheets for people (JSON, CSV or
Label Studio tasks) and the completed sheets read back, validated, as people's ratings. Thin:
parse options, call `human._sheet` / `human._labelstudio`, say what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunecheck import render as r
from tunecheck._files import Output, check_paths
from tunecheck.cli import _options as o
from tunecheck.cli._app import app
from tunecheck.errors import ConfigError

sheet = typer.Typer(help="Evaluation sheets: export a sample for people to rate (JSON, CSV, Label Studio), import their completed sheets.", no_args_is_help=True)
app.add_typer(sheet, name="sheet")


def _format(fmt: str | None, out: str) -> str:
    if fmt is None:
        return "csv" if Path(out).suffix.lower() == ".csv" else "json"
    if fmt not in ("json", "csv", "labelstudio"):
        raise ConfigError(f"--format {fmt!r}: use json, csv or labelstudio")
    return fmt


@sheet.command("export")
def export(
    preds: Annotated[list[str], typer.Option("--preds", "-p", help="Predictions JSONL (FILE or FILE,name=NAME). Repeat for each model; the first is the baseline.")],
    out: Annotated[str, typer.Option("--out", "-o", help="The sheet (.json or .csv) or Label Studio tasks (.json); the key is written beside it as OUT.key.json.")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="The data set the predictions answer: prompts, references and categories by id (default: what the predictions files carry).")] = None,
    n: Annotated[int | None, typer.Option("--n", help="Items on the sheet, drawn at random (seeded); default: every item.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the sample and the blind A/B order.")] = 0,
    stratify: Annotated[str | None, typer.Option(help="Draw from each value of this field in proportion (at least one each).")] = None,
    task: Annotated[str, typer.Option(help="rubric (score each output on each criterion) or ab (the better of two outputs: A, B or tie).")] = "rubric",
    rubric: Annotated[str, typer.Option(help="Rubric task: quality-5, quality-10, reference-correctness, or a YAML/JSON rubric file.")] = "quality-5",
    blind: Annotated[bool, typer.Option("--blind", help="Hide model names behind A, B (a random order per item); the key file says which is which.")] = False,
    format: Annotated[str | None, typer.Option("--format", "-f", help="json, csv or labelstudio (tasks JSON plus OUT.config.xml); default from OUT's extension.")] = None,
) -> None:
    """Write a sheet of a seeded sample of items with every model's output and empty scores (or an empty A/B choice) for people to fill in."""
    from tunecheck.human._items import items_from_predictions
    from tunecheck.human._labelstudio import config_path_for, export_labelstudio
    from tunecheck.human._sheet import export_sheet
    from tunecheck.human._sheetkey import key_path_for
    from tunecheck.judge import load_rubric

    fmt = _format(format, out)
    if task not in ("rubric", "ab"):
        raise ConfigError(f"--task {task!r}: use rubric or ab")
    outputs = [Output(out), Output(str(key_path_for(out)), "--out (its key)")]
    if fmt == "labelstudio":
        outputs.append(Output(str(config_path_for(out)), "--out (its labeling config)"))
    check_paths([*preds, data, rubric], outputs)
    rub = load_rubric(rubric) if task == "rubric" else None
    dataset = None
    if data is not None:
        from tunecheck.data import load_data

        dataset = load_data(data)
    items = items_from_predictions(preds, data=dataset, category_field=stratify or "category")
    if fmt == "labelstudio":
        info = export_labelstudio(items, out, n=n, seed=seed, stratify=stratify, task=task, rubric=rub, blind=blind)
    else:
        info = export_sheet(items, out, n=n, seed=seed, stratify=stratify, task=task, rubric=rub, blind=blind, fmt=fmt)
    what = f"rubric {rub.name}" if rub else "A/B"
    cats = f", {len(info.categories)} {stratify} values" if info.categories else ""
    config = f"; labeling config {info.config_path}" if info.config_path else ""
    secret = " (keep it from the annotators)" if blind else ""
    typer.echo(f"wrote {info.path}: {info.items} items, {info.rows} to rate ({what}{', blind' if blind else ''}{cats}); key {info.key_path}{secret}{config}")


@sheet.command("import")
def import_(
    paths: Annotated[list[str], typer.Argument(help="Completed sheets (.json or .csv), one or several annotators; or Label Studio JSON exports with --from labelstudio.")],
    key: Annotated[str | None, typer.Option(help="The key written with the sheet (OUT.key.json): needed for blind sheets, checks ids and hash for any.")] = None,
    rubric: Annotated[str | None, typer.Option(help="The sheet's rubric (default: from the key or the JSON sheet).")] = None,
    source: Annotated[str, typer.Option("--from", help="sheet (tunecheck's JSON/CSV sheets) or labelstudio (Label Studio's JSON export).")] = "sheet",
    ratings_out: Annotated[str | None, typer.Option("--ratings", help="Also write the ratings here (.csv, .json or .jsonl), in the format tunecheck judge --human reads.")] = None,
    baseline: Annotated[str | None, typer.Option(help="The model the others are compared with (default: the first the ratings name).")] = None,
    n_resamples: o.Resamples = 10_000,
    seed: o.Seed = 0,
    out: o.Out = None,
    format: o.Format = "table",
) -> None:
    """Read completed sheets, check every row (scale, missing scores, unknown or repeated ids, the blind key), and report people's scores or A/B choices with CIs, base vs tuned, and their agreement."""
    from tunecheck.human._labelstudio import cancelled, import_labelstudio
    from tunecheck.human._results import summarise, write_ratings
    from tunecheck.human._sheet import import_sheets
    from tunecheck.judge import load_rubric

    if source not in ("sheet", "labelstudio"):
        raise ConfigError(f"--from {source!r}: use sheet or labelstudio")
    o.check_format(format)
    if ratings_out is not None and Path(ratings_out).suffix.lower() not in (".csv", ".json", ".jsonl"):
        raise ConfigError(f"--ratings {ratings_out}: use .csv, .json or .jsonl for the ratings")
    check_paths([*paths, key, rubric], [Output(ratings_out, "--ratings") if ratings_out else None, Output(out) if out else None])
    rub = load_rubric(rubric) if rubric else None
    read = import_labelstudio if source == "labelstudio" else import_sheets
    ratings = read(paths, key=key, rubric=rub)
    result = summarise(ratings, baseline=baseline, n_resamples=n_resamples, seed=seed)  # before anything is written
    if ratings_out is not None:
        write_ratings(ratings, ratings_out)
    rows = ratings.scores or ratings.choices
    people = ratings.annotators
    ids = len({r.id for r in rows})
    if ratings.kind == "scores":
        models = sorted({s.model for s in ratings.scores})
        criteria = list(dict.fromkeys(s.criterion for s in ratings.scores))
        what = f"{len(rows)} scores of {ids} ids, {len(models)} models ({', '.join(models)}), {len(criteria)} criteria"
    else:
        what = f"{len(rows)} A/B choices of {ids} ids"
    notes = [f"wrote {ratings_out}"] if ratings_out else []
    skipped = cancelled(paths) if source == "labelstudio" else 0
    if skipped:
        notes.append(f"{skipped} annotation{'s' if skipped != 1 else ''} skipped in Label Studio left out")
    if key is None:
        notes.append("ids not checked against a key (pass --key)")
    tail = "".join(f"; {n}" for n in notes)
    line = f"read {len(paths)} sheet{'s' if len(paths) != 1 else ''}: {what}, by {len(people)} annotator{'s' if len(people) != 1 else ''} ({', '.join(people)}){tail}"
    typer.echo(line, err=format == "json")  # stdout stays JSON
    r.emit(result, out, format, r.human_tables)
