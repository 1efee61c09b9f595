"""Checks shared by every loader: finite values, expected shapes, channel names."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from vaxis.errors import DataFormatError

NanPolicy = Literal["raise", "drop", "interpolate"]


def check_shape(
    array: np.ndarray, expected: Sequence[int | None], path: str | Path, what: str
) -> None:
    """Raise naming the file when ``array`` does not match ``expected`` (None = any size)."""
    shape = tuple(array.shape)
    ok = len(shape) == len(expected) and all(
        want is None or have == want for have, want in zip(shape, expected, strict=False)
    )
    if not ok:
        pretty = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise DataFormatError(
            path,
            f"{what} has shape {shape}, expected {pretty}",
            "check that this is the right file of the right dataset (a truncated or "
            "re-saved file changes the shape)",
        )


def select_channels(
    names_in_file: Sequence[str], wanted: Sequence[str], path: str | Path
) -> np.ndarray:
    """Indices of ``wanted`` channels in the file's order, matched by name (case-insensitive)."""
    lookup = {name.upper(): i for i, name in enumerate(names_in_file)}
    missing = [name for name in wanted if name.upper() not in lookup]
    if missing:
        raise DataFormatError(
            path,
            f"channels missing: {', '.join(missing)} (file has {len(names_in_file)}: "
            f"{', '.join(names_in_file)})",
            "pass the file's channel names explicitly if it uses another naming",
        )
    return np.array([lookup[name.upper()] for name in wanted], dtype=np.intp)


def nonfinite_report(array: np.ndarray, axis_names: Sequence[str]) -> str:
    """Human-readable count and first locations of NaN/Inf values."""
    bad = ~np.isfinite(array)
    where = np.argwhere(bad)
    first = ", ".join(
        "(" + ", ".join(f"{n}={i}" for n, i in zip(axis_names, loc, strict=False)) + ")"
        for loc in where[:3]
    )
    return f"{int(bad.sum())} non-finite values (NaN/Inf) of {array.size}; first at {first}"


def handle_nonfinite(
    array: np.ndarray,
    path: str | Path,
    policy: NanPolicy,
    axis_names: Sequence[str],
    time_axis: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the NaN/Inf policy.

    Returns the (possibly repaired) array and a boolean mask over the first axis saying which
    entries to keep. ``raise`` fails with counts and locations; ``drop`` marks entries along
    axis 0 that contain any non-finite value; ``interpolate`` fills gaps linearly along
    ``time_axis`` (edges take the nearest finite value). The input array is never modified.
    """
    finite = np.isfinite(array)
    keep = np.ones(array.shape[0], dtype=bool)
    if finite.all():
        return array, keep
    report = nonfinite_report(array, axis_names)
    if policy == "raise":
        raise DataFormatError(
            path,
            report,
            "choose a policy: --nan-policy drop (drop affected samples) or "
            "--nan-policy interpolate (fill along time)",
        )
    if policy == "drop":
        keep = finite.reshape(array.shape[0], -1).all(axis=1)
        return array, keep
    moved = np.moveaxis(np.array(array, dtype=np.float64, copy=True), time_axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    grid = np.arange(flat.shape[-1])
    for row in np.flatnonzero(~np.isfinite(flat).all(axis=1)):
        ok = np.isfinite(flat[row])
        if not ok.any():
            raise DataFormatError(
                path,
                f"{report}; a whole series is non-finite and cannot be interpolated",
                "use --nan-policy drop",
            )
        flat[row] = np.interp(grid, grid[ok], flat[row, ok])
    repaired = np.moveaxis(flat.reshape(moved.shape), -1, time_axis).astype(array.dtype)
    return repaired, keep
