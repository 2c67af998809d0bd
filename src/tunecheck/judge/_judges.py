"""Judges are models: a `--judge` spec opens like `--model` does (any backend that can chat),
its calls go through the on-disk cache and a meter, and its lineage (what it is and what it was
fine-tuned from) is compared with the judged models' for self-preference."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunecheck.judge._cache import CachedCalls, JudgeCache
from tunecheck.judge._run import Meter

FAMILIES = (
    "llama", "qwen", "mistral", "mixtral", "gemma", "phi", "smollm", "gpt", "claude", "deepseek", "falcon",
    "olmo", "command", "granite", "yi", "internlm", "baichuan", "glm", "pythia", "opt", "bloom",
)
"""Model families by name: a judge of the same family as a judged model tends to prefer its style."""


@dataclass
class Judge:
    """One judge of a run: its display name, what it is (for the cache key and the report), and
    its metered cached calls."""

    name: str
    identity: dict[str, Any]
    ask: Meter
    lineage: frozenset[str] = field(default_factory=frozenset)


def cache_identity(identity: Mapping[str, Any]) -> dict[str, Any]:
    """What keys a judge's answers: everything that changes them, not its display name or the
    device it ran on, so renaming a judge or moving it to another GPU keeps the cache. The name
    stays when nothing else says which model it is."""
    drop = ("name", "device") if identity.get("location") else ("device",)
    return {k: v for k, v in identity.items() if k not in drop}


def _norm(name: str) -> str:
    return name.strip().rstrip("/").lower()


def lineage(name: str, location: str | None = None) -> frozenset[str]:
    """The names a model goes by: its name or location, its hub id without the owner, and for a
    local folder the base it was trained from (adapter_config.json's base_model_name_or_path,
    config.json's _name_or_path), followed one level."""
    out: set[str] = set()
    todo = [n for n in (name, location) if n]
    for _ in range(3):
        nxt = []
        for n in todo:
            n = n.removeprefix("openai:").removeprefix("vllm:").split(",")[0]
            if not n or _norm(n) in out:
                continue
            out.add(_norm(n))
            out.add(_norm(n.split("/")[-1]))
            p = Path(n).expanduser()
            for cfg, key in (("adapter_config.json", "base_model_name_or_path"), ("config.json", "_name_or_path")):
                try:
                    value = json.loads((p / cfg).read_text(encoding="utf-8")).get(key)
                except (OSError, ValueError, AttributeError):
                    continue
                if isinstance(value, str) and value:
                    nxt.append(value)
        todo = nxt
    return frozenset(out)


def family(names: Iterable[str]) -> set[str]:
    found = set()
    for n in names:
        words = set(re.split(r"[^a-z]+", n.split("/")[-1].lower()))
        found |= {f for f in FAMILIES if any(w.startswith(f) for w in words if w)}
    return found


def self_preference(judge: Judge, models: Mapping[str, frozenset[str]]) -> list[str]:
    """Warnings for a judge grading itself, its base, or its own family."""
    out = []
    for model, names in models.items():
        shared = judge.lineage & names
        if shared:
            out.append(
                f"self-preference: judge {judge.name} is, or shares its base with, {model} ({sorted(shared)[0]}); "
                "judges favour their own outputs: add a judge of another family (a second --judge)"
            )
            continue
        fam = family(judge.lineage) & family(names)
        if fam:
            out.append(
                f"self-preference: judge {judge.name} is of the same family ({sorted(fam)[0]}) as {model}; "
                "judges tend to favour their own family's style: add a judge of another family"
            )
    return out


def make_judge(name: str, identity: Mapping[str, Any], call: Any, cache: JudgeCache, location: str | None = None) -> Judge:
    calls = CachedCalls(cache, cache_identity(identity), call)
    return Judge(name, dict(identity), Meter(name, calls), lineage(name, location))


@contextmanager
def open_judges(specs: Sequence[str], cache: JudgeCache, *, server: Any = None, dtype: str = "auto",
                device: str = "auto") -> Iterator[list[Judge]]:
    """Each `--judge` spec opened as a chat model (refused before anything loads if its backend
    cannot chat) and wrapped in the cache; every model closed afterwards, on error too."""
    from tunecheck.models._open import loaded
    from tunecheck.models._protocol import CHAT
    from tunecheck.models._spec import ModelSpec, weights_stamp

    with ExitStack() as stack:
        judges = []
        for spec in specs:
            parsed = ModelSpec.parse(spec)
            model = stack.enter_context(loaded(parsed, CHAT, layer="judge", dtype=dtype, device=device, server=server))
            identity = dict(model.identity())
            if parsed.kind != "openai":  # a model retrained in place is another judge: its answers are not reused
                identity["weights"] = weights_stamp(parsed.location)
            judges.append(make_judge(model.name, identity, model.chat, cache, parsed.location))
        yield judges
