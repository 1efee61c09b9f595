"""Basin vs residual movement: arm minus baseline, paired over seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vaxis.saturation.basin_movement import basin_vs_residual, paired_movement


def test_movement_is_the_paired_t_over_shared_seeds() -> None:
    base = {0: 0.50, 1: 0.55, 2: 0.60, 3: 0.52}
    arm = {0: 0.70, 1: 0.71, 2: 0.85, 3: 0.69, 9: 0.99}  # seed 9 has no baseline: left out
    result = paired_movement({"baseline": base, "aux": arm}, "baseline")["aux"]
    assert result is not None
    a, b = np.array([0.70, 0.71, 0.85, 0.69]), np.array([0.50, 0.55, 0.60, 0.52])
    assert result.n == 4 and result.effect == pytest.approx(np.mean(a - b))
    assert result.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert result.ci_low < result.effect < result.ci_high


def test_a_measure_that_does_not_move_gives_no_effect() -> None:
    values = {
        "rho": {"baseline": {0: 0.3, 1: 0.4, 2: 0.5}, "aux": {0: 0.6, 1: 0.72, 2: 0.79}},
        "residual": {"baseline": {0: 0.3, 1: 0.4, 2: 0.5}, "aux": {0: 0.31, 1: 0.38, 2: 0.51}},
    }
    moved = basin_vs_residual(values, "baseline")
    rho, residual = moved["rho"]["aux"], moved["residual"]["aux"]
    assert rho is not None and residual is not None
    assert rho.ci_low > 0 and residual.ci_low < 0 < residual.ci_high


def test_an_arm_with_one_usable_seed_has_no_test() -> None:
    values = {"baseline": {0: 0.3, 1: 0.4}, "aux": {0: 0.5, 1: float("nan")}}
    assert paired_movement(values, "baseline") == {"aux": None}
