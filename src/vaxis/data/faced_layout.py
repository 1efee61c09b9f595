"""Where FACED keeps what on disk, and the subject naming its readers and writers share.

Layout (see docs/REFERENCE.md sec. 2.1)::

    Processed_data/subNNN.pkl               (28 clips, 32 channels, 7500 samples), 250 Hz, uV
    EEG_Features/DE/subNNN.pkl.pkl          (28 clips, 32 channels, 30 seconds, 5 bands)
    EEG_Features/PSD/subNNN.pkl.pkl         same shape
    Data/subNNN/After_remarks.mat           self-reports, one entry per *played* video

A folder written from a synthetic cohort also holds ``VAXIS_SYNTHETIC.json`` at its root.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vaxis.data.datasets import FACED_CLIP_SECONDS, FACED_N_SUBJECTS, FACED_SFREQ
from vaxis.errors import DataFormatError

RAW_DIR: tuple[str, ...] = ("Processed_data",)
FEATURE_DIRS: dict[str, tuple[str, ...]] = {
    "de": ("EEG_Features", "DE"),
    "psd": ("EEG_Features", "PSD"),
}
RATINGS_DIR = "Data"
RATINGS_FILE = "After_remarks.mat"
SYNTHETIC_MARKER = "VAXIS_SYNTHETIC.json"
N_SAMPLES = int(FACED_SFREQ) * FACED_CLIP_SECONDS
REDOWNLOAD_HINT = "download and unzip FACED from https://doi.org/10.7303/syn50614194"
#: subject ids to load (0..122); None = every subject file present (which must have no gaps)
Subjects = Iterable[int] | None


def subject_name(subject: int) -> str:
    """The ``subNNN`` stem FACED uses for a subject's files and folders."""
    return f"sub{subject:03d}"


def subject_listing(subjects: Iterable[int]) -> str:
    """Subjects as ``sub000, sub007`` for error messages."""
    return ", ".join(subject_name(s) for s in subjects)


def requested_subjects(subjects: Iterable[int], where: Path) -> list[int]:
    """The requested subject ids, sorted and unique; fails unless all are FACED's 0..122."""
    wanted = sorted({int(s) for s in subjects})
    outside = [s for s in wanted if not 0 <= s < FACED_N_SUBJECTS]
    if outside or not wanted:
        raise DataFormatError(where, f"requested subjects {outside} are not FACED subjects 0..122")
    return wanted
