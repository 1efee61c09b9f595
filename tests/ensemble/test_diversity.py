"""Linear CKA and principal angles against closed forms and reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import subspace_angles

from vaxis.ensemble.diversity import (
    Method,
    class_residuals,
    linear_cka,
    pairwise_diversity,
    principal_angles,
    residual_subspace,
    subspace_diversity,
)


def hsic_cka(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook form: tr(K H L H) / sqrt(tr(K H K H) tr(L H L H)), K = X X^T, L = Y Y^T."""
    n = len(x)
    h = np.eye(n) - 1.0 / n
    k, l_ = x @ x.T, y @ y.T
    return float(
        np.trace(k @ h @ l_ @ h) / np.sqrt(np.trace(k @ h @ k @ h) * np.trace(l_ @ h @ l_ @ h))
    )


def test_cka_equals_squared_correlation_in_one_dimension() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal(50)
    b = 0.6 * a + rng.standard_normal(50)
    r = np.corrcoef(a, b)[0, 1]
    assert linear_cka(a[:, None], b[:, None]) == pytest.approx(r**2)


def test_cka_matches_hsic_form_and_is_invariant_to_rotation_and_scale() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((40, 6)), rng.standard_normal((40, 3))
    assert linear_cka(x, y) == pytest.approx(hsic_cka(x, y))
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert linear_cka(x, 3.0 * x @ q + 5.0) == pytest.approx(1.0)
    # independent wide representations: CKA near 0 (not exactly: finite n)
    big = rng.standard_normal((2000, 5)), rng.standard_normal((2000, 5))
    assert linear_cka(*big) < 0.01


def test_principal_angles_of_two_planes_and_scipy() -> None:
    theta = 0.3
    a = np.eye(3)[:, :2]
    b = np.stack([[1.0, 0, 0], [0, np.cos(theta), np.sin(theta)]], axis=1)
    assert np.allclose(np.sort(principal_angles(a, b)), [0.0, theta])
    assert subspace_diversity(a, b) == pytest.approx(np.sin(theta) ** 2 / 2)
    rng = np.random.default_rng(3)
    u = np.linalg.qr(rng.standard_normal((20, 4)))[0]
    v = np.linalg.qr(rng.standard_normal((20, 4)))[0]
    assert np.allclose(np.sort(principal_angles(u, v)), np.sort(subspace_angles(u, v)))


def test_residual_subspace_and_class_residuals() -> None:
    y = np.array([0, 0, 1, 1])
    x = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [10.0, 2.0]])
    assert np.allclose(class_residuals(x, y), [[-1, 0], [1, 0], [0, -1], [0, 1]])
    basis = residual_subspace(class_residuals(x, y), rank=8)
    assert basis.shape == (4, 2) and np.allclose(basis.T @ basis, np.eye(2))
    with pytest.raises(ValueError, match="all zero"):
        residual_subspace(np.zeros((4, 2)), rank=2)


@pytest.mark.parametrize("method", ["cka", "angles"])
def test_pairwise_diversity_separates_shared_from_independent_residuals(method: Method) -> None:
    rng = np.random.default_rng(4)
    common = rng.standard_normal((300, 3))
    rotations = [np.linalg.qr(rng.standard_normal((3, 3)))[0] for _ in range(2)]
    twins = [2.0 * common @ q for q in rotations]  # the same residual, rotated and scaled
    stranger = rng.standard_normal((300, 3))
    d = pairwise_diversity([*twins, stranger], method, rank=3)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    assert d[0, 1] < 1e-6  # same residual subspace: no diversity
    assert d[0, 2] > 0.9 and d[1, 2] > 0.9
