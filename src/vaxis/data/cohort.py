"""The one data model every later stage consumes: a cohort of EEG samples with their labels.

A cohort is either raw EEG (``kind="raw"``: rows x channels x time) or features
(``kind="features"``: samples x channels x bands, one sample per window). A raw row is a whole
trial when trials have one length (FACED: the last 30 s of each clip, ``window`` = 0) and a
fixed-length segment of a trial otherwise (SEED-V: 4 s segments, ``window`` = segment index).
Each sample carries its subject, stimulus (clip), window index, category label, valence group
and session.

On disk a cohort is one HDF5 file (``*.cohort.h5``): the metadata as JSON in the file's
attributes, one dataset per array. Feature cohorts are stored contiguously so FACED-sized DE
(~66 MB) loads in tens of milliseconds; raw cohorts are chunked per trial so that work on raw
EEG streams subject by subject (:func:`iter_subjects`) and never holds the whole cohort.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from vaxis.errors import DataFormatError

FORMAT_NAME = "vaxis-cohort"
FORMAT_VERSION = 1
SAMPLE_FIELDS: tuple[str, ...] = ("subject", "stimulus", "window", "label", "valence", "session")
Kind = Literal["raw", "features"]


@dataclass(frozen=True)
class CohortMeta:
    """Dataset-level facts, saved with the data so a cohort file describes itself."""

    dataset: str
    kind: Kind
    channel_names: tuple[str, ...]
    label_names: tuple[str, ...]
    #: raw: the sampling rate in Hz; features: windows per second (1 / window_seconds)
    sfreq: float
    band_names: tuple[str, ...] = ()
    band_edges: tuple[tuple[float, float], ...] = ()
    #: "de" or "psd" for feature cohorts, None for raw
    feature: str | None = None
    window_seconds: float | None = None
    stimulus_names: tuple[str, ...] = ()
    rating_names: tuple[str, ...] = ()
    synthetic: bool = False
    #: where the data came from and what was done to it (free-form, JSON-serialisable)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CohortMeta:
        raw = json.loads(text)
        for key in ("channel_names", "label_names", "band_names", "stimulus_names", "rating_names"):
            raw[key] = tuple(raw.get(key, ()))
        raw["band_edges"] = tuple(tuple(edge) for edge in raw.get("band_edges", ()))
        return cls(**raw)


@dataclass
class Cohort:
    """EEG samples and their per-sample labels, plus dataset metadata.

    ``ratings`` (optional) holds per-subject, per-stimulus self-reports with shape
    (n_subjects_in_file, n_stimuli, n_ratings), rows ordered as ``rating_subjects``.
    """

    data: np.ndarray
    subject: np.ndarray
    stimulus: np.ndarray
    window: np.ndarray
    label: np.ndarray
    valence: np.ndarray
    session: np.ndarray
    meta: CohortMeta
    ratings: np.ndarray | None = None
    rating_subjects: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def from_epochs(cls, epochs: Any, **columns: Any) -> Cohort:
        """A raw cohort from :class:`mne.Epochs` labelled by ``epochs.metadata`` columns
        (``stimulus=``, ``label=``, ``subject=``, ...); see
        :func:`vaxis.data.mne_import.cohort_from_epochs`."""
        from vaxis.data.mne_import import cohort_from_epochs

        return cohort_from_epochs(epochs, **columns)

    # ------------------------------------------------------------------ structure
    def validate(self, path: str | Path | None = None) -> None:
        """Check shapes and label ranges; raise a :class:`DataFormatError` naming the problem."""
        n = self.data.shape[0]
        if self.data.ndim != 3:
            raise DataFormatError(path, f"cohort data must be 3-D, got shape {self.data.shape}")
        for name in SAMPLE_FIELDS:
            values = getattr(self, name)
            if values.shape != (n,):
                raise DataFormatError(
                    path, f"'{name}' has shape {values.shape}, expected ({n},) (one per sample)"
                )
        n_channels = self.data.shape[1]
        if n_channels != len(self.meta.channel_names):
            raise DataFormatError(
                path,
                f"data has {n_channels} channels but metadata names {len(self.meta.channel_names)}",
            )
        if self.meta.kind == "features" and self.data.shape[2] != len(self.meta.band_names):
            raise DataFormatError(
                path,
                f"feature data has {self.data.shape[2]} bands but metadata names "
                f"{len(self.meta.band_names)}",
            )
        n_classes = len(self.meta.label_names)
        if n and (self.label.min() < 0 or self.label.max() >= n_classes):
            bad = np.flatnonzero((self.label < 0) | (self.label >= n_classes))
            raise DataFormatError(
                path,
                f"{bad.size} labels outside 0..{n_classes - 1} (first at sample {bad[0]}: "
                f"{self.label[bad[0]]})",
            )
        if n and not np.isin(self.valence, (-1, 0, 1)).all():
            raise DataFormatError(path, "valence groups must be -1, 0 or +1")

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def subjects(self) -> np.ndarray:
        return np.unique(self.subject)

    @property
    def stimuli(self) -> np.ndarray:
        return np.unique(self.stimulus)

    def subset(self, mask: np.ndarray) -> Cohort:
        """Samples where ``mask`` is true (a boolean mask or integer indices)."""
        index = np.asarray(mask)
        ratings, rating_subjects = self.ratings, self.rating_subjects
        if ratings is not None and rating_subjects is not None:
            keep = np.isin(rating_subjects, np.unique(self.subject[index]))
            ratings, rating_subjects = ratings[keep], rating_subjects[keep]
        return replace(
            self,
            data=self.data[index],
            ratings=ratings,
            rating_subjects=rating_subjects,
            **{name: getattr(self, name)[index] for name in SAMPLE_FIELDS},
        )

    def for_subjects(self, subjects: np.ndarray | list[int] | range) -> Cohort:
        return self.subset(np.isin(self.subject, np.asarray(list(subjects))))

    def with_data(self, data: np.ndarray, **meta_changes: Any) -> Cohort:
        """Same samples and labels, new data array (e.g. normalised features)."""
        return replace(self, data=data, meta=replace(self.meta, **meta_changes))

    @staticmethod
    def concatenate(parts: list[Cohort]) -> Cohort:
        """Join cohorts of the same dataset and kind (e.g. one per subject)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0].meta
        for part in parts[1:]:
            if (part.meta.kind, part.meta.channel_names) != (first.kind, first.channel_names):
                raise ValueError("cohorts differ in kind or channels; cannot concatenate")
        ratings = [p.ratings for p in parts if p.ratings is not None]
        rating_subjects = [p.rating_subjects for p in parts if p.rating_subjects is not None]
        return Cohort(
            data=np.concatenate([p.data for p in parts]),
            meta=first,
            ratings=np.concatenate(ratings) if ratings else None,
            rating_subjects=np.concatenate(rating_subjects) if rating_subjects else None,
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in SAMPLE_FIELDS},
        )

    # --------------------------------------------------------------------- storage
    def save(self, path: str | Path) -> Path:
        """Write atomically (temporary file, then rename): a crash never leaves half a file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        chunks = (1, *self.data.shape[1:]) if self.meta.kind == "raw" and self.n_samples else None
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["meta"] = self.meta.to_json()
            f.create_dataset("data", data=self.data, chunks=chunks)
            for name in SAMPLE_FIELDS:
                f.create_dataset(name, data=getattr(self, name).astype(np.int32))
            if self.ratings is not None and self.rating_subjects is not None:
                f.create_dataset("ratings", data=self.ratings.astype(np.float32))
                f.create_dataset("rating_subjects", data=self.rating_subjects.astype(np.int32))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path, subjects: np.ndarray | list[int] | None = None) -> Cohort:
        """Read a cohort file, optionally only some subjects' samples."""
        path = Path(path)
        with _open(path) as f:
            meta = read_meta(f, path)
            sample = {name: f[name][()] for name in SAMPLE_FIELDS}
            ratings = f["ratings"][()] if "ratings" in f else None
            rating_subjects = f["rating_subjects"][()] if "rating_subjects" in f else None
            if subjects is None:
                data = f["data"][()]
            else:
                rows = np.flatnonzero(np.isin(sample["subject"], np.asarray(subjects)))
                data = _read_rows(f["data"], rows)
                sample = {name: values[rows] for name, values in sample.items()}
                if ratings is not None and rating_subjects is not None:
                    keep = np.isin(rating_subjects, np.asarray(subjects))
                    ratings, rating_subjects = ratings[keep], rating_subjects[keep]
        cohort = cls(
            data=data, meta=meta, ratings=ratings, rating_subjects=rating_subjects, **sample
        )
        cohort.validate(path)
        return cohort


def save_stream(parts: Iterable[Cohort], path: str | Path) -> Path:
    """Write cohorts (e.g. one per subject) to one cohort file without holding them all.

    Same layout as :meth:`Cohort.save`, with resizable datasets; atomic like it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with h5py.File(tmp, "w") as f:
            for part in parts:
                if "data" not in f:
                    f.attrs["format"] = FORMAT_NAME
                    f.attrs["format_version"] = FORMAT_VERSION
                    f.attrs["meta"] = part.meta.to_json()
                    shape = part.data.shape[1:]
                    f.create_dataset(
                        "data", (0, *shape), part.data.dtype, maxshape=(None, *shape),
                        chunks=(1, *shape),
                    )  # fmt: skip
                    for name in SAMPLE_FIELDS:
                        f.create_dataset(name, (0,), np.int32, maxshape=(None,), chunks=True)
                start, stop = f["data"].shape[0], f["data"].shape[0] + part.n_samples
                for name in ("data", *SAMPLE_FIELDS):
                    f[name].resize(stop, axis=0)
                    f[name][start:stop] = getattr(part, name)
            if "data" not in f:
                raise ValueError("no cohorts to write")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def _open(path: Path) -> h5py.File:
    if not path.exists():
        raise DataFormatError(
            path, "no such cohort file", "create one with `vaxis data synth` or a loader"
        )
    try:
        return h5py.File(path, "r")
    except OSError:
        raise DataFormatError(
            path,
            "not a readable HDF5 cohort file: truncated, or not HDF5 at all",
            "re-create it (vaxis writes cohorts atomically), e.g. with `vaxis data convert`",
        ) from None


def read_meta(f: h5py.File, path: Path) -> CohortMeta:
    if f.attrs.get("format") != FORMAT_NAME:
        raise DataFormatError(path, "HDF5 file is not a vaxis cohort (no 'format' attribute)")
    version = int(f.attrs.get("format_version", -1))
    if version > FORMAT_VERSION:
        raise DataFormatError(
            path, f"cohort format version {version} is newer than this vaxis", "upgrade vaxis"
        )
    return CohortMeta.from_json(str(f.attrs["meta"]))


def _read_rows(dataset: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """Read rows in contiguous runs: far faster than h5py fancy indexing row by row."""
    out = np.empty((rows.size, *dataset.shape[1:]), dtype=dataset.dtype)
    if rows.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    start = 0
    for run in np.split(rows, breaks):
        out[start : start + run.size] = dataset[run[0] : run[-1] + 1]
        start += run.size
    return out


def load_meta(path: str | Path) -> CohortMeta:
    """Metadata only (cheap: no array is read)."""
    path = Path(path)
    with _open(path) as f:
        return read_meta(f, path)


def subject_ids(path: str | Path) -> list[int]:
    """The subjects in a cohort file (reads only the subject column)."""
    path = Path(path)
    with _open(path) as f:
        read_meta(f, path)
        return [int(s) for s in np.unique(f["subject"][()])]


def iter_subjects(path: str | Path, subjects: Iterable[int] | None = None) -> Iterator[Cohort]:
    """Yield one cohort per subject, reading only that subject's rows (for raw EEG)."""
    wanted = subject_ids(path) if subjects is None else [int(s) for s in subjects]
    for subject in wanted:
        yield Cohort.load(path, subjects=[int(subject)])
