import json
import math

import pytest

from tests.schema import assert_valid_result
from tunecheck._io import write_json
from tunecheck.core import (
    SCHEMA_VERSION,
    Comparison,
    DataInfo,
    Estimate,
    ModelInfo,
    Record,
    Result,
    ResultSet,
    Signal,
    Status,
    Verdict,
    load_result,
    load_results,
)
from tunecheck.errors import DataError


def full_result() -> Result:
    return Result(
        layer="score",
        data=[DataInfo("refs.jsonl", "ab" * 32, 3, "eval", {"shape": "prompt_response"})],
        models=[ModelInfo("base", {"spec": "org/base"}), ModelInfo("tuned", {"spec": "out/adapter"}, {"applies": True})],
        config={"task": "qa", "n_resamples": 1000},
        estimates=[Estimate(0.5, (0.25, 0.75), "exact_match", "base", 3), Estimate(float("nan"), None, "f1", "tuned", 3)],
        comparisons=[
            Comparison("exact_match", "base", "tuned", 3, 0.5, 0.75, 0.25, (-0.1, 0.6), 0.31, Verdict.INCONCLUSIVE,
                       se=0.2, mdd=float("inf"), p_value_holm=0.62, tests={"wins": 1.0, "correlation": float("nan")}, extra={"note": "x"})
        ],
        signals=[Signal("output diversity", Status.NOT_APPLICABLE, "distinct_1 0.2 -> 0.1", "a closed label set", True, "tuned")],
        records=[Record("q1", "base", {"em": 1.0})],
        warnings=["only 3 samples"],
        details={"best_step": 40},
    )


def test_round_trip_through_a_file_keeps_every_field(tmp_path):
    r = full_result()
    write_json(tmp_path / "r.json", r.to_dict())
    back = load_result(tmp_path / "r.json")
    # NaN and inf are written as null and read back as NaN: compare the rest field by field
    assert back.layer == "score" and back.schema_version == SCHEMA_VERSION
    assert back.data == r.data and back.models == r.models and back.config == r.config
    assert back.estimates[0] == r.estimates[0]
    assert math.isnan(back.estimates[1].value) and back.estimates[1].ci95 is None
    c, c0 = back.comparisons[0], r.comparisons[0]
    assert (c.metric, c.baseline, c.model, c.n, c.ci95, c.verdict, c.p_value_holm) == ("exact_match", "base", "tuned", 3, (-0.1, 0.6), Verdict.INCONCLUSIVE, 0.62)
    assert c.higher_is_better is True and c.se == 0.2 and math.isnan(c.mdd)  # inf has no JSON form: null
    assert c.tests["wins"] == 1.0 and math.isnan(c.tests["correlation"]) and c.extra == c0.extra
    assert back.signals == r.signals and back.records == r.records and back.warnings == r.warnings
    assert back.details == {"best_step": 40}
    assert back.created_at == r.created_at and back.tunecheck_version == r.tunecheck_version


def test_result_and_result_set_validate_against_the_schema():
    r = full_result()
    assert_valid_result(r.to_dict())
    assert_valid_result(ResultSet({"score": r, "perplexity": Result("perplexity")}).to_dict())
    bad = r.to_dict()
    bad["comparisons"][0]["verdict"] = "better"
    with pytest.raises(AssertionError, match="comparisons/0/verdict"):
        assert_valid_result(bad)


def test_schema_lists_exactly_the_result_fields():
    from dataclasses import fields

    from tests.schema import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())["$defs"]
    for name, cls in [("Result", Result), ("Comparison", Comparison), ("Estimate", Estimate), ("Signal", Signal),
                      ("DataInfo", DataInfo), ("ModelInfo", ModelInfo), ("Record", Record)]:
        assert set(schema[name]["properties"]) == {f.name for f in fields(cls)}, name
        assert set(schema[name]["required"]) == {f.name for f in fields(cls)}, name


def test_lookups():
    r = full_result()
    assert r.estimate("exact_match", "base") == r.estimates[0]
    assert r.estimate("exact_match", "tuned") is None
    assert r.comparisons_for("tuned") == r.comparisons and r.comparisons_for("base") == []
    assert r.signals_for("tuned") == r.signals
    assert r.model_names() == ["base", "tuned"]
    assert r.value("exact_match", "base") == 0.5 and r.value("f1", "base") is None


def test_a_combined_file_loads_as_a_set_and_by_name(tmp_path):
    path = tmp_path / "all.json"
    write_json(path, ResultSet({"task": full_result(), "ppl": Result("perplexity")}).to_dict())
    assert list(load_results(path)) == ["task", "ppl"]
    assert load_result(path, "ppl").layer == "perplexity"
    with pytest.raises(DataError, match="holds several results \\(task, ppl\\)"):
        load_result(path)
    with pytest.raises(DataError, match="no result named 'x'"):
        load_result(path, "x")
    single = tmp_path / "one.json"
    write_json(single, full_result().to_dict())
    assert list(load_results(single)) == ["score"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"layer": "score"}, "a score result from an older tunecheck \\(no schema_version\\); run `tunecheck score` again"),
        ({"layer": "regurgitation"}, "a regurgitation result from an older tunecheck .*run `tunecheck memorisation copying` again"),
        ({"title": "notes"}, "not a tunecheck results file \\(no schema_version\\)"),
        ([1, 2], "not a tunecheck results file"),
        ({"schema_version": "1", "layer": "score"}, "schema_version must be a whole number"),
        ({"schema_version": SCHEMA_VERSION + 1, "tunecheck_version": "9.0", "layer": "score"},
         f"written by tunecheck 9.0 with results schema {SCHEMA_VERSION + 1}.*upgrade it"),
        ({"schema_version": 1}, "field 'layer' is missing"),
        ({"schema_version": 1, "layer": "score", "comparisons": [{"metric": "x"}]}, "not a valid tunecheck result \\(KeyError"),
        ({"schema_version": 1, "results": [1]}, "field 'results' must be an object"),
    ],
)
def test_bad_results_files_get_one_line(tmp_path, payload, message):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError, match=message) as err:
        load_result(path)
    assert str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)
