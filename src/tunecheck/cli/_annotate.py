"""`tunecheck annotate`: the annotation web app over predictions files (rubric scoring or blind
A/B), its answers in an SQLite store; `--export` writes them in the interchange format without
starting the server. Thin: check paths, build the items, make the app, serve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunecheck import render as r
from tunecheck._files import Output, check_paths
from tunecheck.cli import _options as o
from tunecheck.cli._app import app, state
from tunecheck.errors import ConfigError, DataError


@app.command()
@o.option_sets
def annotate(
    preds: Annotated[list[str] | None, typer.Argument(help="Predictions JSONL files (FILE or FILE,name=NAME), the same samples, the first the baseline; or one JSON sheet from `tunecheck sheet export` (its task is used).")] = None,
    task: Annotated[str, typer.Option(help="rubric (score each model's output on each criterion, plus a note) or ab (blind A/B/tie between two models).")] = "rubric",
    rubric: Annotated[str, typer.Option(help="Rubric task: quality-5, quality-10, reference-correctness, or a YAML/JSON rubric file.")] = "quality-5",
    data: Annotated[str | None, typer.Option("--data", "-d", help="The data set the predictions answer: questions and references by id (default: what the predictions files carry).")] = None,
    store: Annotated[str, typer.Option(help="The answers store (SQLite); reuse it to resume.")] = "answers.sqlite",
    host: Annotated[str, typer.Option(help="Address to listen on; other than loopback (127.0.0.1) needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[str | None, typer.Option(help="Secret every request must carry (the printed URL has it); required with a non-loopback --host.", envvar="TUNECHECK_ANNOTATE_TOKEN")] = None,
    export: Annotated[str | None, typer.Option(help="Write the answers in the store to this .csv or .json (the format `judge --human` and the results read) and exit; no server.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the blind A/B sides and the order of outputs within an item.")] = 0,
    key: Annotated[str | None, typer.Option(help="With a blind sheet: its key (SHEET.key.json), so answers are stored by model.")] = None,
    *,
    fields: o.Fields,
) -> None:
    """A local web page where people score outputs on a rubric or choose blind between two models, keyboard first; every answer is saved at once in SQLite and a restart resumes where each person stopped."""
    from tunecheck.human._app import build_units, check_bind, is_loopback, make_app, serve
    from tunecheck.human._store import AnswerStore

    if task not in ("rubric", "ab"):
        raise ConfigError(f"--task {task}: use rubric or ab")
    rubric_file = rubric if Path(rubric).suffix.lower() in (".yaml", ".yml", ".json") else None
    if export is not None:
        from tunecheck.human._export import export_format, write_export

        check_paths([store], [Output(export, "--export")])
        export_format(export)
        if not Path(store).expanduser().is_file():
            raise DataError(f"--store {store}: no such answers store (check the path)")
        with AnswerStore(store) as answers:
            n = write_export(answers, export, task)
        r.to_stderr(f"wrote {n} answer rows to {export}")
        return
    if not preds:
        raise ConfigError("give the predictions files to annotate (tunecheck annotate base.jsonl tuned.jsonl), or --export OUT")
    check_paths([*preds, data, rubric_file, key], [Output(store, "--store")])
    check_bind(host, port, token)
    from tunecheck.human._items import items_from_predictions

    spreadsheet = next((p for p in preds if Path(p.split(",")[0]).suffix.lower() in (".csv", ".tsv")), None)
    if spreadsheet is not None:
        raise ConfigError(f"{spreadsheet}: a CSV sheet is for a spreadsheet; annotate takes the JSON sheet "
                          "(tunecheck sheet export --out NAME.json) or predictions JSONL files")
    if len(preds) == 1 and Path(preds[0]).suffix.lower() == ".json":
        from tunecheck.human._sheet import items_from_sheet

        items, task = items_from_sheet(preds[0], key=key)
    else:
        dataset = None
        if data is not None:
            from tunecheck.data import load_data

            dataset = load_data(data, fields)
        items = items_from_predictions(preds, data=dataset)
    rubric_obj = None
    if task == "rubric":
        from tunecheck.judge import load_rubric

        rubric_obj = load_rubric(rubric)
    build_units(items, task, seed)  # an A/B of other than two models fails before the store is made
    with AnswerStore(store) as answers:
        web = make_app(items, answers, task=task, rubric=rubric_obj, token=token, seed=seed,
                       hosts=("127.0.0.1", "localhost") if is_loopback(host) else ("*",))
        if host in ("0.0.0.0", "::"):  # every interface: name the machine, not the wildcard
            import socket

            shown = socket.gethostname()
        else:
            shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        state["interrupt_hint"] = f"every answer is saved in {store}; run the same command again to continue"
        typer.echo(f"annotate: {len(items)} items, task {task}; answers in {store}")
        typer.echo(f"open {url}  (Ctrl-C stops)", err=False)
        serve(web, host, port)
