"""Checks shared by every loader: finite values, expected shapes, channel names."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from vaxis.errors import DataFormatError, NonFiniteError

if TYPE_CHECKING:
    from vaxis.data.cohort import Cohort

NanPolicy = Literal["raise", "drop", "interpolate"]
NAN_POLICIES: tuple[NanPolicy, ...] = get_args(NanPolicy)
#: what to do about NaN/Inf, in words every user can follow (each command has --nan-policy, a
#: study config [data] nan_policy, each loader nan_policy=)
NAN_FIX = (
    "choose a policy: --nan-policy drop (drop affected samples) or --nan-policy interpolate "
    "(fill along time); in a study config [data] nan_policy, in Python nan_policy='drop'"
)


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
        raise NonFiniteError(path, report, NAN_FIX)
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
                'use --nan-policy drop ([data] nan_policy = "drop" in a study config)',
            )
        flat[row] = np.interp(grid, grid[ok], flat[row, ok])
    repaired = np.moveaxis(flat.reshape(moved.shape), -1, time_axis).astype(array.dtype)
    return repaired, keep


def apply_nan_policy(cohort: Cohort, policy: NanPolicy, path: str | Path | None) -> Cohort:
    """``cohort`` with the NaN/Inf policy applied (the same cohort when all is finite).

    ``raise`` fails naming ``path``, the count and the first locations; ``drop`` removes the
    affected samples (raw: trials or segments); ``interpolate`` fills along time: within each
    row of raw EEG, across the windows of each trial for features.
    """
    if np.isfinite(cohort.data).all():
        return cohort
    where = "<cohort>" if path is None else path
    if cohort.meta.kind == "raw" or policy != "interpolate":
        axes = ("sample", "channel", "time" if cohort.meta.kind == "raw" else "band")
        data, keep = handle_nonfinite(cohort.data, where, policy, axes, time_axis=-1)
    else:
        trial = np.stack([cohort.subject, cohort.session, cohort.stimulus, cohort.window])
        order = np.lexsort(trial[::-1])  # by subject, session, stimulus, then window
        bounds = np.flatnonzero(np.any(np.diff(trial[:3, order], axis=1) != 0, axis=0)) + 1
        parts = [
            handle_nonfinite(cohort.data[rows], where, "interpolate", ("window", "ch", "band"), 0)
            for rows in np.split(order, bounds)
        ]
        data = np.empty_like(cohort.data)
        data[order] = np.concatenate([part for part, _ in parts])
        keep = np.ones(cohort.n_samples, dtype=bool)
    bad = int(np.count_nonzero(~np.isfinite(cohort.data)))
    provenance = {**cohort.meta.provenance, "nan_policy": policy, "nonfinite_values": bad}
    return cohort.with_data(data, provenance=provenance).subset(keep)
