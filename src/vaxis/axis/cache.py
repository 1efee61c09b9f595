"""On-disk cache of pooled hidden states, and memoised file digests.

An entry is a folder ``<root>/states/<key>/`` holding

- ``states.npy``: float32, layer-major ``(n_layers + 1, n_texts, width)``, so one layer of every
  text is one contiguous block (reading a layer never touches the others);
- ``n_tokens.npy``: int64 ``(n_texts,)``, tokens per text after truncation;
- ``meta.json``: what the key was made of (model identity, pooling, extractor settings, texts hash).

The key is the sha256 of that description, so any change of model, texts or settings misses.
Entries are written into a temporary folder and renamed into place when complete: a crash never
leaves a half-written entry that a later run would read. Writes stream batch by batch into a
memory-mapped file, one batch or one chunk of layers at a time (:mod:`vaxis.axis.lm` states the
bound), so memory stays bounded whatever the number of texts or the model's size. The format has
not changed since the first release: every entry ever written is read as it was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vaxis.errors import DataFormatError

CACHE_ENV = "VAXIS_CACHE"


def default_cache_dir() -> Path:
    """``$VAXIS_CACHE`` if set, else ``~/.cache/vaxis``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vaxis"


def texts_sha256(texts: Sequence[str]) -> str:
    """Order-sensitive digest of a list of texts (length-prefixed, so joins cannot collide)."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def state_key(description: dict[str, Any]) -> str:
    """sha256 of a JSON-able description (sorted keys, so dict order does not matter)."""
    blob = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file's bytes, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class FileMemo:
    """Facts computed from a file (its sha256, its header), remembered by (path, size, mtime).

    Hashing a 60 GB checkpoint takes minutes; after the first time this costs one ``stat``.
    A file that changes size or modification time is recomputed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def get(self, file: Path, kind: str, compute: Callable[[Path], Any]) -> Any:
        """Return ``compute(file)``, from the memo when the file has not changed since."""
        resolved = file.resolve()
        stat = resolved.stat()
        slot = f"{kind}:{resolved}"
        stamp = [stat.st_size, stat.st_mtime_ns]
        memo = self._read()
        hit = memo.get(slot)
        if isinstance(hit, dict) and hit.get("stamp") == stamp:
            return hit["value"]
        value = compute(resolved)
        memo = self._read()  # another process may have added entries meanwhile
        memo[slot] = {"stamp": stamp, "value": value}
        _atomic_write_text(self.path, json.dumps(memo, indent=1, sort_keys=True))
        return value

    def sha256(self, file: Path) -> str:
        """Memoised :func:`file_sha256`."""
        return str(self.get(file, "sha256", file_sha256))


@dataclass(frozen=True)
class CachedStates:
    """A cache entry opened read-only; ``states`` is ``(n_texts, n_layers + 1, width)``."""

    path: Path
    states: np.ndarray
    n_tokens: np.ndarray
    meta: dict[str, Any]


class StateWriter:
    """Receives pooled states batch by batch or layer chunk by chunk, at their positions.

    ``states`` is layer-major (n_states, n_texts, width): in memory or a memory-mapped file.
    """

    def __init__(self, states: np.ndarray, n_tokens: np.ndarray) -> None:
        self._states = states
        self._n_tokens = n_tokens
        self._written = np.zeros(states.shape[:2], dtype=bool)

    def write(self, indices: np.ndarray, block: np.ndarray, n_tokens: np.ndarray) -> None:
        """Store ``block`` (n_layers + 1, len(indices), width) for texts ``indices``."""
        self._states[:, indices, :] = block
        self._n_tokens[indices] = n_tokens
        self._written[:, indices] = True

    def write_layers(self, start: int, block: np.ndarray, n_tokens: np.ndarray) -> None:
        """Store ``block`` (chunk layers, n_texts, width) as states ``start .. start + chunk``:
        one contiguous slab of the layer-major file."""
        stop = start + block.shape[0]
        self._states[start:stop] = block
        self._n_tokens[:] = n_tokens
        self._written[start:stop] = True

    @property
    def complete(self) -> bool:
        return bool(self._written.all())


class StateCache:
    """Pooled hidden states on disk, one folder per key (see module docstring)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    @property
    def memo(self) -> FileMemo:
        """Memo of file digests shared by every model resolved against this cache."""
        return FileMemo(self.root / "file-digests.json")

    def entry_dir(self, key: str) -> Path:
        return self.root / "states" / key

    def load(self, key: str) -> CachedStates | None:
        """Open an entry memory-mapped, or None when there is none."""
        folder = self.entry_dir(key)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            layer_major = np.load(folder / "states.npy", mmap_mode="r")
            n_tokens = np.load(folder / "n_tokens.npy")
        except (OSError, ValueError) as exc:
            raise DataFormatError(
                folder, f"cached hidden states are unreadable ({exc})", f"delete {folder}"
            ) from exc
        # A view, not a copy: states[:, layer] reads one contiguous block of the file.
        return CachedStates(folder, np.moveaxis(layer_major, 0, 1), n_tokens, meta)

    @contextmanager
    def writer(
        self, key: str, n_texts: int, n_states: int, width: int, meta: dict[str, Any]
    ) -> Iterator[StateWriter]:
        """Stream an entry to disk; it appears under its key only if every text was written."""
        final = self.entry_dir(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key[:16]}-"))
        try:
            states = np.lib.format.open_memmap(
                tmp / "states.npy", mode="w+", dtype=np.float32, shape=(n_states, n_texts, width)
            )
            n_tokens = np.lib.format.open_memmap(
                tmp / "n_tokens.npy", mode="w+", dtype=np.int64, shape=(n_texts,)
            )
            writer = StateWriter(states, n_tokens)
            yield writer
            if not writer.complete:
                raise RuntimeError("extraction ended before every text was written")
            states.flush()
            n_tokens.flush()
            del states, n_tokens
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
            try:
                os.replace(tmp, final)
            except OSError:
                # Another process committed the same key first; its entry is equivalent.
                if not (final / "meta.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
