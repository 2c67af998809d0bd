"""Dataset.sample: the seeded --limit sample every command shares."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunecheck.data import load_data
from tunecheck.errors import ConfigError


def _file(path, n):
    path.write_text("".join(json.dumps({"id": f"r{i}", "text": f"text número {i}"}) + "\n" for i in range(n)), encoding="utf-8")
    return path


def test_sample_is_seeded_in_file_order_and_hashed_as_its_own_rows(tmp_path):
    ds = load_data(_file(tmp_path / "d.jsonl", 20))
    s = ds.sample(5, seed=3)
    # the rows numpy's seeded choice picks, in file order
    want = sorted(np.random.default_rng(3).choice(20, size=5, replace=False).tolist())
    assert [x.id for x in s] == [f"r{i}" for i in want]
    assert [x.id for x in ds.sample(5, seed=3)] == [x.id for x in s]  # same seed, same rows
    assert [x.id for x in ds.sample(5, seed=4)] != [x.id for x in s]
    # its hash is the one load_data gives a file holding just those rows
    only = tmp_path / "only.jsonl"
    only.write_text("".join(json.dumps({"id": f"r{i}", "text": f"text número {i}"}) + "\n" for i in want), encoding="utf-8")
    assert s.sha256 == load_data(only).sha256 != ds.sha256
    assert s.identity()["sampled"] == {"n": 5, "of": 20, "seed": 3} and s.identity()["n"] == 5
    # N at or above the size, or None: every row, the data set itself
    assert ds.sample(20) is ds and ds.sample(50) is ds and ds.sample(None) is ds
    assert "sampled" not in ds.identity()


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_limit_below_one_is_a_one_line_error(tmp_path, bad):
    ds = load_data(_file(tmp_path / "d.jsonl", 3))
    with pytest.raises(ConfigError, match=r"--limit must be a whole number of rows, at least 1, got"):
        ds.sample(bad)
