"""Selection by residual diversity: beats same-size seed ensembles where a shared residual is
planted, and does not where nothing is planted."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.ensemble.planted import make_pool
from vaxis.ensemble.combine import ensemble_score
from vaxis.ensemble.selection import (
    best_single,
    diverse_selection,
    diversity_weights,
    seed_ensemble,
    select_members,
)

K = 5


def random_subset_scores(probs: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Test score of every k-subset of the pool: the distribution of same-size seed ensembles
    whose members' order carries no information."""
    return np.array(
        [ensemble_score(probs, y, list(c)) for c in itertools.combinations(range(len(probs)), k)]
    )


def selected_and_seed(planted: bool, seed: int) -> tuple[float, np.ndarray, tuple[int, ...]]:
    val = make_pool(planted, n=900, seed=seed)
    test = make_pool(planted, n=3000, seed=seed + 1000)
    chosen, _, _ = select_members(val.probs, val.features, val.y, K)
    diverse = ensemble_score(test.probs, test.y, list(chosen["diverse"].members))
    return diverse, random_subset_scores(test.probs, test.y, K), chosen["diverse"].members


@pytest.mark.parametrize("seed", [0, 1])
def test_diverse_selection_beats_seed_ensembles_where_a_shared_residual_is_planted(
    seed: int,
) -> None:
    diverse, seed_scores, members = selected_and_seed(planted=True, seed=seed)
    # at most one of the five members sharing the residual direction is chosen
    assert sum(m < 5 for m in members) <= 1
    assert diverse > seed_scores.mean() + 0.03
    assert diverse >= np.quantile(seed_scores, 0.8)  # with the best 10-20% of subsets


@pytest.mark.parametrize("seed", [0, 1])
def test_diverse_selection_gains_nothing_where_nothing_is_planted(seed: int) -> None:
    diverse, seed_scores, _ = selected_and_seed(planted=False, seed=seed)
    assert abs(diverse - seed_scores.mean()) < 0.015
    assert np.quantile(seed_scores, 0.02) <= diverse <= np.quantile(seed_scores, 0.98)


def test_greedy_order_on_a_hand_matrix() -> None:
    d = np.array(
        [
            [0.0, 0.1, 0.9, 0.5],
            [0.1, 0.0, 0.8, 0.6],
            [0.9, 0.8, 0.0, 0.2],
            [0.5, 0.6, 0.2, 0.0],
        ]
    )
    scores = np.array([0.5, 0.7, 0.4, 0.6])
    # start at the best validation member (1); most diverse to {1}: 2 (0.8); then to {1, 2}:
    # 0 -> (0.1 + 0.9) / 2 = 0.5, 3 -> (0.6 + 0.2) / 2 = 0.4
    selection = diverse_selection(d, scores, 3)
    assert selection.members == (1, 2, 0)
    weighted = diversity_weights(selection, d)
    mean = np.array([(0.8 + 0.1) / 2, (0.8 + 0.9) / 2, (0.1 + 0.9) / 2])
    assert np.allclose(weighted.weights, mean / mean.sum())
    assert best_single(scores).members == (1,)
    assert seed_ensemble([3, 1, 0, 2], 2).members == (3, 1)
    with pytest.raises(ValueError, match="between 1 and 4"):
        diverse_selection(d, scores, 5)


def test_selection_never_sees_test_data() -> None:
    """select_members takes validation arrays only; the same validation data give the same
    selection whatever the test part holds (checked end to end in test_stage.py too)."""
    val = make_pool(True, n=300, seed=5)
    first, d1, s1 = select_members(val.probs, val.features, val.y, K)
    again, d2, s2 = select_members(val.probs.copy(), [f.copy() for f in val.features], val.y, K)
    assert {r: s.members for r, s in first.items()} == {r: s.members for r, s in again.items()}
    assert np.array_equal(d1, d2) and np.array_equal(s1, s2)
