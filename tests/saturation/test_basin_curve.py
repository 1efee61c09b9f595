"""Basin strength per epoch and the saturation epoch, on planted class geometries."""

from __future__ import annotations

import numpy as np
import pytest

from tests.saturation.test_basin import POSITIONS, orthogonal_to_positions, samples
from vaxis.saturation.basin import (
    basin_curve,
    basin_strength,
    basin_strength_of_means,
    saturation_epoch,
)

E0, E1 = np.eye(6)[:2]


def means_at(t: float) -> np.ndarray:
    """Class means spread along e0 by a valence-free pattern and along e1 by valence: PC1 is
    e0 or e1, whichever spread is larger, and v is e1, so rho is exactly 0 or 1."""
    return (1 - t) * 3.0 * np.outer(orthogonal_to_positions(), E0) + t * 3.0 * np.outer(
        POSITIONS, E1
    )


def test_strength_of_means_equals_strength_of_samples_with_those_means() -> None:
    means = means_at(0.6) + np.random.default_rng(0).standard_normal((5, 6))
    features, labels = samples(means)
    assert basin_strength_of_means(means, POSITIONS) == pytest.approx(
        basin_strength(features, labels, POSITIONS)
    )


def test_curve_follows_the_planted_rotation_from_zero_to_one() -> None:
    rho = basin_curve(np.stack([means_at(t) for t in (0.05, 0.3, 0.7, 1.0)]), POSITIONS)
    assert rho[0] == pytest.approx(0.0, abs=1e-9) and rho[-1] == pytest.approx(1.0, abs=1e-9)
    assert rho[1] < 0.5 < rho[2]  # the main spread switches between t = 0.3 and t = 0.7


def test_saturation_epoch_is_the_first_epoch_staying_within_eps_of_the_end() -> None:
    epochs = np.arange(1, 9)
    rho = np.array([0.1, 0.3, 0.62, 0.5, 0.66, 0.7, 0.69, 0.7])
    assert saturation_epoch(epochs, rho, eps=0.05) == 5  # epoch 4 (0.5) is the last outside
    assert saturation_epoch(epochs, rho, eps=0.25) == 3
    assert saturation_epoch(epochs, np.full(8, 0.4), eps=0.01) == 1  # flat from the start
    assert saturation_epoch(epochs, np.linspace(0, 1, 8), eps=0.01) == 8  # still rising
    with_nan = rho.copy()
    with_nan[5] = np.nan
    assert saturation_epoch(epochs, with_nan, eps=0.05) == 7  # a missing value is not "within"
    assert saturation_epoch(np.array([]), np.array([])) is None
