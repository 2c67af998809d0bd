"""What a user sees in a terminal: verdict words, numbers and metric names are never cut, on
80 and 60 columns; narrow terminals lose whole columns (named in a caption) instead."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from tunecheck.core import Comparison, DataInfo, Estimate, ModelInfo, Result, Verdict
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


def _typed(c: dict) -> Comparison:
    extra = {k: c[k] for k in ("improvement_pct", "improvement_pct_ci95")}
    return Comparison(c["metric"], c["baseline"], c["model"], 40, c["baseline_value"], c["value"], c["difference"],
                      tuple(c["ci95"]), c["p_value"], Verdict(c["verdict"]), False, math.nan, c["mdd"], c["p_value_holm"], extra=extra)


ROWS = [_comparison("runs/lora-sentiment/checkpoint-1200", "word_perplexity", "improved", 0.7412),
        _comparison("tuned", "bits_per_byte", "regressed", -0.0312),
        _comparison("tuned", "weighted_f1", "inconclusive", 0.0051)]


def _scored(rows: list[dict]) -> Result:
    return Result("score", comparisons=[_typed(c) for c in rows], details={"task": "qa"})


def _text(console: Console) -> str:
    return console.export_text(clear=False)


@pytest.mark.parametrize("width", [80, 60])
def test_verdicts_and_metric_names_are_never_cut(screen, width):
    for draw, shown in ((lambda: r.comparison_table([_typed(c) for c in ROWS]), "17.1%"),
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
                 lambda: r.comparison_table([_typed(c) for c in rows]), lambda: ro.paired_table([_typed(c) for c in rows], "Against the base")):
        console = screen(width)
        draw()
        lines = _text(console).splitlines()
        assert all(line.endswith("┓") for line in lines if line.startswith("┏")), "\n".join(lines)
        assert "improved" in _text(console).split()


def test_a_narrow_terminal_drops_whole_columns_and_says_which(screen):
    # 60 columns cannot hold all 8 columns of the perplexity comparison at their narrowest: the
    # least needed go first (p, then baseline, ...), and the caption names them
    typed = [_typed(c) for c in ROWS]
    console = screen(80)
    r.comparison_table(typed)
    text = " ".join(_text(console).split())
    assert "narrow terminal: baseline, value, p not shown" in text
    assert "0.0001" not in text and "[15.2%, 19.0%]" in text  # the p column's values went with it; the CI stayed
    console = screen(60)
    r.comparison_table(typed)
    assert "narrow terminal: baseline, value, 95% CI, p not shown" in " ".join(_text(console).split())
    console = screen(200)
    r.comparison_table(typed)
    assert "narrow terminal" not in _text(console) and "0.0001" in _text(console)


def test_sweep_phases_are_never_cut(screen):
    def checkpoint(name: str, phase: str) -> list[Estimate]:
        return [Estimate(0.0105, (0.009, 0.012), "eval_loss", name), Estimate(1.0106, None, "eval_perplexity", name),
                Estimate(0.0081, None, "train_loss", name), Estimate(0.0024, None, "gap", name), Estimate(1.0, None, "accuracy", name)]

    names = ["checkpoint-1200", "checkpoint-1300", "checkpoint-1400"]
    vs = [Comparison("eval_loss", "checkpoint-1300", n, 50, 0.0105, 0.0228, 0.0123, (0.01, 0.014), 0.0001, Verdict.REGRESSED,
                     False, p_value_holm=0.0001) for n in (names[0], names[2])]
    payload = Result("sweep", data=[DataInfo("val.jsonl", None, 50, "validation")],
                     models=[ModelInfo(n, details={"step": int(n[-4:]), "phase": p}) for n, p in zip(names, ("under-fitting", "best", "over-fitting"))],
                     estimates=[e for n in names for e in checkpoint(n, "")], comparisons=vs,
                     warnings=["final model = checkpoint-1200, not scored twice"],
                     details={"recommendation": "use checkpoint-1300", "task_metrics": ["accuracy"]})
    for width in (80, 60):
        console = screen(width)
        ro.sweep_table(payload)
        words = _text(console).split()
        assert "under-fitting" in words and "over-fitting" in words and "checkpoint-1200" in words
        assert "…" not in _text(console)
        assert "final model = checkpoint-1200, not scored twice" in " ".join(words)
        assert "Recommendation: use checkpoint-1300" in " ".join(words)


@pytest.mark.parametrize("width", [80, 60])
def test_perplexity_table_keeps_its_headers_and_numbers_whole(screen, width):
    # the perplexity table was a plain Rich table: at 80 columns "perplexi…" and "/root/.c…"
    name = "/root/.cache/tunecheck-tests/smollm2-98362432"
    values = {"perplexity": 5.5943, "bits_per_byte": 0.3922, "byte_perplexity": 1.3124, "word_perplexity": 175.0785}
    result = Result("perplexity", data=[DataInfo("chat.jsonl", "sha256:7005ad289f77", 2)],
                    models=[ModelInfo(name, details={"tokens": 6})],
                    estimates=[Estimate(v, (4.8541, 6.4474) if k == "perplexity" else None, k, name, 2) for k, v in values.items()])
    console = screen(width)
    r.perplexity_tables(result)
    text = _text(console)
    assert "…" not in text, text
    for word in ("perplexity", "5.5943"):
        assert word in text.split(), (width, word, text)
    assert "smollm2-98362432" in text.replace("\n", "").replace("│", "").replace(" ", "")
    assert max(len(line) for line in text.splitlines()) <= width
