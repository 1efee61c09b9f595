"""Benchmark: load a FACED-sized DE cohort (123 x 28 x 30 samples x 32 x 5, ~66 MB).

Compares `Cohort.load` with the bare minimum -- `numpy.load` of the same array from a `.npy`
file -- on the same data, checks both give identical arrays, and prints times and the ratio.
Target (issue 2): well under one second.

    python bench/bench_cohort_io.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import FACED, FACED_CLIP_LABELS


def faced_sized_cohort() -> Cohort:
    rng = np.random.default_rng(0)
    subject, stimulus, window = (
        g.ravel() for g in np.meshgrid(np.arange(123), np.arange(28), np.arange(30), indexing="ij")
    )
    label = np.asarray(FACED_CLIP_LABELS)[stimulus]
    meta = CohortMeta(
        dataset="faced",
        kind="features",
        channel_names=FACED.channels,
        label_names=FACED.classes,
        sfreq=1.0,
        band_names=FACED.band_names,
        synthetic=True,
    )
    return Cohort(
        data=rng.normal(size=(subject.size, 32, 5)).astype(np.float32),
        subject=subject,
        stimulus=stimulus,
        window=window,
        label=label,
        valence=np.asarray(FACED.class_valence)[label],
        session=np.zeros_like(subject),
        meta=meta,
    )


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cohort = faced_sized_cohort()
    with tempfile.TemporaryDirectory() as tmp:
        path = cohort.save(Path(tmp) / "faced.cohort.h5")
        npy = Path(tmp) / "faced.npy"
        np.save(npy, cohort.data)
        ours, loaded = best_time(lambda: Cohort.load(path), args.repeats)
        bare, array = best_time(lambda: np.load(npy), args.repeats)
    assert isinstance(loaded, Cohort) and np.array_equal(loaded.data, array), "outputs disagree"
    size_mb = cohort.data.nbytes / 1e6
    print(f"FACED-sized DE cohort: {size_mb:.1f} MB, best of {args.repeats}")
    print(f"  Cohort.load (HDF5, all labels + metadata): {ours * 1e3:8.1f} ms")
    print(f"  numpy.load (.npy, data array only):        {bare * 1e3:8.1f} ms")
    print(f"  ratio ours / bare: {ours / bare:.2f}x   target: < 1000 ms -> "
          f"{'met' if ours < 1.0 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
