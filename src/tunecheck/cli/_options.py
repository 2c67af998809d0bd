"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from tunecheck.data import Dataset, FieldMap, check_limit, load_data
from tunecheck.errors import ConfigError

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
TextField = Annotated[str | None, typer.Option(help="Field holding plain text (default: text).")]
PromptField = Annotated[str | None, typer.Option(help="Field holding the prompt (default: prompt or instruction).")]
ResponseField = Annotated[str | None, typer.Option(help="Field holding the response (default: completion or output).")]
MessagesField = Annotated[str | None, typer.Option(help="Field holding chat messages (default: messages).")]
InputField = Annotated[str | None, typer.Option(help="Alpaca-style input field (default: input).")]
IdField = Annotated[str | None, typer.Option(help="Field holding a unique sample id (default: id, else row number).")]
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


def field_map(text: str | None, prompt: str | None, response: str | None, messages: str | None, input_: str | None, id_: str | None) -> FieldMap:
    return FieldMap(text=text, prompt=prompt, response=response, messages=messages, input=input_, id=id_)


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
