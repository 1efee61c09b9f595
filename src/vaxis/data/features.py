"""Differential-entropy (DE) features: one value per channel, window and frequency band.

For a Gaussian signal of variance ``var``, DE = 0.5 * log(2 * pi * e * var) (in nats). The
official FACED pipeline band-passes each whole 30 s clip per band with
:func:`mne.filter.filter_data` (default FIR design: ``firwin``, Hamming window, zero phase,
``reflect_limited`` edge padding), cuts the result into 1 s windows and takes the variance
(``ddof=0``) of each window. Two implementations of exactly that are provided:

``method="reference"``
    Calls :func:`mne.filter.filter_data` per band, as the official code does (once per band
    on all trials together rather than once per clip: MNE filters row by row, so the numbers
    are identical).
``method="fast"``
    The same computation, vectorised. MNE's zero-phase filter is a linear convolution of the
    edge-padded signal with a symmetric FIR kernel ``h``; we pad every signal once (with the
    same odd reflection, long enough for the longest kernel), take one real FFT per signal,
    multiply by each band's kernel spectrum (real, because the kernel is centred at sample 0)
    and invert. Because the padded signal is long enough that no output sample wraps around,
    this is *the same* convolution, not an approximation: the results differ only by floating
    point rounding. Measured on FACED-shaped data: max |DE_fast - DE_reference| = 5e-7 nats for
    float32 input and 1e-15 nats for float64 input. :data:`FAST_TOLERANCE` (1e-3 nats) is the
    bound the tests and the benchmark enforce.

Note that MNE's transition bands make each filter's equivalent noise bandwidth
(``sum(h**2) * sfreq / 2``) wider than the nominal band (FACED delta 1-4 Hz: 4.16 Hz, not 3 Hz),
so white noise of variance ``s2`` gives DE = 0.5 * log(2 * pi * e * s2 * sum(h**2)).

A window with zero variance (an all-zero channel) gives ``-inf``.

Speed (``bench/bench_de.py``, 2 shared cores): ~0.16 s per FACED subject (28 x 32 x 7500) for
the fast path against ~1.4 s for the reference, i.e. ~20 s for all 123 subjects.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from typing import Literal

import mne
import numpy as np
import scipy.fft

from vaxis.data.cohort import SAMPLE_FIELDS, Cohort
from vaxis.data.datasets import DATASETS
from vaxis.data.validation import NAN_FIX
from vaxis.errors import NonFiniteError

Method = Literal["fast", "reference"]
Band = tuple[str, float, float]

#: Largest |DE_fast - DE_reference| (nats) accepted by tests and the benchmark.
FAST_TOLERANCE = 1e-3
#: Bumped whenever a change could alter feature values; recorded in the cohort's provenance.
DE_VERSION = 1
_LOG_2_PI_E = float(np.log(2 * np.pi * np.e))
#: Spectrum values (re and im counted apart) filtered at once by one thread of the fast path:
#: small enough (2 MB of float32) for a chunk's buffers to stay in cache, which measured ~25%
#: faster than whole-subject batches.
_CHUNK_ELEMENTS = 1 << 19


def differential_entropy(
    x: np.ndarray,
    sfreq: float,
    bands: Sequence[tuple[float, float]],
    window_seconds: float = 1.0,
    method: Method = "fast",
) -> np.ndarray:
    """DE of ``x`` (..., C, T) per non-overlapping window and band: shape (..., C, n_windows, B).

    Windows start at the first sample; a trailing partial window is dropped. The output is
    float32 for float32 (or narrower) input and float64 otherwise.
    """
    x = np.asarray(x)
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty time axis, got shape {x.shape}")
    width = _window_samples(sfreq, window_seconds, x.shape[-1])
    dtype = np.result_type(x.dtype, np.float32)
    edges = tuple((float(lo), float(hi)) for lo, hi in bands)
    for lo, hi in edges:
        if not 0 < lo < hi < sfreq / 2:
            raise ValueError(f"band {lo}-{hi} Hz must satisfy 0 < low < high < {sfreq / 2} Hz")
    flat = x.reshape(-1, x.shape[-1])
    if method == "fast":
        variance = _variance_fast(flat.astype(dtype, copy=False), sfreq, edges, width)
    elif method == "reference":
        variance = _variance_reference(flat, sfreq, edges, width).astype(dtype)
    else:
        raise ValueError(f"unknown DE method {method!r}; use 'fast' or 'reference'")
    with np.errstate(divide="ignore"):
        de = 0.5 * (_LOG_2_PI_E + np.log(variance))
    return de.reshape(*x.shape[:-1], *de.shape[1:])


def raw_to_features(
    raw: Cohort,
    method: Method = "fast",
    bands: Sequence[Band] | None = None,
    window_seconds: float | None = None,
) -> Cohort:
    """Turn a raw cohort (trials x channels x time) into a DE feature cohort.

    Each trial becomes ``n_windows`` samples (rows ordered trial by trial, windows in time
    order, ``window`` = index within the trial) with data (channels x bands). Bands and window
    length default to the dataset's (:data:`vaxis.data.datasets.DATASETS`), or for a dataset
    outside it (an imported one) to those its raw cohort's metadata carries. Works on any subset
    of subjects, so a large cohort can be streamed with :func:`vaxis.data.cohort.iter_subjects`.
    """
    if raw.meta.kind != "raw":
        raise ValueError(f"raw_to_features needs a raw cohort, got kind={raw.meta.kind!r}")
    spec = DATASETS.get(raw.meta.dataset)
    default_window: float | None
    if spec is not None:
        default_bands, default_window = spec.bands, spec.window_seconds
    else:  # a dataset outside the registry (an imported one) carries its own
        edges = zip(raw.meta.band_names, raw.meta.band_edges, strict=True)
        default_bands = tuple((name, lo, hi) for name, (lo, hi) in edges)
        default_window = raw.meta.window_seconds
    bands = default_bands if bands is None else bands
    window_seconds = default_window if window_seconds is None else window_seconds
    if not bands or window_seconds is None:
        raise ValueError(
            f"dataset {raw.meta.dataset!r} has no default bands/window; pass both explicitly"
        )
    if not np.isfinite(raw.data).all():
        raise NonFiniteError(None, "raw EEG contains NaN/Inf; DE would be undefined", NAN_FIX)
    de = differential_entropy(
        raw.data, raw.meta.sfreq, [(lo, hi) for _, lo, hi in bands], window_seconds, method
    )
    n_trials, n_channels, n_windows, n_bands = de.shape
    data = np.ascontiguousarray(de.transpose(0, 2, 1, 3)).reshape(-1, n_channels, n_bands)
    per_sample = {name: np.repeat(getattr(raw, name), n_windows) for name in SAMPLE_FIELDS}
    per_sample["window"] = np.tile(np.arange(n_windows), n_trials)
    meta = replace(
        raw.meta,
        kind="features",
        feature="de",
        sfreq=1.0 / window_seconds,
        window_seconds=float(window_seconds),
        band_names=tuple(name for name, _, _ in bands),
        band_edges=tuple((float(lo), float(hi)) for _, lo, hi in bands),
        provenance={
            **raw.meta.provenance,
            "features": {
                "feature": "de",
                "method": method,
                "version": DE_VERSION,
                "source_sfreq": raw.meta.sfreq,
                "filter": "mne.filter.filter_data defaults (FIR firwin, hamming, zero phase)",
                "mne_version": mne.__version__,
            },
        },
    )
    return Cohort(
        data=data,
        meta=meta,
        ratings=raw.ratings,
        rating_subjects=raw.rating_subjects,
        **per_sample,
    )


def band_kernels(sfreq: float, bands: Sequence[tuple[float, float]]) -> list[np.ndarray]:
    """The FIR kernels :func:`mne.filter.filter_data` uses for these bands (its defaults)."""
    return list(_kernels(float(sfreq), tuple((float(lo), float(hi)) for lo, hi in bands)))


# ---------------------------------------------------------------------------- internals
def _window_samples(sfreq: float, window_seconds: float, n_times: int) -> int:
    width = round(sfreq * window_seconds)
    if width < 1 or not np.isclose(width, sfreq * window_seconds):
        raise ValueError(
            f"a {window_seconds} s window at {sfreq} Hz is not a whole number of samples"
        )
    if n_times < width:
        raise ValueError(f"signal of {n_times} samples is shorter than one {width}-sample window")
    return int(width)


@lru_cache(maxsize=16)
def _kernels(sfreq: float, edges: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, ...]:
    return tuple(mne.filter.create_filter(None, sfreq, lo, hi, verbose="error") for lo, hi in edges)


@lru_cache(maxsize=16)
def _kernel_spectra(sfreq: float, edges: tuple[tuple[float, float], ...], n_fft: int) -> np.ndarray:
    """Real spectra (B, n_fft // 2 + 1) of the kernels, each centred on sample 0."""
    spectra = []
    for h in _kernels(sfreq, edges):
        half = (len(h) - 1) // 2
        centred = np.zeros(n_fft)
        centred[: half + 1] = h[half:]
        centred[n_fft - half :] = h[:half]
        spectra.append(scipy.fft.rfft(centred).real)  # imaginary part is rounding (~1e-16)
    return np.stack(spectra)


def _reflect_pad(x: np.ndarray, n_pad: int) -> np.ndarray:
    """MNE's ``reflect_limited`` padding: odd reflection up to the signal length, then zeros."""
    n_times = x.shape[-1]
    n_reflect = min(n_pad, n_times - 1)
    zeros = np.zeros((x.shape[0], n_pad - n_reflect), dtype=x.dtype)
    left = 2 * x[:, :1] - x[:, n_reflect:0:-1]
    right = 2 * x[:, -1:] - x[:, -2 : -n_reflect - 2 : -1]
    return np.concatenate([zeros, left, x, right, zeros], axis=-1)


def _variance_fast(
    x: np.ndarray, sfreq: float, edges: tuple[tuple[float, float], ...], width: int
) -> np.ndarray:
    """Window variances (rows, n_windows, B) of the band-passed rows of ``x`` (rows, T)."""
    n_rows, n_times = x.shape
    n_windows = n_times // width
    # every output sample reads at most half the longest kernel on each side: pad that much
    n_pad = max((len(h) - 1) // 2 for h in _kernels(sfreq, edges))
    n_fft = scipy.fft.next_fast_len(n_times + 2 * n_pad, real=True)
    # a complex spectrum viewed as (re, im) pairs, so each band is a real elementwise product
    gains = np.repeat(_kernel_spectra(sfreq, edges, n_fft), 2, axis=-1).astype(x.dtype)
    out = np.empty((n_rows, n_windows, len(edges)), dtype=x.dtype)
    step = max(1, _CHUNK_ELEMENTS // gains.size)

    def filter_chunk(start: int) -> None:
        rows = x[start : start + step]
        spectrum = scipy.fft.rfft(_reflect_pad(rows, n_pad), n=n_fft, axis=-1)
        banded = (spectrum.view(x.dtype)[:, None, :] * gains).view(spectrum.dtype)
        filtered = scipy.fft.irfft(banded, n=n_fft, axis=-1)
        kept = filtered[..., n_pad : n_pad + n_windows * width]
        out[start : start + len(rows)] = _window_variance(kept, width).transpose(0, 2, 1)

    # one chunk per thread (numpy and scipy.fft release the GIL): measured faster than
    # threading inside each FFT, because padding, products and variances run in parallel too
    with ThreadPoolExecutor(max_workers=_n_threads()) as pool:
        list(pool.map(filter_chunk, range(0, n_rows, step)))
    return out


def _n_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _window_variance(y: np.ndarray, width: int) -> np.ndarray:
    """Variance (ddof=0) of consecutive ``width``-sample windows along the last axis.

    One pass, as mean(y**2) - mean(y)**2: accurate here because band-passed signals have no
    DC component, so a window's mean is never large against its spread. Clipped at 0 so that
    rounding on a flat window gives -inf DE, not NaN.
    """
    windows = y.reshape(*y.shape[:-1], -1, width)
    mean = windows @ np.full(width, 1.0 / width, dtype=y.dtype)
    power = np.einsum("...i,...i->...", windows, windows) / width
    return np.maximum(power - mean * mean, 0)


def _variance_reference(
    x: np.ndarray, sfreq: float, edges: tuple[tuple[float, float], ...], width: int
) -> np.ndarray:
    """The official computation: :func:`mne.filter.filter_data` per band, then window var."""
    n_windows = x.shape[-1] // width
    per_band = []
    for lo, hi in edges:
        y = mne.filter.filter_data(x.astype(np.float64), sfreq, lo, hi, verbose="error")
        per_band.append(np.var(y[:, : n_windows * width].reshape(len(y), n_windows, width), -1))
    return np.stack(per_band, axis=-1)
