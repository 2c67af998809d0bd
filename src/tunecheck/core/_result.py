"""One result type for every layer, and its file format.

Every command's JSON output and `--out` file is a serialised `Result` (the demo's, which
combines several, is a `ResultSet`): what the verdicts, the demo and the report read, the way
inspect_ai's viewer reads one `EvalLog`. Layer-specific findings that fit no shared field go in
`details` (curves' best step, overlap pairs); everything another layer needs is typed.

The format is versioned (`SCHEMA_VERSION`, published as docs/results.schema.json): a reader
refuses a file from a newer schema with a clear message instead of misreading it.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Any

from tunecheck.core._types import Comparison, Estimate, Record, Signal, Status, Verdict

SCHEMA_VERSION = 1
"""Bumped when a field changes meaning or goes; adding an optional field keeps it."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tunecheck")
    except PackageNotFoundError:  # a source checkout run without installing
        return "0+unknown"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class DataInfo:
    """Which data a result measured: enough to tell whether two results saw the same rows."""

    source: str
    """The path or `hf:` id it was read from."""
    sha256: str | None
    """Content hash of the rows as read (`data.Dataset.sha256`); None when not hashed."""
    n: int
    """Rows (samples, documents, predictions) used."""
    role: str = "eval"
    """What the data was to this layer: eval, train, validation, predictions, log, ..."""
    details: dict[str, Any] = field(default_factory=dict)
    """The rest of what is known: shape (text, chat, ...), how it was sampled (--limit)."""


@dataclass(frozen=True)
class ModelInfo:
    """One model a result covers."""

    name: str
    """Its display name, the key of its estimates, comparisons and signals."""
    identity: dict[str, Any] = field(default_factory=dict)
    """What the backend says it is (`identity()`): spec, path, revision, hashes, adapter base."""
    details: dict[str, Any] = field(default_factory=dict)
    """Layer-specific per-model facts without a CI: token counts, the tokenisation hash, whether
    a check applies to this model and why not."""


@dataclass
class Result:
    """What one layer found about one or more models on one set of data."""

    layer: str
    """The command that produced it: perplexity, overfit, score, curves, sweep, overlap, ..."""
    data: list[DataInfo] = field(default_factory=list)
    models: list[ModelInfo] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    """The options it ran with (as the layer's config dataclass holds them)."""
    estimates: list[Estimate] = field(default_factory=list)
    """Per-model (and per-data) numbers, each with its metric, model and CI."""
    comparisons: list[Comparison] = field(default_factory=list)
    """Each model against its baseline, from the statistics engine."""
    signals: list[Signal] = field(default_factory=list)
    """Overfitting checks' readings, for the layers that are such a check."""
    records: list[Record] = field(default_factory=list)
    """Per-sample raw results, when asked for (--per-document)."""
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    """What only this layer has (curves' best step, overlap pairs, a recommendation)."""
    schema_version: int = SCHEMA_VERSION
    tunecheck_version: str = field(default_factory=_version)
    created_at: str = field(default_factory=_now)
    """When it ran, ISO 8601 in UTC."""

    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    def model(self, name: str) -> ModelInfo | None:
        return next((m for m in self.models if m.name == name), None)

    def estimate(self, metric: str, model: str = "") -> Estimate | None:
        """The estimate of `metric` for `model` (the only one, or the data-level one, if empty)."""
        found = [e for e in self.estimates if e.metric == metric and (e.model == model or not model)]
        return found[0] if found else None

    def value(self, metric: str, model: str = "") -> float | None:
        """The point value of `estimate(metric, model)`, or None when there is none."""
        est = self.estimate(metric, model)
        return est.value if est else None

    def comparisons_for(self, model: str) -> list[Comparison]:
        return [c for c in self.comparisons if c.model == model]

    def signals_for(self, model: str) -> list[Signal]:
        return [s for s in self.signals if s.model == model]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (enums as their words, tuples as lists; NaN stays a float for the writer)."""
        return {"schema_version": self.schema_version, **{f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "schema_version"}}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any], *, where: str = "result") -> Result:
        """The inverse of `to_dict` (null numbers read back as NaN); a DataError on a bad file."""
        from tunecheck.errors import DataError

        try:
            return cls(
                layer=str(payload["layer"]),
                data=[DataInfo(**d) for d in payload.get("data", [])],
                models=[ModelInfo(**m) for m in payload.get("models", [])],
                config=dict(payload.get("config") or {}),
                estimates=[_estimate(e) for e in payload.get("estimates", [])],
                comparisons=[_comparison(c) for c in payload.get("comparisons", [])],
                signals=[_signal(s) for s in payload.get("signals", [])],
                records=[Record(str(r["sample_id"]), str(r["model"]), {k: _num(v) for k, v in r["values"].items()}) for r in payload.get("records", [])],
                warnings=[str(w) for w in payload.get("warnings", [])],
                details=dict(payload.get("details") or {}),
                schema_version=int(payload["schema_version"]),
                tunecheck_version=str(payload.get("tunecheck_version", "")),
                created_at=str(payload.get("created_at", "")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"{where}: not a valid tunecheck result ({type(err).__name__}: {err}); re-create it with tunecheck") from None


@dataclass
class ResultSet:
    """Several layers' results in one file (the demo's, later `tunecheck run`'s), by name."""

    results: dict[str, Result] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    tunecheck_version: str = field(default_factory=_version)
    created_at: str = field(default_factory=_now)

    def __getitem__(self, name: str) -> Result:
        return self.results[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "tunecheck_version": self.tunecheck_version,
            "created_at": self.created_at,
            "results": {k: r.to_dict() for k, r in self.results.items()},
        }


def _plain(obj: Any) -> Any:
    if isinstance(obj, Enum):
        return obj.value
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return obj.item()
    return obj


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _ci(v: Any) -> tuple[float, float] | None:
    return None if v is None else (_num(v[0]), _num(v[1]))


def _estimate(e: Mapping[str, Any]) -> Estimate:
    return Estimate(_num(e["value"]), _ci(e.get("ci95")), str(e.get("metric", "")), str(e.get("model", "")), e.get("n"))


def _comparison(c: Mapping[str, Any]) -> Comparison:
    ci = _ci(c["ci95"])
    return Comparison(
        metric=str(c["metric"]),
        baseline=str(c["baseline"]),
        model=str(c["model"]),
        n=int(c["n"]),
        baseline_value=_num(c["baseline_value"]),
        value=_num(c["value"]),
        difference=_num(c["difference"]),
        ci95=ci if ci is not None else (math.nan, math.nan),
        p_value=_num(c["p_value"]),
        verdict=Verdict(c["verdict"]),
        higher_is_better=bool(c.get("higher_is_better", True)),
        se=_num(c.get("se")),
        mdd=_num(c.get("mdd")),
        p_value_holm=None if c.get("p_value_holm") is None else float(c["p_value_holm"]),
        tests={k: _num(v) for k, v in (c.get("tests") or {}).items()},
        extra=dict(c.get("extra") or {}),
    )


def _signal(s: Mapping[str, Any]) -> Signal:
    return Signal(str(s["name"]), Status(s["status"]), str(s["evidence"]), s.get("reason"), bool(s.get("deciding", True)), str(s.get("model", "")))
