"""Softmax averaging and balanced accuracy against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from vaxis.ensemble.combine import (
    average_probs,
    balanced_accuracy,
    ensemble_score,
    per_subject_balanced_accuracy,
    softmax,
)


def test_softmax_matches_closed_form_and_is_shift_invariant() -> None:
    logits = np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]])
    assert np.allclose(softmax(logits), [[0.25, 0.75], [0.5, 0.5]])
    assert np.allclose(softmax(logits + 7.0), softmax(logits))


def test_uniform_and_weighted_averages() -> None:
    probs = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[0.5, 0.5]]])
    assert np.allclose(average_probs(probs), [[0.5, 0.5]])
    assert np.allclose(average_probs(probs, np.array([3.0, 1.0, 0.0])), [[0.75, 0.25]])
    with pytest.raises(ValueError, match="non-negative"):
        average_probs(probs, np.array([1.0, -1.0, 1.0]))


def test_balanced_accuracy_matches_sklearn_and_per_subject() -> None:
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert balanced_accuracy(y, pred) == pytest.approx(balanced_accuracy_score(y, pred))
    subject = np.repeat([7, 3], 100)
    per = per_subject_balanced_accuracy(y, pred, subject, np.array([3, 7]))
    assert per[0] == pytest.approx(balanced_accuracy_score(y[100:], pred[100:]))
    assert per[1] == pytest.approx(balanced_accuracy_score(y[:100], pred[:100]))


def test_averaging_two_complementary_members_fixes_both() -> None:
    """Member 0 is right on samples 0-1 (confident) and wrong on 2-3 (unsure); member 1 the
    reverse: each scores 0.5 alone, their average gets every sample right."""
    y = np.array([0, 1, 0, 1])
    sure = {0: [0.9, 0.1], 1: [0.1, 0.9]}
    unsure = {0: [0.4, 0.6], 1: [0.6, 0.4]}
    m0 = [sure[0], sure[1], unsure[0], unsure[1]]
    m1 = [unsure[0], unsure[1], sure[0], sure[1]]
    probs = np.array([m0, m1])
    assert ensemble_score(probs, y, [0]) == ensemble_score(probs, y, [1]) == 0.5
    assert ensemble_score(probs, y, [0, 1]) == 1.0
