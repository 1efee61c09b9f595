"""Constructed member predictions with (or without) a planted shared within-class residual.

Each member's logits are ``s * onehot(y) + noise_m``; its penultimate features are the logits
plus a few nuisance dimensions, so its within-class residual features are its noise. In a
*planted* pool the first ``n_redundant`` members share one residual direction: their noise is
mostly ``z_i * u`` (one per-sample score ``z`` along one fixed direction ``u``, the same for all
of them), so they make the same errors and averaging them cancels little. The others' noise is
independent. In a *null* pool every member's noise is independent (same variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_CLASSES = 3


@dataclass(frozen=True)
class Pool:
    probs: np.ndarray  # (M, n, K)
    features: list[np.ndarray]
    y: np.ndarray


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def make_pool(
    planted: bool,
    n: int,
    seed: int,
    n_members: int = 10,
    n_redundant: int = 5,
    signal: float = 1.0,
    shared: float = 0.95,
) -> Pool:
    """One part (validation or test) of a pool; members keep their role across seeds."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(N_CLASSES), n // N_CLASSES)
    u = np.array([1.0, -1.0, 0.0]) / np.sqrt(2) * np.sqrt(N_CLASSES)
    z = rng.standard_normal(y.size)
    probs, features = [], []
    for m in range(n_members):
        own = rng.standard_normal((y.size, N_CLASSES))
        if planted and m < n_redundant:
            noise = np.sqrt(shared) * z[:, None] * u + np.sqrt(1 - shared) * own
        else:
            noise = own
        logits = signal * np.eye(N_CLASSES)[y] + noise
        probs.append(_softmax(logits))
        nuisance = 0.1 * rng.standard_normal((y.size, 4))
        features.append(np.hstack([logits, nuisance]))
    return Pool(np.stack(probs), features, y)
