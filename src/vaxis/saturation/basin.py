r"""Strength of the valence basin in a decoder's penultimate space (docs/REFERENCE.md sec. 1.7).

The study's saturation regularity reads ``rho = |<PC1, v>|`` with unit vectors, per checkpoint:

- ``PC1``: first principal direction of the mean-centred K x D matrix of class-mean features;
- ``v``: the V-axis expressed in feature space, i.e. the direction whose class-mean
  projections best match the V-axis class positions. It is the normalised minimum-norm least
  squares solution ``w = C^+ p`` of ``C w ~ p`` (``C`` the centred class means, ``p`` the
  centred class positions); ``w`` lies in the span of the class means, like PC1.

``rho = 1`` when the class means spread mainly along the direction that orders them by
valence; ``rho = 0`` when their main spread is orthogonal to it. (The probe's class-PC1
alignment, :func:`vaxis.probe.measures.class_pc1_alignment`, is the other reading: ``|r|`` of
PC1 scores with class positions.) Class means here are plain sample means per class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaxis.core.runs import find_runs, read_predictions


def _centred_class_means(
    features: np.ndarray, labels: np.ndarray, class_positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Centred class means (K, D) and centred positions (K,) of the classes present."""
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError("features (n, D) need one label per row")
    ids, codes = np.unique(labels, return_inverse=True)
    if ids.size < 3:
        raise ValueError(f"basin strength needs at least 3 classes, got {ids.size}")
    positions = np.asarray(class_positions, dtype=np.float64)
    if ids.min() < 0 or ids.max() >= positions.size:
        raise ValueError(f"class_positions ({positions.size}) do not cover labels {ids.tolist()}")
    means = np.zeros((ids.size, features.shape[1]))
    np.add.at(means, codes, features)
    means /= np.bincount(codes)[:, None]
    target = positions[ids]
    return means - means.mean(axis=0), target - target.mean()


def v_direction(centred_means: np.ndarray, centred_positions: np.ndarray) -> np.ndarray:
    """Unit direction ``C^+ p / |C^+ p|`` whose class-mean projections best match positions."""
    w = np.linalg.lstsq(centred_means, centred_positions, rcond=None)[0]
    norm = np.linalg.norm(w)
    if norm == 0:
        raise ValueError("no feature direction orders the classes: constant positions or means")
    return np.asarray(w / norm)


def basin_strength(features: np.ndarray, labels: np.ndarray, class_positions: np.ndarray) -> float:
    """``|<PC1(class-mean features), v>|`` in [0, 1] (see the module docstring).

    ``features`` (n, D) penultimate features, ``labels`` (n,) class ids, ``class_positions``
    V-axis positions indexed by class id.
    """
    means, target = _centred_class_means(features, labels, class_positions)
    return _strength(means, target)


def basin_strength_of_means(class_means: np.ndarray, positions: np.ndarray) -> float:
    """Basin strength from class means (K, D) and the same K classes' positions (K,)."""
    means = np.asarray(class_means, dtype=np.float64)
    target = np.asarray(positions, dtype=np.float64)
    if means.ndim != 2 or target.shape != (means.shape[0],) or means.shape[0] < 3:
        raise ValueError("need class means (K, D) with K >= 3 and one position per class")
    return _strength(means - means.mean(axis=0), target - target.mean())


def _strength(centred_means: np.ndarray, centred_positions: np.ndarray) -> float:
    pc1 = np.linalg.svd(centred_means, full_matrices=False)[2][0]
    return float(abs(pc1 @ v_direction(centred_means, centred_positions)))


def basin_curve(class_means: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Basin strength of each epoch: ``class_means`` (E, K, D), ``positions`` (K,) -> (E,)."""
    return np.array([basin_strength_of_means(m, positions) for m in np.asarray(class_means)])


def saturation_epoch(epochs: np.ndarray, rho: np.ndarray, eps: float = 0.05) -> int | None:
    """The first epoch from which rho stays within ``eps`` of its final value to the end.

    ``epochs`` (E,) increasing epoch numbers, ``rho`` (E,) their basin strengths. The final
    epoch always qualifies, so a curve still moving at the end saturates at its last epoch
    (read it together with the number of epochs); None for an empty or all-NaN curve.
    """
    rho = np.asarray(rho, dtype=np.float64)
    epochs = np.asarray(epochs)
    if rho.size == 0 or epochs.shape != rho.shape or not np.isfinite(rho[-1]):
        return None
    outside = ~(np.abs(rho - rho[-1]) <= eps)  # NaN counts as outside
    last_out = np.flatnonzero(outside)
    return int(epochs[0] if last_out.size == 0 else epochs[last_out[-1] + 1])


def run_basin_strength(run_dir: str | Path, class_positions: np.ndarray) -> float:
    """Basin strength of one finished run, from its held-out (test) penultimate features."""
    arrays = read_predictions(run_dir, "test", ("features", "label"))
    return basin_strength(arrays["features"], arrays["label"], class_positions)


def basin_strength_per_run(root: str | Path, class_positions: np.ndarray) -> dict[str, float]:
    """Basin strength of every finished run under ``root`` (see :func:`find_runs`), by name."""
    root = Path(root)
    return {
        path.relative_to(root).as_posix() if path != root else path.name: run_basin_strength(
            path, class_positions
        )
        for path in find_runs(root)
    }
