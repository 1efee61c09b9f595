"""Fixtures for the data-layer tests.

FACED: tiny dataset folders in the exact official layout, written with vaxis's own writers.
Feature values are *codes* (a closed form of subject, clip, channel, second and band), so a
loaded row can be checked value by value against where it must have come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import (
    FACED,
    FACED_CHANNELS_WITH_MASTOIDS,
    FACED_CLASSES,
    FACED_CLIP_LABELS,
    FACED_RATINGS,
)
from vaxis.data.faced import (
    N_SAMPLES,
    write_after_remarks,
    write_faced_features,
    write_faced_processed,
)

N_CLIPS, N_SECONDS, N_CHANNELS, N_BANDS = 28, 30, 32, 5


def faced_feature_code(
    subject: np.ndarray | int,
    clip: np.ndarray | int,
    channel: np.ndarray | int,
    second: np.ndarray | int,
    band: np.ndarray | int,
) -> np.ndarray:
    """A unique, float32-exact value for every cell of every feature file (< 2**24)."""
    cell = ((np.asarray(subject) * N_CLIPS + clip) * N_CHANNELS + channel) * N_SECONDS + second
    return np.asarray(cell * N_BANDS + band, dtype=np.float32)


def _faced_meta(kind: str, synthetic: bool) -> CohortMeta:
    features = kind == "features"
    return CohortMeta(
        dataset="faced",
        kind=kind,  # type: ignore[arg-type]
        channel_names=FACED_CHANNELS_WITH_MASTOIDS,
        label_names=FACED_CLASSES,
        sfreq=1.0 if features else FACED.sfreq,
        band_names=FACED.band_names if features else (),
        feature="de" if features else None,
        synthetic=synthetic,
        provenance={"made_by": "tests/data/conftest.py"},
    )


def _cohort(
    data: np.ndarray,
    subject: np.ndarray,
    stimulus: np.ndarray,
    window: np.ndarray,
    kind: str,
    synthetic: bool,
) -> Cohort:
    label = np.asarray(FACED_CLIP_LABELS)[stimulus]
    return Cohort(
        data=data,
        subject=subject,
        stimulus=stimulus,
        window=window,
        label=label,
        valence=np.asarray(FACED.class_valence)[label],
        session=np.zeros_like(subject),
        meta=_faced_meta(kind, synthetic),
    )


def make_faced_features(subjects: list[int], synthetic: bool = False) -> Cohort:
    """A DE cohort (one row per subject, clip, second) whose values are the feature codes."""
    subject, clip, second = (
        g.ravel()
        for g in np.meshgrid(subjects, np.arange(N_CLIPS), np.arange(N_SECONDS), indexing="ij")
    )
    data = faced_feature_code(
        subject[:, None, None],
        clip[:, None, None],
        np.arange(N_CHANNELS)[None, :, None],
        second[:, None, None],
        np.arange(N_BANDS)[None, None, :],
    )
    return _cohort(data, subject, clip, second, "features", synthetic)


def make_faced_raw(subjects: list[int], seed: int = 0) -> Cohort:
    """A raw cohort (28 clips x 32 channels x 7500 samples per subject) of random microvolts."""
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.asarray(subjects), N_CLIPS)
    clip = np.tile(np.arange(N_CLIPS), len(subjects))
    data = rng.normal(scale=20.0, size=(subject.size, N_CHANNELS, N_SAMPLES)).astype(np.float32)
    return _cohort(data, subject, clip, np.zeros_like(clip), "raw", synthetic=False)


def planted_ratings(subject: int) -> np.ndarray:
    """(28 clips, 12 ratings) in clip order: rating k of clip c is ``subject*1000 + c*12 + k``."""
    return subject * 1000.0 + np.arange(N_CLIPS * len(FACED_RATINGS)).reshape(N_CLIPS, -1)


def presentation_order(subject: int) -> np.ndarray:
    """A shuffled play order (0-based clip per played position), different per subject."""
    return np.random.default_rng(100 + subject).permutation(N_CLIPS)


@dataclass(frozen=True)
class FacedFolder:
    root: Path
    feature_subjects: tuple[int, ...]
    raw: Cohort


@pytest.fixture(scope="session")
def faced_folder(tmp_path_factory: pytest.TempPathFactory) -> FacedFolder:
    """DE features for sub000-sub002, raw EEG for sub000-sub001, ratings for all three.

    Shared by many tests: tests must not modify it (a test that needs a broken folder writes
    its own).
    """
    root = tmp_path_factory.mktemp("faced")
    subjects = [0, 1, 2]
    write_faced_features(make_faced_features(subjects), root)
    raw = make_faced_raw([0, 1])
    write_faced_processed(raw, root)
    for subject in subjects:
        write_after_remarks(root, subject, planted_ratings(subject), presentation_order(subject))
    return FacedFolder(root=root, feature_subjects=tuple(subjects), raw=raw)
