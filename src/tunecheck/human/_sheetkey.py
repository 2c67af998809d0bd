"""What every sheet format shares: the seeded (optionally stratified) sample of items, the slots
an item's outputs are shown under (model names, or letters in blind mode), and the key that maps
slots back to models and proves a completed sheet is the one exported.

The key (OUT.key.json, written beside every sheet) holds, per item id, each slot's model and a
short digest of the output shown there, and the sheet's hash: a SHA-256 of those entries. The
sheet carries the hash too, so a sheet imported with another sheet's key is refused, as is a
row whose id the key lacks or whose output is not the one exported (rows moved between items).
In blind mode the key is the secret: keep it from the annotators.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tunecheck._files import read_text
from tunecheck._io import write_text
from tunecheck.errors import ConfigError, DataError
from tunecheck.human._items import AnnotationItem, blind_order
from tunecheck.judge._rubric import Criterion, Rubric

Task = Literal["rubric", "ab"]
KEY_VERSION = 1


@dataclass(frozen=True)
class SheetInfo:
    """What an export wrote."""

    path: str
    key_path: str
    task: Task
    blind: bool
    items: int
    rows: int
    """Rows a person fills in: (item, model) pairs for rubric, items for A/B."""
    categories: dict[str, int]
    """Category -> items sampled from it ({} unless stratified)."""
    sheet_hash: str
    config_path: str | None = None
    """Label Studio's labeling config, for --format labelstudio."""


def allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """Items drawn per category: proportional (largest remainder, ties to the category seen
    first), then every category with none given one, taken from the category most over its
    quota that can spare one; when n is below the number of categories some get none."""
    total = sum(counts.values())
    quota = {c: n * k / total for c, k in counts.items()}
    alloc = {c: int(q) for c, q in quota.items()}
    order = sorted(counts, key=lambda c: -(quota[c] - alloc[c]))  # sorted() is stable: first seen wins a tie
    for c in order[: n - sum(alloc.values())]:
        alloc[c] += 1
    if n >= len(counts):
        for c in counts:
            if alloc[c] == 0:
                donor = max((d for d in counts if alloc[d] > 1), key=lambda d: alloc[d] - quota[d])
                alloc[donor] -= 1
                alloc[c] = 1
    return alloc


def sample_items(items: Sequence[AnnotationItem], n: int | None, seed: int, stratify: str | None) -> tuple[list[AnnotationItem], dict[str, int]]:
    """A seeded sample of n items (all when n is None or at least the count), in their original
    order; stratified by `item.category` when `stratify` names the field."""
    if not items:
        raise DataError("no items to put on a sheet (the predictions files share no sample id)")
    if n is not None and n < 1:
        raise ConfigError(f"--n {n}: give at least 1 item")
    rng = random.Random(seed)
    if stratify is None:
        if n is None or n >= len(items):
            return list(items), {}
        keep = set(rng.sample(range(len(items)), n))
        return [it for i, it in enumerate(items) if i in keep], {}
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        if it.category is None:
            raise DataError(f"sample {it.id!r}: no {stratify!r} field to stratify by; give every row one, or drop --stratify")
        groups.setdefault(it.category, []).append(i)
    alloc = allocate({c: len(g) for c, g in groups.items()}, len(items) if n is None else min(n, len(items)))
    keep = set()
    for c, g in groups.items():
        keep.update(rng.sample(g, alloc[c]))
    return [it for i, it in enumerate(items) if i in keep], {c: k for c, k in alloc.items()}


def slots(item: AnnotationItem, task: Task, blind: bool, seed: int) -> list[tuple[str, str]]:
    """(slot, model) pairs for the item's outputs, in the order shown. Open: slot = model name
    (A/B for the ab task, A the first file's). Blind: letters A, B, ... in a random order per
    item (blind_order for two models, a seeded shuffle for more)."""
    models = list(item.outputs)
    if task == "ab" and len(models) != 2:
        raise ConfigError(f"an A/B sheet compares two models; got {len(models)} predictions files ({', '.join(models)})")
    if blind:
        if len(models) == 2:
            order = list(blind_order(item.id, models, seed))
        else:
            order = models[:]
            random.Random(hashlib.sha256(f"{seed}\0{item.id}".encode()).digest()).shuffle(order)
        return [(chr(ord("A") + i), m) for i, m in enumerate(order)]
    if task == "ab":
        return [("A", models[0]), ("B", models[1])]
    return [(m, m) for m in models]


def digest(text: str) -> str:
    """A short digest of an output as shown: line endings and surrounding white space a
    spreadsheet program may change do not count."""
    norm = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"))
    return hashlib.sha256(norm.encode()).hexdigest()[:16]


def make_key(chosen: Sequence[AnnotationItem], task: Task, blind: bool, seed: int, rubric: Rubric | None) -> dict[str, Any]:
    entries = {it.id: {slot: {"model": m, "digest": digest(it.outputs[m])} for slot, m in slots(it, task, blind, seed)} for it in chosen}
    sheet_hash = hashlib.sha256(json.dumps([task, blind, entries], sort_keys=True).encode()).hexdigest()
    key: dict[str, Any] = {"tunecheck_sheet_key": KEY_VERSION, "task": task, "blind": blind, "sheet_hash": sheet_hash, "items": entries}
    if rubric is not None:
        key["rubric"] = rubric_json(rubric)
    return key


def rubric_json(rubric: Rubric) -> dict[str, Any]:
    return {"name": rubric.name, "criteria": [{"name": c.name, "description": c.description, "low": c.low, "high": c.high} for c in rubric.scored]}


def rubric_from_json(where: str, value: Any) -> Rubric:
    """The rubric a sheet or key carries (its criteria and scales; enough to validate scores)."""
    try:
        crits = tuple(Criterion(str(c["name"]), str(c.get("description", "")), int(c["low"]), int(c["high"])) for c in value["criteria"])
        name = str(value.get("name", "sheet"))
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where}: the field 'rubric' is not a rubric (criteria with name, low, high); pass --rubric") from None
    return Rubric(name=name, criteria=crits, overall=None, reference_guided=False, instructions="")


def key_path_for(out: str | Path) -> Path:
    p = Path(out)
    return p.with_name(p.stem + ".key.json")


def write_key(path: Path, key: dict[str, Any]) -> None:
    write_text(path, json.dumps(key, indent=1, ensure_ascii=False) + "\n")


def read_key(path: str | Path) -> dict[str, Any]:
    text = read_text(path, "sheet key")
    try:
        key = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path} line {err.lineno}: invalid JSON ({err.msg}); pass the .key.json written with the sheet") from None
    if not isinstance(key, dict) or key.get("tunecheck_sheet_key") != KEY_VERSION or not isinstance(key.get("items"), dict):
        raise DataError(f"{path}: not a sheet key (no 'tunecheck_sheet_key': {KEY_VERSION}); pass the .key.json written with the sheet")
    return key


class KeyCheck:
    """Checks a completed sheet's rows against its key and maps slots back to models."""

    def __init__(self, key: dict[str, Any] | None, key_name: str) -> None:
        self.key, self.key_name = key, key_name

    def sheet(self, path: str, declared: str | None, blind: bool) -> None:
        if self.key is None:
            if blind:
                raise DataError(f"{path}: a blind sheet; pass its key (--key {Path(path).stem}.key.json) to know which output is which model")
            return
        if declared is None:
            raise DataError(f"{path}: no sheet hash (field or column 'sheet_hash'), so it cannot be matched to the key {self.key_name}; import it without --key if it is an open sheet")
        if declared != self.key["sheet_hash"]:
            raise DataError(f"{path}: the sheet hash {declared[:12]}... does not match the key {self.key_name} ({str(self.key['sheet_hash'])[:12]}...); pass the key written with this sheet")

    @property
    def blind(self) -> bool:
        return self.key is not None and bool(self.key["blind"])

    def shown(self, where: str, column: str, sid: str, slot: str, output: str | None) -> str:
        """What a row's model field is validated as: the slot on a blind sheet (so messages
        speak of A and B, as the sheet does), else the model (`model`)."""
        model = self.model(where, column, sid, slot, output)
        return slot if self.blind else model

    def unblind(self, sid: str, slot: str) -> str:
        return str(self.key["items"][sid][slot]["model"]) if self.key is not None and self.blind else slot

    def model(self, where: str, column: str, sid: str, slot: str, output: str | None) -> str:
        """The model behind `slot` of item `sid` (the slot itself without a key)."""
        if self.key is None:
            return slot
        entry = self.key["items"].get(sid)
        if entry is None:
            raise DataError(f"{where}, column 'id': unknown id {sid!r} (not in the key {self.key_name}); restore the exported id")
        if slot not in entry:
            raise DataError(f"{where}, column {column!r}: unknown {'slot' if self.key['blind'] else 'model'} {slot!r} for id {sid!r} (the key has {', '.join(entry)}); restore the exported value")
        if output is not None and output.strip() and digest(output) != entry[slot]["digest"]:
            shown = "output" if column == "model" else f"output_{slot.lower()}"
            raise DataError(f"{where}, column {shown!r}: not the output exported for id {sid!r} {slot} (rows moved or text edited); restore it")
        return str(entry[slot]["model"])
