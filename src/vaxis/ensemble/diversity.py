"""How differently members encode what is left within each class (the study's "residual").

A member's *within-class residual features* are its penultimate features minus the mean
feature of the sample's true class (computed over the same held-out samples). Members are
different networks, so their feature axes cannot be compared directly; their residuals are
compared in *sample space*, where both live:

- **linear CKA** (Kornblith et al. 2019, ICML): for column-centred X (n, p) and Y (n, q),
  ``||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)``, in [0, 1], invariant to rotations and
  isotropic scaling of either feature space. Diversity = 1 - CKA.
- **principal angles** between the rank-k residual subspaces (spans of the top-k left singular
  vectors, i.e. the k sample-space directions carrying most residual variance; Bjorck & Golub
  1973). Diversity = mean sin^2 of the k angles: 0 for the same subspace, 1 for orthogonal.

A member's *residual alignment* is the study's measure (:func:`vaxis.probe.measures.
residual_alignment`): the within-class residual of its stimulus-mean features read out onto the
V-axis residual positions, direction fitted on validation subjects, r on test subjects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from vaxis.probe.measures import StimulusTable

Method = Literal["cka", "angles"]


def class_residuals(features: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``features`` (n, D) minus the mean feature of each sample's class in ``y``."""
    x = np.asarray(features, dtype=float)
    y = np.asarray(y)
    out = x.copy()
    for c in np.unique(y):
        out[y == c] -= x[y == c].mean(axis=0)
    return out


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two representations of the same n samples (rows)."""
    x = np.asarray(x, float) - np.mean(x, axis=0)
    y = np.asarray(y, float) - np.mean(y, axis=0)
    if x.shape[0] != y.shape[0]:
        raise ValueError("CKA needs the same samples (rows) in both representations")
    cross = np.linalg.norm(y.T @ x) ** 2
    norms = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / norms) if norms > 0 else 0.0


def residual_subspace(residuals: np.ndarray, rank: int) -> np.ndarray:
    """(n, k) orthonormal basis of the top-``rank`` sample-space directions of ``residuals``."""
    u, s, _ = np.linalg.svd(np.asarray(residuals, float), full_matrices=False)
    if not s.size or s[0] == 0:
        raise ValueError("residual features are all zero: no subspace to compare")
    return u[:, : min(rank, int(np.count_nonzero(s > s[0] * 1e-10)))]


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles (radians, ascending) between the column spaces of orthonormal a, b."""
    cosines = np.linalg.svd(a.T @ b, compute_uv=False)
    return np.arccos(np.clip(cosines, -1.0, 1.0))


def subspace_diversity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean sin^2 of the principal angles between two orthonormal bases (0 same, 1 orthogonal)."""
    k = min(a.shape[1], b.shape[1])
    return float(np.mean(np.sin(principal_angles(a, b)[:k]) ** 2))


def pairwise_diversity(
    residuals: list[np.ndarray], method: Method = "cka", rank: int = 8
) -> np.ndarray:
    """(M, M) symmetric diversity between members' residuals (zero diagonal)."""
    m = len(residuals)
    out = np.zeros((m, m))
    bases = [residual_subspace(r, rank) for r in residuals] if method == "angles" else []
    for i in range(m):
        for j in range(i + 1, m):
            if method == "cka":
                value = 1.0 - linear_cka(residuals[i], residuals[j])
            else:
                value = subspace_diversity(bases[i], bases[j])
            out[i, j] = out[j, i] = value
    return out


def member_residual_alignment(
    val: StimulusTable, test: StimulusTable, positions: np.ndarray
) -> float:
    """The study's residual alignment of one member (NaN for class-constant positions).

    ``val`` and ``test`` are the member's stimulus tables over the same stimuli; ``positions``
    the V-axis position of each of those stimuli, in the tables' order.
    """
    from vaxis.probe.measures import has_within_class_variation, residual_alignment

    if not has_within_class_variation(positions, val.classes):
        return float("nan")
    return residual_alignment(val.means(), test.means(), positions, val.classes)
