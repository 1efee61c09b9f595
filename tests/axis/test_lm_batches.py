"""Token-budget batches, out-of-memory back-off and layer chunks of the extractor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from vaxis.axis.cache import StateCache
from vaxis.axis.lm import HiddenStateExtractor, extract_states, load_model, token_batches
from vaxis.axis.models import ModelSpec, resolve_model
from vaxis.axis.sizing import layers_per_chunk
from vaxis.errors import OutOfMemory


def test_token_batches_respect_the_budget_and_cover_every_text_once() -> None:
    lengths = np.array([3, 9, 1, 4, 9, 2, 7, 5])
    batches = token_batches(lengths, max_tokens=18, max_texts=None)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(8))
    assert lengths[flat].tolist() == sorted(lengths.tolist(), reverse=True)  # longest first
    assert [len(b) * lengths[b].max() for b in batches] == [18, 14, 16]
    assert [b.tolist() for b in batches] == [[1, 4], [6, 7], [3, 0, 5, 2]]
    # A text longer than the budget runs alone; a text cap applies on top of the budget.
    assert [len(b) for b in token_batches(lengths, max_tokens=5, max_texts=None)][:3] == [1, 1, 1]
    assert [len(b) for b in token_batches(lengths, max_tokens=None, max_texts=3)] == [3, 3, 2]
    assert [len(b) for b in token_batches(lengths, None, None)] == [8]


def test_layers_per_chunk_fits_the_byte_budget() -> None:
    # 10 texts x width 8 x 4 bytes = 320 bytes per layer.
    assert layers_per_chunk(7, 10, 8, max_bytes=1000) == 3
    assert layers_per_chunk(7, 10, 8, max_bytes=100) == 1  # never less than one layer
    assert layers_per_chunk(7, 10, 8, max_bytes=10**9) == 7


@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
def test_states_do_not_depend_on_budget_order_or_padding_side(
    tiny_loaded: Callable, random_texts: Callable, architecture: str
) -> None:
    model, tokenizer = tiny_loaded(architecture)
    texts = random_texts(21, seed=5)
    reference, n_ref = HiddenStateExtractor(
        model, tokenizer, batch_size=1, max_tokens_per_batch=None
    ).extract(texts)
    shuffle = np.random.default_rng(0).permutation(len(texts))
    for budget in (1, 13, 40, None):
        for side in ("right", "left"):
            extractor = HiddenStateExtractor(
                model, tokenizer, batch_size=None, max_tokens_per_batch=budget, padding_side=side
            )
            got, n_tokens = extractor.extract(texts)
            np.testing.assert_allclose(got, reference, atol=1e-5, rtol=0)
            assert n_tokens.tolist() == n_ref.tolist()
            shuffled, _ = extractor.extract([texts[i] for i in shuffle])
            np.testing.assert_allclose(shuffled, reference[shuffle], atol=1e-5, rtol=0)
    assert np.abs(reference[1:] - reference[:-1]).max() > 0.1  # texts differ: the test can fail


def test_out_of_memory_halves_the_batch_and_keeps_the_result(
    tiny_loaded: Callable, random_texts: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tokenizer = tiny_loaded("llama")
    texts = random_texts(19, seed=6)
    want, _ = HiddenStateExtractor(model, tokenizer, batch_size=None).extract(texts)
    extractor = HiddenStateExtractor(model, tokenizer, batch_size=None, max_tokens_per_batch=None)
    real = extractor._forward
    sizes: list[int] = []

    def fake(ids: list[list[int]], layers: range) -> torch.Tensor:
        sizes.append(len(ids))
        if len(ids) > 5:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(ids, layers)

    monkeypatch.setattr(extractor, "_forward", fake)
    got, _ = extractor.extract(texts)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert sizes[:3] == [19, 10, 5]  # 19 fails, its first half 10 fails, 5 fits
    assert max(s for s in sizes if s <= 5) == 5 and extractor._oom_cap == 5
    # The cap holds for later extractions: no batch of more than 5 is tried again.
    sizes.clear()
    extractor.extract(texts)
    assert max(sizes) == 5


def test_out_of_memory_on_one_text_names_model_length_and_fix(
    tiny_loaded: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tokenizer = tiny_loaded("llama")
    extractor = HiddenStateExtractor(model, tokenizer)

    def always(ids: list[list[int]], layers: range) -> torch.Tensor:
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(extractor, "_forward", always)
    with pytest.raises(
        OutOfMemory, match=r"(?s)llama.*single text of 5 tokens.*max_length \(now 512"
    ):
        extractor.extract(["w1 w2 w3 w4", "w5"])


def test_other_errors_are_not_taken_for_out_of_memory(
    tiny_loaded: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tokenizer = tiny_loaded("llama")
    extractor = HiddenStateExtractor(model, tokenizer)

    def broken(ids: list[list[int]], layers: range) -> torch.Tensor:
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(extractor, "_forward", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        extractor.extract(["w1 w2", "w3"])


def test_layer_chunks_assemble_to_the_unchunked_states(
    tiny_model_dirs: dict[str, Path], tiny_loaded: Callable, random_texts: Callable, tmp_path: Path
) -> None:
    model, tokenizer = tiny_loaded("gemma3")  # 4 states: chunks of 1, 3 (3 + 1) and all
    texts = random_texts(15, seed=7)
    extractor = HiddenStateExtractor(model, tokenizer, max_tokens_per_batch=20)
    whole, n_tokens = extractor.extract(texts)
    for per_chunk in (1, 3):
        chunks = list(extractor.iter_chunks(texts, per_chunk))
        assert [(start, chunk.shape[0]) for start, chunk, _ in chunks] == [
            (s, min(per_chunk, 4 - s)) for s in range(0, 4, per_chunk)
        ]
        assembled = np.concatenate([chunk for _, chunk, _ in chunks])
        np.testing.assert_array_equal(np.moveaxis(assembled, 0, 1), whole)
    # Through the cache: a one-layer budget (15 texts x 32 x 4 bytes) gives four chunks whose
    # file equals the in-memory result, under the same key as an unchunked extraction.
    cache = StateCache(tmp_path / "cache")
    spec = resolve_model(tiny_model_dirs["gemma3"], cache=cache)
    calls: list[int] = []

    def counting(spec: ModelSpec, device: str, dtype: str) -> tuple:
        loaded, tok = load_model(spec, device, dtype)
        loaded.register_forward_hook(lambda *_: calls.append(1))
        return loaded, tok

    chunked = extract_states(
        spec, texts, device="cpu", cache=cache, max_tokens_per_batch=20,
        max_state_bytes=15 * 128, loader=counting,
    )  # fmt: skip
    n_batches = len(token_batches(n_tokens, 20, 16))
    assert not chunked.from_cache and len(calls) == 4 * n_batches  # one pass per chunk
    np.testing.assert_array_equal(chunked.states, whole)
    np.testing.assert_array_equal(chunked.n_tokens, n_tokens)
    again = extract_states(spec, texts, device="cpu", cache=cache, loader=_refuse)
    assert again.from_cache and again.path == chunked.path


def _refuse(spec: ModelSpec, device: str, dtype: str) -> tuple:
    raise AssertionError("the model was loaded although the states were cached")


def test_entries_written_batch_by_batch_are_read_as_before(tmp_path: Path) -> None:
    """Entries from before layer chunks (written per batch) and chunked ones are one format."""
    rng = np.random.default_rng(1)
    full = rng.normal(size=(3, 5, 4)).astype(np.float32)
    cache = StateCache(tmp_path)
    with cache.writer("batches", 5, 3, 4, {}) as writer:
        writer.write(np.array([4, 1]), full[:, [4, 1]], np.array([9, 8]))
        writer.write(np.array([0, 2, 3]), full[:, [0, 2, 3]], np.array([7, 6, 5]))
    with cache.writer("layers", 5, 3, 4, {}) as writer:
        writer.write_layers(0, full[:2], np.array([7, 8, 6, 5, 9]))
        writer.write_layers(2, full[2:], np.array([7, 8, 6, 5, 9]))
    for key in ("batches", "layers"):
        entry = cache.load(key)
        assert entry is not None
        np.testing.assert_array_equal(entry.states, full.transpose(1, 0, 2))
        assert entry.n_tokens.tolist() == [7, 8, 6, 5, 9]
    with (
        pytest.raises(RuntimeError, match="before every text"),
        cache.writer("x", 5, 3, 4, {}) as w,
    ):
        w.write_layers(0, full[:2], np.zeros(5))  # the last layer never came
    assert cache.load("x") is None
