"""The on-disk state cache: keys, atomic entries, memoised digests, lazy model loading."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vaxis.axis.cache import FileMemo, StateCache, file_sha256, state_key, texts_sha256
from vaxis.axis.lm import extract_states, load_model
from vaxis.axis.models import ModelSpec
from vaxis.errors import DataFormatError


def refuse_to_load(spec: ModelSpec, device: str, dtype: str) -> tuple:
    raise AssertionError("the model was loaded although the states were cached")


class CountingLoader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, spec: ModelSpec, device: str, dtype: str) -> tuple:
        self.calls += 1
        return load_model(spec, device, dtype)


def test_texts_digest_is_order_sensitive_and_join_safe() -> None:
    assert texts_sha256(["ab", "c"]) != texts_sha256(["a", "bc"])
    assert texts_sha256(["a", "b"]) != texts_sha256(["b", "a"])
    assert texts_sha256(["a", "b"]) == texts_sha256(("a", "b"))
    assert texts_sha256([]) != texts_sha256([""])


def test_state_key_ignores_dict_order_only() -> None:
    assert state_key({"a": 1, "b": [1, 2]}) == state_key({"b": [1, 2], "a": 1})
    assert state_key({"a": 1}) != state_key({"a": 2})


def test_file_memo_recomputes_only_when_the_file_changes(tmp_path: Path) -> None:
    data = tmp_path / "weights.bin"
    data.write_bytes(b"abc")
    memo = FileMemo(tmp_path / "memo.json")
    calls: list[Path] = []

    def digest(path: Path) -> str:
        calls.append(path)
        return file_sha256(path)

    assert memo.get(data, "sha256", digest) == hashlib.sha256(b"abc").hexdigest()
    assert memo.get(data, "sha256", digest) == hashlib.sha256(b"abc").hexdigest()
    assert len(calls) == 1
    data.write_bytes(b"abcd")
    assert FileMemo(tmp_path / "memo.json").sha256(data) == hashlib.sha256(b"abcd").hexdigest()


def test_writer_places_batches_by_text_index(tmp_path: Path) -> None:
    cache = StateCache(tmp_path)
    rng = np.random.default_rng(0)
    full = rng.normal(size=(3, 7, 4)).astype(np.float32)  # layer-major (states, texts, width)
    with cache.writer("k", 7, 3, 4, {"note": "test"}) as writer:
        for index in (np.array([6, 0, 3]), np.array([1, 5]), np.array([4, 2])):
            writer.write(index, full[:, index], index * 10)
    entry = cache.load("k")
    assert entry is not None and entry.meta == {"note": "test"}
    np.testing.assert_array_equal(entry.states, full.transpose(1, 0, 2))
    np.testing.assert_array_equal(entry.n_tokens, np.arange(7) * 10)
    assert np.load(tmp_path / "states" / "k" / "states.npy").shape == (3, 7, 4)


def test_incomplete_or_failed_writes_leave_nothing(tmp_path: Path) -> None:
    cache = StateCache(tmp_path)
    with (
        pytest.raises(RuntimeError, match="before every text"),
        cache.writer("k", 3, 1, 2, {}) as w,
    ):
        w.write(np.array([0]), np.zeros((1, 1, 2)), np.array([1]))
    with pytest.raises(KeyError), cache.writer("k", 3, 1, 2, {}):
        raise KeyError("extraction failed")
    assert cache.load("k") is None
    assert list((tmp_path / "states").iterdir()) == []


def test_unreadable_entry_names_its_folder(tmp_path: Path) -> None:
    cache = StateCache(tmp_path)
    folder = cache.entry_dir("bad")
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text("{}")
    (folder / "states.npy").write_bytes(b"not an array")
    with pytest.raises(DataFormatError, match="bad"):
        cache.load("bad")


def test_second_call_hits_the_cache_without_loading(
    tiny_model_dirs: dict[str, Path], random_texts: Callable, tmp_path: Path
) -> None:
    cache = StateCache(tmp_path)
    texts = random_texts(9, seed=5)
    loader = CountingLoader()
    first = extract_states(tiny_model_dirs["llama"], texts, cache=cache, loader=loader)
    second = extract_states(tiny_model_dirs["llama"], texts, cache=cache, loader=refuse_to_load)
    assert loader.calls == 1 and not first.from_cache and second.from_cache
    np.testing.assert_array_equal(second.states, first.states)
    np.testing.assert_array_equal(second.n_tokens, first.n_tokens)
    memory = extract_states(tiny_model_dirs["llama"], texts, cache=None)
    np.testing.assert_allclose(second.states, memory.states, atol=1e-6)
    meta = json.loads((second.path / "meta.json").read_text())  # type: ignore[operator]
    assert meta["model"]["dequantized"] is False and meta["n_texts"] == 9


def test_key_follows_texts_pooling_and_model_content(
    tiny_model_dirs: dict[str, Path],
    random_texts: Callable,
    build_tiny_model: Callable,
    tmp_path: Path,
) -> None:
    cache = StateCache(tmp_path / "cache")
    texts = random_texts(4, seed=6)
    llama = tiny_model_dirs["llama"]
    extract_states(llama, texts, cache=cache)
    loader = CountingLoader()
    extract_states(llama, texts[:3], cache=cache, loader=loader)
    extract_states(llama, texts, pooling="mean", cache=cache, loader=loader)
    other = build_tiny_model(tmp_path / "llama-seed1", "llama", seed=1)
    extract_states(other, texts, cache=cache, loader=loader)
    assert loader.calls == 3
    # Same content in another folder: same identity, so a hit.
    copy = shutil.copytree(llama, tmp_path / "llama-copy")
    hit = extract_states(copy, texts, cache=cache, loader=refuse_to_load)
    assert hit.from_cache and hit.model.path == str(copy.resolve())
