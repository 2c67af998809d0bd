"""Shared option parsing, and the option sets: each declared once in cli/_options.py, shown by
every command that names it in its old place, and turned into one object for the command."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from tunecheck.cli import _options as o
from tunecheck.cli import app
from tunecheck.cli._options import label_list
from tunecheck.data import FieldMap
from tunecheck.models import GenerationParams
from tunecheck.perplexity import PerplexityConfig

CLI = Path(o.__file__).parent
FIELD_FLAGS = ["--text-field", "--prompt-field", "--response-field", "--messages-field", "--input-field", "--id-field"]
SCORING_FLAGS = ["--completion-only", "--template", "--eos", "--max-length", "--stride", "--windows", "--show-tokens",
                 "--batch-size", "--dtype", "--device"]
QUIET_FLAGS = [f for f in SCORING_FLAGS if f != "--show-tokens"]
GENERATION_FLAGS = ["--max-new-tokens", "--temperature", "--top-p", "--n", "--seed", "--stop"]


def test_label_list_strips_and_drops_empty_items():
    assert label_list(" positive, negative ,,neutral ") == ("positive", "negative", "neutral")
    assert label_list(None) is None and label_list("") is None


def _declarations(name: str) -> int:
    """How many parameters called `name` the cli/ sources declare (`    name: ...,`)."""
    pattern = re.compile(rf"^\s+{name}:.*,$", re.M)
    return sum(len(pattern.findall(path.read_text(encoding="utf-8"))) for path in CLI.glob("*.py"))


@pytest.mark.parametrize("name", ["text_field", "prompt_field", "response_field", "messages_field", "input_field",
                                  "completion_only", "eos", "max_length", "stride", "windows", "show_tokens",
                                  "temperature", "top_p"])
def test_a_set_flag_is_declared_once_in_the_cli(name: str) -> None:
    # these flags exist only as part of a set; before the sets, text_field was declared by 9 commands
    assert _declarations(name) == 1


def _options(*command: str) -> list[str]:
    """The command's option names, in the order `--help` lists them."""
    cmd: Any = typer.main.get_command(app)
    for name in command:
        cmd = cmd.commands[name]
    return [p.opts[0] for p in cmd.params]


# (command, the set's flags it must show as one block, the flag just before the block)
_USES = [
    (("perplexity",), SCORING_FLAGS + FIELD_FLAGS, "--data"),
    (("overfit",), SCORING_FLAGS + FIELD_FLAGS, "--some-gap"),
    (("sweep",), QUIET_FLAGS + FIELD_FLAGS, "--html"),
    (("generate",), GENERATION_FLAGS, "--out"),
    (("generate",), FIELD_FLAGS, "--overwrite"),
    (("memorisation", "membership"), QUIET_FLAGS + FIELD_FLAGS, "--k-percent"),
    (("split",), FIELD_FLAGS, "--category-field"),
    (("overlap",), FIELD_FLAGS, "--show"),
    (("memorisation", "copying"), FIELD_FLAGS, "--on"),
    (("memorisation", "extraction"), FIELD_FLAGS, "--device"),
]


@pytest.mark.parametrize(("command", "flags", "before"), _USES)
def test_a_command_shows_its_sets_flags_where_they_always_were(command: tuple[str, ...], flags: list[str], before: str) -> None:
    names = _options(*command)
    start = names.index(before) + 1
    assert names[start:start + len(flags)] == flags


@pytest.mark.parametrize("command", [("perplexity",), ("overfit",), ("sweep",), ("generate",), ("memorisation", "membership")])
def test_help_lists_the_set_flags(command: tuple[str, ...]) -> None:
    flags = {"generate": GENERATION_FLAGS + FIELD_FLAGS, "sweep": QUIET_FLAGS + FIELD_FLAGS,
             "membership": QUIET_FLAGS + FIELD_FLAGS}.get(command[-1], SCORING_FLAGS + FIELD_FLAGS)
    shown = CliRunner().invoke(app, [*command, "--help"], terminal_width=250, env={"COLUMNS": "250"}).output
    for flag in flags:
        assert re.search(rf"{flag}\b", shown), flag
    if command[-1] in ("sweep", "membership"):
        assert "--show-tokens" not in shown


def test_perplexity_help_keeps_its_order() -> None:
    # the order before the sets existed, copied from the old signature
    assert _options("perplexity") == [
        "--model", "--data", "--completion-only", "--template", "--eos", "--max-length", "--stride", "--windows",
        "--show-tokens", "--batch-size", "--dtype", "--device", "--text-field", "--prompt-field", "--response-field",
        "--messages-field", "--input-field", "--id-field", "--n-resamples", "--limit", "--seed", "--per-document",
        "--out", "--format"]


# a toy command: the sets after a parameter with a default, as overfit has them
_toy = typer.Typer()
_got: dict[str, Any] = {}


@_toy.command()
@o.option_sets
def _run(
    gap: Annotated[float, typer.Option(help="A flag of the command's own.")] = 0.5,
    *,
    scoring: o.ScoringOptions,
    fields: o.Fields,
    params: o.Generation,
) -> None:
    _got.update(gap=gap, scoring=scoring, fields=fields, params=params)


_quiet = typer.Typer()


@_quiet.command()
@o.option_sets
def _run_quiet(scoring: o.ScoringQuiet) -> None:
    _got.update(scoring=scoring)


def test_a_command_gets_one_built_object_per_set() -> None:
    _got.clear()
    done = CliRunner().invoke(_toy, ["--gap", "0.25", "--text-field", "body", "--id-field", "key", "--max-length", "64",
                                     "--stride", "16", "--show-tokens", "--eos", "no", "--temperature", "0.7", "--n", "2",
                                     "--stop", "###", "--stop", "\n\n"])
    assert done.exit_code == 0, done.output
    assert _got["gap"] == 0.25
    assert _got["fields"] == FieldMap(text="body", id="key")
    assert _got["scoring"].show_tokens is True
    assert _got["scoring"].config(500, 7) == PerplexityConfig(max_length=64, stride=16, eos="no", n_resamples=500, seed=7)
    assert _got["params"] == GenerationParams(temperature=0.7, n=2, stop=("###", "\n\n"))


def test_defaults_build_the_library_defaults() -> None:
    _got.clear()
    assert CliRunner().invoke(_toy, []).exit_code == 0
    assert _got["fields"] == FieldMap()
    assert _got["scoring"].show_tokens is False
    assert _got["scoring"].config(10_000, 0) == PerplexityConfig()
    assert _got["params"] == GenerationParams()


def test_a_set_without_a_flag_rejects_it() -> None:
    _got.clear()
    done = CliRunner().invoke(_quiet, ["--show-tokens"])
    assert done.exit_code == 2 and "No such option" in done.output
    assert CliRunner().invoke(_quiet, ["--dtype", "float32"]).exit_code == 0
    assert _got["scoring"].config(10_000, 0) == PerplexityConfig(dtype="float32") and not _got["scoring"].show_tokens


def test_without_names_only_flags_of_the_set() -> None:
    with pytest.raises(TypeError, match="no flags"):
        o.SCORING.without("show_token")


class _Stop(Exception):
    """Raised by the stand-in library call, once it has its arguments."""


def test_perplexity_hands_the_library_the_built_config_and_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "eval.jsonl"
    data.write_text('{"body": "one"}\n', encoding="utf-8")
    seen: dict[str, Any] = {}

    def fake(model: list[str], dataset: object, config: PerplexityConfig, **kwargs: Any) -> None:
        seen.update(model=model, dataset=dataset, config=config, **kwargs)
        raise _Stop

    # tunecheck.perplexity is also a function (the notebook API): patch the module
    monkeypatch.setattr(importlib.import_module("tunecheck.perplexity"), "evaluate_perplexity", fake)
    done = CliRunner().invoke(app, ["perplexity", "-m", str(tmp_path), "-d", str(data), "--text-field", "body", "--completion-only",
                             "--max-length", "8", "--n-resamples", "500", "--seed", "5"])
    assert isinstance(done.exception, _Stop), done.output
    assert seen["config"] == PerplexityConfig(completion_only=True, max_length=8, n_resamples=500, seed=5)
    assert seen["fields"] == FieldMap(text="body") and seen["show_tokens"] is None and seen["dataset"] == str(data)


def test_generate_hands_the_library_the_built_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "eval.jsonl"
    data.write_text('{"q": "one"}\n', encoding="utf-8")
    seen: dict[str, Any] = {}

    def fake(model: str, data: str, out: str, config: Any, **kwargs: Any) -> None:
        seen.update(config=config, **kwargs)
        raise _Stop

    monkeypatch.setattr(importlib.import_module("tunecheck.generation"), "generate_predictions", fake)
    done = CliRunner().invoke(app, ["generate", "-m", str(tmp_path), "-d", str(data), "-o", str(tmp_path / "p.jsonl"),
                             "--max-new-tokens", "9", "--seed", "3", "--prompt-field", "q", "--batch-size", "4"])
    assert isinstance(done.exception, _Stop), done.output
    assert seen["config"].params == GenerationParams(max_new_tokens=9, seed=3)
    assert seen["config"].batch_size == 4 and seen["fields"] == FieldMap(prompt="q")
