"""Rank statistics, the random-direction null and bootstrap intervals against references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from vaxis.axis.nulls import (
    auroc,
    bootstrap,
    bootstrap_ci,
    direction_null,
    random_directions,
    spearman,
)
from vaxis.core.reported import permutation_p


def test_auroc_equals_sklearn_with_ties_and_columns() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=80)
    scores = np.round(rng.normal(size=(80, 5)) + labels[:, None], 1)  # rounding makes ties
    expected = [roc_auc_score(labels, scores[:, j]) for j in range(5)]
    assert auroc(scores, labels) == pytest.approx(expected, abs=1e-12)
    assert auroc(scores[:, 0], labels) == pytest.approx(expected[0], abs=1e-12)
    assert auroc(np.arange(4.0), [0, 0, 1, 1]) == 1.0
    assert auroc(-np.arange(4.0), [0, 0, 1, 1]) == 0.0
    with pytest.raises(ValueError, match="both positive and negative"):
        auroc(np.arange(3.0), [1, 1, 1])


def test_spearman_equals_scipy_per_column_and_paired() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(size=50)
    scores = rng.normal(size=(50, 4)) + target[:, None] * np.array([0, 0.5, 1, -2])
    expected = [spearmanr(scores[:, j], target)[0] for j in range(4)]
    assert spearman(scores, target) == pytest.approx(expected, abs=1e-12)
    paired = rng.normal(size=(50, 4))
    expected_paired = [spearmanr(scores[:, j], paired[:, j])[0] for j in range(4)]
    assert spearman(scores, paired) == pytest.approx(expected_paired, abs=1e-12)
    assert np.isnan(spearman(np.ones(10), np.arange(10.0)))


def test_permutation_p_counts_ties_and_is_never_zero() -> None:
    null = np.array([0.1, 0.5, 0.5, 0.9])
    assert permutation_p(0.5, null) == pytest.approx((1 + 3) / 5)
    assert permutation_p(2.0, null) == pytest.approx(1 / 5)
    assert permutation_p(0.0, null) == pytest.approx(1.0)


def test_random_directions_are_seeded_unit_and_isotropic() -> None:
    r = random_directions(16, 4000, seed=3)
    assert np.linalg.norm(r, axis=0) == pytest.approx(np.ones(4000))
    assert random_directions(16, 5, seed=3) == pytest.approx(r[:, :5])
    # uniform on the sphere: E[r r^T] = I / d
    assert r @ r.T / 4000 == pytest.approx(np.eye(16) / 16, abs=0.01)


def test_null_quantiles_and_p_equal_a_loop_over_directions() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, size=60)
    states = rng.normal(size=(60, 8))
    directions = random_directions(8, 300, seed=5)
    summary = direction_null(states, labels, "auroc", observed=0.6, directions=directions)
    loop = np.array([roc_auc_score(labels, states @ directions[:, j]) for j in range(300)])
    assert summary.n == 300
    assert summary.p95 == pytest.approx(np.percentile(loop, 95))
    assert summary.p99 == pytest.approx(np.percentile(loop, 99))
    assert summary.mean == pytest.approx(loop.mean())
    assert summary.p_value == pytest.approx((1 + np.sum(loop >= 0.6)) / 301)


def test_planted_direction_beats_the_null_and_noise_does_not() -> None:
    rng = np.random.default_rng(6)
    n, d = 400, 32
    labels = rng.integers(0, 2, size=n)
    u = random_directions(d, 1, seed=7)[:, 0]
    noise = rng.normal(size=(n, d))
    planted = noise + 1.5 * (2 * labels[:, None] - 1) * u
    directions = random_directions(d, 1000, seed=8)

    value = float(auroc(planted @ u, labels))
    found = direction_null(planted, labels, "auroc", value, directions)
    assert value > 0.9
    assert found.p_value < 0.01 and value > found.p99

    blind = float(auroc(noise @ u, labels))  # the same direction where nothing was planted
    nothing = direction_null(noise, labels, "auroc", blind, directions)
    assert nothing.p_value > 0.05
    assert nothing.quantiles["p50"] == pytest.approx(0.5, abs=0.02)  # signed null centred


def test_bootstrap_ci_contains_the_estimate_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(9)

    def width(n: int) -> tuple[float, float, float]:
        labels = rng.integers(0, 2, size=n)
        scores = rng.normal(size=n) + labels
        low, high = bootstrap_ci(scores, labels, "auroc", n_boot=1000, seed=1)
        return low, float(auroc(scores, labels)), high

    small, large = width(100), width(2500)
    assert small[0] < small[1] < small[2]
    assert large[0] < large[1] < large[2]
    # the interval width scales like 1 / sqrt(n): 25x the texts, ~5x narrower
    ratio = (small[2] - small[0]) / (large[2] - large[0])
    assert 3.5 < ratio < 7


def test_auroc_bootstrap_keeps_class_sizes_and_spearman_resamples_pairs() -> None:
    labels = np.array([1] * 5 + [0] * 95)
    scores = np.arange(100.0)[::-1]  # every positive ranks above every negative
    # stratified: every resample keeps 5 positives, so the perfect order stays perfect
    assert bootstrap(scores, labels, "auroc", n_boot=300, seed=0) == pytest.approx(np.ones(300))
    values = np.arange(30.0)
    assert bootstrap(values, 2 * values, "spearman", n_boot=50, seed=0) == pytest.approx(
        np.ones(50)
    )
