"""`tunecheck ab`: blind A/B of two predictions files in the terminal, for one person without a
browser. Thin: check the inputs and outputs, build the items, run `human._terminal.run_ab` on
the keyboard, export."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from tunecheck._files import Output, check_paths
from tunecheck.cli import _options as o
from tunecheck.cli._app import app, state
from tunecheck.errors import ConfigError


def _who(annotator: str | None) -> str:
    from tunecheck.human._store import check_annotator

    if annotator is None:
        try:
            annotator = getpass.getuser()
        except (KeyError, OSError):
            raise ConfigError("--annotator: no login name to use; give your name, e.g. --annotator ana") from None
    return check_annotator(annotator)


@app.command()
@o.option_sets
def ab(
    preds: Annotated[list[str], typer.Option("--preds", "-p", help="Two predictions JSONL files (FILE or FILE,name=NAME): the baseline, then the tuned model.")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="The data set the predictions answer: prompts and references by id (default: what the predictions files carry).")] = None,
    store: Annotated[str, typer.Option("--store", help="SQLite file of answers: every answer is saved in it at once; run again to resume.")] = "answers.sqlite",
    annotator: Annotated[str | None, typer.Option("--annotator", help="Your name, as the answers record it (default: your login name).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the blind order (which output is A) per item.")] = 0,
    export: Annotated[str | None, typer.Option("--export", metavar="OUT", help="At the end, write all the store's A/B answers here (.csv, .tsv, .json or .jsonl), as `judge --human` and the sheets read them.")] = None,
    page: Annotated[int | None, typer.Option(help="Lines per screen for long items (default: the terminal's height).")] = None,
    *,
    fields: o.Fields,
) -> None:
    """Blind A/B in the terminal: both outputs in full, labelled A and B only; a, b or t chooses, s skips, p goes back, q quits; each answer is saved at once and a second run resumes."""
    from rich.console import Console

    from tunecheck.human._export import check_export_path, write_answers
    from tunecheck.human._items import items_from_predictions
    from tunecheck.human._keys import terminal_keys
    from tunecheck.human._store import AnswerStore
    from tunecheck.human._terminal import run_ab

    if len(preds) != 2:
        raise ConfigError(f"--preds: A/B compares two predictions files, got {len(preds)}; give --preds BASE --preds TUNED")
    if page is not None and page < 3:
        raise ConfigError(f"--page {page}: give at least 3 lines per screen")
    who = _who(annotator)
    if export is not None:
        check_export_path(export)
    check_paths([*preds, data], [Output(store, "--store"), Output(export, "--export") if export else None])
    dataset = None
    if data is not None:
        from tunecheck.data import load_data

        dataset = load_data(data, fields)
    items = items_from_predictions(preds, data=dataset)
    console = Console(highlight=False, emoji=False)
    with AnswerStore(store) as answers:
        answers.bind("ab", list(items[0].outputs) if items else [], seed=seed)
        later = " (and press q to write --export)" if export else ""
        state["interrupt_hint"] = f"every answer so far is saved in {store}; run the same command again to continue{later}"
        with terminal_keys() as read_key:
            run_ab(items, answers, who, read_key=read_key, console=console, seed=seed, page=page)
        state["interrupt_hint"] = ""
        if export is not None:
            n = write_answers(answers, export, kind="ab")
            console.print(f"exported {n} A/B answer{'s' if n != 1 else ''} to {export}", markup=False, soft_wrap=True)
