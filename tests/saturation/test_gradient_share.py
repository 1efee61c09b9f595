"""Share of a feature gradient in a subspace, against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vaxis.saturation.gradient_share import chance_share, gradient_share, subspace_basis


def test_share_is_the_mean_fraction_of_squared_norm_inside() -> None:
    basis = np.array([[1.0], [0.0], [0.0]])  # the first axis of R^3
    grads = np.array(
        [
            [1.0, 1.0, 0.0],  # half inside
            [0.0, 0.0, 2.0],  # nothing inside
            [3.0, 0.0, 0.0],  # all inside
            [0.0, 0.0, 0.0],  # no gradient: left out
        ]
    )
    assert gradient_share(grads, basis) == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert math.isnan(gradient_share(np.zeros((2, 3)), basis))


def test_share_ignores_the_scale_of_each_gradient_and_the_basis_rotation() -> None:
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((5, 4))
    q = np.linalg.qr(rng.standard_normal((4, 2)))[0]
    rotated = q @ np.array([[0.6, -0.8], [0.8, 0.6]])  # same span
    scaled = grads * np.array([1, 10, 0.1, 3, 7])[:, None]
    assert gradient_share(scaled, rotated) == pytest.approx(gradient_share(grads, q))


def test_random_gradients_fall_inside_at_the_chance_rate() -> None:
    grads = np.random.default_rng(1).standard_normal((20_000, 10))
    basis = np.eye(10)[:, :3]
    assert gradient_share(grads, basis) == pytest.approx(chance_share(3, 10), abs=0.01)


def test_basis_spans_the_vectors_and_drops_dependent_ones() -> None:
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 2.0, 0.0]])  # rank 2
    q = subspace_basis(vectors)
    assert q.shape == (3, 2)
    np.testing.assert_allclose(q.T @ q, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(q @ q.T @ vectors.T, vectors.T, atol=1e-12)
    assert subspace_basis(np.zeros((2, 3))).shape == (3, 0)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="basis"):
        gradient_share(np.ones((2, 3)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="rank"):
        chance_share(4, 3)
