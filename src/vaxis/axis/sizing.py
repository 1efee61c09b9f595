"""Size a model and a hidden-state extraction before loading any weights.

Parameters come from the model's own description, never from its weights: the GGUF header's
tensor shapes, or the architecture built from ``config.json`` on torch's ``meta`` device (shapes
only, no memory). From them :func:`plan_extraction` derives what ``vaxis axis build --plan``
prints: the weights' memory in the dtype the extraction will use, the pooled states' memory
(one chunk of layers, :mod:`vaxis.axis.lm`) and disk (layers x texts x width x 4 bytes), and
an estimated time from a stated throughput assumption.

The same parameter count decides whether a model is spread over devices
(:func:`device_map_for`): ``device_map="auto"`` only when CUDA is present, accelerate is
installed and the weights do not fit on the largest single device.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from vaxis.axis.batches import token_batches
from vaxis.axis.models import ModelSpec

#: Default bound on one chunk of pooled states in memory (the bound: see vaxis.axis.lm).
MAX_STATE_BYTES = 2 << 30
#: Default token budget of one batch: texts x its longest text (padding included).
MAX_TOKENS_PER_BATCH = 4096


BYTES_PER_VALUE = {"float32": 4, "float16": 2, "bfloat16": 2}
#: Share of a device's free memory the weights may take (the rest: activations, CUDA context).
HEADROOM = 0.8
#: Assumed sustained forward throughput in FLOP/s (a forward pass costs 2 x parameters FLOPs per
#: token). CPU: a few cores in float32; CUDA: a conservative 30% of an A100's 312 TFLOP/s bf16
#: peak. An estimate, not a promise: bench/bench_extract.py measures the real figure and prints
#: its ratio to this one.
ASSUMED_FLOPS = {"cpu": 5e10, "cuda": 1e14}


def layers_per_chunk(n_states: int, n_texts: int, width: int, max_bytes: int) -> int:
    """Most layers whose pooled float32 states of every text fit in ``max_bytes`` (at least 1)."""
    per_layer = max(1, n_texts) * width * 4
    return int(min(n_states, max(1, max_bytes // per_layer)))


def count_parameters(spec: ModelSpec) -> int:
    """Parameters of the model that is run (the base model, no LM head), without weights:
    element counts of the GGUF's tensors, or the config's architecture on the meta device."""
    if spec.gguf_file:
        import gguf

        reader = gguf.GGUFReader(Path(spec.path) / spec.gguf_file)
        return sum(int(tensor.n_elements) for tensor in reader.tensors)
    import torch
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(spec.path, local_files_only=True)
    with torch.device("meta"):
        model = AutoModel.from_config(config)
    return sum(parameter.numel() for parameter in model.parameters())


def files_bytes(spec: ModelSpec) -> int:
    """Bytes of the model's files on disk (the GGUF file, or every file of the folder)."""
    folder = Path(spec.path)
    if spec.gguf_file:
        return (folder / spec.gguf_file).stat().st_size
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def device_map_for(
    device: str, weight_bytes: int, free_bytes: Sequence[int], has_accelerate: bool
) -> str:
    """What ``from_pretrained`` gets as ``device_map``: ``device`` itself, or ``"auto"`` when
    ``device`` is "cuda" (no index given), CUDA devices exist (``free_bytes``, one per device),
    accelerate is installed and the weights exceed :data:`HEADROOM` of the largest one."""
    if device != "cuda" or not free_bytes or not has_accelerate:
        return device
    return "auto" if weight_bytes > HEADROOM * max(free_bytes) else device


def cuda_device_map(spec: ModelSpec, dtype: str) -> str:
    """:func:`device_map_for` on this machine's CUDA devices (their free memory now)."""
    import torch

    if not torch.cuda.is_available():
        return "cuda"
    free = [torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count())]
    try:
        weights = count_parameters(spec) * BYTES_PER_VALUE.get(dtype, 4)
    except (OSError, ValueError, KeyError):  # an architecture the meta build cannot make
        weights = files_bytes(spec)
    return device_map_for("cuda", weights, free, importlib.util.find_spec("accelerate") is not None)


class ExtractionPlan(BaseModel):
    """What an extraction will cost, computed before any weight is loaded."""

    model_config = ConfigDict(frozen=True)

    model: str
    architecture: str
    n_parameters: int
    file_bytes: int
    n_states: int
    width: int
    n_texts: int
    n_tokens: int
    device: str
    dtype: str
    weight_bytes: int
    layers_per_chunk: int
    n_chunks: int
    chunk_bytes: int
    batch_bytes: int
    disk_bytes: int
    flops: float
    assumed_flops_per_s: float
    seconds: float

    @property
    def memory_bytes(self) -> int:
        """Peak memory: weights + one batch of activations + one chunk of pooled states."""
        return self.weight_bytes + self.batch_bytes + self.chunk_bytes


def plan_extraction(
    spec: ModelSpec,
    n_tokens: Sequence[int],
    device: str,
    dtype: str,
    max_tokens_per_batch: int | None = MAX_TOKENS_PER_BATCH,
    max_state_bytes: int = MAX_STATE_BYTES,
    batch_size: int | None = 16,
) -> ExtractionPlan:
    """Sizes of extracting ``spec``'s states for texts of ``n_tokens`` tokens each.

    A batch keeps every layer's states of its padded tokens (``output_hidden_states``): the
    largest batch's texts x longest text (the batches the extractor will run) x n_states x width
    in ``dtype``. Each chunk of
    layers is one forward pass over every token: 2 x parameters FLOPs per token per pass.
    """
    n_texts, total = len(n_tokens), int(sum(n_tokens))
    n_parameters = count_parameters(spec)
    value = BYTES_PER_VALUE.get(dtype, 4)
    chunk = layers_per_chunk(spec.n_states, n_texts, spec.width, max_state_bytes)
    n_chunks = math.ceil(spec.n_states / chunk)
    lengths = np.asarray(n_tokens)
    batch_tokens = max(
        (
            len(b) * int(lengths[b].max())
            for b in token_batches(lengths, max_tokens_per_batch, batch_size)
        ),
        default=0,
    )
    flops = 2.0 * n_parameters * total * n_chunks
    assumed = ASSUMED_FLOPS["cpu" if device == "cpu" else "cuda"]
    return ExtractionPlan(
        model=spec.name,
        architecture=spec.architecture,
        n_parameters=n_parameters,
        file_bytes=files_bytes(spec),
        n_states=spec.n_states,
        width=spec.width,
        n_texts=n_texts,
        n_tokens=total,
        device=device,
        dtype=dtype,
        weight_bytes=n_parameters * value,
        layers_per_chunk=chunk,
        n_chunks=n_chunks,
        chunk_bytes=chunk * n_texts * spec.width * 4,
        batch_bytes=batch_tokens * spec.n_states * spec.width * value,
        disk_bytes=spec.n_states * n_texts * spec.width * 4,
        flops=flops,
        assumed_flops_per_s=assumed,
        seconds=flops / assumed,
    )
