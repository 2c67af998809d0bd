"""The notebook API: exactly the documented names, importable without loading a model library."""

import subprocess
import sys

import tunecheck

DOCUMENTED = {
    # functions, one per command
    "perplexity", "overfit", "generate", "score", "overlap", "curves", "verdict",
    # reading results back
    "load_result", "load_results",
    # the core types
    "Result", "ResultSet", "Comparison", "Estimate", "Verdict", "Status", "Signal",
}


def test_all_is_exactly_the_documented_api():
    assert set(tunecheck.__all__) == DOCUMENTED
    assert len(tunecheck.__all__) == len(DOCUMENTED)
    for name in tunecheck.__all__:
        assert getattr(tunecheck, name) is not None


def test_every_name_imports_without_torch_or_transformers():
    code = (
        "import sys, tunecheck\n"
        "for name in tunecheck.__all__: getattr(tunecheck, name)\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'peft', 'sklearn', 'matplotlib', 'plotly') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_functions_survive_importing_their_subpackages():
    # tunecheck/perplexity/ and tunecheck/verdict/ are packages too: importing them (as the
    # functions do on their first call) must not replace tunecheck.perplexity / .verdict
    import importlib

    from tunecheck.perplexity import PerplexityConfig
    from tunecheck.verdict import did_it_work

    assert callable(tunecheck.perplexity) and not isinstance(tunecheck.perplexity, type(importlib))
    assert callable(tunecheck.verdict) and not isinstance(tunecheck.verdict, type(importlib))
    assert importlib.import_module("tunecheck.perplexity").PerplexityConfig is PerplexityConfig
    assert importlib.import_module("tunecheck.verdict").did_it_work is did_it_work


def test_a_notebook_session_end_to_end(model_dirs, tmp_path):
    import json

    import pytest

    from tests.conftest import CORPUS
    from tests.schema import assert_valid_result
    from tunecheck.errors import ConfigError

    rows = [{"id": str(i), "text": t} for i, t in enumerate(CORPUS[:12])]
    ppl = tunecheck.perplexity([f"{model_dirs['base']},name=base", f"{model_dirs['base']},name=same"], rows, n_resamples=200)
    assert isinstance(ppl, tunecheck.Result) and ppl.layer == "perplexity"
    assert (ppl.data[0].source, ppl.data[0].n) == ("<12 rows>", 12)
    base, same = ppl.estimate("perplexity", "base"), ppl.estimate("perplexity", "same")
    assert base is not None and same is not None and base.value == same.value and base.n == 12
    [c] = ppl.comparisons  # a model against itself: exactly no difference, and no verdict either way
    assert (c.baseline, c.model, c.difference, c.verdict) == ("base", "same", 0.0, tunecheck.Verdict.INCONCLUSIVE)
    assert_valid_result(ppl.to_dict())
    with pytest.raises(ConfigError, match=r"tunecheck.perplexity\(\): unknown option 'complete_only'; its options are .*completion_only"):
        tunecheck.perplexity(str(model_dirs["base"]), rows, complete_only=True)

    # score two predictions files: 3 of 4 right vs 1 of 4 (exact match)
    def preds(name, outputs):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": str(i), "output": o, "reference": r, "model": name}) + "\n"
                                for i, (o, r) in enumerate(zip(outputs, ["a", "b", "c", "d"]))))
        return path

    scored = tunecheck.score([preds("base", ["a", "x", "y", "z"]), preds("tuned", ["a", "b", "c", "z"])], "qa", n_resamples=1000)
    assert scored.estimate("exact_match", "base").value == 0.25 and scored.estimate("exact_match", "tuned").value == 0.75
    em = next(c for c in scored.comparisons if c.metric == "exact_match")
    assert (em.baseline, em.model, em.difference, em.n) == ("base", "tuned", 0.5, 4)

    # leakage between two lists of rows: one exact duplicate out of two eval rows
    leak = tunecheck.overlap([{"text": CORPUS[0]}, {"text": CORPUS[1]}], [{"text": CORPUS[0]}, {"text": CORPUS[20]}])
    assert leak.layer == "overlap" and leak.estimate("exact_rows").value == 1

    # curves from a trainer_state.json: the eval loss is lowest at step 20
    history = [{"step": 10 * k, "eval_loss": e} for k, e in enumerate([1.5, 1.0, 1.2, 1.4, 1.6], start=1)]
    history += [{"step": 10 * k, "loss": 2.0 / k} for k in range(1, 6)]
    state = tmp_path / "trainer_state.json"
    state.write_text(json.dumps({"global_step": 50, "log_history": history}))
    cur = tunecheck.curves(state)
    assert cur.layer == "curves" and cur.details["best_step"] == 20

    # results written and read back, then the verdict over them
    out = tmp_path / "score.json"
    from tunecheck._io import write_json

    write_json(out, scored.to_dict())
    back = tunecheck.load_result(out)
    assert [(c.metric, c.difference, c.verdict) for c in back.comparisons] == [(c.metric, c.difference, c.verdict) for c in scored.comparisons]
    v = tunecheck.verdict([out])
    assert v.layer == "verdict" and v.model_names()[0] == "tuned"
