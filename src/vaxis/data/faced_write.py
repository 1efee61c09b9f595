"""Write cohorts as FACED's official files, so every loader path is tested without the dataset.

The files match the real ones (float64 arrays, pickle protocol 2, clip-index order). A
synthetic cohort also leaves ``VAXIS_SYNTHETIC.json`` at the root, and the loaders mark what
they read from such a folder ``synthetic=True``.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vaxis.data.cohort import Cohort
from vaxis.data.datasets import (
    FACED,
    FACED_CHANNELS_WITH_MASTOIDS,
    FACED_CLIP_SECONDS,
    FACED_N_CLIPS,
    FACED_SCALP_CHANNELS,
)
from vaxis.data.faced_layout import (
    FEATURE_DIRS,
    N_SAMPLES,
    RAW_DIR,
    SYNTHETIC_MARKER,
    subject_name,
)
from vaxis.data.validation import check_shape, select_channels


def _official_channels(cohort: Cohort) -> np.ndarray:
    """Indices that put a cohort's channels in the official file order (32, else 30 scalp)."""
    have = {name.upper() for name in cohort.meta.channel_names}
    for names in (FACED_CHANNELS_WITH_MASTOIDS, FACED_SCALP_CHANNELS):
        if {name.upper() for name in names} <= have:
            return select_channels(cohort.meta.channel_names, names, "<cohort>")
    raise ValueError("a FACED file needs the 32 official channels or the 30 scalp channels")


def _subject_block(cohort: Cohort, subject: int, n_windows: int) -> np.ndarray:
    """The subject's rows ordered by (clip, window); every clip x window exactly once."""
    rows = np.flatnonzero(cohort.subject == subject)
    key = cohort.stimulus[rows] * n_windows + cohort.window[rows]
    order = np.argsort(key, kind="stable")
    if not np.array_equal(key[order], np.arange(FACED_N_CLIPS * n_windows)):
        raise ValueError(
            f"subject {subject}: a FACED file needs each of the 28 clips x {n_windows} "
            f"windows exactly once, the cohort has {rows.size} rows"
        )
    return rows[order]


def _targets(folder: Path, subjects: Iterable[int], suffix: str, overwrite: bool) -> list[Path]:
    paths = [folder / f"{subject_name(int(s))}{suffix}" for s in subjects]
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{folder}: would overwrite {', '.join(p.name for p in existing)}; "
            "pass overwrite=True to replace them"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return paths


def _atomic_pickle(array: np.ndarray, path: Path) -> None:
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as handle:
        pickle.dump(array, handle, protocol=2)
    os.replace(tmp, path)


def _mark_synthetic(cohort: Cohort, root: Path) -> None:
    if cohort.meta.synthetic:
        marker = {"synthetic": True, "provenance": cohort.meta.provenance}
        (root / SYNTHETIC_MARKER).write_text(json.dumps(marker, indent=2, default=str))


def write_faced_processed(
    raw_cohort: Cohort, root: str | Path, *, overwrite: bool = False
) -> list[Path]:
    """Write ``root/Processed_data/subNNN.pkl``: float64 (28, 32 or 30, 7500), pickle protocol 2."""
    if raw_cohort.meta.kind != "raw":
        raise ValueError("write_faced_processed needs a raw cohort")
    root = Path(root)
    channels = _official_channels(raw_cohort)
    paths = _targets(root.joinpath(*RAW_DIR), raw_cohort.subjects, ".pkl", overwrite)
    for subject, path in zip(raw_cohort.subjects, paths, strict=True):
        rows = _subject_block(raw_cohort, int(subject), 1)
        array = raw_cohort.data[rows][:, channels].astype(np.float64)
        check_shape(array, (FACED_N_CLIPS, channels.size, N_SAMPLES), path, "EEG to write")
        _atomic_pickle(array, path)
    _mark_synthetic(raw_cohort, root)
    return paths


def write_faced_features(
    feature_cohort: Cohort, root: str | Path, feature: str = "de", *, overwrite: bool = False
) -> list[Path]:
    """Write ``root/EEG_Features/<DE|PSD>/subNNN.pkl.pkl``: float64 (28, 32, 30, 5)."""
    feature = feature.lower()
    meta = feature_cohort.meta
    if meta.kind != "features" or feature not in FEATURE_DIRS:
        raise ValueError(f"need a feature cohort and feature in {sorted(FEATURE_DIRS)}")
    if meta.feature is not None and meta.feature.lower() != feature:
        raise ValueError(f"cohort holds {meta.feature!r} features, not {feature!r}")
    root = Path(root)
    channels = _official_channels(feature_cohort)
    folder = root.joinpath(*FEATURE_DIRS[feature])
    paths = _targets(folder, feature_cohort.subjects, ".pkl.pkl", overwrite)
    for subject, path in zip(feature_cohort.subjects, paths, strict=True):
        rows = _subject_block(feature_cohort, int(subject), FACED_CLIP_SECONDS)
        block = feature_cohort.data[rows][:, channels].astype(np.float64)
        array = np.moveaxis(
            block.reshape(FACED_N_CLIPS, FACED_CLIP_SECONDS, *block.shape[1:]), 1, 2
        )
        check_shape(
            array,
            (FACED_N_CLIPS, channels.size, FACED_CLIP_SECONDS, len(FACED.bands)),
            path,
            "features to write",
        )
        _atomic_pickle(np.ascontiguousarray(array), path)
    _mark_synthetic(feature_cohort, root)
    return paths
