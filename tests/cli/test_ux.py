"""What a user sees from the CLI: help texts that say what each option does, --limit on the
commands that load models, and classification details in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.test_cli_errors import one_error_line, tunecheck
from tests.schema import assert_valid_result
from tunecheck.cli import app

COMMANDS = [["perplexity"], ["overfit"], ["split"], ["generate"], ["score"], ["curves"], ["sweep"], ["overlap"],
            ["diversity"], ["verdict"], ["demo"], ["memorisation", "copying"], ["memorisation", "extraction"],
            ["memorisation", "membership"], ["memorisation", "rephrase"]]


def _help(command: list[str]) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    # drop Rich's box drawing so wrapped help reads as one text
    return " ".join(result.output.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_promises_only_what_the_command_writes(command):
    text = _help(command)
    # only perplexity writes per-document values with --out (and score per-sample scores)
    assert ("per-document values" in text) == (command == ["perplexity"])
    assert ("per-sample scores) to this JSON" in text) == (command == ["score"])
    assert ("--limit" in text) == (command[0] in ("perplexity", "overfit", "sweep", "generate"))
    # help talks about the user's model and data, never about the articles tunecheck started from
    assert "the seeds" not in text.lower()


def test_sweep_help_names_its_cache():
    text = _help(["sweep"])
    assert "--cache-dir" in text and "$XDG_CACHE_HOME/tunecheck/sweep" in text and "never RUN_DIR" in text


@pytest.mark.parametrize("command", [["perplexity", "-m", "no-such-model", "-d", "eval.jsonl"],
                                     ["overfit", "-m", "no-such-model", "--train", "eval.jsonl", "--eval", "eval.jsonl"],
                                     ["sweep", ".", "--eval", "eval.jsonl"]])
def test_limit_below_one_is_one_line_before_anything_loads(tmp_path: Path, command):
    (tmp_path / "eval.jsonl").write_text('{"text": "a b c"}\n')
    line = one_error_line(tunecheck(tmp_path, *command, "--limit", "0"))
    assert line == "error: --limit must be a whole number of rows, at least 1, got 0 (leave it out for all rows)"


def test_perplexity_limit_scores_a_seeded_sample(tmp_path: Path, model_dirs):
    data = tmp_path / "eval.jsonl"
    data.write_text("".join(json.dumps({"id": f"d{i}", "text": f"the cat sat on mat {i}"}) + "\n" for i in range(12)))
    result = CliRunner().invoke(app, ["perplexity", "-m", str(model_dirs["base"]), "-d", str(data), "--limit", "4", "--seed", "1",
                                      "--n-resamples", "200", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert_valid_result(got)
    [data_info] = got["data"]
    assert data_info["n"] == 4 and data_info["details"]["sampled"] == {"n": 4, "of": 12, "seed": 1}


def test_classification_details_are_in_the_terminal(tmp_path: Path):
    gold = ["positive", "negative", "neutral", "positive", "negative", "positive", "neutral", "negative"]
    outs = ["Positive!", "I think it is negative.", "no idea", "neutral", "NEGATIVE", "positive", "It's neutral.", "positive"]
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": f"s{i}", "output": o, "label": g}) + "\n" for i, (o, g) in enumerate(zip(outs, gold))))
    result = CliRunner().invoke(app, ["score", "-t", "classification", "-p", str(preds), "--n-resamples", "1000"])
    assert result.exit_code == 0, result.output
    rows = [line.replace("│", " ").replace("┃", " ").split() for line in result.stdout.splitlines()]
    # predicted: positive, negative, <unparsed>, neutral, negative, positive, neutral, positive
    # negative: 3 gold, predicted negative twice, both right: precision 2/2, recall 2/3, F1 0.8
    # neutral: 2 gold; predicted neutral for s3 (gold positive) and s6: P 1/2, R 1/2, F1 0.5
    # positive: 3 gold; predicted for s0, s5, s7 (gold negative): P 2/3, R 2/3, F1 2/3
    assert ["negative", "3", "1.000", "0.667", "0.800"] in rows
    assert ["neutral", "2", "0.500", "0.500", "0.500"] in rows
    assert ["positive", "3", "0.667", "0.667", "0.667"] in rows
    # confusion (rows gold, columns negative, neutral, positive, unparsed): negative 2 0 1 0,
    # neutral 0 1 0 1 (s2 "no idea" unparsed), positive 0 1 2 0
    assert ["negative", "2", "0", "1", "0"] in rows
    assert ["neutral", "0", "1", "0", "1"] in rows
    assert ["positive", "0", "1", "2", "0"] in rows
    assert "unparsed" in result.stdout and "(no label)" in result.stdout
