"""Synthetic raw EEG whose band power reproduces a synthetic DE cohort, one subject at a time.

Each trial is band-limited Gaussian noise built in the frequency domain: white noise, one
band at a time, scaled so that every window's band variance equals exp(2 DE) / (2 pi e) -- the
variance whose differential entropy is the planted DE. Subjects are generated one by one, so a
FACED-sized raw cohort (3.3 GB) never sits in memory (stream it to disk with
:func:`vaxis.data.cohort.save_stream`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.fft

from vaxis.data.cohort import Cohort
from vaxis.data.synthetic import (
    SynthConfig,
    make_truth,
    sample_labels,
    subject_features,
    synthetic_meta,
)


def _raw_trial(de: np.ndarray, config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Band-limited noise for one trial whose per-window band variance matches ``de`` (W, C, B)."""
    sfreq = config.shape.raw_sfreq
    per_window = round(sfreq * config.spec.window_seconds)
    n_windows, n_channels, _ = de.shape
    n_times = per_window * n_windows
    spectrum = scipy.fft.rfft(rng.standard_normal((n_channels, n_times), np.float32), axis=-1)
    freqs = scipy.fft.rfftfreq(n_times, 1.0 / sfreq)
    # the envelope is linear between window centres: a stepped one leaks power into the
    # neighbouring bands (a step has a 1/f spectrum) and biases the higher bands' DE upwards
    centres = (np.arange(n_windows) + 0.5) * per_window
    interpolate = np.stack(
        [np.interp(np.arange(n_times) + 0.5, centres, row) for row in np.eye(n_windows)]
    ).astype(np.float32)  # (W, T)
    std = np.sqrt(np.exp(2 * de) / (2 * np.pi * np.e)).astype(np.float32)  # (W, C, B)
    envelope = (std.reshape(n_windows, -1).T @ interpolate).reshape(n_channels, -1, n_times)
    out = np.zeros((n_channels, n_times), np.float32)
    for b, (low, high) in enumerate(config.spec.band_edges):
        in_band = (freqs >= low) & (freqs < high)
        unit = scipy.fft.irfft(spectrum * in_band, n=n_times, axis=-1)
        out += unit * envelope[:, b] / np.sqrt(2 * in_band.sum() / n_times)  # unit band variance
    return out


def iter_synthetic_raw(config: SynthConfig) -> Iterator[Cohort]:
    """Raw EEG, one subject at a time (trials x channels x time), matching the DE cohort."""
    truth, meta = make_truth(config), synthetic_meta(config, "raw")
    for n in range(config.n_subjects):
        rng = np.random.default_rng([config.seed, 3, n])
        features = subject_features(truth, n)
        data = np.stack([_raw_trial(trial, config, rng) for trial in features])
        yield Cohort(data=data, meta=meta, **sample_labels(config, n, 1))
