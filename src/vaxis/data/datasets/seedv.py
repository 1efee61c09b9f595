"""SEED-V (Liu et al. 2021): 16 subjects x 3 sessions x 15 film trials in five emotions.

Facts read from the dataset's official documentation and code (docs/REFERENCE.md sec. 3).
The loaders and writers of its official layout are :mod:`vaxis.data.seedv`,
:mod:`vaxis.data.seedv_raw` and :mod:`vaxis.data.seedv_layout`.
"""

from __future__ import annotations

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

SEEDV_CHANNELS: tuple[str, ...] = (
    "FP1", "FPZ", "FP2", "AF3", "AF4", "F7", "F5", "F3", "F1", "FZ", "F2", "F4", "F6", "F8",
    "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2", "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1",
    "CZ", "C2", "C4", "C6", "T8", "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6",
    "TP8", "P7", "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POZ",
    "PO4", "PO6", "PO8", "CB1", "O1", "OZ", "O2", "CB2",
)  # fmt: skip
SEEDV_DROP_CHANNELS: tuple[str, ...] = ("M1", "M2", "VEO", "HEO")
SEEDV_CLASSES: tuple[str, ...] = ("disgust", "fear", "sad", "neutral", "happy")
#: Where each SEED-V class takes its stories from. happy <- joy only: adding amusement would give
#: one class twice the stories (and a laughter topic) of the others.
SEEDV_FROM_FACED: dict[str, str] = dict(
    zip(SEEDV_CLASSES, ("disgust", "fear", "sadness", "neutral", "joy"), strict=True)
)
SEEDV_SESSION_LABELS: tuple[tuple[int, ...], ...] = (
    (4, 1, 3, 2, 0, 4, 1, 3, 2, 0, 4, 1, 3, 2, 0),
    (2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0),
    (2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0),
)
SEEDV_TRIAL_START_S: tuple[tuple[int, ...], ...] = (
    (30, 132, 287, 555, 773, 982, 1271, 1628, 1730, 2025, 2227, 2435, 2667, 2932, 3204),
    (30, 299, 548, 646, 836, 1000, 1091, 1392, 1657, 1809, 1966, 2186, 2333, 2490, 2741),
    (30, 353, 478, 674, 825, 908, 1200, 1346, 1451, 1711, 2055, 2307, 2457, 2726, 2888),
)
SEEDV_TRIAL_END_S: tuple[tuple[int, ...], ...] = (
    (102, 228, 524, 742, 920, 1240, 1568, 1697, 1994, 2166, 2401, 2607, 2901, 3172, 3359),
    (267, 488, 614, 773, 967, 1059, 1331, 1622, 1777, 1908, 2153, 2302, 2428, 2709, 2817),
    (321, 418, 643, 764, 877, 1147, 1284, 1418, 1679, 1996, 2275, 2425, 2664, 2857, 3066),
)
SEEDV_BANDS: tuple[tuple[str, float, float], ...] = (
    ("delta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 14.0),
    ("beta", 14.0, 31.0),
    ("gamma", 31.0, 50.0),
)
SEEDV_RAW_SFREQ = 1000.0
SEEDV_WINDOW_SECONDS = 4.0
SEEDV_N_SUBJECTS = 16
SEEDV_TRIALS_PER_SESSION = 15
SEEDV_N_SESSIONS = 3
#: CBraMod's band-pass of raw SEED-V (Hz), applied after resampling to 200 Hz
SEEDV_BANDPASS_HZ: tuple[float, float] = (0.3, 75.0)


def seedv_stimulus_names() -> tuple[str, ...]:
    """Trial names ``s<session>t<trial>-<class>`` for the 45 SEED-V film clips."""
    return tuple(
        f"s{s + 1}t{t + 1:02d}-{SEEDV_CLASSES[SEEDV_SESSION_LABELS[s][t]]}"
        for s in range(SEEDV_N_SESSIONS)
        for t in range(SEEDV_TRIALS_PER_SESSION)
    )


def _export_synthetic(config: SynthConfig, root: Path, overwrite: bool) -> list[Path]:
    """``EEG_DE_features/<subject>_123.npz`` (raw ``.cnt`` cannot be written: no writer for
    that format exists in Python)."""
    from vaxis.data.seedv import write_seedv_features
    from vaxis.data.synthetic import synthesize_features

    if config.raw:
        raise DataFormatError(
            root, "SEED-V raw (.cnt) cannot be written", "drop --raw, or use --layout cohort"
        )
    return write_seedv_features(synthesize_features(config)[0], root, overwrite=overwrite)


def _load_features(path: Path, _: str, nan_policy: NanPolicy, options: ReadOptions) -> Cohort:
    """Its DE features; option ``seedv_layout``: the column layout of the feature files
    (:mod:`vaxis.data.seedv_layout`)."""
    from vaxis.data.seedv import load_seedv_features

    return load_seedv_features(path, nan_policy=nan_policy, layout=options["seedv_layout"])


def _raw_subject_ids(path: Path) -> list[int]:
    from vaxis.data.seedv_raw import RAW_DIR, RAW_FILE

    folder = path if path.name == RAW_DIR else path / RAW_DIR
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return sorted({int(m.group(1)) for m in map(RAW_FILE.match, names) if m})


def _iter_raw(
    path: Path, subjects: Iterable[int] | None, _: NanPolicy, options: ReadOptions
) -> Iterator[Cohort]:
    """Option ``seedv_bandpass``: the band-pass (Hz, None for none) of the ``.cnt`` files."""
    from vaxis.data.seedv_raw import iter_seedv_raw

    return iter_seedv_raw(path, subjects=subjects, bandpass=options["seedv_bandpass"])


SEEDV = register_dataset(
    Dataset(
        name="seedv",
        title="SEED-V",
        channels=SEEDV_CHANNELS,
        classes=SEEDV_CLASSES,
        class_valence=(-1, -1, -1, 0, 1),
        bands=SEEDV_BANDS,
        sfreq=SEEDV_RAW_SFREQ,
        window_seconds=SEEDV_WINDOW_SECONDS,
        n_subjects=SEEDV_N_SUBJECTS,
        stimulus_labels=tuple(label for session in SEEDV_SESSION_LABELS for label in session),
        stimulus_names=seedv_stimulus_names(),
        stimulus_sessions=tuple(
            s for s in range(SEEDV_N_SESSIONS) for _ in range(SEEDV_TRIALS_PER_SESSION)
        ),
        # synthetic raw at 200 Hz keeps files small (bands end at 50 Hz)
        synthetic=SyntheticShape(
            class_valence_scores=(-0.7, -0.65, -0.75, 0.0, 0.8),
            class_arousal_scores=(0.3, 0.7, -0.5, -0.8, 0.35),
            n_subjects=16,
            raw_sfreq=200.0,
        ),
        tasks=("seedv5",),
        # 4-s windows: 10 s is not a whole number of them; 12 s (3 windows) is our choice,
        # not the study's (it does not say)
        segment_seconds=12.0,
        default_protocol="holdout",
        protocols=("seedv-sessions", "seedv-trials"),
        faced_classes=tuple(SEEDV_FROM_FACED.values()),
        official=OfficialLayout(
            feature_folders=("EEG_DE_features",),
            raw_folders=("EEG_raw",),
            load_features=_load_features,
            raw_subject_ids=_raw_subject_ids,
            iter_raw=_iter_raw,
            feature_options={"seedv_layout": "channel-major"},
            raw_options={"seedv_bandpass": SEEDV_BANDPASS_HZ},
        ),
        export_synthetic=_export_synthetic,
        paper_note=(
            "SEED-V: subject-disjoint holdout split (the study names no subjects), 12-s "
            "segments, 5-class task"
        ),
        published={"baselines (about)": 0.43, "study: ensemble (baseline + 0.034, about)": 0.464},
    )
)
