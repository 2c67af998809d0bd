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
