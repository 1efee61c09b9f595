"""Differential entropy: closed forms, the official MNE reference, shapes, the cohort wrapper."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from vaxis.data import features
from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import FACED, FACED_CLASSES, SEEDV
from vaxis.data.features import (
    FAST_TOLERANCE,
    band_kernels,
    differential_entropy,
    raw_to_features,
)
from vaxis.errors import DataFormatError

FS = FACED.sfreq
EDGES = FACED.band_edges
LOG_2_PI_E = np.log(2 * np.pi * np.e)


def pink_noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """EEG-like 1/f noise (power falls with frequency), so every band has a different level."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(shape), axis=-1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[-1]), 1))
    return np.fft.irfft(spectrum, n=shape[-1], axis=-1) * 50


def make_raw(data: np.ndarray, subjects: list[int], dataset: str = "faced") -> Cohort:
    n = data.shape[0]
    meta = CohortMeta(
        dataset=dataset,
        kind="raw",
        channel_names=tuple(f"ch{i}" for i in range(data.shape[1])),
        label_names=FACED_CLASSES,
        sfreq=FS,
        synthetic=True,
        provenance={"made_by": "test"},
    )
    return Cohort(
        data=data,
        subject=np.array(subjects),
        stimulus=np.arange(n),
        window=np.zeros(n, dtype=int),
        label=np.arange(n) % 9,
        valence=np.array([-1, 0, 1] * n)[:n],
        session=np.zeros(n, dtype=int),
        meta=meta,
    )


def test_kernels_are_what_mne_filter_data_applies() -> None:
    impulse = np.zeros(4001)
    impulse[2000] = 1.0
    for (lo, hi), kernel in zip(EDGES, band_kernels(FS, EDGES), strict=True):
        response = mne.filter.filter_data(impulse, FS, lo, hi, verbose="error")
        half = len(kernel) // 2
        np.testing.assert_allclose(response[2000 - half : 2000 + half + 1], kernel, atol=1e-12)


def test_white_noise_matches_closed_form() -> None:
    # FIR-filtered white noise of variance s2 has variance s2 * sum(h**2) (= s2 * W / (fs/2),
    # W the filter's equivalent noise bandwidth); averaging window variances is unbiased.
    sigma = 3.0
    x = np.random.default_rng(1).normal(scale=sigma, size=(8, int(FS) * 240))
    de = differential_entropy(x, FS, EDGES)
    window_var = np.exp(2 * de - LOG_2_PI_E).mean(axis=(0, 1))
    expected = np.array([sigma**2 * np.sum(h**2) for h in band_kernels(FS, EDGES)])
    np.testing.assert_allclose(window_var, expected, rtol=0.03)
    # the equivalent bandwidth lies between the nominal band and the -6 dB cutoffs
    bandwidth = expected / sigma**2 * FS / 2
    nominal = np.array([hi - lo for lo, hi in EDGES])
    assert np.all(bandwidth > nominal) and np.all(bandwidth < 1.6 * nominal)


@pytest.mark.parametrize(("freq", "band"), [(1.5, 0), (6.0, 1), (11.0, 2), (22.0, 3), (38.0, 4)])
def test_sinusoid_lands_in_its_band(freq: float, band: int) -> None:
    # 2 s windows hold whole cycles, so each window's variance is exactly amplitude**2 / 2
    amplitude = 2.0
    t = np.arange(int(FS) * 40) / FS
    de = differential_entropy(amplitude * np.sin(2 * np.pi * freq * t), FS, EDGES, 2.0)
    inner = de[1:-1]  # edge windows see the padding
    expected = 0.5 * (LOG_2_PI_E + np.log(amplitude**2 / 2))
    np.testing.assert_allclose(inner[:, band], expected, atol=0.01)
    assert (inner.argmax(axis=1) == band).all()
    # MNE's transition bands overlap the neighbouring bands; bands further away see ~nothing
    far = [b for b in range(len(EDGES)) if abs(b - band) > 1]
    assert inner[:, far].max() < expected - 3.0


def test_scaling_the_signal_shifts_de_by_log_of_the_scale() -> None:
    x = pink_noise((3, 2500))
    shift = differential_entropy(7.0 * x, FS, EDGES) - differential_entropy(x, FS, EDGES)
    np.testing.assert_allclose(shift, np.log(7.0), atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_matches_official_reference_on_faced_shape(dtype: type) -> None:
    x = pink_noise((2, 9, 7500), seed=2).astype(dtype)  # 18 rows: more than one chunk
    fast = differential_entropy(x, FS, EDGES, method="fast")
    reference = differential_entropy(x, FS, EDGES, method="reference")
    assert fast.shape == reference.shape == (2, 9, 30, 5)
    assert fast.dtype == reference.dtype == dtype
    error = np.abs(fast.astype(np.float64) - reference).max()
    assert error < (FAST_TOLERANCE if dtype is np.float32 else 1e-9)


def test_fast_path_matches_reference_for_seedv_bands_and_windows() -> None:
    sfreq, window = 200.0, SEEDV.window_seconds
    x = pink_noise((3, int(sfreq * window) * 10 + 37), seed=3)  # a trailing partial window
    edges = SEEDV.band_edges
    fast = differential_entropy(x, sfreq, edges, window, method="fast")
    reference = differential_entropy(x, sfreq, edges, window, method="reference")
    assert fast.shape == (3, 10, 5)
    assert np.abs(fast - reference).max() < 1e-9


def test_chunking_does_not_change_values(monkeypatch: pytest.MonkeyPatch) -> None:
    x = pink_noise((5, 1000), seed=7)
    whole = differential_entropy(x, FS, EDGES)
    monkeypatch.setattr(features, "_CHUNK_ELEMENTS", 1)  # one row per chunk
    np.testing.assert_array_equal(differential_entropy(x, FS, EDGES), whole)


def test_silent_channel_gives_minus_infinity_not_nan() -> None:
    x = pink_noise((3, 1000), seed=8)
    x[1] = 0.0
    for method in ("fast", "reference"):
        de = differential_entropy(x, FS, EDGES, method=method)  # type: ignore[arg-type]
        assert np.isneginf(de[1]).all() and np.isfinite(de[[0, 2]]).all()


def test_any_leading_batch_shape_gives_the_same_values() -> None:
    x = pink_noise((2, 3, 4, 1000), seed=4)
    batched = differential_entropy(x, FS, EDGES)
    assert batched.shape == (2, 3, 4, 4, 5)
    flat = differential_entropy(x.reshape(6, 4, 1000), FS, EDGES)
    np.testing.assert_allclose(batched.reshape(flat.shape), flat, atol=1e-12)
    np.testing.assert_allclose(differential_entropy(x[1, 2], FS, EDGES), batched[1, 2], atol=1e-12)
    np.testing.assert_allclose(
        differential_entropy(x[0, 1, 3], FS, EDGES), batched[0, 1, 3], atol=1e-12
    )


def test_raw_to_features_one_row_per_window_in_trial_order() -> None:
    x = pink_noise((3, 2, 2000), seed=5).astype(np.float32)
    x[1] *= 10.0  # planted: trial 1 is ten times louder in every band
    raw = make_raw(x, subjects=[0, 0, 1])
    features = raw_to_features(raw)
    de = differential_entropy(x, FS, EDGES)  # (3, 2, 8, 5)
    assert features.data.shape == (24, 2, 5)
    np.testing.assert_array_equal(features.window, np.tile(np.arange(8), 3))
    np.testing.assert_array_equal(features.subject, np.repeat([0, 0, 1], 8))
    np.testing.assert_array_equal(features.label, np.repeat(raw.label, 8))
    np.testing.assert_array_equal(features.data[8 + 5], de[1, :, 5, :])
    louder = features.data[8:16] - differential_entropy(x[1] / 10.0, FS, EDGES).transpose(1, 0, 2)
    np.testing.assert_allclose(louder, np.log(10.0), atol=1e-4)
    meta = features.meta
    assert (meta.kind, meta.feature) == ("features", "de")
    assert meta.sfreq == meta.window_seconds == 1.0
    assert meta.band_names == FACED.band_names and meta.band_edges == FACED.band_edges
    assert meta.synthetic is True
    assert meta.provenance["made_by"] == "test"
    assert meta.provenance["features"]["method"] == "fast"


def test_raw_to_features_streams_subject_by_subject() -> None:
    raw = make_raw(pink_noise((4, 2, 1000), seed=6), subjects=[0, 0, 1, 1])
    whole = raw_to_features(raw, method="reference")
    parts = Cohort.concatenate([raw_to_features(raw.for_subjects([s])) for s in (0, 1)])
    np.testing.assert_allclose(parts.data, whole.data, atol=1e-9)
    assert whole.meta.provenance["features"]["method"] == "reference"


def test_bad_inputs_are_refused_with_a_reason() -> None:
    x = pink_noise((2, 2, 1000))
    with pytest.raises(ValueError, match="whole number of samples"):
        differential_entropy(x, FS, EDGES, window_seconds=0.333)
    with pytest.raises(ValueError, match="shorter than one"):
        differential_entropy(x[..., :100], FS, EDGES)
    with pytest.raises(ValueError, match="0 < low < high"):
        differential_entropy(x, FS, [(0.0, 4.0)])
    with pytest.raises(ValueError, match="unknown DE method"):
        differential_entropy(x, FS, EDGES, method="magic")  # type: ignore[arg-type]
    broken = x.copy()
    broken[0, 1, 10] = np.nan
    with pytest.raises(DataFormatError, match="nan-policy"):
        raw_to_features(make_raw(broken, subjects=[0, 1]))
    with pytest.raises(ValueError, match="no default bands"):
        raw_to_features(make_raw(x, subjects=[0, 1], dataset="toy"))
    features = raw_to_features(make_raw(x, subjects=[0, 1]))
    with pytest.raises(ValueError, match="needs a raw cohort"):
        raw_to_features(features)
