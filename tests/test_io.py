import json
import math

import pytest

from tunecheck._io import clean, write_json


def test_nan_becomes_null_and_file_is_valid_json(tmp_path):
    path = tmp_path / "sub" / "results.json"
    write_json(path, {"a": math.nan, "b": [1.0, math.inf], "c": {"d": 2.5}})
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None], "c": {"d": 2.5}}
    assert clean((1.0, math.nan)) == [1.0, None]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "results.json"
    write_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        write_json(path, {"bad": object()})  # not serialisable: fails mid-write
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp file left
