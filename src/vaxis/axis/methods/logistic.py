"""Strongly L2-regularised logistic regression, positive versus negative texts."""

from __future__ import annotations

import numpy as np

from vaxis.axis.methods.base import binary_samples, register, within_class_scale

#: L2 penalty per text, in within-class standard-deviation units.
PENALTY_PER_TEXT = 10.0


@register("logistic")
def logistic(
    states: np.ndarray, class_index: np.ndarray, class_valence: np.ndarray
) -> tuple[np.ndarray, None]:
    """``P(pos | x) = sigmoid(w . z + b)`` on ``z = x / sigma``, returned as ``w / sigma``.

    Fitted on texts of classes with valence > 0 against < 0, minimising the summed log loss plus
    ``PENALTY_PER_TEXT * n / 2 * ||w||^2`` (scikit-learn ``C = 1 / (PENALTY_PER_TEXT * n)``).
    ``sigma`` is the pooled within-class standard deviation, so a dimension is not shrunk for
    carrying the class signal itself; since ``w . z = (w / sigma) . x`` the direction in the
    original state space is ``w / sigma``. Reference: the supervised probe the study compares
    against (logistic regression on 5k SST-2 texts, AUC 0.837).

    The penalty is strong on purpose: story sets have fewer texts than dimensions (450 texts,
    576 dims), and a weakly penalised fit separates the training stories by whatever differs
    between the two boundary classes (a max-margin direction), content included. In the strong
    limit it approaches the diagonal discriminant ``contrast / sigma**2``; it departs from it
    where the classes are not Gaussian. Adequate with a few huge dimensions (Gemma).
    """
    samples, labels = binary_samples(states, class_index, class_valence)
    scale = within_class_scale(states, class_index, len(class_valence))
    strength = 1.0 / (PENALTY_PER_TEXT * len(samples))
    from sklearn.linear_model import (
        LogisticRegression,  # lazily: the CLI lists methods without sklearn
    )

    model = LogisticRegression(C=strength, max_iter=2000).fit(samples / scale, labels)
    return model.coef_[0] / scale, None
