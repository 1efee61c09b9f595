"""How a training run uses its device: precision, TF32, ``torch.compile``, placement, OOM.

* **Precision** (``TrainConfig.precision``): ``"fp32"`` runs exactly as vaxis always has (no
  autocast context at all, so CPU results stay bit-identical). ``"bf16"`` and ``"fp16"`` run
  the training forward pass and loss under :func:`torch.autocast`; weights, gradients, AdamW's
  state and the update stay fp32 (master weights). fp16's 5-bit exponent lets small gradients
  underflow, so its loss is scaled (:class:`torch.amp.GradScaler`, skipping steps whose
  gradients overflowed); bf16 has fp32's exponent range and needs no scaling. Validation and
  predictions always run in fp32. bf16 autocast works on the CPU too (slower than fp32 where
  the CPU has no bf16 matrix units: ``bench/bench_engine.py`` says which).
* **TF32** (``TrainConfig.tf32``): on CUDA, fp32 matmuls and convolutions round their inputs
  to TF32's 10-bit mantissa (Ampere and later: several times faster). It changes the numbers,
  so it is part of a run's key when on; it has no effect on the CPU.
* **torch.compile** (``TrainConfig.compile`` or ``VAXIS_COMPILE=1`` in a worker's
  environment): the training forward pass goes through the compiled graph. Speed only (results
  agree within rounding), so it is never part of a run's key.
* **Placement**: a sweep worker given a device by its executor (``VAXIS_DEVICE``, see
  :mod:`vaxis.sweep.executors`) runs its ``device="auto"`` jobs there; an explicit device wins.
* **Out of memory**: :func:`vaxis.errors.is_out_of_memory` recognises torch's OOM errors; the
  engine turns them into :class:`vaxis.errors.OutOfMemory`, which names the run and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from vaxis.decoders.numerics import (
    CHECKPOINTING_VARIABLE,
    COMPILE_VARIABLE,
    DEVICE_VARIABLE,
    Precision,
)
from vaxis.errors import OutOfMemory

AUTOCAST_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str) -> torch.device:
    """``"auto"``: the device this worker was placed on (``VAXIS_DEVICE``), else CUDA when
    available, else the CPU; any other name as given (``"cpu"``, ``"cuda:1"``, ...)."""
    if name == "auto":
        placed = os.environ.get(DEVICE_VARIABLE)
        if placed:
            return torch.device(placed)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast(precision: Precision, device: torch.device) -> AbstractContextManager[Any]:
    """The context of a training forward pass: nothing for fp32, else autocast to the dtype."""
    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision])


def grad_scaler(precision: Precision, device: torch.device) -> torch.amp.GradScaler | None:
    """Loss scaling for fp16 (gradients would underflow without it); None otherwise."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)


@contextmanager
def tf32(enabled: bool, device: torch.device) -> Iterator[None]:
    """TF32 matmuls and cuDNN convolutions on CUDA while the context is open (flags restored
    afterwards); nothing on other devices or when not enabled."""
    if not enabled or device.type != "cuda":
        yield
        return
    flags = _tf32_flags()
    before = [(owner, name, getattr(owner, name)) for owner, name, _ in flags]
    try:
        for owner, name, value in flags:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in before:
            setattr(owner, name, value)


def _tf32_flags() -> list[tuple[Any, str, object]]:
    """(object, attribute, value) that switch TF32 on: torch >= 2.9 spells it
    ``fp32_precision = "tf32"``, older versions ``allow_tf32 = True``."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(matmul, "fp32_precision"):
        conv = getattr(cudnn, "conv")  # noqa: B009 (not in torch's type stubs)
        return [(matmul, "fp32_precision", "tf32"), (conv, "fp32_precision", "tf32")]
    return [(matmul, "allow_tf32", True), (cudnn, "allow_tf32", True)]


def compile_requested(configured: bool) -> bool:
    """Whether to compile: asked by the run's config or by the worker's environment."""
    return configured or os.environ.get(COMPILE_VARIABLE) == "1"


def checkpointing_requested(configured: bool) -> bool:
    """Whether to checkpoint activations: asked by the run's config or the worker's
    environment (memory only: the numbers are the same)."""
    return configured or os.environ.get(CHECKPOINTING_VARIABLE) == "1"


def forward_of(model: nn.Module, compiled: bool) -> Callable[..., Any]:
    """The callable a training step runs: the model itself, or its compiled graph (sharing
    the model's parameters, so checkpoints and selection see the same weights).

    Compiled random ops (dropout) draw from torch's eager generator (inductor's
    ``fallback_random``): otherwise they would draw other masks, and a compiled run would
    differ from an eager one by more than rounding.
    """
    if not compiled:
        return model
    import torch._inductor.config as inductor

    inductor.fallback_random = True
    return cast("Callable[..., Any]", torch.compile(model))


def out_of_memory(
    *,
    decoder: str,
    key: str,
    batch_size: int,
    precision: Precision,
    device: torch.device,
    n_samples: int,
    run_dir: str | Path | None,
    error: BaseException,
) -> OutOfMemory:
    """The error for a run that ran out of memory: which run, on what, and what to change."""
    where = f" in {run_dir}" if run_dir is not None else ""
    fixes = [f"a smaller batch_size (now {batch_size})"]
    fixes.append("fewer jobs_per_device in [compute] (jobs sharing this device)")
    if precision == "fp32":
        fixes.append('precision = "bf16" (halves activation memory)')
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return OutOfMemory(
        f"training run {key} ({decoder}{where}) ran out of memory on {device} with "
        f"{n_samples} training samples resident there ({first})\n"
        f"  fix: {'; or '.join(fixes)}"
    )
