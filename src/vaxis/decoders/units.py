"""What a decoder sees as one sample: the study's segments or the FACED paper's windows.

A feature cohort holds one row per window (1 s in FACED, 4 s in SEED-V). Two input units are
built from it, both vectorised (one sort, one reshape; no per-sample Python):

* ``unit="segment"`` - the study's unit: consecutive windows of one (subject, stimulus) cut into
  segments of ``segment_seconds`` (FACED: 30 s per clip -> 3 segments of 10 s; 1932 test
  samples = 23 subjects x 28 clips x 3 in the study). ``sequence=True`` keeps the seconds as a
  time axis, ``sequence=False`` averages them. Windows left over at the end of a stimulus are
  dropped (SEED-V trials are not a whole number of segments long).
* ``unit="window"`` - one sample per window, as the FACED paper's 1-s samples.

Raw cohorts (one row per trial, channels x time) are cut into segments along time, for
raw-EEG decoders (``input_kind="raw"``), after :func:`resample_raw` where the decoder's weights
expect another rate (FACED's 250 Hz to CBraMod's 200 Hz).

The task decides the target ``y``: a dataset's multi-class task (:attr:`Dataset.tasks`:
``faced9``, FACED's nine categories; ``seedv5``, SEED-V's five) or ``binary`` (valence:
negative 0 / positive 1, neutral samples dropped, as in the FACED paper's binary task).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np

from vaxis.data.cohort import Cohort
from vaxis.data.datasets import (
    BINARY_TASK,
    DATASETS,
    REFERENCE_DATASET,
    TaskName,
    get_dataset,
    task_dataset,
)
from vaxis.errors import DataFormatError

Unit = Literal["segment", "window"]
#: a registered task (:func:`vaxis.data.datasets.task_names`), validated in configs
Task = TaskName
#: segment length for a cohort of a dataset outside the registry
_SEGMENT_SECONDS = 10.0


def default_task(dataset: str) -> Task:
    """The multi-class task of a dataset (:attr:`Dataset.default_task`); a dataset outside the
    registry gets the reference dataset's (which its cohort then refuses, naming the tasks)."""
    return get_dataset(dataset if dataset in DATASETS else REFERENCE_DATASET).default_task


_PER_SAMPLE = ("y", "subject", "stimulus", "segment", "label", "valence")


@dataclass(frozen=True, eq=False)
class Units:
    """Decoder inputs ``x`` with one target and bookkeeping entry per sample.

    ``x`` is float32 ``(n, seconds, channels, bands)`` for DE (seconds = 1 for windows and
    averaged segments) or ``(n, channels, samples)`` for raw EEG. ``label`` is the original
    category (kept for analyses of class structure whatever the task); ``segment`` is the
    segment index within its stimulus (the window index for ``unit="window"``).
    """

    x: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    stimulus: np.ndarray
    segment: np.ndarray
    label: np.ndarray
    valence: np.ndarray
    classes: tuple[str, ...]
    task: str
    unit: str
    seconds: float
    input_kind: Literal["de", "raw"]
    synthetic: bool

    def __len__(self) -> int:
        return int(self.y.size)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def subjects(self) -> np.ndarray:
        return np.unique(self.subject)

    @property
    def n_channels(self) -> int:
        return int(self.x.shape[-2] if self.input_kind == "de" else self.x.shape[1])

    @property
    def n_bands(self) -> int:
        """Bands for DE input; for raw input the number of time samples."""
        return int(self.x.shape[-1])

    def subset(self, index: np.ndarray) -> Units:
        """The samples at ``index`` (boolean mask or integer indices)."""
        return replace(self, x=self.x[index], **{k: getattr(self, k)[index] for k in _PER_SAMPLE})

    def first_per_stimulus(self, k: int) -> Units:
        """The first ``k`` units of every (subject, stimulus): a smoke run scores every subject
        and stimulus on fewer samples."""
        return self.subset(self.segment < k)

    def describe(self) -> dict[str, object]:
        """JSON-ready summary (for ``metrics.json``)."""
        skip = {"x", *_PER_SAMPLE}
        info: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        info = {k: v for k, v in info.items() if k not in skip}
        return info | {
            "n_samples": len(self),
            "sample_shape": list(self.x.shape[1:]),
            "n_subjects": int(self.subjects.size),
        }


def make_units(
    cohort: Cohort,
    task: Task = "faced9",
    unit: Unit = "segment",
    segment_seconds: float | None = None,
    sequence: bool = True,
) -> Units:
    """Decoder inputs from a cohort (see the module docstring for units and tasks)."""
    keep, y, classes = task_targets(cohort, task)
    cohort = cohort.subset(keep) if not keep.all() else cohort
    if cohort.meta.kind == "raw":
        if unit != "segment":
            raise DataFormatError(None, "raw cohorts are cut into segments only (unit='segment')")
        return _raw_segments(cohort, y, classes, task, _segment_seconds(cohort, segment_seconds))
    window = float(cohort.meta.window_seconds or 1.0 / cohort.meta.sfreq)
    if unit == "window":
        rows = np.arange(cohort.n_samples)
        return _units(
            cohort, cohort.data[:, None], y, cohort.window, rows, classes, task, unit, window
        )
    seconds = _segment_seconds(cohort, segment_seconds)
    per_segment = seconds / window
    if per_segment < 1 or not float(per_segment).is_integer():
        raise DataFormatError(
            None,
            f"a {seconds:g}-s segment is not a whole number of {window:g}-s windows",
            f"choose a multiple of {window:g} s for segment_seconds",
        )
    rows, segment = _segment_rows(cohort, int(per_segment))
    x = cohort.data[rows].reshape(-1, int(per_segment), *cohort.data.shape[1:])
    if not sequence:
        x = x.mean(axis=1, keepdims=True)
    first = rows[:: int(per_segment)]
    return _units(cohort, x, y, segment, first, classes, task, unit, seconds)


def task_targets(cohort: Cohort, task: Task) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Which samples the task keeps, their targets, and the class names."""
    owner = task_dataset(task)
    if owner is not None and cohort.meta.dataset != owner.name:
        uses = [f"{d.default_task} for {d.label}" for d in DATASETS.values() if d.tasks]
        raise DataFormatError(
            None,
            f"task {task!r} is for {owner.name} but the cohort is {cohort.meta.dataset}",
            f"use {', '.join(uses)}, or {BINARY_TASK} for any",
        )
    if task == BINARY_TASK:
        keep = cohort.valence != 0
        return keep, (cohort.valence[keep] > 0).astype(np.int64), ("negative", "positive")
    return np.ones(cohort.n_samples, bool), cohort.label.astype(np.int64), cohort.meta.label_names


def _segment_seconds(cohort: Cohort, seconds: float | None) -> float:
    if seconds is not None:
        return float(seconds)
    spec = DATASETS.get(cohort.meta.dataset)
    return _SEGMENT_SECONDS if spec is None else spec.segment_seconds


def _segment_rows(cohort: Cohort, per_segment: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of every whole segment, in order, and each segment's index in its stimulus.

    Rows are sorted by (subject, session, stimulus, window); each run of one (subject,
    stimulus) is cut into ``len // per_segment`` segments and the remainder dropped.
    """
    order = np.lexsort((cohort.window, cohort.stimulus, cohort.session, cohort.subject))
    key = np.stack([cohort.subject[order], cohort.session[order], cohort.stimulus[order]])
    starts = np.flatnonzero(np.r_[True, (key[:, 1:] != key[:, :-1]).any(axis=0)])
    lengths = np.diff(np.r_[starts, order.size])
    position = np.arange(order.size) - np.repeat(starts, lengths)
    segment = position // per_segment
    whole = segment < np.repeat(lengths // per_segment, lengths)
    return order[whole], segment[whole][::per_segment]


def _raw_segments(
    cohort: Cohort, y: np.ndarray, classes: tuple[str, ...], task: str, seconds: float
) -> Units:
    """Cut every raw row (channels x time) into whole segments of ``seconds``."""
    length = round(seconds * cohort.meta.sfreq)
    n_segments = cohort.data.shape[2] // length
    if n_segments < 1:
        raise DataFormatError(
            None,
            f"raw rows are {cohort.data.shape[2] / cohort.meta.sfreq:g} s long, shorter than "
            f"one {seconds:g}-s segment",
            "choose a shorter segment_seconds",
        )
    n, c = cohort.data.shape[:2]
    cut = cohort.data[:, :, : n_segments * length].reshape(n, c, n_segments, length)
    x = cut.transpose(0, 2, 1, 3).reshape(n * n_segments, c, length)
    rows = np.repeat(np.arange(n), n_segments)
    segment = np.tile(np.arange(n_segments), n)
    return _units(cohort, x, y, segment, rows, classes, task, "segment", seconds, "raw")


def _units(
    cohort: Cohort,
    x: np.ndarray,
    y: np.ndarray,
    segment: np.ndarray,
    rows: np.ndarray,
    classes: tuple[str, ...],
    task: str,
    unit: str,
    seconds: float,
    input_kind: Literal["de", "raw"] = "de",
) -> Units:
    return Units(
        x=np.ascontiguousarray(x, dtype=np.float32),
        y=y[rows],
        subject=cohort.subject[rows].astype(np.int64),
        stimulus=cohort.stimulus[rows].astype(np.int64),
        segment=np.asarray(segment, dtype=np.int64),
        label=cohort.label[rows].astype(np.int64),
        valence=cohort.valence[rows].astype(np.int64),
        classes=tuple(classes),
        task=task,
        unit=unit,
        seconds=float(seconds),
        input_kind=input_kind,
        synthetic=bool(cohort.meta.synthetic),
    )


#: how :func:`resample_raw` resamples (recorded in the cohort's provenance)
RESAMPLER = "mne.filter.resample (FFT, anti-aliased: frequencies above the new Nyquist removed)"


def resample_raw(cohort: Cohort, sfreq: float, block: int = 64) -> Cohort:
    """A raw cohort resampled along time to ``sfreq`` Hz with MNE's anti-aliased resampler,
    each trial on its own (``block`` trials at a time to bound memory); same dtype."""
    from mne.filter import resample

    if cohort.meta.kind != "raw":
        raise DataFormatError(None, "only raw cohorts can be resampled")
    source = float(cohort.meta.sfreq)
    if source == sfreq:
        return cohort
    parts = [
        resample(cohort.data[i : i + block].astype(np.float64), up=sfreq, down=source, axis=-1)
        for i in range(0, cohort.n_samples, block)
    ]
    data = np.concatenate(parts).astype(cohort.data.dtype, copy=False)
    step = {"resampled": {"from_hz": source, "to_hz": float(sfreq), "method": RESAMPLER}}
    return cohort.with_data(data, sfreq=float(sfreq), provenance=cohort.meta.provenance | step)


def shuffle_stimulus_labels(parts: dict[str, Units], seed: int) -> dict[str, Units]:
    """Reassign targets by permuting whole stimuli between classes (a shuffled-label null).

    Every stimulus keeps one consistent (wrong) target in every part and class sizes in
    stimuli are kept, so a decoder can still learn stimulus identity but not the category:
    the null that probing compares trained decoders with. ``label`` keeps the true category.
    """
    stimuli = np.unique(np.concatenate([u.stimulus for u in parts.values()]))
    target = np.full(int(stimuli.max()) + 1, -1, dtype=np.int64)
    for units in parts.values():
        target[units.stimulus] = units.y
    permuted = target.copy()
    permuted[stimuli] = np.random.default_rng(seed).permutation(target[stimuli])
    return {name: replace(units, y=permuted[units.stimulus]) for name, units in parts.items()}
