"""Run metrics against values computed by hand on small examples."""

from __future__ import annotations

import numpy as np
import pytest

from vaxis.decoders.metrics import compute_metrics

Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 0, 2, 2, 0])
SUBJECT = np.array([5, 5, 5, 9, 9, 9, 9, 9])


def test_scores_match_hand_computation() -> None:
    m = compute_metrics(Y_TRUE, Y_PRED, SUBJECT, n_classes=4)
    # recalls: class 0 2/3, class 1 1/2, class 2 2/3; class 3 absent from the targets
    assert m.balanced_accuracy == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert m.accuracy == pytest.approx(5 / 8)
    # precision / recall per class: 0: 2/4, 2/3; 1: 1/2, 1/2; 2: 2/2, 2/3
    f1 = [2 * p * r / (p + r) for p, r in [(2 / 4, 2 / 3), (1 / 2, 1 / 2), (1.0, 2 / 3)]]
    assert m.macro_f1 == pytest.approx(np.mean(f1))
    # kappa = (p_o - p_e) / (1 - p_e); true counts (3, 2, 3), predicted counts (4, 2, 2)
    p_o, p_e = 5 / 8, (3 * 4 + 2 * 2 + 3 * 2) / 64
    assert m.kappa == pytest.approx((p_o - p_e) / (1 - p_e))
    assert m.confusion == [[2, 1, 0, 0], [1, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    assert m.n_samples == 8


def test_per_subject_balanced_accuracy_uses_each_subjects_own_classes() -> None:
    m = compute_metrics(Y_TRUE, Y_PRED, SUBJECT, n_classes=3)
    # subject 5 has only class 0 (recall 2/3); subject 9: class 1 1/2, class 2 2/3
    assert m.per_subject_balanced_accuracy == pytest.approx({5: 2 / 3, 9: (1 / 2 + 2 / 3) / 2})
    assert m.to_dict()["per_subject_balanced_accuracy"] == {
        "5": pytest.approx(2 / 3),
        "9": pytest.approx(7 / 12),
    }


def test_perfect_and_chance_predictions() -> None:
    perfect = compute_metrics(Y_TRUE, Y_TRUE, SUBJECT, 3)
    assert perfect.balanced_accuracy == perfect.kappa == perfect.macro_f1 == 1.0
    rng = np.random.default_rng(0)
    y = rng.integers(0, 9, 20000)
    chance = compute_metrics(y, rng.integers(0, 9, y.size), np.zeros_like(y), 9)
    assert chance.balanced_accuracy == pytest.approx(1 / 9, abs=0.01)
    assert abs(chance.kappa) < 0.01


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one entry per sample"):
        compute_metrics(Y_TRUE, Y_PRED[:-1], SUBJECT, 3)
    with pytest.raises(ValueError, match="no samples"):
        compute_metrics(Y_TRUE[:0], Y_PRED[:0], SUBJECT[:0], 3)
