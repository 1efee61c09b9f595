"""FACED self-reports: read and write ``Data/subNNN/After_remarks.mat`` in clip-index order.

Public code that reads the real files (the official validation code, the CLISA reorder
utilities, a BIDS converter) shows a 28x1 MATLAB struct array with fields ``score``
(12 ratings), ``trial`` (1..28), ``vid`` (1..28), ``Accuracy``, ``ResponseTime``, and always
subtracts 1 from ``vid``: the real ``vid`` is 1-based. This module reads fields by name
(struct arrays and cell arrays of structs alike) and accepts ``vid`` as a permutation of 1..28
or of 0..27, decided per file; anything else fails naming the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.io

from vaxis.data.datasets import FACED_N_CLIPS, FACED_N_SUBJECTS, FACED_RATINGS
from vaxis.data.faced_layout import (
    RATINGS_DIR,
    RATINGS_FILE,
    REDOWNLOAD_HINT,
    Subjects,
    requested_subjects,
    subject_listing,
    subject_name,
)
from vaxis.errors import DataFormatError

_REMARK_FIELDS = ("score", "trial", "vid", "Accuracy", "ResponseTime")


def load_faced_ratings(
    root: str | Path, subjects: Subjects = None
) -> tuple[np.ndarray, np.ndarray]:
    """Self-reports as (n_subjects, 28 clips, 12 ratings) in clip-index order, and subject ids.

    Entry i of ``After_remark`` is the i-th *played* video; its ``vid`` says which clip it was,
    so each score row is stored at that clip's index. Ratings follow ``FACED_RATINGS``.
    """
    root = Path(root).absolute()
    folder = root / RATINGS_DIR if root.name != RATINGS_DIR else root
    if not folder.is_dir():
        raise DataFormatError(
            root,
            f"no {RATINGS_DIR}/ folder with subNNN/{RATINGS_FILE}",
            f"pass the FACED dataset root; {REDOWNLOAD_HINT}",
        )
    found = {s: folder / subject_name(s) / RATINGS_FILE for s in range(FACED_N_SUBJECTS)}
    found = {s: p for s, p in found.items() if p.is_file()}
    if not found:
        raise DataFormatError(folder, f"no subNNN/{RATINGS_FILE} files", REDOWNLOAD_HINT)
    wanted = sorted(found) if subjects is None else requested_subjects(subjects, folder)
    missing = [s for s in wanted if s not in found]
    if missing:
        raise DataFormatError(
            folder,
            f"missing {RATINGS_FILE} for: {subject_listing(missing)}",
            "re-copy those subjects' Data/ folders",
        )
    ratings = np.stack([read_after_remarks(found[s]) for s in wanted])
    return ratings, np.asarray(wanted, dtype=np.int64)


def optional_ratings(base: Path, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Ratings for the subjects that have them; None when none do; a warning when some lack them."""
    folder = base / RATINGS_DIR
    have = [int(s) for s in subjects if (folder / subject_name(s) / RATINGS_FILE).is_file()]
    if not have:
        return None
    lacking = [int(s) for s in subjects if int(s) not in have]
    if lacking:
        warnings.warn(
            f"{folder}: no {RATINGS_FILE} for {subject_listing(lacking)}; their ratings are "
            "left out of the cohort",
            stacklevel=3,
        )
    return load_faced_ratings(base, have)


def _read_remarks(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Scores (28, 12) in presentation order and the 0-based clip of each played video."""
    try:
        content = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except NotImplementedError as error:  # MATLAB v7.3 files are HDF5
        raise DataFormatError(
            path, f"unsupported MATLAB file ({error})", "re-save it in MATLAB with save(..., '-v7')"
        ) from error
    except (ValueError, TypeError, OSError, EOFError, scipy.io.matlab.MatReadError) as error:
        raise DataFormatError(
            path, f"cannot read MATLAB file ({error}); it may be truncated", "re-copy this file"
        ) from error
    if "After_remark" not in content:
        keys = sorted(k for k in content if not k.startswith("__"))
        raise DataFormatError(path, f"no variable 'After_remark' (found: {keys})", REDOWNLOAD_HINT)
    entries = np.asarray(content["After_remark"], dtype=object).ravel()
    if entries.size != FACED_N_CLIPS:
        raise DataFormatError(
            path, f"'After_remark' has {entries.size} entries, expected 28", "re-copy this file"
        )
    scores = np.full((FACED_N_CLIPS, len(FACED_RATINGS)), np.nan, dtype=np.float32)
    vids = np.empty(FACED_N_CLIPS, dtype=np.float64)
    for i, entry in enumerate(entries):
        score, vid = (
            np.asarray(getattr(entry, name, None), dtype=np.float64).ravel()
            for name in ("score", "vid")
        )
        if vid.size != 1 or score.size not in (0, len(FACED_RATINGS)):
            raise DataFormatError(
                path,
                f"entry {i + 1} has {vid.size} vid values and {score.size} scores "
                f"(expected 1 vid and 12 scores)",
                "re-copy this file",
            )
        vids[i] = vid[0]
        if score.size:
            scores[i] = score
    return scores, _vid_to_clip(vids, path)


def read_after_remarks(path: str | Path) -> np.ndarray:
    """One subject's ``After_remarks.mat`` as (28 clips, 12 ratings), float32, clip order."""
    scores, clips = _read_remarks(Path(path))
    out = np.empty_like(scores)
    out[clips] = scores
    return out


def read_presentation_order(path: str | Path) -> np.ndarray:
    """The 0-based clip index of each played video, in the order the subject saw them.

    The official running normalisation of DE features runs in this order.
    """
    return _read_remarks(Path(path))[1]


def load_presentation_orders(root: str | Path, subjects: Iterable[int]) -> dict[int, np.ndarray]:
    """Presentation order per subject (for ``RunningNormalizer.transform(presentation=...)``)."""
    folder = Path(root) / RATINGS_DIR
    return {
        int(s): read_presentation_order(folder / subject_name(int(s)) / RATINGS_FILE)
        for s in subjects
    }


def _vid_to_clip(vids: np.ndarray, path: Path) -> np.ndarray:
    """0-based clip index of each played video, detecting 1..28 (real files) or 0..27."""
    ordered = np.sort(vids)
    for first in (1, 0):
        if np.array_equal(ordered, np.arange(first, first + FACED_N_CLIPS)):
            return (vids - first).astype(np.int64)
    counts = {float(v): int(c) for v, c in zip(*np.unique(vids, return_counts=True), strict=True)}
    repeated = sorted(v for v, c in counts.items() if c > 1)
    outside = sorted(v for v in counts if not (0 <= v <= FACED_N_CLIPS) or v != int(v))
    raise DataFormatError(
        path,
        f"'vid' values are not one of each clip (1..28, or 0..27): repeated {repeated}, "
        f"out of range or non-integer {outside}, values {vids.tolist()}",
        "re-copy this file; vaxis will not guess which clip a rating belongs to",
    )


def write_after_remarks(
    root: str | Path,
    subject: int,
    ratings_by_clip: np.ndarray,
    presentation_order: np.ndarray | list[int],
    *,
    vid_base: int = 1,
    overwrite: bool = False,
) -> Path:
    """Write ``root/Data/subNNN/After_remarks.mat`` as the real files are laid out.

    A 28x1 struct array: entry i is the i-th played clip ``presentation_order[i]`` (0-based),
    with ``score`` = that clip's 12 ratings, ``trial`` = i + 1 and ``vid`` = clip + ``vid_base``
    (1 in the real data). ``Accuracy`` and ``ResponseTime`` exist in the real files but vaxis
    does not use them; they are written as NaN.
    """
    ratings = np.asarray(ratings_by_clip, dtype=np.float64)
    order = np.asarray(presentation_order, dtype=np.int64)
    if ratings.shape != (FACED_N_CLIPS, len(FACED_RATINGS)):
        raise ValueError(f"ratings_by_clip must be (28, 12), got {ratings.shape}")
    if not np.array_equal(np.sort(order), np.arange(FACED_N_CLIPS)):
        raise ValueError("presentation_order must be a permutation of the clip indices 0..27")
    if vid_base not in (0, 1):
        raise ValueError("vid_base must be 1 (as the real files) or 0")
    path = Path(root) / RATINGS_DIR / subject_name(subject) / RATINGS_FILE
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    records = np.empty((FACED_N_CLIPS, 1), dtype=[(name, object) for name in _REMARK_FIELDS])
    for i, clip in enumerate(order):
        records[i, 0] = (
            ratings[clip][None, :],
            float(i + 1),
            float(clip + vid_base),
            np.nan,
            np.nan,
        )
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as handle:
        scipy.io.savemat(handle, {"After_remark": records})
    os.replace(tmp, path)
    return path
