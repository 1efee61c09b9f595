"""Benchmark raw EEG -> differential entropy on FACED-shaped input.

Runs the fast path and the official MNE reference (and torcheeg's BandDifferentialEntropy if it
can be imported) on the same synthetic subjects (28 clips x 32 channels x 7500 samples,
float32, 1/f noise), checks that fast and reference agree within ``FAST_TOLERANCE``, and prints
throughput, the speed ratio and the time for all 123 FACED subjects *extrapolated* from the
measured throughput. Exits with status 1 if the outputs disagree.

    python bench/bench_de.py [--subjects N] [--repeats R] [--torcheeg-clips K]

Both paths are timed the same way (best of R runs per subject).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial

import mne
import numpy as np

from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import (
    FACED,
    FACED_CLASSES,
    FACED_CLIP_LABELS,
    FACED_N_CLIPS,
    FACED_N_SUBJECTS,
)
from vaxis.data.features import FAST_TOLERANCE, Method, raw_to_features

N_TIMES = int(FACED.sfreq) * 30


def synthetic_subject(subject: int) -> Cohort:
    """One FACED-shaped subject of 1/f noise (labelled synthetic)."""
    rng = np.random.default_rng(subject)
    shape = (FACED_N_CLIPS, len(FACED.channels), N_TIMES)
    spectrum = np.fft.rfft(rng.standard_normal(shape, dtype=np.float32), axis=-1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[-1]), 1)).astype(np.float32)
    data = (np.fft.irfft(spectrum, n=N_TIMES, axis=-1) * 50).astype(np.float32)
    labels = np.array(FACED_CLIP_LABELS)
    meta = CohortMeta(
        dataset="faced",
        kind="raw",
        channel_names=FACED.channels,
        label_names=FACED_CLASSES,
        sfreq=FACED.sfreq,
        synthetic=True,
    )
    return Cohort(
        data=data,
        subject=np.full(FACED_N_CLIPS, subject),
        stimulus=np.arange(FACED_N_CLIPS),
        window=np.zeros(FACED_N_CLIPS, dtype=int),
        label=labels,
        valence=np.array(FACED.class_valence)[labels],
        session=np.zeros(FACED_N_CLIPS, dtype=int),
        meta=meta,
    )


def timed(run: Callable[[], np.ndarray], repeats: int) -> tuple[np.ndarray, float]:
    """Result and best wall time of ``repeats`` runs (on a shared machine the best is stablest)."""
    best, result = np.inf, np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return result, best


def features_of(raw: Cohort, method: Method) -> np.ndarray:
    return raw_to_features(raw, method).data


def official_loop(raw: Cohort) -> np.ndarray:
    """The official script's loop, verbatim in structure: one filter_data call per band and clip.

    Returns (clips * 30, C, B) like the feature cohort's data.
    """
    width = int(FACED.sfreq)
    out = np.empty((raw.n_samples, N_TIMES // width, raw.data.shape[1], len(FACED.bands)))
    for b, (_, lo, hi) in enumerate(FACED.bands):
        for clip in range(raw.n_samples):
            filtered = mne.filter.filter_data(
                raw.data[clip].astype(np.float64), FACED.sfreq, lo, hi, verbose="error"
            )
            windows = filtered.reshape(filtered.shape[0], -1, width)
            out[clip, :, :, b] = 0.5 * np.log(2 * np.pi * np.e * np.var(windows, 2)).T
    return out.reshape(-1, *out.shape[2:])


def torcheeg_de(clips: np.ndarray) -> np.ndarray | None:
    """torcheeg's DE of (clips, C, T) per 1 s window, in nats, or None if it is not installed.

    torcheeg filters each window on its own with a causal 5th-order Butterworth filter and
    returns log2 values: a different estimator, so it is compared, not asserted.
    """
    try:
        from torcheeg.transforms import BandDifferentialEntropy
    except ImportError as error:
        print(f"torcheeg         : skipped ({error})")
        return None
    transform = BandDifferentialEntropy(
        sampling_rate=int(FACED.sfreq), band_dict={n: [lo, hi] for n, lo, hi in FACED.bands}
    )
    width = int(FACED.sfreq)
    n_windows = clips.shape[-1] // width
    out = np.empty((len(clips) * n_windows, clips.shape[1], len(FACED.bands)))
    for i, clip in enumerate(clips):
        for w in range(n_windows):
            window = clip[:, w * width : (w + 1) * width]
            out[i * n_windows + w] = transform(eeg=window)["eeg"]
    return out * np.log(2)


def compare_torcheeg(raw: Cohort, reference: np.ndarray, n_clips: int) -> None:
    """Time torcheeg on the first clips of one subject and compare with the reference."""
    start = time.perf_counter()
    other = torcheeg_de(raw.data[:n_clips])
    if other is None:
        return
    per_subject = (time.perf_counter() - start) * FACED_N_CLIPS / n_clips
    ours = reference[: len(other)]
    r = np.corrcoef(other.ravel(), ours.ravel())[0, 1]
    print(
        f"torcheeg         : {per_subject:.1f} s/subject (EXTRAPOLATED from {n_clips} clips); "
        f"vs reference r = {r:.3f}, mean |diff| = {np.abs(other - ours).mean():.3f} nats "
        "(not asserted)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=3, help="synthetic subjects to time")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per subject and path")
    parser.add_argument(
        "--torcheeg-clips", type=int, default=2, help="clips given to torcheeg (it is slow)"
    )
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"input: {args.subjects} synthetic subjects x {FACED_N_CLIPS} clips x "
        f"{len(FACED.channels)} channels x {N_TIMES} samples (float32), {cores} cores"
    )

    subjects = [synthetic_subject(s) for s in range(args.subjects)]
    raw_to_features(subjects[0])  # warm-up: filter design, FFT plans, imports
    fast_s = ref_s = 0.0
    worst = 0.0
    references = []
    for raw in subjects:
        fast, seconds = timed(partial(features_of, raw, "fast"), args.repeats)
        fast_s += seconds
        reference, seconds = timed(partial(features_of, raw, "reference"), args.repeats)
        ref_s += seconds
        worst = max(worst, float(np.abs(fast.astype(np.float64) - reference).max()))
        references.append(reference)

    n = len(subjects)
    fast_rate, ref_rate = n / fast_s, n / ref_s
    print(f"fast path        : {fast_s / n:.3f} s/subject = {fast_rate:.2f} subjects/s")
    print(f"reference (MNE)  : {ref_s / n:.3f} s/subject = {ref_rate:.2f} subjects/s")
    official, official_s = timed(partial(official_loop, subjects[0]), 1)
    print(
        f"official loop    : {official_s:.3f} s/subject (subject 0, one run; "
        f"max |diff| to reference {np.abs(official - references[0]).max():.1e} nats)"
    )
    compare_torcheeg(subjects[0], references[0], args.torcheeg_clips)
    print(f"speed ratio fast/reference: {fast_rate / ref_rate:.1f}x (target >= 10x)")
    print(f"speed ratio fast/official loop: {official_s * fast_rate:.1f}x")
    print(
        f"full FACED ({FACED_N_SUBJECTS} subjects), EXTRAPOLATED from measured throughput: "
        f"fast {FACED_N_SUBJECTS / fast_rate:.1f} s (target < 60 s), "
        f"reference {FACED_N_SUBJECTS / ref_rate:.1f} s"
    )
    agree = worst < FAST_TOLERANCE
    print(
        f"max |fast - reference| = {worst:.2e} nats (tolerance {FAST_TOLERANCE:.0e}): "
        f"{'AGREE' if agree else 'DISAGREE'}"
    )
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
