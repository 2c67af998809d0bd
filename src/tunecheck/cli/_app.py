"""The Typer app and the state its commands share; commands live in `_main` and `_overfitting`."""

from __future__ import annotations

from typing import Annotated

import typer

from tunecheck._progress import RichProgress

app = typer.Typer(
    name="tunecheck",
    help="Did the fine-tune work? Evaluate a base model against tuned models, honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

state: dict[str, object] = {"debug": False, "interrupt_hint": ""}


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    state["debug"] = state["debug"] or debug


def progress() -> RichProgress:
    return RichProgress()
