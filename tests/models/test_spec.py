"""ModelSpec.parse and resolve(): the one model-reference syntax, checked against the disk.

resolve() only looks at which files exist, never at their content (except an adapter's
adapter_config.json), so the fixtures are minimal JSON files. No network, no weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunecheck.errors import ModelError, TunecheckError
from tunecheck.models import ModelSpec, resolve

# ---------------------------------------------------------------------------- helpers


def full_model(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text("{}", encoding="utf-8")
    return path


def adapter(path: Path, base: str | None, *, tokenizer: bool = False) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    config = {"peft_type": "LORA"}
    if base is not None:
        config["base_model_name_or_path"] = base
    (path / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    if tokenizer:
        (path / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    return path


def model_error(spec: str | ModelSpec) -> str:
    with pytest.raises(ModelError) as info:
        resolve(ModelSpec.parse(spec))
    return str(info.value)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative specs like ./nope must not see the repository's files.
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------------- parse


def test_parse_plain_path() -> None:
    spec = ModelSpec.parse("./out/checkpoint-500")
    assert spec == ModelSpec("./out/checkpoint-500", "hf", None, None, None, None)
    assert spec.display_name == "./out/checkpoint-500"


def test_parse_hub_id() -> None:
    spec = ModelSpec.parse("meta-llama/Llama-3.2-1B")
    assert (spec.location, spec.kind, spec.name) == ("meta-llama/Llama-3.2-1B", "hf", None)


def test_parse_all_options() -> None:
    spec = ModelSpec.parse("./adapter,base=./base,name=ft,revision=v2,dtype=bfloat16")
    assert spec == ModelSpec(
        location="./adapter", kind="hf", name="ft", base="./base", revision="v2", dtype="bfloat16"
    )
    assert spec.display_name == "ft"


@pytest.mark.parametrize(
    ("text", "attr", "value"),
    [
        ("m,name=tuned", "name", "tuned"),
        ("m,base=org/base", "base", "org/base"),
        ("m,revision=abc123", "revision", "abc123"),
        ("m,dtype=float16", "dtype", "float16"),
    ],
)
def test_parse_one_option(text: str, attr: str, value: str) -> None:
    spec = ModelSpec.parse(text)
    assert spec.location == "m"
    assert getattr(spec, attr) == value


def test_parse_strips_whitespace() -> None:
    spec = ModelSpec.parse("  ./m , name = tuned ,dtype= float32  ")
    assert (spec.location, spec.name, spec.dtype) == ("./m", "tuned", "float32")


def test_parse_value_may_contain_equals() -> None:
    # Only the first "=" separates key and value.
    assert ModelSpec.parse("m,name=a=b").name == "a=b"


@pytest.mark.parametrize("bad", ["m,foo=1", "m,name", "m,name=", "m,name=  ", "m,", "m,=x"])
def test_parse_bad_option(bad: str) -> None:
    with pytest.raises(ModelError) as info:
        ModelSpec.parse(bad)
    msg = str(info.value)
    assert f"model spec {bad.strip()!r}: bad option" in msg
    # The message lists the valid options.
    assert "base=..., base_url=..., dtype=..., name=..., revision=..." in msg


def test_parse_openai_base_url() -> None:
    # an openai: model's own server, so two judges can live on two servers
    spec = ModelSpec.parse("openai:judge,base_url=http://127.0.0.1:8000/v1")
    assert (spec.kind, spec.location, spec.base_url) == ("openai", "judge", "http://127.0.0.1:8000/v1")
    with pytest.raises(ModelError, match=r"base_url=\.\.\. is for openai: models on a server"):
        ModelSpec.parse("./model,base_url=http://x/v1")


def test_parse_openai() -> None:
    spec = ModelSpec.parse("openai:foo")
    assert (spec.kind, spec.location) == ("openai", "foo")
    assert spec.display_name == "openai:foo"
    assert ModelSpec.parse("openai:foo,name=bar").display_name == "bar"


def test_parse_openai_without_model() -> None:
    with pytest.raises(ModelError, match="name the served model after openai:"):
        ModelSpec.parse("openai:")


@pytest.mark.parametrize("empty", ["", "   "])
def test_parse_empty(empty: str) -> None:
    with pytest.raises(ModelError, match="empty model spec"):
        ModelSpec.parse(empty)


def test_parse_passes_a_spec_through() -> None:
    spec = ModelSpec("x")
    assert ModelSpec.parse(spec) is spec


def test_display_name_drops_trailing_slash() -> None:
    assert ModelSpec.parse("./out/model/").display_name == "./out/model"


def test_model_error_is_a_tunecheck_error() -> None:
    with pytest.raises(TunecheckError):
        ModelSpec.parse("")


# ---------------------------------------------------------------------------- resolve


def test_resolve_full_model(tmp_path: Path) -> None:
    path = full_model(tmp_path / "model")
    r = resolve(ModelSpec.parse(str(path)))
    assert (r.model, r.adapter, r.tokenizer) == (str(path), None, str(path))


def test_resolve_full_model_relative_path() -> None:
    full_model(Path("out/model"))
    r = resolve(ModelSpec.parse("./out/model"))
    # The location goes through Path(), which drops the leading "./".
    assert (r.model, r.adapter, r.tokenizer) == ("out/model", None, "out/model")


def test_resolve_hub_id_without_network() -> None:
    r = resolve(ModelSpec.parse("meta-llama/Llama-3.2-1B"))
    assert (r.model, r.adapter, r.tokenizer) == ("meta-llama/Llama-3.2-1B", None, "meta-llama/Llama-3.2-1B")
    assert resolve(ModelSpec.parse("gpt2")).model == "gpt2"


def test_resolve_adapter_on_local_base_tokenizer_from_base(tmp_path: Path) -> None:
    base = full_model(tmp_path / "base")
    ad = adapter(tmp_path / "adapter", str(base))
    r = resolve(ModelSpec.parse(str(ad)))
    # No tokenizer files in the adapter dir: the tokenizer comes from the base.
    assert (r.model, r.adapter, r.tokenizer) == (str(base), str(ad), str(base))


def test_resolve_adapter_with_tokenizer_config(tmp_path: Path) -> None:
    base = full_model(tmp_path / "base")
    ad = adapter(tmp_path / "adapter", str(base), tokenizer=True)
    r = resolve(ModelSpec.parse(str(ad)))
    assert (r.model, r.adapter, r.tokenizer) == (str(base), str(ad), str(ad))


def test_resolve_adapter_with_tokenizer_json_only(tmp_path: Path) -> None:
    base = full_model(tmp_path / "base")
    ad = adapter(tmp_path / "adapter", str(base))
    (ad / "tokenizer.json").write_text("{}", encoding="utf-8")
    assert resolve(ModelSpec.parse(str(ad))).tokenizer == str(ad)


def test_resolve_adapter_wins_over_config_json(tmp_path: Path) -> None:
    # Some trainers save config.json next to the adapter; adapter_config.json decides.
    base = full_model(tmp_path / "base")
    ad = full_model(adapter(tmp_path / "adapter", str(base)))
    r = resolve(ModelSpec.parse(str(ad)))
    assert (r.model, r.adapter) == (str(base), str(ad))


def test_resolve_adapter_on_hub_base() -> None:
    ad = adapter(Path("adapter"), "meta-llama/Llama-3.2-1B")
    r = resolve(ModelSpec.parse("./adapter"))
    assert (r.model, r.adapter, r.tokenizer) == ("meta-llama/Llama-3.2-1B", "adapter", "meta-llama/Llama-3.2-1B")
    assert ad.is_dir()


def test_resolve_adapter_base_missing_local_path(tmp_path: Path) -> None:
    ad = adapter(tmp_path / "adapter", "/nonexistent/trainer/machine/base")
    msg = model_error(str(ad))
    assert msg.startswith(f"adapter {ad}: base model /nonexistent/trainer/machine/base")
    assert "named in adapter_config.json (base_model_name_or_path) was not found" in msg
    # The fix: name the base explicitly.
    assert f"--model '{ad},base=PATH_OR_HUB_ID'" in msg


def test_resolve_adapter_base_relative_missing() -> None:
    adapter(Path("adapter"), "./gone/base")
    msg = model_error("./adapter")
    assert "./gone/base" in msg and "was not found" in msg and "base=" in msg


def test_resolve_adapter_base_override(tmp_path: Path) -> None:
    # adapter_config.json names a path from the training machine; base= overrides it.
    real_base = full_model(tmp_path / "real-base")
    ad = adapter(tmp_path / "adapter", "/home/trainer/base")
    r = resolve(ModelSpec.parse(f"{ad},base={real_base}"))
    assert (r.model, r.adapter, r.tokenizer) == (str(real_base), str(ad), str(real_base))


def test_resolve_adapter_base_override_missing(tmp_path: Path) -> None:
    ad = adapter(tmp_path / "adapter", "org/base")
    msg = model_error(f"{ad},base=./nope")
    assert "base model ./nope given with base= was not found" in msg


def test_resolve_adapter_base_dir_without_config(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    ad = adapter(tmp_path / "adapter", str(base))
    msg = model_error(str(ad))
    assert f"base model {base} has no config.json" in msg
    assert "base=PATH" in msg


def test_resolve_adapter_config_without_base(tmp_path: Path) -> None:
    ad = adapter(tmp_path / "adapter", None)
    msg = model_error(str(ad))
    assert "no base_model_name_or_path" in msg
    assert f"--model '{ad},base=BASE'" in msg
    # With base= it resolves.
    base = full_model(tmp_path / "base")
    assert resolve(ModelSpec.parse(f"{ad},base={base}")).model == str(base)


def test_resolve_adapter_config_unreadable(tmp_path: Path) -> None:
    ad = tmp_path / "adapter"
    ad.mkdir()
    (ad / "adapter_config.json").write_text("{not json", encoding="utf-8")
    assert "adapter_config.json: unreadable" in model_error(str(ad))


def test_resolve_directory_that_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.mkdir()
    msg = model_error(str(path))
    assert msg.startswith(f"{path}: directory is not a model")
    assert "no config.json or adapter_config.json" in msg
    assert "point --model at the folder that holds config.json" in msg


def test_resolve_training_output_dir_lists_checkpoints(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for step in (500, 100):
        full_model(out / f"checkpoint-{step}")
    (out / "checkpoint-notes.txt").write_text("a file, not a checkpoint", encoding="utf-8")
    msg = model_error(str(out))
    assert "not a model" in msg
    assert "(it holds checkpoint-100, checkpoint-500: pass one of those)" in msg
    assert "checkpoint-notes" not in msg


def test_resolve_many_checkpoints_are_cut_to_three(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for step in (1, 2, 3, 4, 5):
        (out / f"checkpoint-{step}").mkdir(parents=True)
    msg = model_error(str(out))
    assert "checkpoint-1, checkpoint-2, checkpoint-3..." in msg
    assert "checkpoint-4" not in msg


def test_resolve_missing_local_path() -> None:
    msg = model_error("./nope")
    assert msg == "./nope: no such directory (check the path)"


@pytest.mark.parametrize("spec", ["/definitely/not/here", "~/tunecheck-no-such-dir-9f2", "out/", "not a hub id!"])
def test_resolve_missing_path_like(spec: str) -> None:
    # Anything that looks local, or cannot be a hub id, is reported as a missing directory.
    assert "no such directory" in model_error(spec)


def test_resolve_file() -> None:
    Path("model.safetensors").write_bytes(b"\0")
    msg = model_error("./model.safetensors")
    assert msg.startswith("./model.safetensors: is a file")
    assert "pass the model's directory, a .gguf file or a hub id" in msg


def test_resolve_openai_spec() -> None:
    assert "not a local/hub model" in model_error("openai:gpt-x")


def test_vllm_spec_and_a_clear_error_without_vllm():
    from tunecheck.models._vllm import VLLMModel, vllm_available

    spec = ModelSpec.parse("vllm:./merged,name=tuned")
    assert spec.kind == "vllm" and spec.location == "./merged" and spec.display_name == "tuned"
    with pytest.raises(ModelError, match="after vllm:"):
        ModelSpec.parse("vllm:")
    if vllm_available():
        pytest.skip("vllm is installed here; the GPU test covers it")
    with pytest.raises(ModelError, match=r"needs `pip install vllm`.*--model openai:NAME"):
        VLLMModel(spec)


def test_resolve_adapter_base_relative_to_the_adapter(tmp_path: Path) -> None:
    # out/checkpoint-5/adapter_config.json says "../../base": not found from the working
    # directory (tmp_path), found from the checkpoint folder
    base = full_model(tmp_path / "base")
    ad = adapter(tmp_path / "out" / "checkpoint-5", "../../base")
    r = resolve(ModelSpec.parse(str(ad)))
    assert Path(r.model) == base.resolve()


def test_resolve_expands_a_base_under_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `--base '~/base'` or "~/base" in adapter_config.json: resolve() checks it expanded, and hands
    # the loader the expanded path (from_pretrained would take "~/base" for a hub id and refuse it)
    monkeypatch.setenv("HOME", str(tmp_path))
    base = full_model(tmp_path / "base")
    ad = adapter(tmp_path / "out" / "checkpoint-5", "~/base")
    assert resolve(ModelSpec.parse(str(ad))).model == str(base)
    other = adapter(tmp_path / "out" / "checkpoint-6", None)
    assert resolve(ModelSpec(str(other), base="~/base")).model == str(base)


# ---------------------------------------------------------------------------- GGUF files


def gguf(path: Path, arch: str = "llama") -> Path:
    """A GGUF file with a header and no tensors: enough for resolve() and the header reader."""
    import gguf as gguf_pkg

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf_pkg.GGUFWriter(str(path), arch)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_resolve_gguf_file(tmp_path: Path) -> None:
    f = gguf(tmp_path / "exports" / "ft.Q4_K_M.gguf")
    r = resolve(ModelSpec.parse(str(f)))
    # transformers reads it as from_pretrained(folder, gguf_file=name), tokenizer included
    assert (r.model, r.adapter, r.tokenizer, r.gguf, r.tokenizer_gguf) == (str(f.parent), None, str(f.parent), str(f), "ft.Q4_K_M.gguf")


def test_resolve_folder_with_one_gguf(tmp_path: Path) -> None:
    f = gguf(tmp_path / "q" / "model.gguf")
    (tmp_path / "q" / "README.md").write_text("x")
    assert resolve(ModelSpec.parse(str(tmp_path / "q"))).gguf == str(f)


def test_resolve_folder_with_config_json_is_not_read_as_gguf(tmp_path: Path) -> None:
    # a Hugging Face folder that also holds an export stays the Hugging Face model
    folder = full_model(tmp_path / "m")
    gguf(folder / "model.gguf")
    assert resolve(ModelSpec.parse(str(folder))).gguf is None


def test_resolve_folder_with_two_ggufs_asks_for_one(tmp_path: Path) -> None:
    gguf(tmp_path / "q" / "a.Q4_0.gguf")
    gguf(tmp_path / "q" / "a.Q8_0.gguf")
    msg = model_error(str(tmp_path / "q"))
    assert msg == f"{tmp_path / 'q'}: holds 2 GGUF files (a.Q4_0.gguf, a.Q8_0.gguf); pass one of them as --model {tmp_path / 'q' / 'a.Q4_0.gguf'}"


def test_resolve_adapter_on_a_gguf_base(tmp_path: Path) -> None:
    f = gguf(tmp_path / "base.gguf")
    ad = adapter(tmp_path / "adapter", "someone/base")
    r = resolve(ModelSpec.parse(f"{ad},base={f}"))
    # no tokenizer in the adapter: it comes from the GGUF file too
    assert (r.model, r.adapter, r.tokenizer, r.gguf, r.tokenizer_gguf) == (str(tmp_path), str(ad), str(tmp_path), str(f), "base.gguf")
    (ad / "tokenizer.json").write_text("{}")
    r = resolve(ModelSpec.parse(f"{ad},base={f}"))
    assert (r.tokenizer, r.tokenizer_gguf) == (str(ad), None)


def test_gguf_architecture_is_read_from_the_header(tmp_path: Path) -> None:
    from tunecheck.models._gguf import architecture

    assert architecture(gguf(tmp_path / "a.gguf", "qwen2")) == "qwen2"
    # keys before it are skipped by their type: a uint32, a string, an array of strings, of floats
    import struct

    def text(s: str) -> bytes:
        return struct.pack("<Q", len(s.encode())) + s.encode()

    kvs = [
        text("x.n") + struct.pack("<II", 4, 7),
        text("x.s") + struct.pack("<I", 8) + text("héllo"),
        text("x.words") + struct.pack("<IIQ", 9, 8, 2) + text("a") + text("bc"),
        text("x.floats") + struct.pack("<IIQ", 9, 6, 3) + struct.pack("<3f", 1, 2, 3),
        text("general.architecture") + struct.pack("<I", 8) + text("gemma2"),
    ]
    raw = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    (tmp_path / "c.gguf").write_bytes(raw)
    assert architecture(tmp_path / "c.gguf") == "gemma2"
    (tmp_path / "b.gguf").write_bytes(b"GGML" + b"\0" * 20)
    with pytest.raises(ModelError, match="not a GGUF file"):
        architecture(tmp_path / "b.gguf")


def test_gguf_hash_is_the_files_sha256_and_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import os

    from tunecheck.models import _gguf, weights_stamp

    monkeypatch.setenv("TUNECHECK_CACHE_DIR", str(tmp_path / "cache"))
    f = gguf(tmp_path / "m.gguf")
    digest = hashlib.sha256(f.read_bytes()).hexdigest()
    assert weights_stamp(str(f)) == [("m.gguf", f.stat().st_size, digest)]
    assert weights_stamp(str(tmp_path)) == weights_stamp(str(f))  # the folder holding it
    # remembered by (path, size, mtime): a planted value is returned without reading the file...
    cache = tmp_path / "cache" / "gguf-sha256.json"
    [key] = json.loads(cache.read_text())
    cache.write_text(json.dumps({key: "f" * 64}))
    assert _gguf.sha256(f) == "f" * 64
    # ...until the file changes
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    assert _gguf.sha256(f) == digest


# ---------------------------------------------------------------------------- before loading


def test_model_folder_without_a_tokenizer_names_it_and_the_fix(tmp_path: Path) -> None:
    from tunecheck.models._spec import check_files

    folder = full_model(tmp_path / "ckpt")
    with pytest.raises(ModelError) as info:
        check_files(resolve(ModelSpec.parse(str(folder))))
    assert str(info.value).startswith(f"{folder}: no tokenizer files (tokenizer.json or tokenizer_config.json); save the tokenizer there")
    (folder / "tokenizer.json").write_text("{}")
    check_files(resolve(ModelSpec.parse(str(folder))))


def test_adapter_without_weights_names_it_and_the_fix(tmp_path: Path) -> None:
    from tunecheck.models._spec import check_files

    base = full_model(tmp_path / "base")
    (base / "tokenizer.json").write_text("{}")
    ad = adapter(tmp_path / "adapter", str(base))
    with pytest.raises(ModelError) as info:
        check_files(resolve(ModelSpec.parse(str(ad))))
    assert str(info.value) == (
        f"adapter {ad}: has adapter_config.json but no adapter weights (adapter_model.safetensors or adapter_model.bin); "
        f"the save is incomplete: save the adapter again with model.save_pretrained('{ad}')"
    )
    (ad / "adapter_model.safetensors").write_bytes(b"")
    check_files(resolve(ModelSpec.parse(str(ad))))


def test_a_missing_gguf_file_is_named_as_a_file_not_a_hub_id(monkeypatch) -> None:
    # "nosuch.gguf" matched the hub-id pattern and was reported as "the hub cannot be reached"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match=r"^nosuch\.gguf: no such GGUF file \(check the path\)$"):
        resolve(ModelSpec.parse("nosuch.gguf"))
