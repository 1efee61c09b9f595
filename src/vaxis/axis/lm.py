"""Pooled hidden states of every layer, from any model transformers can load.

One forward pass of the *base* model per batch gives all layers at once (the vocabulary head is
never run: for large vocabularies it dominates the forward time). Each text's states are pooled
per layer, either at its last real token or as a mean over its tokens that leaves out the first
one (the first position carries massive activations that drown middle-layer means).

Texts are sorted by token count and cut into batches by a token budget (texts x longest text
<= ``max_tokens_per_batch``), so each batch pads little and long texts get small batches; a batch
that runs out of memory is halved and retried, down to one text. Results come back in the
caller's order and do not depend on the batch size, the budget or the padding side. Compute runs
in float32 on CPU and in bf16/fp16 on accelerators (the model's stored half dtype, else bf16);
pooled states are always returned as float32.

Memory bound. States are produced one chunk of layers at a time (``layers_per_chunk``, chosen
from ``max_state_bytes``): peak memory is the model, one batch of activations, and one chunk of
pooled states, ``layers_per_chunk x n_texts x width x 4`` bytes, whatever the depth and width.
Each chunk is one more pass over the texts; with the default 2 GiB budget a 135M model on 10^4
texts, or a 32B one (65 x 5120) on 1600 texts, fits in one pass.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vaxis import __version__
from vaxis.axis.batches import PaddingSide, pad, token_batches, tokenize
from vaxis.axis.cache import StateCache, StateWriter, state_key, texts_sha256
from vaxis.axis.models import ModelSpec, resolve_model
from vaxis.axis.sizing import (
    MAX_STATE_BYTES,
    MAX_TOKENS_PER_BATCH,
    cuda_device_map,
    layers_per_chunk,
)
from vaxis.console import progress_counter
from vaxis.errors import OutOfMemory, is_out_of_memory

if TYPE_CHECKING:  # torch and transformers are optional extras: imported where used
    import torch

# Bump when a change makes previously cached states wrong.
EXTRACTOR_VERSION = 1

Pooling = Literal["last", "mean"]
Loader = Callable[[ModelSpec, str, str], tuple[Any, Any]]


def choose_device(device: str | None = None) -> str:
    """``device`` as given, else "cuda" when a GPU is visible, else "cpu"."""
    import torch

    return device or ("cuda" if torch.cuda.is_available() else "cpu")


HALF_DTYPES = ("bfloat16", "float16")


def choose_dtype(spec: ModelSpec, device: str, dtype: str | None = None) -> str:
    """float32 on CPU (fast and exact there); on accelerators the model's stored half dtype,
    else bfloat16 (a float32 or dequantized checkpoint runs at half the memory)."""
    if dtype:
        return dtype
    if device == "cpu":
        return "float32"
    return spec.dtype if spec.dtype in HALF_DTYPES else "bfloat16"


#: models kept loaded inside :func:`keep_loaded` (None outside it)
_kept: dict[tuple[str, str, str, bool], tuple[Any, Any]] | None = None


@contextmanager
def keep_loaded() -> Iterator[None]:
    """Inside this block :func:`load_model` loads each model once and keeps it, so building an
    axis and validating it (or several models' axes, then each validation) reads each model's
    weights once. Memory: every model loaded inside the block, at once."""
    global _kept
    outer, _kept = _kept, ({} if _kept is None else _kept)
    try:
        yield
    finally:
        _kept = outer


def load_model(spec: ModelSpec, device: str, dtype: str, head: bool = False) -> tuple[Any, Any]:
    """Load the base model and its tokenizer from local files only (once inside
    :func:`keep_loaded`).

    Hidden states need no LM head (large vocabularies dominate forward time); generation does
    (``head=True`` loads ``AutoModelForCausalLM``).

    ``device`` is "cpu", a torch device ("cuda", "cuda:1") or "auto" (accelerate spreads a model
    too large for one GPU over every GPU and the CPU). Plain "cuda" becomes "auto" by itself when
    the weights do not fit on the largest GPU and accelerate is installed
    (:func:`vaxis.axis.sizing.device_map_for`). Weights go straight to the device.
    """
    key = (spec.fingerprint, device, dtype, head)
    if _kept is not None and key in _kept:
        return _kept[key]
    loaded = _load(spec, device, dtype, head)
    if _kept is not None:
        _kept[key] = loaded
    return loaded


def _load(spec: ModelSpec, device: str, dtype: str, head: bool) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    gguf = {"gguf_file": spec.gguf_file} if spec.gguf_file else {}
    if device == "cpu":
        # In containers torch counts the host's cores, not the ones this process may use.
        usable = getattr(os, "sched_getaffinity", None)
        available = len(usable(0)) if usable else (os.cpu_count() or 1)
        if torch.get_num_threads() > available:
            torch.set_num_threads(available)
    device_map = None if device == "cpu" else device
    if device == "cuda":  # no GPU named: "auto" when the weights do not fit on one
        device_map = cuda_device_map(spec, dtype)
    auto_class = AutoModelForCausalLM if head else AutoModel
    model = auto_class.from_pretrained(
        spec.path,
        dtype=getattr(torch, dtype),
        device_map=device_map,
        local_files_only=True,
        **gguf,
    )
    return model.eval(), load_tokenizer(spec)


def load_tokenizer(spec: ModelSpec) -> Any:
    """The model's tokenizer from local files only (no weights are read)."""
    from transformers import AutoTokenizer

    gguf = {"gguf_file": spec.gguf_file} if spec.gguf_file else {}
    return AutoTokenizer.from_pretrained(spec.path, local_files_only=True, **gguf)


def _last_index(mask: torch.Tensor) -> torch.Tensor:
    """Position of each row's last real token, whichever side the padding is on."""
    import torch

    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(mask.bool(), positions, -1).amax(dim=1)


def _mean_weights(mask: torch.Tensor) -> torch.Tensor:
    """Row weights averaging the real tokens after the first (all of them for one-token texts)."""
    import torch

    weights = mask.float().clone()
    first = mask.float().argmax(dim=1)  # first real token, whichever side the padding is on
    several = weights.sum(dim=1) > 1
    rows = torch.arange(mask.shape[0], device=mask.device)
    weights[rows[several], first[several]] = 0.0
    return weights / weights.sum(dim=1, keepdim=True)


def pool(hidden: Sequence[torch.Tensor], mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """Pool each layer's (batch, tokens, width) states to (layers, batch, width) float32."""
    import torch

    if pooling == "last":
        rows = torch.arange(mask.shape[0], device=mask.device)
        last = _last_index(mask)
        return torch.stack([h[rows, last].float() for h in hidden])
    if pooling == "mean":
        weights = _mean_weights(mask)[:, None, :]
        return torch.stack([torch.bmm(weights, h.float()).squeeze(1) for h in hidden])
    raise ValueError(f"unknown pooling {pooling!r}; choose 'last' or 'mean'")


class HiddenStateExtractor:
    """Pooled hidden states of every layer for a list of texts.

    Parameters
    ----------
    model : a transformers model; its base model (or encoder) is run, never the LM head.
    tokenizer : the model's tokenizer.
    pooling : "last" (last real token) or "mean" (tokens after the first).
    batch_size : at most this many texts per forward pass (None: no cap).
    max_tokens_per_batch : at most this many padded tokens per forward pass (None: no cap).
        Results depend on neither; a batch that runs out of memory is halved and retried.
    max_length : texts are truncated to this many tokens (None: never truncate).
    add_special_tokens : let the tokenizer add BOS / CLS / SEP as the model expects.
    padding_side : "right" is correct for every model; "left" passes 0-based ``position_ids``
        so that models with absolute positions (GPT-2) see the same positions as unpadded text.
    progress : show a progress bar.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        pooling: Pooling = "last",
        batch_size: int | None = 16,
        max_length: int | None = 512,
        add_special_tokens: bool = True,
        padding_side: PaddingSide = "right",
        progress: bool = False,
        max_tokens_per_batch: int | None = MAX_TOKENS_PER_BATCH,
    ) -> None:
        if pooling not in ("last", "mean"):
            raise ValueError(f"unknown pooling {pooling!r}; choose 'last' or 'mean'")
        for name, value in (
            ("batch_size", batch_size),
            ("max_tokens_per_batch", max_tokens_per_batch),
        ):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        self.model = model
        self.tokenizer = tokenizer
        self.pooling: Pooling = pooling
        self.batch_size = batch_size
        self.max_length = max_length
        self.add_special_tokens = add_special_tokens
        self.padding_side: PaddingSide = padding_side
        self.progress = progress
        self.max_tokens_per_batch = max_tokens_per_batch
        self._oom_cap: int | None = None  # texts per batch after an out-of-memory back-off
        is_seq2seq = getattr(model.config, "is_encoder_decoder", False)
        self._body = model.get_encoder() if is_seq2seq else model.base_model
        self._accepts = set(inspect.signature(self._body.forward).parameters)
        text_config = self._body.config.get_text_config()
        self.n_states = int(text_config.num_hidden_layers) + 1
        self.width = int(text_config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (truncated to ``max_length``); empty texts are an error."""
        return tokenize(self.tokenizer, texts, self.max_length, self.add_special_tokens)

    def _pad_id(self) -> int:
        for token_id in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id):
            if token_id is not None:
                return int(token_id)
        return 0  # any id will do: padded positions are masked out and never read

    def _forward(self, ids: list[list[int]], layers: range) -> torch.Tensor:
        """Pooled states (len(layers), batch, width) of one padded batch."""
        import torch

        input_ids, mask = pad(ids, self._pad_id(), self.padding_side)
        device = self._body.get_input_embeddings().weight.device
        inputs: dict[str, Any] = {
            "input_ids": input_ids.to(device),
            "attention_mask": mask.to(device),
        }
        if self.padding_side == "left" and "position_ids" in self._accepts:
            inputs["position_ids"] = (mask.cumsum(dim=1) - 1).clamp(min=0).to(device)
        if "use_cache" in self._accepts:
            inputs["use_cache"] = False
        with torch.inference_mode():
            hidden = self._body(**inputs, output_hidden_states=True).hidden_states
        if len(hidden) != self.n_states or hidden[0].shape[-1] != self.width:
            raise RuntimeError(
                f"model returned {len(hidden)} states of width {hidden[0].shape[-1]}, "
                f"its config says {self.n_states} of width {self.width}"
            )
        return pool(hidden[layers.start : layers.stop], inputs["attention_mask"], self.pooling)

    def _run(self, ids: list[list[int]], index: np.ndarray, layers: range) -> np.ndarray:
        """States of texts ``index``; on out-of-memory, halve the batch and retry (and keep
        later batches at that size), down to one text, then a clear error."""
        try:
            return self._forward([ids[i] for i in index], layers).cpu().numpy()
        except RuntimeError as error:  # torch.OutOfMemoryError is one
            if not is_out_of_memory(error):
                raise
            failure = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
        _free_accelerator_memory()
        if len(index) == 1:
            raise self._out_of_memory(len(ids[index[0]]), failure)
        half = (len(index) + 1) // 2
        self._oom_cap = half if self._oom_cap is None else min(self._oom_cap, half)
        return np.concatenate(
            [self._run(ids, index[:half], layers), self._run(ids, index[half:], layers)], axis=1
        )

    def _out_of_memory(self, n_tokens: int, failure: str) -> Exception:
        name = getattr(self.model.config, "name_or_path", "") or type(self.model).__name__
        device = self._body.get_input_embeddings().weight.device
        return OutOfMemory(
            f"model {name} ran out of memory on {device} on a single text of {n_tokens} tokens "
            f"({failure})\n  fix: a smaller max_length (now {self.max_length}, truncates long "
            "texts); or device 'auto' (spreads the model over every GPU and the CPU); or a "
            "half dtype (bfloat16) if it runs in float32; or a device with more memory"
        )

    def iter_chunks(
        self, texts: Sequence[str], layers_per_chunk: int | None = None
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield (first state, states (chunk, n_texts, width) float32 in the given order,
        tokens per text), one chunk of ``layers_per_chunk`` states at a time (None: all at
        once). Each chunk is one pass over the texts; only its states are kept."""
        ids = self.tokenize(texts)
        lengths = np.array([len(row) for row in ids])
        batches = token_batches(lengths, self.max_tokens_per_batch, self.batch_size)
        step = layers_per_chunk or self.n_states
        n_chunks = -(-self.n_states // step)
        with progress_counter(len(ids) * n_chunks, self.progress, "hidden states") as advance:
            for start in range(0, self.n_states, step):
                layers = range(start, min(start + step, self.n_states))
                chunk = np.empty((len(layers), len(ids), self.width), dtype=np.float32)
                for batch in batches:
                    cap = self._oom_cap or len(batch)
                    for first in range(0, len(batch), cap):
                        index = batch[first : first + cap]
                        chunk[:, index] = self._run(ids, index, layers)
                        advance(len(index))
                yield start, chunk, lengths

    def extract_into(
        self, texts: Sequence[str], writer: StateWriter, layers_per_chunk: int | None = None
    ) -> None:
        """Write every chunk of layers to ``writer`` (module docstring: the memory bound)."""
        for start, chunk, n_tokens in self.iter_chunks(texts, layers_per_chunk):
            writer.write_layers(start, chunk, n_tokens)

    def extract(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(states (n_texts, n_states, width), tokens per text) in memory, in the given order."""
        (_, states, n_tokens), *_ = self.iter_chunks(texts)
        return np.moveaxis(states, 0, 1), n_tokens


def _free_accelerator_memory() -> None:
    """Give cached CUDA blocks back after an out-of-memory error, before the retry."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass(frozen=True)
class HiddenStates:
    """Pooled states of a list of texts with the identity of the model that produced them.

    ``states`` is (n_texts, n_states, width) float32, n_states = layers + 1 (index 0 is the
    embedding output); a read-only memory map when it comes from the on-disk cache.
    ``model.dequantized`` / ``model.quantized_note`` say when weights were 4-bit and dequantized.
    """

    states: np.ndarray
    n_tokens: np.ndarray
    model: ModelSpec
    pooling: Pooling
    settings: dict[str, Any]
    texts_sha256: str
    from_cache: bool
    path: Path | None = None

    def layer(self, index: int) -> np.ndarray:
        """(n_texts, width) states of one layer (negative indices count from the last)."""
        return np.asarray(self.states[:, index, :])


def extract_states(
    model: str | Path | ModelSpec,
    texts: Sequence[str],
    *,
    pooling: Pooling = "last",
    batch_size: int | None = 16,
    max_length: int | None = 512,
    add_special_tokens: bool = True,
    device: str | None = None,
    dtype: str | None = None,
    cache: StateCache | None = None,
    allow_download: bool = False,
    loader: Loader = load_model,
    progress: bool = False,
    max_tokens_per_batch: int | None = MAX_TOKENS_PER_BATCH,
    max_state_bytes: int = MAX_STATE_BYTES,
) -> HiddenStates:
    """Resolve ``model``, then return its pooled states for ``texts`` from ``cache`` if present;
    otherwise load the model (once, via ``loader``) and stream the states into ``cache``.

    ``cache=None`` keeps states in memory only. The cache key covers the model's content
    fingerprint, the texts, the pooling and every setting that changes the numbers (not the batch
    sizes or the chunking, which do not). Written to the cache, states go one chunk of layers at a
    time, each chunk at most ``max_state_bytes`` in memory (module docstring).
    """
    texts = list(texts)
    spec = (
        model
        if isinstance(model, ModelSpec)
        else resolve_model(model, allow_download=allow_download, cache=cache)
    )
    device = choose_device(device)
    dtype = choose_dtype(spec, device, dtype)
    settings = {
        "pooling": pooling,
        "max_length": max_length,
        "add_special_tokens": add_special_tokens,
        "dtype": dtype,
    }
    digest = texts_sha256(texts)
    description = {
        "model": spec.identity(),
        "settings": settings,
        "texts_sha256": digest,
        "extractor_version": EXTRACTOR_VERSION,
    }
    key = state_key(description)
    hit = cache.load(key) if cache is not None else None
    if hit is not None:
        return HiddenStates(
            hit.states, hit.n_tokens, spec, pooling, settings, digest, True, hit.path
        )

    loaded_model, tokenizer = loader(spec, device, dtype)
    extractor = HiddenStateExtractor(
        loaded_model,
        tokenizer,
        pooling=pooling,
        batch_size=batch_size,
        max_length=max_length,
        add_special_tokens=add_special_tokens,
        progress=progress,
        max_tokens_per_batch=max_tokens_per_batch,
    )
    if cache is None:
        states, n_tokens = extractor.extract(texts)
        return HiddenStates(states, n_tokens, spec, pooling, settings, digest, False)
    meta = {
        **description,
        "model": spec.model_dump(),
        "n_texts": len(texts),
        "layout": "states.npy is layer-major: (n_states, n_texts, width) float32",
        "vaxis_version": __version__,
    }
    with cache.writer(key, len(texts), extractor.n_states, extractor.width, meta) as writer:
        chunk = layers_per_chunk(extractor.n_states, len(texts), extractor.width, max_state_bytes)
        extractor.extract_into(texts, writer, chunk)
    stored = cache.load(key)
    assert stored is not None  # just committed
    return HiddenStates(
        stored.states, stored.n_tokens, spec, pooling, settings, digest, False, stored.path
    )
