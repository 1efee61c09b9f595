"""Restricted unpickling: numpy arrays and plain containers load; anything else is refused.

FACED ships its data as pickles and SEED-V hides pickled dicts inside ``.npz`` files. A pickle
can run arbitrary code when loaded, so vaxis never calls :func:`pickle.load` on user files:
:class:`SafeUnpickler` resolves only the globals needed to rebuild arrays, dtypes, scalars and
builtin containers, and refuses every other global *before* anything is called.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from vaxis.errors import DataFormatError, UnsafePickleError

#: (module, name) pairs a data pickle may reference. numpy moved ``core`` to ``_core`` in 2.0;
#: files written by either spelling load.
_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    [(mod, name) for mod in ("numpy.core.multiarray", "numpy._core.multiarray")
     for name in ("_reconstruct", "scalar")]
    + [
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("builtins", "slice"),
        ("collections", "OrderedDict"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"),
        ("__builtin__", "object"),
        ("builtins", "object"),
        # protocol-2 pickles spell bytes as _codecs.encode(text, "latin1"): pure, no side effects
        ("_codecs", "encode"),
    ]
)  # fmt: skip
# copyreg._reconstructor(cls, base, state) can instantiate any *allowed* class only, because
# cls itself must come through find_class; with only builtin containers and ndarray allowed,
# it cannot reach code.


class SafeUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` only returns array and container types."""

    def __init__(self, file: IO[bytes], *, source: str | Path | None = None) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if module == "numpy" and name.startswith("dtype"):
            return np.dtype
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(
            self._source,
            f"refusing to unpickle '{module}.{name}': only numpy arrays and plain containers "
            "may load from a data file, and nothing in it was executed",
            "if this file should hold EEG data, it is not the file you think it is; "
            "re-download it from the dataset's official source",
        )


def loads(payload: bytes, source: str | Path | None = None) -> Any:
    """Unpickle bytes with the restricted unpickler."""
    return _load(io.BytesIO(payload), source)


def load(path: str | Path) -> Any:
    """Unpickle a file with the restricted unpickler, naming the file in every error."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "file not found")
    with path.open("rb") as handle:
        return _load(handle, path)


def _load(handle: IO[bytes], source: str | Path | None) -> Any:
    try:
        return SafeUnpickler(handle, source=source).load()
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError) as error:
        raise DataFormatError(
            source,
            f"cannot read pickle ({type(error).__name__}: {error}); the file is truncated "
            "or not a pickle",
            "re-download or re-copy this file",
        ) from error


def load_npz(path: str | Path) -> dict[str, Any]:
    """Read every entry of an ``.npz``; object entries (pickled) go through the safe unpickler."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "file not found")
    out: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                key = member[:-4] if member.endswith(".npy") else member
                with archive.open(member) as stream:
                    out[key] = _read_npy(stream, f"{path}[{key}]")
    except zipfile.BadZipFile as error:
        raise DataFormatError(
            path, f"not a valid .npz archive ({error}); it may be truncated", "re-copy the file"
        ) from error
    return out


def _read_npy(stream: IO[bytes], source: str) -> Any:
    version = np.lib.format.read_magic(stream)
    header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, fortran, dtype = header(stream)
    if dtype.hasobject:
        value = _load(stream, source)
        return value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    payload = stream.read()
    count = int(np.prod(shape)) if shape else 1
    if len(payload) < count * dtype.itemsize:
        raise DataFormatError(source, "array entry is truncated", "re-copy the file")
    array = np.frombuffer(payload, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()
