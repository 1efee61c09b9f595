"""Resumable training state on disk: one ``checkpoint.pt`` per run folder, written atomically.

A checkpoint holds everything that decides the rest of a run - model, optimiser and schedule
states, every random generator's state, the best weights so far and the history - so a resumed
run continues bit-for-bit where the interrupted one stopped. It also records the run's
identity (config and a fingerprint of the training data) and refuses to resume anything else.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaxis.errors import DataFormatError

CHECKPOINT_NAME = "checkpoint.pt"


def data_fingerprint(*arrays: np.ndarray) -> str:
    """A short hash of the training arrays (shape, dtype and bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``run_dir/checkpoint.pt`` (temporary file, then rename)."""
    path = Path(run_dir) / CHECKPOINT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    run_dir: str | Path, identity: dict[str, str], device: torch.device
) -> dict[str, Any] | None:
    """The saved state of this run, or None if the folder has none.

    Raises :class:`DataFormatError` if the checkpoint belongs to another config or other
    training data (resuming it would silently mix two runs).
    """
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # torch raises several types for truncated/foreign files
        raise DataFormatError(
            path, f"unreadable checkpoint ({error})", "delete it to start the run afresh"
        ) from error
    for key, expected in identity.items():
        if state.get(key) != expected:
            raise DataFormatError(
                path,
                f"this checkpoint was written with a different {key.replace('_', ' ')}",
                "use a new run folder, or delete the checkpoint to start afresh",
            )
    return state
