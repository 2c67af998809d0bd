"""Option values are checked once, in the library's config objects and entry points, with a
message naming the command-line flag and the API argument: the CLI and a notebook get the same
error, and the CLI repeats no check of its own."""

from __future__ import annotations

import pytest

from tunecheck.errors import ConfigError
from tunecheck.overfitting import CopyConfig, analyse_curves, read_curves


def test_copy_config_names_the_flag_of_a_bad_value() -> None:
    with pytest.raises(ConfigError, match=r"^--ngram \(n\) must be at least 1 word, got 0"):
        CopyConfig(n=0)
    with pytest.raises(ConfigError, match=r"^--on 'answer' \(on='answer'\): use full, prompt or response$"):
        CopyConfig(on="answer")  # type: ignore[arg-type]


def test_curve_analysis_names_the_flag_of_a_bad_value(tmp_path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("step,train_loss,eval_loss\n10,2.0,1.5\n20,1.0,1.2\n", encoding="utf-8")
    curves = read_curves(str(log))
    with pytest.raises(ConfigError, match=r"^--patience \(patience\) must be at least 1 evaluation, got 0"):
        analyse_curves(curves, patience=0)
    with pytest.raises(ConfigError, match=r"^--min-delta \(min_delta\) must be a number ≥ 0, got -0.1"):
        analyse_curves(curves, min_delta=-0.1)


def test_overlap_names_the_flag_of_a_bad_part(tmp_path) -> None:
    from tunecheck.data import load_data
    from tunecheck.hygiene import check_overlap

    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "text": "the red fox"}\n', encoding="utf-8")
    rows = load_data(str(data))
    with pytest.raises(ConfigError, match=r"^--on 'answer' \(on='answer'\): use full, prompt or response$"):
        check_overlap(rows, rows, on="answer")  # type: ignore[arg-type]
