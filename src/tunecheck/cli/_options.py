"""Options shared by several commands, declared once.

A flag several commands take is an `Annotated` alias here (`Data`, `Dtype`, ...). A group of
flags that always travel together and build one object is an `OptionSet` (`FIELDS` builds a
`FieldMap`, `SCORING` a `Scoring`, `GENERATION` a `GenerationParams`): a command names it once,
as one parameter (`fields: o.Fields`), and `@option_sets` shows Typer the set's flags in that
parameter's place (so `--help` keeps its order) and hands the command the built object."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import typer

from tunecheck.data import Dataset, FieldMap, check_limit, load_data
from tunecheck.errors import ConfigError

if TYPE_CHECKING:
    from tunecheck.models import GenerationParams
    from tunecheck.perplexity import PerplexityConfig

T = TypeVar("T")
R = TypeVar("R")

Models = Annotated[
    list[str],
    typer.Option(
        "--model",
        "-m",
        help="Model: local dir, hub id, PEFT adapter dir; options after commas "
        "(e.g. ./adapter,base=./base,name=tuned). Repeat to compare; the first is the baseline.",
    ),
]
Data = Annotated[str, typer.Option("--data", "-d", help="Eval file (.jsonl/.json/.csv/.parquet) or hf:NAME[:CONFIG][:SPLIT].")]
Format = Annotated[str, typer.Option("--format", "-f", help="Output: table or json.")]
CompletionOnly = Annotated[
    bool, typer.Option("--completion-only", help="Score only the response tokens of prompt/response data (SFT loss).")
]
Template = Annotated[
    str,
    typer.Option(help="How prompt and response were joined in training: auto, chat, alpaca, concat, or a format string with {prompt}."),
]
Eos = Annotated[
    str,
    typer.Option(
        help="Score an EOS token after each text: auto (as TRL trains: after Alpaca and prompt/completion responses, "
        "not after a chat template's turn, which ends with its own end-of-turn; never after plain text), yes or no.",
    ),
]
Windows = Annotated[
    str,
    typer.Option(
        help="Context of the windows after the first, for texts longer than --max-length: lm-eval (refilled to "
        "--max-length, as lm-evaluation-harness) or fixed (--max-length minus --stride tokens).",
    ),
]
ShowTokens = Annotated[
    bool, typer.Option("--show-tokens", help="Print the first sample's tokens to stderr, the scored ones marked, with counts.")
]
MaxLength = Annotated[int | None, typer.Option(help="Tokens per window (default: the model's context length).")]
Stride = Annotated[int | None, typer.Option(help="New tokens scored per window after the first (default: --max-length).")]
BatchSize = Annotated[int | None, typer.Option(help="Windows per forward pass (default: automatic). Never changes the numbers.")]
Dtype = Annotated[str, typer.Option(help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16 or float16.")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")]
Resamples = Annotated[int, typer.Option(help="Bootstrap resamples for confidence intervals.")]
Seed = Annotated[int, typer.Option(help="Seed for the bootstrap.")]
Out = Annotated[str | None, typer.Option(help="Also write the results to this JSON file.")]
PerDocumentOut = Annotated[str | None, typer.Option("--out", help="Also write the full results (with per-document values) to this JSON file.")]
PerSampleOut = Annotated[str | None, typer.Option("--out", help="Also write the full results (with per-sample scores) to this JSON file.")]
SampledSeed = Annotated[int, typer.Option(help="Seed for the bootstrap and for --limit's sample.")]
Limit = Annotated[
    int | None, typer.Option(help="A quick look: a random sample of N rows of each data set (seeded by --seed; default: all rows).")
]


def label_list(labels: str | None) -> tuple[str, ...] | None:
    """--labels "a, b,c" -> ("a", "b", "c"); None when not given."""
    return tuple(x.strip() for x in labels.split(",") if x.strip()) if labels else None


def sampled(source: str, fields: FieldMap, limit: int | None, seed: int) -> str | Dataset:
    """--limit N: the data set's seeded sample of N rows (`Dataset.sample`); without it the
    source itself, for the library to load."""
    check_limit(limit)
    return source if limit is None else load_data(source, fields).sample(limit, seed)


def check_format(fmt: str) -> str:
    """--format: table or json."""
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format {fmt!r}: use table or json")
    return fmt


@dataclass(frozen=True)
class OptionSet(Generic[T]):
    """Flags that travel together, declared once as the parameters of `build`, which turns their
    values into the one object a command gets (a `FieldMap`, ...)."""

    build: Callable[..., T]
    leave_out: frozenset[str] = frozenset()
    """Flags of `build` this variant does not offer (they keep `build`'s defaults)."""

    @property
    def params(self) -> list[inspect.Parameter]:
        """The flags, in order, with their `Annotated[..., typer.Option]` resolved (Typer needs
        objects, and `from __future__ import annotations` leaves strings)."""
        return [p for p in _parameters(self.build) if p.name not in self.leave_out]

    def without(self, *names: str) -> OptionSet[T]:
        """The set less some flags, for a command that has no use for them."""
        unknown = set(names) - {p.name for p in self.params}
        if unknown:
            raise TypeError(f"{self.build.__name__} has no flags {sorted(unknown)}")
        return OptionSet(self.build, self.leave_out | set(names))


def _parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """`function`'s parameters, keyword-only, their string annotations evaluated where it was
    written (only theirs: a return type may name a class imported for type checking only)."""
    where = getattr(function, "__globals__", {})
    return [p.replace(annotation=eval(p.annotation, where) if isinstance(p.annotation, str) else p.annotation,
                      kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(function).parameters.values()]


def _set_of(hint: object) -> OptionSet[Any] | None:
    """The OptionSet an `Annotated[T, SET]` parameter names, else None."""
    if typing.get_origin(hint) is Annotated:
        return next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, OptionSet)), None)
    return None


def option_sets(command: Callable[..., R]) -> Callable[..., R]:
    """Put each `OptionSet` parameter's flags in its place in the signature Typer reads
    (`__signature__` and resolved `__annotations__`), and call `command` with the set's object.

    Every parameter becomes keyword-only, so a set may stand after parameters with defaults;
    Typer passes them all by name anyway."""
    params: list[inspect.Parameter] = []
    sets: dict[str, tuple[OptionSet[Any], list[str]]] = {}
    for param in _parameters(command):
        option_set = _set_of(param.annotation)
        if option_set is None:
            params.append(param)
        else:
            flags = option_set.params
            sets[param.name] = (option_set, [p.name for p in flags])
            params.extend(flags)
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise TypeError(f"{command.__name__}: a flag of an option set clashes with another parameter")

    @functools.wraps(command)
    def wrapper(**values: Any) -> R:
        for name, (option_set, flags) in sets.items():
            values[name] = option_set.build(**{flag: values.pop(flag) for flag in flags})
        return command(**values)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _fields(
    text_field: Annotated[str | None, typer.Option(help="Field holding plain text (default: text).")] = None,
    prompt_field: Annotated[str | None, typer.Option(help="Field holding the prompt (default: prompt or instruction).")] = None,
    response_field: Annotated[str | None, typer.Option(help="Field holding the response (default: completion or output).")] = None,
    messages_field: Annotated[str | None, typer.Option(help="Field holding chat messages (default: messages).")] = None,
    input_field: Annotated[str | None, typer.Option(help="Alpaca-style input field (default: input).")] = None,
    id_field: Annotated[str | None, typer.Option(help="Field holding a unique sample id (default: id, else row number).")] = None,
) -> FieldMap:
    return FieldMap(text=text_field, prompt=prompt_field, response=response_field, messages=messages_field, input=input_field, id=id_field)


FIELDS = OptionSet(_fields)
Fields = Annotated[FieldMap, FIELDS]
"""--text-field ... --id-field: which fields of the data hold what."""


@dataclass(frozen=True)
class Scoring:
    """The perplexity-scoring flags. The PerplexityConfig is built by `config`, where the command
    builds it (after its cheaper checks), and with the command's own --n-resamples and --seed."""

    options: Mapping[str, Any]
    show_tokens: bool = False

    def config(self, n_resamples: int, seed: int) -> PerplexityConfig:
        from tunecheck.perplexity import PerplexityConfig

        return PerplexityConfig(**self.options, n_resamples=n_resamples, seed=seed)


def _scoring(
    completion_only: CompletionOnly = False,
    template: Template = "auto",
    eos: Eos = "auto",
    max_length: MaxLength = None,
    stride: Stride = None,
    windows: Windows = "lm-eval",
    show_tokens: ShowTokens = False,
    batch_size: BatchSize = None,
    dtype: Dtype = "auto",
    device: Device = "auto",
) -> Scoring:
    options = {"completion_only": completion_only, "template": template, "eos": eos, "max_length": max_length, "stride": stride,
               "windows": windows, "batch_size": batch_size, "dtype": dtype, "device": device}
    return Scoring(options, show_tokens)


SCORING = OptionSet(_scoring)
ScoringOptions = Annotated[Scoring, SCORING]
"""How to score perplexity: --completion-only ... --device, with --show-tokens."""
ScoringQuiet = Annotated[Scoring, SCORING.without("show_tokens")]
"""The scoring flags without --show-tokens, for commands that print no tokens."""


def _generation(
    max_new_tokens: Annotated[int, typer.Option(help="Most tokens generated per output.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy (default); > 0 samples.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling: keep the smallest token set with this much probability.")] = 1.0,
    n: Annotated[int, typer.Option("--n", help="Generations per prompt (needs --temperature > 0).")] = 1,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="Stop string (repeatable); not included in the output.")] = None,
) -> GenerationParams:
    from tunecheck.models import GenerationParams

    return GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, n=n, seed=seed, stop=tuple(stop or ()))


GENERATION = OptionSet(_generation)
Generation = Annotated["GenerationParams", GENERATION]
"""Decoding: --max-new-tokens, --temperature, --top-p, --n, --seed, --stop."""
