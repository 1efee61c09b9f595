"""Sizing before loading: dtype and device-map decisions, parameter counts, extraction plans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vaxis.axis.lm import HiddenStateExtractor, choose_dtype, extract_states, load_model
from vaxis.axis.models import ModelSpec, resolve_model
from vaxis.axis.sizing import count_parameters, device_map_for, plan_extraction

GB = 10**9
# The tiny llama of conftest: vocab 66, width 32, MLP 64, 2 layers, 4 heads of 8, 2 KV heads.
LLAMA_PARAMETERS = 66 * 32 + 2 * (2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 64 + 2 * 32) + 32


def _spec(dtype: str) -> ModelSpec:
    return ModelSpec(
        name="m", source="local", path="/m", fingerprint="f", architecture="llama",
        n_layers=2, width=32, dtype=dtype,
    )  # fmt: skip


def test_dtype_is_float32_on_cpu_and_half_on_accelerators() -> None:
    for stored in ("float32", "bfloat16", "float16"):
        assert choose_dtype(_spec(stored), "cpu") == "float32"
    assert choose_dtype(_spec("bfloat16"), "cuda") == "bfloat16"
    assert choose_dtype(_spec("float16"), "cuda:1") == "float16"
    assert choose_dtype(_spec("float32"), "cuda") == "bfloat16"  # and GGUF, dequantized
    assert choose_dtype(_spec("float32"), "cuda", "float32") == "float32"  # asked for


def test_device_map_is_auto_only_for_a_model_larger_than_one_device() -> None:
    assert device_map_for("cuda", 10 * GB, [80 * GB], True) == "cuda"
    assert device_map_for("cuda", 70 * GB, [80 * GB, 80 * GB], True) == "auto"  # > 80% of 80
    assert device_map_for("cuda", 64 * GB, [80 * GB], True) == "cuda"  # exactly the headroom
    assert device_map_for("cuda", 70 * GB, [80 * GB], False) == "cuda"  # no accelerate
    assert device_map_for("cuda", 70 * GB, [], True) == "cuda"  # no CUDA device
    assert device_map_for("cuda:1", 70 * GB, [80 * GB], True) == "cuda:1"  # an explicit GPU
    assert device_map_for("cpu", 70 * GB, [80 * GB], True) == "cpu"


def test_cpu_defaults_are_bit_identical_to_the_plain_float32_extractor(
    tiny_model_dirs: dict[str, Path], random_texts: Callable
) -> None:
    texts = random_texts(40, seed=9)
    result = extract_states(tiny_model_dirs["llama"], texts, device="cpu")
    # Settings (hence cache keys) as before: batching and chunking are not part of them.
    assert result.settings == {
        "pooling": "last", "max_length": 512, "add_special_tokens": True, "dtype": "float32",
    }  # fmt: skip
    model, tokenizer = load_model(result.model, "cpu", "float32")
    want, _ = HiddenStateExtractor(model, tokenizer, max_tokens_per_batch=None).extract(texts)
    np.testing.assert_array_equal(result.states, want)


def test_parameters_are_counted_from_the_config_without_weights(
    tiny_model_dirs: dict[str, Path], tiny_loaded: Callable
) -> None:
    spec = resolve_model(tiny_model_dirs["llama"])
    model, _ = tiny_loaded("llama")
    assert count_parameters(spec) == LLAMA_PARAMETERS
    assert sum(p.numel() for p in model.parameters()) == LLAMA_PARAMETERS


def test_plan_numbers_follow_the_config(tiny_model_dirs: dict[str, Path]) -> None:
    spec = resolve_model(tiny_model_dirs["llama"])
    lengths = [5, 3, 12, 7]  # 27 tokens
    plan = plan_extraction(spec, lengths, "cpu", "float32", max_tokens_per_batch=8)
    assert (plan.n_parameters, plan.n_states, plan.width, plan.n_tokens) == (
        LLAMA_PARAMETERS, 3, 32, 27,
    )  # fmt: skip
    assert plan.weight_bytes == LLAMA_PARAMETERS * 4
    assert plan.disk_bytes == 3 * 4 * 32 * 4 == plan.chunk_bytes  # one chunk holds every layer
    # Budget 8: the 12-token text runs alone, the largest batch (12 padded tokens x 3 states).
    assert plan.batch_bytes == 12 * 3 * 32 * 4
    assert plan.flops == 2 * LLAMA_PARAMETERS * 27
    assert plan.seconds == pytest.approx(plan.flops / 5e10)
    assert plan.file_bytes > LLAMA_PARAMETERS * 4  # float32 safetensors + config + tokenizer
    # A chunk budget of one layer of every text: three chunks, three passes, a third the memory.
    chunked = plan_extraction(spec, lengths, "cuda", "bfloat16", max_state_bytes=4 * 32 * 4)
    assert (chunked.layers_per_chunk, chunked.n_chunks) == (1, 3)
    assert chunked.chunk_bytes == 4 * 32 * 4 and chunked.disk_bytes == 3 * 4 * 32 * 4
    assert chunked.weight_bytes == LLAMA_PARAMETERS * 2
    assert chunked.batch_bytes == 4 * 12 * 3 * 32 * 2  # default budget: one batch of all four
    assert chunked.flops == 3 * plan.flops and chunked.seconds == pytest.approx(
        chunked.flops / 1e14
    )
