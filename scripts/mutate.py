"""`make mutate`: mutation testing with mutmut, one package at a time, each against its own tests.

mutmut 3 reads one `[tool.mutmut]` (pyproject.toml) and works in `./mutants/`. Testing every
package's mutants against the whole suite would take hours on two cores, so each package runs in
its own folder `mutants/<name>/` (links to src/, tests/, docs/ and pyproject.toml) with `only_mutate` and
the test selection narrowed to that package. mutmut then runs, per mutant, only the selected tests
that execute the mutated function. Usage: `python scripts/mutate.py [NAME ...]` (default: all);
the summary is printed at the end and written to `mutants/scores.json`.
`--again NAME ...` re-tests only the mutants that were not killed last time (after adding tests);
`--show NAME [MUTANT ...]` prints the diffs of a package's survivors (or of the mutants named);
the survivors of each package are listed in `mutants/<name>/survivors.txt`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> (files to mutate, tests that cover them)
PACKAGES: dict[str, tuple[list[str], list[str]]] = {
    "stats": (["src/tunecheck/stats/*"], ["tests/stats"]),
    "models/_windows.py": (["src/tunecheck/models/_windows.py"], ["tests/models/test_windows.py"]),
    "data/_predictions.py": (["src/tunecheck/data/_predictions.py"], ["tests/data/test_predictions.py"]),
    "perplexity": (["src/tunecheck/perplexity/*"], ["tests/perplexity"]),
    "metrics": (["src/tunecheck/metrics/*"], ["tests/metrics"]),
    "overfitting": (["src/tunecheck/overfitting/*"], ["tests/overfitting"]),
    # the judgement rules of overfitting/ after the redesign (issue 10): one target per module,
    # each against the test files that exercise it (quicker than all of tests/overfitting/)
    "overfitting/_verdict.py": (
        ["src/tunecheck/overfitting/_verdict.py"],
        ["tests/overfitting/test_verdict.py", "tests/overfitting/test_verdict_rule.py"],
    ),
    "overfitting/_signals.py": (["src/tunecheck/overfitting/_signals.py"], ["tests/overfitting/test_signals.py"]),
    "overfitting/_gap.py": (["src/tunecheck/overfitting/_gap.py"], ["tests/overfitting/test_gap.py"]),
    "overfitting/_applies.py": (
        ["src/tunecheck/overfitting/_applies.py"],
        ["tests/overfitting/test_applies.py", "tests/overfitting/test_signals.py"],
    ),
    "overfitting/_curve_report.py": (["src/tunecheck/overfitting/_curve_report.py"], ["tests/overfitting/test_curves.py"]),
    "overfitting/_curves.py": (
        ["src/tunecheck/overfitting/_curves.py"], ["tests/overfitting/test_curves.py", "tests/overfitting/test_curves_edges.py"],
    ),
    "overfitting/_logs.py": (
        ["src/tunecheck/overfitting/_logs.py"], ["tests/overfitting/test_logs.py", "tests/overfitting/test_logs_edges.py"],
    ),
    "overfitting/_sweep.py": (
        ["src/tunecheck/overfitting/_sweep.py", "src/tunecheck/overfitting/_checkpoints.py"],
        ["tests/overfitting/test_sweep.py", "tests/overfitting/test_sweep_rules.py"],
    ),
    "perplexity/_evaluate.py": (["src/tunecheck/perplexity/_evaluate.py"], ["tests/perplexity"]),
    "perplexity/_metrics.py": (["src/tunecheck/perplexity/_metrics.py", "src/tunecheck/perplexity/_show.py"], ["tests/perplexity"]),
    # the model-driven checks of overfitting/ and the other modules not covered above, one target each
    "overfitting/_evaluate.py": (
        ["src/tunecheck/overfitting/_evaluate.py"],
        ["tests/overfitting/test_gap.py", "tests/overfitting/test_applies.py", "tests/overfitting/test_overfit_rules.py"],
    ),
    "overfitting/_ucurve.py": (["src/tunecheck/overfitting/_ucurve.py"], ["tests/overfitting/test_sweep.py", "tests/overfitting/test_ucurve_rules.py"]),
    "overfitting/_copying.py": (["src/tunecheck/overfitting/_copying.py"], ["tests/overfitting/test_copying.py", "tests/overfitting/test_copying_rules.py"]),
    "overfitting/_diversity.py": (["src/tunecheck/overfitting/_diversity.py"], ["tests/overfitting/test_diversity.py", "tests/overfitting/test_diversity_rules.py"]),
    "overfitting/_extraction.py": (["src/tunecheck/overfitting/_extraction.py"], ["tests/overfitting/test_extraction.py", "tests/overfitting/test_extraction_rules.py"]),
    "overfitting/_membership.py": (["src/tunecheck/overfitting/_membership.py"], ["tests/overfitting/test_membership.py", "tests/overfitting/test_membership_rules.py"]),
    "overfitting/_rephrase.py": (["src/tunecheck/overfitting/_rephrase.py"], ["tests/overfitting/test_rephrase.py", "tests/overfitting/test_rephrase_rules.py"]),
    "overfitting/_plots.py": (["src/tunecheck/overfitting/_plots.py"], ["tests/overfitting/test_plots.py"]),
    # the module of stats/ whose logic the redesign changed (issue 10: `paired` and `compare_metrics`
    # make a core.Comparison); the rest of stats/ and metrics/ only lost `to_dict`s and import lazily
    "stats/_metric.py": (["src/tunecheck/stats/_metric.py"], ["tests/stats"]),
    # the modules of overfitting/ with pure logic (no model, no plots): a quicker first pass
    "overfitting/logic": (
        [f"src/tunecheck/overfitting/{m}.py" for m in ("_gap", "_curves", "_curve_report", "_applies", "_verdict", "_signals", "_logs")],
        ["tests/overfitting"],
    ),
}

DEFAULT = (
    "stats", "models/_windows.py", "data/_predictions.py", "metrics", "perplexity/_evaluate.py", "perplexity/_metrics.py",
    *(n for n in PACKAGES if n.startswith("overfitting/_")),
)
"""What `make mutate` runs without MUTATE: the rows of the README's table. `perplexity`,
`overfitting` and `overfitting/logic` (whole packages, the first pass before the redesign) and
`stats/_metric.py` (the re-run of one module) stay available by name."""

# Run inside each package's folder: mutmut reads its config from ./pyproject.toml, then we narrow it.
_RUN = """
import sys
from pathlib import Path
import mutmut.configuration as mc
from mutmut.__main__ import cli
cfg = mc._load_config()
cfg.only_mutate = {only}
cfg.pytest_add_cli_args_test_selection = {tests}
# the results-schema tests read docs/results.schema.json beside tests/
cfg.also_copy = [*cfg.also_copy, Path("docs")]
mc._config = cfg
cli(sys.argv[1:])
"""


def workdir(name: str) -> Path:
    folder = ROOT / "mutants" / name.replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    for link in ("src", "tests", "docs", "pyproject.toml"):
        if not (folder / link).exists():
            (folder / link).symlink_to(ROOT / link)
    return folder


def mutmut(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    only, tests = PACKAGES[name]
    code = _RUN.format(only=only, tests=tests)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           # the tiny trained models of tests/conftest.py, built once per package instead of once per mutant
           "TUNECHECK_FIXTURE_CACHE": str(workdir(name) / "fixtures")}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=workdir(name), env=env, text=True, capture_output=args[0] != "run"
    )


def score(name: str) -> dict[str, int]:
    """Counts per status from mutmut's own CI/CD export (killed, survived, timeout, ...)."""
    mutmut(name, "export-cicd-stats")
    path = workdir(name) / "mutants" / "mutmut-cicd-stats.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def not_killed(name: str) -> list[str]:
    """The mutants `mutmut results` listed as not killed after the last run of this package."""
    path = workdir(name) / "survivors.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split(":")[0].strip() for line in lines if ":" in line]


def show(name: str, mutants: list[str]) -> int:
    """Print the diff of each named mutant of a package (all its survivors when none is named)."""
    only, tests = PACKAGES[name]
    names = mutants or not_killed(name)
    # one process for all of them (each `mutmut show` alone would start Python again)
    code = _RUN.format(only=only, tests=tests).replace(
        "cli(sys.argv[1:])", "for m in sys.argv[1:]:\n    cli(['show', m], standalone_mode=False)"
    )
    subprocess.run([sys.executable, "-c", code, *names], cwd=workdir(name), text=True)
    return 0


def main(names: list[str]) -> int:
    if names and names[0] == "--show":
        return show(names[1], names[2:])
    again = bool(names) and names[0] == "--again"
    names = names[1:] if again else names
    scores = {}
    for name in names or DEFAULT:
        print(f"== {name}", flush=True)
        only = not_killed(name) if again else []
        if again and not only:
            continue
        mutmut(name, "run", "--max-children", os.environ.get("MUTATE_CHILDREN", "1"), *only)
        scores[name] = score(name)
        survivors = mutmut(name, "results").stdout
        (workdir(name) / "survivors.txt").write_text(survivors)
    out = ROOT / "mutants" / "scores.json"
    old = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps({**old, **scores}, indent=1))
    for name, s in scores.items():
        print(f"{name:24s} killed {s.get('killed', 0)} / {s.get('total', 0)}  {s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
