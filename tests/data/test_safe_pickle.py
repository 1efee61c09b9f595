"""Restricted unpickling: data loads in every protocol; code never runs; broken files are named."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from vaxis.data import safe_pickle
from vaxis.errors import DataFormatError, UnsafePickleError

VALUES = {
    "float array": np.arange(12, dtype=np.float64).reshape(3, 4) - 5.5,
    "fortran float32": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "int array": np.arange(-3, 3, dtype=np.int16),
    "dict of arrays": {"de": np.ones((2, 2)), "label": np.array([1, 2]), "name": "sub000"},
    "list": [1, 2.5, "x", np.float64(3.25), (4, 5), {"a": [np.int64(7)]}],
}


def _equal(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    return type(a) is type(b) and a == b


class _Creates:
    """Unpickling this would call ``open(marker, "w")``: a visible side effect if code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


class _Evaluates(_Creates):
    """The same side effect through ``eval``."""

    def __reduce__(self) -> tuple:
        return (eval, (f"open({str(self.marker)!r}, 'w')",))


def _python2_array_pickle(array: np.ndarray) -> bytes:
    """A protocol-2 pickle as Python 2 numpy wrote it: the raw data is a ``str`` (BINSTRING).

    Python 3 can only read such files with ``encoding="latin1"``; FACED's pickles are of
    this era. Built opcode by opcode so the test does not depend on having Python 2.
    """

    def short(text: bytes) -> bytes:
        return b"U" + bytes([len(text)]) + text

    raw = array.tobytes()
    rows, cols = array.shape
    dtype_state = b"(K\x03" + short(b"<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    return (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + b"K\x00\x85"
        + short(b"b")
        + b"\x87R("
        + b"K\x01"
        + bytes([ord("K"), rows, ord("K"), cols])
        + b"\x86"
        + b"cnumpy\ndtype\n"
        + short(b"f8")
        + b"K\x00K\x01\x87R"
        + dtype_state
        + b"\x89T"
        + struct.pack("<i", len(raw))
        + raw
        + b"tb."
    )


@pytest.mark.parametrize("protocol", [2, 5])
@pytest.mark.parametrize("name", sorted(VALUES))
def test_data_loads_in_old_and_new_protocols(tmp_path: Path, name: str, protocol: int) -> None:
    value = VALUES[name]
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    assert _equal(safe_pickle.load(path), value)
    assert _equal(safe_pickle.loads(pickle.dumps(value, protocol=protocol)), value)


def test_python2_era_array_with_latin1_bytes() -> None:
    array = np.array([[-1.5, 200.25, -3e-7], [4.0, -5e9, 6.125]])
    payload = _python2_array_pickle(array)
    assert max(array.tobytes()) > 127  # bytes that only latin-1 decodes one-to-one
    loaded = safe_pickle.loads(payload)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, array)


def test_protocol2_bytes_round_trip() -> None:
    blob = bytes(range(256))
    assert safe_pickle.loads(pickle.dumps({"raw": blob}, protocol=2)) == {"raw": blob}


@pytest.mark.parametrize("payload", [_Creates, _Evaluates])
@pytest.mark.parametrize("protocol", [2, 5])
def test_pickle_that_runs_code_is_refused_before_anything_runs(
    tmp_path: Path, payload: type[_Creates], protocol: int
) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"data": np.zeros(2), "x": payload(marker)}, protocol=protocol))
    with pytest.raises(UnsafePickleError, match="nothing in it was executed") as error:
        safe_pickle.load(path)
    assert error.value.path == path
    with pytest.raises(UnsafePickleError):
        safe_pickle.loads(path.read_bytes())
    assert not marker.exists()


def test_truncated_pickle_is_a_format_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    payload = pickle.dumps(np.arange(1000.0), protocol=2)
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataFormatError, match="truncated") as error:
        safe_pickle.load(path)
    assert not isinstance(error.value, UnsafePickleError)
    assert error.value.path == path and str(path) in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="file not found"):
        safe_pickle.load(tmp_path / "absent.pkl")


def test_npz_with_a_pickled_dict_entry(tmp_path: Path) -> None:
    path = tmp_path / "mixed.npz"
    info = {"subject": 3, "clips": [1, 2]}
    np.savez(path, de=np.arange(6.0).reshape(2, 3), info=np.array(info, dtype=object))
    loaded = safe_pickle.load_npz(path)
    assert loaded.keys() == {"de", "info"}
    np.testing.assert_array_equal(loaded["de"], np.arange(6.0).reshape(2, 3))
    assert loaded["info"] == info


def test_npz_with_a_malicious_entry_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    np.savez(path, de=np.zeros(3), info=np.array([_Creates(marker)], dtype=object))
    with pytest.raises(UnsafePickleError, match=r"evil\.npz\[info\]"):
        safe_pickle.load_npz(path)
    assert not marker.exists()


def test_truncated_npz(tmp_path: Path) -> None:
    path = tmp_path / "cut.npz"
    np.savez(path, de=np.arange(1000.0))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataFormatError, match="truncated") as error:
        safe_pickle.load_npz(path)
    assert error.value.path == path
