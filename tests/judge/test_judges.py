"""Judges: what keys their cache, their lineage, and the self-preference warning."""

from __future__ import annotations

import json
from pathlib import Path

from tunecheck.judge import JudgeCache, make_judge, self_preference
from tunecheck.judge._judges import cache_identity, family, lineage
from tunecheck.models import ChatReply


def test_cache_identity_ignores_the_display_name_and_device() -> None:
    assert cache_identity({"name": "j", "device": "cuda:1", "location": "m", "dtype": "bf16"}) == {"location": "m", "dtype": "bf16"}
    # with nothing else to tell two judges apart, the name stays: they must not share answers
    assert cache_identity({"name": "j2"}) == {"name": "j2"}


def test_lineage_follows_an_adapter_to_its_base(tmp_path: Path) -> None:
    adapter = tmp_path / "my-adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "Qwen/Qwen2.5-7B-Instruct"}))
    names = lineage("tuned", str(adapter))
    assert {"tuned", "qwen/qwen2.5-7b-instruct", "qwen2.5-7b-instruct"} <= names
    assert family(names) == {"qwen"}


def _judge(tmp_path: Path, name: str, location: str | None = None):  # type: ignore[no-untyped-def]
    return make_judge(name, {"name": name}, lambda m, p: ChatReply("x"), JudgeCache(tmp_path / "c.sqlite"), location)


def test_self_preference_same_model_same_family_and_none(tmp_path: Path) -> None:
    j = _judge(tmp_path, "openai:Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct")
    same = self_preference(j, {"base": lineage("base", "Qwen/Qwen2.5-7B-Instruct")})
    assert len(same) == 1 and "is, or shares its base with, base" in same[0]
    fam = self_preference(j, {"small": lineage("small", "Qwen/Qwen2.5-0.5B")})
    assert len(fam) == 1 and "same family (qwen)" in fam[0]
    assert self_preference(j, {"llama": lineage("llama", "meta-llama/Llama-3.2-1B")}) == []


def test_a_local_judge_is_keyed_by_its_weights(tmp_path: Path, model_dirs: dict[str, Path]) -> None:
    import os
    import shutil

    from tunecheck.judge import open_judges

    folder = tmp_path / "judge"
    shutil.copytree(model_dirs["base"], folder)
    with JudgeCache(tmp_path / "c.sqlite") as cache:
        with open_judges([str(folder)], cache) as [j]:
            before = j.ask.calls.judge_identity
        weights = next(folder.glob("*.safetensors"))
        os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # retrained in place
        with open_judges([str(folder)], cache) as [j]:
            after = j.ask.calls.judge_identity
    assert before["weights"] and before != after  # the old answers are not reused for the new weights
