"""Decoder inputs with a planted answer (test helper, no tests here).

``planted_units`` draws DE-shaped samples whose class is written into the features: class k
shifts every second of a sample by ``separation * m_k`` (``m_k`` a fixed random pattern of unit
RMS over channels x bands) on top of unit Gaussian noise. With ``separation=0`` the features
carry no class at all: a decoder must score at chance. Subjects cycle over samples.
"""

from __future__ import annotations

import numpy as np

from vaxis.decoders.units import Units


def planted_units(
    n_per_class: int = 40,
    n_classes: int = 3,
    shape: tuple[int, int, int] = (2, 4, 3),
    separation: float = 1.5,
    n_subjects: int = 4,
    seed: int = 0,
) -> Units:
    """Samples (n, seconds, channels, bands) with class means ``separation`` RMS apart."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(1234).standard_normal((n_classes, *shape[1:]))
    patterns /= np.sqrt((patterns**2).mean(axis=(1, 2), keepdims=True))
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = rng.standard_normal((y.size, *shape)) + separation * patterns[y][:, None]
    n = y.size
    return Units(
        x=x.astype(np.float32),
        y=y,
        subject=np.arange(n) % n_subjects,
        stimulus=y.copy(),
        segment=np.zeros(n, np.int64),
        label=y.copy(),
        valence=np.zeros(n, np.int64),
        classes=tuple(f"class{k}" for k in range(n_classes)),
        task="planted",
        unit="segment",
        seconds=float(shape[0]),
        input_kind="de",
        synthetic=True,
    )
