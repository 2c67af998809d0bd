import json

import pytest
from typer.testing import CliRunner

from tunecheck.cli import app
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
    s = split_dataset(ds, "random", test_size=0.2, seed=1)
    assert len(s.validation) == 10 and len(s.train) == 40  # round(50 * 0.2)
    ids = [x.id for x in s.train] + [x.id for x in s.validation]
    assert sorted(ids) == sorted(x.id for x in ds)
    # same seed, same split; another seed, another split
    assert [x.id for x in split_dataset(ds, "random", test_size=0.2, seed=1).validation] == [x.id for x in s.validation]
    assert [x.id for x in split_dataset(ds, "random", test_size=0.2, seed=2).validation] != [x.id for x in s.validation]


def test_temporal_split_takes_the_latest(tmp_path):
    # dates out of file order: the latest two (rows 0 and 3) become validation
    dates = ["2024-05-09", "2024-01-01", "2024-02-01", "2024-06-01", "2024-03-01", "2024-04-01", "2023-12-31", "2024-01-15", "2024-02-15", "2024-03-15"]
    ds = load_data(_file(tmp_path, _rows(10, date=lambda i: dates[i])))
    s = split_dataset(ds, "temporal", test_size=0.2, date_field="date")
    assert {x.id for x in s.validation} == {"r0", "r3"}
    # without a date field: file order, the last rows
    assert [x.id for x in split_dataset(ds, "temporal", test_size=0.2).validation] == ["r8", "r9"]


def test_temporal_bad_date_names_line_and_field(tmp_path):
    ds = load_data(_file(tmp_path, _rows(3, date=lambda i: "yesterday" if i == 1 else "2024-01-01")))
    with pytest.raises(DataError, match=r'data.jsonl line 2: field "date" is \'yesterday\', not an ISO date'):
        split_dataset(ds, "temporal", date_field="date")


def test_category_split_keeps_every_category_on_both_sides(tmp_path):
    cats = ["a"] * 20 + ["b"] * 5 + ["c"] * 2 + ["d"]
    ds = load_data(_file(tmp_path, _rows(len(cats), category=lambda i: cats[i])))
    s = split_dataset(ds, "category", test_size=0.1, seed=0)
    val = [x.fields["category"] for x in s.validation]
    # a: round(2.0) = 2; b: round(0.5) -> at least 1; c: 1 of 2; d: one row, too small
    assert sorted(val) == ["a", "a", "b", "c"]
    assert s.too_small == ["d"]
    assert {x.fields["category"] for x in s.train} == {"a", "b", "c", "d"}


def test_bad_options(tmp_path):
    ds = load_data(_file(tmp_path, _rows(5)))
    with pytest.raises(ConfigError, match="--test-size"):
        split_dataset(ds, "random", test_size=1.5)
    with pytest.raises(ConfigError, match="--strategy"):
        split_dataset(ds, "alphabetical")
    with pytest.raises(DataError, match='line 1: field "category" is missing'):
        split_dataset(ds, "category")


def test_written_files_reload_with_the_reported_hashes(tmp_path):
    ds = load_data(_file(tmp_path, _rows(30, category=lambda i: "x" if i % 2 else "y")))
    summary = write_split(split_dataset(ds, "category", test_size=0.2), tmp_path / "out")
    for side in ("train", "validation"):
        loaded = load_data(summary[side]["path"])
        assert loaded.sha256 == summary[side]["sha256"] and len(loaded) == summary[side]["n"]


def test_cli_split_json(tmp_path):
    data = _file(tmp_path, _rows(20))
    result = CliRunner().invoke(app, ["split", "--data", str(data), "--out", str(tmp_path / "o"), "--test-size", "0.25", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["train"]["n"] == 15 and payload["validation"]["n"] == 5
    assert (tmp_path / "o" / "validation.jsonl").read_text().count("\n") == 5
