import json
import math

import pytest

from tunecheck._io import clean, read_json, write_json
from tunecheck.errors import DataError


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


def test_read_json_reports_file_line_and_fix(tmp_path):
    ok = tmp_path / "ok.json"
    ok.write_bytes(b'\xef\xbb\xbf{"a": 1}')  # a BOM, as Windows tools write it
    assert read_json(ok) == {"a": 1}
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": 1,\n}')
    with pytest.raises(DataError, match=r"bad\.json line 3: invalid JSON .*; do this"):
        read_json(bad, fix="do this")
    with pytest.raises(DataError, match=r"missing\.json: no such file"):
        read_json(tmp_path / "missing.json")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_json(latin)
