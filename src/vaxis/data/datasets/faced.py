"""FACED (Chen et al. 2023): 123 subjects, 28 film clips in nine emotion categories.

Facts read from the dataset's official documentation and code (docs/REFERENCE.md sec. 2);
loaders select channels *by name* from these tables, never by slicing. The loaders and writers
of its official layout are :mod:`vaxis.data.faced` and :mod:`vaxis.data.faced_write`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.data.datasets.base import (
    Dataset,
    OfficialLayout,
    ReadOptions,
    SyntheticShape,
    register_dataset,
)
from vaxis.errors import DataFormatError

if TYPE_CHECKING:
    from vaxis.data.cohort import Cohort
    from vaxis.data.synthetic import SynthConfig
    from vaxis.data.validation import NanPolicy

FACED_CHANNELS_WITH_MASTOIDS: tuple[str, ...] = (
    "Fp1", "Fp2", "Fz", "F3", "F4", "F7", "F8", "FC1", "FC2", "FC5", "FC6", "Cz",
    "C3", "C4", "T7", "T8", "CP1", "CP2", "CP5", "CP6", "Pz", "P3", "P4", "P7", "P8",
    "PO3", "PO4", "Oz", "O1", "O2", "A2", "A1",
)  # fmt: skip
FACED_MASTOIDS: tuple[str, ...] = ("A2", "A1")
#: The 30 scalp channels the official DE code keeps, followed by the two mastoids that the
#: processed files carry as channels 31-32. The feature files hold 32 channels in this order.
FACED_CHANNELS: tuple[str, ...] = FACED_CHANNELS_WITH_MASTOIDS
FACED_SCALP_CHANNELS: tuple[str, ...] = tuple(
    c for c in FACED_CHANNELS_WITH_MASTOIDS if c not in FACED_MASTOIDS
)
FACED_CLASSES: tuple[str, ...] = (
    "anger", "disgust", "fear", "sadness", "neutral",
    "amusement", "inspiration", "joy", "tenderness",
)  # fmt: skip
#: Category of each of the 28 clips, by 0-based clip index (official map).
FACED_CLIP_LABELS: tuple[int, ...] = (
    0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4,
    5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8,
)  # fmt: skip
FACED_N_CLIPS = 28
FACED_SFREQ = 250.0
FACED_CLIP_SECONDS = 30
FACED_BANDS: tuple[tuple[str, float, float], ...] = (
    ("delta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 14.0),
    ("beta", 14.0, 30.0),
    ("gamma", 30.0, 47.0),
)
#: Order of the 12 scores in After_remarks.mat.
FACED_RATINGS: tuple[str, ...] = (
    "joy", "tenderness", "inspiration", "amusement", "anger", "disgust", "fear",
    "sadness", "arousal", "valence", "familiarity", "liking",
)  # fmt: skip
#: The study's split (as CBraMod and EMOD): train 0-79, validation 80-99, test 100-122.
FACED_STUDY_SPLIT: dict[str, range] = {
    "train": range(0, 80),
    "val": range(80, 100),
    "test": range(100, 123),
}
FACED_N_SUBJECTS = 123


def faced_stimulus_names() -> tuple[str, ...]:
    """Readable clip names: category and ordinal within the category (e.g. ``anger-2``)."""
    names, seen = [], dict.fromkeys(range(len(FACED_CLASSES)), 0)
    for label in FACED_CLIP_LABELS:
        seen[label] += 1
        names.append(f"{FACED_CLASSES[label]}-{seen[label]}")
    return tuple(names)


def _write_features(cohort: Cohort, folder: Path, overwrite: bool) -> list[Path]:
    from vaxis.data.faced_write import write_faced_features

    return write_faced_features(cohort, folder, overwrite=overwrite)


def _export_synthetic(config: SynthConfig, root: Path, overwrite: bool) -> list[Path]:
    """``EEG_Features/DE/subNNN.pkl.pkl`` and, with ``config.raw``, ``Processed_data/``
    (streamed one subject at a time)."""
    from vaxis.data import faced_write
    from vaxis.data.synthetic import synthesize_features
    from vaxis.data.synthetic_raw import iter_synthetic_raw

    if config.n_windows != FACED_CLIP_SECONDS:
        raise DataFormatError(
            root,
            f"the official FACED layout holds {FACED_CLIP_SECONDS} one-second windows per clip, "
            f"this config has {config.n_windows}",
            f"use --windows {FACED_CLIP_SECONDS}, or --layout cohort",
        )
    cohort, _ = synthesize_features(config)
    written = faced_write.write_faced_features(cohort, root, overwrite=overwrite)
    if config.raw:
        for subject_raw in iter_synthetic_raw(config):
            written += faced_write.write_faced_processed(subject_raw, root, overwrite=overwrite)
    return written


def _load_features(path: Path, feature: str, nan_policy: NanPolicy, _: ReadOptions) -> Cohort:
    """``feature`` (DE or PSD) under a root; a ``PSD/`` folder itself is read as PSD."""
    from vaxis.data.faced import load_faced_features

    feature = "psd" if path.name.lower() == "psd" else feature
    return load_faced_features(path, feature=feature, nan_policy=nan_policy)


def _raw_subject_ids(path: Path) -> list[int]:
    from vaxis.data.faced_layout import RAW_DIR

    folder = path if path.name == "Processed_data" else path.joinpath(*RAW_DIR)
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return sorted({int(m.group(1)) for m in map(re.compile(r"^sub(\d+)\.pkl$").match, names) if m})


def _iter_raw(
    path: Path, subjects: Iterable[int] | None, nan_policy: NanPolicy, _: ReadOptions
) -> Iterator[Cohort]:
    from vaxis.data.faced import iter_faced_raw

    return iter_faced_raw(path, subjects=subjects, nan_policy=nan_policy)


def _load_raw(path: Path, nan_policy: NanPolicy, _: ReadOptions) -> Cohort:
    """All subjects at once; it checks that every file has one channel set."""
    from vaxis.data.faced import load_faced_raw

    return load_faced_raw(path, nan_policy=nan_policy)


FACED = register_dataset(
    Dataset(
        name="faced",
        title="FACED",
        channels=FACED_CHANNELS,
        classes=FACED_CLASSES,
        class_valence=(-1, -1, -1, -1, 0, 1, 1, 1, 1),
        bands=FACED_BANDS,
        sfreq=FACED_SFREQ,
        window_seconds=1.0,
        n_subjects=FACED_N_SUBJECTS,
        stimulus_labels=FACED_CLIP_LABELS,
        stimulus_names=faced_stimulus_names(),
        synthetic=SyntheticShape(
            class_valence_scores=(-0.6, -0.7, -0.65, -0.75, 0.0, 0.65, 0.55, 0.8, 0.6),
            class_arousal_scores=(0.6, 0.2, 0.7, -0.55, -0.8, 0.45, 0.1, 0.6, -0.45),
            n_subjects=24,
            raw_sfreq=FACED_SFREQ,
        ),
        tasks=("faced9",),
        segment_seconds=10.0,  # the study's: 30-s clips -> 3 segments
        default_protocol="study",
        protocol_subjects=FACED_N_SUBJECTS,
        protocols=("study", "faced-official"),
        faced_classes=FACED_CLASSES,
        story_folder="faced",
        clip_descriptions="faced_clips.csv",
        official=OfficialLayout(
            feature_folders=("EEG_Features", "DE", "PSD"),
            raw_folders=("Processed_data",),
            load_features=_load_features,
            raw_subject_ids=_raw_subject_ids,
            iter_raw=_iter_raw,
            load_raw=_load_raw,
        ),
        write_features=_write_features,
        export_synthetic=_export_synthetic,
        # docs/REFERENCE.md sec. 1.9, balanced accuracy, test subjects 100-122
        published={
            "CBraMod": 0.572,
            "EmotionKD": 0.628,
            "EMOD (prior best)": 0.6287,
            "study: depth 3": 0.619,
            "study: +augmentation": 0.634,
            "study: +distillation": 0.644,
            "study: depth 6": 0.658,
            "study: best single": 0.6755,
            "study: ensemble": 0.6948,
        },
    )
)
