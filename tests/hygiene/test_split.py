import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.schema import assert_valid_result
from tunecheck.cli import app
from tunecheck.core import Result, parse_results
from tunecheck.data import load_data
from tunecheck.errors import ConfigError, DataError
from tunecheck.hygiene import split_dataset, write_split


def _file(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(n, **extra):
    return [{"id": f"r{i}", "text": f"text {i}", **{k: v(i) for k, v in extra.items()}} for i in range(n)]


def test_random_split_sizes_and_disjointness(tmp_path):
    ds = load_data(_file(tmp_path, _rows(50)))
    s = split_dataset(ds, "random", validation_size=0.2, seed=1)
    assert len(s.validation) == 10 and len(s.train) == 40  # round(50 * 0.2)
    ids = [x.id for x in s.train] + [x.id for x in s.validation]
    assert sorted(ids) == sorted(x.id for x in ds)
    # same seed, same split; another seed, another split
    assert [x.id for x in split_dataset(ds, "random", validation_size=0.2, seed=1).validation] == [x.id for x in s.validation]
    assert [x.id for x in split_dataset(ds, "random", validation_size=0.2, seed=2).validation] != [x.id for x in s.validation]


def test_temporal_split_takes_the_latest(tmp_path):
    # dates out of file order: the latest two (rows 0 and 3) become validation
    dates = ["2024-05-09", "2024-01-01", "2024-02-01", "2024-06-01", "2024-03-01", "2024-04-01", "2023-12-31", "2024-01-15", "2024-02-15", "2024-03-15"]
    ds = load_data(_file(tmp_path, _rows(10, date=lambda i: dates[i])))
    s = split_dataset(ds, "temporal", validation_size=0.2, date_field="date")
    assert {x.id for x in s.validation} == {"r0", "r3"}
    # without a date field: file order, the last rows
    assert [x.id for x in split_dataset(ds, "temporal", validation_size=0.2).validation] == ["r8", "r9"]


def test_temporal_bad_date_names_line_and_field(tmp_path):
    ds = load_data(_file(tmp_path, _rows(3, date=lambda i: "yesterday" if i == 1 else "2024-01-01")))
    with pytest.raises(DataError, match=r'data.jsonl line 2: field "date" is \'yesterday\', not an ISO date'):
        split_dataset(ds, "temporal", date_field="date")


def test_category_split_keeps_every_category_on_both_sides(tmp_path):
    cats = ["a"] * 20 + ["b"] * 5 + ["c"] * 2 + ["d"]
    ds = load_data(_file(tmp_path, _rows(len(cats), category=lambda i: cats[i])))
    s = split_dataset(ds, "category", validation_size=0.1, seed=0)
    val = [x.fields["category"] for x in s.validation]
    # a: round(2.0) = 2; b: round(0.5) -> at least 1; c: 1 of 2; d: one row, too small
    assert sorted(val) == ["a", "a", "b", "c"]
    assert s.too_small == ["d"]
    assert {x.fields["category"] for x in s.train} == {"a", "b", "c", "d"}


def test_bad_options(tmp_path):
    ds = load_data(_file(tmp_path, _rows(5)))
    with pytest.raises(ConfigError, match="--validation-size"):
        split_dataset(ds, "random", validation_size=1.5)
    with pytest.raises(ConfigError, match="--test-size"):
        split_dataset(ds, "random", test_size=-0.1)
    with pytest.raises(ConfigError, match="leave nothing to train on"):
        split_dataset(ds, "random", validation_size=0.5, test_size=0.5)
    with pytest.raises(DataError, match="needs at least 3"):
        split_dataset(load_data(_file(tmp_path, _rows(2), "two.jsonl")), "random", test_size=0.2)
    with pytest.raises(ConfigError, match="--strategy"):
        split_dataset(ds, "alphabetical")
    with pytest.raises(DataError, match='line 1: field "category" is missing'):
        split_dataset(ds, "category")


def test_written_files_reload_with_the_reported_hashes(tmp_path):
    ds = load_data(_file(tmp_path, _rows(30, category=lambda i: "x" if i % 2 else "y")))
    summary = write_split(split_dataset(ds, "category", validation_size=0.2), tmp_path / "out")
    for side in ("train", "validation"):
        loaded = load_data(summary[side]["path"])
        assert loaded.sha256 == summary[side]["sha256"] and len(loaded) == summary[side]["n"]


def test_cli_split_json(tmp_path):
    data = _file(tmp_path, _rows(20))
    result = CliRunner().invoke(app, ["split", "--data", str(data), "--out", str(tmp_path / "o"), "--validation-size", "0.25", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert_valid_result(payload)
    got = parse_results(payload)
    assert isinstance(got, Result) and got.layer == "split"
    src = load_data(data)
    assert [(d.role, d.n) for d in got.data] == [("source", 20), ("train", 15), ("validation", 5)]  # no test side asked for
    assert (got.data[0].source, got.data[0].sha256) == (str(data), src.sha256)
    assert got.data[2].source == str(tmp_path / "o" / "validation.jsonl") and got.details == {"strategy": "random", "categories_too_small": []}
    assert got.config["validation_size"] == 0.25 and got.config["test_size"] == 0.0
    assert (tmp_path / "o" / "validation.jsonl").read_text().count("\n") == 5
    assert not (tmp_path / "o" / "test.jsonl").exists()


def _ids(side):
    return [x.id for x in side]


def _disjoint_and_whole(ds, s):
    ids = _ids(s.train) + _ids(s.validation) + _ids(s.test)
    assert len(ids) == len(set(ids)) and set(ids) == {x.id for x in ds}


def test_random_split_with_a_test_split(tmp_path):
    ds = load_data(_file(tmp_path, _rows(50)))
    s = split_dataset(ds, "random", validation_size=0.2, test_size=0.1, seed=1)
    # 50 rows: validation round(10.0) = 10, test round(5.0) = 5, train the other 35
    assert (len(s.train), len(s.validation), len(s.test)) == (35, 10, 5)
    _disjoint_and_whole(ds, s)
    # each side in file order
    assert all(_ids(side) == sorted(_ids(side), key=lambda i: int(i[1:])) for side in (s.train, s.validation, s.test))
    # the first n_val of the seed's permutation are validation, the next n_test are test
    perm = np.random.default_rng(1).permutation(50).tolist()
    assert set(_ids(s.validation)) == {f"r{i}" for i in perm[:10]} and set(_ids(s.test)) == {f"r{i}" for i in perm[10:15]}
    # tiny sets keep at least one row on every side: 3 rows at 0.1 / 0.1 -> 1 / 1 / 1
    tiny = split_dataset(load_data(_file(tmp_path, _rows(3), "tiny.jsonl")), "random", validation_size=0.1, test_size=0.1)
    assert (len(tiny.train), len(tiny.validation), len(tiny.test)) == (1, 1, 1)


def test_temporal_split_with_a_test_split_holds_out_the_latest(tmp_path):
    # dates out of file order; sorted: r6 2023-12-31, r1, r7, r2, r8, r4, r9, r5, r0 2024-05-09, r3 2024-06-01
    dates = ["2024-05-09", "2024-01-01", "2024-02-01", "2024-06-01", "2024-03-01", "2024-04-01", "2023-12-31", "2024-01-15", "2024-02-15", "2024-03-15"]
    ds = load_data(_file(tmp_path, _rows(10, date=lambda i: dates[i])))
    s = split_dataset(ds, "temporal", validation_size=0.2, test_size=0.2, date_field="date")
    # test: the latest two (r0, r3); validation: the two before them (r9 2024-03-15, r5 2024-04-01)
    assert set(_ids(s.test)) == {"r0", "r3"} and set(_ids(s.validation)) == {"r5", "r9"}
    _disjoint_and_whole(ds, s)
    assert _ids(split_dataset(ds, "temporal", validation_size=0.2, test_size=0.1).test) == ["r9"]  # file order: the last


def test_category_split_with_a_test_split_keeps_every_category_on_every_side(tmp_path):
    cats = ["a"] * 20 + ["b"] * 5 + ["c"] * 2 + ["d"] * 3
    ds = load_data(_file(tmp_path, _rows(len(cats), category=lambda i: cats[i])))
    s = split_dataset(ds, "category", validation_size=0.1, test_size=0.2, seed=0)
    _disjoint_and_whole(ds, s)
    # a: val round(2.0) = 2, test round(4.0) = 4; b: 1 (0.5 -> at least 1) and round(1.0) = 1;
    # d: 3 rows -> 1 / 1 / 1; c: 2 rows cannot be on three sides: kept in train, named
    assert sorted(x.fields["category"] for x in s.validation) == ["a", "a", "b", "d"]
    assert sorted(x.fields["category"] for x in s.test) == ["a", "a", "a", "a", "b", "d"]
    assert s.too_small == ["c"]


def test_cli_split_writes_a_test_file_that_reloads_with_its_hash(tmp_path):
    data = _file(tmp_path, _rows(20))
    result = CliRunner().invoke(app, ["split", "--data", str(data), "--out", str(tmp_path / "o"), "--validation-size", "0.2",
                                      "--test-size", "0.25", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert_valid_result(payload)
    sides = {d["role"]: d for d in payload["data"]}
    assert [sides[k]["n"] for k in ("train", "validation", "test")] == [11, 4, 5]  # 20 * 0.2 = 4, 20 * 0.25 = 5
    ids = {side: {json.loads(line)["id"] for line in (tmp_path / "o" / f"{side}.jsonl").read_text().splitlines()}
           for side in ("train", "validation", "test")}
    assert not (ids["train"] & ids["test"]) and not (ids["validation"] & ids["test"]) and not (ids["train"] & ids["validation"])
    assert load_data(sides["test"]["source"]).sha256 == sides["test"]["sha256"]
    table = CliRunner().invoke(app, ["split", "--data", str(data), "--out", str(tmp_path / "t"), "--test-size", "0.25"])
    assert table.exit_code == 0 and "test" in table.stdout and "test.jsonl" in table.stdout
