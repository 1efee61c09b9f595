"""FACED loaders: the official files (see :mod:`vaxis.data.faced_layout`) to :class:`Cohort`.

Clips are stored in clip-index order; labels come from the fixed clip map in ``datasets.py``.
The pickles are read with the restricted unpickler (python2-era, latin-1) and never executed.
What is read from a folder holding ``VAXIS_SYNTHETIC.json`` is marked ``synthetic=True``.
The writers (:mod:`vaxis.data.faced_write`) and the ratings reader and writer
(:mod:`vaxis.data.faced_ratings`) are re-exported here: one import reaches all of FACED.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vaxis.data import safe_pickle
from vaxis.data.cohort import Cohort, CohortMeta, Kind
from vaxis.data.datasets import (
    FACED,
    FACED_CHANNELS_WITH_MASTOIDS,
    FACED_CLASSES,
    FACED_CLIP_LABELS,
    FACED_CLIP_SECONDS,
    FACED_N_CLIPS,
    FACED_N_SUBJECTS,
    FACED_RATINGS,
    FACED_SCALP_CHANNELS,
    FACED_SFREQ,
    faced_stimulus_names,
)
from vaxis.data.faced_layout import (
    FEATURE_DIRS,
    N_SAMPLES,
    RATINGS_DIR,
    RATINGS_FILE,
    RAW_DIR,
    REDOWNLOAD_HINT,
    SYNTHETIC_MARKER,
    Subjects,
    requested_subjects,
    subject_listing,
    subject_name,
)
from vaxis.data.faced_ratings import (
    load_faced_ratings,
    optional_ratings,
    read_after_remarks,
    write_after_remarks,
)
from vaxis.data.faced_write import write_faced_features, write_faced_processed
from vaxis.data.validation import NanPolicy, check_shape, handle_nonfinite, select_channels
from vaxis.errors import DataFormatError

__all__ = [
    "FEATURE_DIRS",
    "N_SAMPLES",
    "RATINGS_DIR",
    "RATINGS_FILE",
    "RAW_DIR",
    "SYNTHETIC_MARKER",
    "Subjects",
    "iter_faced_raw",
    "load_faced_features",
    "load_faced_ratings",
    "load_faced_raw",
    "read_after_remarks",
    "write_after_remarks",
    "write_faced_features",
    "write_faced_processed",
]

_CLIP_LABELS = np.asarray(FACED_CLIP_LABELS, dtype=np.int64)
_CLIP_VALENCE = np.asarray(FACED.class_valence, dtype=np.int64)[_CLIP_LABELS]


# ------------------------------------------------------------------------------ finding files
def _locate(root: str | Path, parts: tuple[str, ...]) -> tuple[Path, Path]:
    """The folder ``root/parts`` (``root`` may also be any folder along ``parts``) and its base."""
    root = Path(root).absolute()
    for depth in range(len(parts) + 1):
        if depth and root.name.lower() != parts[depth - 1].lower():
            continue
        folder = root.joinpath(*parts[depth:])
        if folder.is_dir():
            return folder, root.parents[depth - 1] if depth else root
    where = "/".join(parts)
    raise DataFormatError(
        root,
        f"no FACED folder {where}/ here",
        f"pass the FACED dataset root (the folder holding {parts[0]}/) or {where}/ itself; "
        + REDOWNLOAD_HINT,
    )


def _subject_files(folder: Path, suffix: str, subjects: Subjects) -> dict[int, Path]:
    """``{subject: path}`` for ``subNNN<suffix>``; fails on gaps, extras and missing requests."""
    pattern = re.compile(r"sub(\d+)" + re.escape(suffix))
    found: dict[int, Path] = {}
    for path in folder.iterdir():
        match = pattern.fullmatch(path.name)
        if match:
            found[int(match.group(1))] = path
    if not found:
        raise DataFormatError(
            folder, f"no subject files (sub000{suffix} ... sub122{suffix})", REDOWNLOAD_HINT
        )
    extras = sorted(s for s in found if s >= FACED_N_SUBJECTS)
    if extras:
        raise DataFormatError(
            folder,
            f"unexpected subject files: {subject_listing(extras)} (FACED has sub000..sub122)",
            "remove or rename the extra files; they are not part of FACED",
        )
    if subjects is None:
        wanted = list(range(max(found) + 1))
        expected = f"sub000..{subject_name(wanted[-1])}"
        fix = (
            "re-copy the missing files from the FACED download (vaxis reads sub000 up to the "
            "highest subject file present, without gaps), or move the files after the gap into "
            "another folder; in Python, subjects=[...] loads only some"
        )
    else:
        wanted = requested_subjects(subjects, folder)
        expected = f"the requested {len(wanted)} subjects"
        fix = "check the subject ids (FACED has 0..122) or re-copy the missing files"
    missing = [s for s in wanted if s not in found]
    if missing:
        raise DataFormatError(
            folder, f"expected {expected}, missing: {subject_listing(missing)}", fix
        )
    return {s: found[s] for s in wanted}


def _read_array(path: Path) -> np.ndarray:
    value = safe_pickle.load(path)
    if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.number):
        raise DataFormatError(
            path, f"expected a numeric numpy array, found {type(value).__name__}", REDOWNLOAD_HINT
        )
    return value


def _is_synthetic(base: Path) -> bool:
    return (base / SYNTHETIC_MARKER).is_file()


# ----------------------------------------------------------------------------- channels, labels
def _file_channels(n_channels: int, path: Path) -> tuple[str, ...]:
    """The pickles carry no names: 32 channels are the official order, 30 the scalp channels."""
    if n_channels == len(FACED_CHANNELS_WITH_MASTOIDS):
        return FACED_CHANNELS_WITH_MASTOIDS
    if n_channels == len(FACED_SCALP_CHANNELS):
        return FACED_SCALP_CHANNELS
    raise DataFormatError(
        path,
        f"file holds {n_channels} channels; FACED files hold 32 (30 scalp + 2 mastoids) or 30",
        "check that this is a FACED file; re-copy it if it was re-saved or truncated",
    )


def _pick(
    n_channels: int, channels: Iterable[str] | None, path: Path
) -> tuple[np.ndarray, tuple[str, ...]]:
    names = _file_channels(n_channels, path)
    if channels is None:
        return np.arange(n_channels), names
    index = select_channels(names, list(channels), path)
    return index, tuple(names[i] for i in index)


def _meta(
    kind: Kind,
    names: tuple[str, ...],
    base: Path,
    provenance: dict[str, Any],
    feature: str | None = None,
) -> CohortMeta:
    features = kind == "features"
    return CohortMeta(
        dataset="faced",
        kind=kind,
        channel_names=names,
        label_names=FACED_CLASSES,
        sfreq=1.0 / FACED.window_seconds if features else FACED_SFREQ,
        band_names=FACED.band_names if features else (),
        band_edges=FACED.band_edges if features else (),
        feature=feature,
        window_seconds=FACED.window_seconds if features else None,
        stimulus_names=faced_stimulus_names(),
        synthetic=_is_synthetic(base),
        provenance=provenance,
    )


def _cohort(
    data: np.ndarray,
    subject: np.ndarray,
    stimulus: np.ndarray,
    window: np.ndarray,
    meta: CohortMeta,
) -> Cohort:
    """Labels and valence groups follow from the clip index through the fixed official map."""
    return Cohort(
        data=data,
        subject=subject,
        stimulus=stimulus,
        window=window,
        label=_CLIP_LABELS[stimulus],
        valence=_CLIP_VALENCE[stimulus],
        session=np.zeros(stimulus.size, dtype=np.int64),
        meta=meta,
    )


def _with_ratings(cohort: Cohort, ratings: tuple[np.ndarray, np.ndarray] | None) -> Cohort:
    if ratings is None:
        return cohort
    return replace(
        cohort,
        ratings=ratings[0],
        rating_subjects=ratings[1],
        meta=replace(cohort.meta, rating_names=FACED_RATINGS),
    )


def _report(nonfinite: dict[str, int], policy: NanPolicy) -> None:
    if nonfinite:
        files = ", ".join(f"{name} ({count})" for name, count in nonfinite.items())
        warnings.warn(
            f"non-finite values handled by nan_policy={policy!r} in {files}", stacklevel=3
        )


# ----------------------------------------------------------------------------------- features
def load_faced_features(
    root: str | Path,
    feature: str = "de",
    subjects: Subjects = None,
    nan_policy: NanPolicy = "raise",
    channels: Iterable[str] | None = None,
) -> Cohort:
    """One row per (subject, clip, second) from ``EEG_Features/<DE|PSD>/subNNN.pkl.pkl``.

    ``root`` is the dataset root, ``EEG_Features/`` or the feature folder itself. NaN/Inf:
    ``raise`` reports counts and locations, ``drop`` removes affected windows, ``interpolate``
    fills along the 30 seconds of each clip.
    """
    feature = feature.lower()
    if feature not in FEATURE_DIRS:
        raise ValueError(f"feature must be one of {sorted(FEATURE_DIRS)}, got {feature!r}")
    folder, base = _locate(root, FEATURE_DIRS[feature])
    files = _subject_files(folder, ".pkl.pkl", subjects)
    n_windows = FACED_N_CLIPS * FACED_CLIP_SECONDS
    blocks, keeps, nonfinite = [], [], {}
    names: tuple[str, ...] = ()
    for path in files.values():
        array = _read_array(path)
        shape = (FACED_N_CLIPS, None, FACED_CLIP_SECONDS, len(FACED.bands))
        check_shape(
            array, shape, path, f"{feature.upper()} array (clips, channels, seconds, bands)"
        )
        index, picked = _pick(array.shape[1], channels, path)
        if names and picked != names:
            raise DataFormatError(
                path,
                f"holds {len(picked)} channels, other files {len(names)}",
                "every file of one folder must hold the same channels: replace the odd files "
                "by the originals from the FACED download (in Python, channels="
                "FACED_SCALP_CHANNELS loads the 30 that all share)",
            )
        names = picked
        windows = np.moveaxis(array[:, index].astype(np.float32), 2, 1)  # clip, second, ch, band
        finite = np.isfinite(windows)
        if not finite.all():
            nonfinite[path.name] = int(finite.size - np.count_nonzero(finite))
        if nan_policy == "drop":  # a window is dropped when any of its values is not finite
            keeps.append(finite.reshape(n_windows, -1).all(axis=1))
        else:
            axes = ("clip", "second", "channel", "band")
            windows, _ = handle_nonfinite(windows, path, nan_policy, axes, time_axis=1)
            keeps.append(np.ones(n_windows, dtype=bool))
        blocks.append(windows.reshape(n_windows, *windows.shape[2:]))
    _report(nonfinite, nan_policy)
    subject_ids = np.fromiter(files, dtype=np.int64)
    keep = np.concatenate(keeps)
    provenance = _provenance(folder, "load_faced_features", files.values(), nan_policy, nonfinite)
    cohort = _cohort(
        data=np.concatenate(blocks)[keep],
        subject=np.repeat(subject_ids, n_windows)[keep],
        stimulus=np.tile(np.repeat(np.arange(FACED_N_CLIPS), FACED_CLIP_SECONDS), len(files))[keep],
        window=np.tile(np.arange(FACED_CLIP_SECONDS), FACED_N_CLIPS * len(files))[keep],
        meta=_meta("features", names, base, provenance, feature),
    )
    return _with_ratings(cohort, optional_ratings(base, subject_ids))


def _provenance(
    folder: Path,
    loader: str,
    files: Iterable[Path],
    nan_policy: NanPolicy,
    nonfinite: dict[str, int],
) -> dict[str, Any]:
    return {
        "source": str(folder),
        "loader": f"vaxis.data.faced.{loader}",
        "files": [path.name for path in files],
        "nan_policy": nan_policy,
        "nonfinite": nonfinite,
    }


# ---------------------------------------------------------------------------------------- raw
def iter_faced_raw(
    root: str | Path,
    subjects: Subjects = None,
    nan_policy: NanPolicy = "raise",
    channels: Iterable[str] | None = None,
) -> Iterator[Cohort]:
    """One raw cohort per subject from ``Processed_data/subNNN.pkl``: (28 clips, C, 7500).

    Only one subject is in memory at a time. Files, subjects and ratings are checked before
    the first subject is read. ``drop`` removes trials holding NaN/Inf; ``interpolate`` fills
    along time.
    """
    folder, base = _locate(root, RAW_DIR)
    files = _subject_files(folder, ".pkl", subjects)
    ratings = optional_ratings(base, np.fromiter(files, dtype=np.int64))
    wanted = None if channels is None else list(channels)
    return _raw_stream(files, folder, base, ratings, nan_policy, wanted)


def _raw_stream(
    files: dict[int, Path],
    folder: Path,
    base: Path,
    ratings: tuple[np.ndarray, np.ndarray] | None,
    nan_policy: NanPolicy,
    channels: list[str] | None,
) -> Iterator[Cohort]:
    for subject, path in files.items():
        array = _read_array(path)
        check_shape(
            array,
            (FACED_N_CLIPS, None, N_SAMPLES),
            path,
            "processed EEG array (clips, channels, samples)",
        )
        index, names = _pick(array.shape[1], channels, path)
        data = array[:, index].astype(np.float32)
        bad = data.size - int(np.count_nonzero(np.isfinite(data)))
        data, keep = handle_nonfinite(data, path, nan_policy, ("clip", "channel", "sample"))
        nonfinite = {path.name: bad} if bad else {}
        _report(nonfinite, nan_policy)
        clips = np.flatnonzero(keep)
        provenance = _provenance(folder, "iter_faced_raw", [path], nan_policy, nonfinite)
        cohort = _cohort(
            data=data[keep],
            subject=np.full(clips.size, subject, dtype=np.int64),
            stimulus=clips,
            window=np.zeros(clips.size, dtype=np.int64),
            meta=_meta("raw", names, base, provenance),
        )
        own = None
        if ratings is not None and subject in ratings[1]:
            row = np.flatnonzero(ratings[1] == subject)
            own = (ratings[0][row], ratings[1][row])
        yield _with_ratings(cohort, own)


def load_faced_raw(
    root: str | Path,
    subjects: Subjects = None,
    nan_policy: NanPolicy = "raise",
    channels: Iterable[str] | None = None,
) -> Cohort:
    """All selected subjects' raw EEG in one cohort (about 27 MB per subject: keep it small)."""
    parts = list(iter_faced_raw(root, subjects, nan_policy, channels))
    if len({part.meta.channel_names for part in parts}) > 1:
        raise DataFormatError(
            root,
            "subject files differ in channel count (32 and 30)",
            "every file of one folder must hold the same channels: replace the odd files by "
            "the originals from the FACED download (in Python, channels=FACED_SCALP_CHANNELS "
            "loads the 30 that all share)",
        )
    cohort = Cohort.concatenate(parts)
    provenance = dict(cohort.meta.provenance)
    provenance["loader"] = "vaxis.data.faced.load_faced_raw"
    provenance["files"] = [name for part in parts for name in part.meta.provenance["files"]]
    provenance["nonfinite"] = {
        k: v for part in parts for k, v in part.meta.provenance["nonfinite"].items()
    }
    return replace(cohort, meta=replace(cohort.meta, provenance=provenance))
