"""An observed value against a null: p and percentile from the finite draws only."""

from __future__ import annotations

import math

import numpy as np

from vaxis.probe.nulls import NullTest


def test_p_and_percentile_count_the_draws_at_or_above() -> None:
    test = NullTest.of(0.5, "random directions", np.array([0.1, 0.2, 0.6, np.nan, 0.4]))
    assert test.p_value == (1 + 1) / (1 + 4)  # the NaN draw is left out
    assert test.percentile == 75.0
    assert test.summary.n == 4 and math.isclose(test.summary.mean, 0.325)


def test_a_null_without_finite_draws_is_undefined_not_passed() -> None:
    """Constant positions give all-NaN null correlations: no p, instead of a crash."""
    test = NullTest.of(0.9, "random directions", np.full(20, np.nan))
    assert math.isnan(test.p_value) and math.isnan(test.percentile)
    assert test.summary.n == 0 and math.isnan(test.summary.q95)
