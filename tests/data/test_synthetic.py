"""Synthetic cohorts: what was planted is in the data, and nothing else is.

Methods that later claim to find valence in EEG are tested on these cohorts, so the cohorts
themselves must pass the same kind of test: a planted valence is recoverable from held-out
stimuli and a null cohort yields nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import LeaveOneOut, cross_val_predict

from vaxis.data.cohort import Cohort, iter_subjects, save_stream
from vaxis.data.datasets import DATASETS, FACED_CLIP_LABELS
from vaxis.data.synthetic import (
    SynthConfig,
    load_truth,
    make_truth,
    subject_features,
    synthesize_features,
)
from vaxis.data.synthetic_files import write_synthetic
from vaxis.data.synthetic_raw import iter_synthetic_raw
from vaxis.errors import DataFormatError


def stimulus_means(cohort: Cohort) -> np.ndarray:
    """(stimuli, channels * bands): features averaged over subjects and windows."""
    return np.stack([cohort.data[cohort.stimulus == s].mean(0).ravel() for s in cohort.stimuli])


def loo_valence_r(cohort: Cohort, valence: np.ndarray) -> float:
    """Ridge from stimulus features to valence, each stimulus predicted with itself left out."""
    model = RidgeCV(alphas=np.logspace(-3, 3, 13))
    predicted = cross_val_predict(model, stimulus_means(cohort), valence, cv=LeaveOneOut())
    return float(np.corrcoef(predicted, valence)[0, 1])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a.ravel() @ b.ravel() / np.linalg.norm(a) / np.linalg.norm(b))


def slope_pattern(features: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Least-squares slope of every feature on one score (a recovered spatial pattern)."""
    centred = score - score.mean()
    return (features - features.mean(0)).T @ centred / (centred @ centred)


@pytest.fixture(scope="module")
def faced() -> tuple[Cohort, object]:
    return synthesize_features(SynthConfig())


@pytest.mark.parametrize("like", ["faced", "seedv"])
def test_default_arousal_carries_no_valence(like: str) -> None:
    # if arousal tracked valence, a null cohort would still "contain" valence through it
    classes = make_truth(SynthConfig(like=like, n_subjects=1)).stimulus_class
    shape = DATASETS[like].synthetic
    assert shape is not None
    valence = np.asarray(shape.class_valence_scores)[classes]
    arousal = np.asarray(shape.class_arousal_scores)[classes]
    assert abs(np.corrcoef(valence, arousal)[0, 1]) < 0.05
    # the valence scores follow each class's valence group
    group = np.asarray(DATASETS[like].class_valence)[classes]
    assert np.all(np.sign(valence) == group)


@pytest.mark.parametrize("like", ["faced", "seedv"])
def test_cohort_layout_labels_and_synthetic_flag(like: str) -> None:
    config = SynthConfig(like=like, n_subjects=3, n_windows=4)
    cohort, truth = synthesize_features(config)
    spec = DATASETS[like]
    n_stimuli = 28 if like == "faced" else 45
    assert cohort.data.shape == (3 * n_stimuli * 4, len(spec.channels), len(spec.bands))
    assert cohort.meta.synthetic and cohort.meta.provenance["synthetic"] is True
    assert cohort.meta.provenance["generator"] == "vaxis.data.synthetic"
    assert cohort.meta.kind == "features" and cohort.meta.feature == "de"
    assert cohort.meta.sfreq == 1.0 / spec.window_seconds
    assert np.array_equal(cohort.label, truth.stimulus_class[cohort.stimulus])
    assert np.array_equal(cohort.valence, np.asarray(spec.class_valence)[cohort.label])
    expected_session = cohort.stimulus // 15 if like == "seedv" else np.zeros(cohort.n_samples)
    assert np.array_equal(cohort.session, expected_session)
    if like == "faced":
        assert np.array_equal(truth.stimulus_class, FACED_CLIP_LABELS)
    # DE-like magnitudes: nats, delta above gamma
    assert 0 < np.median(cohort.data) < 5
    assert cohort.data[..., 0].mean() > cohort.data[..., -1].mean() + 1


def test_window_noise_is_ar1_around_the_planted_mean() -> None:
    config = SynthConfig(n_subjects=6, n_windows=30)
    cohort, truth = synthesize_features(config)
    n_stimuli = truth.valence.size
    data = cohort.data.reshape(6, n_stimuli, 30, *truth.baseline.shape)
    signal = np.einsum("nij,sjb->nsib", truth.subject_mixing, truth.signal())
    planted = truth.baseline + truth.subject_offsets[:, None] + signal
    residual = data - planted[:, :, None]
    rho, sd = config.noise_ar, config.noise_std
    assert residual.std() == pytest.approx(sd, rel=0.03)
    lag1 = np.mean(residual[:, :, 1:] * residual[:, :, :-1]) / residual.var()
    assert lag1 == pytest.approx(rho, abs=0.02)
    # variance of a 30-window mean of a unit AR(1): sum of rho^|i-j| / W^2 (closed form)
    lags = np.abs(np.subtract.outer(np.arange(30), np.arange(30)))
    expected = sd**2 * (rho**lags).sum() / 30**2
    assert residual.mean(axis=2).var() == pytest.approx(expected, rel=0.1)


def test_same_seed_same_cohort_and_subjects_do_not_depend_on_cohort_size() -> None:
    small, _ = synthesize_features(SynthConfig(n_subjects=3, n_windows=3, seed=5))
    again, _ = synthesize_features(SynthConfig(n_subjects=3, n_windows=3, seed=5))
    other, _ = synthesize_features(SynthConfig(n_subjects=3, n_windows=3, seed=6))
    larger, _ = synthesize_features(SynthConfig(n_subjects=5, n_windows=3, seed=5))
    assert np.array_equal(small.data, again.data)
    assert not np.allclose(small.data, other.data)
    assert np.array_equal(larger.data[: small.n_samples], small.data)


def test_faced_size_features_generate_quickly() -> None:
    cohort, truth = synthesize_features(SynthConfig(n_subjects=123))
    assert cohort.data.shape == (123 * 28 * 30, 32, 5)
    assert cohort.data.dtype == np.float32 and np.isfinite(cohort.data).all()
    assert truth.subject_mixing.shape == (123, 32, 32)


def test_planted_valence_is_recovered_from_held_out_stimuli(faced) -> None:
    cohort, truth = faced
    assert loo_valence_r(cohort, truth.valence) > 0.8


@pytest.mark.parametrize("seed", [0, 1])
def test_null_cohort_yields_no_valence(seed: int) -> None:
    cohort, truth = synthesize_features(SynthConfig(seed=seed, plant_valence=False))
    assert truth.planted["valence"] is False and truth.planted["residual"] is False
    # leave-one-out predictions of an uninformative model anti-correlate with the target,
    # so "nothing found" is r well below the planted cohort's, not r = 0
    assert loo_valence_r(cohort, truth.valence) < 0.4


def test_valence_and_residual_patterns_are_recovered(faced) -> None:
    cohort, truth = faced
    means = stimulus_means(cohort)
    assert cosine(slope_pattern(means, truth.valence), truth.valence_pattern) > 0.9
    # within-class structure: centre every class, then regress on the residual score
    classes = truth.stimulus_class
    within = means - np.stack([means[classes == c].mean(0) for c in classes])
    recovered = slope_pattern(within, truth.residual)
    assert cosine(recovered, truth.residual_pattern) > 0.8
    # patterns are unit-RMS and the residual pattern is orthogonal to valence and arousal
    for pattern in (truth.valence_pattern, truth.arousal_pattern, truth.residual_pattern):
        assert np.sqrt(np.mean(pattern**2)) == pytest.approx(1.0)
    assert abs(cosine(truth.residual_pattern, truth.valence_pattern)) < 1e-9
    assert abs(cosine(truth.residual_pattern, truth.arousal_pattern)) < 1e-9


def test_residual_is_absent_when_not_planted() -> None:
    cohort, truth = synthesize_features(SynthConfig(plant_residual=False))
    means = stimulus_means(cohort)
    classes = truth.stimulus_class
    within = means - np.stack([means[classes == c].mean(0) for c in classes])
    assert abs(cosine(slope_pattern(within, truth.residual), truth.residual_pattern)) < 0.4


def centroid_accuracy(cohort: Cohort, n_train: int) -> float:
    """Nearest class centroid on per-subject-centred windows, train and test subjects apart."""
    x = cohort.data.reshape(cohort.n_samples, -1).astype(float)
    for s in cohort.subjects:
        x[cohort.subject == s] -= x[cohort.subject == s].mean(0)
    train = cohort.subject < n_train
    centroids = np.stack([x[train & (cohort.label == c)].mean(0) for c in range(9)])
    distance = ((x[~train, None] - centroids[None]) ** 2).sum(-1)
    predicted = distance.argmin(1)
    return float(np.mean([np.mean(predicted[cohort.label[~train] == c] == c) for c in range(9)]))


def test_classes_decodable_across_subjects_only_when_something_is_planted(faced) -> None:
    cohort, _ = faced
    assert centroid_accuracy(cohort, n_train=16) > 0.3  # chance is 1/9
    nothing = SynthConfig(
        valence_strength=0, arousal_strength=0, stimulus_strength=0, residual_strength=0
    )
    blank, truth = synthesize_features(nothing)
    assert not any(truth.planted.values())
    assert centroid_accuracy(blank, n_train=16) < 0.2


def test_stimulus_valence_override_is_used_verbatim() -> None:
    ratings = tuple(np.linspace(-1, 1, 28))
    truth = make_truth(SynthConfig(stimulus_valence=ratings, n_subjects=1))
    assert np.array_equal(truth.valence, ratings)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValidationError, match="one per faced class"):
        SynthConfig(class_valence_scores=(0.0, 1.0))
    with pytest.raises(ValidationError):
        SynthConfig(valence_strenght=0.2)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SynthConfig(noise_ar=1.0)
    assert SynthConfig(like="seedv").n_subjects == 16
    assert SynthConfig(like="seedv").class_valence_scores == (-0.7, -0.65, -0.75, 0.0, 0.8)


def test_write_and_reload_features_with_truth(tmp_path: Path) -> None:
    config = SynthConfig(n_subjects=2, n_windows=3, seed=3)
    paths = write_synthetic(config, tmp_path / "demo.cohort.h5")
    assert set(paths) == {"features", "truth", "truth_json"}
    assert not (tmp_path / "demo.raw.cohort.h5").exists()
    cohort, truth = synthesize_features(config)
    loaded = Cohort.load(paths["features"])
    assert np.array_equal(loaded.data, cohort.data) and loaded.meta == cohort.meta
    for path in (paths["features"], paths["truth"], paths["truth_json"]):
        reloaded = load_truth(path)
        assert reloaded.config == config and reloaded.planted == truth.planted
        assert np.array_equal(reloaded.subject_mixing, truth.subject_mixing)
        assert np.array_equal(reloaded.valence_pattern, truth.valence_pattern)
    with pytest.raises(DataFormatError, match="already exists"):
        write_synthetic(config, tmp_path / "demo.cohort.h5")
    write_synthetic(config.model_copy(update={"seed": 4}), tmp_path / "demo.cohort.h5", True)
    assert load_truth(paths["truth"]).config.seed == 4


def test_missing_truth_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no ground truth"):
        load_truth(tmp_path / "real.cohort.h5")


def band_de(raw: np.ndarray, sfreq: float, window: int, edges) -> np.ndarray:
    """DE per (trial, window, channel, band) by an ideal FFT band-pass of the whole trial."""
    n_times = raw.shape[-1]
    spectrum = np.fft.rfft(raw.astype(float), axis=-1)
    freqs = np.fft.rfftfreq(n_times, 1 / sfreq)
    out = []
    for low, high in edges:
        band = np.fft.irfft(spectrum * ((freqs >= low) & (freqs < high)), n=n_times, axis=-1)
        var = (band.reshape(*band.shape[:2], -1, window) ** 2).mean(-1)
        out.append(0.5 * np.log(2 * np.pi * np.e * var).transpose(0, 2, 1))
    return np.stack(out, axis=-1)


@pytest.mark.parametrize("like", ["faced", "seedv"])
def test_raw_band_power_reproduces_the_planted_de(like: str) -> None:
    config = SynthConfig(like=like, n_subjects=1, n_windows=6, raw=True)
    truth = make_truth(config)
    (raw,) = iter_synthetic_raw(config)
    spec, sfreq = DATASETS[like], config.shape.raw_sfreq
    window = round(sfreq * spec.window_seconds)
    assert raw.meta.kind == "raw" and raw.meta.synthetic and raw.meta.sfreq == sfreq
    assert raw.data.shape == (truth.valence.size, len(spec.channels), 6 * window)
    assert np.all(raw.subject == 0) and np.array_equal(raw.stimulus, np.arange(truth.valence.size))
    estimated = band_de(raw.data, sfreq, window, spec.band_edges)
    planted = subject_features(truth, 0)
    error = estimated - planted
    assert np.abs(error.mean(axis=(0, 1, 2))).max() < 0.1  # per-band bias, nats
    trial_means = estimated.mean(1), planted.mean(1)
    assert np.corrcoef(trial_means[0].ravel(), trial_means[1].ravel())[0, 1] > 0.95


def test_raw_streams_to_one_cohort_file(tmp_path: Path) -> None:
    config = SynthConfig(n_subjects=2, n_windows=2, raw=True)
    paths = write_synthetic(config, tmp_path / "s.cohort.h5")
    assert paths["raw"] == tmp_path / "s.raw.cohort.h5"
    expected = list(iter_synthetic_raw(config))
    streamed = list(iter_subjects(paths["raw"]))
    assert len(streamed) == 2
    for got, want in zip(streamed, expected, strict=True):
        assert np.array_equal(got.data, want.data) and got.meta == want.meta
        assert np.array_equal(got.label, want.label)
    with pytest.raises(ValueError, match="no cohorts"):
        save_stream([], tmp_path / "empty.cohort.h5")
    assert not list(tmp_path.glob("empty*"))
