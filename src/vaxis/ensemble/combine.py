"""Combining members' predictions: softmax averaging (uniform or weighted) and its scores.

Pure numpy. Members' probabilities are stacked as ``(M, n, K)`` (member, sample, class); the
ensemble's probabilities are their (weighted) mean, its prediction the arg-max. Balanced
accuracy follows scikit-learn's rule: the mean recall over the classes present in ``y``.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis (shifted by the row maximum for stability)."""
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def check_weights(weights: np.ndarray | None, n_members: int) -> np.ndarray:
    """Non-negative weights summing to 1 (uniform when None)."""
    if weights is None:
        return np.full(n_members, 1.0 / n_members)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n_members,) or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"need {n_members} finite non-negative weights with a positive sum")
    return w / w.sum()


def average_probs(probs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(n, K) weighted mean of members' probabilities ``probs`` (M, n, K)."""
    p = np.asarray(probs, dtype=float)
    if p.ndim != 3 or p.shape[0] == 0:
        raise ValueError(f"probs must be (members, samples, classes), got shape {p.shape}")
    return np.tensordot(check_weights(weights, p.shape[0]), p, axes=(0, 0))


def balanced_accuracy(y: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y``."""
    y, y_pred = np.asarray(y), np.asarray(y_pred)
    classes = np.unique(y)
    return float(np.mean([np.mean(y_pred[y == c] == c) for c in classes]))


def per_subject_balanced_accuracy(
    y: np.ndarray, y_pred: np.ndarray, subject: np.ndarray, subjects: np.ndarray
) -> np.ndarray:
    """Balanced accuracy of each of ``subjects`` (in that order)."""
    y, y_pred, subject = np.asarray(y), np.asarray(y_pred), np.asarray(subject)
    missing = np.setdiff1d(subjects, subject)
    if missing.size:
        raise ValueError(f"no samples of subjects {missing.tolist()[:5]}")
    return np.array([balanced_accuracy(y[subject == s], y_pred[subject == s]) for s in subjects])


def ensemble_score(
    probs: np.ndarray,
    y: np.ndarray,
    members: np.ndarray | list[int],
    weights: np.ndarray | None = None,
) -> float:
    """Balanced accuracy of the ensemble of ``members`` (indices into ``probs``)."""
    chosen = np.asarray(probs)[np.asarray(members, dtype=int)]
    return balanced_accuracy(y, average_probs(chosen, weights).argmax(axis=1))
