"""Leave-one-out contributions and their correlation with a per-member measure."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ensemble.planted import make_pool
from vaxis.ensemble.loo import correlate, loo_contributions


def test_loo_on_hand_members() -> None:
    """Two complementary members and a mildly wrong one. All three: every sample right (1.0).
    Without good0, samples 0-1 go wrong (0.5); likewise without good1; without the wrong
    member, still 1.0. Contributions: 0.5, 0.5, 0.0."""
    y = np.array([0, 1, 0, 1])
    good0 = [[0.9, 0.1], [0.1, 0.9], [0.4, 0.6], [0.6, 0.4]]
    good1 = [[0.4, 0.6], [0.6, 0.4], [0.9, 0.1], [0.1, 0.9]]
    wrong = [[0.3, 0.7], [0.7, 0.3], [0.3, 0.7], [0.7, 0.3]]
    assert np.allclose(loo_contributions(np.array([good0, good1, wrong]), y), [0.5, 0.5, 0.0])


def test_redundant_members_contribute_less_than_independent_ones() -> None:
    pool = make_pool(True, n=3000, seed=7)
    loo = loo_contributions(pool.probs, pool.y)
    assert loo[5:].mean() > loo[:5].mean()


def test_correlate_finds_a_planted_relation_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10)
    y = 2 * x + 0.3 * rng.standard_normal(10)
    planted = correlate(x, y)
    assert planted.r == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert planted.r > 0.9 and planted.ci_low > 0.5 and planted.p_value < 0.01
    assert planted.ci_low <= planted.r <= planted.ci_high and planted.n == 10
    nulls = [correlate(rng.standard_normal(10), rng.standard_normal(10), seed=s) for s in range(40)]
    share = np.mean([c.p_value < 0.05 for c in nulls])
    assert share <= 0.15  # about 5% expected


def test_correlate_drops_missing_members_and_needs_three() -> None:
    result = correlate(np.array([1.0, np.nan, 2.0, 3.0]), np.array([1.0, 5.0, 2.0, 3.5]))
    assert result.n == 3 and result.r > 0.9
    assert np.isnan(correlate(np.array([1.0, 2.0]), np.array([2.0, 1.0])).r)
