"""Threshold of delta on baseline accuracy: a planted crossing is found, none is not invented."""

from __future__ import annotations

import numpy as np
import pytest

from vaxis.saturation.threshold import correlation, estimate_threshold


def planted(slope: float, crossing: float, noise: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """10 baselines in [0.55, 0.75], 4 interventions each: delta = slope (x - crossing) + noise."""
    rng = np.random.default_rng(seed)
    x_base = rng.uniform(0.55, 0.75, 10)
    x = np.repeat(x_base, 4)
    groups = np.repeat(np.arange(10), 4)
    delta = slope * (x - crossing) + noise * rng.standard_normal(x.size)
    return x, delta, groups


def test_a_planted_crossing_is_found_inside_its_interval() -> None:
    x, delta, groups = planted(slope=-0.5, crossing=0.64, noise=0.005)
    estimate = estimate_threshold(x, delta, groups, n_boot=500)
    assert estimate.transition
    assert estimate.crossing == pytest.approx(0.64, abs=0.01)
    low, high = estimate.crossing_ci
    assert low <= 0.64 <= high and high - low < 0.05
    assert estimate.slope_ci[1] < 0 and estimate.n == 40 and estimate.n_groups == 10


def test_noise_alone_gives_no_transition_and_a_wide_interval() -> None:
    x, delta, groups = planted(slope=0.0, crossing=0.64, noise=0.02, seed=3)
    estimate = estimate_threshold(x, delta, groups, n_boot=500)
    assert not estimate.transition
    low, high = estimate.slope_ci
    assert low < 0 < high
    assert estimate.crossing_ci[1] - estimate.crossing_ci[0] > 0.2  # wider than the data


def test_a_decreasing_line_that_never_crosses_in_range_is_no_transition() -> None:
    x, delta, groups = planted(slope=-0.5, crossing=0.30, noise=0.002)  # always positive
    estimate = estimate_threshold(x, delta, groups, n_boot=300)
    assert estimate.slope_ci[1] < 0 and not estimate.transition
    assert estimate.crossing == pytest.approx(0.30, abs=0.02)


def test_fit_is_ordinary_least_squares() -> None:
    x = np.array([0.5, 0.6, 0.7, 0.8])
    delta = np.array([0.02, 0.015, -0.01, -0.02])
    estimate = estimate_threshold(x, delta, n_boot=100)
    slope, intercept = np.polyfit(x, delta, 1)
    assert estimate.slope == pytest.approx(slope) and estimate.intercept == pytest.approx(intercept)
    assert estimate.crossing == pytest.approx(-intercept / slope)
    record = estimate.to_dict()
    assert record["n"] == 4 and isinstance(record["crossing_ci"], list)


def test_correlation_and_its_interval() -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal(60)
    b = a + 0.5 * rng.standard_normal(60)
    result = correlation(a, b, n_boot=500)
    assert result.r == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert result.ci[0] < result.r < result.ci[1] and result.ci[0] > 0.6
    null = correlation(a, rng.standard_normal(60), n_boot=500)
    assert null.ci[0] < 0 < null.ci[1]


def test_too_few_pairs_or_one_group_are_refused() -> None:
    with pytest.raises(ValueError, match="3 finite pairs"):
        estimate_threshold(np.array([0.5, 0.6]), np.array([0.0, 0.1]))
    with pytest.raises(ValueError, match="2 groups"):
        estimate_threshold(np.arange(4.0), np.arange(4.0), np.zeros(4))
