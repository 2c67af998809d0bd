"""Rendering results for people: Rich tables that fit the terminal, one renderer per layer's
results, and the JSON / --out ending every command shares. The CLI and the demo print with it
(the HTML report will reuse its building blocks); it computes nothing and never imports `cli/`.

Renderers take a layer's typed `core.Result` (or the demo's `ResultSet`) and print it to stdout
(the `console` of their private module, which tests replace with a recording one)."""

from tunecheck.render._bench import bench_tables
from tunecheck.render._human import human_tables
from tunecheck.render._judge import judge_tables
from tunecheck.render._output import emit, print_json, save_json, to_stderr
from tunecheck.render._overfitting import (
    copying_tables,
    curves_table,
    diversity_tables,
    extraction_tables,
    membership_table,
    not_applicable,
    overlap_tables,
    paired_table,
    rephrase_tables,
    signals_table,
    status,
    sweep_table,
    verdict_table,
    verdict_tables,
)
from tunecheck.render._tables import (
    VERDICT,
    Col,
    ci,
    classification_tables,
    comparison_table,
    fitted,
    generate_table,
    left,
    num,
    overfit_tables,
    perplexity_tables,
    score_tables,
    signed,
    split_table,
    verdict,
    warn,
)

__all__ = [
    "VERDICT",
    "Col",
    "bench_tables",
    "ci",
    "classification_tables",
    "comparison_table",
    "copying_tables",
    "curves_table",
    "diversity_tables",
    "emit",
    "extraction_tables",
    "fitted",
    "generate_table",
    "human_tables",
    "judge_tables",
    "left",
    "membership_table",
    "not_applicable",
    "num",
    "overfit_tables",
    "overlap_tables",
    "paired_table",
    "perplexity_tables",
    "print_json",
    "rephrase_tables",
    "save_json",
    "score_tables",
    "signals_table",
    "signed",
    "split_table",
    "status",
    "sweep_table",
    "to_stderr",
    "verdict",
    "verdict_table",
    "verdict_tables",
    "warn",
]
