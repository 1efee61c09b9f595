"""Input units: every value of a segment must come from the cohort row it claims to."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import FACED, FACED_CLASSES, FACED_CLIP_LABELS, task_dataset
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.units import (
    Units,
    default_task,
    make_units,
    resample_raw,
    shuffle_stimulus_labels,
)
from vaxis.errors import DataFormatError

SUBJECTS, N_CLIPS, N_WINDOWS, N_CHANNELS, N_BANDS = (3, 7), 28, 30, 2, 3


def code(subject: Any, clip: Any, window: Any, channel: Any, band: Any) -> np.ndarray:
    """A unique float32-exact value per cell."""
    cell = ((np.asarray(subject) * N_CLIPS + clip) * N_WINDOWS + window) * 10
    return (cell + np.asarray(channel) * N_BANDS + band).astype(np.float32)


def coded_cohort(window_seconds: float = 1.0, seed: int | None = None) -> Cohort:
    """FACED-labelled cohort whose feature values encode (subject, clip, window, channel, band).

    ``seed`` shuffles the row order (units must not depend on it).
    """
    subject, clip, window = (
        g.ravel()
        for g in np.meshgrid(SUBJECTS, np.arange(N_CLIPS), np.arange(N_WINDOWS), indexing="ij")
    )
    data = code(
        subject[:, None, None], clip[:, None, None], window[:, None, None],
        np.arange(N_CHANNELS)[None, :, None], np.arange(N_BANDS)[None, None, :],
    )  # fmt: skip
    label = np.asarray(FACED_CLIP_LABELS)[clip]
    meta = CohortMeta(
        dataset="faced", kind="features", channel_names=("c0", "c1"), label_names=FACED_CLASSES,
        sfreq=1 / window_seconds, band_names=("b0", "b1", "b2"), window_seconds=window_seconds,
        synthetic=True,
    )  # fmt: skip
    cohort = Cohort(
        data=data, subject=subject, stimulus=clip, window=window, label=label,
        valence=np.asarray(FACED.class_valence)[label], session=np.zeros_like(subject), meta=meta,
    )  # fmt: skip
    if seed is not None:
        cohort = cohort.subset(np.random.default_rng(seed).permutation(cohort.n_samples))
    return cohort


def expected(units: Units, t: int) -> np.ndarray:
    """What second t of every unit must hold, from its recorded subject/stimulus/segment."""
    window = units.segment * 10 + t
    return code(
        units.subject[:, None, None], units.stimulus[:, None, None], window[:, None, None],
        np.arange(N_CHANNELS)[None, :, None], np.arange(N_BANDS)[None, None, :],
    )  # fmt: skip


def test_segments_are_ten_consecutive_seconds_of_one_clip_whatever_the_row_order() -> None:
    units = make_units(coded_cohort(seed=1), task="faced9", unit="segment")
    assert units.x.shape == (len(SUBJECTS) * N_CLIPS * 3, 10, N_CHANNELS, N_BANDS)
    assert units.x.dtype == np.float32
    for t in range(10):
        np.testing.assert_array_equal(units.x[:, t], expected(units, t))
    # three segments per (subject, clip), labels follow the clip
    pairs, counts = np.unique(np.stack([units.subject, units.stimulus]), axis=1, return_counts=True)
    assert pairs.shape[1] == len(SUBJECTS) * N_CLIPS and set(counts) == {3}
    np.testing.assert_array_equal(units.y, np.asarray(FACED_CLIP_LABELS)[units.stimulus])
    ordered = make_units(coded_cohort(), task="faced9")
    np.testing.assert_array_equal(ordered.x, units.x)
    np.testing.assert_array_equal(ordered.subject, units.subject)


def test_averaged_segments_are_the_mean_of_their_seconds() -> None:
    units = make_units(coded_cohort(), unit="segment", sequence=False)
    assert units.x.shape[1] == 1
    mean = np.mean([expected(units, t) for t in range(10)], axis=0)
    np.testing.assert_allclose(units.x[:, 0], mean, rtol=1e-6)


def test_window_units_are_the_cohort_rows() -> None:
    cohort = coded_cohort(seed=2)
    units = make_units(cohort, unit="window")
    np.testing.assert_array_equal(units.x[:, 0], cohort.data)
    np.testing.assert_array_equal(units.segment, cohort.window)
    assert units.seconds == 1.0 and len(units) == cohort.n_samples


def test_binary_task_drops_neutral_and_maps_valence() -> None:
    units = make_units(coded_cohort(), task="binary")
    assert units.classes == ("negative", "positive")
    neutral_clips = np.flatnonzero(np.asarray(FACED_CLIP_LABELS) == 4)
    assert not np.isin(units.stimulus, neutral_clips).any()
    assert len(units) == len(SUBJECTS) * 24 * 3
    np.testing.assert_array_equal(units.y, (units.label >= 5).astype(int))
    np.testing.assert_array_equal(units.y, (units.valence > 0).astype(int))


def test_leftover_windows_are_dropped_and_missing_ones_shorten_a_clip() -> None:
    cohort = coded_cohort()
    units = make_units(cohort, segment_seconds=7)  # 30 s -> 4 segments, 2 s left over
    assert set(np.unique(units.segment)) == {0, 1, 2, 3}
    assert len(units) == len(SUBJECTS) * N_CLIPS * 4
    short = cohort.subset(~((cohort.subject == 3) & (cohort.stimulus == 0) & (cohort.window >= 25)))
    cut = make_units(short)
    assert ((cut.subject == 3) & (cut.stimulus == 0)).sum() == 2  # 25 windows -> 2 segments
    assert len(cut) == len(SUBJECTS) * N_CLIPS * 3 - 1


def test_segments_must_be_whole_windows_and_tasks_must_match_the_dataset() -> None:
    four_second = coded_cohort(window_seconds=4.0)
    with pytest.raises(DataFormatError, match="whole number of 4-s windows"):
        make_units(four_second, segment_seconds=10)
    assert make_units(four_second, segment_seconds=12).x.shape[1] == 3
    with pytest.raises(DataFormatError, match="seedv5"):
        make_units(coded_cohort(), task="seedv5")
    with pytest.raises(ValueError, match="unknown task"):
        make_units(coded_cohort(), task="faced2")  # type: ignore[arg-type, unused-ignore]


def test_raw_rows_are_cut_into_segments_along_time() -> None:
    rng = np.random.default_rng(0)
    n_rows, sfreq = 4, 10.0
    data = rng.standard_normal((n_rows, N_CHANNELS, 300)).astype(np.float32)  # 30 s at 10 Hz
    label = np.array([0, 4, 5, 8])
    meta = CohortMeta(
        dataset="faced", kind="raw", channel_names=("c0", "c1"), label_names=FACED_CLASSES,
        sfreq=sfreq, synthetic=False,
    )  # fmt: skip
    cohort = Cohort(
        data=data, subject=np.array([0, 0, 1, 1]), stimulus=np.array([0, 12, 16, 25]),
        window=np.zeros(n_rows, int), label=label, valence=np.asarray(FACED.class_valence)[label],
        session=np.zeros(n_rows, int), meta=meta,
    )  # fmt: skip
    units = make_units(cohort)
    assert units.input_kind == "raw" and units.x.shape == (n_rows * 3, N_CHANNELS, 100)
    for i in range(len(units)):
        row = np.flatnonzero(cohort.stimulus == units.stimulus[i])[0]
        s = units.segment[i]
        np.testing.assert_array_equal(units.x[i], data[row, :, s * 100 : (s + 1) * 100])
    with pytest.raises(DataFormatError, match="segments only"):
        make_units(cohort, unit="window")


def test_subset_and_description_follow_the_samples() -> None:
    units = make_units(coded_cohort())
    part = units.subset(units.subject == 7)
    assert part.subjects.tolist() == [7]
    np.testing.assert_array_equal(part.x, units.x[units.subject == 7])
    info = part.describe()
    assert info["n_samples"] == N_CLIPS * 3 and info["synthetic"] is True
    assert info["sample_shape"] == [10, N_CHANNELS, N_BANDS]


def test_seedv_segments_default_to_three_four_second_windows() -> None:
    cohort = synthesize_features(SynthConfig(like="seedv", n_subjects=2, n_windows=7))[0]
    units = make_units(cohort, task="seedv5")
    assert units.seconds == 12.0 and units.x.shape[1:] == (3, 62, 5)
    assert len(units) == 2 * 45 * 2  # 7 windows -> 2 segments of 3, one window left over
    assert units.classes == cohort.meta.label_names and units.n_classes == 5
    first = (cohort.subject == 1) & (cohort.stimulus == 44) & (cohort.window < 3)
    last = np.flatnonzero((units.subject == 1) & (units.stimulus == 44) & (units.segment == 0))
    np.testing.assert_array_equal(units.x[last[0]], cohort.data[first])


def test_shuffled_labels_move_whole_stimuli_and_keep_class_sizes() -> None:
    units = make_units(coded_cohort(), task="faced9", unit="segment")
    half = units.subject < np.median(units.subject)
    parts = {"train": units.subset(half), "test": units.subset(~half)}
    shuffled = shuffle_stimulus_labels(parts, seed=3)
    by_stimulus: dict[int, set[int]] = {}
    for part in shuffled.values():
        for stimulus, y in zip(part.stimulus, part.y, strict=True):
            by_stimulus.setdefault(int(stimulus), set()).add(int(y))
    assert all(len(ys) == 1 for ys in by_stimulus.values()), "one target per stimulus"
    new = np.array([next(iter(by_stimulus[s])) for s in range(28)])
    np.testing.assert_array_equal(np.bincount(new), np.bincount(FACED_CLIP_LABELS))
    assert (new != np.asarray(FACED_CLIP_LABELS)).sum() > 10, "labels must actually move"
    for name, part in shuffled.items():
        np.testing.assert_array_equal(part.label, parts[name].label)  # true category kept
    again = shuffle_stimulus_labels(parts, seed=3)
    np.testing.assert_array_equal(again["train"].y, shuffled["train"].y)


def test_each_dataset_defaults_to_its_own_multi_class_task() -> None:
    for dataset in ("faced", "seedv"):
        owner = task_dataset(default_task(dataset))
        assert owner is not None and owner.name == dataset


def raw_cohort(sfreq: float, data: np.ndarray) -> Cohort:
    """A FACED-labelled raw cohort, one subject, one row per clip of ``data``."""
    n = data.shape[0]
    label = np.asarray(FACED_CLIP_LABELS)[:n]
    meta = CohortMeta(
        dataset="faced", kind="raw", channel_names=tuple(f"c{i}" for i in range(data.shape[1])),
        label_names=FACED_CLASSES, sfreq=sfreq, synthetic=True,
    )  # fmt: skip
    return Cohort(
        data=data, subject=np.zeros(n, int), stimulus=np.arange(n), window=np.zeros(n, int),
        label=label, valence=np.asarray(FACED.class_valence)[label], session=np.zeros(n, int),
        meta=meta,
    )  # fmt: skip


def test_resampling_is_mnes_resampler_trial_by_trial() -> None:
    from mne.filter import resample

    data = np.random.default_rng(1).standard_normal((5, 3, 7500)).astype(np.float32)
    out = resample_raw(raw_cohort(250.0, data), 200.0, block=2)  # blocks must not matter
    assert out.meta.sfreq == 200.0 and out.data.shape == (5, 3, 6000)
    assert out.data.dtype == np.float32
    expected = resample(data.astype(np.float64), up=200.0, down=250.0, axis=-1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=1e-6)
    assert out.meta.provenance["resampled"]["from_hz"] == 250.0
    np.testing.assert_array_equal(out.label, raw_cohort(250.0, data).label)


def test_resampling_keeps_a_10_hz_sine_and_removes_what_is_above_the_new_nyquist() -> None:
    """250 -> 200 Hz: 10 Hz stays at 10 Hz with its amplitude; a 110 Hz tone (above 100 Hz)
    is filtered out, not aliased to 90 Hz."""
    t = np.arange(7500) / 250.0
    sine = np.sin(2 * np.pi * 10 * t)
    data = np.stack([sine, sine + np.sin(2 * np.pi * 110 * t)])[None].astype(np.float32)
    out = resample_raw(raw_cohort(250.0, data), 200.0).data[0]
    freqs = np.fft.rfftfreq(6000, 1 / 200.0)
    for channel in out:
        amplitude = 2 * np.abs(np.fft.rfft(channel)) / 6000
        assert freqs[amplitude.argmax()] == 10.0
        assert abs(amplitude.max() - 1.0) < 0.01
        assert amplitude[np.isclose(freqs, 90.0)].item() < 0.01  # no alias
    np.testing.assert_allclose(out[0], np.sin(2 * np.pi * 10 * np.arange(6000) / 200), atol=0.02)


def test_resampling_to_the_same_rate_changes_nothing() -> None:
    cohort = raw_cohort(200.0, np.ones((1, 2, 400), np.float32))
    assert resample_raw(cohort, 200.0) is cohort
