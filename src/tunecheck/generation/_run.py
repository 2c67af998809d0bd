"""Generate predictions for a data set, resumably, with any backend.

A run is identified by a fingerprint of what decides its outputs (model, decoding, prompt
format). Running the same command again continues an interrupted run: finished rows are kept,
a half-written last line is dropped and redone. Other settings on an existing file are refused
rather than mixed into it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunecheck._device import check_device
from tunecheck._files import output_lock
from tunecheck._progress import Progress
from tunecheck.core import DataInfo, ModelInfo, Result
from tunecheck.data import (
    REFERENCE_FIELDS,
    Dataset,
    FieldMap,
    Message,
    PredictionWriter,
    Sample,
    load_data,
)
from tunecheck.errors import ConfigError
from tunecheck.models import (
    GENERATION,
    ChatRenderer,
    Generation,
    GenerationModel,
    GenerationParams,
    GenerationRequest,
    ModelSpec,
    ServerOptions,
    check_template,
    format_prompt,
    loaded,
    prompt_kind,
    weights_stamp,
)


@dataclass(frozen=True)
class GenerateConfig:
    """How prompts are built and which backend runs them. Decoding lives in `params`."""

    params: GenerationParams = field(default_factory=GenerationParams)
    template: str = "auto"
    """As for perplexity: auto (chat data -> chat template, Alpaca -> Alpaca prompt, else the
    prompt as is), chat, alpaca, concat, or a format string with {prompt}."""
    chat_template: bool | None = None
    """True: every prompt through the chat template; False: never; None: as `template` says."""
    system_prompt: str | None = None
    """Added as a system turn to chat prompts that have none."""
    batch_size: int | None = None
    dtype: str = "auto"
    device: str = "auto"
    # OpenAI-compatible servers
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 5
    carry: tuple[str, ...] = ()
    """Extra sample fields to copy into each row (e.g. a cluster field for `score`)."""

    def __post_init__(self) -> None:
        check_template(self.template)
        check_device(self.device)
        if self.chat_template is False and self.template == "chat":
            raise ConfigError("--no-chat-template contradicts --template chat; drop one of them")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"--batch-size {self.batch_size}: must be at least 1")
        self.server  # noqa: B018 - checks the server options now, not after the data is read

    @property
    def server(self) -> ServerOptions:
        return ServerOptions(self.base_url, self.api_key_env, self.concurrency, self.timeout, self.retries)

    @property
    def effective_template(self) -> str:
        return "chat" if self.chat_template else self.template

    def fingerprint(self, model: str) -> str:
        """What decides the outputs; rows of another fingerprint belong to another run."""
        decisive = {
            "model": model,
            "params": asdict(self.params),
            "template": self.effective_template,
            "chat_template": self.chat_template,
            "system_prompt": self.system_prompt,
        }
        return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class GenerateSummary:
    out: str
    model: str
    samples: int
    already_done: int
    generated: int
    """Rows written by this invocation."""
    output_tokens: int
    seconds: float
    finish_reasons: dict[str, int]
    warnings: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    """What was generated for (`Dataset.identity()`)."""
    identity: dict[str, Any] = field(default_factory=dict)
    """The backend's identity; empty when nothing was left to generate (no model was opened)."""
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float | None:
        return self.output_tokens / self.seconds if self.generated and self.seconds > 0 else None

    def to_result(self) -> Result:
        """As a stored result (layer "generate"): the data, the predictions file (every row in it,
        earlier runs' included) and the model with this run's counts in its details."""
        data = [_data_info(self.data, "eval")] if self.data else []
        data.append(DataInfo(self.out, None, self.already_done + self.generated, "predictions"))
        details = {"samples": self.samples, "already_done": self.already_done, "generated": self.generated,
                   "output_tokens": self.output_tokens, "seconds": self.seconds, "tokens_per_second": self.tokens_per_second,
                   "finish_reasons": dict(self.finish_reasons)}
        return Result(layer="generate", data=data, models=[ModelInfo(self.model, dict(self.identity), details)],
                      config=dict(self.config), warnings=list(self.warnings))


def _data_info(identity: dict[str, Any], role: str) -> DataInfo:
    rest = {k: v for k, v in identity.items() if k not in ("source", "sha256", "n")}
    return DataInfo(str(identity["source"]), identity.get("sha256"), int(identity["n"]), role, rest)


def build_request(sample: Sample, config: GenerateConfig, chat: ChatRenderer | None, *, server_chat: bool) -> GenerationRequest:
    """The prompt for one sample. `server_chat`: the backend takes messages and applies the
    template itself (chat endpoints), so chat prompts are sent as messages."""
    template = config.effective_template
    if config.chat_template is False and sample.shape == "chat":
        template = "concat"  # the last user turn as plain text
    kind = prompt_kind(sample, template) if sample.prompt is not None else "text"
    if config.system_prompt and kind != "chat":
        raise ConfigError(
            f"--system-prompt needs chat prompts, but sample {sample.id} is formatted as {kind}; add --chat-template"
        )
    if kind == "chat":
        history = sample.messages or (Message("user", sample.prompt or ""),)
        if config.system_prompt and not any(m.role == "system" for m in history):
            history = (Message("system", config.system_prompt), *history)
        if server_chat:
            return GenerationRequest("", history, sample.id)
        return GenerationRequest(format_prompt(sample, "chat", chat, system=config.system_prompt), None, sample.id)
    if template == "concat" and sample.shape == "chat":
        return GenerationRequest(sample.prompt or "", None, sample.id)
    return GenerationRequest(format_prompt(sample, template, chat), None, sample.id)


def question_fields(sample: Sample) -> dict[str, Any]:
    """The question as the user asked it, for people and judges who read the predictions: the
    conversation (`messages`, before the response) of chat data, else the user's turn
    (`question`). `prompt` is what the model was sent, chat template and special tokens included."""
    if sample.messages:
        return {"messages": [{"role": m.role, "content": m.content} for m in sample.messages]}
    return {"question": sample.prompt} if sample.prompt is not None else {}


def reference_fields(sample: Sample, carry: Sequence[str] = ()) -> dict[str, Any]:
    """What a prediction row carries from its sample, so the file can be scored alone."""
    out: dict[str, Any] = {}
    row = sample.fields
    if "reference" in row:
        out["reference"] = row["reference"]
    elif sample.response is not None:
        out["reference"] = sample.response
    for name in (*REFERENCE_FIELDS[1:], *carry):
        if name in row and name not in out:
            out[name] = row[name]
    return out


def generate_predictions(
    model: str | ModelSpec | GenerationModel,
    data: str | Path | Dataset,
    out: str | Path,
    config: GenerateConfig | None = None,
    *,
    fields: FieldMap | None = None,
    limit: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> GenerateSummary:
    """Write one row per (sample, generation) to `out`, continuing a run already there.

    `out` is locked for the run (a second run on it is refused). With `overwrite`, its old rows
    are deleted only once the data is loaded and the model is open: a typo loses nothing."""
    config = config or GenerateConfig()
    dataset = data if isinstance(data, Dataset) else load_data(data, fields, limit=limit)
    out_path = Path(out)
    with output_lock(out_path):
        return _generate(model, dataset, out_path, config, overwrite, progress)


def _generate(
    model: str | ModelSpec | GenerationModel, dataset: Dataset, out_path: Path, config: GenerateConfig, overwrite: bool,
    progress: Progress | None,
) -> GenerateSummary:
    if isinstance(model, (str, ModelSpec)):
        spec = ModelSpec.parse(model)
        name, run_id = spec.display_name, config.fingerprint(_model_key(spec, config))
    else:
        name, run_id = model.name, config.fingerprint(_model_key(model, config))
    rows: list[dict[str, Any]] = []
    if overwrite:
        writer, done = PredictionWriter(out_path), set[tuple[str, int]]()
    else:
        writer, done, rows = PredictionWriter.resume(out_path)
    _check_same_run(out_path, rows, run_id)
    known = {s.id for s in dataset}
    stray = sorted({i for i, _ in done} - known)
    if stray:
        raise ConfigError(
            f"{out_path}: holds predictions for ids not in the data (e.g. {stray[0]!r}); "
            "it belongs to another data set: use another --out or --overwrite"
        )
    n = config.params.n
    todo = [s for s in dataset if any((s.id, k) not in done for k in range(n))]
    if not todo:  # nothing left: do not load the model at all
        return GenerateSummary(str(out_path), name, len(dataset), len(done), 0, 0, 0.0, {}, [], dataset.identity(), {}, asdict(config))
    with loaded(model, GENERATION, layer="generate", dtype=config.dtype, device=config.device, server=config.server) as backend:
        if overwrite:  # the run can start: only now is the old output given up
            out_path.unlink(missing_ok=True)
        return _write(backend, todo, done, writer, name, run_id, config, progress, dataset)


def _write(
    backend: GenerationModel,
    todo: list[Sample],
    done: set[tuple[str, int]],
    writer: PredictionWriter,
    name: str,
    run_id: str,
    config: GenerateConfig,
    progress: Progress | None,
    dataset: Dataset,
) -> GenerateSummary:
    """Generate the rows still to do, appending each to the predictions file as it arrives."""
    chat = backend.chat_renderer()
    requests = [build_request(s, config, chat, server_chat=backend.takes_messages) for s in todo]
    reasons: Counter[str] = Counter()
    tokens = 0
    written = 0

    def on_result(i: int, gens: list[Generation]) -> None:
        nonlocal tokens, written
        sample = todo[i]
        req = requests[i]
        prompt: Any = req.prompt if req.messages is None else [{"role": m.role, "content": m.content} for m in req.messages]
        for k, g in enumerate(gens):
            if (sample.id, k) in done:
                continue
            row = {
                "id": sample.id,
                "sample": k,
                "output": g.output,
                "model": name,
                "prompt": prompt,
                "prompt_tokens": g.prompt_tokens,
                "output_tokens": g.output_tokens,
                "finish_reason": g.finish_reason,
                "latency_s": round(g.latency_s, 4) if g.latency_s is not None else None,
                "run": run_id,
                **question_fields(sample),
                **reference_fields(sample, config.carry),
            }
            writer.write(row)
            written += 1
            reasons[g.finish_reason] += 1
            tokens += g.output_tokens or 0

    started = time.perf_counter()
    with writer:
        if requests:
            backend.generate(requests, config.params, on_result, batch_size=config.batch_size, progress=progress)
    seconds = time.perf_counter() - started
    warnings: list[str] = []
    if reasons.get("length"):
        warnings.append(
            f"{reasons['length']} of {written} outputs stopped at --max-new-tokens {config.params.max_new_tokens}; "
            "raise it if answers are cut off"
        )
    return GenerateSummary(
        str(writer.path), backend.name, len(dataset), len(done), written, tokens, seconds, dict(reasons), warnings,
        dataset.identity(), dict(backend.identity()), asdict(config),
    )


def _model_key(model: ModelSpec | GenerationModel, config: GenerateConfig) -> str:
    """The model's part of the run fingerprint, known without loading it."""
    if isinstance(model, ModelSpec):
        keep: dict[str, Any] = {"kind": model.kind, "location": model.location, "base": model.base, "revision": model.revision}
        if model.kind == "openai":
            keep["base_url"] = config.base_url
        else:  # a model retrained into the same folder is another model
            keep["weights"] = weights_stamp(model.location)
    else:
        info = model.identity()
        keep = {k: info.get(k) for k in ("location", "base", "base_url", "backend")}
    keep["name"] = model.display_name if isinstance(model, ModelSpec) else model.name
    return json.dumps(keep, sort_keys=True)


def _check_same_run(path: Path, rows: list[dict[str, Any]], run_id: str) -> None:
    for row in rows:
        if row.get("run") != run_id:
            who = row.get("model") or "another tool"
            raise ConfigError(
                f"{path}: already holds predictions from {who} with other settings (the model or its weight files, "
                "decoding or prompt format differ from this run's); pass --overwrite to start again, or use another --out"
            )
