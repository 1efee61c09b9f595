r"""How much of a loss's gradient w.r.t. the penultimate features falls in the basin subspace.

For a loss ``L`` on a batch, ``g_i = dL / dx_i`` (D,) is the gradient w.r.t. sample i's
penultimate features (a row of ``dL / dX``; a batch-mean loss only scales every row by 1/n,
which the share ignores). With ``Q`` (D, r) an orthonormal basis of a subspace B, the **share**
of the gradient in B is

    share_B = mean_i ||Q^T g_i||^2 / ||g_i||^2      over the samples with g_i != 0,

in [0, 1]; the residual (orthogonal) share is ``1 - share_B``. A gradient direction drawn
uniformly at random has expected share ``r / D`` (:func:`chance_share`), the reference for
"more than by chance". NaN when every g_i is zero (e.g. a loss that ignores the features).

Two subspaces are used (:mod:`vaxis.saturation.epoch_probe`): the span of the centred class means
(the *basin*, r = K - 1 at most) and the V direction in feature space
(:func:`vaxis.saturation.basin.v_direction`, r = 1).
"""

from __future__ import annotations

import numpy as np


def subspace_basis(vectors: np.ndarray, rtol: float = 1e-8) -> np.ndarray:
    """Orthonormal basis (D, r) of the span of the rows of ``vectors`` (m, D).

    Directions with singular value below ``rtol`` times the largest are dropped; an all-zero
    input gives a (D, 0) basis.
    """
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    _, s, vt = np.linalg.svd(vectors, full_matrices=False)
    keep = s > rtol * s.max() if s.size and s.max() > 0 else np.zeros(s.size, dtype=bool)
    return np.asarray(vt[keep].T)


def gradient_share(gradients: np.ndarray, basis: np.ndarray) -> float:
    """Mean over samples of ``||Q^T g_i||^2 / ||g_i||^2`` (module docstring); NaN if all zero.

    ``gradients`` (n, D), ``basis`` (D, r) with orthonormal columns.
    """
    g = np.asarray(gradients, dtype=np.float64)
    q = np.asarray(basis, dtype=np.float64)
    if g.ndim != 2 or q.ndim != 2 or q.shape[0] != g.shape[1]:
        raise ValueError(f"gradients (n, D) and a basis (D, r) needed, got {g.shape}, {q.shape}")
    total = np.einsum("nd,nd->n", g, g)
    nonzero = total > 0
    if not nonzero.any():
        return float("nan")
    inside = np.square(g[nonzero] @ q).sum(axis=1)
    return float(np.mean(inside / total[nonzero]))


def chance_share(rank: int, dim: int) -> float:
    """Expected share of a uniformly random direction in an r-dimensional subspace: r / D."""
    if dim < 1 or not 0 <= rank <= dim:
        raise ValueError(f"need 0 <= rank <= dim and dim >= 1, got {rank}, {dim}")
    return rank / dim
