"""Dataset facts as tables: channels, labels, bands, trial timings.

Everything here was read from the datasets' official documentation and code (see
docs/REFERENCE.md sec. 2 for FACED and docs/REFERENCE.md sec. 3 for SEED-V); loaders
select channels *by name* from these tables, never by slicing.
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------------- FACED
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

# -------------------------------------------------------------------------------- SEED-V
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


@dataclass(frozen=True)
class DatasetSpec:
    """The facts about one dataset that every loader, generator and split needs."""

    name: str
    channels: tuple[str, ...]
    classes: tuple[str, ...]
    #: valence group per class: -1 negative, 0 neutral, +1 positive
    class_valence: tuple[int, ...]
    bands: tuple[tuple[str, float, float], ...]
    sfreq: float
    window_seconds: float
    n_subjects: int

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(b[0] for b in self.bands)

    @property
    def band_edges(self) -> tuple[tuple[float, float], ...]:
        return tuple((lo, hi) for _, lo, hi in self.bands)


FACED = DatasetSpec(
    name="faced",
    channels=FACED_CHANNELS,
    classes=FACED_CLASSES,
    class_valence=(-1, -1, -1, -1, 0, 1, 1, 1, 1),
    bands=FACED_BANDS,
    sfreq=FACED_SFREQ,
    window_seconds=1.0,
    n_subjects=FACED_N_SUBJECTS,
)
SEEDV = DatasetSpec(
    name="seedv",
    channels=SEEDV_CHANNELS,
    classes=SEEDV_CLASSES,
    class_valence=(-1, -1, -1, 0, 1),
    bands=SEEDV_BANDS,
    sfreq=SEEDV_RAW_SFREQ,
    window_seconds=SEEDV_WINDOW_SECONDS,
    n_subjects=SEEDV_N_SUBJECTS,
)
DATASETS: dict[str, DatasetSpec] = {"faced": FACED, "seedv": SEEDV}


def faced_stimulus_names() -> tuple[str, ...]:
    """Readable clip names: category and ordinal within the category (e.g. ``anger-2``)."""
    names, seen = [], dict.fromkeys(range(len(FACED_CLASSES)), 0)
    for label in FACED_CLIP_LABELS:
        seen[label] += 1
        names.append(f"{FACED_CLASSES[label]}-{seen[label]}")
    return tuple(names)


def seedv_stimulus_names() -> tuple[str, ...]:
    """Trial names ``s<session>t<trial>-<class>`` for the 45 SEED-V film clips."""
    return tuple(
        f"s{s + 1}t{t + 1:02d}-{SEEDV_CLASSES[SEEDV_SESSION_LABELS[s][t]]}"
        for s in range(SEEDV_N_SESSIONS)
        for t in range(SEEDV_TRIALS_PER_SESSION)
    )
