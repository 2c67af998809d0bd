"""What a user sees in a terminal: verdict words, numbers and metric names are never cut, on
80 and 60 columns; narrow terminals lose whole columns (named in a caption) instead."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tunecheck.core import Comparison, Result, Verdict
from tunecheck.render import _overfitting as ro
from tunecheck.render import _tables as r


@pytest.fixture
def screen(monkeypatch):
    def make(width: int) -> Console:
        console = Console(width=width, record=True, color_system=None, file=io.StringIO())
        monkeypatch.setattr(r, "console", console)
        monkeypatch.setattr(ro, "console", console)
        return console

    return make


def _comparison(model: str, metric: str, verdict: str, diff: float) -> dict:
    return {"model": model, "baseline": "base", "metric": metric, "baseline_value": 12345.6789, "value": 10234.5678,
            "difference": diff, "ci95": [diff - 0.1234, diff + 0.1234], "p_value": 0.0001, "p_value_holm": 0.0003,
            "mdd": 0.2345, "verdict": verdict, "improvement_pct": 17.1, "improvement_pct_ci95": [15.2, 19.0]}


ROWS = [_comparison("runs/lora-sentiment/checkpoint-1200", "word_perplexity", "improved", 0.7412),
        _comparison("tuned", "bits_per_byte", "regressed", -0.0312),
        _comparison("tuned", "weighted_f1", "inconclusive", 0.0051)]


def _typed(c: dict) -> Comparison:
    return Comparison(c["metric"], c["baseline"], c["model"], 100, c["baseline_value"], c["value"], c["difference"], tuple(c["ci95"]),
                      c["p_value"], Verdict(c["verdict"]), mdd=c["mdd"], p_value_holm=c["p_value_holm"])


def _scored(rows: list[dict]) -> Result:
    return Result("score", comparisons=[_typed(c) for c in rows], details={"task": "qa"})


def _text(console: Console) -> str:
    return console.export_text(clear=False)


@pytest.mark.parametrize("width", [80, 60])
def test_verdicts_and_metric_names_are_never_cut(screen, width):
    for draw, shown in ((lambda: r.comparison_table(ROWS), "17.1%"),
                        (lambda: ro.paired_table([_typed(c) for c in ROWS], "Against the base"), "+0.7412"),
                        (lambda: r.score_tables(_scored(ROWS)), "+0.7412")):
        console = screen(width)
        draw()
        text = _text(console)
        assert "…" not in text, text
        words = text.split()
        for word in ("improved", "regressed", "inconclusive", "word_perplexity", "bits_per_byte", "weighted_f1", shown):
            assert word in words, (width, word, text)
        assert max(len(line) for line in text.splitlines()) <= width
        assert all(line.endswith("┓") for line in text.splitlines() if line.startswith("┏")), text  # not clipped


@pytest.mark.parametrize("width", [80, 60])
def test_a_table_of_short_verdicts_still_fits(screen, width):
    # "improved" is shorter than the room a verdict column keeps for "inconclusive": the fit must
    # count that room, or the right edge is clipped
    rows = [_comparison("runs/lora-sentiment/checkpoint-1200", m, "improved", 0.5) for m in ("accuracy", "macro_f1", "weighted_f1")]
    for draw in (lambda: r.score_tables(_scored(rows)),
                 lambda: r.comparison_table(rows), lambda: ro.paired_table([_typed(c) for c in rows], "Against the base")):
        console = screen(width)
        draw()
        lines = _text(console).splitlines()
        assert all(line.endswith("┓") for line in lines if line.startswith("┏")), "\n".join(lines)
        assert "improved" in _text(console).split()


def test_a_narrow_terminal_drops_whole_columns_and_says_which(screen):
    # 60 columns cannot hold all 8 columns of the perplexity comparison at their narrowest: the
    # least needed go first (p, then baseline, ...), and the caption names them
    console = screen(80)
    r.comparison_table(ROWS)
    text = " ".join(_text(console).split())
    assert "narrow terminal: baseline, value, p not shown" in text
    assert "0.0001" not in text and "[15.2%, 19.0%]" in text  # the p column's values went with it; the CI stayed
    console = screen(60)
    r.comparison_table(ROWS)
    assert "narrow terminal: baseline, value, 95% CI, p not shown" in " ".join(_text(console).split())
    console = screen(200)
    r.comparison_table(ROWS)
    assert "narrow terminal" not in _text(console) and "0.0001" in _text(console)


def test_sweep_phases_are_never_cut(screen):
    row = {"checkpoint": "checkpoint-1200", "step": 1200, "eval_loss": 0.0105, "eval_loss_ci95": [0.009, 0.012],
           "eval_perplexity": 1.0106, "train_loss": 0.0081, "gap": 0.0024, "task": {"accuracy": {"value": 1.0}},
           "versus_best": {"difference": 0.0123, "p_value_holm": 0.0001}, "phase": "under-fitting"}
    payload = {"data": {"eval": {"source": "val.jsonl"}}, "checkpoints": [row, {**row, "phase": "over-fitting"}],
               "recommendation": "use checkpoint-1200", "notes": ["final model = checkpoint-1200, not scored twice"]}
    for width in (80, 60):
        console = screen(width)
        ro.sweep_table(payload)
        words = _text(console).split()
        assert "under-fitting" in words and "over-fitting" in words and "checkpoint-1200" in words
        assert "…" not in _text(console)
        assert "final model = checkpoint-1200, not scored twice" in " ".join(words)


@pytest.mark.parametrize("width", [80, 60])
def test_perplexity_table_keeps_its_headers_and_numbers_whole(screen, width):
    # the perplexity table was a plain Rich table: at 80 columns "perplexi…" and "/root/.c…"
    model = {"model": "/root/.cache/tunecheck-tests/smollm2-98362432", "perplexity": 5.5943, "bits_per_byte": 0.3922,
             "byte_perplexity": 1.3124, "word_perplexity": 175.0785, "tokens": 6,
             "ci95": {"perplexity": [4.8541, 6.4474]}}
    console = screen(width)
    r.perplexity_tables({"data": {"source": "chat.jsonl", "n": 2, "sha256": "sha256:7005ad289f77"}, "models": [model],
                         "comparison": []})
    text = _text(console)
    assert "…" not in text, text
    for word in ("perplexity", "5.5943"):
        assert word in text.split(), (width, word, text)
    assert "smollm2-98362432" in text.replace("\n", "").replace("│", "").replace(" ", "")
    assert max(len(line) for line in text.splitlines()) <= width
