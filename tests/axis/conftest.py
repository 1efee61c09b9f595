"""Tiny random language models built from a config and saved to disk: no download, ever.

Each model folder holds random weights (safetensors), its config and a word-level tokenizer
over the words ``w0 .. w59``, so texts are integer sequences written as words. Models go
through the same ``from_pretrained`` local-folder path as real ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

# Before huggingface_hub is imported: it reads this once, at import.
os.environ["HF_HUB_OFFLINE"] = "1"

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tokenizers import Tokenizer, models, pre_tokenizers, processors  # noqa: E402

N_WORDS = 60
SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "[CLS]", "[SEP]"]
VOCAB_SIZE = len(SPECIALS) + N_WORDS
COMMON = {
    "vocab_size": VOCAB_SIZE,
    "initializer_range": 0.2,
    "pad_token_id": 0,
    "bos_token_id": 2,
    "eos_token_id": 3,
}


def _configs() -> dict[str, Callable[[], object]]:
    t = transformers
    return {
        "llama": lambda: t.LlamaConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=128,
            **COMMON,
        ),
        "gpt2": lambda: t.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=128, **COMMON),
        # Sliding window of 4 then global attention: padding must not move a window.
        "gemma3": lambda: t.Gemma3TextConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=8,
            sliding_window=4,
            layer_types=["sliding_attention", "sliding_attention", "full_attention"],
            max_position_embeddings=128,
            **COMMON,
        ),
        "bert": lambda: t.BertConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=128,
            **COMMON,
        ),
        # Encoder-decoder: only the encoder is run.
        "t5": lambda: t.T5Config(
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            decoder_start_token_id=0,
            **COMMON,
        ),
    }


ARCHITECTURES = tuple(_configs())


def _tokenizer(architecture: str) -> object:
    """Word-level tokenizer; BERT gets [CLS] .. [SEP], the others a [BOS] (like Gemma)."""
    vocab = {token: i for i, token in enumerate(SPECIALS)}
    vocab.update({f"w{i}": len(SPECIALS) + i for i in range(N_WORDS)})
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if architecture == "bert":
        core.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 4), ("[SEP]", 5)]
        )
    else:
        core.post_processor = processors.TemplateProcessing(
            single="[BOS] $A", special_tokens=[("[BOS]", 2)]
        )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        # GPT-2 has no pad token: the extractor must cope (it falls back to EOS).
        pad_token=None if architecture == "gpt2" else "[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )


def _build_tiny_model(folder: Path, architecture: str, seed: int = 0) -> Path:
    """Save a random model of ``architecture`` and its tokenizer to ``folder``."""
    torch.manual_seed(seed)
    config = _configs()[architecture]()
    model = transformers.AutoModel.from_config(config).eval()
    model.save_pretrained(folder)
    _tokenizer(architecture).save_pretrained(folder)
    return folder


def _random_texts(n: int, seed: int = 0, low: int = 1, high: int = 12) -> list[str]:
    """``n`` texts of ``low``..``high`` random words (random lengths, so batches need padding)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(low, high + 1, size=n)
    return [" ".join(f"w{w}" for w in rng.integers(0, N_WORDS, size=k)) for k in lengths]


@pytest.fixture(params=ARCHITECTURES)
def architecture(request: pytest.FixtureRequest) -> str:
    """Every tiny architecture in turn."""
    return str(request.param)


@pytest.fixture
def random_texts() -> Callable[..., list[str]]:
    """``random_texts(n, seed)``: texts of 1..12 random words."""
    return _random_texts


@pytest.fixture
def build_tiny_model() -> Callable[..., Path]:
    """``build_tiny_model(folder, architecture, seed)``: save a fresh random model."""
    return _build_tiny_model


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network, and no writes to the user's cache folders."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VAXIS_CACHE", str(tmp_path / "vaxis-cache"))


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One saved tiny model per architecture, built once per test session."""
    root = tmp_path_factory.mktemp("tiny-models")
    return {arch: _build_tiny_model(root / arch, arch) for arch in ARCHITECTURES}


@pytest.fixture(scope="session")
def tiny_loaded(
    tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], tuple]:
    """Loaded (model, tokenizer) per architecture through the real loader, once per session."""
    from vaxis.axis.cache import StateCache
    from vaxis.axis.lm import load_model
    from vaxis.axis.models import resolve_model

    loaded: dict[str, tuple] = {}
    memo = StateCache(tmp_path_factory.mktemp("memo"))

    def get(architecture: str) -> tuple:
        if architecture not in loaded:
            spec = resolve_model(tiny_model_dirs[architecture], cache=memo)
            loaded[architecture] = load_model(spec, "cpu", "float32")
        return loaded[architecture]

    return get
