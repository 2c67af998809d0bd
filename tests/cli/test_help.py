"""Help texts read as paragraphs: Typer's Rich help keeps a docstring's line breaks, so a
sentence broken across source lines shows broken in `tunecheck --help`'s command list."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import typer.main

from tunecheck.cli import app

_BROKEN = re.compile(r"[^\n]\n(?!\n)")
"""A line break that does not end a paragraph (a paragraph ends at a blank line)."""


def _texts(cmd: click.Command, path: str) -> Iterator[tuple[str, str]]:
    yield path, cmd.help or ""
    yield f"{path} (short)", cmd.short_help or ""
    for param in cmd.params:
        yield f"{path} {param.name}", getattr(param, "help", None) or ""
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _texts(sub, f"{path} {name}")


def test_the_broken_pattern_finds_a_broken_sentence_and_passes_paragraphs() -> None:
    assert _BROKEN.search("Perplexity of each model; every model\nafter the first is compared.")
    assert not _BROKEN.search("One paragraph.\n\nAnother one.")


def test_no_help_text_breaks_a_line_inside_a_paragraph() -> None:
    texts = list(_texts(typer.main.get_command(app), "tunecheck"))
    assert len(texts) > 100  # every command and option was reached
    broken = [where for where, text in texts if _BROKEN.search(text.strip())]
    assert broken == []
