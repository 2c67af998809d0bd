"""Reading results files back, whichever command wrote them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunecheck.core._result import SCHEMA_VERSION, Result, ResultSet
from tunecheck.errors import DataError

_COMMAND = {"regurgitation": "memorisation copying", "copying": "memorisation copying", "extraction": "memorisation extraction",
            "membership": "memorisation membership", "rephrase": "memorisation rephrase", "overfitting": "verdict"}
"""Commands whose name differs from the layer an older results file names."""
_FIX = "give a results file that a tunecheck command wrote with --out or --json"


def _check_version(payload: Any, where: str) -> None:
    if isinstance(payload, dict) and "schema_version" not in payload and isinstance(payload.get("layer"), str):
        # a file from a tunecheck before results had one schema: its keys mean other things
        layer = payload["layer"]
        raise DataError(
            f"{where}: a {layer} result from an older tunecheck (no schema_version); "
            f"run `tunecheck {_COMMAND.get(layer, layer)}` again with --out to write it in the current format"
        )
    if not isinstance(payload, dict) or "schema_version" not in payload:
        raise DataError(f"{where}: not a tunecheck results file (no schema_version); {_FIX}")
    version = payload["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise DataError(f"{where}: schema_version must be a whole number, got {version!r}; {_FIX}")
    if version > SCHEMA_VERSION:
        made_by = payload.get("tunecheck_version", "a newer tunecheck")
        raise DataError(
            f"{where}: written by tunecheck {made_by} with results schema {version}, but this tunecheck "
            f"reads schema {SCHEMA_VERSION} and older; upgrade it (pip install -U tunecheck)"
        )


def parse_results(payload: Any, where: str = "result") -> Result | ResultSet:
    """A `Result`, or a `ResultSet` for a combined file, from parsed JSON."""
    _check_version(payload, where)
    if "results" in payload and "layer" not in payload:
        inner = payload["results"]
        if not isinstance(inner, dict):
            raise DataError(f"{where}: field 'results' must be an object of named results; {_FIX}")
        results = {}
        for name, item in inner.items():
            _check_version(item, f"{where} results.{name}")
            results[str(name)] = Result.from_dict(item, where=f"{where} results.{name}")
        return ResultSet(results, int(payload["schema_version"]), str(payload.get("tunecheck_version", "")), str(payload.get("created_at", "")))
    if "layer" not in payload:
        raise DataError(f"{where}: field 'layer' is missing; {_FIX}")
    return Result.from_dict(payload, where=where)


def load_results(path: str | Path) -> ResultSet:
    """Every result in a file: a combined file's, or a single result as a set of one (keyed by
    its layer)."""
    from tunecheck._io import read_json

    got = parse_results(read_json(path, fix=_FIX), str(path))
    return got if isinstance(got, ResultSet) else ResultSet({got.layer: got}, got.schema_version, got.tunecheck_version, got.created_at)


def load_result(path: str | Path, name: str | None = None) -> Result:
    """The result in a file written by any tunecheck command (`--out`, `--json`). For a combined
    file (the demo's), `name` picks one of its results."""
    from tunecheck._io import read_json

    got = parse_results(read_json(path, fix=_FIX), str(path))
    if isinstance(got, Result):
        if name is not None and name != got.layer:
            raise DataError(f"{path}: holds a {got.layer} result, not {name!r}")
        return got
    if name is None:
        raise DataError(f"{path}: holds several results ({', '.join(got.results)}); name one (load_result(path, name)) or use load_results")
    if name not in got.results:
        raise DataError(f"{path}: no result named {name!r}; it holds {', '.join(got.results)}")
    return got.results[name]
